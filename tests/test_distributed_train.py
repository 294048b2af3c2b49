"""Data-parallel training (`train(distribution=...)`, `rnn-zoo train --data-parallel N`).

The multi-process tests start real worker processes on loopback: TensorFlow's
MultiWorkerMirroredStrategy needs one process per worker, and JAX's host
device count is fixed when JAX is imported, so both run in subprocesses with
their backend set explicitly (they run once, in the TensorFlow suite).
"""

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from rnn_zoo import distribute

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A tiny model and data: the point is the distribution, not the model.
MODEL_FLAGS = ["--units", "8", "--embedding-dim", "8", "--dropout", "0", "--seed", "0",
               "--no-tensorboard"]
# 126 training rows after the 10% validation split: the last batch of 16 holds
# 14, which splits evenly over 2 replicas, so no example is left out on JAX.
EVEN_ROWS = 140
WORDS = "good bad fine awful great poor nice dull".split()


def _write_csv(path, rows=128, seed=0):
    chooser = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for _ in range(rows):
            words = [chooser.choice(WORDS) for _ in range(6)]
            positive = sum(w in ("good", "fine", "great", "nice") for w in words) >= 3
            writer.writerow([" ".join(words), "pos" if positive else "neg"])
    return str(path)


def _env(backend, tmp_path, **extra):
    env = dict(os.environ, KERAS_BACKEND=backend, TMPDIR=str(tmp_path / "tmp"),
               PYTHONPATH=ROOT, **extra)
    env.pop("TF_CONFIG", None)
    env.pop("XLA_FLAGS", None)
    os.makedirs(env["TMPDIR"], exist_ok=True)
    return env


def _rnn_zoo(args, env, timeout=240, **kwargs):
    return subprocess.run([sys.executable, "-m", "rnn_zoo.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kwargs)


def _losses(folder):
    with open(os.path.join(folder, "metrics.json"), encoding="utf-8") as handle:
        return json.load(handle)["history"]["loss"]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is not running
        return handle.read().split(") ")[-1][0] != "Z"


# --------------------------------------------------------------------------- the argument


@pytest.mark.multi_backend
def test_distribution_argument_is_checked_for_the_backend(backend):
    from rnn_zoo import build_text_classifier
    from rnn_zoo.train import train

    model = build_text_classifier(vocab_size=20, units=4, embedding_dim=4)
    data = (np.ones((8, 3), "int32"), np.zeros(8, "int32"))
    with pytest.raises(ValueError) as caught:
        train(model, data, epochs=1, distribution=object())
    message = str(caught.value)
    if backend == "torch":
        assert "not supported on the torch backend" in message
        assert "torchrun" in message and "keras.distribution" in message
        return
    expected = "tf.distribute.Strategy" if backend == "tensorflow" else \
        "keras.distribution.Distribution"
    assert "`distribution`" in message and expected in message, message
    if backend == "tensorflow":
        import tensorflow as tf

        distribution = tf.distribute.OneDeviceStrategy("/cpu:0")
        # The right kind, but a model built outside its scope. (On JAX this
        # needs two devices: test_jax_data_parallel_on_two_host_devices_...)
        with pytest.raises(ValueError, match="not built and compiled under"):
            train(model, data, epochs=1, distribution=distribution)
    else:
        distribution = keras.distribution.DataParallel(
            devices=keras.distribution.list_devices()[:1])
    with distribute.scope(distribution):
        scoped = build_text_classifier(vocab_size=20, units=4, embedding_dim=4)
    result = train(scoped, data, epochs=1, batch_size=4, verbose=0,
                   distribution=distribution)
    assert result.epochs_completed == 1


def test_data_parallel_flag_refused_on_torch(tmp_path):
    data = _write_csv(tmp_path / "data.csv", rows=8)
    done = _rnn_zoo(["train", data, "-o", str(tmp_path / "run"), "--data-parallel", "2"],
                    _env("torch", tmp_path), timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not supported on the torch backend" in lines[0], done.stderr


def test_helpers_build_the_worker_command_and_split_batches():
    assert json.loads(distribute.tf_config([5, 6], 1)) == {
        "cluster": {"worker": ["127.0.0.1:5", "127.0.0.1:6"]},
        "task": {"type": "worker", "index": 1}}
    assert distribute.tf_cluster_size({"TF_CONFIG": distribute.tf_config([5, 6, 7], 0)}) == 3
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.tf_cluster_size({"TF_CONFIG": "{not json"})
    assert distribute.host_device_flags(2, "--xla_foo=1 "
                                        "--xla_force_host_platform_device_count=8") == \
        "--xla_foo=1 --xla_force_host_platform_device_count=2"
    ports = distribute.free_ports(3)
    assert len(set(ports)) == 3
    # Process 1 of 2 takes the second half of every global batch of 4.
    x = np.arange(10)
    (local,) = distribute.local_batches([x], 4, 2, 1)
    np.testing.assert_array_equal(local, [2, 3, 6, 7, 9])
    # The worker command parses back to the same arguments.
    from rnn_zoo.cli import build_parser

    parser = build_parser()
    argv = ["train", "d.csv", "-o", "out", "--epochs", "3", "--bidirectional",
            "--data-parallel", "2", "--validation-split", "0.2"]
    args = parser.parse_args(argv)
    again = parser.parse_args(["train"] + distribute.command_argv(
        args.command_parser, args, skip=("command_parser",)))
    assert {k: v for k, v in vars(again).items() if k not in ("func", "command_parser")} == \
        {k: v for k, v in vars(args).items() if k not in ("func", "command_parser")}


# --------------------------------------------------------------------------- same answer


def test_tensorflow_two_workers_match_one_process(tmp_path):
    """2 worker processes on loopback vs this process: same seed, same global batches."""
    from rnn_zoo.cli import main

    data = _write_csv(tmp_path / "data.csv", rows=EVEN_ROWS)
    common = ["train", data, "--epochs", "2", "--batch-size", "16", *MODEL_FLAGS]
    env = _env("tensorflow", tmp_path)
    started = time.monotonic()
    done = _rnn_zoo([*common, "-o", str(tmp_path / "two"), "--data-parallel", "2"], env)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert main([*common, "-o", str(tmp_path / "one")]) == 0
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(one) == len(two) == 2
    np.testing.assert_allclose(two, one, rtol=1e-3)
    # One bundle, written by the chief; the other worker's folders are gone.
    assert keras.saving.load_model(tmp_path / "two" / "model.keras") is not None
    assert os.listdir(env["TMPDIR"]) == []
    assert elapsed < 240


def test_jax_data_parallel_on_two_host_devices_matches_one_device(tmp_path):
    """`--data-parallel 2` on JAX sets XLA_FLAGS itself, before JAX is imported."""
    data = _write_csv(tmp_path / "data.csv", rows=EVEN_ROWS)
    script = f"""
import sys
assert "jax" not in sys.modules
from rnn_zoo.cli import main
common = ["train", {data!r}, "--epochs", "2", "--batch-size", "16", *{MODEL_FLAGS!r}]
assert main([*common, "-o", {str(tmp_path / 'two')!r}, "--data-parallel", "2"]) == 0
import jax
import keras
import numpy as np
from rnn_zoo import build_text_classifier, distribute
from rnn_zoo.train import train
assert len(jax.devices()) == 2, jax.devices()
outside = build_text_classifier(vocab_size=20, units=4, embedding_dim=4)
try:
    train(outside, (np.ones((8, 3), "int32"), np.zeros(8, "int32")), epochs=1,
          distribution=keras.distribution.DataParallel(devices=jax.devices()))
    raise AssertionError("a model built outside the scope was accepted")
except ValueError as error:
    assert "not built and compiled under" in str(error), error
assert main([*common, "-o", {str(tmp_path / 'one')!r}]) == 0
"""
    done = subprocess.run([sys.executable, "-c", script], env=_env("jax", tmp_path),
                          capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(one) == len(two) == 2
    np.testing.assert_allclose(two, one, rtol=1e-3)


def test_jax_two_processes_train_one_bundle(tmp_path):
    """JAX multi-process over gloo CPU collectives: each process has one host device."""
    data = _write_csv(tmp_path / "data.csv", rows=64)
    port = distribute.free_ports(1)[0]
    out = str(tmp_path / "run")
    command = ["train", data, "-o", out, "--epochs", "1", "--batch-size", "16",
               "--data-parallel", "2", *MODEL_FLAGS]
    processes = []
    for index in range(2):
        env = _env("jax", tmp_path, KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
                   KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                   KERAS_DISTRIBUTION_PROCESS_ID=str(index))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "rnn_zoo.cli", *command], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        outputs = [p.communicate(timeout=240)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    assert len(_losses(out)) == 1
    assert os.listdir(tmp_path / "tmp") == []


# --------------------------------------------------------------------------- faults


def test_killed_worker_ends_the_run_and_the_rerun_resumes(tmp_path):
    data = _write_csv(tmp_path / "data.csv", rows=160)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "rnn_zoo.cli", "train", data, "-o", str(out),
               "--epochs", "3", "--batch-size", "16", "--data-parallel", "2", *MODEL_FLAGS]
    env = _env("tensorflow", tmp_path)
    supervisor = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
    state = out / "run" / "training_state.json"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and supervisor.poll() is None:
            if state.exists() and json.loads(state.read_text())["epochs_completed"] >= 1:
                break
            time.sleep(0.05)
        assert supervisor.poll() is None, "the run ended before a worker could be killed"
        pids = [int((out / "run" / "workers" / f"worker-{i}.pid").read_text())
                for i in range(2)]
        os.kill(pids[1], signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = supervisor.communicate(timeout=60)
        assert time.monotonic() - killed < 60
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
    assert supervisor.returncode == 1, stderr
    last = stderr.strip().splitlines()[-1]
    assert "worker 1 of 2" in last and "SIGKILL" in last and "resume" in last, stderr
    assert not any(_alive(pid) for pid in pids)
    completed = json.loads(state.read_text())["epochs_completed"]
    assert 1 <= completed < 3

    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert f"resumed from epoch {completed}" in done.stdout
    assert json.loads(state.read_text())["epochs_completed"] == 3
    assert len(_losses(out)) == 3


# --------------------------------------------------------------------------- streaming


def test_streamed_text_matches_the_in_memory_reader(tmp_path):
    from rnn_zoo.data import readers
    from rnn_zoo.data import stream
    from rnn_zoo.text import TextVectorizer
    from rnn_zoo.train import train

    path = _write_csv(tmp_path / "data.csv", rows=50)
    whole = readers.read_text_csv(path)
    assert stream.scan_text_file(path) == (50, whole.class_names)
    assert stream.sample_texts(path, size=100) == list(whole.texts)
    sample = stream.sample_texts(path, size=10, seed=3)
    assert len(sample) == 10 and set(sample) <= set(whole.texts)
    vectorizer = TextVectorizer(max_length=6)
    vectorizer.adapt(sample, max_tokens=50)
    dataset = stream.text_dataset(path, vectorizer, whole.class_names, batch_size=16,
                                  num_records=50)
    assert len(dataset) == 4
    ids, labels = zip(*((x.numpy(), y.numpy()) for x, y in dataset))
    np.testing.assert_array_equal(np.concatenate(ids), vectorizer(whole.texts))
    np.testing.assert_array_equal(np.concatenate(labels), whole.labels)
    from rnn_zoo import build_text_classifier

    model = build_text_classifier(vocab_size=vectorizer.vocab_size, units=4, embedding_dim=4)
    assert train(model, dataset, epochs=1, verbose=0).epochs_completed == 1


def test_streaming_reads_a_file_larger_than_the_memory_cap(tmp_path):
    """A child capped at its own size + 32 MiB of address space streams a 48 MiB CSV.

    The child imports no TensorFlow (its address space alone is far past any
    useful cap); the in-memory reader, given the same file under the same
    cap, runs out of memory, which shows the cap is real.
    """
    path = tmp_path / "big.csv"
    line = "the plot is not dull and the acting is fine on the whole,pos\n"
    other = "a dull slow story that never finds its feet at all sadly,neg\n"
    block = (line + other) * 4096
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("text,label\n")
        while handle.tell() < 48 * 2**20:
            handle.write(block)
    script = f"""
import resource, sys
from rnn_zoo.data import readers, stream
assert "tensorflow" not in sys.modules and "keras" not in sys.modules
with open("/proc/self/status") as status:
    size = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmSize:"))
cap = size + 32 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
count, names = stream.scan_text_file({str(path)!r})
sample = stream.sample_texts({str(path)!r}, size=1000)
print("streamed", count, names, len(sample), flush=True)
try:
    readers.read_text_csv({str(path)!r})
    print("in-memory: read")
except MemoryError:
    print("in-memory: MemoryError")
"""
    env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = (os.path.getsize(path) - len("text,label\n")) // len(line)
    assert f"streamed {rows} ('neg', 'pos') 1000" in done.stdout, done.stdout
    assert "in-memory: MemoryError" in done.stdout, done.stdout


_STREAM_WORKER = """
import json, os, sys
from rnn_zoo import distribute
# MultiWorkerMirroredStrategy must exist before any other TensorFlow op.
strategy = distribute.multi_worker_strategy() if os.environ.get("TF_CONFIG") else None
import keras
from rnn_zoo import build_text_classifier
from rnn_zoo.data import stream
from rnn_zoo.text import TextVectorizer
from rnn_zoo.train import train
keras.utils.set_random_seed(0)
path, out = sys.argv[1], sys.argv[2]
count, names = stream.scan_text_file(path)
vectorizer = TextVectorizer(max_length=6)
vectorizer.adapt(stream.sample_texts(path, size=1000), max_tokens=50)
dataset = stream.text_dataset(path, vectorizer, names, batch_size=16, num_records=count)
with distribute.scope(strategy):
    model = build_text_classifier(vocab_size=vectorizer.vocab_size, units=8, embedding_dim=8)
result = train(model, dataset, epochs=2, verbose=0, tensorboard=False, output_dir=out,
               distribution=strategy)
if distribute.is_chief(strategy):
    with open(os.path.join(out, "losses.json"), "w") as handle:
        json.dump(result.history["loss"], handle)
"""


def test_tensorflow_two_workers_train_on_a_streamed_file_like_one_process(tmp_path):
    """The Python API: train(distribution=MultiWorkerMirroredStrategy) on a streamed CSV."""
    data = _write_csv(tmp_path / "data.csv", rows=96)
    script = tmp_path / "worker.py"
    script.write_text(_STREAM_WORKER)
    env = _env("tensorflow", tmp_path)
    status = distribute.run_local_workers(
        [sys.executable, str(script), data, str(tmp_path / "two")], 2, str(tmp_path / "logs"),
        environ=env)
    assert status == 0, (tmp_path / "logs" / "worker-1.log").read_text()[-3000:]
    done = subprocess.run([sys.executable, str(script), data, str(tmp_path / "one")],
                          env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    one, two = (json.loads((tmp_path / name / "losses.json").read_text())
                for name in ("one", "two"))
    np.testing.assert_allclose(two, one, rtol=1e-3)
    assert sorted(os.listdir(tmp_path / "two" / "checkpoints"))
    assert os.listdir(env["TMPDIR"]) == []
