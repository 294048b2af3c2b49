"""One-line factories for every task of the registry (`rnn_zoo.tasks.TASKS`).

Every recurrent factory takes the same words for the same ideas: `cell`
("lstm", "gru", "simple_rnn"), `units` (int or one per layer), `depth`,
`bidirectional`, `dropout`, `pooling` ("last", "mean", "max", "attention")
where a single vector per sequence is produced, and `require_cudnn`.

Factories return a functional `keras.Model`, compiled by default (Adam and
the task's loss and metrics from `rnn_zoo.tasks`; pass `compile_model=False`
to compile it yourself). Token inputs are int ids with 0 = padding; numeric inputs are
float steps where a step whose features all equal `mask_value` is padding.
Padding may sit anywhere: `RightAlignPadding` moves it to the end first, so
every kernel (cuDNN included) sees right padding.

Every argument is checked before anything is built: sizes against the stated
limits of `rnn_zoo.limits` (and the weights they would make together against
`MAX_PARAMETERS`), flags as real bools, rates as finite positive floats. A bad
argument raises `ValueError` naming it, the allowed values and what was received.

The named untrained configurations (`list_models`, `describe_model`,
`build_model`) live in `rnn_zoo.configurations`; they are re-exported here.
"""

import warnings

import keras

from rnn_zoo import cudnn
from rnn_zoo.backbones import BackboneConfig
from rnn_zoo.backbones import apply_backbone
from rnn_zoo.configurations import CONFIGURATIONS
from rnn_zoo.configurations import build_model
from rnn_zoo.configurations import describe_model
from rnn_zoo.configurations import list_models
from rnn_zoo.heads import MaskedPooling
from rnn_zoo.heads import classification_head
from rnn_zoo.heads import pool_sequence
from rnn_zoo.heads import regression_head
from rnn_zoo.layers import RestoreOrder
from rnn_zoo.layers import RightAlignPadding
from rnn_zoo.tasks import INPUT_FEATURES
from rnn_zoo.tasks import INPUT_TOKEN_IDS
from rnn_zoo.tasks import POOLINGS
from rnn_zoo.tasks import TASKS
from rnn_zoo.validation import check_bool
from rnn_zoo.validation import check_choice
from rnn_zoo.validation import check_finite_or_none
from rnn_zoo.validation import check_fraction
from rnn_zoo.validation import check_optional_name
from rnn_zoo.validation import check_parameter_count
from rnn_zoo.validation import check_positive_float
from rnn_zoo.validation import check_size

DEFAULT_LEARNING_RATE = 1e-3

__all__ = [
    "FACTORIES",
    "build_bag_of_embeddings",
    "build_language_model",
    "build_model",
    "build_sequence_classifier",
    "build_sequence_regressor",
    "build_sequence_tagger",
    "build_text_classifier",
    "describe_model",
    "list_models",
]


# Weight matrices per recurrent cell: one per gate (LSTM 4, GRU 3, simple RNN 1).
_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _backbone_weights(config, input_dim, pooling="last"):
    """(weights, output width) of the recurrent stack, estimated before building."""
    directions = 2 if config.bidirectional else 1
    total, width = 0, input_dim
    for units in config.units:
        # kernel + recurrent kernel + (up to two) biases, per gate and direction.
        total += directions * _GATES[config.cell] * (width * units + units * units + 2 * units)
        width = units * directions
    if pooling == "attention":
        total += width * width + 2 * width
    return total, width


def _check_training(learning_rate, compile_model, name, where):
    """Check the arguments every factory shares; returns the learning rate."""
    check_bool(compile_model, "compile_model", where=where)
    check_optional_name(name, "name", where=where)
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    return check_positive_float(learning_rate, "learning_rate", where=where)


def _check_tokens(vocab_size, embedding_dim, where):
    # id 0 is padding, so a vocabulary needs at least one real token id.
    vocab_size = check_size(vocab_size, "vocab_size", "MAX_VOCAB_SIZE", minimum=2, where=where)
    embedding_dim = check_size(embedding_dim, "embedding_dim", "MAX_EMBEDDING_DIM",
                               where=where)
    return vocab_size, embedding_dim


def _finish(model, config, task, compile_model, learning_rate):
    """Check `require_cudnn`, then compile with the task's loss and metrics."""
    if config is not None and config.require_cudnn:
        cudnn.check_model_cudnn(model)
    if compile_model:
        task = TASKS[task]
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss=task.loss,
            metrics=list(task.metrics),
        )
    return model


def _token_inputs(vocab_size, embedding_dim, name, return_order=False, where=None):
    vocab_size, embedding_dim = _check_tokens(vocab_size, embedding_dim, where)
    inputs = keras.Input(shape=(None,), dtype="int32", name=INPUT_TOKEN_IDS)
    aligned = RightAlignPadding(padding_value=0, return_order=return_order,
                                name="right_align_padding")(inputs)
    order = None
    if return_order:
        aligned, order = aligned
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                               name=f"{name}_embedding")(aligned)
    return inputs, x, order


def _feature_inputs(num_features, mask_value, where=None):
    num_features = check_size(num_features, "num_features", "MAX_FEATURES", where=where)
    mask_value = check_finite_or_none(mask_value, "mask_value", where=where)
    inputs = keras.Input(shape=(None, num_features), dtype="float32", name=INPUT_FEATURES)
    x = inputs
    if mask_value is not None:
        x = RightAlignPadding(padding_value=float(mask_value), name="right_align_padding")(x)
        x = keras.layers.Masking(mask_value=float(mask_value), name="masking")(x)
    return inputs, x


def _pooled_backbone(x, config, pooling, where=None):
    check_choice(pooling, "pooling", POOLINGS, where=where)
    if pooling == "last":
        return apply_backbone(x, config, return_sequences=False)
    sequences = apply_backbone(x, config, return_sequences=True)
    return pool_sequence(sequences, pooling, name=f"{pooling}_pooling")


def build_text_classifier(vocab_size, num_classes=2, cell="lstm", bidirectional=False,
                          units=64, depth=1, embedding_dim=64, dropout=0.0,
                          pooling="last", require_cudnn=False,
                          learning_rate=DEFAULT_LEARNING_RATE, compile_model=True,
                          name=None):
    """Token ids -> embedding -> recurrent stack -> pooling -> softmax.

    Args:
        vocab_size: int >= 2, ids are in [0, vocab_size) with 0 = padding.
        num_classes: int >= 2, default 2.
        cell: "lstm" (default), "gru" or "simple_rnn".
        bidirectional: bool, default False.
        units: int > 0 or a list with one int per layer, default 64.
        depth: int > 0, number of stacked recurrent layers, default 1.
        embedding_dim: int > 0, default 64.
        dropout: float in [0, 1): input dropout of each recurrent layer and
            before the classifier, default 0.
        pooling: "last" (default), "mean", "max" or "attention".
        require_cudnn: bool, default False; see `rnn_zoo.cudnn`.
        learning_rate: Adam learning rate when compiled, default 1e-3.
        compile_model: bool, default True.
        name: model name, default f"{cell}_text_classifier" (with "bi").

    Returns:
        A `keras.Model` mapping int32 ids `[batch, time]` to class
        probabilities `[batch, num_classes]`.

    Example:

    >>> model = rnn_zoo.build_text_classifier(vocab_size=5000, cell="gru",
    ...                                       bidirectional=True)
    >>> model.predict(np.array([[5, 8, 2, 0, 0]])).shape
    (1, 2)
    """
    where = "build_text_classifier"
    num_classes = check_size(num_classes, "num_classes", "MAX_CLASSES", minimum=2, where=where)
    config = BackboneConfig.create(cell=cell, units=units, depth=depth,
                                   bidirectional=bidirectional, dropout=dropout,
                                   require_cudnn=require_cudnn, where=where)
    vocab_size, embedding_dim = _check_tokens(vocab_size, embedding_dim, where)
    check_choice(pooling, "pooling", POOLINGS, where=where)
    learning_rate = _check_training(learning_rate, compile_model, name, where)
    weights, width = _backbone_weights(config, embedding_dim, pooling)
    check_parameter_count(vocab_size * embedding_dim + weights + width * num_classes,
                          {"vocab_size": vocab_size, "embedding_dim": embedding_dim,
                           "units": units, "depth": depth, "num_classes": num_classes},
                          where=where)
    inputs, x, _ = _token_inputs(vocab_size, embedding_dim, "token", where=where)
    features = _pooled_backbone(x, config, pooling, where=where)
    outputs = classification_head(features, num_classes, dropout=dropout)
    name = name or f"{'bi' if bidirectional else ''}{cell}_text_classifier"
    model = keras.Model(inputs, outputs, name=name)
    return _finish(model, config, "text_classifier", compile_model, learning_rate)


def build_sequence_classifier(num_features, num_classes, cell="lstm", bidirectional=False,
                              units=64, depth=1, dropout=0.0, pooling="last",
                              mask_value=0.0, require_cudnn=False,
                              learning_rate=DEFAULT_LEARNING_RATE, compile_model=True,
                              name=None):
    """Numeric series `[batch, time, num_features]` -> class probabilities.

    Args:
        num_features: int > 0, channels per step.
        num_classes: int >= 2.
        cell, bidirectional, units, depth, dropout, pooling, require_cudnn,
            learning_rate, compile_model: as in `build_text_classifier`.
        mask_value: float or None, default 0.0. Steps whose features all equal
            it are padding; None disables masking.
        name: model name.

    Returns:
        A `keras.Model` mapping float32 `[batch, time, num_features]` to
        `[batch, num_classes]` probabilities.

    Example:

    >>> model = rnn_zoo.build_sequence_classifier(num_features=12, num_classes=9)
    >>> model.predict(np.random.rand(2, 20, 12).astype("float32")).shape
    (2, 9)
    """
    where = "build_sequence_classifier"
    num_classes = check_size(num_classes, "num_classes", "MAX_CLASSES", minimum=2, where=where)
    config = BackboneConfig.create(cell=cell, units=units, depth=depth,
                                   bidirectional=bidirectional, dropout=dropout,
                                   require_cudnn=require_cudnn, where=where)
    num_features = check_size(num_features, "num_features", "MAX_FEATURES", where=where)
    check_finite_or_none(mask_value, "mask_value", where=where)
    check_choice(pooling, "pooling", POOLINGS, where=where)
    learning_rate = _check_training(learning_rate, compile_model, name, where)
    weights, width = _backbone_weights(config, num_features, pooling)
    check_parameter_count(weights + width * num_classes,
                          {"num_features": num_features, "units": units, "depth": depth,
                           "num_classes": num_classes}, where=where)
    inputs, x = _feature_inputs(num_features, mask_value, where=where)
    features = _pooled_backbone(x, config, pooling, where=where)
    outputs = classification_head(features, num_classes, dropout=dropout)
    name = name or f"{'bi' if bidirectional else ''}{cell}_sequence_classifier"
    model = keras.Model(inputs, outputs, name=name)
    return _finish(model, config, "sequence_classifier", compile_model, learning_rate)


def build_sequence_regressor(num_features, output_dim=1, cell="lstm", bidirectional=False,
                             units=64, depth=1, dropout=0.0, pooling="last",
                             mask_value=0.0, require_cudnn=False,
                             learning_rate=DEFAULT_LEARNING_RATE, compile_model=True,
                             name=None):
    """Numeric series -> `output_dim` real values (forecasting, regression).

    For forecasting, feed the history window and set `output_dim` to the
    horizon (times the number of target series).

    Args:
        num_features: int > 0, channels per step.
        output_dim: int > 0, default 1.
        cell, bidirectional, units, depth, dropout, pooling, mask_value,
            require_cudnn, learning_rate, compile_model: as in
            `build_sequence_classifier`.
        name: model name.

    Returns:
        A `keras.Model` mapping `[batch, time, num_features]` to
        `[batch, output_dim]`, compiled with MSE loss and MAE metric.

    Example:

    >>> model = rnn_zoo.build_sequence_regressor(num_features=1, output_dim=3, depth=2)
    >>> model.predict(np.random.rand(4, 30, 1).astype("float32")).shape
    (4, 3)
    """
    where = "build_sequence_regressor"
    output_dim = check_size(output_dim, "output_dim", "MAX_OUTPUT_DIM", where=where)
    config = BackboneConfig.create(cell=cell, units=units, depth=depth,
                                   bidirectional=bidirectional, dropout=dropout,
                                   require_cudnn=require_cudnn, where=where)
    num_features = check_size(num_features, "num_features", "MAX_FEATURES", where=where)
    check_finite_or_none(mask_value, "mask_value", where=where)
    check_choice(pooling, "pooling", POOLINGS, where=where)
    learning_rate = _check_training(learning_rate, compile_model, name, where)
    weights, width = _backbone_weights(config, num_features, pooling)
    check_parameter_count(weights + width * output_dim,
                          {"num_features": num_features, "units": units, "depth": depth,
                           "output_dim": output_dim}, where=where)
    inputs, x = _feature_inputs(num_features, mask_value, where=where)
    features = _pooled_backbone(x, config, pooling, where=where)
    outputs = regression_head(features, output_dim, dropout=dropout)
    name = name or f"{'bi' if bidirectional else ''}{cell}_sequence_regressor"
    model = keras.Model(inputs, outputs, name=name)
    return _finish(model, config, "sequence_regressor", compile_model, learning_rate)


def _per_token_model(vocab_size, num_outputs, output_name, config, embedding_dim,
                     dropout, where):
    inputs, x, order = _token_inputs(vocab_size, embedding_dim, "token",
                                     return_order=True, where=where)
    sequences = apply_backbone(x, config, return_sequences=True)
    if dropout:
        sequences = keras.layers.Dropout(dropout, name=f"{output_name}_dropout")(sequences)
    per_step = keras.layers.Dense(num_outputs, activation="softmax",
                                  name=output_name)(sequences)
    outputs = RestoreOrder(name="restore_order")([per_step, order])
    return inputs, outputs


def build_sequence_tagger(vocab_size, num_tags, cell="lstm", bidirectional=False,
                          units=64, depth=1, embedding_dim=64, dropout=0.0,
                          require_cudnn=False, learning_rate=DEFAULT_LEARNING_RATE,
                          compile_model=True, name=None):
    """Token ids -> one tag distribution per token (POS, NER, chunking).

    Padding positions are masked out of the loss and the metrics.

    Args:
        vocab_size: int >= 2, 0 = padding.
        num_tags: int >= 2.
        cell, bidirectional, units, depth, embedding_dim, dropout,
            require_cudnn, learning_rate, compile_model: as in
            `build_text_classifier`.
        name: model name.

    Returns:
        A `keras.Model` mapping `[batch, time]` ids to `[batch, time, num_tags]`.

    Example:

    >>> model = rnn_zoo.build_sequence_tagger(vocab_size=1000, num_tags=5,
    ...                                       bidirectional=True)
    >>> model.predict(np.array([[4, 9, 7, 0]])).shape
    (1, 4, 5)
    """
    where = "build_sequence_tagger"
    num_tags = check_size(num_tags, "num_tags", "MAX_CLASSES", minimum=2, where=where)
    config = BackboneConfig.create(cell=cell, units=units, depth=depth,
                                   bidirectional=bidirectional, dropout=dropout,
                                   require_cudnn=require_cudnn, where=where)
    vocab_size, embedding_dim = _check_tokens(vocab_size, embedding_dim, where)
    learning_rate = _check_training(learning_rate, compile_model, name, where)
    weights, width = _backbone_weights(config, embedding_dim)
    check_parameter_count(vocab_size * embedding_dim + weights + width * num_tags,
                          {"vocab_size": vocab_size, "embedding_dim": embedding_dim,
                           "units": units, "depth": depth, "num_tags": num_tags},
                          where=where)
    inputs, outputs = _per_token_model(vocab_size, num_tags, "tagger", config,
                                       embedding_dim, dropout, where)
    name = name or f"{'bi' if bidirectional else ''}{cell}_sequence_tagger"
    model = keras.Model(inputs, outputs, name=name)
    return _finish(model, config, "sequence_tagger", compile_model, learning_rate)


def build_language_model(vocab_size, cell="lstm", units=64, depth=1, embedding_dim=64,
                         dropout=0.0, bidirectional=False, require_cudnn=False,
                         learning_rate=DEFAULT_LEARNING_RATE, compile_model=True,
                         name=None):
    """Token ids -> next-token distribution at every step.

    Train on `x = ids[:, :-1]`, `y = ids[:, 1:]`. `bidirectional=True` is
    refused: a backward pass would see the token it has to predict.

    Args:
        vocab_size: int >= 2, 0 = padding.
        cell, units, depth, embedding_dim, dropout, require_cudnn,
            learning_rate, compile_model: as in `build_text_classifier`.
        bidirectional: must be False (accepted for a uniform signature).
        name: model name.

    Returns:
        A `keras.Model` mapping `[batch, time]` ids to
        `[batch, time, vocab_size]` probabilities.

    Example:

    >>> model = rnn_zoo.build_language_model(vocab_size=500, cell="gru", depth=2)
    >>> model.predict(np.array([[3, 4, 5]])).shape
    (1, 3, 500)
    """
    where = "build_language_model"
    check_bool(bidirectional, "bidirectional", where=where)
    if bidirectional and not TASKS["language_model"].bidirectional:
        raise ValueError(
            f"{where}: Invalid value received for argument `bidirectional`. Expected "
            "False: a language model must not read the future it predicts. "
            f"Received: bidirectional={bidirectional!r}"
        )
    config = BackboneConfig.create(cell=cell, units=units, depth=depth,
                                   bidirectional=False, dropout=dropout,
                                   require_cudnn=require_cudnn, where=where)
    vocab_size, embedding_dim = _check_tokens(vocab_size, embedding_dim, where)
    learning_rate = _check_training(learning_rate, compile_model, name, where)
    weights, width = _backbone_weights(config, embedding_dim)
    # The output layer predicts every id: its weights grow with vocab_size too.
    check_parameter_count(vocab_size * embedding_dim + weights + width * vocab_size,
                          {"vocab_size": vocab_size, "embedding_dim": embedding_dim,
                           "units": units, "depth": depth}, where=where)
    inputs, outputs = _per_token_model(vocab_size, vocab_size, "next_token", config,
                                       embedding_dim, dropout, where)
    name = name or f"{cell}_language_model"
    model = keras.Model(inputs, outputs, name=name)
    return _finish(model, config, "language_model", compile_model, learning_rate)


def build_bag_of_embeddings(vocab_size, num_classes=2, embedding_dim=64, hidden_units=64,
                            dropout=0.0, learning_rate=DEFAULT_LEARNING_RATE,
                            compile_model=True, name="bag_of_embeddings"):
    """The order-blind baseline: mean of token embeddings -> ReLU layer -> softmax.

    It sees which words occur, never their order, so "not good but bad" and
    "good but not bad" look identical to it. The essay's foil for the LSTM.

    Args:
        vocab_size: int >= 2, 0 = padding.
        num_classes: int >= 2, default 2.
        embedding_dim: int > 0, default 64.
        hidden_units: int > 0, width of the hidden ReLU layer, default 64.
        dropout: float in [0, 1), before the classifier, default 0.
        learning_rate, compile_model: as in `build_text_classifier`.
        name: model name.

    Returns:
        A `keras.Model` mapping `[batch, time]` ids to `[batch, num_classes]`.

    Example:

    >>> model = rnn_zoo.build_bag_of_embeddings(vocab_size=5000)
    >>> model.predict(np.array([[5, 8, 2, 0]])).shape
    (1, 2)
    """
    where = "build_bag_of_embeddings"
    num_classes = check_size(num_classes, "num_classes", "MAX_CLASSES", minimum=2, where=where)
    hidden_units = check_size(hidden_units, "hidden_units", "MAX_UNITS", where=where)
    check_fraction(dropout, "dropout", where=where)
    vocab_size, embedding_dim = _check_tokens(vocab_size, embedding_dim, where)
    learning_rate = _check_training(learning_rate, compile_model, name, where)
    check_parameter_count(
        vocab_size * embedding_dim + embedding_dim * hidden_units + hidden_units * num_classes,
        {"vocab_size": vocab_size, "embedding_dim": embedding_dim,
         "hidden_units": hidden_units, "num_classes": num_classes}, where=where)
    inputs, x, _ = _token_inputs(vocab_size, embedding_dim, "token", where=where)
    pooled = MaskedPooling("mean", name="mean_pooling")(x)
    hidden = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(pooled)
    outputs = classification_head(hidden, num_classes, dropout=dropout)
    model = keras.Model(inputs, outputs, name=name)
    return _finish(model, None, "bag_of_embeddings", compile_model, learning_rate)


# Task name -> its factory, read from the registry so a new task is added once.
FACTORIES = {name: task.factory_function() for name, task in TASKS.items()}

_DEPRECATED = {
    "PRESETS": "rnn_zoo.configurations.CONFIGURATIONS",
    "_preset": "a plain dict entry of rnn_zoo.configurations.CONFIGURATIONS",
}


def _deprecated_preset(task, description, **config):
    return {"task": task, "description": description, "config": config}


def __getattr__(name):
    # Untrained setups are "configurations"; "preset" now means a pretrained
    # bundle, so the old names stay only as deprecated aliases.
    if name in _DEPRECATED:
        warnings.warn(
            f"rnn_zoo.factories.{name} is deprecated; use {_DEPRECATED[name]}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return CONFIGURATIONS if name == "PRESETS" else _deprecated_preset
    raise AttributeError(f"module 'rnn_zoo.factories' has no attribute {name!r}")
