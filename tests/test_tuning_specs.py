"""Search specs: the shipped specs parse, and bad input fails in one line before any trial."""

import glob
import os

import pytest

from rnn_zoo.commands import tune
from rnn_zoo.tuning import load_spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOOD = """
task = "sequence_regressor"
tuner = "random"
objective = "val_loss"
[dataset]
name = "adding_problem"
num_samples = 40
length = 4
[budget]
max_trials = 1
epochs = 1
[space.narrow]
units = [4]
"""


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "tuning", "*.toml"))))
def test_shipped_specs_are_valid(path):
    spec = load_spec(path)
    assert spec.budget["max_trials"] >= 1 and spec.task


@pytest.mark.parametrize("edit, expected", [
    (("", "colour = 'red'\n"), "unknown key(s) ['colour']. Expected some of ('name'"),
    (('name = "adding_problem"', 'name = "imdb"'), "`dataset.name`. Expected one of ("),
    (("units = [4]", "units = []"), "empty list of values for `units`"),
    (('objective = "val_loss"', 'objective = "val_accuracy"'),
     "Expected one of ('loss', 'mae', 'val_loss', 'val_mae')"),
    (("max_trials = 1", "max_trials = 0"), "budget.max_trials: expected an integer >= 1"),
    (("epochs = 1", "epochs = -2"), "budget.epochs: expected an integer >= 1"),
    (('tuner = "random"', 'tuner = "grid"'),
     "`tuner`. Expected one of ('random', 'hyperband', 'bayesian')"),
])
def test_bad_spec_is_one_clear_line_before_any_trial(tmp_path, capsys, edit, expected):
    old, new = edit
    text = GOOD.replace(old, new) if old else new + GOOD
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    output = tmp_path / "out"
    code = tune.main([str(spec), "--output-dir", str(output)])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert len(error.splitlines()) == 1 and expected in error, error
    assert not output.exists()  # nothing started


def test_budget_override_below_one_is_refused(tmp_path, capsys):
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    code = tune.main([str(spec), "--output-dir", str(tmp_path / "out"), "--max-trials", "0"])
    assert code == 2 and "max_trials" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
