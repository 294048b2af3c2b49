"""Reading ahead: a forward LSTM tagger vs a bidirectional one.

"the bat and the lamp were left on the desk": "bat" is an OBJECT here but an ANIMAL
in "... in the forest". The word that decides comes after the noun, so a forward-only
tagger is at chance on those nouns; a bidirectional tagger reads the whole sentence.

Run: python examples/bidirectional_context.py
"""

import time

import _common  # noqa: F401
import keras

import rnn_zoo
from rnn_zoo.bundle import prepare
from rnn_zoo.data.generators import future_context_tagging
from rnn_zoo.train import train

keras.utils.set_random_seed(0)
test_data = future_context_tagging(1000, seed=1)
# One id per tag; the vocabulary is learned from the training sentences only.
data = prepare(future_context_tagging(2000, seed=0), "sequence_tagger", validation_split=0,
               test=test_data)

rows, dependent_acc, other_acc = [], [], []
names = ["forward LSTM", "bidirectional LSTM"]
for name, bidirectional in zip(names, (False, True)):
    model = rnn_zoo.build_sequence_tagger(**data.task_args, bidirectional=bidirectional,
                                          units=16, embedding_dim=16, learning_rate=1e-2)
    start = time.time()
    train(model, (data.x_train, data.y_train), epochs=10, batch_size=32, patience=None,
          verbose=0)
    predicted = model.predict(data.x_test, verbose=0, batch_size=500).argmax(-1)
    width = predicted.shape[1]
    correct = predicted == test_data.tags[:, :width]
    dependent = test_data.dependent[:, :width]
    real = test_data.tags[:, :width] > 0
    dependent_acc.append(correct[dependent].mean())
    other_acc.append(correct[real & ~dependent].mean())
    rows.append([name, f"{dependent_acc[-1]:.1%}", f"{other_acc[-1]:.1%}",
                 f"{model.count_params():,}", f"{time.time() - start:.0f}"])
_common.print_table(["model", "ambiguous nouns", "other tokens", "params", "seconds"], rows)
_common.bar_plot(_common.output_path("bidirectional_context.png"), names,
                 {"ambiguous nouns": dependent_acc, "other tokens": other_acc},
                 "test accuracy", "Tags decided by a later word need the backward pass")
