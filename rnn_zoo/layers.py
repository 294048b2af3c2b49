"""Zoo recurrent layers: thin, validated wrappers around `keras.layers`.

The math stays in Keras's cells (`LSTMCell`, `GRUCell`, `SimpleRNNCell`); these
wrappers only add what a model zoo needs on top:

* argument validation with messages that name the argument and allowed values;
* defaults that keep the fused cuDNN kernel available (tanh / sigmoid,
  `recurrent_dropout=0`, `unroll=False`, `use_bias=True`, `reset_after=True`);
* `require_cudnn=True`, which refuses at build time a configuration that can't
  take the fused kernel on a GPU (see `rnn_zoo.cudnn`);
* `RightAlignPadding`, which moves padding to the end of every row so that a
  left-padded batch is handled correctly instead of tripping cuDNN's
  right-padding assertion deep inside TensorFlow.

Every class is registered as serializable under the `rnn_zoo` package, so a
`.keras` file holding them loads in safe mode once `rnn_zoo` is imported.
"""

import keras
from keras import ops

from rnn_zoo import kernels
from rnn_zoo.cudnn import blocking_reasons
from rnn_zoo.tasks import CELLS
from rnn_zoo.validation import check_bool
from rnn_zoo.validation import check_fraction
from rnn_zoo.validation import check_size


class _ZooRecurrent:
    """What the zoo's LSTM, GRU and SimpleRNN add to their Keras parents.

    A mixin placed before the Keras class in the bases, so `super()` reaches
    the Keras layer: argument validation, `require_cudnn`, the native-kernel
    hook (`rnn_zoo.kernels`) and the extra config entry live in one place.
    """

    # Name of the `rnn_zoo.kernels` function to try before Keras's own loop,
    # looked up at call time; None for cells with no native kernel.
    native_kernel = None

    def __init__(self, units, dropout=0.0, recurrent_dropout=0.0,
                 require_cudnn=False, **kwargs):
        where = type(self).__name__
        units = check_size(units, "units", "MAX_UNITS", where=where)
        dropout = check_fraction(dropout, "dropout", where=where)
        recurrent_dropout = check_fraction(recurrent_dropout, "recurrent_dropout", where=where)
        super().__init__(units, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, **kwargs)
        self.require_cudnn = check_bool(require_cudnn, "require_cudnn", where=where)

    def build(self, sequences_shape, initial_state_shape=None):
        if self.require_cudnn:
            reasons = blocking_reasons(self, masked=False)
            if reasons:
                raise ValueError(
                    f"Layer '{self.name}' was built with require_cudnn=True, but "
                    "it cannot use the cuDNN kernel: " + "; ".join(reasons) + "."
                )
        super().build(sequences_shape, initial_state_shape)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if self.native_kernel is not None:
            fast = getattr(kernels, self.native_kernel)(
                self, sequences, initial_state, mask, training=training
            )
            if fast is not None:
                return fast
        return super().inner_loop(sequences, initial_state, mask,
                                  training=training)

    def get_config(self):
        config = super().get_config()
        config["require_cudnn"] = self.require_cudnn
        return config


@keras.saving.register_keras_serializable(package="rnn_zoo")
class LSTM(_ZooRecurrent, keras.layers.LSTM):
    """Long Short-Term Memory layer with cuDNN-friendly defaults.

    Same arguments as `keras.layers.LSTM`, plus `require_cudnn`. On the torch
    backend the forward pass is routed to PyTorch's native LSTM kernel when
    the configuration allows it (see `rnn_zoo.kernels`); the weights and the
    math are Keras's.

    Args:
        units: int > 0, dimensionality of the output space.
        dropout: float in [0, 1), dropout on the inputs (cuDNN-compatible).
        recurrent_dropout: float in [0, 1). Anything above 0 rules out cuDNN.
        require_cudnn: bool, default False. If True, raise at build time when
            this configuration can never take the fused cuDNN kernel.
        **kwargs: any other `keras.layers.LSTM` argument.

    Example:

    >>> layer = rnn_zoo.layers.LSTM(8, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 8)
    """

    native_kernel = "native_lstm"


@keras.saving.register_keras_serializable(package="rnn_zoo")
class GRU(_ZooRecurrent, keras.layers.GRU):
    """Gated Recurrent Unit layer with cuDNN-friendly defaults.

    Same arguments as `keras.layers.GRU` (`reset_after=True` by default, the
    cuDNN variant), plus `require_cudnn`. On the torch backend the forward
    pass is routed to PyTorch's native GRU kernel when the configuration
    allows it (see `rnn_zoo.kernels`).

    Args:
        units: int > 0, dimensionality of the output space.
        dropout: float in [0, 1), dropout on the inputs (cuDNN-compatible).
        recurrent_dropout: float in [0, 1). Anything above 0 rules out cuDNN.
        require_cudnn: bool, default False. If True, raise at build time when
            this configuration can never take the fused cuDNN kernel.
        **kwargs: any other `keras.layers.GRU` argument.

    Example:

    >>> layer = rnn_zoo.layers.GRU(8)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 8)
    """

    native_kernel = "native_gru"


@keras.saving.register_keras_serializable(package="rnn_zoo")
class SimpleRNN(_ZooRecurrent, keras.layers.SimpleRNN):
    """Fully connected (tanh) recurrent layer, the ungated baseline.

    Keras has no cuDNN kernel for it: `require_cudnn=True` always raises.

    Args:
        units: int > 0, dimensionality of the output space.
        dropout: float in [0, 1), dropout on the inputs.
        recurrent_dropout: float in [0, 1).
        require_cudnn: bool, default False.
        **kwargs: any other `keras.layers.SimpleRNN` argument.

    Example:

    >>> layer = rnn_zoo.layers.SimpleRNN(8)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 8)
    """


@keras.saving.register_keras_serializable(package="rnn_zoo")
class Bidirectional(keras.layers.Bidirectional):
    """Bidirectional wrapper that reads the whole sequence both ways.

    Same arguments as `keras.layers.Bidirectional`. The wrapped layer must be
    a recurrent layer; the zoo's `LSTM`/`GRU`/`SimpleRNN` keep their
    validation and `require_cudnn` behaviour in both directions.

    Args:
        layer: a recurrent layer instance (e.g. `rnn_zoo.layers.LSTM(16)`).
        merge_mode: one of "concat" (default), "sum", "mul", "ave", None.
        **kwargs: any other `keras.layers.Bidirectional` argument.

    Example:

    >>> layer = rnn_zoo.layers.Bidirectional(rnn_zoo.layers.GRU(8))
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 16)
    """

    def __init__(self, layer, merge_mode="concat", **kwargs):
        allowed = ("concat", "sum", "mul", "ave", None)
        if merge_mode not in allowed:
            raise ValueError(
                "Invalid value received for argument `merge_mode`. Expected "
                f"one of {allowed}. Received: merge_mode={merge_mode!r}"
            )
        super().__init__(layer, merge_mode=merge_mode, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        fast = kernels.native_bidirectional(self, sequences, initial_state,
                                            mask, training=training)
        if fast is not None:
            return fast
        return super().call(sequences, initial_state=initial_state,
                            mask=mask, training=training)


RECURRENT_LAYERS = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}


def recurrent_layer(cell, units, **kwargs):
    """Create the zoo recurrent layer for a cell name.

    Args:
        cell: str, one of "lstm", "gru", "simple_rnn".
        units: int > 0.
        **kwargs: passed to the layer (`return_sequences`, `dropout`, ...).

    Returns:
        A `rnn_zoo.layers.LSTM`, `GRU` or `SimpleRNN` instance.

    Example:

    >>> rnn_zoo.layers.recurrent_layer("gru", 16, return_sequences=True)
    """
    if cell not in RECURRENT_LAYERS:
        raise ValueError(
            "Invalid value received for argument `cell`. Expected one of "
            f"{CELLS}. Received: cell={cell!r}"
        )
    return RECURRENT_LAYERS[cell](units, **kwargs)


def _right_padded(is_padding):
    """Scalar bool: in every row no real step follows a padding step."""
    return ops.all(is_padding[:, 1:] >= is_padding[:, :-1])


def _is_cpu_tensor(tensor):
    """True for a torch tensor with data on the CPU (not CUDA, not meta)."""
    device = getattr(tensor, "device", None)
    return getattr(device, "type", None) == "cpu"


@keras.saving.register_keras_serializable(package="rnn_zoo")
class RightAlignPadding(keras.layers.Layer):
    """Move padding steps to the end of each row, keeping the real steps' order.

    The cuDNN kernels only accept strictly right-padded masks (a left-padded
    batch trips a `tf.Assert` inside TensorFlow), and PyTorch's packed
    sequences assume right padding too. Keras's masked generic loop skips
    masked steps wherever they are, so compacting the real steps to the front
    gives exactly the outputs Keras's mask semantics define, for left-,
    right- or middle-padded rows, and every kernel sees right padding.

    A step is padding when the token id equals `padding_value` (rank-2 id
    input) or when every feature equals `padding_value` (rank-3 input, the
    `keras.layers.Masking` rule).

    Args:
        padding_value: int or float, default 0. The padding token id, or the
            feature value that marks a padded step.
        return_order: bool, default False. If True, also return the int32
            permutation `order` with `aligned[:, j] = inputs[:, order[:, j]]`,
            which `RestoreOrder` uses to put per-step outputs back in place.

    Example:

    >>> RightAlignPadding()(np.array([[0, 0, 5, 6]]))
    array([[5, 6, 0, 0]])
    """

    def __init__(self, padding_value=0, return_order=False, **kwargs):
        super().__init__(**kwargs)
        self.padding_value = padding_value
        self.return_order = bool(return_order)
        self.supports_masking = False

    def padding_mask(self, inputs):
        """Boolean `[batch, time]`, True at padding steps."""
        if len(inputs.shape) == 2:
            return ops.equal(inputs, ops.cast(self.padding_value, inputs.dtype))
        return ops.all(
            ops.equal(inputs, ops.cast(self.padding_value, inputs.dtype)),
            axis=-1,
        )

    def call(self, inputs):
        is_padding = ops.cast(self.padding_mask(inputs), "int32")
        # Most batches come right-padded already: skip the sort for them.
        # The check is far cheaper than the argsort it saves
        # (benchmarks/train_speed.py's alignment table).
        if keras.backend.backend() == "torch":
            # Eager torch: `ops.cond` costs more than the sort itself, a
            # Python branch on a CPU tensor much less. On CUDA it would wait
            # for the device at every batch, and symbolic (meta) tensors
            # have no value: both keep the sort.
            if _is_cpu_tensor(inputs) and bool(_right_padded(is_padding)):
                return self._unchanged(inputs)
            return self._compact(inputs, is_padding)
        return ops.cond(_right_padded(is_padding), lambda: self._unchanged(inputs),
                        lambda: self._compact(inputs, is_padding))

    def _unchanged(self, inputs):
        if not self.return_order:
            return inputs
        shape = ops.shape(inputs)
        order = ops.broadcast_to(
            ops.expand_dims(ops.arange(shape[1], dtype="int32"), 0), (shape[0], shape[1])
        )
        return inputs, order

    def _compact(self, inputs, is_padding):
        steps = ops.shape(inputs)[1]
        positions = ops.expand_dims(ops.arange(steps, dtype="int32"), 0)
        # Real steps keep their position as the key, padding steps are pushed
        # past the end; argsort of unique keys is a stable compaction.
        keys = positions + is_padding * steps
        order = ops.cast(ops.argsort(keys, axis=-1), "int32")
        if len(inputs.shape) == 2:
            aligned = ops.take_along_axis(inputs, order, axis=1)
        else:
            aligned = ops.take_along_axis(
                inputs, ops.expand_dims(order, -1), axis=1
            )
        if self.return_order:
            return aligned, order
        return aligned

    def compute_output_shape(self, input_shape):
        if self.return_order:
            return input_shape, tuple(input_shape[:2])
        return input_shape

    def compute_output_spec(self, inputs):
        # The rows keep their dtype (int ids stay int): Keras's default spec
        # from `compute_output_shape` would give every output the compute dtype.
        aligned = keras.KerasTensor(inputs.shape, dtype=inputs.dtype)
        if self.return_order:
            return aligned, keras.KerasTensor(tuple(inputs.shape[:2]), dtype="int32")
        return aligned

    def get_config(self):
        config = super().get_config()
        config.update(
            {"padding_value": self.padding_value,
             "return_order": self.return_order}
        )
        return config


@keras.saving.register_keras_serializable(package="rnn_zoo")
class RestoreOrder(keras.layers.Layer):
    """Undo `RightAlignPadding` on per-step outputs `[batch, time, features]`.

    Used by sequence-to-sequence heads (taggers, language models) so that the
    output at position t belongs to the input token at position t.

    Example:

    >>> aligned, order = RightAlignPadding(return_order=True)(ids)
    >>> per_step = RestoreOrder()([outputs_on_aligned, order])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        sequences, order = inputs
        inverse = ops.cast(ops.argsort(order, axis=-1), "int32")
        return ops.take_along_axis(
            sequences, ops.expand_dims(inverse, -1), axis=1
        )

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        sequence_mask, _ = mask
        _, order = inputs
        inverse = ops.cast(ops.argsort(order, axis=-1), "int32")
        return ops.take_along_axis(sequence_mask, inverse, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]
