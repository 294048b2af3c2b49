"""Export a zoo model to a builtin-only `.tflite` file for LiteRT or MediaPipe Tasks.

`export_tflite` rebuilds the forward pass from the layers' weights
(`rnn_zoo.export.graph`), converts it with TFLite builtins only, refuses
Select TF (Flex) ops unless asked, then runs the file with the LiteRT
interpreter against Keras on verification inputs, in the runtime its target
is for (LiteRT's `CompiledModel`, MediaPipe's `TextClassifier`) against the
interpreter, and reports ops, size, parity, runtimes and latency.

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

import importlib.util
import os
import warnings

import numpy as np
import tensorflow as tf

from rnn_zoo import atomic
from rnn_zoo import eligibility
from rnn_zoo.export import fused
from rnn_zoo.export import parity
from rnn_zoo.export import verify
from rnn_zoo.export.converter import add_text_classifier_metadata
from rnn_zoo.export.converter import check_no_flex
from rnn_zoo.export.converter import convert_functions
from rnn_zoo.export.converter import op_names_from_flatbuffer
from rnn_zoo.export.graph import ModelGraph
from rnn_zoo.export.results import TFLiteReport
from rnn_zoo.tasks import DEFAULT_LSTM_KERNEL
from rnn_zoo.tasks import EXPORT_TARGETS
from rnn_zoo.tasks import LSTM_KERNELS
from rnn_zoo.tasks import QUANTIZATIONS
from rnn_zoo.validation import check_choice
from rnn_zoo.validation import check_positive_int

# Names other modules and scripts import from here.
# Largest difference allowed between two runtimes running the same file.
RUNTIME_TOLERANCE = 1e-5
# Strings every mediapipe file is also run on in MediaPipe: no token, case,
# punctuation, non-ASCII, emoji, a NUL, and far more tokens than any length.
HOSTILE_TEXTS = ("", " ,.;!? \t\n ", "Café NAÏVE don't 😀 x2", "ok\x00 hidden",
                 "word " * 2000)

__all__ = [
    "EXPORT_TARGETS",
    "LSTM_KERNELS",
    "QUANTIZATIONS",
    "RUNTIME_TOLERANCE",
    "check_mediapipe_arguments",
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


def check_mediapipe_arguments(model, max_length, vectorizer, labels):
    """Raise a ValueError unless `model` can be exported for MediaPipe as given.

    Args:
        model: the model; must map token ids to class scores.
        max_length: the fixed length (required).
        vectorizer: a `TextVectorizer` with `tokenizer="mediapipe"` (required).
        labels: one class name per output class (required).

    Returns:
        `max_length` as an int.

    Example:

    >>> check_mediapipe_arguments(model, 24, vectorizer, ["negative", "positive"])
    24
    """
    return _check_target_arguments("mediapipe", max_length, vectorizer, labels, model)


def _check_target_arguments(target, max_length, vectorizer, labels, model):
    if target != "mediapipe":
        if max_length is not None:
            raise ValueError(
                "Invalid value received for argument `max_length`: the litert target "
                "writes a dynamic-length file; a fixed length (with tokenizer metadata) "
                f"is the mediapipe target's. Received: max_length={max_length!r}, "
                f"target={target!r}")
        return None
    if max_length is None:
        raise ValueError(
            "Invalid value received for argument `max_length`. target='mediapipe' writes a "
            "fixed-length [1, max_length] file (MediaPipe reads the length from the "
            "input's shape): pass the exact padded length, e.g. max_length=64. "
            "Received: max_length=None")
    max_length = check_positive_int(max_length, "max_length", where="export_tflite")
    if vectorizer is None:
        raise ValueError(
            "Invalid value received for argument `vectorizer`. target='mediapipe' packs the "
            "vocabulary into the file for MediaPipe's RegexTokenizer: pass the text "
            "model's TextVectorizer. Received: vectorizer=None")
    if getattr(vectorizer, "tokenizer", None) != "mediapipe":
        raise ValueError(
            "Invalid value received for argument `vectorizer`: MediaPipe's RegexTokenizer "
            "can't reproduce this vectorizer's ids (it lower-cases, splits contractions "
            "and keeps non-ASCII letters; MediaPipe is case-sensitive, ASCII-only and "
            "drops punctuation). Train with TextVectorizer(tokenizer=\"mediapipe\") "
            "(prepare(..., tokenizer=\"mediapipe\")) and export that model. Received: "
            f"tokenizer={getattr(vectorizer, 'tokenizer', None)!r}")
    if labels is None:
        raise ValueError(
            "Invalid value received for argument `labels`. target='mediapipe' packs the "
            "class names into the file: pass one label per output class. "
            "Received: labels=None")
    outputs = model.outputs[0].shape
    if len(model.inputs[0].shape) != 2 or len(outputs) != 2:
        raise ValueError(
            f"Model '{model.name}': target='mediapipe' is for text classifiers (token ids "
            f"[batch, time] -> scores [batch, classes]); this model's input is "
            f"{tuple(model.inputs[0].shape)} and output {tuple(outputs)}.")
    if outputs[-1] is not None and len(labels) != outputs[-1]:
        raise ValueError(
            f"Invalid value received for argument `labels`. Expected {outputs[-1]} labels "
            f"(one per output class). Received: {len(labels)} labels")
    return max_length


def _fixed_length(data, max_length):
    """Rows cut or 0-padded at the end to exactly `max_length` steps; rows left
    without any real step are dropped (MediaPipe's input is never shorter)."""
    data = np.asarray(data)[:, :max_length]
    if data.shape[1] < max_length:
        data = np.pad(data, [(0, 0), (0, max_length - data.shape[1])])
    keep = np.any(data != 0, axis=1)
    return data[keep] if keep.any() else data


def _compiled_model_diff(path, data, batch_size, interpreter, input_name):
    if batch_size != 1:
        return None
    expected = verify.predict_rows(interpreter, input_name, data, 1)
    got = verify.compiled_model_predict(path, data)
    return max(float(np.max(np.abs(got[name] - expected[name]))) for name in expected)


def _mediapipe_diff(path, texts, vectorizer, max_length, interpreter, input_name):
    """Scores of MediaPipe's TextClassifier on `texts` against the Interpreter
    on the vectorizer's ids (truncated to `max_length` as MediaPipe does)."""
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.text import text_classifier

    ids = vectorizer(texts)[:, :max_length]
    ids = np.pad(ids, [(0, 0), (0, max_length - ids.shape[1])])
    expected = next(iter(verify.predict_rows(interpreter, input_name, ids, 1).values()))
    options = text_classifier.TextClassifierOptions(
        base_options=BaseOptions(model_asset_path=os.fspath(path)), max_results=-1)
    worst = 0.0
    with text_classifier.TextClassifier.create_from_options(options) as classifier:
        for row, text in enumerate(texts):
            categories = classifier.classify(text).classifications[0].categories
            scores = np.zeros(expected.shape[-1], np.float32)
            for category in categories:
                scores[category.index] = category.score
            worst = max(worst, float(np.max(np.abs(scores - expected[row]))))
    return worst


def _has_lstm(model):
    return any(eligibility.cell_kind(layer) == "lstm"
               for layer in model._flatten_layers(include_self=False, recursive=True))


def export_tflite(model, path, quantization=None, representative_data=None, batch_size=1,
                  verification_data=None, num_threads=1, allow_flex=False, lstm_kernel=None,
                  target="litert", max_length=None, vectorizer=None, labels=None,
                  verification_texts=None):
    """Export `model` to a builtin-only TFLite file and check it in its runtimes.

    Two targets (`rnn_zoo.tasks.EXPORT_TARGETS`):

    * "litert" (default): dynamic length, runs unchanged in LiteRT's
      `Interpreter` and in its `CompiledModel` (LiteRT 2.x), checked in both.
      A fixed rule picks the cell forms, so the same model always gives the
      same file: every cell (LSTM, GRU, SimpleRNN) is a builtin `WHILE` loop
      with the input projection hoisted out of it (`lstm_kernel="loop"`).
      `lstm_kernel="fused"` writes TFLite's fused
      `UNIDIRECTIONAL_SEQUENCE_LSTM` kernel instead, for delegates that
      accelerate it (NNAPI and others); such a file does NOT load in
      `CompiledModel` (LiteRT 2.3 refuses its variable tensors) and is
      checked in the Interpreter only.
    * "mediapipe": for text classifiers, a file MediaPipe Tasks'
      `TextClassifier` runs with nothing beside it: a fixed `[1, max_length]`
      input, one subgraph (every cell unrolled over `max_length` steps, no
      `WHILE`), and TFLite Metadata with a `RegexTokenizer` process unit, the
      vocabulary and the labels packed inside. Needs a vectorizer built with
      `tokenizer="mediapipe"` (the phone must reproduce the training ids)
      and `labels`. When mediapipe is installed the file is also run in
      `TextClassifier` on `verification_texts`.

    The signature takes `[batch_size, time]` int32 ids (or
    `[batch_size, time, features]` float32); padding may sit anywhere in a
    row, as in Keras. Ids outside [0, vocab_size) are read as the OOV id 1.

    Args:
        model: a zoo `keras.Model` (TF backend; train on any backend, save
            to `.keras`, load under TF).
        path: the `.tflite` file to write (atomically).
        quantization: None (float32), "float16", "dynamic_int8" or "int8".
        representative_data: for "int8": a padded numpy batch or a list of
            samples (no batch axis) to calibrate on.
        batch_size: int >= 1, the static batch of the signature (default 1).
            Rows run one by one. CompiledModel is checked at batch 1.
        verification_data: a padded numpy batch or a list of samples; None
            uses `rnn_zoo.export.parity.verification_inputs(model)`.
        num_threads: threads for the latency measurement, default 1.
        allow_flex: bool, default False: raise a ValueError naming the ops
            if any Select TF (Flex) op is needed.
        lstm_kernel: None or "loop" (the default) or "fused" (see above; the
            mediapipe target and "int8" always unroll / loop).
        target: "litert" (default) or "mediapipe".
        max_length: for target="mediapipe" (required there): the exact
            padded length of the file's input.
        vectorizer: for target="mediapipe": the model's `TextVectorizer`
            (`tokenizer="mediapipe"`).
        labels: for target="mediapipe": class names, one per output class.
        verification_texts: for target="mediapipe": raw strings to compare
            MediaPipe with the Interpreter on; default a few built from the
            vocabulary.

    Returns:
        A `TFLiteReport`.

    Raises:
        ValueError: a bad argument (the message names it and the fix), a
            model the export can't take, or a file a runtime refuses.

    Example:

    >>> model = rnn_zoo.build_text_classifier(vocab_size=50, units=8)
    >>> report = export_tflite(model, "model.tflite")
    >>> report.runtimes_verified
    ['interpreter', 'compiled_model']
    """
    check_choice(quantization, "quantization", QUANTIZATIONS, where="export_tflite")
    check_choice(target, "target", EXPORT_TARGETS, where="export_tflite")
    lstm_kernel = DEFAULT_LSTM_KERNEL if lstm_kernel is None else lstm_kernel
    check_choice(lstm_kernel, "lstm_kernel", LSTM_KERNELS, where="export_tflite")
    batch_size = check_positive_int(batch_size, "batch_size", where="export_tflite")
    num_threads = check_positive_int(num_threads, "num_threads", where="export_tflite")
    max_length = _check_target_arguments(target, max_length, vectorizer, labels, model)
    if target == "mediapipe":
        if batch_size != 1:
            raise ValueError(
                "Invalid value received for argument `batch_size`: MediaPipe feeds one "
                f"text at a time; target='mediapipe' needs batch_size=1. Received: "
                f"batch_size={batch_size}")
        sequence_fn = fused.unrolled_sequence(max_length)
        kernel_used = "unrolled"
    else:
        # Full-integer mode calibrates one static range per tensor, and the fused
        # LSTM's reset step (see fused.fused_lstm_sequence) feeds it a -1e4 drive
        # that would swamp the input range: there the LSTM runs as a WHILE loop.
        use_loop = quantization == "int8" or lstm_kernel == "loop"
        sequence_fn = fused.loop_sequence if use_loop else fused.recurrent_sequence
        kernel_used = "loop" if use_loop else "fused"
    if not _has_lstm(model):
        kernel_used = None  # a GRU or SimpleRNN model has no LSTM kernel to report
    graph = ModelGraph(model, sequence_fn=sequence_fn)
    spec = graph.input_spec(batch_size)
    if max_length is not None:
        spec = tf.TensorSpec([1, max_length], spec.dtype, name=spec.name)

    @tf.function(input_signature=[spec], autograph=False)
    def serve(inputs):
        return graph.batch(inputs, batch_size)

    calibration = None
    if quantization == "int8" and representative_data is not None:
        calibration_batch = parity.as_batch(representative_data, model)
        if max_length is not None:
            calibration_batch = _fixed_length(calibration_batch, max_length)

        def calibration():
            usable = len(calibration_batch) - len(calibration_batch) % batch_size
            for start in range(0, usable, batch_size):
                yield {graph.input_name: calibration_batch[start:start + batch_size]}

    content = convert_functions({"serving_default": serve}, quantization=quantization,
                                representative_data=calibration, allow_flex=allow_flex)
    ops = check_no_flex(content, allow_flex=allow_flex)
    if target == "mediapipe":
        content = add_text_classifier_metadata(
            content, vectorizer.vocabulary[2:], labels, name=model.name)
    write_atomically(path, content)

    data = verification_data if verification_data is not None \
        else parity.verification_inputs(model)
    data = parity.as_batch(data, model)
    if max_length is not None:
        data = _fixed_length(data, max_length)
    interpreter = verify.load_interpreter(path, num_threads=num_threads)
    max_abs_diff, top1 = compare_with_keras(model, interpreter, data, batch_size)
    runtimes = ["interpreter"]
    compiled_diff = None
    if target == "litert" and kernel_used != "fused" and batch_size == 1:
        compiled_diff = _compiled_model_diff(path, data, batch_size, interpreter,
                                             graph.input_name)
        runtimes.append("compiled_model")
    if target == "mediapipe" and importlib.util.find_spec("mediapipe") is not None:
        texts = list(verification_texts or parity.verification_texts(vectorizer))
        mediapipe_diff = _mediapipe_diff(path, texts + list(HOSTILE_TEXTS), vectorizer,
                                         max_length,
                                         interpreter, graph.input_name)
        # Quantized files are reported, not held to it (as against Keras).
        if quantization is None and mediapipe_diff > RUNTIME_TOLERANCE:
            raise ValueError(
                f"{path}: MediaPipe's TextClassifier differs from the LiteRT Interpreter "
                f"by {mediapipe_diff:.3g} (> {RUNTIME_TOLERANCE}).")
        runtimes.append("mediapipe")
    # Quantized files are reported, not held to it (as against Keras).
    if quantization is None and compiled_diff is not None \
            and compiled_diff > RUNTIME_TOLERANCE:
        raise ValueError(
            f"{path}: LiteRT's CompiledModel differs from its Interpreter by "
            f"{compiled_diff:.3g} (> {RUNTIME_TOLERANCE}).")
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
        lstm_kernel=kernel_used, target=target, max_length=max_length,
        runtimes_verified=runtimes, compiled_model_max_abs_diff=compiled_diff,
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
