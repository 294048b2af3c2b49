"""The stated size limits of the model factories, layers and training, in one place.

Every size a factory takes from an argument (units, depth, vocabulary,
embedding, classes, tags, features, outputs), a text vectorizer's length and
a training batch size is compared with one of these
limits *before* anything is allocated, and so is the number of weights the
arguments would make together. An argument past a limit is refused at once
with a `ValueError` that names the argument, the limit and its value, instead
of an allocation that runs for seconds and ends out of memory.

The limits are far above what a recurrent network for one machine uses, so
they refuse only mistakes (`units=10**9`) and hostile input. They are module
constants, read at call time: a caller who truly needs more may raise one
(`rnn_zoo.limits.MAX_VOCAB_SIZE = 50_000_000`) before building. The data
readers' limits are in `rnn_zoo.data.limits`.

This module imports nothing.

Example:

>>> from rnn_zoo import limits
>>> limits.MAX_UNITS
16384
"""

MAX_UNITS = 16_384
"""Units of one recurrent layer (`units`, each entry of a per-layer list), of a
hidden dense layer (`hidden_units`) and of attention pooling (`attention_units`)."""

MAX_DEPTH = 64
"""Stacked recurrent layers (`depth`)."""

MAX_VOCAB_SIZE = 10_000_000
"""Token ids of an embedding or a language model's output (`vocab_size`)."""

MAX_EMBEDDING_DIM = 16_384
"""Width of a token embedding (`embedding_dim`)."""

MAX_CLASSES = 100_000
"""Classes of a classifier (`num_classes`) and tags of a tagger (`num_tags`); the
same as `rnn_zoo.data.limits.MAX_CLASSES`, the most distinct labels a file may hold."""

MAX_FEATURES = 100_000
"""Features per step of a numeric input (`num_features`); the same as
`rnn_zoo.data.limits.MAX_FEATURES`."""

MAX_OUTPUT_DIM = 100_000
"""Real outputs of a regressor (`output_dim`)."""

MAX_PARAMETERS = 2**29
"""Weights of one model, estimated from the arguments before anything is built
(2**29 float32 weights are 2 GiB, and Adam keeps two more copies)."""

MAX_LENGTH = 1_000_000
"""Token ids per text after padding or truncation (`max_length` of
`rnn_zoo.text.TextVectorizer`, `rnn-zoo train/export --max-length`); the same as
`rnn_zoo.data.limits.MAX_SEQUENCE_LENGTH`, the most steps a file may hold."""

MAX_BATCH_SIZE = 2**20
"""Examples per training batch (`batch_size` of `rnn_zoo.train.train`, `rnn-zoo
train --batch-size`): far above what one machine trains on, so a mistyped size is
refused before `fit` instead of overflowing inside TensorFlow."""

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_CLASSES",
    "MAX_DEPTH",
    "MAX_EMBEDDING_DIM",
    "MAX_FEATURES",
    "MAX_LENGTH",
    "MAX_OUTPUT_DIM",
    "MAX_PARAMETERS",
    "MAX_UNITS",
    "MAX_VOCAB_SIZE",
]
