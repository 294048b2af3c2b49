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
from rnn_zoo.data.generators import negation_sentiment
from rnn_zoo.text import TextVectorizer
from rnn_zoo.train import train

keras.utils.set_random_seed(0)
train_data = negation_sentiment(2000, seed=0)
valid_data = negation_sentiment(400, seed=1)
test_data = negation_sentiment(1000, seed=2)
vectorizer = TextVectorizer()
vectorizer.adapt(train_data.texts)
x, xv, xt = (vectorizer(d.texts) for d in (train_data, valid_data, test_data))
vocab = vectorizer.vocabulary_size

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
    train(model, (x, train_data.labels), validation_data=(xv, valid_data.labels), epochs=15,
          batch_size=32, early_stopping_patience=3, verbose=0)
    correct = model.predict(xt, verbose=0, batch_size=500).argmax(-1) == test_data.labels
    overall.append(correct.mean())
    negated.append(correct[test_data.negated].mean())
    rows.append([name, f"{overall[-1]:.1%}", f"{negated[-1]:.1%}",
                 f"{correct[~test_data.negated].mean():.1%}", f"{model.count_params():,}",
                 f"{time.time() - start:.0f}"])
_common.print_table(["model", "overall", "negated", "plain", "params", "seconds"], rows)
_common.bar_plot(_common.output_path("negation.png"), list(models),
                 {"overall": overall, "negated sentences": negated}, "test accuracy",
                 "Negation: only order-aware models beat chance on negated sentences")
