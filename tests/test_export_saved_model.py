"""SavedModel export: signatures checked in a fresh process, and export from any backend.

The fresh-process test is TensorFlow-only (unmarked): a SavedModel is a TF
artifact, and the any-backend test below covers jax and torch models.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.export import export_model
from rnn_zoo.export import export_saved_model
from rnn_zoo.export import load_exported
from rnn_zoo.text import TextVectorizer

VOCABULARY = [f"w{index}" for index in range(48)]  # ids 2..49, vocab_size 50

# Runs in a new interpreter: nothing of the exporting process (registered ops,
# Keras objects) is available, exactly like a server loading the files.
_FRESH_PROCESS_SCRIPT = """
import sys, json
import numpy as np
import tensorflow as tf
import tensorflow_text  # the text signature's ops (NormalizeUTF8, ...) live here
text_dir, features_dir, out = sys.argv[1:4]
arrays = np.load(out + ".in.npz")
text_model = tf.saved_model.load(text_dir)
features_model = tf.saved_model.load(features_dir)
ids = tf.constant(arrays["ids"])
features = tf.constant(arrays["features"])
result = {"signatures": sorted(text_model.signatures)}
for name in ("serving_default", "token_ids", "ids"):
    result[name] = text_model.signatures[name](token_ids=ids)["probabilities"].numpy()
for name in ("serving_default", "features"):
    outputs = features_model.signatures[name](features=features)
    result["features_" + name] = outputs["probabilities"].numpy()
texts = tf.constant([str(t) for t in arrays["texts"]])
text = text_model.signatures["text"](text=texts)
result["text"] = text["probabilities"].numpy()
result["text_ids"] = text["token_ids"].numpy()
signatures = result.pop("signatures")
np.savez(out, **result)
print(json.dumps(signatures))
"""


def test_saved_model_reloaded_in_fresh_process_matches_keras(tmp_path):
    vectorizer = TextVectorizer(vocabulary=VOCABULARY)
    text_model = rnn_zoo.build_text_classifier(vocab_size=50, units=4, embedding_dim=4,
                                               compile_model=False)
    features_model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=3, units=4,
                                                       cell="gru", compile_model=False)
    text_export = export_saved_model(text_model, tmp_path / "text", vectorizer=vectorizer,
                                     labels=["negative", "positive"])
    features_export = export_saved_model(features_model, tmp_path / "features")

    manifest = json.loads((tmp_path / "text" / "manifest.json").read_text())
    assert manifest["serving"]["requires_imports"] == ["tensorflow_text"]
    assert "import tensorflow_text" in manifest["serving"]["load_note"]
    assert features_export.serving["requires_imports"] == []
    assert text_export.signatures == ["serving_default", "token_ids", "ids", "text"]
    assert features_export.signatures == ["serving_default", "features"]
    # `ids` is the deprecated alias of `token_ids`, and the manifest says so.
    assert "deprecated" in manifest["serving"]["signatures"]["ids"]
    assert "deprecated" not in manifest["serving"]["signatures"]["token_ids"]
    # One name for the vocabulary size, also in the text part of the manifest.
    assert manifest["serving"]["text"]["vocab_size"] == 50
    assert "vocabulary_size" not in manifest["serving"]["text"]
    assert (tmp_path / "text" / "vocab.txt").read_text().split() == VOCABULARY
    assert (tmp_path / "text" / "labels.txt").read_text().split() == ["negative", "positive"]

    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, size=(3, 7)).astype("int32")
    ids[1, 4:] = 0
    ids[2, :5] = 0  # left padding
    features = rng.normal(size=(2, 6, 3)).astype("float32")
    features[1, 3:] = 0.0
    texts = ["w1 w7 w30", "W2, w5 never-seen", "w47"]
    out = str(tmp_path / "fresh")
    np.savez(out + ".in.npz", ids=ids, features=features, texts=np.array(texts))
    completed = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS_SCRIPT, str(tmp_path / "text"),
         str(tmp_path / "features"), out],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert completed.returncode == 0, completed.stderr[-2000:]
    signatures = json.loads(completed.stdout.strip().splitlines()[-1])
    assert signatures == ["ids", "serving_default", "text", "token_ids"]
    fresh = np.load(out + ".npz")

    expected_ids = text_model.predict(ids, verbose=0)
    for name in ("serving_default", "token_ids", "ids"):
        np.testing.assert_allclose(fresh[name], expected_ids, atol=1e-5, rtol=0)
    expected_features = features_model.predict(features, verbose=0)
    for name in ("serving_default", "features"):
        np.testing.assert_allclose(fresh["features_" + name], expected_features,
                                   atol=1e-5, rtol=0)
    # Tokenisation inside the graph gives the training ids (OOV -> 1, punctuation split).
    training_ids = vectorizer(texts)
    np.testing.assert_array_equal(fresh["text_ids"], training_ids)
    assert 1 in training_ids[1]
    np.testing.assert_allclose(fresh["text"], text_model.predict(training_ids, verbose=0),
                               atol=1e-5, rtol=0)


@pytest.mark.multi_backend
def test_export_from_any_backend_matches_the_trained_backend(tmp_path, backend):
    # On jax and torch the export runs in a TensorFlow-backend subprocess; the
    # parity figures and the predictions are compared with *this* backend.
    vectorizer = TextVectorizer(vocabulary=VOCABULARY)
    model = rnn_zoo.build_text_classifier(vocab_size=50, units=4, embedding_dim=4,
                                          compile_model=False)
    result = export_model(model, name="clf", export_root=tmp_path, vectorizer=vectorizer,
                          labels=["negative", "positive"])

    assert result.version == 1
    assert result.path == os.path.join(str(tmp_path), "clf", "1")
    for name in ("saved_model.pb", "variables/variables.index", "model.tflite",
                 "manifest.json", "vocab.txt", "text_vectorizer.json", "labels.txt"):
        assert name in result.files, name
    manifest = json.loads((tmp_path / "clf" / "1" / "manifest.json").read_text())
    assert manifest["trained_backend"] == backend
    assert manifest["parity"]["reference_backend"] == backend
    assert manifest["versions"]["keras"] == keras.__version__
    assert manifest["serving"]["vocab_size"] == 50
    assert "WHILE" in manifest["tflite"]["ops"]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in manifest["tflite"]["ops"]
    assert manifest["artifacts"] == {"model.tflite": {
        "target": "litert", "max_length": None, "batch_size": 1,
        "runtimes_verified": ["interpreter", "compiled_model"]}}
    assert manifest["files"]["model.tflite"] == manifest["tflite"]["size_bytes"] > 0
    for key in ("saved_model_max_abs_diff", "saved_model_text_max_abs_diff",
                "tflite_max_abs_diff", "tflite_text_max_abs_diff"):
        assert manifest["parity"][key] <= 1e-5, (key, manifest["parity"][key])
    assert manifest["parity"]["text_ids_match"] is True

    # A refusal in the TensorFlow child comes back as the same ValueError.
    with pytest.raises(ValueError, match="Expected 2 labels"):
        export_saved_model(model, tmp_path / "refused", vectorizer=vectorizer, labels=["one"])

    texts = ["w3 w4 w5 w6", "w10 unknown"]
    expected = model.predict(vectorizer(texts), verbose=0)
    ids = np.array([[5, 9, 2, 0], [0, 0, 7, 8]], dtype="int32")
    for prefer in ("saved_model", "tflite"):
        predictor = load_exported(result.path, prefer=prefer)
        assert predictor.kind == prefer
        assert predictor.labels == ["negative", "positive"]
        np.testing.assert_allclose(predictor.predict(texts), expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(predictor.predict(ids), model.predict(ids, verbose=0),
                                   atol=1e-5, rtol=0)
