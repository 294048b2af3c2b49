"""Atomic file writes: a reader sees the old file or the new one, never half.

Every file rnn-zoo writes that someone may read back (checkpoints, training
state, vocabularies, TFLite files, dataset caches) goes through this module:
the content is written to a temporary file in the destination's folder (same
file system), flushed to disk, given ordinary permissions and renamed onto
the destination with `os.replace`, which is atomic on POSIX and Windows.

Keeping every write in one place also gives the crash-consistency tests a
single seam: `_replace` is the one call that makes a write visible (and
`_append` the one that extends a log).

Example:

>>> from rnn_zoo import atomic
>>> atomic.write_json("run/metrics.json", {"accuracy": 0.9})
>>> atomic.write_with("run/model.keras", model.save)
"""

import contextlib
import json
import os
import shutil
import tempfile


def _umask():
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(source, destination):
    """The single point where a write becomes visible (tests inject faults here).

    Every write of this module, `copy_file` and `publish_directory` (whole
    folders, e.g. an export version) make their result visible here and
    nowhere else.
    """
    os.replace(source, destination)


def _append(path, data):
    """The single point where an appended record becomes visible (tests inject faults here).

    One `os.write` on an `O_APPEND` descriptor: concurrent appenders on one
    host never interleave within a record, and a record is never rewritten.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        written = os.write(descriptor, data)
    finally:
        os.close(descriptor)
    if written != len(data):
        # Only a full disk cuts a regular file's write short; readers skip the cut record.
        raise OSError(f"{path}: only {written} of {len(data)} bytes appended (disk full?)")


def append_line(path, line):
    """Append `line` and a "\\n" to the log `path` (created if missing), in one write.

    For logs only (a record per event, e.g. `trial_runs.jsonl`): their
    readers skip a last line cut short by a crash, which the all-or-nothing
    writes above never leave.

    Args:
        path: the log file.
        line: one line of text, without its "\\n".

    Returns:
        `path`.
    """
    if "\n" in line:
        raise ValueError(f"append_line: one line per record. Received: line={line!r}")
    _append(os.fspath(path), (line + "\n").encode("utf-8"))
    return path


def write_with(path, write, mode=None):
    """Call `write(temporary_path)`, then move the file onto `path` atomically.

    Args:
        path: the destination file. Its folder is created if missing.
        write: a callable taking the temporary path (which keeps `path`'s
            extension, since Keras checks for ".keras") and writing to it.
        mode: file permissions; default 0o666 less the process umask, as for
            any file `open` creates (mkstemp alone would leave 0o600).

    Returns:
        `path`.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, extension = os.path.splitext(os.path.basename(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{extension}",
                                         dir=folder)
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, (0o666 & ~_umask()) if mode is None else mode)
        _replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
    return path


def copy_file(source, path, mode=None):
    """Copy the finished file `source` to `path`, atomically. Returns `path`.

    A copy, not a hard link: writing into one of the two names in place must
    never change the other.
    """
    return write_with(path, lambda temporary: shutil.copyfile(source, temporary), mode=mode)


def publish_directory(source, destination):
    """Rename the finished folder `source` onto the new name `destination`.

    One `os.replace` within the same file system: a reader sees no folder or
    the complete one. On POSIX the rename fails (`ENOTEMPTY`/`EEXIST`) when
    `destination` is a non-empty folder, so a published folder is never
    replaced; callers check that `destination` does not exist first.

    Returns:
        `destination`.
    """
    _replace(source, destination)
    return destination


def write_bytes(path, content, mode=None):
    """Write `content` (bytes) to `path` atomically. Returns `path`."""

    def write(temporary):
        with open(temporary, "wb") as stream:
            stream.write(content)

    return write_with(path, write, mode=mode)


def write_text(path, text, mode=None):
    """Write `text` as UTF-8 with "\\n" line ends to `path` atomically. Returns `path`."""
    return write_bytes(path, text.encode("utf-8"), mode=mode)


def write_json(path, payload, mode=None):
    """Write `payload` as indented JSON to `path` atomically. Returns `path`."""
    return write_text(path, json.dumps(payload, indent=1, sort_keys=False) + "\n", mode=mode)
