"""A tiny in-process search writes its report; the oracle reconciles files a kill left behind.

TF backend only (unmarked): keras-tuner 1.4.8 runs the same loop on every
backend, and the multi-backend part (building and fitting the space) is pinned
in test_tuning_hypermodel.py; the whole suite's time budget does not allow
three searches.
"""

import csv
import json
import logging

import keras_tuner
from keras_tuner.src.engine import trial as trial_module

from rnn_zoo.tuning import parse_spec
from rnn_zoo.tuning import run_search
from rnn_zoo.tuning.runner import RandomSearchOracle


def _spec(spec_dict, **overrides):
    return parse_spec(spec_dict(seed=3, space={"fixed": {"batch_size": 64}}, **overrides))


def test_search_writes_table_plot_and_a_consistent_best(tmp_path, spec_dict):
    lines = []
    result = run_search(_spec(spec_dict), str(tmp_path), progress=lines.append)
    assert [row["status"] for row in result.rows] == ["COMPLETED", "COMPLETED"]
    assert [row["runs"] for row in result.rows] == [1, 1]
    with open(tmp_path / "results.csv") as file:
        table = list(csv.DictReader(file))
    assert [r["trial_id"] for r in table] == ["0", "1"] and "units_1" in table[0]
    assert (tmp_path / "results.md").read_text().count("| COMPLETED |") == 2
    assert (tmp_path / "trials.png").read_bytes()[:4] == b"\x89PNG"
    best = json.loads((tmp_path / "best.json").read_text())["best"]
    scores = [t.score for t in result.tuner.oracle.trials.values()]
    assert best["score"] == min(scores)
    assert best["trial_id"] == result.tuner.oracle.get_best_trials(1)[0].trial_id
    assert any(line.startswith("best: trial") for line in lines)
    # The winner and the default are refit and saved as bundles (no test split here).
    summary = json.loads((tmp_path / "best.json").read_text())
    assert summary["test_split"] is False and summary["test_mae"] is None
    assert (tmp_path / "best" / "model.keras").is_file()
    assert (tmp_path / "default" / "model.keras").is_file()


def test_trials_plot_counts_trials_in_whole_numbers(tmp_path):
    from rnn_zoo.tuning import report

    rows = [{"trial_id": str(i), "status": "COMPLETED", "score": 1.0 / (i + 1)}
            for i in range(3)]
    figure = report._figure(rows, "val_loss", "min", "search")
    ticks = [t for t in figure.axes[0].get_xticks() if 0 <= t <= 2]
    assert ticks and all(float(t).is_integer() for t in ticks)


def _oracle(directory):
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [4, 8, 16, 32])
    oracle = RandomSearchOracle(objective="val_loss", max_trials=4, hyperparameters=hp, seed=1)
    oracle._set_project_dir(str(directory), "search")
    return oracle


def test_reload_requeues_a_trial_whose_oracle_file_missed_it(tmp_path):
    oracle = _oracle(tmp_path)
    first = oracle.create_trial("tuner0")
    oracle.update_trial(first.trial_id, {"val_loss": 1.0})
    first.status = trial_module.TrialStatus.COMPLETED
    oracle.end_trial(first)
    second = oracle.create_trial("tuner0")
    # A kill between create_trial's two writes: trial.json RUNNING, oracle.json unaware.
    state = json.loads(open(oracle._get_oracle_fname()).read())
    state["ongoing_trials"] = {}
    state["start_order"] = [first.trial_id]
    with open(oracle._get_oracle_fname(), "w") as file:
        json.dump(state, file)
    resumed = _oracle(tmp_path)
    resumed.reload()
    assert resumed._retry_queue == [second.trial_id]
    assert resumed.create_trial("tuner1").trial_id == second.trial_id


def test_reload_does_not_rerun_a_trial_that_completed_before_the_kill(tmp_path):
    oracle = _oracle(tmp_path)
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, {"val_loss": 0.5})
    # A kill between end_trial's two writes: trial.json COMPLETED, oracle.json still ongoing.
    trial.status = trial_module.TrialStatus.COMPLETED
    oracle.score_trial(trial)
    oracle._save_trial(trial)
    resumed = _oracle(tmp_path)
    resumed.reload()
    assert resumed._retry_queue == [] and resumed.end_order == [trial.trial_id]
    assert resumed.create_trial("tuner0").trial_id != trial.trial_id
    assert resumed.get_best_trials(1)[0].score == 0.5


def test_search_without_progress_logs_instead_of_printing(tmp_path, spec_dict, caplog, capsys):
    with caplog.at_level(logging.INFO, logger="rnn_zoo.tuning"):
        run_search(_spec(spec_dict, budget={"max_trials": 1}), str(tmp_path), refit=False)
    assert any(r.getMessage().startswith("best: trial") for r in caplog.records)
    assert "best: trial" not in capsys.readouterr().out


def test_hyperband_and_bayesian_specs_search_and_report(tmp_path, spec_dict):
    for tuner in ("hyperband", "bayesian"):
        spec = _spec(spec_dict, tuner=tuner, budget={"max_trials": 2, "epochs": 2})
        result = run_search(spec, str(tmp_path / tuner), refit=False)
        completed = [row for row in result.rows if row["status"] == "COMPLETED"]
        assert completed, f"{tuner}: no completed trial"
        best = json.loads((tmp_path / tuner / "best.json").read_text())["best"]
        assert best["score"] == min(row["score"] for row in completed
                                    if row["score"] is not None)
