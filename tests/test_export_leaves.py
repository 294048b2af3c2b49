"""The export package's shared leaves: each rule lives in one module, imported from there.

* verification data, reference outputs, comparison: `rnn_zoo.export.parity`;
* names of files and signatures, the serving spec: `rnn_zoo.export.serving`;
* the layers the TFLite exports can rebuild: `rnn_zoo.export.supported`;
* result types: `rnn_zoo.export.results`;
* quantizations and LSTM kernels: `rnn_zoo.tasks`.

TensorFlow backend only (unmarked): nothing here depends on the backend, and
the any-backend export is covered in test_export_saved_model.py.
"""

import json

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo import tasks
from rnn_zoo.export import manifest
from rnn_zoo.export import parity
from rnn_zoo.export import results
from rnn_zoo.export import serving
from rnn_zoo.export import streaming
from rnn_zoo.export import supported
from rnn_zoo.export import tflite
from rnn_zoo.text import TextVectorizer


def test_verification_inputs_pad_every_way_an_app_pads():
    model = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4,
                                          compile_model=False)
    rows = parity.verification_inputs(model, rows=4, steps=6)
    assert rows.dtype == np.int32 and rows.shape == (4, 6)
    lengths = np.count_nonzero(rows, axis=1)
    assert lengths.tolist() == [6, 4, 2, 1]  # from full down to one step
    assert rows[1, :2].tolist() == [0, 0] and rows[1, -1] != 0  # left padded
    assert rows[2, -1] == 0 and rows[2, 0] != 0  # right padded
    assert rows.max() < 20 and rows[rows != 0].min() >= serving.OOV_ID
    np.testing.assert_array_equal(rows, parity.verification_inputs(model, rows=4, steps=6))

    numeric = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, units=4,
                                                compile_model=False)
    features = parity.verification_inputs(numeric, rows=3, steps=5)
    assert features.dtype == np.float32 and features.shape == (3, 5, 3)
    assert np.all(features[1, :2] == parity.padding_value(numeric))


def test_reference_is_the_models_own_output_on_the_shared_rows():
    model = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4,
                                          compile_model=False)
    vectorizer = TextVectorizer(vocabulary=[f"w{index}" for index in range(18)])
    reference = parity.make_reference(model, vectorizer)
    assert reference["backend"] == keras.backend.backend()
    np.testing.assert_array_equal(reference["inputs"], parity.verification_inputs(model))
    np.testing.assert_allclose(reference["outputs"],
                               model.predict(reference["inputs"], verbose=0), atol=1e-6)
    assert all(text.endswith("zzqxunknownword") for text in reference["texts"])
    np.testing.assert_array_equal(reference["text_ids"], vectorizer(reference["texts"]))
    # The default rows never exceed max_length.
    short = parity.make_reference(model, serving=serving.serving_spec(model, max_length=5))
    assert short["inputs"].shape[1] == 5
    with pytest.raises(ValueError, match="verification_data"):
        parity.make_reference(model, verification_data=np.ones((2, 9), "int32"),
                              serving=serving.serving_spec(model, max_length=5))


def test_comparison_and_parity_check():
    assert parity.max_abs_diff([[0.25, 0.75]], [[0.5, 0.5]]) == 0.25
    with pytest.raises(ValueError, match="shape"):
        parity.max_abs_diff(np.zeros((2, 3)), np.zeros((2, 2)))
    parity.check_parity({"saved_model_max_abs_diff": 1e-6}, 1e-5, where="w")
    with pytest.raises(ValueError, match=r"export_model\('m'\): tflite_max_abs_diff=0\.1"):
        parity.check_parity({"tflite_max_abs_diff": 0.1}, 1e-5, where="export_model('m')")
    with pytest.raises(ValueError, match="different token ids"):
        parity.check_parity({"text_ids_match": False}, 1e-5, where="w")


def test_serving_spec_names_the_token_ids_signature_and_its_deprecated_alias():
    model = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4,
                                          compile_model=False)
    spec = serving.serving_spec(model, TextVectorizer(vocabulary=["a", "b"]))
    assert list(spec["signatures"]) == ["serving_default", "token_ids", "ids", "text"]
    assert spec["signatures"]["ids"]["inputs"] == spec["signatures"]["token_ids"]["inputs"]
    assert "use `token_ids`" in spec["signatures"]["ids"]["deprecated"]
    assert spec["vocab_size"] == 20 and spec["text"]["vocab_size"] == 4
    assert "vocabulary_size" not in spec["text"]
    numeric = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, units=4,
                                                compile_model=False)
    assert list(serving.serving_spec(numeric)["signatures"]) == ["serving_default", "features"]


def test_old_manifest_key_vocabulary_size_reads_as_vocab_size(tmp_path):
    old = {"format_version": manifest.MANIFEST_FORMAT_VERSION,
           "serving": {"vocab_size": 50, "text": {"vocabulary_size": 50, "max_length": 8}}}
    (tmp_path / manifest.MANIFEST_FILE).write_text(json.dumps(old))
    text = manifest.read_manifest(tmp_path)["serving"]["text"]
    assert text == {"vocab_size": 50, "max_length": 8}
    # Written back, only the one name remains.
    manifest.write_manifest(tmp_path, manifest.read_manifest(tmp_path))
    assert "vocabulary_size" not in (tmp_path / manifest.MANIFEST_FILE).read_text()


def test_one_table_of_supported_layers():
    from rnn_zoo import heads
    from rnn_zoo import layers as zoo_layers

    cases = [
        (keras.layers.InputLayer(shape=(3,)), supported.INPUT),
        (zoo_layers.RightAlignPadding(), supported.RIGHT_ALIGN),
        (zoo_layers.RestoreOrder(), supported.RESTORE_ORDER),
        (keras.layers.Embedding(5, 2), supported.EMBEDDING),
        (keras.layers.Masking(), supported.MASKING),
        (keras.layers.Bidirectional(keras.layers.GRU(2)), supported.BIDIRECTIONAL),
        (keras.layers.LSTM(2), supported.RECURRENT),
        (keras.layers.SimpleRNN(2), supported.RECURRENT),
        (heads.MaskedPooling(mode="mean"), supported.MASKED_POOLING),
        (heads.AttentionPooling(), supported.ATTENTION_POOLING),
        (keras.layers.Dense(2), supported.DENSE),
        (keras.layers.Dropout(0.5), supported.IDENTITY),
        (keras.layers.Conv1D(2, 2), None),
    ]
    for layer, kind in cases:
        assert supported.layer_kind(layer) == kind, layer
    assert set(supported.STREAMING_REFUSALS) == {
        supported.BIDIRECTIONAL, supported.MASKED_POOLING, supported.ATTENTION_POOLING}
    assert "LSTM, GRU, SimpleRNN" in supported.supported_layer_names()


def test_shared_choices_come_from_the_task_registry():
    assert tflite.QUANTIZATIONS is tasks.QUANTIZATIONS
    assert tflite.LSTM_KERNELS is tasks.LSTM_KERNELS
    assert streaming.STREAMING_QUANTIZATIONS == tuple(
        mode for mode in tasks.QUANTIZATIONS if mode != "int8")


def test_tflite_write_atomically_is_the_atomic_writer(tmp_path):
    path = tflite.write_atomically(tmp_path / "blob.tflite", b"\x00\x01")
    assert path == str(tmp_path / "blob.tflite")
    assert (tmp_path / "blob.tflite").read_bytes() == b"\x00\x01"
    assert [entry.name for entry in tmp_path.iterdir()] == ["blob.tflite"]


def test_public_names_of_rnn_zoo_export():
    export = rnn_zoo.export
    assert export.export_streaming_tflite is streaming.export_streaming_tflite
    assert export.export_tflite is tflite.export_tflite
    for name in ("ExportResult", "TFLiteReport", "StreamingReport", "SavedModelExport",
                 "VersionExistsError"):
        assert getattr(export, name) is getattr(results, name)
    for name in ("export_model", "export_saved_model", "load_exported", "ExportedModel",
                 "list_versions", "read_manifest"):
        assert callable(getattr(export, name)), name
    assert callable(export.ExportedModel.predict_batch)
