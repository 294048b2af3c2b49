"""Streaming TFLite export: step by step equals the whole sequence in Keras.

TF-backend only (unmarked): the TFLite converter needs TensorFlow.
"""

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.export import parity
from rnn_zoo.export import verify
from rnn_zoo.export.streaming import export_streaming_tflite
from rnn_zoo.export.streaming import run_stream

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TFLite conversion needs the TensorFlow backend",
)

TINY = {"units": 5, "compile_model": False}


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_stacked_classifier_streams_like_the_whole_sequence(cell, tmp_path, rng):
    model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=3, cell=cell,
                                              depth=2, **TINY)
    data = rng.normal(size=(3, 7, 3)).astype("float32")
    data[1, 4:] = 0.0  # padding steps keep the state
    data[2, 2] = 0.0  # a padding step in the middle, too
    report = export_streaming_tflite(model, tmp_path / "step.tflite", verification_data=data)
    assert report.max_abs_diff <= 1e-5, report
    assert "WHILE" not in report.ops and not verify.flex_ops(report.ops)
    # The step file runs in LiteRT's CompiledModel with the same outputs.
    assert report.runtimes_verified == ["interpreter", "compiled_model"]
    assert report.compiled_model_max_abs_diff <= 1e-5
    expected_states = 4 if cell == "lstm" else 2
    assert len(report.state_names) == expected_states


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_tagger_streams_every_step(cell, tmp_path, rng):
    model = rnn_zoo.build_sequence_tagger(vocab_size=30, num_tags=4, cell=cell,
                                          embedding_dim=4, **TINY)
    data = rng.integers(1, 30, size=(2, 6)).astype("int32")
    data[1, 4:] = 0
    path = tmp_path / "step.tflite"
    report = export_streaming_tflite(model, path, verification_data=data)
    assert report.max_abs_diff <= 1e-5, report
    # Independent check through the public runner: per-step tags.
    streamed = run_stream(verify.load_interpreter(path), report, data[0])
    expected = np.asarray(model(data[:1], training=False))[0]
    np.testing.assert_allclose(streamed["restore_order"], expected, atol=1e-5)
    compiled = run_stream(verify.CompiledRunner(path, "step"), report, data[0])
    np.testing.assert_allclose(compiled["restore_order"], expected, atol=1e-5)


@pytest.mark.parametrize("factory", ["build_text_classifier", "build_language_model"])
def test_default_verification_rows_pad_both_ends(factory, tmp_path):
    # The shared verification rows (rnn_zoo.export.parity) hold left-padded
    # rows too: leading padding steps must leave the zero states alone.
    model = getattr(rnn_zoo, factory)(vocab_size=30, embedding_dim=4, **TINY)
    rows = parity.verification_inputs(model)
    assert (rows[1, 0] == 0) and (rows[1, -1] != 0) and (rows[2, -1] == 0)
    report = export_streaming_tflite(model, tmp_path / "step.tflite")
    assert report.max_abs_diff <= 1e-5, report


def test_int8_is_refused_for_streaming(tmp_path):
    model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, **TINY)
    with pytest.raises(ValueError, match="quantization"):
        export_streaming_tflite(model, tmp_path / "step.tflite", quantization="int8")
    assert not (tmp_path / "step.tflite").exists()


def test_bidirectional_model_refuses_to_stream(tmp_path):
    model = rnn_zoo.build_text_classifier(vocab_size=30, bidirectional=True,
                                          embedding_dim=4, **TINY)
    with pytest.raises(ValueError, match="bidirectional"):
        export_streaming_tflite(model, tmp_path / "step.tflite")


def test_attention_pooling_refuses_to_stream(tmp_path):
    model = rnn_zoo.build_text_classifier(vocab_size=30, pooling="attention",
                                          embedding_dim=4, **TINY)
    with pytest.raises(ValueError, match="pooling='last'"):
        export_streaming_tflite(model, tmp_path / "step.tflite")
