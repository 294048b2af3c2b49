"""Tuners, resumable oracles and the single-process search runner.

Resume after a crash (`overwrite=False`), and what upstream keras-tuner 1.4.8
gets wrong there, measured by `tests/test_tuning_resume.py`:

- `Oracle.reload()` re-queues the trials listed as ongoing in `oracle.json`,
  which is right for a trial killed mid-run. But `BaseTuner` reloads only
  when `<tuner_id>.json` exists, and that file is first written at the end of
  the first trial: a search killed during its first trial restarted from
  scratch (trial 0 overwritten, a new random draw). `ZooTunerMixin` reloads
  whenever `oracle.json` exists.
- `create_trial` writes `trial.json` before `oracle.json`, and `end_trial`
  writes `trial.json` (COMPLETED) before `oracle.json`: a kill between the two
  writes left a RUNNING trial that nothing would ever run (it still counted
  toward `max_trials`), or re-queued a trial that had already completed (it
  ran twice). `ResumableOracleMixin.reload` reconciles the two files.
- A re-queued trial keeps the metrics its killed run had reported; they are
  cleared so the rerun's score is its own. The kill does not count as one of
  the trial's `max_retries_per_trial`.
- keras-tuner writes `oracle.json`, `trial.json` and `<tuner_id>.json` in
  place: a kill mid-write left a torn file that no resume could read. Ours
  go through `rnn_zoo.atomic`, like every other file of the search, and a
  torn file left by an older run is refused by name.
- An error raised while a trial runs (in `run_trial` or `update_trial`)
  marks the trial FAILED for good. A record that cannot be written (a full
  or read-only disk) raises `RecordWriteError` instead, which stops the
  search; the rerun scores that trial again.
"""

import collections
import contextlib
import json
import logging
import os
import time

import keras
import keras_tuner
import numpy as np
from keras_tuner.src.engine import metrics_tracking
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine import tuner as kt_tuner

from rnn_zoo import atomic
from rnn_zoo.tuning import cv as cv_lib

RUN_LOG = "trial_runs.jsonl"
# Per trial, in its folder: the cross-validation record and out-of-fold predictions.
CV_FILE = "cv.json"
OOF_FILE = "oof.npy"

logger = logging.getLogger(__name__)
_ENDED = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)


class RecordWriteError(keras_tuner.errors.FatalError, OSError):
    """A search record (trial, oracle, cross-validation) could not be written.

    Fatal to keras-tuner, so the search stops instead of marking the trial
    FAILED (a FAILED trial is never run again); an `OSError` with the
    original errno and file name for everyone else.
    """


@contextlib.contextmanager
def _fatal_write_errors():
    try:
        yield
    except RecordWriteError:
        raise
    except OSError as error:
        raise RecordWriteError(error.errno, error.strerror or str(error),
                               error.filename) from error


def _read_record(path):
    """Parse a keras-tuner JSON file; a torn or damaged one is a ValueError naming it."""
    try:
        with open(path, encoding="utf-8") as file:
            state = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path}: not a complete JSON record ({error}); it was cut short or damaged "
            "outside rnn-zoo, so the search cannot resume. Pass --overwrite (overwrite=True) "
            "to start it again.") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(state).__name__}; "
                         "pass --overwrite (overwrite=True) to start the search again.")
    return state


class ResumableOracleMixin:
    """Makes an `Oracle` resume correctly after SIGKILL (see the module docstring).

    `deadline` (a `time.time()` value, or None) bounds the search: once it has
    passed, no new trial starts (the oracle answers STOPPED, to workers too).
    """

    deadline = None

    def _out_of_time(self):
        return self.deadline is not None and time.time() >= self.deadline

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        if self._out_of_time():
            return trial_module.Trial(self.get_space(), status=trial_module.TrialStatus.STOPPED)
        return super().create_trial(tuner_id)

    def remaining_trials(self):
        return 0 if self._out_of_time() else super().remaining_trials()

    def save(self):
        # Upstream writes oracle.json in place (keras_tuner.utils.save_json).
        with _fatal_write_errors():
            atomic.write_text(self._get_oracle_fname(), json.dumps(self.get_state()))

    def _save_trial(self, trial):
        # Upstream writes trial.json in place; `update_trial` calls this while
        # the trial runs, where only a fatal error stops keras-tuner.
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        with _fatal_write_errors():
            atomic.write_text(path, json.dumps(trial.get_state()))

    def reload(self):
        # Upstream would fail on a torn file with a JSONDecodeError naming no file.
        project = self._project_dir
        for name in sorted(os.listdir(project)):
            path = os.path.join(project, name, "trial.json")
            if name.startswith("trial_") and os.path.isfile(path):
                _read_record(path)
        _read_record(self._get_oracle_fname())
        super().reload()
        ended = set(self.end_order)
        queue = []
        for trial_id in self._retry_queue:
            trial = self.trials[trial_id]
            if trial.status in _ENDED:
                # trial.json says it ended; oracle.json was not rewritten in time.
                if trial_id not in ended:
                    self.end_order.append(trial_id)
                    ended.add(trial_id)
            elif trial_id not in queue:
                queue.append(trial_id)
        for trial_id in self.start_order + sorted(set(self.trials) - set(self.start_order)):
            trial = self.trials[trial_id]
            if trial.status not in _ENDED and trial_id not in queue and trial_id not in ended:
                queue.append(trial_id)
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
        for trial_id in queue:
            trial = self.trials[trial_id]
            trial.metrics = metrics_tracking.MetricsTracker()
            trial.status = trial_module.TrialStatus.INVALID
        # `create_trial` pops from the end: keep the oldest trial first to run.
        self._retry_queue = list(reversed(queue))

    @keras_tuner.synchronized
    def release_tuner(self, tuner_id):
        """Re-queue the trial held by `tuner_id`, whose process died.

        Args:
            tuner_id: the worker's `KERASTUNER_TUNER_ID`.

        Returns:
            The re-queued trial id, or None when the worker held no trial.
        """
        self.tuner_ids.discard(tuner_id)
        trial = self.ongoing_trials.pop(tuner_id, None)
        if trial is None:
            return None
        trial.metrics = metrics_tracking.MetricsTracker()
        trial.status = trial_module.TrialStatus.INVALID
        self._retry_queue.append(trial.trial_id)
        self._save_trial(trial)
        self.save()
        return trial.trial_id

    @keras_tuner.synchronized
    def pending_work(self):
        """(ongoing trial count, retry queue length), read under the oracle's lock."""
        return len(self.ongoing_trials), len(self._retry_queue)


class RandomSearchOracle(ResumableOracleMixin, keras_tuner.oracles.RandomSearchOracle):
    """`keras_tuner.oracles.RandomSearchOracle` that resumes correctly."""


class BayesianOptimizationOracle(ResumableOracleMixin,
                                 keras_tuner.oracles.BayesianOptimizationOracle):
    """`keras_tuner.oracles.BayesianOptimizationOracle` that resumes correctly."""


class HyperbandOracle(ResumableOracleMixin, keras_tuner.oracles.HyperbandOracle):
    """`keras_tuner.oracles.HyperbandOracle` that resumes correctly."""


class ZooTunerMixin:
    """Resume from `oracle.json`, time build and fit, log every trial run.

    Each run of a trial appends a "begin" and an "end" line to
    `<project>/trial_runs.jsonl` (tuner id, pid, seconds spent in `fit`):
    the record of which process ran what, used by the report, the overhead
    benchmark and the tests (a trial that ran twice shows two "end" lines).

    Args:
        tuner_id: overrides `KERASTUNER_TUNER_ID` for this tuner's own files.
        progress: callable taking one line of text, or None to log it through
            `logging` (logger `rnn_zoo.tuning.runner`).
        **kwargs: `keras_tuner.Tuner` arguments.
    """

    def __init__(self, *args, tuner_id=None, progress=None, cv=None, objective=None,
                 seed=0, **kwargs):
        self._progress = progress if progress is not None else logger.info
        self.cv = cv
        self.objective_name = objective
        self.seed = seed
        self._resume = not kwargs.get("overwrite", False)
        self._run_seconds = collections.defaultdict(lambda: {"build": 0.0, "fit": 0.0})
        # keras_tuner.Tuner directly: RandomSearch/Hyperband.__init__ would
        # only build their own (non-resumable) oracle.
        keras_tuner.Tuner.__init__(self, *args, **kwargs)
        if tuner_id:
            self.tuner_id = tuner_id

    def _populate_initial_space(self):
        # Upstream reloads only if <tuner_id>.json exists, written at the end
        # of the first trial; oracle.json exists from the first create_trial.
        oracle_file = os.path.join(self.directory, self.project_name, "oracle.json")
        if self._resume and os.path.exists(oracle_file) and not self._is_worker():
            self._progress(f"resuming the search in {oracle_file}")
            self.oracle.reload()
            return
        super()._populate_initial_space()

    # keras-tuner's `_try_build` runs `clear_session()` (a full garbage
    # collection) and then `gc.collect()` again before every build: ~0.55 s
    # with TensorFlow loaded, more than half the per-trial overhead of a small
    # trial (benchmarks/tuner_overhead.py). We clear the session every trial
    # but collect fully only every few builds; Python's own generational GC
    # still runs in between, so memory stays bounded.
    full_collection_every = 5

    def _try_build(self, hp, hypermodel=None):
        self._builds = getattr(self, "_builds", 0) + 1
        keras.backend.clear_session(
            free_memory=self._builds % self.full_collection_every == 1)
        if hypermodel is None:
            model = self._build_hypermodel(hp)
        else:
            with kt_tuner.maybe_distribute(self.distribution_strategy):
                model = hypermodel.build(hp)
        if not isinstance(model, keras.Model):
            raise keras_tuner.errors.FatalTypeError(
                "Expected the model-building function, or HyperModel.build() "
                "to return a valid Keras Model instance. "
                f"Received: {model} of type {type(model)}.")
        size = kt_tuner.maybe_compute_model_size(model)
        if self.max_model_size and size > self.max_model_size:
            raise keras_tuner.errors.FailedTrialError(
                f"Oversized model: {size} parameters. Skip model.")
        return model

    def run_trial(self, trial, epochs=1, **kwargs):
        """Score the trial's configuration by cross-validation (`rnn_zoo.tuning.cv`).

        The documented keras-tuner extension point: the returned dict holds
        the objective (the mean over folds) and is what the oracle sees. The
        configuration is compiled once and that model is reused on every fold
        (sized for the largest fold's vocabulary where that sizes only the
        input); each fold restarts it from a freshly built model's weights and
        optimizer state, so no fold trains on another's. With Hyperband, the
        bracket's `tuner/epochs` replaces `epochs` (each configuration trains
        from scratch on every fold).

        Returns:
            dict: the objective, `<objective>_std`, `best_epoch` (mean over folds).
        """
        if self.cv is None:
            raise keras_tuner.errors.FatalValueError(
                "this tuner has no `cv` (a rnn_zoo.tuning.cv.CVData) to score trials on.")
        hp = trial.hyperparameters
        epochs = int(hp.values.get("tuner/epochs", epochs))
        hypermodel = self.hypermodel
        timings = self._run_seconds[trial.trial_id]

        def build(task_args):
            return self._try_build(hp, hypermodel.with_task_args(**task_args))

        score = cv_lib.cross_validate(
            self.cv, build, epochs, hypermodel.batch_size(hp), self.objective_name,
            executions=self.executions_per_trial, seed=self.seed, timings=timings)
        with _fatal_write_errors():
            folder = self.get_trial_dir(trial.trial_id)
            os.makedirs(folder, exist_ok=True)
            # The predictions first: a trial whose cv.json exists has both.
            atomic.write_with(os.path.join(folder, OOF_FILE),
                              lambda path: _save_array(path, score.predictions))
            atomic.write_json(os.path.join(folder, CV_FILE), dict(
                folds=self.cv.k, fold_values=score.fold_values, mean=score.mean,
                std=score.std, best_epochs=score.best_epochs, best_epoch=score.best_epoch,
                epochs=epochs))
        return {self.objective_name: score.mean, f"{self.objective_name}_std": score.std,
                "best_epoch": float(score.best_epoch)}

    def _log_run(self, event, trial, **fields):
        record = dict(event=event, trial_id=trial.trial_id, tuner_id=self.tuner_id,
                      pid=os.getpid(), time=time.time(), **fields)
        # One short line, O_APPEND: concurrent writers on one host don't interleave.
        atomic.append_line(os.path.join(self.project_dir, RUN_LOG), json.dumps(record))

    def reload(self):
        """Reload the oracle and `<tuner_id>.json`; a torn file is refused by name."""
        _read_record(self._get_tuner_fname())
        super().reload()

    def save(self):
        """Write oracle.json (chief or single process) and `<tuner_id>.json`, atomically."""
        if not self._is_worker():
            self.oracle.save()
        # Upstream writes <tuner_id>.json in place (keras_tuner.utils.save_json).
        atomic.write_text(self._get_tuner_fname(), json.dumps(self.get_state()))

    def on_trial_begin(self, trial):
        self._run_seconds.pop(trial.trial_id, None)
        self._log_run("begin", trial)
        values = ", ".join(f"{k}={_short(v)}" for k, v in
                           sorted(trial.hyperparameters.values.items())
                           if trial.hyperparameters.is_active(k))
        self._progress(f"[{self.tuner_id}] trial {trial.trial_id}{self._of_total(trial)} "
                       f"started: {values}")
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        seconds = self._run_seconds[trial.trial_id]
        status = trial.status
        # Logged before the oracle commits the trial: a crash in between reruns
        # it (two "end" lines, two runs), and a committed trial always has its line.
        self._log_run("end", trial, status=status, fit_seconds=seconds["fit"],
                      build_seconds=seconds["build"])
        super().on_trial_end(trial)
        try:
            score = self.oracle.get_trial(trial.trial_id).score
        except Exception:  # a worker whose chief is gone: the line is only progress
            score = None
        shown = "n/a" if score is None else f"{score:.4f}"
        self._progress(f"[{self.tuner_id}] trial {trial.trial_id}{self._of_total(trial)} "
                       f"{status.lower()} in {seconds['fit']:.1f} s of fit: "
                       f"{self.oracle.objective.name}={shown}{self._best_so_far()}")

    def _of_total(self, trial):
        """" (k of n)" for a numbered trial when the budget is known, else ""."""
        total = getattr(self.oracle, "max_trials", None)
        try:
            return f" ({int(trial.trial_id) + 1} of {int(total)})" if total else ""
        except (TypeError, ValueError):
            return ""

    def _best_so_far(self):
        """"; best so far: trial k objective=x", or "" where the oracle can't say."""
        try:
            best = self.oracle.get_best_trials(1)
        except Exception:  # a worker whose chief is gone: the line is only progress
            return ""
        if not best or best[0].score is None:
            return ""
        return f"; best so far: trial {best[0].trial_id} {best[0].score:.4f}"


def _save_array(path, array):
    # Through an open file: np.save(path) would append ".npy" to a temporary name.
    with open(path, "wb") as file:
        np.save(file, array)


def _short(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class ZooTuner(ZooTunerMixin, keras_tuner.Tuner):
    """`keras_tuner.Tuner` for random and Bayesian search (the oracle decides)."""


class ZooHyperband(ZooTunerMixin, keras_tuner.Hyperband):
    """`keras_tuner.Hyperband` (epochs per bracket, weights carried over) on our oracle."""


def make_oracle(spec, objective=None):
    """The spec's oracle: random, hyperband or bayesian, with its budget and seed."""
    objective = keras_tuner.Objective(spec.objective, direction=objective_direction(spec.objective))
    common = dict(objective=objective, seed=spec.seed + 1)
    if spec.tuner == "random":
        return RandomSearchOracle(max_trials=spec.budget["max_trials"], **common)
    if spec.tuner == "bayesian":
        return BayesianOptimizationOracle(max_trials=spec.budget["max_trials"], **common)
    oracle = HyperbandOracle(max_epochs=max(2, spec.budget["epochs"]), factor=3, **common)
    # Hyperband has no max_trials argument; the base Oracle honours the attribute.
    oracle.max_trials = spec.budget["max_trials"]
    return oracle


def objective_direction(name):
    """"max" for accuracy-like metrics, "min" for losses and errors."""
    return cv_lib.direction(name)


def make_tuner(spec, hypermodel, directory, project_name="search", overwrite=False,
               distribution_strategy=None, tuner_id=None, progress=None, cv=None,
               max_time=None):
    """Create the spec's tuner over `hypermodel` in `directory/project_name`.

    Args:
        spec: a `SearchSpec`.
        hypermodel: an `RNNHyperModel`.
        directory: the output directory (shared by all processes of a search).
        project_name: subfolder holding keras-tuner's files.
        overwrite: False (default) resumes a search found there.
        distribution_strategy: optional `tf.distribute.Strategy` for each trial
            (TF backend only).
        tuner_id: this process's id in a distributed search.
        progress: callable taking one line, or None to log it.
        cv: the `rnn_zoo.tuning.cv.CVData` every trial is scored on.
        max_time: minutes after which no new trial starts, or None.

    Returns:
        A `ZooTuner` or `ZooHyperband`.
    """
    oracle = make_oracle(spec)
    if max_time is not None:
        oracle.deadline = time.time() + 60.0 * max_time
    kwargs = dict(hypermodel=hypermodel, oracle=oracle, directory=directory,
                  project_name=project_name, overwrite=overwrite,
                  executions_per_trial=spec.budget["executions_per_trial"],
                  distribution_strategy=distribution_strategy, tuner_id=tuner_id,
                  progress=progress, cv=cv, objective=spec.objective, seed=spec.seed)
    tuner_class = ZooHyperband if spec.tuner == "hyperband" else ZooTuner
    return tuner_class(**kwargs)


def search_kwargs(spec):
    """Arguments of `tuner.search` (and so of `run_trial`) for the spec's budget."""
    return dict(epochs=spec.budget["epochs"], verbose=0)


def read_run_log(project_dir):
    """The records of `trial_runs.jsonl` (a list of dicts; [] when absent)."""
    path = os.path.join(project_dir, RUN_LOG)
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            line = line.strip()
            if line:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut short by SIGKILL
    return records


def mirrored_strategy(logical_cpus=None):
    """A `tf.distribute.MirroredStrategy` over the GPUs, or over N logical CPUs.

    Trials then train data-parallel (keras-tuner's `distribution_strategy`).
    TF backend only: `tf.distribute` drives Keras's TF trainer, and JAX and
    torch have their own distribution APIs.

    Args:
        logical_cpus: split the CPU into this many logical devices first (must
            run before TensorFlow initialises its devices); None uses GPUs if
            any, else the CPU.

    Returns:
        A `tf.distribute.MirroredStrategy`.
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError("strategy='mirrored' needs KERAS_BACKEND=tensorflow "
                         f"(tf.distribute); Received backend={keras.backend.backend()!r}")
    import tensorflow as tf

    if logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(logical_cpus)])
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.MirroredStrategy()
