"""Search specs: the shipped specs parse, and bad input fails in one line before any trial."""

import glob
import os
import warnings

import numpy as np
import pytest

from rnn_zoo.bundle import split_indices
from rnn_zoo.commands import tune
from rnn_zoo.data import SequenceScaler
from rnn_zoo.data import generators
from rnn_zoo.text import TextVectorizer
from rnn_zoo.tuning import load_spec
from rnn_zoo.tuning import parse_spec
from rnn_zoo.tuning.specs import load_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "tuning", "*.toml"))))
def test_shipped_specs_are_valid_and_use_no_deprecated_key(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        spec = load_spec(path)
    assert spec.budget["max_trials"] >= 1 and spec.task
    assert 0 < spec.dataset["validation_split"] < 1


@pytest.mark.parametrize("overrides, expected", [
    (dict(colour="red"), "unknown key(s) ['colour']. Expected some of ('name'"),
    (dict(dataset={"name": "imdb"}), "`dataset.name`. Expected one of ("),
    (dict(space={"narrow": {"units": []}}), "empty list of values for `units`"),
    (dict(objective="val_accuracy"), "Expected one of ('loss', 'mae', 'val_loss', 'val_mae')"),
    (dict(budget={"max_trials": 0}), "budget.max_trials: expected an integer >= 1"),
    (dict(budget={"epochs": -2}), "budget.epochs: expected an integer >= 1"),
    (dict(tuner="grid"), "`tuner`. Expected one of ('random', 'hyperband', 'bayesian')"),
    (dict(dataset={"validation_split": 1.5}), "`dataset.validation_split` must be in (0, 1)"),
    (dict(dataset={"validation_split": 0.2, "validation_fraction": 0.2}),
     "has both `validation_fraction` and `validation_split`"),
    (dict(dataset={"scale": "yes"}), "`dataset.scale` must be true or false"),
    (dict(cv_folds=0), "cv_folds: expected an integer >= 1"),
    (dict(budget={"max_time": 0}), "budget.max_time: expected a number of minutes > 0"),
])
def test_bad_spec_is_one_clear_line_before_any_trial(tmp_path, capsys, write_spec, overrides,
                                                     expected):
    spec = write_spec("bad.toml", **overrides)
    output = tmp_path / "out"
    code = tune.main([str(spec), "--output-dir", str(output)])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert len(error.splitlines()) == 1 and expected in error, error
    assert not output.exists()  # nothing started


@pytest.mark.parametrize("flags, expected", [
    (["--cv-folds", "0"], "--cv-folds"),
    (["--max-time", "-1"], "--max-time"),
    (["--ensemble", "1"], "--ensemble"),
])
def test_bad_search_flags_are_refused_before_any_trial(tmp_path, capsys, write_spec, flags,
                                                       expected):
    spec = write_spec("good.toml")
    code = tune.main([str(spec), "--output-dir", str(tmp_path / "out"), *flags])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1 and expected in error, error
    assert not (tmp_path / "out").exists()


def test_budget_override_below_one_is_refused(tmp_path, capsys, write_spec):
    spec = write_spec("good.toml")
    code = tune.main([str(spec), "--output-dir", str(tmp_path / "out"), "--max-trials", "0"])
    error = capsys.readouterr().err
    assert code == 2 and "--max-trials" in error and "Expected an integer >= 1" in error
    assert not (tmp_path / "out").exists()


def test_validation_fraction_still_works_with_a_deprecation_warning(spec_dict):
    with pytest.warns(DeprecationWarning, match="`dataset.validation_fraction` is deprecated; "
                      "use `dataset.validation_split`"):
        old = parse_spec(spec_dict(dataset={"validation_fraction": 0.25}))
    new = parse_spec(spec_dict(dataset={"validation_split": 0.25}))
    assert old.dataset == new.dataset and "validation_fraction" not in old.dataset


def test_prepared_data_alias_warns_and_is_the_bundle_type():
    from rnn_zoo import bundle
    from rnn_zoo.tuning import specs

    with pytest.warns(DeprecationWarning, match="use `rnn_zoo.bundle.Prepared`"):
        assert specs.PreparedData is bundle.Prepared


def test_dataset_is_split_once_and_scaled_with_training_statistics(spec_dict):
    spec = parse_spec(spec_dict(dataset={"num_samples": 40, "validation_split": 0.25,
                                         "seed": 3}))
    prepared = load_dataset(spec)
    data = generators.adding_problem(40, length=4, seed=3)
    train, val = split_indices(40, 0.25, seed=3)
    assert len(prepared.x_train) == 30 and len(prepared.x_val) == 10
    assert isinstance(prepared.preprocessor, SequenceScaler)
    scaler = SequenceScaler.fit(data.select(train))  # the training split only
    np.testing.assert_allclose(prepared.preprocessor.mean, scaler.mean, rtol=1e-6)
    np.testing.assert_allclose(prepared.x_val, scaler.transform(data.select(val)), rtol=1e-6)
    np.testing.assert_allclose(prepared.y_val, data.targets[val].reshape(-1, 1))
    assert prepared.task_args == {"output_dim": 1, "num_features": 2}
    assert prepared.x_test is None


def test_scale_false_keeps_the_series_raw(spec_dict):
    prepared = load_dataset(parse_spec(spec_dict(dataset={"scale": False, "num_samples": 20})))
    data = generators.adding_problem(20, length=4, seed=0)
    train, _ = split_indices(20, 0.2, seed=0)
    assert prepared.preprocessor is None
    np.testing.assert_array_equal(prepared.x_train, data.x[train])


def test_text_dataset_vocabulary_comes_from_the_training_split(spec_dict):
    spec = parse_spec(spec_dict(task="text_classifier", objective="val_accuracy",
                                dataset={"name": "negation_sentiment", "num_samples": 60,
                                         "length": None},
                                space={"fixed": {"bidirectional": None}}))
    prepared = load_dataset(spec)
    data = generators.negation_sentiment(60, seed=0)
    train, _ = split_indices(60, 0.2, seed=0)
    expected = TextVectorizer()
    expected.adapt([data.texts[i] for i in train])
    assert prepared.vectorizer.vocabulary == expected.vocabulary
    assert prepared.task_args == {"vocab_size": prepared.vectorizer.vocab_size,
                                  "num_classes": 2}
    assert prepared.labels == data.class_names
