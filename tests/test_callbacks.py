"""`rnn_zoo.callbacks.WeightNoise`: gradients at noisy weights, updates on clean ones."""

import keras
import numpy as np
import pytest

from rnn_zoo.callbacks import WeightNoise
from rnn_zoo.layers import LSTM


def _model(learning_rate):
    inputs = keras.Input((6, 3))
    outputs = keras.layers.Dense(2)(LSTM(4)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 6, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")


class _RecordWeights(keras.callbacks.Callback):
    """Weights as the training step sees them (runs after WeightNoise's begin)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append([np.array(v) for v in self.model.get_weights()])


@pytest.mark.multi_backend
def test_noise_is_applied_during_steps_and_removed_after():
    keras.utils.set_random_seed(0)
    model = _model(learning_rate=0.0)  # no update: only the noise could move the weights
    x, y = _data()
    clean = [np.array(w) for w in model.get_weights()]
    recorder = _RecordWeights()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[WeightNoise(0.075, seed=1), recorder])
    assert len(recorder.seen) == 4
    for step in recorder.seen:
        offsets = np.concatenate([(seen - base).ravel() for seen, base in zip(step, clean)])
        # Every weight moved, with the requested spread.
        assert np.all(offsets != 0)
        assert 0.06 < offsets.std() < 0.09
        assert abs(offsets.mean()) < 0.02
    # Fresh noise for every step.
    assert not np.allclose(recorder.seen[0][0], recorder.seen[1][0])
    for after, before in zip(model.get_weights(), clean):
        np.testing.assert_allclose(after, before, atol=1e-6)


@pytest.mark.multi_backend
def test_update_lands_on_clean_weights_with_gradient_at_noisy_point():
    x, y = _data()
    keras.utils.set_random_seed(0)
    model = _model(learning_rate=0.1)
    start = [np.array(w) for w in model.get_weights()]
    recorder = _RecordWeights()
    model.fit(x[:4], y[:4], batch_size=4, epochs=1, verbose=0, shuffle=False,
              callbacks=[WeightNoise(0.2, seed=3), recorder])
    noisy = recorder.seen[0]
    # Reference: the SGD step computed by hand at the noisy weights.
    keras.utils.set_random_seed(0)
    reference = _model(learning_rate=0.1)
    reference.set_weights(noisy)
    with_noise_gradient = [np.array(w) for w in reference.get_weights()]
    reference.fit(x[:4], y[:4], batch_size=4, epochs=1, verbose=0, shuffle=False)
    deltas = [after - before for after, before in zip(reference.get_weights(), with_noise_gradient)]
    for after, base, delta in zip(model.get_weights(), start, deltas):
        np.testing.assert_allclose(after, base + delta, atol=1e-5)
    # And it differs from the step without noise.
    keras.utils.set_random_seed(0)
    plain = _model(learning_rate=0.1)
    plain.fit(x[:4], y[:4], batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert not np.allclose(plain.get_weights()[0], model.get_weights()[0], atol=1e-5)


@pytest.mark.parametrize("stddev", [0, -0.1, float("nan"), float("inf"), "0.1", True])
def test_bad_stddev_is_refused(stddev):
    with pytest.raises(ValueError, match="stddev"):
        WeightNoise(stddev)


def test_bad_seed_is_refused():
    with pytest.raises(ValueError, match="seed"):
        WeightNoise(0.1, seed=1.5)
