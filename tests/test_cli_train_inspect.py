"""`rnn-zoo train` and `rnn-zoo inspect` end to end on tiny files.

TF only: the command-line plumbing is backend-independent; training and gate
recomputation are tested on every backend in test_train and test_gates.
"""

import json

import numpy as np
import pytest

from rnn_zoo.cli import main

SENTENCES = [("the food was good", "pos"), ("the food was not good", "neg"),
             ("the view is lovely", "pos"), ("the plot was dull", "neg")]


def _write_csv(path, rows=24):
    lines = ["text,label"] + [f'"{text}",{label}'
                              for text, label in (SENTENCES * rows)[:rows]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_train_then_inspect_a_text_model(tmp_path, capsys):
    out = tmp_path / "model"
    status = main(["train", _write_csv(tmp_path / "reviews.csv"), "--output-dir", str(out),
                   "--cell", "lstm", "--units", "4", "--embedding-dim", "4",
                   "--epochs", "2", "--batch-size", "8", "--no-tensorboard"])
    assert status == 0
    for name in ("model.keras", "vocab.txt", "text_vectorizer.json", "labels.txt",
                 "metrics.json", "metadata.json", "run/checkpoints/best.keras"):
        assert (out / name).exists(), name
    assert (out / "labels.txt").read_text().split() == ["neg", "pos"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2 and len(metrics["history"]["loss"]) == 2
    capsys.readouterr()

    # The bundle folder brings its vocabulary: no --vocab needed.
    png = tmp_path / "gates.png"
    status = main(["inspect", str(out), "--text", "The food wasn't great", "--output", str(png)])
    printed = capsys.readouterr().out
    assert status == 0 and png.read_bytes()[:4] == b"\x89PNG"
    assert "forget" in printed and "5 steps" in printed  # the wasn't -> was n't split

    # The old way (a .keras file, --vocab, and --out) still works, with a warning.
    old_png = tmp_path / "old.png"
    status = main(["inspect", str(out / "model.keras"), "--text", "The food wasn't great",
                   "--vocab", str(out / "vocab.txt"), "--out", str(old_png)])
    captured = capsys.readouterr()
    assert status == 0 and old_png.read_bytes()[:4] == b"\x89PNG"
    assert "5 steps" in captured.out
    assert "--out is deprecated; use --output" in captured.err


def test_train_then_inspect_a_numeric_model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 6, 3)).astype("float32")
    lengths = rng.integers(3, 7, size=20)
    labels = (x[:, 0, 0] > 0).astype("int64")
    data = tmp_path / "series.npz"
    np.savez(data, x=x, lengths=lengths, labels=labels)
    out = tmp_path / "numeric"
    assert main(["train", str(data), "-o", str(out), "--cell", "gru", "--units", "4",
                 "--epochs", "1", "--no-tensorboard", "--weight-noise", "0.05"]) == 0
    assert (out / "model.keras").exists() and not (out / "vocab.txt").exists()
    assert (out / "scaler.json").exists()
    png = tmp_path / "numeric.png"
    assert main(["inspect", str(out), "--npz", str(data), "--index", "2",
                 "--output", str(png)]) == 0
    assert "update" in capsys.readouterr().out and png.exists()


@pytest.mark.parametrize("argv,message", [
    (["train", "data.txt", "-o", "out"], "unsupported file type"),
    (["train", "missing.csv", "-o", "out"], "no such file"),
    (["train", "data.csv", "-o", "out", "--weight-noise", "0"], "--weight-noise must be > 0"),
    (["inspect", "missing.keras", "--text", "hi", "--vocab", "v.txt"], "no such file"),
    (["inspect", "missing_folder", "--text", "hi"], "no such file"),
    (["train", "data.csv", "-o", "out", "--validation-split", "1"], "--validation-split"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    _write_csv(tmp_path / "data.csv")
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1
