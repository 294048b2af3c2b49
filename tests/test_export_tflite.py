"""TFLite export: parity with Keras, loops by default (fused LSTM on request), no Flex,
safe ids, and the same outputs in LiteRT's Interpreter and CompiledModel.

TF-backend only (unmarked): the TFLite converter needs TensorFlow. Every
test runs the real converter and the real LiteRT interpreter.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnn_zoo
from rnn_zoo import atomic
from rnn_zoo.export import parity
from rnn_zoo.export import verify
from rnn_zoo.export.tflite import convert_functions
from rnn_zoo.export.tflite import export_tflite

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TFLite conversion needs the TensorFlow backend",
)

VOCAB = 50
MAX_STEPS = 9
TINY = {"units": 5, "compile_model": False}
FUSED_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def _tiny_overrides(name):
    task = rnn_zoo.describe_model(name)["task"]
    config = rnn_zoo.describe_model(name)["config"]
    overrides = dict(TINY)
    if "vocab_size" in config:
        overrides.update(vocab_size=VOCAB, embedding_dim=4)
    if task == "bag_of_embeddings":
        overrides = {"vocab_size": VOCAB, "embedding_dim": 4, "hidden_units": 5,
                     "compile_model": False}
    if config.get("depth", 1) > 1:
        overrides["units"] = [6, 4]
    return overrides


def _rows_with_padding_anywhere(model, rng, rows=6):
    """Random lengths 1..MAX_STEPS; padding at the end, the start, and in
    the middle of rows, plus one all-padding row."""
    spec = model.inputs[0]
    if len(spec.shape) == 2:
        data = rng.integers(1, VOCAB, size=(rows, MAX_STEPS)).astype("int32")
    else:
        data = rng.normal(size=(rows, MAX_STEPS, spec.shape[-1])).astype("float32")
    lengths = rng.integers(1, MAX_STEPS + 1, size=rows)
    lengths[0] = MAX_STEPS
    for row, length in enumerate(lengths):
        if row % 3 == 1:
            data[row, : MAX_STEPS - length] = 0  # left padding
        elif row % 3 == 2:
            data[row, 1: 1 + MAX_STEPS - length] = 0  # padding in the middle
        else:
            data[row, length:] = 0
    data[-1] = 0  # nothing but padding
    return data


@pytest.mark.parametrize("name", rnn_zoo.list_models())
def test_registry_model_matches_keras_with_builtin_ops(name, tmp_path, rng):
    model = rnn_zoo.build_model(name, **_tiny_overrides(name))
    data = _rows_with_padding_anywhere(model, rng)
    report = export_tflite(model, tmp_path / "model.tflite", verification_data=data)

    assert report.max_abs_diff <= 1e-5, report
    assert not verify.flex_ops(report.ops), report.ops
    recurrent = rnn_zoo.cudnn.recurrent_layers(model)
    # The default target's fixed rule: every cell is a builtin loop.
    assert FUSED_LSTM not in report.ops
    if recurrent:
        assert "WHILE" in report.ops
    # The kernel is reported only where there is an LSTM (a GRU's manifest once said "fused").
    has_lstm = any(rnn_zoo.eligibility.cell_kind(layer) == "lstm" for layer in recurrent)
    assert report.lstm_kernel == ("loop" if has_lstm else None) and report.target == "litert"
    assert report.size_bytes == (tmp_path / "model.tflite").stat().st_size
    assert report.inputs[0]["shape"][:2] == [1, -1]
    # The same file in LiteRT's CompiledModel equals the Interpreter, at
    # several lengths (the input is resized before the buffers are made).
    assert report.runtimes_verified == ["interpreter", "compiled_model"]
    assert report.compiled_model_max_abs_diff <= 1e-5
    interpreter = verify.load_interpreter(tmp_path / "model.tflite")
    for steps in (1, 4, MAX_STEPS):
        rows = data[:3, :steps]
        rows = rows[np.any(rows.reshape(len(rows), steps, -1) != 0, axis=(1, 2))]
        expected = verify.predict_rows(interpreter, model.inputs[0].name, rows)
        got = verify.compiled_model_predict(tmp_path / "model.tflite", rows)
        for output, value in expected.items():
            np.testing.assert_allclose(got[output], value, atol=1e-5)


# Scores a `.tflite` file in fresh CompiledModels against the Interpreter, in a
# child process (its heap starts in a state of its own).
_COMPILED_VS_INTERPRETER = """
import sys
import numpy as np
from rnn_zoo.export import verify
path, rows_path = sys.argv[1:]
batches = np.load(rows_path)
interpreter = verify.load_interpreter(path)
worst = 0.0
for batch in (batches[key] for key in batches.files):
    expected = verify.predict_rows(interpreter, "token_ids", batch)["classifier"]
    got = verify.compiled_model_predict(path, batch)["classifier"]
    worst = max(worst, float(np.max(np.abs(got - expected))))
print(worst)
"""


def _attention_rows(rng, lengths=(1, 2, 3, 5, 9, 17, 33), count=12):
    """Batches of token ids, one per length: random ids, padding at the end,
    the start, in the middle, and one row of padding alone."""
    batches = []
    for steps in lengths:
        rows = rng.integers(1, VOCAB, size=(count, steps)).astype("int32")
        for row in range(count):
            padding = int(rng.integers(0, steps))
            where = row % 3
            if where == 0:
                rows[row, steps - padding:] = 0
            elif where == 1:
                rows[row, :padding] = 0
            else:
                rows[row, 1:1 + padding] = 0
        rows[-1] = 0
        batches.append(rows)
    return batches


# Keras warns about any softmax over an axis of size 1; a one-step row is
# a real input here (its one step gets weight 1).
@pytest.mark.filterwarnings("ignore:You are using a softmax over axis")
def test_attention_pooling_equals_the_interpreter_in_fresh_compiled_models(tmp_path, rng):
    # Attention pooling is the one head with a masked softmax over the time
    # axis, whose length changes with every row. Each row runs in a new
    # CompiledModel (and again in one kept instance), at many lengths and
    # paddings. The child processes set MALLOC_PERTURB_, which fills every
    # heap block glibc hands out with a non-zero byte: a kernel that read
    # memory nothing wrote would then change the scores on every run, not
    # now and then.
    name = "attention_bilstm_text_classifier"
    model = rnn_zoo.build_model(name, **_tiny_overrides(name))
    path = tmp_path / "model.tflite"
    report = export_tflite(model, path, verification_data=_rows_with_padding_anywhere(model, rng))
    assert report.runtimes_verified == ["interpreter", "compiled_model"]
    assert report.compiled_model_max_abs_diff <= 1e-5

    batches = _attention_rows(rng)
    interpreter = verify.load_interpreter(path)
    for batch in batches:
        expected = verify.predict_rows(interpreter, "token_ids", batch)["classifier"]
        np.testing.assert_allclose(np.asarray(model(batch, training=False)), expected,
                                   atol=1e-5)
        for reuse in (False, True):
            got = verify.compiled_model_predict(path, batch, reuse=reuse)["classifier"]
            np.testing.assert_allclose(got, expected, atol=1e-5,
                                       err_msg=f"length {batch.shape[1]}, reuse={reuse}")

    rows_path = tmp_path / "rows.npz"
    np.savez(rows_path, *batches)
    root = Path(__file__).resolve().parent.parent
    for perturb in ("0", "85", "170", "255"):
        env = dict(os.environ, PYTHONPATH=str(root), MALLOC_PERTURB_=perturb,
                   TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run([sys.executable, "-c", _COMPILED_VS_INTERPRETER, str(path),
                                 str(rows_path)], capture_output=True, text=True, env=env,
                                timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        worst = float(result.stdout.split()[-1])
        assert worst <= 1e-5, f"MALLOC_PERTURB_={perturb}: CompiledModel differs by {worst}"


def test_bidirectional_simple_rnn_tagger_matches_keras(tmp_path, rng):
    model = rnn_zoo.build_sequence_tagger(vocab_size=VOCAB, num_tags=3, cell="simple_rnn",
                                          bidirectional=True, embedding_dim=4, **TINY)
    data = _rows_with_padding_anywhere(model, rng)
    report = export_tflite(model, tmp_path / "model.tflite", verification_data=data)
    assert report.max_abs_diff <= 1e-5
    # The backward loop reads the real steps alone (picked by WHERE + GATHER),
    # reversed whole: no REVERSE_SEQUENCE over the padded row.
    assert "WHILE" in report.ops and "REVERSE_V2" in report.ops


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_padded_input_predicts_like_keras_on_unpadded(cell, tmp_path, rng):
    classifier = rnn_zoo.build_text_classifier(vocab_size=VOCAB, cell=cell,
                                               bidirectional=True, embedding_dim=4, **TINY)
    tagger = rnn_zoo.build_sequence_tagger(vocab_size=VOCAB, num_tags=3, cell=cell,
                                           embedding_dim=4, **TINY)
    tokens = rng.integers(2, VOCAB, size=5).astype("int32")
    padded = np.array([[0, 0, *tokens[:3], 0, *tokens[3:], 0]], dtype="int32")
    real = padded[0] != 0
    for index, model in enumerate((classifier, tagger)):
        path = tmp_path / f"model_{index}.tflite"
        export_tflite(model, path, verification_data=tokens[np.newaxis])
        interpreter = verify.load_interpreter(path)
        got = verify.run_signature(interpreter, {"token_ids": padded})
        (value,) = got.values()
        expected = np.asarray(model(tokens[np.newaxis], training=False))
        if value.ndim == 3:
            value = value[:, real]
        np.testing.assert_allclose(value, expected, atol=1e-5)


def _while_bodies(path):
    """Op names of each `WHILE` loop body in a `.tflite` file."""
    from tensorflow.lite.python import schema_py_generated as schema

    with open(path, "rb") as stream:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(stream.read(), 0))
    names = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}

    def op_name(op):
        code = model.operatorCodes[op.opcodeIndex]
        return names[max(code.builtinCode, code.deprecatedBuiltinCode)]

    loops = [op for subgraph in model.subgraphs for op in subgraph.operators
             if op_name(op) == "WHILE"]
    return [[op_name(body_op)
             for body_op in model.subgraphs[loop.builtinOptions.bodySubgraphIndex].operators]
            for loop in loops]


def test_gru_and_simple_rnn_loops_keep_static_shapes_and_match_keras(tmp_path, rng):
    # Every GRU / SimpleRNN variant the exporter accepts, stacked: the
    # WHILE body must hold only ops whose output shape follows from the
    # loop inputs' shapes (SLICE / STRIDED_SLICE / CONCATENATION at the step
    # index made TFLite reallocate the body every step, 3-9x slower than
    # Keras's own export) and the input projection must sit before the loop.
    inputs = keras.Input(shape=(None, 3), name="features")
    x = rnn_zoo.layers.RightAlignPadding()(inputs)
    x = keras.layers.Masking()(x)
    x = keras.layers.GRU(5, reset_after=False, return_sequences=True)(x)
    x = keras.layers.GRU(4, use_bias=False, return_sequences=True)(x)
    x = keras.layers.SimpleRNN(4, activation="relu", return_sequences=True)(x)
    x = keras.layers.SimpleRNN(5, go_backwards=True)(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    data = _rows_with_padding_anywhere(model, rng)
    path = tmp_path / "model.tflite"
    report = export_tflite(model, path, verification_data=data)
    assert report.max_abs_diff <= 1e-5, report
    assert not verify.flex_ops(report.ops)

    bodies = _while_bodies(path)
    assert [body.count("FULLY_CONNECTED") for body in bodies] == [2, 1, 1, 1]
    assert [body.count("DYNAMIC_UPDATE_SLICE") for body in bodies] == [1, 1, 1, 0]
    for body in bodies:
        assert not {"SLICE", "STRIDED_SLICE", "CONCATENATION", "RESHAPE"} & set(body), body

    # One interpreter, unpadded rows of changing lengths: the loop's
    # buffers follow each new input shape.
    interpreter = verify.load_interpreter(path)
    for steps in (MAX_STEPS, 2, 1, MAX_STEPS - 1):
        row = rng.normal(size=(1, steps, 3)).astype("float32")
        got = verify.run_signature(interpreter, {"features": row})
        (value,) = got.values()
        np.testing.assert_allclose(value, np.asarray(model(row)), atol=1e-5)


def test_hostile_ids_read_as_oov_inside_the_graph(tmp_path):
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=4, **TINY)
    path = tmp_path / "model.tflite"
    report = export_tflite(model, path)
    # Checked on the shared verification rows (full, right- and left-padded).
    assert report.num_verification_samples == len(parity.verification_inputs(model))
    assert report.max_abs_diff <= 1e-5, report
    interpreter = verify.load_interpreter(path)
    hostile = np.array([[5, VOCAB, -3, 2**31 - 1, 7]], dtype="int32")
    as_oov = np.array([[5, 1, 1, 1, 7]], dtype="int32")
    got = verify.run_signature(interpreter, {"token_ids": hostile})["classifier"]
    expected = np.asarray(model(as_oov, training=False))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_repeated_calls_are_stateless(tmp_path, rng):
    # The fused LSTM keeps h/c in variable tensors across invokes
    # (tensorflow/tensorflow#47813); the export's reset step must undo that.
    model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, **TINY)
    path = tmp_path / "model.tflite"
    export_tflite(model, path, lstm_kernel="fused")
    interpreter = verify.load_interpreter(path)
    first = rng.normal(size=(1, 6, 3)).astype("float32") * 5
    second = rng.normal(size=(1, 6, 3)).astype("float32")
    verify.run_signature(interpreter, {"features": first})
    got = verify.run_signature(interpreter, {"features": second})["classifier"]
    np.testing.assert_allclose(got, np.asarray(model(second)), atol=1e-5)


def test_fused_lstm_runs_only_the_real_steps(tmp_path, rng):
    # A row padded to a fixed length must cost only its real steps: the
    # fused kernel's output holds the reset step plus the 4 real steps.
    model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, **TINY)
    path = tmp_path / "model.tflite"
    export_tflite(model, path, lstm_kernel="fused")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    row = np.zeros((1, 9, 3), "float32")
    row[0, 2:6] = rng.normal(size=(4, 3))
    got = verify.run_signature(interpreter, {"features": row})["classifier"]
    np.testing.assert_allclose(got, np.asarray(model(row[:, 2:6])), atol=1e-5)
    (lstm,) = [op for op in interpreter._get_ops_details() if op["op_name"] == FUSED_LSTM]
    assert interpreter.get_tensor(lstm["outputs"][0]).shape == (1, 1 + 4, 5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fixed_batch_runs_rows_with_their_own_padding(cell, tmp_path, rng):
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, cell=cell, bidirectional=True,
                                          embedding_dim=4, **TINY)
    data = _rows_with_padding_anywhere(model, rng, rows=4)
    report = export_tflite(model, tmp_path / "model.tflite", batch_size=2,
                           verification_data=data)
    assert report.inputs[0]["shape"] == [2, -1]
    assert report.max_abs_diff <= 1e-5
    assert "WHILE" in report.ops and FUSED_LSTM not in report.ops


# Documented tolerances for quantized files (max |TFLite - Keras| on the
# softmax outputs). Top-1 agreement is reported but not asserted here: an
# untrained model's classes are nearly tied, so tiny errors flip the argmax.
QUANTIZED_TOLERANCE = {"float16": 1e-3, "dynamic_int8": 5e-3, "int8": 5e-2}


@pytest.mark.parametrize("quantization", sorted(QUANTIZED_TOLERANCE))
def test_quantized_export_stays_close_and_shrinks(quantization, tmp_path, rng):
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=32, units=64,
                                          num_classes=3, compile_model=False)
    data = _rows_with_padding_anywhere(model, rng, rows=12)
    float_report = export_tflite(model, tmp_path / "float.tflite", verification_data=data)
    report = export_tflite(model, tmp_path / f"{quantization}.tflite",
                           quantization=quantization, representative_data=data,
                           verification_data=data)
    assert report.quantization == quantization
    assert report.max_abs_diff <= QUANTIZED_TOLERANCE[quantization], report
    assert 0.0 <= report.top1_agreement <= 1.0
    assert report.size_bytes <= 0.6 * float_report.size_bytes
    assert report.low_precision_tensors > 0
    assert report.inputs[0]["dtype"] == "int32"
    assert not verify.flex_ops(report.ops)
    # Quantized files load and run in LiteRT's CompiledModel too.
    assert report.runtimes_verified == ["interpreter", "compiled_model"]
    assert report.compiled_model_max_abs_diff <= QUANTIZED_TOLERANCE[quantization]


def test_dynamic_int8_that_quantizes_nothing_says_so(tmp_path):
    # 12 features x 32 units: every weight matrix is under the converter's
    # 1024-element threshold, so the "quantized" file is the float32 one.
    # The fused LSTM is quantized only when every per-gate matrix passes it.
    model = rnn_zoo.build_sequence_classifier(12, 4, units=32, compile_model=False)
    with pytest.warns(UserWarning, match="left every weight in float32"):
        report = export_tflite(model, tmp_path / "small.tflite", quantization="dynamic_int8",
                               lstm_kernel="fused")
    assert report.low_precision_tensors == 0
    assert report.max_abs_diff <= 1e-5


@pytest.mark.parametrize("factory,extra", [
    ("build_text_classifier", {}), ("build_text_classifier", {"bidirectional": True}),
    ("build_sequence_tagger", {"bidirectional": True, "num_tags": 3}),
])
def test_lstm_as_a_loop_matches_keras_without_the_fused_op(factory, extra, tmp_path, rng):
    model = getattr(rnn_zoo, factory)(vocab_size=VOCAB, embedding_dim=4, units=6,
                                      compile_model=False, **extra)
    data = _rows_with_padding_anywhere(model, rng)
    report = export_tflite(model, tmp_path / "loop.tflite", verification_data=data,
                           lstm_kernel="loop")
    assert report.max_abs_diff <= 1e-5, report
    assert report.lstm_kernel == "loop"
    assert "WHILE" in report.ops and FUSED_LSTM not in report.ops
    assert not verify.flex_ops(report.ops)


@pytest.mark.parametrize("extra", [{}, {"bidirectional": True}])
def test_fused_lstm_on_request_matches_keras_but_not_in_compiled_model(extra, tmp_path, rng):
    # The fused kernel stays available for delegates that accelerate it; LiteRT
    # 2.3's CompiledModel refuses its variable tensors, so it is checked in the
    # Interpreter only, and CompiledModel's refusal is a clear error.
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=4, units=6,
                                          compile_model=False, **extra)
    data = _rows_with_padding_anywhere(model, rng)
    path = tmp_path / "fused.tflite"
    report = export_tflite(model, path, verification_data=data, lstm_kernel="fused")
    assert report.max_abs_diff <= 1e-5, report
    assert report.lstm_kernel == "fused" and FUSED_LSTM in report.ops
    assert report.runtimes_verified == ["interpreter"]
    with pytest.raises(RuntimeError, match="does not load in LiteRT's CompiledModel"):
        verify.compiled_model_predict(path, data[:1])


def test_bad_lstm_kernel_is_refused_before_anything_is_written(tmp_path):
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, units=4, compile_model=False)
    with pytest.raises(ValueError, match="lstm_kernel.*'loop', 'fused'"):
        export_tflite(model, tmp_path / "model.tflite", lstm_kernel="unrolled")
    assert not (tmp_path / "model.tflite").exists()


def test_the_file_is_written_through_the_atomic_seam(tmp_path, monkeypatch):
    # rnn_zoo.atomic is the one writer: a failure at its rename leaves neither
    # a model.tflite nor a temporary file behind.
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=4, **TINY)
    replaced = []

    def fail(source, destination):
        replaced.append(destination)
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "_replace", fail)
    with pytest.raises(OSError, match="disk full"):
        export_tflite(model, tmp_path / "model.tflite")
    assert replaced == [str(tmp_path / "model.tflite")]
    assert list(tmp_path.iterdir()) == []


def test_unsupported_layer_is_named(tmp_path):
    inputs = keras.Input(shape=(None, 3), name="features")
    x = keras.layers.Conv1D(4, 2, name="my_conv")(inputs)
    outputs = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match=r"my_conv.*Supported layers: InputLayer, "):
        export_tflite(model, tmp_path / "model.tflite")
    assert not (tmp_path / "model.tflite").exists()


def test_flex_ops_fail_loudly_with_their_names():
    @tf.function(input_signature=[tf.TensorSpec([1, None], tf.string)], autograph=False)
    def string_lengths(text):
        return {"lengths": tf.strings.length(text)}

    with pytest.raises(ValueError, match="StringLength"):
        convert_functions({"serving_default": string_lengths})


def test_bad_quantization_is_refused(tmp_path):
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=4, **TINY)
    with pytest.raises(ValueError, match="quantization"):
        export_tflite(model, tmp_path / "model.tflite", quantization="int4")
