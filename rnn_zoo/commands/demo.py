"""`rnn-zoo demo`: the negation story end to end, in a few minutes on a laptop CPU.

1. Generate sentences where a negator flips one of two clauses
   ("the food was not good and the service was bad" -> negative), so that
   only word order tells the labels apart on the negated half.
2. Train the order-blind bag-of-embeddings DNN and an LSTM on them.
3. Print their accuracy overall and on the negated sentences.
4. Measure how saturated the LSTM's forget gate is, and save a heatmap of
   its gates over a negated test sentence.
5. Save the LSTM as a bundle folder (`rnn_zoo.Bundle`: model, vocabulary,
   labels, metrics) and, when the export package is available, export it
   (SavedModel + TFLite) and list the files.
"""

import os
import time

from rnn_zoo.commands.common import human_size
from rnn_zoo.commands.common import output_folder
from rnn_zoo.errors import UsageError

DEFAULT_OUTPUT_DIR = "demo_output"


def register(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "demo", help="the negation story: bag-of-embeddings vs LSTM, gates, export",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", "-o", default=DEFAULT_OUTPUT_DIR,
                        help=f"where results go (default ./{DEFAULT_OUTPUT_DIR})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-export", action="store_true",
                        help="skip the SavedModel/TFLite export step")
    parser.set_defaults(func=run)


def _accuracy(model, ids, data):
    predictions = model.predict(ids, verbose=0, batch_size=512).argmax(axis=-1)
    correct = predictions == data.labels
    return float(correct.mean()), float(correct[data.negated].mean())


def _step(number, text):
    print(f"\n[{number}/5] {text}", flush=True)


def run(args):
    started = time.time()
    # NumPy's seeds are 32-bit; checked, with the folder, before minutes of training.
    if not 0 <= args.seed < 2 ** 32:
        raise UsageError(f"--seed must be in 0..{2 ** 32 - 1}. Received: --seed={args.seed}")
    output_folder(args.output_dir, "--output-dir")
    import keras
    import numpy as np
    import tensorflow as tf

    import rnn_zoo
    from rnn_zoo import gates as gates_lib
    from rnn_zoo import train as train_lib
    from rnn_zoo.bundle import Bundle
    from rnn_zoo.bundle import prepare
    from rnn_zoo.data.generators import negation_sentiment
    from rnn_zoo.text import tokenize_tf

    output_dir = args.output_dir
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    _step(1, "data: negation_sentiment (half the sentences need word order)")
    train_data = negation_sentiment(1200, seed=args.seed)
    test_data = negation_sentiment(600, seed=args.seed + 1000)
    # The vectorizer learns its vocabulary from the training split only.
    data = prepare(train_data, "text_classifier",
                   validation=negation_sentiment(300, seed=args.seed + 500), test=test_data)
    vocab_size = data.task_args["vocab_size"]
    example = test_data.texts[int(np.argmax(test_data.negated))]
    print(f"  {len(train_data)} training / {len(test_data)} test sentences, "
          f"vocabulary {vocab_size}; e.g. {example!r}")

    _step(2, "train the bag-of-embeddings DNN and the LSTM")
    models = {
        "bag of embeddings": rnn_zoo.build_bag_of_embeddings(
            vocab_size, embedding_dim=16, hidden_units=16, learning_rate=3e-3),
        "LSTM": rnn_zoo.build_text_classifier(
            vocab_size, cell="lstm", units=16, embedding_dim=16,
            learning_rate=1e-2, name="negation_lstm"),
    }
    results = {}
    for label, model in models.items():
        run_dir = os.path.join(output_dir, "runs", model.name)
        tick = time.time()
        train_lib.train(model, (data.x_train, data.y_train),
                        validation_data=(data.x_val, data.y_val), epochs=6,
                        batch_size=32, output_dir=run_dir, resume=False, patience=3,
                        verbose=0)
        results[label] = _accuracy(model, data.x_test, test_data) + (
            model.count_params(), time.time() - tick)
        print(f"  {label}: done in {results[label][3]:.0f} s", flush=True)

    _step(3, "accuracy on held-out sentences")
    print(f"  {'model':<18} {'overall':>8} {'negated':>8} {'params':>7}")
    for label, (overall, negated, params, _) in results.items():
        print(f"  {label:<18} {overall:>8.1%} {negated:>8.1%} {params:>7,}")
    print("  The bag model sees the same words under both labels on negated "
          "sentences (chance is 50%); the LSTM reads the order.")

    _step(4, "inside the LSTM: forget-gate saturation and a gate heatmap")
    lstm = models["LSTM"]
    activations = gates_lib.gate_activations(lstm, data.x_test[:200])
    rows = gates_lib.gate_statistics(activations)
    print(gates_lib.format_statistics(rows))
    forget = next(row for row in rows if row["gate"] == "forget")
    print(f"  forget gate near 0 or 1 (< 0.1 or > 0.9): {forget['share_saturated']:.1%} of "
          f"values; in between: {forget['share_middle']:.1%}")
    index = int(np.argmax(test_data.negated))
    sentence = activations[0]
    tokens = [token.decode("utf-8") for token in
              tokenize_tf(tf.constant([example]))[0].numpy()]
    if len(tokens) != int(sentence.mask[index].sum()):
        tokens = [str(step + 1) for step in range(int(sentence.mask[index].sum()))]
    heatmap = os.path.join(output_dir, "lstm_gates.png")
    gates_lib.plot_gates(activations, tokens, heatmap, sample=index, title=example)
    print(f"  wrote {heatmap}")

    _step(5, "save and export the LSTM")
    model_dir = os.path.join(output_dir, "negation_lstm")
    overall, negated, _, _ = results["LSTM"]
    bundle = Bundle(lstm, preprocessor=data.preprocessor, labels=data.labels,
                    metrics={"test": {"accuracy": overall, "negated_accuracy": negated}},
                    task="text_classifier")
    bundle.save(model_dir, overwrite=True)
    print(f"  wrote bundle {model_dir}/: " + ", ".join(sorted(os.listdir(model_dir))))
    export_model = None
    if not args.no_export:
        try:
            from rnn_zoo.export import export_model
        except ImportError as error:
            print(f"  export skipped: rnn_zoo.export is not available ({error})")
    if export_model is not None:
        export_root = os.path.join(output_dir, "saved_models")
        result = export_model(lstm, name="negation_lstm", export_root=export_root,
                              vectorizer=bundle.vectorizer, labels=list(bundle.labels))
        print(f"  exported {result.path}:")
        for path, size in sorted(result.files.items()):
            print(f"    {path:<40} {human_size(size):>10}")
        if result.tflite:
            print(f"  TFLite ops: {', '.join(result.tflite.get('ops', []))}")
        print(f"  parity (max abs diff): {result.parity}")
    print(f"\ndone in {time.time() - started:.0f} s; everything is under {output_dir}/")
    return 0
