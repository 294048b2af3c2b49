"""A real data set: GRU vs LSTM on JapaneseVowels (9 speakers, 12 channels, 7-29 steps).

Chung et al. (2014) found the GRU (2 gates, one state) often as good as the LSTM with
fewer parameters. Published reference on this data: LSTM-FCN 0.99 (Karim et al. 2018).
The data ship inside the `aeon` package: nothing is downloaded.

Run: python examples/japanese_vowels.py
"""

import time

import _common  # noqa: F401
import keras
import numpy as np

import rnn_zoo
from rnn_zoo.data import SequenceScaler
from rnn_zoo.data import load_japanese_vowels
from rnn_zoo.train import train

train_data = load_japanese_vowels(split="train")
test_data = load_japanese_vowels(split="test")
# Statistics of the training split's real steps; padding stays 0.0.
scaler = SequenceScaler.fit(train_data)
x, xt = scaler.transform(train_data), scaler.transform(test_data)
# Hold out 20% of the training speakers' utterances for early stopping.
order = np.random.default_rng(0).permutation(len(x))
valid, fit = order[:54], order[54:]

rows, accuracies = [], []
for cell in ("gru", "lstm"):
    keras.utils.set_random_seed(0)
    model = rnn_zoo.build_sequence_classifier(12, 9, cell=cell, units=32, learning_rate=1e-2)
    start = time.time()
    result = train(model, (x[fit], train_data.labels[fit]),
                   validation_data=(x[valid], train_data.labels[valid]),
                   test_data=(xt, test_data.labels), epochs=40, batch_size=32,
                   early_stopping_patience=6, verbose=0)
    seconds = (time.time() - start) / result.epochs_completed
    accuracies.append(result.test_metrics["accuracy"])
    rows.append([cell.upper(), f"{accuracies[-1]:.3f}", f"{model.count_params():,}",
                 f"{seconds:.2f}", str(result.best_epoch)])
rows.append(["LSTM-FCN (published)", "0.990", "-", "-", "-"])
_common.print_table(["model", "test accuracy", "params", "s/epoch", "best epoch"], rows)
_common.bar_plot(_common.output_path("japanese_vowels.png"), ["GRU", "LSTM"],
                 {"test accuracy": accuracies}, "test accuracy", "JapaneseVowels")
