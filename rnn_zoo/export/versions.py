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
import numbers
import os
import re
import shutil
import tempfile

from rnn_zoo import atomic
from rnn_zoo.export.results import ExportResult
from rnn_zoo.export.results import VersionExistsError

# ExportResult and VersionExistsError are re-exported for their old import path.
__all__ = ["ExportResult", "MAX_NAME_LENGTH", "MAX_VERSION", "VersionExistsError",
           "check_model_dir", "check_name", "check_version", "clean_stale_partials",
           "list_versions", "next_version", "write_version_atomically"]

_PARTIAL_PREFIX = ".partial-"
_PARTIAL_PATTERN = re.compile(r"\A\.partial-v(\d+)-pid(\d+)-")
# \Z, not $: "$" also matches before a trailing newline.
_NAME_PATTERN = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")

MAX_VERSION = 2**63 - 1
"""Largest version: TF Serving reads version folder names as int64."""

MAX_NAME_LENGTH = 200
"""Characters in a model name: a folder name, with room left (most file systems
allow 255 bytes) for the temporary folder names written beside the versions."""


def check_name(name):
    """Validate a model name used as a folder name under the export root.

    Args:
        name: str of letters, digits, "_", ".", "-", not starting with "." or
            "-", not a number, at most `MAX_NAME_LENGTH` characters.

    Returns:
        `name`.

    Raises:
        ValueError: anything else (a path, a trailing newline, "..", ...).

    Example:

    >>> check_name("lstm_text_classifier")
    'lstm_text_classifier'
    """
    if (not isinstance(name, str) or len(name) > MAX_NAME_LENGTH
            or not _NAME_PATTERN.match(name) or name.isdigit()):
        shown = name if not isinstance(name, str) or len(name) <= 80 else (
            f"{name[:40]!r}...({len(name)} characters)")
        raise ValueError(
            "Invalid value received for argument `name`. Expected a folder name of at most "
            f"{MAX_NAME_LENGTH} letters, digits, '_', '.', '-' (not starting with '.' or '-', "
            f"not a number). Received: name={shown!r}"
        )
    return name


def check_model_dir(model_dir):
    """Refuse a model folder that no version could be written into, before any work.

    Checks the folder's name (`check_name`: a trailing newline, a 300-character
    name, "..", a path are refused), that the export root and the folder are
    folders where they exist (not files), and that they are writable.

    Args:
        model_dir: `<export_root>/<name>`.

    Returns:
        `model_dir` as a str.

    Raises:
        ValueError: naming the argument or the folder, and why.

    Example:

    >>> check_model_dir("saved_models/lstm_text_classifier")
    'saved_models/lstm_text_classifier'
    """
    model_dir = os.fspath(model_dir)
    check_name(os.path.basename(model_dir))
    root = os.path.dirname(model_dir) or os.curdir
    for folder in (root, model_dir):
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise ValueError(
                f"Invalid value received for argument `export_root`. Expected a folder; "
                f"{folder} is a file. Received: export_root={root!r}")
    existing = model_dir if os.path.isdir(model_dir) else root
    if os.path.isdir(existing) and not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(
            f"Invalid value received for argument `export_root`. Expected a writable "
            f"folder; {existing} is read-only for this user. Received: export_root={root!r}")
    return model_dir


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
    check_name(os.path.basename(os.fspath(model_dir)))
    versions = list_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def check_version(version, model_dir):
    """Validate a requested version number and refuse an existing one.

    Args:
        version: int in [0, `MAX_VERSION`] (TF Serving reads int64).
        model_dir: `<export_root>/<name>`.

    Returns:
        The version as int.

    Raises:
        ValueError: not an integer in [0, `MAX_VERSION`], or a model folder no
            version can be written into (`check_model_dir`).
        VersionExistsError: the version exists already.

    Example:

    >>> check_version(3, "saved_models/lstm_text_classifier")
    3
    """
    if (isinstance(version, bool) or not isinstance(version, numbers.Integral)
            or not 0 <= version <= MAX_VERSION):
        raise ValueError(
            f"Invalid value received for argument `version`. Expected an integer in [0, "
            f"{MAX_VERSION}] (TF Serving reads numeric folder names as int64). "
            f"Received: version={version!r}"
        )
    version = int(version)
    check_model_dir(model_dir)
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
        ValueError: a bad name or version, or a model folder that can't be
            created or written (a file in the way, a read-only root); the
            message names the folder.
        VersionExistsError: the version exists (before or after writing).
        Whatever `write_contents` raises. Nothing is left behind: not the
        temporary folder, nor the model folder (and parents) if this call
        created them.

    Example:

    >>> def write(folder):
    ...     open(os.path.join(folder, "manifest.json"), "w").write("{}")
    >>> write_version_atomically("saved_models/m", 1, write)
    ('saved_models/m/1', None)
    """
    version = check_version(version, model_dir)
    model_dir = os.fspath(model_dir)
    created = _make_folders(model_dir)
    try:
        clean_stale_partials(model_dir)
        partial_dir = tempfile.mkdtemp(
            prefix=f"{_PARTIAL_PREFIX}v{version}-pid{os.getpid()}-", dir=model_dir
        )
    except OSError as error:
        _remove_if_empty(created)
        raise _folder_error(model_dir, error) from None
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
            atomic.publish_directory(partial_dir, final_dir)
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
        # A refused export leaves nothing behind, not even an empty model folder.
        _remove_if_empty(created)
        raise
    return final_dir, value


def _folder_error(path, error):
    """A ValueError naming `path` for an OSError met while creating or writing it."""
    reason = error.strerror or str(error)
    return ValueError(
        f"Can't write versions under {path}: {reason} (errno {error.errno}). Expected an "
        "export root that is a writable folder (or can be created) and a model name the "
        "file system accepts.")


def _make_folders(path):
    """Create `path` and missing parents; return the created ones, deepest first."""
    created = []
    current = os.path.abspath(path)
    while not os.path.lexists(current) and os.path.dirname(current) != current:
        created.append(current)
        current = os.path.dirname(current)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        _remove_if_empty(created)
        raise _folder_error(path, error) from None
    return created


def _remove_if_empty(folders):
    """Remove the folders this export created (deepest first) if they are still empty."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            return  # not empty (another writer) or already gone
