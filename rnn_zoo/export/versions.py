"""Immutable, integer-numbered versions written atomically (the TF Serving layout).

```
<export_root>/<name>/<version>/      saved_model.pb, variables/, model.tflite, manifest.json, ...
<export_root>/<name>/.partial-v3-pid812-k2j9/   a version being written (ignored by everyone)
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

These helpers import nothing heavy; `rnn_zoo.export.api.export_model` (the
versioned export itself) writes through them.
"""

import errno
import os
import re
import shutil
import tempfile

from rnn_zoo.export.results import ExportResult
from rnn_zoo.export.results import VersionExistsError

# ExportResult and VersionExistsError are re-exported for their old import path.
__all__ = ["ExportResult", "VersionExistsError", "check_version", "clean_stale_partials",
           "list_versions", "next_version", "write_version_atomically"]

_PARTIAL_PREFIX = ".partial-"
_PARTIAL_PATTERN = re.compile(r"^\.partial-v(\d+)-pid(\d+)-")


def list_versions(model_dir):
    """The complete versions under `model_dir`, ascending.

    Args:
        model_dir: path of `<export_root>/<name>`; may not exist yet.

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

    Args:
        model_dir: path of `<export_root>/<name>`; may not exist yet.

    Returns:
        int >= 1.

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
        model_dir: `<export_root>/<name>`.

    Returns:
        The version as int.

    Raises:
        ValueError: not a non-negative integer.
        VersionExistsError: the version exists already.

    Example:

    >>> check_version(3, "saved_models/lstm_text_classifier")
    3
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
        model_dir: `<export_root>/<name>`.

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
        model_dir: `<export_root>/<name>`, created if missing.
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
