"""Cross-validated scores, the refit on the whole training split, and the test score.

A search chooses on small data; one validation split of 54 utterances moves
by 1.85 points per utterance, which is noise. Here each configuration is
scored by k-fold cross-validation on the training split (stratified for
classifiers). The preprocessor (`TextVectorizer` or `SequenceScaler`) is
fitted inside each fold on that fold's training part only, with
`rnn_zoo.bundle.prepare(train_part, task, validation=held_out_part)`, so no
statistic of a held-out row reaches the model that is scored on it. The
dataset's test split is read only by `refit`, after the choice is made.

Example:

>>> from rnn_zoo.data import load_japanese_vowels
>>> cv = prepare_folds(load_japanese_vowels(split="train"), "sequence_classifier", 5)
>>> score = cross_validate(cv, build, epochs=20, batch_size=32,
...                        objective="val_accuracy")  # doctest: +SKIP
>>> score.mean, score.std, score.best_epoch  # doctest: +SKIP
"""

import contextlib
import dataclasses
import json
import math

import keras
import numpy as np

from rnn_zoo.bundle import prepare
from rnn_zoo.bundle import split_indices
from rnn_zoo.tasks import TASKS

DEFAULT_FOLDS = 5
# Below this many training rows a spec without `cv_folds` is cross-validated.
AUTO_CV_ROWS = 5000
DEFAULT_BATCH_SIZE = 32
BOOTSTRAP_RESAMPLES = 2000


def resolve_folds(cv_folds, num_rows):
    """The number of folds to use, and a sentence saying why when it was chosen here.

    Args:
        cv_folds: the spec's `cv_folds` (int >= 1), or None when the spec has none.
        num_rows: training rows.

    Returns:
        `(k, note)`: k = 1 means one train/validation split
        (`dataset.validation_split`); `note` is None when the spec set `cv_folds`.
    """
    if cv_folds is not None:
        return int(cv_folds), None
    if num_rows < AUTO_CV_ROWS:
        return DEFAULT_FOLDS, (f"the spec sets no cv_folds and has {num_rows} training rows "
                               f"(< {AUTO_CV_ROWS}): each trial is scored by {DEFAULT_FOLDS}-"
                               "fold cross-validation")
    return 1, None


def fold_indices(num_rows, k, seed=0, labels=None, validation_split=0.2):
    """Held-out index sets for k-fold cross-validation (stratified when `labels` is given).

    Args:
        num_rows: int, rows in the training split.
        k: folds; 1 gives one split by `rnn_zoo.bundle.split_indices`.
        seed: int, the shuffle's seed.
        labels: optional int class per row: each fold then holds each class in
            proportion (as far as the counts allow).
        validation_split: with k = 1, the share held out.

    Returns:
        A list of `(train_indices, held_out_indices)` int64 arrays; with k >= 2
        every row is held out exactly once.

    Raises:
        ValueError: k > num_rows.
    """
    if k == 1:
        return [split_indices(num_rows, validation_split, seed)]
    if k > num_rows:
        raise ValueError(f"Invalid value received for argument `cv_folds`. Expected at most "
                         f"the {num_rows} training rows. Received: cv_folds={k}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(num_rows, dtype=np.int64)
    if labels is None:
        fold_of[rng.permutation(num_rows)] = np.arange(num_rows) % k
    else:
        labels = np.asarray(labels).reshape(num_rows)
        offset = 0
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            # Deal each class round-robin, carrying on where the last class stopped,
            # so fold sizes differ by at most one.
            fold_of[members] = (np.arange(len(members)) + offset) % k
            offset += len(members)
    every = np.arange(num_rows, dtype=np.int64)
    return [(every[fold_of != f], every[fold_of == f]) for f in range(k)]


@dataclasses.dataclass(eq=False)
class Fold:
    """One fold: its indices into the training split and its prepared arrays.

    `prepared` comes from `prepare(train_part, task, validation=held_out_part)`:
    its preprocessor is fitted on `train_indices` only; `x_val, y_val` are the
    held-out part.
    """

    index: int
    train_indices: np.ndarray
    held_out_indices: np.ndarray
    prepared: object


@dataclasses.dataclass(eq=False)
class CVData:
    """The training split cut into folds, each prepared on its own.

    Attributes:
        data: the raw training split (a `rnn_zoo.data` container).
        task: the task's name.
        folds: list of `Fold`.
        k: the number of folds (1: one train/validation split).
        targets: every row's target in training-split order (held-out parts put
            back together), what out-of-fold predictions are scored against.
        task_args: the factory sizes from the whole training split.
        labels: class or tag names.
        prepare_args: `max_tokens`, `max_length`, `scale` for `prepare`.
        note: why k was chosen, when the spec did not say (else None).
    """

    data: object
    task: str
    folds: list
    k: int
    targets: np.ndarray
    task_args: dict
    labels: tuple
    prepare_args: dict
    note: str = None

    @property
    def num_rows(self):
        return len(self.data)


def _class_labels(data):
    labels = getattr(data, "labels", None)
    if labels is None or getattr(data, "targets", None) is not None:
        return None
    return np.asarray(labels)


def prepare_folds(data, task, k, seed=0, validation_split=0.2, note=None, **prepare_args):
    """Cut `data` into k folds and prepare each one with its own preprocessor.

    Args:
        data: the training split (`TextClassificationData`, `TaggingData` or
            `SequenceData`).
        task: the task's name.
        k: folds (>= 2), or 1 for one split of `validation_split`.
        seed: the folds' shuffle seed.
        validation_split: with k = 1, the share held out.
        note: recorded as `CVData.note`.
        **prepare_args: `max_tokens`, `max_length`, `scale` of `prepare`.

    Returns:
        A `CVData`.
    """
    stratify = TASKS[task].classification and task != "sequence_tagger"
    splits = fold_indices(len(data), k, seed=seed,
                          labels=_class_labels(data) if stratify else None,
                          validation_split=validation_split)
    folds = []
    targets = None
    for index, (train_idx, held_idx) in enumerate(splits):
        prepared = prepare(data.select(train_idx), task, validation=data.select(held_idx),
                           **prepare_args)
        if targets is None:
            shape = (len(data),) + np.asarray(prepared.y_val).shape[1:]
            targets = np.zeros(shape, dtype=np.asarray(prepared.y_val).dtype)
        targets[held_idx] = prepared.y_val
        folds.append(Fold(index, train_idx, held_idx, prepared))
    # The sizes of the whole training split: what the refit model is built with.
    whole = prepare(data, task, validation_split=0.0, **prepare_args)
    return CVData(data=data, task=task, folds=folds, k=k, targets=targets,
                  task_args=dict(whole.task_args), labels=tuple(whole.labels),
                  prepare_args=dict(prepare_args), note=note)


# --------------------------------------------------------------------------- metrics


def metric_name(objective):
    """"val_accuracy" -> "accuracy"; the per-example metric an objective names."""
    return objective[4:] if objective.startswith("val_") else objective


def direction(objective):
    """"max" for accuracy, "min" for losses and errors."""
    return "max" if metric_name(objective) == "accuracy" else "min"


def example_values(task, metric, targets, predictions):
    """One value per example of `metric` ("accuracy", "loss" or "mae").

    Their mean is the metric over the examples; bootstrap intervals resample them.
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets)
    n = len(targets)
    if TASKS[task].classification:
        if metric == "accuracy":
            values = (predictions.argmax(-1) == targets).astype(np.float64)
        else:
            picked = np.take_along_axis(predictions, targets[..., None].astype(np.int64), -1)
            values = -np.log(np.clip(picked[..., 0], 1e-7, 1.0))
        return values.reshape(n, -1).mean(axis=1)
    error = predictions.reshape(n, -1) - targets.reshape(n, -1).astype(np.float64)
    if metric == "mae":
        return np.abs(error).mean(axis=1)
    return (error ** 2).mean(axis=1)


def test_metric(task):
    """The metric a task's test score reports: "accuracy", or the regressor's "mae"."""
    return "accuracy" if TASKS[task].classification else TASKS[task].metrics[0]


def bootstrap_ci(values, resamples=BOOTSTRAP_RESAMPLES, seed=0, level=0.95):
    """Percentile bootstrap interval of the mean of `values` -> [low, high]."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return [math.nan, math.nan]
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


def oof_scores(cv, objective, predictions):
    """Score out-of-fold predictions fold by fold -> (mean, std, per-fold values)."""
    metric = metric_name(objective)
    values = [float(example_values(cv.task, metric, cv.targets[f.held_out_indices],
                                   predictions[f.held_out_indices]).mean())
              for f in cv.folds]
    return float(np.mean(values)), _std(values), values


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


# --------------------------------------------------------------------------- fitting


def predict(model, x, batch_size=256):
    """The model's outputs on `x`, batch by batch, as a float32 array.

    Called directly rather than through `model.predict`: one small prediction
    per fitted model, and `predict` would trace a new function for each.
    """
    outputs = [keras.ops.convert_to_numpy(model(x[start:start + batch_size], training=False))
               for start in range(0, len(x), batch_size)]
    return np.concatenate(outputs).astype(np.float32)


class _CompiledModels:
    """One compiled model per set of task sizes, reused across folds and executions.

    Each compiled model traces its own training and evaluation functions:
    seconds each for a small RNN, and after a few models TensorFlow warns of
    "tf.function retracing" (it counts traces per Python function, not per
    model). A configuration's folds and executions differ only in their data
    and starting state, so the first model built for a set of sizes is kept,
    and each later run loads into it a freshly built model's variables
    (weights, dropout seed state) and the optimizer state it had before any
    training: the same starting point as the fresh model, without a new trace.
    On TensorFlow the run is the fresh model's exactly. On JAX and torch the
    batches come in another (equally seeded) order, because Keras draws one
    more shuffle when it first builds a model; the runs stay reproducible.
    """

    def __init__(self):
        self._kept = {}

    def start(self, fresh, task_args):
        """The model to train: `fresh` itself, or the kept one holding its state."""
        if getattr(fresh, "optimizer", None) is None:
            return fresh
        key = json.dumps(task_args, sort_keys=True, default=str)
        kept = self._kept.get(key)
        if kept is None or not _same_structure(kept[0], fresh):
            self._kept[key] = (fresh, _optimizer_state(fresh))
            return fresh
        model, optimizer_state = kept
        for target, source in zip(model.variables, fresh.variables):
            target.assign(source)
        for variable, value in zip(model.optimizer.variables, optimizer_state):
            variable.assign(value)
        return model


def _optimizer_state(model):
    # Built now (as fit would, in the model's distribution scope) so that its
    # untrained state, slots included, can be put back before each later run.
    strategy = getattr(model, "distribute_strategy", None)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    return [keras.ops.convert_to_numpy(variable) for variable in model.optimizer.variables]


# Tasks whose `vocab_size` sizes only the input embedding (a language model
# also predicts over its vocabulary).
_INPUT_ONLY_VOCABULARY = ("text_classifier", "sequence_tagger", "bag_of_embeddings")


def _shared_sizes(cv):
    # On small data the folds' vocabularies differ in size. Every fold's model
    # gets the largest, so one compiled model serves all folds: a fold's ids
    # never reach the rows its own vocabulary lacks, so those rows change no
    # output.
    sizes = [fold.prepared.task_args.get("vocab_size") for fold in cv.folds]
    if cv.task not in _INPUT_ONLY_VOCABULARY or None in sizes:
        return {}
    return {"vocab_size": max(sizes)}


def _same_structure(kept, fresh):
    def signature(variables):
        return [(tuple(v.shape), str(v.dtype)) for v in variables]

    def settings(optimizer):
        # The name is made unique per instance; everything else must match.
        return type(optimizer), {k: v for k, v in optimizer.get_config().items() if k != "name"}

    return (signature(kept.variables) == signature(fresh.variables)
            and settings(kept.optimizer) == settings(fresh.optimizer))


class _KeepBest(keras.callbacks.Callback):
    """Remember the weights of the best epoch of `monitor`; restore them at the end."""

    def __init__(self, monitor, mode):
        super().__init__()
        self.monitor, self.mode = monitor, mode
        self.best, self.best_epoch, self.weights = None, 0, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if self.best is None or (value > self.best if self.mode == "max" else value < self.best):
            self.best, self.best_epoch = float(value), epoch + 1
            self.weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


@dataclasses.dataclass
class CVScore:
    """A configuration's cross-validated score.

    Attributes:
        mean, std: of the per-fold objective (each fold: the mean over
            executions of the value at that run's best epoch).
        fold_values: per fold.
        best_epochs: each run's best epoch (1-based), fold by fold.
        predictions: out-of-fold predictions (each row predicted by the model
            that did not train on it, averaged over executions).
    """

    mean: float
    std: float
    fold_values: list
    best_epochs: list
    predictions: np.ndarray

    @property
    def best_epoch(self):
        """The mean best epoch across folds and executions, rounded (>= 1)."""
        return max(1, int(round(float(np.mean(self.best_epochs)))))


def cross_validate(cv, build, epochs, batch_size, objective, executions=1, seed=0,
                   timings=None):
    """Train and score one configuration on every fold.

    Args:
        cv: a `CVData`.
        build: callable `(task_args) -> compiled keras.Model`, called once per
            fold and execution with the sizes of that fold's preprocessor
            (`vocab_size`: the largest fold's, where it sizes only the input
            embedding). The first model is trained on every later run too,
            restarted from the state of the model built for that run.
        epochs: int, epochs per fold.
        batch_size: int.
        objective: a `val_*` metric name, e.g. "val_accuracy".
        executions: runs per fold with different seeds, averaged.
        seed: base seed; run e of fold f uses `seed + 1000 * e + f`.
        timings: optional dict; "build" and "fit" seconds are added to it.

    Returns:
        A `CVScore`.
    """
    import time

    mode = direction(objective)
    fold_values, best_epochs, predictions = [], [], None
    compiled = _CompiledModels()
    shared = _shared_sizes(cv)
    for fold in cv.folds:
        prepared = fold.prepared
        values, runs = [], []
        for execution in range(executions):
            keras.utils.set_random_seed(seed + 1000 * execution + fold.index)
            started = time.perf_counter()
            task_args = dict(prepared.task_args, **shared)
            model = compiled.start(build(dict(task_args)), task_args)
            built = time.perf_counter()
            keep = _KeepBest(objective, mode)
            model.fit(prepared.x_train, prepared.y_train, epochs=epochs, batch_size=batch_size,
                      validation_data=(prepared.x_val, prepared.y_val), verbose=0,
                      shuffle=True, callbacks=[keep])
            runs.append(predict(model, prepared.x_val))
            if timings is not None:
                timings["build"] = timings.get("build", 0.0) + built - started
                timings["fit"] = timings.get("fit", 0.0) + time.perf_counter() - built
            if keep.best is None:
                raise ValueError(f"fold {fold.index}: `{objective}` was never finite; "
                                 "the configuration diverged.")
            values.append(keep.best)
            best_epochs.append(keep.best_epoch)
        fold_values.append(float(np.mean(values)))
        mean_run = np.mean(runs, axis=0)
        if predictions is None:
            predictions = np.zeros((cv.num_rows,) + mean_run.shape[1:], dtype=np.float32)
        predictions[fold.held_out_indices] = mean_run
    return CVScore(mean=float(np.mean(fold_values)), std=_std(fold_values),
                   fold_values=fold_values, best_epochs=best_epochs, predictions=predictions)


@dataclasses.dataclass(eq=False)
class Refit:
    """A model refit on the whole training split, with its test score.

    Attributes:
        model: the trained `keras.Model`.
        prepared: the `Prepared` of the whole training split (+ test).
        epochs: epochs it was trained for.
        test: dict `test_<metric>`, `test_ci95`, `test_samples`, or {} with no test split.
    """

    model: object
    prepared: object
    epochs: int
    test: dict


def refit(cv, build, epochs, batch_size, test_data=None, seed=0):
    """Train one model on the whole training split and score it once on `test_data`.

    The preprocessor is fitted on the training split only; `test_data` is only
    transformed with it, and only predicted on after training.

    Args:
        cv: the `CVData` searched on (its raw training split and `prepare` arguments).
        build: callable `(task_args) -> compiled keras.Model`, or a list of them
            (an ensemble: each is trained, their outputs averaged).
        epochs: int, or a list of ints (one per builder).
        batch_size: int, or a list of ints.
        test_data: the dataset's test split (raw), or None.
        seed: the training seed.

    Returns:
        A `Refit`; its test score is `test_metric(task)` with a bootstrap interval.
    """
    prepared = prepare(cv.data, cv.task, validation_split=0.0, test=test_data,
                       **cv.prepare_args)
    builders = build if isinstance(build, (list, tuple)) else [build]
    count = len(builders)
    epochs = list(epochs) if isinstance(epochs, (list, tuple)) else [epochs] * count
    batch_size = (list(batch_size) if isinstance(batch_size, (list, tuple))
                  else [batch_size] * count)
    models = []
    for index, builder in enumerate(builders):
        keras.utils.set_random_seed(seed + index)
        model = builder(dict(prepared.task_args))
        model.fit(prepared.x_train, prepared.y_train, epochs=int(epochs[index]),
                  batch_size=int(batch_size[index]), verbose=0, shuffle=True)
        models.append(model)
    model = models[0] if count == 1 else average_models(models)
    test = {}
    if test_data is not None:
        predictions = predict(model, prepared.x_test)
        metric = test_metric(cv.task)
        values = example_values(cv.task, metric, prepared.y_test, predictions)
        test = {f"test_{metric}": float(values.mean()), "test_ci95": bootstrap_ci(values),
                "test_samples": int(len(values))}
    return Refit(model=model, prepared=prepared, epochs=int(round(np.mean(epochs))), test=test)


def average_models(models):
    """One `keras.Model` whose output is the mean of `models`' outputs (same input)."""
    first = models[0]
    inputs = keras.Input(shape=first.inputs[0].shape[1:], dtype=first.inputs[0].dtype,
                         name=first.inputs[0].name)
    # Members renamed: a functional model's layer names must be unique.
    members = [keras.Model(m.inputs[0], m.outputs[0], name=f"member_{i}")
               for i, m in enumerate(models)]
    outputs = keras.layers.Average(name="ensemble_mean")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name="ensemble")
