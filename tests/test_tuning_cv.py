"""Cross-validated search: folds, per-fold preprocessors, refit, best/, the report, leaks.

TF backend only (unmarked): the folds and the refit are backend-independent
numpy and `rnn_zoo.bundle.prepare`, and the searches run keras-tuner's loop,
pinned per backend in test_tuning_hypermodel.py; the suite's time budget does
not allow these searches three times.
"""

import dataclasses
import json
import time

import keras_tuner
import numpy as np
import pytest

from rnn_zoo import from_preset
from rnn_zoo.bundle import Bundle
from rnn_zoo.commands import tune
from rnn_zoo.data import SequenceData
from rnn_zoo.data import generators
from rnn_zoo.data import load_japanese_vowels
from rnn_zoo.tuning import cv as cv_lib
from rnn_zoo.tuning import parse_spec
from rnn_zoo.tuning import run_search
from rnn_zoo.tuning.runner import RandomSearchOracle
from rnn_zoo.tuning.specs import load_cv

# One small configuration: the searches below test mechanics, not quality.
TINY_SPACE = {"fixed": {"cell": "gru", "depth": 1, "units": 8, "bidirectional": False,
                        "pooling": "last", "batch_size": 16, "dropout": 0.0,
                        "optimizer": "adam", "learning_rate": 0.01}}


def test_stratified_folds_hold_every_row_out_once_with_each_class_in_proportion():
    labels = np.array([0] * 30 + [1] * 12 + [2] * 3)
    folds = cv_lib.fold_indices(len(labels), 3, seed=4, labels=labels)
    held = np.concatenate([h for _, h in folds])
    assert sorted(held.tolist()) == list(range(len(labels)))
    for train, held_out in folds:
        assert not set(train) & set(held_out) and len(train) + len(held_out) == len(labels)
        assert np.bincount(labels[held_out], minlength=3).tolist() == [10, 4, 1]
    assert cv_lib.fold_indices(10, 1, validation_split=0.2)[0][1].size == 2


def test_each_fold_fits_its_preprocessor_on_its_training_part_only():
    data = generators.negation_sentiment(80, seed=2)
    # A word planted in one row: only the fold that trains on that row may know it.
    texts = list(data.texts)
    texts[5] = texts[5] + " zyzzyva"
    cv = cv_lib.prepare_folds(dataclasses.replace(data, texts=texts), "text_classifier", 4)
    for fold in cv.folds:
        known = "zyzzyva" in fold.prepared.preprocessor.vocabulary
        assert known == (5 in fold.train_indices), fold.index
    series = generators.adding_problem(40, length=5, seed=1)
    cv = cv_lib.prepare_folds(series, "sequence_regressor", 2)
    for fold in cv.folds:
        part = series.x[fold.train_indices]
        scaler = fold.prepared.preprocessor
        assert np.allclose(scaler.mean, part.reshape(-1, part.shape[-1]).mean(0), atol=1e-5)
    assert np.allclose(cv.targets, series.targets.reshape(40, -1))


def test_a_spec_without_cv_folds_and_few_rows_uses_five_folds_and_says_so(spec_dict):
    cv = load_cv(parse_spec(spec_dict(cv_folds=None, dataset={"num_samples": 30})))
    assert cv.k == 5 and len(cv.folds) == 5
    assert "no cv_folds" in cv.note and "5-fold" in cv.note
    assert cv_lib.resolve_folds(None, 6000) == (1, None)
    assert cv_lib.resolve_folds(3, 10) == (3, None)


def test_executions_per_trial_average_runs_with_different_seeds_on_every_fold():
    from rnn_zoo.factories import build_sequence_regressor

    cv = cv_lib.prepare_folds(generators.adding_problem(24, length=4, seed=3),
                              "sequence_regressor", 2)

    def build(task_args):
        model = build_sequence_regressor(**task_args, units=4, cell="gru", compile_model=False)
        # Eager: eight one-epoch fits on 12 rows, where tracing would cost more than training.
        model.compile(optimizer="adam", loss="mse", run_eagerly=True)
        return model

    once = cv_lib.cross_validate(cv, build, 1, 8, "val_loss", executions=1, seed=5)
    twice = cv_lib.cross_validate(cv, build, 1, 8, "val_loss", executions=2, seed=5)
    assert len(once.best_epochs) == 2 and len(twice.best_epochs) == 4
    # Execution 0 repeats the single run; execution 1 has its own seed, so the mean moves.
    assert not np.allclose(once.predictions, twice.predictions)
    second = cv_lib.cross_validate(cv, build, 1, 8, "val_loss", executions=1, seed=1005)
    assert np.allclose(twice.predictions, (once.predictions + second.predictions) / 2,
                       atol=1e-5)
    assert twice.fold_values == pytest.approx(
        [(a + b) / 2 for a, b in zip(once.fold_values, second.fold_values)], rel=1e-5)


def test_past_its_deadline_the_oracle_starts_no_trial(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [4, 8])
    oracle = RandomSearchOracle(objective="val_loss", max_trials=5, hyperparameters=hp, seed=1)
    oracle._set_project_dir(str(tmp_path), "search")
    assert oracle.create_trial("tuner0").status == "RUNNING"
    oracle.deadline = time.time() - 1.0
    assert oracle.create_trial("tuner0").status == "STOPPED"
    assert oracle.remaining_trials() == 0


def _vowels_spec(path):
    lines = ['task = "sequence_classifier"', 'tuner = "random"', 'objective = "val_accuracy"',
             "seed = 0", "", "[dataset]", 'name = "japanese_vowels"', "",
             "[budget]", "max_trials = 1", "epochs = 2", "", "[space.fixed]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in TINY_SPACE["fixed"].items()]
    lines += ["", "[task_args]", "mask_value = 0.0"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tune_cross_validates_refits_tests_and_writes_a_loadable_best_bundle(
        tmp_path, capsys, monkeypatch):
    spec = _vowels_spec(tmp_path / "vowels.toml")
    monkeypatch.chdir(tmp_path)
    # No --output-dir: the default is tuning_runs/<spec stem>.
    output = tmp_path / "tuning_runs" / "vowels"
    code = tune.main([str(spec), "--cv-folds", "2", "--export"])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out[-3000:]
    assert "2-fold stratified cross-validation" in out
    summary = json.loads((output / "best.json").read_text())
    keys = ("cv_mean", "cv_std", "test_accuracy", "test_ci95")
    for entry in (summary, summary["default"]):
        assert all(entry[k] is not None for k in keys), entry
        low, high = entry["test_ci95"]
        assert low <= entry["test_accuracy"] <= high and entry["test_samples"] == 370
        assert entry["refit_epochs"] in (1, 2)
    assert summary["cv_folds"] == 2 and summary["chosen"] in ("search", "default")
    assert summary["refit_epochs"] == summary["best"]["best_epoch"]
    # best/ is a bundle; its test accuracy recomputed from the folder is the reported one.
    test = load_japanese_vowels(split="test")
    for folder, entry in (("best", summary), ("default", summary["default"])):
        bundle = Bundle.load(output / folder)
        assert bundle.scaler is not None and len(bundle.labels) == 9
        accuracy = float((bundle.predict(test.x).argmax(-1) == test.labels).mean())
        assert accuracy == pytest.approx(entry["test_accuracy"], abs=1e-6)
        assert bundle.metrics["cv_mean"] == pytest.approx(entry["cv_mean"])
        # A tune folder is also a preset folder: from_preset reads it as it is.
        preset = from_preset(output / folder)
        assert np.allclose(preset.predict(test.x[:8]), bundle.predict(test.x[:8]), atol=1e-6)
        assert preset.metrics["test_accuracy"] == pytest.approx(entry["test_accuracy"])
    metrics = json.loads((output / "best" / "metrics.json").read_text())
    assert all(k in metrics and k in metrics["default"] for k in keys)
    report = (output / "results.md").read_text()
    assert "| search winner |" in report and "| default |" in report
    assert "cv_mean" in report and "test_accuracy" in report and "test_ci95" in report
    # --export ships the CV winner under --output-dir, and says which and which version.
    which = "the search winner" if summary["chosen"] == "search" else "the default"
    assert f"exported {which}" in out and "as version 1 to" in out
    assert (output / "export" / "vowels" / "1" / "manifest.json").is_file()
    captured_after = capsys.readouterr()
    for text in (captured.out, captured.err, captured_after.out, captured_after.err):
        assert "Skipping variable loading" not in text


def test_an_ensemble_bundle_averages_its_members_and_loads(tmp_path):
    from rnn_zoo.factories import build_sequence_classifier

    members = [build_sequence_classifier(3, 4, units=u, name="same") for u in (4, 6)]
    model = cv_lib.average_models(members)
    x = np.random.default_rng(0).normal(size=(5, 7, 3)).astype(np.float32)
    expected = np.mean([cv_lib.predict(m, x) for m in members], axis=0)
    Bundle(model, None, list("abcd"), task="sequence_classifier").save(tmp_path / "b")
    loaded = Bundle.load(tmp_path / "b")
    assert np.allclose(loaded.predict(x), expected, atol=1e-5)


def _npz(path, x, labels):
    np.savez(path, x=x.astype(np.float32), labels=labels.astype(np.int64))
    return path


def test_a_label_copy_planted_in_the_test_split_does_not_raise_cv_scores(tmp_path):
    rng = np.random.default_rng(0)
    n, steps = 64, 4
    labels = np.arange(n) % 2
    noise = rng.normal(size=(n, steps, 2))
    leaky = noise.copy()
    leaky[:, :, 0] = labels[:, None] * 3.0  # channel 0 copies the label
    train = _npz(tmp_path / "train.npz", noise, labels)
    test_labels = np.arange(40) % 2
    test_x = rng.normal(size=(40, steps, 2))
    test_x[:, :, 0] = test_labels[:, None] * 3.0
    test = _npz(tmp_path / "test.npz", test_x, test_labels)
    raw = {"task": "sequence_classifier", "objective": "val_accuracy", "seed": 0,
           "cv_folds": 2, "dataset": {"name": "npz", "path": str(train),
                                      "test_path": str(test)},
           "budget": {"max_trials": 1, "epochs": 6}, "space": TINY_SPACE}
    spec = parse_spec(raw)
    result = run_search(spec, str(tmp_path / "out"))
    # The leak sits only in the test split: CV stays at chance.
    assert result.summary["cv_mean"] < 0.75 and result.summary["default"]["cv_mean"] < 0.75
    assert result.summary["test_split"] and result.summary["test_samples"] == 40
    # Control: the same leak inside the training split is learnt in this budget.
    cv = load_cv(spec, data=SequenceData(x=leaky.astype(np.float32), labels=labels,
                                         lengths=np.full(n, steps), class_names=("0", "1")))
    hypermodel = spec.hypermodel(**cv.task_args)
    hp = keras_tuner.HyperParameters()
    score = cv_lib.cross_validate(
        cv, lambda args: hypermodel.with_task_args(**args).build(hp), 6, 16, "val_accuracy")
    assert score.mean > 0.9
