"""`rnn-zoo predict`: run a trained bundle or an export on texts or on an `.npz` file."""

from rnn_zoo import tasks
from rnn_zoo.commands.common import is_bundle
from rnn_zoo.errors import UsageError


def register(subparsers):
    parser = subparsers.add_parser(
        "predict", help="predict with a bundle folder or an export (version folder, "
        "SavedModel or .tflite)",
        description="Run a bundle folder written by `rnn-zoo train -o DIR` (its vectorizer "
        "or scaler is applied to the raw input), or an export written by `rnn-zoo export`, "
        "on raw texts or on token ids / features from an .npz file. Inputs to an export are "
        "checked against manifest.json first (dtype, rank, empty or over-long sequences, "
        "ids outside the vocabulary). Labels from labels.txt are printed when present.",
    )
    parser.add_argument("path", help="a bundle folder (holding model.keras), a version "
                        "folder (saved_models/<name>/<version>), a SavedModel folder, or a "
                        ".tflite file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", action="append", metavar="TEXT",
                        help="a raw text (repeat for several); needs a vocabulary in the "
                        "bundle or export")
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


def _bundle_inputs(args, bundle):
    """The raw inputs `Bundle.predict` takes, from --text or --npz."""
    if args.text is not None:
        if bundle.vectorizer is None:
            raise UsageError(f"--text needs a text model; {args.path} has no vocabulary.")
        return args.text
    if bundle.vectorizer is not None:
        return _load_npz(args.npz, "token_ids")
    import numpy as np

    with np.load(args.npz, allow_pickle=False) as stored:
        training_file = "x" in stored.files and "lengths" in stored.files
    if training_file:  # a file `rnn-zoo train` reads: check it the same way
        from rnn_zoo.data.readers import read_sequences_npz

        return read_sequences_npz(args.npz).x
    return _load_npz(args.npz, "features")


def run(args):
    if is_bundle(args.path):
        if args.tflite:
            raise UsageError("--tflite runs an export's model.tflite; a bundle folder holds "
                             "model.keras. Export it first (`rnn-zoo export`).")
        from rnn_zoo.bundle import Bundle

        bundle = Bundle.load(args.path, compile=False)
        print(f"Loaded bundle {bundle.model.name} from {args.path}", flush=True)
        outputs = bundle.predict(_bundle_inputs(args, bundle))
        labels = list(bundle.labels) if bundle.labels else None
        probabilities = labels is not None or (
            bundle.task is not None and tasks.get_task(bundle.task).classification)
    else:
        from rnn_zoo.export import load_exported

        predictor = load_exported(args.path, prefer="tflite" if args.tflite else "saved_model")
        print(f"Loaded {predictor.kind} from {predictor.path}", flush=True)
        inputs = args.text if args.text is not None else _load_npz(
            args.npz, predictor.serving["input"]["name"])
        outputs = predictor.predict(inputs)
        labels = predictor.labels
        probabilities = predictor.serving["output"]["name"] == "probabilities"
    for line in format_predictions(outputs, labels=labels, texts=args.text,
                                   probabilities=probabilities):
        print(line)
    return 0
