"""rnn-zoo: recurrent networks (LSTM, GRU, bidirectional) on Keras 3.

Data -> preprocessing -> backbone -> head -> train -> tune -> export -> gates.

Every public name loads on first use, so `import rnn_zoo` imports no Keras
and the command line's `rnn-zoo list` and `--help` answer at once. Loading a
model (`rnn_zoo.load_model`, `rnn_zoo.Bundle.load`) registers the zoo's
layers first.

Example:

>>> import rnn_zoo
>>> rnn_zoo.list_models()[:3]
>>> model = rnn_zoo.build_text_classifier(vocab_size=5000, cell="gru", bidirectional=True)
>>> for entry in rnn_zoo.cudnn_report(model):
...     print(entry)
"""

import importlib
import warnings

__version__ = "0.1.0"

# Submodules reachable as attributes (`rnn_zoo.layers`), imported on first use.
_LAZY_MODULES = (
    "backbones",
    "bundle",
    "callbacks",
    "configurations",
    "cudnn",
    "data",
    "distribute",
    "eligibility",
    "export",
    "factories",
    "gates",
    "heads",
    "layers",
    "presets",
    "recipes",
    "saving",
    "tasks",
    "text",
    "train",
    "tuning",
)
# Public name -> the submodule that defines it.
_LAZY_NAMES = {
    "Bundle": "bundle",
    "DataError": "data",
    "TextVectorizer": "text",
    "build_bag_of_embeddings": "factories",
    "build_language_model": "factories",
    "build_model": "configurations",
    "build_sequence_classifier": "factories",
    "build_sequence_regressor": "factories",
    "build_sequence_tagger": "factories",
    "build_text_classifier": "factories",
    "cudnn_report": "cudnn",
    "describe_model": "configurations",
    "from_preset": "presets",
    "list_models": "configurations",
    "list_presets": "presets",
    "load_model": "saving",
    "prepare": "bundle",
}
# Old module name -> its new name; the old one warns and keeps working.
_RENAMED_MODULES = {"inspect": "gates"}


def __getattr__(name):
    if name in _RENAMED_MODULES:
        new = _RENAMED_MODULES[name]
        warnings.warn(
            f"rnn_zoo.{name} is deprecated; use rnn_zoo.{new}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(f"rnn_zoo.{new}")
    if name in _LAZY_MODULES:
        return importlib.import_module(f"rnn_zoo.{name}")
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"rnn_zoo.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnn_zoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))
