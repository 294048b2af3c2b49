"""Hostile input to exported `.tflite` files run directly (no predictor, no manifest).

Every file must answer the same for the same input whatever ran before (NaN,
inf and huge inputs included), a batch-1 file must refuse more rows instead of
answering for the first one, and out-of-range ids (int32 extremes, negative
ids) read as OOV inside the graph.

TF-backend only (unmarked): the TFLite converter needs TensorFlow.
"""

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.export import fused
from rnn_zoo.export import verify
from rnn_zoo.export.streaming import export_streaming_tflite
from rnn_zoo.export.streaming import run_stream
from rnn_zoo.export.tflite import export_tflite
from rnn_zoo.text import TextVectorizer

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TFLite conversion needs the TensorFlow backend",
)

VOCAB = 30
FEATURES = 3
TINY = {"units": 5, "compile_model": False}
HOSTILE_VALUES = [np.nan, np.inf, -np.inf, 3e38, -3e38, 1e30]

# Every cell form the litert target writes for a features model.
CELLS = {
    "lstm_loop": ({"cell": "lstm"}, {}),
    "lstm_fused": ({"cell": "lstm"}, {"lstm_kernel": "fused"}),
    "gru": ({"cell": "gru"}, {}),
    "simple_rnn": ({"cell": "simple_rnn"}, {}),
    "bidirectional_fused": ({"cell": "lstm", "bidirectional": True}, {"lstm_kernel": "fused"}),
    "bidirectional_gru": ({"cell": "gru", "bidirectional": True}, {}),
}


def _run(interpreter, features):
    return verify.run_signature(interpreter, {"features": features})["classifier"]


@pytest.fixture(scope="module", params=sorted(CELLS))
def features_file(request, tmp_path_factory):
    build, export = CELLS[request.param]
    keras.utils.set_random_seed(3)
    model = rnn_zoo.build_sequence_classifier(num_features=FEATURES, num_classes=2,
                                              **build, **TINY)
    path = tmp_path_factory.mktemp(request.param) / "model.tflite"
    export_tflite(model, path, **export)
    return request.param, model, path


def test_no_input_leaks_into_the_next_call(features_file, rng):
    name, model, path = features_file
    interpreter = verify.load_interpreter(path)
    clean = rng.normal(size=(1, 5, FEATURES)).astype("float32")
    expected = np.asarray(model(clean, training=False))
    np.testing.assert_allclose(_run(interpreter, clean), expected, atol=1e-5)
    for value in HOSTILE_VALUES:
        for step in (0, 2, 4):
            hostile = clean.copy()
            hostile[0, step, step % FEATURES] = value
            _run(interpreter, hostile)
            # Longer and shorter clean rows too: the state must not depend on
            # the previous call's length either.
            longer = rng.normal(size=(1, 7, FEATURES)).astype("float32")
            _run(interpreter, longer * 1e6)
            got = _run(interpreter, clean)
            np.testing.assert_allclose(got, expected, atol=1e-5,
                                       err_msg=f"{name}: after {value} at step {step}")


def test_a_batch_one_file_refuses_two_rows_and_still_answers_one(features_file, rng):
    name, model, path = features_file
    interpreter = verify.load_interpreter(path)
    details = verify.signature_details(interpreter)["inputs"][0]
    assert list(details["shape"])[:2] == [1, -1]
    rows = rng.normal(size=(2, 4, FEATURES)).astype("float32")
    with pytest.raises((RuntimeError, ValueError)):
        _run(interpreter, rows)
    # The refusal leaves the interpreter usable, and one row still answers.
    expected = np.asarray(model(rows[1:], training=False))
    np.testing.assert_allclose(_run(interpreter, rows[1:]), expected, atol=1e-5)


def test_the_fused_kernel_outputs_nan_for_a_row_it_cannot_take(rng):
    model = rnn_zoo.build_sequence_classifier(num_features=FEATURES, num_classes=2, **TINY)
    weights = fused.CellWeights(model.get_layer(
        next(layer.name for layer in model.layers if isinstance(layer, keras.layers.LSTM))))
    limit = fused.input_limit(weights)
    assert 1e20 < limit < 1e30
    # Far below the limit the projection can't overflow: any finite state.
    worst = np.max(np.sum(np.abs(weights.kernel), axis=0)) * limit
    assert np.isfinite(np.float32(worst))


def test_ids_outside_the_vocabulary_read_as_oov_whatever_their_size(tmp_path, rng):
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=4, **TINY)
    path = tmp_path / "model.tflite"
    export_tflite(model, path)
    interpreter = verify.load_interpreter(path)
    info = np.iinfo(np.int32)
    for hostile_id in [VOCAB, VOCAB + 1, -1, -VOCAB, info.max, info.min, info.min + 1]:
        hostile = np.array([[4, hostile_id, 7, 0]], dtype="int32")
        as_oov = np.array([[4, 1, 7, 0]], dtype="int32")
        got = verify.run_signature(interpreter, {"token_ids": hostile})["classifier"]
        np.testing.assert_allclose(got, np.asarray(model(as_oov, training=False)), atol=1e-5,
                                   err_msg=str(hostile_id))


def test_int64_ids_are_refused_by_the_file_not_wrapped(tmp_path):
    # int64 values that would wrap in int32 (2**32 + 5 -> 5) never reach the
    # graph: the interpreter refuses an input of the wrong type.
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=4, **TINY)
    path = tmp_path / "model.tflite"
    export_tflite(model, path)
    interpreter = verify.load_interpreter(path)
    wrapping = np.array([[4, 2**32 + 5, 7]], dtype="int64")
    with pytest.raises((RuntimeError, ValueError)):
        verify.run_signature(interpreter, {"token_ids": wrapping})


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_streaming_file_starts_fresh_after_hostile_steps(cell, tmp_path, rng):
    model = rnn_zoo.build_sequence_classifier(num_features=FEATURES, num_classes=2,
                                              cell=cell, **TINY)
    path = tmp_path / "step.tflite"
    report = export_streaming_tflite(model, path)
    interpreter = verify.load_interpreter(path)
    clean = rng.normal(size=(4, FEATURES)).astype("float32")
    expected = np.asarray(model(clean[np.newaxis], training=False))[0]
    first = run_stream(interpreter, report, clean)["classifier"][-1]
    np.testing.assert_allclose(first, expected, atol=1e-5)
    for value in HOSTILE_VALUES:
        hostile = clean.copy()
        hostile[1, 0] = value
        run_stream(interpreter, report, hostile)
        again = run_stream(interpreter, report, clean)["classifier"][-1]
        np.testing.assert_allclose(again, expected, atol=1e-5, err_msg=str(value))


def test_the_streaming_file_reads_hostile_ids_as_oov_and_refuses_two_rows(tmp_path):
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, embedding_dim=4, **TINY)
    path = tmp_path / "step.tflite"
    report = export_streaming_tflite(model, path)
    interpreter = verify.load_interpreter(path)
    zeros = {name: np.zeros((1, width), "float32")
             for name, width in zip(report.state_names, report.state_units)}
    expected = np.asarray(model(np.array([[1]]), training=False))
    info = np.iinfo(np.int32)
    for hostile_id in [VOCAB, -1, info.max, info.min]:
        feed = dict(zeros, token_id=np.array([hostile_id], "int32"))
        got = verify.run_signature(interpreter, feed, "step")["classifier"]
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=str(hostile_id))
    with pytest.raises((RuntimeError, ValueError)):
        verify.run_signature(interpreter, dict(zeros, token_id=np.array([3, 4], "int32")),
                             "step")


def test_the_fixed_length_mediapipe_file_refuses_two_rows(tmp_path):
    vectorizer = TextVectorizer(vocabulary=["good", "bad"], tokenizer="mediapipe")
    model = rnn_zoo.build_text_classifier(vocab_size=vectorizer.vocab_size, embedding_dim=4,
                                          **TINY)
    path = tmp_path / "mediapipe.tflite"
    export_tflite(model, path, target="mediapipe", max_length=6, vectorizer=vectorizer,
                  labels=["negative", "positive"])
    interpreter = verify.load_interpreter(path)
    rows = np.array([[2, 3, 0, 0, 0, 0], [3, 3, 3, 0, 0, 0]], "int32")
    with pytest.raises((RuntimeError, ValueError)):
        verify.run_signature(interpreter, {"token_ids": rows})
    got = verify.run_signature(interpreter, {"token_ids": rows[1:]})["classifier"]
    np.testing.assert_allclose(got, np.asarray(model(rows[1:], training=False)), atol=1e-5)
