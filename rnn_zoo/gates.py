"""Look inside the gates: per layer, per step, what each gate did.

The essay behind rnn-zoo says the gates are the point: the LSTM's forget
gate (a sigmoid, 0..1) decides what history survives, and in a trained net
most forget-gate values are claimed to sit near 0 or 1, like a hard
switch. This module measures that instead of asserting it.

`gate_activations(model, inputs)` recomputes every recurrent layer's gates
from its own weights with `keras.ops`, so it runs on any backend. Each
layer is fed exactly what the model feeds it: a sub-model runs the model up
to the layer's input (so `RightAlignPadding`, the embedding and the mask
are the model's own), then the cell's equations are stepped through time
with Keras's mask rule (a padded step leaves the state unchanged). The
recomputed hidden states match the layer's outputs to float precision
(tests check <= 1e-5 on TensorFlow, JAX and torch).

Time runs in the order the layer sees it. For models built by the zoo's
factories that is the right-aligned order: a row's real tokens first, in
their original order, then padding. `LayerGates.mask` marks the real steps.
"""

import dataclasses
import textwrap

import keras
import numpy as np
from keras import ops
from keras.src.backend.common.masking import get_keras_mask

from rnn_zoo import atomic
from rnn_zoo.cudnn import cell_name
from rnn_zoo.cudnn import recurrent_layers
from rnn_zoo.validation import check_fraction

# Gate names per cell, in the order Keras packs them in the kernel.
LSTM_GATES = ("input", "forget", "candidate", "output")
GRU_GATES = ("update", "reset", "candidate")
# The gate that decides how much of the old state survives a step: the LSTM
# forget gate f (c_t = f * c_{t-1} + ...) and the GRU update gate z
# (h_t = z * h_{t-1} + (1 - z) * candidate). Near 1 = keep, near 0 = forget.
MEMORY_GATES = {"lstm": "forget", "gru": "update"}


@dataclasses.dataclass
class LayerGates:
    """Gate values of one recurrent layer (one direction of a Bidirectional).

    Attributes:
        layer: the layer's name in the model.
        direction: "forward" or "backward".
        cell: "lstm", "gru" or "simple_rnn".
        gates: dict from name to float32 `[batch, time, units]`:
            LSTM "input", "forget", "candidate", "output", "cell" (c_t),
            "hidden" (h_t); GRU "update", "reset", "candidate", "hidden";
            SimpleRNN "hidden". States at a padded step are carried over.
        mask: bool `[batch, time]`, True at real steps.
        units: the layer's units.
        bidirectional: whether the layer is a `Bidirectional` wrapper.
    """

    layer: str
    direction: str
    cell: str
    gates: dict
    mask: np.ndarray
    units: int
    bidirectional: bool = False

    @property
    def label(self):
        """The layer name, with "/forward" or "/backward" for a Bidirectional one."""
        if self.bidirectional or self.direction == "backward":
            return f"{self.layer}/{self.direction}"
        return self.layer


def _lstm_step(cell, x_t, h, c):
    z = ops.matmul(x_t, cell.kernel) + ops.matmul(h, cell.recurrent_kernel)
    if cell.use_bias:
        z = z + cell.bias
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    gates = {
        "input": cell.recurrent_activation(z_i),
        "forget": cell.recurrent_activation(z_f),
        "candidate": cell.activation(z_c),
        "output": cell.recurrent_activation(z_o),
    }
    c_new = gates["forget"] * c + gates["input"] * gates["candidate"]
    h_new = gates["output"] * cell.activation(c_new)
    return gates, h_new, c_new


def _gru_step(cell, x_t, h):
    units = cell.units
    input_bias = recurrent_bias = None
    if cell.use_bias:
        if cell.reset_after:
            input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
        else:
            input_bias = cell.bias
    matrix_x = ops.matmul(x_t, cell.kernel)
    if input_bias is not None:
        matrix_x = matrix_x + input_bias
    x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
    if cell.reset_after:
        inner = ops.matmul(h, cell.recurrent_kernel)
        if recurrent_bias is not None:
            inner = inner + recurrent_bias
    else:
        inner = ops.matmul(h, cell.recurrent_kernel[:, : 2 * units])
    update = cell.recurrent_activation(x_z + inner[:, :units])
    reset = cell.recurrent_activation(x_r + inner[:, units: 2 * units])
    if cell.reset_after:
        recurrent_h = reset * inner[:, 2 * units:]
    else:
        recurrent_h = ops.matmul(reset * h, cell.recurrent_kernel[:, 2 * units:])
    candidate = cell.activation(x_h + recurrent_h)
    h_new = update * h + (1.0 - update) * candidate
    return {"update": update, "reset": reset, "candidate": candidate}, h_new


def _simple_step(cell, x_t, h):
    z = ops.matmul(x_t, cell.kernel) + ops.matmul(h, cell.recurrent_kernel)
    if cell.use_bias:
        z = z + cell.bias
    return {}, cell.activation(z)


def run_cell(layer, sequences, mask=None, backwards=None):
    """Step one recurrent layer's cell through time, recording every gate.

    Args:
        layer: a `keras.layers.LSTM`, `GRU` or `SimpleRNN` (built).
        sequences: float `[batch, time, features]`, the layer's input.
        mask: bool `[batch, time]` (True = real step) or None (all real).
        backwards: bool or None (default: the layer's `go_backwards`). When
            True the cell reads the steps last to first, as the backward
            half of a `Bidirectional` does; results stay in input order.

    Returns:
        A dict from gate/state name to a numpy float32 `[batch, time, units]`
        (see `LayerGates.gates`).

    Example:

    >>> values = rnn_zoo.gates.run_cell(lstm_layer, x)
    >>> values["forget"].shape
    (2, 5, 8)
    """
    cell_kind = cell_name(layer)
    cell = layer.cell
    if backwards is None:
        backwards = bool(layer.go_backwards)
    sequences = ops.convert_to_tensor(sequences, dtype=layer.compute_dtype)
    batch, steps = int(sequences.shape[0]), int(sequences.shape[1])
    if mask is None:
        mask = np.ones((batch, steps), dtype=bool)
    keep = ops.expand_dims(ops.convert_to_tensor(np.asarray(mask, dtype=bool)), -1)
    h = ops.zeros((batch, cell.units), dtype=sequences.dtype)
    c = ops.zeros((batch, cell.units), dtype=sequences.dtype)
    records = {}
    order = range(steps - 1, -1, -1) if backwards else range(steps)
    for t in order:
        x_t = sequences[:, t, :]
        keep_t = keep[:, t, :]
        if cell_kind == "lstm":
            gates, h_new, c_new = _lstm_step(cell, x_t, h, c)
            # Keras's masking rule: a padded step leaves the state unchanged.
            c = ops.where(keep_t, c_new, c)
            gates["cell"] = c
        elif cell_kind == "gru":
            gates, h_new = _gru_step(cell, x_t, h)
        else:
            gates, h_new = _simple_step(cell, x_t, h)
        h = ops.where(keep_t, h_new, h)
        gates["hidden"] = h
        for name, value in gates.items():
            records.setdefault(name, [None] * steps)[t] = ops.convert_to_numpy(value)
    return {name: np.stack(values, axis=1).astype("float32")
            for name, values in records.items()}


def _layer_input_tensor(layer):
    # `layer.input` of a Bidirectional wrapper is a list (its call also takes
    # initial_state), so read the first input tensor of its first call.
    nodes = getattr(layer, "_inbound_nodes", None)
    if not nodes:
        raise ValueError(f"Layer {layer.name!r} was never called in a functional "
                         "model; gate_activations needs a functional keras.Model.")
    return nodes[0].input_tensors[0]


def layer_inputs(model, inputs, layer):
    """What `model` feeds `layer` for `inputs`: `(sequences, mask)`.

    A sub-model runs from the model's inputs to the layer's input tensor,
    so preprocessing layers (`RightAlignPadding`, `Embedding`, `Masking`,
    lower recurrent layers) are the model's own.

    Returns:
        `(sequences, mask)`: the backend tensor `[batch, time, features]` and
        a numpy bool `[batch, time]` (all True when no mask reaches it).
    """
    sub_model = keras.Model(model.input, _layer_input_tensor(layer))
    sequences = sub_model(inputs, training=False)
    # Keras 3 attaches the propagated mask to the eager output tensor
    # (TensorFlow, JAX and torch alike) but exposes no public getter for it in
    # 3.15 (`Functional.compute_mask` returns None here), hence keras.src.
    mask = get_keras_mask(sequences)
    if mask is None:
        mask = np.ones(tuple(sequences.shape[:2]), dtype=bool)
    else:
        mask = np.asarray(ops.convert_to_numpy(mask), dtype=bool)
    return sequences, mask


def gate_activations(model, inputs):
    """Recompute every recurrent layer's gates for `inputs`, step by step.

    Args:
        model: a functional `keras.Model` holding LSTM / GRU / SimpleRNN
            layers, optionally in `Bidirectional` wrappers (every zoo model).
        inputs: what `model` takes (e.g. int32 token ids `[batch, time]` with
            0 = padding, or float features `[batch, time, F]`).

    Returns:
        A list of `LayerGates`, in model order; a Bidirectional layer gives
        two entries, "forward" then "backward".

    Example:

    >>> model = rnn_zoo.build_text_classifier(vocab_size=50, units=8)
    >>> layers = rnn_zoo.gates.gate_activations(model, np.array([[4, 7, 9, 0]]))
    >>> layers[0].gates["forget"].shape, layers[0].mask.tolist()
    ((1, 4, 8), [[True, True, True, False]])
    """
    found = recurrent_layers(model)
    if not found:
        raise ValueError(f"Model {model.name!r} has no recurrent layer to inspect.")
    results = []
    for layer in found:
        sequences, mask = layer_inputs(model, inputs, layer)
        if isinstance(layer, keras.layers.Bidirectional):
            halves = (("forward", layer.forward_layer), ("backward", layer.backward_layer))
        else:
            direction = "backward" if layer.go_backwards else "forward"
            halves = ((direction, layer),)
        for direction, half in halves:
            gates = run_cell(half, sequences, mask, backwards=direction == "backward")
            entry = LayerGates(layer=layer.name, direction=direction,
                               cell=cell_name(half), gates=gates, mask=mask,
                               units=int(half.cell.units),
                               bidirectional=isinstance(layer, keras.layers.Bidirectional))
            results.append(entry)
    return results


def gate_statistics(activations, low=0.1, high=0.9):
    """How saturated each gate is, over real (non-padding) steps only.

    Args:
        activations: the list returned by `gate_activations`.
        low: float in [0, 1), default 0.1: a value below it counts as "near 0".
        high: float in (low, 1), default 0.9: above it counts as "near 1".

    Returns:
        A list of dicts, one per layer, direction and gate (sigmoid gates
        only: LSTM input/forget/output, GRU update/reset), with keys "layer",
        "direction", "cell", "gate", "memory_gate" (True for the LSTM forget
        and GRU update gates), "count", "mean", "share_low", "share_high",
        "share_saturated" (= low + high), "share_middle" and "step_std"
        (how much the gate moves: the standard deviation of each unit's value
        over a sequence's real steps, averaged over units and sequences; 0
        for a gate that never changes).

    Example:

    >>> stats = rnn_zoo.gates.gate_statistics(layers)
    >>> [round(s["share_saturated"], 2) for s in stats if s["memory_gate"]]
    """
    low = check_fraction(low, "low", where="gate_statistics")
    high = check_fraction(high, "high", where="gate_statistics")
    if not low < high:
        raise ValueError("Invalid values received for arguments `low` and `high`. "
                         f"Expected low < high. Received: low={low}, high={high}")
    rows = []
    for entry in activations:
        names = {"lstm": ("input", "forget", "output"),
                 "gru": ("update", "reset")}.get(entry.cell, ())
        real = entry.mask
        for name in names:
            values = entry.gates[name][real]  # [real steps, units]
            count = int(values.size)
            share_low = float(np.mean(values < low)) if count else float("nan")
            share_high = float(np.mean(values > high)) if count else float("nan")
            rows.append({
                "layer": entry.layer, "direction": entry.direction, "cell": entry.cell,
                "gate": name, "memory_gate": MEMORY_GATES.get(entry.cell) == name,
                "count": count, "mean": float(np.mean(values)) if count else float("nan"),
                "share_low": share_low, "share_high": share_high,
                "share_saturated": share_low + share_high,
                "share_middle": 1.0 - share_low - share_high,
                "step_std": _step_std(entry.gates[name], real),
            })
    return rows


def _step_std(values, mask):
    """Mean over sequences and units of each unit's standard deviation over real steps."""
    spreads = [values[row][mask[row]].std(axis=0).mean()
               for row in range(values.shape[0]) if mask[row].sum() > 1]
    return float(np.mean(spreads)) if spreads else 0.0


def format_statistics(rows):
    """A plain-text table of `gate_statistics` rows.

    Columns: the share of values near 0 and near 1, between, the mean, and
    "std/step" (`step_std`: how much the gate moves from step to step).
    """
    lines = [f"{'layer':<28} {'dir':<8} {'gate':<8} {'<0.1':>6} {'>0.9':>6} "
             f"{'middle':>7} {'mean':>6} {'std/step':>8}"]
    for row in rows:
        lines.append(
            f"{row['layer']:<28} {row['direction']:<8} {row['gate']:<8} "
            f"{row['share_low']:>6.1%} {row['share_high']:>6.1%} "
            f"{row['share_middle']:>7.1%} {row['mean']:>6.2f} {row['step_std']:>8.3f}")
    return "\n".join(lines)


# Layout of the heatmap: at most this many units (rows) per panel, the ones
# that move most over the sentence; tokens and units get fixed room each, so
# the figure grows with the sentence and the layer within these bounds.
MAX_PLOTTED_UNITS = 32
_INCHES_PER_TOKEN = 0.24
_INCHES_PER_UNIT = 0.11
_MAX_TOKEN_CHARACTERS = 14
_DPI = 100
OOV_COLOUR = "#d62728"


def _short(token):
    return token if len(token) <= _MAX_TOKEN_CHARACTERS else (
        token[: _MAX_TOKEN_CHARACTERS - 1] + "\u2026")


def _panels(activations, tokens, sample, gates):
    panels = []
    for entry in activations:
        names = gates or {"lstm": ("input", "forget", "output"),
                          "gru": ("update", "reset")}.get(entry.cell, ("hidden",))
        real = entry.mask[sample]
        if len(tokens) != int(real.sum()):
            raise ValueError(
                f"Invalid value received for argument `tokens`: {len(tokens)} tokens, "
                f"but sample {sample} has {int(real.sum())} real steps in layer "
                f"{entry.layer!r}.")
        for name in names:
            if name not in entry.gates:
                raise ValueError(
                    f"Invalid value received for argument `gates`: {name!r} is not "
                    f"recorded for a {entry.cell} layer. Expected some of "
                    f"{tuple(entry.gates)}.")
            matrix = entry.gates[name][sample][real].T  # [units, steps]
            units = np.arange(matrix.shape[0])
            if matrix.shape[0] > MAX_PLOTTED_UNITS:
                # The units whose value changes most over the sentence, in unit order.
                spread = matrix.std(axis=1) if matrix.shape[1] > 1 else np.abs(matrix[:, 0])
                units = np.sort(np.argsort(-spread, kind="stable")[:MAX_PLOTTED_UNITS])
                matrix = matrix[units]
            shown = (f"all {entry.units} units" if len(units) == entry.units else
                     f"the {len(units)} of {entry.units} units that move most")
            panels.append((f"{entry.label}: {name} gate ({shown})"
                           if name != "hidden" else f"{entry.label}: hidden state ({shown})",
                           matrix, units, name))
    return panels


def gates_figure(activations, tokens, sample=0, gates=None, title=None, oov=None):
    """The gate heatmap of one sentence as a matplotlib `Figure` (see `plot_gates`)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    from matplotlib import pyplot
    from matplotlib.patches import Patch

    tokens = [str(token) for token in tokens]
    oov = [False] * len(tokens) if oov is None else [bool(flag) for flag in oov]
    if len(oov) != len(tokens):
        raise ValueError(f"Invalid value received for argument `oov`: {len(oov)} flags for "
                         f"{len(tokens)} tokens. Expected one per token.")
    panels = _panels(activations, tokens, sample, gates)
    width = float(np.clip(_INCHES_PER_TOKEN * len(tokens) + 3.0, 7.0, 18.0))
    heights = [float(np.clip(_INCHES_PER_UNIT * p[1].shape[0] + 0.5, 1.4, 4.2))
               for p in panels]
    longest = max(len(_short(t)) for t in tokens)
    footer = 0.9 + 0.075 * longest  # room for the rotated token labels and the legend
    figure, axes = pyplot.subplots(
        len(panels), 1, figsize=(width, sum(heights) + footer + 0.9), squeeze=False,
        gridspec_kw={"height_ratios": heights}, layout="constrained", dpi=_DPI)
    axes = axes[:, 0]
    signed = any(p[1].min() < 0 for p in panels)
    low = -1.0 if signed else 0.0
    image = None
    for index, (axis, (label, matrix, units, _)) in enumerate(zip(axes, panels)):
        image = axis.imshow(matrix, aspect="auto", cmap="viridis", vmin=low, vmax=1.0,
                            interpolation="nearest")
        axis.set_title(label, fontsize=9, loc="left")
        axis.set_ylabel("unit", fontsize=8)
        rows = len(units)
        every = max(1, int(np.ceil(rows / 8)))
        axis.set_yticks(range(0, rows, every))
        axis.set_yticklabels([str(units[i]) for i in range(0, rows, every)], fontsize=7)
        axis.set_xticks(range(len(tokens)))
        last = index == len(panels) - 1
        if last:
            labels = axis.set_xticklabels([_short(t) for t in tokens], rotation=90,
                                          fontsize=7)
            for text, unknown in zip(labels, oov):
                if unknown:
                    text.set_color(OOV_COLOUR)
                    text.set_fontstyle("italic")
        else:
            axis.set_xticklabels([])
    bar = figure.colorbar(image, ax=list(axes), fraction=0.025, pad=0.01, aspect=30)
    bar.set_label("gate value (0 = closed, 1 = open)" if not signed else
                  "value (gates 0..1, hidden state -1..1)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if any(oov):
        figure.legend(handles=[Patch(color=OOV_COLOUR, label="red italic word: not in the "
                                     "vocabulary (read as the OOV id)")],
                      loc="outside lower left", fontsize=8, frameon=False)
    if title:
        characters = max(20, int(width * 72 / (10 * 0.6)))
        lines = textwrap.wrap(title, characters)
        text = "\n".join(lines[:2]) + ("\u2026" if len(lines) > 2 else "")
        figure.suptitle(text, fontsize=10)
    return figure


def plot_gates(activations, tokens, path, sample=0, gates=None, title=None, oov=None):
    """Save a heatmap PNG of the gates over the tokens of one sentence.

    One panel per (layer, direction, gate), stacked, sharing the tokens on
    the x axis and one labelled colour bar (0 = closed, 1 = open). A layer
    wider than `MAX_PLOTTED_UNITS` shows the units whose value moves most
    over the sentence (the panel title says how many of how many). The
    figure's size follows the number of tokens and units, so labels keep
    their room from 3 to 60 tokens and 16 to 256 units.

    Args:
        activations: the list returned by `gate_activations`.
        tokens: the sample's real tokens (or step labels), in the order the
            layer reads them (for zoo models: the sentence's tokens with the
            padding dropped); its length must equal the number of real steps.
        path: output PNG path.
        sample: int, which row of the batch, default 0.
        gates: gate names to draw, default the sigmoid gates of each cell
            (LSTM input/forget/output, GRU update/reset).
        title: optional figure title (wrapped to two lines at most).
        oov: optional list of bools, one per token: True marks a word that
            is not in the vocabulary (drawn red and italic, explained in a
            legend).

    Returns:
        `path`.

    Example:

    >>> rnn_zoo.gates.plot_gates(layers, ["not", "good"], "gates.png")
    """
    from matplotlib import pyplot

    figure = gates_figure(activations, tokens, sample=sample, gates=gates, title=title,
                          oov=oov)
    try:
        # The temporary file keeps the ".png" extension, which picks the format.
        atomic.write_with(path, lambda temporary: figure.savefig(temporary, dpi=_DPI))
    finally:
        pyplot.close(figure)
    return path
