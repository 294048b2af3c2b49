"""Export a model trained on jax or torch by handing it to a TensorFlow-backend process.

SavedModel and TFLite are TensorFlow formats, and Keras picks its backend once per
process. So on jax or torch the exporter saves the model to a temporary `.keras`
file (weights and config only, loaded back in safe mode), computes the model's
predictions on the verification inputs *on the original backend*, and runs
`python -m rnn_zoo.export REQUEST.json` with `KERAS_BACKEND=tensorflow`. The child
(`rnn_zoo/export/__main__.py`) exports exactly as on TensorFlow, but checks every
artifact against the original backend's predictions, so the parity figures in the
manifest answer "does the exported file match the model I trained?".

The request and the reply are JSON plus one `.npz` of arrays: nothing is pickled.
The child's `rnn_zoo` log records (the "export step k/n" progress) come back on
its stdout, one line each, and are logged again here as they arrive.
This module holds the parent's side and the request format both sides read;
it imports only the shared leaves, so the orchestrator can call it and the
child can read requests without an import cycle.
"""

import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading

import numpy as np

from rnn_zoo.export import parity
from rnn_zoo.export.results import ExportResult
from rnn_zoo.export.results import SavedModelExport
from rnn_zoo.export.results import VersionExistsError

logger = logging.getLogger(__name__)

# Arguments that are arrays travel in the .npz, the rest in the JSON request.
_ARRAY_ARGUMENTS = ("representative_data",)
# Arguments that are paths: made absolute, since the child runs elsewhere.
_PATH_ARGUMENTS = ("directory", "export_root")
# What each exported function returns, rebuilt from the child's JSON reply.
_RESULT_TYPES = {"export_saved_model": SavedModelExport, "export_model": ExportResult}
# Errors the child reports by type name that the caller may catch by type.
_ERROR_TYPES = {"VersionExistsError": VersionExistsError}


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
    # The folder holding the `rnn_zoo` package (three levels above this file),
    # so the child imports the same rnn_zoo as the parent.
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# The child writes each `rnn_zoo` log record to stdout as one line: this
# prefix, then JSON [logger name, level, message] (JSON keeps a message with
# newlines on one line); anything else a library prints there is not ours.
LOG_LINE_PREFIX = "rnn_zoo-log "


class _ForwardFormatter(logging.Formatter):
    def format(self, record):
        return LOG_LINE_PREFIX + json.dumps([record.name, record.levelno, record.getMessage()])


def forward_logs_to_stdout():
    """The child's side: send every `rnn_zoo` INFO record to stdout for the parent.

    The parent (`export_in_tensorflow`) reads the lines as they come and logs
    them again on its own loggers, so the export's progress ("export step
    k/n: ...") reaches whoever listens in the parent, as on TensorFlow.

    Returns:
        The `logging.Handler` it added to the "rnn_zoo" logger.

    Example:

    >>> handler = forward_logs_to_stdout()
    >>> logging.getLogger("rnn_zoo.export.api").info("export step %d/%d: ...", 1, 3)
    rnn_zoo-log ["rnn_zoo.export.api", 20, "export step 1/3: ..."]
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_ForwardFormatter())
    package_logger = logging.getLogger("rnn_zoo")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    # Forwarded once: a handler that TensorFlow adds to the root logger would
    # also write every record to the child's stderr.
    package_logger.propagate = False
    return handler


def _relog(line):
    # A forwarded record, logged again under its own name in this process;
    # lines that are not forwarded records are dropped, as before.
    if not line.startswith(LOG_LINE_PREFIX):
        return
    try:
        name, level, message = json.loads(line[len(LOG_LINE_PREFIX):])
    except ValueError:
        return
    if not (isinstance(name, str) and name.startswith("rnn_zoo")):
        name = "rnn_zoo.export.api"
    logging.getLogger(name).log(int(level), "%s", message)


def _run_child(command, environment, stderr_path, timeout):
    # Popen, not run: the child's log lines are logged here as they arrive,
    # so progress shows while the export runs. stderr goes to a file (read
    # only when the child fails), so neither pipe can fill up and block.
    with open(stderr_path, "w", encoding="utf-8") as stderr:
        child = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                                 stderr=stderr, text=True, errors="replace")
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            child.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            for line in child.stdout:
                _relog(line.rstrip("\n"))
            child.stdout.close()
            returncode = child.wait()
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            timer.cancel()
    if timed_out.is_set():
        # As `subprocess.run(timeout=...)` did before the lines were read live.
        raise subprocess.TimeoutExpired(command, timeout)
    return returncode


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
        VersionExistsError: the child found the version already there.
        ValueError: the child refused the export (bad argument, parity); the
            message is the child's.
        RuntimeError: the child crashed; the message holds its stderr tail.

    Example:

    >>> # KERAS_BACKEND=jax
    >>> result = export_in_tensorflow("export_model", model, export_root="saved_models")
    >>> result.manifest["trained_backend"]
    'jax'
    """
    import keras

    with tempfile.TemporaryDirectory(prefix="rnn_zoo_export_") as workdir:
        model_path = os.path.join(workdir, "model.keras")
        model.save(model_path)
        vectorizer_dir = None
        if vectorizer is not None:
            vectorizer_dir = os.path.join(workdir, "vectorizer")
            vectorizer.save(vectorizer_dir)
        reference = parity.make_reference(model, vectorizer, verification_data)
        arrays = _reference_to_arrays(reference)
        for name in _ARRAY_ARGUMENTS:
            if kwargs.get(name) is not None:
                arrays[f"argument_{name}"] = np.asarray(kwargs.pop(name))
        arrays_path = os.path.join(workdir, "arrays.npz")
        np.savez(arrays_path, **arrays)
        for key in _PATH_ARGUMENTS:
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
        logger.info("Exporting in a TensorFlow-backend process (model trained on %s) ...",
                    keras.backend.backend())
        stderr_path = os.path.join(workdir, "stderr.txt")
        returncode = _run_child([sys.executable, "-m", "rnn_zoo.export", request_path],
                                environment, stderr_path, timeout)
        result_path = request["result_path"]
        if not os.path.exists(result_path):
            with open(stderr_path, encoding="utf-8", errors="replace") as handle:
                stderr = handle.read()
            raise RuntimeError(
                f"The TensorFlow export process failed (exit {returncode}):\n"
                + stderr[-3000:])
        with open(result_path, encoding="utf-8") as handle:
            result = json.load(handle)
    if "error" in result:
        raise _ERROR_TYPES.get(result.get("type"), ValueError)(result["error"])
    return _RESULT_TYPES[function_name](**result["value"])


def read_request(request_path):
    """The child's side: read a request written by `export_in_tensorflow`.

    Loads the model (safe mode) and the vectorizer under the child's backend.

    Args:
        request_path: the request's JSON file.

    Returns:
        dict with `function` (the name to call), `model`, `vectorizer`,
        `reference` (the trained backend's outputs), `kwargs` (the rest of
        the arguments) and `result_path`.

    Example:

    >>> request = read_request("/tmp/rnn_zoo_export_x/request.json")
    >>> request["function"], request["reference"]["backend"]
    ('export_model', 'jax')
    """
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
    return {
        "function": request["function"],
        "model": model,
        "vectorizer": vectorizer,
        "reference": _reference_from_arrays(arrays, request["trained_backend"]),
        "kwargs": kwargs,
        "result_path": request["result_path"],
    }


def write_reply(result_path, value=None, error=None):
    """The child's side: write the result (a dataclass) or the refusal for the parent.

    Args:
        result_path: where the parent looks for the reply.
        value: the dataclass the export returned, or None.
        error: the exception that refused the export, or None.

    Returns:
        The process exit status: 0 for a result, 1 for a refusal.

    Example:

    >>> write_reply(request["result_path"], value=result)
    0
    """
    if error is not None:
        reply, status = {"error": str(error), "type": type(error).__name__}, 1
    else:
        reply, status = {"value": dataclasses.asdict(value)}, 0
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(reply, handle)
    return status
