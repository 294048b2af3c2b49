"""Start-up time of the `rnn-zoo` command line against `import tensorflow`.

`rnn-zoo --help` (and `CMD --help`, `list`, argument errors) must not import
TensorFlow or Keras: the target is `rnn-zoo --help` <= 0.1x the time of
`python -c "import tensorflow"` on the same machine. Both are timed as fresh
processes, alternating, and the medians of `--repeats` runs are compared
(a shared machine's noise is one-sided: a run is never faster than the
work). The load average is printed with the result.

Usage:

    python benchmarks/cli_startup.py               # 7 runs each, prints a table
    python benchmarks/cli_startup.py --repeats 9 --output benchmarks/RESULTS.md

Not a timed test: speed is measured here, never asserted in the test suite.
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 0.1


def _cli_command():
    script = shutil.which("rnn-zoo", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "rnn_zoo.cli"]


COMMANDS = {
    "rnn-zoo --help": lambda: _cli_command() + ["--help"],
    "rnn-zoo train --help": lambda: _cli_command() + ["train", "--help"],
    "rnn-zoo list": lambda: _cli_command() + ["list"],
    "python -c 'import tensorflow'": lambda: [sys.executable, "-c", "import tensorflow"],
}
BASELINE = "python -c 'import tensorflow'"


def time_once(argv):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=environment)
    return time.perf_counter() - start


def measure(repeats):
    """`{name: [seconds, ...]}`, the commands alternating run by run."""
    times = {name: [] for name in COMMANDS}
    for name in COMMANDS:  # warm the file cache once, untimed
        time_once(COMMANDS[name]())
    for _ in range(repeats):
        for name, argv in COMMANDS.items():
            times[name].append(time_once(argv()))
    return times


def report(times):
    baseline = statistics.median(times[BASELINE])
    load = os.getloadavg()
    lines = [
        f"cli_startup: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
        f"{len(times[BASELINE])} runs each (median, min-max)",
        "",
        "| command | median s | min-max s | x import tensorflow | target |",
        "|---|---|---|---|---|",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / baseline
        if name == BASELINE:
            verdict = "baseline"
        else:
            # Noise: the slowest run against the fastest baseline still within target?
            worst = max(values) / min(times[BASELINE])
            verdict = ("met" if worst <= TARGET_RATIO else
                       "met (median; within noise)" if ratio <= TARGET_RATIO else "not met")
        lines.append(f"| `{name}` | {median:.3f} | {min(values):.3f}-{max(values):.3f} | "
                     f"{ratio:.3f} | {verdict} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed runs per command (at least 5; default 7)")
    parser.add_argument("--output", default="-",
                        help="markdown file to append a dated section to (default '-': "
                        "print only)")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be >= 5 (the median of fewer runs is noise here)")
    lines = report(measure(args.repeats))
    print("\n".join(lines))
    if args.output != "-":
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        section = [f"## CLI start-up ({stamp})", "", "`python benchmarks/cli_startup.py "
                   f"--repeats {args.repeats}`; target: `rnn-zoo --help` <= "
                   f"{TARGET_RATIO}x `import tensorflow`.", "", *lines, ""]
        with open(args.output, "a", encoding="utf-8") as handle:
            handle.write("\n" + "\n".join(section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
