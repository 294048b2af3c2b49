"""Polyphonic music: tanh RNN vs GRU vs LSTM at ~20K recurrent parameters each.

The 4-part Bach chorales of music21's corpus as 88-key piano rolls at quarter-note
steps (close to JSB Chorales, not the same split). Each step is multi-hot, so the model
has a sigmoid per key and the loss is binary cross-entropy summed over the 88 keys:
that sum is the negative log-likelihood (NLL) per step. Chung et al. (2014), with the
sizes used here (tanh 100 units, GRU 46, LSTM 36): test NLL tanh 9.10, GRU 8.54,
LSTM 8.67. Compare the ranking, not the numbers.

The model is assembled here from rnn_zoo layers (no factory predicts multi-hot steps):
Input -> Masking -> recurrent layer (return_sequences) -> Dense(88, sigmoid).

Training follows Chung et al.'s setup where it matters: each chorale is one sequence
(batches of whole chorales, padding masked), the input at step t is frame t and the
target frame t+1, the NLL is summed over the 88 keys and averaged over real steps,
gradients are clipped at norm 1, weight noise (std 0.075, `rnn_zoo.callbacks.WeightNoise`)
regularises every model, and early stopping keeps the weights of the epoch with the
lowest validation NLL. Same budget for every model: Adam (lr 0.005), batches of 8
chorales, up to 150 epochs, patience 10. (Chung et al. used RMSProp; with lr 0.001 it
was still far from converged after 100 epochs here, so Adam is the one deviation.)
Without weight noise the gated nets overfit and the tanh RNN ties or beats them
(examples/README.md).

Run: python examples/bach_chorales.py [--seed 0]   (about 15 minutes on one core)
"""

import argparse
import time

import _common  # noqa: F401
import keras
import numpy as np
from keras import ops

from rnn_zoo.callbacks import WeightNoise
from rnn_zoo.data.datasets import CHORALE_NUM_KEYS
from rnn_zoo.data.datasets import load_bach_chorales
from rnn_zoo.layers import recurrent_layer

PAD = -1.0  # a real step can be all zeros (a rest), so padding gets its own value
EPOCHS = 150
PATIENCE = 10
BATCH_SIZE = 8
LEARNING_RATE = 0.005
WEIGHT_NOISE = 0.075  # Chung et al. (2014)


def next_step(data):
    """Whole chorales: input frame t, target frame t+1, weight 1 on real targets only."""
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
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE, clipnorm=1.0), loss=nll_per_step)
    return model


def nll_of(probabilities, y, w):
    """NLL per real step: summed over keys, averaged over the steps with weight 1."""
    p = np.clip(probabilities, 1e-7, 1 - 1e-7)
    nll = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(-1)
    return float((nll * w).sum() / w.sum())


def mean_nll(model, x, y, w):
    """The model's NLL per real step on `(x, y, w)`."""
    return nll_of(model.predict(x, verbose=0, batch_size=128), y, w)


def load_splits():
    """`{"train" | "valid" | "test": (x, y, w)}` of all 4-part chorales."""
    return {split: next_step(load_bach_chorales(split=split))
            for split in ("train", "valid", "test")}


def memoryless_baseline(train, test):
    """Test NLL of the per-key frequency: the best model that ignores the past."""
    y, w = train[1], train[2]
    frequency = (y * w[..., None]).sum((0, 1)) / w.sum()
    return nll_of(np.broadcast_to(frequency, test[1].shape), test[1], test[2])


def train_and_score(cell, units, splits, seed):
    """Build, train (seeded) and score one model: `(model, best_epoch, test NLL)`."""
    keras.utils.set_random_seed(seed)
    model = build(cell, units)
    best_epoch = fit(model, splits["train"], splits["valid"], seed=seed)
    return model, best_epoch, mean_nll(model, *splits["test"])


def fit(model, train, valid, seed):
    """Epochs of fit() with early stopping on the exact validation NLL per real step.

    A loop rather than rnn_zoo.train.train: Keras's val_loss averages the weighted loss
    over padded batch elements, which is not the per-real-step NLL that is reported.
    Returns the best epoch; the model ends with that epoch's weights.
    """
    best, best_weights, best_epoch = np.inf, None, 0
    noise = WeightNoise(WEIGHT_NOISE, seed=seed)
    for epoch in range(1, EPOCHS + 1):
        model.fit(train[0], train[1], sample_weight=train[2], batch_size=BATCH_SIZE,
                  epochs=1, shuffle=True, verbose=0, callbacks=[noise])
        nll = mean_nll(model, *valid)
        if nll < best:
            best, best_weights, best_epoch = nll, model.get_weights(), epoch
        elif epoch - best_epoch >= PATIENCE:
            break
    model.set_weights(best_weights)
    return best_epoch


def main():
    parser = argparse.ArgumentParser(description="tanh RNN vs GRU vs LSTM on the Bach chorales")
    parser.add_argument("--seed", type=int, default=0,
                        help="weights, shuffling and noise (default 0)")
    args = parser.parse_args()

    splits = load_splits()
    print(" / ".join(str(len(splits[s][0])) for s in ("train", "valid", "test"))
          + " chorales (train/valid/test)")
    baseline = memoryless_baseline(splits["train"], splits["test"])
    rows = [["per-key frequency (no memory)", "-", "-", "-", f"{baseline:.2f}", "-", "-"]]
    published = {"simple_rnn": 9.10, "gru": 8.54, "lstm": 8.67}
    measured = {}
    for cell, units in (("simple_rnn", 100), ("gru", 46), ("lstm", 36)):
        start = time.time()
        model, best_epoch, measured[cell] = train_and_score(cell, units, splits, args.seed)
        recurrent = sum(int(np.prod(v.shape)) for v in model.get_layer(f"{cell}_1").weights)
        rows.append([cell, str(units), f"{recurrent:,}",
                     f"{mean_nll(model, *splits['valid']):.2f}", f"{measured[cell]:.2f}",
                     f"{published[cell]:.2f}", f"{best_epoch} ({time.time() - start:.0f} s)"])
        print(f"{cell}: test NLL {measured[cell]:.2f}", flush=True)
    _common.print_table(["model", "units", "recurrent params", "valid NLL/step",
                         "test NLL/step", "Chung et al.", "best epoch (time)"], rows)
    ranking = " < ".join(sorted(measured, key=measured.get))
    print(f"ranking here (lower NLL first): {ranking}; Chung et al.: gru < lstm < simple_rnn")
    _common.bar_plot(_common.output_path("bach_chorales.png"), list(measured),
                     {"measured": list(measured.values()),
                      "Chung et al. (JSB)": [published[c] for c in measured]},
                     "test NLL per step (lower is better)", "Bach chorales, ~20K parameters")


if __name__ == "__main__":
    main()
