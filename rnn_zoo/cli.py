"""The `rnn-zoo` command line: one subcommand per step of the data flow.

Each subcommand lives in `rnn_zoo/commands/<name>.py` and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`.
A command module imports nothing heavy at module level (its `run` imports
what it needs), so `rnn-zoo --help`, `rnn-zoo CMD --help`, `rnn-zoo list`
and argument errors never import TensorFlow or Keras.

Bad input exits with status 2 and one clear line on stderr, in the words of
the command line: a library error naming the Python argument
`validation_split` reaches the user as `--validation-split`.

Quiet by default: the log lines that TensorFlow, absl, XLA, LiteRT and
MediaPipe write to stderr are hidden (their level variables are set before
anything loads them, and `NativeLogFilter` drops the lines printed before
those take effect), so stderr holds only our own lines. `rnn-zoo --verbose
CMD` shows them, and so does a `TF_CPP_MIN_LOG_LEVEL` the user set.
"""

import argparse
import contextlib
import importlib
import io
import logging
import os
import re
import sys
import threading

from rnn_zoo import __version__
from rnn_zoo.commands.common import flag_names
from rnn_zoo.commands.common import user_message

# Re-exported for code that imported it from here before rnn_zoo.errors existed.
from rnn_zoo.errors import UsageError  # noqa: F401

# Order is the data flow: data -> model -> train -> tune -> export -> inspect.
COMMANDS = ("list", "presets", "generate", "demo", "train", "tune", "export", "predict",
            "inspect", "bench")


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line, like every other error here.

    Argparse prints its usage block above the error; a script or a person
    reading stderr gets `rnn-zoo CMD: error: MESSAGE (see rnn-zoo CMD --help)`
    instead, and `--help` still shows the usage. Subparsers are made of the
    same class (`add_subparsers` uses the parent's class).
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} "
                     f"(see {self.prog} --help)\n")


def build_parser():
    """The `rnn-zoo` argument parser with every subcommand registered."""
    parser = _Parser(
        prog="rnn-zoo",
        description="Recurrent networks (LSTM, GRU, bidirectional) on Keras 3: "
        "build, train, tune, export and inspect.",
    )
    parser.add_argument("--version", action="version", version=f"rnn-zoo {__version__}")
    parser.add_argument("--verbose", dest="native_logs", action="store_true",
                        help="show the log lines of TensorFlow, absl, XLA, LiteRT and "
                        "MediaPipe on stderr (hidden by default, and also shown when "
                        "TF_CPP_MIN_LOG_LEVEL is set)")
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


@contextlib.contextmanager
def _library_progress():
    """Show the library's INFO progress lines (export steps, tuning) on stdout.

    The library reports through `logging` and never prints; the command line
    is where a person reads it, so it attaches the one handler here, for the
    length of the command: a caller in the same process (a test, a notebook)
    gets its logging back afterwards.
    """
    logger = logging.getLogger("rnn_zoo")
    previous = (logger.level, logger.propagate)
    handler = _StdoutHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # Shown once, here: a handler that a dependency adds to the root logger
    # (TensorFlow's converter does) would print every line a second time.
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]


# Lines that native libraries (TensorFlow, absl, XLA, LiteRT, MediaPipe) write
# straight to file descriptor 2: glog/absl records ("I0000 00:00:17... 123
# port.cc:153] ..."), absl's notice before its logger is set up, TFLite's
# "INFO: ..." and LiteRT's "WARNING: [file.cc:34] ..." records (with their
# "\u2514 ..." detail lines), and the continuation of TensorFlow's CPU-feature notice.
NATIVE_LOG_LINE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ [\w./+-]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|INFO: "
    r"|(?:WARNING|ERROR|VERBOSE|DEBUG): \[[\w./+-]+:\d+\] "
    r"|\u2514 "
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|WARNING: Logging before InitGoogleLogging\(\))"
)

# Environment read by the native libraries when they load: their own level
# filters (the ones that work once their logger is up).
QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "GLOG_minloglevel": "3",
    "GRPC_VERBOSITY": "ERROR",
}

# What `quiet_native_logs` itself put in the environment (an earlier command
# in the same process is not a user's choice).
_QUIET_SET = {}


class NativeLogFilter:
    """Drops native libraries' log lines from file descriptor 2; passes the rest.

    C++ libraries log to the process's stderr descriptor, below Python, and
    absl prints some records before anything can set its level. While the
    filter is installed, descriptor 2 is a pipe read by a thread that drops
    lines matching `NATIVE_LOG_LINE` and copies every other line (our
    errors, warnings, tracebacks) to the real stderr unchanged. Child
    processes (the export's TensorFlow child) inherit the same pipe.
    """

    def __init__(self):
        self._saved = None
        self._thread = None

    def start(self):
        sys.stderr.flush()
        self._saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._thread = threading.Thread(target=self._copy, args=(read_end,), daemon=True)
        self._thread.start()
        return self

    def _copy(self, read_end):
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            pending = b""
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._forward(line + b"\n")
            if pending:
                self._forward(pending)

    def _forward(self, line):
        if not NATIVE_LOG_LINE.match(line.decode("utf-8", "replace")):
            os.write(self._saved, line)

    def stop(self, final=False):
        """Copy out everything written so far, then take the pipe away.

        Args:
            final: False (a caller in the same process goes on): descriptor 2
                is the real stderr again. True (the process is about to
                exit): descriptor 2 goes to /dev/null, because native
                libraries print their INFO lines from static destructors
                after Python has finished, and `sys.stderr` is pointed at
                the real stderr so Python's own last words still show.
        """
        if self._saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        if final:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)  # closes the pipe's last write end in this process
            os.close(devnull)
        else:
            os.dup2(self._saved, 2)
        self._thread.join(timeout=5)
        if final:
            sys.stderr = io.TextIOWrapper(io.FileIO(self._saved, "w"), line_buffering=True,
                                          errors="backslashreplace")
        else:
            os.close(self._saved)
        self._saved = None


def quiet_native_logs(args):
    """Hide native log lines unless `--verbose` or the user set TF_CPP_MIN_LOG_LEVEL.

    Returns the installed `NativeLogFilter`, or None when logs stay visible
    or stderr is not a real descriptor (e.g. captured in a test).
    """
    user_level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    if getattr(args, "native_logs", False) or (
            user_level is not None and user_level != _QUIET_SET.get("TF_CPP_MIN_LOG_LEVEL")):
        return None
    for name, value in QUIET_ENVIRONMENT.items():
        if name not in os.environ:
            os.environ[name] = _QUIET_SET[name] = value
    try:
        if sys.stderr.fileno() != 2:
            return None
    except (AttributeError, OSError, ValueError):
        return None
    return NativeLogFilter().start()


def main(argv=None):
    """Entry point of the `rnn-zoo` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    native_filter = quiet_native_logs(args)
    try:
        with _library_progress():
            return _run(parser, args)
    finally:
        if native_filter is not None:
            # argv None: the console script, whose process ends when main returns.
            native_filter.stop(final=argv is None)


def _run(parser, args):
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
    except OSError as error:
        # The OS refused a path the user gave (a folder in the way, no space,
        # no permission) somewhere a command does not check it first.
        where = f"{error.filename}: " if error.filename is not None else ""
        detail = error.strerror or " ".join(str(error).split())
        print(f"rnn-zoo {args.command}: error: {where}{detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnn-zoo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
