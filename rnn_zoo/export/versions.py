"""Immutable, integer-numbered versions written atomically (the TF Serving layout).

```
<root>/<name>/<version>/      saved_model.pb, variables/, model.tflite, manifest.json, ...
<root>/<name>/.partial-v3-pid812-k2j9/   a version being written (ignored by everyone)
```

A version is first written into a temporary folder in the same parent, checked,
and then moved into place with one `os.rename`. A rename within one file system is
atomic, so a reader (TF Serving polls the parent for numeric folder names) sees
either no version or a complete one, never a half-written one, even if the
exporting process is killed with SIGKILL. The temporary folder's name starts with
a dot and is not a number, so TF Serving and `list_versions` ignore it; its name
records the writer's pid so that a later export can delete the leftovers of a dead
writer (`clean_stale_partials`).

Existing versions are never replaced: renaming onto an existing, non-empty folder
fails on POSIX (`ENOTEMPTY`/`EEXIST`), and the check is made again at that moment,
so two concurrent exports of the same version can't both win.

The layout helpers import nothing heavy; `export_model` (the versioned export
itself) imports TensorFlow only when called.
"""

import dataclasses
import errno
import os
import re
import shutil
import tempfile

_PARTIAL_PREFIX = ".partial-"
_PARTIAL_PATTERN = re.compile(r"^\.partial-v(\d+)-pid(\d+)-")


class VersionExistsError(FileExistsError, ValueError):
    """Exporting onto a version that already exists (versions are immutable).

    A ValueError too, so the command line reports it as bad input (exit 2).
    """


def list_versions(model_dir):
    """The complete versions under `model_dir`, ascending.

    Args:
        model_dir: path of `<root>/<name>`; may not exist yet.

    Returns:
        Sorted list of ints: the folders whose name is a non-negative integer.
        Partial (temporary) folders are not listed.

    Example:

    >>> list_versions("saved_models/lstm_text_classifier")
    [1, 2]
    """
    if not os.path.isdir(model_dir):
        return []
    return sorted(
        int(entry) for entry in os.listdir(model_dir)
        if entry.isdigit() and os.path.isdir(os.path.join(model_dir, entry))
    )


def next_version(model_dir):
    """One more than the highest complete version, 1 for a new model.

    Example:

    >>> next_version("saved_models/new_model")
    1
    """
    versions = list_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def check_version(version, model_dir):
    """Validate a requested version number and refuse an existing one.

    Args:
        version: int >= 0.
        model_dir: `<root>/<name>`.

    Returns:
        The version as int.

    Raises:
        ValueError: not a non-negative integer.
        VersionExistsError: the version exists already.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(
            "Invalid value received for argument `version`. Expected an integer >= 0 "
            f"(TF Serving reads numeric folder names). Received: version={version!r}"
        )
    final_dir = os.path.join(model_dir, str(version))
    if os.path.exists(final_dir):
        raise VersionExistsError(
            f"Version {version} already exists at {final_dir}; versions are immutable. "
            f"Pass version=None for the next free version ({next_version(model_dir)})."
        )
    return version


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def clean_stale_partials(model_dir):
    """Delete temporary folders left by exports whose process has died.

    Folders of a writer that is still running (another export in progress) are
    kept. A pid is only meaningful on the machine that wrote it; on a shared
    network file system, run exports from one host per model name.

    Args:
        model_dir: `<root>/<name>`.

    Returns:
        List of the deleted paths.

    Example:

    >>> clean_stale_partials("saved_models/lstm_text_classifier")
    ['saved_models/lstm_text_classifier/.partial-v3-pid812-k2j9']
    """
    if not os.path.isdir(model_dir):
        return []
    removed = []
    for entry in os.listdir(model_dir):
        match = _PARTIAL_PATTERN.match(entry)
        if not match:
            continue
        # A live pid (this process included: another thread may be exporting)
        # is a writer at work; only a dead writer's folder is garbage.
        if _pid_alive(int(match.group(2))):
            continue
        path = os.path.join(model_dir, entry)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _fsync_tree(path):
    # rename() is atomic for the directory entry, but without fsync a power cut can
    # leave a renamed folder whose files are still empty on disk.
    for folder, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(folder)


def _fsync_dir(path):
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on directories
    finally:
        os.close(descriptor)


def write_version_atomically(model_dir, version, write_contents):
    """Write a version folder through a temporary folder and one atomic rename.

    Args:
        model_dir: `<root>/<name>`, created if missing.
        version: int >= 0, must not exist yet.
        write_contents: callable taking the temporary folder's path; it writes
            every file of the version there and checks them (raise to abort).
            Its return value is passed through.

    Returns:
        `(final_path, value returned by write_contents)`.

    Raises:
        VersionExistsError: the version exists (before or after writing).
        Whatever `write_contents` raises; the temporary folder is deleted.

    Example:

    >>> def write(folder):
    ...     open(os.path.join(folder, "manifest.json"), "w").write("{}")
    >>> write_version_atomically("saved_models/m", 1, write)
    ('saved_models/m/1', None)
    """
    check_version(version, model_dir)
    os.makedirs(model_dir, exist_ok=True)
    clean_stale_partials(model_dir)
    partial_dir = tempfile.mkdtemp(
        prefix=f"{_PARTIAL_PREFIX}v{version}-pid{os.getpid()}-", dir=model_dir
    )
    final_dir = os.path.join(model_dir, str(version))
    try:
        value = write_contents(partial_dir)
        # mkdtemp makes the folder private (0700); a server running as another
        # user must be able to read the published version.
        os.chmod(partial_dir, 0o755)
        _fsync_tree(partial_dir)
        # Checked again: another process may have written the version meanwhile.
        check_version(version, model_dir)
        try:
            os.rename(partial_dir, final_dir)
        except OSError as error:
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise VersionExistsError(
                    f"Version {version} appeared at {final_dir} while exporting; "
                    "versions are immutable, nothing was replaced."
                ) from None
            raise
        _fsync_dir(model_dir)
    except BaseException:
        shutil.rmtree(partial_dir, ignore_errors=True)
        raise
    return final_dir, value


# --------------------------------------------------------------------------- export_model

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclasses.dataclass
class ExportResult:
    """What `export_model` wrote.

    Attributes:
        name: the model name (folder under `root`).
        version: the integer version.
        path: `<root>/<name>/<version>`.
        files: relative path -> size in bytes, every file of the version.
        parity: max absolute differences of each artifact against the model
            on the backend it was trained on.
        tflite: the TFLite report as a dict (ops, size_bytes, latency_ms,
            quantization, ...), or None with `tflite=False`.
        manifest: the whole `manifest.json`.
    """

    name: str
    version: int
    path: str
    files: dict
    parity: dict
    tflite: dict
    manifest: dict


def _check_name(name):
    if not isinstance(name, str) or not _NAME_PATTERN.match(name) or name.isdigit():
        raise ValueError(
            "Invalid value received for argument `name`. Expected a folder name of "
            "letters, digits, '_', '.', '-' (not starting with '.' or '-', not a number). "
            f"Received: name={name!r}"
        )
    return name


def _tflite_parity(path, serving, reference, vectorizer):
    # Independent of export_tflite's own check: runs the file through the same
    # predictor users get and compares with the *trained* backend's outputs.
    from rnn_zoo.export.predictor import TFLitePredictor
    from rnn_zoo.export.saved_model import _max_abs_diff

    predictor = TFLitePredictor(path, serving, vectorizer=vectorizer)
    parity = {"tflite_max_abs_diff": _max_abs_diff(
        predictor._run(reference["inputs"]), reference["outputs"])}
    if "text_ids" in reference:
        parity["tflite_text_max_abs_diff"] = _max_abs_diff(
            predictor._run(reference["text_ids"]), reference["text_outputs"])
    return parity


def export_model(model, name=None, root="saved_models", version=None, vectorizer=None,
                 labels=None, tflite=True, quantization=None, representative_data=None,
                 max_length=None, verification_data=None, tolerance=1e-5, reference=None,
                 lstm_kernel="fused"):
    """Export `model` as an immutable version in the TF Serving layout.

    Writes `<root>/<name>/<version>/` holding `saved_model.pb` + `variables/`
    (signatures `serving_default`, `ids`/`features`, and `text` with a
    vectorizer), `model.tflite` (builtins only, fused LSTM kernels),
    `manifest.json`, `vocab.txt` + `text_vectorizer.json` and `labels.txt`.
    Everything is written into a temporary folder beside the versions,
    reloaded and compared with the model, and only then renamed into place
    (see the module docstring): a killed export leaves no version behind.

    Args:
        model: a zoo `keras.Model`, trained on any backend (jax and torch
            models are exported by a TensorFlow subprocess and compared with
            their own backend's predictions).
        name: folder name under `root`; default `model.name`.
        root: the export root, default "saved_models".
        version: int >= 0 or None (default: one more than the highest).
            An existing version is refused (`VersionExistsError`).
        vectorizer: optional `rnn_zoo.text.TextVectorizer` (token models).
        labels: optional class names, one per output class.
        tflite: bool, default True: also write `model.tflite`.
        quantization: None, "float16", "dynamic_int8" or "int8" (TFLite only).
        representative_data: calibration inputs for "int8".
        lstm_kernel: "fused" (default) or "loop": how `model.tflite` writes
            LSTM layers (see `rnn_zoo.export.tflite.export_tflite`).
        max_length: longest accepted input in steps (default: the
            vectorizer's max_length, else 512); recorded in the manifest.
        verification_data: inputs to compare on; default a small padded batch.
        tolerance: float, default 1e-5: largest allowed absolute difference for
            the SavedModel and a float32 TFLite file (quantized files are
            reported, not held to it).
        reference: internal (cross-backend exports).

    Returns:
        An `ExportResult`.

    Example:

    >>> result = rnn_zoo.export.export_model(model, vectorizer=vectorizer,
    ...                                      labels=["negative", "positive"])
    >>> result.path, result.tflite["ops"]
    ('saved_models/lstm_text_classifier/1', ['FULLY_CONNECTED', ..., 'UNIDIRECTIONAL_SEQUENCE_LSTM'])
    """
    import keras

    from rnn_zoo.export.tflite import LSTM_KERNELS
    from rnn_zoo.validation import check_choice

    name = _check_name(name if name is not None else model.name)
    check_choice(lstm_kernel, "lstm_kernel", LSTM_KERNELS, where="export_model")
    model_dir = os.path.join(os.fspath(root), name)
    if version is not None:
        check_version(version, model_dir)  # refuse before any work
    if keras.backend.backend() != "tensorflow":
        from rnn_zoo.export import cross_backend

        return cross_backend.export_in_tensorflow(
            "export_model", model, vectorizer=vectorizer, verification_data=verification_data,
            name=name, root=root, version=version, labels=labels, tflite=tflite,
            quantization=quantization, representative_data=representative_data,
            max_length=max_length, tolerance=tolerance, lstm_kernel=lstm_kernel)
    from rnn_zoo.export import manifest as manifest_lib
    from rnn_zoo.export import saved_model

    version = next_version(model_dir) if version is None else check_version(version, model_dir)
    if quantization is not None and not tflite:
        raise ValueError(
            "Invalid value received for argument `quantization`: it applies to the TFLite "
            f"file, but tflite=False. Received: quantization={quantization!r}"
        )
    serving = saved_model.serving_spec(model, vectorizer, max_length)
    if reference is None:
        reference = saved_model.make_reference(model, vectorizer, verification_data, serving)

    def write_contents(folder):
        print(f"Writing SavedModel for '{name}' version {version} ...", flush=True)
        exported = saved_model.export_saved_model(
            model, folder, vectorizer=vectorizer, labels=labels, max_length=max_length,
            tolerance=tolerance, reference=reference)
        manifest = dict(exported.manifest, name=name, version=version,
                        quantization=quantization, tflite=None)
        parity = dict(exported.parity)
        if tflite:
            from rnn_zoo.export.tflite import export_tflite

            print(f"Writing model.tflite (quantization={quantization}) ...", flush=True)
            report = export_tflite(
                model, os.path.join(folder, "model.tflite"), quantization=quantization,
                representative_data=representative_data,
                verification_data=reference["inputs"], lstm_kernel=lstm_kernel)
            report = dict(report.to_dict(), path="model.tflite")
            manifest["tflite"] = report
            parity.update(_tflite_parity(os.path.join(folder, "model.tflite"), serving,
                                         reference, vectorizer))
            if quantization is not None:
                # Quantized files differ by design; the figures are for information.
                parity["tflite_quantized"] = True
        checked = {key: value for key, value in parity.items()
                   if not (quantization is not None and key.startswith("tflite"))}
        saved_model.check_parity(checked, tolerance, where=f"export_model({name!r})")
        manifest["parity"] = parity
        manifest["files"] = manifest_lib.file_sizes(folder)
        manifest_lib.write_manifest(folder, manifest)
        return manifest

    final_dir, manifest = write_version_atomically(model_dir, version, write_contents)
    files = manifest_lib.file_sizes(final_dir)
    return ExportResult(name=name, version=version, path=final_dir, files=files,
                        parity=manifest["parity"], tflite=manifest["tflite"],
                        manifest=manifest)
