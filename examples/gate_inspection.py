"""Do a trained LSTM's forget gates act like hard switches? Measure it.

The essay behind rnn-zoo claims that most forget-gate values in a trained net sit near
0 or 1. This script trains an LSTM on the negation task, recomputes every gate from the
layer's weights (`rnn_zoo.gates.gate_activations`), reports the share of forget-gate
values below 0.1 and above 0.9 over real tokens, and saves a heatmap of the gates over
one negated sentence. Whatever the share is, it is printed as measured.

Run: python examples/gate_inspection.py
"""

import _common  # noqa: F401
import keras
import numpy as np
import tensorflow as tf

import rnn_zoo
from rnn_zoo import gates as gates_lib
from rnn_zoo.bundle import prepare
from rnn_zoo.data.generators import negation_sentiment
from rnn_zoo.text import tokenize_tf
from rnn_zoo.train import train

keras.utils.set_random_seed(0)
test_data = negation_sentiment(500, seed=2)
# Every training sentence is used (no validation split); the vocabulary is
# learned from them only.
data = prepare(negation_sentiment(2000, seed=0), "text_classifier", validation_split=0.0,
               test=test_data)
x, xt = data.x_train, data.x_test

rows = []
for epochs in (2, 8, 30):
    keras.utils.set_random_seed(0)
    model = rnn_zoo.build_text_classifier(data.task_args["vocab_size"], cell="lstm", units=32,
                                          embedding_dim=16, learning_rate=1e-2)
    train(model, (x, data.y_train), epochs=epochs, batch_size=32, patience=None, verbose=0)
    accuracy = (model.predict(xt, verbose=0).argmax(-1) == data.y_test).mean()
    activations = gates_lib.gate_activations(model, xt)
    stats = {row["gate"]: row for row in gates_lib.gate_statistics(activations)}
    forget = stats["forget"]
    rows.append([str(epochs), f"{accuracy:.1%}", f"{forget['share_low']:.1%}",
                 f"{forget['share_high']:.1%}", f"{forget['share_middle']:.1%}",
                 f"{stats['input']['share_low'] + stats['input']['share_high']:.1%}",
                 f"{stats['output']['share_low'] + stats['output']['share_high']:.1%}"])
_common.print_table(["epochs", "test acc", "forget<0.1", "forget>0.9", "forget between",
                     "input saturated", "output saturated"], rows)

index = int(np.argmax(test_data.negated))
sentence = test_data.texts[index]
tokens = [t.decode() for t in tokenize_tf(tf.constant([sentence]))[0].numpy()]
path = gates_lib.plot_gates(activations, tokens, _common.output_path("gate_inspection.png"),
                            sample=index, title=f"{sentence} (after {epochs} epochs)")
print(f"wrote {path}")
