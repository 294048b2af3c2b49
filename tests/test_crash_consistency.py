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
import re
import shutil
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


def test_train_fault_at_every_write_resumes_without_losing_work(tmp_path, monkeypatch,
                                                                record_property):
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
    record_property("hostile_cases", len(clean.done))

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


def test_bundle_save_fault_at_every_write_never_leaves_a_mixed_bundle(tmp_path, monkeypatch,
                                                                      record_property):
    bundle = _bundle()
    clean = _FaultAt()
    monkeypatch.setattr(atomic, "_replace", clean)
    bundle.save(tmp_path / "clean")
    monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
    assert clean.done[-1].endswith("model.keras")  # the model comes last
    record_property("hostile_cases", 2 * len(clean.done))
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


def test_export_fault_at_every_write_leaves_no_version(tmp_path, monkeypatch, record_property):
    model = _tiny_export_model()
    clean = _FaultAt()
    monkeypatch.setattr(atomic, "_replace", clean)
    export_model(model, export_root=tmp_path / "clean", tflite=True)
    monkeypatch.setattr(atomic, "_replace", _REAL_REPLACE)
    # The version folder itself is published through the same seam, last.
    assert clean.done[-1] == os.path.join(str(tmp_path / "clean"), "tiny", "1")
    record_property("hostile_cases", len(clean.done))
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


# --------------------------------------------------------------------------- tuner
#
# The search's files: spec.json, keras-tuner's oracle.json / trial.json /
# tuner0.json (written through rnn_zoo.atomic by our oracle and tuner, not in
# place as upstream does), each trial's oof.npy and cv.json, the run log
# (atomic._append), the report, the best/ and default/ bundles and the export.
# A tiny search (conftest's spec: 48 rows, 1 epoch, batch 64) keeps a trial
# at about 2 s of CPU.


class _Recorder:
    """Stands in for both seams of `rnn_zoo.atomic`; fails one write, or none.

    Args:
        root: writes are labelled by their path relative to it.
        k: fail the k-th write (1-based), or
        label: fail the first write with this label; neither: fail none.
    """

    def __init__(self, root, k=None, label=None):
        self.root = os.fspath(root)
        self.k = k
        self.label = label
        self.done = []  # labels of the writes made visible: paths relative to root

    def _label(self, destination):
        label = os.path.relpath(os.fspath(destination), self.root)
        parts = [".partial" if p.startswith(".partial-") else p for p in label.split(os.sep)]
        return "/".join(parts)

    def _step(self, destination, write):
        label = self._label(destination)
        if (self.k is not None and len(self.done) + 1 == self.k) or label == self.label:
            raise OSError(errno.EIO, "injected fault", os.fspath(destination))
        write()
        self.done.append(label)

    def replace(self, source, destination):
        self._step(destination, lambda: _REAL_REPLACE(source, destination))

    def append(self, path, data):
        self._step(path, lambda: _REAL_APPEND(path, data))


_REAL_APPEND = atomic._append


def test_append_line_adds_one_whole_record_per_call(tmp_path):
    # The run log's writes: one os.write per record, never two records in one call.
    path = tmp_path / "log.jsonl"
    atomic.append_line(path, '{"a": 1}')
    atomic.append_line(path, '{"b": 2}')
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n'
    with pytest.raises(ValueError, match="one line per record"):
        atomic.append_line(path, "two\nlines")
    assert path.read_text().count("\n") == 2


@pytest.fixture
def faults(monkeypatch):
    """`faults(recorder)`: route rnn_zoo.atomic's two seams through it; None restores them."""

    def install(recorder):
        monkeypatch.setattr(atomic, "_replace", recorder.replace if recorder else _REAL_REPLACE)
        monkeypatch.setattr(atomic, "_append", recorder.append if recorder else _REAL_APPEND)

    yield install
    install(None)


def _search_spec(spec_dict, max_trials):
    from rnn_zoo.tuning import parse_spec

    return parse_spec(spec_dict(seed=3, space={"fixed": {"batch_size": 64}},
                                budget={"max_trials": max_trials}))


def _search(spec, output, refit=False, lines=None):
    from rnn_zoo.tuning import run_search

    return run_search(spec, str(output), refit=refit,
                      progress=(lines.append if lines is not None else lambda line: None))


def _trial_files(output):
    """{trial id: trial.json state} of the search in `output`."""
    folder = os.path.join(output, "search")
    states = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name, "trial.json")
        if name.startswith("trial_") and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                states[name[len("trial_"):]] = json.load(handle)
    return states


def _begins(output):
    from rnn_zoo.tuning.runner import read_run_log

    records = read_run_log(os.path.join(output, "search"))
    counts = {}
    for record in records:
        if record["event"] == "begin":
            counts[record["trial_id"]] = counts.get(record["trial_id"], 0) + 1
    return counts


def _check_no_partial_files(output):
    """No temporary file or unpublished folder, and every JSON file parses."""
    for folder, dirs, files in os.walk(output):
        for name in dirs + files:
            assert ".tmp" not in name and not name.startswith(".partial"), (folder, name)
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    json.load(handle)


def _committed(output):
    """{trial id: score} of the trials a rerun must keep (trial.json says COMPLETED)."""
    return {trial_id: state["score"] for trial_id, state in _trial_files(output).items()
            if state["status"] == "COMPLETED"}


def _check_resumed(output, before_scores, before_begins, result, max_trials):
    from rnn_zoo.tuning import search as search_lib

    # Every trial completed; none ran beyond the budget.
    assert [row["status"] for row in result.rows] == ["COMPLETED"] * max_trials
    assert all(row["runs"] >= 1 for row in result.rows)
    after = _committed(output)
    begins = _begins(output)
    for trial_id in after:
        if trial_id in before_scores:
            # Kept as it was, not run again.
            assert after[trial_id] == before_scores[trial_id], trial_id
            assert begins[trial_id] == before_begins.get(trial_id, 0), trial_id
        else:
            assert begins[trial_id] == before_begins.get(trial_id, 0) + 1, trial_id
        record, predictions = search_lib._trial_record(result.tuner, trial_id)
        assert record is not None and len(predictions) > 0, trial_id
    best = json.loads((output / "best.json").read_text())["best"]
    assert best["score"] == min(after.values())
    _check_no_partial_files(output)


@pytest.fixture(scope="module")
def searched(tmp_path_factory, spec_dict):
    """A search of 1 trial (`one`), then a copy of it grown to 2 trials (`two`).

    Returns:
        dict: the two folders, and the labels of the writes each run made, in
        order: `fresh` (the first run) and `grown` (the second).
    """
    root = tmp_path_factory.mktemp("searched")
    one, two = root / "one", root / "two"
    recorders = {"fresh": _Recorder(one), "grown": _Recorder(two)}
    try:
        atomic._replace, atomic._append = recorders["fresh"].replace, recorders["fresh"].append
        _search(_search_spec(spec_dict, 1), one)
        shutil.copytree(one, two)
        atomic._replace, atomic._append = recorders["grown"].replace, recorders["grown"].append
        _search(_search_spec(spec_dict, 2), two)
    finally:
        atomic._replace, atomic._append = _REAL_REPLACE, _REAL_APPEND
    return dict(one=one, two=two, **{name: r.done for name, r in recorders.items()})


def _fault_then_rerun(start, output, spec, k, faults, refit=False):
    """Fail the k-th write of a run on a copy of `start` (None: empty), rerun, check."""
    if start is not None:
        shutil.copytree(start, output)
    fault = _Recorder(output, k)
    faults(fault)
    with pytest.raises(OSError, match="injected fault"):
        _search(spec, output, refit=refit)
    faults(None)
    _check_no_partial_files(output)
    before_scores, before_begins = _committed(output), _begins(output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _search(spec, output, refit=refit)
    assert not [w for w in caught if "corrupt" in str(w.message)], k
    _check_resumed(output, before_scores, before_begins, result,
                   spec.budget["max_trials"])
    return fault


def test_search_writes_every_file_through_the_atomic_module(searched):
    # keras-tuner's own files come through rnn_zoo.atomic too (upstream writes
    # them in place), and the second trial's run writes each kind of record.
    grown = set(searched["grown"])
    assert {"spec.json", "search/oracle.json", "search/tuner0.json",
            "search/trial_1/trial.json", "search/trial_1/oof.npy", "search/trial_1/cv.json",
            "search/trial_runs.jsonl", "results.csv", "results.md", "best.json",
            "trials.png"} <= grown, grown
    # No file of the search folder was written any other way.
    written = {os.path.relpath(os.path.join(folder, name), searched["two"]).replace(os.sep, "/")
               for folder, _, files in os.walk(searched["two"]) for name in files}
    assert written <= set(searched["fresh"]) | grown, written - set(searched["fresh"]) - grown


@pytest.mark.parametrize("half", [0, 1])
def test_search_fault_at_every_write_of_a_trial_resumes_without_losing_one(
        searched, tmp_path, faults, spec_dict, half, record_property):
    # Trial 0 is complete; a rerun grows the search to 2 trials, and each of
    # that run's writes fails once in turn (every other one per half, so
    # that two workers share them).
    spec = _search_spec(spec_dict, 2)
    points = range(1, len(searched["grown"]) + 1)[half::2]
    record_property("hostile_cases", len(points))
    for k in points:
        _fault_then_rerun(searched["one"], tmp_path / f"fault{k}", spec, k, faults)


def test_search_fault_before_its_first_trial_trains_starts_it_again(
        searched, tmp_path, faults, spec_dict, record_property):
    # A fresh search, before tuner0.json exists: spec.json, trial 0's creation
    # (trial.json, oracle.json) and the run log's "begin" line.
    points = searched["fresh"].index("search/trial_runs.jsonl") + 1
    record_property("hostile_cases", points)
    assert searched["fresh"][:points] == ["spec.json", "search/trial_0/trial.json",
                                          "search/oracle.json", "search/trial_runs.jsonl"]
    spec = _search_spec(spec_dict, 1)
    for k in range(1, points + 1):
        _fault_then_rerun(None, tmp_path / f"fault{k}", spec, k, faults)


def test_search_refit_and_export_fault_leaves_no_mixed_bundle_or_version(
        searched, tmp_path, faults, spec_dict, record_property):
    from rnn_zoo.bundle import Bundle
    from rnn_zoo.tuning.search import export_best

    spec = _search_spec(spec_dict, 2)
    output = tmp_path / "run"
    shutil.copytree(searched["two"], output)

    def run():
        result = _search(spec, output, refit=True)
        return export_best(result, spec, output / "export", progress=lambda line: None)

    clean = _Recorder(output)
    faults(clean)
    run()
    faults(None)
    # The writes Bundle.save and export_model make are each failed in turn in
    # the tests above; here, the first and the last write of each bundle and
    # the export's publication, the refit (three trainings) being the cost of
    # every run.
    points = []
    for folder in ("best/", "default/"):
        inside = [label for label in clean.done if label.startswith(folder)]
        points += [inside[0], inside[-1]]
    assert clean.done[-1] == "export/search/1"  # the version is published last
    points.append(clean.done[-1])
    record_property("hostile_cases", len(points))
    shutil.rmtree(output)
    shutil.copytree(searched["two"], output)
    for label in points:
        # Each rerun doubles as the failing run of the next point.
        faults(_Recorder(output, label=label))
        with pytest.raises(OSError, match="injected fault"):
            run()
        faults(None)
        _check_no_partial_files(output)
        for folder in ("best", "default"):
            if Bundle.is_bundle(output / folder):
                Bundle.load(output / folder)  # complete, never mixed
        assert not (output / "export" / "search" / "1").exists()
        assert _committed(output) == _committed(searched["two"])
    exported = run()
    assert exported.version == 1
    for folder in ("best", "default"):
        assert Bundle.load(output / folder).task == "sequence_regressor"
    _check_no_partial_files(output)


@pytest.mark.parametrize("name", ["search/oracle.json", "search/tuner0.json",
                                  "search/trial_0/trial.json", "spec.json"])
@pytest.mark.parametrize("content", [b"", b'{"ongoing_trials": {', b"\xff\xfe", b"[]"])
def test_a_torn_keras_tuner_file_is_refused_by_name(searched, tmp_path, spec_dict, name,
                                                    content):
    # Written atomically since, a torn file only comes from an older run or
    # damage outside rnn-zoo: no resume from it, and no guess.
    output = tmp_path / "run"
    shutil.copytree(searched["one"], output)
    (output / name).write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(name) + ".*--overwrite"):
        _search(_search_spec(spec_dict, 1), output)


# --------------------------------------------------------------------------- dataset cache


def test_chorale_cache_fault_leaves_no_cache_and_a_rerun_builds_it(tmp_path, faults, caplog,
                                                                    monkeypatch):
    from rnn_zoo.data import datasets

    parsed = []
    real_parse = datasets._parse_chorales

    def parse(max_chorales):
        parsed.append(max_chorales)  # counts the real parses
        return real_parse(max_chorales)

    monkeypatch.setattr(datasets, "_parse_chorales", parse)
    clean = _Recorder(tmp_path / "clean")
    faults(clean)
    reference = datasets.load_bach_chorales(split="train", max_chorales=3,
                                            cache_dir=tmp_path / "clean")
    faults(None)
    assert len(clean.done) == 1 and clean.done[0].endswith(".npz")  # its one write
    folder = tmp_path / "fault"
    faults(_Recorder(folder, 1))
    with caplog.at_level("WARNING", logger="rnn_zoo.data.datasets"):
        data = datasets.load_bach_chorales(split="train", max_chorales=3,
                                           cache_dir=folder)
    faults(None)
    # The data is whole all the same; the cache is absent, not partial.
    np.testing.assert_array_equal(data.x, reference.x)
    assert "injected fault" in caplog.text
    assert os.listdir(folder) == []
    rerun = datasets.load_bach_chorales(split="train", max_chorales=3, cache_dir=folder)
    np.testing.assert_array_equal(rerun.x, reference.x)
    assert [p.name for p in folder.iterdir()] == [os.path.basename(clean.done[0])]
    assert len(parsed) == 3  # clean, faulted, rerun: each parsed once
    again = datasets.load_bach_chorales(split="train", max_chorales=3, cache_dir=folder)
    np.testing.assert_array_equal(again.x, reference.x)
    assert len(parsed) == 3  # the rebuilt cache is read, not parsed again
