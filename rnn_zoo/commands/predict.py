"""`rnn-zoo predict`: run a bundle, a pretrained preset or an export on texts, a file or an `.npz`.

`--preset NAME` runs a pretrained preset (`rnn-zoo presets` lists them) in
place of PATH: `rnn-zoo predict --preset sentiment_rotten_tomatoes_en --text
"a gorgeous film"`.

Texts come from `--text` (repeat it), or `--file`: a `.txt` file (one text per
line; blank lines are skipped), a `.csv` file with a header or a `.jsonl`
file (the texts under `--text-column`, as in `rnn-zoo train`). Token ids or
features come from `--npz`.

Results go to stdout as a table with a header (or JSON with `--format json`),
or to `--output FILE`: `.csv` (columns `text,label,probability,p_<label>...`
for a classifier) or `.jsonl` (one object per input), the format following
the extension. Inputs run in batches of `--batch-size`.
"""

import argparse
import csv
import io
import json
import os
import sys

from rnn_zoo import tasks
from rnn_zoo.commands.common import is_bundle
from rnn_zoo.errors import UsageError

TEXT_FILE_EXTENSIONS = (".txt", ".csv", ".jsonl")
OUTPUT_EXTENSIONS = (".csv", ".jsonl")
FORMATS = ("table", "json")


def register(subparsers):
    parser = subparsers.add_parser(
        "predict", help="predict with a bundle folder or an export (version folder, "
        "SavedModel or .tflite)",
        description="Run a bundle folder written by `rnn-zoo train -o DIR` (its vectorizer "
        "or scaler is applied to the raw input), or an export written by `rnn-zoo export`, "
        "on raw texts or on token ids / features from an .npz file. Inputs to an export are "
        "checked against manifest.json first (dtype, rank, empty or over-long sequences, "
        "ids outside the vocabulary). Labels from labels.txt are printed when present.\n\n"
        + __doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", help="a bundle folder (holding model.keras), a "
                        "version folder (saved_models/<name>/<version>), a SavedModel folder, "
                        "or a .tflite file (or give --preset)")
    parser.add_argument("--preset", metavar="NAME",
                        help="a pretrained preset (see `rnn-zoo presets`) instead of PATH")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", action="append", metavar="TEXT",
                        help="a raw text (repeat for several); needs a vocabulary in the "
                        "bundle or export")
    source.add_argument("--file", metavar="FILE",
                        help="texts from a .txt (one per line), .csv or .jsonl file "
                        "(the column / key --text-column)")
    source.add_argument("--npz", metavar="FILE",
                        help=".npz with token ids int [batch, time] or features float "
                        "[batch, time, features] (key token_ids / features, or its only array)")
    parser.add_argument("--text-column", default="text",
                        help="CSV column / JSONL key of the texts in --file (default text)")
    parser.add_argument("--output", metavar="FILE",
                        help="write the predictions to FILE: .csv or .jsonl (default: "
                        "print them)")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="stdout format: a table with a header (default) or JSON")
    parser.add_argument("--batch-size", type=int, default=256,
                        help="inputs per model call (default 256)")
    parser.add_argument("--tflite", action="store_true",
                        help="run model.tflite of a version folder instead of the SavedModel")
    parser.set_defaults(func=run)


# ---------------------------------------------------------------------- inputs

def read_texts(path, text_column="text"):
    """The texts of a `.txt` (one per line), `.csv` or `.jsonl` file, in order.

    The file is read with the bounded, strict UTF-8 reader of
    `rnn_zoo.data.readers` (`limits.MAX_TEXT_FILE_BYTES`).

    Args:
        path: the file.
        text_column: the CSV column or JSONL key holding the texts.

    Returns:
        A list of str, at least one.

    Raises:
        DataError: not UTF-8, malformed, a missing column, or no texts; the
            message names the file and the line.
    """
    from rnn_zoo.data import limits
    from rnn_zoo.data import readers

    extension = os.path.splitext(path)[1].lower()
    if extension not in TEXT_FILE_EXTENSIONS:
        raise UsageError(f"--file {path}: unsupported file type {extension!r}; expected one "
                         f"of {', '.join(TEXT_FILE_EXTENSIONS)}.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--file {path}: no such file.")
    content = readers._read_utf8(path)
    texts = []
    if extension == ".txt":
        texts = [line.strip() for line in content.splitlines() if line.strip()]
    elif extension == ".csv":
        reader = csv.reader(io.StringIO(content, newline=""), strict=True)
        try:
            header = next(reader)
            if text_column not in header:
                raise readers.DataError(
                    f"{path}, line 1: no column {text_column!r} (--text-column); the header "
                    f"has {header[:20]}.")
            at = header.index(text_column)
            for row in reader:
                if not row or all(not field.strip() for field in row):
                    continue
                if len(row) != len(header):
                    raise readers.DataError(
                        f"{path}, line {reader.line_num}: {len(row)} fields; expected "
                        f"{len(header)} as in the header.")
                texts.append(row[at])
        except csv.Error as error:
            raise readers.DataError(f"{path}, line {reader.line_num}: malformed CSV "
                                    f"({error}).") from None
    else:
        for number, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise readers.DataError(f"{path}, line {number}: not valid JSON.") from None
            if not isinstance(record, dict) or not isinstance(record.get(text_column), str):
                raise readers.DataError(
                    f"{path}, line {number}: expected an object with a string under "
                    f"{text_column!r} (--text-column).")
            texts.append(record[text_column])
    if not texts:
        raise readers.DataError(f"{path}: no texts in the file.")
    if len(texts) > limits.MAX_ROWS:
        raise readers.DataError(f"{path}: {len(texts)} texts; the limit MAX_ROWS is "
                                f"{limits.MAX_ROWS}.")
    return texts


def _npz_array(path, name):
    """The array `name` of an `.npz` file, or its only array (bounded, nothing unpickled)."""
    from rnn_zoo.data.readers import DataError
    from rnn_zoo.data.readers import read_array_npz

    if not os.path.isfile(path):
        raise FileNotFoundError(f"--npz {path}: no such file.")
    try:
        array = read_array_npz(path, name)
    except DataError as error:
        if f"no key {name!r}" not in str(error):
            raise
        array = read_array_npz(path)  # not under `name`: its one array, if it has one
    # What `Bundle.preprocess` and the exports read; anything else would fail
    # later with an error about `inputs` that names neither the file nor its keys.
    token_ids = array.ndim == 2 and array.dtype.kind in "iu"
    features = array.ndim == 3 and array.dtype.kind in "fiub"
    if not (token_ids or features):
        import numpy as np

        with np.load(path, allow_pickle=False) as stored:  # reads the member names only
            keys = list(stored.files)
        raise UsageError(f"--npz {path}: holds {keys}, an array of dtype {array.dtype} and "
                         f"shape {array.shape}; expected {name!r}: token ids int [n, time] or "
                         "features [n, time, features].")
    return array


def _bundle_inputs(args, bundle, texts):
    """The raw inputs `Bundle.predict` takes, from the texts or --npz."""
    if texts is not None:
        if bundle.vectorizer is None and bundle.char_vocabulary is None:
            where = args.path if args.path is not None else f"preset {args.preset}"
            raise UsageError(f"--text/--file need a text model; {where} reads arrays "
                             "[n, time, features] (give them with --npz).")
        return texts
    if bundle.vectorizer is not None:
        return _npz_array(args.npz, "token_ids")
    from rnn_zoo.data import readers

    try:  # a file `rnn-zoo train` reads (x, lengths): checked the same way
        return readers.read_sequences_npz(args.npz).x
    except readers.DataError:
        return _npz_array(args.npz, "features")


# --------------------------------------------------------------------- outputs

def prediction_records(outputs, labels=None, texts=None, probabilities=True):
    """One dict per input: what the model said, named from labels.txt when present.

    Args:
        outputs: the model's outputs, one row per input.
        labels: class names, or None.
        texts: the input texts, or None (then a `row` number is given).
        probabilities: whether the outputs are class probabilities.

    Returns:
        A list of dicts. A classifier's: `text` (or `row`), `label`,
        `probability` (of that label) and `p_<label>` for every class; a
        tagger's: `labels` (one per step); anything else: `output` (the values).
    """
    import numpy as np

    def name(index):
        return labels[index] if labels is not None and index < len(labels) else str(index)

    records = []
    for row, values in enumerate(outputs):
        values = np.asarray(values)
        record = {"text": texts[row]} if texts is not None else {"row": row}
        if probabilities and values.ndim == 1:
            best = int(np.argmax(values))
            record["label"] = name(best)
            record["probability"] = round(float(values[best]), 6)
            for index, value in enumerate(values):
                record[f"p_{name(index)}"] = round(float(value), 6)
        elif probabilities and values.ndim == 2:
            record["labels"] = [name(int(i)) for i in np.argmax(values, -1)]
        else:
            record["output"] = np.round(values.astype(float), 6).tolist()
        records.append(record)
    return records


def format_table(records):
    """Lines for stdout: a header naming each column, then one line per input.

    Columns: `row`, `text` (when the inputs are texts), then `label` and
    `probability (of that label)` for a classifier, `labels (one per step)`
    for a tagger, or `output (the model's values)`.
    """
    if not records:
        return []
    first = records[0]
    head = ["row"] + (["text"] if "text" in first else [])
    if "label" in first:
        columns, names = ["label", "probability"], ["label", "probability (of that label)"]
    elif "labels" in first:
        columns, names = ["labels"], ["labels (one per step)"]
    else:
        columns, names = ["output"], ["output (the model's values)"]
    lines = ["\t".join(head + names)]
    for row, record in enumerate(records):
        cells = [str(row)] + ([repr(record["text"])] if "text" in record else [])
        for column in columns:
            value = record[column]
            cells.append(f"{value:.4f}" if column == "probability" else
                         " ".join(value) if column == "labels" else
                         json.dumps(value) if column == "output" else str(value))
        lines.append("\t".join(cells))
    return lines


def format_predictions(outputs, labels=None, texts=None, probabilities=True):
    """The stdout table's lines (header first) for `outputs`; see `prediction_records`."""
    return format_table(prediction_records(outputs, labels, texts, probabilities))


def write_records(path, records):
    """Write the records to a `.csv` (header, one row each) or `.jsonl` file, atomically."""
    from rnn_zoo import atomic

    extension = os.path.splitext(path)[1].lower()
    if extension == ".jsonl":
        content = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    else:
        buffer = io.StringIO(newline="")
        fields = list(records[0])
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(fields)
        for record in records:
            writer.writerow([" ".join(value) if isinstance(value, list) and field == "labels"
                             else json.dumps(value) if isinstance(value, list)
                             else value for field, value in record.items()])
        content = buffer.getvalue()
    atomic.write_text(path, content)


def _check_source(args):
    """Exactly one of PATH and --preset; a preset name must be known (listing them if not)."""
    if args.preset is None and args.path is None:
        raise UsageError("give a bundle folder or export (PATH), or --preset NAME.")
    if args.preset is not None:
        from rnn_zoo import presets

        if args.path is not None:
            raise UsageError(f"give PATH ({args.path}) or --preset ({args.preset}), not both.")
        if args.preset not in presets.PRESETS:
            raise UsageError(f"--preset {args.preset}: no such preset; expected one of "
                             f"{', '.join(presets.list_presets())}.")
        if args.tflite:
            raise UsageError("--tflite runs an export's model.tflite; --preset runs the "
                             "preset's Keras model.")


def _check(args):
    _check_source(args)
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1; got {args.batch_size}.")
    if args.output is not None:
        extension = os.path.splitext(args.output)[1].lower()
        if extension not in OUTPUT_EXTENSIONS:
            raise UsageError(f"--output {args.output}: unsupported file type {extension!r}; "
                             f"expected one of {', '.join(OUTPUT_EXTENSIONS)}.")
        folder = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"--output {args.output}: no such folder {folder}.")
    if args.npz is not None and not os.path.isfile(args.npz):
        raise FileNotFoundError(f"--npz {args.npz}: no such file.")
    if args.path is not None and not os.path.exists(args.path):
        raise FileNotFoundError(f"{args.path}: no such bundle folder, export or file.")


def _per_token_outputs(bundle, texts, outputs, labels):
    """Per-token outputs read from texts, cut to each text's tokens.

    A tagger's rows keep one distribution per real token (padding dropped). A
    language model's row becomes its distribution after the last token: the
    next-token prediction, named from the vocabulary.
    """
    import numpy as np

    lengths = (np.asarray(bundle.preprocess(list(texts))) != 0).sum(axis=1)
    if bundle.task == "language_model":
        vocabulary = bundle.vectorizer or bundle.char_vocabulary
        tokens = list(vocabulary.vocabulary) if bundle.vectorizer is not None else (
            ["", "\ufffd"] + list(vocabulary.characters))
        last = np.maximum(lengths - 1, 0)
        rows = outputs[np.arange(len(outputs)), last]
        return rows, tokens, True
    return [row[:length] for row, length in zip(outputs, lengths)], labels, True


def _in_batches(predict, inputs, batch_size):
    """`predict` over `inputs` in slices of `batch_size` rows, the outputs joined."""
    import numpy as np

    parts = [predict(inputs[start:start + batch_size])
             for start in range(0, len(inputs), batch_size)]
    if all(part.shape[1:] == parts[0].shape[1:] for part in parts):
        return np.concatenate(parts)
    return [row for part in parts for row in part]  # taggers: per-batch lengths


def run(args):
    _check(args)
    texts = args.text
    if args.file is not None:
        texts = read_texts(args.file, args.text_column)
    quiet = args.format == "json" or args.output is not None
    if args.preset is not None or is_bundle(args.path):
        if args.tflite:
            raise UsageError("--tflite runs an export's model.tflite; a bundle folder holds "
                             "model.keras. Export it first (`rnn-zoo export`).")
        if args.preset is not None:
            from rnn_zoo.presets import from_preset

            bundle, source = from_preset(args.preset, compile=False), f"preset {args.preset}"
        else:
            from rnn_zoo.bundle import Bundle

            bundle, source = Bundle.load(args.path, compile=False), args.path
        inputs = _bundle_inputs(args, bundle, texts)
        if args.format != "json":
            print(f"Loaded bundle {bundle.model.name} from {source}", flush=True)
        outputs = bundle.predict(inputs, batch_size=args.batch_size)
        labels = list(bundle.labels) if bundle.labels else None
        probabilities = labels is not None or (
            bundle.task is not None and tasks.get_task(bundle.task).classification)
        if texts is not None and getattr(outputs, "ndim", 0) == 3:
            outputs, labels, probabilities = _per_token_outputs(bundle, texts, outputs,
                                                                labels)
    else:
        from rnn_zoo.export import load_exported

        predictor = load_exported(args.path, prefer="tflite" if args.tflite else "saved_model")
        if args.format != "json":
            print(f"Loaded {predictor.kind} from {predictor.path}", flush=True)
        inputs = texts if texts is not None else _npz_array(
            args.npz, predictor.serving["input"]["name"])
        outputs = _in_batches(predictor.predict, inputs, args.batch_size)
        labels = predictor.labels
        probabilities = predictor.serving["output"]["name"] == "probabilities"
    records = prediction_records(outputs, labels=labels, texts=texts,
                                 probabilities=probabilities)
    if args.output is not None:
        write_records(args.output, records)
        if args.format != "json":
            print(f"wrote {len(records)} predictions to {args.output}")
    if args.format == "json":
        json.dump(records if args.output is None else {"output": args.output,
                                                       "count": len(records)},
                  sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    elif not quiet:
        for line in format_table(records):
            print(line)
    return 0
