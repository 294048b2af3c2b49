"""`rnn-zoo export`: a bundle folder or `.keras` file -> `saved_models/<name>/<version>/`.

The version holds a SavedModel, one TFLite file per `--target` (`model.tflite`
for litert, the default; `mediapipe.tflite` for mediapipe) and a manifest. A bundle folder
(what `rnn-zoo train -o DIR` writes) brings its vocabulary and labels along;
`--vocab` and `--labels` override them, or supply them for a bare `.keras` file.
"""

import os

from rnn_zoo import limits
from rnn_zoo import tasks
from rnn_zoo.commands.common import deprecated_alias
from rnn_zoo.commands.common import human_size
from rnn_zoo.commands.common import load_labels
from rnn_zoo.commands.common import load_trained
from rnn_zoo.commands.common import load_vectorizer
from rnn_zoo.errors import UsageError


def register(subparsers):
    parser = subparsers.add_parser(
        "export", help="export a trained model for servers (SavedModel) and phones (TFLite)",
        description="Export a trained model (a bundle folder from `rnn-zoo train`, or a "
        ".keras file; loaded in safe mode) as an immutable version "
        "<export root>/<name>/<version>/ in the TF Serving layout: saved_model.pb + "
        "variables/, one TFLite file per --target (model.tflite for litert, the default: "
        "LiteRT Interpreter and CompiledModel; mediapipe.tflite for mediapipe: MediaPipe "
        "Tasks' TextClassifier, fixed --max-length, tokenizer and labels inside), "
        "manifest.json, and vocab.txt / labels.txt when known. "
        "The version is written to a temporary folder, verified against the model, then "
        "renamed into place. A SavedModel with a text signature needs `import "
        "tensorflow_text` before tf.saved_model.load.",
    )
    parser.add_argument("model", help="a bundle folder (holding model.keras, e.g. from "
                        "`rnn-zoo train -o DIR`) or a .keras file")
    parser.add_argument("--name",
                        help="model name (folder under --export-root); default: the model's name")
    parser.add_argument("--export-root", default="saved_models",
                        help="export root folder (default: saved_models)")
    deprecated_alias(parser, "--root", "--export-root")
    parser.add_argument("--version", type=int,
                        help="integer version; default: the next free one. Existing versions "
                        "are refused.")
    parser.add_argument("--quantization", choices=[q for q in tasks.QUANTIZATIONS if q],
                        help="TFLite quantization (default: float32)")
    parser.add_argument("--target", action="append", choices=tasks.EXPORT_TARGETS,
                        dest="targets", metavar="TARGET",
                        help="TFLite target, repeatable: " + ", ".join(tasks.EXPORT_TARGETS)
                        + f" (default: {tasks.DEFAULT_EXPORT_TARGET}). mediapipe needs "
                        "--max-length and a model trained with --tokenizer mediapipe")
    parser.add_argument("--lstm-kernel", choices=tasks.LSTM_KERNELS,
                        default=tasks.DEFAULT_LSTM_KERNEL,
                        help="how model.tflite writes LSTM layers: a builtin WHILE loop "
                        "(default; loads in LiteRT's CompiledModel) or TFLite's fused kernel "
                        "(for delegates that accelerate it; does NOT load in CompiledModel)")
    parser.add_argument("--representative-data", metavar="NPZ",
                        help="for --quantization int8: .npz holding representative inputs")
    deprecated_alias(parser, "--calibration", "--representative-data")
    parser.add_argument("--vocab", metavar="PATH",
                        help="text vectorizer: a folder holding vocab.txt + text_vectorizer.json "
                        "(a bundle folder), or a vocab.txt file; adds the raw-text signature. "
                        "Default: the bundle's own")
    parser.add_argument("--labels", metavar="FILE",
                        help="labels.txt (one class name per line) or the folder holding it; "
                        "default: the bundle's own")
    parser.add_argument("--max-length", type=int,
                        help="longest accepted input in steps (default: the vectorizer's, "
                        "else 512); with --target mediapipe (required there) the exact "
                        "padded length of mediapipe.tflite")
    parser.add_argument("--no-tflite", action="store_true", help="skip model.tflite")
    parser.set_defaults(func=run)


def _load_array(path, what):
    """The one array of the `.npz` file `path`, read with the data readers' bounds."""
    from rnn_zoo.data.readers import DataError
    from rnn_zoo.data.readers import read_array_npz

    try:
        return read_array_npz(path)
    except DataError as error:
        # "PATH: cannot read as an .npz archive (...)": say which flag gave PATH.
        raise UsageError(f"{what} {error}") from None


def run(args):
    if args.no_tflite and (args.quantization or args.representative_data):
        raise UsageError("--quantization/--representative-data apply to model.tflite; "
                         "drop --no-tflite.")
    if args.representative_data and args.quantization != "int8":
        raise UsageError("--representative-data is only used with --quantization int8.")
    if not os.path.exists(args.model):
        raise FileNotFoundError(f"{args.model}: no such model file or bundle folder.")
    targets = tuple(args.targets or (tasks.DEFAULT_EXPORT_TARGET,))
    if args.no_tflite and args.targets:
        raise UsageError("--target chooses TFLite files; drop --no-tflite.")
    if args.max_length is not None and args.max_length > limits.MAX_LENGTH:
        raise UsageError(f"--max-length must be at most {limits.MAX_LENGTH} (MAX_LENGTH in "
                         f"rnn_zoo.limits); got {args.max_length}.")
    if "mediapipe" in targets and args.max_length is None:
        raise UsageError("--target mediapipe writes a fixed-length file: give its length with "
                         "--max-length N (MediaPipe reads the length from the input's shape).")

    print(f"Loading {args.model} (safe mode) ...", flush=True)
    model, bundle = load_trained(args.model)
    vectorizer = bundle.vectorizer if bundle is not None else None
    labels = list(bundle.labels) if bundle is not None and bundle.labels else None
    if args.vocab:
        vectorizer = load_vectorizer(args.vocab)
    if args.labels:
        labels = load_labels(args.labels)
    representative = (_load_array(args.representative_data, "--representative-data")
                      if args.representative_data else None)
    if "mediapipe" in targets and (
            vectorizer is None or getattr(vectorizer, "tokenizer", None) != "mediapipe"):
        raise UsageError(
            "--target mediapipe needs a model whose vocabulary MediaPipe's RegexTokenizer "
            "reproduces on the phone: train it with `rnn-zoo train ... --tokenizer mediapipe` "
            "(and pass its bundle folder or --vocab)."
            if vectorizer is not None else
            "--target mediapipe needs the model's vocabulary: pass a bundle folder from "
            "`rnn-zoo train --tokenizer mediapipe`, or --vocab.")

    from rnn_zoo.export import export_model

    result = export_model(
        model, name=args.name, export_root=args.export_root, version=args.version,
        vectorizer=vectorizer, labels=labels, tflite=not args.no_tflite,
        quantization=args.quantization, representative_data=representative,
        max_length=args.max_length, lstm_kernel=args.lstm_kernel,
        targets=None if args.no_tflite else targets)

    print(f"Exported {result.name} version {result.version} to {result.path}")
    for relative, size in result.files.items():
        print(f"  {relative:<45} {human_size(size):>10}")
    serving = result.manifest["serving"]
    print("Signatures: " + ", ".join(serving["signatures"]))
    print(f"Input: {serving['input']['name']} {serving['input']['dtype']} "
          f"{serving['input']['shape']}, max_length={serving['max_length']}"
          + (f", vocab_size={serving['vocab_size']}" if serving["vocab_size"] else ""))
    if serving["requires_imports"]:
        print("Note: " + serving["load_note"])
    for file_name, artifact in (result.manifest.get("artifacts") or {}).items():
        length = artifact["max_length"]
        print(f"{file_name}: target {artifact['target']}, "
              + (f"fixed length {length}" if length else "dynamic length")
              + f", verified in {', '.join(artifact['runtimes_verified'])}")
    if result.tflite:
        print(f"TFLite ops: {', '.join(result.tflite['ops'])}")
        print(f"TFLite latency: {result.tflite['latency_ms']:.3f} ms per call "
              f"(batch {result.tflite['batch_size']}), "
              f"quantization={result.tflite['quantization'] or 'float32'}")
    parity = ", ".join(f"{key}={value:.2e}" if isinstance(value, float) else f"{key}={value}"
                       for key, value in result.parity.items())
    print(f"Parity: {parity}")
    return 0
