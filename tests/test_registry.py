"""Every registered configuration builds (with small sizes) and predicts."""

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.factories import PRESETS

SMALL = {"units": 4}


def _small_overrides(name):
    preset = PRESETS[name]
    config = preset["config"]
    overrides = {"units": [4] * config.get("depth", 1)}
    if "vocab_size" in config:
        overrides["vocab_size"] = 30
    if "embedding_dim" in config or preset["task"] in (
            "text_classifier", "sequence_tagger", "language_model", "bag_of_embeddings"):
        overrides["embedding_dim"] = 4
    if preset["task"] == "bag_of_embeddings":
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
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_registered_model_builds_and_predicts(name):
    model = rnn_zoo.build_model(name, **_small_overrides(name))
    assert model.name == name
    out = model.predict(_input_for(model), verbose=0)
    assert out.shape[0] == 2 and np.all(np.isfinite(out))


def test_build_model_applies_overrides_over_the_preset():
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
