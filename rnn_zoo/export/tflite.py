"""Export a zoo model to a builtin-only `.tflite` file with fused LSTM kernels.

`export_tflite` rebuilds the forward pass from the layers' weights
(`rnn_zoo.export.graph`), converts it with TFLite builtins only, refuses
Select TF (Flex) ops unless asked, then runs the file with the LiteRT
interpreter against Keras on verification inputs and reports ops, size,
parity and latency.

Quantization modes (`quantization=`):

* None: float32 weights and math.
* "float16": weights stored as float16, dequantized at load; float math.
* "dynamic_int8": dynamic-range quantization: int8 weights, activations
  quantized on the fly (the fused LSTM kernel has a hybrid int8 path).
* "int8": full-integer quantization calibrated on `representative_data`;
  the input and output tensors stay as the app sends them (int32 ids or
  float32 features in, float32 out), ops without an int8 kernel stay float.

Parity is exact for float32 (max abs diff vs Keras; the tests hold it to
1e-5); quantized files are judged by top-1 agreement (classification /
tagging outputs) and the max abs diff is reported for information.
"""

import os
import warnings

import numpy as np
import tensorflow as tf

from rnn_zoo import atomic
from rnn_zoo.export import fused
from rnn_zoo.export import parity
from rnn_zoo.export import verify
from rnn_zoo.export.converter import check_no_flex
from rnn_zoo.export.converter import convert_functions
from rnn_zoo.export.converter import op_names_from_flatbuffer
from rnn_zoo.export.graph import ModelGraph
from rnn_zoo.export.results import TFLiteReport
from rnn_zoo.tasks import LSTM_KERNELS
from rnn_zoo.tasks import QUANTIZATIONS
from rnn_zoo.validation import check_choice
from rnn_zoo.validation import check_positive_int

# Names other modules and scripts import from here.
__all__ = [
    "LSTM_KERNELS",
    "QUANTIZATIONS",
    "TFLiteReport",
    "check_no_flex",
    "compare_with_keras",
    "convert_functions",
    "export_tflite",
    "op_names_from_flatbuffer",
    "write_atomically",
]


def write_atomically(path, content):
    """Write bytes to `path` atomically (an alias of `rnn_zoo.atomic.write_bytes`).

    Args:
        path: the destination file.
        content: bytes.

    Returns:
        `path`.

    Example:

    >>> write_atomically("model.tflite", content)
    'model.tflite'
    """
    return atomic.write_bytes(path, content)


def compare_with_keras(model, interpreter, data, batch_size=1, signature_key=None):
    """Run `data` through Keras and the interpreter.

    Args:
        model: the Keras model the file was exported from.
        interpreter: a LiteRT interpreter (`verify.load_interpreter`).
        data: a padded numpy batch or a list of samples; rows beyond a
            multiple of `batch_size` are dropped.
        batch_size: the file's static batch, default 1.
        signature_key: the signature to run, default the first.

    Returns:
        `(max_abs_diff, top1_agreement)` over every output. Top-1 compares
        argmax of the last axis (skipped for width-1 outputs); for per-step
        outputs only the real (non-padding) positions count.

    Raises:
        ValueError: fewer rows than `batch_size`, or an output shape that
            differs from Keras's.

    Example:

    >>> compare_with_keras(model, verify.load_interpreter("model.tflite"), data)
    (2.384185791015625e-07, 1.0)
    """
    data = parity.as_batch(data, model)
    rows = len(data) - len(data) % batch_size
    if rows == 0:
        raise ValueError(
            f"Invalid value received for argument `verification_data`: {len(data)} "
            f"rows, fewer than batch_size={batch_size}."
        )
    data = data[:rows]
    expected = model(data, training=False)
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    got = verify.predict_rows(interpreter, model.inputs[0].name, data, batch_size,
                              signature_key)
    pad = parity.padding_value(model)
    real = data != pad if data.ndim == 2 else np.any(data != pad, axis=-1)
    worst, agree, total = 0.0, 0, 0
    for name, reference in zip(model.output_names, expected):
        reference = np.asarray(reference)
        actual = got[name]
        if actual.shape != reference.shape:
            raise ValueError(f"Output '{name}': TFLite shape {actual.shape} != Keras "
                             f"shape {reference.shape}.")
        worst = max(worst, float(np.max(np.abs(actual - reference))))
        if reference.shape[-1] > 1:
            same = np.argmax(actual, -1) == np.argmax(reference, -1)
            if same.ndim == 2:
                same = same[real]
            agree += int(same.sum())
            total += same.size
    return worst, (agree / total if total else None)


def export_tflite(model, path, quantization=None, representative_data=None, batch_size=1,
                  verification_data=None, num_threads=1, allow_flex=False, lstm_kernel="fused"):
    """Export `model` to a builtin-only TFLite file and check it against Keras.

    Every LSTM becomes TFLite's fused `UNIDIRECTIONAL_SEQUENCE_LSTM` kernel
    (a Bidirectional LSTM: one per direction, the backward one behind
    `REVERSE_V2`); GRU and SimpleRNN become a builtin `WHILE` loop with the
    input projection hoisted out of it (TFLite has no fused GRU opcode).
    The signature takes `[batch_size, time]` int32 ids (or
    `[batch_size, time, features]` float32) with a dynamic time axis; padding
    may sit anywhere in a row, as in Keras. Ids outside [0, vocab_size) are
    read as the OOV id 1.

    Args:
        model: a zoo `keras.Model` (TF backend; train on any backend, save
            to `.keras`, load under TF).
        path: the `.tflite` file to write (atomically).
        quantization: None (float32), "float16", "dynamic_int8" or "int8".
        representative_data: for "int8": a padded numpy batch or a list of
            samples (no batch axis) to calibrate on.
        batch_size: int >= 1, the static batch of the signature (default 1;
            the fused kernel needs a static batch). Rows run one by one.
        verification_data: a padded numpy batch or a list of samples; None
            uses `rnn_zoo.export.parity.verification_inputs(model)`.
        num_threads: threads for the latency measurement, default 1.
        allow_flex: bool, default False: raise a ValueError naming the ops
            if any Select TF (Flex) op is needed.
        lstm_kernel: "fused" (default) or "loop". "fused" writes TFLite's
            `UNIDIRECTIONAL_SEQUENCE_LSTM` kernel, the one Arm builds optimise
            and the one that needs no control flow. "loop" writes the same
            static-shape `WHILE` loop as GRU/SimpleRNN (input projection
            hoisted out); under ai-edge-litert on x86, where XNNPACK
            accelerates the loop body but not the fused op, it measured
            0.64x Keras's own export at 128 units and T=100 (fused: 1.08x),
            while at 32 units the fused kernel was faster (0.56x vs 0.66x);
            see benchmarks/export_latency.py. "int8" always uses the loop.

    Returns:
        A `TFLiteReport`.

    Example:

    >>> model = rnn_zoo.build_text_classifier(vocab_size=50, units=8)
    >>> report = export_tflite(model, "model.tflite")
    >>> "UNIDIRECTIONAL_SEQUENCE_LSTM" in report.ops
    True
    """
    check_choice(quantization, "quantization", QUANTIZATIONS, where="export_tflite")
    check_choice(lstm_kernel, "lstm_kernel", LSTM_KERNELS, where="export_tflite")
    batch_size = check_positive_int(batch_size, "batch_size", where="export_tflite")
    num_threads = check_positive_int(num_threads, "num_threads", where="export_tflite")
    # Full-integer mode calibrates one static range per tensor, and the fused
    # LSTM's reset step (see fused.fused_lstm_sequence) feeds it a -1e4 drive
    # that would swamp the input range: there the LSTM runs as a WHILE loop.
    use_loop = quantization == "int8" or lstm_kernel == "loop"
    graph = ModelGraph(model, sequence_fn=fused.loop_sequence if use_loop
                       else fused.recurrent_sequence)
    spec = graph.input_spec(batch_size)

    @tf.function(input_signature=[spec], autograph=False)
    def serve(inputs):
        return graph.batch(inputs, batch_size)

    calibration = None
    if quantization == "int8" and representative_data is not None:
        calibration_batch = parity.as_batch(representative_data, model)

        def calibration():
            usable = len(calibration_batch) - len(calibration_batch) % batch_size
            for start in range(0, usable, batch_size):
                yield {graph.input_name: calibration_batch[start:start + batch_size]}

    content = convert_functions({"serving_default": serve}, quantization=quantization,
                                representative_data=calibration, allow_flex=allow_flex)
    ops = check_no_flex(content, allow_flex=allow_flex)
    write_atomically(path, content)

    data = verification_data if verification_data is not None \
        else parity.verification_inputs(model)
    data = parity.as_batch(data, model)
    interpreter = verify.load_interpreter(path, num_threads=num_threads)
    max_abs_diff, top1 = compare_with_keras(model, interpreter, data, batch_size)
    details = verify.signature_details(interpreter)
    low_precision = _count_low_precision_tensors(interpreter, quantization)
    latency = verify.median_latency_ms(
        interpreter, {graph.input_name: data[:batch_size]}, repeats=20, warmup=3)
    return TFLiteReport(
        path=os.fspath(path), ops=ops, size_bytes=os.path.getsize(path),
        max_abs_diff=max_abs_diff, top1_agreement=top1, latency_ms=latency,
        quantization=quantization, batch_size=batch_size,
        inputs=details["inputs"], outputs=details["outputs"],
        num_verification_samples=len(data) - len(data) % batch_size,
        low_precision_tensors=low_precision,
        lstm_kernel="loop" if use_loop else "fused",
    )


def _count_low_precision_tensors(interpreter, quantization):
    """Tensors stored in the quantization's type; warns when there are none.

    The converter leaves weights with fewer than 1024 elements in float32
    (a fixed threshold in its quantizer), and it quantizes a fused LSTM only
    when every per-gate weight matrix (`units x units` and
    `units x (features + 1)`) passes it: with 32 or 64 units and few
    features, "dynamic_int8" writes the float32 model unchanged. Saying so
    beats a silent no-op.
    """
    if quantization is None:
        return 0
    wanted = np.float16 if quantization == "float16" else np.int8
    count = sum(1 for tensor in interpreter.get_tensor_details() if tensor["dtype"] == wanted)
    if count == 0:
        warnings.warn(
            f"quantization={quantization!r} left every weight in float32: the TFLite "
            "converter only quantizes weight tensors of at least 1024 elements, and a "
            "fused LSTM only when each per-gate matrix (units x units and "
            "units x (features + 1)) is that large. The file is the float32 model.",
            stacklevel=3,
        )
    return count
