"""Polyphonic music: tanh RNN vs GRU vs LSTM at ~20K recurrent parameters each.

The 4-part Bach chorales of music21's corpus as 88-key piano rolls at quarter-note
steps (close to JSB Chorales, not the same split). Each step is multi-hot, so the model
has a sigmoid per key and the loss is binary cross-entropy summed over the 88 keys:
that sum is the negative log-likelihood (NLL) per step. Chung et al. (2014), with the
sizes used here (tanh 100 units, GRU 46, LSTM 36): test NLL tanh 9.10, GRU 8.54,
LSTM 8.67. Compare the ranking, not the numbers.

The model is assembled here from rnn_zoo layers (no factory predicts multi-hot steps):
Input -> Masking -> recurrent layer (return_sequences) -> Dense(88, sigmoid).

Run: python examples/bach_chorales.py
"""

import time

import _common  # noqa: F401
import keras
import numpy as np
from keras import ops

from rnn_zoo.data.datasets import CHORALE_NUM_KEYS
from rnn_zoo.data.datasets import load_bach_chorales
from rnn_zoo.layers import recurrent_layer
from rnn_zoo.train import train

PAD = -1.0  # a real step can be all zeros (a rest), so padding gets its own value
WINDOW = 32  # training windows: more, shorter sequences per epoch


def windows(data, width):
    """Cut each chorale into (input, next step, weight) windows of `width` steps."""
    inputs, targets, weights = [], [], []
    for roll, length in zip(data.x, data.lengths):
        for start in range(0, length - 1, width):
            piece = roll[start:min(start + width + 1, length)]
            x = np.full((width, CHORALE_NUM_KEYS), PAD, "float32")
            y = np.zeros((width, CHORALE_NUM_KEYS), "float32")
            w = np.zeros(width, "float32")
            x[: len(piece) - 1], y[: len(piece) - 1], w[: len(piece) - 1] = piece[:-1], piece[1:], 1
            inputs.append(x), targets.append(y), weights.append(w)
    return np.stack(inputs), np.stack(targets), np.stack(weights)


def whole(data):
    x = data.x[:, :-1].copy()
    x[~data.mask[:, :-1]] = PAD
    return x, data.x[:, 1:], data.mask[:, 1:].astype("float32")


def nll_per_step(y_true, y_pred):
    """Binary cross-entropy summed over the 88 keys: the NLL of one step (nats)."""
    y_pred = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
    return -ops.sum(y_true * ops.log(y_pred) + (1.0 - y_true) * ops.log(1.0 - y_pred), axis=-1)


def build(cell, units):
    inputs = keras.Input((None, CHORALE_NUM_KEYS), name="features")
    x = keras.layers.Masking(mask_value=PAD, name="masking")(inputs)
    x = recurrent_layer(cell, units, return_sequences=True, name=f"{cell}_1")(x)
    outputs = keras.layers.Dense(CHORALE_NUM_KEYS, activation="sigmoid", name="keys")(x)
    model = keras.Model(inputs, outputs, name=f"{cell}_chorales")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=nll_per_step)
    return model


def test_nll(model, x, y, w):
    p = np.clip(model.predict(x, verbose=0, batch_size=128), 1e-7, 1 - 1e-7)
    nll = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(-1)
    return float((nll * w).sum() / w.sum())


train_data = load_bach_chorales(split="train")
valid_data = load_bach_chorales(split="valid")
test_data = load_bach_chorales(split="test")
print(f"{len(train_data)} / {len(valid_data)} / {len(test_data)} chorales (train/valid/test)")
x, y, w = windows(train_data, WINDOW)
valid = whole(valid_data)
test = whole(test_data)
# Per-key frequency baseline: the best model that ignores the past.
frequency = np.clip((y * w[..., None]).sum((0, 1)) / w.sum(), 1e-7, 1 - 1e-7)
baseline = float(-(test[1] * np.log(frequency) + (1 - test[1]) * np.log(1 - frequency))
                 .sum(-1)[test[2] > 0].mean())

rows = [["per-key frequency (no memory)", "-", "-", f"{baseline:.2f}", "-", "-"]]
published = {"simple_rnn": 9.10, "gru": 8.54, "lstm": 8.67}
measured = {}
for cell, units in (("simple_rnn", 100), ("gru", 46), ("lstm", 36)):
    keras.utils.set_random_seed(0)
    model = build(cell, units)
    recurrent = sum(int(np.prod(v.shape)) for v in model.get_layer(f"{cell}_1").weights)
    start = time.time()
    result = train(model, (x, y, w), validation_data=valid, epochs=60, batch_size=16,
                   early_stopping_patience=6, verbose=0)
    measured[cell] = test_nll(model, *test)
    rows.append([cell, str(units), f"{recurrent:,}", f"{measured[cell]:.2f}",
                 f"{published[cell]:.2f}", f"{result.best_epoch} ({time.time() - start:.0f} s)"])
    print(f"{cell}: test NLL {measured[cell]:.2f}", flush=True)
_common.print_table(["model", "units", "recurrent params", "test NLL/step",
                     "Chung et al.", "best epoch (time)"], rows)
ranking = " < ".join(sorted(measured, key=measured.get))
print(f"ranking here (lower NLL first): {ranking}; Chung et al.: gru < lstm < simple_rnn")
_common.bar_plot(_common.output_path("bach_chorales.png"), list(measured),
                 {"measured": list(measured.values()),
                  "Chung et al. (JSB)": [published[c] for c in measured]},
                 "test NLL per step (lower is better)", "Bach chorales, ~20K parameters")
