"""Export a zoo model as a TF SavedModel with signatures for token ids, features and raw text.

Signatures (all take a batch, names are the input names TF Serving expects):

* token models: `ids` (`token_ids`: int32 `[batch, time]`, 0 = padding), also
  served as `serving_default`; with a text vectorizer also `text` (`text`:
  string `[batch]`), which runs the same tensorflow-text function as training
  (`rnn_zoo.text.vectorize_tf`) inside the graph and returns the ids it used;
* numeric models: `features` (float32 `[batch, time, num_features]`), also
  `serving_default`.

The graph checks its own input (ids in `[0, vocab_size)`, at most `max_length`
steps) with `tf.debugging` asserts, so a TF Serving client sending a bad id gets
an INVALID_ARGUMENT error rather than a silent zero embedding (TF's gather returns
zeros for out-of-range ids on GPU).

Built on `keras.export.ExportArchive` (the library's own SavedModel writer) rather
than hand-written `tf.Module` plumbing. A SavedModel with the `text` signature
uses tensorflow-text ops: `import tensorflow_text` before `tf.saved_model.load`,
or loading fails with "Op type not registered"; the manifest records it.

On the jax and torch backends the export runs in a TensorFlow-backend subprocess
(see `rnn_zoo.export.cross_backend`) and is checked against the original backend.
"""

import dataclasses
import os

import keras
import numpy as np

from rnn_zoo.export import manifest as manifest_lib

SIGNATURE_IDS = "ids"
SIGNATURE_FEATURES = "features"
SIGNATURE_TEXT = "text"
DEFAULT_MAX_LENGTH = 512
DEFAULT_TOLERANCE = 1e-5
TEXT_IMPORTS = ("tensorflow_text",)
_LOAD_NOTE = (
    "import tensorflow_text before tf.saved_model.load: the `text` signature uses "
    "tensorflow-text ops, which are not part of core TensorFlow."
)


@dataclasses.dataclass
class SavedModelExport:
    """What `export_saved_model` wrote.

    Attributes:
        path: the SavedModel folder.
        signatures: signature names, `serving_default` first.
        serving: the `serving` part of the manifest (inputs, output, limits).
        parity: max absolute differences against the Keras model.
        manifest: the whole manifest dict written as `manifest.json`.
    """

    path: str
    signatures: list
    serving: dict
    parity: dict
    manifest: dict


def _single(tensors, what, model):
    if len(tensors) != 1:
        raise ValueError(
            f"Model '{model.name}' has {len(tensors)} {what}s; export supports models "
            f"with exactly one {what} (the zoo's factories build such models)."
        )
    return tensors[0]


def _output_name(model):
    # Classifiers, taggers and language models end in a softmax Dense layer
    # (possibly followed by RestoreOrder); regressors end in a linear one.
    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.Dense):
            activation = keras.activations.serialize(layer.activation)
            name = activation if isinstance(activation, str) else activation.get("config", "")
            return "probabilities" if "softmax" in str(name) else "predictions"
    return "outputs"


def _vocab_size(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    raise ValueError(
        f"Model '{model.name}' takes integer ids but has no Embedding layer; can't tell "
        "its vocabulary size."
    )


def serving_spec(model, vectorizer=None, max_length=None):
    """Describe how to call the exported model: the `serving` part of the manifest.

    Args:
        model: a zoo `keras.Model` (one input, one output).
        vectorizer: optional `rnn_zoo.text.TextVectorizer` for token models.
        max_length: int > 0 or None. Longest accepted input, in steps. None:
            the vectorizer's `max_length`, else `DEFAULT_MAX_LENGTH` (512).

    Returns:
        A JSON-ready dict: `input`, `output`, `vocab_size`, `num_features`,
        `max_length`, `signatures`, `requires_imports`.

    Example:

    >>> serving_spec(rnn_zoo.build_text_classifier(vocab_size=50))["input"]
    {'name': 'token_ids', 'dtype': 'int32', 'shape': [None, None]}
    """
    model_input = _single(model.inputs, "input", model)
    model_output = _single(model.outputs, "output", model)
    dtype = keras.backend.standardize_dtype(model_input.dtype)
    rank = len(model_input.shape)
    is_tokens = "int" in dtype
    if is_tokens and rank != 2 or not is_tokens and rank != 3:
        raise ValueError(
            f"Model '{model.name}' input {model_input.shape} ({dtype}) is neither token ids "
            "int [batch, time] nor features float [batch, time, num_features]."
        )
    if vectorizer is not None and not is_tokens:
        raise ValueError(
            "Invalid value received for argument `vectorizer`. A text vectorizer only "
            f"applies to token-id models; model '{model.name}' takes float features."
        )
    if max_length is None:
        max_length = getattr(vectorizer, "max_length", None) or DEFAULT_MAX_LENGTH
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(
            "Invalid value received for argument `max_length`. Expected an integer >= 1. "
            f"Received: max_length={max_length!r}"
        )
    vocab_size = _vocab_size(model) if is_tokens else None
    if vectorizer is not None:
        if vectorizer.vocabulary_size > vocab_size:
            raise ValueError(
                f"The vectorizer has {vectorizer.vocabulary_size} ids but model "
                f"'{model.name}' embeds only {vocab_size}: ids >= {vocab_size} would be "
                "out of range. Use the vectorizer the model was trained with."
            )
        if vectorizer.max_length is not None and vectorizer.max_length > max_length:
            raise ValueError(
                f"Invalid value received for argument `max_length`. Expected at least the "
                f"vectorizer's max_length ({vectorizer.max_length}). Received: "
                f"max_length={max_length!r}"
            )
    input_name = "token_ids" if is_tokens else "features"
    input_spec = {
        "name": input_name,
        "dtype": "int32" if is_tokens else "float32",
        "shape": [None, None] if is_tokens else [None, None, int(model_input.shape[-1])],
    }
    output_name = _output_name(model)
    output_spec = {
        "name": output_name,
        "dtype": "float32",
        "shape": [None] + [None if d is None else int(d) for d in model_output.shape[1:]],
    }
    main_signature = SIGNATURE_IDS if is_tokens else SIGNATURE_FEATURES
    signatures = {
        "serving_default": {"inputs": {input_name: input_spec}, "outputs": [output_name]},
        main_signature: {"inputs": {input_name: input_spec}, "outputs": [output_name]},
    }
    if vectorizer is not None:
        signatures[SIGNATURE_TEXT] = {
            "inputs": {"text": {"name": "text", "dtype": "string", "shape": [None]}},
            "outputs": [output_name, "token_ids"],
        }
    return {
        "input_kind": input_name,
        "input": input_spec,
        "output": output_spec,
        "vocab_size": vocab_size,
        "padding_id": 0 if is_tokens else None,
        "oov_id": 1 if is_tokens else None,
        "num_features": None if is_tokens else int(model_input.shape[-1]),
        "max_length": max_length,
        "signatures": signatures,
        "requires_imports": list(TEXT_IMPORTS) if vectorizer is not None else [],
        "load_note": _LOAD_NOTE if vectorizer is not None else None,
        "text": None if vectorizer is None else {
            "vocabulary_file": "vocab.txt",
            "config_file": "text_vectorizer.json",
            "vocabulary_size": vectorizer.vocabulary_size,
            "max_length": vectorizer.max_length,
            "lowercase": vectorizer.lowercase,
        },
    }


def default_verification_inputs(serving, rows=4, steps=12, seed=0):
    """Small deterministic inputs that exercise padding: full, right- and left-padded rows.

    Returns:
        int32 `[rows, steps]` ids or float32 `[rows, steps, num_features]`.
    """
    rng = np.random.default_rng(seed)
    lengths = np.linspace(steps, 1, rows).astype(int)
    if serving["input_kind"] == "token_ids":
        values = rng.integers(2, max(serving["vocab_size"], 3), size=(rows, steps)).astype("int32")
    else:
        values = rng.normal(size=(rows, steps, serving["num_features"])).astype("float32")
    for row, length in enumerate(lengths):
        if row % 2:
            values[row, : steps - length] = 0  # left padding
        else:
            values[row, length:] = 0  # right padding
    return values


def default_verification_texts(vectorizer, count=3, seed=0):
    """A few texts made of vocabulary tokens plus one unknown word (exercises OOV)."""
    rng = np.random.default_rng(seed)
    tokens = list(vectorizer.vocabulary[2:])
    texts = []
    for index in range(count):
        picked = rng.choice(tokens, size=min(len(tokens), 3 + 2 * index), replace=True)
        texts.append(" ".join(str(token) for token in picked) + " zzqxunknownword")
    return texts


def _predict(model, inputs):
    # A direct call: `model.predict` compiles a whole predict loop first, which
    # costs seconds for a handful of rows.
    return np.asarray(keras.ops.convert_to_numpy(model(inputs, training=False)))


def make_reference(model, vectorizer=None, verification_data=None, serving=None):
    """Predictions of `model` on the verification inputs, on the current backend.

    This is the truth exported artifacts are compared with; computed where the
    model was trained (jax, torch or tensorflow).

    Returns:
        dict with `inputs`, `outputs`, and for text models `texts`, `text_ids`,
        `text_outputs` (numpy arrays / list of str), and `backend`.
    """
    serving = serving or serving_spec(model, vectorizer)
    inputs = verification_data
    if inputs is None:
        inputs = default_verification_inputs(serving, steps=min(12, serving["max_length"]))
    inputs = np.asarray(inputs, dtype=serving["input"]["dtype"])
    if inputs.ndim < 2 or inputs.shape[1] > serving["max_length"]:
        raise ValueError(
            "Invalid value received for argument `verification_data`. Expected a batch "
            f"[batch, time, ...] with time <= max_length={serving['max_length']}. "
            f"Received: shape {inputs.shape}"
        )
    reference = {
        "backend": keras.backend.backend(),
        "inputs": inputs,
        "outputs": _predict(model, inputs),
    }
    if vectorizer is not None:
        texts = default_verification_texts(vectorizer)
        text_ids = vectorizer(texts)
        reference.update(texts=texts, text_ids=text_ids,
                         text_outputs=_predict(model, text_ids))
    return reference


def _max_abs_diff(actual, expected):
    actual = np.asarray(actual, dtype="float64")
    expected = np.asarray(expected, dtype="float64")
    if actual.shape != expected.shape:
        raise ValueError(f"Exported output shape {actual.shape} != Keras output shape {expected.shape}.")
    return float(np.max(np.abs(actual - expected))) if actual.size else 0.0


def verify_saved_model(directory, serving, reference):
    """Reload a SavedModel (in this process) and compare every signature with `reference`.

    Returns:
        dict of parity figures (max absolute differences, whether text ids match).
    """
    import tensorflow as tf

    if serving["requires_imports"]:
        import tensorflow_text  # noqa: F401  (registers the ops the text signature uses)
    loaded = tf.saved_model.load(directory)
    output_name = serving["output"]["name"]
    input_name = serving["input"]["name"]
    serve = loaded.signatures["serving_default"]
    outputs = serve(**{input_name: tf.constant(reference["inputs"])})[output_name].numpy()
    parity = {
        "reference_backend": reference["backend"],
        "samples": int(len(reference["inputs"])),
        "saved_model_max_abs_diff": _max_abs_diff(outputs, reference["outputs"]),
    }
    if "texts" in reference:
        result = loaded.signatures[SIGNATURE_TEXT](text=tf.constant(reference["texts"]))
        parity["text_ids_match"] = bool(
            np.array_equal(result["token_ids"].numpy(), reference["text_ids"])
        )
        parity["saved_model_text_max_abs_diff"] = _max_abs_diff(
            result[output_name].numpy(), reference["text_outputs"]
        )
    return parity


def check_parity(parity, tolerance, where):
    """Raise ValueError when a parity figure exceeds `tolerance` or text ids differ."""
    if parity.get("text_ids_match") is False:
        raise ValueError(
            f"{where}: the `text` signature produced different token ids than the "
            "TextVectorizer; the export was not kept."
        )
    for key, value in parity.items():
        if key.endswith("max_abs_diff") and value is not None and value > tolerance:
            raise ValueError(
                f"{where}: {key}={value:.3g} exceeds tolerance={tolerance:g} against the "
                f"{parity.get('reference_backend')} model; the export was not kept."
            )


def _write_archive(model, directory, serving, vectorizer):
    import tensorflow as tf

    output_name = serving["output"]["name"]
    vocab_size = serving["vocab_size"]
    max_length = serving["max_length"]

    def check_ids(token_ids):
        # Graph-side checks for clients that bypass rnn_zoo's predictor.
        tf.debugging.assert_less_equal(
            tf.shape(token_ids)[1], max_length,
            message=f"token_ids: more than max_length={max_length} steps")
        tf.debugging.assert_non_negative(
            token_ids, message="token_ids: negative id (0 = padding, 1 = OOV)")
        tf.debugging.assert_less(
            token_ids, vocab_size, message=f"token_ids: id >= vocab_size={vocab_size}")

    archive = keras.export.ExportArchive()
    archive.track(model)
    if serving["input_kind"] == "token_ids":

        def serve_ids(token_ids):
            check_ids(token_ids)
            return {output_name: model(token_ids, training=False)}

        # The first endpoint is also written as `serving_default` (ExportArchive).
        archive.add_endpoint(SIGNATURE_IDS, serve_ids, input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="token_ids")])
    else:
        num_features = serving["num_features"]
        max_steps = max_length

        def serve_features(features):
            tf.debugging.assert_less_equal(
                tf.shape(features)[1], max_steps,
                message=f"features: more than max_length={max_steps} steps")
            return {output_name: model(features, training=False)}

        archive.add_endpoint(SIGNATURE_FEATURES, serve_features, input_signature=[
            tf.TensorSpec([None, None, num_features], tf.float32, name="features")])
    if vectorizer is not None:
        from rnn_zoo.text import vectorize_tf

        # The table must be tracked or the loaded lookup has no vocabulary.
        table = vectorizer.lookup_table
        archive.track(table)
        text_max_length = vectorizer.max_length
        lowercase = vectorizer.lowercase

        def serve_text(text):
            token_ids = vectorize_tf(text, table=table, max_length=text_max_length,
                                     lowercase=lowercase)
            check_ids(token_ids)
            return {output_name: model(token_ids, training=False), "token_ids": token_ids}

        archive.add_endpoint(SIGNATURE_TEXT, serve_text, input_signature=[
            tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(directory, verbose=False)


def _check_labels(labels, serving):
    labels = [str(label) for label in labels]
    classes = serving["output"]["shape"][-1]
    if serving["output"]["name"] == "probabilities" and classes is not None and len(labels) != classes:
        raise ValueError(
            f"Invalid value received for argument `labels`. Expected {classes} labels "
            f"(one per output class). Received: {len(labels)} labels"
        )
    return labels


def _prepare_directory(directory):
    if os.path.exists(directory) and (not os.path.isdir(directory) or os.listdir(directory)):
        raise ValueError(
            f"Invalid value received for argument `directory`. Expected a new or empty "
            f"folder. Received: directory={directory!r}, which is not empty."
        )
    os.makedirs(directory, exist_ok=True)


def export_saved_model(model, directory, vectorizer=None, labels=None, max_length=None,
                       verification_data=None, tolerance=DEFAULT_TOLERANCE, reference=None):
    """Write `model` as a TF SavedModel with ids/features and raw-text signatures.

    Writes into `directory`: `saved_model.pb`, `variables/`, `manifest.json`, and
    `vocab.txt` + `text_vectorizer.json` (with a vectorizer) and `labels.txt` (with
    labels). The SavedModel is then reloaded and every signature compared with the
    Keras model; the figures go into the manifest's `parity`.

    Args:
        model: a zoo `keras.Model` with one input (`token_ids` or `features`)
            and one output; any backend (jax and torch export through a
            TensorFlow subprocess).
        directory: a new or empty folder.
        vectorizer: optional `rnn_zoo.text.TextVectorizer` (token models): adds
            the `text` signature with in-graph tensorflow-text tokenisation.
        labels: optional list of class names (one per output class).
        max_length: int or None, longest accepted input in steps (see
            `serving_spec`); recorded in the manifest and checked in the graph.
        verification_data: optional ids/features array to compare on; default
            a small padded batch.
        tolerance: float, default 1e-5. Largest allowed absolute difference
            between the reloaded SavedModel and Keras; above it, ValueError.
        reference: internal, predictions from the backend the model was
            trained on (see `make_reference`).

    Returns:
        A `SavedModelExport` (path, signatures, serving spec, parity, manifest).

    Example:

    >>> result = rnn_zoo.export.export_saved_model(model, "/tmp/sm", vectorizer=vectorizer)
    >>> import tensorflow_text, tensorflow as tf
    >>> tf.saved_model.load("/tmp/sm").signatures["text"](text=tf.constant(["not bad"]))
    """
    if keras.backend.backend() != "tensorflow":
        from rnn_zoo.export import cross_backend

        return cross_backend.export_in_tensorflow(
            "export_saved_model", model, vectorizer=vectorizer, labels=labels,
            directory=directory, max_length=max_length,
            verification_data=verification_data, tolerance=tolerance)
    directory = os.fspath(directory)
    serving = serving_spec(model, vectorizer, max_length)
    if labels is not None:
        labels = _check_labels(labels, serving)
    if reference is None:
        reference = make_reference(model, vectorizer, verification_data, serving)
    _prepare_directory(directory)
    _write_archive(model, directory, serving, vectorizer)
    if vectorizer is not None:
        vectorizer.save(directory)
    if labels is not None:
        manifest_lib.write_labels(os.path.join(directory, "labels.txt"), labels)
    parity = verify_saved_model(directory, serving, reference)
    check_parity(parity, tolerance, where=f"export_saved_model({directory!r})")
    manifest = {
        "format_version": manifest_lib.MANIFEST_FORMAT_VERSION,
        "created_at": manifest_lib.utc_now(),
        "model": {
            "name": model.name,
            "class_name": type(model).__name__,
            "parameters": int(model.count_params()),
        },
        "trained_backend": reference["backend"],
        "serving": serving,
        "labels": None if labels is None else {"file": "labels.txt", "count": len(labels)},
        "parity": parity,
        "tolerance": tolerance,
        "versions": manifest_lib.library_versions(),
    }
    manifest["files"] = manifest_lib.file_sizes(directory)
    manifest_lib.write_manifest(directory, manifest)
    signatures = ["serving_default"] + [name for name in serving["signatures"] if name != "serving_default"]
    return SavedModelExport(path=directory, signatures=signatures, serving=serving,
                            parity=parity, manifest=manifest)
