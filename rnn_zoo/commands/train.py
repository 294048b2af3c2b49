"""`rnn-zoo train`: train a zoo model on a CSV / JSONL text file or an NPZ file.

Text files (CSV with a header, or JSON Lines) train a text classifier: a
`rnn_zoo.text.TextVectorizer` learns the vocabulary from the training split.
NPZ files (see `rnn_zoo.data.readers.read_sequences_npz`) train a sequence
classifier when they hold `labels`, a sequence regressor when they hold
`targets`; a `SequenceScaler` fitted on the training split standardises them.

Written to `--output-dir`, a bundle folder (`rnn_zoo.Bundle.load(DIR)`):
`model.keras` (the best epoch's model), `vocab.txt` + `text_vectorizer.json`
(text) or `scaler.json` (numeric), `labels.txt` (classification),
`metrics.json`, `metadata.json`, and `run/` with the checkpoints,
`training_state.json` and TensorBoard logs. Running the same command again
resumes an interrupted run (`--no-resume` starts over).
"""

import argparse
import os

from rnn_zoo import tasks
from rnn_zoo.errors import UsageError

TEXT_EXTENSIONS = (".csv", ".jsonl")
NUMERIC_EXTENSIONS = (".npz",)
# The tasks each kind of file can train (a text file has one label per text).
TEXT_TASKS = ("text_classifier", "bag_of_embeddings")
NUMERIC_TASKS = ("sequence_classifier", "sequence_regressor")
RUN_DIR = "run"


def register(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model on a CSV/JSONL text file or an NPZ file",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="training data: .csv, .jsonl or .npz")
    parser.add_argument("--output-dir", "-o", required=True,
                        help="bundle folder for the model, its preprocessor, labels, metrics "
                        "and the run's checkpoints")
    parser.add_argument("--validation", help="validation file (same format as DATA)")
    parser.add_argument("--validation-split", type=float, default=0.1,
                        help="share of DATA held out for validation when --validation "
                        "is not given (default 0.1; 0 disables)")
    parser.add_argument("--test", help="test file, evaluated once at the end")
    model = parser.add_argument_group("model (the same words as the Python factories)")
    model.add_argument("--model", help="configuration name from `rnn-zoo list` (default: "
                       "lstm_text_classifier for text, lstm_sequence_classifier or "
                       "lstm_forecaster for NPZ)")
    model.add_argument("--cell", choices=tasks.CELLS)
    model.add_argument("--units", type=int)
    model.add_argument("--depth", type=int)
    model.add_argument("--bidirectional", action="store_true", default=None)
    model.add_argument("--dropout", type=float)
    model.add_argument("--pooling", choices=tasks.POOLINGS)
    model.add_argument("--embedding-dim", type=int)
    model.add_argument("--learning-rate", type=float)
    fit = parser.add_argument_group("training")
    fit.add_argument("--epochs", type=int, default=20)
    fit.add_argument("--batch-size", type=int, default=32)
    fit.add_argument("--patience", type=int, default=5,
                     help="early-stopping patience in epochs (default 5)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--weight-noise", type=float, default=None, metavar="STDDEV",
                     help="Gaussian noise added to the weights for each training step "
                          "(Graves 2011; Chung et al. 2014 used 0.075); default: none")
    fit.add_argument("--no-resume", action="store_true",
                     help="start from epoch 0 even if a previous run can be resumed")
    fit.add_argument("--no-tensorboard", action="store_true")
    text = parser.add_argument_group("text files")
    text.add_argument("--text-column", default="text", help="CSV column / JSONL key")
    text.add_argument("--label-column", default="label", help="CSV column / JSONL key")
    text.add_argument("--max-tokens", type=int, default=20000,
                      help="largest vocabulary (default 20000)")
    text.add_argument("--max-length", type=int, default=None,
                      help="truncate texts to this many tokens (default: no limit)")
    text.add_argument("--tokenizer", choices=tasks.TOKENIZERS, default=tasks.DEFAULT_TOKENIZER,
                      help="how texts become tokens: 'default' (tensorflow-text, lowercased) "
                      "or 'mediapipe' (MediaPipe's RegexTokenizer, so that `rnn-zoo export "
                      "--target mediapipe` ships a file the app tokenizes identically)")
    parser.set_defaults(func=run)


def _kind(path):
    extension = os.path.splitext(path)[1].lower()
    if extension in TEXT_EXTENSIONS:
        return "text"
    if extension in NUMERIC_EXTENSIONS:
        return "numeric"
    raise UsageError(f"{path}: unsupported file type {extension!r}; expected one of "
                     f"{TEXT_EXTENSIONS + NUMERIC_EXTENSIONS}.")


def _read(path, kind, args, labels=None):
    from rnn_zoo.data import readers

    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file.")
    if kind == "numeric":
        return readers.read_sequences_npz(path)
    if path.lower().endswith(".csv"):
        return readers.read_text_csv(path, text_column=args.text_column,
                                     label_column=args.label_column, labels=labels)
    return readers.read_text_jsonl(path, text_key=args.text_column,
                                   label_key=args.label_column, labels=labels)


def _configuration(args, kind, data):
    """`(name, task)`: the configuration to build and its task, checked against the data."""
    from rnn_zoo.configurations import describe_model

    regression = kind == "numeric" and data.labels is None
    default = ("lstm_text_classifier" if kind == "text" else
               "lstm_forecaster" if regression else "lstm_sequence_classifier")
    name = args.model or default
    task = describe_model(name)["task"]
    allowed = TEXT_TASKS if kind == "text" else (
        ("sequence_regressor",) if regression else ("sequence_classifier",))
    if task not in allowed:
        raise UsageError(f"--model {name} is a {task}; this data needs one of {allowed}.")
    return name, task


def _overrides(args):
    names = ("cell", "units", "depth", "bidirectional", "dropout", "pooling",
             "embedding_dim", "learning_rate")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _build(args, name, task, task_args):
    import inspect

    from rnn_zoo.configurations import build_model

    overrides = _overrides(args)
    parameters = inspect.signature(tasks.get_task(task).factory_function()).parameters
    unknown = sorted(set(overrides) - set(parameters))
    if unknown:
        raise UsageError(f"--model {name} ({task}) takes no "
                         + ", ".join("--" + u.replace("_", "-") for u in unknown) + ".")
    overrides.update(task_args)
    return build_model(name, **overrides)


def _weight_noise(args):
    if args.weight_noise is None:
        return None
    from rnn_zoo.callbacks import WeightNoise

    return [WeightNoise(args.weight_noise, seed=args.seed)]


def _check(args):
    if not 0.0 <= args.validation_split < 1.0:
        raise UsageError(f"--validation-split must be in [0, 1); got {args.validation_split}.")
    for option in ("epochs", "batch_size", "patience", "max_tokens"):
        if getattr(args, option) < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be >= 1.")
    if args.weight_noise is not None and not args.weight_noise > 0:
        raise UsageError(f"--weight-noise must be > 0; got {args.weight_noise}.")


def _split(x, y):
    return (x, y) if x is not None else None


def run(args):
    kind = _kind(args.data)
    _check(args)
    import keras

    from rnn_zoo import train as train_lib
    from rnn_zoo.bundle import Bundle
    from rnn_zoo.bundle import prepare

    keras.utils.set_random_seed(args.seed)
    print(f"reading {args.data}", flush=True)
    data = _read(args.data, kind, args)
    if kind == "numeric" and data.labels is None and data.targets is None:
        raise UsageError("the NPZ file holds neither `labels` nor `targets`: nothing to "
                         "learn.")
    label_set = list(getattr(data, "class_names", ()) or ()) or None
    validation = (_read(args.validation, kind, args, labels=label_set)
                  if args.validation else None)
    test = _read(args.test, kind, args, labels=label_set) if args.test else None
    name, task = _configuration(args, kind, data)
    prepared = prepare(data, task, validation_split=args.validation_split, seed=args.seed,
                       validation=validation, test=test, max_tokens=args.max_tokens,
                       max_length=args.max_length, tokenizer=args.tokenizer)
    model = _build(args, name, task, prepared.task_args)
    train_count = len(prepared.x_train)
    validation_count = 0 if prepared.x_val is None else len(prepared.x_val)
    print(f"model {model.name}: {model.count_params():,} parameters; "
          f"{train_count} training, {validation_count} validation examples", flush=True)

    os.makedirs(args.output_dir, exist_ok=True)
    result = train_lib.train(
        model, (prepared.x_train, prepared.y_train),
        validation_data=_split(prepared.x_val, prepared.y_val),
        test_data=_split(prepared.x_test, prepared.y_test),
        epochs=args.epochs, batch_size=args.batch_size,
        output_dir=os.path.join(args.output_dir, RUN_DIR),
        patience=args.patience, resume=not args.no_resume,
        tensorboard=not args.no_tensorboard, verbose=2,
        callbacks=_weight_noise(args))

    metrics = {"best_epoch": result.best_epoch, "epochs_completed": result.epochs_completed,
               "resumed_from_epoch": result.initial_epoch,
               "stopped_early": result.stopped_early, "monitor": result.monitor,
               "history": result.history, "test": result.test_metrics}
    bundle = Bundle(model, preprocessor=prepared.preprocessor, labels=prepared.labels,
                    metrics=metrics, task=task)
    # The folder already holds run/ (and, on a rerun, the previous bundle).
    bundle.save(args.output_dir, overwrite=True)
    if result.initial_epoch:
        print(f"resumed from epoch {result.initial_epoch}")
    best = {name: values[result.best_epoch - 1] for name, values in result.history.items()
            } if result.best_epoch else {}
    print(f"best epoch {result.best_epoch}: " + ", ".join(
        f"{name} {value:.4f}" for name, value in sorted(best.items())))
    if result.test_metrics:
        print("test: " + ", ".join(f"{name} {value:.4f}"
                                   for name, value in sorted(result.test_metrics.items())))
    files = sorted(entry for entry in os.listdir(args.output_dir) if entry != RUN_DIR)
    print(f"wrote bundle {args.output_dir}: {', '.join(files)}")
    print(f"load it with rnn_zoo.Bundle.load({args.output_dir!r}); checkpoints in "
          f"{os.path.join(args.output_dir, RUN_DIR)}")
    if result.log_dir:
        print(f"TensorBoard logs: tensorboard --logdir {result.log_dir}")
    return 0
