"""Named, untrained model configurations: a task plus the arguments for its factory.

A configuration is data (keras-hub keeps its presets the same way): a name
mapped to `{"task": ..., "description": ..., "config": {...}}`, where
`config` holds arguments of the task's `build_*` factory. Sizes are sane
defaults for a first run; override any of them in `build_model`.

"Configuration" means an untrained model setup. A "preset" in rnn-zoo is a
pretrained bundle (weights, vocabulary, labels), which these are not.

This module imports no Keras: `rnn-zoo list` reads it without paying for a
TensorFlow import. `build_model` imports the task's factory on first use.

Example:

>>> from rnn_zoo import configurations
>>> configurations.describe_model("bigru_sequence_tagger")["task"]
'sequence_tagger'
>>> model = configurations.build_model("bigru_sequence_tagger", vocab_size=3000, num_tags=17)
"""

import copy
import inspect

from rnn_zoo import tasks

_VOCAB = 20000
_LM_VOCAB = 10000

CONFIGURATIONS = {
    "lstm_text_classifier": {
        "task": "text_classifier",
        "description": "LSTM sentiment / topic classifier over token ids",
        "config": {"vocab_size": _VOCAB, "num_classes": 2, "cell": "lstm", "units": 64},
    },
    "gru_text_classifier": {
        "task": "text_classifier",
        "description": "GRU text classifier: 2 gates, fewer parameters",
        "config": {"vocab_size": _VOCAB, "num_classes": 2, "cell": "gru", "units": 64},
    },
    "bilstm_text_classifier": {
        "task": "text_classifier",
        "description": "Bidirectional LSTM text classifier",
        "config": {"vocab_size": _VOCAB, "num_classes": 2, "cell": "lstm", "units": 64,
                   "bidirectional": True},
    },
    "bigru_text_classifier": {
        "task": "text_classifier",
        "description": "Bidirectional GRU text classifier",
        "config": {"vocab_size": _VOCAB, "num_classes": 2, "cell": "gru", "units": 64,
                   "bidirectional": True},
    },
    "stacked_lstm_text_classifier": {
        "task": "text_classifier",
        "description": "Two stacked LSTM layers (128, 64)",
        "config": {"vocab_size": _VOCAB, "num_classes": 2, "cell": "lstm", "units": [128, 64],
                   "depth": 2},
    },
    "attention_bilstm_text_classifier": {
        "task": "text_classifier",
        "description": "Bidirectional LSTM with attention pooling",
        "config": {"vocab_size": _VOCAB, "num_classes": 2, "cell": "lstm", "units": 64,
                   "bidirectional": True, "pooling": "attention"},
    },
    "simple_rnn_text_classifier": {
        "task": "text_classifier",
        "description": "Ungated tanh RNN baseline",
        "config": {"vocab_size": _VOCAB, "num_classes": 2, "cell": "simple_rnn", "units": 64},
    },
    "bag_of_embeddings": {
        "task": "bag_of_embeddings",
        "description": "Order-blind DNN baseline (mean of embeddings)",
        "config": {"vocab_size": _VOCAB, "num_classes": 2},
    },
    "lstm_sequence_classifier": {
        "task": "sequence_classifier",
        "description": "LSTM over numeric series (e.g. JapaneseVowels: 12 ch, 9 classes)",
        "config": {"num_features": 12, "num_classes": 9, "cell": "lstm", "units": 64},
    },
    "gru_sequence_classifier": {
        "task": "sequence_classifier",
        "description": "GRU over numeric series",
        "config": {"num_features": 12, "num_classes": 9, "cell": "gru", "units": 64},
    },
    "bilstm_sequence_classifier": {
        "task": "sequence_classifier",
        "description": "Bidirectional LSTM over numeric series, mean pooling",
        "config": {"num_features": 12, "num_classes": 9, "cell": "lstm", "units": 64,
                   "bidirectional": True, "pooling": "mean"},
    },
    "lstm_sequence_tagger": {
        "task": "sequence_tagger",
        "description": "LSTM tagger: one label per token, left context only",
        "config": {"vocab_size": _VOCAB, "num_tags": 10, "cell": "lstm", "units": 64},
    },
    "bilstm_sequence_tagger": {
        "task": "sequence_tagger",
        "description": "Bidirectional LSTM tagger: both contexts",
        "config": {"vocab_size": _VOCAB, "num_tags": 10, "cell": "lstm", "units": 64,
                   "bidirectional": True},
    },
    "bigru_sequence_tagger": {
        "task": "sequence_tagger",
        "description": "Bidirectional GRU tagger",
        "config": {"vocab_size": _VOCAB, "num_tags": 10, "cell": "gru", "units": 64,
                   "bidirectional": True},
    },
    "lstm_forecaster": {
        "task": "sequence_regressor",
        "description": "LSTM forecaster: history window -> next value",
        "config": {"num_features": 1, "output_dim": 1, "cell": "lstm", "units": 64},
    },
    "gru_forecaster": {
        "task": "sequence_regressor",
        "description": "GRU forecaster",
        "config": {"num_features": 1, "output_dim": 1, "cell": "gru", "units": 64},
    },
    "stacked_lstm_forecaster": {
        "task": "sequence_regressor",
        "description": "Two stacked LSTM layers (64, 32) forecasting a horizon of 8",
        "config": {"num_features": 1, "output_dim": 8, "cell": "lstm", "units": [64, 32],
                   "depth": 2},
    },
    "lstm_language_model": {
        "task": "language_model",
        "description": "LSTM next-token language model",
        "config": {"vocab_size": _LM_VOCAB, "cell": "lstm", "units": 128,
                   "embedding_dim": 64},
    },
    "gru_language_model": {
        "task": "language_model",
        "description": "GRU next-token language model",
        "config": {"vocab_size": _LM_VOCAB, "cell": "gru", "units": 128,
                   "embedding_dim": 64},
    },
}


def list_models():
    """Names of the named configurations, sorted.

    Returns:
        A sorted list of names, each accepted by `build_model`.

    Example:

    >>> "bilstm_text_classifier" in rnn_zoo.list_models()
    True
    """
    return sorted(CONFIGURATIONS)


def _check_name(name):
    if not isinstance(name, str) or name not in CONFIGURATIONS:
        raise ValueError(
            "Invalid value received for argument `name`. Expected one of "
            f"{tuple(list_models())}. Received: name={name!r}"
        )


def describe_model(name):
    """The configuration called `name`.

    Args:
        name: one of `list_models()`.

    Returns:
        A copy of the entry: a dict with "task", "description" and "config".

    Example:

    >>> rnn_zoo.describe_model("bigru_sequence_tagger")["config"]["bidirectional"]
    True
    """
    _check_name(name)
    return copy.deepcopy(CONFIGURATIONS[name])


def build_model(name, **overrides):
    """Build a named configuration, with any factory argument overridden.

    Args:
        name: one of `list_models()`.
        **overrides: arguments of the configuration's factory (e.g.
            `vocab_size=5000`, `units=32`, `compile_model=False`).

    Returns:
        An untrained `keras.Model`, compiled unless `compile_model=False` is
        passed.

    Example:

    >>> model = rnn_zoo.build_model("bigru_sequence_tagger", vocab_size=3000, num_tags=17)
    """
    _check_name(name)
    entry = CONFIGURATIONS[name]
    factory = tasks.get_task(entry["task"]).factory_function()
    allowed = tuple(inspect.signature(factory).parameters)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(
            f"build_model({name!r}): unknown argument(s) {unknown} for "
            f"{factory.__name__}. Expected some of {allowed}."
        )
    config = dict(copy.deepcopy(entry["config"]), **overrides)
    # The configuration's name describes its cell and direction; once either
    # is overridden the factory's own name ("bigru_text_classifier") is truer.
    if not {"cell", "bidirectional"} & set(overrides):
        config.setdefault("name", name)
    return factory(**config)
