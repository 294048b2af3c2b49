"""Generative presets: the Shakespeare character model and the Bach chorale model.

Both load offline on every backend, predict per-step distributions, and
`generate` the same output for the same seed. Their TFLite files match their
models, `rnn-zoo generate` writes text and a MIDI file that music21 reads
back, and bad input gets one line and exit status 2. The Shakespeare preset
is rescored on a slice of its test plays (public domain) shipped in
`tests/data/presets/`; no chorale ships (music21's corpus licence allows
restrictions on some encodings), so `rnn-zoo presets check` rescores that one.
"""

import json
import os

import numpy as np
import pytest

from rnn_zoo import cli
from rnn_zoo import presets

SHAKESPEARE = "char_shakespeare_en"
CHORALES = "chorales_bach"
LINES = ["To be, or not to be: that is the question.", "KING.\nWhat say you?"]
SLICE = os.path.join(os.path.dirname(__file__), "data", "presets",
                     "char_shakespeare_en_test_slice.json")

_loaded = {}


def _bundle(name):
    """Each preset loaded once per test session."""
    if name not in _loaded:
        _loaded[name] = presets.from_preset(name)
    return _loaded[name]


def _frames(steps=12, seed=0):
    """Four-voice chord frames (G major and D major), one per quarter note."""
    chords = [[31, 50, 59, 67], [38, 57, 66, 74]]  # G1 D3 B3 G4 / D2 A3 F#4 D5 (MIDI)
    frames = np.zeros((steps, 88), dtype=np.float32)
    for t in range(steps):
        frames[t, np.asarray(chords[(t // 2) % 2]) - 21] = 1
    return frames


@pytest.mark.multi_backend
def test_shakespeare_preset_loads_offline_and_predicts_next_characters():
    bundle = _bundle(SHAKESPEARE)
    probabilities = bundle.predict(LINES)
    vocab = bundle.char_vocabulary
    assert vocab is bundle.preprocessor and bundle.task == "language_model"
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (2, max(map(len, LINES)), vocab.vocab_size)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-4)
    # After "that is the questio" the model is sure of "n".
    text = LINES[0]
    at = text.index("question") + len("questio") - 1
    assert vocab.characters[probabilities[0, at].argmax() - 2] == "n"
    assert bundle.card.startswith(f"# {SHAKESPEARE}")
    assert "Licence" in bundle.card and "same-run baseline" in bundle.card
    assert f"presets build {SHAKESPEARE}" in bundle.card


@pytest.mark.multi_backend
def test_chorale_preset_loads_offline_and_predicts_next_frames():
    bundle = _bundle(CHORALES)
    frames = _frames()
    batch = np.stack([frames, np.where(np.arange(12)[:, None] < 8, frames, -1.0)])
    probabilities = bundle.predict(batch)
    assert probabilities.dtype == np.float32 and probabilities.shape == (2, 12, 88)
    assert ((probabilities > 0) & (probabilities < 1)).all()
    # Padding (-1 frames) does not change the real steps' outputs.
    np.testing.assert_allclose(probabilities[1, :8], probabilities[0, :8], atol=1e-5)
    assert bundle.labels[0] == "A0" and bundle.labels[-1] == "C8" and len(bundle.labels) == 88
    assert bundle.generation_kind() == "frames"
    assert "Chung" in bundle.card and "same-run baseline" in bundle.card


@pytest.mark.multi_backend
def test_shakespeare_slice_scores_what_the_card_says():
    from rnn_zoo.recipes import shakespeare

    bundle = _bundle(SHAKESPEARE)
    blocks = shakespeare.read_slice(SLICE)
    bits, _ = shakespeare.lm_scores(bundle, blocks)
    metrics = bundle.metrics
    assert metrics["slice_blocks"] == len(blocks) == 10
    assert all(len(block) == shakespeare.BLOCK for block in blocks)
    # Per-character probabilities differ across backends only in the last bits.
    assert abs(float(bits.mean()) - metrics["slice_bits_per_character"]) < 1e-3
    low, high = metrics["bits_per_character_interval"]
    assert low <= metrics["bits_per_character"] <= high
    assert f"{metrics['bits_per_character']:.3f}" in bundle.card
    assert f"{metrics['slice_bits_per_character']:.3f} bits per character" in bundle.card


@pytest.mark.multi_backend
def test_text_generation_is_deterministic_for_a_seed():
    bundle = _bundle(SHAKESPEARE)
    first = bundle.generate("ROMEO.\n", length=60, temperature=0.8, seed=3)
    assert first == bundle.generate("ROMEO.\n", length=60, temperature=0.8, seed=3)
    assert first.startswith("ROMEO.\n") and len(first) == len("ROMEO.\n") + 60
    assert set(first) <= set(bundle.char_vocabulary.characters)
    assert first != bundle.generate("ROMEO.\n", length=60, temperature=0.8, seed=4)
    default = bundle.generate(length=5)
    assert default.startswith(bundle.metrics["default_prompt"])


@pytest.mark.multi_backend
def test_frame_generation_is_deterministic_for_a_seed():
    bundle = _bundle(CHORALES)
    frames = bundle.generate("G2 D3 B3 G4, D2 A3 F#4 D5", length=16, seed=0)
    assert frames.shape == (18, 88) and frames.dtype == np.float32
    assert set(np.unique(frames)) <= {0.0, 1.0}
    names = [bundle.labels[k] for k in np.flatnonzero(frames[1])]
    assert names == ["D2", "A3", "F#4", "D5"]
    np.testing.assert_array_equal(frames, bundle.generate("G2 D3 B3 G4, D2 A3 F#4 D5",
                                                          length=16, seed=0))
    # An array prompt gives the same as its key names.
    same = bundle.generate(frames[:2], length=16, seed=0)
    np.testing.assert_array_equal(same, frames)
    assert frames[2:].sum() > 0  # it plays something


def test_stepwise_generation_matches_the_whole_model():
    from rnn_zoo.bundle import _Stepper

    for name, inputs in ((SHAKESPEARE, _bundle(SHAKESPEARE).preprocess(LINES[:1])[0]),
                         (CHORALES, _frames(10))):
        model = _bundle(name).model
        stepper = _Stepper(model)
        for step in inputs:
            probabilities = stepper.step(np.asarray(step)[None])
        assert stepper.plan is not None, f"{name}: fell back to re-running the model"
        whole = model.predict(np.asarray(inputs)[None], verbose=0)[0, -1]
        np.testing.assert_allclose(probabilities, whole, atol=1e-5)


def test_generate_refuses_a_model_that_does_not_generate():
    from rnn_zoo import build_text_classifier
    from rnn_zoo.bundle import Bundle

    bundle = Bundle(build_text_classifier(vocab_size=20, units=4, embedding_dim=4),
                    task="text_classifier")
    with pytest.raises(ValueError, match="task is 'text_classifier'"):
        bundle.generate("hello", length=5)


@pytest.mark.parametrize("arguments, named", [
    ({"length": 0}, "length"), ({"length": 2.5}, "length"), ({"length": 10**6}, "length"),
    ({"temperature": 0}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"seed": -1}, "seed"), ({"prompt": ""}, "prompt"), ({"prompt": 5}, "prompt"),
])
def test_bad_generate_arguments_are_named(arguments, named):
    with pytest.raises(ValueError, match=f"`{named}`"):
        _bundle(SHAKESPEARE).generate(**dict({"prompt": "A"}, **arguments))


def test_a_frame_prompt_naming_no_key_is_refused():
    with pytest.raises(ValueError, match="'H9'"):
        _bundle(CHORALES).generate("C4 H9", length=2)
    with pytest.raises(ValueError, match="prompt"):
        _bundle(CHORALES).generate(np.full((2, 88), 0.5), length=2)


def test_char_vocabulary_round_trips_and_a_damaged_file_is_named(tmp_path):
    from rnn_zoo.bundle import Bundle
    from rnn_zoo.bundle import CharVocabulary

    bundle = _bundle(SHAKESPEARE)
    bundle.save(tmp_path / "copy")
    again = Bundle.load(tmp_path / "copy")
    assert again.char_vocabulary.characters == bundle.char_vocabulary.characters
    np.testing.assert_array_equal(again.preprocess(LINES), bundle.preprocess(LINES))
    vocab = CharVocabulary.adapt("abca")
    assert vocab.characters == ("a", "b", "c") and vocab.decode(vocab.encode("cab!")) == \
        "cab\ufffd"
    path = tmp_path / "copy" / "char_vocab.json"
    path.write_text(json.dumps({"format_version": 1, "characters": ["a", "a"]}))
    with pytest.raises(ValueError, match="char_vocab.json.*distinct"):
        Bundle.load(tmp_path / "copy")
    path.write_text("[1, 2")
    with pytest.raises(ValueError, match="char_vocab.json: not valid JSON"):
        Bundle.load(tmp_path / "copy")


@pytest.mark.parametrize("name", [SHAKESPEARE, CHORALES])
def test_generative_preset_tflite_file_matches_its_model(name):
    from rnn_zoo.recipes import common

    bundle = _bundle(name)
    if name == SHAKESPEARE:
        rows = [row[row != 0] for row in bundle.preprocess(LINES)]
    else:
        rows = [_frames(12), _frames(5)]
    difference = common.tflite_difference(bundle, presets.preset_folder(name), rows)
    assert difference <= common.TFLITE_TOLERANCE


@pytest.mark.parametrize("name", [SHAKESPEARE, CHORALES])
def test_generative_preset_cards_state_figures_beside_the_baseline(name):
    bundle = _bundle(name)
    m = bundle.metrics
    key = m["headline"]
    assert m["lower_is_better"] is True
    assert m[f"{key}_interval"][0] <= m[key] <= m[f"{key}_interval"][1]
    decimals = 3 if name == SHAKESPEARE else 2
    assert f"{m[key]:.{decimals}f}" in bundle.card
    assert f"{m[f'baseline_{key}']:.{decimals}f}" in bundle.card
    beats = m[f"baseline_{key}"] > m[key] and not m["intervals_overlap"]
    section = bundle.card.split("## Metrics")[1].split("\n## ")[0]
    assert ("beats" in section) == beats
    if not beats:
        assert "NOT" in section
    if name == CHORALES:
        assert ("It meets the goal" in section) == (m[key] <= 8.9)
    assert 0 < presets.check_folder(presets.preset_folder(name)) <= presets.MAX_PRESET_BYTES
    for form in m["tflite"]["forms"]:
        assert f"| {form['bytes']:,} |" in bundle.card
    entry = presets.describe_preset(name)
    assert entry["headline"] == (f"{key} {m[key]:.3f} (baseline "
                                 f"{m[f'baseline_{key}']:.3f})")


def _generate(argv, capsys):
    status = cli.main(["generate", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_generate_writes_text(tmp_path, capsys):
    path = tmp_path / "out" / "play.txt"
    status, out, err = _generate([SHAKESPEARE, "-o", str(path), "--prompt", "KING.",
                                  "--length", "80", "--seed", "2"], capsys)
    assert status == 0, err
    text = path.read_text(encoding="utf-8")
    assert text.startswith("KING.") and len(text.rstrip("\n")) >= len("KING.") + 79
    assert text == _bundle(SHAKESPEARE).generate("KING.", length=80, seed=2) + "\n" or \
        text == _bundle(SHAKESPEARE).generate("KING.", length=80, seed=2)
    assert str(path) in out


def test_cli_generate_writes_a_midi_file_music21_reads(tmp_path, capsys):
    import music21

    path = tmp_path / "chorale.mid"
    status, out, err = _generate([CHORALES, "-o", str(path), "--length", "24"], capsys)
    assert status == 0, err
    score = music21.converter.parse(str(path))
    notes = list(score.recurse().notes)
    assert notes and "notes" in out
    pitches = {p.midi for n in notes for p in n.pitches}
    assert min(pitches) >= 21 and max(pitches) <= 108
    first = music21.converter.parse(str(path)).flatten().notes
    assert {p.nameWithOctave for n in first.getElementsByOffset(0) for p in n.pitches} >= \
        {"G2", "D3", "B3", "G4"}


@pytest.mark.parametrize("argv, expected", [
    (["no_such_preset", "-o", "x.txt"], "char_shakespeare_en"),
    (["sentiment_rotten_tomatoes_en", "-o", "x.txt"], "does not generate"),
    ([SHAKESPEARE, "-o", "x.txt", "--length", "0"], "--length"),
    ([SHAKESPEARE, "-o", "x.txt", "--length", "ten"], "--length"),
    ([SHAKESPEARE, "-o", "x.txt", "--temperature", "-1"], "--temperature"),
    ([SHAKESPEARE, "-o", "x.txt", "--seed", "-3"], "--seed"),
    ([CHORALES, "-o", "x.txt"], ".mid"),
])
def test_cli_generate_bad_input_exits_2_with_one_line(argv, expected, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = _generate(argv, capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and expected in err
    assert not os.path.exists(tmp_path / "x.txt")
