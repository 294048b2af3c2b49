"""Pooling over time and the task heads that sit on a recurrent backbone.

Pooling modes (the `pooling` argument of every factory):

* "last": the recurrent layer's final state (with a mask: the state after the
  last real step; for a bidirectional layer the backward half has read the
  whole sequence). Done by the backbone (`return_sequences=False`), so it
  stays on the cuDNN path;
* "mean", "max": masked average / maximum over the real steps;
* "attention": a learned, masked softmax weighting of the steps.
"""

import keras
from keras import ops

from rnn_zoo.tasks import POOLINGS
from rnn_zoo.validation import check_choice
from rnn_zoo.validation import check_size


def _large_negative(dtype):
    # -1e9 overflows float16 to -inf, and a fully masked row would then turn
    # into NaN; Keras's own Softmax layer uses the same two values.
    return -3e4 if keras.backend.standardize_dtype(dtype) == "float16" else -1e9


@keras.saving.register_keras_serializable(package="rnn_zoo")
class MaskedPooling(keras.layers.Layer):
    """Mean or max over time that ignores masked (padding) steps.

    Written here because Keras's `GlobalMaxPooling1D` ignores the mask, so a
    padded step (all zeros after an LSTM) could win the maximum; and one
    layer for both keeps the masking rule in one place.

    Args:
        mode: "mean" or "max".

    Example:

    >>> MaskedPooling("mean")(np.ones((2, 5, 3)), mask=np.ones((2, 5), bool)).shape
    (2, 3)
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice(mode, "mode", ("mean", "max"), where="MaskedPooling")
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1) if self.mode == "mean" else ops.max(inputs, axis=1)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        if self.mode == "mean":
            total = ops.sum(inputs * weights, axis=1)
            count = ops.maximum(ops.sum(weights, axis=1), 1.0)
            return total / count
        lowest = ops.cast(_large_negative(inputs.dtype), inputs.dtype)
        pooled = ops.max(ops.where(weights > 0, inputs, lowest), axis=1)
        # A row with no real step at all pools to zeros, not to -1e9.
        any_real = ops.sum(weights, axis=1) > 0
        return ops.where(any_real, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


@keras.saving.register_keras_serializable(package="rnn_zoo")
class AttentionPooling(keras.layers.Layer):
    """Additive attention pooling over time (Bahdanau-style scores).

    score_t = v . tanh(W h_t + b); weights = masked softmax(score);
    output = sum_t weights_t h_t.

    Args:
        attention_units: int > 0 or None (default: the input width).

    Example:

    >>> AttentionPooling()(np.ones((2, 5, 3))).shape
    (2, 3)
    """

    def __init__(self, attention_units=None, **kwargs):
        super().__init__(**kwargs)
        if attention_units is not None:
            attention_units = check_size(attention_units, "attention_units", "MAX_UNITS",
                                         where="AttentionPooling")
        self.attention_units = attention_units
        self.supports_masking = True

    def build(self, input_shape):
        width = input_shape[-1]
        units = self.attention_units or width
        # The inner Dense shares this layer's dtype policy, so under mixed
        # precision its scores come out in the same compute dtype.
        self.score_dense = keras.layers.Dense(units, activation="tanh", name="score_dense",
                                              dtype=self.dtype_policy)
        self.score_dense.build(input_shape)
        self.score_vector = self.add_weight(
            name="score_vector", shape=(units,), initializer="glorot_uniform"
        )

    def attention_weights(self, inputs, mask=None):
        """Softmax weights `[batch, time]` (zero at masked steps)."""
        scores = ops.sum(self.score_dense(inputs) * self.score_vector, axis=-1)
        if mask is not None:
            scores = ops.where(mask, scores,
                               ops.cast(_large_negative(scores.dtype), scores.dtype))
        return ops.softmax(scores, axis=-1)

    def call(self, inputs, mask=None):
        weights = self.attention_weights(inputs, mask=mask)
        return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config["attention_units"] = self.attention_units
        return config


def pool_sequence(sequences, pooling, name=None):
    """Apply the pooling for `pooling` ("mean", "max", "attention")."""
    check_choice(pooling, "pooling", POOLINGS)
    if pooling == "attention":
        return AttentionPooling(name=name)(sequences)
    if pooling in ("mean", "max"):
        return MaskedPooling(pooling, name=name)(sequences)
    raise ValueError(
        "pooling='last' is produced by the backbone (return_sequences=False), "
        "not by pool_sequence."
    )


def classification_head(features, num_classes, dropout=0.0, name="classifier"):
    """Dropout then a softmax Dense over `num_classes` (probabilities)."""
    if dropout:
        features = keras.layers.Dropout(dropout, name=f"{name}_dropout")(features)
    return keras.layers.Dense(num_classes, activation="softmax", name=name)(features)


def regression_head(features, output_dim, dropout=0.0, name="regressor"):
    """Dropout then a linear Dense over `output_dim` values."""
    if dropout:
        features = keras.layers.Dropout(dropout, name=f"{name}_dropout")(features)
    return keras.layers.Dense(output_dim, name=name)(features)
