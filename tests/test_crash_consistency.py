"""Crash consistency: a failure at any write, then a rerun, loses no finished work.

Faults are injected in-process at every write through the one seam every
write goes through, `rnn_zoo.atomic._replace` (the call that makes a file or
a folder visible): the k-th call raises, for every k a clean run makes. After
each failure a rerun must resume from the last committed epoch, lose no
finished work, never call a good file corrupt and leave no partial version
visible. A few real SIGKILL subprocess tests cover the riskiest instants.

TensorFlow only: the file handling is backend-independent.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo import atomic
from rnn_zoo import train as train_lib
from rnn_zoo.bundle import Bundle
from rnn_zoo.export import export_model
from rnn_zoo.export import list_versions

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REAL_REPLACE = atomic._replace


class _FaultAt:
    """Replacement for `atomic._replace` that fails at its k-th call (None: never)."""

    def __init__(self, k=None):
        self.k = k
        self.done = []  # destinations made visible

    def __call__(self, source, destination):
        if self.k is not None and len(self.done) + 1 == self.k:
            raise OSError(errno.EIO, "injected fault", destination)
        _REAL_REPLACE(source, destination)
        self.done.append(os.fspath(destination))


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, size=(32, 5)).astype("int32")
    y = (x[:, 0] > 6).astype("int32")
    return x, y


def _model():
    return rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4,
                                         learning_rate=0.01)


def _train(output_dir, epochs, validation=True, patience=None, model=None):
    x, y = _data()
    # Flipped validation labels make later epochs "not best", so best and last
    # checkpoints part ways and every kind of write happens.
    return train_lib.train(model or _model(), (x, y),
                           validation_data=(x, 1 - y) if validation else None,
                           epochs=epochs, batch_size=16, output_dir=output_dir, verbose=0,
                           tensorboard=False, patience=patience)


def _state(output_dir):
    path = os.path.join(output_dir, train_lib.STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _check_consistent(output_dir, state):
    """The committed state names existing checkpoints with their true SHA-256."""
    folder = os.path.join(output_dir, train_lib.CHECKPOINT_DIR)
    entries = set(os.listdir(folder))
    assert not [e for e in entries if ".tmp" in e], entries
    named = {state["last_checkpoint"], state["best_checkpoint"]} - {None}
    for which in ("last", "best"):
        name = state[f"{which}_checkpoint"]
        if name is None:
            continue
        assert train_lib._sha256(os.path.join(folder, name)) == state[f"{which}_sha256"]
        stable = os.path.join(folder, f"{which}.keras")
        assert train_lib._sha256(stable) == state[f"{which}_sha256"]
    # Old checkpoints are gone once the state no longer names them.
    assert entries - {"last.keras", "best.keras"} == named


def test_train_fault_at_every_write_resumes_without_losing_work(tmp_path, monkeypatch):
    # One model for the failing runs and one for the reruns: Keras keeps their
    # compiled train functions, and a rerun's weights come from the checkpoint.
    failing, rerun = _model(), _model()
    clean = _FaultAt()
    monkeypatch.setattr(atomic, "_replace", clean)
    reference = _train(tmp_path / "clean", epochs=2, model=failing)
    monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
    kinds = {os.path.basename(d).split("-")[0] for d in clean.done}
    # Checkpoints, the state, and the stable names were all written.
    assert {"epoch", "training_state.json", "last.keras", "best.keras"} <= kinds, kinds
    assert reference.best_epoch != reference.epochs_completed  # best and last part ways

    for k in range(1, len(clean.done) + 1):
        out = tmp_path / f"fault{k}"
        fault = _FaultAt(k)
        monkeypatch.setattr(atomic, "_replace", fault)
        with pytest.raises(OSError, match="injected fault"):
            _train(out, epochs=2, model=failing)
        monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
        committed = sum(d.endswith(train_lib.STATE_FILE) for d in fault.done)
        before = _state(out)
        assert (before["epochs_completed"] if before else 0) == committed, k

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _train(out, epochs=2, model=rerun)
        messages = [str(w.message) for w in caught]
        assert not [m for m in messages if "corrupt" in m or "Ignoring" in m
                    or "Could not resume" in m], (k, messages)
        assert result.initial_epoch == committed, k
        assert result.epochs_completed == 2
        if before:
            for name, values in before["history"].items():
                assert result.history[name][:committed] == values, (k, name)
        _check_consistent(out, _state(out))


def test_rerun_after_fault_repairs_the_stable_names(tmp_path, monkeypatch):
    # Fail at the first stable-name write after the second commit: last.keras
    # still holds epoch 1, the state names epoch 2. The rerun trusts the state.
    out = tmp_path / "run"
    commits = []

    def fail_after_second_commit(source, destination):
        if os.path.basename(destination).startswith("last.keras") and len(commits) == 2:
            raise OSError(errno.EIO, "injected fault", destination)
        _REAL_REPLACE(source, destination)
        if destination.endswith(train_lib.STATE_FILE):
            commits.append(destination)

    monkeypatch.setattr(atomic, "_replace", fail_after_second_commit)
    with pytest.raises(OSError, match="injected fault"):
        _train(out, epochs=3, validation=False)
    monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
    state = _state(out)
    assert state["epochs_completed"] == 2
    stable = out / "checkpoints" / "last.keras"
    assert train_lib._sha256(stable) != state["last_sha256"]  # stale, not the committed one
    result = _train(out, epochs=2, validation=False)
    assert result.initial_epoch == 2 and result.epochs_completed == 2
    _check_consistent(out, _state(out))


def test_a_version_one_state_still_resumes(tmp_path):
    # Runs written before checkpoints had unique names: fixed names, version 1.
    out = tmp_path / "run"
    _train(out, epochs=1, validation=False)
    state = _state(out)
    folder = out / "checkpoints"
    for entry in os.listdir(folder):
        if entry.startswith("epoch-"):
            os.remove(folder / entry)  # last.keras/best.keras are links to it
    old = {key: value for key, value in state.items()
           if key not in ("last_checkpoint", "best_checkpoint")}
    old["version"] = 1
    (out / train_lib.STATE_FILE).write_text(json.dumps(old))
    result = _train(out, epochs=2, validation=False)
    assert result.initial_epoch == 1 and result.epochs_completed == 2


@pytest.mark.parametrize("payload", [
    "[]", "null", '{"version": 2}', "{bad json",
    '{"version": 2, "monitor": "loss", "epochs_completed": -1, "wait": 0, "history": {}}',
    '{"version": 2, "monitor": "loss", "epochs_completed": 2, "wait": 0, "history": {}, '
    '"last_checkpoint": "../../etc/passwd", "last_sha256": "0"}',
    '{"version": 2, "monitor": "loss", "epochs_completed": 2, "wait": 0, "history": {}, '
    '"last_checkpoint": null}',
    '{"version": 2, "monitor": "loss", "epochs_completed": 1, "wait": 0, "history": '
    '{"loss": [1.0]}, "last_checkpoint": "epoch-0001-00.keras", "last_sha256": "0"}',
])
def test_a_damaged_state_file_is_ignored_with_a_warning(tmp_path, payload):
    out = tmp_path / "run"
    os.makedirs(out / "checkpoints")
    (out / train_lib.STATE_FILE).write_text(payload)
    (out / "checkpoints" / "epoch-0001-00.keras").write_bytes(b"PK\x03\x04 damaged")
    model = _model()
    with pytest.warns(UserWarning, match="training_state.json|epoch-0001-00.keras"):
        assert train_lib._load_state(str(out), "loss", model) is None


def test_a_run_whose_state_is_damaged_starts_again(tmp_path):
    out = tmp_path / "run"
    os.makedirs(out)
    (out / train_lib.STATE_FILE).write_text("{bad json")
    with pytest.warns(UserWarning, match="training_state.json"):
        result = _train(out, epochs=1, validation=False)
    assert result.initial_epoch == 0 and result.epochs_completed == 1


def _bundle():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    return Bundle(model, None, ["negative", "positive"], {"accuracy": 0.5},
                  "A card.", task="text_classifier")


def test_bundle_save_fault_at_every_write_never_leaves_a_mixed_bundle(tmp_path, monkeypatch):
    bundle = _bundle()
    clean = _FaultAt()
    monkeypatch.setattr(atomic, "_replace", clean)
    bundle.save(tmp_path / "clean")
    monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
    assert clean.done[-1].endswith("model.keras")  # the model comes last
    for k in range(1, len(clean.done) + 1):
        for overwrite in (False, True):
            folder = tmp_path / f"fault{k}-{overwrite}"
            if overwrite:
                bundle.save(folder)
            monkeypatch.setattr(atomic, "_replace", _FaultAt(k))
            with pytest.raises(OSError, match="injected fault"):
                bundle.save(folder, overwrite=overwrite)
            monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
            # Not a bundle until the model is back: never two saves' files mixed.
            assert not Bundle.is_bundle(folder)
            with pytest.raises(ValueError, match="model.keras"):
                Bundle.load(folder)
            assert not [e for e in os.listdir(folder) if ".tmp" in e]
            bundle.save(folder, overwrite=True)  # the rerun
            loaded = Bundle.load(folder)
            assert loaded.labels == ("negative", "positive")


def _tiny_export_model():
    return rnn_zoo.build_sequence_classifier(num_features=2, num_classes=2, units=4,
                                             compile_model=False, name="tiny")


def test_export_fault_at_every_write_leaves_no_version(tmp_path, monkeypatch):
    model = _tiny_export_model()
    clean = _FaultAt()
    monkeypatch.setattr(atomic, "_replace", clean)
    export_model(model, export_root=tmp_path / "clean", tflite=True)
    monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
    # The version folder itself is published through the same seam, last.
    assert clean.done[-1] == os.path.join(str(tmp_path / "clean"), "tiny", "1")
    root = tmp_path / "faults"
    for k in range(1, len(clean.done) + 1):
        monkeypatch.setattr(atomic, "_replace", _FaultAt(k))
        with pytest.raises(OSError, match="injected fault"):
            export_model(model, export_root=root, tflite=True)
        monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
        # No version, no partial folder, not even an empty model folder.
        assert list_versions(root / "tiny") == []
        assert not (root / "tiny").exists(), os.listdir(root / "tiny")
    result = export_model(model, export_root=root, tflite=False)
    assert result.version == 1 and os.listdir(root / "tiny") == ["1"]


_KILL_CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    import numpy as np
    import rnn_zoo
    from rnn_zoo import atomic
    from rnn_zoo.train import train

    real = atomic._replace
    seen = []

    def replace(source, destination):
        real(source, destination)
        seen.append(os.path.basename(destination))
        # SIGKILL right after the {after!r} write of epoch 2.
        if sum(name.startswith({after!r}) for name in seen) == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    atomic._replace = replace
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, size=(32, 5)).astype("int32")
    y = (x[:, 0] > 6).astype("int32")
    model = rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4,
                                          learning_rate=0.01)
    train(model, (x, y), epochs=4, batch_size=16, output_dir={out!r}, verbose=0,
          tensorboard=False)
""")


def test_sigkill_between_checkpoint_and_state_resumes_from_the_committed_epoch(tmp_path):
    # The riskiest instant: epoch 2's checkpoint is written, its state is not.
    # (A fault after the state commit is covered in-process above.)
    after, committed = "epoch-", 1
    out = tmp_path / "run"
    script = tmp_path / "child.py"
    script.write_text(_KILL_CHILD.format(root=REPO_ROOT, out=str(out), after=after))
    child = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=300,
                           env=dict(os.environ, KERAS_BACKEND="tensorflow",
                                    TF_CPP_MIN_LOG_LEVEL="2"))
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    state = _state(out)
    assert state["epochs_completed"] == committed
    # The orphan checkpoint of the unfinished commit is on disk, unnamed.
    named = {state["last_checkpoint"], state["best_checkpoint"]}
    orphans = [e for e in os.listdir(out / "checkpoints")
               if e.startswith("epoch-") and e not in named]
    assert len(orphans) == 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, y = _data()
        model = _model()
        result = train_lib.train(model, (x, y), epochs=committed + 1, batch_size=16,
                                 output_dir=out, verbose=0, tensorboard=False)
    assert not [w for w in caught if "corrupt" in str(w.message)
                or "Ignoring" in str(w.message)], [str(w.message) for w in caught]
    assert result.initial_epoch == committed
    assert result.history["loss"][:committed] == state["history"]["loss"]
    assert int(model.optimizer.iterations) == (committed + 1) * 2
    _check_consistent(out, _state(out))


_EXPORT_KILL_CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    import rnn_zoo
    from rnn_zoo import atomic
    from rnn_zoo.export import export_model

    real = atomic._replace

    def replace(source, destination):
        if os.path.basename(destination) == "1":
            os.kill(os.getpid(), signal.SIGKILL)  # just before the version appears
        real(source, destination)

    atomic._replace = replace
    model = rnn_zoo.build_sequence_classifier(num_features=2, num_classes=2, units=4,
                                              compile_model=False, name="tiny")
    export_model(model, export_root={root_dir!r}, tflite=False)
""")


def test_sigkill_just_before_the_version_rename_leaves_no_version(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(_EXPORT_KILL_CHILD.format(root=REPO_ROOT, root_dir=str(tmp_path)))
    child = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=300,
                           env=dict(os.environ, KERAS_BACKEND="tensorflow",
                                    TF_CPP_MIN_LOG_LEVEL="2"))
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    model_dir = tmp_path / "tiny"
    assert list_versions(model_dir) == []
    partial = [e for e in os.listdir(model_dir) if e.startswith(".partial-")]
    assert len(partial) == 1  # complete and checked, but never published
    result = export_model(_tiny_export_model(), export_root=tmp_path, tflite=False)
    assert result.version == 1 and os.listdir(model_dir) == ["1"]
