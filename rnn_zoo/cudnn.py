"""Which recurrent kernel runs, per layer, backend and device, and why.

Keras 3 silently falls back from cuDNN to a generic per-step loop
(`use_cudnn="auto"` never warns), and the conditions differ per backend
(measured on keras 3.15.1, see shared/FACTS.md):

* all backends: cuDNN needs activation=tanh, recurrent_activation=sigmoid,
  recurrent_dropout=0, unroll=False, use_bias=True; GRU also reset_after=True;
  SimpleRNN has no cuDNN kernel at all;
* tensorflow: masks must be strictly right-padded (the zoo's
  `RightAlignPadding` guarantees it for models built by the factories);
* jax and torch: any mask makes Keras fall back to the generic loop.

`cudnn_report(model)` spells this out for every recurrent layer so a user
can see a slow configuration before paying for it.
"""

import dataclasses
import functools

import keras

from rnn_zoo import eligibility
from rnn_zoo import kernels

_RECURRENT_TYPES = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)


@dataclasses.dataclass(frozen=True)
class KernelReport:
    """The kernel one recurrent layer takes, and every reason it isn't cuDNN.

    Attributes:
        layer: the layer's name in the model.
        cell: "lstm", "gru" or "simple_rnn".
        bidirectional: whether the layer is a `Bidirectional` wrapper.
        backend: the Keras backend ("tensorflow", "jax", "torch").
        device: "gpu" or "cpu", as seen by that backend.
        masked: whether the layer receives a mask.
        uses_cudnn: True when the fused cuDNN kernel runs.
        kernel: plain-words name of the kernel that runs.
        reasons: every reason cuDNN is not used (empty when it is).
    """

    layer: str
    cell: str
    bidirectional: bool
    backend: str
    device: str
    masked: bool
    uses_cudnn: bool
    kernel: str
    reasons: tuple

    def __str__(self):
        kind = ("bi" if self.bidirectional else "") + self.cell
        verdict = "cuDNN" if self.uses_cudnn else self.kernel
        why = "" if not self.reasons else " (" + "; ".join(self.reasons) + ")"
        return f"{self.layer} [{kind}, {self.backend}/{self.device}]: {verdict}{why}"


def cell_name(layer):
    """"lstm", "gru" or "simple_rnn" for a recurrent layer (or its wrapper)."""
    kind = eligibility.cell_kind(layer)
    if kind is None:
        raise ValueError(
            "Invalid value received for argument `layer`. Expected a LSTM, GRU, "
            f"SimpleRNN or Bidirectional layer. Received: {type(layer).__name__}"
        )
    return kind


@functools.lru_cache(maxsize=None)
def gpu_available(backend=None):
    """Whether the given (default: current) Keras backend sees a CUDA GPU."""
    backend = backend or keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return bool(torch.cuda.is_available() and torch.backends.cudnn.is_available())
    return False


def configuration_reasons(layer):
    """Reasons in the layer's own configuration that rule cuDNN out anywhere.

    The rules are `rnn_zoo.eligibility.RULES`, shared with the native kernels.
    """
    cell_name(layer)  # a clear error for a layer that is not recurrent
    return eligibility.reasons(layer, kernel=eligibility.CUDNN)


def mask_reasons(masked, backend=None):
    """Reasons a masked input rules cuDNN out on this backend."""
    backend = backend or keras.backend.backend()
    if masked and backend in ("jax", "torch"):
        return [f"{backend} backend: masked input falls back to the generic loop"]
    return []


def device_reasons(backend=None):
    backend = backend or keras.backend.backend()
    if not gpu_available(backend):
        return [f"no GPU visible to the {backend} backend"]
    return []


def blocking_reasons(layer, masked=False):
    """Reasons `require_cudnn=True` refuses: configuration always, masking on a GPU.

    A CPU-only machine never makes `require_cudnn` raise by itself (there is
    nothing to fix in the model), but a configuration that could never use
    cuDNN is refused everywhere, so the mistake shows up before the model
    reaches a GPU.
    """
    reasons = configuration_reasons(layer)
    # A native kernel (rnn_zoo.kernels, e.g. torch packed sequences) takes the
    # mask itself, so masking only blocks cuDNN where Keras's own path runs.
    if gpu_available() and kernels.native_kernel_name(layer, masked=masked) is None:
        reasons += mask_reasons(masked)
    return reasons


def _receives_mask(layer):
    for node in getattr(layer, "_inbound_nodes", []):
        for tensor in node.input_tensors:
            if getattr(tensor, "_keras_mask", None) is not None:
                return True
    return False


def recurrent_layers(model):
    """The model's recurrent layers (Bidirectional wrappers count once), in order."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Bidirectional):
            found.append(layer)
        elif isinstance(layer, _RECURRENT_TYPES) and not any(
            isinstance(outer, keras.layers.Bidirectional)
            and layer in (outer.forward_layer, outer.backward_layer)
            for outer in found
        ):
            found.append(layer)
    return found


def cudnn_report(model):
    """For every recurrent layer, whether cuDNN runs here and, if not, why.

    Args:
        model: a built `keras.Model` (e.g. from `rnn_zoo.build_model`).

    Returns:
        A list of `KernelReport`, one per recurrent layer (a Bidirectional
        wrapper is one entry). `str()` of an entry is a one-line summary.

    Example:

    >>> model = rnn_zoo.build_text_classifier(vocab_size=1000)
    >>> for entry in rnn_zoo.cudnn_report(model):
    ...     print(entry)
    lstm_1 [lstm, tensorflow/cpu]: generic loop (no GPU visible to the tensorflow backend)
    """
    backend = keras.backend.backend()
    device = "gpu" if gpu_available(backend) else "cpu"
    report = []
    for layer in recurrent_layers(model):
        masked = _receives_mask(layer)
        reasons = configuration_reasons(layer) + device_reasons(backend)
        native = kernels.native_kernel_name(layer, masked=masked)
        if native is None:
            reasons += mask_reasons(masked, backend)
        uses_cudnn = not reasons
        if uses_cudnn:
            kernel = "cuDNN"
        elif native is not None:
            kernel = native
        else:
            kernel = "generic loop"
        report.append(
            KernelReport(
                layer=layer.name,
                cell=cell_name(layer),
                bidirectional=isinstance(layer, keras.layers.Bidirectional),
                backend=backend,
                device=device,
                masked=masked,
                uses_cudnn=uses_cudnn,
                kernel=kernel,
                reasons=tuple(reasons),
            )
        )
    return report


def check_model_cudnn(model):
    """Raise ValueError listing every layer of `model` that can't take cuDNN.

    Applies the `require_cudnn` rule (see `blocking_reasons`) to a whole
    model, where masking is known.
    """
    problems = []
    for layer in recurrent_layers(model):
        reasons = blocking_reasons(layer, masked=_receives_mask(layer))
        if reasons:
            problems.append(f"{layer.name}: " + "; ".join(reasons))
    if problems:
        raise ValueError(
            "require_cudnn=True, but these layers cannot use the cuDNN kernel: "
            + " | ".join(problems)
        )
