"""rnn-zoo: recurrent networks (LSTM, GRU, bidirectional) on Keras 3.

Data -> preprocessing -> backbone -> head -> train -> tune -> export -> inspect.

Example:

>>> import rnn_zoo
>>> rnn_zoo.list_models()[:3]
>>> model = rnn_zoo.build_text_classifier(vocab_size=5000, cell="gru", bidirectional=True)
>>> for entry in rnn_zoo.cudnn_report(model):
...     print(entry)
"""

import importlib

__version__ = "0.1.0"

from rnn_zoo import callbacks
from rnn_zoo import data
from rnn_zoo import layers
from rnn_zoo.cudnn import cudnn_report
from rnn_zoo.data import DataError
from rnn_zoo.factories import build_bag_of_embeddings
from rnn_zoo.factories import build_language_model
from rnn_zoo.factories import build_model
from rnn_zoo.factories import build_sequence_classifier
from rnn_zoo.factories import build_sequence_regressor
from rnn_zoo.factories import build_sequence_tagger
from rnn_zoo.factories import build_text_classifier
from rnn_zoo.factories import describe_model
from rnn_zoo.factories import list_models
from rnn_zoo.saving import load_model

# Modules that import TensorFlow (text, export) or heavier libraries load on
# first use, so `import rnn_zoo` stays cheap on the JAX and torch backends.
_LAZY_MODULES = ("text", "train", "inspect", "export", "tuning")
_LAZY_NAMES = {"TextVectorizer": "text"}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"rnn_zoo.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f"rnn_zoo.{_LAZY_NAMES[name]}"), name)
    raise AttributeError(f"module 'rnn_zoo' has no attribute {name!r}")
