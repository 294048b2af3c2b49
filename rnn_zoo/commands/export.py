"""`rnn-zoo export`: a `.keras` file -> `saved_models/<name>/<version>/` (SavedModel, TFLite, manifest)."""

import os

_QUANTIZATIONS = ("float16", "dynamic_int8", "int8")


def register(subparsers):
    parser = subparsers.add_parser(
        "export", help="export a .keras model for servers (SavedModel) and phones (TFLite)",
        description="Export a trained .keras model (loaded in safe mode) as an immutable "
        "version saved_models/<name>/<version>/ in the TF Serving layout: saved_model.pb + "
        "variables/, model.tflite, manifest.json, and vocab.txt / labels.txt when given. "
        "The version is written to a temporary folder, verified against the model, then "
        "renamed into place. A SavedModel with a text signature needs `import "
        "tensorflow_text` before tf.saved_model.load.",
    )
    parser.add_argument("model", help="path of the trained model, a .keras file")
    parser.add_argument("--name", help="model name (folder under --root); default: the model's name")
    parser.add_argument("--root", default="saved_models", help="export root (default: saved_models)")
    parser.add_argument("--version", type=int,
                        help="integer version; default: the next free one. Existing versions are refused.")
    parser.add_argument("--quantization", choices=_QUANTIZATIONS,
                        help="TFLite quantization (default: float32)")
    parser.add_argument("--lstm-kernel", choices=("fused", "loop"), default="fused",
                        help="how model.tflite writes LSTM layers: TFLite's fused kernel "
                        "(default) or a builtin WHILE loop (faster under LiteRT on x86 for "
                        "large layers; see benchmarks/RESULTS.md)")
    parser.add_argument("--calibration", metavar="NPZ",
                        help="for --quantization int8: .npz holding representative inputs")
    parser.add_argument("--vocab", metavar="PATH",
                        help="text vectorizer: a folder holding vocab.txt + text_vectorizer.json "
                        "(TextVectorizer.save), or a vocab.txt file; adds the raw-text signature")
    parser.add_argument("--labels", metavar="FILE", help="labels.txt, one class name per line")
    parser.add_argument("--max-length", type=int,
                        help="longest accepted input in steps (default: the vectorizer's, else 512)")
    parser.add_argument("--no-tflite", action="store_true", help="skip model.tflite")
    parser.set_defaults(func=run)


def load_vectorizer(path):
    """A `TextVectorizer` from a saved folder or a bare `vocab.txt` (one token per line)."""
    from rnn_zoo.text import TextVectorizer

    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    if os.path.isfile(os.path.join(folder, "text_vectorizer.json")) and (
            os.path.isdir(path) or os.path.basename(path) == "vocab.txt"):
        return TextVectorizer.load(folder)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--vocab {path}: no vocab.txt / text_vectorizer.json there.")
    with open(path, encoding="utf-8") as handle:
        tokens = [line for line in handle.read().split("\n") if line]
    # Settings unknown without text_vectorizer.json: the TextVectorizer defaults.
    return TextVectorizer(vocabulary=tokens)


def _load_array(path, what):
    import numpy as np

    with np.load(path, allow_pickle=False) as stored:
        if len(stored.files) != 1:
            raise ValueError(f"{what} {path}: expected one array, found {stored.files}.")
        return stored[stored.files[0]]


def _format_bytes(size):
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


def run(args):
    from rnn_zoo.cli import UsageError

    if not args.model.endswith(".keras"):
        raise UsageError(f"MODEL must be a .keras file. Received: {args.model!r}")
    if not os.path.isfile(args.model):
        raise FileNotFoundError(f"No such model file: {args.model}")
    if args.no_tflite and (args.quantization or args.calibration):
        raise UsageError("--quantization/--calibration apply to model.tflite; drop --no-tflite.")
    if args.calibration and args.quantization != "int8":
        raise UsageError("--calibration is only used with --quantization int8.")

    from rnn_zoo.export import export_model
    from rnn_zoo.export.manifest import read_labels
    from rnn_zoo.saving import load_model

    print(f"Loading {args.model} (safe mode) ...", flush=True)
    model = load_model(args.model, compile=False)
    vectorizer = load_vectorizer(args.vocab) if args.vocab else None
    labels = read_labels(args.labels) if args.labels else None
    calibration = _load_array(args.calibration, "--calibration") if args.calibration else None
    result = export_model(
        model, name=args.name, root=args.root, version=args.version, vectorizer=vectorizer,
        labels=labels, tflite=not args.no_tflite, quantization=args.quantization,
        representative_data=calibration, max_length=args.max_length,
        lstm_kernel=args.lstm_kernel)

    print(f"Exported {result.name} version {result.version} to {result.path}")
    for relative, size in result.files.items():
        print(f"  {relative:<45} {_format_bytes(size):>10}")
    serving = result.manifest["serving"]
    print("Signatures: " + ", ".join(serving["signatures"]))
    print(f"Input: {serving['input']['name']} {serving['input']['dtype']} "
          f"{serving['input']['shape']}, max_length={serving['max_length']}"
          + (f", vocab_size={serving['vocab_size']}" if serving["vocab_size"] else ""))
    if serving["requires_imports"]:
        print("Note: " + serving["load_note"])
    if result.tflite:
        print(f"TFLite ops: {', '.join(result.tflite['ops'])}")
        print(f"TFLite latency: {result.tflite['latency_ms']:.3f} ms per call "
              f"(batch {result.tflite['batch_size']}), quantization={result.tflite['quantization']}")
    parity = ", ".join(f"{key}={value:.2e}" if isinstance(value, float) else f"{key}={value}"
                       for key, value in result.parity.items())
    print(f"Parity: {parity}")
    return 0
