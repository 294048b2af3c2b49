"""The task registry and the choices every layer of rnn-zoo shares.

One place answers "which cells, poolings, quantizations, LSTM kernels and
export targets exist" and "what does each task take, train with and allow".
Factories, the tuner's `RNNHyperModel`, TOML specs, export and the CLI all
read from here, so a new choice is added once.

This module imports nothing heavy (no Keras, no TensorFlow): the command
line reads it to build `--help` and to check arguments without paying for a
TensorFlow import. Factories are named by dotted path and imported only by
`Task.build`.

Example:

>>> from rnn_zoo import tasks
>>> tasks.CELLS
('lstm', 'gru', 'simple_rnn')
>>> tasks.get_task("text_classifier").loss
'sparse_categorical_crossentropy'
"""

import dataclasses
import importlib

CELLS = ("lstm", "gru", "simple_rnn")
POOLINGS = ("last", "mean", "max", "attention")
# None is float32; the others are TFLite post-training quantizations.
QUANTIZATIONS = (None, "float16", "dynamic_int8", "int8")
# How an LSTM is written into a TFLite file: a static-shape builtin loop
# (the default: it loads in LiteRT's CompiledModel), or TFLite's fused
# UNIDIRECTIONAL_SEQUENCE_LSTM op (for delegates that accelerate it; it does
# not load in CompiledModel).
LSTM_KERNELS = ("loop", "fused")
DEFAULT_LSTM_KERNEL = "loop"
# What runtime an exported TFLite file is written for: "litert" (model.tflite,
# dynamic length, Interpreter and CompiledModel) or "mediapipe"
# (mediapipe.tflite, fixed length, one subgraph, tokenizer metadata).
EXPORT_TARGETS = ("litert", "mediapipe")
DEFAULT_EXPORT_TARGET = "litert"
# How TextVectorizer splits text: "default" (tensorflow-text, NFKC, lower
# case, contractions split) or "mediapipe" (exactly MediaPipe's RegexTokenizer,
# so a phone reproduces the training ids).
TOKENIZERS = ("default", "mediapipe")
DEFAULT_TOKENIZER = "default"
# Kinds of model input.
INPUT_TOKEN_IDS = "token_ids"
INPUT_FEATURES = "features"
INPUT_KINDS = (INPUT_TOKEN_IDS, INPUT_FEATURES)


@dataclasses.dataclass(frozen=True)
class Task:
    """What one task is: its factory, input, training objective and options.

    Attributes:
        name: the task's name, e.g. `"text_classifier"`.
        factory: dotted path `"module:function"` of the `build_*` factory.
        input_kind: `"token_ids"` (int ids, 0 = padding) or `"features"`
            (float series).
        loss: the loss the factory compiles with.
        metrics: the metrics the factory compiles with.
        pooled: whether the sequence is pooled to one vector (so `pooling`
            applies).
        bidirectional: whether a backward pass is allowed (a language model
            must not read the token it predicts).
        recurrent: whether the model has recurrent layers (the bag of
            embeddings baseline has none, so it has no cell to search).
        classification: whether the output is a distribution over labels.
    """

    name: str
    factory: str
    input_kind: str
    loss: str
    metrics: tuple
    pooled: bool
    bidirectional: bool
    recurrent: bool = True
    classification: bool = True

    @property
    def tokens(self):
        """Whether the input is token ids (then an embedding is learned)."""
        return self.input_kind == INPUT_TOKEN_IDS

    def factory_function(self):
        """Import and return the task's `build_*` factory (imports Keras)."""
        module, _, function = self.factory.partition(":")
        return getattr(importlib.import_module(module), function)

    def build(self, **arguments):
        """Build the task's model: `factory_function()(**arguments)`."""
        return self.factory_function()(**arguments)


_CROSSENTROPY = "sparse_categorical_crossentropy"

TASKS = {
    task.name: task
    for task in (
        Task("text_classifier", "rnn_zoo.factories:build_text_classifier",
             INPUT_TOKEN_IDS, _CROSSENTROPY, ("accuracy",), pooled=True, bidirectional=True),
        Task("sequence_classifier", "rnn_zoo.factories:build_sequence_classifier",
             INPUT_FEATURES, _CROSSENTROPY, ("accuracy",), pooled=True, bidirectional=True),
        Task("sequence_tagger", "rnn_zoo.factories:build_sequence_tagger",
             INPUT_TOKEN_IDS, _CROSSENTROPY, ("accuracy",), pooled=False, bidirectional=True),
        Task("sequence_regressor", "rnn_zoo.factories:build_sequence_regressor",
             INPUT_FEATURES, "mse", ("mae",), pooled=True, bidirectional=True,
             classification=False),
        Task("language_model", "rnn_zoo.factories:build_language_model",
             INPUT_TOKEN_IDS, _CROSSENTROPY, ("accuracy",), pooled=False, bidirectional=False),
        Task("bag_of_embeddings", "rnn_zoo.factories:build_bag_of_embeddings",
             INPUT_TOKEN_IDS, _CROSSENTROPY, ("accuracy",), pooled=True, bidirectional=False,
             recurrent=False),
    )
}

# Tasks with recurrent layers: what the tuner searches and `train` builds.
RECURRENT_TASKS = tuple(name for name, task in TASKS.items() if task.recurrent)


def get_task(name, argument="task"):
    """The `Task` called `name`; a ValueError naming `argument` otherwise.

    Args:
        name: a key of `TASKS`.
        argument: the argument name to put in the error message.

    Returns:
        The `Task`.

    Example:

    >>> get_task("language_model").bidirectional
    False
    """
    if name not in TASKS:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected one of "
            f"{tuple(TASKS)}. Received: {argument}={name!r}"
        )
    return TASKS[name]
