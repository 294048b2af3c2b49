"""Bad arguments raise ValueError naming the argument and the allowed values."""

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.factories import FACTORIES

TOKEN = {"vocab_size": 20}


@pytest.mark.parametrize("factory,base", [
    (rnn_zoo.build_text_classifier, TOKEN),
    (rnn_zoo.build_sequence_tagger, dict(TOKEN, num_tags=3)),
    (rnn_zoo.build_language_model, TOKEN),
    (rnn_zoo.build_sequence_classifier, {"num_features": 3, "num_classes": 2}),
    (rnn_zoo.build_sequence_regressor, {"num_features": 3}),
])
@pytest.mark.parametrize("bad,pattern", [
    ({"cell": "transformer"}, r"`cell`. Expected one of \('lstm', 'gru', 'simple_rnn'\)"),
    ({"units": 0}, r"`units`. Expected an integer > 0. Received: units=0"),
    ({"units": [8, 4], "depth": 3}, r"`units`.*list of 3 integers"),
    ({"depth": 0}, r"`depth`. Expected an integer > 0. Received: depth=0"),
    ({"dropout": 1.0}, r"`dropout`. Expected a float in \[0, 1\). Received: dropout=1.0"),
    ({"dropout": -0.5}, r"`dropout`. Expected a float in \[0, 1\)"),
    ({"bidirectional": "yes"}, r"`bidirectional`. Expected (True or False|False)"),
])
def test_bad_backbone_arguments_raise_value_error(factory, base, bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        factory(**base, **bad)


@pytest.mark.parametrize("task", ["text_classifier", "sequence_classifier", "sequence_regressor"])
def test_unknown_pooling_raises_with_allowed_values(task):
    base = {"vocab_size": 20} if task == "text_classifier" else {"num_features": 3}
    if task == "sequence_classifier":
        base["num_classes"] = 2
    with pytest.raises(ValueError, match=r"`pooling`. Expected one of \('last', 'mean', "
                                         r"'max', 'attention'\). Received: pooling='sum'"):
        FACTORIES[task](pooling="sum", **base)


def test_bad_task_sizes_raise():
    with pytest.raises(ValueError, match=r"`vocab_size`.*>= 2"):
        rnn_zoo.build_text_classifier(vocab_size=1)
    with pytest.raises(ValueError, match=r"`num_classes`"):
        rnn_zoo.build_text_classifier(vocab_size=20, num_classes=0)
    with pytest.raises(ValueError, match=r"`num_features`"):
        rnn_zoo.build_sequence_classifier(num_features=-1, num_classes=2)
    with pytest.raises(ValueError, match=r"`hidden_units`"):
        rnn_zoo.build_bag_of_embeddings(vocab_size=20, hidden_units=0)


def test_language_model_refuses_bidirectional():
    with pytest.raises(ValueError, match=r"`bidirectional`. Expected False"):
        rnn_zoo.build_language_model(vocab_size=20, bidirectional=True)


def test_unknown_model_name_lists_the_registered_names():
    with pytest.raises(ValueError, match=r"`name`. Expected one of \(.*'lstm_text_classifier'"):
        rnn_zoo.build_model("lstm_classifer")


def test_unknown_override_names_the_factory_arguments():
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['num_layers'\].*'depth'"):
        rnn_zoo.build_model("lstm_text_classifier", num_layers=2)


@pytest.mark.multi_backend
@pytest.mark.parametrize("shape", [(2, 3, 4), (3,)])
def test_wrong_input_rank_for_token_model_raises_value_error(shape):
    model = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4)
    with pytest.raises(ValueError, match=r"token_ids.*Expected shape \(None, None\)"):
        model.predict(np.zeros(shape, "int32"), verbose=0)


@pytest.mark.multi_backend
def test_wrong_input_rank_for_numeric_model_raises_value_error():
    model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, units=4)
    with pytest.raises(ValueError, match=r"features.*[Ee]xpected shape[= ]\(None, None, 3\)"):
        model.predict(np.zeros((2, 3), "float32"), verbose=0)
