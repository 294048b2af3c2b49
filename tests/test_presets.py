"""Pretrained presets: load offline on every backend, score what their cards say, fine-tune.

The presets are the real folders shipped in `rnn_zoo/pretrained/`. The
JapaneseVowels slice in `tests/data/presets/` (UCI, CC BY 4.0) checks a
preset's score; the Rotten Tomatoes snippets carry no explicit licence, so
no text of them ships here and their rescore is `rnn-zoo presets check`.
"""

import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from rnn_zoo import presets
from rnn_zoo.commands import presets as presets_command
from rnn_zoo.data import read_text_csv

SENTIMENT = "sentiment_rotten_tomatoes_en"
VOWELS = "speaker_japanese_vowels"
SLICE = os.path.join(os.path.dirname(__file__), "data", "presets",
                     "japanese_vowels_test_slice.npz")
SENTENCES = ["a gorgeous, witty and moving film.", "the plot is a tedious, lifeless mess.",
             "not bad at all", "i wanted to like it, but i could not."]

_loaded = {}


def _bundle(name):
    """Each preset loaded once per test session (loading is what the first test checks)."""
    if name not in _loaded:
        _loaded[name] = presets.from_preset(name)
    return _loaded[name]


def _slice():
    with np.load(SLICE, allow_pickle=False) as stored:
        return stored["x"], stored["labels"]


def _raw_inputs(name):
    return SENTENCES if name == SENTIMENT else _slice()[0][:5]


def test_list_presets_names_every_shipped_folder_without_keras():
    code = ("import sys, rnn_zoo.presets as p; names = p.list_presets(); "
            "print(','.join(names)); print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    names = out[0].split(",")
    assert names == sorted(presets.PRESETS) and {SENTIMENT, VOWELS} <= set(names)
    assert out[1] == "False"
    for name in presets.list_presets():
        assert os.path.isfile(os.path.join(presets.preset_folder(name), "model.keras"))


@pytest.mark.multi_backend
@pytest.mark.parametrize("name", [SENTIMENT, VOWELS])
def test_preset_loads_offline_and_predicts_raw_inputs(name):
    bundle = _bundle(name)
    inputs = _raw_inputs(name)
    probabilities = bundle.predict(inputs)
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (len(inputs), len(bundle.labels))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert bundle.card.startswith(f"# {name}")
    assert "Licence" in bundle.card and "same-run baseline" in bundle.card
    assert "presets build " + name in bundle.card
    if name == SENTIMENT:
        assert bundle.labels == ("negative", "positive")
        assert bundle.vectorizer is bundle.preprocessor
        best = [bundle.labels[i] for i in probabilities.argmax(-1)[:2]]
        assert best == ["positive", "negative"]
    else:
        assert bundle.labels == tuple(f"speaker_{i}" for i in range(1, 10))
        assert bundle.vectorizer is None and bundle.scaler is bundle.preprocessor


@pytest.mark.multi_backend
def test_vowels_slice_scores_what_the_card_says():
    bundle = _bundle(VOWELS)
    x, labels = _slice()
    accuracy = float((bundle.predict(x).argmax(-1) == labels).mean())
    metrics = bundle.metrics
    # One utterance may flip on a floating-point tie across backends.
    assert abs(accuracy - metrics["slice_accuracy"]) <= 1 / len(labels) + 1e-9
    assert metrics["slice_examples"] == len(labels)
    low, high = metrics["accuracy_interval"]
    assert low <= metrics["accuracy"] <= high
    assert f"{100 * metrics['accuracy']:.1f}%" in bundle.card
    assert f"{100 * metrics['baseline_accuracy']:.1f}%" in bundle.card


def test_sentiment_card_states_figures_and_the_goal_honestly():
    bundle = _bundle(SENTIMENT)
    metrics = bundle.metrics
    assert f"{100 * metrics['accuracy']:.1f}%" in bundle.card
    assert f"{100 * metrics['baseline_accuracy']:.1f}%" in bundle.card
    goal = "reaches the 80% goal" if metrics["accuracy"] >= 0.8 else "does NOT reach"
    assert goal in bundle.card
    assert metrics["split"]["seed"] == 0 and metrics["split"]["stratified"]


@pytest.mark.parametrize("name", [SENTIMENT, VOWELS])
def test_preset_tflite_file_matches_its_model(name):
    from rnn_zoo.recipes import common

    bundle = _bundle(name)
    rows = bundle.preprocess(_raw_inputs(name))
    if name == SENTIMENT:
        rows = [row[row != 0] for row in rows]
    else:
        rows = [row[np.any(row != 0, axis=-1)] for row in rows]
    difference = common.tflite_difference(bundle, presets.preset_folder(name), rows)
    assert difference <= common.TFLITE_TOLERANCE


@pytest.mark.parametrize("name", [SENTIMENT, VOWELS])
def test_preset_folders_fit_the_shipping_limits(name):
    folder = presets.preset_folder(name)
    total = presets.check_folder(folder)
    assert 0 < total <= presets.MAX_PRESET_BYTES
    assert os.path.isfile(os.path.join(folder, "assets", "model.tflite"))
    assert os.path.isfile(os.path.join(folder, "README.md"))


@pytest.mark.parametrize("name", [SENTIMENT, VOWELS])
def test_card_states_quantized_sizes_and_tflite_latency(name):
    bundle = _bundle(name)
    forms = bundle.metrics["tflite"]["forms"]
    assert [form["quantization"] for form in forms if not form["shipped"]] == [
        "float16", "dynamic_int8"]
    for form in forms:
        assert form["bytes"] > 0 and form["latency_ms"] > 0
        assert f"| {form['bytes']:,} |" in bundle.card
        assert f"{form['latency_ms']:.3f} ms" in bundle.card
    float32 = forms[0]["bytes"]
    assert next(f["bytes"] for f in forms if f["quantization"] == "dynamic_int8") < float32
    assert "median of" in bundle.card and "Interpreter" in bundle.card
    if name == SENTIMENT:
        assert os.path.isfile(os.path.join(presets.preset_folder(name), "assets",
                                           "mediapipe.tflite"))


@pytest.mark.multi_backend
def test_new_head_fine_tunes_on_a_small_csv_with_new_labels(tmp_path):
    topics = {
        "sport": ["the team won the match", "a late goal in the final", "the striker scored",
                  "the coach praised the players", "they lost the game at home"],
        "food": ["the soup was warm and salty", "fresh bread and butter", "a spicy curry",
                 "the chef cooked rice", "sweet cake with cream"],
        "weather": ["rain all day tomorrow", "a cold wind and snow", "sunny and warm skies",
                    "storms on the coast", "fog in the morning"],
    }
    path = tmp_path / "topics.csv"
    lines = ["text,label"] + [f"{text},{label}" for label, texts in topics.items()
                              for text in texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = read_text_csv(path)
    base = _bundle(SENTIMENT)
    bundle = presets.from_preset(SENTIMENT, num_classes=3)
    assert bundle.model.outputs[0].shape[-1] == 3
    assert bundle.labels is None and bundle.metrics == {}
    assert bundle.vectorizer.vocabulary == base.vectorizer.vocabulary
    x = bundle.preprocess(data.texts)
    before = bundle.model.evaluate(x, data.labels, verbose=0, return_dict=True)
    bundle.model.fit(x, data.labels, epochs=20, batch_size=8, verbose=0)
    after = bundle.model.evaluate(x, data.labels, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"]
    assert after["accuracy"] > before["accuracy"]
    assert bundle.predict(["a goal in the match"]).shape == (1, 3)


def test_a_series_preset_gets_a_new_head_too():
    bundle = presets.from_preset(VOWELS, num_classes=4)
    assert bundle.predict(_slice()[0][:2]).shape == (2, 4)


@pytest.mark.parametrize("num_classes", [1, 0, True, 2.5, "3"])
def test_a_bad_num_classes_is_refused(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        presets.from_preset(VOWELS, num_classes=num_classes)


def test_a_bad_name_lists_the_presets():
    with pytest.raises(ValueError) as caught:
        presets.from_preset("sentiment_imdb")
    for name in presets.list_presets():
        assert name in str(caught.value)
    assert "sentiment_imdb" in str(caught.value)


def _copy(name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(presets.preset_folder(name), folder)
    return folder


def test_a_corrupted_preset_folder_gets_a_clear_error(tmp_path):
    folder = _copy(VOWELS, tmp_path)
    (folder / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="model.keras: not a readable .keras model"):
        presets.from_preset(str(folder))
    folder = _copy(SENTIMENT, tmp_path / "second")
    (folder / "labels.txt").write_text("negative\nnegative\n", encoding="utf-8")
    with pytest.raises(ValueError, match="labels.txt"):
        presets.from_preset(folder)


def test_an_oversized_or_linked_preset_folder_is_refused_before_reading(tmp_path):
    folder = _copy(VOWELS, tmp_path)
    (folder / "assets" / "padding.bin").write_bytes(b"\0" * presets.MAX_PRESET_BYTES)
    with pytest.raises(ValueError, match="at most 5242880 bytes"):
        presets.from_preset(str(folder))
    os.remove(folder / "assets" / "padding.bin")
    os.symlink("/etc/hostname", folder / "assets" / "link")
    with pytest.raises(ValueError, match="a link"):
        presets.from_preset(str(folder))


def _command(argv, capsys):
    parser = argparse.ArgumentParser(prog="rnn-zoo")
    presets_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    status = args.func(args)
    return status, capsys.readouterr().out


def test_presets_command_lists_name_task_data_metric_and_size(capsys):
    status, out = _command(["presets"], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "TASK", "DATA", "HEADLINE", "SIZE"]
    for name in presets.list_presets():
        line = next(line for line in lines if line.startswith(name))
        entry = presets.PRESETS[name]
        assert entry["task"] in line and entry["data"] in line
        assert presets.describe_preset(name)["headline"] in line
        assert "baseline" in line and line.endswith(("MiB", "KiB"))


def test_presets_command_lists_as_json(capsys):
    import json

    status, out = _command(["presets", "--format", "json"], capsys)
    assert status == 0
    entries = json.loads(out)
    assert [entry["name"] for entry in entries] == presets.list_presets()
    assert all(entry["bytes"] > 0 and entry["headline"] for entry in entries)


def test_presets_check_rescores_the_vowels_preset(capsys):
    status, out = _command(["presets", "check", VOWELS], capsys)
    assert status == 0, out
    assert out.startswith(f"{VOWELS}: ok: accuracy")


def test_presets_check_reports_a_mismatch(tmp_path, capsys):
    import json

    folder = _copy(VOWELS, tmp_path)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    metrics["accuracy"] = 0.5
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    status, out = _command(["presets", "check", VOWELS, "-o", str(folder)], capsys)
    assert status == 1
    assert "MISMATCH" in out
