"""`rnn-zoo predict`: run an exported model on texts or on an `.npz` of ids / features."""


def register(subparsers):
    parser = subparsers.add_parser(
        "predict", help="predict with an exported model (version folder, SavedModel or .tflite)",
        description="Run an export written by `rnn-zoo export` on raw texts or on token ids / "
        "features from an .npz file. Inputs are checked against manifest.json first "
        "(dtype, rank, empty or over-long sequences, ids outside the vocabulary). "
        "Labels from labels.txt are printed when present.",
    )
    parser.add_argument("path", help="a version folder (saved_models/<name>/<version>), "
                        "a SavedModel folder, or a .tflite file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", action="append", metavar="TEXT",
                        help="a raw text (repeat for several); needs vocab.txt in the export")
    source.add_argument("--npz", metavar="FILE",
                        help=".npz with token ids int [batch, time] or features float "
                        "[batch, time, features] (key token_ids / features, or its only array)")
    parser.add_argument("--tflite", action="store_true",
                        help="run model.tflite of a version folder instead of the SavedModel")
    parser.set_defaults(func=run)


def _load_npz(path, input_name):
    import numpy as np

    with np.load(path, allow_pickle=False) as stored:
        if input_name in stored.files:
            return stored[input_name]
        if len(stored.files) == 1:
            return stored[stored.files[0]]
        raise ValueError(
            f"--npz {path}: holds {stored.files}; expected an array named {input_name!r} "
            "or a single array."
        )


def format_predictions(outputs, labels=None, texts=None, probabilities=True):
    """Lines to print: per row the top class and its probability (per step for
    taggers), named from labels.txt when present; the raw values otherwise."""
    import numpy as np

    def name(index):
        return labels[index] if labels is not None and index < len(labels) else str(index)

    lines = []
    for row, values in enumerate(outputs):
        prefix = f"{row}" + (f"\t{texts[row]!r}" if texts is not None else "")
        if probabilities and values.ndim == 1:
            best = int(np.argmax(values))
            lines.append(f"{prefix}\t{name(best)}\t{values[best]:.4f}")
        elif probabilities and values.ndim == 2:
            lines.append(f"{prefix}\t" + " ".join(name(int(i)) for i in np.argmax(values, -1)))
        else:
            lines.append(f"{prefix}\t{np.array2string(values, precision=4, separator=', ')}")
    return lines


def run(args):
    from rnn_zoo.export import load_exported

    predictor = load_exported(args.path, prefer="tflite" if args.tflite else "saved_model")
    print(f"Loaded {predictor.kind} from {predictor.path}", flush=True)
    if args.text is not None:
        inputs, texts = args.text, args.text
    else:
        inputs, texts = _load_npz(args.npz, predictor.serving["input"]["name"]), None
    outputs = predictor.predict(inputs)
    probabilities = predictor.serving["output"]["name"] == "probabilities"
    for line in format_predictions(outputs, labels=predictor.labels, texts=texts,
                                   probabilities=probabilities):
        print(line)
    return 0
