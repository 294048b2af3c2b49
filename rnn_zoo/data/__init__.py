"""Data for rnn-zoo: synthetic probes, offline real data sets, and file readers.

Every entry point returns a small frozen container:

- `TextClassificationData(texts, labels, class_names, negated=None, order_dependent=None)`
- `TaggingData(texts, tags, dependent, lengths, tag_names)`
- `SequenceData(x, lengths, labels=None, class_names=(), targets=None, names=())`

Conventions: token id 0 is padding and 1 is OOV (see `rnn_zoo.text`); numeric
sequences are float32 `[n, time, features]`, right-padded with 0.0, plus `lengths`.
This package imports only numpy; aeon and music21 are imported when a loader needs them.

The readers (`read_text_csv`, `read_text_jsonl`, `read_sequences_npz`) raise only
`DataError` for anything a file holds, apply one label rule (numeric labels that are
equal are one class: `1`, `1.0` and `"1"`), and check every size against the stated
limits in `rnn_zoo.data.limits` before allocating.

Example:

>>> from rnn_zoo import data
>>> probe = data.negation_sentiment(2000, seed=0)
>>> vowels = data.load_japanese_vowels(split="train")
>>> x = data.SequenceScaler.fit(vowels).transform(vowels)  # padding stays 0.0
>>> mine = data.read_text_csv("reviews.csv", labels=["neg", "pos"])  # doctest: +SKIP
"""

from rnn_zoo.data import limits
from rnn_zoo.data.datasets import default_cache_dir
from rnn_zoo.data.datasets import load_aeon_classification
from rnn_zoo.data.datasets import load_bach_chorales
from rnn_zoo.data.datasets import load_basic_motions
from rnn_zoo.data.datasets import load_japanese_vowels
from rnn_zoo.data.generators import SENTIMENT_CLASS_NAMES
from rnn_zoo.data.generators import TAG_NAMES
from rnn_zoo.data.generators import adding_problem
from rnn_zoo.data.generators import contrast_sentiment
from rnn_zoo.data.generators import future_context_tagging
from rnn_zoo.data.generators import negation_sentiment
from rnn_zoo.data.readers import DataError
from rnn_zoo.data.readers import SequenceData
from rnn_zoo.data.readers import TaggingData
from rnn_zoo.data.readers import TextClassificationData
from rnn_zoo.data.readers import pad_sequences
from rnn_zoo.data.readers import read_array_npz
from rnn_zoo.data.readers import read_sequences_npz
from rnn_zoo.data.readers import read_text_csv
from rnn_zoo.data.readers import read_text_jsonl
from rnn_zoo.data.scaling import SequenceScaler

__all__ = [
    "DataError",
    "SENTIMENT_CLASS_NAMES",
    "SequenceData",
    "SequenceScaler",
    "TAG_NAMES",
    "TaggingData",
    "TextClassificationData",
    "adding_problem",
    "contrast_sentiment",
    "default_cache_dir",
    "future_context_tagging",
    "load_aeon_classification",
    "load_bach_chorales",
    "load_basic_motions",
    "limits",
    "load_japanese_vowels",
    "negation_sentiment",
    "pad_sequences",
    "read_array_npz",
    "read_sequences_npz",
    "read_text_csv",
    "read_text_jsonl",
]
