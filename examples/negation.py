"""Word order matters: bag-of-embeddings vs LSTM vs GRU vs BiLSTM on negation.

Half the sentences join a positive and a negative clause and negate one of them:
"the food was not good and the service was bad" is negative, "the food was good and
the service wasn't bad" is positive. Both hold the same words, so a model that only
sees which words occur (the bag of embeddings) is at chance there; a recurrent net
carries the negation forward in its state.

Run: python examples/negation.py
"""

import time

import _common  # noqa: F401  (sets up the import path)
import keras

import rnn_zoo
from rnn_zoo.bundle import prepare
from rnn_zoo.data.generators import negation_sentiment
from rnn_zoo.train import train

keras.utils.set_random_seed(0)
test_data = negation_sentiment(1000, seed=2)
# The vocabulary is learned from the training sentences only.
data = prepare(negation_sentiment(2000, seed=0), "text_classifier",
               validation=negation_sentiment(400, seed=1), test=test_data)
vocab = data.task_args["vocab_size"]

models = {
    "bag of embeddings": rnn_zoo.build_bag_of_embeddings(vocab, embedding_dim=16,
                                                         hidden_units=16, learning_rate=1e-2),
    "LSTM": rnn_zoo.build_text_classifier(vocab, cell="lstm", units=16, embedding_dim=16,
                                          learning_rate=1e-2),
    "GRU": rnn_zoo.build_text_classifier(vocab, cell="gru", units=16, embedding_dim=16,
                                         learning_rate=1e-2),
    "BiLSTM": rnn_zoo.build_text_classifier(vocab, cell="lstm", bidirectional=True, units=16,
                                            embedding_dim=16, learning_rate=1e-2),
}
rows, overall, negated = [], [], []
for name, model in models.items():
    start = time.time()
    train(model, (data.x_train, data.y_train), validation_data=(data.x_val, data.y_val),
          epochs=15, batch_size=32, patience=3, verbose=0)
    correct = model.predict(data.x_test, verbose=0, batch_size=500).argmax(-1) == data.y_test
    overall.append(correct.mean())
    negated.append(correct[test_data.negated].mean())
    rows.append([name, f"{overall[-1]:.1%}", f"{negated[-1]:.1%}",
                 f"{correct[~test_data.negated].mean():.1%}", f"{model.count_params():,}",
                 f"{time.time() - start:.0f}"])
_common.print_table(["model", "overall", "negated", "plain", "params", "seconds"], rows)
_common.bar_plot(_common.output_path("negation.png"), list(models),
                 {"overall": overall, "negated sentences": negated}, "test accuracy",
                 "Negation: only order-aware models beat chance on negated sentences")
