"""Distributed search on loopback: a chief, 2 workers, one killed mid-trial; MirroredStrategy.

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
