"""Distributed search on loopback: a chief, 2 workers, one killed mid-trial; CV trials in
workers with the chief's refit, test and report; MirroredStrategy.

TF backend only (unmarked): keras-tuner's gRPC oracle and `tf.distribute`
strategies are TensorFlow machinery (`distribution_strategy` is a TF-backend
feature), and every case spawns processes that import TensorFlow.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnn_zoo.bundle import Bundle
from tests.tuning_processes import ROOT
from tests.tuning_processes import environment
from tests.tuning_processes import run_log


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie already exited; only its parent (gone too) would reap it.
    with open(f"/proc/{pid}/stat") as file:
        return file.read().split(")")[-1].split()[0] != "Z"


def test_two_workers_run_every_trial_once_and_everyone_exits_even_after_a_worker_is_killed(
        tmp_path, write_spec):
    spec = write_spec("dist.toml", seed=7, budget={"max_trials": 3, "epochs": 1})
    output = tmp_path / "out"
    chief = subprocess.Popen(
        [sys.executable, "-m", "rnn_zoo.commands.tune", str(spec), "--output-dir", str(output),
         "--workers", "2"], cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while not any(r["event"] == "begin" for r in run_log(output)):
            assert chief.poll() is None and time.monotonic() < deadline, "no trial began"
            time.sleep(0.2)
        victim = next(r for r in run_log(output) if r["event"] == "begin")
        time.sleep(1.0)
        os.kill(victim["pid"], signal.SIGKILL)  # a worker dies mid-trial
        stdout, _ = chief.communicate(timeout=300)  # bounded: the chief must exit on its own
    finally:
        if chief.poll() is None:
            chief.kill()
    assert chief.returncode == 0, stdout[-3000:]
    records = run_log(output)
    ends = [r["trial_id"] for r in records if r["event"] == "end"]
    assert sorted(ends) == ["0", "1", "2"], records  # every trial ended exactly once
    assert all(r["status"] == "COMPLETED" for r in records if r["event"] == "end")
    # The killed worker's trial was re-queued and run by a surviving worker.
    rerun = [r for r in records if r["event"] == "begin" and r["trial_id"] == victim["trial_id"]]
    assert len(rerun) == 2 and rerun[1]["pid"] != victim["pid"]
    assert f"trial {victim['trial_id']} re-queued" in stdout
    for pid in {r["pid"] for r in records}:
        assert not _alive(pid), f"worker {pid} still running after the chief exited"
    best = json.loads((output / "best.json").read_text())["best"]
    assert best["status"] == "COMPLETED"


def test_each_trial_can_train_with_mirrored_strategy_over_two_logical_cpus(tmp_path, write_spec):
    spec = write_spec("mirrored.toml", seed=7, budget={"max_trials": 1, "epochs": 1})
    output = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "rnn_zoo.commands.tune", str(spec), "--output-dir", str(output),
         "--strategy", "mirrored", "--logical-cpus", "2"],
        cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MirroredStrategy over 2 replica(s)" in result.stdout
    ends = [r for r in run_log(output) if r["event"] == "end"]
    assert [r["status"] for r in ends] == ["COMPLETED"]


def test_workers_score_trials_by_cv_and_the_chief_refits_tests_and_reports_both(
        tmp_path, write_spec):
    rng = np.random.default_rng(3)

    def npz(path, n):
        labels = np.arange(n) % 2
        x = rng.normal(size=(n, 4, 2)).astype(np.float32)
        x[:, :, 0] += labels[:, None] * 2.0
        np.savez(path, x=x, labels=labels.astype(np.int64))
        return x, labels

    npz(tmp_path / "train.npz", 40)
    test_x, test_labels = npz(tmp_path / "test.npz", 24)
    spec = write_spec(
        "dist_cv.toml", task="sequence_classifier", objective="val_accuracy", cv_folds=None,
        dataset={"name": "npz", "path": str(tmp_path / "train.npz"),
                 "test_path": str(tmp_path / "test.npz"), "num_samples": None, "length": None},
        budget={"max_trials": 2, "epochs": 1},
        space={"narrow": {"units": [4, 6]}, "fixed": {"batch_size": 16}})
    output = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "rnn_zoo.commands.tune", str(spec), "--output-dir", str(output),
         "--workers", "2", "--cv-folds", "2", "--ensemble", "2"],
        cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    records = run_log(output)
    ends = [r for r in records if r["event"] == "end"]
    assert sorted(r["trial_id"] for r in ends) == ["0", "1"]
    # Every trial ran in a worker (the chief only serves the oracle) and left its CV record.
    assert all(r["tuner_id"].startswith("tuner") and r["status"] == "COMPLETED" for r in ends)
    for trial_id in ("0", "1"):
        record = json.loads((output / "search" / f"trial_{trial_id}" / "cv.json").read_text())
        assert record["folds"] == 2 and len(record["fold_values"]) == 2
        assert (output / "search" / f"trial_{trial_id}" / "oof.npy").is_file()
    assert "2-fold stratified cross-validation" in result.stdout
    assert "ensemble of trials" in result.stdout
    summary = json.loads((output / "best.json").read_text())
    keys = ("cv_mean", "cv_std", "test_accuracy", "test_ci95")
    assert summary["cv_folds"] == 2 and summary["chosen"] in ("search", "default")
    for entry, folder in ((summary, "best"), (summary["default"], "default")):
        assert all(entry[k] is not None for k in keys), entry
        assert len(entry["cv_fold_values"]) == 2 and entry["test_samples"] == 24
        bundle = Bundle.load(output / folder)
        accuracy = float((bundle.predict(test_x).argmax(-1) == test_labels).mean())
        assert accuracy == pytest.approx(entry["test_accuracy"], abs=1e-6)
    metrics = json.loads((output / "best" / "metrics.json").read_text())
    assert all(k in metrics and k in metrics["default"] for k in keys)
    report = (output / "results.md").read_text()
    assert "| search winner |" in report and "| default |" in report


def test_the_chief_refuses_a_trial_a_worker_scored_on_other_folds(tmp_path, spec_dict):
    from rnn_zoo.tuning import parse_spec
    from rnn_zoo.tuning import runner
    from rnn_zoo.tuning import search
    from rnn_zoo.tuning.specs import load_cv

    spec = parse_spec(spec_dict(cv_folds=2))
    cv = load_cv(spec)
    tuner = runner.make_tuner(spec, search.data_hypermodel(spec, cv), str(tmp_path), cv=cv)
    # What a worker started with `--cv-folds 3` leaves in the shared folder.
    folder = tuner.get_trial_dir("0")
    with open(os.path.join(folder, runner.CV_FILE), "w", encoding="utf-8") as file:
        json.dump({"folds": 3, "fold_values": [0.1, 0.2, 0.3], "best_epoch": 1}, file)
    np.save(os.path.join(folder, runner.OOF_FILE), np.zeros((cv.num_rows, 1), np.float32))
    with pytest.raises(ValueError, match=r"scored by 3 fold\(s\).*cv_folds=2.*--cv-folds"):
        search._trial_record(tuner, "0", cv)
