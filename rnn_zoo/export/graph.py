"""Rebuild a zoo model's forward pass as a TensorFlow graph that converts to
fast, builtin-only TFLite ops.

Why not `model.export(format="litert")`: with no input signature Keras 3
turns recurrent layers into Flex TensorList ops that the stock interpreter
refuses; with a batch-1 signature it emits a generic `WHILE` loop that runs
every padding step and computes each step's input projection inside the
loop. Here every layer is re-emitted from its weights (read as numpy, so a
model trained on any backend works once loaded under the TF backend), and
each recurrent layer becomes the form its `sequence_fn` picks: a static-shape
`WHILE` loop over the real steps (the default), TFLite's fused LSTM kernel,
or `max_length` unrolled steps in one subgraph (the mediapipe target).

Padding, exactly as Keras defines it, at a static batch of one row:

* `RightAlignPadding` picks the n real steps with `WHERE` + `GATHER`; for
  layers that need the whole row (pooling, attention, per-step outputs) it
  also appends one padding step and compacts the real steps to the front.
  The converter prunes whichever form no output uses, so a classifier's
  graph holds only the first;
* recurrent layers read the real steps alone: the fused LSTM kernel and
  the `WHILE` loop of GRU / SimpleRNN run exactly n steps, so padding
  costs no recurrent step and no kernel needs a mask; the backward
  direction reverses them whole. The last output is the one after step
  n - 1 (zeros when n = 0, like Keras's masked loop), and the outputs at
  the padding steps are
  rebuilt as Keras's CPU loop leaves them: the last real output repeated
  (`zero_output_for_mask=False`, a plain layer) or zeros (inside
  `Bidirectional`, which forces `zero_output_for_mask=True`);
* pooling and attention use the mask positions < n with Keras's formulas;
  `RestoreOrder` scatters per-step outputs back to the input positions, and
  the appended step is dropped from per-step outputs.

A fixed batch > 1 runs each row through the same per-row graph (rows are
independent, each with its own n), which keeps the fused kernel and the
exact padding semantics at the cost of a graph B times larger.

Token ids outside [0, vocab_size) (negative, or too large) are mapped to the
OOV id 1 inside the graph before the embedding lookup, so hostile input
never reads outside the embedding table.
"""

import keras
import numpy as np
import tensorflow as tf

# `XlaDynamicUpdateSlice` converts to TFLite's builtin DYNAMIC_UPDATE_SLICE.
from tensorflow.compiler.tf2xla.ops import gen_xla_ops

from rnn_zoo.export import fused
from rnn_zoo.export import supported
from rnn_zoo.export.serving import OOV_ID
from rnn_zoo.export.supported import KERAS_MASK
from rnn_zoo.export.supported import tree_flatten

_BIDIRECTIONAL_MERGES = {
    "concat": lambda a, b: tf.concat([a, b], axis=-1),
    "sum": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "ave": lambda a, b: (a + b) / 2.0,
}


class PerStep:
    """A per-step tensor `[1, steps, ...]` (as opposed to a pooled one).

    Wrapping lets the walker know which tensors carry a time axis, so model
    outputs with one drop the appended padding step.

    Args:
        values: the aligned row `[1, total, ...]` (real steps first).
        real: the same tensor at the real steps only, `[1, n, ...]` (the
            whole row in a model without `RightAlignPadding`). Recurrent
            layers read this one. Both are built and the converter prunes
            whichever no output uses: a classifier's graph then holds no
            padding permutation at all (one `WHERE` + `GATHER` picks the
            real steps), which took ~10 us, 0.06x Keras's latency, off a
            32-unit LSTM (benchmarks/export_latency.py).
    """

    def __init__(self, values, real):
        self.values = values
        self.real = real

    def map(self, function):
        """Apply a per-step `function` to both forms."""
        values = function(self.values)
        # One op, not two, when every step is real (no RightAlignPadding).
        return PerStep(values, values if self.real is self.values else function(self.real))


class _RowContext:
    """Padding facts of the row being traced: real length and mask."""

    def __init__(self, steps):
        self.steps = steps  # the input's own time length T
        self.masked = False
        # Real steps n, and steps in the aligned tensors (T + 1 once
        # RightAlignPadding appended its step; T for an unmasked model).
        self.length = steps
        self.total = steps

    def mask(self):
        """Boolean `[1, total]`: True at the real steps (after alignment)."""
        return tf.range(self.total)[tf.newaxis, :] < self.length


def _const(array):
    return tf.constant(np.asarray(array, dtype="float32"))


def _unsupported(layer, why=""):
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) can't be exported to "
        f"TFLite by rnn_zoo{': ' + why if why else ''}. Supported layers: "
        f"{supported.supported_layer_names()}."
    )


def check_recurrent_layer(layer):
    """Raise a ValueError naming `layer` when it can't be exported.

    Returns:
        A list of `fused.CellWeights` (two for a Bidirectional wrapper).
    """
    if isinstance(layer, keras.layers.Bidirectional):
        if layer.merge_mode not in _BIDIRECTIONAL_MERGES:
            raise _unsupported(layer, f"merge_mode={layer.merge_mode!r} (expected one of "
                               f"{sorted(_BIDIRECTIONAL_MERGES)})")
        return [fused.CellWeights(layer.forward_layer), fused.CellWeights(layer.backward_layer)]
    weights = fused.CellWeights(layer)
    if weights.go_backwards and weights.return_sequences:
        raise _unsupported(layer, "go_backwards=True with return_sequences=True outside "
                           "Bidirectional")
    return [weights]


def _shaped_like_input(value, inputs):
    """`value` `[1, T, ...]` written into a tensor whose shape TFLite derives
    from the input's alone.

    The real-step compaction (`WHERE` + `GATHER`) makes every per-step tensor
    after it dynamic, i.e. sized only while the model runs. LiteRT's
    `CompiledModel` must size its output buffers before a run and refuses a
    dynamic model output ("allocation_type != kTfLiteCustom"). A zero tensor
    broadcast from the input's shape (`MUL` + `ADD`: sized when the input is
    resized) updated in place with `DYNAMIC_UPDATE_SLICE` holds the same
    values with an output sized from the input.
    """
    steps = tf.cast(inputs, tf.float32) * 0.0
    while len(steps.shape) > 2:
        steps = tf.reduce_sum(steps, axis=-1)
    base = steps[..., tf.newaxis] + tf.zeros([1, 1] + list(value.shape[2:]), tf.float32)
    start = tf.zeros([len(value.shape)], tf.int32)
    return gen_xla_ops.xla_dynamic_update_slice(base, value, start)


class ModelGraph:
    """A zoo model's forward pass for one row, as TensorFlow ops.

    Args:
        model: a functional `keras.Model` with one input, built from the
            zoo's layers (see `rnn_zoo.factories`), under the TF backend.
        sequence_fn: how a recurrent layer runs over a sequence, default
            `fused.recurrent_sequence` (fused LSTM kernel, `WHILE` loop for
            the other cells); called as `sequence_fn(real_steps,
            cell_weights, return_sequences=)` and returning
            `(sequence, last)` like `fused.loop_sequence`.

    Example:

    >>> graph = ModelGraph(model)
    >>> outputs = graph.row(tf.constant([[5, 8, 0]]))  # list of tensors
    """

    def __init__(self, model, sequence_fn=None):
        if len(model.inputs) != 1:
            raise ValueError(
                f"Model '{model.name}' has {len(model.inputs)} inputs; the TFLite "
                "export supports single-input models."
            )
        self.model = model
        self.sequence_fn = sequence_fn or fused.recurrent_sequence
        self.input_name = model.inputs[0].name
        self.input_dtype = tf.as_dtype(model.inputs[0].dtype)
        self.input_shape = tuple(model.inputs[0].shape)
        self.output_names = list(model.output_names)
        # Variables can't be read as numpy while tracing: snapshot them now,
        # eagerly (this also makes the export independent of the backend
        # the weights were trained on).
        self._weights = {id(variable): keras.ops.convert_to_numpy(variable).astype("float32")
                         for variable in model.weights}
        self._cells = {}
        # Check every layer up front so an unsupported one fails before
        # anything is traced or written.
        for layer in model.layers:
            self._check(layer)

    def _numpy(self, variable):
        return self._weights[id(variable)]

    def _dense(self, layer, values):
        name = fused.activation_name(layer.activation, layer.name)
        out = tf.tensordot(values, _const(self._numpy(layer.kernel)), axes=1)
        if layer.use_bias:
            out = out + _const(self._numpy(layer.bias))
        return fused.activate(name, out)

    def _check(self, layer):
        kind = supported.layer_kind(layer)
        if kind in (supported.RECURRENT, supported.BIDIRECTIONAL):
            self._cells[id(layer)] = check_recurrent_layer(layer)
        elif kind == supported.DENSE:
            fused.activation_name(layer.activation, layer.name)
        elif kind is None:
            raise _unsupported(layer)

    # -- one layer each -----------------------------------------------------

    def _right_align(self, layer, inputs, context):
        values = inputs.values
        rank = len(values.shape)
        pad_value = tf.cast(layer.padding_value, values.dtype)
        pad_shape = [1, 1] if rank == 2 else [1, 1, values.shape[-1]]
        is_real = tf.not_equal(values, pad_value)
        if rank == 3:
            is_real = tf.reduce_any(is_real, axis=-1)
        real_index = tf.where(is_real[0])[:, 0]
        # The real steps alone, for recurrent layers (see PerStep).
        real_steps = tf.gather(values, real_index, axis=1)
        values = tf.concat([values, tf.fill(pad_shape, pad_value)], axis=1)
        is_padding = tf.concat([tf.logical_not(is_real[0]), [True]], axis=0)
        real = tf.cast(real_index, tf.int32)
        padding = tf.cast(tf.where(is_padding)[:, 0], tf.int32)
        order = tf.concat([real, padding], axis=0)
        context.masked = True
        context.length = tf.size(real)
        context.total = tf.size(order)
        aligned = PerStep(tf.gather(values, order, axis=1), real=real_steps)
        if layer.return_order:
            return aligned, order
        return aligned

    def _embedding(self, layer, inputs, context):
        if layer.mask_zero and not context.masked:
            raise _unsupported(layer, "mask_zero=True needs RightAlignPadding before it")
        vocab_size = int(layer.input_dim)
        oov = min(OOV_ID, vocab_size - 1)
        table = _const(self._numpy(layer.embeddings))

        def lookup(ids):
            ids = tf.cast(ids, tf.int32)
            # Map hostile ids to OOV before the lookup (Keras on CPU would raise).
            out_of_range = tf.logical_or(ids < 0, ids >= vocab_size)
            # A scalar OOV id broadcasts in SELECT_V2 (no FILL / SHAPE ops).
            return tf.gather(table, tf.where(out_of_range, tf.constant(oov, tf.int32), ids))

        return inputs.map(lookup)

    def _masking(self, layer, inputs, context):
        if not context.masked:
            raise _unsupported(layer, "Masking needs RightAlignPadding before it")
        return inputs

    def _run_direction(self, values, cell, backwards, context, return_sequences=True):
        """Run one direction over the real steps of a row.

        The kernel reads `values.real`, the real steps alone `[1, n, ...]`,
        so none needs a mask or a length, and a padding step costs nothing:
        the fused LSTM kernel runs all of them, the `WHILE` loop of GRU /
        SimpleRNN (and of LSTMs in int8 files or with
        `lstm_kernel="loop"`) stops after them. The backward direction
        reverses them whole (`REVERSE_V2`).

        Returns:
            `(sequence, last)`: `sequence` is None unless
            `return_sequences`, otherwise the pair `(outputs [1, total,
            units] in time order, valid at the real steps only and zero
            after them; the outputs at the real steps alone [1, n, units])`.
            `last` is the output after the last real step read, `[1, units]`
            (zeros for a row with no real step).
        """
        real = values.real
        if backwards:
            real = tf.reverse(real, [1])
        sequence, last = self.sequence_fn(real, cell, return_sequences=return_sequences)
        if sequence is None:
            return None, last
        if backwards:
            sequence = tf.reverse(sequence, [1])
        padded = tf.pad(sequence, [[0, 0], [0, context.total - context.length], [0, 0]])
        # The converter loses the static batch of 1 through PAD with computed
        # paddings and needs it for later `[..., tf.newaxis]` slices; RESHAPE
        # restores it (`set_shape` does not reach the converter).
        padded = tf.reshape(padded, [1, -1, sequence.shape[-1]])
        return (padded, sequence), last

    def _fill_padding(self, sequence, last, context, zeros):
        """Outputs at the padding steps as Keras's masked CPU loop leaves
        them: zeros (`zero_output_for_mask=True`, forced inside
        Bidirectional) or the last real output repeated."""
        real = context.mask()[..., tf.newaxis]
        fill = tf.zeros_like(sequence) if zeros else tf.zeros_like(sequence) + last[:, tf.newaxis]
        return tf.where(real, sequence, fill)

    def _recurrent(self, layer, inputs, context):
        cells = self._cells[id(layer)]
        if isinstance(layer, keras.layers.Bidirectional):
            per_step = bool(layer.return_sequences)
            forward, forward_last = self._run_direction(inputs, cells[0], False, context,
                                                        return_sequences=per_step)
            backward, backward_last = self._run_direction(inputs, cells[1], True, context,
                                                          return_sequences=per_step)
            merge = _BIDIRECTIONAL_MERGES[layer.merge_mode]
            if not per_step:
                return merge(forward_last, backward_last)
            (forward, forward_real), (backward, backward_real) = forward, backward
            forward = self._fill_padding(forward, forward_last, context, zeros=True)
            backward = self._fill_padding(backward, backward_last, context, zeros=True)
            return PerStep(merge(forward, backward), real=merge(forward_real, backward_real))
        (cell,) = cells
        sequence, last = self._run_direction(inputs, cell, cell.go_backwards, context,
                                             return_sequences=cell.return_sequences)
        if not cell.return_sequences:
            return last
        sequence, real = sequence
        return PerStep(self._fill_padding(sequence, last, context,
                                          zeros=bool(layer.zero_output_for_mask)), real=real)

    def _masked_pooling(self, layer, inputs, context):
        values = inputs.values
        if not context.masked:
            return (tf.reduce_mean(values, axis=1) if layer.mode == "mean"
                    else tf.reduce_max(values, axis=1))
        weights = tf.cast(context.mask(), values.dtype)[..., tf.newaxis]
        if layer.mode == "mean":
            total = tf.reduce_sum(values * weights, axis=1)
            return total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
        pooled = tf.reduce_max(tf.where(weights > 0, values, tf.fill(tf.shape(values), -1e9)),
                               axis=1)
        any_real = tf.reduce_sum(weights, axis=1) > 0
        return tf.where(any_real, pooled, tf.zeros_like(pooled))

    def _attention_pooling(self, layer, inputs, context):
        values = inputs.values
        hidden = self._dense(layer.score_dense, values)
        scores = tf.reduce_sum(hidden * _const(self._numpy(layer.score_vector)), axis=-1)
        if context.masked:
            scores = tf.where(context.mask(), scores, tf.fill(tf.shape(scores), -1e9))
        weights = tf.nn.softmax(scores, axis=-1)
        return tf.reduce_sum(values * weights[..., tf.newaxis], axis=1)

    def _restore_order(self, layer, inputs, context):
        sequence, order = inputs
        # The inverse permutation by a scatter (SCATTER_ND is a builtin; the
        # layer's own argsort would need TOPK_V2 on the whole row).
        inverse = tf.scatter_nd(order[:, tf.newaxis], tf.range(tf.size(order)),
                                tf.shape(order))
        # The real steps alone keep their order: only `values` moves.
        return PerStep(tf.gather(sequence.values, inverse, axis=1), real=sequence.real)

    def _dense_layer(self, layer, inputs, context):
        if isinstance(inputs, PerStep):
            return inputs.map(lambda values: self._dense(layer, values))
        return self._dense(layer, inputs)

    def _identity(self, layer, inputs, context):
        return inputs

    def _apply(self, layer, args, context):
        emitters = {
            supported.RIGHT_ALIGN: self._right_align,
            supported.RESTORE_ORDER: self._restore_order,
            supported.EMBEDDING: self._embedding,
            supported.MASKING: self._masking,
            supported.RECURRENT: self._recurrent,
            supported.BIDIRECTIONAL: self._recurrent,
            supported.MASKED_POOLING: self._masked_pooling,
            supported.ATTENTION_POOLING: self._attention_pooling,
            supported.DENSE: self._dense_layer,
            supported.IDENTITY: self._identity,
        }
        emit = emitters.get(supported.layer_kind(layer))
        if emit is None:
            raise _unsupported(layer)
        return emit(layer, args[0], context)

    # -- the walk -------------------------------------------------------------

    def row(self, inputs):
        """Trace the model on one row `[1, time, ...]`.

        Returns:
            A list of output tensors, in `model.outputs` order.
        """
        context = _RowContext(tf.shape(inputs)[1])
        # Without RightAlignPadding every step is real.
        computed = {id(self.model.inputs[0]): PerStep(inputs, real=inputs)}
        nodes_by_depth = self.model._nodes_by_depth
        for depth in sorted(nodes_by_depth, reverse=True):
            for node in nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(x) not in computed for x in node.input_tensors):
                    continue
                if not isinstance(node.operation, keras.layers.Layer):
                    # Keras records the symbolic mask computations (e.g. the
                    # Embedding's `not_equal`) as operation nodes whose
                    # outputs reach layers only as their `mask=` argument;
                    # masks are rebuilt from the row length here instead.
                    for symbolic in node.outputs:
                        computed[id(symbolic)] = KERAS_MASK
                    continue
                args, _ = node.arguments.fill_in(computed)
                if any(arg is KERAS_MASK for arg in tree_flatten(args)):
                    raise _unsupported(node.operation, "its input is computed by a raw "
                                       "keras.ops operation")
                outputs = self._apply(node.operation, args, context)
                if not isinstance(outputs, tuple):
                    outputs = (outputs,)
                for symbolic, value in zip(node.outputs, outputs):
                    computed[id(symbolic)] = value
        results = []
        for output in self.model.outputs:
            value = computed.get(id(output), KERAS_MASK)
            if value is KERAS_MASK:
                raise ValueError(
                    f"Model '{self.model.name}': output '{output.name}' is not "
                    "computed by layers the TFLite export supports."
                )
            if isinstance(value, PerStep):
                # Drop the padding step RightAlignPadding appended.
                value = _shaped_like_input(value.values[:, : context.steps], inputs)
            results.append(value)
        return results

    def batch(self, inputs, batch_size):
        """Trace the model on a static batch, one row at a time.

        Returns:
            dict of output name -> tensor `[batch_size, ...]`.
        """
        # The signature's batch is static, but LiteRT's signature runner
        # resizes an input to any shape it is given: without this RESHAPE
        # (which fails unless the rows number exactly `batch_size`) extra
        # rows would be silently ignored.
        if inputs.shape.is_fully_defined():
            # A fully static input (the mediapipe target): the converter
            # folds any shape arithmetic, so the rows are counted from the
            # data (a WHERE that keeps every row, NaN included), which makes
            # the RESHAPE's input dynamic and its check real.
            first = tf.reshape(inputs, [inputs.shape[0], -1])[:, 0]
            every_row = tf.where(tf.logical_or(tf.equal(first, first),
                                               tf.not_equal(first, first)))[:, 0]
            inputs = tf.reshape(tf.gather(inputs, every_row), inputs.shape)
        else:
            shape = tf.shape(inputs)
            inputs = tf.reshape(inputs, tf.concat([[batch_size], shape[1:]], axis=0))
        rows = [self.row(inputs[index:index + 1]) for index in range(batch_size)]
        return {name: tf.concat([row[position] for row in rows], axis=0)
                if batch_size > 1 else rows[0][position]
                for position, name in enumerate(self.output_names)}

    def input_spec(self, batch_size):
        """`tf.TensorSpec` of the exported input: batch fixed, time dynamic."""
        shape = [batch_size, None] + list(self.input_shape[2:])
        return tf.TensorSpec(shape, self.input_dtype, name=self.input_name)
