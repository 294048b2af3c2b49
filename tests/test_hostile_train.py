"""Hostile `train` arguments and hostile run folders: a ValueError or a warning, never a crash.

Bad arguments are refused before any epoch runs, naming the argument. A run
folder holding anything at all in `training_state.json` (generated JSON of any
shape, names that point outside the folder, folders where files belong) is
either resumed or ignored with a warning that names the file; a good
checkpoint is never called corrupt.

TensorFlow only: the file handling is backend-independent.
"""

import json
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import rnn_zoo
from rnn_zoo import train as train_lib

_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, size=(16, 5)).astype("int32")
    return x, (x[:, 0] > 6).astype("int32")


@pytest.fixture(scope="module")
def model():
    return rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4)


@pytest.mark.parametrize("argument, value", [
    ("epochs", 0), ("epochs", -1), ("epochs", True), ("epochs", "3"), ("epochs", 2.0),
    ("epochs", None), ("epochs", float("nan")),
    ("batch_size", 0), ("batch_size", "32"), ("batch_size", False), ("batch_size", 1.5),
    ("patience", 0), ("patience", -2), ("patience", "5"), ("patience", True),
    ("resume", "no"), ("resume", 1), ("resume", None),
    ("monitor", 3), ("monitor", ["loss"]),
    ("output_dir", 3), ("output_dir", ["run"]),
])
def test_bad_arguments_are_refused_before_any_epoch(model, tmp_path, argument, value):
    x, y = _data()
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        train_lib.train(model, (x, y), verbose=0, tensorboard=False,
                        **{"epochs": 1, "output_dir": tmp_path / "run", argument: value})
    assert not (tmp_path / "run" / train_lib.STATE_FILE).exists()


def test_an_output_dir_that_is_a_file_is_refused_naming_it(model, tmp_path):
    x, y = _data()
    path = tmp_path / "run"
    path.write_text("a file")
    for output_dir in (path, path / "below"):
        with pytest.raises(ValueError, match=r"argument `output_dir`.*Received: output_dir="):
            train_lib.train(model, (x, y), epochs=1, output_dir=output_dir, verbose=0)
    assert path.read_text() == "a file"


def test_temporaries_that_are_folders_are_left_alone(model, tmp_path):
    x, y = _data()
    (tmp_path / "checkpoints" / ".odd.tmp").mkdir(parents=True)
    result = train_lib.train(model, (x, y), epochs=1, batch_size=16, output_dir=tmp_path,
                             verbose=0, tensorboard=False, resume=False)
    assert result.epochs_completed == 1 and (tmp_path / "checkpoints" / ".odd.tmp").is_dir()


def test_a_state_naming_a_folder_or_an_outside_file_is_ignored(model, tmp_path):
    (tmp_path / "checkpoints" / "epoch-0001-00.keras").mkdir(parents=True)
    for name in ("epoch-0001-00.keras", "../training_state.json", "/etc/passwd"):
        state = dict(train_lib._fresh_state("loss"), epochs_completed=1,
                     history={"loss": [0.5]}, last_checkpoint=name, last_sha256="0" * 64)
        (tmp_path / train_lib.STATE_FILE).write_text(json.dumps(state))
        with pytest.warns(UserWarning, match=r"training_state.json|epoch-0001-00.keras"):
            assert train_lib._load_state(str(tmp_path), "loss", model) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8)
_KEYS = ["version", "epochs_completed", "history", "monitor", "mode", "best_value",
         "best_epoch", "wait", "stopped_early", "last_checkpoint", "last_sha256",
         "best_checkpoint", "best_sha256"]


@settings(max_examples=120, **_SETTINGS)
@given(state=st.one_of(
    _JSON,
    st.fixed_dictionaries({"version": st.just(2), "monitor": st.just("loss")},
                          optional={key: _JSON for key in _KEYS
                                    if key not in ("version", "monitor")}),
    st.builds(lambda fields: dict(train_lib._fresh_state("loss"), **fields),
              st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=3))))
def test_any_state_file_resumes_or_is_ignored_with_a_warning(model, tmp_path, state):
    path = tmp_path / train_lib.STATE_FILE
    try:
        path.write_text(json.dumps(state))
    except ValueError:
        return  # not JSON-serialisable (e.g. NaN is, but a huge nesting is not)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = train_lib._load_state(str(tmp_path), "loss", model)
    if loaded is None:
        assert any(train_lib.STATE_FILE in str(w.message) or "checkpoint" in str(w.message)
                   for w in caught), [str(w.message) for w in caught]
    else:
        # Accepted only when it names no checkpoint to restore: a fresh start.
        assert loaded["epochs_completed"] == 0 and loaded.get("last_checkpoint") is None


def test_a_good_checkpoint_is_never_called_corrupt_after_the_state_is_rewritten(tmp_path):
    # The finding: a state whose SHA-256 disagreed with a good checkpoint.
    # Unique names make that impossible: rewriting stable names does not touch it.
    x, y = _data()
    out = tmp_path / "run"
    train_lib.train(rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4),
                    (x, y), epochs=2, batch_size=16, output_dir=out, verbose=0,
                    tensorboard=False)
    (out / "checkpoints" / "last.keras").write_bytes(b"user scribbled here")  # a stable name
    os.remove(out / "checkpoints" / "best.keras")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train_lib.train(
            rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4), (x, y),
            epochs=3, batch_size=16, output_dir=out, verbose=0, tensorboard=False)
    assert not [w for w in caught if "corrupt" in str(w.message)]
    assert result.initial_epoch == 2 and result.epochs_completed == 3
    assert (out / "checkpoints" / "best.keras").exists()
