"""`rnn-zoo tune SPEC`: run a Keras Tuner search spec (TOML) from tuning/.

Examples:

    rnn-zoo tune tuning/negation_sentiment.toml
    rnn-zoo tune tuning/japanese_vowels.toml --workers 2 --export
    rnn-zoo tune tuning/japanese_vowels.toml --cv-folds 5 --max-time 30 --ensemble 3
    rnn-zoo tune tuning/csv_template.toml --max-trials 3 --epochs 1

Each trial is scored by k-fold cross-validation on the training split. Then
the winner and the default configuration are refit on the whole training
split, saved as bundles in `<output-dir>/best/` and `<output-dir>/default/`,
and scored once on the dataset's test split where it has one.

Running the same command again resumes the search in its output directory
(completed trials are kept; a trial cut short by a crash runs again);
`--overwrite` starts from scratch. See rnn_zoo/tuning/distributed.py for the
multi-machine setup (`--role chief|worker`).
"""

import os

from rnn_zoo.errors import UsageError


def register(subparsers):
    parser = subparsers.add_parser(
        "tune", help="run a hyperparameter search spec (TOML)",
        description="Run a Keras Tuner search described by a TOML spec, scoring each trial by "
        "cross-validation; refit the winner and the default configuration, save both as "
        "bundles (best/, default/), score them on the test split, and write a results table "
        "(CSV, Markdown) and a plot of the trials into the output directory.")
    parser.add_argument("spec", help="a search spec, e.g. tuning/negation_sentiment.toml")
    parser.add_argument("--output-dir", "-o", default=None,
                        help="where the search and its report live "
                        "(default: tuning_runs/<spec name>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again instead of resuming what --output-dir holds")
    parser.add_argument("--max-trials", type=int, default=None, help="override budget.max_trials")
    parser.add_argument("--epochs", type=int, default=None, help="override budget.epochs")
    parser.add_argument("--cv-folds", type=int, default=None,
                        help="score each trial by K-fold cross-validation on the training "
                        "split (1: one validation split); overrides the spec's cv_folds")
    parser.add_argument("--max-time", type=float, default=None, metavar="MINUTES",
                        help="start no trial after this many minutes (budget.max_time)")
    parser.add_argument("--ensemble", type=int, default=0, metavar="K",
                        help="also try the average of the top K trials; kept only if it wins "
                        "on cross-validation")
    parser.add_argument("--workers", type=int, default=0,
                        help="start a chief and N local worker processes (gRPC on loopback)")
    parser.add_argument("--role", choices=("single", "chief", "worker"), default=None,
                        help="multi-machine: this process's role (default: single, or "
                        "chief with --workers)")
    parser.add_argument("--oracle-address", default=None,
                        help="HOST:PORT of the chief's oracle (chief: where to listen)")
    parser.add_argument("--tuner-id", default=None,
                        help="worker id, e.g. tuner0 (else KERASTUNER_TUNER_ID)")
    parser.add_argument("--strategy", choices=("none", "mirrored"), default="none",
                        help="train each trial data-parallel with tf.distribute (TF backend)")
    parser.add_argument("--logical-cpus", type=int, default=None,
                        help="with --strategy mirrored: split the CPU into N devices")
    parser.add_argument("--export", action="store_true",
                        help="export whichever wins on cross-validation, the search winner or "
                        "the default configuration, through rnn_zoo.export")
    parser.add_argument("--export-root", default=None,
                        help="export root folder (default: <output-dir>/export)")
    parser.set_defaults(func=run)


def _check(args):
    if args.workers < 0:
        raise UsageError(f"--workers: expected an integer >= 0. Received: {args.workers}")
    if args.logical_cpus is not None and (args.logical_cpus < 1 or args.strategy != "mirrored"):
        raise UsageError("--logical-cpus: expected an integer >= 1, with --strategy mirrored. "
                         f"Received: {args.logical_cpus}")
    role = args.role or ("chief" if args.workers else "single")
    if args.workers and role != "chief":
        raise UsageError(f"--workers goes with --role chief. Received: --role {role}")
    if args.ensemble < 0 or args.ensemble == 1:
        raise UsageError(f"--ensemble: expected 0 (none) or an integer >= 2. "
                         f"Received: {args.ensemble}")
    return role


def run(args):
    role = _check(args)
    # Validate the whole spec before anything heavy is imported or trained.
    from rnn_zoo.tuning.specs import load_spec

    spec = load_spec(args.spec)
    from rnn_zoo.tuning import search

    spec = search.with_budget(spec, max_trials=args.max_trials, epochs=args.epochs,
                              max_time=args.max_time)
    spec = search.with_cv_folds(spec, args.cv_folds)
    output_dir = args.output_dir or os.path.join("tuning_runs", spec.name)
    strategy = None if args.strategy == "none" else args.strategy
    progress = _printer(role)
    if role == "worker":
        if args.oracle_address:
            from rnn_zoo.tuning import distributed

            host, port = distributed.parse_address(args.oracle_address)
            os.environ.update(KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=str(port))
        if args.tuner_id:
            os.environ["KERASTUNER_TUNER_ID"] = args.tuner_id
        return search.run_worker(spec, output_dir, strategy=strategy,
                                 logical_cpus=args.logical_cpus, progress=progress)
    if role == "chief":
        worker_args = ["--strategy", args.strategy]
        if args.logical_cpus:
            worker_args += ["--logical-cpus", str(args.logical_cpus)]
        result = search.run_distributed(spec, output_dir, args.workers,
                                        overwrite=args.overwrite,
                                        oracle_address=args.oracle_address,
                                        worker_args=worker_args, progress=progress,
                                        ensemble=args.ensemble)
    else:
        result = search.run_search(spec, output_dir, overwrite=args.overwrite,
                                   strategy=strategy, logical_cpus=args.logical_cpus,
                                   progress=progress, ensemble=args.ensemble)
    if args.export:
        root = args.export_root or os.path.join(output_dir, "export")
        search.export_best(result, spec, root, progress=progress)
    return 0


def _printer(role):
    def say(line):
        print(line if role == "single" else f"{role}: {line}", flush=True)
    return say


def main(argv=None):
    """`python -m rnn_zoo.commands.tune ...`: this subcommand alone (how workers start).

    Same exit codes as `rnn-zoo tune`: 2 and one line on bad input.
    """
    import argparse
    import sys

    from rnn_zoo.commands.common import flag_names
    from rnn_zoo.commands.common import user_message

    parser = argparse.ArgumentParser(prog="rnn-zoo")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(["tune", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as error:
        flags = flag_names(subparsers.choices["tune"])
        print(f"rnn-zoo tune: error: {user_message(error, flags)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
