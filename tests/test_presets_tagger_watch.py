"""The Turkish POS tagger and the smartwatch exercise presets: load, predict, score, export.

Both presets are the real folders shipped in `rnn_zoo/pretrained/`. Their
data licences allow shipping a slice with the tests: `tests/data/presets/`
holds every 4th test sentence of the Turkish treebanks (Apache-2.0) and
every 5th test window of seglearn's watch data (BSD-3-Clause), each with
its licence, so the cards' figures are checked here offline.
"""

import os
import types

import numpy as np
import pytest

from rnn_zoo import presets
from rnn_zoo.recipes import turkish_pos
from rnn_zoo.recipes import watch

POS = turkish_pos.NAME
WATCH = watch.NAME
DATA = os.path.join(os.path.dirname(__file__), "data", "presets")
POS_SLICE = os.path.join(DATA, turkish_pos.SLICE_FILE)
WATCH_SLICE = os.path.join(DATA, watch.SLICE_FILE)
SENTENCES = ["Burun kemiğimde herhangi bir eğrilik olmadığı için kemiğe hiç dokunulmadı .",
             "İnternette araştırdım açıklayıcı cevap bulamadım ."]

_loaded = {}


def _bundle(name):
    if name not in _loaded:
        _loaded[name] = presets.from_preset(name)
    return _loaded[name]


def _watch_slice():
    with np.load(WATCH_SLICE, allow_pickle=False) as stored:
        return stored["x"], stored["labels"]


def test_both_presets_are_listed_and_fit_the_shipping_limits():
    for name in (POS, WATCH):
        assert name in presets.list_presets()
        folder = presets.preset_folder(name)
        assert 0 < presets.check_folder(folder) <= presets.MAX_PRESET_BYTES
        assert os.path.isfile(os.path.join(folder, "assets", "model.tflite"))
    assert os.path.isfile(os.path.join(presets.preset_folder(WATCH), "assets",
                                       watch.STREAMING_FILE))


@pytest.mark.multi_backend
def test_tagger_tags_every_token_of_raw_sentences():
    bundle = _bundle(POS)
    probabilities = bundle.predict(SENTENCES)
    tokens = bundle.vectorizer(SENTENCES)
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (2, tokens.shape[1], len(bundle.labels))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert bundle.labels[0] == turkish_pos.PAD_TAG and "NOUN" in bundle.labels
    for sentence, row, ids in zip(SENTENCES, probabilities, tokens):
        tags = [bundle.labels[i] for i in row.argmax(-1)[ids != 0]]
        assert len(tags) == len(sentence.split())
        assert tags[-1] == "PUNCT" and turkish_pos.PAD_TAG not in tags
    assert bundle.card.startswith(f"# {POS}")
    assert "Apache-2.0" in bundle.card and "same-run baseline" in bundle.card
    assert f"presets build {POS}" in bundle.card


@pytest.mark.multi_backend
def test_tagger_slice_scores_what_the_card_says():
    bundle = _bundle(POS)
    sentences = turkish_pos.read_slice(POS_SLICE)
    words = sum(len(s.words) for s in sentences)
    metrics = bundle.metrics
    assert len(sentences) == metrics["slice_sentences"] and words == metrics["slice_words"]
    accuracy = turkish_pos.score_words(bundle, sentences).sum() / words
    # A word or two may flip on floating-point ties across backends.
    assert abs(accuracy - metrics["slice_accuracy"]) <= 2 / words + 1e-9
    low, high = metrics["accuracy_interval"]
    assert low <= metrics["accuracy"] <= high
    for key in ("accuracy", "baseline_accuracy"):
        assert f"{100 * metrics[key]:.1f}%" in bundle.card


def test_tagger_tflite_file_matches_its_model():
    from rnn_zoo.recipes import common

    bundle = _bundle(POS)
    rows = [row[row != 0] for row in bundle.preprocess(SENTENCES)]
    difference = common.tflite_difference(bundle, presets.preset_folder(POS), rows)
    assert difference <= common.TFLITE_TOLERANCE


@pytest.mark.multi_backend
def test_watch_recogniser_predicts_raw_windows():
    bundle = _bundle(WATCH)
    x, _ = _watch_slice()
    probabilities = bundle.predict(x[:4])
    assert probabilities.dtype == np.float32 and probabilities.shape == (4, 7)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert bundle.labels == tuple(watch.EXERCISES)
    assert bundle.scaler is bundle.preprocessor and bundle.vectorizer is None
    assert bundle.card.startswith(f"# {WATCH}")
    assert "BSD-3-Clause" in bundle.card and "same-run baseline" in bundle.card
    assert f"presets build {WATCH}" in bundle.card and watch.STREAMING_FILE in bundle.card


@pytest.mark.multi_backend
def test_watch_slice_scores_what_the_card_says():
    bundle = _bundle(WATCH)
    x, labels = _watch_slice()
    metrics = bundle.metrics
    assert len(labels) == metrics["slice_examples"]
    accuracy = float((bundle.predict(x).argmax(-1) == labels).mean())
    assert abs(accuracy - metrics["slice_accuracy"]) <= 1 / len(labels) + 1e-9
    for key in ("accuracy", "baseline_accuracy"):
        assert f"{100 * metrics[key]:.1f}%" in bundle.card


def test_watch_tflite_file_matches_its_model():
    from rnn_zoo.recipes import common

    bundle = _bundle(WATCH)
    rows = list(bundle.preprocess(_watch_slice()[0][:3]))
    difference = common.tflite_difference(bundle, presets.preset_folder(WATCH), rows)
    assert difference <= common.TFLITE_TOLERANCE


def test_watch_streaming_file_stepped_over_a_window_matches_the_model():
    from rnn_zoo.export import verify
    from rnn_zoo.export.streaming import run_stream

    bundle = _bundle(WATCH)
    streaming = bundle.metrics["streaming"]
    names = types.SimpleNamespace(state_names=streaming["state_names"],
                                  state_units=streaming["state_units"])
    interpreter = verify.load_interpreter(
        os.path.join(presets.preset_folder(WATCH), "assets", watch.STREAMING_FILE))
    x, _ = _watch_slice()
    expected = bundle.predict(x[:2])
    for raw, reference in zip(x[:2], expected):
        # What an app does: scale each sample with scaler.json, feed it with the state.
        scaled = (raw - bundle.scaler.mean) / bundle.scaler.std
        outputs = run_stream(interpreter, names, scaled)
        probabilities = next(iter(outputs.values()))
        assert probabilities.shape == (watch.WINDOW, 7)
        np.testing.assert_allclose(probabilities[-1], reference, atol=1e-4)


@pytest.mark.parametrize("name", [POS, WATCH])
def test_card_states_file_sizes_quantized_forms_and_latency(name):
    bundle = _bundle(name)
    forms = bundle.metrics["tflite"]["forms"]
    assert [form["quantization"] for form in forms if not form["shipped"]] == [
        "float16", "dynamic_int8"]
    for form in forms:
        assert form["bytes"] > 0 and form["latency_ms"] > 0
        assert f"| {form['bytes']:,} |" in bundle.card
        assert f"{form['latency_ms']:.3f} ms" in bundle.card
    folder = presets.preset_folder(name)
    keras_bytes = os.path.getsize(os.path.join(folder, "model.keras"))
    assert f"| `model.keras` | {keras_bytes:,} |" in bundle.card
    if name == WATCH:
        streaming = bundle.metrics["streaming"]
        assert streaming["max_abs_diff"] <= 1e-4
        assert f"{bundle.metrics['streaming_int8']['bytes']:,} bytes" in bundle.card
        for value in bundle.scaler.mean:  # the scaling constants an app needs
            assert f"{value:.6g}" in bundle.card
