"""Data-parallel training throughput: examples per second for 1 and 2 replicas.

Usage:
    python benchmarks/train_scaling.py [--backends tensorflow jax] [--epochs 4]
        [--examples 2048] [--batch-size 64] [--units 64] [--length 50]

For each backend it trains the same LSTM text classifier (vocabulary 5000,
embedding 64, one LSTM layer, T=50, global batch 64, synthetic tokens) through
`rnn_zoo.train.train`:

* 1 replica: one process, no distribution;
* 2 replicas: TensorFlow, two worker processes on loopback under
  `MultiWorkerMirroredStrategy` (what `rnn-zoo train --data-parallel 2` starts);
  JAX, `keras.distribution.DataParallel` over two host devices in one process.

Throughput is training examples per second over the epochs after the first
(the first holds tracing and compilation), median over those epochs; scaling
efficiency = throughput(2) / (2 x throughput(1)). It prints the command, the
machine (CPU model, cores, load average) and the table.

What the figures mean: on a 2-core machine, two replicas compete for the same two
cores a single process already uses (TensorFlow and XLA run their ops on every
core), and every step adds an all-reduce of the gradients (through loopback TCP
for TensorFlow's ring collectives, through shared memory for JAX's host
devices). So efficiency well under 1, even a slowdown, is what 2 cores should
show: the benchmark measures the cost of the machinery, not a speed-up. On real
machines each replica has its own cores or accelerator, and the speed-up
approaches N when a step's compute is large next to the all-reduce of the
weights (big batches, big models, a fast interconnect); small recurrent models
with small batches stay communication-bound.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _worker(args):
    """Train once in this process; the chief writes its result to --result."""
    from rnn_zoo import distribute

    distribution = None
    if args.replicas > 1:
        if distribute.backend_name() == "tensorflow":
            distribution = distribute.multi_worker_strategy()
        else:
            distribution = distribute.data_parallel(args.replicas)
    import keras
    import numpy as np

    from rnn_zoo import build_text_classifier
    from rnn_zoo.train import train

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 5000, (args.examples, args.length)).astype("int32")
    y = rng.integers(0, 2, args.examples).astype("int32")
    with distribute.scope(distribution):
        model = build_text_classifier(vocab_size=5000, units=args.units, embedding_dim=64)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    train(model, (x, y), epochs=args.epochs, batch_size=args.batch_size, patience=None,
          callbacks=[Clock()], verbose=0, distribution=distribution)
    if distribute.is_chief(distribution):
        with open(args.result, "w") as handle:
            json.dump({"epoch_seconds": times, "examples": args.examples}, handle)


def _run(backend, replicas, args, folder):
    result = os.path.join(folder, f"{backend}-{replicas}.json")
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--replicas",
               str(replicas), "--result", result, "--epochs", str(args.epochs),
               "--examples", str(args.examples), "--batch-size", str(args.batch_size),
               "--units", str(args.units), "--length", str(args.length)]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CONFIG", None)
    if backend == "jax":
        from rnn_zoo.distribute import host_device_flags

        env["XLA_FLAGS"] = host_device_flags(replicas, "")
    if backend == "tensorflow" and replicas > 1:
        from rnn_zoo.distribute import run_local_workers

        status = run_local_workers(command, replicas, os.path.join(folder, "logs"),
                                   environ=env)
    else:
        # The native libraries' notices would interleave with the table.
        with open(os.path.join(folder, f"{backend}-{replicas}.log"), "w") as log:
            status = subprocess.call(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    if status != 0:
        logs = [os.path.join(folder, name) for name in (f"{backend}-{replicas}.log",
                                                         "logs/worker-1.log")]
        tail = "".join(open(path).read()[-2000:] for path in logs if os.path.exists(path))
        raise SystemExit(f"{backend} x{replicas} failed with status {status}\n{tail}")
    with open(result) as handle:
        data = json.load(handle)
    steady = data["epoch_seconds"][1:] or data["epoch_seconds"]
    return data["examples"] / statistics.median(steady)


def _machine():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"],
                        choices=("tensorflow", "jax"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--replicas", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    print("command: python benchmarks/train_scaling.py " + " ".join(
        sys.argv[1:] if argv is None else argv))
    print(f"machine: {_machine()}")
    print(f"model: LSTM text classifier, vocab 5000, embedding 64, {args.units} units, "
          f"T={args.length}; {args.examples} examples, global batch {args.batch_size}, "
          f"median of epochs 2-{args.epochs}")
    print("| backend | 1 replica (ex/s) | 2 replicas (ex/s) | speed-up | efficiency |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="train-scaling-") as folder:
        for backend in args.backends:
            one = _run(backend, 1, args, folder)
            two = _run(backend, 2, args, folder)
            print(f"| {backend} | {one:.0f} | {two:.0f} | {two / one:.2f}x | "
                  f"{two / (2 * one):.2f} |", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
