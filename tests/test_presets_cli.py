"""`rnn-zoo predict --preset` and `rnn-zoo train DATA --preset`, end to end, in process.

The presets are the real folders shipped in `rnn_zoo/pretrained/`; the
JapaneseVowels slice in `tests/data/presets/` (UCI, CC BY 4.0) gives a
series preset real inputs. The fine-tuning CSV is written here: a few
sentences of three new topics. Runs on every backend (`multi_backend`
where a model trains or predicts; the refusals need no backend).
"""

import csv
import json
import os

import numpy as np
import pytest

from rnn_zoo import presets
from rnn_zoo.bundle import Bundle
from rnn_zoo.cli import main

SENTIMENT = "sentiment_rotten_tomatoes_en"
VOWELS = "speaker_japanese_vowels"
SLICE = os.path.join(os.path.dirname(__file__), "data", "presets",
                     "japanese_vowels_test_slice.npz")
TOPICS = {
    "sport": ["the team won the match", "a late goal in the final", "the striker scored",
              "the coach praised the players", "they lost the game at home",
              "the keeper saved a penalty"],
    "food": ["the soup was warm and salty", "fresh bread and butter", "a spicy curry",
             "the chef cooked rice", "sweet cake with cream", "the sauce needs more garlic"],
    "weather": ["rain all day tomorrow", "a cold wind and snow", "sunny and warm skies",
                "storms on the coast", "fog in the morning", "a hot and humid afternoon"],
}


def _error_line(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


def _topics_csv(tmp_path):
    return _write_csv(tmp_path / "topics.csv",
                      [(text, label) for label, texts in TOPICS.items() for text in texts])


# ----------------------------------------------------------------------- predict


@pytest.mark.multi_backend
def test_predict_preset_prints_a_table_with_a_header(capsys):
    status = main(["predict", "--preset", SENTIMENT, "--text", "a gorgeous, witty film.",
                   "--text", "the plot is a tedious, lifeless mess."])
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Loaded bundle bigru_sentiment_en from preset {SENTIMENT}"
    assert lines[1].split("\t") == ["row", "text", "label", "probability (of that label)"]
    assert [line.split("\t")[2] for line in lines[2:]] == ["positive", "negative"]


@pytest.mark.multi_backend
def test_predict_preset_json_and_files_match_the_bundle(tmp_path, capsys):
    texts = ["not bad at all", "a dull, lifeless film."]
    expected = presets.from_preset(SENTIMENT).predict(texts)
    status = main(["predict", "--preset", SENTIMENT, "--text", texts[0], "--text", texts[1],
                   "--format", "json"])
    assert status == 0
    records = json.loads(capsys.readouterr().out)
    assert [record["text"] for record in records] == texts
    got = np.array([[record["p_negative"], record["p_positive"]] for record in records])
    np.testing.assert_allclose(got, expected, atol=1e-5)

    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    for extension in ("csv", "jsonl"):
        output = tmp_path / f"out.{extension}"
        assert main(["predict", "--preset", SENTIMENT, "--file", str(source),
                     "--output", str(output)]) == 0
        assert f"wrote 2 predictions to {output}" in capsys.readouterr().out
        content = output.read_text(encoding="utf-8").splitlines()
        if extension == "csv":
            assert content[0] == "text,label,probability,p_negative,p_positive"
            assert len(content) == 3
        else:
            assert [json.loads(line)["text"] for line in content] == texts


@pytest.mark.multi_backend
def test_predict_series_preset_reads_an_npz(capsys):
    with np.load(SLICE, allow_pickle=False) as stored:
        x, labels = stored["x"], stored["labels"]
    status = main(["predict", "--preset", VOWELS, "--npz", SLICE, "--format", "json"])
    assert status == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(x)
    best = [int(record["label"].split("_")[1]) - 1 for record in records]
    assert np.mean(np.array(best) == labels) > 0.9


def test_predict_tagger_preset_gives_one_tag_per_word(capsys):
    sentences = ["Bu bir kitap .", "Ankara Türkiye'nin başkentidir ve çok güzel bir şehirdir ."]
    status = main(["predict", "--preset", "pos_turkish", "--format", "json",
                   "--text", sentences[0], "--text", sentences[1]])
    assert status == 0
    records = json.loads(capsys.readouterr().out)
    bundle = presets.from_preset("pos_turkish", compile=False)
    lengths = (bundle.preprocess(sentences) != 0).sum(axis=1)
    assert [len(record["labels"]) for record in records] == lengths.tolist()
    assert set(records[0]["labels"]) <= set(bundle.labels)


def test_predict_language_model_preset_names_the_next_character(capsys):
    prompt = "To be, or not to b"
    status = main(["predict", "--preset", "char_shakespeare_en", "--format", "json",
                   "--text", prompt])
    assert status == 0
    (record,) = json.loads(capsys.readouterr().out)
    bundle = presets.from_preset("char_shakespeare_en", compile=False)
    expected = bundle.predict([prompt])[0, len(prompt) - 1]
    assert record["label"] == bundle.char_vocabulary.decode([int(expected.argmax())])
    assert record["probability"] == pytest.approx(float(expected.max()), abs=1e-5)


def test_predict_unknown_preset_exits_2_listing_the_presets(capsys):
    assert main(["predict", "--preset", "sentiment_imdb", "--text", "good"]) == 2
    line = _error_line(capsys)
    assert "--preset sentiment_imdb: no such preset" in line
    for name in presets.list_presets():
        assert name in line


@pytest.mark.parametrize("argv, message", [
    (["predict", "--text", "good"], "PATH"),
    (["predict", "some/folder", "--preset", SENTIMENT, "--text", "good"], "not both"),
    (["predict", "--preset", VOWELS, "--text", "good"], "reads arrays [n, time, features]"),
    (["predict", "--preset", "chorales_bach", "--text", "C4"], "give them with --npz"),
])
def test_predict_preset_bad_usage_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    assert message in _error_line(capsys)


# ------------------------------------------------------------------------- train


def _tuned_on_topics(folder):
    """Check the sentiment preset fine-tuned on TOPICS in `folder`; `(before, after)` scores.

    `before` is a fresh 3-class head on the preset (the run's start, seed 0),
    `after` the tuned bundle, both evaluated on every TOPICS sentence.
    """
    import keras

    tuned, base = Bundle.load(folder), presets.from_preset(SENTIMENT)
    assert tuned.labels == ("food", "sport", "weather")
    assert tuned.vectorizer.vocabulary == base.vectorizer.vocabulary
    assert tuned.vectorizer.max_length == base.vectorizer.max_length
    assert tuned.metrics["fine_tuned_from"] == SENTIMENT
    texts = [text for texts in TOPICS.values() for text in texts]
    y = np.array([tuned.labels.index(label) for label, texts in TOPICS.items()
                  for _ in texts])
    keras.utils.set_random_seed(0)
    fresh = presets.from_preset(SENTIMENT, num_classes=3)
    x = fresh.preprocess(texts)
    return (fresh.model.evaluate(x, y, verbose=0, return_dict=True),
            tuned.model.evaluate(x, y, verbose=0, return_dict=True))


@pytest.mark.multi_backend
def test_train_preset_replaces_the_head_and_improves_on_new_labels(tmp_path, capsys):
    data = _topics_csv(tmp_path)
    out = tmp_path / "topics"
    status = main(["train", data, "--preset", SENTIMENT, "-o", str(out), "--epochs", "25",
                   "--batch-size", "6", "--validation-split", "0", "--patience", "25",
                   "--learning-rate", "0.005", "--no-tensorboard"])
    assert status == 0
    printed = capsys.readouterr().out
    assert f"fine-tuning preset {SENTIMENT}: vocabulary kept, head replaced (3 classes)" \
        in printed
    before, after = _tuned_on_topics(out)
    assert after["loss"] < before["loss"]
    assert after["accuracy"] > before["accuracy"]
    assert after["accuracy"] >= 0.9


@pytest.mark.multi_backend
def test_train_preset_keeps_the_head_when_the_labels_are_the_presets(tmp_path, capsys):
    rows = [("a warm, funny and moving film", "positive"), ("a dull, lifeless mess", "negative"),
            ("the best picture of the year", "positive"), ("tedious and far too long", "negative")]
    out = tmp_path / "tuned"
    status = main(["train", _write_csv(tmp_path / "reviews.csv", rows), "--preset", SENTIMENT,
                   "-o", str(out), "--epochs", "1", "--validation-split", "0",
                   "--no-tensorboard"])
    assert status == 0
    assert "head kept (2 classes)" in capsys.readouterr().out
    # The CSV names "positive" first; the ids follow the preset's order.
    assert Bundle.load(out).labels == ("negative", "positive")


def test_streamed_fine_tuning_keeps_the_vocabulary_and_learns_new_labels(tmp_path, capsys):
    out = tmp_path / "stream"
    assert main(["train", _topics_csv(tmp_path), "--preset", SENTIMENT, "--stream",
                 "--epochs", "6", "--batch-size", "6", "--learning-rate", "0.01",
                 "--validation-split", "0.2", "--no-tensorboard", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "head replaced (3 classes)" in printed
    assert "14 training, 4 validation examples" in printed  # split_indices' rule
    assert "adapting the vocabulary" not in printed
    before, after = _tuned_on_topics(out)
    assert after["loss"] < before["loss"]


def test_streamed_fine_tuning_of_a_series_preset_keeps_its_label_order(tmp_path, capsys):
    # The slice's class names in reverse order: ids must be mapped to the preset's.
    sliced = np.load(SLICE)
    names = list(presets.from_preset(VOWELS).labels)
    order = names[::-1]
    data = tmp_path / "reversed.npz"
    np.savez(data, x=sliced["x"],
             labels=np.array([order.index(names[i]) for i in sliced["labels"]]),
             class_names=np.array(order))
    out = tmp_path / "tuned"
    assert main(["train", str(data), "--preset", VOWELS, "--stream", "--epochs", "1",
                 "--validation-split", "0", "--learning-rate", "1e-9", "--no-tensorboard",
                 "-o", str(out)]) == 0
    assert "head kept" in capsys.readouterr().out
    tuned, base = Bundle.load(out), presets.from_preset(VOWELS)
    assert tuned.labels == base.labels
    # A learning rate of 1e-9 leaves the weights as they were: the same predictions.
    np.testing.assert_allclose(tuned.predict(sliced["x"]), base.predict(sliced["x"]),
                               atol=1e-4)


@pytest.mark.parametrize("extra, expected", [
    (["--adapt-sample", "10"], "--adapt-sample fits a new vocabulary"),
])
def test_streamed_fine_tuning_refuses_what_it_cannot_keep(tmp_path, capsys, extra, expected):
    assert main(["train", _topics_csv(tmp_path), "--preset", SENTIMENT, "--stream",
                 "-o", str(tmp_path / "o"), *extra]) == 2
    assert expected in _error_line(capsys)


def test_streamed_fine_tuning_refuses_series_of_other_features_or_targets(tmp_path, capsys):
    npz = tmp_path / "series.npz"
    np.savez(npz, x=np.ones((4, 3, 5), "float32"), labels=np.array([0, 1, 0, 1]))
    assert main(["train", str(npz), "--preset", VOWELS, "--stream",
                 "-o", str(tmp_path / "a")]) == 2
    assert "reads 12 features per step" in _error_line(capsys)
    np.savez(npz, x=np.ones((4, 3, 12), "float32"), targets=np.ones(4, "float32"))
    assert main(["train", str(npz), "--preset", VOWELS, "--stream",
                 "-o", str(tmp_path / "b")]) == 2
    assert "holds `targets`, not `labels`" in _error_line(capsys)
    # No scaler is fitted, but every row is still checked before training.
    x = np.ones((4, 3, 12), "float32")
    x[1, 0, 5] = np.nan
    np.savez(npz, x=x, labels=np.array([0, 1, 0, 1]))
    assert main(["train", str(npz), "--preset", VOWELS, "--stream",
                 "-o", str(tmp_path / "c")]) == 2
    assert "record 2, step 1: value nan" in _error_line(capsys)
    assert not any((tmp_path / name / "model.keras").exists() for name in "abc")


def test_train_preset_refuses_data_of_the_other_kind(tmp_path, capsys):
    npz = tmp_path / "series.npz"
    np.savez(npz, x=np.ones((4, 3, 12), "float32"), lengths=np.full(4, 3),
             labels=np.array([0, 1, 0, 1]))
    assert main(["train", str(npz), "--preset", SENTIMENT, "-o", str(tmp_path / "a")]) == 2
    line = _error_line(capsys)
    assert SENTIMENT in line and "reads text" in line and "series features" in line
    assert main(["train", _topics_csv(tmp_path), "--preset", VOWELS,
                 "-o", str(tmp_path / "b")]) == 2
    line = _error_line(capsys)
    assert VOWELS in line and "reads series features" in line and "is text" in line


@pytest.mark.parametrize("extra, flag", [
    (["--units", "8"], "--units"), (["--model", "lstm_text_classifier"], "--model"),
    (["--tokenizer", "mediapipe"], "--tokenizer"), (["--max-tokens", "50"], "--max-tokens"),
])
def test_train_preset_refuses_model_and_vocabulary_flags(tmp_path, capsys, extra, flag):
    argv = ["train", _topics_csv(tmp_path), "--preset", SENTIMENT, "-o", str(tmp_path / "o")]
    assert main(argv + extra) == 2
    line = _error_line(capsys)
    assert "keeps the preset's model and vocabulary" in line and flag in line


def test_train_unknown_preset_exits_2_listing_the_presets(tmp_path, capsys):
    assert main(["train", _topics_csv(tmp_path), "--preset", "nope", "-o",
                 str(tmp_path / "o")]) == 2
    line = _error_line(capsys)
    assert all(name in line for name in presets.list_presets())


def test_prepare_fine_tuning_refuses_series_with_other_features():
    from rnn_zoo.data import SequenceData

    data = SequenceData(np.ones((4, 3, 5), "float32"), np.full(4, 3), labels=np.array(
        [0, 1, 0, 1], "int32"))
    with pytest.raises(ValueError, match="reads 12 features per step; the data has 5"):
        presets.prepare_fine_tuning(VOWELS, data)
