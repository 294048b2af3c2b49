"""Declarative search specs (TOML) and the datasets they name.

A spec is a TOML file read with `tomllib`; every key is checked before any
data is loaded or any trial starts, and a bad key or value raises one
`ValueError` line that names the key and the allowed values.

```toml
task = "text_classifier"        # a task of rnn_zoo.tuning.TASKS
tuner = "random"                # random | hyperband | bayesian
objective = "val_accuracy"      # a metric the task reports (val_*: on the held-out parts)
seed = 0
cv_folds = 5                    # k-fold CV on the training split (stratified for classifiers);
                                # 1: one split of `dataset.validation_split`; absent: 5 below
                                # 5,000 training rows, else 1

[dataset]                       # `name` plus that dataset's own keys (DATASETS)
name = "negation_sentiment"
num_samples = 600
validation_split = 0.2          # share held out for the val_* objectives (was validation_fraction)

[budget]                        # each an integer >= 1
max_trials = 8
epochs = 3
executions_per_trial = 1       # runs per fold with different seeds, averaged
# max_time = 30                 # minutes; no trial starts after that (`--max-time`)

[space.fixed]                   # RNNHyperModel(fixed=..., narrow=..., extra=...)
cell = "gru"
[space.narrow]
units = [8, 16]
[space.extra]
optimizer = ["adamw"]

[task_args]                     # factory arguments that are not searched
mask_value = 0.0
```

Data preparation is `rnn_zoo.bundle.prepare`, the same step `rnn-zoo train`
uses: one train/validation split (`split_indices`), the text vocabulary built
on the training split only, and numeric series standardised by a
`SequenceScaler` fitted on the training split (`scale = false` keeps them raw).

Example:

>>> spec = load_spec("tuning/negation_sentiment.toml")
>>> spec.budget["max_trials"]
"""

import dataclasses
import os
import tomllib
import warnings

from rnn_zoo.bundle import Prepared
from rnn_zoo.bundle import prepare
from rnn_zoo.tuning.hypermodel import TASKS
from rnn_zoo.tuning.hypermodel import RNNHyperModel
from rnn_zoo.validation import check_choice

TUNERS = ("random", "hyperband", "bayesian")
TOP_LEVEL_KEYS = ("name", "description", "task", "tuner", "objective", "seed", "cv_folds",
                  "dataset", "budget", "space", "task_args")
SPACE_KEYS = ("fixed", "narrow", "extra")
BUDGET_DEFAULTS = {"max_trials": 10, "epochs": 3, "executions_per_trial": 1, "max_time": None}

# Dataset name -> the task it feeds and its keys with defaults. `path` keys
# are resolved relative to the spec file.
_SPLIT = {"validation_split": 0.2, "seed": 0}
_TEXT = {"max_length": None, "max_tokens": None}
_SERIES = {"scale": True}
# Datasets with a test split of their own -> the `rnn_zoo.data.datasets` loader.
# File datasets (csv, jsonl, npz) have one when the spec gives `test_path`.
TEST_SPLITS = {"japanese_vowels": "load_japanese_vowels"}
# Old dataset key -> its new name; the old one still works, with a warning.
RENAMED_DATASET_KEYS = {"validation_fraction": "validation_split"}
DATASETS = {
    "negation_sentiment": dict(task="text_classifier",
                               keys=dict(num_samples=2000, negated_fraction=0.5, **_SPLIT,
                                         **_TEXT)),
    "contrast_sentiment": dict(task="text_classifier",
                               keys=dict(num_samples=2000, **_SPLIT, **_TEXT)),
    "future_context_tagging": dict(task="sequence_tagger", keys=dict(num_samples=2000, **_SPLIT)),
    "japanese_vowels": dict(task="sequence_classifier", keys=dict(**_SPLIT, **_SERIES)),
    "adding_problem": dict(task="sequence_regressor",
                           keys=dict(num_samples=1000, length=20, **_SPLIT, **_SERIES)),
    "csv": dict(task="text_classifier",
                keys=dict(path=None, test_path=None, text_column="text", label_column="label",
                          **_SPLIT, **_TEXT)),
    "jsonl": dict(task="text_classifier",
                  keys=dict(path=None, test_path=None, text_key="text", label_key="label",
                            **_SPLIT, **_TEXT)),
    "npz": dict(task=("sequence_classifier", "sequence_regressor"),
                keys=dict(path=None, test_path=None, **_SPLIT, **_SERIES)),
}


@dataclasses.dataclass(frozen=True)
class SearchSpec:
    """A validated search spec.

    Attributes:
        path: the TOML file it came from (None when built from a dict).
        name: project name (default: the file's stem).
        task, tuner, objective, seed: as in the TOML.
        dataset: dict with "name" and every key of that dataset (defaults filled).
        budget: dict with "max_trials", "epochs", "executions_per_trial".
        space: dict with "fixed", "narrow", "extra" (each a dict).
        task_args: extra factory arguments.
        cv_folds: folds of cross-validation (1: one validation split), or None
            (chosen from the training rows: see `rnn_zoo.tuning.cv.resolve_folds`).
    """

    path: str
    name: str
    task: str
    tuner: str
    objective: str
    seed: int
    dataset: dict
    budget: dict
    space: dict
    task_args: dict
    cv_folds: int = None

    def hypermodel(self, **data_task_args):
        """The `RNNHyperModel` of this spec, given the data's task arguments."""
        return RNNHyperModel(self.task, **self.space, **self.task_args, **data_task_args)


def _unknown(keys, allowed, where):
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}. Expected some of {tuple(allowed)}.")


def _positive_int(value, where):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: expected an integer >= 1. Received: {value!r}")
    return value


def parse_spec(raw, path=None):
    """Validate a spec dict (as read from TOML) into a `SearchSpec`.

    Args:
        raw: dict.
        path: the file it came from, for messages and relative paths.

    Returns:
        A `SearchSpec`.

    Raises:
        ValueError: one line naming the key and the allowed values.
    """
    where = os.fspath(path) if path else "spec"
    _unknown(raw, TOP_LEVEL_KEYS, where)
    task = check_choice(raw.get("task"), "task", tuple(TASKS), where=where)
    tuner = check_choice(raw.get("tuner", "random"), "tuner", TUNERS, where=where)
    dataset = dict(raw.get("dataset") or {})
    if "name" not in dataset:
        raise ValueError(f"{where}: [dataset] needs `name`. Expected one of {tuple(DATASETS)}.")
    for old, new in RENAMED_DATASET_KEYS.items():
        if old in dataset:
            if new in dataset:
                raise ValueError(f"{where}: [dataset] has both `{old}` and `{new}`; "
                                 f"keep `{new}` (`{old}` is its deprecated name).")
            warnings.warn(f"{where}: `dataset.{old}` is deprecated; use `dataset.{new}`.",
                          DeprecationWarning, stacklevel=2)
            dataset[new] = dataset.pop(old)
    info = DATASETS.get(dataset["name"])
    if info is None:
        raise ValueError(f"{where}: Invalid value received for `dataset.name`. Expected one of "
                         f"{tuple(DATASETS)}. Received: dataset.name={dataset['name']!r}")
    _unknown(set(dataset) - {"name"}, info["keys"], f"{where}: [dataset] {dataset['name']}")
    dataset = {"name": dataset["name"], **info["keys"], **dataset}
    tasks = info["task"] if isinstance(info["task"], tuple) else (info["task"],)
    if task not in tasks:
        raise ValueError(f"{where}: dataset {dataset['name']!r} feeds task(s) {tasks}; "
                         f"Received: task={task!r}")
    if "path" in info["keys"]:
        if not dataset["path"]:
            raise ValueError(f"{where}: [dataset] {dataset['name']} needs `path` (a file).")
        base = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        dataset["path"] = os.path.join(base, dataset["path"])
        if dataset.get("test_path"):
            dataset["test_path"] = os.path.join(base, dataset["test_path"])
    fraction = dataset["validation_split"]
    # The objectives are val_* metrics: a search needs a validation split.
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
            or not 0.0 < fraction < 1.0):
        raise ValueError(f"{where}: `dataset.validation_split` must be in (0, 1). "
                         f"Received: {fraction!r}")
    if "scale" in dataset and not isinstance(dataset["scale"], bool):
        raise ValueError(f"{where}: `dataset.scale` must be true or false. "
                         f"Received: {dataset['scale']!r}")
    budget = dict(raw.get("budget") or {})
    _unknown(budget, BUDGET_DEFAULTS, f"{where}: [budget]")
    budget = {**BUDGET_DEFAULTS, **budget}
    for key, value in budget.items():
        if key == "max_time":
            check_max_time(value, f"{where}: budget.max_time")
        else:
            _positive_int(value, f"{where}: budget.{key}")
    space = dict(raw.get("space") or {})
    _unknown(space, SPACE_KEYS, f"{where}: [space]")
    space = {key: dict(space.get(key) or {}) for key in SPACE_KEYS}
    task_args = dict(raw.get("task_args") or {})
    name = raw.get("name") or (os.path.splitext(os.path.basename(path))[0] if path else "search")
    seed = raw.get("seed", 0)
    _positive_int(seed + 1 if isinstance(seed, int) and not isinstance(seed, bool) else seed,
                  f"{where}: seed (>= 0)")
    cv_folds = raw.get("cv_folds")
    if cv_folds is not None:
        _positive_int(cv_folds, f"{where}: cv_folds")
    spec = SearchSpec(path=os.fspath(path) if path else None, name=str(name), task=task,
                      tuner=tuner, objective=raw.get("objective", "val_loss"), seed=seed,
                      dataset=dataset, budget=budget, space=space, task_args=task_args,
                      cv_folds=cv_folds)
    check_space(spec)
    return spec


def check_max_time(value, where="max_time"):
    """None, or a number of minutes > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{where}: expected a number of minutes > 0. Received: {value!r}")
    return float(value)


def check_space(spec):
    """Check the space and the objective without loading data (placeholders for sizes)."""
    where = spec.path or "spec"
    placeholders = {
        "text_classifier": dict(vocab_size=8, num_classes=2),
        "sequence_classifier": dict(num_features=2, num_classes=2),
        "sequence_tagger": dict(vocab_size=8, num_tags=2),
        "sequence_regressor": dict(num_features=2, output_dim=1),
        "language_model": dict(vocab_size=8),
    }[spec.task]
    placeholders = {k: v for k, v in placeholders.items() if k not in spec.task_args}
    try:
        hypermodel = spec.hypermodel(**placeholders)
    except ValueError as error:
        raise ValueError(f"{where}: [space] {error}") from None
    check_choice(spec.objective, "objective", hypermodel.objectives(validation=True),
                 where=f"{where}: task {spec.task!r}")


def load_spec(path):
    """Read and validate a TOML search spec.

    Args:
        path: the `.toml` file.

    Returns:
        A `SearchSpec`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a folder or other non-regular file, a file that cannot be
            read, not UTF-8 TOML, or a bad key or value (one line naming it).
    """
    if os.path.lexists(path) and not os.path.isfile(path):
        kind = "a folder" if os.path.isdir(path) else "a socket, device or broken link"
        raise ValueError(f"{path}: not a regular file ({kind}); expected a TOML spec.")
    try:
        with open(path, "rb") as file:
            raw = tomllib.load(file)
    except FileNotFoundError:
        raise
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error}).") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not valid TOML, which is UTF-8 text ({error}).") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror or error}).") from None
    return parse_spec(raw, path=path)


def __getattr__(name):
    # PreparedData was this module's own copy of what `rnn_zoo.bundle.Prepared` is.
    if name == "PreparedData":
        warnings.warn("`rnn_zoo.tuning.specs.PreparedData` is deprecated; use "
                      "`rnn_zoo.bundle.Prepared`.", DeprecationWarning, stacklevel=2)
        return Prepared
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _prepare_args(settings):
    """The `prepare` arguments a dataset's settings give (vocabulary, length, scaling)."""
    return dict(max_tokens=settings.get("max_tokens"), max_length=settings.get("max_length"),
                scale=settings.get("scale", True))


def _prepare(data, settings, task):
    """Split, fit the preprocessor on the training split, transform: `bundle.prepare`."""
    try:
        return prepare(data, task, validation_split=settings["validation_split"],
                       seed=settings["seed"], **_prepare_args(settings))
    except ValueError as error:
        raise ValueError(f"dataset {settings['name']!r}: {error}") from None


def load_training_split(spec):
    """The spec's raw training data (deterministic: the same spec, the same rows).

    The test split, where the dataset has one, is not part of it (see
    `load_test_split`).

    Args:
        spec: a `SearchSpec`.

    Returns:
        A `rnn_zoo.data` container (`TextClassificationData`, `TaggingData`
        or `SequenceData`).
    """
    from rnn_zoo.data import generators
    from rnn_zoo.data import readers

    settings = spec.dataset
    name = settings["name"]
    if name == "negation_sentiment":
        return generators.negation_sentiment(settings["num_samples"],
                                             negated_fraction=settings["negated_fraction"],
                                             seed=settings["seed"])
    if name == "contrast_sentiment":
        return generators.contrast_sentiment(settings["num_samples"], seed=settings["seed"])
    if name == "csv":
        return readers.read_text_csv(settings["path"], text_column=settings["text_column"],
                                     label_column=settings["label_column"])
    if name == "jsonl":
        return readers.read_text_jsonl(settings["path"], text_key=settings["text_key"],
                                       label_key=settings["label_key"])
    if name == "future_context_tagging":
        return generators.future_context_tagging(settings["num_samples"], seed=settings["seed"])
    if name == "japanese_vowels":
        from rnn_zoo.data import datasets

        return datasets.load_japanese_vowels(split="train")
    if name == "adding_problem":
        return generators.adding_problem(settings["num_samples"], length=settings["length"],
                                         seed=settings["seed"])
    if name == "npz":
        return readers.read_sequences_npz(settings["path"])
    raise ValueError(f"dataset.name: expected one of {tuple(DATASETS)}. Received: {name!r}")


def has_test_split(spec):
    """Whether the spec's dataset has a test split of its own (or a `test_path`)."""
    return spec.dataset["name"] in TEST_SPLITS or bool(spec.dataset.get("test_path"))


def load_test_split(spec, class_names=None):
    """The dataset's test split (raw), or None when it has none.

    Called once, after the search has chosen, for the final score.

    Args:
        spec: a `SearchSpec`.
        class_names: the training split's label names (text files are read
            with them, so ids agree).
    """
    from rnn_zoo.data import readers

    settings = spec.dataset
    name = settings["name"]
    if not has_test_split(spec):
        return None
    if name in TEST_SPLITS:
        from rnn_zoo.data import datasets

        return getattr(datasets, TEST_SPLITS[name])(split="test")
    labels = list(class_names) if class_names else None
    if name == "csv":
        return readers.read_text_csv(settings["test_path"], text_column=settings["text_column"],
                                     label_column=settings["label_column"], labels=labels)
    if name == "jsonl":
        return readers.read_text_jsonl(settings["test_path"], text_key=settings["text_key"],
                                       label_key=settings["label_key"], labels=labels)
    return readers.read_sequences_npz(settings["test_path"])


def load_cv(spec, data=None):
    """The spec's training split cut into folds, each with its own preprocessor.

    Args:
        spec: a `SearchSpec`.
        data: the raw training split; default `load_training_split(spec)`.

    Returns:
        A `rnn_zoo.tuning.cv.CVData` (its `note` says when the number of
        folds was chosen here rather than by the spec).
    """
    from rnn_zoo.tuning import cv as cv_lib

    settings = spec.dataset
    data = load_training_split(spec) if data is None else data
    k, note = cv_lib.resolve_folds(spec.cv_folds, len(data))
    try:
        return cv_lib.prepare_folds(data, spec.task, k, seed=settings["seed"],
                                    validation_split=settings["validation_split"], note=note,
                                    **_prepare_args(settings))
    except ValueError as error:
        raise ValueError(f"dataset {settings['name']!r}: {error}") from None


def load_dataset(spec):
    """Load and split the spec's dataset (deterministic: the same spec, the same arrays).

    One train/validation split (`dataset.validation_split`); a search scores
    trials on `load_cv` instead.

    Args:
        spec: a `SearchSpec`.

    Returns:
        A `rnn_zoo.bundle.Prepared` (the training, validation split and
        fitted preprocessor; `x_test` is None: a spec's test split is never
        searched on).
    """
    return _prepare(load_training_split(spec), spec.dataset, spec.task)
