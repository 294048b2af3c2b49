"""Write a zoo model as a TF SavedModel with signatures for token ids, features and raw text.

Signatures (all take a batch; the names and the inputs are in
`rnn_zoo.export.serving`):

* token models: `token_ids` (input `token_ids`: int32 `[batch, time]`,
  0 = padding), also served as `serving_default` and, deprecated, as `ids`
  (the name versions exported before used; kept so that their TF Serving
  clients keep working); with a text vectorizer also `text` (`text`: string
  `[batch]`), which runs the same tensorflow-text function as training
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

`write_saved_model` runs on the TensorFlow backend. `rnn_zoo.export.export_saved_model`
is the entry point for every backend: on jax and torch it runs this writer in a
TensorFlow-backend subprocess and checks it against the original backend.
"""

import os

import keras
import numpy as np

from rnn_zoo.export import manifest as manifest_lib
from rnn_zoo.export import parity as parity_lib
from rnn_zoo.export import serving as serving_lib
from rnn_zoo.export.results import SavedModelExport


def verify_saved_model(directory, serving, reference):
    """Reload a SavedModel (in this process) and compare every signature with `reference`.

    Args:
        directory: the SavedModel folder.
        serving: its serving spec (`rnn_zoo.export.serving.serving_spec`).
        reference: the model's own outputs (`rnn_zoo.export.parity.make_reference`).

    Returns:
        dict of parity figures: `reference_backend`, `samples`,
        `saved_model_max_abs_diff` (the largest over `serving_default` and
        every ids / features signature), and with a vectorizer
        `text_ids_match` and `saved_model_text_max_abs_diff`.

    Example:

    >>> verify_saved_model("/tmp/sm", serving, reference)["saved_model_max_abs_diff"]
    0.0
    """
    import tensorflow as tf

    if serving["requires_imports"]:
        import tensorflow_text  # noqa: F401  (registers the ops the text signature uses)
    loaded = tf.saved_model.load(directory)
    output_name = serving["output"]["name"]
    input_name = serving["input"]["name"]
    inputs = tf.constant(reference["inputs"])
    worst = 0.0
    for name in serving["signatures"]:
        if name == serving_lib.SIGNATURE_TEXT:
            continue
        outputs = loaded.signatures[name](**{input_name: inputs})[output_name].numpy()
        worst = max(worst, parity_lib.max_abs_diff(outputs, reference["outputs"]))
    parity = {
        "reference_backend": reference["backend"],
        "samples": int(len(reference["inputs"])),
        "saved_model_max_abs_diff": worst,
    }
    if "texts" in reference:
        result = loaded.signatures[serving_lib.SIGNATURE_TEXT](
            text=tf.constant(reference["texts"]))
        parity["text_ids_match"] = bool(
            np.array_equal(result[serving_lib.INPUT_TOKEN_IDS].numpy(), reference["text_ids"])
        )
        parity["saved_model_text_max_abs_diff"] = parity_lib.max_abs_diff(
            result[output_name].numpy(), reference["text_outputs"]
        )
    return parity


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

        ids_spec = [tf.TensorSpec([None, None], tf.int32, name=serving_lib.INPUT_TOKEN_IDS)]
        # The first endpoint is also written as `serving_default` (ExportArchive).
        archive.add_endpoint(serving_lib.SIGNATURE_TOKEN_IDS, serve_ids,
                             input_signature=ids_spec)
        # Deprecated alias: the name versions exported before used.
        archive.add_endpoint(serving_lib.SIGNATURE_IDS, serve_ids, input_signature=ids_spec)
    else:
        num_features = serving["num_features"]
        max_steps = max_length

        def serve_features(features):
            tf.debugging.assert_less_equal(
                tf.shape(features)[1], max_steps,
                message=f"features: more than max_length={max_steps} steps")
            return {output_name: model(features, training=False)}

        archive.add_endpoint(serving_lib.SIGNATURE_FEATURES, serve_features, input_signature=[
            tf.TensorSpec([None, None, num_features], tf.float32,
                          name=serving_lib.INPUT_FEATURES)])
    if vectorizer is not None:
        from rnn_zoo.text import vectorize_tf

        # The table must be tracked or the loaded lookup has no vocabulary.
        table = vectorizer.lookup_table
        archive.track(table)
        text_max_length = vectorizer.max_length
        lowercase = vectorizer.lowercase
        tokenizer = getattr(vectorizer, "tokenizer", "default")

        def serve_text(text):
            token_ids = vectorize_tf(text, table=table, max_length=text_max_length,
                                     lowercase=lowercase, tokenizer=tokenizer)
            check_ids(token_ids)
            return {output_name: model(token_ids, training=False),
                    serving_lib.INPUT_TOKEN_IDS: token_ids}

        archive.add_endpoint(serving_lib.SIGNATURE_TEXT, serve_text, input_signature=[
            tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(directory, verbose=False)


def _check_labels(labels, serving):
    labels = [str(label) for label in labels]
    classes = serving["output"]["shape"][-1]
    is_distribution = serving["output"]["name"] == "probabilities"
    if is_distribution and classes is not None and len(labels) != classes:
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


def write_saved_model(model, directory, vectorizer=None, labels=None, max_length=None,
                      verification_data=None, tolerance=serving_lib.DEFAULT_TOLERANCE,
                      reference=None):
    """Write `model` as a TF SavedModel with ids/features and raw-text signatures.

    The writer itself, on the TensorFlow backend; `rnn_zoo.export.export_saved_model`
    takes a model from any backend and calls it.

    Writes into `directory`: `saved_model.pb`, `variables/`, `manifest.json`, and
    `vocab.txt` + `text_vectorizer.json` (with a vectorizer) and `labels.txt` (with
    labels). The SavedModel is then reloaded and every signature compared with the
    Keras model; the figures go into the manifest's `parity`.

    Args:
        model: a zoo `keras.Model` with one input (`token_ids` or `features`)
            and one output, on the TensorFlow backend.
        directory: a new or empty folder.
        vectorizer: optional `rnn_zoo.text.TextVectorizer` (token models): adds
            the `text` signature with in-graph tensorflow-text tokenisation.
        labels: optional list of class names (one per output class).
        max_length: int or None, longest accepted input in steps (see
            `rnn_zoo.export.serving.serving_spec`); recorded in the manifest
            and checked in the graph.
        verification_data: optional ids/features array to compare on; default
            `rnn_zoo.export.parity.verification_inputs(model)`.
        tolerance: float, default 1e-5. Largest allowed absolute difference
            between the reloaded SavedModel and Keras; above it, ValueError.
        reference: predictions from the backend the model was trained on
            (`rnn_zoo.export.parity.make_reference`); default: computed here.

    Returns:
        A `SavedModelExport` (path, signatures, serving spec, parity, manifest).

    Raises:
        RuntimeError: the backend is not TensorFlow.
        ValueError: a model, argument or folder the export can't take, or a
            parity figure above `tolerance`.

    Example:

    >>> result = write_saved_model(model, "/tmp/sm", vectorizer=vectorizer)
    >>> result.signatures
    ['serving_default', 'token_ids', 'ids', 'text']
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "write_saved_model needs KERAS_BACKEND=tensorflow; use "
            "rnn_zoo.export.export_saved_model, which exports a model from any backend."
        )
    directory = os.fspath(directory)
    serving = serving_lib.serving_spec(model, vectorizer, max_length)
    if labels is not None:
        labels = _check_labels(labels, serving)
    if reference is None:
        reference = parity_lib.make_reference(model, vectorizer, verification_data, serving)
    _prepare_directory(directory)
    _write_archive(model, directory, serving, vectorizer)
    if vectorizer is not None:
        vectorizer.save(directory)
    if labels is not None:
        manifest_lib.write_labels(os.path.join(directory, serving_lib.LABELS_FILE), labels)
    parity = verify_saved_model(directory, serving, reference)
    parity_lib.check_parity(parity, tolerance, where=f"export_saved_model({directory!r})")
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
        "labels": None if labels is None else {"file": serving_lib.LABELS_FILE,
                                               "count": len(labels)},
        "parity": parity,
        "tolerance": tolerance,
        "versions": manifest_lib.library_versions(),
    }
    manifest["files"] = manifest_lib.file_sizes(directory)
    manifest_lib.write_manifest(directory, manifest)
    signatures = [serving_lib.SIGNATURE_DEFAULT] + [
        name for name in serving["signatures"] if name != serving_lib.SIGNATURE_DEFAULT]
    return SavedModelExport(path=directory, signatures=signatures, serving=serving,
                            parity=parity, manifest=manifest)
