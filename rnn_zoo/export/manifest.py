"""`manifest.json`: what an exported version holds and how to feed it.

The manifest is plain JSON beside `saved_model.pb` so that a server, a phone app
or `rnn_zoo.export.load_exported` can validate requests without Python objects:

* `serving`: the input (token ids or features), `vocab_size`, `max_length`,
  the output, the signatures, and which Python modules the SavedModel needs
  (`tensorflow_text` for the raw-text signature: its ops are not part of core
  TensorFlow, so `import tensorflow_text` must run before `tf.saved_model.load`).
* `files`: every file of the version with its size in bytes.
* `tflite`: ops, size, latency, quantization of `model.tflite`.
* `parity`: largest absolute difference between each exported artifact and the
  Keras model on the backend it was trained on.
* `versions`: the library versions that wrote it; `trained_backend`.
"""

import datetime
import importlib.metadata
import json
import os
import platform

from rnn_zoo import atomic

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT_VERSION = 1
_LIBRARIES = ("tensorflow", "tensorflow-text", "keras", "ai-edge-litert", "numpy", "rnn-zoo")


def library_versions():
    """Installed versions of the libraries that matter for reading an export.

    Returns:
        dict name -> version string (None when not installed), plus "python".

    Example:

    >>> library_versions()["keras"]
    '3.15.1'
    """
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_sizes(directory):
    """Sizes in bytes of every file under `directory`, keyed by relative path.

    Example:

    >>> file_sizes("saved_models/m/1")["model.tflite"]
    18324
    """
    sizes = {}
    for folder, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, directory).replace(os.sep, "/")
            sizes[relative] = os.path.getsize(path)
    return dict(sorted(sizes.items()))


def utc_now():
    """The current time, ISO 8601 in UTC, to the second.

    Returns:
        A str.

    Example:

    >>> utc_now()
    '2025-01-31T12:00:00+00:00'
    """
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def write_manifest(directory, manifest):
    """Write `manifest` as `<directory>/manifest.json` (sorted keys, indented), atomically.

    Args:
        directory: the export folder.
        manifest: a JSON-ready dict.

    Returns:
        The path written.

    Example:

    >>> write_manifest("saved_models/m/1", {"format_version": 1})
    'saved_models/m/1/manifest.json'
    """
    path = os.path.join(directory, MANIFEST_FILE)
    files = manifest.get("files")
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if isinstance(files, dict):
        # The manifest lists its own size, which changes the size it lists: settle
        # the figure by rewriting until it no longer moves (two or three passes).
        for _ in range(8):
            size = len(text.encode("utf-8"))
            if files.get(MANIFEST_FILE) == size:
                break
            files[MANIFEST_FILE] = size
            text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return atomic.write_text(path, text)


def _upgrade(manifest):
    # Manifests written before the rename call the text vocabulary's size
    # "vocabulary_size"; readers see the one name, `vocab_size`.
    text = (manifest.get("serving") or {}).get("text")
    if isinstance(text, dict) and "vocabulary_size" in text:
        size = text.pop("vocabulary_size")
        text.setdefault("vocab_size", size)
    return manifest


def read_manifest(directory):
    """Read `<directory>/manifest.json`.

    Args:
        directory: an export folder (a version or a SavedModel written by
            `export_saved_model`).

    Returns:
        The manifest dict.

    Raises:
        FileNotFoundError: there is no manifest.
        ValueError: it is not a manifest this version of rnn-zoo can read.

    Example:

    >>> read_manifest("saved_models/m/1")["serving"]["max_length"]
    512
    """
    path = os.path.join(directory, MANIFEST_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No {MANIFEST_FILE} in {directory}: not an rnn-zoo export.")
    with open(path, encoding="utf-8") as handle:
        try:
            manifest = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {error.lineno}: invalid JSON ({error.msg}).") from None
    found = manifest.get("format_version") if isinstance(manifest, dict) else None
    if found != MANIFEST_FORMAT_VERSION:
        raise ValueError(
            f"{path}: format_version={found!r}; this rnn-zoo reads "
            f"format_version={MANIFEST_FORMAT_VERSION}."
        )
    return _upgrade(manifest)


def read_labels(path):
    """Read a labels file: one label per line, line k = class k.

    Args:
        path: the labels file (`labels.txt`).

    Returns:
        A list of str.

    Raises:
        ValueError: empty file or an empty line.

    Example:

    >>> read_labels("saved_models/m/1/labels.txt")
    ['negative', 'positive']
    """
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError(f"{path}: no labels (expected one label per line).")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ValueError(f"{path}, line {number}: empty label.")
    return lines


def write_labels(path, labels):
    """Write one label per line (line k = class k), atomically.

    Args:
        path: the file to write.
        labels: class names, non-empty single-line strings.

    Returns:
        The path written.

    Raises:
        ValueError: an empty or multi-line label.

    Example:

    >>> write_labels("labels.txt", ["negative", "positive"])
    'labels.txt'
    """
    labels = [str(label) for label in labels]
    for index, label in enumerate(labels):
        if not label.strip() or "\n" in label:
            raise ValueError(
                f"Invalid value received for argument `labels`. Expected non-empty "
                f"single-line strings. Received: labels[{index}]={label!r}"
            )
    return atomic.write_text(path, "".join(label + "\n" for label in labels))
