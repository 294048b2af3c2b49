"""Long commands show their progress: `rnn-zoo export` step by step.

The export library reports each step through `logging` as it ends ("export
step k/n: what was done (seconds)"); the command line shows those lines on
stdout, before its summary. `tests/test_cli_quiet.py` runs the same export
as the console script and checks that stderr holds nothing foreign.

The in-process tests run on TensorFlow, where the exporter runs in the
test's own process. On jax and torch the export runs in a TensorFlow child
process whose log records come back to the parent: one test runs the console
script with KERAS_BACKEND=jax explicitly to check that those steps show too.
"""

import logging
import os
import re
import subprocess
import sys

import pytest

from rnn_zoo.cli import main

ROWS = [("the food was great", "pos"), ("the food was awful", "neg"),
        ("we loved the room", "pos"), ("we hated the room", "neg")] * 6
STEP = re.compile(r"^export step (\d+)/(\d+): (.+) \((\d+\.\d) s\)$")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("progress")
    data = folder / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in ROWS))
    out = folder / "bundle"
    assert main(["train", str(data), "-o", str(out), "--units", "4", "--embedding-dim", "4",
                 "--epochs", "1", "--batch-size", "8", "--no-tensorboard"]) == 0
    return out


def export_steps(out):
    """The (k, n, what) of every "export step" line of `out`, in order."""
    return [(int(m.group(1)), int(m.group(2)), m.group(3))
            for m in map(STEP.match, out.splitlines()) if m]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_export_shows_each_step_with_its_number_and_time(bundle, tmp_path, capsys):
    root = tmp_path / "exports"
    # On the library's own logger: the command line stops "rnn_zoo" records
    # from propagating to the root logger while it shows them.
    handler = _Records()
    logging.getLogger("rnn_zoo.export.api").addHandler(handler)
    try:
        assert main(["export", str(bundle), "--name", "tiny", "--export-root", str(root)]) == 0
    finally:
        logging.getLogger("rnn_zoo.export.api").removeHandler(handler)
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    plan = lines.index("export of 'tiny' version 1: 3 steps (SavedModel, model.tflite, publish)")
    steps = export_steps(captured.out)
    assert [(k, n) for k, n, _ in steps] == [(1, 3), (2, 3), (3, 3)]
    saved_model, tflite, publish = (what for _, _, what in steps)
    assert saved_model.startswith("SavedModel written and reloaded; signatures serving_default")
    assert tflite.startswith("model.tflite converted (litert, float32); verified in "
                             "LiteRT Interpreter and CompiledModel, max |diff| ")
    assert publish.endswith(f"published {root / 'tiny' / '1'}")
    # The plan first, every step before the summary the command prints at the end.
    step_lines = [i for i, line in enumerate(lines) if STEP.match(line)]
    summary = next(i for i, line in enumerate(lines) if line.startswith("Exported tiny"))
    assert plan < step_lines[0] and step_lines[-1] < summary
    assert "quantization=float32" in captured.out
    # Reported by the library through logging (the command line only shows them).
    records = [r for r in handler.records if r.getMessage().startswith("export step")]
    assert len(records) == 3
    assert {(r.name, r.levelno) for r in records} == {("rnn_zoo.export.api", logging.INFO)}


def test_an_export_without_tflite_has_two_steps(bundle, tmp_path, capsys):
    root = tmp_path / "exports"
    assert main(["export", str(bundle), "--name", "tiny", "--export-root", str(root),
                 "--no-tflite"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "export of 'tiny' version 1: 2 steps (SavedModel, publish)" in captured.out
    assert [(k, n) for k, n, _ in export_steps(captured.out)] == [(1, 2), (2, 2)]


def test_a_jax_export_shows_the_child_processes_steps(bundle, tmp_path):
    # KERAS_BACKEND=jax: the export runs in a TensorFlow child process, and
    # its progress must still reach the command's stdout, step by step.
    environment = dict(os.environ, KERAS_BACKEND="jax")
    # Unset as a user would have it (conftest sets TF_CPP_MIN_LOG_LEVEL, which
    # the command line takes as a wish to see native logs).
    for name in ("TF_CPP_MIN_LOG_LEVEL", "GLOG_minloglevel", "GRPC_VERBOSITY"):
        environment.pop(name, None)
    root = tmp_path / "exports"
    result = subprocess.run(
        [sys.executable, "-m", "rnn_zoo.cli", "export", str(bundle), "--name", "tiny",
         "--export-root", str(root)],
        env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert result.stderr == ""
    steps = export_steps(result.stdout)
    assert [(k, n) for k, n, _ in steps] == [(1, 3), (2, 3), (3, 3)], result.stdout
    assert steps[0][2].startswith("SavedModel written and reloaded")
    assert steps[2][2].endswith(f"published {root / 'tiny' / '1'}")
    lines = result.stdout.splitlines()
    assert "export of 'tiny' version 1: 3 steps (SavedModel, model.tflite, publish)" in lines
    summary = next(i for i, line in enumerate(lines) if line.startswith("Exported tiny"))
    assert max(i for i, line in enumerate(lines) if STEP.match(line)) < summary
    # Forwarded records only: the child's stdout protocol never shows.
    assert "rnn_zoo-log" not in result.stdout


def test_recipe_log_lines_spell_sizes_as_the_commands_do(bundle, tmp_path, caplog):
    # One spelling of a size in every line a person reads: `rnn_zoo.units.human_size`.
    from rnn_zoo.commands import common as command_common
    from rnn_zoo.export.parity import verification_inputs
    from rnn_zoo.recipes import common
    from rnn_zoo.saving import load_model
    from rnn_zoo.units import human_size

    assert command_common.human_size is human_size
    model = load_model(str(bundle / "model.keras"), compile=False)
    with caplog.at_level(logging.INFO, logger="rnn_zoo.recipes.common"):
        report = common.export_litert(model, str(tmp_path), verification_inputs(model))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("TFLite: ")]
    assert len(lines) == 1
    assert f", {human_size(report.size_bytes)}, max |diff| " in lines[0]
    assert re.search(r", \d+\.\d KiB, ", lines[0]) and "bytes" not in lines[0]
