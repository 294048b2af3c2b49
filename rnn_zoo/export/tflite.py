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

import dataclasses
import os
import re
import shutil
import tempfile
import warnings

import numpy as np

from rnn_zoo.export import fused
from rnn_zoo.export import verify
from rnn_zoo.validation import check_choice
from rnn_zoo.validation import check_positive_int

QUANTIZATIONS = (None, "float16", "dynamic_int8", "int8")
# How an LSTM is written: TFLite's fused kernel, or rnn_zoo's static-shape
# WHILE loop (see `export_tflite`).
LSTM_KERNELS = ("fused", "loop")


@dataclasses.dataclass
class TFLiteReport:
    """What `export_tflite` wrote and how well it matches Keras.

    Attributes:
        path: the `.tflite` file.
        ops: sorted unique operator names (builtins only unless
            `allow_flex=True`).
        size_bytes: file size.
        max_abs_diff: max |TFLite - Keras| over the verification inputs and
            every output.
        top1_agreement: fraction of argmax positions (per sequence, or per
            real token for per-step outputs) where TFLite and Keras agree;
            None for single-value outputs.
        latency_ms: median time of one `invoke` (batch `batch_size`,
            `num_threads` threads) on the longest verification input.
        quantization: the quantization mode, None for float32.
        batch_size: the static batch of the exported signature.
        inputs, outputs: signature details (`name`, `shape` with -1 for the
            dynamic time axis, `dtype`).
        num_verification_samples: rows compared with Keras.
        lstm_kernel: how LSTM layers were written, "fused" or "loop" (always
            "loop" for "int8").
        low_precision_tensors: tensors stored as int8 (or float16 for
            "float16"): 0 for float32, and 0 means a quantization mode left
            every weight in float32 (a warning says why).
    """

    path: str
    ops: list
    size_bytes: int
    max_abs_diff: float
    top1_agreement: float
    latency_ms: float
    quantization: str
    batch_size: int
    inputs: list
    outputs: list
    num_verification_samples: int
    low_precision_tensors: int = 0
    lstm_kernel: str = "fused"

    def to_dict(self):
        """A JSON-ready dict (for manifests)."""
        return dataclasses.asdict(self)


def _flex_error(message):
    names = sorted(set(re.findall(r"\btf\.([A-Za-z0-9_]+)", message)))
    return ValueError(
        "The model needs TensorFlow ops that TFLite has no builtin kernel for "
        f"(Select TF / Flex ops: {', '.join(names) or 'see the converter message'}). "
        "Pass allow_flex=True to export anyway (the app must then link the Flex "
        f"delegate). Converter message: {message.strip().splitlines()[0] if message else ''}"
    )


def convert_functions(signatures, quantization=None, representative_data=None,
                      allow_flex=False):
    """Convert `tf.function`s to TFLite bytes via a temporary SavedModel.

    The LSTM composite-function fusion only happens on the SavedModel path:
    `from_concrete_functions` inlines the functions first and loses it
    (measured: a `WHILE` loop instead of `UNIDIRECTIONAL_SEQUENCE_LSTM`).

    Args:
        signatures: dict of signature name -> `tf.function` with an
            `input_signature`.
        quantization: one of `QUANTIZATIONS`.
        representative_data: for "int8": a callable returning an iterator of
            dicts `{input name: array}` (one signature's inputs).
        allow_flex: bool, also allow Select TF ops.

    Returns:
        The flatbuffer bytes.
    """
    import tensorflow as tf

    check_choice(quantization, "quantization", QUANTIZATIONS, where="export_tflite")
    directory = tempfile.mkdtemp(prefix="rnn_zoo_tflite_")
    try:
        module = tf.Module()
        concrete = {}
        for name, function in signatures.items():
            setattr(module, f"fn_{name}", function)
            concrete[name] = function.get_concrete_function()
        tf.saved_model.save(module, directory, signatures=concrete)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            directory, signature_keys=list(signatures))
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "dynamic_int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif quantization == "int8":
            if representative_data is None:
                raise ValueError(
                    "quantization='int8' needs `representative_data` (inputs that "
                    "look like production data) to calibrate activation ranges."
                )
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative_data
            # Int8 kernels where they exist, float builtins for the rest
            # (the input ids / features and outputs keep their dtypes).
            ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
        if allow_flex:
            ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
        converter.target_spec.supported_ops = ops
        try:
            content = converter.convert()
        except Exception as error:  # ConverterError: name the offending ops.
            if "Select TF" in str(error) or "not supported" in str(error) or "tf." in str(error):
                raise _flex_error(str(error)) from error
            raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if not content:
        raise ValueError("The TFLite converter returned an empty model.")
    return content


def check_no_flex(content, allow_flex=False):
    """Raise a ValueError naming any Flex op in `content` (unless allowed).

    Returns:
        The sorted op names, read from the flatbuffer (the stock interpreter
        refuses to load a model with Flex ops, so don't ask it).
    """
    names = op_names_from_flatbuffer(content)
    flex = verify.flex_ops(names)
    if flex and not allow_flex:
        raise ValueError(f"The exported model contains Select TF (Flex) ops {flex}; "
                         "pass allow_flex=True to accept them.")
    return names


def op_names_from_flatbuffer(content):
    """Sorted unique op names of a `.tflite` flatbuffer (custom ops by their
    custom name, e.g. "FlexTensorListReserve")."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    builtin_names = {value: name for name, value in vars(schema.BuiltinOperator).items()
                     if not name.startswith("_")}
    names = set()
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.customCode
            names.add(custom.decode() if isinstance(custom, bytes) else str(custom))
        else:
            names.add(builtin_names.get(builtin, str(builtin)))
    return sorted(names)


def write_atomically(path, content):
    """Write bytes to `path` via a temporary file and a rename."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _padding_value(model):
    from rnn_zoo import layers as zoo_layers

    for layer in model.layers:
        if isinstance(layer, zoo_layers.RightAlignPadding):
            return layer.padding_value
    return 0


def default_verification_data(model, num_samples=8, max_steps=12, seed=0):
    """Deterministic inputs a model accepts: random lengths 1..max_steps,
    rows padded at the end with the padding value.

    Returns:
        A numpy array `[num_samples, max_steps, ...]`.
    """
    import keras

    rng = np.random.default_rng(seed)
    spec = model.inputs[0]
    lengths = rng.integers(1, max_steps + 1, size=num_samples)
    lengths[0] = max_steps
    pad = _padding_value(model)
    if len(spec.shape) == 2:
        embedding = next(layer for layer in model.layers
                         if isinstance(layer, keras.layers.Embedding))
        data = rng.integers(1, embedding.input_dim, size=(num_samples, max_steps))
        data = data.astype(spec.dtype)
    else:
        data = rng.normal(size=(num_samples, max_steps, spec.shape[-1])).astype("float32")
    for row, length in enumerate(lengths):
        data[row, length:] = pad
    return data


def _as_batch(data, model):
    """Verification data as one padded numpy array."""
    if isinstance(data, np.ndarray):
        return data
    samples = [np.asarray(sample) for sample in data]
    longest = max(sample.shape[0] for sample in samples)
    pad = _padding_value(model)
    batch = np.full((len(samples), longest) + samples[0].shape[1:], pad,
                    dtype=samples[0].dtype)
    for row, sample in enumerate(samples):
        batch[row, : sample.shape[0]] = sample
    return batch


def compare_with_keras(model, interpreter, data, batch_size=1, signature_key=None):
    """Run `data` through Keras and the interpreter.

    Returns:
        `(max_abs_diff, top1_agreement)` over every output. Top-1 compares
        argmax of the last axis (skipped for width-1 outputs); for per-step
        outputs only the real (non-padding) positions count.
    """
    data = _as_batch(data, model)
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
    pad = _padding_value(model)
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
            uses `default_verification_data(model)`.
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
    import tensorflow as tf

    from rnn_zoo.export.graph import ModelGraph

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
        calibration_batch = _as_batch(representative_data, model)

        def calibration():
            usable = len(calibration_batch) - len(calibration_batch) % batch_size
            for start in range(0, usable, batch_size):
                yield {graph.input_name: calibration_batch[start:start + batch_size]}

    content = convert_functions({"serving_default": serve}, quantization=quantization,
                                representative_data=calibration, allow_flex=allow_flex)
    ops = check_no_flex(content, allow_flex=allow_flex)
    write_atomically(path, content)

    data = verification_data if verification_data is not None \
        else default_verification_data(model)
    data = _as_batch(data, model)
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
