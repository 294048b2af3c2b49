"""Keras Tuner search over the zoo: `RNNHyperModel`, TOML specs, resume, workers.

Each trial is scored by k-fold cross-validation on the training split
(`rnn_zoo.tuning.cv`); the winner and the default configuration are refit on
the whole training split, saved as bundles (`best/`, `default/`) and scored
once on the dataset's test split.

Example:

>>> from rnn_zoo.tuning import RNNHyperModel, load_spec, run_search
>>> spec = load_spec("tuning/negation_sentiment.toml")
>>> result = run_search(spec, "tuning_runs/negation_sentiment")
>>> result.best["score"], result.summary["cv_mean"], result.summary["default"]["cv_mean"]

Or from the shell: `rnn-zoo tune tuning/negation_sentiment.toml --workers 2`.
See `rnn_zoo.tuning.distributed` for the multi-machine setup.
"""

from rnn_zoo.tuning.hypermodel import DEFAULT_SPACE
from rnn_zoo.tuning.hypermodel import TASKS
from rnn_zoo.tuning.hypermodel import RNNHyperModel
from rnn_zoo.tuning.search import SearchResult
from rnn_zoo.tuning.search import export_best
from rnn_zoo.tuning.search import run_search
from rnn_zoo.tuning.specs import SearchSpec
from rnn_zoo.tuning.specs import load_spec
from rnn_zoo.tuning.specs import parse_spec

__all__ = [
    "DEFAULT_SPACE",
    "RNNHyperModel",
    "SearchResult",
    "SearchSpec",
    "TASKS",
    "export_best",
    "load_spec",
    "parse_spec",
    "run_search",
]
