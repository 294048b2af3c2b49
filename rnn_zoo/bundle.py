"""A trained model with everything it needs to read raw inputs, as one folder.

`Bundle(model, preprocessor, labels, metrics, card)` holds a `keras.Model`,
the preprocessor fitted beside it (a `rnn_zoo.text.TextVectorizer` for text,
a `rnn_zoo.data.SequenceScaler` for numeric series), the label names, the
metrics and an optional model card. `bundle.predict(raw_inputs)` runs the
preprocessor and the model; `bundle.save(folder)` and `Bundle.load(folder)`
write and read the folder that `rnn-zoo train -o DIR` writes, which is also
what a pretrained preset and a search's `best/` are:

```
model.keras              the model (loaded in safe mode)
labels.txt               label names, one per line (classification, tagging)
vocab.txt                the text preprocessor's tokens, one per line (text)
text_vectorizer.json     the text preprocessor's settings (text)
char_vocab.json          the characters of a character-level language model
scaler.json              the numeric preprocessor's statistics (numeric series)
metrics.json             metrics, as a JSON object
metadata.json            format version, task, package versions, backend,
                         parameter count, date saved
README.md                the model card, when there is one
assets/                  exported files (TFLite, SavedModel, ...)
```

`bundle.generate(prompt, length)` continues a prompt with a language model
(text, sampled one token at a time) or with a next-frame model (multi-hot
frames such as piano rolls, each key drawn on its own).

`prepare(data, task)` is the one step between data and model: it splits off
the validation set (`split_indices`), fits the preprocessor on the training
split only, transforms every split, and returns the arrays with the sizes the
task's factory takes.

Example:

>>> from rnn_zoo import data
>>> from rnn_zoo.bundle import Bundle, prepare
>>> prepared = prepare(data.negation_sentiment(600, seed=0), "text_classifier")
>>> model = rnn_zoo.build_text_classifier(**prepared.task_args, units=16)
>>> model.fit(prepared.x_train, prepared.y_train, epochs=2, verbose=0)  # doctest: +SKIP
>>> bundle = Bundle(model, prepared.preprocessor, prepared.labels, task="text_classifier")
>>> bundle.save("runs/negation")  # doctest: +SKIP
>>> Bundle.load("runs/negation").predict(["the food was not good"])  # doctest: +SKIP
"""

import dataclasses
import datetime
import importlib.metadata
import json
import math
import numbers
import os
import sys

import keras
import numpy as np

from rnn_zoo import atomic
from rnn_zoo import tasks
from rnn_zoo.data.readers import SequenceData
from rnn_zoo.data.readers import TaggingData
from rnn_zoo.data.readers import TextClassificationData
from rnn_zoo.data.scaling import SCALER_FILE
from rnn_zoo.data.scaling import SequenceScaler
from rnn_zoo.saving import load_model
from rnn_zoo.validation import check_class_count
from rnn_zoo.validation import check_fraction
from rnn_zoo.validation import check_int

__all__ = [
    "ASSETS_DIR",
    "BUNDLE_FORMAT_VERSION",
    "Bundle",
    "CARD_FILE",
    "CHAR_VOCAB_FILE",
    "CharVocabulary",
    "LABELS_FILE",
    "MAX_FILE_BYTES",
    "MAX_GENERATE_LENGTH",
    "METADATA_FILE",
    "METRICS_FILE",
    "MODEL_FILE",
    "Prepared",
    "SCALER_FILE",
    "TEXT_VECTORIZER_FILE",
    "VOCAB_FILE",
    "prepare",
    "split_indices",
]

BUNDLE_FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
METRICS_FILE = "metrics.json"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
ASSETS_DIR = "assets"
# Written by TextVectorizer.save (and checked by TextVectorizer.load).
VOCAB_FILE = "vocab.txt"
TEXT_VECTORIZER_FILE = "text_vectorizer.json"
# Written by CharVocabulary.save.
CHAR_VOCAB_FILE = "char_vocab.json"
# Every file a bundle may hold at its top level (assets/ aside).
BUNDLE_FILES = (MODEL_FILE, LABELS_FILE, VOCAB_FILE, TEXT_VECTORIZER_FILE, SCALER_FILE,
                CHAR_VOCAB_FILE, METRICS_FILE, METADATA_FILE, CARD_FILE)
# Checked before a file is read, so a damaged or hostile folder can't exhaust
# memory. The vectorizer's and scaler's files are checked by their own `load`
# (`rnn_zoo.text.MAX_VOCAB_BYTES`, `rnn_zoo.data.scaling.MAX_SCALER_BYTES`).
MAX_FILE_BYTES = {
    MODEL_FILE: 4 * 1024**3,
    LABELS_FILE: 16 * 1024**2,
    METRICS_FILE: 64 * 1024**2,
    METADATA_FILE: 1024**2,
    CARD_FILE: 4 * 1024**2,
    CHAR_VOCAB_FILE: 1024**2,
}
# The most steps one `Bundle.generate` call produces.
MAX_GENERATE_LENGTH = 100_000
# The packages whose versions decide whether a saved model reads back the same:
# always these (TensorFlow runs the text preprocessor on every backend) ...
_VERSIONED_PACKAGES = ("rnn-zoo", "keras", "numpy", "tensorflow", "tensorflow-text")
# ... and the active backend's own.
_BACKEND_PACKAGES = {"jax": ("jax", "jaxlib"), "torch": ("torch",)}
# Which data container feeds which tasks.
_DATA_TASKS = {
    TextClassificationData: ("text_classifier", "bag_of_embeddings"),
    TaggingData: ("sequence_tagger",),
    SequenceData: ("sequence_classifier", "sequence_regressor"),
}


def _text_vectorizer_class():
    """`rnn_zoo.text.TextVectorizer` if something imported it, else None.

    Any TextVectorizer instance was made after its module was imported, so a
    preprocessor can be recognised without importing TensorFlow for a numeric
    bundle on the JAX or torch backend.
    """
    module = sys.modules.get("rnn_zoo.text")
    return None if module is None else module.TextVectorizer


def _is_vectorizer(preprocessor):
    cls = _text_vectorizer_class()
    return cls is not None and isinstance(preprocessor, cls)


class CharVocabulary:
    """Characters <-> ids for a character-level language model (numpy only).

    Id 0 is padding, id 1 an out-of-vocabulary character, and real
    characters start at 2, as in `rnn_zoo.text.TextVectorizer`. Every
    character of the text is a token: nothing is lower-cased, normalised or
    dropped (spaces and line breaks are what a character model learns
    first). Needs no TensorFlow, so a character bundle reads text on every
    backend. Saved as `char_vocab.json` (a JSON list of characters, no
    pickle).

    Args:
        characters: sequence of distinct one-character str, in id order
            (the first gets id 2).

    Example:

    >>> vocab = CharVocabulary.adapt(["to be, or not to be"])
    >>> vocab(["to be"]).shape
    (1, 5)
    >>> vocab.decode(vocab.encode("not"))
    'not'
    """

    PAD_ID = 0
    OOV_ID = 1
    _FORMAT_VERSION = 1

    def __init__(self, characters):
        if isinstance(characters, str):
            characters = list(characters)
        if not hasattr(characters, "__iter__"):
            raise ValueError("Invalid value received for argument `characters`. Expected a "
                             "sequence of one-character strings. Received: characters="
                             f"{type(characters).__name__}")
        characters = tuple(characters)
        seen = set()
        for i, char in enumerate(characters):
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError("Invalid value received for argument `characters`. Expected "
                                 "one-character strings. Received: characters"
                                 f"[{i}]={char!r}")
            if char in seen:
                raise ValueError("Invalid value received for argument `characters`. Expected "
                                 f"distinct characters. Received: {char!r} twice")
            seen.add(char)
        if not characters:
            raise ValueError("Invalid value received for argument `characters`. Expected at "
                             "least one character. Received: characters=()")
        self.characters = characters
        self._ids = {char: i + 2 for i, char in enumerate(characters)}

    @classmethod
    def adapt(cls, texts, max_characters=None):
        """The vocabulary of `texts`: characters by falling frequency (ties by code point).

        Args:
            texts: a str or a sequence of str.
            max_characters: int or None (default): keep only the most
                frequent ones; the rest become the OOV id.

        Returns:
            A `CharVocabulary`.
        """
        import collections

        counts = collections.Counter()
        for text in [texts] if isinstance(texts, str) else texts:
            counts.update(text)
        ranked = sorted(counts, key=lambda char: (-counts[char], ord(char)))
        if max_characters is not None:
            ranked = ranked[:check_int(max_characters, "max_characters", minimum=1)]
        return cls(ranked)

    @property
    def vocab_size(self):
        """Ids in use: the characters plus padding and OOV."""
        return len(self.characters) + 2

    @property
    def vocabulary(self):
        """Every id's token: "" (padding), "[UNK]", then the characters."""
        return ("", "[UNK]") + self.characters

    def encode(self, text):
        """One text -> int32 ids `[len(text)]`."""
        get = self._ids.get
        return np.fromiter((get(char, self.OOV_ID) for char in text), dtype=np.int32,
                           count=len(text))

    def __call__(self, texts):
        """Texts -> int32 ids `[n, longest]`, right-padded with 0."""
        if isinstance(texts, str):
            texts = [texts]
        rows = [self.encode(text) for text in texts]
        ids = np.zeros((len(rows), max([len(row) for row in rows] + [1])), dtype=np.int32)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
        return ids

    def decode(self, ids):
        """Ids -> text; padding is skipped and the OOV id reads as U+FFFD."""
        out = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if i == self.PAD_ID:
                continue
            out.append(self.characters[i - 2] if 2 <= i < self.vocab_size else "\ufffd")
        return "".join(out)

    def save(self, folder):
        """Write `char_vocab.json` into `folder` (atomically)."""
        atomic.write_json(os.path.join(os.fspath(folder), CHAR_VOCAB_FILE),
                          {"format_version": self._FORMAT_VERSION,
                           "characters": list(self.characters)})

    @classmethod
    def load(cls, folder):
        """Read the `char_vocab.json` that `save` wrote; a ValueError names a bad file."""
        path = os.path.join(os.fspath(folder), CHAR_VOCAB_FILE)
        if not os.path.isfile(path):
            raise ValueError(f"{path}: no such file.")
        value = _read_json_object(os.fspath(folder), CHAR_VOCAB_FILE)
        if value.get("format_version") != cls._FORMAT_VERSION:
            raise ValueError(f"{path}: format_version={value.get('format_version')!r}; "
                             f"expected {cls._FORMAT_VERSION}.")
        try:
            return cls(value.get("characters"))
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None


class Bundle:
    """A trained model with its preprocessor, labels, metrics and model card.

    `predict` takes raw inputs: a list of strings for a text bundle, a float
    array `[n, time, features]` for a numeric one (the bundle's
    `SequenceScaler` standardises it), or int token ids `[n, time]`.

    Args:
        model: a `keras.Model`.
        preprocessor: a `rnn_zoo.text.TextVectorizer` (text), a
            `CharVocabulary` (character-level language models), a
            `rnn_zoo.data.SequenceScaler` (numeric series), or None (the
            model reads ids or features as they come). Default None.
        labels: sequence of str, the name of each output class or tag, in id
            order; None (default) or empty for regression and language models.
        metrics: dict of metrics (JSON-ready values). Default: empty.
        card: str, the model card (Markdown), or None (default).
        task: keyword-only; the task's name in `rnn_zoo.tasks.TASKS`, or None
            (default) when unknown. Recorded in `metadata.json`.

    Example:

    >>> prepared = prepare(data.negation_sentiment(600, seed=0), "text_classifier")
    >>> model = rnn_zoo.build_text_classifier(**prepared.task_args)
    >>> bundle = Bundle(model, prepared.preprocessor, prepared.labels)
    >>> bundle.predict(["not bad at all"]).shape
    (1, 2)
    >>> bundle.save("runs/negation"); same = Bundle.load("runs/negation")  # doctest: +SKIP
    """

    def __init__(self, model, preprocessor=None, labels=None, metrics=None, card=None, *,
                 task=None):
        if not isinstance(model, keras.Model):
            raise ValueError("Invalid value received for argument `model`. Expected a "
                             f"keras.Model. Received: model={type(model).__name__}")
        if preprocessor is not None and not (
                isinstance(preprocessor, (SequenceScaler, CharVocabulary))
                or _is_vectorizer(preprocessor)):
            raise ValueError(
                "Invalid value received for argument `preprocessor`. Expected a "
                "rnn_zoo.text.TextVectorizer, a rnn_zoo.data.SequenceScaler, a "
                "rnn_zoo.bundle.CharVocabulary or None. "
                f"Received: preprocessor={type(preprocessor).__name__}")
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, dict):
            raise ValueError("Invalid value received for argument `metrics`. Expected a dict "
                             f"or None. Received: metrics={type(metrics).__name__}")
        if card is not None and not isinstance(card, str):
            raise ValueError("Invalid value received for argument `card`. Expected a str or "
                             f"None. Received: card={type(card).__name__}")
        if task is not None:
            tasks.get_task(task, "task")
        self.model = model
        self.preprocessor = preprocessor
        self.labels = _check_labels(labels, model)
        self.metrics = dict(metrics)
        self.card = card
        self.task = task
        self.metadata = {}
        self._check_vocabulary()

    # ------------------------------------------------------------------ views

    @property
    def vectorizer(self):
        """The preprocessor when it is a `TextVectorizer`, else None."""
        return self.preprocessor if _is_vectorizer(self.preprocessor) else None

    @property
    def char_vocabulary(self):
        """The preprocessor when it is a `CharVocabulary`, else None."""
        return self.preprocessor if isinstance(self.preprocessor, CharVocabulary) else None

    @property
    def scaler(self):
        """The preprocessor when it is a `SequenceScaler`, else None."""
        return self.preprocessor if isinstance(self.preprocessor, SequenceScaler) else None

    def __repr__(self):
        kind = type(self.preprocessor).__name__ if self.preprocessor is not None else None
        labels = len(self.labels) if self.labels else 0
        return (f"<Bundle model={self.model.name!r} task={self.task!r} preprocessor={kind} "
                f"labels={labels}>")

    def _input_rank(self):
        shape = self.model.inputs[0].shape if self.model.inputs else None
        return None if shape is None else len(shape)

    def _check_vocabulary(self):
        vectorizer = self.vectorizer or self.char_vocabulary
        if vectorizer is None:
            return
        for layer in self.model.layers:
            if isinstance(layer, keras.layers.Embedding) and vectorizer.vocab_size > \
                    layer.input_dim:
                raise ValueError(
                    "Invalid value received for argument `preprocessor`. The vectorizer gives "
                    f"{vectorizer.vocab_size} ids but layer {layer.name!r} embeds "
                    f"{layer.input_dim}; rebuild the model with vocab_size >= "
                    f"{vectorizer.vocab_size}.")

    # ------------------------------------------------------------------ inference

    def preprocess(self, inputs):
        """Turn raw inputs into what the model reads.

        Args:
            inputs: a list (or array) of str or bytes, one text each (a single
                str is one text); a float array `[n, time, features]`; or int
                token ids `[n, time]`.

        Returns:
            `np.ndarray`: int32 ids `[n, time]` or float32 features
            `[n, time, features]`.

        Example:

        >>> bundle.preprocess(["good", "not good"]).dtype
        dtype('int32')
        """
        if isinstance(inputs, (str, bytes)):
            inputs = [inputs]
        if isinstance(inputs, (list, tuple)) and inputs and all(
                isinstance(item, (str, bytes)) for item in inputs):
            return self._vectorize(inputs)
        array = np.asarray(inputs)
        if array.size == 0:
            raise ValueError("Invalid value received for argument `inputs`. Expected at least "
                             f"one example. Received: inputs with shape {array.shape}")
        if array.dtype.kind in "USO":
            return self._vectorize(array.reshape(-1).tolist())
        if array.dtype.kind not in "fiub":
            raise ValueError("Invalid value received for argument `inputs`. Expected strings, "
                             f"token ids or features. Received: dtype {array.dtype}")
        rank = self._input_rank()
        if array.ndim == 2 and array.dtype.kind in "iu" and rank in (None, 2):
            return array.astype(np.int32)
        if array.ndim == 3 and rank in (None, 3):
            if self.scaler is not None:
                return self.scaler.transform(array.astype(np.float32))
            return array.astype(np.float32)
        expected = ("token ids [n, time] (int) or a list of str" if rank == 2
                    else "features [n, time, features]")
        raise ValueError("Invalid value received for argument `inputs`. This bundle's model "
                         f"reads {expected}. Received: dtype {array.dtype}, shape "
                         f"{array.shape}")

    def _vectorize(self, texts):
        vectorizer = self.vectorizer or self.char_vocabulary
        if vectorizer is None:
            raise ValueError("Invalid value received for argument `inputs`. This bundle has "
                             "no TextVectorizer (or CharVocabulary), so it can't read text; pass "
                             + ("features [n, time, features]." if self._input_rank() == 3
                                else "token ids [n, time]."))
        texts = [t.decode("utf-8") if isinstance(t, bytes) else t for t in texts]
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("Invalid value received for argument `inputs`. Expected every "
                             "text to be a str or UTF-8 bytes.")
        return vectorizer(texts)

    def predict(self, inputs, batch_size=256):
        """Run the preprocessor and the model on raw inputs.

        Args:
            inputs: as in `preprocess`: a list of str (text bundles), a float
                array `[n, time, features]` (numeric bundles; the bundle's
                scaler is applied), or int token ids `[n, time]`.
            batch_size: examples per model call. Default 256.

        Returns:
            float32 `np.ndarray` of the model's outputs: `[n, classes]` for
            classifiers, `[n, time, tags]` for taggers, `[n, time, vocab]`
            (next-token probabilities) for language models, `[n, time,
            features]` (next-frame probabilities) for next-frame models,
            `[n, outputs]` for regressors.

        Example:

        >>> probabilities = bundle.predict(["a fine film", "not a fine film"])
        >>> [bundle.labels[i] for i in probabilities.argmax(-1)]  # doctest: +SKIP
        ['positive', 'negative']
        """
        x = self.preprocess(inputs)
        outputs = self.model.predict(x, batch_size=batch_size, verbose=0)
        if isinstance(outputs, (list, tuple)):
            return [np.asarray(o, dtype=np.float32) for o in outputs]
        return np.asarray(outputs, dtype=np.float32)

    # ------------------------------------------------------------------ generation

    def generation_kind(self):
        """What `generate` makes with this bundle: "text", "frames" or None.

        "text": a language model (task "language_model") with a text
        preprocessor. "frames": a next-frame model, i.e. a model that reads
        float frames `[n, time, F]` and returns, at every step, F independent
        probabilities (a sigmoid `Dense` last) for the next frame, such as
        the Bach chorale preset's piano rolls. Anything else: None.
        """
        if self.task == "language_model":
            return "text"
        if self.task is not None or len(self.model.inputs) != 1 or \
                len(self.model.outputs) != 1:
            return None
        inputs, outputs = self.model.inputs[0].shape, self.model.outputs[0].shape
        last = self.model.layers[-1]
        activation = getattr(getattr(last, "activation", None), "__name__", None)
        if len(inputs) == 3 and len(outputs) == 3 and inputs[-1] == outputs[-1] and \
                isinstance(last, keras.layers.Dense) and activation == "sigmoid":
            return "frames"
        return None

    def generate(self, prompt=None, length=100, temperature=1.0, seed=0):
        """Continue `prompt`, sampling one step at a time from the model.

        For a language model, each next token (a character for a
        `CharVocabulary`, a word for a `TextVectorizer`) is drawn from the
        model's distribution sharpened or flattened by `temperature`; the
        padding and out-of-vocabulary ids are never drawn. For a next-frame
        model, each key of the next frame is drawn on its own, on with
        probability `sigmoid(logit(p) / temperature)`. The recurrent state is
        carried from step to step, so the cost grows linearly with `length`.
        The same bundle, arguments and backend always give the same result.

        Args:
            prompt: language models: a non-empty str. Next-frame models: a
                str of frames separated by "," or "|", each frame the names
                of its sounding keys separated by spaces (the bundle's labels,
                e.g. "G2 D3 B3 G4"; "C#4", "Db4" and "rest" work too), or an
                array `[time, F]` (or `[1, time, F]`) of 0/1 frames. None
                (default): the prompt recorded in the bundle's metrics
                (`default_prompt`).
            length: int in [1, `MAX_GENERATE_LENGTH`], default 100: the
                tokens or frames to add.
            temperature: finite float > 0, default 1.0 (the model's own
                distribution); lower is more conservative.
            seed: int >= 0, default 0, the sampling's seed.

        Returns:
            Language models: str, the prompt followed by the generated text
            (words joined by spaces for a `TextVectorizer`). Next-frame
            models: float32 `[prompt frames + length, F]` of 0/1, the prompt
            first.

        Raises:
            ValueError: the bundle is neither a language model nor a
                next-frame model (the message names its task), or a bad
                argument (named).

        Example:

        >>> shakespeare = rnn_zoo.from_preset("char_shakespeare_en")
        >>> text = shakespeare.generate("ROMEO.\\n", length=200, temperature=0.8)
        >>> rolls = rnn_zoo.from_preset("chorales_bach").generate(length=32)
        >>> rolls.shape
        (33, 88)
        """
        kind = self.generation_kind()
        if kind is None:
            raise ValueError(
                "Bundle.generate works for language models (task 'language_model') and "
                f"next-frame models; this bundle's task is {self.task!r} (model "
                f"{self.model.name!r}). Use `predict` instead.")
        length = check_int(length, "length", minimum=1, maximum=MAX_GENERATE_LENGTH,
                           where="Bundle.generate")
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or \
                not math.isfinite(float(temperature)) or float(temperature) <= 0:
            raise ValueError("Bundle.generate: Invalid value received for argument "
                             "`temperature`. Expected a finite float > 0. Received: "
                             f"temperature={temperature!r}")
        seed = check_int(seed, "seed", minimum=0, where="Bundle.generate")
        if prompt is None:
            prompt = self.metrics.get("default_prompt")
            if prompt is None:
                raise ValueError("Bundle.generate: Invalid value received for argument "
                                 "`prompt`. This bundle records no default prompt; pass one. "
                                 "Received: prompt=None")
        rng = np.random.default_rng(seed)
        stepper = _Stepper(self.model)
        if kind == "text":
            return self._generate_text(prompt, length, float(temperature), rng, stepper)
        return self._generate_frames(prompt, length, float(temperature), rng, stepper)

    def _generate_text(self, prompt, length, temperature, rng, stepper):
        vocabulary = self.char_vocabulary or self.vectorizer
        if vocabulary is None:
            raise ValueError("Bundle.generate: this language model has no text preprocessor "
                             "(CharVocabulary or TextVectorizer), so it can't read a prompt "
                             "or write text.")
        if not isinstance(prompt, str) or not prompt:
            raise ValueError("Bundle.generate: Invalid value received for argument `prompt`. "
                             "Expected a non-empty str. Received: "
                             f"prompt={prompt if not isinstance(prompt, str) else prompt!r}"[:300])
        ids = vocabulary([prompt])[0]
        ids = ids[ids != 0]
        if ids.size == 0:
            raise ValueError("Bundle.generate: Invalid value received for argument `prompt`. "
                             "It gives no token. Received: " f"prompt={prompt!r}"[:300])
        probabilities = None
        for token in ids:
            probabilities = stepper.step(np.array([token], dtype=np.int32))
        drawn = []
        for _ in range(length):
            logits = np.log(np.maximum(probabilities.astype(np.float64), 1e-30)) / temperature
            logits[:2] = -np.inf  # padding and OOV: never written
            weights = np.exp(logits - logits.max())
            token = int(rng.choice(len(weights), p=weights / weights.sum()))
            drawn.append(token)
            probabilities = stepper.step(np.array([token], dtype=np.int32))
        if isinstance(vocabulary, CharVocabulary):
            return prompt + vocabulary.decode(drawn)
        words = [vocabulary.vocabulary[i] for i in drawn]
        return " ".join([prompt] + words)

    def _frame_prompt(self, prompt, features):
        if isinstance(prompt, str):
            return _parse_frames(prompt, features, self.labels)
        array = np.asarray(prompt)
        if array.ndim == 3 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != features or \
                array.dtype.kind not in "fiub" or not np.isin(array, (0, 1)).all():
            raise ValueError("Bundle.generate: Invalid value received for argument `prompt`. "
                             f"Expected a str of key names or 0/1 frames [time, {features}]. "
                             f"Received: an array of shape {array.shape}, dtype {array.dtype}")
        return array.astype(np.float32)

    def _generate_frames(self, prompt, length, temperature, rng, stepper):
        features = int(self.model.inputs[0].shape[-1])
        frames = self._frame_prompt(prompt, features)
        probabilities = None
        for frame in frames:
            probabilities = stepper.step(frame[None])
        out = [frames]
        for _ in range(length):
            p = np.clip(probabilities.astype(np.float64), 1e-12, 1 - 1e-12)
            p = 1.0 / (1.0 + np.exp(-np.log(p / (1 - p)) / temperature))
            frame = (rng.random(p.shape) < p).astype(np.float32)
            out.append(frame[None])
            probabilities = stepper.step(frame[None])
        return np.concatenate(out).astype(np.float32)

    # ------------------------------------------------------------------ persistence

    def _metadata(self):
        versions = {}
        backend = keras.backend.backend()
        for package in _VERSIONED_PACKAGES + _BACKEND_PACKAGES.get(backend, ()):
            try:
                versions[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                continue
        return {
            "format_version": BUNDLE_FORMAT_VERSION,
            "task": self.task,
            "preprocessor": (None if self.preprocessor is None
                             else type(self.preprocessor).__name__),
            "package_versions": versions,
            "keras_backend": backend,
            "parameter_count": int(self.model.count_params()),
            "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
        }

    def save(self, folder, overwrite=False):
        """Write the bundle folder (see the module docstring for the layout).

        Every file is written atomically, and `model.keras` last, so an
        interrupted save never leaves a folder that `is_bundle` accepts with
        the files of two different saves. Files that are not the bundle's
        (a training run's checkpoints, `assets/`) are left alone.

        Args:
            folder: the destination; created if missing.
            overwrite: bool, default False. False refuses a folder that already
                holds any of the bundle's files. True replaces them, and
                removes the bundle files this bundle does not have (e.g. an
                old `scaler.json`) when the folder held a bundle.

        Returns:
            `folder`, as a str.

        Example:

        >>> bundle.save("runs/negation", overwrite=True)
        'runs/negation'
        """
        folder = os.fspath(folder)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise ValueError("Invalid value received for argument `folder`. Expected a folder."
                             f" Received: folder={folder!r} (a file)")
        present = [name for name in BUNDLE_FILES
                   if os.path.lexists(os.path.join(folder, name))]
        if present and not overwrite:
            raise ValueError(
                f"Invalid value received for argument `overwrite`. {folder} already holds "
                f"{present}; pass overwrite=True to replace them, or another folder. "
                "Received: overwrite=False")
        was_bundle = Bundle.is_bundle(folder)
        writes = {MODEL_FILE, METRICS_FILE, METADATA_FILE}
        if self.labels:
            writes.add(LABELS_FILE)
        if self.card is not None:
            writes.add(CARD_FILE)
        if self.vectorizer is not None:
            writes |= {VOCAB_FILE, TEXT_VECTORIZER_FILE}
        if self.char_vocabulary is not None:
            writes.add(CHAR_VOCAB_FILE)
        if self.scaler is not None:
            writes.add(SCALER_FILE)
        os.makedirs(os.path.join(folder, ASSETS_DIR), exist_ok=True)
        # The model goes first and comes back last: until then the folder is no bundle.
        stale = [MODEL_FILE] + [name for name in present
                                if was_bundle and name not in writes]
        for name in stale:
            path = os.path.join(folder, name)
            if os.path.lexists(path):
                os.remove(path)
        if self.preprocessor is not None:
            self.preprocessor.save(folder)
        if self.labels:
            atomic.write_text(os.path.join(folder, LABELS_FILE),
                              "".join(f"{label}\n" for label in self.labels))
        atomic.write_text(os.path.join(folder, METRICS_FILE),
                          json.dumps(_jsonable(self.metrics), indent=1) + "\n")
        if self.card is not None:
            atomic.write_text(os.path.join(folder, CARD_FILE), self.card)
        self.metadata = self._metadata()
        atomic.write_json(os.path.join(folder, METADATA_FILE), self.metadata)
        atomic.write_with(os.path.join(folder, MODEL_FILE), self.model.save)
        return folder

    @staticmethod
    def is_bundle(folder):
        """Whether `folder` holds a bundle (a `model.keras` file).

        Example:

        >>> Bundle.is_bundle("runs/negation")
        True
        """
        return os.path.isfile(os.path.join(os.fspath(folder), MODEL_FILE))

    @classmethod
    def load(cls, folder, compile=True):
        """Read a bundle folder; the model is loaded in Keras's safe mode.

        Each file's size is checked against its limit (`MAX_FILE_BYTES`, and
        the preprocessors' own) before it is read, and a file that is
        missing, too large or damaged raises a `ValueError` that names it.
        Safe mode refuses a model that would run arbitrary Python on load
        (a `Lambda` layer holding a lambda). Folders written by older
        `rnn-zoo train` runs (no `metadata.json`) load too.

        Args:
            folder: a folder that `save` (or `rnn-zoo train -o`) wrote.
            compile: bool, default True: restore the training configuration
                so the model can `fit` further.

        Returns:
            A `Bundle` (its `metadata` holds `metadata.json`, or {}).

        Example:

        >>> bundle = Bundle.load("runs/negation")
        >>> bundle.labels
        ('negative', 'positive')
        """
        folder = os.fspath(folder)
        if not os.path.isdir(folder):
            raise ValueError(f"{folder}: no such folder; expected a bundle folder holding "
                             f"{MODEL_FILE}.")
        model_path = os.path.join(folder, MODEL_FILE)
        if not os.path.isfile(model_path):
            raise ValueError(f"{model_path}: no such file; {folder} is not a bundle folder.")
        for name, limit in MAX_FILE_BYTES.items():
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.path.getsize(path) > limit:
                raise ValueError(f"{path}: {os.path.getsize(path)} bytes; expected at most "
                                 f"{limit} for {name}.")
        metadata = _read_metadata(folder)
        task = metadata.get("task")
        preprocessor = _load_preprocessor(folder, metadata)
        labels = _read_labels(folder)
        metrics = _read_json_object(folder, METRICS_FILE) if os.path.isfile(
            os.path.join(folder, METRICS_FILE)) else {}
        card = (_read_text(os.path.join(folder, CARD_FILE))
                if os.path.isfile(os.path.join(folder, CARD_FILE)) else None)
        try:
            model = load_model(model_path, compile=compile)
        except Exception as error:  # whatever Keras raises, the file is what is wrong
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            refused = "safe_mode" in str(error) or "unsafe" in str(error).lower()
            raise ValueError(
                f"{model_path}: " + ("refused in safe mode" if refused else
                                     "not a readable .keras model")
                + f" ({type(error).__name__}: {reason})") from None
        try:
            bundle = cls(model, preprocessor, labels, metrics, card, task=task)
        except ValueError as error:
            # Name the file that disagrees with the model.
            culprit = (LABELS_FILE if "`labels`" in str(error) else
                       VOCAB_FILE if "`preprocessor`" in str(error) else MODEL_FILE)
            raise ValueError(f"{os.path.join(folder, culprit)}: {error}") from None
        bundle.metadata = metadata
        return bundle


# --------------------------------------------------------------------------- generation


class _Stepper:
    """Runs a language or next-frame model one step at a time.

    A model whose layers form a chain of Embedding, Dense and unidirectional
    LSTM / GRU / SimpleRNN layers (with padding alignment, masking and
    dropout between them, which do nothing to one unpadded row at inference,
    as every zoo language model is) runs its cells directly, carrying their
    states: each step costs the same. The first `check` compares that with
    the whole model on the prefix; any other model (or a mismatch) re-runs
    the whole model on the prefix at every step instead: slower, same
    probabilities.
    """

    _IDENTITY = ("InputLayer", "RightAlignPadding", "RestoreOrder", "Masking", "Dropout")

    def __init__(self, model):
        self.model = model
        self.plan = self._plan(model)
        self.states = {}
        self.history = []
        self.checked = False

    @classmethod
    def _plan(cls, model):
        plan = []
        for layer in model.layers:
            kind = type(layer).__name__
            if kind in cls._IDENTITY:
                continue
            if isinstance(layer, (keras.layers.Embedding, keras.layers.Dense)):
                plan.append((False, layer))
            elif isinstance(layer, keras.layers.RNN) and not layer.go_backwards and \
                    hasattr(layer.cell, "get_initial_state"):
                plan.append((True, layer))
            else:
                return None
        return plan

    def _whole(self):
        batch = np.stack(self.history, axis=1)
        return keras.ops.convert_to_numpy(self.model(batch, training=False))[0, -1]

    def step(self, x):
        """Feed one step (`[1]` ids or `[1, features]`); the next step's probabilities."""
        self.history.append(x)
        if self.plan is None:
            return self._whole()
        h = keras.ops.convert_to_tensor(x)
        for recurrent, layer in self.plan:
            if not recurrent:
                # `call`, not `__call__`: the Embedding's padding mask would ride on the
                # tensor into the cell, which warns that it drops it.
                h = layer.call(h)
                continue
            states = self.states.get(id(layer))
            if states is None:
                states = layer.cell.get_initial_state(1)
            h, states = layer.cell(h, states, training=False)
            self.states[id(layer)] = states if isinstance(states, (list, tuple)) else [states]
        out = keras.ops.convert_to_numpy(h)[0]
        if not self.checked:
            self.checked = True
            whole = self._whole()
            if whole.shape != out.shape or not np.allclose(whole, out, atol=1e-4):
                self.plan = None  # not the chain it looked like: run the whole model
                return whole
        return out


_PITCH_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _midi_number(name):
    """"C4" -> 60, "C#4" / "Db4" -> 61, "B-3" -> 58 (music21's flat); None if not a pitch."""
    import re

    match = re.fullmatch(r"([A-Ga-g])([#b\-]*)(-?\d+)", name)
    if match is None:
        return None
    letter, accidentals, octave = match.groups()
    shift = accidentals.count("#") - accidentals.count("b") - accidentals.count("-")
    return 12 * (int(octave) + 1) + _PITCH_STEPS[letter.upper()] + shift


def _parse_frames(text, features, labels):
    """Key names -> 0/1 frames `[time, features]` (see `Bundle.generate`)."""
    lowest = _midi_number(labels[0]) if labels else None
    frames = []
    for number, chunk in enumerate(text.replace("|", ",").split(","), start=1):
        frame = np.zeros(features, dtype=np.float32)
        for name in chunk.split():
            if name.lower() == "rest":
                continue
            if labels and name in labels:
                frame[labels.index(name)] = 1
                continue
            midi = _midi_number(name)
            key = None if midi is None or lowest is None else midi - lowest
            if key is None or not 0 <= key < features:
                span = f"{labels[0]} to {labels[-1]}" if labels else "(no key names known)"
                raise ValueError(
                    "Bundle.generate: Invalid value received for argument `prompt`. Frame "
                    f"{number} names {name!r}, not a key of this model (keys {span}; a "
                    "frame is key names separated by spaces, frames separated by ',').")
            frame[key] = 1
        frames.append(frame)
    return np.stack(frames)


# --------------------------------------------------------------------------- helpers


def _check_labels(labels, model):
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        raise ValueError("Invalid value received for argument `labels`. Expected a sequence "
                         f"of str or None. Received: labels={labels!r}")
    labels = tuple(labels)
    if not labels:
        return None
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip() or "\n" in label or "\r" in label:
            raise ValueError(
                "Invalid value received for argument `labels`. Expected non-empty strings "
                f"without line breaks. Received: labels[{i}]={label!r}")
    if len(set(labels)) != len(labels):
        duplicate = next(label for label in labels if labels.count(label) > 1)
        raise ValueError("Invalid value received for argument `labels`. Expected distinct "
                         f"names. Received: {duplicate!r} twice")
    outputs = model.outputs[0].shape[-1] if len(getattr(model, "outputs", []) or []) == 1 \
        else None
    if outputs is not None and len(labels) > outputs:
        raise ValueError(
            f"Invalid value received for argument `labels`. The model has {outputs} outputs "
            f"per step but {len(labels)} labels were given. Received: labels={labels!r}")
    return labels


def _jsonable(value):
    """`value` with numpy scalars and arrays turned into plain Python."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_bytes(path, name):
    limit = MAX_FILE_BYTES[name]
    size = os.path.getsize(path)
    if size > limit:
        raise ValueError(f"{path}: {size} bytes; expected at most {limit} for {name}.")
    with open(path, "rb") as stream:
        return stream.read(limit + 1)


def _read_text(path):
    raw = _read_bytes(path, os.path.basename(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(f"{path}, line {line}: bytes are not valid UTF-8.") from None


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _read_json_object(folder, name):
    path = os.path.join(folder, name)
    text = _read_text(path)
    try:
        value = json.loads(text, parse_constant=_refuse_constant if name == METADATA_FILE
                           else None)
    except ValueError as error:
        raise ValueError(f"{path}: not valid JSON ({error}).") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(value).__name__}.")
    return value


def _read_metadata(folder):
    path = os.path.join(folder, METADATA_FILE)
    if not os.path.isfile(path):
        return {}
    metadata = _read_json_object(folder, METADATA_FILE)
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: format_version={version!r}; expected an integer >= 1.")
    if version > BUNDLE_FORMAT_VERSION:
        raise ValueError(f"{path}: format_version={version} was written by a newer rnn-zoo; "
                         f"this one reads up to {BUNDLE_FORMAT_VERSION}. Upgrade rnn-zoo.")
    task = metadata.get("task")
    if task is not None and task not in tasks.TASKS:
        raise ValueError(f"{path}: task={task!r}; expected one of {tuple(tasks.TASKS)} or "
                         "null.")
    kind = metadata.get("preprocessor")
    if kind not in (None, "TextVectorizer", "SequenceScaler", "CharVocabulary"):
        raise ValueError(f"{path}: preprocessor={kind!r}; expected 'TextVectorizer', "
                         "'SequenceScaler', 'CharVocabulary' or null.")
    return metadata


def _load_preprocessor(folder, metadata):
    text_files = [name for name in (VOCAB_FILE, TEXT_VECTORIZER_FILE)
                  if os.path.isfile(os.path.join(folder, name))]
    has_scaler = os.path.isfile(os.path.join(folder, SCALER_FILE))
    has_chars = os.path.isfile(os.path.join(folder, CHAR_VOCAB_FILE))
    kind = metadata.get("preprocessor")
    if text_files and has_scaler:
        raise ValueError(f"{folder}: holds both a text preprocessor ({', '.join(text_files)}) "
                         f"and {SCALER_FILE}; a bundle has one preprocessor.")
    if has_chars and (text_files or has_scaler):
        others = text_files + ([SCALER_FILE] if has_scaler else [])
        raise ValueError(f"{folder}: holds both {CHAR_VOCAB_FILE} and "
                         f"{', '.join(others)}; a bundle has one preprocessor.")
    if kind == "CharVocabulary" or has_chars:
        return CharVocabulary.load(folder)
    if kind == "TextVectorizer" or text_files:
        for name in (VOCAB_FILE, TEXT_VECTORIZER_FILE):
            if name not in text_files:
                raise ValueError(f"{os.path.join(folder, name)}: no such file; the text "
                                 "preprocessor needs vocab.txt and text_vectorizer.json.")
        from rnn_zoo.text import TextVectorizer

        return TextVectorizer.load(folder)  # DataError (a ValueError) names the file
    if kind == "SequenceScaler" or has_scaler:
        return SequenceScaler.load(folder)  # DataError (a ValueError) names the file
    return None


def _read_labels(folder):
    path = os.path.join(folder, LABELS_FILE)
    if not os.path.isfile(path):
        return None
    lines = _read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    seen = {}
    for number, line in enumerate(lines, start=1):
        label = line.rstrip("\r")
        if not label.strip():
            raise ValueError(f"{path}, line {number}: empty label; expected one name per line.")
        if label in seen:
            raise ValueError(f"{path}, line {number}: label {label!r} repeats line "
                             f"{seen[label]}.")
        seen[label] = number
    if not seen:
        raise ValueError(f"{path}: no label; expected one name per line.")
    return tuple(seen)


# --------------------------------------------------------------------------- prepare


def split_indices(n, validation_split, seed=0):
    """The train/validation split every part of rnn-zoo uses.

    A permutation from `np.random.default_rng(seed)`; its first
    `max(1, round(n * validation_split))` indices are the validation split.

    Args:
        n: int >= 1, the number of examples.
        validation_split: float in [0, 1), the share held out; 0 keeps every
            example for training (in order) and holds out none.
        seed: int, default 0.

    Returns:
        `(train_indices, validation_indices)`, int64 arrays that together
        hold every index in `range(n)` once.

    Raises:
        ValueError: naming `validation_split` when no example is left to train on.

    Example:

    >>> train, val = split_indices(10, 0.2, seed=0)
    >>> len(train), len(val)
    (8, 2)
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError("Invalid value received for argument `n`. Expected an integer >= 1. "
                         f"Received: n={n!r}")
    validation_split = check_fraction(validation_split, "validation_split")
    if validation_split == 0:
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    held = max(1, int(round(n * validation_split)))
    if n - held < 1:
        raise ValueError(
            "Invalid value received for argument `validation_split`. Holding out "
            f"{held} of {n} examples leaves none to train on. "
            f"Received: validation_split={validation_split!r}")
    return order[held:], order[:held]


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """Arrays ready for `fit`, the fitted preprocessor and the factory's sizes.

    Attributes:
        x_train, y_train: the training split.
        x_val, y_val: the validation split, or None when there is none.
        x_test, y_test: the test split, or None when none was given.
        preprocessor: the `TextVectorizer` or `SequenceScaler` fitted on the
            training split, or None (unscaled numeric data).
        labels: tuple of str, the class or tag names; () for regression.
        task_args: the sizes the task's factory takes (`vocab_size`,
            `num_classes`, `num_tags`, `num_features`, `output_dim`).
        task: the task's name.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray = None
    y_val: np.ndarray = None
    x_test: np.ndarray = None
    y_test: np.ndarray = None
    preprocessor: object = None
    labels: tuple = ()
    task_args: dict = dataclasses.field(default_factory=dict)
    task: str = None

    @property
    def vectorizer(self):
        """The preprocessor when it is a `TextVectorizer`, else None."""
        return self.preprocessor if _is_vectorizer(self.preprocessor) else None


def _check_task(data, task):
    tasks.get_task(task, "task")
    kind = next((cls for cls in _DATA_TASKS if isinstance(data, cls)), None)
    if kind is None:
        raise ValueError(
            "Invalid value received for argument `data`. Expected a "
            "rnn_zoo.data.TextClassificationData, TaggingData or SequenceData. "
            f"Received: data={type(data).__name__}")
    if task not in _DATA_TASKS[kind]:
        raise ValueError(
            f"Invalid value received for argument `task`. {kind.__name__} feeds one of "
            f"{_DATA_TASKS[kind]}. Received: task={task!r}")
    if kind is SequenceData:
        needed = "labels" if task == "sequence_classifier" else "targets"
        if getattr(data, needed) is None:
            raise ValueError(
                f"Invalid value received for argument `task`. The data holds no `{needed}`, "
                f"which {task!r} learns. Received: task={task!r}")
    return kind


def _check_split_data(split, argument, data, kind, task):
    if split is None:
        return
    if not isinstance(split, kind):
        raise ValueError(f"Invalid value received for argument `{argument}`. Expected a "
                         f"{kind.__name__} like `data`. Received: {argument}="
                         f"{type(split).__name__}")
    if len(split) == 0:
        raise ValueError(f"Invalid value received for argument `{argument}`. Expected at "
                         f"least one example. Received: {argument} with 0 examples")
    names = {TextClassificationData: "class_names", TaggingData: "tag_names"}.get(kind)
    if names and getattr(split, names) != getattr(data, names):
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Its {names} "
            f"{getattr(split, names)} differ from the training data's {getattr(data, names)}"
            " (read it with the training data's label set).")
    if kind is SequenceData:
        if split.x.shape[-1] != data.x.shape[-1]:
            raise ValueError(f"Invalid value received for argument `{argument}`. It has "
                             f"{split.x.shape[-1]} features; `data` has {data.x.shape[-1]}.")
        _check_task(split, task)


def _fit_to_width(array, width):
    if array.shape[1] >= width:
        return array[:, :width]
    pad = [(0, 0)] * array.ndim
    pad[1] = (0, width - array.shape[1])
    return np.pad(array, pad)


def prepare(data, task, *, validation_split=0.1, seed=0, validation=None, test=None,
            max_tokens=20000, max_length=None, scale=True, tokenizer="default"):
    """Split the data, fit the preprocessor on the training split only, transform every split.

    Args:
        data: a `rnn_zoo.data.TextClassificationData`, `TaggingData` or
            `SequenceData`.
        task: a task name in `rnn_zoo.tasks.TASKS` that the data can feed:
            `"text_classifier"` or `"bag_of_embeddings"` (text), `"sequence_tagger"`
            (tagging), `"sequence_classifier"` (series with `labels`) or
            `"sequence_regressor"` (series with `targets`).
        validation_split: float in [0, 1), default 0.1: the share of `data`
            held out (see `split_indices`) when `validation` is not given.
        seed: int, default 0, the split's seed.
        validation: optional data of the same type: the validation split
            (then `data` is not split).
        test: optional data of the same type, transformed with the same
            preprocessor.
        max_tokens: int or None, default 20000: the text vocabulary's size cap
            (ids included; see `TextVectorizer.adapt`).
        max_length: int or None, default None: pad/truncate token ids (and
            tags) to this many steps; None pads text to the longest of each
            split, and tags to the data's tag width.
        scale: bool, default True: standardise numeric series with a
            `SequenceScaler` fitted on the training split; False keeps them raw.
        tokenizer: "default" or "mediapipe" (`rnn_zoo.tasks.TOKENIZERS`): how the
            text vectorizer splits text (see `rnn_zoo.text.TextVectorizer`);
            "mediapipe" trains on the ids MediaPipe's RegexTokenizer gives on a
            phone, which exporting with target "mediapipe" requires.

    Returns:
        A `Prepared`.

    Example:

    >>> prepared = prepare(data.load_japanese_vowels(split="train"), "sequence_classifier",
    ...                    validation_split=0.2, test=data.load_japanese_vowels(split="test"))
    >>> prepared.task_args
    {'num_classes': 9, 'num_features': 12}
    """
    kind = _check_task(data, task)
    _check_split_data(validation, "validation", data, kind, task)
    _check_split_data(test, "test", data, kind, task)
    if not isinstance(scale, bool):
        raise ValueError("Invalid value received for argument `scale`. Expected True or "
                         f"False. Received: scale={scale!r}")
    if validation is None:
        train_idx, val_idx = split_indices(len(data), validation_split, seed)
        train = data.select(train_idx)
        validation = data.select(val_idx) if len(val_idx) else None
    else:
        train = data
    splits = {"train": train, "val": validation, "test": test}
    if tokenizer not in tasks.TOKENIZERS:
        raise ValueError("Invalid value received for argument `tokenizer`. Expected one of "
                         f"{tasks.TOKENIZERS}. Received: tokenizer={tokenizer!r}")
    if kind is TextClassificationData:
        return _prepare_text(splits, task, max_tokens, max_length, tokenizer)
    if kind is TaggingData:
        return _prepare_tagging(splits, task, max_tokens, max_length, tokenizer)
    return _prepare_sequences(splits, task, scale)


def _prepared(splits, transform, target, **fields):
    arrays = {}
    for name, split in splits.items():
        arrays[f"x_{name}"] = None if split is None else transform(split)
        arrays[f"y_{name}"] = None if split is None else target(split)
    return Prepared(**arrays, **fields)


def _new_vectorizer(train_texts, max_tokens, max_length, tokenizer="default"):
    from rnn_zoo.text import TextVectorizer

    vectorizer = TextVectorizer(max_length=max_length, tokenizer=tokenizer)
    # The vocabulary comes from the training split only: a word seen only in
    # validation or test must stay out of vocabulary, as it would in serving.
    vectorizer.adapt(train_texts, max_tokens=max_tokens)
    return vectorizer


def _prepare_text(splits, task, max_tokens, max_length, tokenizer="default"):
    train = splits["train"]
    vectorizer = _new_vectorizer(train.texts, max_tokens, max_length, tokenizer)
    return _prepared(
        splits, lambda split: vectorizer(split.texts), lambda split: split.labels,
        preprocessor=vectorizer, labels=tuple(train.class_names), task=task,
        task_args=dict(vocab_size=vectorizer.vocab_size,
                       num_classes=check_class_count(len(train.class_names), "data",
                                                     where="prepare")))


def _prepare_tagging(splits, task, max_tokens, max_length, tokenizer="default"):
    train = splits["train"]
    vectorizer = _new_vectorizer(train.texts, max_tokens, max_length, tokenizer)

    def transform(split):
        width = max_length or split.tags.shape[1]
        ids = _fit_to_width(vectorizer(split.texts), width)
        tokens = (ids != 0).sum(axis=1)
        expected = np.minimum(split.lengths, width)
        wrong = np.flatnonzero(tokens != expected)
        if wrong.size:
            i = int(wrong[0])
            raise ValueError(
                f"Invalid value received for argument `data`. Text {i} "
                f"({split.texts[i]!r}) gives {tokens[i]} token ids but has {expected[i]} "
                "tags; a tagging text must tokenize to one token per tag.")
        return ids

    num_tags = max(len(train.tag_names), int(train.tags.max()) + 1)
    return _prepared(
        splits, transform, lambda split: _fit_to_width(split.tags, max_length or
                                                        split.tags.shape[1]),
        preprocessor=vectorizer, labels=tuple(train.tag_names), task=task,
        task_args=dict(vocab_size=vectorizer.vocab_size, num_tags=num_tags))


def _prepare_sequences(splits, task, scale):
    train = splits["train"]
    scaler = SequenceScaler.fit(train) if scale else None
    task_args = {}
    if task == "sequence_classifier":
        check_class_count(len(np.unique(train.labels)), "data", where="prepare")
        num_classes = len(train.class_names) or int(train.labels.max()) + 1
        labels = train.class_names or tuple(str(i) for i in range(num_classes))
        task_args["num_classes"] = num_classes

        def target(split):
            return split.labels
    else:
        labels = ()
        task_args["output_dim"] = int(train.targets.reshape(len(train), -1).shape[1])

        def target(split):
            return split.targets.reshape(len(split), -1)
    task_args["num_features"] = int(train.x.shape[2])

    def transform(split):
        return scaler.transform(split) if scaler is not None else split.x

    return _prepared(splits, transform, target, preprocessor=scaler, labels=tuple(labels),
                     task=task, task_args=task_args)
