"""Loading `.keras` files safely."""

import keras

# Importing the layer modules registers every zoo layer with Keras
# (`register_keras_serializable`), which safe-mode loading looks them up by.
from rnn_zoo import heads  # noqa: F401
from rnn_zoo import layers  # noqa: F401


def load_model(path, compile=True):
    """Load a `.keras` file in safe mode, with the zoo's layers registered.

    Safe mode refuses to deserialize arbitrary Python (lambdas), so a file
    handed to us can't run code on load.

    Args:
        path: path to a `.keras` file.
        compile: bool, default True, restore the training configuration.

    Returns:
        The `keras.Model`.

    Example:

    >>> model.save("model.keras"); same = rnn_zoo.load_model("model.keras")
    """
    return keras.saving.load_model(path, compile=compile, safe_mode=True)
