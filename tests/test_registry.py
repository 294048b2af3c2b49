"""Every named configuration builds (with small sizes) and predicts."""

import importlib

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo import configurations
from rnn_zoo import factories
from rnn_zoo import tasks
from rnn_zoo.configurations import CONFIGURATIONS

SMALL = {"units": 4}


def _small_overrides(name):
    entry = CONFIGURATIONS[name]
    config = entry["config"]
    overrides = {"units": [4] * config.get("depth", 1)}
    if "vocab_size" in config:
        overrides["vocab_size"] = 30
    if tasks.get_task(entry["task"]).tokens:
        overrides["embedding_dim"] = 4
    if entry["task"] == "bag_of_embeddings":
        overrides.pop("units")
        overrides["hidden_units"] = 4
    return overrides


def _input_for(model):
    spec = model.inputs[0]
    if spec.dtype.startswith("int"):
        return np.array([[3, 7, 9, 0], [4, 0, 0, 0]], "int32")
    return np.random.default_rng(0).normal(size=(2, 4, spec.shape[-1])).astype("float32")


def test_registry_has_at_least_a_dozen_named_configurations():
    names = rnn_zoo.list_models()
    assert len(names) >= 12
    for expected in ("lstm_text_classifier", "bigru_sequence_tagger", "stacked_lstm_forecaster",
                     "bag_of_embeddings", "lstm_language_model"):
        assert expected in names
    assert names == sorted(names)


@pytest.mark.multi_backend
@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_registered_model_builds_and_predicts(name):
    model = rnn_zoo.build_model(name, **_small_overrides(name))
    assert model.name == name
    out = model.predict(_input_for(model), verbose=0)
    assert out.shape[0] == 2 and np.all(np.isfinite(out))


def test_build_model_applies_overrides_over_the_configuration():
    model = rnn_zoo.build_model("bigru_sequence_tagger", vocab_size=40, num_tags=7, units=5,
                                embedding_dim=3, compile_model=False)
    assert model.output_shape == (None, None, 7)
    assert not model.compiled
    renamed = rnn_zoo.build_model("lstm_text_classifier", vocab_size=40, cell="gru",
                                  bidirectional=True, compile_model=False)
    assert renamed.name == "bigru_text_classifier"
    description = rnn_zoo.describe_model("bigru_sequence_tagger")
    assert description["task"] == "sequence_tagger"
    assert description["config"]["bidirectional"] is True


def test_every_configuration_names_a_registered_task_and_its_factory_arguments():
    for name, entry in CONFIGURATIONS.items():
        assert set(entry) == {"task", "description", "config"}, name
        factory = tasks.get_task(entry["task"]).factory_function()
        unknown = set(entry["config"]) - set(factory.__code__.co_varnames)
        assert not unknown, (name, unknown)


def test_describe_model_returns_a_copy_the_caller_may_change():
    description = rnn_zoo.describe_model("stacked_lstm_text_classifier")
    description["config"]["units"].append(999)
    assert CONFIGURATIONS["stacked_lstm_text_classifier"]["config"]["units"] == [128, 64]


def test_configuration_functions_are_one_object_everywhere():
    for name in ("list_models", "describe_model", "build_model"):
        assert getattr(rnn_zoo, name) is getattr(configurations, name)
        assert getattr(factories, name) is getattr(configurations, name)


def test_presets_name_is_a_deprecated_alias_of_configurations():
    with pytest.warns(DeprecationWarning, match="CONFIGURATIONS"):
        from rnn_zoo.factories import PRESETS
    assert PRESETS is CONFIGURATIONS
    with pytest.warns(DeprecationWarning, match="factories._preset is deprecated"):
        entry = factories._preset("text_classifier", "mine", vocab_size=10)
    assert entry == {"task": "text_classifier", "description": "mine",
                     "config": {"vocab_size": 10}}


def test_unknown_configuration_name_raises_naming_the_argument():
    with pytest.raises(ValueError, match="argument `name`.*Received: name='nope'"):
        rnn_zoo.build_model("nope")
    with pytest.raises(ValueError, match="argument `name`"):
        rnn_zoo.describe_model("nope")


def test_every_public_name_loads_lazily_from_its_module():
    for name, module in rnn_zoo._LAZY_NAMES.items():
        assert getattr(rnn_zoo, name) is getattr(
            importlib.import_module(f"rnn_zoo.{module}"), name), name
    for module in rnn_zoo._LAZY_MODULES:
        assert getattr(rnn_zoo, module) is importlib.import_module(f"rnn_zoo.{module}")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr(rnn_zoo, "nope")
