"""Loading `.keras` files safely."""

import os
import zipfile
import zlib

import keras

# Importing the layer modules registers every zoo layer with Keras
# (`register_keras_serializable`), which safe-mode loading looks them up by.
from rnn_zoo import heads  # noqa: F401
from rnn_zoo import layers  # noqa: F401

MAX_ARCHIVE_BYTES = 2**34
"""Uncompressed bytes of all members of a `.keras` archive (16 GiB), checked from
the archive's directory before anything is decompressed."""


def _reason(error):
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first[:500]}" if first else type(error).__name__


def _check_archive(path):
    """Raise ValueError naming `path` unless it is a complete, undamaged zip archive.

    Every member is read and checked against its CRC-32 (`testzip`): a
    truncated or bit-flipped file is refused here, before Keras would read a
    damaged weight without noticing (h5py reads members through a stream
    whose CRC is only checked at its very end).
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a .keras file (no zip directory at its end: "
                         "truncated, or not written by keras.Model.save).")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(member.file_size for member in members)
            if total > MAX_ARCHIVE_BYTES:
                raise ValueError(f"{path}: its members would take {total:,} bytes "
                                 f"uncompressed; expected at most {MAX_ARCHIVE_BYTES:,} "
                                 "(rnn_zoo.saving.MAX_ARCHIVE_BYTES).")
            damaged = archive.testzip()
    except ValueError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: a damaged .keras archive ({_reason(error)}).") from None
    if damaged is not None:
        raise ValueError(f"{path}: a damaged .keras archive (member {damaged!r} fails its "
                         "CRC-32 check).")
    names = {member.filename for member in members}
    if "config.json" not in names:
        raise ValueError(f"{path}: not a .keras model (its archive holds no config.json).")


def load_model(path, compile=True):
    """Load a `.keras` file in safe mode, with the zoo's layers registered.

    Safe mode refuses to deserialize arbitrary Python (lambdas), so a file
    handed to us can't run code on load. The file is checked first: a missing
    file, a folder, a file that is no zip archive, and a truncated or
    bit-flipped archive (every member is checked against its CRC-32) each
    raise a `ValueError` that names the file, as does anything Keras can't
    read.

    Args:
        path: path to a `.keras` file.
        compile: bool, default True, restore the training configuration.

    Returns:
        The `keras.Model`.

    Raises:
        ValueError: `path` is not a readable `.keras` model, or safe mode
            refused it; the message names the file.

    Example:

    >>> model.save("model.keras"); same = rnn_zoo.load_model("model.keras")
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise ValueError("Invalid value received for argument `path`. Expected a path to a "
                         f".keras file. Received: path={path!r}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(compile, bool):
        raise ValueError("Invalid value received for argument `compile`. Expected True or "
                         f"False. Received: compile={compile!r}")
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file; expected a .keras file.")
    if os.path.isdir(path):
        raise ValueError(f"{path}: a folder, not a .keras file (a bundle folder loads with "
                         "rnn_zoo.Bundle.load, an exported version with "
                         "rnn_zoo.export.load_exported).")
    _check_archive(path)
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # whatever Keras raises, the file is what is wrong
        text = str(error)
        refused = "safe_mode" in text or "unsafe" in text.lower()
        what = "refused in safe mode" if refused else "not a readable .keras model"
        raise ValueError(f"{path}: {what} ({type(error).__name__}: {text[:2000]})") from error
