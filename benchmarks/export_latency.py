"""TFLite latency and size: rnn_zoo's export vs Keras 3's own `model.export`.

Both files are run by the same LiteRT interpreter, 1 thread, batch 1, the
median of repeated `invoke`s, in the same process, Keras and rnn_zoo
alternating over several rounds; the ratio (median of the per-round ratios)
is what matters (absolute numbers move with the machine and its load).

Reproduce:

    KERAS_BACKEND=tensorflow python benchmarks/export_latency.py [--repeats 50] [--rounds 5]

A second table splits the LSTM rows (both sizes): rnn_zoo's fused export,
the same model with its LSTM as rnn_zoo's static-shape WHILE loop, the bare
fused kernel (the composite function alone), and a "floor": a WHILE loop that
only adds `h @ recurrent_kernel` to each step's projection, no gates, i.e.
the least any LSTM built from TFLite builtin ops must run per step. Full row
and half-padded row; `--only-lstm-kernels` prints just this table.

`--targets` measures each export target's file in its own runtime: the
default `litert` file (`model.tflite`, every cell a builtin WHILE loop) in
LiteRT's Interpreter and in its CompiledModel, paired against Keras's own
`model.export(format="litert", input_signature=[InputSpec((1, T), ...)])`, the
LSTM rows also against the gate-less floor; and the `mediapipe` file of a text
classifier run by MediaPipe's `TextClassifier.classify()` on raw text, compared
with the litert text file in the Interpreter (MediaPipe can't run Keras's
file). It prints the CPU model and L2 size: the ratios depend on the CPU.

Targets: the default LSTM export at 128 units within 1.15x of the floor row
of the same run; no default export slower than Keras's own; dynamic-range
int8 <= 0.3x the float32 file size. Decide on the median of 5 runs.
"""

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import rnn_zoo  # noqa: E402
from rnn_zoo.export import fused  # noqa: E402
from rnn_zoo.export import verify  # noqa: E402
from rnn_zoo.export.graph import ModelGraph  # noqa: E402
from rnn_zoo.export.tflite import convert_functions  # noqa: E402
from rnn_zoo.export.tflite import export_tflite  # noqa: E402
from rnn_zoo.export.tflite import write_atomically  # noqa: E402

SIZES = ({"steps": 100, "features": 64, "units": 128},
         {"steps": 20, "features": 16, "units": 32})
CELLS = (("lstm", False, "LSTM"), ("gru", False, "GRU"), ("simple_rnn", False, "SimpleRNN"),
         ("lstm", True, "BiLSTM"), ("gru", True, "BiGRU"))
TARGET_CELLS = (("lstm", False, "LSTM"), ("gru", False, "GRU"), ("lstm", True, "BiLSTM"))


def _model(cell, bidirectional, size):
    return rnn_zoo.build_sequence_classifier(
        num_features=size["features"], num_classes=4, cell=cell,
        bidirectional=bidirectional, units=size["units"], compile_model=False)


def _keras_export(model, path, size):
    # Keras prints "Saved artifact at ..." to stdout: keep the table clean.
    with contextlib.redirect_stdout(io.StringIO()):
        model.export(path, format="litert", input_signature=[
            keras.InputSpec(shape=(1, size["steps"], size["features"]), dtype="float32")])


def _paired_latency(baseline, candidate, rounds, repeats):
    """Median latencies of two (interpreter, inputs) pairs, measured in
    alternating rounds so that a load swing on a shared machine hits both.

    Returns:
        `(baseline_ms, candidate_ms, ratio)`: medians over the rounds of each
        round's median, and the median of the per-round ratios.
    """
    baseline_ms, candidate_ms = [], []
    for _ in range(rounds):
        baseline_ms.append(verify.median_latency_ms(*baseline, repeats=repeats))
        candidate_ms.append(verify.median_latency_ms(*candidate, repeats=repeats))
    ratios = [c / b for b, c in zip(baseline_ms, candidate_ms)]
    return (statistics.median(baseline_ms), statistics.median(candidate_ms),
            statistics.median(ratios))


def _bare_fused_lstm(model, path, size):
    """Just the composite LSTM function (no padding, no reset step): what
    the fused kernel alone costs."""
    import tensorflow as tf

    layer = next(layer for layer in model.layers if isinstance(layer, keras.layers.LSTM))
    weights = fused.CellWeights(layer)
    function = fused._composite_lstm(go_backwards=False)
    spec = tf.TensorSpec([1, None, size["features"]], tf.float32, name="features")

    @tf.function(input_signature=[spec], autograph=False)
    def serve(inputs):
        zeros = tf.zeros([1, weights.units])
        outputs = function(inputs, zeros, zeros, tf.constant(weights.kernel),
                           tf.constant(weights.recurrent_kernel),
                           tf.constant(weights.input_bias))
        return {"sequence": outputs[1]}

    write_atomically(path, convert_functions({"serving_default": serve}))


def _loop_lstm(model, path):
    """The same model with its LSTM as rnn_zoo's static-shape WHILE loop."""
    import tensorflow as tf

    graph = ModelGraph(model, sequence_fn=fused.loop_sequence)

    @tf.function(input_signature=[graph.input_spec(1)], autograph=False)
    def serve(inputs):
        return graph.batch(inputs, 1)

    write_atomically(path, convert_functions({"serving_default": serve}))


def _matmul_floor(model, path, size):
    """Not an LSTM: a WHILE loop that does only what any builtin-op LSTM
    must do at each step, read the step's hoisted input projection
    (`GATHER`) and add `h @ recurrent_kernel` (`FULLY_CONNECTED`, the
    [U, 4U] float32 matrix read once a step), with no gate. Its latency
    is a lower bound for an LSTM built from TFLite builtins, so its ratio
    to Keras's export says how far below Keras such an LSTM can go here."""
    import tensorflow as tf

    layer = next(layer for layer in model.layers if isinstance(layer, keras.layers.LSTM))
    weights = fused.CellWeights(layer)
    spec = tf.TensorSpec([1, None, size["features"]], tf.float32, name="features")

    @tf.function(input_signature=[spec], autograph=False)
    def serve(inputs):
        projected = tf.expand_dims(weights.project(inputs[0]), 1)
        recurrent_kernel = tf.constant(weights.recurrent_kernel)
        steps = tf.shape(inputs)[1]

        def body(step, state):
            gates = tf.gather(projected, step) + tf.matmul(state, recurrent_kernel)
            return step + 1, tf.split(gates, 4, axis=-1)[0]

        _, last = tf.while_loop(lambda step, _: step < steps, body,
                                (tf.constant(0), tf.zeros([1, weights.units])))
        return {"last": last}

    write_atomically(path, convert_functions({"serving_default": serve}))


def _lstm_kernel_table(size, workdir, rng, args):
    """Where the LSTM time goes: rnn_zoo's fused export vs its WHILE loop vs
    the bare fused kernel vs the recurrent-matmul floor, each paired with
    Keras's export, on a full row and on a row that is half padding."""
    model = _model("lstm", False, size)
    paths = {name: os.path.join(workdir, f"kernel_{name}_{size['units']}.tflite")
             for name in ("keras", "fused", "loop", "bare", "floor")}
    _keras_export(model, paths["keras"], size)
    export_tflite(model, paths["fused"], lstm_kernel="fused")
    _loop_lstm(model, paths["loop"])
    _bare_fused_lstm(model, paths["bare"], size)
    _matmul_floor(model, paths["floor"], size)
    interpreters = {name: verify.load_interpreter(path) for name, path in paths.items()}
    keras_input = verify.signature_details(interpreters["keras"])["inputs"][0]["name"]
    full = rng.normal(size=(1, size["steps"], size["features"])).astype("float32")
    half = full.copy()
    half[:, size["steps"] // 2:] = 0.0
    print(f"\n| LSTM T={size['steps']} D={size['features']} U={size['units']} | input | "
          "Keras export ms | candidate ms | ratio |")
    print("|---|---|---|---|---|")
    for label, x in (("full row", full), ("half padding", half)):
        for name in ("fused", "loop", "bare", "floor"):
            if name in ("bare", "floor") and x is half:
                continue  # neither handles padding
            keras_ms, candidate_ms, ratio = _paired_latency(
                (interpreters["keras"], {keras_input: x}),
                (interpreters[name], {"features": x}),
                rounds=args.rounds, repeats=args.repeats)
            print(f"| rnn_zoo {name} | {label} | {keras_ms:.3f} | {candidate_ms:.3f} | "
                  f"{ratio:.2f}x |", flush=True)


def _cpu_description():
    """lscpu's model name and L2 size (the ratios depend on both)."""
    import subprocess

    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    except OSError:
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return (f"{fields.get('Model name', '?').strip()}, L2 {fields.get('L2 cache', '?').strip()}")


def _compiled_latency_ms(path, x, repeats, warmup=5):
    """Median time of one `CompiledModel.run_by_index`, buffers made once."""
    import time

    from ai_edge_litert.compiled_model import CompiledModel

    model = CompiledModel.from_file(path)
    model.resize_input_tensor(0, list(x.shape), 0)
    inputs, outputs = model.create_input_buffers(0), model.create_output_buffers(0)
    inputs[0].write(np.ascontiguousarray(x))
    timings = []
    for index in range(warmup + repeats):
        start = time.perf_counter()
        model.run_by_index(0, inputs, outputs)
        if index >= warmup:
            timings.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(timings)


def _mediapipe_latency_ms(path, text, repeats, warmup=5):
    """Median time of one MediaPipe `TextClassifier.classify(text)` (tokenising included)."""
    import time

    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.text import text_classifier

    options = text_classifier.TextClassifierOptions(
        base_options=BaseOptions(model_asset_path=path))
    timings = []
    with text_classifier.TextClassifier.create_from_options(options) as classifier:
        for index in range(warmup + repeats):
            start = time.perf_counter()
            classifier.classify(text)
            if index >= warmup:
                timings.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(timings)


def _targets_table(args):
    """Each target's file in its own runtime, paired with Keras's export."""
    from rnn_zoo.text import TextVectorizer

    workdir = tempfile.mkdtemp(prefix="rnn_zoo_bench_")
    rng = np.random.default_rng(0)
    print(f"# CPU: {_cpu_description()}; {os.cpu_count()} CPUs; Python "
          f"{sys.version.split()[0]}")
    print("# command: KERAS_BACKEND=tensorflow python benchmarks/export_latency.py --targets "
          f"--repeats {args.repeats} --rounds {args.rounds}")
    print("\n| model | T | D | U | Keras export ms | litert Interpreter ms | ratio | "
          "litert CompiledModel ms | ratio | floor ratio (default / floor) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in SIZES:
        x = rng.normal(size=(1, size["steps"], size["features"])).astype("float32")
        for cell, bidirectional, label in TARGET_CELLS:
            model = _model(cell, bidirectional, size)
            ours = os.path.join(workdir, f"{label}_{size['steps']}_litert.tflite")
            theirs = os.path.join(workdir, f"{label}_{size['steps']}_keras.tflite")
            export_tflite(model, ours, verification_data=x)
            _keras_export(model, theirs, size)
            keras_interpreter = verify.load_interpreter(theirs)
            input_name = verify.signature_details(keras_interpreter)["inputs"][0]["name"]
            keras_ms, zoo_ms, ratio = _paired_latency(
                (keras_interpreter, {input_name: x}),
                (verify.load_interpreter(ours), {"features": x}),
                rounds=args.rounds, repeats=args.repeats)
            compiled_ms = _compiled_latency_ms(ours, x, args.repeats)
            floor = ""
            if label == "LSTM":
                floor_path = os.path.join(workdir, f"floor_{size['steps']}.tflite")
                _matmul_floor(model, floor_path, size)
                _, _, floor_ratio = _paired_latency(
                    (verify.load_interpreter(floor_path), {"features": x}),
                    (verify.load_interpreter(ours), {"features": x}),
                    rounds=args.rounds, repeats=args.repeats)
                floor = f"{floor_ratio:.2f}x"
            print(f"| {label} | {size['steps']} | {size['features']} | {size['units']} | "
                  f"{keras_ms:.3f} | {zoo_ms:.3f} | {ratio:.2f}x | {compiled_ms:.3f} | "
                  f"{compiled_ms / keras_ms:.2f}x | {floor} |", flush=True)

    print("\n| text classifier | max_length | D | U | litert Interpreter ms (ids) | "
          "mediapipe classify() ms (raw text) | ratio |")
    print("|---|---|---|---|---|---|---|")
    words = [f"w{index}" for index in range(2000)]
    vectorizer = TextVectorizer(tokenizer="mediapipe", vocabulary=words)
    for size in SIZES:
        text = " ".join(rng.choice(words, size=size["steps"]))
        ids = vectorizer.mediapipe_ids([text], size["steps"])
        for cell, bidirectional, label in TARGET_CELLS:
            model = rnn_zoo.build_text_classifier(
                vocab_size=vectorizer.vocab_size, embedding_dim=size["features"],
                units=size["units"], cell=cell, bidirectional=bidirectional, num_classes=4,
                compile_model=False)
            litert = os.path.join(workdir, f"text_{label}_{size['steps']}.tflite")
            phone = os.path.join(workdir, f"text_{label}_{size['steps']}_mediapipe.tflite")
            export_tflite(model, litert, verification_data=ids)
            export_tflite(model, phone, target="mediapipe", max_length=size["steps"],
                          vectorizer=vectorizer, labels=["a", "b", "c", "d"],
                          verification_data=ids, verification_texts=[text])
            litert_ms = verify.median_latency_ms(verify.load_interpreter(litert),
                                                 {"token_ids": ids}, repeats=args.repeats)
            phone_ms = _mediapipe_latency_ms(phone, text, args.repeats)
            print(f"| {label} | {size['steps']} | {size['features']} | {size['units']} | "
                  f"{litert_ms:.3f} | {phone_ms:.3f} | {phone_ms / litert_ms:.2f}x |",
                  flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50,
                        help="timed invokes per round (default 50)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating Keras / rnn_zoo rounds per row (default 5)")
    parser.add_argument("--accuracy-epochs", type=int, default=20,
                        help="training epochs of the JapaneseVowels model (default 20)")
    parser.add_argument("--only-accuracy", action="store_true",
                        help="just the quantized-accuracy table")
    parser.add_argument("--only-lstm-kernels", action="store_true",
                        help="just the LSTM kernel table (fused, loop, bare, floor)")
    parser.add_argument("--targets", action="store_true",
                        help="just the export-target table: litert in Interpreter and "
                        "CompiledModel vs Keras's export and the floor; mediapipe in "
                        "MediaPipe's TextClassifier")
    args = parser.parse_args()
    if args.targets:
        _targets_table(args)
        return
    if args.only_accuracy:
        _quantized_accuracy_table(tempfile.mkdtemp(prefix="rnn_zoo_bench_"), args.accuracy_epochs)
        return
    if args.only_lstm_kernels:
        for size in SIZES:
            _lstm_kernel_table(size, tempfile.mkdtemp(prefix="rnn_zoo_bench_"),
                               np.random.default_rng(0), args)
        return
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print("# command: KERAS_BACKEND=tensorflow python benchmarks/export_latency.py "
          f"--repeats {args.repeats} --rounds {args.rounds}")
    rng = np.random.default_rng(0)
    workdir = tempfile.mkdtemp(prefix="rnn_zoo_bench_")
    print("\n| model | T | D | U | Keras export ms | rnn_zoo ms | ratio | "
          "rnn_zoo ops |")
    print("|---|---|---|---|---|---|---|---|")
    for size in SIZES:
        x = rng.normal(size=(1, size["steps"], size["features"])).astype("float32")
        for cell, bidirectional, label in CELLS:
            print(f"... {label} T={size['steps']}", file=sys.stderr, flush=True)
            model = _model(cell, bidirectional, size)
            ours = os.path.join(workdir, f"{label}_{size['steps']}_zoo.tflite")
            theirs = os.path.join(workdir, f"{label}_{size['steps']}_keras.tflite")
            report = export_tflite(model, ours, verification_data=x)
            _keras_export(model, theirs, size)
            keras_interpreter = verify.load_interpreter(theirs)
            input_name = verify.signature_details(keras_interpreter)["inputs"][0]["name"]
            keras_ms, zoo_ms, ratio = _paired_latency(
                (keras_interpreter, {input_name: x}),
                (verify.load_interpreter(ours), {"features": x}),
                rounds=args.rounds, repeats=args.repeats)
            kernel = [op for op in report.ops
                      if op in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "WHILE")]
            print(f"| {label} | {size['steps']} | {size['features']} | {size['units']} | "
                  f"{keras_ms:.3f} | {zoo_ms:.3f} | {ratio:.2f}x | "
                  f"{','.join(kernel)} (diff {report.max_abs_diff:.1e}) |", flush=True)

    for size in SIZES:
        _lstm_kernel_table(size, workdir, rng, args)

    size = SIZES[0]
    model = _model("lstm", False, size)
    data = rng.normal(size=(16, size["steps"], size["features"])).astype("float32")
    print(f"\n| LSTM T={size['steps']} D={size['features']} U={size['units']} "
          "quantization | bytes | vs float32 | max abs diff | top-1 agreement | ms |")
    print("|---|---|---|---|---|---|")
    float_bytes = None
    for quantization in (None, "float16", "dynamic_int8", "int8"):
        path = os.path.join(workdir, f"lstm_{quantization}.tflite")
        report = export_tflite(model, path, quantization=quantization,
                               representative_data=data, verification_data=data)
        float_bytes = float_bytes or report.size_bytes
        print(f"| {quantization} | {report.size_bytes} | "
              f"{report.size_bytes / float_bytes:.2f}x | {report.max_abs_diff:.1e} | "
              f"{report.top1_agreement:.2f} | {report.latency_ms:.3f} |", flush=True)

    _quantized_accuracy_table(workdir, args.accuracy_epochs)


def _quantized_accuracy_table(workdir, epochs):
    """Quantized vs float32 accuracy on a real task: JapaneseVowels (aeon's
    copy, offline), an LSTM trained here, every test row through the TFLite
    interpreter. Target: dynamic-range int8 within 1 point of float32.

    128 units, the benchmark's large size: with 32 or 64 units and 12
    features the converter quantizes no LSTM weight at all (each per-gate
    matrix is under its 1024-element threshold; `export_tflite` warns).
    """
    from rnn_zoo.data import SequenceScaler
    from rnn_zoo.data import load_japanese_vowels

    train_data = load_japanese_vowels(split="train")
    test_data = load_japanese_vowels(split="test")
    scaler = SequenceScaler.fit(train_data)
    x, test_x = scaler.transform(train_data), scaler.transform(test_data)
    keras.utils.set_random_seed(0)
    model = rnn_zoo.build_sequence_classifier(12, 9, cell="lstm", units=128,
                                              learning_rate=3e-3)
    model.fit(x, train_data.labels, epochs=epochs, batch_size=32, verbose=0)
    keras_accuracy = float((model.predict(test_x, verbose=0).argmax(-1) == test_data.labels).mean())
    print(f"\n| JapaneseVowels LSTM (128 units, {epochs} epochs), {len(test_x)} test rows "
          "| bytes | vs float32 | test accuracy | vs float32 (points) | top-1 agreement |")
    print("|---|---|---|---|---|---|")
    print(f"| Keras | - | - | {keras_accuracy:.4f} | - | - |")
    float_bytes = float_accuracy = float_labels = None
    for quantization in (None, "float16", "dynamic_int8", "int8"):
        path = os.path.join(workdir, f"vowels_{quantization}.tflite")
        report = export_tflite(model, path, quantization=quantization,
                               representative_data=x[:64], verification_data=test_x[:8])
        interpreter = verify.load_interpreter(path)
        input_name = verify.signature_details(interpreter)["inputs"][0]["name"]
        outputs = verify.predict_rows(interpreter, input_name, test_x)
        labels = next(iter(outputs.values())).argmax(-1)
        accuracy = float((labels == test_data.labels).mean())
        if quantization is None:
            float_bytes, float_accuracy, float_labels = report.size_bytes, accuracy, labels
        print(f"| {quantization or 'float32'} | {report.size_bytes} | "
              f"{report.size_bytes / float_bytes:.2f}x | {accuracy:.4f} | "
              f"{100 * (accuracy - float_accuracy):+.1f} | "
              f"{float((labels == float_labels).mean()):.4f} |", flush=True)


if __name__ == "__main__":
    main()
