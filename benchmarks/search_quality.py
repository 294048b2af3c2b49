"""Does the search's winner beat the default configuration on held-out data?

Runs `tuning/japanese_vowels.toml` (cross-validated objective, refit, one
test score) once per seed, and reports the winner's and the default
configuration's test accuracy on the 370-utterance test split: per seed
(with its bootstrap 95% interval) and as a mean with a t interval over the
seeds. The accuracy is recomputed here from the saved bundles
(`<output-dir>/seed_<s>/best/` and `default/`), not read back from the
report. Goal: winner >= 0.99 (LSTM-FCN 0.99) from a search of <= 30 minutes.

A seed moves the folds' shuffle and every training run's initialisation.

Reproduce (about 30 minutes per seed on a quiet 2-core machine; a timed
benchmark, not a test). `budget.max_time` is wall time: on a busy machine a
seed runs fewer trials, so the table shows each seed's trial count and the
load average at its end:

    KERAS_BACKEND=tensorflow python benchmarks/search_quality.py --seeds 0 1 2

Faster smoke run: `--max-trials 2 --epochs 3 --max-time 5`.

Each seed's row is also written to `<output-dir>/seed_<s>/quality.json`.
`--reuse` reads back a seed whose folder already holds a finished search of
the same spec instead of running it again (its test accuracy is still
recomputed from its bundles), so seeds run at different times combine into
one figure:

    python benchmarks/search_quality.py --seeds 0          # now
    python benchmarks/search_quality.py --seeds 1 2        # later, same --output-dir
    python benchmarks/search_quality.py --seeds 0 1 2 --reuse   # the 3-seed figure
"""

import argparse
import csv
import dataclasses
import json
import math
import os
import platform
import sys
import time


def t_interval(values, level=0.95):
    """Mean and a Student-t interval of the mean of a few values."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, (math.nan, math.nan)
    # Two-sided 95% t quantiles for 1..9 degrees of freedom.
    quantiles = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
                 8: 2.306, 9: 2.262}
    q = quantiles.get(len(values) - 1, 1.96)
    half = q * float(values.std(ddof=1)) / math.sqrt(len(values))
    return mean, (mean - half, mean + half)


QUALITY_FILE = "quality.json"


def test_accuracy(folder, test):
    """Accuracy of the bundle in `folder` on the test split, recomputed here."""
    from rnn_zoo.bundle import Bundle

    bundle = Bundle.load(folder)
    return float((bundle.predict(test.x).argmax(-1) == test.labels).mean())


def make_row(seed, minutes, trials, summary, test, **extra):
    """One seed's result: the CV and reported interval of both models, and their
    test accuracy recomputed from the saved bundles."""
    row = {"seed": seed, "minutes": minutes, "trials": trials, "chosen": summary["chosen"],
           **extra}
    for name, entry in (("winner", summary), ("default", summary["default"])):
        accuracy = test_accuracy(summary["bundles"]["search" if name == "winner"
                                                   else "default"], test)
        row[name] = dict(cv_mean=entry["cv_mean"], cv_std=entry["cv_std"],
                         test_accuracy=accuracy, test_ci95=entry["test_ci95"],
                         source=entry["source"])
    return row


def read_back(spec, output, test):
    """The row of a finished search in `output`, or None when there is none to reuse.

    Raises:
        ValueError: `output` holds a search of another spec.
    """
    from rnn_zoo.tuning.search import _comparable

    paths = {name: os.path.join(output, name) for name in
             ("spec.json", "best.json", "results.csv", QUALITY_FILE)}
    if not all(os.path.exists(paths[n]) for n in ("spec.json", "best.json", "results.csv")):
        return None
    with open(paths["spec.json"], encoding="utf-8") as file:
        previous = json.load(file)
    if previous != json.loads(json.dumps(_comparable(spec))):
        raise ValueError(f"--reuse: {output} holds a search of another spec; run that seed "
                         "again without --reuse, or pick another --output-dir.")
    with open(paths["best.json"], encoding="utf-8") as file:
        summary = json.load(file)
    # The bundles sit next to best.json, wherever the folder was moved.
    summary["bundles"] = {"search": os.path.join(output, "best"),
                          "default": os.path.join(output, "default")}
    with open(paths["results.csv"], encoding="utf-8", newline="") as file:
        trials = sum(r["status"] == "COMPLETED" for r in csv.DictReader(file))
    if os.path.exists(paths[QUALITY_FILE]):
        with open(paths[QUALITY_FILE], encoding="utf-8") as file:
            saved = json.load(file)
        minutes, extra = saved["minutes"], {k: saved[k] for k in ("budget", "load")
                                            if k in saved}
    else:
        # A search run before quality.json existed: from its first trial's start
        # to the report (data loading before the first trial is left out).
        with open(os.path.join(output, "search", "trial_runs.jsonl"), encoding="utf-8") as f:
            first = json.loads(f.readline())["time"]
        minutes, extra = (os.path.getmtime(paths["best.json"]) - first) / 60, {}
    return make_row(spec.seed, minutes, trials, summary, test, reused=True, **extra)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--spec", default=os.path.join(root, "tuning", "japanese_vowels.toml"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output-dir", "-o", default=os.path.join("tuning_runs",
                                                                   "search_quality"))
    parser.add_argument("--max-trials", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-time", type=float, default=None, help="minutes per seed")
    parser.add_argument("--ensemble", type=int, default=0)
    parser.add_argument("--reuse", action="store_true",
                        help="read back seeds whose folder holds a finished search of the "
                        "same spec instead of running them again")
    args = parser.parse_args(argv)
    sys.path.insert(0, root)
    import keras
    import numpy as np

    from rnn_zoo import atomic
    from rnn_zoo.tuning import load_spec
    from rnn_zoo.tuning import run_search
    from rnn_zoo.tuning.search import with_budget
    from rnn_zoo.tuning.specs import load_test_split

    base = with_budget(load_spec(args.spec), max_trials=args.max_trials, epochs=args.epochs,
                       max_time=args.max_time)
    test = load_test_split(base)
    rows = []
    for seed in args.seeds:
        spec = dataclasses.replace(base, seed=seed, dataset={**base.dataset, "seed": seed})
        output = os.path.join(args.output_dir, f"seed_{seed}")
        row = read_back(spec, output, test) if args.reuse else None
        if row is None:
            started = time.perf_counter()
            result = run_search(spec, output, overwrite=True, ensemble=args.ensemble,
                                progress=lambda line, s=seed: print(f"[seed {s}] {line}",
                                                                   flush=True))
            minutes = (time.perf_counter() - started) / 60
            trials = sum(r["status"] == "COMPLETED" for r in result.rows)
            row = make_row(seed, minutes, trials, result.summary, test, budget=spec.budget,
                           load=os.getloadavg()[0])
            atomic.write_json(os.path.join(output, QUALITY_FILE),
                              json.loads(json.dumps(row, default=str)))
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpu(s), backend "
          f"{keras.backend.backend()}, load average {os.getloadavg()[0]:.1f}")
    print(f"spec {os.path.relpath(args.spec, root)}, budget {base.budget}, "
          f"cv_folds {base.cv_folds}, ensemble {args.ensemble}")
    print()
    print("| seed | minutes | load | trials | winner cv | winner test (95% CI) | default cv | "
          "default test (95% CI) | wins on CV |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        w, d = row["winner"], row["default"]
        load = f"{row['load']:.1f}" if "load" in row else "n/a"
        print(f"| {row['seed']}{' (read back)' if row.get('reused') else ''} | "
              f"{row['minutes']:.1f} | {load} | {row['trials']} | "
              f"{w['cv_mean']:.4f} +- {w['cv_std']:.4f} | {w['test_accuracy']:.4f} "
              f"({w['test_ci95'][0]:.3f}-{w['test_ci95'][1]:.3f}) | "
              f"{d['cv_mean']:.4f} +- {d['cv_std']:.4f} | {d['test_accuracy']:.4f} "
              f"({d['test_ci95'][0]:.3f}-{d['test_ci95'][1]:.3f}) | {row['chosen']} |")
    for name in ("winner", "default"):
        mean, (low, high) = t_interval([row[name]["test_accuracy"] for row in rows])
        print(f"{name}: test accuracy mean {mean:.4f}, 95% t interval over "
              f"{len(rows)} seed(s) {low:.4f}-{high:.4f}")
    wins = np.mean([r["winner"]["test_accuracy"] >= 0.99 for r in rows])
    print(f"goal winner >= 0.99: met in {wins:.0%} of seeds; longest search "
          f"{max(r['minutes'] for r in rows):.1f} min (goal <= 30)")
    print("reproduce: KERAS_BACKEND=tensorflow python benchmarks/search_quality.py --seeds "
          + " ".join(str(s) for s in args.seeds) + (" --reuse" if args.reuse else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
