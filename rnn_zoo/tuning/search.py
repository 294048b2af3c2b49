"""Run a search spec end to end: check, load data, search (resumable), report, export.

Output directory layout:

```
<output_dir>/
  spec.json        the validated spec (a resume must use the same one, budget aside)
  search/          keras-tuner's project: oracle.json, trial_*/, trial_runs.jsonl
  results.csv, results.md, trials.png, best.json
```
"""

import dataclasses
import json
import logging
import os
import sys
import time

from rnn_zoo import atomic
from rnn_zoo.tuning import report
from rnn_zoo.tuning import runner
from rnn_zoo.tuning.specs import load_dataset

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
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "spec.json")
    current = _comparable(spec)
    if not overwrite and os.path.exists(path):
        with open(path, encoding="utf-8") as file:
            previous = json.load(file)
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
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Invalid value received for argument `{key}`. Expected an "
                             f"integer >= 1. Received: {key}={value!r}")
    return dataclasses.replace(spec, budget={**spec.budget, **changes})


def run_search(spec, output_dir, overwrite=False, strategy=None, logical_cpus=None,
               progress=None):
    """Search `spec` in one process; resumes what `output_dir` holds.

    Args:
        spec: a `SearchSpec` (already validated).
        output_dir: where the search and its report live.
        overwrite: False (default) resumes; True starts again.
        strategy: None or "mirrored" (each trial trains with
            `tf.distribute.MirroredStrategy`; TF backend only).
        logical_cpus: with "mirrored", split the CPU into this many devices.
        progress: callable taking one line of progress, or None (default) to
            log it through `logging` (logger `rnn_zoo.tuning.search`).

    Returns:
        A `SearchResult`.
    """
    progress = _reporter(progress)
    check_output_dir(spec, output_dir, overwrite)
    distribution = runner.mirrored_strategy(logical_cpus) if strategy == "mirrored" else None
    if distribution is not None:
        progress(f"each trial trains with {type(distribution).__name__} over "
                 f"{distribution.num_replicas_in_sync} replica(s)")
    data = load_dataset(spec)
    hypermodel = data_hypermodel(spec, data)
    started = time.perf_counter()
    tuner = runner.make_tuner(spec, hypermodel, output_dir, PROJECT_NAME, overwrite=overwrite,
                              distribution_strategy=distribution, progress=progress)
    remaining = tuner.oracle.remaining_trials()
    progress(f"searching {spec.name}: {spec.tuner} search, objective {spec.objective}, "
             f"{remaining} trial(s) left of {spec.budget['max_trials']}, "
             f"{spec.budget['epochs']} epoch(s) each")
    tuner.search(**runner.search_kwargs(spec, data))
    wall = time.perf_counter() - started
    return finish(spec, tuner, data, output_dir, wall, progress)


@dataclasses.dataclass
class SearchResult:
    """What a search produced.

    Attributes:
        tuner: the tuner (its oracle holds every trial).
        data: the `rnn_zoo.bundle.Prepared` searched on.
        rows: the results table (see `report.trial_rows`).
        best: the best completed row, or None.
        paths: the report files.
        wall_seconds: wall time of this run (tuner creation to the end of search).
    """

    tuner: object
    data: object
    rows: list
    best: dict
    paths: dict
    wall_seconds: float


def finish(spec, tuner, data, output_dir, wall, progress):
    """Write the report for a finished search and return a `SearchResult`."""
    progress = _reporter(progress)
    direction = runner.objective_direction(spec.objective)
    rows = report.trial_rows(tuner.oracle, tuner.project_dir)
    paths = report.write_report(rows, output_dir, spec.objective, direction, title=spec.name)
    best = report.best_row(rows, direction)
    done = sum(r["status"] == "COMPLETED" for r in rows)
    progress(f"done: {done} completed trial(s) in {wall:.1f} s")
    if best is not None:
        progress(f"best: trial {best['trial_id']} {spec.objective}={best['score']:.4f}")
    progress(f"wrote {paths['csv']}, {paths['markdown']}, {paths['plot']}")
    return SearchResult(tuner=tuner, data=data, rows=rows, best=best, paths=paths,
                        wall_seconds=wall)


def export_best(result, spec, root, progress=None):
    """Export the best trial's model through `rnn_zoo.export.export_model`.

    Args:
        result: a `SearchResult` with a best trial.
        spec: its `SearchSpec` (the model is named after it).
        root: export root (TF Serving layout `root/<name>/<version>/`).
        progress: callable taking one line, or None (default) to log it.

    Returns:
        Whatever `export_model` returns (its report).
    """
    progress = _reporter(progress)
    if result.best is None:
        raise ValueError("--export: the search has no completed trial to export.")
    try:
        from rnn_zoo.export import export_model
    except ImportError as error:
        raise ValueError(f"--export: the export API is not available ({error}).") from None
    model = result.tuner.get_best_models(num_models=1)[0]
    arguments = dict(name=spec.name, export_root=root)
    # Text models carry their vocabulary; classifiers their label names.
    if result.data.vectorizer is not None:
        arguments["vectorizer"] = result.data.vectorizer
    if result.data.labels:
        arguments["labels"] = list(result.data.labels)
    exported = export_model(model, **arguments)
    progress(f"exported the best model (trial {result.best['trial_id']}) to {root}/{spec.name}")
    return exported


def run_distributed(spec, output_dir, num_workers, overwrite=False, oracle_address=None,
                    worker_args=(), grace_seconds=30.0, progress=None):
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
    data = load_dataset(spec)
    started = time.perf_counter()
    tuner = runner.make_tuner(spec, data_hypermodel(spec, data), output_dir, PROJECT_NAME,
                              overwrite=overwrite, tuner_id=distributed.CHIEF_ID,
                              progress=progress)
    workers = None
    if num_workers:
        command = [sys.executable, "-m", "rnn_zoo.commands.tune", os.path.abspath(spec.path),
                   "--role", "worker", "--output-dir", os.path.abspath(output_dir),
                   "--max-trials", str(spec.budget["max_trials"]),
                   "--epochs", str(spec.budget["epochs"]), *worker_args]
        workers = distributed.LocalWorkers(command, host, port, log_dir=tuner.project_dir)
    progress(f"searching {spec.name}: chief + {num_workers} worker(s), "
             f"{tuner.oracle.remaining_trials()} trial(s) left of "
             f"{spec.budget['max_trials']}")
    distributed.run_chief(tuner, host, port, workers=workers, num_workers=num_workers,
                          grace_seconds=grace_seconds, progress=progress)
    return finish(spec, tuner, data, output_dir, time.perf_counter() - started, progress)


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
    data = load_dataset(spec)
    tuner = runner.make_tuner(spec, data_hypermodel(spec, data), output_dir, PROJECT_NAME,
                              overwrite=False, distribution_strategy=distribution,
                              progress=progress)
    tuner.search(**runner.search_kwargs(spec, data))
    return 0


def data_hypermodel(spec, data):
    """The spec's `RNNHyperModel`, sized for `data`."""
    return spec.hypermodel(**data.task_args)
