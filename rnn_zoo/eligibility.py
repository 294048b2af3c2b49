"""One rule table: which recurrent layers can take a fast fused kernel.

Two kernels share almost the same conditions: cuDNN (through Keras's own
`use_cudnn` path) and the zoo's native kernels (`rnn_zoo.kernels`, e.g.
PyTorch's `torch._VF.lstm`). Both compute exactly the standard cell, so both
need tanh / sigmoid, a bias, no recurrent dropout, no unrolling and, for a
GRU, `reset_after=True`. The native kernels also replace Keras's whole loop,
so they additionally refuse `stateful` layers and mixed precision. Keras
keeps one `cudnn_ok`; this is ours, and `kernels.py` and `cudnn.py` both read
it, so a rule is written once.

Example:

>>> from rnn_zoo import eligibility
>>> eligibility.reasons(keras.layers.LSTM(8, unroll=True), kernel="cudnn")
['unroll=True']
"""

import keras

CUDNN = "cudnn"
NATIVE = "native"
KERNELS = (CUDNN, NATIVE)


def cell_kind(layer):
    """"lstm", "gru" or "simple_rnn" for a recurrent layer or a `Bidirectional`.

    Args:
        layer: a Keras `LSTM`, `GRU`, `SimpleRNN` (or subclass) or a
            `Bidirectional` wrapping one.

    Returns:
        The cell's name, as in `rnn_zoo.tasks.CELLS`, or None for any other layer.
    """
    inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
    if isinstance(inner, keras.layers.LSTM):
        return "lstm"
    if isinstance(inner, keras.layers.GRU):
        return "gru"
    if isinstance(inner, keras.layers.SimpleRNN):
        return "simple_rnn"
    return None


def _activation(function):
    return keras.activations.serialize(function)


# (kernels the rule applies to, test returning the reason or None). Each test
# receives the recurrent layer (never a Bidirectional) and its cell kind.
RULES = (
    (KERNELS, lambda layer, kind: (
        f"activation={_activation(layer.cell.activation)!r} (needs 'tanh')"
        if _activation(layer.cell.activation) != "tanh" else None)),
    (KERNELS, lambda layer, kind: (
        f"recurrent_activation={_activation(layer.cell.recurrent_activation)!r} "
        "(needs 'sigmoid')"
        if _activation(layer.cell.recurrent_activation) != "sigmoid" else None)),
    (KERNELS, lambda layer, kind: (
        f"recurrent_dropout={layer.cell.recurrent_dropout} > 0"
        if layer.cell.recurrent_dropout > 0 else None)),
    (KERNELS, lambda layer, kind: "unroll=True" if layer.unroll else None),
    (KERNELS, lambda layer, kind: "use_bias=False" if not layer.cell.use_bias else None),
    (KERNELS, lambda layer, kind: (
        "reset_after=False (the fused GRU kernels are the reset_after variant)"
        if kind == "gru" and not layer.cell.reset_after else None)),
    (KERNELS, lambda layer, kind: "use_cudnn=False" if layer.use_cudnn is False else None),
    ((NATIVE,), lambda layer, kind: "stateful=True" if layer.stateful else None),
    ((NATIVE,), lambda layer, kind: (
        "mixed precision" if layer.compute_dtype != layer.variable_dtype else None)),
)

_NO_KERNEL = {
    CUDNN: "{name} has no cuDNN kernel in Keras",
    NATIVE: "{name} has no native kernel",
}


def reasons(layer, kernel):
    """Why `layer` can't take `kernel` ("cudnn" or "native"), in plain words.

    Only the layer's own configuration counts here; the device and the mask
    are the callers' business (see `rnn_zoo.cudnn`).

    Args:
        layer: a recurrent layer or a `Bidirectional` wrapper.
        kernel: "cudnn" or "native".

    Returns:
        A list of reasons; empty when the kernel applies.
    """
    if kernel not in KERNELS:
        raise ValueError(
            f"Invalid value received for argument `kernel`. Expected one of {KERNELS}. "
            f"Received: kernel={kernel!r}"
        )
    if isinstance(layer, keras.layers.Bidirectional):
        forward, backward = layer.forward_layer, layer.backward_layer
        found = reasons(forward, kernel)
        found += [r for r in reasons(backward, kernel) if r not in found]
        if cell_kind(forward) != cell_kind(backward):
            found.append("forward and backward layers are different cells")
        elif forward.cell.units != backward.cell.units:
            found.append("forward and backward layers differ in units")
        if forward.go_backwards or not backward.go_backwards:
            found.append("backward layer does not read backwards")
        return found
    kind = cell_kind(layer)
    if kind in (None, "simple_rnn"):
        name = "SimpleRNN" if kind == "simple_rnn" else type(layer).__name__
        return [_NO_KERNEL[kernel].format(name=name)]
    found = []
    for kernels, rule in RULES:
        if kernel in kernels:
            reason = rule(layer, kind)
            if reason is not None:
                found.append(reason)
    return found
