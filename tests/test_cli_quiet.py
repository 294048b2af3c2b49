"""The command line is quiet by default: stderr holds only our own lines.

Every subcommand's `--help`, a real `train`, `export` and `predict` on a tiny
file, and a cross-validated `tune`, run as the console script in a fresh
process, with no TF_CPP_MIN_LOG_LEVEL set: any stderr line that isn't ours
(TensorFlow, absl, XLA, LiteRT, MediaPipe logging, Python warnings, such as
TensorFlow's "triggered tf.function retracing") fails the test.
"""

import os
import re
import subprocess
import sys

import pytest

from rnn_zoo import cli

# Lines the command line itself writes to stderr: "rnn-zoo CMD: error: ..." and
# "rnn-zoo CMD: warning: ...".
OURS = re.compile(r"^rnn-zoo( \w+)?: (error|warning|interrupted)")


def _environment():
    environment = dict(os.environ, KERAS_BACKEND="tensorflow")
    for name in ("TF_CPP_MIN_LOG_LEVEL", "GLOG_minloglevel", "GRPC_VERBOSITY"):
        environment.pop(name, None)
    return environment


def rnn_zoo(*argv, cwd=None, check=True):
    result = subprocess.run([sys.executable, "-m", "rnn_zoo.cli", *argv], cwd=cwd,
                            env=_environment(), capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, (argv, result.stdout[-2000:], result.stderr[-2000:])
    return result


def foreign_lines(stderr):
    """The stderr lines that the command line did not write itself."""
    return [line for line in stderr.splitlines() if line.strip() and not OURS.match(line)]


def test_every_subcommand_help_writes_nothing_to_stderr():
    for command in ("", *cli.COMMANDS):
        argv = [command, "--help"] if command else ["--help"]
        result = rnn_zoo(*argv)
        assert result.stdout.startswith("usage: rnn-zoo"), argv
        assert foreign_lines(result.stderr) == [], (argv, result.stderr)


def test_train_export_predict_write_only_our_lines_to_stderr(tmp_path):
    data = tmp_path / "reviews.csv"
    rows = [("the food was great", "pos"), ("the food was awful", "neg"),
            ("we loved the room", "pos"), ("we hated the room", "neg")] * 6
    data.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows))
    texts = tmp_path / "texts.txt"
    texts.write_text("the food was great\nwe hated the room\n")

    steps = [
        ("train", str(data), "--epochs", "1", "--units", "8", "-o", "bundle",
         "--no-tensorboard"),
        ("export", "bundle", "--name", "reviews", "--export-root", "exports"),
        ("predict", "exports/reviews/1", "--tflite", "--file", str(texts),
         "--output", "predictions.csv"),
        ("predict", "bundle", "--text", "the food was great"),
        # A bad input: exit 2 and one line of our own.
        ("predict", "bundle", "--file", "missing.txt"),
    ]
    for argv in steps:
        result = rnn_zoo(*argv, cwd=tmp_path, check=argv[-1] != "missing.txt")
        assert foreign_lines(result.stderr) == [], (argv, result.stderr)
        if argv[0] == "export":
            # Its progress goes to stdout, step by step (tests/test_cli_progress.py).
            steps_shown = re.findall(r"^export step (\d)/3: ", result.stdout, re.MULTILINE)
            assert steps_shown == ["1", "2", "3"], result.stdout
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    header = (tmp_path / "predictions.csv").read_text().splitlines()[0]
    assert header == "text,label,probability,p_neg,p_pos"


# Three folds of 32 rows and a batch of 8: a few steps per model, so a new
# traced function per fold made TensorFlow warn of retracing by the third.
TUNE_SPEC = """
task = "sequence_regressor"
tuner = "random"
objective = "val_loss"
seed = 0
cv_folds = 3

[dataset]
name = "adding_problem"
num_samples = 48
length = 4

[budget]
max_trials = 2
epochs = 1

[space.narrow]
units = [4, 8]

[space.fixed]
depth = 1
bidirectional = false
pooling = "last"
batch_size = 8
"""


def test_a_cross_validated_tune_writes_only_our_lines_to_stderr(tmp_path):
    (tmp_path / "spec.toml").write_text(TUNE_SPEC, encoding="utf-8")
    result = rnn_zoo("tune", "spec.toml", "--output-dir", "run", cwd=tmp_path)
    assert "retracing" not in result.stderr, result.stderr
    assert foreign_lines(result.stderr) == [], result.stderr
    assert "(2 of 2) completed" in result.stdout, result.stdout


# Installs the filter as `cli.main` does, writes two native lines and one of
# ours straight to descriptor 2, then puts stderr back.
_FILTER_PROBE = """
import os, sys
from rnn_zoo import cli
native_filter = cli.quiet_native_logs(cli.build_parser().parse_args(sys.argv[1:]))
os.write(2, b"I0000 00:00:1796012027.875482   26789 port.cc:153] native\\n")
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are "
            b"written to STDERR\\n")
os.write(2, b"our own line\\n")
if native_filter is not None:
    native_filter.stop()
"""


@pytest.mark.parametrize("argv, environment, shown", [
    (["list"], {}, False),
    (["--verbose", "list"], {}, True),
    (["list"], {"TF_CPP_MIN_LOG_LEVEL": "0"}, True),
])
def test_native_lines_show_only_with_verbose_or_a_users_log_level(argv, environment, shown):
    result = subprocess.run([sys.executable, "-c", _FILTER_PROBE, *argv],
                            env=dict(_environment(), **environment),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "our own line" in result.stderr
    assert ("port.cc:153] native" in result.stderr) is shown
    assert ("absl::InitializeLog" in result.stderr) is shown


@pytest.mark.parametrize("line, native", [
    ("I0000 00:00:1796012027.875482   26789 port.cc:153] oneDNN custom operations", True),
    ("E0000 00:00:1796012034.061321   26789 cuda_platform.cc:52] failed call to cuInit", True),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to "
     "STDERR", True),
    ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", True),
    ("rnn-zoo predict: error: --file t.md: unsupported file type", False),
    ("Traceback (most recent call last):", False),
    ("/x/y.py:3: DeprecationWarning: --root is deprecated", False),
])
def test_the_native_log_pattern_matches_only_native_lines(line, native):
    assert bool(cli.NATIVE_LOG_LINE.match(line)) is native
