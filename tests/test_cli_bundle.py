"""`rnn-zoo train -o DIR` writes a bundle folder; export, predict and inspect read it.

TF only: the command-line plumbing is backend-independent; `Bundle` itself
is tested on every backend in test_bundle.
"""

import json
import os

import numpy as np
import pytest

from rnn_zoo.bundle import Bundle
from rnn_zoo.cli import main
from rnn_zoo.commands.common import is_bundle

SENTENCES = [("the food was good", "pos"), ("the food was not good", "neg"),
             ("the view is lovely", "pos"), ("the plot was dull", "neg")]
TINY = ["--units", "4", "--epochs", "1", "--batch-size", "8", "--no-tensorboard"]


def _write_csv(path, rows=24):
    lines = ["text,label"] + [f'"{text}",{label}'
                              for text, label in (SENTENCES * rows)[:rows]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _write_npz(path, targets=False):
    rng = np.random.default_rng(0)
    # Far from zero mean and unit spread, so scaling changes every value.
    x = rng.normal(loc=5.0, scale=3.0, size=(20, 6, 3)).astype("float32")
    lengths = rng.integers(3, 7, size=20)
    for row, length in enumerate(lengths):
        x[row, length:] = 0.0
    if targets:
        np.savez(path, x=x, lengths=lengths, targets=x[:, 0, :1].sum(-1))
    else:
        np.savez(path, x=x, lengths=lengths, labels=(x[:, 0, 0] > 5).astype("int64"))
    return str(path), x


def _listing(folder):
    return sorted(os.listdir(folder))


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    data = _write_csv(folder / "reviews.csv")
    out = folder / "bundle"
    old_mask = os.umask(0o022)
    try:
        assert main(["train", data, "-o", str(out), "--embedding-dim", "4", *TINY]) == 0
    finally:
        os.umask(old_mask)
    return out


def test_train_writes_exactly_the_text_bundle_layout(text_bundle):
    assert _listing(text_bundle) == ["assets", "labels.txt", "metadata.json", "metrics.json",
                                     "model.keras", "run", "text_vectorizer.json", "vocab.txt"]
    assert (text_bundle / "run" / "checkpoints" / "best.keras").exists()
    assert (text_bundle / "model.keras").stat().st_mode & 0o777 == 0o644
    metadata = json.loads((text_bundle / "metadata.json").read_text())
    assert metadata["task"] == "text_classifier" and metadata["parameter_count"] > 0
    assert json.loads((text_bundle / "metrics.json").read_text())["epochs_completed"] == 1


def test_the_cli_and_bundle_agree_on_what_a_bundle_folder_is(text_bundle, tmp_path):
    assert is_bundle(str(text_bundle)) and Bundle.is_bundle(text_bundle)
    assert not is_bundle(str(tmp_path)) and not Bundle.is_bundle(tmp_path)
    assert not is_bundle(str(text_bundle / "model.keras"))


def test_a_trained_text_bundle_predicts_raw_text(text_bundle):
    bundle = Bundle.load(text_bundle)
    assert bundle.labels == ("neg", "pos") and bundle.vectorizer is not None
    probabilities = bundle.predict(["the food was good", "the plot was dull"])
    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_predict_on_a_bundle_folder_prints_its_labels(text_bundle, capsys):
    texts = ["the food was good", "the plot was dull"]
    expected = Bundle.load(text_bundle).predict(texts)
    assert main(["predict", str(text_bundle), "--text", texts[0], "--text", texts[1]]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Loaded bundle")
    # A header that says what the number is.
    assert lines[1] == "row\ttext\tlabel\tprobability (of that label)"
    for row, line in enumerate(lines[2:]):
        number, text, label, probability = line.split("\t")
        assert int(number) == row and text == repr(texts[row])
        assert label == ("neg", "pos")[int(np.argmax(expected[row]))]
        assert float(probability) == pytest.approx(expected[row].max(), abs=1e-4)


@pytest.mark.parametrize("suffix, content", [
    (".txt", "the food was good\n\nthe plot was dull\n"),
    (".csv", 'id,text\n1,"the food was good"\n2,the plot was dull\n'),
    (".jsonl", '{"text": "the food was good"}\n{"text": "the plot was dull", "id": 2}\n'),
])
@pytest.mark.parametrize("output", [".csv", ".jsonl"])
def test_predict_reads_a_file_of_texts_and_writes_csv_or_jsonl(text_bundle, tmp_path, capsys,
                                                                suffix, content, output):
    texts = ["the food was good", "the plot was dull"]
    expected = Bundle.load(text_bundle).predict(texts)
    source = tmp_path / f"texts{suffix}"
    source.write_text(content, encoding="utf-8")
    target = tmp_path / f"predictions{output}"
    assert main(["predict", str(text_bundle), "--file", str(source), "--output", str(target),
                 "--batch-size", "1"]) == 0
    assert f"wrote 2 predictions to {target}" in capsys.readouterr().out
    if output == ".csv":
        import csv

        rows = list(csv.DictReader(target.open(encoding="utf-8")))
        assert list(rows[0]) == ["text", "label", "probability", "p_neg", "p_pos"]
    else:
        rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    for row, record in zip(expected, rows):
        assert float(record["p_neg"]) == pytest.approx(row[0], abs=1e-5)
        assert float(record["probability"]) == pytest.approx(row.max(), abs=1e-5)
        assert record["label"] == ("neg", "pos")[int(np.argmax(row))]
    assert [r["text"] for r in rows] == texts


def test_predict_format_json_prints_only_json(text_bundle, capsys):
    assert main(["predict", str(text_bundle), "--text", "the food was good",
                 "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [sorted(r) for r in records] == [["label", "p_neg", "p_pos", "probability", "text"]]


@pytest.mark.parametrize("argv, message", [
    (["--file", "texts.md"], "unsupported file type '.md'"),
    (["--file", "missing.txt"], "missing.txt: no such file"),
    (["--file", "texts.csv", "--text-column", "body"], "no column 'body'"),
    (["--text", "good", "--output", "out.xlsx"], "unsupported file type '.xlsx'"),
    (["--text", "good", "--batch-size", "0"], "--batch-size must be >= 1"),
])
def test_predict_bad_input_exits_2_with_one_line(text_bundle, tmp_path, monkeypatch, capsys,
                                                  argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts.md").write_text("good\n")
    (tmp_path / "texts.csv").write_text("text\ngood\n")
    assert main(["predict", str(text_bundle), *argv]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and message in error, error


def test_predict_refuses_tflite_for_a_bundle_folder(text_bundle, capsys):
    assert main(["predict", str(text_bundle), "--text", "good", "--tflite"]) == 2
    assert "Export it first" in capsys.readouterr().err


def test_inspect_reads_the_bundle_vocabulary(text_bundle, tmp_path, capsys):
    png = tmp_path / "gates.png"
    assert main(["inspect", str(text_bundle), "--text", "the food was good",
                 "--output", str(png)]) == 0
    assert "4 steps" in capsys.readouterr().out and png.read_bytes()[:4] == b"\x89PNG"


def test_export_a_bundle_folder_without_vocab_or_labels(text_bundle, tmp_path, capsys):
    root = tmp_path / "saved_models"
    assert main(["export", str(text_bundle), "--name", "reviews", "--export-root", str(root),
                 "--no-tflite"]) == 0
    version = root / "reviews" / "1"
    assert (version / "vocab.txt").exists() and (version / "saved_model.pb").exists()
    assert (version / "labels.txt").read_text().split() == ["neg", "pos"]
    assert "Exported reviews version 1" in capsys.readouterr().out

    # The old spelling: a .keras file with --vocab, --labels and --root; it warns.
    assert main(["export", str(text_bundle / "model.keras"), "--name", "reviews",
                 "--vocab", str(text_bundle), "--labels", str(text_bundle / "labels.txt"),
                 "--root", str(root), "--no-tflite"]) == 0
    assert (root / "reviews" / "2" / "vocab.txt").exists()
    assert "--root is deprecated; use --export-root" in capsys.readouterr().err


@pytest.mark.parametrize("targets,expected", [
    (False, ["assets", "labels.txt", "metadata.json", "metrics.json", "model.keras", "run",
             "scaler.json"]),
    (True, ["assets", "metadata.json", "metrics.json", "model.keras", "run", "scaler.json"]),
])
def test_train_on_npz_writes_a_scaled_bundle(tmp_path, capsys, targets, expected):
    data, x = _write_npz(tmp_path / "series.npz", targets=targets)
    out = tmp_path / "bundle"
    assert main(["train", data, "-o", str(out), "--cell", "gru", *TINY]) == 0
    assert _listing(out) == expected

    bundle = Bundle.load(out)
    assert bundle.scaler is not None
    # Bundle.predict scales raw features with the scaler fitted on the training split.
    raw = bundle.predict(x[:3])
    np.testing.assert_allclose(
        raw, bundle.model.predict(bundle.scaler.transform(x[:3]), verbose=0), atol=1e-6)
    assert raw.shape == ((3, 1) if targets else (3, 2))

    capsys.readouterr()
    assert main(["predict", str(out), "--npz", data]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + len(x)  # "Loaded ...", the header, one line per row
    assert lines[1].startswith("row\t")
    first = lines[2].split("\t")
    if targets:
        assert float(first[1].strip("[]")) == pytest.approx(
            float(bundle.predict(x[:1])[0, 0]), abs=1e-4)
    else:
        assert first[1] == str(int(np.argmax(raw[0])))


def test_training_again_resumes_and_rewrites_the_bundle(tmp_path, capsys):
    data = _write_csv(tmp_path / "reviews.csv")
    out = tmp_path / "bundle"
    assert main(["train", data, "-o", str(out), *TINY]) == 0
    first = json.loads((out / "metadata.json").read_text())["date_saved"]
    assert main(["train", data, "-o", str(out), *TINY, "--epochs", "2"]) == 0
    assert "resumed from epoch 1" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2 and metrics["resumed_from_epoch"] == 1
    assert json.loads((out / "metadata.json").read_text())["date_saved"] >= first
    assert Bundle.load(out).predict(["the view is lovely"]).shape == (1, 2)
