"""Does the search's winner beat the default configuration on held-out data?

Runs `tuning/japanese_vowels.toml` (cross-validated objective, refit, one
test score) once per seed, and reports the winner's and the default
configuration's test accuracy on the 370-utterance test split: per seed
(with its bootstrap 95% interval) and as a mean with a t interval over the
seeds. The accuracy is recomputed here from the saved bundles
(`<output-dir>/seed_<s>/best/` and `default/`), not read back from the
report. Goal: winner >= 0.99 (LSTM-FCN 0.99) from a search of <= 30 minutes.

A seed moves the folds' shuffle and every training run's initialisation.

Reproduce (about 30 minutes per seed on a 2-core machine; a timed
benchmark, not a test):

    KERAS_BACKEND=tensorflow python benchmarks/search_quality.py --seeds 0 1 2

Faster smoke run: `--max-trials 2 --epochs 3 --max-time 5`.
"""

import argparse
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
    args = parser.parse_args(argv)
    sys.path.insert(0, root)
    import keras
    import numpy as np

    from rnn_zoo.bundle import Bundle
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
        started = time.perf_counter()
        result = run_search(spec, output, overwrite=True, ensemble=args.ensemble,
                            progress=lambda line, s=seed: print(f"[seed {s}] {line}",
                                                               flush=True))
        minutes = (time.perf_counter() - started) / 60
        row = {"seed": seed, "minutes": minutes, "trials": sum(
            r["status"] == "COMPLETED" for r in result.rows), "chosen": result.summary["chosen"]}
        for name, entry in (("winner", result.summary), ("default", result.summary["default"])):
            folder = result.summary["bundles"]["search" if name == "winner" else "default"]
            bundle = Bundle.load(folder)
            accuracy = float((bundle.predict(test.x).argmax(-1) == test.labels).mean())
            row[name] = dict(cv_mean=entry["cv_mean"], cv_std=entry["cv_std"],
                             test_accuracy=accuracy, test_ci95=entry["test_ci95"],
                             source=entry["source"])
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpu(s), backend "
          f"{keras.backend.backend()}, load average {os.getloadavg()[0]:.1f}")
    print(f"spec {os.path.relpath(args.spec, root)}, budget {base.budget}, "
          f"cv_folds {base.cv_folds}, ensemble {args.ensemble}")
    print()
    print("| seed | minutes | trials | winner cv | winner test (95% CI) | default cv | "
          "default test (95% CI) | wins on CV |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        w, d = row["winner"], row["default"]
        print(f"| {row['seed']} | {row['minutes']:.1f} | {row['trials']} | "
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
          + " ".join(str(s) for s in args.seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
