"""Fit a model with a progress bar, early stopping, checkpoints and resume.

`train()` wraps `keras.Model.fit` with what a long run on a shared machine
needs:

* early stopping on the validation loss (or the training loss without
  validation data), restoring the best weights at the end;
* checkpoints after every epoch in `output_dir/checkpoints/`: the last epoch
  (model, weights and optimizer state) and the best epoch. Each is a new
  `.keras` file under a name of its own (`epoch-0003-9f2c61d0.keras`),
  written through `rnn_zoo.atomic` (a temporary name, then a rename), and
  never rewritten;
* a `training_state.json` beside them, written atomically *after* the
  checkpoint, that names the last and best checkpoint files and their
  SHA-256 and holds the completed epoch count, the history so far and the
  early-stopping counters. The state file is the commit point: checkpoint
  and state form one atomic unit. A kill before the state is replaced leaves
  the previous state naming the previous, complete checkpoint; a kill after
  it leaves the new pair. Checkpoints the state no longer names are deleted
  only after the state is committed. A checkpoint is verified against its
  SHA-256 before it is loaded, and a corrupt one is ignored with a warning
  that names it;
* `checkpoints/last.keras` and `checkpoints/best.keras`: copies of the
  committed last and best checkpoints under stable names, refreshed after
  each commit and at every start (copies, so that writing over one never
  damages the checkpoint the state names);
* resume: calling `train()` again with the same `output_dir` continues from
  the last completed epoch (`initial_epoch`), with the optimizer's moments
  and step counter restored;
* TensorBoard logs in `output_dir/logs/` (`keras.callbacks.TensorBoard`
  writes through `tf.summary`, so it works on the JAX and torch backends as
  long as TensorFlow is installed, which rnn-zoo requires; only the graph
  and profiling are TF-only and are switched off).

It runs on every Keras backend.
"""

import dataclasses
import hashlib
import inspect
import json
import logging
import math
import os
import re
import secrets
import warnings

import keras
import numpy as np

from rnn_zoo import atomic
from rnn_zoo import distribute
from rnn_zoo.validation import check_bool
from rnn_zoo.validation import check_positive_int
from rnn_zoo.validation import check_size

logger = logging.getLogger(__name__)

STATE_FILE = "training_state.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.keras"
BEST_CHECKPOINT = "best.keras"
LOG_DIR = "logs"
_STATE_VERSION = 2
# Checkpoint files named by the state: written once under a unique name.
_CHECKPOINT_PATTERN = re.compile(r"\Aepoch-\d+-[0-9a-f]+\.keras\Z")


@dataclasses.dataclass
class TrainResult:
    """What `train()` did.

    Attributes:
        history: dict from metric name ("loss", "val_loss", "accuracy", ...)
            to one float per completed epoch, including epochs run before a
            resume.
        test_metrics: dict from metric name to float on `test_data`, or None.
        best_checkpoint: path of the best epoch's `.keras` file, or None
            without `output_dir`.
        last_checkpoint: path of the last completed epoch's `.keras` file,
            or None without `output_dir`.
        best_epoch: 1-based epoch whose weights the model holds at the end
            (the best one under `monitor`), or None if no epoch ran.
        initial_epoch: number of epochs already completed when this call
            started (> 0 after a resume).
        epochs_completed: number of epochs completed in total.
        stopped_early: True when early stopping ended the run.
        monitor: the metric that early stopping and "best" refer to.
        log_dir: TensorBoard log folder, or None.
    """

    history: dict
    test_metrics: dict | None
    best_checkpoint: str | None
    last_checkpoint: str | None
    best_epoch: int | None
    initial_epoch: int
    epochs_completed: int
    stopped_early: bool
    monitor: str
    log_dir: str | None = None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(model, path):
    """Save `model` (with optimizer state) to a `.keras` file atomically.

    Args:
        model: a `keras.Model`.
        path: destination, ending in ".keras".

    Returns:
        The SHA-256 hex digest of the written file.

    Example:

    >>> digest = rnn_zoo.train.save_checkpoint(model, "run/checkpoints/last.keras")
    """
    atomic.write_with(path, model.save)
    return _sha256(path)


def restore_checkpoint(model, path, expected_sha256=None):
    """Load weights and optimizer state from a checkpoint into `model`.

    The file is verified first (its SHA-256 against `expected_sha256` when
    given, then Keras's own reading of the archive). A checkpoint that fails
    either check is not loaded: a warning names it and False is returned.

    Args:
        model: the built, compiled `keras.Model` the checkpoint came from.
        path: a `.keras` file written by `save_checkpoint`.
        expected_sha256: hex digest recorded when it was written, or None.

    Returns:
        True if the weights (and optimizer state) were restored.

    Example:

    >>> rnn_zoo.train.restore_checkpoint(model, "run/checkpoints/best.keras")
    True
    """
    if not os.path.isfile(path):
        warnings.warn(f"Ignoring missing checkpoint {path}.", stacklevel=2)
        return False
    if expected_sha256 is not None and _sha256(path) != expected_sha256:
        warnings.warn(
            f"Ignoring corrupt checkpoint {path}: its SHA-256 does not match the "
            "one recorded when it was written.", stacklevel=2)
        return False
    # Build the optimizer's slots so Keras restores its moments and step
    # counter instead of skipping them (an unbuilt optimizer has no variables).
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    backup = [np.array(v) for v in model.variables]
    optimizer_backup = ([np.array(v) for v in optimizer.variables]
                        if optimizer is not None else [])
    try:
        model.load_weights(path)
    except Exception as error:  # noqa: BLE001 - any read failure means "corrupt"
        for variable, value in zip(model.variables, backup):
            variable.assign(value)
        if optimizer is not None:
            for variable, value in zip(optimizer.variables, optimizer_backup):
                variable.assign(value)
        warnings.warn(f"Ignoring corrupt checkpoint {path}: {type(error).__name__}: "
                      f"{error}", stacklevel=2)
        return False
    return True


def _monitor_mode(monitor):
    lowered = monitor.lower()
    return "max" if ("acc" in lowered or "auc" in lowered) else "min"


def _improved(value, best, mode):
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best if mode == "min" else value > best


class _CheckpointAndStop(keras.callbacks.Callback):
    """Per-epoch bookkeeping: history, best epoch, checkpoints, early stopping.

    One callback instead of Keras's ModelCheckpoint + EarlyStopping because
    the early-stopping counters and the best weights must survive a resume,
    and Keras's callbacks keep them only in memory.
    """

    def __init__(self, state, monitor, patience, output_dir):
        super().__init__()
        self.state = state
        self.monitor = monitor
        self.mode = _monitor_mode(monitor)
        self.patience = patience
        self.output_dir = output_dir
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for name, value in logs.items():
            self.state["history"].setdefault(name, []).append(float(value))
        self.state["epochs_completed"] = epoch + 1
        value = logs.get(self.monitor)
        value = None if value is None else float(value)
        improved = _improved(value, self.state["best_value"], self.state["mode"])
        if improved:
            self.state["best_value"] = value
            self.state["best_epoch"] = epoch + 1
            self.state["wait"] = 0
        else:
            self.state["wait"] += 1
        if self.output_dir is None and improved:
            self.best_weights = self.model.get_weights()
        if self.patience is not None and self.state["wait"] >= self.patience:
            self.state["stopped_early"] = True
            self.model.stop_training = True
        if self.output_dir is not None:
            _commit_epoch(self.model, self.output_dir, self.state, epoch + 1, improved)


def _commit_epoch(model, output_dir, state, epoch, improved):
    """Write this epoch's checkpoint, then commit the state that names it.

    1. the checkpoint, under a new unique name (nothing names it yet);
    2. the state file, atomically: the commit point;
    3. the stable `last.keras`/`best.keras` names and the cleanup of the
       checkpoints the state no longer names.

    A kill at any instant leaves a state file that names complete checkpoints
    with their true SHA-256: before 2 the previous ones (still on disk, since
    nothing is deleted before 2), after 2 the new one.
    """
    folder = os.path.join(output_dir, CHECKPOINT_DIR)
    name = f"epoch-{epoch:04d}-{secrets.token_hex(4)}.keras"
    digest = save_checkpoint(model, os.path.join(folder, name))
    state["last_checkpoint"], state["last_sha256"] = name, digest
    if improved:
        state["best_checkpoint"], state["best_sha256"] = name, digest
    atomic.write_json(os.path.join(output_dir, STATE_FILE), state)
    _publish_stable_names(output_dir, state)
    _remove_unnamed_checkpoints(output_dir, state)


def _checkpoint_path(output_dir, state, which):
    """Path of the committed `which` ("last"/"best") checkpoint, or None."""
    name = state.get(f"{which}_checkpoint")
    return None if name is None else os.path.join(output_dir, CHECKPOINT_DIR, name)


def _publish_stable_names(output_dir, state):
    """Point `last.keras`/`best.keras` at the committed checkpoints."""
    folder = os.path.join(output_dir, CHECKPOINT_DIR)
    for which, stable in (("last", LAST_CHECKPOINT), ("best", BEST_CHECKPOINT)):
        source = _checkpoint_path(output_dir, state, which)
        if source is None or not os.path.isfile(source):
            continue
        path = os.path.join(folder, stable)
        if (os.path.isfile(path) and os.path.getsize(path) == os.path.getsize(source)
                and _sha256(path) == state.get(f"{which}_sha256")):
            continue  # a copy (no hard links here) that is already current
        atomic.copy_file(source, path)


def _remove_unnamed_checkpoints(output_dir, state):
    """Delete unique-named checkpoints the committed state does not name."""
    folder = os.path.join(output_dir, CHECKPOINT_DIR)
    named = {state.get("last_checkpoint"), state.get("best_checkpoint")}
    for entry in os.listdir(folder):
        if _CHECKPOINT_PATTERN.match(entry) and entry not in named:
            try:
                os.remove(os.path.join(folder, entry))
            except FileNotFoundError:
                pass


def _fresh_state(monitor):
    return {"version": _STATE_VERSION, "epochs_completed": 0, "history": {},
            "monitor": monitor, "mode": _monitor_mode(monitor), "best_value": None,
            "best_epoch": None, "wait": 0, "stopped_early": False,
            "last_checkpoint": None, "last_sha256": None,
            "best_checkpoint": None, "best_sha256": None}


def _upgrade_state(state):
    """Read a version-1 state (fixed names `last.keras`/`best.keras`) as version 2."""
    if state.get("version") == 1:
        state = dict(state, version=_STATE_VERSION,
                     last_checkpoint=LAST_CHECKPOINT if state.get("last_sha256") else None,
                     best_checkpoint=BEST_CHECKPOINT if state.get("best_sha256") else None)
    return state


def _check_state(state):
    """Raise ValueError unless `state` has the fields and types a resume reads."""
    if not isinstance(state, dict):
        raise ValueError("not a JSON object")
    counts = ("epochs_completed", "wait")
    for key in counts:
        value = state.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key}={value!r}; expected an integer >= 0")
    if not isinstance(state.get("history"), dict) or not all(
            isinstance(values, list) for values in state["history"].values()):
        raise ValueError("history is not an object of lists")
    for which in ("last", "best"):
        name = state.get(f"{which}_checkpoint")
        if name is not None and (not isinstance(name, str) or os.path.basename(name) != name
                                 or not name.endswith(".keras")):
            raise ValueError(f"{which}_checkpoint={name!r}; expected a file name "
                             "in the checkpoints folder")
    if state["epochs_completed"] and state.get("last_checkpoint") is None:
        raise ValueError("no last checkpoint named for the completed epochs")


def _load_state(output_dir, monitor, model):
    """The saved state if it and its last checkpoint are usable, else None."""
    path = os.path.join(output_dir, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            state = _upgrade_state(json.load(handle))
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION \
                or state.get("monitor") != monitor:
            raise ValueError(f"written for monitor={state.get('monitor')!r}, "
                             f"version {state.get('version')!r}")
        _check_state(state)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) \
            as error:
        warnings.warn(f"Ignoring training state {path} ({error}); starting from "
                      "epoch 0.", stacklevel=3)
        return None
    last = _checkpoint_path(output_dir, state, "last")
    if last is None:
        return state  # committed before any epoch finished: nothing to restore
    if not restore_checkpoint(model, last, state.get("last_sha256")):
        warnings.warn(f"Could not resume from {last}; starting from epoch 0.",
                      stacklevel=3)
        return None
    return state


def _open_output_dir(output_dir):
    """Create `output_dir/checkpoints` and clear a killed run's temporaries.

    Returns:
        `output_dir` as a str.

    Raises:
        ValueError: `output_dir` is not a path, or can't be a folder (a file
            in the way, no permission); the message names it.
    """
    try:
        output_dir = os.fspath(output_dir)
    except TypeError:
        raise ValueError("train: Invalid value received for argument `output_dir`. Expected "
                         f"a folder path or None. Received: output_dir={output_dir!r}") from None
    try:
        os.makedirs(os.path.join(output_dir, CHECKPOINT_DIR), exist_ok=True)
        _remove_stale_temporaries(os.path.join(output_dir, CHECKPOINT_DIR))
        _remove_stale_temporaries(output_dir)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ValueError(f"train: Invalid value received for argument `output_dir`. Expected "
                         f"a folder that can be written ({reason}). "
                         f"Received: output_dir={output_dir!r}") from None
    return output_dir


def _remove_stale_temporaries(folder):
    """Delete temp files a killed run left behind (never under a real name)."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.startswith(".") and ".tmp" in name and os.path.isfile(path):
            os.remove(path)


def _as_fit_arguments(data, name):
    """(x, y, sample_weight) for a tuple, or (data, None, None) for a dataset."""
    if data is None:
        return None, None, None
    if isinstance(data, (tuple, list)):
        if len(data) not in (2, 3):
            raise ValueError(
                f"Invalid value received for argument `{name}`. Expected (x, y), "
                f"(x, y, sample_weight) or a dataset. Received a {type(data).__name__} "
                f"of length {len(data)}.")
        x, y = data[0], data[1]
        weights = data[2] if len(data) == 3 else None
        return x, y, weights
    return data, None, None


# Keyword arguments renamed to the one name per concept; the old names still
# work, with a DeprecationWarning.
_RENAMED_ARGUMENTS = {"early_stopping_patience": "patience"}


def _renamed(deprecated, values, where):
    """Fold deprecated keyword arguments into `values` (new name -> value)."""
    for old, value in deprecated.items():
        new = _RENAMED_ARGUMENTS.get(old)
        if new is None:
            raise TypeError(f"{where}() got an unexpected keyword argument {old!r}")
        warnings.warn(f"`{where}({old}=...)` is deprecated; use `{new}=...`.",
                      DeprecationWarning, stacklevel=3)
        values[new] = value
    return values


def train(model, train_data, validation_data=None, test_data=None, epochs=20,
          batch_size=32, output_dir=None, patience=5, monitor=None,
          resume=True, tensorboard=True, callbacks=None, verbose="auto", distribution=None,
          **deprecated):
    """Fit a compiled model with early stopping, checkpoints and resume.

    Args:
        model: a compiled `keras.Model` (every rnn-zoo factory compiles by
            default).
        train_data: `(x, y)`, `(x, y, sample_weight)` or anything
            `keras.Model.fit` accepts as `x` (a `tf.data.Dataset`, a
            `keras.utils.PyDataset`).
        validation_data: same forms, or None.
        test_data: same forms, or None; evaluated once at the end with the
            restored best weights.
        epochs: int > 0, total epochs (including those done before a resume),
            default 20.
        batch_size: int in 1..`rnn_zoo.limits.MAX_BATCH_SIZE`, default 32 (ignored
            for datasets).
        output_dir: folder for checkpoints, `training_state.json` and
            TensorBoard logs, or None to keep everything in memory (no
            resume, no logs).
        patience: int > 0 or None (never stop early), default 5: stop after
            this many epochs without improvement of `monitor`. (Was
            `early_stopping_patience`, still accepted with a
            DeprecationWarning.)
        monitor: metric name, default "val_loss" with validation data and
            "loss" without. Names with "acc" or "auc" are maximised.
        resume: bool, default True: continue from `output_dir`'s last
            completed epoch when its state and checkpoint verify. False
            starts from epoch 0 and overwrites them.
        tensorboard: bool, default True: write TensorBoard logs to
            `output_dir/logs` (needs `output_dir`).
        callbacks: extra `keras.callbacks.Callback` objects, or None.
        verbose: passed to `fit`: "auto" (progress bar), 0, 1 or 2. With a
            non-zero value a resumed run is also reported through
            `logging.getLogger("rnn_zoo.train")` at INFO level.
        distribution: None (one process, the default), a `tf.distribute`
            strategy (TensorFlow backend, e.g. `MultiWorkerMirroredStrategy`)
            or a `keras.distribution.Distribution` (JAX backend, e.g.
            `DataParallel`); the torch backend has none (ValueError). The model
            must be built and compiled under `rnn_zoo.distribute.scope(...)`.
            `batch_size` is the global batch, split across the replicas. The
            chief writes `output_dir`; other workers write to a temporary
            folder that is removed (see `rnn_zoo.distribute`).

    Returns:
        A `TrainResult`. The model holds the best epoch's weights.

    Example:

    >>> model = rnn_zoo.build_text_classifier(vocab_size=100, units=8)
    >>> result = rnn_zoo.train.train(model, (x, y), validation_data=(xv, yv),
    ...                              epochs=10, output_dir="runs/negation")
    >>> result.history["val_accuracy"][-1], result.best_checkpoint
    """
    patience = _renamed(deprecated, {"patience": patience}, "train")["patience"]
    if distribution is not None:
        return _train_distributed(
            model, train_data, validation_data, test_data, distribution, output_dir,
            epochs=epochs, batch_size=batch_size, patience=patience, monitor=monitor,
            resume=resume, tensorboard=tensorboard, callbacks=callbacks, verbose=verbose)
    epochs = check_positive_int(epochs, "epochs", where="train")
    batch_size = check_size(batch_size, "batch_size", "MAX_BATCH_SIZE", where="train")
    if patience is not None:
        patience = check_positive_int(patience, "patience", where="train")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise ValueError("train: the model is not compiled. Call model.compile(...) "
                         "first, or build it with compile_model=True.")
    x, y, sample_weight = _as_fit_arguments(train_data, "train_data")
    validation = validation_data
    if isinstance(validation_data, list):
        validation = tuple(validation_data)
    monitor = monitor or ("val_loss" if validation_data is not None else "loss")

    state = None
    resume = check_bool(resume, "resume", where="train")
    if monitor is not None and (not isinstance(monitor, str) or not monitor):
        raise ValueError("train: Invalid value received for argument `monitor`. Expected a "
                         f"metric name (str) or None. Received: monitor={monitor!r}")
    if output_dir is not None:
        output_dir = _open_output_dir(output_dir)
        if resume:
            state = _load_state(output_dir, monitor, model)
            if state is not None:
                # A kill after the last commit may have left these undone.
                _publish_stable_names(output_dir, state)
                _remove_unnamed_checkpoints(output_dir, state)
    state = state or _fresh_state(monitor)
    initial_epoch = int(state["epochs_completed"])

    if initial_epoch and verbose:
        logger.info("Resuming %s from epoch %d (state in %s).", model.name, initial_epoch,
                    output_dir)
    bookkeeping = _CheckpointAndStop(state, monitor, patience, output_dir)
    all_callbacks = [bookkeeping] + list(callbacks or [])
    log_dir = None
    if tensorboard and output_dir is not None:
        log_dir = os.path.join(output_dir, LOG_DIR)
        # write_graph and profiling are TF-only in Keras 3; scalars work everywhere.
        all_callbacks.append(keras.callbacks.TensorBoard(
            log_dir=log_dir, write_graph=False, profile_batch=0))

    finished = state["stopped_early"] or initial_epoch >= epochs
    if not finished:
        fit_batch_size = batch_size if y is not None else None
        # A tf.data pipeline or a Python generator shuffles itself (if at all);
        # Keras ignores shuffle=True for one, with a warning.
        shuffle = not (type(x).__module__.split(".", 1)[0] == "tensorflow"
                       or inspect.isgenerator(x))
        model.fit(x, y, sample_weight=sample_weight, batch_size=fit_batch_size,
                  epochs=epochs, initial_epoch=initial_epoch, shuffle=shuffle,
                  validation_data=validation, callbacks=all_callbacks,
                  verbose=verbose)

    best_checkpoint = last_checkpoint = None
    if output_dir is not None:
        folder = os.path.join(output_dir, CHECKPOINT_DIR)
        _publish_stable_names(output_dir, state)
        if state.get("last_checkpoint") is not None:
            last_checkpoint = os.path.join(folder, LAST_CHECKPOINT)
        if state.get("best_checkpoint") is not None:
            best_checkpoint = os.path.join(folder, BEST_CHECKPOINT)
            if state["best_checkpoint"] != state.get("last_checkpoint"):
                restore_checkpoint(model, _checkpoint_path(output_dir, state, "best"),
                                   state.get("best_sha256"))
    elif bookkeeping.best_weights is not None:
        model.set_weights(bookkeeping.best_weights)

    test_metrics = None
    if test_data is not None:
        tx, ty, tw = _as_fit_arguments(test_data, "test_data")
        test_metrics = model.evaluate(tx, ty, sample_weight=tw,
                                      batch_size=batch_size if ty is not None else None,
                                      return_dict=True, verbose=0)
        test_metrics = {name: float(value) for name, value in test_metrics.items()}

    return TrainResult(history=state["history"], test_metrics=test_metrics,
                       best_checkpoint=best_checkpoint, last_checkpoint=last_checkpoint,
                       best_epoch=state["best_epoch"], initial_epoch=initial_epoch,
                       epochs_completed=int(state["epochs_completed"]),
                       stopped_early=bool(state["stopped_early"]), monitor=monitor,
                       log_dir=log_dir)


def _train_distributed(model, train_data, validation_data, test_data, distribution,
                       output_dir, batch_size, **arguments):
    """`train` under `distribution`: its scope, this worker's folder, its part of the data."""
    distribution = distribute.check_distribution(distribution, where="train")
    distribute.check_model(model, distribution, where="train")
    batch_size = check_size(batch_size, "batch_size", "MAX_BATCH_SIZE", where="train")
    (train_data, validation_data, test_data), batch_size = distribute.split_inputs(
        (train_data, validation_data, test_data), batch_size, distribution)
    folder, cleanup = distribute.worker_output_dir(output_dir, distribution,
                                                   (STATE_FILE, CHECKPOINT_DIR))
    try:
        with distribute.scope(distribution), distribute.fit_context(model, distribution):
            result = train(model, train_data, validation_data, test_data,
                           output_dir=folder, batch_size=batch_size, **arguments)
    finally:
        cleanup()
    if folder != output_dir:  # a non-chief worker: its files are gone
        result = dataclasses.replace(result, best_checkpoint=None, last_checkpoint=None,
                                     log_dir=None)
    return result
