"""Shared test setup: quiet TensorFlow logs, a fixed seed per test, the backend name,
and the one search spec the tuning tests start from."""

import copy
import functools
import json
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fixed_seed():
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def backend():
    return keras.backend.backend()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# --------------------------------------------------------------------------- search specs

# The smallest search that still exercises everything: a regressor on the
# adding problem (no download, no vocabulary), two tiny trials of one epoch,
# each scored on one validation split (`cv_folds = 1`; tests/test_tuning_cv.py
# covers k-fold scoring).
BASE_SPEC = {
    "task": "sequence_regressor",
    "tuner": "random",
    "objective": "val_loss",
    "seed": 0,
    "cv_folds": 1,
    "dataset": {"name": "adding_problem", "num_samples": 48, "length": 4},
    "budget": {"max_trials": 2, "epochs": 1},
    "space": {
        "narrow": {"units": [4, 8]},
        "fixed": {"depth": 1, "bidirectional": False, "pooling": "last", "batch_size": 8},
    },
}


def _merge(base, overrides):
    """`base` with `overrides` merged in; dicts merge key by key, None deletes a key."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def _sub_table(value):
    # A hyperparameter range ({min, max, ...}) or choice ({values}) stays inline.
    return isinstance(value, dict) and not {"min", "max", "values"} & set(value)


def _table(name, table):
    lines = [f"[{name}]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if not _sub_table(v)]
    for key, value in table.items():
        if _sub_table(value):
            lines += ["", *_table(f"{name}.{key}", value)]
    return lines


def to_toml(spec):
    """A spec dict as TOML text: top-level dicts become tables, nested ones sub-tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in spec.items() if not isinstance(v, dict)]
    for key, value in spec.items():
        if isinstance(value, dict):
            lines += ["", *_table(key, value)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def spec_dict():
    """`spec_dict(**overrides)`: the shared search spec as a dict (see `BASE_SPEC`).

    Nested dicts merge key by key (`budget={"epochs": 3}` keeps `max_trials`);
    a None value removes the key.
    """
    def make(**overrides):
        return _merge(BASE_SPEC, overrides)

    return make


@pytest.fixture
def write_spec(tmp_path, spec_dict):
    """`write_spec(name="spec.toml", text=None, **overrides)`: write the shared spec as TOML.

    Returns the path. `text`, when given, is written as is (for malformed specs).
    """
    def write(name="spec.toml", text=None, **overrides):
        path = tmp_path / name
        path.write_text(to_toml(spec_dict(**overrides)) if text is None else text,
                        encoding="utf-8")
        return path

    return write


# --------------------------------------------------------------------------- hostile suite size

# The hostile-input suite (issue 20): its size is the inputs it actually tried.
_HOSTILE_FILES = re.compile(r"(^|/)test_(hostile_\w+|crash_consistency)\.py$")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Count the cases a hostile-suite test runs: Hypothesis's examples, else 1.

    A test that loops over cases itself (one per injected fault) states its
    count with `record_property("hostile_cases", n)`. The count rides on the
    test's report (`user_properties`), so that it adds up across pytest-xdist
    workers; `pytest_terminal_summary` prints the sum.
    """
    if not _HOSTILE_FILES.search(item.nodeid.split("::")[0]):
        yield
        return
    handle = getattr(getattr(item, "obj", None), "hypothesis", None)
    calls = []
    if handle is not None:
        inner = handle.inner_test

        # Hypothesis reads `inner_test` when the test runs (pytest-trio replaces it too).
        @functools.wraps(inner)
        def counted(*args, **kwargs):
            calls.append(1)
            return inner(*args, **kwargs)

        handle.inner_test = counted
    try:
        yield
    finally:
        if handle is not None:
            handle.inner_test = inner
        if not any(name == "hostile_cases" for name, _ in item.user_properties):
            item.user_properties.append(("hostile_cases",
                                         len(calls) if handle is not None else 1))


def pytest_terminal_summary(terminalreporter):
    counts = {"passed": [0, 0], "other": [0, 0]}  # [tests, cases]
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "hostile_cases":
                    # An xfail's report says "skipped": not a case that held.
                    tally = counts["passed" if report.outcome == "passed" else "other"]
                    tally[0] += 1
                    tally[1] += value
    if counts["passed"][0] or counts["other"][0]:
        terminalreporter.write_line(
            f"hostile cases: {counts['passed'][1]} (inputs tried by the "
            f"{counts['passed'][0]} passing tests of tests/test_hostile_*.py and "
            "tests/test_crash_consistency.py; a Hypothesis test counts its examples; "
            f"{counts['other'][1]} more in {counts['other'][0]} failing or xfail tests)")
