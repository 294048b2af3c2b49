"""Predicting with exported files: bad input is refused clearly; the CLI end to end.

TensorFlow-only (unmarked): the exported files and their runtimes (TF,
LiteRT) are the same whatever backend trained the model.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.export import export_model
from rnn_zoo.export import load_exported
from rnn_zoo.export import read_manifest
from rnn_zoo.text import TextVectorizer

VOCABULARY = [f"w{index}" for index in range(48)]  # vocab_size 50


@pytest.fixture(scope="module")
def text_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    model = rnn_zoo.build_text_classifier(vocab_size=50, units=4, embedding_dim=4,
                                          compile_model=False)
    vectorizer = TextVectorizer(vocabulary=VOCABULARY)
    result = export_model(model, name="clf", export_root=root, vectorizer=vectorizer,
                          labels=["negative", "positive"], max_length=8)
    return result.path, model


_BAD_TOKEN_INPUTS = [
    ("float ids", np.array([[2.0, 3.0]]), "dtype float64"),
    ("rank 1", np.array([2, 3]), r"rank 1\). Expected rank 2"),
    ("rank 3", np.ones((1, 2, 3), "int32"), "rank 3"),
    ("empty batch", np.zeros((0, 3), "int32"), "empty batch"),
    ("empty list", [], "empty batch"),
    ("empty sequence", np.zeros((1, 0), "int32"), r"empty sequence \(0 steps\)"),
    ("all padding", np.array([[0, 0, 0]]), "row 0 has no tokens"),
    ("over-long", np.full((1, 9), 2), "9 steps.*max_length=8"),
    ("id == vocab_size", np.array([[2, 50]]), r"token id 50 at row 0, step 1.*\[0, 50\)"),
    ("huge id", np.array([[2, 2**40]], "int64"), "token id 1099511627776"),
    ("negative id", np.array([[3, 4], [-1, 2]]), "token id -1 at row 1, step 0"),
    ("ragged rows", [[2, 3], [4]], "rows of different lengths"),
    ("empty text", ["w1 w2", "  "], r"text 1 \('  '\) has no tokens"),
    ("over-long text", [" ".join(VOCABULARY[:9])], "9 steps.*max_length=8"),
    ("booleans", np.array([[True, False]]), "dtype bool"),
]


@pytest.mark.parametrize("prefer", ["saved_model", "tflite"])
def test_bad_input_gets_a_clear_value_error(text_export, prefer):
    predictor = load_exported(text_export[0], prefer=prefer)
    assert predictor.kind == prefer
    for case, inputs, message in _BAD_TOKEN_INPUTS:
        with pytest.raises(ValueError, match=message):
            predictor.predict(inputs)
            pytest.fail(f"{case}: accepted")
    # Valid input at the limits still runs: max_length steps, the highest id.
    outputs = predictor.predict(np.array([[49] * 8, [1, 0, 0, 0, 0, 0, 0, 0]]))
    assert outputs.shape == (2, 2)
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, atol=1e-5)


def test_tflite_file_alone_uses_the_manifest_beside_it(text_export):
    path, _ = text_export
    predictor = load_exported(os.path.join(path, "model.tflite"))
    assert predictor.kind == "tflite"
    assert predictor.serving["vocab_size"] == 50
    with pytest.raises(ValueError, match="token id 50"):
        predictor.predict(np.array([[50]]))
    with pytest.raises(FileNotFoundError):
        load_exported(os.path.join(path, "missing"))


@pytest.mark.parametrize("prefer", ["saved_model", "tflite"])
def test_predict_batch_runs_a_validated_batch_like_predict(text_export, prefer):
    path, model = text_export
    predictor = load_exported(path, prefer=prefer)
    ids = [[5, 9, 2, 0], [0, 0, 7, 8], [49, 1, 3, 4]]
    batch = predictor.validate_array(ids)
    assert batch.dtype == np.int32
    outputs = predictor.predict_batch(batch)
    assert outputs.dtype == np.float32 and outputs.shape == (3, 2)
    np.testing.assert_allclose(outputs, predictor.predict(ids), atol=0, rtol=0)
    np.testing.assert_allclose(outputs, model.predict(np.array(ids), verbose=0),
                               atol=1e-5, rtol=0)
    if prefer == "saved_model":
        assert predictor.batch_signature == "token_ids"


def test_version_exported_before_the_renames_still_loads(text_export, tmp_path):
    # An export written before `ids` -> `token_ids` and `vocabulary_size` ->
    # `vocab_size`: a SavedModel with only the `ids` signature, and the old
    # manifest key. The predictor falls back to `ids`; the reader maps the key.
    import keras
    import tensorflow as tf

    path, model = text_export
    old = tmp_path / "old"
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "ids", lambda token_ids: {"probabilities": model(token_ids, training=False)},
        input_signature=[tf.TensorSpec([None, None], tf.int32, name="token_ids")])
    archive.write_out(str(old), verbose=False)
    manifest = read_manifest(path)
    serving = manifest["serving"]
    serving["signatures"] = {name: serving["signatures"][name]
                             for name in ("serving_default", "ids")}
    serving["requires_imports"] = []
    serving["text"]["vocabulary_size"] = serving["text"].pop("vocab_size")
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert sorted(tf.saved_model.load(str(old)).signatures) == ["ids", "serving_default"]

    text = read_manifest(old)["serving"]["text"]
    assert text["vocab_size"] == 50 and "vocabulary_size" not in text
    predictor = load_exported(old)
    assert predictor.batch_signature == "ids"
    ids = np.array([[5, 9, 2, 0], [0, 0, 7, 8]], "int32")
    np.testing.assert_allclose(predictor.predict(ids), model.predict(ids, verbose=0),
                               atol=1e-5, rtol=0)


def test_features_model_refuses_wrong_features(tmp_path):
    model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, units=4,
                                              compile_model=False)
    path = export_model(model, export_root=tmp_path, tflite=False).path
    predictor = load_exported(path)
    good = np.zeros((1, 4, 3), "float32") + 0.5
    np.testing.assert_allclose(predictor.predict(good), model.predict(good, verbose=0),
                               atol=1e-5, rtol=0)
    bad = good.copy()
    bad[0, 2, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite feature.*row 0, step 2"):
        predictor.predict(bad)
    with pytest.raises(ValueError, match="2 features per step. Expected num_features=3"):
        predictor.predict(np.zeros((1, 4, 2), "float32"))
    with pytest.raises(ValueError, match="has no text vectorizer"):
        predictor.predict(["some text"])
    with pytest.raises(FileNotFoundError, match="No model.tflite"):
        load_exported(path, prefer="tflite")


def test_cli_export_then_predict(tmp_path, capsys):
    model = rnn_zoo.build_text_classifier(vocab_size=50, units=4, embedding_dim=4)
    model.save(tmp_path / "model.keras")
    vectorizer = TextVectorizer(vocabulary=VOCABULARY, max_length=6)
    vectorizer.save(tmp_path / "text")
    (tmp_path / "labels.txt").write_text("negative\npositive\n")
    root = tmp_path / "saved_models"

    export = ["export", str(tmp_path / "model.keras"), "--name", "clf", "--export-root", str(root)]
    status = main(export + ["--vocab", str(tmp_path / "text"),
                            "--labels", str(tmp_path / "labels.txt"), "--no-tflite"])
    printed = capsys.readouterr().out
    assert status == 0
    assert f"Exported clf version 1 to {root / 'clf' / '1'}" in printed
    assert "saved_model.pb" in printed and "vocab.txt" in printed
    assert "saved_model_max_abs_diff=" in printed and "import tensorflow_text" in printed

    version = str(root / "clf" / "1")
    texts = ["w1 w2 w3", "w9 hello"]
    expected = model.predict(vectorizer(texts), verbose=0)
    assert main(["predict", version, "--text", texts[0], "--text", texts[1]]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[-2:]
    for row, line in enumerate(lines):
        _, text, label, probability = line.split("\t")
        assert text == repr(texts[row])
        assert label == ["negative", "positive"][int(np.argmax(expected[row]))]
        assert float(probability) == pytest.approx(expected[row].max(), abs=1e-4)

    np.savez(tmp_path / "ids.npz", token_ids=np.array([[2, 3, 4], [5, 0, 0]], "int32"))
    assert main(["predict", version, "--npz", str(tmp_path / "ids.npz")]) == 0
    # "Loaded ...", the header row, then 2 rows.
    assert len(capsys.readouterr().out.strip().splitlines()) == 4

    # Bad input: exit status 2 and one line naming the problem.
    np.savez(tmp_path / "bad.npz", token_ids=np.array([[2, 99]], "int32"))
    assert main(["predict", version, "--npz", str(tmp_path / "bad.npz")]) == 2
    assert "token id 99" in capsys.readouterr().err
    assert main(export + ["--version", "1", "--no-tflite"]) == 2
    assert "immutable" in capsys.readouterr().err
    # The TFLite file with the LSTM written as a builtin loop instead of the fused op.
    assert main(export + ["--version", "2", "--lstm-kernel", "loop"]) == 0
    capsys.readouterr()
    manifest = json.loads((root / "clf" / "2" / "manifest.json").read_text())
    assert manifest["tflite"]["lstm_kernel"] == "loop"
    assert "WHILE" in manifest["tflite"]["ops"]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in manifest["tflite"]["ops"]

    # Once through the installed console script, as a user would run it.
    script = os.path.join(os.path.dirname(sys.executable), "rnn-zoo")
    completed = subprocess.run([script, "predict", version, "--text", texts[0]],
                               capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == lines[0]
