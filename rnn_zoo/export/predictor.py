"""Run an exported model (a version folder, a SavedModel or a `.tflite` file) safely.

`load_exported(path).predict(x)` takes raw texts, token ids or features and
checks them against the manifest before anything runs, so bad input gets a
ValueError naming the problem instead of a crash deep inside TensorFlow or an
out-of-bounds read in an embedding table:

* wrong type or rank (floats where int ids are expected, a flat list, strings
  for a model without a text signature, rows of different lengths);
* an empty batch, a sequence with no steps, or (ids and texts) a row with no
  real token;
* a sequence longer than the manifest's `max_length` (texts for a version
  with a `mediapipe.tflite` are instead cut to its fixed length and tokenised
  exactly as MediaPipe does, so `predict(texts)` equals the phone's scores);
* token ids < 0 or >= `vocab_size` (the TFLite graph would read them as OOV
  and the SavedModel's own asserts would stop them, but a caller sending them
  has a bug worth hearing about);
* non-finite features, and features so large that the model's output
  overflows to NaN or inf (refused after the run, naming the row).

Texts may be str or bytes (a list, or a rank-1 NumPy str / bytes array):
bytes are decoded as UTF-8 with `errors="replace"`, and a str with no UTF-8
form (a lone surrogate) gets a ValueError naming its index.

TFLite files are run with `ai_edge_litert.interpreter.Interpreter` (the
replacement for the deprecated `tf.lite.Interpreter`) through its signature
runner, which resizes the input to each row's length; rows run one at a time
at the file's static batch. A SavedModel runs through its `token_ids` (or
`features`) signature; versions exported before the `ids` -> `token_ids`
rename only have `ids`, which is used then.

`predict` validates; `predict_batch` runs an array that is already valid (the
exporter's own parity check calls it on its verification batch).
"""

import os

import numpy as np

from rnn_zoo.export import manifest as manifest_lib
from rnn_zoo.export import serving as serving_lib
from rnn_zoo.validation import check_choice

_TFLITE_FILE = serving_lib.TFLITE_FILE
_SAVED_MODEL_FILE = serving_lib.SAVED_MODEL_FILE


_INT32_MAX = np.iinfo(np.int32).max


def _is_text(inputs):
    if isinstance(inputs, (str, bytes, bytearray)):
        return True
    if isinstance(inputs, np.ndarray):
        if inputs.dtype.kind in "US":
            return True
        return (inputs.dtype == object and inputs.size > 0
                and all(isinstance(item, (str, bytes)) for item in inputs.flat))
    if isinstance(inputs, (list, tuple)) and inputs:
        return all(isinstance(item, (str, bytes, bytearray)) for item in inputs)
    return False


class ExportedModel:
    """Validated predictions from an exported model; use `load_exported` to make one.

    Attributes:
        path: the artifact that runs (SavedModel folder or `.tflite` file).
        kind: "saved_model" or "tflite".
        serving: the manifest's `serving` part (input, output, limits).
        labels: list of class names, or None.
        vectorizer: `TextVectorizer` for raw text, or None.
    """

    kind = None

    def __init__(self, path, serving, labels=None, vectorizer=None, text_length=None):
        self.path = path
        self.serving = serving
        self.labels = labels
        self.vectorizer = vectorizer
        # Set for a version with a mediapipe.tflite: texts are then cut to its
        # fixed length and tokenised as MediaPipe does, so both agree.
        self.text_length = text_length

    @property
    def accepts_text(self):
        """True when `predict` takes raw strings.

        Returns:
            bool.

        Example:

        >>> load_exported("saved_models/m/1").accepts_text
        True
        """
        return self.vectorizer is not None

    def predict(self, inputs):
        """Predict on texts, token ids or features.

        Args:
            inputs: a list of str (text models); int ids `[batch, time]`
                (0 = padding); or float features `[batch, time, features]`.

        Returns:
            numpy float32 array, e.g. `[batch, num_classes]` probabilities.

        Raises:
            ValueError: input the model can't take (see the module docstring).

        Example:

        >>> load_exported("saved_models/m/1").predict(["not bad at all"])
        array([[0.12, 0.88]], dtype=float32)
        """
        if isinstance(inputs, (list, tuple)) and not inputs:
            raise ValueError("Invalid value received for argument `inputs`: empty batch.")
        if _is_text(inputs):
            texts, ids = self.validate_texts(inputs)
            return _check_outputs(self._run_texts(texts, ids))
        return _check_outputs(self.predict_batch(self.validate_array(inputs)))

    # ------------------------------------------------------------------ validation

    def validate_texts(self, texts):
        """Check raw texts and return `(texts, ids)` as the vectorizer maps them.

        Args:
            texts: a str or bytes, or a list or rank-1 NumPy array of them
                (bytes are decoded as UTF-8 with errors="replace"; a str with
                no UTF-8 form, e.g. a lone surrogate, is refused).

        Returns:
            `(list of str, int ids [batch, time])`.

        Raises:
            ValueError: no vectorizer, no texts, a text without tokens, or
                more steps than `max_length`.

        Example:

        >>> texts, ids = predictor.validate_texts(["not bad"])
        """
        if self.vectorizer is None:
            raise ValueError(
                f"{self.path} has no text vectorizer (no vocab.txt): pass token ids "
                f"{self.serving['input']['shape']} or features, not strings."
            )
        from rnn_zoo.text import as_texts

        texts = as_texts(texts, argument="inputs")
        if not texts:
            raise ValueError("Invalid value received for argument `inputs`: no texts.")
        if self.text_length is not None:
            # As on the phone: the first `text_length` tokens, and a text
            # without any token runs as an all-padding row.
            return texts, self.vectorizer.mediapipe_ids(texts, self.text_length)
        ids = self.vectorizer(texts)
        counts = np.count_nonzero(ids, axis=1)
        for row, count in enumerate(counts):
            if count == 0:
                raise ValueError(
                    f"Invalid value received for argument `inputs`: text {row} "
                    f"({texts[row]!r}) has no tokens."
                )
        self._check_length(ids.shape[1], "text")
        return texts, ids

    def _check_length(self, steps, what):
        max_length = self.serving["max_length"]
        if steps > max_length:
            raise ValueError(
                f"Invalid value received for argument `inputs`: {what} of {steps} steps; "
                f"this export accepts at most max_length={max_length} (see manifest.json)."
            )

    def validate_array(self, inputs):
        """Check ids or features; return them as the dtype the model takes.

        Args:
            inputs: int ids `[batch, time]` or float features
                `[batch, time, num_features]` (array or nested lists).

        Returns:
            A numpy array, int32 ids or float32 features, ready for
            `predict_batch`.

        Raises:
            ValueError: see the module docstring.

        Example:

        >>> predictor.validate_array([[5, 9, 0]])
        array([[5, 9, 0]], dtype=int32)
        """
        serving = self.serving
        expected = serving["input"]
        try:
            array = np.asarray(inputs)
        except ValueError:
            array = np.asarray(inputs, dtype=object)
        if array.dtype == object:
            raise ValueError(
                "Invalid value received for argument `inputs`: rows of different lengths "
                f"or mixed types. Expected a rectangular {expected['dtype']} array "
                f"{expected['shape']} (pad token ids with 0)."
            )
        is_tokens = serving["input_kind"] == "token_ids"
        rank = 2 if is_tokens else 3
        allowed_kinds = "iu" if is_tokens else "fiu"
        if array.dtype.kind not in allowed_kinds:
            raise ValueError(
                f"Invalid value received for argument `inputs`: dtype {array.dtype}. "
                f"Expected {'integer token ids' if is_tokens else 'float features'} "
                f"({expected['dtype']})" + (" or a list of str." if self.accepts_text else ".")
            )
        if array.ndim != rank:
            layout = "[batch, time]" if is_tokens else "[batch, time, num_features]"
            raise ValueError(
                f"Invalid value received for argument `inputs`: shape {array.shape} "
                f"(rank {array.ndim}). Expected rank {rank}, {layout}; wrap a single "
                "sequence in a list."
            )
        if array.shape[0] == 0:
            raise ValueError("Invalid value received for argument `inputs`: empty batch.")
        if array.shape[1] == 0:
            raise ValueError(
                "Invalid value received for argument `inputs`: empty sequence (0 steps).")
        self._check_length(array.shape[1], "a sequence")
        if is_tokens:
            self._check_ids(array)
            return array.astype("int32")
        if array.shape[2] != serving["num_features"]:
            raise ValueError(
                f"Invalid value received for argument `inputs`: {array.shape[2]} features "
                f"per step. Expected num_features={serving['num_features']}."
            )
        with np.errstate(over="ignore"):
            # Beyond float32's range becomes inf, refused just below.
            array = array.astype("float32")
        if not np.all(np.isfinite(array)):
            row, step = np.argwhere(~np.isfinite(array))[0][:2]
            raise ValueError(
                f"Invalid value received for argument `inputs`: non-finite feature "
                f"(NaN or inf) at row {row}, step {step}."
            )
        return array

    def _check_ids(self, ids):
        vocab_size = self.serving.get("vocab_size")
        # Without a manifest the vocabulary size is unknown; ids past int32
        # would wrap (2**32 + 5 -> 5) when cast for the file, so they are
        # refused too.
        limit = vocab_size if vocab_size is not None else _INT32_MAX + 1
        bad = (ids < 0) | (ids >= limit)
        if bad.any():
            row, step = np.argwhere(bad)[0]
            raise ValueError(
                f"Invalid value received for argument `inputs`: token id {ids[row, step]} "
                f"at row {row}, step {step}. Expected ids in [0, {limit}) "
                "(0 = padding, 1 = out-of-vocabulary)."
            )
        empty_rows = np.flatnonzero(~np.any(ids != 0, axis=1))
        if empty_rows.size:
            raise ValueError(
                f"Invalid value received for argument `inputs`: row {empty_rows[0]} has no "
                "tokens (every id is 0 = padding)."
            )

    # ------------------------------------------------------------------ running

    def predict_batch(self, batch):
        """Run a batch that is already valid (see `validate_array`), unchecked.

        For input from outside, call `predict`: this call skips every check
        (out-of-range ids, too many steps, NaN features) and leaves them to
        the artifact.

        Args:
            batch: numpy int32 ids `[batch, time]` or float32 features
                `[batch, time, num_features]`.

        Returns:
            numpy float32 array, e.g. `[batch, num_classes]` probabilities.

        Example:

        >>> predictor = load_exported("saved_models/m/1", prefer="tflite")
        >>> predictor.predict_batch(predictor.validate_array([[5, 9, 2]]))
        array([[0.31, 0.69]], dtype=float32)
        """
        raise NotImplementedError

    def _run_texts(self, texts, ids):
        return self.predict_batch(ids)


class SavedModelPredictor(ExportedModel):
    """Runs the SavedModel's signatures (`text` for strings, `token_ids` or
    `features` else; `ids` for versions exported before the rename).

    Attributes:
        batch_signature: the signature `predict_batch` calls: "token_ids" or
            "features", "ids" for a version exported before the rename.
    """

    kind = "saved_model"

    def __init__(self, path, serving, labels=None, vectorizer=None, text_length=None):
        super().__init__(path, serving, labels, vectorizer, text_length)
        import tensorflow as tf

        for module in serving.get("requires_imports") or []:
            if module == "tensorflow_text":
                import tensorflow_text  # noqa: F401  (registers the text signature's ops)
        self._tf = tf
        self._loaded = tf.saved_model.load(path)
        available = self._loaded.signatures
        candidates = (serving["input"]["name"], serving_lib.SIGNATURE_IDS,
                      serving_lib.SIGNATURE_DEFAULT)
        self.batch_signature = next(name for name in candidates if name in available)

    def _call(self, signature, **inputs):
        tf = self._tf
        try:
            outputs = self._loaded.signatures[signature](**inputs)
        except tf.errors.InvalidArgumentError as error:
            # The graph's own asserts; normally the checks above catch it first.
            raise ValueError(
                f"The SavedModel refused the input: {error.message.splitlines()[0]}") from None
        return outputs[self.serving["output"]["name"]].numpy()

    def predict_batch(self, batch):
        """Run a valid batch through the `token_ids` / `features` signature.

        Args:
            batch: numpy int32 ids `[batch, time]` or float32 features
                `[batch, time, num_features]`, already checked.

        Returns:
            numpy float32 array of the model's outputs.

        Example:

        >>> load_exported("saved_models/m/1").predict_batch(np.array([[5, 9]], "int32"))
        array([[0.31, 0.69]], dtype=float32)
        """
        batch = np.asarray(batch, dtype=self.serving["input"]["dtype"])
        return self._call(self.batch_signature,
                          **{self.serving["input"]["name"]: self._tf.constant(batch)})

    def _run_texts(self, texts, ids):
        if self.text_length is not None:
            return self.predict_batch(ids)
        # The text signature tokenises inside the graph, exactly as in training.
        return self._call("text", text=self._tf.constant(texts))


class TFLitePredictor(ExportedModel):
    """Runs a `.tflite` file row batch by row batch with the LiteRT interpreter."""

    kind = "tflite"

    def __init__(self, path, serving, labels=None, vectorizer=None, num_threads=1,
                 text_length=None):
        super().__init__(path, serving, labels, vectorizer, text_length)
        self._interpreter = _interpreter(path, num_threads=num_threads)
        self._interpreter.allocate_tensors()
        signatures = self._interpreter.get_signature_list()
        default = serving_lib.SIGNATURE_DEFAULT
        self._signature = default if default in signatures else next(iter(signatures))
        self._runner = self._interpreter.get_signature_runner(self._signature)
        inputs = self._runner.get_input_details()
        if len(inputs) != 1:
            raise ValueError(f"{path}: expected one input, the file has {sorted(inputs)}.")
        self._input_name, detail = next(iter(inputs.items()))
        shape = detail.get("shape_signature", detail["shape"])
        self._rows_per_call = max(int(shape[0]), 1)
        self._input_dtype = np.dtype(detail["dtype"])

    def predict_batch(self, batch):
        """Run a valid batch, `rows_per_call` rows per interpreter call.

        Args:
            batch: numpy ids `[batch, time]` or features
                `[batch, time, num_features]`, already checked.

        Returns:
            numpy float32 array of the model's outputs.

        Example:

        >>> predictor = load_exported("saved_models/m/1/model.tflite")
        >>> predictor.predict_batch(np.array([[5, 9]], "int32"))
        array([[0.31, 0.69]], dtype=float32)
        """
        batch = np.asarray(batch)
        step = self._rows_per_call
        count = len(batch)
        if count % step:
            # A fixed-batch file: fill the last call with copies of the first row.
            filler = np.repeat(batch[:1], step - count % step, axis=0)
            batch = np.concatenate([batch, filler], axis=0)
        outputs = []
        for start in range(0, len(batch), step):
            # The signature runner resizes the input to this call's sequence length.
            rows = batch[start:start + step].astype(self._input_dtype)
            # A fused LSTM keeps h/c in variable tensors between invokes
            # (tensorflow/tensorflow#47813). Files from this exporter reset
            # them inside the graph; resetting here also covers older files.
            self._interpreter.reset_all_variables()
            result = self._runner(**{self._input_name: rows})
            outputs.append(np.asarray(next(iter(result.values()))))
        return np.concatenate(outputs, axis=0)[:count].astype("float32")


def _check_outputs(outputs):
    """Refuse outputs that are not finite.

    Valid input is finite, so a NaN or inf output means the input overflowed
    float32 arithmetic inside the model (features around 1e30 and beyond;
    the fused LSTM kernel returns NaN for them by design, see
    `rnn_zoo.export.fused.fused_lstm_sequence`), where Keras's own answer is
    rounding noise or NaN too.
    """
    outputs = np.asarray(outputs)
    finite = np.isfinite(outputs)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise ValueError(
            f"Invalid value received for argument `inputs`: row {row} gives a non-finite "
            "output (NaN or inf): its values are too large for float32 arithmetic.")
    return outputs


def _interpreter(path, **options):
    """A LiteRT `Interpreter` for `path`; a file it cannot read is a ValueError naming it."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        return Interpreter(model_path=os.fspath(path), **options)
    except (ValueError, RuntimeError) as error:
        # LiteRT's messages ("The model is not a valid Flatbuffer buffer") name no file.
        raise ValueError(f"{path}: not a valid TFLite file ({error}).") from None


def _serving_from_tflite(path):
    interpreter = _interpreter(path)
    signatures = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(next(iter(signatures)))
    name, detail = next(iter(runner.get_input_details().items()))
    shape = [int(d) for d in detail.get("shape_signature", detail["shape"])]
    is_tokens = np.dtype(detail["dtype"]).kind in "iu"
    return {
        "input_kind": "token_ids" if is_tokens else "features",
        "input": {"name": name, "dtype": np.dtype(detail["dtype"]).name,
                  "shape": [None, None] + shape[2:]},
        "output": {"name": next(iter(runner.get_output_details())), "dtype": "float32"},
        # Without a manifest the vocabulary size is unknown: the graph maps
        # out-of-range ids to OOV; negative ids and ids past int32 are still
        # refused here.
        "vocab_size": None,
        "num_features": None if is_tokens else shape[-1],
        "max_length": serving_lib.DEFAULT_MAX_LENGTH,
    }


def load_exported(path, prefer="saved_model", num_threads=1):
    """Load an export for prediction, with input validation from its manifest.

    Args:
        path: a version folder (`saved_models/<name>/<version>`), a SavedModel
            folder written by `export_saved_model`, or a `.tflite` file
            (its folder's `manifest.json`, `vocab.txt` and `labels.txt` are used
            when present).
        prefer: "saved_model" (default) or "tflite": which artifact of a
            version folder runs.
        num_threads: LiteRT interpreter threads, default 1.

    Returns:
        A `SavedModelPredictor` or `TFLitePredictor` (both `ExportedModel`).

    Raises:
        FileNotFoundError: nothing loadable at `path`.
        ValueError: bad `prefer`, or an unreadable manifest.

    Example:

    >>> predictor = rnn_zoo.export.load_exported("saved_models/lstm_text_classifier/1")
    >>> predictor.predict(["the food was not bad"])
    """
    check_choice(prefer, "prefer", ("saved_model", "tflite"), where="load_exported")
    path = os.fspath(path)
    if os.path.isfile(path):
        if not path.endswith(".tflite"):
            raise ValueError(
                f"Invalid value received for argument `path`: {path!r}. Expected a version "
                "folder, a SavedModel folder or a .tflite file."
            )
        folder, tflite_path = os.path.dirname(os.path.abspath(path)), path
    elif os.path.isdir(path):
        folder = path
        has_saved_model = os.path.isfile(os.path.join(path, _SAVED_MODEL_FILE))
        tflite_path = os.path.join(path, _TFLITE_FILE)
        has_tflite = os.path.isfile(tflite_path)
        if prefer == "tflite" and not has_tflite:
            raise FileNotFoundError(f"No {_TFLITE_FILE} in {path} (exported with tflite=False?).")
        if prefer == "saved_model" and not has_saved_model:
            if not has_tflite:
                raise FileNotFoundError(f"No {_SAVED_MODEL_FILE} or {_TFLITE_FILE} in {path}.")
        elif prefer == "saved_model":
            tflite_path = None
    else:
        raise FileNotFoundError(f"No such export: {path}")

    manifest_path = os.path.join(folder, manifest_lib.MANIFEST_FILE)
    text_length = None
    if os.path.isfile(manifest_path):
        manifest = manifest_lib.read_manifest(folder)
        serving = manifest["serving"]
        text_length = _mediapipe_length(manifest)
    elif tflite_path is not None:
        serving = _serving_from_tflite(tflite_path)
    else:
        raise FileNotFoundError(
            f"No {manifest_lib.MANIFEST_FILE} in {folder}: not an rnn-zoo export, so its "
            "input limits are unknown."
        )
    labels_path = os.path.join(folder, serving_lib.LABELS_FILE)
    labels = manifest_lib.read_labels(labels_path) if os.path.isfile(labels_path) else None
    vectorizer = None
    if os.path.isfile(os.path.join(folder, serving_lib.VECTORIZER_CONFIG_FILE)):
        from rnn_zoo.text import TextVectorizer

        vectorizer = TextVectorizer.load(folder)
    if vectorizer is None or getattr(vectorizer, "tokenizer", None) != "mediapipe":
        text_length = None
    if tflite_path is not None:
        return TFLitePredictor(tflite_path, serving, labels, vectorizer, num_threads=num_threads,
                               text_length=text_length)
    return SavedModelPredictor(folder, serving, labels, vectorizer, text_length=text_length)


def _mediapipe_length(manifest):
    """The fixed length of the version's mediapipe.tflite, or None."""
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, dict):
        return None
    for artifact in artifacts.values():
        if isinstance(artifact, dict) and artifact.get("target") == "mediapipe":
            length = artifact.get("max_length")
            if isinstance(length, int) and not isinstance(length, bool) and length >= 1:
                return length
    return None
