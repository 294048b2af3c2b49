"""Hostile factory arguments: refused at once, before anything is allocated.

Every factory argument of any type (ints of any size, floats with NaN and inf,
strs, None, bools, lists, NumPy scalars) either passes validation or raises a
`ValueError` naming the argument (or the combination of size arguments and
`rnn_zoo.limits.MAX_PARAMETERS`). `keras.Input` is replaced by a tripwire, so a
refusal is proven to come before any layer or weight exists; valid arguments
then build real models.

TensorFlow only: validation runs before any backend code.
"""

import inspect
import math
import re
import time

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import rnn_zoo
from rnn_zoo import factories
from rnn_zoo import limits
from rnn_zoo import validation
from rnn_zoo.tasks import CELLS
from rnn_zoo.tasks import POOLINGS

_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}

REQUIRED = {
    "text_classifier": {"vocab_size": 20},
    "sequence_classifier": {"num_features": 3, "num_classes": 2},
    "sequence_regressor": {"num_features": 3},
    "sequence_tagger": {"vocab_size": 20, "num_tags": 3},
    "language_model": {"vocab_size": 20},
    "bag_of_embeddings": {"vocab_size": 20},
}


class _Allocated(Exception):
    """Raised by the tripwire: validation passed and building began."""


@pytest.fixture
def tripwire(monkeypatch):
    def refuse(*args, **kwargs):
        raise _Allocated()

    monkeypatch.setattr(keras, "Input", refuse)


def _parameters(task):
    return inspect.signature(factories.FACTORIES[task]).parameters


# Each finding and its class, as (argument, value, words the message must hold).
BAD = [
    ("units", 10**9, "MAX_UNITS"),
    ("units", [8, 10**9], "MAX_UNITS"),
    ("units", 0, "> 0"),
    ("units", -3, "> 0"),
    ("units", 64.0, "integer"),
    ("units", "64", "integer"),
    ("units", True, "integer"),
    ("units", None, "integer"),
    ("units", float("nan"), "integer"),
    ("depth", 10**6, "MAX_DEPTH"),
    ("depth", 0, "> 0"),
    ("depth", False, "integer"),
    ("dropout", 1.0, "[0, 1)"),
    ("dropout", -0.1, "[0, 1)"),
    ("dropout", float("nan"), "[0, 1)"),
    ("dropout", float("inf"), "[0, 1)"),
    ("dropout", "0.1", "[0, 1)"),
    ("dropout", True, "[0, 1)"),
    ("learning_rate", -1, "finite float > 0"),
    ("learning_rate", 0, "finite float > 0"),
    ("learning_rate", float("nan"), "finite float > 0"),
    ("learning_rate", float("inf"), "finite float > 0"),
    ("learning_rate", "0.01", "finite float > 0"),
    ("learning_rate", True, "finite float > 0"),
    ("require_cudnn", "no", "True or False"),
    ("require_cudnn", 1, "True or False"),
    ("require_cudnn", None, "True or False"),
    ("bidirectional", "yes", "False"),
    ("bidirectional", 0, "False"),
    ("compile_model", "yes", "True or False"),
    ("cell", "LSTM", "one of"),
    ("cell", ["lstm"], "one of"),
    ("cell", None, "one of"),
    ("pooling", "sum", "one of"),
    ("pooling", np.array(["last", "mean"]), "one of"),
    ("name", "a/b", "without '/'"),
    ("name", 3, "str"),
    ("name", "", "non-empty"),
    ("vocab_size", 10**12, "MAX_VOCAB_SIZE"),
    ("vocab_size", 1, ">= 2"),
    ("vocab_size", 2**64, "MAX_VOCAB_SIZE"),
    ("vocab_size", 20.0, "integer"),
    ("vocab_size", np.float64(20), "integer"),
    ("embedding_dim", 10**9, "MAX_EMBEDDING_DIM"),
    ("embedding_dim", 0, "> 0"),
    ("num_classes", 1, ">= 2"),
    ("num_classes", 0, ">= 2"),
    ("num_classes", 10**9, "MAX_CLASSES"),
    ("num_classes", True, "integer"),
    ("num_tags", 1, ">= 2"),
    ("num_tags", 10**7, "MAX_CLASSES"),
    ("num_features", 10**9, "MAX_FEATURES"),
    ("num_features", 0, "> 0"),
    ("output_dim", 10**9, "MAX_OUTPUT_DIM"),
    ("output_dim", 0, "> 0"),
    ("hidden_units", 10**9, "MAX_UNITS"),
    ("mask_value", float("nan"), "finite float or None"),
    ("mask_value", "0", "finite float or None"),
]


def _cases():
    for task in REQUIRED:
        names = _parameters(task)
        for argument, value, words in BAD:
            if argument in names:
                yield pytest.param(task, argument, value, words,
                                   id=f"{task}-{argument}={value!r}"[:80])


@pytest.mark.parametrize("task, argument, value, words", list(_cases()))
def test_bad_argument_is_refused_before_any_allocation(tripwire, task, argument, value,
                                                       words):
    arguments = dict(REQUIRED[task], **{argument: value})
    if argument == "units" and isinstance(value, list):
        arguments["depth"] = len(value)
    started = time.perf_counter()
    with pytest.raises(ValueError) as caught:
        factories.FACTORIES[task](**arguments)
    message = str(caught.value)
    assert f"argument `{argument}`" in message, message
    assert words in message, message
    assert f"Received: {argument}=" in message, message
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("task, arguments, named", [
    ("text_classifier", {"vocab_size": 10**6, "embedding_dim": 10**4}, "vocab_size"),
    ("language_model", {"vocab_size": 10**7, "embedding_dim": 8, "units": 100}, "vocab_size"),
    ("sequence_classifier", {"num_features": 10**5, "units": 16_384, "depth": 4,
                             "num_classes": 2}, "units"),
    ("sequence_tagger", {"vocab_size": 100, "units": 8000, "depth": 64, "num_tags": 3},
     "depth"),
    ("bag_of_embeddings", {"vocab_size": 10**7, "embedding_dim": 100}, "embedding_dim"),
])
def test_sizes_within_their_limits_that_make_too_many_weights_are_refused(
        tripwire, task, arguments, named):
    with pytest.raises(ValueError, match=rf"combination of arguments.*'{named}'.*"
                                         r"MAX_PARAMETERS"):
        factories.FACTORIES[task](**arguments)


def test_the_limits_are_read_at_call_time(tripwire, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UNITS", 8)
    with pytest.raises(ValueError, match=r"`units`. Expected an integer <= 8"):
        rnn_zoo.build_text_classifier(vocab_size=20, units=9)
    with pytest.raises(_Allocated):
        rnn_zoo.build_text_classifier(vocab_size=20, units=8)


def test_numpy_scalars_are_accepted(tripwire):
    with pytest.raises(_Allocated):  # validation passed
        rnn_zoo.build_text_classifier(vocab_size=np.int64(20), num_classes=np.int32(3),
                                      units=np.int16(4), dropout=np.float32(0.25),
                                      learning_rate=np.float64(0.01),
                                      require_cudnn=np.bool_(False))


def test_build_model_refuses_hostile_names(tripwire):
    for name in (None, 3, ["lstm_text_classifier"], "lstm_text_classifier\n", ""):
        with pytest.raises(ValueError, match="argument `name`"):
            rnn_zoo.build_model(name)
    with pytest.raises(ValueError, match="`units`.*MAX_UNITS"):
        rnn_zoo.build_model("lstm_text_classifier", units=10**9)


# Any value of any type, for any argument.
_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2**70, 2**70),
    st.integers(-3, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(CELLS + POOLINGS),
    st.lists(st.integers(-2, 2**40), max_size=3),
    st.builds(np.int64, st.integers(-2**63, 2**63 - 1)),
    st.builds(np.float32, st.floats(width=32, allow_nan=True)),
    st.sampled_from([np.bool_(True), b"lstm", {"units": 4}, (4, 4), np.array([1, 2])]),
)


@pytest.mark.parametrize("task", list(REQUIRED))
@settings(max_examples=60, **_SETTINGS)
@given(data=st.data())
def test_any_arguments_raise_only_value_errors_naming_an_argument(tripwire, task, data):
    names = [name for name in _parameters(task)]
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4,
                                unique=True))
    arguments = dict(REQUIRED[task])
    arguments.update({name: data.draw(_ANY, label=name) for name in chosen})
    try:
        factories.FACTORIES[task](**arguments)
    except _Allocated:
        return  # every argument passed validation
    except ValueError as error:
        message = str(error)
        named = re.findall(r"argument `(\w+)`", message)
        assert (named and named[0] in arguments) or (
            "combination of arguments" in message and "MAX_PARAMETERS" in message), message
        assert "Received:" in message, message


def _valid_arguments(task):
    names = _parameters(task)
    fields = {
        "units": st.one_of(st.integers(1, 6), st.lists(st.integers(1, 6), min_size=2,
                                                        max_size=2)),
        "dropout": st.floats(0.0, 0.99),
        "learning_rate": st.floats(1e-6, 1.0),
        "cell": st.sampled_from(CELLS),
        "pooling": st.sampled_from(POOLINGS),
        "num_classes": st.integers(2, 5),
        "num_tags": st.integers(2, 5),
        "output_dim": st.integers(1, 4),
        "embedding_dim": st.integers(1, 6),
        "hidden_units": st.integers(1, 6),
        "vocab_size": st.integers(2, 30),
        "num_features": st.integers(1, 4),
        "mask_value": st.one_of(st.none(), st.floats(-2, 2)),
    }
    if "bidirectional" in names and task != "language_model":
        fields["bidirectional"] = st.booleans()
    return st.fixed_dictionaries({}, optional={k: v for k, v in fields.items()
                                               if k in names})


@pytest.mark.parametrize("task", list(REQUIRED))
@settings(max_examples=2, **_SETTINGS)
@given(data=st.data())
def test_valid_arguments_build_a_model_that_predicts_finite_values(task, data):
    arguments = dict(REQUIRED[task])
    arguments.update(data.draw(_valid_arguments(task)))
    if isinstance(arguments.get("units"), list):
        arguments["depth"] = 2
    model = factories.FACTORIES[task](**arguments)
    if model.input.dtype == "int32":
        x = np.array([[1, 2, 3], [4, 0, 0]], "int32") % arguments["vocab_size"]
    else:
        x = np.ones((2, 3, arguments["num_features"]), "float32")
    outputs = model.predict(x, verbose=0)
    assert np.all(np.isfinite(outputs))
    assert math.isfinite(model.count_params()) and model.count_params() > 0


@pytest.mark.parametrize("count", [0, 1])
def test_one_class_is_refused_by_the_shared_class_count_check(count):
    # `prepare` (and so `rnn-zoo train`) counts the training labels with it.
    with pytest.raises(ValueError, match=r"prepare: .*argument `data`. Expected at least 2 "
                                         r"distinct labels"):
        validation.check_class_count(count, "data", where="prepare")
    assert validation.check_class_count(2, "data") == 2
