"""Batch-1 latency of an LSTM text classifier: each Keras backend vs TFLite.

One zoo model (`rnn_zoo.build_text_classifier`, LSTM, vocab 5000, embedding
64, 128 units) answers one request of T token ids (no padding), timed call
by call after a warm-up:

* `predict`: `model.predict(ids)`, what a notebook user calls;
* `serve`: the lightest compiled call each backend offers for serving:
  TensorFlow a `tf.function` with a `[1, None]` int32 signature, JAX a
  `jax.jit` of `model.stateless_call`, torch `model(ids)` under
  `torch.inference_mode()` (eager is torch's serving path);
* `tflite`: the `.tflite` export run by `ai_edge_litert` with one thread:
  `rnn_zoo.export.tflite.export_tflite` (fused LSTM op) when that exporter
  exists, else Keras's `model.export(format="litert")` (a WHILE loop).

Each backend runs in its own subprocess (the backend is fixed at import).
The figures go to benchmarks/RESULTS.md (its inference section).

Usage:

    python benchmarks/inference_latency.py [--quick] [--steps 100] [--calls 200]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train_speed import load_average  # noqa: E402
from train_speed import machine_description  # noqa: E402
from train_speed import replace_section  # noqa: E402
from train_speed import thread_environment  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
MODEL = dict(vocab_size=5000, embedding_dim=64, units=128, num_classes=2)


def time_calls(function, calls, warmup=10):
    for _ in range(warmup):
        function()
    values = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        values.append((time.perf_counter() - start) * 1000.0)
    return values


def serving_function(model, ids):
    """The backend's compiled batch-1 call, as a zero-argument function."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        serve = tf.function(lambda x: model(x, training=False),
                            input_signature=[tf.TensorSpec([1, None], tf.int32)])
        tensor = tf.constant(ids)
        return lambda: serve(tensor).numpy()
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        serve = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])
        tensor = jax.numpy.asarray(ids)
        return lambda: serve(trainable, non_trainable, tensor).block_until_ready()
    import torch

    tensor = torch.from_numpy(ids)

    def serve():
        with torch.inference_mode():
            return model(tensor, training=False).numpy()

    return serve


def tflite_function(model, ids, scratch):
    """Export to TFLite and return (how it was exported, ops, call function)."""
    from ai_edge_litert.interpreter import Interpreter

    path = str(Path(scratch) / "model.tflite")
    try:
        from rnn_zoo.export.tflite import export_tflite
    except ImportError:
        export_tflite = None
    if export_tflite is not None:
        report = export_tflite(model, path)
        how = "rnn_zoo.export.tflite.export_tflite"
    else:
        import keras

        model.export(path, format="litert",
                     input_signature=[keras.InputSpec(shape=(1, None), dtype="int32")])
        how = 'model.export(format="litert")'
        report = None
    interpreter = Interpreter(model_path=path, num_threads=1)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], list(ids.shape))
    interpreter.allocate_tensors()
    output_index = interpreter.get_output_details()[0]["index"]
    ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})
    if report is not None and getattr(report, "ops", None):
        ops = sorted(set(report.ops))

    def call():
        interpreter.set_tensor(detail["index"], ids.astype(detail["dtype"]))
        interpreter.invoke()
        return interpreter.get_tensor(output_index)

    return how, ops, call


def worker(args):
    import keras
    import numpy as np

    import rnn_zoo

    keras.utils.set_random_seed(0)
    model = rnn_zoo.build_text_classifier(cell="lstm", **MODEL)
    ids = np.random.default_rng(0).integers(
        2, MODEL["vocab_size"], size=(1, args.steps)).astype("int32")
    backend = keras.backend.backend()
    rows = [{"backend": backend, "path": "predict",
             "ms": time_calls(lambda: model.predict(ids, verbose=0), args.calls)},
            {"backend": backend, "path": "serve",
             "ms": time_calls(serving_function(model, ids), args.calls)}]
    if backend == "tensorflow":
        with tempfile.TemporaryDirectory() as scratch:
            how, ops, call = tflite_function(model, ids, scratch)
            reference = model.predict(ids, verbose=0)
            difference = float(np.abs(call() - reference).max())
            rows.append({"backend": "tflite", "path": how, "ms": time_calls(call, args.calls),
                         "ops": ops, "max_abs_diff": difference})
    for row in rows:
        print(f"  {row['backend']:<10} {row['path']:<40} "
              f"median {statistics.median(row['ms']):.2f} ms", flush=True)
    return rows


def render(rows, args, loads, seconds):
    lines = [
        "## Inference latency, batch 1 (ms per request)",
        "",
        f"Command: `{args.command_line}`  ",
        f"Machine: {machine_description()}  ",
        f"Load average before: {loads[0]}, after: {loads[1]} (shared machine: noisy).  ",
        f"Model: LSTM text classifier, vocab {MODEL['vocab_size']}, embedding "
        f"{MODEL['embedding_dim']}, {MODEL['units']} units; one request of T={args.steps} ids; "
        f"{args.calls} timed calls after 10 warm-up calls; threads per library: "
        f"{args.threads or 'library default'} (TFLite: 1); wall time {seconds:.0f} s.",
        "",
        "| runtime | path | min | median | p90 | max |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        values = sorted(row["ms"])
        p90 = values[int(0.9 * (len(values) - 1))]
        lines.append(f"| {row['backend']} | {row['path']} | {values[0]:.2f} | "
                     f"{statistics.median(values):.2f} | {p90:.2f} | {values[-1]:.2f} |")
    for row in rows:
        if "ops" in row:
            lines += ["", f"TFLite file ({row['path']}): ops {', '.join(row['ops'])}; "
                      f"max abs difference vs Keras {row['max_abs_diff']:.1e}."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T=20 and 30 calls")
    parser.add_argument("--steps", type=int, default=None, help="request length T (default 100)")
    parser.add_argument("--calls", type=int, default=None, help="timed calls (default 200)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for every Keras backend (default: library default)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"),
                        help="markdown file whose inference section is replaced ('-' to skip)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.steps = args.steps or (20 if args.quick else 100)
    args.calls = args.calls or (30 if args.quick else 200)
    if args.steps < 1 or args.calls < 1:
        parser.error("--steps and --calls must be >= 1")
    if args.worker:
        Path(args.json).write_text(json.dumps(worker(args)))
        return 0

    args.command_line = "python benchmarks/inference_latency.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    started, load_before = time.perf_counter(), load_average()
    rows = []
    for backend in args.backends:
        print(f"[{backend}]", flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "rows.json"
            environment = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                               CUDA_VISIBLE_DEVICES="", **thread_environment(args.threads))
            command = [sys.executable, str(Path(__file__).resolve()), "--worker",
                       "--json", str(output), "--steps", str(args.steps),
                       "--calls", str(args.calls)]
            completed = subprocess.run(command, env=environment, stderr=subprocess.PIPE,
                                       text=True)
            if completed.returncode != 0:
                tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
                raise RuntimeError(f"{backend} worker failed:\n{tail}")
            rows += json.loads(output.read_text())
    report = render(rows, args, (load_before, load_average()), time.perf_counter() - started)
    print()
    print(report)
    if args.output != "-":
        replace_section(Path(args.output), "inference_latency", report)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
