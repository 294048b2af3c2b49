"""PyTorch's native LSTM/GRU kernels for the zoo layers on the torch backend.

Keras 3.15.1's torch backend calls `torch._VF.lstm`/`torch._VF.gru` only on
CUDA and only without a mask (`keras/src/backend/torch/rnn.py`); on CPU it
runs a Python loop over time steps, and any mask sends it to the even slower
generic `backend.rnn` loop. Both are several times slower than `torch.nn.LSTM`
on the same CPU (benchmarks/RESULTS.md). This module calls the same ATen kernels that
`torch.nn.LSTM`/`torch.nn.GRU` use, on CPU and CUDA (where ATen picks cuDNN).

A right-padded batch runs one of two ways (`runs_over_padding` picks):

* packed sequences, as `torch.nn.utils.rnn.pack_padded_sequence` users do:
  each row stops at its own length. Always on CUDA, where cuDNN takes
  packed batches natively.
* over the padding, on CPU when the batch is mostly real steps: one
  unpacked kernel call per direction over the longest row, the last real
  output of each row gathered afterwards. The backward direction reverses
  each row's real steps first, so padding still comes last. Right padding
  can't reach a real step's output, so the results are the packed ones
  (and the gradients, since the padded steps feed nothing that is used).
  It exists because ATen's CPU backward of a packed batch zero-fills a
  copy of the whole packed input at every step (`slice_backward`), which
  grows with steps x total steps; and because unpacked LSTM on CPU takes
  oneDNN's fused kernel (the timings are in benchmarks/README.md). With
  gradients, packing wins only on batches that are mostly padding; without
  them (inference) it wins more often. The measured crossovers are
  `MIN_REAL_SHARE_TO_RUN_OVER_PADDING`. An LSTM whose
  final cell state is needed (`return_state`) packs: the unpacked kernel
  returns c only after the last step, padding included.

The weights are the Keras variables themselves (transposed and, for the GRU,
gate-reordered on the fly), so autograd flows into them and the saved layout
is unchanged. Every function reproduces exactly what Keras's own path
returns, masked steps included:

* a masked step leaves the state unchanged; its output is the previous
  output, or zeros when `zero_output_for_mask` is set (a `Bidirectional`
  wrapper sets it to `return_sequences`, see `keras/src/layers/rnn/
  bidirectional.py`); the output before any real step is zeros;
* `go_backwards` returns outputs in processing (reversed) order, and padding
  at the end of a row is read first, so it produces zeros and leaves the
  state alone;
* a fully masked row keeps its initial state and outputs zeros.

Functions return None whenever they cannot reproduce Keras exactly (a mask
that is not right-padded, symbolic "meta" tensors, tracing), and the caller
falls back to Keras's path.
"""

import torch
from keras import Variable
from keras import ops
from torch.nn.utils import rnn as rnn_utils


def _tensor(value, dtype=None, device=None):
    # Variables and tensors skip `ops.convert_to_tensor`, whose per-call cost
    # is a sizeable share of a whole LSTM step's Python work on torch:
    # `Variable.value` is what it reads (autocast included), and a tensor
    # only needs moving where it is not on the inputs' device already.
    if isinstance(value, Variable):
        tensor = value.value
    elif isinstance(value, torch.Tensor):
        tensor = value
    else:
        tensor = ops.convert_to_tensor(value)
    if dtype is not None and tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    if device is not None and tensor.device != device:
        tensor = tensor.to(device)
    return tensor


def _runtime_ok(sequences):
    """False for symbolic shape inference and for traced/compiled graphs.

    Keras infers output shapes on the "meta" device, where the length checks
    below (which read the mask's values) can't run; under tracing the same
    reads would be baked into the graph.
    """
    if not isinstance(sequences, torch.Tensor) or sequences.device.type == "meta":
        return False
    if torch.jit.is_tracing():
        return False
    compiling = getattr(torch.compiler, "is_compiling", None)
    return not (compiling is not None and compiling())


def lengths_from_mask(mask, steps, device=None):
    """Per-row lengths of a right-padded mask (moved to `device` if given).

    Returns:
        `(lengths, status)`: `lengths` is an int64 tensor `[batch]` (on the
        mask's device), status is "none" (no mask, or no padded step at all:
        run unpacked), "packed", or "unsupported" (not right-padded).
    """
    if mask is None:
        return None, "none"
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    mask = _tensor(mask, device=device).to(torch.bool)
    # Unpadded batches are the common case: one reduction instead of five ops.
    if bool(mask.all()):
        return None, "none"
    lengths = mask.sum(dim=1)
    positions = torch.arange(steps, device=mask.device)
    right_padded = positions.unsqueeze(0) < lengths.unsqueeze(1)
    if not torch.equal(right_padded, mask):
        return None, "unsupported"
    return lengths.to(torch.int64), "packed"


def _reverse_valid_index(lengths, steps):
    """Index `[batch, time]` that reverses each row's real steps in place."""
    positions = torch.arange(steps, device=lengths.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def _gather_time(values, index):
    return torch.take_along_dim(values, index.unsqueeze(-1), dim=1)


def lstm_params(cell, dtype):
    """[w_ih, w_hh, b_ih, b_hh] for `torch._VF.lstm` from a Keras LSTMCell.

    Keras and PyTorch share the gate order i, f, c(g), o; Keras has one bias
    where PyTorch adds two, so b_hh is zeros.
    """
    kernel = _tensor(cell.kernel, dtype)
    recurrent_kernel = _tensor(cell.recurrent_kernel, dtype)
    bias = _tensor(cell.bias, dtype)
    return [kernel.t().contiguous(), recurrent_kernel.t().contiguous(),
            bias, torch.zeros_like(bias)]


def gru_params(cell, dtype):
    """[w_ih, w_hh, b_ih, b_hh] for `torch._VF.gru` from a Keras GRUCell.

    Keras (reset_after=True) stores gates as z, r, h with bias `[2, 3U]`
    (row 0 input bias, row 1 recurrent bias); PyTorch wants r, z, n with
    b_ih and b_hh. The math is the same: n = tanh(W_in x + b_in +
    r * (W_hn h + b_hn)), h' = z * h + (1 - z) * n.
    """
    def reorder(matrix):
        z, r, h = torch.chunk(matrix, 3, dim=-1)
        return torch.cat([r, z, h], dim=-1)

    kernel = _tensor(cell.kernel, dtype)
    recurrent_kernel = _tensor(cell.recurrent_kernel, dtype)
    bias = _tensor(cell.bias, dtype)
    return [reorder(kernel).t().contiguous(),
            reorder(recurrent_kernel).t().contiguous(),
            reorder(bias[0]), reorder(bias[1])]


# Smallest share of real steps (sum of lengths / (batch x longest row)) at
# which a CPU batch runs over its padding instead of packing, as
# (with gradients, without), measured crossovers (benchmarks/README.md).
# Without gradients a packed run pays only for its real steps (no
# zero-filling backward), so packing wins more often there; a GRU forward
# pass is slower over padding than packed even on mostly real batches, so it
# runs over padding only when every row has the longest row's length.
MIN_REAL_SHARE_TO_RUN_OVER_PADDING = {"lstm": (0.25, 0.6), "gru": (0.5, 1.0)}


def runs_over_padding(cell_kind, lengths, device, need_cell_state, with_gradients):
    """Whether a right-padded batch runs unpacked over its padding.

    Args:
        cell_kind: "lstm" or "gru".
        lengths: int64 `[batch]`, every length >= 1.
        device: the `torch.device` the batch is on.
        need_cell_state: whether an LSTM's final cell state is used.
        with_gradients: whether autograd records the run (training).

    Returns:
        True to run over the padding, False to pack (see module docstring).
    """
    if device.type != "cpu":
        return False
    if cell_kind == "lstm" and need_cell_state:
        return False
    real_share = float(lengths.sum()) / (lengths.numel() * int(lengths.max()))
    with_gradients_share, without_gradients_share = (
        MIN_REAL_SHARE_TO_RUN_OVER_PADDING[cell_kind])
    if with_gradients:
        return real_share >= with_gradients_share
    return real_share >= without_gradients_share


def _run_over_padding(function, cell_kind, inputs, hx, params, lengths,
                      bidirectional, train):
    """`_run`'s packed result without packing: one unpacked call a direction.

    The LSTM's final c is not available this way (the caller only asks when
    it is unused): it comes back NaN, so that a use could not go unnoticed.
    """
    steps = inputs.shape[1]
    longest = int(lengths.max())
    inputs = inputs[:, :longest]
    last_index = (lengths - 1).unsqueeze(1)
    reverse_index = _reverse_valid_index(lengths, longest) if bidirectional else None
    outputs, finals = [], []
    for direction in range(2 if bidirectional else 1):
        if cell_kind == "lstm":
            direction_hx = tuple(state[direction:direction + 1] for state in hx)
        else:
            direction_hx = hx[direction:direction + 1]
        direction_inputs = inputs if direction == 0 else _gather_time(inputs, reverse_index)
        direction_outputs = function(direction_inputs, direction_hx,
                                     params[4 * direction:4 * direction + 4], True,
                                     1, 0.0, train, False, True)[0]
        finals.append(_gather_time(direction_outputs, last_index)[:, 0])
        if direction == 1:
            # Back to original time order, as PyTorch returns a backward
            # direction (the row reversal is its own inverse).
            direction_outputs = _gather_time(direction_outputs, reverse_index)
        outputs.append(direction_outputs)
    outputs = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
    # Steps past a row's end hold the padding's outputs; the callers mask
    # them, as they must for the throw-away step of a row of length 0.
    outputs = torch.nn.functional.pad(outputs, (0, 0, 0, steps - longest))
    h = torch.stack(finals, dim=0)
    if cell_kind == "lstm":
        return outputs, (h, torch.full_like(h, float("nan")))
    return outputs, (h,)


def _run(cell_kind, inputs, hx, params, lengths, bidirectional, need_outputs=True,
         need_cell_state=True):
    """One kernel run; outputs `[batch, time, dirs*units]` in time order.

    With `lengths`, outputs past a row's end are not Keras's: the caller
    masks them.

    `hx` is h (GRU) or (h, c) (LSTM), each `[dirs, batch, units]`. With
    `lengths` (all >= 1) each row stops at its own length and h_n is its
    last real state: packed exactly as `torch.nn.LSTM` does it, or run over
    the padding where that is faster (`runs_over_padding`; then an LSTM's
    c_n is NaN, so pass `need_cell_state=True` where it is used).
    With `need_outputs=False` the per-step outputs of a packed run are not
    unpacked (None is returned for them): a layer that only returns its
    last state skips `pad_packed_sequence` and its backward pass.
    """
    function = torch._VF.lstm if cell_kind == "lstm" else torch._VF.gru
    train = torch.is_grad_enabled()
    if lengths is None:
        result = function(inputs, hx, params, True, 1, 0.0, train,
                          bidirectional, True)
        return result[0], result[1:]
    if runs_over_padding(cell_kind, lengths, inputs.device, need_cell_state, train):
        return _run_over_padding(function, cell_kind, inputs, hx, params, lengths,
                                 bidirectional, train)
    steps = inputs.shape[1]
    packed = rnn_utils.pack_padded_sequence(
        inputs, lengths.cpu(), batch_first=True, enforce_sorted=False
    )
    sorted_indices = packed.sorted_indices
    if cell_kind == "lstm":
        hx = tuple(state.index_select(1, sorted_indices) for state in hx)
    else:
        hx = hx.index_select(1, sorted_indices)
    result = function(packed.data, packed.batch_sizes, hx, params, True, 1,
                      0.0, train, bidirectional)
    outputs = None
    if need_outputs:
        outputs = rnn_utils.PackedSequence(
            result[0], packed.batch_sizes, sorted_indices, packed.unsorted_indices
        )
        outputs, _ = rnn_utils.pad_packed_sequence(
            outputs, batch_first=True, total_length=steps
        )
    states = tuple(
        state.index_select(1, packed.unsorted_indices) for state in result[1:]
    )
    return outputs, states


def _apply_input_dropout(layer, sequences, training):
    # Keras's fused path draws one dropout mask per sequence from the cell
    # (`LSTM.inner_loop`), the same mask the generic loop reuses every step.
    if training and layer.cell.dropout:
        dropout_mask = layer.cell.get_dropout_mask(sequences[:, 0, :])
        return sequences * dropout_mask.unsqueeze(1)
    return sequences


def _finish_direction(outputs, final_states, initial_states, lengths,
                      go_backwards, zero_output_for_mask, reverse_index):
    """Turn one direction's zero-padded kernel output into Keras's outputs.

    Args:
        outputs: `[batch, time, units]` in original time order, zeros at
            padding (for `go_backwards`, still in the reversed-row order of
            `reverse_index`).
        final_states: tuple of `[batch, units]`.
        initial_states: tuple of `[batch, units]`.
        lengths: int64 `[batch]` (true lengths, may be 0) or None.

    Returns:
        `(last_output, outputs, states)` as Keras's loop returns them.
    """
    if lengths is None:
        return outputs[:, -1], outputs, list(final_states)
    steps = outputs.shape[1]
    positions = torch.arange(steps, device=outputs.device).unsqueeze(0)
    valid = (positions < lengths.unsqueeze(1)).unsqueeze(-1)
    # Rows of length 0 ran one throw-away step (packing needs length >= 1).
    outputs = torch.where(valid, outputs, torch.zeros_like(outputs))
    empty = (lengths == 0).unsqueeze(-1)
    states = [torch.where(empty, initial, final)
              for initial, final in zip(initial_states, final_states)]
    if go_backwards:
        # Keras reads the padding first (state untouched, output zeros),
        # then the real steps backwards; outputs come in processing order.
        outputs = torch.flip(_gather_time(outputs, reverse_index), dims=[1])
    elif not zero_output_for_mask:
        # Masked steps repeat the previous output: after a row's last real
        # step that is its final h (zeros for an empty row).
        last_real = torch.where(empty, torch.zeros_like(states[0]), states[0])
        outputs = torch.where(valid, outputs, last_real.unsqueeze(1))
    return outputs[:, -1], outputs, states


def _last_only(final_states, initial_states, lengths, direction):
    """`(last_output, states)` of one direction from the kernel's final states,
    for a layer that needs nothing else: the final h (zeros for a row of
    length 0) and the final states (the initial ones for such a row).

    `final_states` is the kernel's tuple of `[dirs, batch, units]`;
    `direction` indexes it (0 forward, 1 backward).
    """
    empty = (lengths == 0).unsqueeze(-1)
    states = [torch.where(empty, initial, final[direction])
              for initial, final in zip(initial_states, final_states)]
    return torch.where(empty, torch.zeros_like(states[0]), states[0]), states


def recurrent(layer, cell_kind, sequences, initial_state, mask, training):
    """Keras's `(last_output, outputs, states)` for one LSTM/GRU layer, or None.

    An LSTM that does not return its state may get a NaN c (see `_run`).
    """
    if not _runtime_ok(sequences):
        return None
    steps = sequences.shape[1]
    lengths, status = lengths_from_mask(mask, steps, device=sequences.device)
    if status == "unsupported":
        return None
    cell = layer.cell
    dtype = _tensor(cell.kernel).dtype
    inputs = _apply_input_dropout(layer, _tensor(sequences, dtype), training)
    if not isinstance(initial_state, (list, tuple)):
        initial_state = [initial_state]
    initial_states = tuple(_tensor(state, dtype, inputs.device) for state in initial_state)
    if cell_kind == "gru":
        initial_states = initial_states[:1]
        params = gru_params(cell, dtype)
        hx = initial_states[0].unsqueeze(0)
    else:
        params = lstm_params(cell, dtype)
        hx = tuple(state.unsqueeze(0) for state in initial_states)

    reverse_index = None
    run_lengths = None
    if lengths is not None:
        run_lengths = lengths.clamp(min=1)
        if layer.go_backwards:
            reverse_index = _reverse_valid_index(lengths, steps)
            inputs = _gather_time(inputs, reverse_index)
    elif layer.go_backwards:
        inputs = torch.flip(inputs, dims=[1])

    if (lengths is not None and not layer.return_sequences and not layer.go_backwards
            and not layer.zero_output_for_mask):
        # Only the last output is used, and here it is the final h: the last
        # real step's output (zeros for an empty row), as in Keras's loop.
        _, final_states = _run(cell_kind, inputs, hx, params, run_lengths,
                               bidirectional=False, need_outputs=False,
                               need_cell_state=layer.return_state)
        last_output, states = _last_only(final_states, initial_states, lengths, 0)
        return last_output, last_output.unsqueeze(1), states
    outputs, final_states = _run(cell_kind, inputs, hx, params, run_lengths,
                                 bidirectional=False,
                                 need_cell_state=layer.return_state)
    final_states = tuple(state[0] for state in final_states)
    last_output, outputs, states = _finish_direction(
        outputs, final_states, initial_states, lengths, layer.go_backwards,
        layer.zero_output_for_mask, reverse_index,
    )
    if not layer.return_sequences:
        outputs = last_output.unsqueeze(1)
    return last_output, outputs, states


def bidirectional(wrapper, cell_kind, sequences, initial_state, mask):
    """What `Bidirectional.call` returns, from one bidirectional kernel call."""
    if not _runtime_ok(sequences):
        return None
    steps = sequences.shape[1]
    lengths, status = lengths_from_mask(mask, steps, device=sequences.device)
    if status == "unsupported":
        return None
    forward, backward = wrapper.forward_layer, wrapper.backward_layer
    dtype = _tensor(forward.cell.kernel).dtype
    inputs = _tensor(sequences, dtype)
    batch = inputs.shape[0]
    units = forward.cell.units
    per_direction = 2 if cell_kind == "lstm" else 1
    if initial_state is None:
        zeros = torch.zeros((batch, units), dtype=dtype, device=inputs.device)
        initial_states = [zeros] * (2 * per_direction)
    else:
        initial_states = [_tensor(state, dtype, inputs.device) for state in initial_state]
    forward_initial = tuple(initial_states[:per_direction])
    backward_initial = tuple(initial_states[per_direction:])

    make_params = lstm_params if cell_kind == "lstm" else gru_params
    params = make_params(forward.cell, dtype) + make_params(backward.cell, dtype)
    stacked = tuple(torch.stack([f, b], dim=0)
                    for f, b in zip(forward_initial, backward_initial))
    hx = stacked if cell_kind == "lstm" else stacked[0]
    run_lengths = None if lengths is None else lengths.clamp(min=1)
    if lengths is not None and not wrapper.return_sequences:
        # Only each direction's last output is used: the forward one is its
        # final h, the backward one (its output at t=0) is the backward
        # final h; an empty row gives zeros and keeps its initial states.
        _, final_states = _run(cell_kind, inputs, hx, params, run_lengths,
                               bidirectional=True, need_outputs=False,
                               need_cell_state=wrapper.return_state)
        y, forward_states = _last_only(final_states, forward_initial, lengths, 0)
        y_rev, backward_states = _last_only(final_states, backward_initial, lengths, 1)
        return _merged(wrapper, y, y_rev, forward_states, backward_states)
    outputs, final_states = _run(cell_kind, inputs, hx, params, run_lengths,
                                 bidirectional=True,
                                 need_cell_state=wrapper.return_state)

    forward_last, forward_outputs, forward_states = _finish_direction(
        outputs[..., :units], tuple(state[0] for state in final_states),
        forward_initial, lengths, False, forward.zero_output_for_mask, None,
    )
    # PyTorch already returns the backward direction in original time
    # order with zeros at padding: exactly Keras's backward outputs after
    # `Bidirectional.call` flips them back. Its "last" output is at t=0.
    backward_outputs = outputs[..., units:]
    _, _, backward_states = _finish_direction(
        backward_outputs, tuple(state[1] for state in final_states),
        backward_initial, lengths, False, True, None,
    )
    if lengths is not None:
        positions = torch.arange(steps, device=inputs.device).unsqueeze(0)
        valid = (positions < lengths.unsqueeze(1)).unsqueeze(-1)
        backward_outputs = torch.where(valid, backward_outputs,
                                       torch.zeros_like(backward_outputs))
    backward_last = backward_outputs[:, 0]

    if wrapper.return_sequences:
        y, y_rev = forward_outputs, backward_outputs
    else:
        y, y_rev = forward_last, backward_last
    return _merged(wrapper, y, y_rev, forward_states, backward_states)


def _merged(wrapper, y, y_rev, forward_states, backward_states):
    """`Bidirectional.call`'s return value from the two directions' outputs."""
    y = ops.cast(y, wrapper.compute_dtype)
    y_rev = ops.cast(y_rev, wrapper.compute_dtype)
    output = merge(y, y_rev, wrapper.merge_mode)
    if wrapper.return_state:
        states = tuple(forward_states) + tuple(backward_states)
        if wrapper.merge_mode is None:
            return output + states
        return (output,) + states
    return output


def merge(y, y_rev, merge_mode):
    """`Bidirectional`'s merge of the two directions (same rule as Keras)."""
    if merge_mode == "concat":
        return torch.cat([y, y_rev], dim=-1)
    if merge_mode == "sum":
        return y + y_rev
    if merge_mode == "ave":
        return (y + y_rev) / 2
    if merge_mode == "mul":
        return y * y_rev
    return (y, y_rev)
