"""Helpers for tests that run searches in subprocesses and read their run log."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environment():
    """Environment for a TF-backend search subprocess that imports this checkout."""
    return dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")


def run_log(output):
    """The "begin"/"end" records of `<output>/search/trial_runs.jsonl` (empty if none yet)."""
    path = output / "search" / "trial_runs.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
