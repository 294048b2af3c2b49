"""What the subcommands share: renamed flags, errors in flag words, model loading.

Keras-free and TensorFlow-free at import, like the `register` functions that
use it: `rnn-zoo CMD --help` and argument errors never pay for a heavy
import. The loaders import what they need when called.

Example:

>>> parser.add_argument("--export-root", default="saved_models")
>>> deprecated_alias(parser, "--root", "--export-root")
>>> user_message(ValueError("... argument `export_root` ..."), flag_names(parser))
'... argument `--export-root` ...'
"""

import argparse
import os
import re
import sys

from rnn_zoo.errors import UsageError
from rnn_zoo.units import human_size as human_size  # re-exported for the subcommands

# Python argument names whose CLI flag is spelled differently (or that the
# library still accepts under an old name). Everything else maps through the
# parser's own `dest` -> flag table.
_PYTHON_TO_FLAG = {
    "early_stopping_patience": "--patience",
    "validation_fraction": "--validation-split",
    "root": "--export-root",
    "calibration": "--representative-data",
    "vectorizer": "--vocab",
}


class _DeprecatedFlag(argparse.Action):
    """An old spelling of a renamed flag: sets the new flag's value and warns once."""

    def __init__(self, option_strings, dest, new_flag=None, **kwargs):
        self.new_flag = new_flag
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: warning: {option_string} is deprecated; use {self.new_flag}.",
              file=sys.stderr)
        if self.nargs == 0:
            values = self.const
        setattr(namespace, self.dest, values)


def deprecated_alias(parser, old_flag, new_flag):
    """Accept `old_flag` as a hidden alias of the already added `new_flag`.

    The alias is left out of `--help`; using it prints one warning line on
    stderr ("--root is deprecated; use --export-root.") and stores its value
    where `new_flag` would.

    Args:
        parser: the `argparse.ArgumentParser` (or argument group's parser)
            holding `new_flag`.
        old_flag: the old option string, e.g. "--root".
        new_flag: the current option string, e.g. "--export-root".

    Returns:
        The alias's `argparse.Action`.
    """
    target = next(action for action in parser._actions if new_flag in action.option_strings)
    flag_taking = target.nargs == 0  # store_true / store_false / store_const
    options = dict(dest=target.dest, new_flag=new_flag, help=argparse.SUPPRESS,
                   default=argparse.SUPPRESS, metavar=target.metavar)
    if flag_taking:
        options.update(nargs=0, const=target.const)
    else:
        options.update(nargs=target.nargs, type=target.type, choices=target.choices)
    return parser.add_argument(old_flag, action=_DeprecatedFlag, **options)


def flag_names(parser):
    """`{python name: "--flag"}` for every option of `parser` (its long spelling)."""
    names = dict(_PYTHON_TO_FLAG)
    for action in parser._actions:
        if isinstance(action, _DeprecatedFlag) or not action.option_strings:
            continue
        long_flags = [o for o in action.option_strings if o.startswith("--")]
        names[action.dest] = (long_flags or action.option_strings)[0]
    return {name: flag for name, flag in names.items()
            if any(flag in action.option_strings for action in parser._actions)}


def user_message(error, flags):
    """The error's text with Python argument names replaced by their CLI flags.

    Library errors name the Python argument ("Invalid value received for
    argument `validation_split` ... Received: validation_split=1.5"); a user
    of the command line typed `--validation-split`, so that is what they read.

    Args:
        error: the exception (its `str` is used).
        flags: `{python name: "--flag"}`, e.g. from `flag_names(parser)`.

    Returns:
        The message, one line.
    """
    message = " ".join(str(error).split())
    if not flags:
        return message
    names = "|".join(re.escape(name) for name in sorted(flags, key=len, reverse=True))
    message = re.sub(rf"`({names})`", lambda m: f"`{flags[m.group(1)]}`", message)
    message = re.sub(rf"(?<![\w\-.`])({names})=", lambda m: f"{flags[m.group(1)]}=", message)
    # "Pass version=None" is the library's way to say "leave it out"; a flag can't be None.
    return re.sub(r"\b([Pp])ass (--[\w-]+)=None\b",
                  lambda m: ("Omit " if m.group(1) == "P" else "omit ") + m.group(2), message)


def readable_file(path, what):
    """Check that `path` is a regular file this process can open; returns `path`.

    Args:
        path: the file a flag or argument names.
        what: how the user named it, e.g. "--vocab" or "MODEL".

    Raises:
        FileNotFoundError: nothing at `path`.
        UsageError: a folder, a socket or device, or a file that cannot be
            opened (permissions); one line naming `what` and `path`.
    """
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{what} {path}: no such file.")
    if os.path.isdir(path):
        raise UsageError(f"{what} {path}: a folder, not a file.")
    if not os.path.isfile(path):
        raise UsageError(f"{what} {path}: not a regular file (a socket, device or broken "
                         "link).")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise UsageError(f"{what} {path}: cannot be read ({error.strerror or error}).") from None
    return path


def output_folder(path, what):
    """Create the output folder `path` (and its parents) before any work; returns `path`.

    An OS refusal (a file in the way, a read-only or full file system, a
    name too long) becomes a `UsageError` naming `what` and `path`, instead
    of a traceback after minutes of training.
    """
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{what} {path}: cannot create this folder "
                         f"({error.strerror or error}).") from None
    if not os.access(path, os.W_OK):
        raise UsageError(f"{what} {path}: the folder is not writable.")
    return path


def output_file(path, what):
    """Check before any work that the output file `path` can be written; returns `path`.

    Its folder is created when missing (the atomic writes would create it
    too); a folder at `path`, or a folder that cannot be created or written,
    is a `UsageError` naming `what` and `path`.
    """
    if os.path.isdir(path):
        raise UsageError(f"{what} {path}: a folder, not a file.")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{what} {path}: cannot create its folder "
                         f"({error.strerror or error}).") from None
    if not os.access(folder, os.W_OK) or (os.path.exists(path)
                                           and not os.access(path, os.W_OK)):
        raise UsageError(f"{what} {path}: not writable.")
    return path


def load_vectorizer(path):
    """A `TextVectorizer` from a saved (bundle) folder or a bare `vocab.txt`.

    Args:
        path: a folder holding `vocab.txt` + `text_vectorizer.json`, the
            `vocab.txt` inside such a folder, or a bare `vocab.txt` (one
            token per line; the `TextVectorizer` defaults apply).

    Returns:
        A `rnn_zoo.text.TextVectorizer`.
    """
    from rnn_zoo.text import TextVectorizer

    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    if os.path.isfile(os.path.join(folder, "text_vectorizer.json")) and (
            os.path.isdir(path) or os.path.basename(path) == "vocab.txt"):
        return TextVectorizer.load(folder)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--vocab {path}: no vocab.txt / text_vectorizer.json there.")
    readable_file(path, "--vocab")
    try:
        with open(path, encoding="utf-8") as handle:
            tokens = [line for line in handle.read().split("\n") if line]
    except UnicodeDecodeError as error:
        raise UsageError(f"--vocab {path}: not UTF-8 text (byte {error.start}: "
                         f"{error.reason}).") from None
    # Settings unknown without text_vectorizer.json: the TextVectorizer defaults.
    return TextVectorizer(vocabulary=tokens)


def load_labels(path):
    """Class names from a labels.txt file or the (bundle) folder holding one."""
    from rnn_zoo.export.manifest import read_labels

    if os.path.isdir(path):
        path = os.path.join(path, "labels.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--labels {path}: no such file.")
    return read_labels(path)


def is_bundle(path):
    """Whether `path` is a bundle folder: `rnn_zoo.Bundle.is_bundle`'s rule.

    Checked here without importing `rnn_zoo.bundle` (which imports Keras), so
    that `rnn-zoo predict` on an exported `.tflite` file never loads Keras.
    """
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "model.keras"))


def load_trained(path):
    """`(model, bundle)` from a bundle folder or a `.keras` file.

    A bundle folder (what `rnn-zoo train -o DIR` writes) is read with
    `rnn_zoo.Bundle.load` in safe mode; a bare `.keras` file gives
    `bundle=None` (no vectorizer, scaler or labels).

    Args:
        path: a bundle folder or a `.keras` file.

    Returns:
        `(keras.Model, rnn_zoo.bundle.Bundle | None)`.
    """
    if os.path.isdir(path):
        if not is_bundle(path):
            raise FileNotFoundError(f"{path}: not a bundle folder (no model.keras in it).")
        from rnn_zoo.bundle import Bundle

        bundle = Bundle.load(path, compile=False)
        return bundle.model, bundle
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file or bundle folder.")
    if not path.endswith(".keras"):
        raise UsageError(f"MODEL must be a bundle folder or a .keras file. Received: {path!r}")
    readable_file(path, "MODEL")
    from rnn_zoo.saving import load_model

    return load_model(path, compile=False), None
