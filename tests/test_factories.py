"""Every factory x cell x direction builds, trains, predicts and round-trips."""

import itertools

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo import tasks
from rnn_zoo.factories import FACTORIES
from tests.harness import run_model_test
from tests.model_inputs import task_data

# Every recurrent task of the registry, each cell, each direction it allows.
CASES = [
    (task, cell, bidirectional)
    for task, cell, bidirectional in itertools.product(
        tasks.RECURRENT_TASKS, tasks.CELLS, (False, True))
    if tasks.TASKS[task].bidirectional or not bidirectional
]

SMALL = {"units": 4, "learning_rate": 0.05}


@pytest.mark.multi_backend
@pytest.mark.parametrize("task,cell,bidirectional", CASES,
                         ids=[f"{t}-{'bi' if b else ''}{c}" for t, c, b in CASES])
def test_factory_builds_trains_predicts_and_round_trips(task, cell, bidirectional, rng,
                                                        tmp_path):
    x, y, kwargs, expected_shape = task_data(task, rng)
    if tasks.TASKS[task].tokens:
        kwargs["embedding_dim"] = 4
    model = FACTORIES[task](cell=cell, bidirectional=bidirectional, **kwargs, **SMALL)
    run_model_test(model, x, y, expected_shape, tmp_path)


@pytest.mark.multi_backend
def test_bag_of_embeddings_builds_trains_and_round_trips(rng, tmp_path):
    x, y, kwargs, expected_shape = task_data("bag_of_embeddings", rng)
    model = rnn_zoo.build_bag_of_embeddings(embedding_dim=4, hidden_units=4,
                                            learning_rate=0.05, **kwargs)
    run_model_test(model, x, y, expected_shape, tmp_path)


@pytest.mark.multi_backend
@pytest.mark.parametrize("pooling", ["mean", "max", "attention"])
def test_poolings_train_and_round_trip_with_stacked_per_layer_units(pooling, rng, tmp_path):
    x, y, kwargs, expected_shape = task_data("text_classifier", rng)
    model = rnn_zoo.build_text_classifier(cell="gru", depth=2, units=[6, 4], pooling=pooling,
                                          embedding_dim=4, learning_rate=0.05, **kwargs)
    run_model_test(model, x, y, expected_shape, tmp_path)


@pytest.mark.multi_backend
def test_pooling_ignores_padding_steps(rng):
    x, _, kwargs, _ = task_data("text_classifier", rng)
    for pooling in tasks.POOLINGS:
        model = rnn_zoo.build_text_classifier(units=4, embedding_dim=4, pooling=pooling,
                                              compile_model=False, **kwargs)
        short = np.array([[5, 6, 7]], dtype="int32")
        padded = np.array([[5, 6, 7, 0, 0, 0]], dtype="int32")
        np.testing.assert_allclose(model.predict(short, verbose=0),
                                   model.predict(padded, verbose=0), atol=1e-6)


def test_factories_compile_by_default_and_can_skip_it():
    compiled = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4)
    assert compiled.compiled
    raw = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4,
                                        compile_model=False)
    assert not raw.compiled


@pytest.mark.parametrize("task", list(tasks.TASKS))
def test_factories_compile_with_the_registry_loss_metrics_and_input(task, rng):
    _, _, kwargs, _ = task_data(task, rng)
    if tasks.TASKS[task].tokens:
        kwargs["embedding_dim"] = 4
    if tasks.TASKS[task].recurrent:
        kwargs["units"] = 4
    model = tasks.TASKS[task].build(**kwargs)
    config = model.get_compile_config()
    assert config["loss"] == tasks.TASKS[task].loss
    assert config["metrics"] == list(tasks.TASKS[task].metrics)
    assert model.inputs[0].name == tasks.TASKS[task].input_kind
    assert FACTORIES[task] is tasks.TASKS[task].factory_function()
