"""`rnn-zoo train --stream`: CSV/JSONL records and NPZ rows read into tf.data, not into memory.

The two-worker runs of a streamed file are in test_distributed_train.py; here
the command itself: its bundle, its split and vocabulary (the in-memory
path's when the sample holds every training text), the bounded sample, the
errors, and the memory it needs on a file much larger than its sample; then
the same for an NPZ of sequences (split, scaler, bundle, errors).
"""

import csv
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from rnn_zoo.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = "good bad fine awful great poor nice dull".split()
FAST = ["--units", "4", "--embedding-dim", "4", "--epochs", "1", "--no-tensorboard"]


def _write_csv(path, rows, seed=0, unique=True):
    """Rows of common words plus (with `unique`) one word no other row has.

    The unique words make the vocabulary depend on exactly which rows are in
    the training split, and on exactly which texts were sampled.
    """
    chooser = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for row in range(rows):
            words = [chooser.choice(WORDS) for _ in range(5)]
            positive = sum(w in ("good", "fine", "great", "nice") for w in words) >= 3
            writer.writerow([" ".join(words + [f"w{row}"] * unique),
                             "pos" if positive else "neg"])
    return str(path)


def _vocabulary(folder):
    with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as handle:
        return handle.read().splitlines()


@pytest.mark.multi_backend
def test_streamed_training_writes_a_bundle_that_loads_and_predicts(tmp_path, capsys):
    from rnn_zoo import Bundle

    data = _write_csv(tmp_path / "big.csv", rows=400)
    out = tmp_path / "run"
    assert main(["train", data, "--stream", "-o", str(out), "--batch-size", "64",
                 *FAST]) == 0
    printed = capsys.readouterr().out
    assert "adapting the vocabulary on 360 of 360 training texts" in printed
    assert "360 training, 40 validation examples" in printed
    # The in-memory path's layout.
    assert {"model.keras", "vocab.txt", "text_vectorizer.json", "labels.txt", "metrics.json",
            "metadata.json", "run"} <= set(os.listdir(out))
    bundle = Bundle.load(str(out))
    assert bundle.labels == ("neg", "pos")
    scores = bundle.predict(["good great nice fine w3", "bad awful dull poor"])
    assert scores.shape == (2, 2)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 1 and "val_loss" in metrics["history"]


def test_a_streamed_run_rerun_resumes_where_it_stopped(tmp_path, capsys):
    """Epoch k's shuffle is seeded by k, so a resumed run sees what an unbroken one saw."""
    from rnn_zoo import Bundle

    data = _write_csv(tmp_path / "reviews.csv", rows=120)
    argv = ["train", data, "--stream", "--shuffle-buffer", "16", "--batch-size", "16",
            "--units", "4", "--no-tensorboard"]
    assert main([*argv, "--epochs", "3", "-o", str(tmp_path / "unbroken")]) == 0
    assert main([*argv, "--epochs", "1", "-o", str(tmp_path / "broken")]) == 0
    assert main([*argv, "--epochs", "3", "-o", str(tmp_path / "broken")]) == 0
    assert "resumed from epoch 1" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "broken" / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 3 and metrics["resumed_from_epoch"] == 1
    unbroken = json.loads((tmp_path / "unbroken" / "metrics.json").read_text())
    np.testing.assert_allclose(metrics["history"]["loss"], unbroken["history"]["loss"],
                               rtol=1e-5)
    for a, b in zip(Bundle.load(tmp_path / "broken").model.get_weights(),
                    Bundle.load(tmp_path / "unbroken").model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_stream_and_in_memory_split_alike_and_learn_the_same_vocabulary(tmp_path, capsys):
    """Fewer training texts than the sample: the vocabulary is the in-memory path's.

    Every row has a word of its own, so equal vocabularies mean equal
    training splits (bundle.split_indices' rule), not just equal word lists.
    """
    data = _write_csv(tmp_path / "data.csv", rows=120, seed=1)
    common = ["train", data, *FAST, "--seed", "3", "--validation-split", "0.25"]
    assert main([*common, "-o", str(tmp_path / "memory")]) == 0
    assert main([*common, "-o", str(tmp_path / "stream"), "--stream"]) == 0
    capsys.readouterr()
    streamed, in_memory = _vocabulary(tmp_path / "stream"), _vocabulary(tmp_path / "memory")
    assert streamed == in_memory
    assert sum(word.startswith("w") for word in streamed) == 90  # the 90 training rows
    for name in ("labels.txt", "text_vectorizer.json"):
        assert (tmp_path / "stream" / name).read_text() == \
            (tmp_path / "memory" / name).read_text()
    # JSON Lines streams the same way.
    jsonl = tmp_path / "data.jsonl"
    with open(data, newline="", encoding="utf-8") as handle:
        jsonl.write_text("".join(json.dumps(row) + "\n" for row in csv.DictReader(handle)))
    assert main(["train", str(jsonl), *FAST, "--seed", "3", "--validation-split", "0.25",
                 "-o", str(tmp_path / "jsonl"), "--stream"]) == 0
    assert _vocabulary(tmp_path / "jsonl") == in_memory


def test_the_vocabulary_comes_from_the_bounded_sample_only(tmp_path, capsys):
    data = _write_csv(tmp_path / "data.csv", rows=200)
    out = tmp_path / "run"
    assert main(["train", data, "--stream", "--adapt-sample", "7", "-o", str(out),
                 "--batch-size", "64", *FAST]) == 0
    assert "adapting the vocabulary on 7 of 180 training texts (--adapt-sample 7)" in \
        capsys.readouterr().out
    vocabulary = _vocabulary(out)
    # Each row's own word is in the vocabulary only if its row was sampled.
    assert sum(word.startswith("w") for word in vocabulary) == 7
    assert set(WORDS) >= {word for word in vocabulary if not word.startswith(("w", "["))}


def test_two_tensorflow_workers_stream_like_one_process(tmp_path):
    """`--stream --data-parallel 2`: each worker reads the file, keeps its part of every batch.

    The default shuffle buffer is on: both workers, and the one process, must
    draw the same order for the losses to agree.
    """
    data = _write_csv(tmp_path / "data.csv", rows=140)
    common = [sys.executable, "-m", "rnn_zoo.cli", "train", data, "--stream", "--epochs", "2",
              "--batch-size", "16", "--units", "8", "--embedding-dim", "8", "--dropout", "0",
              "--no-tensorboard"]
    env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=ROOT,
               TMPDIR=str(tmp_path / "tmp"))
    env.pop("TF_CONFIG", None)
    os.makedirs(env["TMPDIR"])
    for name, extra in (("two", ["--data-parallel", "2"]), ("one", [])):
        done = subprocess.run([*common, "-o", str(tmp_path / name), *extra], env=env,
                              capture_output=True, text=True, timeout=240, cwd=ROOT)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    one, two = (json.loads((tmp_path / name / "metrics.json").read_text())["history"]["loss"]
                for name in ("one", "two"))
    assert len(one) == len(two) == 2
    np.testing.assert_allclose(two, one, rtol=1e-3)
    assert _vocabulary(tmp_path / "two") == _vocabulary(tmp_path / "one")
    assert os.listdir(env["TMPDIR"]) == []


@pytest.mark.parametrize("case", ["missing column", "one label", "no --stream",
                                  "shuffle without --stream", "missing file",
                                  "unknown validation label"])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    data = _write_csv(tmp_path / "data.csv", rows=20)
    argv = ["train", data, "--stream", "-o", str(tmp_path / "run"), *FAST]
    expected = {"missing column": "column 'body'", "one label": "one label ('pos')",
                "no --stream": "--adapt-sample needs "
                "--stream", "shuffle without --stream": "--shuffle-buffer needs --stream",
                "missing file": "no such file",
                "unknown validation label": "labels ['maybe'] are not in"}[case]
    if case == "missing column":
        argv += ["--text-column", "body"]
    elif case == "one label":
        with open(data, "w", encoding="utf-8") as handle:
            handle.write("text,label\n" + "good film,pos\n" * 5)
    elif case == "no --stream":
        argv = [a for a in argv if a != "--stream"] + ["--adapt-sample", "10"]
    elif case == "shuffle without --stream":
        argv = [a for a in argv if a != "--stream"] + ["--shuffle-buffer", "0"]
    elif case == "missing file":
        argv[1] = str(tmp_path / "absent.csv")
    else:
        (tmp_path / "val.csv").write_text("text,label\ngood film,pos\nodd film,maybe\n")
        argv += ["--validation", str(tmp_path / "val.csv")]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert not (tmp_path / "run" / "model.keras").exists()


_PEAK = """
import resource, sys
from rnn_zoo.cli import main
status = main(sys.argv[1:])
print("peak_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
sys.exit(status)
"""


def test_streamed_training_memory_does_not_grow_with_the_file(tmp_path):
    """A 64 MiB CSV trains in about the memory a 2 MiB one does (the in-memory path holds it).

    Long texts, truncated to 8 tokens, keep the training itself fast while
    the file is large. Peak RSS is the whole process's, TensorFlow included;
    the file's bytes (and Python's copies of them) would show as a growth of
    well over 64 MiB.
    """
    text = " ".join(["good film"] * 2000)  # 19,999 characters
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    for path, rows in ((small, 100), (big, 3400)):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("text,label\n")
            for row in range(rows):
                handle.write(f"{text} w{row % 50},{'pos' if row % 2 else 'neg'}\n")
    assert os.path.getsize(big) > 64 * 2**20
    peaks = {}
    for path in (small, big):
        done = subprocess.run(
            [sys.executable, "-c", _PEAK, "train", str(path), "--stream", "-o",
             str(tmp_path / path.stem), "--max-length", "8", "--adapt-sample", "20",
             "--shuffle-buffer", "16", "--batch-size", "64", *FAST],
            env=dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=ROOT),
            capture_output=True, text=True, timeout=240, cwd=ROOT)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        peaks[path.stem] = int(done.stdout.split("peak_kib")[1].split()[0]) * 1024
    growth = peaks["big"] - peaks["small"]
    assert growth < 40 * 2**20, (peaks, growth)


def _write_npz(path, rows=50, seed=0, **extra):
    """Random padded series: every row's values differ, so the scaler depends on the split."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 12, 3)).astype("float32")
    lengths = rng.integers(1, 13, rows)
    arrays = dict(x=x, lengths=lengths, labels=(x[:, 0, 0] > 0).astype("int64"))
    arrays.update(extra)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return str(path)


SEQ_FAST = ["--units", "4", "--epochs", "1", "--no-tensorboard"]


def test_npz_stream_and_in_memory_split_alike_and_fit_the_same_scaler(tmp_path, capsys):
    from rnn_zoo.bundle import split_indices
    from rnn_zoo.data import readers
    from rnn_zoo.data import stream

    data = _write_npz(tmp_path / "series.npz", rows=50, seed=1)
    common = ["train", data, *SEQ_FAST, "--seed", "3", "--validation-split", "0.2"]
    assert main([*common, "-o", str(tmp_path / "memory")]) == 0
    assert main([*common, "-o", str(tmp_path / "stream"), "--stream"]) == 0
    printed = capsys.readouterr().out
    assert "fitting the scaler on 40 of 40 training sequences" in printed
    assert printed.count("40 training, 10 validation examples") == 2
    for name in ("scaler.json", "labels.txt"):
        assert (tmp_path / "stream" / name).read_text() == \
            (tmp_path / "memory" / name).read_text()
    # The streamed rows are the in-memory split's, in order (file order without shuffle).
    whole = readers.read_sequences_npz(data)
    train_index, validation_index = split_indices(50, 0.2, 3)
    scan = stream.scan_sequences_npz(data)
    for index in (train_index, validation_index):
        mask = np.zeros(50, bool)
        mask[index] = True
        batches = list(stream.sequence_dataset(data, scan, None, batch_size=16,
                                               num_records=int(mask.sum()), mask=mask))
        x = np.concatenate([b[0].numpy() for b in batches])
        y = np.concatenate([b[1].numpy() for b in batches])
        selected = whole.select(np.sort(index))
        np.testing.assert_array_equal(x, selected.x)
        np.testing.assert_array_equal(y, selected.labels)
    # A smaller sample: a scaler fitted on 5 training rows only.
    assert main([*common, "-o", str(tmp_path / "small"), "--stream", "--adapt-sample",
                 "5"]) == 0
    assert "fitting the scaler on 5 of 40 training sequences (--adapt-sample 5)" in \
        capsys.readouterr().out
    assert (tmp_path / "small" / "scaler.json").read_text() != \
        (tmp_path / "memory" / "scaler.json").read_text()


def test_a_seeded_shuffle_buffer_reorders_npz_rows_the_same_way_each_time(tmp_path):
    from rnn_zoo.data import stream

    data = _write_npz(tmp_path / "series.npz", rows=30)
    scan = stream.scan_sequences_npz(data)

    def first_steps(epoch):
        dataset = stream.sequence_dataset(data, scan, None, batch_size=30, num_records=30,
                                          shuffle_buffer=8, seed=5, epoch=lambda: epoch)
        return next(iter(dataset))[0].numpy()[:, 0, 0]

    in_order = np.load(data)["x"][:, 0, 0]
    zero, again, one = first_steps(0), first_steps(0), first_steps(1)
    np.testing.assert_array_equal(zero, again)
    assert sorted(zero) == sorted(in_order) and list(zero) != list(in_order)
    assert list(one) != list(zero)


def test_the_concatenated_values_layout_streams_as_read_in_memory(tmp_path, capsys):
    from rnn_zoo.data import readers
    from rnn_zoo.data import stream

    rng = np.random.default_rng(4)
    lengths = rng.integers(1, 9, 37)
    values = rng.normal(size=(int(lengths.sum()), 3)).astype("float32")
    data = str(tmp_path / "concatenated.npz")
    np.savez(data, values=values, lengths=lengths, labels=np.arange(37) % 3)
    whole = readers.read_sequences_npz(data)
    scan = stream.scan_sequences_npz(data)
    assert (scan.layout, scan.width, scan.features) == ("values", int(lengths.max()), 3)
    np.testing.assert_array_equal(scan.lengths, whole.lengths)
    # Chunks of 5 records read 5 * T steps at a time: records straddle the reads.
    chunks = list(stream._sequence_chunks(data, scan, rows=5))
    assert [start for start, _ in chunks] == list(range(0, 37, 5))
    np.testing.assert_array_equal(np.concatenate([x for _, x in chunks]), whole.x)
    batches = list(stream.sequence_dataset(data, scan, None, batch_size=8, num_records=37))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), whole.x)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]),
                                  whole.labels)
    # Trained with --stream, it gets the in-memory path's split and scaler.
    common = ["train", data, *SEQ_FAST, "--seed", "3", "--validation-split", "0.2"]
    assert main([*common, "-o", str(tmp_path / "memory")]) == 0
    assert main([*common, "-o", str(tmp_path / "stream"), "--stream"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("30 training, 7 validation examples") == 2, printed
    assert (tmp_path / "stream" / "scaler.json").read_text() == \
        (tmp_path / "memory" / "scaler.json").read_text()


@pytest.mark.multi_backend
def test_streamed_npz_bundles_load_and_predict(tmp_path, capsys):
    from rnn_zoo import Bundle

    data = _write_npz(tmp_path / "series.npz", rows=40)
    out = tmp_path / "classifier"
    assert main(["train", data, "--stream", "-o", str(out), "--batch-size", "16",
                 *SEQ_FAST]) == 0
    assert {"model.keras", "scaler.json", "labels.txt", "metrics.json",
            "metadata.json", "run"} <= set(os.listdir(out))
    bundle = Bundle.load(str(out))
    assert bundle.labels == ("0", "1")
    scores = bundle.predict(np.load(data)["x"][:3])
    assert scores.shape == (3, 2)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    # Targets: a regressor, with a separate validation file.
    targets = np.arange(40, dtype="float32").reshape(20, 2)
    series = _write_npz(tmp_path / "targets.npz", rows=20, labels=None, targets=targets)
    validation = _write_npz(tmp_path / "val.npz", rows=6, seed=2, labels=None,
                            targets=targets[:6])
    out = tmp_path / "regressor"
    assert main(["train", series, "--stream", "--validation", validation, "-o", str(out),
                 *SEQ_FAST]) == 0
    assert "20 training, 6 validation examples" in capsys.readouterr().out
    assert Bundle.load(str(out)).predict(np.load(series)["x"][:4]).shape == (4, 2)
    assert "val_loss" in json.loads((out / "metrics.json").read_text())["history"]


@pytest.mark.parametrize("case", ["nan", "label", "values sum", "values nan",
                                  "values without lengths", "not an archive",
                                  "damaged member", "no labels", "validation features"])
def test_a_bad_npz_exits_2_with_one_line(tmp_path, capsys, case):
    data = str(tmp_path / "series.npz")
    argv = ["train", data, "--stream", "-o", str(tmp_path / "run"), *SEQ_FAST]
    if case == "nan":
        x = np.ones((6, 4, 2), "float32")
        x[4, 1, 0] = np.nan
        np.savez(data, x=x, labels=[0, 1, 0, 1, 0, 1])
        expected = "record 5, step 2: value nan"
    elif case == "label":
        np.savez(data, x=np.ones((3, 4, 2)), labels=[0, 1, 2], class_names=["a", "b"])
        expected = "record 3: label 2"
    elif case == "values sum":
        np.savez(data, values=np.ones((6, 2)), lengths=[2, 3], labels=[0, 1])
        expected = "key 'values': 6 rows; expected sum(lengths) = 5"
    elif case == "values nan":
        values = np.ones((9, 2))
        values[6, 1] = np.inf
        np.savez(data, values=values, lengths=[2, 3, 4], labels=[0, 1, 0])
        expected = "record 3, step 2: value inf"
    elif case == "values without lengths":
        np.savez(data, values=np.ones((5, 2)), labels=[0, 1])
        expected = "key 'values' needs key 'lengths'"
    elif case == "not an archive":
        (tmp_path / "series.npz").write_text("not a zip")
        expected = "not a readable .npz archive"
    elif case == "damaged member":
        # Caught by the CRC as the rows are read, before training.
        np.savez_compressed(data, x=np.random.default_rng(0).normal(size=(200, 50, 4)),
                            labels=np.arange(200) % 2)
        damaged = bytearray((tmp_path / "series.npz").read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        (tmp_path / "series.npz").write_bytes(bytes(damaged))
        expected = "damaged archive member"
    elif case == "no labels":
        np.savez(data, x=np.ones((3, 4, 2)))
        expected = "neither `labels` nor `targets`"
    else:
        _write_npz(data, rows=10)
        np.savez(tmp_path / "val.npz", x=np.ones((3, 4, 5)), labels=[0, 1, 0])
        argv += ["--validation", str(tmp_path / "val.npz")]
        expected = "5 features"
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert lines[0].startswith("rnn-zoo train: error:")
    assert not (tmp_path / "run" / "model.keras").exists()
