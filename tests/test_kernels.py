"""The native recurrent kernels (rnn_zoo.kernels) give Keras's exact results.

Every layer configuration is built twice with the same weights: with the
zoo's default (`use_cudnn="auto"`, which takes the native kernel where there
is one) and with `use_cudnn=False`, which forces Keras's generic per-step
loop. Outputs (padding positions included) and the gradients of a weighted
sum of every output, with respect to the weights and the inputs, must agree
within 1e-5.

Multi-backend: on torch the native kernels run (the test asserts it) and
both outputs and gradients are compared. On tensorflow and jax, which have
no native kernel (see benchmarks/README.md), the hook must decline so the
zoo layers run Keras's own code; comparing there would compare one code
path with itself.
"""

import keras
import numpy as np
import pytest
from keras import ops

from rnn_zoo import kernels
from rnn_zoo import layers

BATCH, STEPS, FEATURES, UNITS = 4, 6, 3, 5
# Right-padded lengths, as RightAlignPadding produces them; 0 is a row that
# is all padding (its state must stay the initial one, its outputs zeros).
# On CPU torch a masked batch runs packed or over its padding, by its share
# of real steps (`kernels_torch.runs_over_padding`); the two sets of lengths
# make each cell take each way (asserted in the test). The kernel runs at
# least one step a row, so the share counts an empty row as 1 of 6.
LENGTHS = {
    "masked": np.array([6, 3, 0, 1]),  # 11/24 real: LSTM over padding, GRU packed
    "masked_dense": np.array([6, 5, 0, 4]),  # 16/24: both over padding
}

# (name, keyword arguments of the recurrent layer, wrapped in Bidirectional?)
CONFIGURATIONS = [
    ("last", {}, False),
    # Last output and states only: the masked kernel skips unpacking the steps.
    ("last_states", {"return_state": True}, False),
    ("sequence_dropout", {"return_sequences": True, "dropout": 0.25, "seed": 7}, False),
    ("backwards_sequence_states",
     {"return_sequences": True, "go_backwards": True, "return_state": True}, False),
    ("bi_last_states", {"return_state": True}, True),
    ("bi_sequence", {"return_sequences": True}, True),
]


def _layer(cell, kwargs, bidirectional, use_cudnn):
    layer = layers.recurrent_layer(cell, UNITS, use_cudnn=use_cudnn, **kwargs)
    return layers.Bidirectional(layer) if bidirectional else layer


def _layer_pair(cell, kwargs, bidirectional, rng):
    """The layer with the native kernel ("auto") and Keras's generic loop
    (use_cudnn=False), built, with the same weights. Non-zero biases, so a
    gate-order or bias-row mix-up can't hide."""
    native = _layer(cell, kwargs, bidirectional, use_cudnn="auto")
    generic = _layer(cell, kwargs, bidirectional, use_cudnn=False)
    native.build((BATCH, STEPS, FEATURES))
    generic.build((BATCH, STEPS, FEATURES))
    weights = [w + rng.normal(scale=0.3, size=w.shape).astype("float32")
               for w in native.get_weights()]
    native.set_weights(weights)
    generic.set_weights(weights)
    return native, generic


def _weighted_sum(outputs, loss_weights):
    return sum(ops.sum(out * ops.convert_to_tensor(w))
               for out, w in zip(outputs, loss_weights))


def _flat(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _outputs_and_gradients(layer, x, mask, loss_weights):
    """Outputs of `layer(x, mask, training=True)` and d(loss)/d(weights, x).

    Torch autograd: the only backend with a native kernel (see module doc).
    """
    import torch

    x = torch.tensor(x, requires_grad=True)
    outputs = _flat(layer(x, mask=None if mask is None else torch.tensor(mask),
                          training=True))
    _weighted_sum(outputs, loss_weights).backward()
    gradients = [v.value.grad for v in layer.trainable_variables] + [x.grad]
    return ([ops.convert_to_numpy(o) for o in outputs],
            [ops.convert_to_numpy(g) for g in gradients])


def _hook_result(layer, x, mask):
    """What the zoo's kernel hook returns for `layer` on this backend."""
    if isinstance(layer, keras.layers.Bidirectional):
        return kernels.native_bidirectional(layer, x, None, mask, training=True)
    states = layer.get_initial_state(batch_size=x.shape[0])
    hook = kernels.native_lstm if isinstance(layer, keras.layers.LSTM) else kernels.native_gru
    return hook(layer, x, states, mask, training=True)


def _expected_way(cell, masking, kwargs):
    """How the torch kernel should run this batch on CPU (see LENGTHS)."""
    if masking == "unmasked":
        return "unpacked"
    if cell == "lstm" and kwargs.get("return_state"):
        return "packed"  # its final cell state is needed
    if cell == "gru" and masking == "masked":
        return "packed"
    return "over padding"


def _way_chosen(cell, masking, layer):
    """How `kernels_torch` runs this batch: its own rule, which `_run` calls."""
    import torch

    from rnn_zoo import kernels_torch

    if masking == "unmasked":
        return "unpacked"
    lengths = torch.tensor(LENGTHS[masking]).clamp(min=1)
    return_state = layer.return_state
    over = kernels_torch.runs_over_padding(cell, lengths, torch.device("cpu"),
                                           need_cell_state=return_state,
                                           with_gradients=True)
    return "over padding" if over else "packed"


@pytest.mark.multi_backend
@pytest.mark.parametrize("masking", ["unmasked", "masked", "masked_dense"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_native_kernel_matches_keras_outputs_and_gradients(cell, masking, rng, backend):
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    masked = masking != "unmasked"
    mask = (np.arange(STEPS)[None, :] < LENGTHS[masking][:, None]) if masked else None
    for name, kwargs, bidirectional in CONFIGURATIONS:
        native, generic = _layer_pair(cell, kwargs, bidirectional, rng)
        has_native_kernel = kernels.native_kernel_name(native, masked=masked) is not None
        assert has_native_kernel == (backend == "torch"), name
        if not has_native_kernel:
            # The hook must decline, so the layer runs exactly Keras's code.
            assert _hook_result(native, ops.convert_to_tensor(x), mask) is None, name
            continue
        assert _way_chosen(cell, masking, native) == _expected_way(cell, masking, kwargs), name
        # Output shapes from a third copy: calling either layer would advance
        # its dropout seed and the two would draw different masks.
        shapes = _layer(cell, kwargs, bidirectional, "auto").compute_output_shape(
            (BATCH, STEPS, FEATURES))
        shapes = [shapes] if isinstance(shapes[0], int) else shapes
        loss_weights = [rng.normal(size=s).astype("float32") for s in shapes]

        ours = _outputs_and_gradients(native, x, mask, loss_weights)
        theirs = _outputs_and_gradients(generic, x, mask, loss_weights)
        for kind, mine, reference in zip(("output", "gradient"), ours, theirs):
            assert len(mine) == len(reference), (name, kind)
            for a, b in zip(mine, reference):
                np.testing.assert_allclose(a, b, atol=1e-5, rtol=0,
                                           err_msg=f"{cell} {masking} {name} {kind}")


@pytest.mark.multi_backend
def test_mask_that_is_not_right_padded_falls_back_to_keras(rng):
    # A hole in the middle of a row can't be a packed sequence: the kernel
    # must hand back to Keras's loop, which skips the hole.
    x = rng.normal(size=(2, STEPS, FEATURES)).astype("float32")
    mask = np.ones((2, STEPS), dtype=bool)
    mask[0, 2] = False
    native = layers.LSTM(UNITS, return_sequences=True)
    generic = layers.LSTM(UNITS, return_sequences=True, use_cudnn=False)
    native.build(x.shape)
    generic.build(x.shape)
    generic.set_weights(native.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(native(ops.convert_to_tensor(x), mask=ops.convert_to_tensor(mask))),
        ops.convert_to_numpy(generic(ops.convert_to_tensor(x), mask=ops.convert_to_tensor(mask))),
        atol=1e-6, rtol=0,
    )


def test_ineligible_configurations_name_their_reason():
    # Backend-independent: the eligibility rule reads only the configuration.
    assert kernels.ineligibility_reasons(layers.LSTM(4)) == []
    assert kernels.ineligibility_reasons(layers.GRU(4, reset_after=False)) == [
        "reset_after=False (the fused GRU kernels are the reset_after variant)"
    ]
    assert kernels.ineligibility_reasons(layers.LSTM(4, recurrent_dropout=0.1)) == [
        "recurrent_dropout=0.1 > 0"
    ]
    assert "use_cudnn=False" in kernels.ineligibility_reasons(
        layers.Bidirectional(layers.GRU(4, use_cudnn=False))
    )


@pytest.mark.multi_backend
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_masked_inference_matches_keras_both_ways(cell, rng, backend):
    # Inference (no gradients) picks packed or over-padding by other
    # thresholds than training. The choice exists only in the torch
    # kernels; on tensorflow and jax the hook must decline these batches.
    import torch

    from rnn_zoo import kernels_torch

    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    # [6, 5, 0, 4]: 16/24 real (the empty row runs one step); [4, 4, 4, 4]:
    # every row as long as the longest, which is shorter than the batch, so
    # the kernel runs over the first 4 steps only and pads the outputs back.
    cases = {"uneven": np.array([6, 5, 0, 4]), "even_short": np.array([4, 4, 4, 4])}
    expected_over = {("lstm", "uneven"): True, ("gru", "uneven"): False,
                     ("lstm", "even_short"): True, ("gru", "even_short"): True}
    for case, lengths in cases.items():
        mask = np.arange(STEPS)[None, :] < lengths[:, None]
        for name, kwargs, bidirectional in CONFIGURATIONS:
            native, generic = _layer_pair(cell, kwargs, bidirectional, rng)
            if backend != "torch":
                assert _hook_result(native, ops.convert_to_tensor(x), mask) is None, name
                continue
            over = kernels_torch.runs_over_padding(
                cell, torch.tensor(lengths).clamp(min=1), torch.device("cpu"),
                need_cell_state=native.return_state, with_gradients=False)
            needs_c = cell == "lstm" and native.return_state
            assert over == (expected_over[(cell, case)] and not needs_c), (case, name)
            with torch.no_grad():
                ours = _flat(native(torch.tensor(x), mask=torch.tensor(mask)))
                theirs = _flat(generic(torch.tensor(x), mask=torch.tensor(mask)))
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b),
                                           atol=1e-5, rtol=0,
                                           err_msg=f"{cell} {case} {name}")


def test_padded_batches_pack_on_cuda_and_when_the_cell_state_is_needed():
    # The rule reads only the lengths and the device's type, so a CUDA
    # device object is enough; no GPU is needed.
    torch = pytest.importorskip("torch")
    from rnn_zoo import kernels_torch

    dense = torch.tensor([6, 6, 5, 5])
    sparse = torch.tensor([6, 1, 1, 1])  # 9/24 real
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    rule = kernels_torch.runs_over_padding
    assert rule("lstm", dense, cpu, need_cell_state=False, with_gradients=True)
    assert rule("gru", dense, cpu, need_cell_state=False, with_gradients=True)
    # cuDNN takes packed batches natively.
    assert not rule("lstm", dense, cuda, need_cell_state=False, with_gradients=True)
    assert not rule("gru", dense, cuda, need_cell_state=False, with_gradients=True)
    # The unpacked kernel can't give an LSTM's cell state at each row's end.
    assert not rule("lstm", dense, cpu, need_cell_state=True, with_gradients=True)
    assert rule("gru", dense, cpu, need_cell_state=True, with_gradients=True)
    # Mostly padding: LSTM still runs over it in training (>= 25% real), GRU packs.
    assert rule("lstm", sparse, cpu, need_cell_state=False, with_gradients=True)
    assert not rule("gru", sparse, cpu, need_cell_state=False, with_gradients=True)
    # Without gradients packing pays only for real steps.
    assert not rule("lstm", sparse, cpu, need_cell_state=False, with_gradients=False)
    assert not rule("gru", dense, cpu, need_cell_state=False, with_gradients=False)


def test_lengths_from_mask_reads_each_kind_of_mask():
    # Torch only: `kernels_torch` is the torch backend's kernel module; it
    # reads mask values eagerly, which the other backends never ask it to.
    torch = pytest.importorskip("torch")
    from rnn_zoo import kernels_torch

    read = kernels_torch.lengths_from_mask
    assert read(None, STEPS) == (None, "none")
    # An all-True mask (an unpadded batch behind `mask_zero=True`) runs
    # unpacked, like no mask at all.
    assert read(torch.ones((BATCH, STEPS), dtype=torch.bool), STEPS) == (None, "none")
    mask = torch.arange(STEPS)[None, :] < torch.tensor(LENGTHS["masked"])[:, None]
    lengths, status = read(mask, STEPS)
    assert status == "packed"
    assert lengths.dtype == torch.int64
    assert lengths.tolist() == LENGTHS["masked"].tolist()
    # Keras masks may arrive as ints; a hole is not right padding.
    holed = mask.clone().to(torch.int32)
    holed[0, 2] = 0
    assert read(holed, STEPS) == (None, "unsupported")
    assert read([mask], STEPS)[1] == "packed"
