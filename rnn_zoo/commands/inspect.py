"""`rnn-zoo inspect`: the gates of a trained model on one input, as numbers and a heatmap.

For a text model give `--text` and `--vocab` (the `vocab.txt` that
`rnn-zoo train` wrote, or its folder); for a numeric model give `--npz` and
`--index`. Prints, per recurrent layer and direction, how often each gate sits
near 0 (< 0.1) or near 1 (> 0.9) on this input, and writes a heatmap PNG of the
gates over the steps.
"""

import os

from rnn_zoo.cli import UsageError


def register(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "inspect", help="show a trained model's gate activations on one input",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a .keras file (e.g. from `rnn-zoo train`)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the sentence to inspect (text models)")
    source.add_argument("--npz", help="an NPZ file of numeric sequences (numeric models)")
    parser.add_argument("--vocab", help="vocab.txt, or the folder holding it and "
                        "text_vectorizer.json (with --text)")
    parser.add_argument("--index", type=int, default=0,
                        help="which sequence of the NPZ file (default 0)")
    parser.add_argument("--out", default="gates.png", help="heatmap PNG (default gates.png)")
    parser.set_defaults(func=run)


def _vectorizer(vocab):
    from rnn_zoo.text import TextVectorizer

    if vocab is None:
        raise UsageError("--text needs --vocab (the vocab.txt written by `rnn-zoo train`).")
    if not os.path.exists(vocab):
        raise FileNotFoundError(f"{vocab}: no such file or folder.")
    folder = vocab if os.path.isdir(vocab) else os.path.dirname(os.path.abspath(vocab))
    if os.path.exists(os.path.join(folder, "text_vectorizer.json")):
        return TextVectorizer.load(folder)
    with open(vocab, encoding="utf-8") as handle:
        return TextVectorizer(vocabulary=[line.rstrip("\n") for line in handle if line.strip()])


def _text_input(args):
    import numpy as np
    import tensorflow as tf

    from rnn_zoo.text import tokenize_tf

    vectorizer = _vectorizer(args.vocab)
    ids = vectorizer([args.text])
    tokens = [t.decode("utf-8") for t in
              tokenize_tf(tf.constant([args.text]), lowercase=vectorizer.lowercase)[0].numpy()]
    tokens = tokens[: int(np.count_nonzero(ids[0]))]  # --max-length truncation
    vocabulary = set(vectorizer.vocabulary)
    labels = [t if t in vocabulary else f"{t}?" for t in tokens]  # "?" marks OOV
    if not labels:
        raise UsageError(f"--text {args.text!r} holds no tokens.")
    return ids, labels


def _numeric_input(args):
    from rnn_zoo.data.readers import read_sequences_npz

    data = read_sequences_npz(args.npz)
    if not 0 <= args.index < len(data):
        raise UsageError(f"--index must be in 0..{len(data) - 1}; got {args.index}.")
    sample = data.select([args.index])
    length = int(sample.lengths[0])
    return sample.x[:, :length], [str(step + 1) for step in range(length)]


def run(args):
    if not os.path.exists(args.model):
        raise FileNotFoundError(f"{args.model}: no such file.")
    if args.text is not None:
        inputs, labels = _text_input(args)
    else:
        inputs, labels = _numeric_input(args)
    import rnn_zoo
    from rnn_zoo import inspect as gates_lib

    model = rnn_zoo.load_model(args.model, compile=False)
    activations = gates_lib.gate_activations(model, inputs)
    real_steps = int(activations[0].mask[0].sum())
    if real_steps != len(labels):  # e.g. a numeric step that equals the mask value
        labels = [str(step + 1) for step in range(real_steps)]
    print(f"{model.name}: {len(activations)} recurrent layer direction(s), "
          f"{real_steps} steps")
    rows = gates_lib.gate_statistics(activations)
    if rows:
        print(gates_lib.format_statistics(rows))
    else:
        print("no sigmoid gates (SimpleRNN): the heatmap shows the hidden state")
    title = " ".join(labels) if args.text is not None else f"{args.npz} [{args.index}]"
    gates_lib.plot_gates(activations, labels, args.out, title=title[:100])
    print(f"wrote {args.out}")
    return 0
