"""Backend-native recurrent kernels that the zoo layers may route to.

Keras picks cuDNN when it can and otherwise runs its generic per-step loop.
This module is the hook where the zoo layers try a faster native kernel
first (for instance PyTorch's own LSTM kernel on CPU, which Keras's torch
backend only uses on CUDA). Each function returns the same tuple as the
Keras backend's `lstm()`/`gru()` (`last_output, outputs, states`), or None to
let the layer fall back to Keras's own path, exactly like a Keras backend
raising `NotImplementedError`.

With no native kernel registered for the current backend, every function
returns None and the layers behave exactly like their `keras.layers` parents.
"""


def native_lstm(layer, sequences, initial_state, mask, training=False):
    """Run `layer` (an LSTM) with a native kernel, or return None."""
    return None


def native_gru(layer, sequences, initial_state, mask, training=False):
    """Run `layer` (a GRU) with a native kernel, or return None."""
    return None


def native_bidirectional(layer, sequences, initial_state, mask, training=None):
    """Run a Bidirectional wrapper with a native kernel, or return None."""
    return None


def native_kernel_name(layer, masked=False):
    """Plain-words name of the native kernel `layer` would take, or None."""
    return None
