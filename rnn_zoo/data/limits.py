"""The stated size limits of the data readers, in one place.

Every size a reader takes from a file (a file's length, a line, a text, a label, a
count of rows, classes, steps or features, an array's shape) is compared with one of
these limits *before* anything is allocated from it. A file past a limit is refused
with a `DataError` that names the file, the place, the limit and its value, so a
hostile or corrupt file costs a few milliseconds, never the process's memory.

The limits are far above what a recurrent network can use, so they refuse only files
that are broken or built to do harm. They are module constants: a caller who truly
needs more may raise one (`rnn_zoo.data.limits.MAX_CLASSES = 500_000`) before reading.

This module imports nothing; `rnn_zoo.data.readers` reads the values at call time.

Example:

>>> from rnn_zoo.data import limits
>>> limits.MAX_CLASSES
100000
"""

# Files.
MAX_TEXT_FILE_BYTES = 256 * 2**20
"""Bytes in a CSV or JSONL file (256 MiB). The whole file is decoded in memory."""

MAX_NPZ_FILE_BYTES = 4 * 2**30
"""Bytes in an `.npz` archive (4 GiB). Members are read one by one, each bounded below."""

# Text files.
MAX_LINE_LENGTH = 8_000_000
"""Characters in one JSON Lines line, before it is parsed."""

MAX_TEXT_LENGTH = 1_000_000
"""Characters in one text (a CSV field or a JSON string), and in any CSV field."""

MAX_LABEL_LENGTH = 1_000
"""Characters in one label, and in a numeric label written out in plain digits."""

# Counts.
MAX_ROWS = 10_000_000
"""Records (samples) in one file."""

MAX_CLASSES = 100_000
"""Distinct labels in one file, labels passed as `labels=`, class names, or the
largest label id + 1 in an `.npz` file."""

# Numeric sequences.
MAX_SEQUENCE_LENGTH = 1_000_000
"""Steps in one sequence (`lengths[i]`, and the time axis of `x`)."""

MAX_FEATURES = 100_000
"""Features per step (the last axis of `x` or `values`)."""

MAX_ARRAY_ELEMENTS = 2**28
"""Elements in any one array of an `.npz` file, and in the padded float32 `x` built
from it (2**28 float32 values are 1 GiB)."""

__all__ = [
    "MAX_ARRAY_ELEMENTS",
    "MAX_CLASSES",
    "MAX_FEATURES",
    "MAX_LABEL_LENGTH",
    "MAX_LINE_LENGTH",
    "MAX_NPZ_FILE_BYTES",
    "MAX_ROWS",
    "MAX_SEQUENCE_LENGTH",
    "MAX_TEXT_FILE_BYTES",
    "MAX_TEXT_LENGTH",
]
