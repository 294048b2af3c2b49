"""A real data set: GRU vs LSTM on JapaneseVowels (9 speakers, 12 channels, 7-29 steps).

Chung et al. (2014) found the GRU (2 gates, one state) often as good as the LSTM with
fewer parameters. Published reference on this data: LSTM-FCN 0.99 (Karim et al. 2018).
The data ship inside the `aeon` package: nothing is downloaded.

Run: python examples/japanese_vowels.py
"""

import time

import _common  # noqa: F401
import keras

import rnn_zoo
from rnn_zoo.bundle import prepare
from rnn_zoo.data import load_japanese_vowels
from rnn_zoo.train import train

# Hold out 20% of the training speakers' utterances for early stopping; the
# SequenceScaler learns its statistics from the rest (real steps only,
# padding stays 0.0).
data = prepare(load_japanese_vowels(split="train"), "sequence_classifier",
               validation_split=0.2, test=load_japanese_vowels(split="test"))

rows, accuracies = [], []
for cell in ("gru", "lstm"):
    keras.utils.set_random_seed(0)
    model = rnn_zoo.build_sequence_classifier(**data.task_args, cell=cell, units=32,
                                              learning_rate=1e-2)
    start = time.time()
    result = train(model, (data.x_train, data.y_train), validation_data=(data.x_val, data.y_val),
                   test_data=(data.x_test, data.y_test), epochs=40, batch_size=32, patience=6,
                   verbose=0)
    seconds = (time.time() - start) / result.epochs_completed
    accuracies.append(result.test_metrics["accuracy"])
    rows.append([cell.upper(), f"{accuracies[-1]:.3f}", f"{model.count_params():,}",
                 f"{seconds:.2f}", str(result.best_epoch)])
rows.append(["LSTM-FCN (published)", "0.990", "-", "-", "-"])
_common.print_table(["model", "test accuracy", "params", "s/epoch", "best epoch"], rows)
_common.bar_plot(_common.output_path("japanese_vowels.png"), ["GRU", "LSTM"],
                 {"test accuracy": accuracies}, "test accuracy", "JapaneseVowels")
