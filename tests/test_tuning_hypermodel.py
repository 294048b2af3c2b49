"""RNNHyperModel: the space, its conditional units, fixed/narrow/extra, batch size in fit."""

import keras
import keras_tuner
import numpy as np
import pytest

from rnn_zoo import cudnn
from rnn_zoo import tasks
from rnn_zoo.tuning import RNNHyperModel


def _units(model):
    return [
        (layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer).units
        for layer in cudnn.recurrent_layers(model)
    ]


@pytest.mark.multi_backend
def test_default_space_only_holds_cudnn_eligible_models():
    hypermodel = RNNHyperModel("text_classifier", vocab_size=20, num_classes=2,
                               narrow={"units": [4], "embedding_dim": [4]})
    for cell in hypermodel.space["cell"]["values"]:
        hp = keras_tuner.HyperParameters()
        hp.values.update(cell=cell, depth=2, bidirectional=True)
        model = hypermodel.build(hp)
        reasons = [cudnn.configuration_reasons(layer) for layer in cudnn.recurrent_layers(model)]
        assert reasons == [[], []], (cell, reasons)
    assert "simple_rnn" not in hypermodel.space["cell"]["values"]


@pytest.mark.multi_backend
def test_units_of_layer_k_are_active_only_when_depth_reaches_k():
    hypermodel = RNNHyperModel("sequence_regressor", num_features=3, output_dim=1,
                               narrow={"units": [4, 8]}, fixed={"pooling": "last"})
    hp = keras_tuner.HyperParameters()
    hp.values.update(depth=1, units_1=8, units_2=4)
    model = hypermodel.build(hp)
    assert _units(model) == [8]
    assert hp.is_active("units_1") and not hp.is_active("units_2")
    hp = keras_tuner.HyperParameters()
    hp.values.update(depth=2, units_1=8, units_2=4)
    model = hypermodel.build(hp)
    assert _units(model) == [8, 4]
    assert hp.is_active("units_2")
    assert model.predict(np.ones((2, 5, 3), "float32"), verbose=0).shape == (2, 1)


def test_fixed_narrow_and_extra_edit_the_space():
    hypermodel = RNNHyperModel(
        "sequence_classifier", num_features=2, num_classes=3,
        fixed={"cell": "gru"},
        narrow={"units": [8, 16], "units_2": [4], "learning_rate": {"min": 1e-3, "max": 1e-2}},
        extra={"optimizer": ["adamw"], "dropout": {"min": 0.0, "max": 0.6}, "depth": [3]})
    space = hypermodel.space
    assert space["cell"] == {"values": ["gru"]}
    assert space["units_1"] == {"values": [8, 16]} and space["units_2"] == {"values": [4]}
    assert space["units_3"] == {"values": [8, 16]}
    assert space["depth"]["values"] == [1, 2, 3]
    assert space["optimizer"]["values"] == ["adam", "rmsprop", "adamw"]
    assert space["dropout"]["max"] == 0.6
    assert "embedding_dim" not in space  # numeric input: no embedding
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    assert hp.values["cell"] == "gru" and hp.values["optimizer"] == "adam"


def test_language_model_space_is_never_bidirectional_and_has_no_pooling():
    hypermodel = RNNHyperModel("language_model", vocab_size=10)
    assert "bidirectional" not in hypermodel.space and "pooling" not in hypermodel.space
    with pytest.raises(ValueError, match="unknown hyperparameter.*pooling"):
        RNNHyperModel("language_model", vocab_size=10, fixed={"pooling": "mean"})


@pytest.mark.parametrize("task", list(tasks.RECURRENT_TASKS))
def test_space_and_objectives_follow_the_task_registry(task):
    entry = tasks.TASKS[task]
    hypermodel = RNNHyperModel(task)
    assert ("bidirectional" in hypermodel.space) == entry.bidirectional
    assert ("pooling" in hypermodel.space) == entry.pooled
    assert ("embedding_dim" in hypermodel.space) == entry.tokens
    assert hypermodel.objectives(validation=False) == ("loss",) + tuple(entry.metrics)


def test_task_without_recurrent_layers_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="argument `task`.*Received: task='bag_of_embeddings'"):
        RNNHyperModel("bag_of_embeddings", vocab_size=10)


@pytest.mark.parametrize("kwargs, match", [
    (dict(narrow={"cell": []}), "empty list of values for `cell`"),
    (dict(narrow={"dropout": {"min": 0.3, "max": 0.1}}), "empty range for `dropout`"),
    (dict(fixed={"cell": "transformer"}), "Expected one of .*lstm"),
    (dict(narrow={"width": [4]}), "unknown hyperparameter.*width.*Expected some of"),
    (dict(vocab=5), "unknown task argument"),
])
def test_bad_space_raises_one_clear_error(kwargs, match):
    arguments = dict(vocab_size=10, num_classes=2)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        RNNHyperModel("text_classifier", **arguments)


@pytest.mark.multi_backend
def test_fit_trains_with_the_trials_batch_size():
    hypermodel = RNNHyperModel("text_classifier", vocab_size=12, num_classes=2,
                               fixed={"batch_size": 8, "units": 4, "embedding_dim": 4,
                                      "depth": 1, "bidirectional": False})
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)

    class CountBatches(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            CountBatches.batches += 1

    x = np.random.default_rng(0).integers(1, 12, size=(32, 5)).astype("int32")
    y = np.arange(32) % 2
    hypermodel.fit(hp, model, x, y, epochs=1, verbose=0, callbacks=[CountBatches()])
    assert CountBatches.batches == 32 // 8
