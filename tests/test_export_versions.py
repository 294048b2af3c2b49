"""Versioned exports: integer versions, immutability, atomic writes that survive SIGKILL.

TensorFlow-only (unmarked): the layout does not depend on the backend, and the
any-backend path is covered in test_export_saved_model.py.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

import rnn_zoo
from rnn_zoo.export import VersionExistsError
from rnn_zoo.export import export_model
from rnn_zoo.export import list_versions
from rnn_zoo.export.versions import write_version_atomically


def _tiny_model():
    return rnn_zoo.build_sequence_classifier(num_features=2, num_classes=2, units=4,
                                             compile_model=False, name="tiny")


def test_versions_are_sequential_and_an_existing_one_is_refused(tmp_path):
    model = _tiny_model()
    first = export_model(model, export_root=tmp_path, tflite=False)
    second = export_model(model, export_root=tmp_path, tflite=False)
    assert (first.version, second.version) == (1, 2)
    assert list_versions(tmp_path / "tiny") == [1, 2]
    assert sorted(os.listdir(tmp_path / "tiny")) == ["1", "2"]  # no partial folder left
    before = (tmp_path / "tiny" / "1" / "manifest.json").read_bytes()

    with pytest.raises(VersionExistsError, match=r"immutable.*next free version \(3\)"):
        export_model(model, export_root=tmp_path, version=1, tflite=False)
    with pytest.raises(ValueError, match="version"):
        export_model(model, export_root=tmp_path, version=-1, tflite=False)
    with pytest.raises(ValueError, match="name"):
        export_model(model, export_root=tmp_path, name="../escape", tflite=False)
    assert (tmp_path / "tiny" / "1" / "manifest.json").read_bytes() == before
    assert list_versions(tmp_path / "tiny") == [1, 2]


def test_root_is_a_deprecated_alias_of_export_root(tmp_path):
    model = _tiny_model()
    with pytest.warns(DeprecationWarning, match=r"root=\.\.\.\) is deprecated; use export_root"):
        result = export_model(model, root=tmp_path, tflite=False)
    assert result.path == os.path.join(str(tmp_path), "tiny", "1")
    assert list_versions(tmp_path / "tiny") == [1]
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="pass only one"):
        export_model(model, root=tmp_path, export_root=tmp_path, tflite=False)
    assert list_versions(tmp_path / "tiny") == [1]


def test_version_exists_error_keeps_its_old_import_path():
    # The old import path of the error keeps working and names the same class.
    from rnn_zoo.export import results
    from rnn_zoo.export import versions

    assert versions.VersionExistsError is results.VersionExistsError is VersionExistsError
    assert issubclass(VersionExistsError, ValueError)


def test_failed_write_leaves_no_version_and_no_partial_folder(tmp_path):
    def write_then_fail(folder):
        with open(os.path.join(folder, "saved_model.pb"), "wb") as handle:
            handle.write(b"half")
        raise ValueError("parity check failed")

    with pytest.raises(ValueError, match="parity check failed"):
        write_version_atomically(str(tmp_path / "m"), 1, write_then_fail)
    # No version, no partial folder, and not the model folder this call created.
    assert os.listdir(tmp_path) == []


_EXPORT_SCRIPT = """
import sys
import rnn_zoo
from rnn_zoo.export import export_model
model = rnn_zoo.build_sequence_classifier(num_features=2, num_classes=2, units=4,
                                          compile_model=False, name="tiny")
print("exporting", flush=True)
export_model(model, export_root=sys.argv[1], tflite=True)
"""


def test_sigkill_mid_export_leaves_no_partial_version(tmp_path):
    model_dir = tmp_path / "tiny"
    process = subprocess.Popen(
        [sys.executable, "-c", _EXPORT_SCRIPT, str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2"))
    try:
        deadline = time.monotonic() + 240
        partial = []
        while not partial and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            if model_dir.is_dir():
                partial = [e for e in os.listdir(model_dir) if e.startswith(".partial-")]
        assert partial, "the export never created its temporary folder"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # Killed while writing: the temporary folder is there, no version is.
    assert process.returncode == -signal.SIGKILL
    assert list_versions(model_dir) == []
    assert [e for e in os.listdir(model_dir) if e.startswith(".partial-")] == partial

    result = export_model(_tiny_model(), export_root=tmp_path, tflite=False)
    assert result.version == 1
    assert os.listdir(model_dir) == ["1"]  # the dead writer's folder was cleaned
