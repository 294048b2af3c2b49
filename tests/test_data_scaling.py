"""SequenceScaler: statistics from real steps only, padding kept at 0.0, clear errors,
raw arrays, and `scaler.json`.

numpy only, so these run once (on the TensorFlow leg), like the other data tests.
"""

import json
import os

import numpy as np
import pytest

from rnn_zoo.data import DataError
from rnn_zoo.data import SequenceData
from rnn_zoo.data import SequenceScaler
from rnn_zoo.data import load_japanese_vowels


def _padded(rows):
    width = max(len(row) for row in rows)
    x = np.zeros((len(rows), width, len(rows[0][0])), "float32")
    for i, row in enumerate(rows):
        x[i, : len(row)] = row
    return SequenceData(x, [len(row) for row in rows])


def test_statistics_ignore_padding_and_padding_stays_zero():
    data = _padded([[[1.0, 10.0], [3.0, 30.0]], [[5.0, 20.0]]])
    scaler = SequenceScaler.fit(data)
    # Real steps only: (1, 3, 5) and (10, 30, 20); the padded zero is not counted.
    np.testing.assert_allclose(scaler.mean, [3.0, 20.0])
    np.testing.assert_allclose(scaler.std, [np.std([1, 3, 5]), np.std([10, 30, 20])], rtol=1e-6)
    x = scaler.transform(data)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x[1, 1], [0.0, 0.0])  # padding
    expected = [(1 - 3) / np.std([1, 3, 5]), (10 - 20) / np.std([10, 30, 20])]
    np.testing.assert_allclose(x[0, 0], expected, rtol=1e-6)


def test_other_splits_use_the_training_statistics():
    train = _padded([[[0.0], [2.0]], [[4.0]]])
    test = _padded([[[6.0], [1.0], [8.0]]])
    scaler = SequenceScaler.fit(train)
    np.testing.assert_allclose(scaler.transform(test)[0, :, 0],
                               (np.array([6.0, 1.0, 8.0]) - 2.0) / np.std([0, 2, 4]), rtol=1e-6)


def test_constant_feature_is_only_centred():
    data = _padded([[[7.0, 1.0], [7.0, 3.0]]])
    scaler = SequenceScaler.fit(data)
    assert scaler.std[0] == 1.0
    np.testing.assert_allclose(scaler.transform(data)[0, :, 0], [0.0, 0.0])


def test_a_real_step_that_becomes_all_zeros_is_reported():
    data = _padded([[[1.0], [3.0], [2.0]]])  # the step 2.0 equals the mean
    with pytest.warns(UserWarning, match="1 real step"):
        SequenceScaler.fit(data).transform(data)


def test_bad_input_is_refused_with_the_reason():
    scaler = SequenceScaler.fit(_padded([[[1.0, 2.0], [3.0, 5.0]]]))
    with pytest.raises(ValueError, match="3 features; the scaler was fitted on 2"):
        scaler.transform(_padded([[[1.0, 2.0, 3.0]]]))
    with pytest.raises(TypeError, match="SequenceData or a numeric array"):
        scaler.transform(np.zeros(2))
    with pytest.raises(TypeError, match="SequenceData or a numeric array"):
        SequenceScaler.fit("x")
    with pytest.raises(ValueError, match="no real step"):
        SequenceScaler.fit(np.zeros((1, 2, 2)))  # every step is padding
    with pytest.raises(ValueError, match="NaN or infinite"):
        scaler.transform(np.full((1, 2, 2), np.nan))
    with pytest.raises(ValueError, match="`mean` and `std`"):
        SequenceScaler(mean=[0.0, 1.0], std=[1.0])
    with pytest.raises(ValueError, match="`mask_value`"):
        SequenceScaler(mean=[0.0], std=[1.0], mask_value=float("nan"))


def test_japanese_vowels_training_split_is_standardised():
    train = load_japanese_vowels(split="train")
    x = SequenceScaler.fit(train).transform(train)
    real = x[train.mask]
    np.testing.assert_allclose(real.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(real.std(axis=0), 1.0, atol=1e-4)
    assert not x[~train.mask].any()


def test_a_raw_padded_array_scales_like_its_sequence_data():
    data = _padded([[[1.0, 10.0], [3.0, 30.0], [2.0, 5.0]], [[5.0, 20.0]]])
    scaler = SequenceScaler.fit(data)
    np.testing.assert_array_equal(scaler.transform(data.x), scaler.transform(data))
    fitted_raw = SequenceScaler.fit(data.x)  # padding found by value
    np.testing.assert_allclose(fitted_raw.mean, scaler.mean)
    np.testing.assert_allclose(fitted_raw.std, scaler.std)
    single = scaler.transform(data.x[0])  # one sequence [time, features]
    np.testing.assert_array_equal(single, scaler.transform(data)[0])


def test_a_custom_mask_value_marks_and_keeps_padding():
    x = np.array([[[2.0], [4.0], [-1.0]]], dtype=np.float32)  # -1.0 is padding
    scaler = SequenceScaler.fit(x, mask_value=-1.0)
    np.testing.assert_allclose(scaler.mean, [3.0])
    # The first real step lands on the mask value after scaling: reported, not hidden.
    with pytest.warns(UserWarning, match="1 real step.*mask value -1.0"):
        np.testing.assert_allclose(scaler.transform(x)[0, :, 0], [-1.0, 1.0, -1.0])
    assert scaler.get_config() == {"mean": [3.0], "std": [1.0], "mask_value": -1.0}
    assert SequenceScaler.from_config(scaler.get_config()).get_config() == scaler.get_config()


def test_save_load_round_trip_writes_plain_json(tmp_path):
    scaler = SequenceScaler.fit(load_japanese_vowels(split="train"))
    path = scaler.save(tmp_path)
    assert os.path.basename(path) == "scaler.json" and os.listdir(tmp_path) == ["scaler.json"]
    saved = json.loads((tmp_path / "scaler.json").read_text())
    assert saved["class"] == "SequenceScaler" and len(saved["config"]["mean"]) == 12
    loaded = SequenceScaler.load(tmp_path)
    np.testing.assert_array_equal(loaded.mean, scaler.mean)
    np.testing.assert_array_equal(loaded.std, scaler.std)
    assert loaded.mask_value == 0.0


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{", "not valid JSON"),
    ('{"format_version": 1, "class": "SequenceScaler", "config": {"mean": [Infinity], '
     '"std": [1]}}', "not valid JSON"),
    ('{"format_version": 2, "class": "SequenceScaler", "config": {}}', "format_version=1"),
    ('{"format_version": 1, "class": "SequenceScaler", "config": {"mean": [1], "std": [1], '
     '"shift": 2}}', "config keys"),
    ('{"format_version": 1, "class": "SequenceScaler", "config": {"mean": [], "std": []}}',
     "`mean` must be a non-empty list"),
    ('{"format_version": 1, "class": "SequenceScaler", "config": {"mean": [true], '
     '"std": [1]}}', "`mean` must be a non-empty list of finite numbers"),
    ('{"format_version": 1, "class": "SequenceScaler", "config": {"mean": [1], "std": [-1]}}',
     "`std` must hold numbers > 0"),
    ('{"format_version": 1, "class": "SequenceScaler", "config": {"mean": [1], "std": [1], '
     '"mask_value": "0"}}', "`mask_value` must be a finite number"),
])
def test_load_refuses_a_damaged_file_naming_it(tmp_path, content, message):
    if content is not None:
        (tmp_path / "scaler.json").write_text(content)
    with pytest.raises(DataError, match=r"scaler\.json: .*" + message.replace("(", r"\(")):
        SequenceScaler.load(tmp_path)


def test_load_refuses_an_oversized_file_before_reading_it(tmp_path, monkeypatch):
    from rnn_zoo.data import scaling

    SequenceScaler(mean=[0.0] * 20, std=[1.0] * 20).save(tmp_path)
    monkeypatch.setattr(scaling, "MAX_SCALER_BYTES", 64)
    with pytest.raises(DataError, match=r"scaler\.json: \d+ bytes; expected at most 64"):
        SequenceScaler.load(tmp_path)
