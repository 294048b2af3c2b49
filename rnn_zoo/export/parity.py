"""Parity: the inputs every export is checked on, the model's own outputs, the comparison.

One generator of verification inputs serves the SavedModel, the TFLite and
the streaming exports, so every artifact of a version is judged on the same
rows: full rows, right-padded rows and left-padded rows, of lengths from the
longest down to one step. `make_reference` computes the model's outputs on
them on the backend the model was trained on (jax, torch or tensorflow): the
truth every exported artifact is compared with.

A leaf: Keras and numpy only, no TensorFlow, so the jax and torch side of a
cross-backend export can compute the reference.

Example:

>>> from rnn_zoo.export import parity
>>> reference = parity.make_reference(model)
>>> parity.max_abs_diff(model(reference["inputs"]), reference["outputs"])
0.0
"""

import keras
import numpy as np

from rnn_zoo import layers as zoo_layers
from rnn_zoo.export import serving as serving_lib

# Rows and steps of the default verification batch: enough rows for every
# padding layout, short enough that an export checks in well under a second.
DEFAULT_ROWS = 8
DEFAULT_STEPS = 12


def padding_value(model):
    """The value that marks a padding step in `model`'s input.

    Args:
        model: a zoo `keras.Model`.

    Returns:
        The `padding_value` of its `RightAlignPadding` layer, else 0.

    Example:

    >>> padding_value(rnn_zoo.build_text_classifier(vocab_size=50))
    0
    """
    for layer in model.layers:
        if isinstance(layer, zoo_layers.RightAlignPadding):
            return layer.padding_value
    return 0


def verification_inputs(model, rows=DEFAULT_ROWS, steps=DEFAULT_STEPS, seed=0):
    """Deterministic inputs `model` accepts, padded every way an app pads them.

    Row lengths run evenly from `steps` (the first row is full) down to one
    step; even rows are padded at the end, odd rows at the start, with the
    model's padding value. Token ids are drawn from [1, vocab_size) (1 is the
    out-of-vocabulary id), features from a standard normal.

    Args:
        model: a zoo `keras.Model` with one input, token ids `[batch, time]`
            or features `[batch, time, num_features]`.
        rows: int >= 1, default 8.
        steps: int >= 1, default 12.
        seed: int, default 0.

    Returns:
        int32 ids `[rows, steps]` or float32 features
        `[rows, steps, num_features]`.

    Example:

    >>> verification_inputs(rnn_zoo.build_text_classifier(vocab_size=50), rows=2, steps=3)
    array([[42, 32, 26],
           [ 0,  0,  3]], dtype=int32)
    """
    rng = np.random.default_rng(seed)
    spec = model.inputs[0]
    pad = padding_value(model)
    lengths = np.linspace(steps, 1, rows).astype(int)
    if len(spec.shape) == 2:
        vocab_size = serving_lib.vocab_size(model)
        values = rng.integers(serving_lib.OOV_ID, max(vocab_size, serving_lib.OOV_ID + 1),
                              size=(rows, steps)).astype("int32")
    else:
        values = rng.normal(size=(rows, steps, spec.shape[-1])).astype("float32")
    for row, length in enumerate(lengths):
        if row % 2:
            values[row, : steps - length] = pad  # left padding
        else:
            values[row, length:] = pad  # right padding
    return values


def verification_texts(vectorizer, count=3, seed=0):
    """A few texts made of vocabulary tokens plus one unknown word (exercises OOV).

    Args:
        vectorizer: an `rnn_zoo.text.TextVectorizer`.
        count: int >= 1, default 3.
        seed: int, default 0.

    Returns:
        A list of `count` strings, the k-th with 3 + 2k known tokens (at most
        as many as the vocabulary holds).

    Example:

    >>> verification_texts(TextVectorizer(vocabulary=["good", "bad"]), count=1)
    ['bad bad zzqxunknownword']
    """
    rng = np.random.default_rng(seed)
    tokens = list(vectorizer.vocabulary[2:])
    texts = []
    for index in range(count):
        picked = rng.choice(tokens, size=min(len(tokens), 3 + 2 * index), replace=True)
        texts.append(" ".join(str(token) for token in picked) + " zzqxunknownword")
    return texts


def as_batch(data, model):
    """Verification data as one padded numpy array.

    Args:
        data: a numpy batch (returned as is) or a list of samples without a
            batch axis, of any lengths.
        model: the model (for its padding value).

    Returns:
        A numpy array `[samples, longest, ...]`, shorter samples padded at the end.

    Example:

    >>> as_batch([np.array([5, 6]), np.array([7])], model)
    array([[5, 6],
           [7, 0]])
    """
    if isinstance(data, np.ndarray):
        return data
    samples = [np.asarray(sample) for sample in data]
    longest = max(sample.shape[0] for sample in samples)
    batch = np.full((len(samples), longest) + samples[0].shape[1:], padding_value(model),
                    dtype=samples[0].dtype)
    for row, sample in enumerate(samples):
        batch[row, : sample.shape[0]] = sample
    return batch


def model_outputs(model, inputs):
    """The model's outputs on `inputs`, as a numpy array (one direct call).

    `model.predict` would compile a whole predict loop first, which costs
    seconds for a handful of rows.

    Args:
        model: a `keras.Model`.
        inputs: a numpy batch.

    Returns:
        numpy array.

    Example:

    >>> model_outputs(model, verification_inputs(model)).shape
    (8, 2)
    """
    return np.asarray(keras.ops.convert_to_numpy(model(inputs, training=False)))


def make_reference(model, vectorizer=None, verification_data=None, serving=None):
    """Predictions of `model` on the verification inputs, on the current backend.

    This is the truth exported artifacts are compared with; computed where the
    model was trained (jax, torch or tensorflow).

    Args:
        model: a zoo `keras.Model`.
        vectorizer: optional `TextVectorizer`; adds texts and their outputs.
        verification_data: inputs to use, default `verification_inputs(model)`
            (at most `max_length` steps).
        serving: the serving spec, default `serving_spec(model, vectorizer)`.

    Returns:
        dict with `backend`, `inputs`, `outputs`, and for text models `texts`,
        `text_ids`, `text_outputs` (numpy arrays / list of str).

    Raises:
        ValueError: `verification_data` is not a batch the model takes.

    Example:

    >>> reference = make_reference(model)
    >>> reference["backend"], reference["inputs"].shape
    ('jax', (8, 12))
    """
    serving = serving or serving_lib.serving_spec(model, vectorizer)
    inputs = verification_data
    if inputs is None:
        inputs = verification_inputs(model, steps=min(DEFAULT_STEPS, serving["max_length"]))
    inputs = np.asarray(inputs, dtype=serving["input"]["dtype"])
    if inputs.ndim < 2 or inputs.shape[1] > serving["max_length"]:
        raise ValueError(
            "Invalid value received for argument `verification_data`. Expected a batch "
            f"[batch, time, ...] with time <= max_length={serving['max_length']}. "
            f"Received: shape {inputs.shape}"
        )
    reference = {
        "backend": keras.backend.backend(),
        "inputs": inputs,
        "outputs": model_outputs(model, inputs),
    }
    if vectorizer is not None:
        texts = verification_texts(vectorizer)
        text_ids = vectorizer(texts)
        reference.update(texts=texts, text_ids=text_ids,
                         text_outputs=model_outputs(model, text_ids))
    return reference


def max_abs_diff(actual, expected):
    """Largest absolute difference between an artifact's outputs and the model's.

    Args:
        actual: the exported artifact's outputs.
        expected: the reference outputs, same shape.

    Returns:
        float (0.0 for empty arrays), computed in float64.

    Raises:
        ValueError: the shapes differ.

    Example:

    >>> max_abs_diff([[0.25, 0.75]], [[0.5, 0.5]])
    0.25
    """
    actual = np.asarray(actual, dtype="float64")
    expected = np.asarray(expected, dtype="float64")
    if actual.shape != expected.shape:
        raise ValueError(
            f"Exported output shape {actual.shape} != Keras output shape {expected.shape}.")
    return float(np.max(np.abs(actual - expected))) if actual.size else 0.0


def check_parity(parity, tolerance, where):
    """Raise when a parity figure exceeds `tolerance` or the text ids differ.

    Args:
        parity: dict of figures; every key ending in "max_abs_diff" is held
            to `tolerance`, and `text_ids_match=False` fails.
        tolerance: float.
        where: the call to name in the message, e.g. "export_model('clf')".

    Raises:
        ValueError: a figure is out of bounds; the export was not kept.

    Example:

    >>> check_parity({"saved_model_max_abs_diff": 0.1}, 1e-5, where="export_model('m')")
    Traceback (most recent call last):
    ValueError: export_model('m'): saved_model_max_abs_diff=0.1 exceeds tolerance=1e-05 ...
    """
    if parity.get("text_ids_match") is False:
        raise ValueError(
            f"{where}: the `text` signature produced different token ids than the "
            "TextVectorizer; the export was not kept."
        )
    for key, value in parity.items():
        if key.endswith("max_abs_diff") and value is not None and value > tolerance:
            raise ValueError(
                f"{where}: {key}={value:.3g} exceeds tolerance={tolerance:g} against the "
                f"{parity.get('reference_backend')} model; the export was not kept."
            )
