"""SIGKILL a search mid-trial, start it again: it continues, nothing runs twice.

TF backend only (unmarked): the processes are real `rnn-zoo tune` runs, and
resume is keras-tuner's file bookkeeping, the same on every backend; two
extra subprocess searches per backend would not fit the suite's time budget.
"""

import csv
import json
import signal
import subprocess
import sys
import time

from tests.tuning_processes import ROOT
from tests.tuning_processes import environment
from tests.tuning_processes import run_log


def tune_command(spec, output):
    return [sys.executable, "-m", "rnn_zoo.commands.tune", str(spec), "--output-dir", str(output)]


def events(records, event, trial_id):
    return sum(r["event"] == event and r["trial_id"] == trial_id for r in records)


def test_sigkill_mid_trial_then_resume_keeps_completed_trials_and_reruns_the_killed_one(
        tmp_path, write_spec):
    spec = write_spec("resume.toml", seed=5, budget={"epochs": 3})
    output = tmp_path / "out"
    process = subprocess.Popen(tune_command(spec, output), cwd=ROOT, env=environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while not events(run_log(output), "begin", "1"):
            assert process.poll() is None, "the search ended before trial 1 began"
            assert time.monotonic() < deadline, "trial 1 never began"
            time.sleep(0.2)
        # Kill at once: a small trial can finish within a couple of seconds on a quiet
        # machine, and "begin" is written before the trial builds its model.
        time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed = run_log(output)
    assert events(killed, "end", "0") == 1 and events(killed, "end", "1") == 0

    resumed = subprocess.run(tune_command(spec, output), cwd=ROOT, env=environment(),
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = run_log(output)
    # Trial 0 is kept (not run again); trial 1 ran again and ended once.
    assert events(records, "begin", "0") == 1 and events(records, "end", "0") == 1
    assert events(records, "begin", "1") == 2 and events(records, "end", "1") == 1
    assert not any(r["event"] == "begin" and r["trial_id"] not in ("0", "1") for r in records)
    with open(output / "results.csv") as file:
        rows = list(csv.DictReader(file))
    assert [(r["trial_id"], r["status"]) for r in rows] == [("0", "COMPLETED"), ("1", "COMPLETED")]
    scores = {}
    for trial_id in ("0", "1"):
        trial = json.loads((output / "search" / f"trial_{trial_id}" / "trial.json").read_text())
        scores[trial_id] = trial["score"]
    best = json.loads((output / "best.json").read_text())["best"]
    assert best["trial_id"] == min(scores, key=scores.get)
    assert best["score"] == min(scores.values())
