"""rnn_zoo.bundle: one folder for model + preprocessor + labels + metrics, and `prepare`.

The save/load round trips, safe mode and the damaged-folder errors run on every
backend (multi_backend): a bundle saved by one backend's Keras must read back
the same everywhere, and TensorFlow (for the text preprocessor) is installed on
every backend run. The split and `prepare` tests are numpy/TF data handling and
run once.
"""

import datetime
import json
import os
import shutil

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

import rnn_zoo
from rnn_zoo import bundle as bundle_module
from rnn_zoo.bundle import ASSETS_DIR
from rnn_zoo.bundle import BUNDLE_FORMAT_VERSION
from rnn_zoo.bundle import CARD_FILE
from rnn_zoo.bundle import LABELS_FILE
from rnn_zoo.bundle import MAX_FILE_BYTES
from rnn_zoo.bundle import METADATA_FILE
from rnn_zoo.bundle import METRICS_FILE
from rnn_zoo.bundle import MODEL_FILE
from rnn_zoo.bundle import SCALER_FILE
from rnn_zoo.bundle import TEXT_VECTORIZER_FILE
from rnn_zoo.bundle import VOCAB_FILE
from rnn_zoo.bundle import Bundle
from rnn_zoo.bundle import prepare
from rnn_zoo.bundle import split_indices
from rnn_zoo.data import SequenceData
from rnn_zoo.data import SequenceScaler
from rnn_zoo.data import TextClassificationData
from rnn_zoo.data import generators
from rnn_zoo.text import OOV_ID

TEXTS = ["the food was not good", "A great film!", "zzz unseen words here"]
CLASS_NAMES = ("low", "mid", "high")


def _series(n=24, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 7, size=n)
    x = np.zeros((n, 6, 3), dtype=np.float32)
    for i, length in enumerate(lengths):
        x[i, :length] = rng.normal(5.0, 3.0, size=(length, 3))
    return SequenceData(x, lengths, labels=rng.integers(0, 3, size=n), class_names=CLASS_NAMES)


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory):
    keras.utils.set_random_seed(0)
    prepared = prepare(generators.negation_sentiment(80, seed=0), "text_classifier")
    model = rnn_zoo.build_text_classifier(**prepared.task_args, units=4, embedding_dim=4)
    bundle = Bundle(model, prepared.preprocessor, prepared.labels,
                    metrics={"val_accuracy": np.float32(0.75),
                             "history": {"loss": [np.float64(0.5)]}},
                    card="# Negation probe\n", task="text_classifier")
    folder = tmp_path_factory.mktemp("text") / "bundle"
    bundle.save(folder)
    return folder, model, prepared


@pytest.fixture(scope="module")
def numeric_bundle(tmp_path_factory):
    keras.utils.set_random_seed(0)
    data = _series()
    prepared = prepare(data, "sequence_classifier", validation_split=0.25)
    model = rnn_zoo.build_sequence_classifier(**prepared.task_args, units=4)
    folder = tmp_path_factory.mktemp("numeric") / "bundle"
    Bundle(model, prepared.preprocessor, prepared.labels, task="sequence_classifier").save(folder)
    return folder, model, prepared, data


def _copy(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy")


# --------------------------------------------------------------------------- round trips


@pytest.mark.multi_backend
def test_text_bundle_round_trip_predicts_raw_strings_like_the_model(text_bundle):
    folder, model, prepared = text_bundle
    assert sorted(os.listdir(folder)) == sorted([
        ASSETS_DIR, CARD_FILE, LABELS_FILE, METADATA_FILE, METRICS_FILE, MODEL_FILE,
        TEXT_VECTORIZER_FILE, VOCAB_FILE])
    loaded = Bundle.load(folder)
    assert loaded.labels == prepared.labels == ("negative", "positive")
    assert loaded.vectorizer is loaded.preprocessor and loaded.scaler is None
    assert loaded.vectorizer.vocabulary == prepared.vectorizer.vocabulary
    assert loaded.metrics == {"val_accuracy": 0.75, "history": {"loss": [0.5]}}
    assert loaded.card == "# Negation probe\n" and loaded.task == "text_classifier"

    expected = model.predict(prepared.vectorizer(TEXTS), verbose=0)
    predicted = loaded.predict(TEXTS)
    assert predicted.dtype == np.float32 and predicted.shape == (3, 2)
    np.testing.assert_allclose(predicted, expected, atol=1e-6)
    for same in (np.array(TEXTS), [t.encode("utf-8") for t in TEXTS],
                 prepared.vectorizer(TEXTS)):
        np.testing.assert_allclose(loaded.predict(same), predicted, atol=1e-6)
    np.testing.assert_allclose(loaded.predict(TEXTS[0]), predicted[:1], atol=1e-6)


@pytest.mark.multi_backend
def test_numeric_bundle_round_trip_scales_raw_arrays_like_the_training_data(numeric_bundle):
    folder, model, prepared, data = numeric_bundle
    assert SCALER_FILE in os.listdir(folder) and VOCAB_FILE not in os.listdir(folder)
    loaded = Bundle.load(folder)
    assert loaded.vectorizer is None and isinstance(loaded.preprocessor, SequenceScaler)
    np.testing.assert_array_equal(loaded.scaler.mean, prepared.preprocessor.mean)
    np.testing.assert_array_equal(loaded.scaler.std, prepared.preprocessor.std)
    assert loaded.labels == CLASS_NAMES

    first = data.select(np.arange(5))
    expected = model.predict(prepared.preprocessor.transform(first), verbose=0)
    predicted = loaded.predict(first.x)  # raw, zero-padded: padding found by value
    assert predicted.dtype == np.float32 and predicted.shape == (5, 3)
    np.testing.assert_allclose(predicted, expected, atol=1e-6)


@pytest.mark.multi_backend
def test_metadata_records_format_versions_backend_and_size(text_bundle, backend):
    folder, model, _ = text_bundle
    metadata = json.loads((folder / METADATA_FILE).read_text())
    assert metadata["format_version"] == BUNDLE_FORMAT_VERSION
    assert metadata["task"] == "text_classifier"
    assert metadata["preprocessor"] == "TextVectorizer"
    assert {"rnn-zoo", "keras", "numpy", "tensorflow"} <= set(metadata["package_versions"])
    assert metadata["package_versions"]["keras"] == keras.__version__
    assert metadata["parameter_count"] == model.count_params()
    saved = datetime.datetime.fromisoformat(metadata["date_saved"])
    assert saved.tzinfo is not None
    assert Bundle.load(folder).metadata == metadata
    # The folder was written by the module fixture on this test's backend.
    assert metadata["keras_backend"] == backend


@pytest.mark.multi_backend
def test_a_model_with_a_lambda_layer_is_refused_in_safe_mode(tmp_path):
    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    Bundle(keras.Model(inputs, outputs)).save(tmp_path / "unsafe")
    with pytest.raises(ValueError, match=r"model\.keras: refused in safe mode"):
        Bundle.load(tmp_path / "unsafe")


def _write(name, content):
    def damage(folder):
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return damage


def _remove(name):
    def damage(folder):
        os.remove(folder / name)
    return damage


def _metadata(**changes):
    def damage(folder):
        metadata = json.loads((folder / METADATA_FILE).read_text())
        metadata.update(changes)
        (folder / METADATA_FILE).write_text(json.dumps(metadata))
    return damage


@pytest.mark.multi_backend
@pytest.mark.parametrize("damage, message", [
    (_write(MODEL_FILE, b"PK\x03\x04 not a zip"), r"model\.keras: not a readable \.keras model"),
    (_remove(MODEL_FILE), r"model\.keras: no such file; .* is not a bundle folder"),
    (_metadata(format_version=99), r"metadata\.json: format_version=99 was written by a newer"),
    (_metadata(task="poetry"), r"metadata\.json: task='poetry'; expected one of"),
    (_write(METADATA_FILE, "{not json"), r"metadata\.json: not valid JSON"),
    (_write(METADATA_FILE, b" " * (MAX_FILE_BYTES[METADATA_FILE] + 1)),
     r"metadata\.json: 1048577 bytes; expected at most 1048576"),
    (_write(LABELS_FILE, "negative\nnegative\n"),
     r"labels\.txt, line 2: label 'negative' repeats line 1"),
    (_write(LABELS_FILE, "a\nb\nc\n"), r"labels\.txt.*2 outputs per step but 3 labels"),
    (_write(METRICS_FILE, "[1, 2]"), r"metrics\.json: expected a JSON object, got list"),
    (_remove(VOCAB_FILE), r"vocab\.txt: no such file"),
    (_write(VOCAB_FILE, b"good\n\xff\xfe\n"), r"vocab\.txt, line 2: bytes are not valid UTF-8"),
    (_write(TEXT_VECTORIZER_FILE, "{"), r"text_vectorizer\.json, line 1: invalid JSON"),
    (_write(SCALER_FILE, "{}"), r"holds both a text preprocessor .* and scaler\.json"),
])
def test_a_damaged_text_bundle_is_a_clear_error_naming_the_file(text_bundle, tmp_path, damage,
                                                                message):
    folder = _copy(text_bundle[0], tmp_path)
    damage(folder)
    with pytest.raises(ValueError, match=message):
        Bundle.load(folder)


@pytest.mark.multi_backend
@pytest.mark.parametrize("config, message", [
    ('{"mean": [1, NaN, 2], "std": [1, 1, 1]}', r"scaler\.json: not valid JSON"),
    ('{"mean": [1, 2, 3], "std": [1, 1]}', r"scaler\.json: `mean` has 3 values and `std` 2"),
    ('{"mean": [1, 2, 3], "std": [1, 0, 1]}', r"scaler\.json: `std` must hold numbers > 0"),
    ('{"mean": "123", "std": [1, 1, 1]}', r"scaler\.json: `mean` must be a non-empty list"),
])
def test_a_damaged_scaler_is_a_clear_error_naming_the_file(numeric_bundle, tmp_path, config,
                                                           message):
    folder = _copy(numeric_bundle[0], tmp_path)
    (folder / SCALER_FILE).write_text(
        '{"format_version": 1, "class": "SequenceScaler", "config": ' + config + "}")
    with pytest.raises(ValueError, match=message):
        Bundle.load(folder)


def test_an_oversized_model_is_refused_before_it_is_read(numeric_bundle, tmp_path, monkeypatch):
    folder = _copy(numeric_bundle[0], tmp_path)
    monkeypatch.setitem(bundle_module.MAX_FILE_BYTES, MODEL_FILE, 1024)
    size = os.path.getsize(folder / MODEL_FILE)
    with pytest.raises(ValueError, match=rf"model\.keras: {size} bytes; expected at most 1024"):
        Bundle.load(folder)


def test_a_folder_from_before_metadata_still_loads(text_bundle, tmp_path):
    folder = _copy(text_bundle[0], tmp_path)
    os.remove(folder / METADATA_FILE)
    os.rmdir(folder / ASSETS_DIR)
    loaded = Bundle.load(folder)
    assert loaded.metadata == {} and loaded.task is None
    assert loaded.labels == ("negative", "positive") and loaded.vectorizer is not None


# --------------------------------------------------------------------------- save rules


def test_save_never_replaces_files_without_overwrite_and_cleans_stale_ones_with_it(
        text_bundle, numeric_bundle, tmp_path):
    folder = tmp_path / "out"
    (folder / "run").mkdir(parents=True)
    (folder / "run" / "last.keras").write_bytes(b"checkpoint")  # not a bundle file
    assert not Bundle.is_bundle(folder)
    numeric = Bundle.load(numeric_bundle[0])
    assert numeric.save(folder) == str(folder)
    assert Bundle.is_bundle(folder) and (folder / SCALER_FILE).exists()
    with pytest.raises(ValueError, match=r"`overwrite`.*already holds .*model\.keras"):
        numeric.save(folder)
    Bundle.load(text_bundle[0]).save(folder, overwrite=True)
    assert not (folder / SCALER_FILE).exists()  # stale: the new bundle reads text
    assert (folder / "run" / "last.keras").read_bytes() == b"checkpoint"
    assert Bundle.load(folder).vectorizer is not None
    with pytest.raises(ValueError, match="`folder`"):
        numeric.save(folder / LABELS_FILE)


def test_constructor_checks_each_argument(text_bundle):
    _, model, prepared = text_bundle
    with pytest.raises(ValueError, match="`model`"):
        Bundle("model.keras")
    with pytest.raises(ValueError, match="`preprocessor`"):
        Bundle(model, preprocessor={"vocab": []})
    with pytest.raises(ValueError, match="`labels`.*2 outputs per step but 3 labels"):
        Bundle(model, labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="`labels`.*distinct"):
        Bundle(model, labels=["a", "a"])
    with pytest.raises(ValueError, match="`labels`.*line breaks"):
        Bundle(model, labels=["a\nb"])
    with pytest.raises(ValueError, match="`task`"):
        Bundle(model, task="poetry")
    small = rnn_zoo.build_text_classifier(vocab_size=3, units=2, embedding_dim=2)
    with pytest.raises(ValueError, match="`preprocessor`.*rebuild the model with vocab_size"):
        Bundle(small, prepared.preprocessor)
    assert Bundle(model, labels=()).labels is None


@pytest.mark.multi_backend
def test_predict_refuses_inputs_the_model_cannot_read(text_bundle, numeric_bundle):
    text = Bundle(text_bundle[1], text_bundle[2].preprocessor)
    numeric = Bundle(numeric_bundle[1], numeric_bundle[2].preprocessor)
    with pytest.raises(ValueError, match="`inputs`.*no TextVectorizer.*features"):
        numeric.predict(["some text"])
    with pytest.raises(ValueError, match=r"`inputs`.*reads token ids \[n, time\]"):
        text.predict(np.zeros((2, 3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="`inputs`.*at least one example"):
        text.predict([])


# --------------------------------------------------------------------------- split_indices


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(n=st.integers(1, 400), share=st.floats(0.0, 0.95), seed=st.integers(0, 99))
def test_split_indices_is_a_seeded_partition_holding_out_the_share(n, share, seed):
    held = 0 if share == 0 else max(1, int(round(n * share)))
    if n - held < 1:
        with pytest.raises(ValueError, match="`validation_split`.*leaves none to train on"):
            split_indices(n, share, seed)
        return
    train, val = split_indices(n, share, seed)
    assert len(val) == held and len(train) == n - held
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    again = split_indices(n, share, seed)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], val)


def test_split_indices_holds_out_the_head_of_the_seeded_permutation():
    # The split the tuning specs and `rnn-zoo train` have always made.
    train, val = split_indices(50, 0.2, seed=7)
    order = np.random.default_rng(7).permutation(50)
    np.testing.assert_array_equal(val, order[:10])
    np.testing.assert_array_equal(train, order[10:])
    assert not np.array_equal(split_indices(50, 0.2, seed=8)[1], val)
    train, val = split_indices(5, 0.0)
    assert train.tolist() == [0, 1, 2, 3, 4] and val.size == 0


@pytest.mark.parametrize("n, share, argument", [
    (10, 1.0, "validation_split"), (10, -0.1, "validation_split"),
    (10, True, "validation_split"), (10, "0.2", "validation_split"), (0, 0.2, "n"),
])
def test_split_indices_errors_name_the_argument(n, share, argument):
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        split_indices(n, share)


# --------------------------------------------------------------------------- prepare


def test_prepare_fits_the_vocabulary_on_the_training_split_only():
    texts = [f"good film word{i}" if i % 2 else f"bad film word{i}" for i in range(40)]
    data = TextClassificationData(texts, [i % 2 for i in range(40)], ("neg", "pos"))
    prepared = prepare(data, "text_classifier", validation_split=0.25, seed=1)
    train, val = split_indices(40, 0.25, seed=1)
    vocabulary = set(prepared.vectorizer.vocabulary)
    assert {f"word{i}" for i in train} <= vocabulary
    assert not {f"word{i}" for i in val} & vocabulary
    assert (prepared.x_val[:, 2] == OOV_ID).all()  # each held-out word is unknown
    assert (prepared.x_train[:, 2] != OOV_ID).all()
    np.testing.assert_array_equal(prepared.y_val, data.labels[val])
    assert prepared.task_args == {"vocab_size": prepared.vectorizer.vocab_size,
                                  "num_classes": 2}
    assert prepared.labels == ("neg", "pos") and prepared.task == "text_classifier"

    given = TextClassificationData(["zebra film"], [0], ("neg", "pos"))
    explicit = prepare(data, "bag_of_embeddings", validation=given, test=given)
    assert "zebra" not in explicit.vectorizer.vocabulary
    assert explicit.x_val[0].tolist()[:1] == [OOV_ID] and len(explicit.x_train) == 40
    np.testing.assert_array_equal(explicit.x_test, explicit.x_val)


def test_prepare_scales_series_with_training_statistics_only():
    data, test = _series(30, seed=1), _series(6, seed=2)
    prepared = prepare(data, "sequence_classifier", validation_split=0.2, seed=4, test=test)
    train, val = split_indices(30, 0.2, seed=4)
    fitted = SequenceScaler.fit(data.select(train))
    np.testing.assert_allclose(prepared.preprocessor.mean, fitted.mean, rtol=1e-6)
    assert not np.allclose(SequenceScaler.fit(data).mean, fitted.mean, rtol=1e-6)
    np.testing.assert_allclose(prepared.x_val, fitted.transform(data.select(val)), rtol=1e-6)
    np.testing.assert_allclose(prepared.x_test, fitted.transform(test), rtol=1e-6)
    assert prepared.task_args == {"num_classes": 3, "num_features": 3}
    assert prepared.labels == CLASS_NAMES
    raw = prepare(data, "sequence_classifier", validation_split=0, scale=False)
    assert raw.preprocessor is None and raw.x_val is None and raw.y_val is None
    np.testing.assert_array_equal(raw.x_train, data.x)


def test_prepare_regression_has_no_labels_and_an_output_size():
    data = generators.adding_problem(20, length=5, seed=0)
    prepared = prepare(data, "sequence_regressor")
    assert prepared.labels == () and prepared.task_args == {"output_dim": 1, "num_features": 2}
    assert prepared.y_train.shape == (18, 1)


def test_prepare_tagging_lines_ids_up_with_tags():
    data = generators.future_context_tagging(40, seed=0)
    prepared = prepare(data, "sequence_tagger", validation_split=0.25)
    train, _ = split_indices(40, 0.25)
    assert prepared.x_train.shape == prepared.y_train.shape == (30, data.tags.shape[1])
    np.testing.assert_array_equal((prepared.x_train != 0).sum(axis=1), data.lengths[train])
    assert prepared.task_args["num_tags"] == len(data.tag_names) == 4
    assert prepared.labels == data.tag_names
    short = prepare(data, "sequence_tagger", max_length=3)
    assert short.x_train.shape[1] == short.y_train.shape[1] == 3


def test_prepare_errors_name_the_argument():
    text = TextClassificationData(["a b", "b c", "c d"], [0, 1, 0], ("x", "y"))
    with pytest.raises(ValueError, match="argument `task`.*TextClassificationData feeds"):
        prepare(text, "sequence_classifier")
    with pytest.raises(ValueError, match="argument `task`"):
        prepare(text, "poetry")
    unlabelled = SequenceData(np.ones((4, 2, 1)), [2, 2, 1, 1], targets=[1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="argument `task`.*no `labels`"):
        prepare(unlabelled, "sequence_classifier")
    with pytest.raises(ValueError, match="argument `validation`.*TextClassificationData"):
        prepare(text, "text_classifier", validation=_series(3))
    other = TextClassificationData(["a"], [0], ("y", "x"))
    with pytest.raises(ValueError, match="argument `test`.*class_names"):
        prepare(text, "text_classifier", test=other)
    with pytest.raises(ValueError, match="argument `validation_split`"):
        prepare(text, "text_classifier", validation_split=0.9)
    with pytest.raises(ValueError, match="argument `data`"):
        prepare(["a b"], "text_classifier")
