"""SequenceScaler: statistics from real steps only, padding kept at 0.0, clear errors.

numpy only, so these run once (on the TensorFlow leg), like the other data tests.
"""

import numpy as np
import pytest

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
    with pytest.raises(TypeError, match="SequenceData"):
        scaler.transform(np.zeros((1, 2, 2)))
    with pytest.raises(TypeError, match="SequenceData"):
        SequenceScaler.fit(np.zeros((1, 2, 2)))


def test_japanese_vowels_training_split_is_standardised():
    train = load_japanese_vowels(split="train")
    x = SequenceScaler.fit(train).transform(train)
    real = x[train.mask]
    np.testing.assert_allclose(real.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(real.std(axis=0), 1.0, atol=1e-4)
    assert not x[~train.mask].any()
