"""`rnn-zoo inspect`: the gates of a trained model on one input, as numbers and a heatmap.

Give the bundle folder that `rnn-zoo train -o DIR` wrote (or a bare .keras
file). For a text model give `--text`; a bundle brings its vocabulary
(`--vocab` overrides it, and is needed with a bare .keras file). For a
numeric model give `--npz` and `--index`; a bundle's scaler is applied
first. Prints, per recurrent layer and direction, how often each gate sits
near 0 (< 0.1) or near 1 (> 0.9) on this input, and writes a heatmap PNG of
the gates over the steps.
"""

import os

from rnn_zoo.commands.common import deprecated_alias
from rnn_zoo.commands.common import load_trained
from rnn_zoo.commands.common import load_vectorizer
from rnn_zoo.commands.common import output_file
from rnn_zoo.commands.common import readable_file
from rnn_zoo.errors import UsageError


def register(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "inspect", help="show a trained model's gate activations on one input",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a bundle folder (from `rnn-zoo train -o DIR`) or a "
                        ".keras file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the sentence to inspect (text models)")
    source.add_argument("--npz", help="an NPZ file of numeric sequences (numeric models)")
    parser.add_argument("--vocab", help="vocab.txt, or the folder holding it and "
                        "text_vectorizer.json (with --text; default: the bundle's own)")
    parser.add_argument("--index", type=int, default=0,
                        help="which sequence of the NPZ file (default 0)")
    parser.add_argument("--output", default="gates.png",
                        help="heatmap PNG file (default gates.png)")
    deprecated_alias(parser, "--out", "--output")
    parser.set_defaults(func=run)


def _text_input(args, vectorizer):
    import numpy as np
    import tensorflow as tf

    from rnn_zoo.text import tokenize_tf

    if vectorizer is None:
        raise UsageError("--text needs a vocabulary: give a bundle folder (from `rnn-zoo "
                         "train -o DIR`) or --vocab with a .keras file.")
    ids = vectorizer([args.text])
    tokens = [t.decode("utf-8") for t in
              tokenize_tf(tf.constant([args.text]), lowercase=vectorizer.lowercase)[0].numpy()]
    tokens = tokens[: int(np.count_nonzero(ids[0]))]  # --max-length truncation
    if not tokens:
        raise UsageError(f"--text {args.text!r} holds no tokens.")
    vocabulary = set(vectorizer.vocabulary)
    oov = [token not in vocabulary for token in tokens]  # drawn red, with a legend
    return ids, tokens, oov


def _numeric_input(args, scaler):
    from rnn_zoo.data.readers import read_sequences_npz

    data = read_sequences_npz(args.npz)
    if not 0 <= args.index < len(data):
        raise UsageError(f"--index must be in 0..{len(data) - 1}; got {args.index}.")
    sample = data.select([args.index])
    length = int(sample.lengths[0])
    # The model was trained on scaled features: feed it the same.
    x = scaler.transform(sample) if scaler is not None else sample.x
    return x[:, :length], [str(step + 1) for step in range(length)], None


def run(args):
    if not os.path.exists(args.model):
        raise FileNotFoundError(f"{args.model}: no such file.")
    if args.text is not None and args.vocab is not None and not os.path.exists(args.vocab):
        raise FileNotFoundError(f"{args.vocab}: no such file or folder.")
    if args.npz is not None:
        readable_file(args.npz, "--npz")
    if args.text is not None and not args.text.strip():
        raise UsageError(f"--text {args.text!r} holds no tokens.")
    output_file(args.output, "--output")
    model, bundle = load_trained(args.model)
    if args.text is not None:
        vectorizer = load_vectorizer(args.vocab) if args.vocab else (
            bundle.vectorizer if bundle is not None else None)
        inputs, labels, oov = _text_input(args, vectorizer)
    else:
        scaler = None
        if bundle is not None and bundle.preprocessor is not None and bundle.vectorizer is None:
            scaler = bundle.preprocessor
        inputs, labels, oov = _numeric_input(args, scaler)
    from rnn_zoo import gates as gates_lib

    activations = gates_lib.gate_activations(model, inputs)
    real_steps = int(activations[0].mask[0].sum())
    if real_steps != len(labels):  # e.g. a numeric step that equals the mask value
        labels, oov = [str(step + 1) for step in range(real_steps)], None
    print(f"{model.name}: {len(activations)} recurrent layer direction(s), "
          f"{real_steps} steps")
    rows = gates_lib.gate_statistics(activations)
    if rows:
        print(gates_lib.format_statistics(rows))
    else:
        print("no sigmoid gates (SimpleRNN): the heatmap shows the hidden state")
    title = " ".join(labels) if args.text is not None else f"{args.npz} [{args.index}]"
    gates_lib.plot_gates(activations, labels, args.output, title=title, oov=oov)
    if oov and any(oov):
        print("not in the vocabulary (read as the OOV id): "
              + ", ".join(token for token, unknown in zip(labels, oov) if unknown))
    print(f"wrote {args.output}")
    return 0
