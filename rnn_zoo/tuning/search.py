"""Run a search spec end to end: check, load data, search (resumable), refit, test, report.

Each trial is scored by cross-validation on the training split
(`rnn_zoo.tuning.cv`). After the search, the winner and the default
configuration (the factory's defaults plus the spec's `task_args`) are each
refit on the whole training split for their mean best epoch, saved as
bundles, and scored once on the dataset's test split where it has one.

Output directory layout:

```
<output_dir>/
  spec.json        the validated spec (a resume must use the same one, budget aside)
  search/          keras-tuner's project: oracle.json, trial_*/ (cv.json, oof.npy),
                   trial_runs.jsonl
  best/            the winner refit (a bundle, as `rnn-zoo train -o` writes)
  default/         the default configuration refit (a bundle)
  results.csv, results.md, trials.png, best.json
  export/          with `--export`: the exported versions of the CV winner
```
"""

import dataclasses
import json
import logging
import os
import sys
import time

from rnn_zoo import atomic
from rnn_zoo.tasks import TASKS
from rnn_zoo.tuning import cv as cv_lib
from rnn_zoo.tuning import report
from rnn_zoo.tuning import runner
from rnn_zoo.tuning.specs import check_max_time
from rnn_zoo.tuning.specs import load_cv
from rnn_zoo.tuning.specs import load_test_split

PROJECT_NAME = "search"

logger = logging.getLogger(__name__)


def _reporter(progress):
    """`progress` itself, or the module logger's `info` when it is None."""
    return progress if progress is not None else logger.info


def _comparable(spec):
    fields = dataclasses.asdict(spec)
    # The budget may grow between runs ("10 more trials"); the rest may not.
    for key in ("budget", "path"):
        fields.pop(key)
    return fields


def check_output_dir(spec, output_dir, overwrite):
    """Refuse to resume a search of another spec in `output_dir`; record this one.

    Raises:
        ValueError: `output_dir` holds a search of a different spec.
    """
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as error:  # a file in the way, a read-only file system
        raise ValueError(f"Invalid value received for argument `output_dir`: {output_dir} "
                         f"cannot be created ({error.strerror or error}).") from None
    path = os.path.join(output_dir, "spec.json")
    current = _comparable(spec)
    if not overwrite and os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as file:
                previous = json.load(file)
        except (OSError, ValueError) as error:  # damaged outside rnn-zoo: it is written atomically
            raise ValueError(f"{path}: unreadable ({error}); pass --overwrite (overwrite=True) "
                             "to start the search again.") from None
        if not isinstance(previous, dict):
            raise ValueError(f"{path}: not a spec record; pass --overwrite (overwrite=True) "
                             "to start the search again.")
        if previous != json.loads(json.dumps(current)):
            changed = sorted(k for k in current
                             if previous.get(k) != json.loads(json.dumps(current[k])))
            raise ValueError(
                f"--output-dir {output_dir} holds a search of a different spec (changed: "
                f"{changed}); pass --overwrite to start again, or another --output-dir.")
    atomic.write_text(path, json.dumps(current, indent=2))


def with_budget(spec, **budget):
    """A copy of `spec` with budget entries replaced (None entries are ignored)."""
    changes = {k: v for k, v in budget.items() if v is not None}
    for key, value in changes.items():
        if key == "max_time":
            changes[key] = check_max_time(value, "Invalid value received for argument "
                                          "`max_time`")
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Invalid value received for argument `{key}`. Expected an "
                             f"integer >= 1. Received: {key}={value!r}")
    return dataclasses.replace(spec, budget={**spec.budget, **changes})


def with_cv_folds(spec, cv_folds):
    """A copy of `spec` with `cv_folds` replaced (None keeps the spec's)."""
    if cv_folds is None:
        return spec
    if isinstance(cv_folds, bool) or not isinstance(cv_folds, int) or cv_folds < 1:
        raise ValueError("Invalid value received for argument `cv_folds`. Expected an integer "
                         f">= 1. Received: cv_folds={cv_folds!r}")
    return dataclasses.replace(spec, cv_folds=cv_folds)


def _load_cv(spec, progress):
    cv = load_cv(spec)
    if cv.note:
        progress(cv.note)
    return cv


def _describe_cv(cv):
    if cv.k == 1:
        return "one validation split"
    kind = "stratified " if TASKS[cv.task].classification else ""
    return f"{cv.k}-fold {kind}cross-validation"


def run_search(spec, output_dir, overwrite=False, strategy=None, logical_cpus=None,
               progress=None, ensemble=0, refit=True):
    """Search `spec` in one process; resumes what `output_dir` holds; refit and test.

    Args:
        spec: a `SearchSpec` (already validated).
        output_dir: where the search and its report live.
        overwrite: False (default) resumes; True starts again.
        strategy: None or "mirrored" (each trial trains with
            `tf.distribute.MirroredStrategy`; TF backend only).
        logical_cpus: with "mirrored", split the CPU into this many devices.
        progress: callable taking one line of progress, or None (default) to
            log it through `logging` (logger `rnn_zoo.tuning.search`).
        ensemble: int; >= 2 also scores the average of the top `ensemble`
            trials on their out-of-fold predictions, and keeps it as the
            search's pick only if it beats the best trial on CV.
        refit: bool, default True: refit the winner and the default
            configuration, save `best/` and `default/`, score on the test split.

    Returns:
        A `SearchResult`.
    """
    progress = _reporter(progress)
    check_output_dir(spec, output_dir, overwrite)
    distribution = runner.mirrored_strategy(logical_cpus) if strategy == "mirrored" else None
    if distribution is not None:
        progress(f"each trial trains with {type(distribution).__name__} over "
                 f"{distribution.num_replicas_in_sync} replica(s)")
    cv = _load_cv(spec, progress)
    hypermodel = data_hypermodel(spec, cv)
    started = time.perf_counter()
    tuner = runner.make_tuner(spec, hypermodel, output_dir, PROJECT_NAME, overwrite=overwrite,
                              distribution_strategy=distribution, progress=progress, cv=cv,
                              max_time=spec.budget.get("max_time"))
    remaining = tuner.oracle.remaining_trials()
    limit = (f", at most {spec.budget['max_time']:g} min" if spec.budget.get("max_time")
             else "")
    progress(f"searching {spec.name}: {spec.tuner} search, objective {spec.objective} by "
             f"{_describe_cv(cv)}, {remaining} trial(s) left of {spec.budget['max_trials']}, "
             f"{spec.budget['epochs']} epoch(s) each{limit}")
    tuner.search(**runner.search_kwargs(spec))
    wall = time.perf_counter() - started
    return finish(spec, tuner, cv, output_dir, wall, progress, ensemble=ensemble, refit=refit)


@dataclasses.dataclass
class SearchResult:
    """What a search produced.

    Attributes:
        tuner: the tuner (its oracle holds every trial).
        data: the `rnn_zoo.tuning.cv.CVData` searched on.
        rows: the results table (see `report.trial_rows`).
        best: the best completed row, or None.
        paths: the report files.
        wall_seconds: wall time of this run (tuner creation to the end of search).
        summary: the final models (see `final_models`), or None without refit.
    """

    tuner: object
    data: object
    rows: list
    best: dict
    paths: dict
    wall_seconds: float
    summary: dict = None


def finish(spec, tuner, cv, output_dir, wall, progress, ensemble=0, refit=True):
    """Refit and test the winner and the default, write the report, return a `SearchResult`."""
    progress = _reporter(progress)
    direction = runner.objective_direction(spec.objective)
    rows = report.trial_rows(tuner.oracle, tuner.project_dir)
    best = report.best_row(rows, direction)
    done = sum(r["status"] == "COMPLETED" for r in rows)
    progress(f"done: {done} completed trial(s) in {wall:.1f} s")
    if best is not None:
        progress(f"best: trial {best['trial_id']} {spec.objective}={best['score']:.4f}"
                 + (f" +- {best['cv_std']:.4f} over {cv.k} folds" if cv.k > 1 else ""))
    summary = None
    if refit and best is not None:
        summary = final_models(spec, tuner, cv, rows, output_dir, progress, ensemble=ensemble)
    paths = report.write_report(rows, output_dir, spec.objective, direction, title=spec.name,
                                summary=summary)
    progress(f"wrote {paths['csv']}, {paths['markdown']}, {paths['plot']}")
    return SearchResult(tuner=tuner, data=cv, rows=rows, best=best, paths=paths,
                        wall_seconds=wall, summary=summary)


def _trial_record(tuner, trial_id, cv=None):
    """A trial's `cv.json` and out-of-fold predictions, or (None, None) when missing.

    Raises:
        ValueError: the trial was scored on other folds than `cv`'s (a worker
            of a distributed search started with another `--cv-folds` or spec).
    """
    import numpy as np

    folder = tuner.get_trial_dir(trial_id)
    try:
        with open(os.path.join(folder, runner.CV_FILE), encoding="utf-8") as file:
            record = json.load(file)
        predictions = np.load(os.path.join(folder, runner.OOF_FILE))
    except (OSError, ValueError):
        return None, None
    if cv is not None and (record.get("folds") != cv.k or len(predictions) != cv.num_rows):
        raise ValueError(
            f"{os.path.join(folder, runner.CV_FILE)}: trial {trial_id} was scored by "
            f"{record.get('folds')} fold(s) on {len(predictions)} rows, but this process "
            f"uses cv_folds={cv.k} on {cv.num_rows} rows; every process of a distributed "
            "search must run the same spec with the same --cv-folds.")
    return record, predictions


def _summary(score_mean, score_std, fold_values, fitted, metric, **extra):
    test_key = f"test_{metric}"
    return {"cv_mean": score_mean, "cv_std": score_std, "cv_fold_values": list(fold_values),
            "refit_epochs": fitted.epochs, test_key: fitted.test.get(test_key),
            "test_ci95": fitted.test.get("test_ci95"),
            "test_samples": fitted.test.get("test_samples"), **extra}


def _better(a, b, direction):
    return a > b if direction == "max" else a < b


def _ensemble(spec, tuner, cv, rows, size, winner_oof, progress):
    """The top `size` trials averaged on their out-of-fold predictions, or None."""
    import numpy as np

    direction = runner.objective_direction(spec.objective)
    done = [r for r in rows if r["status"] == "COMPLETED" and r["score"] is not None]
    done.sort(key=lambda r: r["score"], reverse=direction == "max")
    members = []
    for row in done[:size]:
        record, predictions = _trial_record(tuner, row["trial_id"], cv)
        if record is not None:
            members.append((row["trial_id"], record, predictions))
    if len(members) < 2:
        progress(f"--ensemble {size}: fewer than 2 trials with out-of-fold predictions; "
                 "no ensemble")
        return None
    mean, std, values = cv_lib.oof_scores(cv, spec.objective,
                                          np.mean([m[2] for m in members], axis=0))
    single, _, _ = cv_lib.oof_scores(cv, spec.objective, winner_oof)
    ids = [m[0] for m in members]
    kept = _better(mean, single, direction)
    progress(f"ensemble of trials {ids}: {spec.objective}={mean:.4f} on out-of-fold "
             f"predictions, best trial {single:.4f}: "
             + ("kept" if kept else "dropped (it does not win on CV)"))
    return dict(trial_ids=ids, records=[m[1] for m in members], cv_mean=mean, cv_std=std,
                fold_values=values, kept=kept)


def final_models(spec, tuner, cv, rows, output_dir, progress=None, ensemble=0):
    """Refit the winner and the default configuration, test them once, save both bundles.

    The winner is the best trial (or, with `ensemble >= 2`, the average of the
    top trials when that wins on CV). Both are refit on the whole training
    split for their mean best epoch across folds, saved in `<output_dir>/best/`
    and `<output_dir>/default/`, and only then scored on the test split.

    Returns:
        dict: the winner's `cv_mean`, `cv_std`, `refit_epochs`, `test_<metric>`,
        `test_ci95`, ..., the same keys under "default", and "chosen"
        ("search" or "default": which wins on CV, what `--export` ships).
    """
    from rnn_zoo.bundle import Bundle

    progress = _reporter(progress)
    direction = runner.objective_direction(spec.objective)
    metric = cv_lib.test_metric(spec.task)
    best = report.best_row(rows, direction)
    hypermodel = tuner.hypermodel
    record, winner_oof = _trial_record(tuner, best["trial_id"], cv)
    if record is None:
        raise ValueError(f"trial {best['trial_id']}: its cv.json or oof.npy is missing from "
                         f"{tuner.get_trial_dir(best['trial_id'])}; resume the search with "
                         "--overwrite to score it again.")

    def trial_builder(trial_id):
        hp = tuner.oracle.get_trial(trial_id).hyperparameters

        def build(task_args):
            return hypermodel.with_task_args(**task_args).build(hp)
        return build, hypermodel.batch_size(hp)

    def default_build(task_args):
        return TASKS[spec.task].build(**{**spec.task_args, **task_args})

    progress(f"default configuration (factory defaults + task_args): {_describe_cv(cv)}")
    default_cv = cv_lib.cross_validate(
        cv, default_build, spec.budget["epochs"], cv_lib.DEFAULT_BATCH_SIZE, spec.objective,
        executions=spec.budget["executions_per_trial"], seed=spec.seed)
    progress(f"default: {spec.objective}={default_cv.mean:.4f} +- {default_cv.std:.4f}")
    pick = None
    if ensemble and ensemble >= 2:
        pick = _ensemble(spec, tuner, cv, rows, ensemble, winner_oof, progress)
        if pick is not None and not pick["kept"]:
            pick = None
    # The test split is read only now, after every choice is made.
    test_data = load_test_split(spec, cv.labels)
    if pick is None:
        build, batch = trial_builder(best["trial_id"])
        source = dict(kind="trial", trial_id=best["trial_id"],
                      hyperparameters={k: v for k, v in best.items() if k not in
                                       report.ROW_FIELDS})
        progress(f"refitting trial {best['trial_id']} on all {cv.num_rows} training rows for "
                 f"{record['best_epoch']} epoch(s)")
        fitted = cv_lib.refit(cv, build, record["best_epoch"], batch, test_data,
                              seed=spec.seed)
        winner = _summary(best["score"], best.get("cv_std") or 0.0, record["fold_values"],
                          fitted, metric, source=source)
    else:
        builders = [trial_builder(t) for t in pick["trial_ids"]]
        epochs = [r["best_epoch"] for r in pick["records"]]
        progress(f"refitting the ensemble of trials {pick['trial_ids']} on all "
                 f"{cv.num_rows} training rows")
        fitted = cv_lib.refit(cv, [b for b, _ in builders], epochs, [b for _, b in builders],
                              test_data, seed=spec.seed)
        winner = _summary(pick["cv_mean"], pick["cv_std"], pick["fold_values"], fitted, metric,
                          source=dict(kind="ensemble", trial_ids=pick["trial_ids"],
                                      member_epochs=epochs))
    progress(f"refitting the default configuration for {default_cv.best_epoch} epoch(s)")
    default_fitted = cv_lib.refit(cv, default_build, default_cv.best_epoch,
                                  cv_lib.DEFAULT_BATCH_SIZE, test_data, seed=spec.seed)
    default = _summary(default_cv.mean, default_cv.std, default_cv.fold_values, default_fitted,
                       metric, source=dict(kind="default", task_args=spec.task_args))
    chosen = "search" if _better(winner["cv_mean"], default["cv_mean"], direction) else "default"
    common = dict(objective=spec.objective, direction=direction, cv_folds=cv.k,
                  cv_note=cv.note, test_metric=metric,
                  test_split=bool(test_data is not None), chosen=chosen)
    summary = {**common, **winner, "default": default}
    folders = {"search": os.path.join(output_dir, "best"),
               "default": os.path.join(output_dir, "default")}
    for name, fit, metrics in (("search", fitted, summary),
                               ("default", default_fitted, {**common, **default})):
        labels = list(fit.prepared.labels) or None
        bundle = Bundle(fit.model, fit.prepared.preprocessor, labels, _jsonable(metrics),
                        card=_card(spec, name, metrics, metric), task=spec.task)
        bundle.save(folders[name], overwrite=True)
    summary["bundles"] = folders
    for name, entry in (("winner", winner), ("default", default)):
        test = entry[f"test_{metric}"]
        shown = ("no test split" if test is None else
                 f"test_{metric}={test:.4f} (95% CI {entry['test_ci95'][0]:.4f}-"
                 f"{entry['test_ci95'][1]:.4f}, n={entry['test_samples']})")
        progress(f"{name}: cv {entry['cv_mean']:.4f} +- {entry['cv_std']:.4f}, "
                 f"{entry['refit_epochs']} epoch(s) refit, {shown}")
    progress(f"the {'search winner' if chosen == 'search' else 'default configuration'} "
             f"wins on CV; saved {folders['search']} and {folders['default']}")
    return summary


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _card(spec, name, metrics, metric):
    what = ("the search winner" if name == "search" else
            "the default configuration (factory defaults + the spec's task_args)")
    test = metrics.get(f"test_{metric}")
    lines = [f"# {spec.name}: {what}", "",
             f"Task `{spec.task}`, trained by `rnn-zoo tune` on the whole training split for "
             f"{metrics['refit_epochs']} epoch(s) (the mean best epoch across folds).", "",
             f"- cross-validation ({metrics['cv_folds']} fold(s)), `{spec.objective}`: "
             f"{metrics['cv_mean']:.4f} +- {metrics['cv_std']:.4f}"]
    if test is not None:
        lines.append(f"- test split, {metric}: {test:.4f} (bootstrap 95% CI "
                     f"{metrics['test_ci95'][0]:.4f}-{metrics['test_ci95'][1]:.4f}, "
                     f"{metrics['test_samples']} examples)")
    return "\n".join(lines) + "\n"


def export_best(result, spec, root, progress=None):
    """Export the bundle that wins on CV (the search's or the default) via `export_model`.

    Args:
        result: a `SearchResult` with a summary (a search run with refit).
        spec: its `SearchSpec` (the model is named after it).
        root: export root (TF Serving layout `root/<name>/<version>/`).
        progress: callable taking one line, or None (default) to log it.

    Returns:
        Whatever `export_model` returns (an `ExportResult`).
    """
    progress = _reporter(progress)
    if result.summary is None:
        raise ValueError("--export: the search has no refit model to export (no completed "
                         "trial).")
    try:
        from rnn_zoo.export import export_model
    except ImportError as error:
        raise ValueError(f"--export: the export API is not available ({error}).") from None
    from rnn_zoo.bundle import Bundle

    chosen = result.summary["chosen"]
    folder = result.summary["bundles"][chosen]
    bundle = Bundle.load(folder, compile=False)
    arguments = dict(name=spec.name, export_root=root)
    # Text models carry their vocabulary; classifiers their label names.
    if bundle.vectorizer is not None:
        arguments["vectorizer"] = bundle.vectorizer
    if bundle.labels:
        arguments["labels"] = list(bundle.labels)
    exported = export_model(bundle.model, **arguments)
    which = "the search winner" if chosen == "search" else "the default configuration"
    progress(f"exported {which} ({folder}; it wins on CV) as version {exported.version} "
             f"to {exported.path}")
    return exported


def run_distributed(spec, output_dir, num_workers, overwrite=False, oracle_address=None,
                    worker_args=(), grace_seconds=30.0, progress=None, ensemble=0, refit=True):
    """Be the chief of a distributed search; start `num_workers` local workers.

    With `num_workers=0` the workers are remote (see `rnn_zoo.tuning.distributed`).

    Args:
        spec: a `SearchSpec` read from a file (workers re-read `spec.path`).
        output_dir: the directory every process shares.
        num_workers: local worker processes to start (>= 0).
        overwrite: False (default) resumes.
        oracle_address: "host:port" to listen on; default loopback, a free port.
        worker_args: extra command-line arguments for the workers
            (e.g. `["--strategy", "mirrored"]`).
        grace_seconds: how long workers may take to exit once the search ends.
        progress: callable taking one line, or None (default) to log it.
        ensemble, refit: as in `run_search`.

    Returns:
        A `SearchResult`.
    """
    from rnn_zoo.tuning import distributed

    progress = _reporter(progress)
    if spec.path is None:
        raise ValueError("--workers needs a spec file: workers read the same file.")
    check_output_dir(spec, output_dir, overwrite)
    host, port = (distributed.parse_address(oracle_address) if oracle_address
                  else ("127.0.0.1", distributed.free_port()))
    cv = _load_cv(spec, progress)
    started = time.perf_counter()
    tuner = runner.make_tuner(spec, data_hypermodel(spec, cv), output_dir, PROJECT_NAME,
                              overwrite=overwrite, tuner_id=distributed.CHIEF_ID,
                              progress=progress, cv=cv, max_time=spec.budget.get("max_time"))
    workers = None
    if num_workers:
        command = [sys.executable, "-m", "rnn_zoo.commands.tune", os.path.abspath(spec.path),
                   "--role", "worker", "--output-dir", os.path.abspath(output_dir),
                   "--max-trials", str(spec.budget["max_trials"]),
                   "--epochs", str(spec.budget["epochs"]), *worker_args]
        if spec.cv_folds is not None:
            command += ["--cv-folds", str(spec.cv_folds)]
        workers = distributed.LocalWorkers(command, host, port, log_dir=tuner.project_dir)
    progress(f"searching {spec.name}: chief + {num_workers} worker(s), "
             f"{tuner.oracle.remaining_trials()} trial(s) left of "
             f"{spec.budget['max_trials']}")
    distributed.run_chief(tuner, host, port, workers=workers, num_workers=num_workers,
                          grace_seconds=grace_seconds, progress=progress)
    return finish(spec, tuner, cv, output_dir, time.perf_counter() - started, progress,
                  ensemble=ensemble, refit=refit)


def run_worker(spec, output_dir, strategy=None, logical_cpus=None, progress=None):
    """Be one worker of a distributed search (`KERASTUNER_*` set in the environment).

    Exits on its own when the chief says STOPPED, or when the chief is gone
    (watchdog). Never wipes the shared directory. `progress` is a callable
    taking one line, or None (default) to log it.
    """
    from rnn_zoo.tuning import distributed

    progress = _reporter(progress)
    missing = [k for k in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP",
                           "KERASTUNER_ORACLE_PORT") if not os.environ.get(k)]
    if missing:
        raise ValueError(f"--role worker needs the environment variables {missing} "
                         "(or --oracle-address and --tuner-id).")
    distributed.start_chief_watchdog(os.environ["KERASTUNER_ORACLE_IP"],
                                     int(os.environ["KERASTUNER_ORACLE_PORT"]))
    distribution = runner.mirrored_strategy(logical_cpus) if strategy == "mirrored" else None
    cv = load_cv(spec)
    tuner = runner.make_tuner(spec, data_hypermodel(spec, cv), output_dir, PROJECT_NAME,
                              overwrite=False, distribution_strategy=distribution,
                              progress=progress, cv=cv)
    tuner.search(**runner.search_kwargs(spec))
    return 0


def data_hypermodel(spec, data):
    """The spec's `RNNHyperModel`, sized for `data` (a `CVData` or a `Prepared`)."""
    return spec.hypermodel(**data.task_args)
