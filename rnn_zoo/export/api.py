"""The one place that orchestrates an export: backend check, versions, writers, parity.

```
leaves     serving, parity, results, manifest, verify, supported
writers    saved_model, tflite, streaming   (internals: graph, fused, converter)
here       export_model, export_saved_model: check the backend (jax and torch
           go through cross_backend's TensorFlow subprocess), pick the version
           (versions), call the writers, check every artifact, write the manifest
```

Writers import only leaves; nothing below imports this module, except the
subprocess entry point `python -m rnn_zoo.export` (`__main__.py`).

Progress goes to `logging.getLogger("rnn_zoo.export.api")` at INFO level, one
line per step as it ends, "export step k/n: what was done (seconds)" (the
command line shows it); nothing is printed.

Example:

>>> from rnn_zoo.export.api import export_model
>>> result = export_model(model, vectorizer=vectorizer, labels=["negative", "positive"])
>>> result.path
'saved_models/lstm_text_classifier/1'
"""

import logging
import os
import time
import warnings

import keras

from rnn_zoo.export import cross_backend
from rnn_zoo.export import manifest as manifest_lib
from rnn_zoo.export import parity as parity_lib
from rnn_zoo.export import saved_model
from rnn_zoo.export import serving as serving_lib
from rnn_zoo.export import tflite as tflite_lib
from rnn_zoo.export import versions
from rnn_zoo.export.predictor import TFLitePredictor
from rnn_zoo.export.results import ExportResult
from rnn_zoo.tasks import DEFAULT_EXPORT_TARGET
from rnn_zoo.tasks import DEFAULT_LSTM_KERNEL
from rnn_zoo.tasks import EXPORT_TARGETS
from rnn_zoo.tasks import LSTM_KERNELS
from rnn_zoo.tasks import QUANTIZATIONS
from rnn_zoo.validation import check_choice

logger = logging.getLogger(__name__)

# How the progress lines name the runtimes in `runtimes_verified`.
_RUNTIME_NAMES = {"interpreter": "LiteRT Interpreter", "compiled_model": "CompiledModel",
                  "mediapipe": "MediaPipe TextClassifier"}


class _Steps:
    """Logs "export step k/n: ... (seconds)" as each step of an export ends."""

    def __init__(self, total):
        self.total = total
        self.done = 0
        self._clock = time.monotonic()

    def finished(self, what):
        self.done += 1
        now = time.monotonic()
        logger.info("export step %d/%d: %s (%.1f s)", self.done, self.total, what,
                    now - self._clock)
        self._clock = now


def _largest_diff(parity, prefix):
    figures = [value for key, value in parity.items()
               if key.startswith(prefix) and isinstance(value, float)]
    return f", max |diff| {max(figures):.1e}" if figures else ""


def _resolve_export_root(export_root, root):
    if root is None:
        return serving_lib.DEFAULT_EXPORT_ROOT if export_root is None else export_root
    warnings.warn("export_model(root=...) is deprecated; use export_root=...",
                  DeprecationWarning, stacklevel=3)
    if export_root is not None:
        raise ValueError(
            "Invalid value received for argument `root`: it is the deprecated name of "
            f"`export_root`; pass only one. Received: root={root!r}, "
            f"export_root={export_root!r}"
        )
    return root


def _tflite_parity(path, serving, reference, vectorizer):
    # Independent of export_tflite's own check: runs the file through the same
    # predictor users get and compares with the *trained* backend's outputs.
    predictor = TFLitePredictor(path, serving, vectorizer=vectorizer)
    parity = {"tflite_max_abs_diff": parity_lib.max_abs_diff(
        predictor.predict_batch(reference["inputs"]), reference["outputs"])}
    if "text_ids" in reference:
        parity["tflite_text_max_abs_diff"] = parity_lib.max_abs_diff(
            predictor.predict_batch(reference["text_ids"]), reference["text_outputs"])
    return parity


def export_saved_model(model, directory, vectorizer=None, labels=None, max_length=None,
                       verification_data=None, tolerance=serving_lib.DEFAULT_TOLERANCE,
                       reference=None):
    """Write `model` as a TF SavedModel with ids/features and raw-text signatures.

    Writes into `directory`: `saved_model.pb`, `variables/`, `manifest.json`, and
    `vocab.txt` + `text_vectorizer.json` (with a vectorizer) and `labels.txt` (with
    labels). The SavedModel is then reloaded and every signature compared with the
    Keras model; the figures go into the manifest's `parity`. Signatures:
    `serving_default`, `token_ids` (and its deprecated alias `ids`) or
    `features`, and `text` with a vectorizer (see `rnn_zoo.export.serving`).

    Args:
        model: a zoo `keras.Model` with one input (`token_ids` or `features`)
            and one output; any backend (jax and torch export through a
            TensorFlow subprocess and are compared with their own outputs).
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
        reference: internal, predictions from the backend the model was
            trained on (see `rnn_zoo.export.parity.make_reference`).

    Returns:
        A `SavedModelExport` (path, signatures, serving spec, parity, manifest).

    Raises:
        ValueError: a model or argument the export can't take, a folder that
            is not empty, or a parity figure above `tolerance`.

    Example:

    >>> result = rnn_zoo.export.export_saved_model(model, "/tmp/sm", vectorizer=vectorizer)
    >>> import tensorflow_text, tensorflow as tf
    >>> tf.saved_model.load("/tmp/sm").signatures["text"](text=tf.constant(["not bad"]))
    """
    if keras.backend.backend() != "tensorflow":
        return cross_backend.export_in_tensorflow(
            "export_saved_model", model, vectorizer=vectorizer, labels=labels,
            directory=directory, max_length=max_length,
            verification_data=verification_data, tolerance=tolerance)
    return saved_model.write_saved_model(
        model, directory, vectorizer=vectorizer, labels=labels, max_length=max_length,
        verification_data=verification_data, tolerance=tolerance, reference=reference)


def _resolve_targets(targets, tflite):
    if targets is None:
        return (DEFAULT_EXPORT_TARGET,) if tflite else ()
    if isinstance(targets, str):
        targets = (targets,)
    targets = tuple(dict.fromkeys(targets))
    for target in targets:
        check_choice(target, "targets", EXPORT_TARGETS, where="export_model")
    if not tflite and targets:
        raise ValueError(
            "Invalid value received for argument `targets`: tflite=False writes no TFLite "
            f"file. Received: targets={targets!r}, tflite=False")
    return targets


def _serving_max_length(targets, max_length, vectorizer):
    # The mediapipe file's length is fixed; the SavedModel still accepts what
    # the vectorizer gives, and the Python predictor truncates like MediaPipe.
    if "mediapipe" not in targets or max_length is None or vectorizer is None:
        return max_length
    return max(max_length, vectorizer.max_length or serving_lib.DEFAULT_MAX_LENGTH)


def export_model(model, name=None, export_root=None, version=None, vectorizer=None,
                 labels=None, tflite=True, quantization=None, representative_data=None,
                 max_length=None, verification_data=None,
                 tolerance=serving_lib.DEFAULT_TOLERANCE, reference=None,
                 lstm_kernel=None, root=None, targets=None):
    """Export `model` as an immutable version in the TF Serving layout.

    Writes `<export_root>/<name>/<version>/` holding `saved_model.pb` +
    `variables/` (signatures `serving_default`, `token_ids` (and the
    deprecated alias `ids`) or `features`, and `text` with a vectorizer),
    one TFLite file per target (`model.tflite` for "litert", the default;
    `mediapipe.tflite` for "mediapipe"), `manifest.json`,
    `vocab.txt` + `text_vectorizer.json` and `labels.txt`. Everything is
    written into a temporary folder beside the versions, reloaded and compared
    with the model, and only then renamed into place (see
    `rnn_zoo.export.versions`): a killed export leaves no version behind.

    Args:
        model: a zoo `keras.Model`, trained on any backend (jax and torch
            models are exported by a TensorFlow subprocess and compared with
            their own backend's predictions).
        name: folder name under `export_root`; default `model.name`.
        export_root: the export root, default "saved_models".
        version: int >= 0 or None (default: one more than the highest).
            An existing version is refused (`VersionExistsError`).
        vectorizer: optional `rnn_zoo.text.TextVectorizer` (token models).
        labels: optional class names, one per output class.
        tflite: bool, default True: also write TFLite files (False: the
            SavedModel alone).
        quantization: None, "float16", "dynamic_int8" or "int8" (every TFLite
            file).
        representative_data: calibration inputs for "int8".
        max_length: longest accepted input in steps (default: the
            vectorizer's max_length, else 512); recorded in the manifest.
            Required with the "mediapipe" target: the exact padded length of
            `mediapipe.tflite`.
        verification_data: inputs to compare on; default
            `rnn_zoo.export.parity.verification_inputs(model)`.
        tolerance: float, default 1e-5: largest allowed absolute difference for
            the SavedModel and a float32 TFLite file (quantized files are
            reported, not held to it).
        reference: internal (cross-backend exports).
        lstm_kernel: None / "loop" (default) or "fused": how `model.tflite`
            writes LSTM layers (see `rnn_zoo.export.tflite.export_tflite`;
            "fused" does not load in LiteRT's CompiledModel).
        root: deprecated name of `export_root` (a DeprecationWarning).
        targets: TFLite targets (`rnn_zoo.tasks.EXPORT_TARGETS`), a str or a
            sequence; default ("litert",). "mediapipe" needs `max_length`,
            `labels` and a vectorizer with `tokenizer="mediapipe"`.

    Returns:
        An `ExportResult`.

    Raises:
        ValueError: a bad argument, a model the export can't take, or a parity
            figure above `tolerance`; nothing is left behind.
        VersionExistsError: the version exists already.

    Example:

    >>> result = rnn_zoo.export.export_model(model, vectorizer=vectorizer,
    ...                                      labels=["negative", "positive"])
    >>> result.path
    'saved_models/lstm_text_classifier/1'
    >>> result.manifest["artifacts"]["model.tflite"]["runtimes_verified"]
    ['interpreter', 'compiled_model']
    """
    export_root = _resolve_export_root(export_root, root)
    name = versions.check_name(name if name is not None else model.name)
    lstm_kernel = DEFAULT_LSTM_KERNEL if lstm_kernel is None else lstm_kernel
    check_choice(lstm_kernel, "lstm_kernel", LSTM_KERNELS, where="export_model")
    if quantization is not None and not tflite:
        raise ValueError(
            "Invalid value received for argument `quantization`: it applies to the TFLite "
            f"file, but tflite=False. Received: quantization={quantization!r}"
        )
    targets = _resolve_targets(targets, tflite)
    if "mediapipe" in targets:
        # Refuse before any work (the same checks export_tflite makes).
        tflite_lib.check_mediapipe_arguments(model, max_length, vectorizer, labels)
    check_choice(quantization, "quantization", QUANTIZATIONS, where="export_model")
    model_dir = os.path.join(os.fspath(export_root), name)
    versions.check_model_dir(model_dir)  # a file, unwritable or bad root: refuse before any work
    if version is not None:
        versions.check_version(version, model_dir)  # refuse before any work
    if keras.backend.backend() != "tensorflow":
        return cross_backend.export_in_tensorflow(
            "export_model", model, vectorizer=vectorizer, verification_data=verification_data,
            name=name, export_root=export_root, version=version, labels=labels, tflite=tflite,
            quantization=quantization, representative_data=representative_data,
            max_length=max_length, tolerance=tolerance, lstm_kernel=lstm_kernel,
            targets=targets)

    version = (versions.next_version(model_dir) if version is None
               else versions.check_version(version, model_dir))
    file_names = [serving_lib.TARGET_FILES[target] for target in targets]
    # SavedModel, one step per TFLite file, then checking and publishing.
    steps = _Steps(2 + len(targets))
    logger.info("export of '%s' version %s: %d steps (SavedModel, %s)", name, version,
                steps.total, ", ".join(file_names + ["publish"]))
    serving_max_length = _serving_max_length(targets, max_length, vectorizer)
    serving = serving_lib.serving_spec(model, vectorizer, serving_max_length)
    if reference is None:
        reference = parity_lib.make_reference(model, vectorizer, verification_data, serving)

    def write_contents(folder):
        exported = saved_model.write_saved_model(
            model, folder, vectorizer=vectorizer, labels=labels,
            max_length=serving_max_length, tolerance=tolerance, reference=reference)
        steps.finished(
            f"SavedModel written and reloaded; signatures {', '.join(exported.signatures)} "
            f"match the model{_largest_diff(exported.parity, 'saved_model')}")
        manifest = dict(exported.manifest, name=name, version=version,
                        quantization=quantization, tflite=None, artifacts={})
        parity = dict(exported.parity)
        for target in targets:
            file_name = serving_lib.TARGET_FILES[target]
            path = os.path.join(folder, file_name)
            report = tflite_lib.export_tflite(
                model, path, quantization=quantization,
                representative_data=representative_data,
                verification_data=reference["inputs"], lstm_kernel=lstm_kernel,
                target=target, max_length=max_length if target == "mediapipe" else None,
                vectorizer=vectorizer if target == "mediapipe" else None,
                labels=labels if target == "mediapipe" else None,
                verification_texts=reference.get("texts"))
            # batch_size: the file takes that many rows per invoke; more fail at
            # allocate (a runtime reading only the shape must not answer for one row).
            manifest["artifacts"][file_name] = {
                "target": target, "max_length": report.max_length,
                "batch_size": report.batch_size,
                "runtimes_verified": report.runtimes_verified}
            if target == "litert":
                manifest["tflite"] = dict(report.to_dict(), path=file_name)
                parity.update(_tflite_parity(path, serving, reference, vectorizer))
            else:
                manifest["artifacts"][file_name]["report"] = dict(report.to_dict(),
                                                                  path=file_name)
                parity[f"{target}_max_abs_diff"] = report.max_abs_diff
            if quantization is not None:
                # Quantized files differ by design; the figures are for information.
                parity["tflite_quantized"] = True
            steps.finished(
                f"{file_name} converted ({target}, {quantization or 'float32'}); verified in "
                + " and ".join(_RUNTIME_NAMES.get(runtime, runtime)
                               for runtime in report.runtimes_verified)
                + f", max |diff| {report.max_abs_diff:.1e} against the model")
        checked = {key: value for key, value in parity.items()
                   if not (quantization is not None
                           and key.startswith(("tflite", "mediapipe")))}
        parity_lib.check_parity(checked, tolerance, where=f"export_model({name!r})")
        manifest["parity"] = parity
        manifest["files"] = manifest_lib.file_sizes(folder)
        manifest_lib.write_manifest(folder, manifest)
        return manifest

    final_dir, manifest = versions.write_version_atomically(model_dir, version, write_contents)
    steps.finished(f"parity checked, manifest.json written; published {final_dir}")
    return ExportResult(name=name, version=version, path=final_dir,
                        files=manifest_lib.file_sizes(final_dir),
                        parity=manifest["parity"], tflite=manifest["tflite"],
                        manifest=manifest)
