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

`--stream` trains on a CSV/JSONL file, or an NPZ of sequences (padded `x` or
concatenated `values`), without loading it: the records are read through
tf.data, every epoch, and the vocabulary (or the scaler) is fitted on a bounded
sample of the training split (`--adapt-sample`), or kept from --preset.

`--preset NAME` fine-tunes a pretrained preset (`rnn-zoo presets`) instead of
building a new model: the preset's vocabulary (or scaler) is kept, and its
head is replaced by a new one when DATA's labels are not the preset's. The
data must be the kind the preset reads (text for a text preset, an NPZ of
series for a series preset).
"""

import argparse
import os

from rnn_zoo import distribute
from rnn_zoo import limits
from rnn_zoo import tasks
from rnn_zoo.commands.common import output_folder
from rnn_zoo.errors import UsageError

TEXT_EXTENSIONS = (".csv", ".jsonl")
NUMERIC_EXTENSIONS = (".npz",)
# The tasks each kind of file can train (a text file has one label per text).
TEXT_TASKS = ("text_classifier", "bag_of_embeddings")
NUMERIC_TASKS = ("sequence_classifier", "sequence_regressor")
RUN_DIR = "run"
# --stream's default shuffle buffer, in records: enough to mix a file sorted by label
# within a few hundred batches, small next to the vocabulary sample.
SHUFFLE_BUFFER = 10000


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
    model.add_argument("--preset", metavar="NAME",
                       help="fine-tune this pretrained preset (see `rnn-zoo presets`), keeping "
                       "its vocabulary; its head is replaced when the labels differ")
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
    fit.add_argument("--data-parallel", type=int, default=None, metavar="N",
                     help="train N data-parallel replicas; --batch-size is the global batch, "
                     "split across them. TensorFlow: N worker processes on loopback "
                     "(MultiWorkerMirroredStrategy); with TF_CONFIG set, join that cluster "
                     "as one worker instead. JAX: keras.distribution.DataParallel over N "
                     "devices (N host devices on a CPU); with KERAS_DISTRIBUTION_* set, one "
                     "process of a multi-process run. Not on torch. See the README, "
                     "'Training on several processes or machines'.")
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
    text.add_argument("--stream", action="store_true",
                      help="stream DATA (and --validation/--test) record by record through "
                      "tf.data instead of loading it: one pass counts the records and finds "
                      "the labels, the vocabulary is adapted on a bounded sample of the "
                      "training split (--adapt-sample), and every epoch reads the file "
                      "again, sharded by batch across --data-parallel workers. Memory holds "
                      "the sample, a shuffle buffer and 1 byte per record for the split "
                      "(8 while the split is drawn). "
                      "An NPZ streams the rows of its padded 'x' (or its concatenated "
                      "'values') a chunk at a time (its lengths and labels/targets are read) "
                      "and fits the scaler on --adapt-sample training rows. With --preset "
                      "the preset's vocabulary or scaler is kept instead")
    text.add_argument("--adapt-sample", type=int, default=None, metavar="N",
                      help="with --stream: adapt the vocabulary (NPZ: fit the scaler) on a "
                      "uniform, seeded sample of N training texts (rows) (default 100000, "
                      "rnn_zoo.data.stream.SAMPLE_SIZE; all of them in a smaller file)")
    text.add_argument("--shuffle-buffer", type=int, default=None, metavar="N",
                      help="with --stream: shuffle training records through a buffer of N, "
                      "reshuffled each epoch (default 10000; 0 keeps file order)")
    parser.set_defaults(func=run, command_parser=parser)


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


# The kind of DATA each fine-tunable preset task reads, and how errors name it.
_PRESET_KINDS = {"text_classifier": ("text", "text (.csv or .jsonl)"),
                 "sequence_classifier": ("numeric", "series features (.npz with labels)")}


def _check_preset(args, kind):
    """Refuse --preset with a model flag, a vocabulary flag, or data of the wrong kind."""
    from rnn_zoo import presets

    if args.preset not in presets.PRESETS:
        raise UsageError(f"--preset {args.preset}: no such preset; expected one of "
                         f"{', '.join(presets.list_presets())}.")
    given = [flag for flag, value in (("--model", args.model), ("--max-length", args.max_length))
             if value is not None]
    given += ["--" + name.replace("_", "-") for name in _overrides(args)
              if name != "learning_rate"]
    given += ["--max-tokens"] * (args.max_tokens != 20000)
    given += ["--tokenizer"] * (args.tokenizer != tasks.DEFAULT_TOKENIZER)
    if given:
        raise UsageError(f"--preset {args.preset} keeps the preset's model and vocabulary; "
                         f"drop {', '.join(given)}.")
    task = presets.PRESETS[args.preset]["task"]
    if task not in _PRESET_KINDS:
        raise UsageError(f"--preset {args.preset} is a {task}; fine-tuning takes a preset "
                         f"whose task is one of {tuple(_PRESET_KINDS)}.")
    expected, words = _PRESET_KINDS[task]
    if kind != expected:
        got = _PRESET_KINDS["text_classifier" if kind == "text" else "sequence_classifier"][1]
        raise UsageError(f"--preset {args.preset} ({task}) reads {words}; {args.data} is "
                         f"{got.split(' (')[0]}.")


def _fine_tuning(args, data, validation, test):
    """The preset's bundle (head replaced when the labels differ) and the prepared splits."""
    from rnn_zoo import presets

    bundle, prepared = presets.prepare_fine_tuning(
        args.preset, data, validation_split=args.validation_split, seed=args.seed,
        validation=validation, test=test)
    return _ready_to_fine_tune(args, bundle), prepared


def _ready_to_fine_tune(args, bundle):
    """The preset bundle's model, recompiled for --learning-rate; says what was kept."""
    model = bundle.model
    if args.learning_rate is not None:
        import keras

        model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.learning_rate),
                      loss=model.loss, metrics=list(tasks.get_task(bundle.task).metrics))
    kept = "kept" if bundle.metadata.get("fine_tuning_head") is None else "replaced"
    print(f"fine-tuning preset {args.preset}: vocabulary kept, head {kept} "
          f"({len(bundle.labels)} classes)", flush=True)
    return model


def _streamed_preset(args, class_names, distribution, features=None):
    """`(model, labels, preprocessor)` for --stream --preset: the preset, head as needed.

    `labels` is the order the data's label ids must follow (the preset's own
    when it has the same labels).
    """
    from rnn_zoo import presets

    with distribute.scope(distribution):
        preset = presets.from_preset(args.preset)
        if features is not None and preset.model.inputs[0].shape[-1] != features:
            raise UsageError(f"--preset {args.preset} reads "
                             f"{preset.model.inputs[0].shape[-1]} features per step; "
                             f"{args.data} has {features}.")
        bundle = presets.fine_tuning_bundle(preset, class_names)
        model = _ready_to_fine_tune(args, bundle)
    return model, bundle.labels, bundle.preprocessor


def _check(args):
    if not 0.0 <= args.validation_split < 1.0:
        raise UsageError(f"--validation-split must be in [0, 1); got {args.validation_split}.")
    for option in ("epochs", "batch_size", "patience", "max_tokens"):
        if getattr(args, option) < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be >= 1.")
    # Before any data is read (rnn_zoo.train.train checks it again, too late for --stream).
    if args.batch_size > limits.MAX_BATCH_SIZE:
        raise UsageError(f"--batch-size must be at most {limits.MAX_BATCH_SIZE} (MAX_BATCH_SIZE "
                         f"in rnn_zoo.limits); got {args.batch_size}.")
    # NumPy's and keras.utils.set_random_seed's range; their errors name no flag.
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be in 0..{2**32 - 1}; got {args.seed}.")
    if args.weight_noise is not None and not args.weight_noise > 0:
        raise UsageError(f"--weight-noise must be > 0; got {args.weight_noise}.")


def _data_parallel(args):
    """`(distribution, status)` for --data-parallel (see `rnn_zoo.distribute.start`)."""
    if args.data_parallel is None:
        return None, None
    if args.data_parallel < 1:
        raise UsageError(f"--data-parallel must be >= 1; got {args.data_parallel}.")
    argv = distribute.command_argv(args.command_parser, args, skip=("command_parser",))
    argv = (["--verbose"] if getattr(args, "native_logs", False) else []) + ["train"] + argv
    return distribute.start(args.data_parallel, argv, os.path.join(args.output_dir, RUN_DIR,
                                                                   "workers"))


def _split(x, y):
    if x is None or y is None:  # None, or a streamed dataset of (x, y) batches
        return x
    return x, y


def _check_stream(args, kind):
    """Refuse --stream where it does not apply, and its flags without it."""
    if not args.stream:
        for option in ("adapt_sample", "shuffle_buffer"):
            if getattr(args, option) is not None:
                raise UsageError(f"--{option.replace('_', '-')} needs --stream (without it "
                                 "the whole file is read, adapted on and shuffled).")
        return
    if args.preset is not None and args.adapt_sample is not None:
        raise UsageError("--adapt-sample fits a new vocabulary or scaler; --preset keeps the "
                         "preset's: drop one of them.")
    if args.adapt_sample is not None and args.adapt_sample < 1:
        raise UsageError(f"--adapt-sample must be >= 1; got {args.adapt_sample}.")
    if args.shuffle_buffer is not None and args.shuffle_buffer < 0:
        raise UsageError(f"--shuffle-buffer must be >= 0; got {args.shuffle_buffer}.")


def _stream_replicas(args, distribution):
    """`(replicas, on JAX)`, after refusing what would fail after a long scan."""
    replicas = 1 if distribution is None else distribute.num_replicas(distribution)
    jax = distribute.backend_name() == "jax"
    if jax and args.batch_size % replicas:
        raise UsageError(f"--batch-size {args.batch_size} must be a multiple of the {replicas} "
                         "replicas (each takes an equal part of the global batch).")
    for path in (args.data, args.validation, args.test):
        if path is not None and not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file.")
    return replicas, jax


def _split_mask(count, args):
    """`(train mask, validation mask, train count)`: `bundle.split_indices`' split as masks.

    Both masks are None (and every record trains) without a validation split
    taken from --data.
    """
    import numpy as np

    from rnn_zoo.bundle import split_indices

    if args.validation is not None or args.validation_split <= 0:
        return None, None, count
    train_index, _ = split_indices(count, args.validation_split, args.seed)
    train_mask = np.zeros(count, bool)
    train_mask[train_index] = True
    return train_mask, ~train_mask, len(train_index)


def _epoch_recorder():
    """`(epoch, callback)`: the callback keeps `epoch[0]` at the epoch being trained.

    Each epoch's shuffle is seeded with its number.
    """
    import keras

    epoch = [0]
    return epoch, keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda number, logs=None: epoch.__setitem__(0, number))


def _even_records(path, records, args, replicas, jax):
    """How many of `records` to read: JAX splits every batch evenly over the devices.

    A last, partial batch is cut to a multiple of them, as
    `distribute.split_inputs` does arrays.
    """
    extra = (records % args.batch_size) % replicas if jax else 0
    if extra:
        print(f"{path}: leaving out the last {extra} of {records} records: a partial "
              f"batch must split evenly over {replicas} replicas.", flush=True)
    return records - extra


def _streamed(args, task, distribution):
    """`(prepared, train count, validation count, callback, model)` for --stream: datasets.

    The callback records the epoch, which seeds each epoch's shuffle. The
    model is the --preset's (vocabulary kept, head as needed), else None.

    The split is `bundle.split_indices`' (the in-memory rule), kept as a bool
    mask by record index; the vocabulary comes from a sample of the training
    split only, so with fewer training texts than --adapt-sample it is the
    in-memory path's vocabulary.
    """
    from rnn_zoo.bundle import Prepared
    from rnn_zoo.data import stream
    from rnn_zoo.text import TextVectorizer

    columns = dict(text_column=args.text_column, label_column=args.label_column)
    replicas, jax = _stream_replicas(args, distribution)
    print(f"scanning {args.data}", flush=True)
    count, class_names = stream.scan_text_file(args.data, **columns)
    if len(class_names) < 2:
        raise UsageError(f"{args.data}: one label ({class_names[0]!r}) in {count} records; "
                         "a classifier needs at least 2.")
    others = {}
    for option, path in (("--validation", args.validation), ("--test", args.test)):
        if path is not None:
            others[option] = stream.scan_text_file(path, **columns)
            unknown = sorted(set(others[option][1]) - set(class_names))
            if unknown:
                raise UsageError(f"{option} {path}: labels {unknown} are not in {args.data}'s "
                                 f"label set {list(class_names)}.")
    train_mask, validation_mask, train_count = _split_mask(count, args)
    model = None
    if args.preset is not None:
        model, class_names, vectorizer = _streamed_preset(args, class_names, distribution)
    else:
        size = args.adapt_sample or stream.SAMPLE_SIZE
        sample = stream.sample_texts(args.data, size=size, seed=args.seed, mask=train_mask,
                                     **columns)
        print(f"adapting the vocabulary on {len(sample)} of {train_count} training texts "
              f"(--adapt-sample {size})", flush=True)
        vectorizer = TextVectorizer(max_length=args.max_length, tokenizer=args.tokenizer)
        vectorizer.adapt(sample, max_tokens=args.max_tokens)
        del sample
    epoch, recorder = _epoch_recorder()

    def dataset(path, records, mask=None, shuffle=0):
        return stream.text_dataset(path, vectorizer, class_names, batch_size=args.batch_size,
                                   num_records=_even_records(path, records, args, replicas,
                                                             jax), mask=mask,
                                   shuffle_buffer=shuffle, seed=args.seed,
                                   epoch=lambda: epoch[0], **columns)

    validation = test = None
    validation_count = 0
    if validation_mask is not None:
        validation_count = count - train_count
        validation = dataset(args.data, validation_count, validation_mask)
    elif args.validation is not None:
        validation_count = others["--validation"][0]
        validation = dataset(args.validation, validation_count)
    if args.test is not None:
        test = dataset(args.test, others["--test"][0])
    prepared = Prepared(
        x_train=dataset(args.data, train_count, train_mask,
                        SHUFFLE_BUFFER if args.shuffle_buffer is None else args.shuffle_buffer),
        y_train=None, x_val=validation, x_test=test, preprocessor=vectorizer,
        labels=tuple(class_names), task=task,
        task_args=dict(vocab_size=vectorizer.vocab_size, num_classes=len(class_names)))
    return prepared, train_count, validation_count, recorder, model


def _streamed_sequences(args, distribution):
    """`(name, task, prepared, train count, validation count, callback, model)`, NPZ --stream.

    As `_streamed`: the split is `bundle.split_indices`' as a mask by row, and
    the `SequenceScaler` fits on a seeded sample of the training rows
    (--adapt-sample), so with fewer training rows than the sample it is the
    in-memory path's scaler. Only the per-record arrays (lengths, labels or
    targets) are read into memory; `x` streams a chunk at a time.
    """
    import numpy as np

    from rnn_zoo.bundle import Prepared
    from rnn_zoo.data import stream
    from rnn_zoo.data.scaling import SequenceScaler
    from rnn_zoo.validation import check_class_count

    replicas, jax = _stream_replicas(args, distribution)
    print(f"scanning {args.data}", flush=True)
    scan = stream.scan_sequences_npz(args.data)
    if scan.labels is None and scan.targets is None:
        raise UsageError("the NPZ file holds neither `labels` nor `targets`: nothing to "
                         "learn.")
    if args.preset is not None and scan.labels is None:
        raise UsageError(f"--preset {args.preset} is a classifier; {args.data} holds "
                         "`targets`, not `labels`.")
    name, task = _configuration(args, "numeric", scan)
    features = scan.features
    others = {}
    for option, path in (("--validation", args.validation), ("--test", args.test)):
        if path is None:
            continue
        other = others[option] = stream.scan_sequences_npz(path)
        if other.features != features:
            raise UsageError(f"{option} {path}: {other.features} features; {args.data} has "
                             f"{features}.")
        if scan.labels is not None and (other.labels is None
                                        or set(other.class_names) - set(scan.class_names)):
            raise UsageError(f"{option} {path}: its labels {list(other.class_names)} are not "
                             f"in {args.data}'s label set {list(scan.class_names)}.")
        if scan.labels is None and (other.targets is None or other.targets.reshape(
                len(other.targets), -1).shape[1] != scan.targets.reshape(
                len(scan.targets), -1).shape[1]):
            raise UsageError(f"{option} {path}: needs `targets` of {args.data}'s width.")
    count = len(scan.lengths)
    train_mask, validation_mask, train_count = _split_mask(count, args)
    task_args = {"num_features": int(features)}
    if task == "sequence_classifier":
        train_labels = scan.labels if train_mask is None else scan.labels[train_mask]
        check_class_count(len(np.unique(train_labels)), "data", where="prepare")
        task_args["num_classes"] = len(scan.class_names)
        labels = tuple(scan.class_names)
    else:
        task_args["output_dim"] = int(scan.targets.reshape(count, -1).shape[1])
        labels = ()
    model = None
    if args.preset is not None:
        model, labels, scaler = _streamed_preset(args, labels, distribution, features)
        task = "sequence_classifier"
        task_args["num_classes"] = len(labels)
        if labels != tuple(scan.class_names):  # the preset's label order
            remap = np.asarray([labels.index(name) for name in scan.class_names], np.int32)
            scan = scan._replace(labels=remap[scan.labels], class_names=labels)
            others = {option: other._replace(labels=remap[other.labels], class_names=labels)
                      for option, other in others.items()}
        stream.check_sequences(args.data, scan)
    else:
        size = args.adapt_sample or stream.SAMPLE_SIZE
        sample = stream.sample_sequences(args.data, scan, size=size, seed=args.seed,
                                         mask=train_mask)
        print(f"fitting the scaler on {len(sample)} of {train_count} training sequences "
              f"(--adapt-sample {size})", flush=True)
        scaler = SequenceScaler.fit(sample)
        del sample
    epoch, recorder = _epoch_recorder()

    def dataset(path, source, records, mask=None, shuffle=0):
        return stream.sequence_dataset(path, source, scaler, batch_size=args.batch_size,
                                       num_records=_even_records(path, records, args,
                                                                 replicas, jax), mask=mask,
                                       shuffle_buffer=shuffle, seed=args.seed,
                                       epoch=lambda: epoch[0])

    validation = test = None
    validation_count = 0
    if validation_mask is not None:
        validation_count = count - train_count
        validation = dataset(args.data, scan, validation_count, validation_mask)
    elif args.validation is not None:
        validation_count = len(others["--validation"].lengths)
        validation = dataset(args.validation, others["--validation"], validation_count)
    if args.test is not None:
        test = dataset(args.test, others["--test"], len(others["--test"].lengths))
    prepared = Prepared(
        x_train=dataset(args.data, scan, train_count, train_mask,
                        SHUFFLE_BUFFER if args.shuffle_buffer is None else args.shuffle_buffer),
        y_train=None, x_val=validation, x_test=test, preprocessor=scaler, labels=labels,
        task=task, task_args=task_args)
    return name, task, prepared, train_count, validation_count, recorder, model


def run(args):
    kind = _kind(args.data)
    _check(args)
    _check_stream(args, kind)
    if args.preset is not None:
        _check_preset(args, kind)
    # A file in the way or a read-only folder is refused now, not after training.
    output_folder(args.output_dir, "--output-dir")
    distribution, status = _data_parallel(args)
    if status is not None:
        return status
    import keras

    from rnn_zoo import train as train_lib

    keras.utils.set_random_seed(args.seed)
    callbacks = _weight_noise(args) or []
    if args.stream:
        if kind == "numeric":
            name, task, prepared, train_count, validation_count, recorder, model = \
                _streamed_sequences(args, distribution)
        else:
            name, task = _configuration(args, kind, None)
            prepared, train_count, validation_count, recorder, model = _streamed(
                args, task, distribution)
        callbacks.append(recorder)
        if model is None:
            with distribute.scope(distribution):
                model = _build(args, name, task, prepared.task_args)
    else:
        model, task, prepared = _in_memory(args, kind, distribution)
        train_count = len(prepared.x_train)
        validation_count = 0 if prepared.x_val is None else len(prepared.x_val)
    print(f"model {model.name}: {model.count_params():,} parameters; "
          f"{train_count} training, {validation_count} validation examples", flush=True)

    os.makedirs(args.output_dir, exist_ok=True)
    result = train_lib.train(
        model, _split(prepared.x_train, prepared.y_train),
        validation_data=_split(prepared.x_val, prepared.y_val),
        test_data=_split(prepared.x_test, prepared.y_test),
        epochs=args.epochs, batch_size=args.batch_size,
        output_dir=os.path.join(args.output_dir, RUN_DIR),
        patience=args.patience, resume=not args.no_resume,
        tensorboard=not args.no_tensorboard, verbose=2,
        callbacks=callbacks, distribution=distribution)
    return _finish(args, model, task, prepared, result, distribution)


def _in_memory(args, kind, distribution):
    """`(model, task, prepared)`: DATA and its splits read into memory and prepared."""
    from rnn_zoo.bundle import prepare

    print(f"reading {args.data}", flush=True)
    data = _read(args.data, kind, args)
    if kind == "numeric" and data.labels is None and data.targets is None:
        raise UsageError("the NPZ file holds neither `labels` nor `targets`: nothing to "
                         "learn.")
    label_set = list(getattr(data, "class_names", ()) or ()) or None
    validation = (_read(args.validation, kind, args, labels=label_set)
                  if args.validation else None)
    test = _read(args.test, kind, args, labels=label_set) if args.test else None
    if args.preset is not None:
        with distribute.scope(distribution):
            model, prepared = _fine_tuning(args, data, validation, test)
        task = prepared.task
    else:
        name, task = _configuration(args, kind, data)
        prepared = prepare(data, task, validation_split=args.validation_split, seed=args.seed,
                           validation=validation, test=test, max_tokens=args.max_tokens,
                           max_length=args.max_length, tokenizer=args.tokenizer)
        with distribute.scope(distribution):
            model = _build(args, name, task, prepared.task_args)
    return model, task, prepared


def _finish(args, model, task, prepared, result, distribution):
    """Write the bundle (as the chief) and print where everything is."""
    from rnn_zoo.bundle import Bundle

    metrics = {"best_epoch": result.best_epoch, "epochs_completed": result.epochs_completed,
               "resumed_from_epoch": result.initial_epoch,
               "stopped_early": result.stopped_early, "monitor": result.monitor,
               "history": result.history, "test": result.test_metrics}
    if args.preset is not None:
        metrics["fine_tuned_from"] = args.preset
    bundle = Bundle(model, preprocessor=prepared.preprocessor, labels=prepared.labels,
                    metrics=metrics, task=task)
    # The folder already holds run/ (and, on a rerun, the previous bundle).
    distribute.save_as_chief(lambda folder: bundle.save(folder, overwrite=True),
                             args.output_dir, distribution)
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
