"""TensorFlow graph pieces for recurrent layers that the TFLite converter maps
onto fast builtin kernels.

Three pieces, used by `rnn_zoo.export.tflite` (whole sequences) and
`rnn_zoo.export.streaming` (one step at a time):

* the cell math of LSTM / GRU / SimpleRNN, one step (`lstm_step`, `gru_step`,
  `simple_rnn_step`), written once from the Keras cells' formulas and fed
  with the layers' weights as numpy constants;
* `fused_lstm_sequence`: a `tf.function` carrying the attributes of the
  converter's composite-function hook. Keras 3 dropped the hook that made
  Keras 2 LSTMs convert to TFLite's fused kernel (tensorflow/tensorflow#73254,
  moved to google-ai-edge/LiteRT#41); the MLIR pass
  `prepare_composite_functions_tf` still replaces any function whose
  `api_implements` is `"lstm_<uuid>"` by one `UNIDIRECTIONAL_SEQUENCE_LSTM`
  (with `go_backwards=True`: `REVERSE_V2` + the fused op);
* `loop_sequence`: a builtin `WHILE` loop for GRU / SimpleRNN (TFLite has no
  fused GRU opcode) with the input projection of every step hoisted into one
  matmul before the loop, only static-shape ops in the body (so TFLite runs
  it without reallocating per step) and only the real steps run; 0.5-0.75x
  the latency of Keras 3's own export (benchmarks/export_latency.py).

All functions expect batch 1 (`[1, time, features]`): the fused op needs a
static batch, and the exporter runs each row of a fixed batch separately.
"""

import uuid

import keras
import numpy as np
import tensorflow as tf

# `XlaDynamicUpdateSlice` converts to TFLite's builtin DYNAMIC_UPDATE_SLICE; TF
# exposes it only through the generated XLA op wrappers.
from tensorflow.compiler.tf2xla.ops import gen_xla_ops

from rnn_zoo import eligibility

_ACTIVATIONS = {
    "linear": tf.identity,
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "relu": tf.nn.relu,
    "softmax": lambda x: tf.nn.softmax(x, axis=-1),
    "elu": tf.nn.elu,
    "selu": tf.nn.selu,
    "softplus": tf.nn.softplus,
    "gelu": lambda x: tf.nn.gelu(x, approximate=False),
    "swish": tf.nn.silu,
    "silu": tf.nn.silu,
    "hard_sigmoid": lambda x: tf.clip_by_value(x / 6.0 + 0.5, 0.0, 1.0),
}


def activation_name(function, where):
    """The registered name of a Keras activation, checked against the ones
    this module can emit.

    Args:
        function: a Keras activation (e.g. `layer.activation`).
        where: layer name, for the error message.

    Returns:
        str, a key of the supported activations.
    """
    name = keras.activations.serialize(function)
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"Layer '{where}': activation {name!r} has no TFLite export here. "
            f"Supported activations: {sorted(_ACTIVATIONS)}."
        )
    return name


def activate(name, x):
    """Apply the activation called `name` (see `activation_name`)."""
    return _ACTIVATIONS[name](x)


def _const(array):
    return tf.constant(np.asarray(array, dtype="float32"))


# ---------------------------------------------------------------------------
# Cell math: one step. `projected` is x_t @ kernel + input bias, computed
# outside (hoisted for whole sequences, inline for streaming).
# ---------------------------------------------------------------------------


def lstm_step(projected, states, recurrent_kernel, activation="tanh",
              recurrent_activation="sigmoid"):
    """One LSTM step (Keras gate order i, f, c, o).

    Args:
        projected: `[1, 4U]`, `x_t @ kernel + bias`.
        states: `(h, c)`, each `[1, U]`.
        recurrent_kernel: `[U, 4U]` tensor.
        activation, recurrent_activation: activation names.

    Returns:
        The new `(h, c)`.
    """
    h, c = states
    z = projected + tf.matmul(h, recurrent_kernel)
    i, f, g, o = tf.split(z, 4, axis=-1)
    i = activate(recurrent_activation, i)
    f = activate(recurrent_activation, f)
    o = activate(recurrent_activation, o)
    c = f * c + i * activate(activation, g)
    return o * activate(activation, c), c


def gru_step(projected, states, recurrent_kernel, recurrent_bias, reset_after=True,
             activation="tanh", recurrent_activation="sigmoid"):
    """One GRU step, both Keras variants (`reset_after` True = cuDNN's).

    Written for few TFLite ops per step (this is the body of the `WHILE`
    loop): the update and reset gates share one add and one activation, and
    the new state is `candidate + z * (h - candidate)`, Keras's
    `z * h + (1 - z) * candidate` with one multiply fewer (same value up to
    float32 rounding).

    Args:
        projected: `[1, 3U]`, `x_t @ kernel + input bias` (gate order z, r, h).
        states: `(h,)` with h `[1, U]`.
        recurrent_kernel: `[U, 3U]` tensor.
        recurrent_bias: `[3U]` tensor (zeros when the layer has none or
            `reset_after=False`).
        reset_after: bool, apply the reset gate after the recurrent matmul.

    Returns:
        `(h,)`.
    """
    (h,) = states
    units = h.shape[-1]
    x_gates, x_h = tf.split(projected, [2 * units, units], axis=-1)
    if reset_after:
        inner = tf.matmul(h, recurrent_kernel) + recurrent_bias
        inner_gates, inner_h = tf.split(inner, [2 * units, units], axis=-1)
        z, r = tf.split(activate(recurrent_activation, x_gates + inner_gates), 2, axis=-1)
        candidate = activate(activation, x_h + r * inner_h)
    else:
        inner_gates = tf.matmul(h, recurrent_kernel[:, : 2 * units])
        z, r = tf.split(activate(recurrent_activation, x_gates + inner_gates), 2, axis=-1)
        candidate = activate(activation,
                             x_h + tf.matmul(r * h, recurrent_kernel[:, 2 * units:]))
    return (candidate + z * (h - candidate),)


def simple_rnn_step(projected, states, recurrent_kernel, activation="tanh"):
    """One SimpleRNN step: `h = act(x_t W + b + h U)`. Returns `(h,)`."""
    (h,) = states
    return (activate(activation, projected + tf.matmul(h, recurrent_kernel)),)


# ---------------------------------------------------------------------------
# Layer description: weights as numpy, read once from a Keras layer.
# ---------------------------------------------------------------------------


class CellWeights:
    """What the export needs of one recurrent layer, read as numpy.

    Reading `layer.cell` weights with `keras.ops.convert_to_numpy` keeps the
    exporter independent of the backend the model was trained on.

    Args:
        layer: a built `keras.layers.LSTM`, `GRU` or `SimpleRNN`.
    """

    def __init__(self, layer):
        cell = layer.cell
        name = layer.name
        self.kind = eligibility.cell_kind(layer)
        if self.kind is None or isinstance(layer, keras.layers.Bidirectional):
            raise ValueError(
                f"Layer '{name}' ({type(layer).__name__}) is not a recurrent layer "
                "this exporter supports (LSTM, GRU, SimpleRNN)."
            )
        if getattr(layer, "stateful", False):
            raise ValueError(f"Layer '{name}': stateful=True can't be exported.")
        if getattr(layer, "return_state", False):
            raise ValueError(f"Layer '{name}': return_state=True can't be exported.")
        self.name = name
        self.units = int(cell.units)
        self.go_backwards = bool(layer.go_backwards)
        self.return_sequences = bool(layer.return_sequences)
        self.activation = activation_name(cell.activation, name)
        self.recurrent_activation = (
            activation_name(cell.recurrent_activation, name)
            if self.kind != "simple_rnn" else None
        )
        to_numpy = keras.ops.convert_to_numpy
        self.kernel = to_numpy(cell.kernel).astype("float32")
        self.recurrent_kernel = to_numpy(cell.recurrent_kernel).astype("float32")
        gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[self.kind]
        self.reset_after = bool(getattr(cell, "reset_after", False))
        bias = to_numpy(cell.bias).astype("float32") if cell.use_bias else None
        self.recurrent_bias = np.zeros((gates * self.units,), "float32")
        if bias is None:
            self.input_bias = np.zeros((gates * self.units,), "float32")
        elif self.kind == "gru" and self.reset_after:
            self.input_bias, self.recurrent_bias = bias[0], bias[1]
        else:
            self.input_bias = bias

    @property
    def fusable(self):
        """True when the fused TFLite LSTM kernel computes exactly this cell
        (its activations are fixed to tanh / sigmoid)."""
        return (self.kind == "lstm" and self.activation == "tanh"
                and self.recurrent_activation == "sigmoid")

    def initial_states(self):
        zeros = tf.zeros([1, self.units], tf.float32)
        return (zeros, zeros) if self.kind == "lstm" else (zeros,)

    def step(self, projected, states):
        """One step of this cell on `projected = x_t @ kernel + input_bias`."""
        recurrent_kernel = _const(self.recurrent_kernel)
        if self.kind == "lstm":
            return lstm_step(projected, states, recurrent_kernel, self.activation,
                             self.recurrent_activation)
        if self.kind == "gru":
            return gru_step(projected, states, recurrent_kernel,
                            _const(self.recurrent_bias), self.reset_after,
                            self.activation, self.recurrent_activation)
        return simple_rnn_step(projected, states, recurrent_kernel, self.activation)

    def project(self, inputs):
        """`inputs @ kernel + input_bias`, inputs `[rows, features]` (one
        `FULLY_CONNECTED` op with its bias)."""
        return tf.matmul(inputs, _const(self.kernel)) + _const(self.input_bias)


# ---------------------------------------------------------------------------
# Whole sequences.
# ---------------------------------------------------------------------------


def _composite_lstm(go_backwards):
    """A fresh `tf.function` with the converter's LSTM composite attributes.

    Each call gets its own uuid: the converter fuses per function, and every
    layer / direction must stay a separate function.
    """

    def lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
        # Reference semantics; the converter replaces this body by the fused
        # kernel, and TensorFlow runs it as written (for SavedModels).
        steps = tf.reverse(inputs, [1]) if go_backwards else inputs
        projected = tf.transpose(tf.tensordot(steps, kernel, axes=1) + bias, [1, 0, 2])

        def scan_step(carry, projected_t):
            return lstm_step(projected_t, carry, recurrent_kernel)

        hs, cs = tf.scan(scan_step, projected, initializer=(init_h, init_c))
        sequence = tf.transpose(hs, [1, 0, 2])
        return sequence[:, -1], sequence, hs[-1], cs[-1], tf.constant(0.0)

    return tf.function(
        lstm,
        autograph=False,
        experimental_attributes={
            "api_implements": "lstm_" + str(uuid.uuid4()),
            "api_preferred_device": "CPU",
            # Both must be present: without them the conversion silently
            # returns an empty model (measured, see FACTS.md).
            "time_major": False,
            "go_backwards": bool(go_backwards),
        },
    )


# Input drive of the reset step (see `fused_lstm_sequence`): large enough
# that sigmoid(-RESET_DRIVE + anything a state can add) is 0 in float32.
RESET_DRIVE = 1e4


def fused_lstm_sequence(inputs, weights, go_backwards=False, keep_reset_step=False):
    """An LSTM over `inputs` that converts to `UNIDIRECTIONAL_SEQUENCE_LSTM`.

    TFLite's fused LSTM keeps its h and c in *variable* tensors that carry
    over from one `invoke` to the next: without `reset_all_variables()`
    between calls, every call after the first starts from the previous
    call's final state (tensorflow/tensorflow#47813; Android and iOS apps
    lacked that call for years, #26786, #51880). So that the exported model
    is stateless for any app, a reset step runs first: one extra input
    channel, zero at every real step, carries -RESET_DRIVE at the reset step
    into the input, forget and output gates, which then saturate to exactly
    0, so c and h become 0 whatever they held. Its output is dropped.

    The drive clears any finite state but not NaN (NaN times anything is
    NaN), so no NaN may ever enter the state: a row holding NaN, inf or a
    value above `input_limit(weights)` runs on zeros instead (a `SELECT`,
    no arithmetic on the bad values) and its outputs are NaN. A raw
    Interpreter user therefore needs no `reset_all_variables()` between
    calls (it is harmless).

    Args:
        inputs: `[1, time, features]` float32 (time may be 0 with
            `keep_reset_step`: the reset step is then the only one).
        weights: `CellWeights` of an LSTM with tanh / sigmoid.
        go_backwards: read the sequence from the end (the output is then in
            reading order, i.e. reversed time, like Keras's `go_backwards`).
        keep_reset_step: bool, default False; True also returns the reset
            step's output first. It is exactly 0 (c is 0, so h = o * tanh(0)),
            which makes the last row of the result the Keras "last output"
            for any length, 0 real steps included, without a `GATHER`.

    Returns:
        `[1, time, units]` (`[1, time + 1, units]` with `keep_reset_step`),
        the output at every step in reading order.
    """
    units = weights.units
    # The extra kernel row has the kernel's own largest magnitude, so that
    # per-tensor weight quantization keeps its scale.
    magnitude = float(np.max(np.abs(weights.kernel))) or 1.0
    gate_mask = np.concatenate([np.ones(2 * units), np.zeros(units), np.ones(units)])
    kernel = np.concatenate([weights.kernel, magnitude * gate_mask[np.newaxis, :]], axis=0)
    if go_backwards:
        inputs = tf.reverse(inputs, [1])
    features = inputs.shape[-1]
    # NaN in the kernel's variable state would survive the reset drive (NaN
    # times anything is NaN) and poison every later call. So a row that
    # could make the state non-finite (a NaN, an inf, or a value large
    # enough to overflow the input projection) never reaches the kernel: it
    # runs on zeros, chosen by SELECT (no arithmetic touches the bad
    # values), and the row's outputs are NaN.
    limit = input_limit(weights)
    usable = tf.reduce_all(tf.abs(inputs) <= limit)
    inputs = tf.where(usable, inputs, tf.constant(0.0, tf.float32))
    # Two ops: PAD appends the zero channel, CONCATENATION prepends the
    # constant reset row (also right when `inputs` holds 0 steps).
    marked = tf.pad(inputs, [[0, 0], [0, 0], [0, 1]])
    reset_row = np.zeros((1, 1, features + 1), "float32")
    reset_row[..., features] = -RESET_DRIVE / magnitude
    reset_step = _const(reset_row)
    marked = tf.concat([reset_step, marked], axis=1)
    # go_backwards is already applied: the composite runs forwards.
    function = _composite_lstm(go_backwards=False)
    zeros = tf.zeros([1, units], tf.float32)
    outputs = function(marked, zeros, zeros, _const(kernel),
                       _const(weights.recurrent_kernel), _const(weights.input_bias))
    # Only the full-sequence output (index 1) may be used: reading the final
    # h or c outputs (index 2, 3) makes the converter skip the fusion and
    # emit the generic WHILE loop instead (measured on TF 2.21).
    sequence = tf.where(usable, outputs[1], tf.constant(float("nan"), tf.float32))
    return sequence if keep_reset_step else sequence[:, 1:]


def input_limit(weights):
    """The largest input magnitude the fused LSTM accepts for `weights`.

    Below it the input projection `x @ kernel + bias` stays under 1e30, far
    from float32 overflow, so the kernel's state stays finite; a row with
    any value above it (or NaN) runs as NaN outputs instead
    (`fused_lstm_sequence`).

    Args:
        weights: `CellWeights` of an LSTM.

    Returns:
        float.
    """
    column_sums = np.sum(np.abs(weights.kernel), axis=0)
    largest = float(np.max(column_sums)) if column_sums.size else 0.0
    return float(np.float32(1e30 / max(largest, 1.0)))


def loop_sequence(inputs, weights, return_sequences=True):
    """Run any cell over every step of `inputs` as one builtin `WHILE` loop.

    Why it looks like this (this exporter's first loop, a `TensorArray`
    written at every step, ran 1.6-16x slower than Keras's own
    `model.export(format="litert")` loop; this one runs 0.5-0.75x its
    latency, benchmarks/export_latency.py):

    * TFLite's `WHILE` kernel (tensorflow/lite/kernels/while.cc) takes a
      static path only when every tensor in the body has a shape known from
      the loop inputs' shapes; otherwise it re-plans and reallocates the
      body's tensors on every iteration (`Eval_dynamic`). A `TensorArray`
      converts to `SLICE` + `CONCATENATION` at the step index, and a
      `projected[t]` slice to a `STRIDED_SLICE`, both with data-dependent
      shapes. Here the step is read with `GATHER` (a scalar index: shape
      known) and written with `DYNAMIC_UPDATE_SLICE` (output shaped like
      its input), so the body stays static.
    * The input projection of every step is one `FULLY_CONNECTED` before
      the loop, so the body holds only `h @ recurrent_kernel` and the gates.
    * The exporter passes the real steps alone (`rnn_zoo.export.graph`), so
      the loop never runs a padding step, and the final state is the last
      output: a layer without `return_sequences` carries no per-step
      buffer at all.

    Args:
        inputs: `[1, time, features]` float32 (time may be 0).
        weights: `CellWeights`.
        return_sequences: bool, also return the per-step outputs.

    Returns:
        `(sequence, last)`: `[1, time, units]` outputs (None when
        `return_sequences` is False) and the state `h` after the last step
        `[1, units]` (zeros when time is 0).
    """
    features = inputs.shape[-1]
    # [time, 1, G]: GATHER with a scalar step index then yields [1, G].
    projected = tf.expand_dims(weights.project(tf.reshape(inputs, [-1, features])), 1)
    steps = tf.shape(inputs)[1]
    units = weights.units

    def body(t, states, *sequence):
        states = weights.step(tf.gather(projected, t), states)
        if sequence:
            sequence = (gen_xla_ops.xla_dynamic_update_slice(
                sequence[0], states[0], tf.stack([t, 0])),)
        return (t + 1, states) + tuple(sequence)

    loop_vars = (tf.constant(0), weights.initial_states())
    if return_sequences:
        # One spare row: with a row of 0 steps (all padding) the buffer
        # would have none, and TFLite prepares the body's
        # DYNAMIC_UPDATE_SLICE (a [1, units] update) even when it never runs.
        loop_vars += (tf.zeros(tf.stack([steps + 1, units])),)
    outputs = tf.while_loop(lambda t, *rest: t < steps, body, loop_vars)
    last = outputs[1][0]
    sequence = tf.expand_dims(outputs[2][:steps], 0) if return_sequences else None
    return sequence, last


def recurrent_sequence(inputs, weights, return_sequences=True):
    """The fastest exportable form of `weights`' layer over `inputs`.

    Fused LSTM kernel when the cell allows it, the static-shape `WHILE`
    loop of `loop_sequence` otherwise. Arguments and return value as in
    `loop_sequence`.

    The last output is the fused kernel's last row (the reset step's exact
    0 when `inputs` has no step), no `GATHER` at a data-dependent index.
    """
    if not weights.fusable:
        return loop_sequence(inputs, weights, return_sequences=return_sequences)
    outputs = fused_lstm_sequence(inputs, weights, keep_reset_step=True)
    return (outputs[:, 1:] if return_sequences else None), outputs[:, -1]


def unrolled_sequence(max_length):
    """A `sequence_fn` that runs any cell as `max_length` unrolled steps.

    For fixed-length files whose runtime takes one subgraph only (MediaPipe
    Tasks refuses a `WHILE` loop's extra subgraphs: "Classification tflite
    models are assumed to have a single subgraph"). The real steps are
    padded back to `max_length`; each step computes the cell and keeps the
    old state after the last real step (`SELECT_V2`), so the result equals
    `loop_sequence` on the real steps alone.

    Args:
        max_length: int >= 1, the file's fixed sequence length.

    Returns:
        A function `(inputs, weights, return_sequences=True) -> (sequence,
        last)` with the contract of `loop_sequence`.
    """

    def sequence_fn(inputs, weights, return_sequences=True):
        features = inputs.shape[-1]
        steps = tf.shape(inputs)[1]
        padded = tf.pad(inputs, [[0, 0], [0, max_length - steps], [0, 0]])
        projected = weights.project(tf.reshape(padded, [max_length, features]))
        keep = tf.range(max_length) < steps
        states = weights.initial_states()
        outputs = []
        for t in range(max_length):
            new = weights.step(projected[t:t + 1], states)
            states = tuple(tf.where(keep[t], value, old) for value, old in zip(new, states))
            outputs.append(states[0])
        sequence = None
        if return_sequences:
            sequence = tf.expand_dims(tf.concat(outputs, axis=0), 0)[:, :steps]
        return sequence, states[0]

    return sequence_fn
