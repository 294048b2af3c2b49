"""The README's command-line walk-through works when pasted into a fresh shell.

The first ```bash block under the heading `HEADING` in `DOCUMENT` is fed, as
written, to a fresh `bash` whose PATH does not hold `.venv/bin` (the block
itself must put `rnn-zoo` on it) and with no TensorFlow logging setting, in
a scratch folder that sees the checkout's `data/` and `.venv/`. Then:

- no "command not found", and every command succeeds;
- stderr holds only rnn-zoo's own lines (no TensorFlow, absl, LiteRT lines);
- `predict` gives the right label for the README's sentence with
  probability >= 0.8;
- `inspect` shows gates that move: forget-gate `std/step` >= 0.05.

The module also checks that every name README's Python API table lists
under a module imports from it.
"""

import importlib
import os
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where the walk-through lives: the README a new user pastes from.
DOCUMENT = ROOT / "README.md"
HEADING = "Walk-through: real reviews, end to end"
README = ROOT / "README.md"
# The README's sentence is a five-star review.
EXPECTED_LABEL = "great"
MIN_PROBABILITY = 0.8
MIN_FORGET_STEP_STD = 0.05
OURS = re.compile(r"^rnn-zoo( \w+)?: (error|warning|interrupted)")


def walkthrough_commands(text, heading=HEADING):
    """The first ```bash block after the markdown heading `heading`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.lstrip("#").strip() == heading and line.startswith("#"))
    opening = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "```bash")
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i].strip() == "```")
    return "\n".join(lines[opening + 1:closing]) + "\n"


def _commands_of(script, name):
    """The logical command lines (continuations joined) that run `rnn-zoo NAME`."""
    joined = script.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines()
            if line.strip().startswith(f"rnn-zoo {name}")]


def _fresh_environment():
    venv_bin = str(ROOT / ".venv" / "bin")
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep)
            if entry and os.path.realpath(entry) != os.path.realpath(venv_bin)]
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("TF_", "KERAS_", "VIRTUAL_ENV", "PYTHON"))
                   and name not in ("GLOG_minloglevel", "GRPC_VERBOSITY")}
    environment["PATH"] = os.pathsep.join(path or ["/usr/bin", "/bin"])
    return environment


def test_the_walkthrough_block_is_found_and_uses_the_shipped_data():
    script = walkthrough_commands(DOCUMENT.read_text(encoding="utf-8"))
    assert "source .venv/bin/activate" in script
    train = _commands_of(script, "train")
    assert train and (ROOT / train[0][2]).is_file()
    rows = (ROOT / train[0][2]).read_text(encoding="utf-8").count("\n")
    assert rows > 3000


def test_the_walkthrough_pasted_into_a_fresh_shell_learns(tmp_path):
    script = walkthrough_commands(DOCUMENT.read_text(encoding="utf-8"))
    for name in ("data", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    result = subprocess.run(["bash", "--noprofile", "--norc", "-e"], input=script,
                            cwd=tmp_path, env=_fresh_environment(), capture_output=True,
                            text=True, timeout=900)
    report = f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert "command not found" not in result.stderr, report
    assert result.returncode == 0, report
    foreign = [line for line in result.stderr.splitlines()
               if line.strip() and not OURS.match(line)]
    assert foreign == [], report

    # predict: the README's sentence gets the right label, confidently.
    sentence = next(argv[argv.index("--text") + 1] for argv in _commands_of(script, "predict")
                    if "--text" in argv)
    row = next(line.split("\t") for line in result.stdout.splitlines()
               if f"\t{sentence!r}\t" in line)
    label, probability = row[2], float(row[3])
    assert label == EXPECTED_LABEL and probability >= MIN_PROBABILITY, (row, report)

    # inspect: the forget gate moves over the sentence.
    forget = [line.split() for line in result.stdout.splitlines()
              if re.match(r"^\S+\s+(forward|backward)\s+forget\s", line)]
    assert forget, report
    assert max(float(columns[-1]) for columns in forget) >= MIN_FORGET_STEP_STD, forget

    # The files the walk-through says it writes.
    assert (tmp_path / "gates.png").read_bytes()[:4] == b"\x89PNG"
    predictions = (tmp_path / "predictions.csv").read_text(encoding="utf-8").splitlines()
    assert predictions[0] == "text,label,probability,p_great,p_other"
    assert len(predictions) > 1000


def test_every_name_in_the_readme_python_api_table_imports():
    table = [line for line in README.read_text(encoding="utf-8").splitlines()
             if re.match(r"^\| \w+ \| `rnn_zoo", line)]
    assert table
    for line in table:
        _, _, modules, names, _ = line.split("|")
        modules = [importlib.import_module(m) for m in re.findall(r"`(rnn_zoo[\w.]*)`", modules)]
        for name in re.findall(r"`([A-Za-z_]\w*)`", names):
            assert any(hasattr(module, name) for module in modules), (
                f"README lists {name} under {[m.__name__ for m in modules]}; not importable")
