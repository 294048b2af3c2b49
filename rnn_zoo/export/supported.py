"""The one table of layers the TFLite exports can rebuild, and the walk both share.

`rnn_zoo.export.graph` (whole sequences, `export_tflite`) and
`rnn_zoo.export.streaming` (one step per call) re-emit a model layer by layer
from its weights. Both ask `layer_kind` what a layer is, so adding a layer
type means one row here plus its emitter in each walker; the streaming walker
also reads `STREAMING_REFUSALS` for the kinds that need the whole sequence.

Example:

>>> from rnn_zoo.export import supported
>>> supported.layer_kind(keras.layers.LSTM(4))
'recurrent'
>>> supported.layer_kind(keras.layers.Conv1D(4, 2)) is None
True
"""

import keras

from rnn_zoo import heads
from rnn_zoo import layers as zoo_layers

INPUT = "input"
RIGHT_ALIGN = "right_align"
RESTORE_ORDER = "restore_order"
EMBEDDING = "embedding"
MASKING = "masking"
BIDIRECTIONAL = "bidirectional"
RECURRENT = "recurrent"
MASKED_POOLING = "masked_pooling"
ATTENTION_POOLING = "attention_pooling"
DENSE = "dense"
IDENTITY = "identity"

# Layers that do nothing at inference.
IDENTITY_LAYERS = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
)

# (kind, layer classes, names for messages), matched in this order.
# `keras.layers.RNN` covers LSTM, GRU and SimpleRNN and the zoo's wrappers of
# them; a cell this module can't emit is refused by `fused.CellWeights`.
TABLE = (
    (INPUT, (keras.layers.InputLayer,), "InputLayer"),
    (RIGHT_ALIGN, (zoo_layers.RightAlignPadding,), "RightAlignPadding"),
    (RESTORE_ORDER, (zoo_layers.RestoreOrder,), "RestoreOrder"),
    (EMBEDDING, (keras.layers.Embedding,), "Embedding"),
    (MASKING, (keras.layers.Masking,), "Masking"),
    (BIDIRECTIONAL, (keras.layers.Bidirectional,), "Bidirectional"),
    (RECURRENT, (keras.layers.RNN,), "LSTM, GRU, SimpleRNN"),
    (MASKED_POOLING, (heads.MaskedPooling,), "MaskedPooling"),
    (ATTENTION_POOLING, (heads.AttentionPooling,), "AttentionPooling"),
    (DENSE, (keras.layers.Dense,), "Dense"),
    (IDENTITY, IDENTITY_LAYERS, "Dropout (and the other layers inactive at inference)"),
)

_POOLING_REFUSAL = "mean / max / attention pooling needs every step; build the model " \
    "with pooling='last'"
# Kinds a one-step-at-a-time model can't hold, and why.
STREAMING_REFUSALS = {
    BIDIRECTIONAL: "a bidirectional layer reads the sequence from the end, so it needs "
                   "the whole sequence",
    MASKED_POOLING: _POOLING_REFUSAL,
    ATTENTION_POOLING: _POOLING_REFUSAL,
}

# Stands for a Keras symbolic mask (or any raw keras.ops result) while
# walking a model's graph: never turned into TF ops.
KERAS_MASK = object()


def layer_kind(layer):
    """What the exporters take `layer` for.

    Args:
        layer: a Keras layer.

    Returns:
        One of the kind constants of this module (e.g. `RECURRENT`,
        `DENSE`), or None for a layer the exports can't rebuild.

    Example:

    >>> layer_kind(keras.layers.Bidirectional(keras.layers.GRU(4)))
    'bidirectional'
    """
    for kind, classes, _ in TABLE:
        if isinstance(layer, classes):
            return kind
    return None


def supported_layer_names():
    """The supported layer types, for error messages.

    Returns:
        A comma-separated string.

    Example:

    >>> supported_layer_names().split(", ")[:2]
    ['InputLayer', 'RightAlignPadding']
    """
    return ", ".join(names for _, _, names in TABLE)


def tree_flatten(structure):
    """Leaves of nested lists / tuples.

    Args:
        structure: a value, or lists / tuples of them.

    Returns:
        A flat list of the leaves.

    Example:

    >>> tree_flatten([1, (2, [3])])
    [1, 2, 3]
    """
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in tree_flatten(item)]
    return [structure]
