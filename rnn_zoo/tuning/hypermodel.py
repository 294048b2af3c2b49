"""`RNNHyperModel`: the rnn-zoo search space as a `keras_tuner.HyperModel`.

No recurrent HyperModel exists upstream (`keras_tuner.applications` holds image
models only, and AutoKeras 3 no longer searches RNNs for text), so the space is
defined here, with the same words as the factories (`cell`, `units`, `depth`,
`bidirectional`, `dropout`, `pooling`, `embedding_dim`). Models are built by
the rnn_zoo factories with `compile_model=False`, then compiled with the
searched optimizer and learning rate.

A space is data: a dict from hyperparameter name to either
`{"values": [...]}` (a `hp.Choice`) or `{"min": a, "max": b, "step": s,
"sampling": "linear"|"log"}` (a `hp.Float`). `fixed`, `narrow` and `extra`
edit the default space (see `RNNHyperModel`).
"""

import copy
import inspect
import numbers

import keras
import keras_tuner

from rnn_zoo import tasks
from rnn_zoo.tasks import CELLS
from rnn_zoo.tasks import POOLINGS
from rnn_zoo.validation import check_choice

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}

# The tasks the tuner searches (those with recurrent layers), name -> `Task`.
# Loss, metrics, input kind, pooling and direction all come from the registry.
TASKS = {name: tasks.TASKS[name] for name in tasks.RECURRENT_TASKS}

# The default space. Every point of it can take the cuDNN kernel: only LSTM
# and GRU cells (SimpleRNN has no cuDNN kernel), input `dropout` only (never
# `recurrent_dropout`, which rules cuDNN out; see rnn_zoo/cudnn.py). Add
# "simple_rnn" with `extra={"cell": ["simple_rnn"]}` if you want it anyway.
DEFAULT_SPACE = {
    "cell": {"values": ["lstm", "gru"]},
    "bidirectional": {"values": [False, True]},
    "depth": {"values": [1, 2]},
    "units": {"values": [16, 32, 64, 128]},
    "dropout": {"min": 0.0, "max": 0.4, "step": 0.1},
    "embedding_dim": {"values": [32, 64, 128]},
    "pooling": {"values": list(POOLINGS)},
    "optimizer": {"values": ["adam", "rmsprop"]},
    "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
    "batch_size": {"values": [32, 64, 128]},
}

# Allowed values for the categorical hyperparameters (None: any value that
# passes `_check_value`).
_ALLOWED = {
    "cell": CELLS,
    "bidirectional": (False, True),
    "pooling": POOLINGS,
    "optimizer": tuple(OPTIMIZERS),
}
_SAMPLINGS = ("linear", "log")
_RANGE_KEYS = ("min", "max", "step", "sampling")


def task_hyperparameters(task, max_depth):
    """Names of the hyperparameters that apply to `task`, in build order.

    Args:
        task: one of `TASKS`.
        max_depth: the largest depth in the space; `units_1..units_<max_depth>`
            are listed (`units` itself edits all of them at once).

    Returns:
        A list of names.
    """
    info = TASKS[task]
    names = ["cell"]
    if info.bidirectional:
        names.append("bidirectional")
    names += ["depth"] + [f"units_{k}" for k in range(1, max_depth + 1)] + ["dropout"]
    if info.tokens:
        names.append("embedding_dim")
    if info.pooled:
        names.append("pooling")
    return names + ["optimizer", "learning_rate", "batch_size"]


def _allowed_names(task, max_depth):
    return ["units"] + task_hyperparameters(task, max_depth)


def _check_value(name, value, where):
    base = "units" if name.startswith("units_") else name
    if base in _ALLOWED:
        return check_choice(value, name, _ALLOWED[base], where=where)
    if base in ("depth", "units", "embedding_dim", "batch_size"):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{where}: Invalid value in `{name}`. Expected integers >= 1. "
                             f"Received: {value!r}")
        return int(value)
    if base == "dropout" and not (isinstance(value, numbers.Real) and 0.0 <= value < 1.0):
        raise ValueError(f"{where}: Invalid value in `dropout`. Expected floats in [0, 1). "
                         f"Received: {value!r}")
    if base == "learning_rate" and not (isinstance(value, numbers.Real) and value > 0):
        raise ValueError(f"{where}: Invalid value in `learning_rate`. Expected floats > 0. "
                         f"Received: {value!r}")
    return value


def _normalise(name, spec, where):
    """A user's entry (scalar, list or range dict) -> a space entry dict."""
    if isinstance(spec, dict):
        if "values" in spec:
            unknown = sorted(set(spec) - {"values"})
            if unknown:
                raise ValueError(f"{where}: unknown key(s) {unknown} in `{name}`. "
                                 "Expected {'values': [...]} alone.")
            spec = list(spec["values"])
        else:
            unknown = sorted(set(spec) - set(_RANGE_KEYS))
            if unknown or "min" not in spec or "max" not in spec:
                raise ValueError(
                    f"{where}: Invalid range for `{name}`. Expected keys {_RANGE_KEYS} "
                    f"(min and max required). Received: {spec!r}")
            spec = dict(spec)
            spec.setdefault("sampling", "linear")
            check_choice(spec["sampling"], f"{name}.sampling", _SAMPLINGS, where=where)
            lo, hi = _check_value(name, spec["min"], where), _check_value(name, spec["max"], where)
            if lo > hi:
                raise ValueError(f"{where}: empty range for `{name}`: min={lo!r} > max={hi!r}. "
                                 "Expected min <= max.")
            return spec
    if not isinstance(spec, (list, tuple)):
        spec = [spec]
    if not spec:
        raise ValueError(f"{where}: empty list of values for `{name}`. "
                         "Expected at least one value.")
    values = []
    for value in spec:
        value = _check_value(name, value, where)
        if value not in values:
            values.append(value)
    return {"values": values}


def _is_range(spec):
    return "min" in spec


def resolve_space(task, fixed=None, narrow=None, extra=None, where="RNNHyperModel"):
    """Apply `fixed`, `narrow` and `extra` to the default space of `task`.

    Args:
        task: one of `TASKS`.
        fixed, narrow, extra: as in `RNNHyperModel`.
        where: prefix of error messages.

    Returns:
        A dict name -> space entry, one entry per name of
        `task_hyperparameters(task, max_depth)`; `units` is expanded.

    Raises:
        ValueError: an unknown or inapplicable name, an empty list or range,
            or a value outside the allowed set; the message names both.
    """
    check_choice(task, "task", tuple(TASKS), where=where)
    edits = {"fixed": dict(fixed or {}), "narrow": dict(narrow or {}), "extra": dict(extra or {})}
    for kind, entries in edits.items():
        if not isinstance(entries, dict):
            raise ValueError(f"{where}: `{kind}` must be a dict of name -> values. "
                             f"Received: {entries!r}")
    space = copy.deepcopy(DEFAULT_SPACE)
    if not TASKS[task].bidirectional:
        space["bidirectional"] = {"values": [False]}
    # Depth first: it decides how many units_k exist.
    for kind in ("narrow", "fixed"):
        if "depth" in edits[kind]:
            value = edits[kind]["depth"]
            space["depth"] = _normalise("depth", value if kind == "narrow" else [value],
                                        f"{where}: {kind}")
    if "depth" in edits["extra"]:
        added = _normalise("depth", edits["extra"]["depth"], f"{where}: extra")["values"]
        space["depth"]["values"] += [d for d in added if d not in space["depth"]["values"]]
    if _is_range(space["depth"]):
        raise ValueError(f"{where}: `depth` must be a list of integers, not a range.")
    max_depth = max(space["depth"]["values"])
    allowed = _allowed_names(task, max_depth)
    for kind, entries in edits.items():
        unknown = [name for name in entries if name not in allowed]
        if unknown:
            raise ValueError(
                f"{where}: unknown hyperparameter(s) {unknown} in `{kind}` for task "
                f"{task!r}. Expected some of {tuple(allowed)}.")
    units = space.pop("units")
    for k in range(1, max_depth + 1):
        space[f"units_{k}"] = copy.deepcopy(units)
    # "units" edits every layer; a "units_k" entry then overrides its layer.
    ordered = lambda entries: sorted(entries.items(), key=lambda kv: kv[0] != "units")  # noqa: E731
    for kind in ("extra", "narrow", "fixed"):
        for name, value in ordered(edits[kind]):
            if name == "depth":
                continue
            targets = [f"units_{k}" for k in range(1, max_depth + 1)] if name == "units" else [name]
            if kind == "fixed":
                entry = _normalise(name, [value], f"{where}: fixed")
            elif kind == "narrow":
                entry = _normalise(name, value, f"{where}: narrow")
            for target in targets:
                if kind == "extra":
                    space[target] = _extend(target, space[target], value, where)
                else:
                    space[target] = copy.deepcopy(entry)
    return {name: space[name] for name in task_hyperparameters(task, max_depth)}


def _extend(name, spec, value, where):
    """`extra`: add values to a choice, or widen a range."""
    added = _normalise(name, value, f"{where}: extra")
    if _is_range(spec) != _is_range(added):
        kind = "a range {'min': ..., 'max': ...}" if _is_range(spec) else "a list of values"
        raise ValueError(f"{where}: extra `{name}` must be {kind}, like the space it extends. "
                         f"Received: {value!r}")
    if _is_range(spec):
        return dict(spec, min=min(spec["min"], added["min"]), max=max(spec["max"], added["max"]))
    return {"values": spec["values"] + [v for v in added["values"] if v not in spec["values"]]}


class RNNHyperModel(keras_tuner.HyperModel):
    """A Keras Tuner search space over the rnn-zoo recurrent models of one task.

    The space (see `DEFAULT_SPACE`): `cell` (lstm, gru), `bidirectional`,
    `depth` (1, 2), `units_k` for each layer k (active only when
    `depth >= k`, through `hp.conditional_scope`), input `dropout`,
    `embedding_dim` (token tasks), `pooling` (classifiers and regressors),
    `optimizer`, `learning_rate` (log scale) and `batch_size` (applied in
    `fit`). By default every configuration can take the cuDNN kernel: no
    `recurrent_dropout` and no SimpleRNN unless you add it.

    Args:
        task: "text_classifier", "sequence_classifier", "sequence_tagger",
            "sequence_regressor" or "language_model".
        fixed: dict name -> one value; the hyperparameter becomes `hp.Fixed`.
        narrow: dict name -> a list of values (a `hp.Choice`), a range dict
            `{"min": a, "max": b, "step": s, "sampling": "log"}` (a
            `hp.Float`), or a single value.
        extra: dict name -> values to add to a choice (`{"cell":
            ["simple_rnn"]}`), or a range dict that widens a range
            (`{"dropout": {"min": 0.0, "max": 0.6}}`).
            `units` edits every layer at once; `units_2` only the second.
        name: optional name of the hypermodel.
        **task_args: arguments of the task's factory that are not searched,
            e.g. `vocab_size` and `num_classes` for "text_classifier",
            `num_features` and `num_classes` for "sequence_classifier",
            `num_tags` for "sequence_tagger", `output_dim` for
            "sequence_regressor", `mask_value`.

    Example:

    >>> hypermodel = RNNHyperModel("text_classifier", vocab_size=5000, num_classes=2)
    >>> # Only GRUs, one or two layers of 32 or 64 units, a slower learning rate:
    >>> hypermodel = RNNHyperModel(
    ...     "text_classifier", vocab_size=5000, num_classes=2,
    ...     fixed={"cell": "gru"},
    ...     narrow={"units": [32, 64], "learning_rate": {"min": 1e-4, "max": 1e-3,
    ...                                                  "sampling": "log"}},
    ...     extra={"optimizer": ["adamw"]})
    >>> tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy",
    ...                                  max_trials=5)
    >>> tuner.search(x, y, validation_data=(x_val, y_val), epochs=3)
    """

    def __init__(self, task, fixed=None, narrow=None, extra=None, name=None, **task_args):
        super().__init__(name=name or f"rnn_{task}", tunable=True)
        where = "RNNHyperModel"
        self.space = resolve_space(task, fixed=fixed, narrow=narrow, extra=extra, where=where)
        factory = TASKS[task].factory_function()
        searched = {"cell", "units", "depth", "bidirectional", "dropout", "pooling",
                    "embedding_dim", "learning_rate", "compile_model", "name"}
        allowed = tuple(p for p in inspect.signature(factory).parameters if p not in searched)
        unknown = sorted(set(task_args) - set(allowed))
        if unknown:
            raise ValueError(f"{where}: unknown task argument(s) {unknown} for task {task!r}. "
                             f"Expected some of {allowed}.")
        self.task = task
        self.task_args = dict(task_args)
        self.fixed = dict(fixed or {})
        self.narrow = dict(narrow or {})
        self.extra = dict(extra or {})

    @property
    def max_depth(self):
        return max(self.space["depth"]["values"])

    def objectives(self, validation=True):
        """The metric names this task reports, e.g. ("loss", "accuracy", "val_loss", ...)."""
        names = ("loss",) + tuple(TASKS[self.task].metrics)
        return names + tuple(f"val_{n}" for n in names) if validation else names

    def _hp(self, hp, name):
        spec = self.space[name]
        if _is_range(spec):
            return hp.Float(name, min_value=float(spec["min"]), max_value=float(spec["max"]),
                            step=spec.get("step"), sampling=spec.get("sampling", "linear"))
        if len(spec["values"]) == 1:
            return hp.Fixed(name, spec["values"][0])
        if name == "bidirectional" and sorted(spec["values"]) == [False, True]:
            return hp.Boolean(name)
        return hp.Choice(name, spec["values"])

    def declare_hyperparameters(self, hp):
        # `batch_size` is used only in `fit`; declaring it up front puts it in
        # the oracle's space before the first trial is drawn.
        self._hp(hp, "batch_size")

    def build(self, hp):
        """Build and compile one model of the space (see `keras_tuner.HyperModel.build`)."""
        cell = self._hp(hp, "cell")
        arguments = dict(self.task_args, cell=cell, compile_model=False)
        if "bidirectional" in self.space:
            arguments["bidirectional"] = self._hp(hp, "bidirectional")
        depth = self._hp(hp, "depth")
        depths = self.space["depth"]["values"]
        units = []
        for k in range(1, self.max_depth + 1):
            # units_k only matters when the stack has at least k layers.
            with hp.conditional_scope("depth", [d for d in depths if d >= k]):
                value = self._hp(hp, f"units_{k}")
            if k <= depth:
                units.append(int(value))
        arguments.update(units=units, depth=depth, dropout=float(self._hp(hp, "dropout")))
        if "embedding_dim" in self.space:
            arguments["embedding_dim"] = self._hp(hp, "embedding_dim")
        if "pooling" in self.space:
            arguments["pooling"] = self._hp(hp, "pooling")
        model = TASKS[self.task].build(**arguments)
        optimizer = OPTIMIZERS[self._hp(hp, "optimizer")](
            learning_rate=float(self._hp(hp, "learning_rate")))
        self._hp(hp, "batch_size")
        info = TASKS[self.task]
        # metrics= by keyword: positionally it binds to loss_weights (FACTS.md).
        model.compile(optimizer=optimizer, loss=info.loss, metrics=list(info.metrics))
        return model

    def with_task_args(self, **task_args):
        """A copy of this hypermodel with some task arguments replaced (e.g. a fold's sizes).

        Example:

        >>> fold_hypermodel = hypermodel.with_task_args(vocab_size=812)
        """
        clone = copy.copy(self)
        clone.task_args = {**self.task_args, **task_args}
        return clone

    def batch_size(self, hp):
        """The trial's `batch_size` (registers it in `hp` when new)."""
        return int(self._hp(hp, "batch_size"))

    def fit(self, hp, model, *args, **kwargs):
        """`model.fit` with the trial's `batch_size` (unless the caller passes one)."""
        kwargs.setdefault("batch_size", self._hp(hp, "batch_size"))
        return model.fit(*args, **kwargs)

    def get_config(self):
        return {"task": self.task, "fixed": self.fixed, "narrow": self.narrow,
                "extra": self.extra, "name": self.name, **self.task_args}
