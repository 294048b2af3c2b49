"""Every zoo layer through one battery (tests/layer_harness.py), on every backend.

A new layer in `rnn_zoo.layers` or `rnn_zoo.heads` fails
`test_every_zoo_layer_has_a_case` until it has a case here, and then gets the
whole battery: Keras's `run_layer_test`, registration, config, output shape,
masked call and the `.keras` round trip.
"""

import inspect

import keras
import numpy as np
import pytest

from rnn_zoo import heads
from rnn_zoo import layers
from tests.layer_harness import LayerCase
from tests.layer_harness import check_registered
from tests.layer_harness import run_layer_test

BATCH, STEPS, FEATURES = 3, 5, 4
LENGTHS = (5, 3, 1)


def _right_padded_features():
    x = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    for row, length in enumerate(LENGTHS):
        x[row, length:] = 0.0
    return x


# Left-, right- and middle-padded rows: RightAlignPadding moves padding last.
IDS = np.array([[0, 0, 5, 6, 7], [3, 4, 0, 0, 0], [8, 0, 9, 0, 2]], "int32")
FEATURES_X = _right_padded_features()
ORDER = np.array([[2, 0, 1, 3, 4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]], "int32")

CASES = [
    LayerCase("right_align_ids", layers.RightAlignPadding, {}, IDS, (BATCH, STEPS),
              expected_output_dtype="int32"),
    LayerCase("right_align_ids_order", layers.RightAlignPadding, {"return_order": True}, IDS,
              ((BATCH, STEPS), (BATCH, STEPS)), expected_output_dtype=("int32", "int32")),
    LayerCase("right_align_features", layers.RightAlignPadding, {"padding_value": 0.0},
              FEATURES_X, (BATCH, STEPS, FEATURES)),
    LayerCase("restore_order", layers.RestoreOrder, {}, [FEATURES_X, ORDER],
              (BATCH, STEPS, FEATURES)),
    LayerCase("masked_mean", heads.MaskedPooling, {"mode": "mean"}, FEATURES_X,
              (BATCH, FEATURES), lengths=LENGTHS),
    LayerCase("masked_max", heads.MaskedPooling, {"mode": "max"}, FEATURES_X,
              (BATCH, FEATURES), lengths=LENGTHS),
    LayerCase("attention", heads.AttentionPooling, {"attention_units": None}, FEATURES_X,
              (BATCH, FEATURES), lengths=LENGTHS),
    LayerCase("attention_units", heads.AttentionPooling, {"attention_units": 6}, FEATURES_X,
              (BATCH, FEATURES), lengths=LENGTHS),
    LayerCase("lstm_sequences", layers.LSTM,
              {"units": 3, "return_sequences": True, "require_cudnn": True}, FEATURES_X,
              (BATCH, STEPS, 3), lengths=LENGTHS, sequence_output=True),
    LayerCase("gru_last", layers.GRU, {"units": 3, "dropout": 0.1}, FEATURES_X, (BATCH, 3),
              lengths=LENGTHS),
    LayerCase("simple_rnn_sequences", layers.SimpleRNN, {"units": 3, "return_sequences": True},
              FEATURES_X, (BATCH, STEPS, 3), lengths=LENGTHS, sequence_output=True),
    LayerCase("bilstm_sequences", layers.Bidirectional,
              {"layer": layers.LSTM(3, return_sequences=True)}, FEATURES_X, (BATCH, STEPS, 6),
              lengths=LENGTHS, sequence_output=True),
    LayerCase("bigru_sum", layers.Bidirectional,
              {"layer": layers.GRU(3), "merge_mode": "sum"}, FEATURES_X, (BATCH, 3),
              lengths=LENGTHS),
]


def _zoo_layer_classes():
    found = set()
    for module in (layers, heads):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, keras.layers.Layer) and value.__module__ == module.__name__:
                found.add(value)
    return found


@pytest.mark.multi_backend
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_layer_passes_the_battery(case, tmp_path):
    run_layer_test(case, tmp_path)


def test_every_zoo_layer_has_a_case():
    classes = _zoo_layer_classes()
    assert {layers.LSTM, layers.GRU, layers.SimpleRNN, layers.Bidirectional,
            layers.RightAlignPadding, layers.RestoreOrder, heads.MaskedPooling,
            heads.AttentionPooling} <= classes
    assert classes <= {case.layer_cls for case in CASES}
    for layer_cls in classes:
        check_registered(layer_cls)


@pytest.mark.multi_backend
def test_right_align_padding_keeps_real_steps_in_order_and_pads_last():
    aligned, order = layers.RightAlignPadding(return_order=True)(IDS)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(aligned),
        [[5, 6, 7, 0, 0], [3, 4, 0, 0, 0], [8, 9, 2, 0, 0]])
    np.testing.assert_array_equal(
        np.take_along_axis(IDS, keras.ops.convert_to_numpy(order), axis=1),
        keras.ops.convert_to_numpy(aligned))


@pytest.mark.multi_backend
def test_restore_order_inverts_the_permutation_and_carries_the_mask():
    layer = layers.RestoreOrder()
    permuted = np.take_along_axis(FEATURES_X, ORDER[..., None], axis=1)
    restored = layer([permuted, ORDER])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored), FEATURES_X)
    mask = np.arange(STEPS)[None, :] < np.array(LENGTHS)[:, None]
    permuted_mask = np.take_along_axis(mask, ORDER, axis=1)
    restored_mask = layer.compute_mask([permuted, ORDER], [permuted_mask, None])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored_mask), mask)
