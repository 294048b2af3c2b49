"""Export a model trained on jax or torch by handing it to a TensorFlow-backend process.

SavedModel and TFLite are TensorFlow formats, and Keras picks its backend once per
process. So on jax or torch the exporter saves the model to a temporary `.keras`
file (weights and config only, loaded back in safe mode), computes the model's
predictions on the verification inputs *on the original backend*, and runs
`python -m rnn_zoo.export REQUEST.json` with `KERAS_BACKEND=tensorflow`. The child
exports exactly as on TensorFlow, but checks every artifact against the original
backend's predictions, so the parity figures in the manifest answer "does the
exported file match the model I trained?".

The request and the reply are JSON plus one `.npz` of arrays: nothing is pickled.
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

# Arguments that are arrays travel in the .npz, the rest in the JSON request.
_ARRAY_ARGUMENTS = ("representative_data",)


def _reference_to_arrays(reference):
    arrays = {"inputs": reference["inputs"], "outputs": reference["outputs"]}
    if "texts" in reference:
        arrays.update(texts=np.asarray(reference["texts"], dtype=str),
                      text_ids=reference["text_ids"], text_outputs=reference["text_outputs"])
    return arrays


def _reference_from_arrays(arrays, backend):
    reference = {"backend": backend, "inputs": arrays["inputs"], "outputs": arrays["outputs"]}
    if "texts" in arrays:
        reference.update(texts=[str(text) for text in arrays["texts"]],
                         text_ids=arrays["text_ids"], text_outputs=arrays["text_outputs"])
    return reference


def _package_parent():
    import rnn_zoo

    return os.path.dirname(os.path.dirname(os.path.abspath(rnn_zoo.__file__)))


def export_in_tensorflow(function_name, model, vectorizer=None, verification_data=None,
                         timeout=900, **kwargs):
    """Run `export_saved_model` or `export_model` for `model` in a TF-backend process.

    Args:
        function_name: "export_saved_model" or "export_model".
        model: the `keras.Model` on the current (non-TF) backend.
        vectorizer: optional `TextVectorizer`, passed as `vocab.txt` + JSON.
        verification_data: optional inputs to compare on.
        timeout: seconds before the child is killed, default 900.
        **kwargs: the other JSON-ready arguments of `function_name` (paths,
            names, numbers) and `representative_data` (an array).

    Returns:
        What `function_name` returns (`SavedModelExport` or `ExportResult`).

    Raises:
        ValueError: the child refused the export (bad argument, parity, an
            existing version); the message is the child's.
        RuntimeError: the child crashed; the message holds its stderr tail.
    """
    import keras

    from rnn_zoo.export import saved_model

    with tempfile.TemporaryDirectory(prefix="rnn_zoo_export_") as workdir:
        model_path = os.path.join(workdir, "model.keras")
        model.save(model_path)
        vectorizer_dir = None
        if vectorizer is not None:
            vectorizer_dir = os.path.join(workdir, "vectorizer")
            vectorizer.save(vectorizer_dir)
        reference = saved_model.make_reference(model, vectorizer, verification_data)
        arrays = _reference_to_arrays(reference)
        for name in _ARRAY_ARGUMENTS:
            if kwargs.get(name) is not None:
                arrays[f"argument_{name}"] = np.asarray(kwargs.pop(name))
        arrays_path = os.path.join(workdir, "arrays.npz")
        np.savez(arrays_path, **arrays)
        for key in ("directory", "root"):
            if kwargs.get(key) is not None:
                kwargs[key] = os.path.abspath(os.fspath(kwargs[key]))
        request = {
            "function": function_name,
            "model_path": model_path,
            "vectorizer_dir": vectorizer_dir,
            "arrays_path": arrays_path,
            "trained_backend": keras.backend.backend(),
            "kwargs": kwargs,
            "result_path": os.path.join(workdir, "result.json"),
        }
        request_path = os.path.join(workdir, "request.json")
        with open(request_path, "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        environment = dict(os.environ, KERAS_BACKEND="tensorflow")
        environment["PYTHONPATH"] = os.pathsep.join(
            [_package_parent()] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        print(f"Exporting in a TensorFlow-backend process (model trained on "
              f"{keras.backend.backend()}) ...", file=sys.stderr, flush=True)
        completed = subprocess.run(
            [sys.executable, "-m", "rnn_zoo.export", request_path], env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        result_path = request["result_path"]
        if not os.path.exists(result_path):
            raise RuntimeError(
                f"The TensorFlow export process failed (exit {completed.returncode}):\n"
                + completed.stderr[-3000:])
        with open(result_path, encoding="utf-8") as handle:
            result = json.load(handle)
    if "error" in result:
        if result.get("type") == "VersionExistsError":
            from rnn_zoo.export.versions import VersionExistsError

            raise VersionExistsError(result["error"])
        raise ValueError(result["error"])
    if function_name == "export_saved_model":
        return saved_model.SavedModelExport(**result["value"])
    from rnn_zoo.export.versions import ExportResult

    return ExportResult(**result["value"])


def run_request(request_path):
    """The child side: load the model under TensorFlow, export, write the reply.

    Returns:
        The process exit status (0, or 1 when the export was refused).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("run_request needs KERAS_BACKEND=tensorflow.")
    from rnn_zoo.export import saved_model
    from rnn_zoo.export import versions
    from rnn_zoo.saving import load_model

    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    model = load_model(request["model_path"], compile=False)
    vectorizer = None
    if request["vectorizer_dir"]:
        from rnn_zoo.text import TextVectorizer

        vectorizer = TextVectorizer.load(request["vectorizer_dir"])
    with np.load(request["arrays_path"], allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    kwargs = dict(request["kwargs"])
    for name in _ARRAY_ARGUMENTS:
        if f"argument_{name}" in arrays:
            kwargs[name] = arrays.pop(f"argument_{name}")
    reference = _reference_from_arrays(arrays, request["trained_backend"])
    function = {"export_saved_model": saved_model.export_saved_model,
                "export_model": versions.export_model}[request["function"]]
    try:
        value = function(model, vectorizer=vectorizer, reference=reference, **kwargs)
        reply, status = {"value": dataclasses.asdict(value)}, 0
    except ValueError as error:
        reply, status = {"error": str(error), "type": type(error).__name__}, 1
    with open(request["result_path"], "w", encoding="utf-8") as handle:
        json.dump(reply, handle)
    return status
