"""Backend-native recurrent kernels that the zoo layers may route to.

Keras picks cuDNN when it can and otherwise runs its generic per-step loop.
This module is the hook where the zoo layers try a faster native kernel
first. Each function returns the same value as the Keras code it replaces
(`backend.lstm()`/`backend.gru()`: `(last_output, outputs, states)`; for a
`Bidirectional`: what `Bidirectional.call` returns), or None to let the layer
fall back to Keras's own path, exactly like a Keras backend raising
`NotImplementedError`.

What runs where (keras 3.15.1, measured in benchmarks/RESULTS.md):

* torch backend, CPU and CUDA: PyTorch's own `torch._VF.lstm`/`torch._VF.gru`
  (the kernels behind `torch.nn.LSTM`/`nn.GRU`; cuDNN on CUDA), masks as
  packed sequences, both directions of a `Bidirectional` in one call; on
  CPU a batch that is mostly real steps instead runs unpacked over its
  padding, which is faster there (`kernels_torch.runs_over_padding`).
  Keras itself only uses these kernels on CUDA and never with a mask.
* tensorflow and jax: None. Keras's own paths are already the fastest we
  found on CPU (see benchmarks/README.md for what was tried).

A layer takes the native kernel only when the math is exactly the kernel's:
tanh / sigmoid, `use_bias`, no `recurrent_dropout`, not `unroll`, not
`stateful`, `reset_after=True` for a GRU, `use_cudnn` not False, and no
mixed precision. Input `dropout` is supported with Keras's cuDNN semantics
(one mask per sequence). Passing `use_cudnn=False` forces Keras's generic
loop, which is how the tests compare the two.
"""

import keras

from rnn_zoo import eligibility

_TORCH_NAME = {
    "lstm": "PyTorch native LSTM kernel (torch._VF.lstm)",
    "gru": "PyTorch native GRU kernel (torch._VF.gru)",
}


def ineligibility_reasons(layer):
    """Why `layer` (an LSTM, GRU or Bidirectional) can't take a native kernel.

    The rules are `rnn_zoo.eligibility.RULES`, shared with the cuDNN report.

    Args:
        layer: a Keras recurrent layer or `Bidirectional` wrapper.

    Returns:
        A list of plain-words reasons; empty when the native kernel applies.

    Example:

    >>> ineligibility_reasons(rnn_zoo.layers.LSTM(8, unroll=True))
    ['unroll=True']
    """
    return eligibility.reasons(layer, kernel=eligibility.NATIVE)


def _torch_kernels():
    if keras.backend.backend() != "torch":
        return None
    # Imported lazily: torch is an optional dependency of rnn_zoo.
    from rnn_zoo import kernels_torch

    return kernels_torch


def native_lstm(layer, sequences, initial_state, mask, training=False):
    """Run `layer` (an LSTM) with a native kernel, or return None.

    Args:
        layer: the `keras.layers.LSTM` whose `inner_loop` is running.
        sequences: `[batch, time, features]`.
        initial_state: `[h, c]`.
        mask: boolean `[batch, time]` or None.
        training: bool, applies the input dropout when True.

    Returns:
        `(last_output, outputs, [h, c])` exactly as `keras.backend.lstm`
        (or Keras's generic loop) returns them, or None. One exception: a
        layer that does not return its state may get a NaN `c` (a padded
        batch run over its padding on CPU, see `kernels_torch`), which
        `RNN.call` drops.
    """
    backend_kernels = _torch_kernels()
    if backend_kernels is None or ineligibility_reasons(layer):
        return None
    return backend_kernels.recurrent(layer, "lstm", sequences, initial_state,
                                     mask, training)


def native_gru(layer, sequences, initial_state, mask, training=False):
    """Run `layer` (a GRU) with a native kernel, or return None.

    Same contract as `native_lstm`, with states `[h]`.
    """
    backend_kernels = _torch_kernels()
    if backend_kernels is None or ineligibility_reasons(layer):
        return None
    return backend_kernels.recurrent(layer, "gru", sequences, initial_state,
                                     mask, training)


def native_bidirectional(layer, sequences, initial_state, mask, training=None):
    """Run a Bidirectional wrapper with one native kernel call, or return None.

    Returns None (the wrapper then runs each direction, which still takes
    `native_lstm`/`native_gru`) when the input dropout is active, because
    each direction draws its own dropout mask in Keras.

    Returns:
        Exactly what `keras.layers.Bidirectional.call` returns, or None.
    """
    backend_kernels = _torch_kernels()
    if backend_kernels is None or ineligibility_reasons(layer):
        return None
    forward, backward = layer.forward_layer, layer.backward_layer
    if not (forward.built and backward.built):
        return None
    if training and (forward.cell.dropout or backward.cell.dropout):
        return None
    per_direction = 2 if eligibility.cell_kind(forward) == "lstm" else 1
    if initial_state is not None and len(initial_state) != 2 * per_direction:
        return None
    return backend_kernels.bidirectional(layer, eligibility.cell_kind(forward), sequences,
                                         initial_state, mask)


def native_kernel_name(layer, masked=False):
    """Plain-words name of the native kernel `layer` would take, or None.

    Args:
        layer: a recurrent layer or `Bidirectional` wrapper.
        masked: whether it receives a mask (a right-padded batch runs as
            packed sequences or, on CPU, over its padding; any other mask
            falls back at run time).
    """
    if keras.backend.backend() != "torch" or ineligibility_reasons(layer):
        return None
    inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
    name = _TORCH_NAME[eligibility.cell_kind(inner)]
    if isinstance(layer, keras.layers.Bidirectional):
        name += ", both directions in one call"
    if masked:
        name += ", padded batches packed or run over the padding"
    return name
