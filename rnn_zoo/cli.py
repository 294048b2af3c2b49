"""The `rnn-zoo` command line: one subcommand per step of the data flow.

Each subcommand lives in `rnn_zoo/commands/<name>.py` and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`.
A command module imports nothing heavy at module level (its `run` imports
what it needs), so `rnn-zoo --help`, `rnn-zoo CMD --help`, `rnn-zoo list`
and argument errors never import TensorFlow or Keras.

Bad input exits with status 2 and one clear line on stderr, in the words of
the command line: a library error naming the Python argument
`validation_split` reaches the user as `--validation-split`.
"""

import argparse
import importlib
import logging
import os
import sys

from rnn_zoo import __version__
from rnn_zoo.commands.common import flag_names
from rnn_zoo.commands.common import user_message

# Re-exported for code that imported it from here before rnn_zoo.errors existed.
from rnn_zoo.errors import UsageError  # noqa: F401

# Order is the data flow: data -> model -> train -> tune -> export -> inspect.
COMMANDS = ("list", "demo", "train", "tune", "export", "predict", "inspect", "bench")


def build_parser():
    """The `rnn-zoo` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="rnn-zoo",
        description="Recurrent networks (LSTM, GRU, bidirectional) on Keras 3: "
        "build, train, tune, export and inspect.",
    )
    parser.add_argument("--version", action="version", version=f"rnn-zoo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"rnn_zoo.commands.{name}")
        module.register(subparsers)
    return parser


def _subparser(parser, command):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command)
    return None


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is at the time (tests swap it per call)."""

    def emit(self, record):
        self.stream = sys.stdout
        super().emit(record)


def _show_library_progress():
    """Show the library's INFO progress lines (export steps, tuning) on stdout.

    The library reports through `logging` and never prints; the command line
    is where a person reads it, so it attaches the one handler here.
    """
    logger = logging.getLogger("rnn_zoo")
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main(argv=None):
    """Entry point of the `rnn-zoo` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_library_progress()
    try:
        status = int(args.func(args) or 0)
        # Flushed here, not at exit, so a closed pipe is caught below.
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader went away (`rnn-zoo list | head`): stop quietly, as Unix
        # tools do, with the status a SIGPIPE death gives (128 + 13). Python
        # would flush stdout again at exit and print a traceback, so point it
        # at /dev/null first (the recipe in Python's `signal` docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (ValueError, FileNotFoundError) as error:
        # One clear line, no traceback: these are the user's input errors
        # (UsageError and rnn_zoo.data.DataError are ValueErrors).
        subparser = _subparser(parser, args.command)
        flags = flag_names(subparser) if subparser is not None else {}
        print(f"rnn-zoo {args.command}: error: {user_message(error, flags)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnn-zoo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
