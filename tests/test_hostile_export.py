"""Hostile export names, versions and roots: a ValueError naming the argument, nothing left.

Names must match the whole pattern (a trailing newline is refused: `\\Z`, not
`$`), versions fit TF Serving's int64, a root that is a file or can't be
written gets a ValueError (not a raw OSError), and a refused export leaves no
empty `<root>/<name>/` behind. Hypothesis generates names and versions of any
type; every accepted name is then really written.

TensorFlow only: the layout does not depend on the backend.
"""

import json
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import rnn_zoo
from rnn_zoo.export import export_model
from rnn_zoo.export import list_versions
from rnn_zoo.export import versions

_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
_VALID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _write_manifest(folder):
    with open(os.path.join(folder, "manifest.json"), "w") as handle:
        handle.write("{}")
    return "written"


@pytest.fixture(scope="module")
def model():
    return rnn_zoo.build_sequence_classifier(num_features=2, num_classes=2, units=4,
                                             compile_model=False, name="tiny")


@pytest.mark.parametrize("name", [
    "model\n", "model\r", "model\n\n", "\nmodel", "..", ".", ".hidden", "-x", "a/b", "a\\b",
    "../escape", "123", "", " ", "a b", "ñame", "a" * 201, "a" * 300, "nul\x00", None, 3,
    b"model", ["model"],
])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="argument `name`"):
        versions.check_name(name)
    if isinstance(name, str) and "\x00" not in name and "/" not in name and name not in (
            "", ".", ".."):
        with pytest.raises(ValueError, match="argument `name`"):
            versions.write_version_atomically(str(tmp_path / name), 1, _write_manifest)
    assert os.listdir(tmp_path) == []


@settings(max_examples=150, **_SETTINGS)
@given(name=st.one_of(st.text(max_size=12), st.from_regex(_VALID, fullmatch=True),
                      st.text(alphabet="ab.-_\n\r\t 0", max_size=6)))
def test_any_name_is_accepted_exactly_when_it_is_a_plain_folder_name(tmp_path, name):
    valid = (bool(_VALID.fullmatch(name)) and not name.isdigit()
             and len(name) <= versions.MAX_NAME_LENGTH)
    if not valid:
        with pytest.raises(ValueError, match="argument `name`"):
            versions.check_name(name)
        return
    assert versions.check_name(name) == name
    model_dir = tmp_path / "names" / name
    if model_dir.exists():
        return  # drawn before in this run
    path, value = versions.write_version_atomically(str(model_dir), 1, _write_manifest)
    assert value == "written" and versions.list_versions(model_dir) == [1]
    assert os.listdir(model_dir) == ["1"]


@settings(max_examples=120, **_SETTINGS)
@given(version=st.one_of(
    st.integers(-2**70, 2**70), st.integers(2**63 - 3, 2**63 + 3), st.booleans(), st.none(),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
    st.builds(np.int64, st.integers(0, 2**63 - 1)),
    st.builds(np.uint64, st.integers(0, 2**64 - 1))))
def test_any_version_is_accepted_exactly_when_it_fits_int64(tmp_path, version):
    valid = (not isinstance(version, bool) and isinstance(version, (int, np.integer))
             and 0 <= int(version) <= 2**63 - 1)
    model_dir = str(tmp_path / "versions")
    if valid:
        assert versions.check_version(version, model_dir) == int(version)
        assert type(versions.check_version(version, model_dir)) is int
    else:
        with pytest.raises(ValueError, match="argument `version`"):
            versions.check_version(version, model_dir)


def test_the_largest_int64_version_is_written_and_listed(tmp_path):
    largest = 2**63 - 1
    path, _ = versions.write_version_atomically(str(tmp_path / "m"), largest, _write_manifest)
    assert path.endswith(str(largest)) and versions.list_versions(tmp_path / "m") == [largest]
    with pytest.raises(ValueError, match=r"argument `version`.*9223372036854775807"):
        versions.write_version_atomically(str(tmp_path / "m"), largest + 1, _write_manifest)


def test_export_model_refuses_a_trailing_newline_a_long_name_and_a_huge_version(tmp_path,
                                                                                 model):
    for name in ("tiny\n", "a" * 300):
        with pytest.raises(ValueError, match="argument `name`"):
            export_model(model, name=name, export_root=tmp_path, tflite=False)
    with pytest.raises(ValueError, match="argument `version`"):
        export_model(model, export_root=tmp_path, version=2**63, tflite=False)
    assert os.listdir(tmp_path) == []


def test_a_root_that_is_a_file_gets_a_value_error_and_nothing_is_written(tmp_path, model):
    root = tmp_path / "root"
    root.write_text("a file")
    for export_root in (root, root / "below"):
        with pytest.raises(ValueError, match=r"`export_root`. Expected a folder|"
                                             r"Can't write versions.*Not a directory"):
            export_model(model, export_root=export_root, tflite=False)
        with pytest.raises(ValueError, match=r"`export_root`|Can't write versions"):
            versions.write_version_atomically(str(export_root / "m"), 1, _write_manifest)
    assert root.read_text() == "a file" and os.listdir(tmp_path) == ["root"]
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny").write_text("a file where the model folder goes")
    with pytest.raises(ValueError, match=r"models/tiny is a file"):
        export_model(model, export_root=tmp_path / "models", tflite=False)


def test_a_root_that_cannot_be_written_gets_a_value_error_naming_it():
    # sysfs refuses mkdir even to root (tests may run as root, where a chmod'ed
    # folder would still be writable).
    with pytest.raises(ValueError, match=r"Can't write versions under /sys/rnn_zoo_tiny"):
        versions.write_version_atomically("/sys/rnn_zoo_tiny", 1, _write_manifest)
    assert not os.path.exists("/sys/rnn_zoo_tiny")


def test_a_read_only_folder_is_refused_up_front_for_other_users(tmp_path, monkeypatch):
    # The up-front check reads os.access; as root, every folder is writable, so
    # the answer for another user is given through the same call.
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(
        tmp_path) else real(path, mode))
    with pytest.raises(ValueError, match=r"Expected a writable folder.*read-only"):
        versions.check_version(1, str(tmp_path / "m"))


def test_a_refused_export_leaves_no_empty_model_folder(tmp_path, model):
    root = tmp_path / "deep" / "root"

    def fail(folder):
        _write_manifest(folder)
        raise ValueError("parity check failed")

    with pytest.raises(ValueError, match="parity check failed"):
        versions.write_version_atomically(str(root / "m"), 1, fail)
    assert os.listdir(tmp_path) == []  # the folders this call created are gone
    # A model folder that existed before keeps its versions.
    versions.write_version_atomically(str(root / "m"), 1, _write_manifest)
    with pytest.raises(ValueError, match="parity check failed"):
        versions.write_version_atomically(str(root / "m"), 2, fail)
    assert os.listdir(root / "m") == ["1"]
    # A real export refused inside the write: too few labels for the model's classes.
    with pytest.raises(ValueError):
        export_model(model, export_root=tmp_path / "real", labels=["only one"], tflite=False)
    assert list_versions(tmp_path / "real" / "tiny") == []
    assert not (tmp_path / "real" / "tiny").exists()


def test_the_manifest_states_every_file_size_including_its_own(tmp_path, model):
    path = export_model(model, export_root=tmp_path, tflite=False).path
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as handle:
        listed = json.load(handle)["files"]
    actual = {}
    for folder, _, names in os.walk(path):
        for name in names:
            full = os.path.join(folder, name)
            actual[os.path.relpath(full, path).replace(os.sep, "/")] = os.path.getsize(full)
    assert listed == actual
