"""How much of a search's wall time is not spent in `fit`? (target: <= 10%).

Runs a small random search in one process and reports

    overhead = (search wall time - sum of the trials' fit times) / search wall time

where a trial's fit time is the wall time of its `model.fit` calls (build,
tuner bookkeeping, checkpoints of the oracle and the trial files, and
`keras.backend.clear_session` between trials are the overhead). Fit times
come from `trial_runs.jsonl`, written by the tuner itself.

Reproduce:

    KERAS_BACKEND=tensorflow python benchmarks/tuner_overhead.py --trials 4 --epochs 3

On a shared machine, run it twice and report the spread.
"""

import argparse
import os
import platform
import sys
import tempfile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=600)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import keras

    from rnn_zoo.tuning import parse_spec
    from rnn_zoo.tuning import run_search
    from rnn_zoo.tuning.runner import read_run_log

    spec = parse_spec({
        # One validation split and no refit: this measures the tuner's own bookkeeping.
        "task": "sequence_regressor", "tuner": "random", "objective": "val_loss", "seed": 0,
        "cv_folds": 1,
        "dataset": {"name": "adding_problem", "num_samples": args.samples, "length": 20},
        "budget": {"max_trials": args.trials, "epochs": args.epochs},
        "space": {"narrow": {"units": [16, 32]}, "fixed": {"depth": 1, "batch_size": 32}},
    })
    with tempfile.TemporaryDirectory() as output:
        result = run_search(spec, output, progress=None, refit=False)
        # Tuner creation to the end of `search` (data loading and the report excluded).
        wall = result.wall_seconds
        ends = [r for r in read_run_log(result.tuner.project_dir) if r["event"] == "end"]
        fit = sum(r["fit_seconds"] for r in ends)
        build = sum(r["build_seconds"] for r in ends)
    overhead = (wall - fit) / wall
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpu(s), backend "
          f"{keras.backend.backend()}, python {platform.python_version()}")
    print(f"search wall time {wall:.1f} s (tuner creation to end of search), "
          f"sum of fit times {fit:.1f} s, of model builds {build:.1f} s, "
          f"{args.trials} trials x {args.epochs} epochs")
    print(f"tuner overhead: {overhead:.1%} of wall time (target <= 10%)")
    print("reproduce: KERAS_BACKEND=tensorflow python benchmarks/tuner_overhead.py "
          f"--trials {args.trials} --epochs {args.epochs} --samples {args.samples}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
