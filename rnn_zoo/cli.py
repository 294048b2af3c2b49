"""The `rnn-zoo` command line: one subcommand per step of the data flow.

Each subcommand lives in `rnn_zoo/commands/<name>.py` and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`.
They are imported only when the command line is parsed, so `rnn-zoo list`
does not pay for TensorFlow's import.

Bad input exits with status 2 and one clear line on stderr.
"""

import argparse
import importlib
import os
import sys

# Order is the data flow: data -> model -> train -> tune -> export -> inspect.
COMMANDS = ("list", "demo", "train", "tune", "export", "predict", "inspect", "bench")


class UsageError(ValueError):
    """Bad user input detected by a subcommand; printed as one line, exit 2."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="rnn-zoo",
        description="Recurrent networks (LSTM, GRU, bidirectional) on Keras 3: "
        "build, train, tune, export and inspect.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"rnn_zoo.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv=None):
    """Entry point of the `rnn-zoo` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
    except (UsageError, ValueError, FileNotFoundError) as error:
        # One clear line, no traceback: these are the user's input errors.
        print(f"rnn-zoo {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnn-zoo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
