"""Export a unidirectional zoo model as a one-step-at-a-time TFLite model.

A sensor or keystroke app feeds one time step and the recurrent states, and
gets the output for the sequence so far plus the new states to feed next
time. No loop and no fused sequence kernel: each step is a few
`FULLY_CONNECTED` ops, which every TFLite runtime (micro included) runs, and
the model itself holds no state between calls (the app owns it).

Signature "step":

* inputs: the step (`token_id` int32 `[1]` for token models, `features`
  float32 `[1, num_features]` for numeric ones; named after the model's
  input) and one float32 `[1, units]` tensor per state: `state_<k>_h` (and
  `state_<k>_c` for an LSTM), k = 1 for the first recurrent layer. Start with
  zeros.
* outputs: the model's output name (a classifier's probabilities for the
  sequence read so far, a tagger's tag probabilities for this step) and
  `new_state_<k>_h` / `new_state_<k>_c`.

A padding step (id 0, or features all equal to the mask value) leaves the
states unchanged, exactly like Keras's mask. Bidirectional layers need the
whole sequence and can't stream; mean / max / attention pooling is refused
too (use pooling="last").
"""

import os

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo import atomic
from rnn_zoo.export import fused
from rnn_zoo.export import parity
from rnn_zoo.export import supported
from rnn_zoo.export import verify
from rnn_zoo.export.converter import check_no_flex
from rnn_zoo.export.converter import convert_functions
from rnn_zoo.export.results import StreamingReport
from rnn_zoo.export.serving import OOV_ID
from rnn_zoo.export.supported import KERAS_MASK
from rnn_zoo.export.supported import tree_flatten
from rnn_zoo.tasks import QUANTIZATIONS
from rnn_zoo.validation import check_choice

SIGNATURE = "step"
# "int8" is refused: the states would need calibrated ranges the app can't keep.
STREAMING_QUANTIZATIONS = tuple(mode for mode in QUANTIZATIONS if mode != "int8")

__all__ = ["SIGNATURE", "StepGraph", "StreamingReport", "export_streaming_tflite",
           "run_stream"]


def _refuse(layer, why):
    return ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) can't stream: {why}.")


class StepGraph:
    """One time step of a unidirectional zoo model, as TensorFlow ops.

    Args:
        model: a functional zoo `keras.Model` whose recurrent layers are not
            bidirectional.
    """

    def __init__(self, model):
        if len(model.inputs) != 1:
            raise ValueError(f"Model '{model.name}' has {len(model.inputs)} inputs; "
                             "streaming export supports single-input models.")
        self.model = model
        self._weights = {id(variable): keras.ops.convert_to_numpy(variable).astype("float32")
                         for variable in model.weights}
        self.cells = {}
        self.state_names, self.state_units = [], []
        for layer in model.layers:
            kind = supported.layer_kind(layer)
            if kind in supported.STREAMING_REFUSALS:
                raise _refuse(layer, supported.STREAMING_REFUSALS[kind])
            if kind == supported.RECURRENT:
                cell = fused.CellWeights(layer)
                if cell.go_backwards:
                    raise _refuse(layer, "go_backwards=True reads from the end")
                index = len(self.cells) + 1
                self.cells[id(layer)] = (index, cell)
                names = [f"state_{index}_h"] + (
                    [f"state_{index}_c"] if cell.kind == "lstm" else [])
                self.state_names += names
                self.state_units += [cell.units] * len(names)
            elif kind == supported.DENSE:
                fused.activation_name(layer.activation, layer.name)
            elif kind is None:
                raise _refuse(layer, "no streaming form for this layer type")
        spec = model.inputs[0]
        self.input_name = "token_id" if len(spec.shape) == 2 else spec.name
        self.input_spec = (tf.TensorSpec([1], tf.int32, name=self.input_name)
                           if len(spec.shape) == 2
                           else tf.TensorSpec([1, spec.shape[-1]], tf.float32,
                                              name=self.input_name))
        self.output_names = list(model.output_names)

    def _const(self, variable):
        return tf.constant(self._weights[id(variable)])

    def step(self, step_input, states):
        """Trace one step.

        Args:
            step_input: `[1]` int32 id or `[1, F]` float32 features.
            states: dict state name -> `[1, units]`.

        Returns:
            dict with the model outputs and "new_" + state name entries.
        """
        computed = {id(self.model.inputs[0]): step_input}
        new_states = {}
        is_padding = tf.zeros([1], tf.bool)
        for depth in sorted(self.model._nodes_by_depth, reverse=True):
            for node in self.model._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(x) not in computed for x in node.input_tensors):
                    continue
                layer = node.operation
                if not isinstance(layer, keras.layers.Layer):
                    for symbolic in node.outputs:
                        computed[id(symbolic)] = KERAS_MASK
                    continue
                args, _ = node.arguments.fill_in(computed)
                if any(arg is KERAS_MASK for arg in tree_flatten(args)):
                    raise _refuse(layer, "its input is a raw keras.ops result")
                value = args[0]
                kind = supported.layer_kind(layer)
                if kind == supported.RIGHT_ALIGN:
                    pad = tf.cast(layer.padding_value, value.dtype)
                    is_padding = tf.equal(value, pad)
                    if len(value.shape) == 2:
                        is_padding = tf.reduce_all(is_padding, axis=-1)
                    outputs = (value, tf.zeros([1], tf.int32)) if layer.return_order else value
                elif kind == supported.RESTORE_ORDER:
                    outputs = value[0]
                elif kind == supported.EMBEDDING:
                    ids = tf.cast(value, tf.int32)
                    vocab_size = int(layer.input_dim)
                    ids = tf.where(tf.logical_or(ids < 0, ids >= vocab_size),
                                   tf.fill(tf.shape(ids), min(OOV_ID, vocab_size - 1)), ids)
                    outputs = tf.gather(self._const(layer.embeddings), ids)
                elif kind == supported.RECURRENT:
                    index, cell = self.cells[id(layer)]
                    names = [f"state_{index}_h"] + (
                        [f"state_{index}_c"] if cell.kind == "lstm" else [])
                    old = tuple(states[name] for name in names)
                    new = cell.step(cell.project(value), old)
                    # A padding step leaves the states alone (Keras's mask).
                    keep = is_padding[:, tf.newaxis]
                    new = tuple(tf.where(keep, o, n) for o, n in zip(old, new))
                    for name, tensor in zip(names, new):
                        new_states["new_" + name] = tensor
                    outputs = new[0]
                elif kind == supported.DENSE:
                    out = tf.matmul(value, self._const(layer.kernel))
                    if layer.use_bias:
                        out = out + self._const(layer.bias)
                    outputs = fused.activate(
                        fused.activation_name(layer.activation, layer.name), out)
                else:  # Masking, dropout-like layers: identity at inference.
                    outputs = value
                if not isinstance(outputs, tuple):
                    outputs = (outputs,)
                for symbolic, tensor in zip(node.outputs, outputs):
                    computed[id(symbolic)] = tensor
        results = {name: computed[id(output)]
                   for name, output in zip(self.output_names, self.model.outputs)}
        results.update(new_states)
        return results


def run_stream(interpreter, graph_or_report, sequence):
    """Feed `sequence` (`[time]` ids or `[time, F]` features) step by step.

    Args:
        interpreter: from `verify.load_interpreter` on a streaming file, or a
            `verify.CompiledRunner` (LiteRT's CompiledModel) on it.
        graph_or_report: a `StepGraph` or `StreamingReport` (for the names).
        sequence: one row, no batch axis.

    Returns:
        dict output name -> `[time, ...]` stacked per-step outputs.

    Example:

    >>> report = export_streaming_tflite(model, "step.tflite")
    >>> outputs = run_stream(verify.load_interpreter("step.tflite"), report, [5, 9, 2])
    """
    names, units = graph_or_report.state_names, graph_or_report.state_units
    states = {name: np.zeros((1, width), "float32") for name, width in zip(names, units)}
    if isinstance(interpreter, verify.CompiledRunner):
        input_names = interpreter.input_names
    else:
        input_names = [d["name"] for d in
                       verify.signature_details(interpreter, SIGNATURE)["inputs"]]
    input_name = next(name for name in input_names if name not in states)
    collected = {}
    for step in sequence:
        feed = dict(states)
        feed[input_name] = np.asarray(step)[np.newaxis].astype(
            "int32" if np.asarray(step).ndim == 0 else "float32")
        if isinstance(interpreter, verify.CompiledRunner):
            outputs = interpreter(**feed)
        else:
            outputs = verify.run_signature(interpreter, feed, SIGNATURE)
        for name in names:
            states[name] = outputs.pop("new_" + name)
        for name, value in outputs.items():
            collected.setdefault(name, []).append(value[0])
    return {name: np.stack(values) for name, values in collected.items()}


def export_streaming_tflite(model, path, quantization=None, verification_data=None):
    """Write a TFLite model that runs `model` one time step per call.

    Args:
        model: a zoo `keras.Model` with unidirectional recurrent layers and
            pooling="last" (classifiers, regressors) or per-step outputs
            (taggers, language models). TF backend.
        path: the `.tflite` file to write (atomically).
        quantization: None, "float16" or "dynamic_int8" ("int8" is refused:
            the states would need calibrated ranges the app can't keep).
        verification_data: a padded numpy batch; None uses
            `rnn_zoo.export.parity.verification_inputs(model)`.

    Returns:
        A `StreamingReport`.

    Example:

    >>> model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2)
    >>> report = export_streaming_tflite(model, "step.tflite")
    >>> report.state_names
    ['state_1_h', 'state_1_c']
    """
    check_choice(quantization, "quantization", STREAMING_QUANTIZATIONS,
                 where="export_streaming_tflite")
    graph = StepGraph(model)
    state_specs = [tf.TensorSpec([1, width], tf.float32, name=name)
                   for name, width in zip(graph.state_names, graph.state_units)]

    def step(step_input, *states):
        return graph.step(step_input, dict(zip(graph.state_names, states)))

    function = tf.function(step, input_signature=[graph.input_spec] + state_specs,
                           autograph=False)
    content = convert_functions({SIGNATURE: function}, quantization=quantization)
    ops = check_no_flex(content)
    atomic.write_bytes(path, content)

    interpreter = verify.load_interpreter(path)
    data = verification_data if verification_data is not None \
        else parity.verification_inputs(model)
    pad = parity.padding_value(model)
    worst = 0.0
    for row in data:
        expected = model(row[np.newaxis], training=False)
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        streamed = run_stream(interpreter, graph, row)
        for name, reference in zip(graph.output_names, expected):
            reference = np.asarray(reference)[0]
            got = streamed[name]
            if reference.ndim == got.ndim:  # per-step outputs: compare real steps
                real = row != pad if row.ndim == 1 else np.any(row != pad, axis=-1)
                difference = np.abs(got[real] - reference[real])
            else:  # pooled: the output after the last step
                difference = np.abs(got[-1] - reference)
            worst = max(worst, float(difference.max()) if difference.size else 0.0)
    # The same steps in LiteRT's CompiledModel (the API new apps use).
    compiled = verify.CompiledRunner(path, SIGNATURE)
    compiled_worst = 0.0
    for row in data[:2]:
        expected = run_stream(interpreter, graph, row)
        got = run_stream(compiled, graph, row)
        for name, value in expected.items():
            compiled_worst = max(compiled_worst, float(np.max(np.abs(got[name] - value))))
    details = verify.signature_details(interpreter, SIGNATURE)
    return StreamingReport(
        path=os.fspath(path), ops=ops, size_bytes=os.path.getsize(path),
        quantization=quantization, state_names=graph.state_names,
        state_units=graph.state_units, max_abs_diff=worst,
        inputs=details["inputs"], outputs=details["outputs"],
        runtimes_verified=["interpreter", "compiled_model"],
        compiled_model_max_abs_diff=compiled_worst,
    )
