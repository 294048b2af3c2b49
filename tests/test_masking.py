"""Padding anywhere gives the outputs Keras's mask semantics define, on every backend.

cuDNN (TF) asserts on left-padded masks and PyTorch's packed sequences assume
right padding, so the factories right-align padding first. These tests pin
that a left-padded, right-padded and unpadded sequence give the same result.
"""

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.layers import RestoreOrder
from rnn_zoo.layers import RightAlignPadding


@pytest.mark.multi_backend
def test_right_align_padding_compacts_real_steps_in_order():
    ids = np.array([[0, 0, 5, 6], [7, 0, 8, 0], [1, 2, 3, 4], [0, 0, 0, 0]], dtype="int32")
    aligned, order = RightAlignPadding(return_order=True)(ids)
    np.testing.assert_array_equal(
        np.asarray(aligned), [[5, 6, 0, 0], [7, 8, 0, 0], [1, 2, 3, 4], [0, 0, 0, 0]])
    per_step = np.asarray(aligned)[..., None].astype("float32")
    restored = np.asarray(RestoreOrder()([per_step, order]))[..., 0]
    real = ids != 0
    np.testing.assert_array_equal(restored[real], ids[real])


@pytest.mark.multi_backend
def test_already_right_padded_batch_is_kept_with_the_identity_order():
    # tensorflow and jax skip the sort for such a batch (a branch inside the
    # compiled step); the result must be what the sort would give.
    ids = np.array([[5, 6, 0, 0], [1, 2, 3, 4], [0, 0, 0, 0]], dtype="int32")
    aligned, order = RightAlignPadding(return_order=True)(ids)
    np.testing.assert_array_equal(np.asarray(aligned), ids)
    np.testing.assert_array_equal(np.asarray(order), np.tile(np.arange(4), (3, 1)))


@pytest.mark.multi_backend
def test_right_padded_and_mixed_batches_give_the_same_rows_in_compiled_predict():
    model = rnn_zoo.build_text_classifier(vocab_size=20, cell="gru", units=4, embedding_dim=4,
                                          compile_model=False)
    tokens = [5, 9, 3]
    right_only = model.predict(np.array([tokens + [0, 0], [7] + tokens + [0]], "int32"),
                               verbose=0)
    mixed = model.predict(np.array([[0, 0] + tokens, [7] + tokens + [0]], "int32"), verbose=0)
    np.testing.assert_allclose(right_only, mixed, atol=1e-5)


@pytest.mark.multi_backend
def test_training_through_both_alignment_branches_gives_finite_gradients():
    model = rnn_zoo.build_sequence_classifier(num_features=2, num_classes=2, cell="lstm",
                                              units=4)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5, 2)).astype("float32")
    x[:4, 3:] = 0.0  # first batch: right-padded only
    x[4:, :2] = 0.0  # second batch: left-padded
    history = model.fit(x, np.array([0, 1] * 4), batch_size=4, epochs=2, shuffle=False,
                        verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert all(np.all(np.isfinite(np.asarray(w))) for w in model.get_weights())


@pytest.mark.multi_backend
def test_right_align_padding_on_feature_steps():
    x = np.zeros((1, 4, 2), "float32")
    x[0, 2] = [1.0, 2.0]
    x[0, 3] = [3.0, 0.0]
    aligned = np.asarray(RightAlignPadding(padding_value=0.0)(x))
    np.testing.assert_array_equal(aligned[0], [[1, 2], [3, 0], [0, 0], [0, 0]])


@pytest.mark.multi_backend
@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_left_padded_batch_matches_unpadded_sequence(cell, bidirectional):
    model = rnn_zoo.build_text_classifier(vocab_size=20, cell=cell, units=4, embedding_dim=4,
                                          bidirectional=bidirectional, compile_model=False)
    tokens = [5, 9, 3]
    unpadded = model.predict(np.array([tokens], "int32"), verbose=0)
    batch = np.array([[0, 0, 0] + tokens, tokens + [0, 0, 0], [0] + tokens + [0, 0]], "int32")
    outputs = model.predict(batch, verbose=0)
    for row in outputs:
        np.testing.assert_allclose(row, unpadded[0], atol=1e-5)


@pytest.mark.multi_backend
def test_left_padded_tagger_keeps_each_tag_at_its_token():
    model = rnn_zoo.build_sequence_tagger(vocab_size=20, num_tags=3, units=4, embedding_dim=4,
                                          bidirectional=True, compile_model=False)
    tokens = [4, 8, 6, 2]
    unpadded = model.predict(np.array([tokens], "int32"), verbose=0)[0]
    left = model.predict(np.array([[0, 0] + tokens], "int32"), verbose=0)[0]
    np.testing.assert_allclose(left[2:], unpadded, atol=1e-5)


@pytest.mark.multi_backend
def test_left_padded_numeric_series_matches_unpadded():
    model = rnn_zoo.build_sequence_classifier(num_features=2, num_classes=3, units=4,
                                              cell="gru", compile_model=False)
    series = np.random.default_rng(1).normal(size=(1, 5, 2)).astype("float32")
    padded = np.concatenate([np.zeros((1, 3, 2), "float32"), series], axis=1)
    np.testing.assert_allclose(model.predict(padded, verbose=0),
                               model.predict(series, verbose=0), atol=1e-5)
