"""The mediapipe target in the real MediaPipe Tasks runtime.

MediaPipe's `TextClassifier` (mediapipe 1.2.3 from PyPI: the same C++ graph as
on Android, iOS and web) loads `mediapipe.tflite` with nothing beside it,
tokenises raw text with the RegexTokenizer in the file's metadata, and must
score exactly like `rnn_zoo.export.load_exported(version).predict(texts)`.

TF-backend only (unmarked): the TFLite converter needs TensorFlow.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from mediapipe.tasks.python.core.base_options import BaseOptions
from mediapipe.tasks.python.text import text_classifier

import rnn_zoo
from rnn_zoo import cli
from rnn_zoo.bundle import Bundle
from rnn_zoo.bundle import prepare
from rnn_zoo.data.readers import TextClassificationData
from rnn_zoo.export import converter
from rnn_zoo.export import export_model
from rnn_zoo.export import load_exported
from rnn_zoo.export.converter import convert_functions
from rnn_zoo.export.tflite import export_tflite
from rnn_zoo.text import TextVectorizer
from rnn_zoo.text import mediapipe_tokenize

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TFLite conversion needs the TensorFlow backend",
)

MAX_LENGTH = 8
ONE_MEGABYTE = ("Good movie, isn't it? " * 48000)[: 1024 * 1024]
# Everything the phone's tokenizer must agree on.
HOSTILE = [
    "Good movie", "good MOVIE Good", "isn't bad, don't", "'quoted' words' end'",
    "it’s typographic", "Café naïve Straße", "emoji 😀😀 good 👍🏽", "digits 42 4x4 x_y __",
    "punctuation!!!good???bad...", "tabs\tand\nnewlines\r\nok", "  ,;:!?  ",
    "", "\x00 after a nul", "good\x00 hidden after nul", "中文 日本語 good", "a " * 40,
    "x" * 300, "Ĳ ﬁ ｆｕｌｌ", ONE_MEGABYTE,
]
TRAIN_TEXTS = [
    "Good movie", "good film isn't bad", "bad movie", "Bad film, don't go",
    "great acting 42", "awful plot", "it's good", "it's bad", "x_y good", "caf bad",
]
TRAIN_LABELS = np.array([1, 1, 0, 0, 1, 0, 1, 0, 1, 0], "int32")


def _classify(path, texts):
    options = text_classifier.TextClassifierOptions(
        base_options=BaseOptions(model_asset_path=os.fspath(path)), max_results=-1)
    rows = []
    with text_classifier.TextClassifier.create_from_options(options) as classifier:
        for text in texts:
            categories = classifier.classify(text).classifications[0].categories
            scores = {category.index: category.score for category in categories}
            rows.append([scores.get(index, 0.0) for index in range(len(scores))])
    return np.asarray(rows, "float32")


def _vectorizer():
    vectorizer = TextVectorizer(tokenizer="mediapipe")
    vectorizer.adapt(TRAIN_TEXTS + ["Good", "GOOD", "caf", "x", "4x4", "it's"])
    return vectorizer


def test_tokenizer_ids_equal_mediapipe_regex_tokenizer_ids(tmp_path):
    # A model that returns its input ids as "scores": MediaPipe then reports
    # the exact ids its RegexTokenizer produced, one category per position.
    vectorizer = _vectorizer()

    @tf.function(input_signature=[tf.TensorSpec([1, MAX_LENGTH], tf.int32, name="ids")])
    def echo(ids):
        return {"scores": tf.cast(ids, tf.float32) + 0.0}

    content = converter.add_text_classifier_metadata(
        convert_functions({"serving_default": echo}), vectorizer.vocabulary[2:],
        [f"position_{index}" for index in range(MAX_LENGTH)])
    path = tmp_path / "echo.tflite"
    path.write_bytes(content)

    phone = _classify(path, HOSTILE).astype("int32")
    ours = vectorizer.mediapipe_ids(HOSTILE, MAX_LENGTH)
    np.testing.assert_array_equal(ours, phone)
    # Training's numpy and TF paths give the same ids (cut to the same length).
    np.testing.assert_array_equal(
        TextVectorizer(tokenizer="mediapipe", max_length=MAX_LENGTH,
                       vocabulary=vectorizer.vocabulary[2:])(HOSTILE), phone)
    tf_ids = vectorizer.tf_vectorize(tf.constant(HOSTILE)).numpy()[:, :MAX_LENGTH]
    tf_ids = np.pad(tf_ids, [(0, 0), (0, MAX_LENGTH - tf_ids.shape[1])])
    np.testing.assert_array_equal(tf_ids, phone)
    # The facts behind it: case-sensitive, ASCII-only words, punctuation dropped.
    assert mediapipe_tokenize("Café isn't GOOD!!! 😀") == ["Caf", "isn't", "GOOD"]
    assert mediapipe_tokenize(b"ok \xff bad") == ["ok", "bad"]


def test_tokenizer_settings_are_checked_and_saved(tmp_path):
    with pytest.raises(ValueError, match="tokenizer"):
        TextVectorizer(tokenizer="bert")
    with pytest.raises(ValueError, match="case-sensitively"):
        TextVectorizer(tokenizer="mediapipe", lowercase=True)
    vectorizer = _vectorizer()
    assert vectorizer.lowercase is False
    vectorizer.save(tmp_path)
    loaded = TextVectorizer.load(tmp_path)
    assert loaded.tokenizer == "mediapipe"
    np.testing.assert_array_equal(loaded(HOSTILE[:6]), vectorizer(HOSTILE[:6]))


def _trained(cell, bidirectional, vectorizer):
    keras.utils.set_random_seed(0)
    model = rnn_zoo.build_text_classifier(
        vocab_size=vectorizer.vocab_size, embedding_dim=8, units=6, cell=cell,
        bidirectional=bidirectional, num_classes=2)
    # Eager: two tiny batches train faster than tracing a training graph.
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    ids = vectorizer.mediapipe_ids(TRAIN_TEXTS, MAX_LENGTH)
    model.fit(ids, TRAIN_LABELS, epochs=2, batch_size=5, verbose=0)
    return model


@pytest.mark.parametrize("cell,bidirectional", [
    ("lstm", False), ("gru", False), ("simple_rnn", False), ("lstm", True), ("gru", True),
])
def test_mediapipe_scores_equal_load_exported_predict(cell, bidirectional, tmp_path):
    vectorizer = _vectorizer()
    model = _trained(cell, bidirectional, vectorizer)
    result = export_model(model, name="clf", export_root=tmp_path, vectorizer=vectorizer,
                          labels=["negative", "positive"], targets=("mediapipe",),
                          max_length=MAX_LENGTH)
    path = os.path.join(result.path, "mediapipe.tflite")
    artifact = result.manifest["artifacts"]["mediapipe.tflite"]
    assert artifact["target"] == "mediapipe" and artifact["max_length"] == MAX_LENGTH
    assert artifact["runtimes_verified"] == ["interpreter", "mediapipe"]
    assert not os.path.exists(os.path.join(result.path, "model.tflite"))
    report = artifact["report"]
    assert "WHILE" not in report["ops"] and report["inputs"][0]["shape"] == [1, MAX_LENGTH]

    texts = HOSTILE + ["Good \ufffd movie"]
    phone = _classify(path, texts)
    predictor = load_exported(result.path)
    np.testing.assert_allclose(predictor.predict(texts), phone, atol=1e-5)
    # Bytes are decoded as UTF-8 with errors="replace", as the phone's string is.
    np.testing.assert_allclose(predictor.predict([b"Good \xff movie"]), phone[-1:],
                               atol=1e-5)


def test_refusals_name_the_fix(tmp_path):
    vectorizer = _vectorizer()
    model = rnn_zoo.build_text_classifier(vocab_size=vectorizer.vocab_size, units=4,
                                          embedding_dim=4, compile_model=False)
    labels = ["negative", "positive"]
    path = tmp_path / "mediapipe.tflite"
    with pytest.raises(ValueError, match="max_length.*exact padded length"):
        export_tflite(model, path, target="mediapipe", vectorizer=vectorizer, labels=labels)
    plain = TextVectorizer(vocabulary=vectorizer.vocabulary[2:])
    with pytest.raises(ValueError, match='tokenizer=\\\\?"mediapipe\\\\?"'):
        export_tflite(model, path, target="mediapipe", max_length=4, vectorizer=plain,
                      labels=labels)
    with pytest.raises(ValueError, match="labels"):
        export_tflite(model, path, target="mediapipe", max_length=4, vectorizer=vectorizer)
    with pytest.raises(ValueError, match="dynamic-length"):
        export_tflite(model, path, max_length=4)
    assert not path.exists()
    # A dynamic-length file never gets tokenizer metadata.
    litert = tmp_path / "model.tflite"
    export_tflite(model, litert)
    with pytest.raises(ValueError, match="fixed-length input"):
        converter.add_text_classifier_metadata(litert.read_bytes(), ["good"], labels)
    with pytest.raises(ValueError, match='tokenizer=\\\\?"mediapipe\\\\?"'):
        export_model(model, export_root=tmp_path / "root", vectorizer=plain, labels=labels,
                     targets=("mediapipe",), max_length=4)
    assert not (tmp_path / "root").exists()


def test_cli_exports_a_bundle_for_mediapipe(tmp_path, capsys):
    data = TextClassificationData(TRAIN_TEXTS, TRAIN_LABELS, ("negative", "positive"))
    prepared = prepare(data, "text_classifier", validation_split=0.0, tokenizer="mediapipe")
    assert prepared.preprocessor.tokenizer == "mediapipe"
    model = rnn_zoo.build_text_classifier(**prepared.task_args, embedding_dim=8, units=6)
    model.fit(prepared.x_train, prepared.y_train, epochs=1, verbose=0)
    Bundle(model, prepared.preprocessor, prepared.labels, task="text_classifier").save(
        tmp_path / "run")

    def run(*args):
        status = cli.main(list(args))
        captured = capsys.readouterr()
        return status, captured.out + captured.err

    status, out = run("export", str(tmp_path / "run"), "--export-root", str(tmp_path / "out"),
                      "--target", "mediapipe")
    assert status == 2 and "--max-length" in out
    status, out = run("export", str(tmp_path / "run"), "--export-root", str(tmp_path / "out"),
                      "--name", "clf", "--target", "mediapipe", "--target", "litert",
                      "--max-length", "24")
    assert status == 0, out
    assert "mediapipe.tflite: target mediapipe, fixed length 24" in out
    version = tmp_path / "out" / "clf" / "1"
    assert (version / "mediapipe.tflite").is_file() and (version / "model.tflite").is_file()
    texts = ["Good movie!!", "BAD film, don't", ""]
    np.testing.assert_allclose(load_exported(version).predict(texts),
                               _classify(version / "mediapipe.tflite", texts), atol=1e-5)

    plain = TextClassificationData(TRAIN_TEXTS, TRAIN_LABELS, ("negative", "positive"))
    prepared = prepare(plain, "text_classifier", validation_split=0.0)
    model = rnn_zoo.build_text_classifier(**prepared.task_args, embedding_dim=4, units=4)
    Bundle(model, prepared.preprocessor, prepared.labels, task="text_classifier").save(
        tmp_path / "plain")
    status, out = run("export", str(tmp_path / "plain"), "--export-root",
                      str(tmp_path / "out"), "--target", "mediapipe", "--max-length", "24")
    assert status == 2 and "--tokenizer mediapipe" in out


def test_quantized_mediapipe_file_runs_in_mediapipe(tmp_path):
    # Quantization applies to the mediapipe target as to litert.
    vectorizer = _vectorizer()
    model = rnn_zoo.build_text_classifier(vocab_size=vectorizer.vocab_size, units=64,
                                          embedding_dim=32, compile_model=False)
    path = tmp_path / "mediapipe.tflite"
    report = export_tflite(model, path, target="mediapipe", max_length=MAX_LENGTH,
                           vectorizer=vectorizer, labels=["negative", "positive"],
                           quantization="dynamic_int8")
    assert report.low_precision_tensors > 0
    assert report.runtimes_verified == ["interpreter", "mediapipe"]
    assert report.max_abs_diff <= 5e-3
    scores = _classify(path, HOSTILE[:4])
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)


def test_sentiment_preset_mediapipe_file_scores_like_the_bundle():
    # The shipped file, in the real TextClassifier, on raw text: the phone
    # tokenizes as training did, so its scores are the bundle's.
    from rnn_zoo import presets

    name = "sentiment_rotten_tomatoes_en"
    bundle = presets.from_preset(name)
    assert bundle.vectorizer.tokenizer == "mediapipe"
    path = os.path.join(presets.preset_folder(name), "assets", "mediapipe.tflite")
    texts = ["A gorgeous, witty and moving film.", "the plot is a tedious, lifeless mess.",
             "Not bad at all", "I wanted to like it, but I couldn't.", "it's a Café crème",
             "x " * 100]
    np.testing.assert_allclose(_classify(path, texts), bundle.predict(texts), atol=1e-5)
    assert bundle.metrics["mediapipe"]["max_abs_diff_vs_bundle"] <= 1e-5
