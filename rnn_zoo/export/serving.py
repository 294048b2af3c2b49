"""How an exported model is called: file names, signature names and the serving spec.

A leaf shared by every writer, the orchestrator and the predictor, so that a
name ("model.tflite", the `token_ids` signature) is written in one place.

Signatures of a SavedModel (each takes a batch):

* token models: `token_ids` (input `token_ids`: int32 `[batch, time]`,
  0 = padding), also served as `serving_default`; with a text vectorizer also
  `text` (input `text`: string `[batch]`);
* numeric models: `features` (float32 `[batch, time, num_features]`), also
  `serving_default`.

Deprecated: token models also keep the `ids` signature, the same function
under the name versions exported before used. TF Serving clients that ask
for `ids` keep working; new clients should ask for `token_ids` (the input
was always called `token_ids`). `load_exported` calls `token_ids` and falls
back to `ids` for versions exported before the rename.

Example:

>>> from rnn_zoo.export import serving
>>> serving.serving_spec(rnn_zoo.build_text_classifier(vocab_size=50))["input"]
{'name': 'token_ids', 'dtype': 'int32', 'shape': [None, None]}
"""


# Files of an exported version.
SAVED_MODEL_FILE = "saved_model.pb"
TFLITE_FILE = "model.tflite"
# One file per export target (`rnn_zoo.tasks.EXPORT_TARGETS`).
TARGET_FILES = {"litert": TFLITE_FILE, "mediapipe": "mediapipe.tflite"}
LABELS_FILE = "labels.txt"
VOCABULARY_FILE = "vocab.txt"
VECTORIZER_CONFIG_FILE = "text_vectorizer.json"
DEFAULT_EXPORT_ROOT = "saved_models"

# Signature names.
SIGNATURE_DEFAULT = "serving_default"
SIGNATURE_TOKEN_IDS = "token_ids"
SIGNATURE_FEATURES = "features"
SIGNATURE_TEXT = "text"
# Deprecated alias of SIGNATURE_TOKEN_IDS, still written for older clients.
SIGNATURE_IDS = "ids"
DEPRECATED_SIGNATURES = {SIGNATURE_IDS: SIGNATURE_TOKEN_IDS}

# Input names and the two ids every token model reserves.
INPUT_TOKEN_IDS = "token_ids"
INPUT_FEATURES = "features"
PADDING_ID = 0
OOV_ID = 1

DEFAULT_MAX_LENGTH = 512
# Largest absolute difference allowed between a float32 artifact and Keras.
DEFAULT_TOLERANCE = 1e-5
TEXT_IMPORTS = ("tensorflow_text",)
LOAD_NOTE = (
    "import tensorflow_text before tf.saved_model.load: the `text` signature uses "
    "tensorflow-text ops, which are not part of core TensorFlow."
)


def _single(tensors, what, model):
    if len(tensors) != 1:
        raise ValueError(
            f"Model '{model.name}' has {len(tensors)} {what}s; export supports models "
            f"with exactly one {what} (the zoo's factories build such models)."
        )
    return tensors[0]


def output_name(model):
    """The name the exports give the model's output.

    Args:
        model: a zoo `keras.Model`.

    Returns:
        "probabilities" when the last Dense layer ends in a softmax
        (classifiers, taggers, language models), "predictions" for a linear
        one (regressors), "outputs" without a Dense layer.

    Example:

    >>> output_name(rnn_zoo.build_text_classifier(vocab_size=50))
    'probabilities'
    """
    import keras  # lazily: the predictor reads this module without Keras

    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.Dense):
            activation = keras.activations.serialize(layer.activation)
            name = activation if isinstance(activation, str) else activation.get("config", "")
            return "probabilities" if "softmax" in str(name) else "predictions"
    return "outputs"


def vocab_size(model):
    """The vocabulary size a token model embeds (its first Embedding's `input_dim`).

    Args:
        model: a `keras.Model` taking token ids.

    Returns:
        int.

    Raises:
        ValueError: the model has no Embedding layer.

    Example:

    >>> vocab_size(rnn_zoo.build_text_classifier(vocab_size=50))
    50
    """
    import keras  # lazily: the predictor reads this module without Keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    raise ValueError(
        f"Model '{model.name}' takes integer ids but has no Embedding layer; can't tell "
        "its vocabulary size."
    )


def _signatures(is_tokens, input_name, input_spec, name, with_text):
    main = {"inputs": {input_name: input_spec}, "outputs": [name]}
    signatures = {SIGNATURE_DEFAULT: main}
    if is_tokens:
        signatures[SIGNATURE_TOKEN_IDS] = dict(main)
        signatures[SIGNATURE_IDS] = dict(
            main, deprecated=f"alias of `{SIGNATURE_TOKEN_IDS}`, kept for clients of "
            f"earlier exports; use `{SIGNATURE_TOKEN_IDS}`")
    else:
        signatures[SIGNATURE_FEATURES] = dict(main)
    if with_text:
        signatures[SIGNATURE_TEXT] = {
            "inputs": {"text": {"name": "text", "dtype": "string", "shape": [None]}},
            "outputs": [name, INPUT_TOKEN_IDS],
        }
    return signatures


def serving_spec(model, vectorizer=None, max_length=None):
    """Describe how to call the exported model: the `serving` part of the manifest.

    Args:
        model: a zoo `keras.Model` (one input, one output).
        vectorizer: optional `rnn_zoo.text.TextVectorizer` for token models.
        max_length: int > 0 or None. Longest accepted input, in steps. None:
            the vectorizer's `max_length`, else `DEFAULT_MAX_LENGTH` (512).

    Returns:
        A JSON-ready dict: `input_kind`, `input`, `output`, `vocab_size`,
        `padding_id`, `oov_id`, `num_features`, `max_length`, `signatures`,
        `requires_imports`, `load_note` and `text` (the vectorizer's files
        and settings, or None).

    Raises:
        ValueError: a model export does not support, or a vectorizer or
            `max_length` that does not fit the model.

    Example:

    >>> serving_spec(rnn_zoo.build_text_classifier(vocab_size=50))["input"]
    {'name': 'token_ids', 'dtype': 'int32', 'shape': [None, None]}
    """
    import keras  # lazily: the predictor reads this module without Keras

    model_input = _single(model.inputs, "input", model)
    model_output = _single(model.outputs, "output", model)
    dtype = keras.backend.standardize_dtype(model_input.dtype)
    rank = len(model_input.shape)
    is_tokens = "int" in dtype
    if is_tokens and rank != 2 or not is_tokens and rank != 3:
        raise ValueError(
            f"Model '{model.name}' input {model_input.shape} ({dtype}) is neither token ids "
            "int [batch, time] nor features float [batch, time, num_features]."
        )
    if vectorizer is not None and not is_tokens:
        raise ValueError(
            "Invalid value received for argument `vectorizer`. A text vectorizer only "
            f"applies to token-id models; model '{model.name}' takes float features."
        )
    if max_length is None:
        max_length = getattr(vectorizer, "max_length", None) or DEFAULT_MAX_LENGTH
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(
            "Invalid value received for argument `max_length`. Expected an integer >= 1. "
            f"Received: max_length={max_length!r}"
        )
    size = vocab_size(model) if is_tokens else None
    if vectorizer is not None:
        if vectorizer.vocab_size > size:
            raise ValueError(
                f"The vectorizer has {vectorizer.vocab_size} ids but model "
                f"'{model.name}' embeds only {size}: ids >= {size} would be "
                "out of range. Use the vectorizer the model was trained with."
            )
        if vectorizer.max_length is not None and vectorizer.max_length > max_length:
            raise ValueError(
                f"Invalid value received for argument `max_length`. Expected at least the "
                f"vectorizer's max_length ({vectorizer.max_length}). Received: "
                f"max_length={max_length!r}"
            )
    input_name = INPUT_TOKEN_IDS if is_tokens else INPUT_FEATURES
    input_spec = {
        "name": input_name,
        "dtype": "int32" if is_tokens else "float32",
        "shape": [None, None] if is_tokens else [None, None, int(model_input.shape[-1])],
    }
    name = output_name(model)
    output_spec = {
        "name": name,
        "dtype": "float32",
        "shape": [None] + [None if d is None else int(d) for d in model_output.shape[1:]],
    }
    return {
        "input_kind": input_name,
        "input": input_spec,
        "output": output_spec,
        "vocab_size": size,
        "padding_id": PADDING_ID if is_tokens else None,
        "oov_id": OOV_ID if is_tokens else None,
        "num_features": None if is_tokens else int(model_input.shape[-1]),
        "max_length": max_length,
        "signatures": _signatures(is_tokens, input_name, input_spec, name,
                                  with_text=vectorizer is not None),
        "requires_imports": list(TEXT_IMPORTS) if vectorizer is not None else [],
        "load_note": LOAD_NOTE if vectorizer is not None else None,
        "text": None if vectorizer is None else {
            "vocabulary_file": VOCABULARY_FILE,
            "config_file": VECTORIZER_CONFIG_FILE,
            "vocab_size": vectorizer.vocab_size,
            "max_length": vectorizer.max_length,
            "lowercase": vectorizer.lowercase,
            "tokenizer": getattr(vectorizer, "tokenizer", "default"),
        },
    }
