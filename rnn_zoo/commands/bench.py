"""`rnn-zoo bench`: run the speed benchmarks (quick sizes unless --full).

The benchmark scripts live in the source checkout's `benchmarks/` folder
(they compare against plain Keras and raw PyTorch, which are not part of the
package); this command runs them in subprocesses, one per Keras backend, and
prints their tables and ratios.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from rnn_zoo.commands.common import output_file
from rnn_zoo.errors import UsageError

SCRIPTS = {"train": "train_speed.py", "inference": "inference_latency.py"}
# Rough minutes per script and backend on a 2-core machine at load ~1 (quick,
# full): said before the run starts, so nobody waits blind.
MINUTES_PER_BACKEND = {"train": (0.8, 8.0), "inference": (0.4, 2.0)}
ALL_BACKENDS = ("tensorflow", "jax", "torch")
# Run-to-run spread of a ratio on a shared machine (twelve full runs of
# train_speed): a target closer than this to the measured ratio is not decided
# by one run.
NOISE = 0.15
# More threads than this is a typo, not a machine.
MAX_THREADS = 1024


def register(subparsers):
    parser = subparsers.add_parser(
        "bench", help="measure training speed and batch-1 latency per backend",
        description="Run benchmarks/train_speed.py and benchmarks/inference_latency.py "
        "(small sizes by default) and print ms per step, spreads and ratios against "
        "plain Keras and raw PyTorch measured in the same run.",
    )
    parser.add_argument("what", nargs="?", default="all", choices=("all", *SCRIPTS),
                        help="which benchmark to run (default: all)")
    parser.add_argument("--full", action="store_true",
                        help="the full sizes and repeats (minutes to tens of minutes) "
                        "instead of the quick smoke run")
    parser.add_argument("--backends", nargs="+", choices=("tensorflow", "jax", "torch"),
                        default=None, help="Keras backends to measure (default: all three)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per library (1 is steadier on a shared machine)")
    parser.add_argument("--output", default="-",
                        help="markdown file to update with the results "
                        "(default '-': print only; e.g. benchmarks/RESULTS.md)")
    parser.set_defaults(func=run)


def benchmarks_folder():
    folder = Path(__file__).resolve().parents[2] / "benchmarks"
    if not (folder / SCRIPTS["train"]).is_file():
        raise FileNotFoundError(
            f"benchmark scripts not found in {folder}: `rnn-zoo bench` runs from a "
            "source checkout of rnn-zoo (the scripts are not part of the wheel)"
        )
    return folder


def _load():
    try:
        return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "load average unknown"


def estimate_minutes(names, backends, full):
    """Rough minutes the run will take: the sum over scripts and backends."""
    count = len(backends or ALL_BACKENDS)
    return sum(MINUTES_PER_BACKEND[name][1 if full else 0] * count for name in names)


def run(args):
    if args.threads is not None and not 1 <= args.threads <= MAX_THREADS:
        raise UsageError(f"--threads must be in 1..{MAX_THREADS}. Received: "
                         f"--threads={args.threads}")
    if args.output != "-":
        # Checked now: the scripts write it only after minutes of measuring.
        output_file(args.output, "--output")
    folder = benchmarks_folder()
    names = list(SCRIPTS) if args.what == "all" else [args.what]
    cores = os.cpu_count() or 1
    minutes = estimate_minutes(names, args.backends, args.full)
    print(f"rnn-zoo bench: {' and '.join(SCRIPTS[n] for n in names)} "
          f"({'full' if args.full else 'quick'} sizes) on "
          f"{', '.join(args.backends or ALL_BACKENDS)}; about {minutes:.0f} minute(s) at "
          f"low load, more on a busy machine ({cores} CPUs, {_load()}).", flush=True)
    print(f"rnn-zoo bench: a ratio within +-{NOISE:.0%} of its target is within the "
          "run-to-run noise of a shared machine: decide such a target by the median of "
          "at least five runs.", flush=True)
    status = 0
    started = time.monotonic()
    for name in names:
        command = [sys.executable, str(folder / SCRIPTS[name]), "--output", args.output]
        if not args.full:
            command.append("--quick")
        if args.threads is not None:
            command += ["--threads", str(args.threads)]
        if args.backends:
            backends = list(args.backends)
            if name == "train":
                backends.append("raw")  # the raw PyTorch baseline of the ratios
            command += ["--backends", *backends]
        print(f"rnn-zoo bench: running {' '.join(command[1:])}", flush=True)
        status = max(status, subprocess.run(command).returncode)
    print(f"rnn-zoo bench: done in {(time.monotonic() - started) / 60:.1f} minute(s); "
          f"{_load()} at the end.", flush=True)
    return status
