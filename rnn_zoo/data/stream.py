"""Read CSV / JSONL text files and NPZ series as streams, for data that needn't fit in memory.

`rnn_zoo.data.readers` reads a whole file into memory (and refuses files past
`limits.MAX_TEXT_FILE_BYTES`). The functions here read one record at a time,
with the same checks and the same label rule, so memory stays bounded by a
batch, a sample and the label set, whatever the file's size:

* `iter_text_records(path)`: `(line, text, label name)` for each record of a
  CSV (header row) or JSON Lines file;
* `scan_text_file(path)`: one pass that counts the records and finds the
  label set (ordered as the in-memory readers order it);
* `sample_texts(path, size=SAMPLE_SIZE)`: a bounded, seeded uniform sample of
  the texts (reservoir sampling, one pass), which is what the text vectorizer
  adapts on: `TextVectorizer.adapt(sample_texts(path))`;
* `iter_npz_rows(path, key)`: the rows of one array of an `.npz` archive, a
  chunk at a time, read through the archive's (de)compressing stream;
* `text_dataset(path, vectorizer, class_names, batch_size)`: a
  `tf.data.Dataset` of `(ids, labels)` batches that streams the file and
  vectorizes in the pipeline; it works as `fit` input on every backend and,
  under `tf.distribute`, is sharded across the workers by batch
  (`AutoShardPolicy.DATA`: each worker reads the file and keeps its batches).
  A bool `mask` by record index picks a split of one file, and a seeded
  shuffle buffer mixes a file sorted by label;
* `scan_sequences_npz(path)`, `sample_sequences(path, scan)`,
  `check_sequences(path, scan)` and `sequence_dataset(path, scan, scaler)`:
  the same for an `.npz` of sequences (padded `x` or concatenated `values`,
  with `lengths`, `labels`/`targets`): the per-record arrays are read, the
  sequences stream a chunk at a time, and the `SequenceScaler` fits on a
  bounded sample of rows.

`rnn-zoo train DATA --stream` puts these together (see its help).

This module imports only numpy and the standard library; `text_dataset` and
`sequence_dataset` import TensorFlow when called.

Example:

>>> from rnn_zoo.data import stream
>>> from rnn_zoo.text import TextVectorizer
>>> count, class_names = stream.scan_text_file("reviews.csv")
>>> vectorizer = TextVectorizer(max_length=64)
>>> vectorizer.adapt(stream.sample_texts("reviews.csv"), max_tokens=20000)
>>> dataset = stream.text_dataset("reviews.csv", vectorizer, class_names, batch_size=64)
>>> rnn_zoo.train.train(model, dataset, epochs=3)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import decimal
import io
import json
import os
import random
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any
from typing import NamedTuple

import numpy as np

import rnn_zoo.data.limits as limits
from rnn_zoo.data import readers
from rnn_zoo.data.readers import DataError

__all__ = [
    "SAMPLE_SIZE",
    "SequenceScan",
    "check_sequences",
    "iter_npz_rows",
    "iter_text_records",
    "sample_sequences",
    "sample_texts",
    "scan_sequences_npz",
    "scan_text_file",
    "sequence_dataset",
    "text_dataset",
]

SAMPLE_SIZE = 100_000
"""Texts the vectorizer adapts on by default: a uniform sample of this many records
(all of them in a smaller file). A vocabulary of 20,000 words is well estimated
from 100k texts; past that, adapting costs time and memory without changing the
frequent words."""

_FIELD_LIMIT = limits.MAX_TEXT_LENGTH


def _kind(path: str) -> str:
    extension = os.path.splitext(path)[1].lower()
    if extension in (".csv", ".jsonl"):
        return extension[1:]
    raise ValueError(f"Invalid value received for argument `path`. Expected a .csv or .jsonl "
                     f"file. Received: path={path!r}")


def _label_name(name: str, line: int, field: str, value: Any) -> str:
    try:
        return readers._label_key(value)[0]
    except readers._LabelProblem as problem:
        raise DataError(f"{name}, line {line}: {field}: {problem}.") from None


def _check_text(name: str, line: int, field: str, text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{name}, line {line}: {field} is {text!r}; expected a non-empty "
                        "string (empty text).")
    if len(text) > limits.MAX_TEXT_LENGTH:
        raise readers._exceeds(name, f"line {line}", "the text length in characters",
                               len(text), "MAX_TEXT_LENGTH")
    return readers._replace_lone_surrogates(text)


def _csv_records(name, handle, text_column, label_column):
    reader = csv.reader(handle, strict=True)
    try:
        with readers._csv_field_limit(_FIELD_LIMIT):
            header = next(reader)
    except StopIteration:
        raise DataError(f"{name}: no header row; expected a header and records.") from None
    except csv.Error as err:
        raise DataError(f"{name}, line 1: malformed CSV ({err}).") from None
    for column in (text_column, label_column):
        if header.count(column) != 1:
            raise DataError(f"{name}, line 1: expected column {column!r} once in the header; "
                            f"found {readers._show(header)}.")
    text_at, label_at = header.index(text_column), header.index(label_column)
    end_line = reader.line_num
    while True:
        line = end_line + 1
        try:
            with readers._csv_field_limit(_FIELD_LIMIT):
                row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise DataError(f"{name}, line {line}: malformed CSV ({err}).") from None
        end_line = reader.line_num
        if not row or all(not field.strip() for field in row):
            continue
        if len(row) != len(header):
            raise DataError(f"{name}, line {line}: {len(row)} fields; expected {len(header)} "
                            "as in the header.")
        yield line, row[text_at], row[label_at]


def _jsonl_records(name, handle, text_key, label_key):
    decoder = json.JSONDecoder(parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    for number, line in enumerate(handle, start=1):
        if len(line) > limits.MAX_LINE_LENGTH:
            raise readers._exceeds(name, f"line {number}", "the line length in characters",
                                   len(line), "MAX_LINE_LENGTH")
        if not line.strip(" \t\r\n"):
            continue
        try:
            record = decoder.decode(line)
        except (ValueError, RecursionError, ArithmeticError) as err:
            raise DataError(f"{name}, line {number}: invalid JSON ({err}); expected one JSON "
                            "object per line.") from None
        if not isinstance(record, dict):
            raise DataError(f"{name}, line {number}: expected a JSON object.")
        for key in (text_key, label_key):
            if key not in record:
                raise DataError(f"{name}, line {number}: missing key {key!r}; found keys "
                                f"{readers._show(sorted(record))}.")
        label = record[label_key]
        if not (isinstance(label, str)
                or (isinstance(label, decimal.Decimal) and label.is_finite())):
            raise DataError(f"{name}, line {number}: {label_key!r} is not a string or a "
                            "finite number.")
        yield number, record[text_key], label


def iter_text_records(
    path: str | os.PathLike, *, text_column: str = "text", label_column: str = "label"
) -> Iterator[tuple[int, str, str]]:
    """Yield `(line, text, label name)` for each record of a CSV or JSONL file, streaming.

    The checks and the label rule are the in-memory readers' (`read_text_csv`,
    `read_text_jsonl`); only one record is held at a time, and no file-size
    limit applies.

    Args:
        path: a `.csv` file with a header row, or a `.jsonl` file.
        text_column: CSV column / JSON key of the text. Default "text".
        label_column: CSV column / JSON key of the label. Default "label".

    Returns:
        An iterator of `(1-based line, text, label name)`.

    Raises:
        DataError: a malformed record (the message names the file and line).
        ValueError: `path` is neither .csv nor .jsonl.
        OSError: the file cannot be opened.

    Example:
        >>> next(iter_text_records("reviews.csv"))  # doctest: +SKIP
        (2, 'great food', 'pos')
    """
    name = os.fspath(path)
    kind = _kind(name)
    field = f"column {label_column!r}" if kind == "csv" else repr(label_column)
    text_field = f"column {text_column!r}" if kind == "csv" else repr(text_column)
    with open(name, encoding="utf-8-sig", errors="strict", newline="") as handle:
        records = (_csv_records(name, handle, text_column, label_column) if kind == "csv"
                   else _jsonl_records(name, handle, text_column, label_column))
        try:
            for line, text, label in records:
                yield (line, _check_text(name, line, text_field, text),
                       _label_name(name, line, field, label))
        except UnicodeDecodeError as err:
            raise DataError(f"{name}: bytes {err.object[err.start:err.end]!r} are not valid "
                            "UTF-8; expected a UTF-8 encoded text file.") from None


def scan_text_file(path: str | os.PathLike, **columns: str) -> tuple[int, tuple[str, ...]]:
    """Count the records of a CSV/JSONL file and find its label set, in one streaming pass.

    Args:
        path: the file.
        **columns: `text_column` / `label_column` as for `iter_text_records`.

    Returns:
        `(record count, class names)`, the names ordered as the in-memory
        readers order them (by value when every label is numeric, else as text).

    Raises:
        DataError: a malformed record, no record, or more than
            `limits.MAX_CLASSES` labels.

    Example:
        >>> scan_text_file("reviews.csv")  # doctest: +SKIP
        (1000000, ('neg', 'pos'))
    """
    name = os.fspath(path)
    labels: set[str] = set()
    count = 0
    for line, _, label in iter_text_records(path, **columns):
        count += 1
        if label not in labels:
            if len(labels) >= limits.MAX_CLASSES:
                raise readers._exceeds(name, f"line {line}", "the number of distinct labels",
                                       len(labels) + 1, "MAX_CLASSES")
            labels.add(label)
    if not count:
        raise DataError(f"{name}: no records; expected at least one.")
    values = {label: readers._label_key(label)[1] for label in labels}
    if all(value is not None for value in values.values()):
        return count, tuple(sorted(labels, key=values.__getitem__))
    return count, tuple(sorted(labels))


def _selected(records, mask, name):
    """The records whose 0-based index is True in `mask` (all of them when None)."""
    if mask is None:
        yield from records
        return
    for index, record in enumerate(records):
        if index >= len(mask):
            raise DataError(f"{name}: more records than the {len(mask)} scanned; the file "
                            "changed while it was read.")
        if mask[index]:
            yield record


def _check_mask(mask):
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_ or mask.ndim != 1:
        raise ValueError("Invalid value received for argument `mask`. Expected a 1-D bool "
                         f"array (one entry per record). Received: {mask.dtype} "
                         f"array of shape {mask.shape}")
    return mask


def sample_texts(path: str | os.PathLike, size: int = SAMPLE_SIZE, seed: int = 0,
                 mask: np.ndarray | None = None, **columns: str) -> list[str]:
    """A uniform random sample of `size` texts (all of them if fewer), in one pass.

    Reservoir sampling (Algorithm R) with `random.Random(seed)`: memory holds
    `size` texts, whatever the file's length, and the same file and seed
    give the same sample. This is the bounded sample the text vectorizer
    adapts on (`TextVectorizer.adapt(sample_texts(path))`).

    Args:
        path: a CSV or JSONL file.
        size: int >= 1, default `SAMPLE_SIZE` (100,000).
        seed: int, default 0.
        mask: None (every record), or a 1-D bool array by 0-based record
            index: only records marked True are sampled (e.g. the training
            split, so validation texts stay out of the vocabulary).
        **columns: `text_column` / `label_column`.

    Returns:
        A list of str, in file order.

    Example:
        >>> len(sample_texts("reviews.csv", size=1000))  # doctest: +SKIP
        1000
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError("Invalid value received for argument `size`. Expected an integer "
                         f">= 1. Received: size={size!r}")
    mask = _check_mask(mask)
    chooser = random.Random(seed)
    reservoir: list[tuple[int, str]] = []
    records = _selected(iter_text_records(path, **columns), mask, os.fspath(path))
    for seen, (_, text, _) in enumerate(records):
        if seen < size:
            reservoir.append((seen, text))
        else:
            slot = chooser.randrange(seen + 1)
            if slot < size:
                reservoir[slot] = (seen, text)
    return [text for _, text in sorted(reservoir)]


def iter_npz_rows(path: str | os.PathLike, key: str, rows: int = 1024) -> Iterator[np.ndarray]:
    """Yield the rows of array `key` of an `.npz` file, `rows` at a time.

    The member is read through zipfile's stream (stored or deflated), so at
    most one chunk is in memory. The member's header is checked as
    `read_sequences_npz` checks it; object arrays are refused.

    Args:
        path: the `.npz` archive.
        key: the array's name (e.g. "x", "labels", "targets").
        rows: int >= 1, rows per chunk. Default 1024.

    Returns:
        An iterator of arrays `[<= rows, ...]` in the member's dtype.

    Raises:
        DataError: no such key, a damaged member, or a Fortran-ordered array.

    Example:
        >>> sum(len(chunk) for chunk in iter_npz_rows("series.npz", "x"))  # doctest: +SKIP
        1000000
    """
    name = os.fspath(path)
    try:
        archive = zipfile.ZipFile(name)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{name}: not a readable .npz archive ({err}).") from None
    with archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            raise DataError(f"{name}: no array {key!r}; found "
                            f"{readers._show([n[:-4] for n in archive.namelist()])}.")
        with archive.open(member) as stream:
            shape, fortran, dtype = _npy_header(name, key, stream)
            if dtype.hasobject:
                raise DataError(f"{name}, {key!r}: object arrays are not read (they would "
                                "unpickle data).")
            if fortran and len(shape) > 1:
                raise DataError(f"{name}, {key!r}: a Fortran-ordered array cannot be read by "
                                "rows; save it C-ordered.")
            if not shape:
                raise DataError(f"{name}, {key!r}: a scalar has no rows.")
            row_shape = shape[1:]
            row_bytes = int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize
            for start in range(0, shape[0], rows):
                count = min(rows, shape[0] - start)
                raw = _read_exactly(stream, count * row_bytes, name, key)
                yield np.frombuffer(raw, dtype=dtype).reshape((count, *row_shape))


def _read_exactly(stream: io.BufferedIOBase, size: int, name: str, key: str) -> bytes:
    chunks, left = [], size
    while left:
        try:
            chunk = stream.read(left)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            # A damaged member shows only as its bytes are read (CRC, deflate stream).
            raise DataError(f"{name}, {key!r}: damaged archive member ({err}).") from None
        if not chunk:
            raise DataError(f"{name}, {key!r}: the array ends early (truncated archive).")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def text_dataset(path: str | os.PathLike, vectorizer: Any, class_names: tuple[str, ...], *,
                 batch_size: int = 32, num_records: int | None = None,
                 mask: np.ndarray | None = None, shuffle_buffer: int = 0, seed: int = 0,
                 epoch: Any = None, **columns: str):
    """A `tf.data.Dataset` of `(ids, label ids)` batches that streams a CSV/JSONL file.

    Records are read one at a time (`iter_text_records`), batched, then
    vectorized in the pipeline by the vectorizer's TensorFlow function, the
    one serving uses. Each epoch reads the file again, in file order.
    Under `tf.distribute`, batches are sharded across workers
    (`AutoShardPolicy.DATA`; a generator has no files to shard by).

    Args:
        path: the file.
        vectorizer: an adapted `rnn_zoo.text.TextVectorizer`.
        class_names: the label set in id order (e.g. from `scan_text_file`);
            a label outside it raises DataError when its record is read.
        batch_size: int >= 1, the global batch. Default 32.
        num_records: the number of (selected) records to read, or None (all).
            Given (e.g. the count from `scan_text_file`), the dataset stops
            after that many and knows its length, so Keras shows progress and
            does not warn that the input "ran out of data".
        mask: None (every record), or a 1-D bool array by 0-based record
            index: only records marked True are read (a train/validation
            split of one file, see `rnn-zoo train --stream`).
        shuffle_buffer: int >= 0, default 0 (file order): shuffle records
            through a buffer of this many, reshuffled each epoch from `seed`,
            so a file sorted by label still gives mixed batches. Memory holds
            the buffer. Each pass draws from `random.Random` seeded with
            `(seed, k)`, k from `epoch`, so every worker draws the same order
            and sharding by batch stays consistent.
        seed: int, default 0, the shuffle's seed.
        epoch: None, or a function of no argument giving k for the pass
            about to start: the epoch, recorded by a Keras callback's
            `on_epoch_begin`. Then a pass read before training (tf.distribute
            reads one to see the data) shifts nothing, and a resumed run
            draws the orders an uninterrupted one would. None: k counts the
            complete passes.
        **columns: `text_column` / `label_column`.

    Returns:
        The dataset: int32 ids `[batch, length]`, int32 labels `[batch]`.

    Example:
        >>> ds = text_dataset("reviews.csv", vectorizer, ("neg", "pos"), batch_size=64)
        >>> model.fit(ds, epochs=2)  # doctest: +SKIP
    """
    import tensorflow as tf

    name = os.fspath(path)
    mask = _check_mask(mask)
    ids = {label: i for i, label in enumerate(class_names)}
    _check_shuffle_buffer(shuffle_buffer)

    def in_file_order():
        selected = _selected(iter_text_records(name, **columns), mask, name)
        for index, (line, text, label) in enumerate(selected):
            if num_records is not None and index >= num_records:
                return
            if label not in ids:
                raise DataError(f"{name}, line {line}: label {label!r} is not in the label "
                                f"set; expected one of {readers._show(class_names)}.")
            yield text, ids[label]

    dataset = _batched(
        tf.data.Dataset.from_generator(
            _passes(in_file_order, shuffle_buffer=shuffle_buffer, seed=seed, epoch=epoch),
            output_signature=(tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32))),
        batch_size=batch_size, num_records=num_records)
    dataset = dataset.map(lambda texts, labels: (vectorizer.tf_vectorize(texts), labels),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _check_shuffle_buffer(shuffle_buffer: Any) -> None:
    if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) \
            or shuffle_buffer < 0:
        raise ValueError("Invalid value received for argument `shuffle_buffer`. Expected an "
                         f"integer >= 0. Received: shuffle_buffer={shuffle_buffer!r}")


def _passes(in_file_order, *, shuffle_buffer: int, seed: int, epoch):
    """A generator function over `in_file_order()`, buffer-shuffled when `shuffle_buffer` >= 2.

    Shuffled here, not by tf.data's `shuffle`, whose seeding under
    tf.distribute is not this process's: pass k draws from Random((seed, k))
    (k is `epoch()` when given, else the count of passes so far), the same
    order on every worker.
    """
    passes = [0]

    def records():
        if shuffle_buffer < 2:
            yield from in_file_order()
            return
        chooser = random.Random(f"{seed}:{passes[0] if epoch is None else int(epoch())}")
        yield from _buffer_shuffled(in_file_order(), shuffle_buffer, chooser)
        passes[0] += 1

    return records


def _batched(dataset, *, batch_size: int, num_records: int | None):
    """`dataset` sharded by data under tf.distribute, batched, its cardinality stated if known."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options).batch(batch_size)
    if num_records is not None:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(
            -(-int(num_records) // batch_size)))
    return dataset


def _buffer_shuffled(records, size: int, chooser: random.Random):
    """`records` through a buffer of `size`: each record out is a random one of the buffer."""
    buffer = []
    for record in records:
        if len(buffer) < size:
            buffer.append(record)
            continue
        slot = chooser.randrange(size)
        yield buffer[slot]
        buffer[slot] = record
    chooser.shuffle(buffer)
    yield from buffer


class SequenceScan(NamedTuple):
    """What `scan_sequences_npz` reads of an `.npz`: all but the rows of `x`.

    Attributes:
        width: T, the time dimension of `x`.
        features: F.
        lengths: int32 `[n]`.
        labels: int32 `[n]` class ids, or None.
        class_names: tuple of str (empty without labels).
        targets: float32 `[n]` or `[n, k]`, or None.
        layout: "x" (padded `x` `[n, T, F]`) or "values" (concatenated
            `values` `[sum(lengths), F]`, cut by `lengths`).
    """

    width: int
    features: int
    lengths: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    targets: np.ndarray | None
    layout: str = "x"


_NPZ_KEYS = ("x", "values", "lengths", "labels", "class_names", "targets")


def _npz_shapes(name: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """`{key: (shape, dtype)}` from each member's header; no array data is read."""
    try:
        archive = zipfile.ZipFile(name)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{name}: not a readable .npz archive ({err}).") from None
    shapes = {}
    with archive:
        for member in archive.namelist():
            key = member[:-4] if member.endswith(".npy") else member
            if key not in _NPZ_KEYS:
                raise DataError(f"{name}: unknown key {key!r}; expected keys among "
                                f"{list(_NPZ_KEYS)}.")
            with archive.open(member) as stream:
                shape, _, dtype = _npy_header(name, key, stream)
            shapes[key] = (tuple(shape), dtype)
    return shapes


def _npy_header(name: str, key: str, stream):
    """`(shape, fortran_order, dtype)` from a `.npy` member's header; no data is read."""
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        return read_header(stream)
    except ValueError as err:
        raise DataError(f"{name}, {key!r}: damaged array header ({err}).") from None


def _whole_array(name: str, key: str) -> np.ndarray:
    chunks = list(iter_npz_rows(name, key, rows=65536))
    return np.concatenate(chunks) if chunks else np.zeros((0,))


def scan_sequences_npz(path: str | os.PathLike) -> SequenceScan:
    """Check an `.npz` of sequences and read all of it but `x` (or `values`).

    The layouts are `read_sequences_npz`'s: padded, `x` `[n, T, F]` (or
    `[n, T]`) with optional `lengths`; or concatenated, `values`
    `[sum(lengths), F]` (or `[sum(lengths)]`) with `lengths`, T being the
    longest. Either with `labels` (+ `class_names`) or `targets`, and with
    its checks and limits except the file size (and, for `values`, the
    padded array's size: it is never built whole). Only `x` / `values`,
    the big array, is left on disk: it is checked from its header here and
    row by row by `sample_sequences`.

    Args:
        path: the `.npz` file.

    Returns:
        A `SequenceScan`: `x`'s width and features, and the file's
        `lengths`, `labels`, `class_names` and `targets`.

    Raises:
        DataError: a damaged archive, an unknown or missing key, a wrong
            shape or dtype, a bad length or label, or a size past a limit.

    Example:
        >>> scan = scan_sequences_npz("series.npz")  # doctest: +SKIP
        >>> len(scan.lengths), scan.width, scan.features  # doctest: +SKIP
        (1000000, (200, 3))
    """
    name = os.fspath(path)
    shapes = _npz_shapes(name)
    if "x" in shapes and "values" in shapes:
        raise DataError(f"{name}: found both 'x' and 'values'; expected 'x' (padded) or "
                        "'values' + 'lengths' (concatenated).")
    if "x" not in shapes and "values" not in shapes:
        raise DataError(f"{name}: found keys {sorted(shapes)!r}; expected 'x' (padded "
                        "sequences [n, T, F]) or 'values' + 'lengths' (concatenated).")
    for key in ("lengths", "labels"):
        if key in shapes and shapes[key][1].kind not in "iuf":
            raise DataError(f"{name}, key {key!r}: dtype {shapes[key][1]}; expected integers.")
    if "values" in shapes:
        return _scan_values(name, shapes)
    shape, dtype = shapes["x"]
    if len(shape) not in (2, 3) or dtype.kind not in "fiub" or 0 in shape:
        raise DataError(f"{name}, key 'x': {dtype} array of shape {shape}; expected a "
                        "numeric array [n, T, F] or [n, T] with no empty axis.")
    n, width = shape[0], shape[1]
    features = shape[2] if len(shape) == 3 else 1
    _check_scan_limits(name, "key 'x'", n, width, features)
    if "lengths" in shapes:
        lengths = _whole_array(name, "lengths")
        if lengths.shape != (n,):
            raise DataError(f"{name}, key 'lengths': shape {lengths.shape}; expected ({n},) "
                            "(rows of 'x').")
        readers._check_whole(name, "lengths", lengths, "length")
        readers._check_lengths(name, lengths, width)
    else:
        lengths = np.full(n, width, dtype=np.int64)
    return SequenceScan(int(width), int(features), lengths.astype(np.int32),
                        *_scan_targets(name, shapes, n))


def _check_scan_limits(name: str, where: str, n: int, width: int, features: int) -> None:
    for value, what, limit in ((n, "the number of records", "MAX_ROWS"),
                               (width, "the time dimension", "MAX_SEQUENCE_LENGTH"),
                               (features, "the number of features", "MAX_FEATURES")):
        if value > getattr(limits, limit):
            raise readers._exceeds(name, where, what, value, limit)


def _scan_values(name: str, shapes: dict) -> SequenceScan:
    """`scan_sequences_npz` for the concatenated layout: `values` cut by `lengths`."""
    shape, dtype = shapes["values"]
    if len(shape) not in (1, 2) or dtype.kind not in "fiub" or 0 in shape:
        raise DataError(f"{name}, key 'values': {dtype} array of shape {shape}; expected a "
                        "numeric array [total_steps, features] or [total_steps] with no "
                        "empty axis.")
    if "lengths" not in shapes:
        raise DataError(f"{name}: key 'values' needs key 'lengths' (steps per record).")
    features = shape[1] if len(shape) == 2 else 1
    lengths_shape = shapes["lengths"][0]
    if len(lengths_shape) != 1 or not lengths_shape[0]:
        raise DataError(f"{name}, key 'lengths': shape {lengths_shape}; expected [n] with "
                        "n >= 1.")
    _check_scan_limits(name, "key 'lengths'", lengths_shape[0], 1, features)
    lengths = _whole_array(name, "lengths")
    readers._check_whole(name, "lengths", lengths, "length")
    readers._check_lengths(name, lengths, None)
    lengths = lengths.astype(np.int64)
    total = int(lengths.sum())  # each length <= MAX_SEQUENCE_LENGTH: no int64 overflow
    if total != shape[0]:
        raise DataError(f"{name}, key 'values': {shape[0]} rows; expected sum(lengths) = "
                        f"{total}.")
    n, width = len(lengths), int(lengths.max())
    return SequenceScan(int(width), int(features), lengths.astype(np.int32),
                        *_scan_targets(name, shapes, n), layout="values")


def _scan_targets(name: str, shapes: dict, n: int):
    """`(labels, class_names, targets)` of an `.npz` with `n` records, checked."""
    labels, class_names, targets = None, (), None
    if "class_names" in shapes and "labels" not in shapes:
        raise DataError(f"{name}: key 'class_names' needs key 'labels' (one class id per record).")
    if "labels" in shapes:
        raw = _whole_array(name, "labels")
        if raw.shape != (n,):
            raise DataError(f"{name}, key 'labels': shape {raw.shape}; expected ({n},).")
        readers._check_whole(name, "labels", raw, "label")
        if "class_names" in shapes:
            class_names = readers._class_names(name, _whole_array(name, "class_names"))
        high = len(class_names) - 1 if class_names else limits.MAX_CLASSES - 1
        bad = readers._first((raw < 0) | (raw > high))
        if bad is not None:
            raise DataError(f"{name}, record {bad + 1}: label {raw[bad]} in key 'labels'; "
                            f"expected a class id in 0..{high}.")
        labels = raw.astype(np.int32)
        if not class_names:
            class_names = tuple(str(i) for i in range(int(labels.max()) + 1))
    if "targets" in shapes:
        if shapes["targets"][1].kind not in "fiub":
            raise DataError(f"{name}, key 'targets': dtype {shapes['targets'][1]}; expected "
                            "numbers.")
        raw = _whole_array(name, "targets")
        if len(raw) != n:
            raise DataError(f"{name}, key 'targets': shape {raw.shape}; expected [{n}] or "
                            f"[{n}, k].")
        if raw.dtype.kind == "f":
            flat = raw.reshape(n, -1)
            bad = readers._first(readers._not_float32(flat))
            if bad is not None:
                record, column = np.unravel_index(bad, flat.shape)
                raise readers._refuse_value(name, f"record {record + 1}, key 'targets'",
                                            flat[record, column])
        targets = raw.astype(np.float32)
    return labels, class_names, targets


def _sequence_chunks(name: str, scan: SequenceScan, rows: int = 1024):
    """`(first record index, float32 x chunk [k, T, F] with padding 0.0)`, checked."""
    if scan.layout == "values":
        yield from _value_chunks(name, scan, rows)
        return
    width = scan.width
    start = 0
    for raw in iter_npz_rows(name, "x", rows=rows):
        if raw.ndim == 2:
            raw = raw[:, :, None]
        if start + len(raw) > len(scan.lengths):
            raise DataError(f"{name}: more rows of 'x' than the {len(scan.lengths)} scanned; "
                            "the file changed while it was read.")
        mask = np.arange(width)[None, :] < scan.lengths[start:start + len(raw), None]
        if raw.dtype.kind == "f":
            bad = readers._first(readers._not_float32(raw) & mask[:, :, None])
            if bad is not None:
                record, step, feature = np.unravel_index(bad, raw.shape)
                raise readers._refuse_value(name, f"record {start + record + 1}, step "
                                            f"{step + 1}", raw[record, step, feature])
        with np.errstate(invalid="ignore", over="ignore"):
            x = raw.astype(np.float32)
        x[~mask] = 0.0
        yield start, x
        start += len(x)


def _value_chunks(name: str, scan: SequenceScan, rows: int):
    """`_sequence_chunks` for the concatenated layout: each record's steps of `values`.

    `values` is read `rows * T` steps at a time and copied into padded
    chunks of `rows` records, so memory holds one chunk of each, never the
    padded whole.
    """
    lengths, width, features = scan.lengths, scan.width, scan.features
    n = len(lengths)
    start = record = step = 0
    x = np.zeros((min(rows, n), width, features), np.float32)
    for raw in iter_npz_rows(name, "values", rows=rows * width):
        if raw.ndim == 1:
            raw = raw[:, None]
        position = 0
        while position < len(raw):
            if record >= n:
                raise DataError(f"{name}: more rows of 'values' than sum(lengths); the file "
                                "changed while it was read.")
            take = min(int(lengths[record]) - step, len(raw) - position)
            piece = raw[position:position + take]
            if piece.dtype.kind == "f":
                bad = readers._first(readers._not_float32(piece))
                if bad is not None:
                    row, feature = np.unravel_index(bad, piece.shape)
                    raise readers._refuse_value(name, f"record {record + 1}, step "
                                                f"{step + row + 1}", piece[row, feature])
            x[record - start, step:step + take] = piece
            step += take
            position += take
            if step == lengths[record]:
                record, step = record + 1, 0
                if record - start == len(x):
                    yield start, x
                    start = record
                    x = np.zeros((min(rows, n - start), width, features), np.float32)
    if record != n:
        raise DataError(f"{name}: fewer rows of 'values' than sum(lengths); the file "
                        "changed while it was read.")


def check_sequences(path: str | os.PathLike, scan: SequenceScan) -> None:
    """Read every row of an `.npz` once, refusing what `sample_sequences` refuses.

    For a run that fits no scaler (a preset's is kept) and so draws no
    sample: a bad value is still found before training, not mid-epoch.

    Raises:
        DataError: naming the record and step of a NaN, infinite or
            beyond-float32 value, or a file that changed since `scan`.
    """
    for _ in _sequence_chunks(os.fspath(path), scan):
        pass


def sample_sequences(path: str | os.PathLike, scan: SequenceScan,
                     size: int = SAMPLE_SIZE, seed: int = 0,
                     mask: np.ndarray | None = None) -> readers.SequenceData:
    """A uniform, seeded sample of `size` sequences (all if fewer), checking every row.

    Reservoir sampling as `sample_texts`, over the rows of `x` marked in
    `mask`; the pass also checks every row's real steps (no NaN, infinity or
    value past float32), as `read_sequences_npz` does, so a bad value is
    found before training. This is what `SequenceScaler.fit` sees under
    `rnn-zoo train --stream`.

    Args:
        path: the `.npz` file.
        scan: its `scan_sequences_npz` result.
        size: int >= 1, default `SAMPLE_SIZE`.
        seed: int, default 0.
        mask: None (every row) or a 1-D bool array by row (e.g. the training split).

    Returns:
        A `SequenceData` of the sampled rows (x and lengths), in file order.

    Example:
        >>> scan = scan_sequences_npz("series.npz")  # doctest: +SKIP
        >>> SequenceScaler.fit(sample_sequences("series.npz", scan, size=5000))  # doctest: +SKIP
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError("Invalid value received for argument `size`. Expected an integer "
                         f">= 1. Received: size={size!r}")
    name = os.fspath(path)
    mask = _check_mask(mask)
    chooser = random.Random(seed)
    reservoir: list[tuple[int, int]] = []
    rows: list[np.ndarray] = []
    seen = 0
    for start, x in _sequence_chunks(name, scan):
        for offset in range(len(x)):
            index = start + offset
            if mask is not None and not mask[index]:
                continue
            if seen < size:
                reservoir.append((seen, index))
                rows.append(x[offset].copy())
            else:
                slot = chooser.randrange(seen + 1)
                if slot < size:
                    reservoir[slot] = (seen, index)
                    rows[slot] = x[offset].copy()
            seen += 1
    if not rows:
        raise DataError(f"{name}: no record to sample; expected at least one.")
    order = sorted(range(len(rows)), key=lambda i: reservoir[i][0])
    indices = [reservoir[i][1] for i in order]
    return readers.SequenceData(np.stack([rows[i] for i in order]), scan.lengths[indices])


def sequence_dataset(path: str | os.PathLike, scan: SequenceScan, scaler: Any, *,
                     batch_size: int = 32, num_records: int | None = None,
                     mask: np.ndarray | None = None, shuffle_buffer: int = 0, seed: int = 0,
                     epoch: Any = None):
    """A `tf.data.Dataset` of `(scaled x, label or target)` batches streaming an `.npz`.

    Rows of `x` are read a chunk at a time (`iter_npz_rows`), standardised by
    `scaler` (None: kept raw) and batched; labels / targets come from `scan`.
    Split (`mask`), shuffle and epoch seeding, sharding and cardinality are
    as in `text_dataset`.

    Args:
        path: the `.npz` file.
        scan: its `scan_sequences_npz` result.
        scaler: a fitted `SequenceScaler`, or None.
        batch_size: int >= 1, the global batch. Default 32.
        num_records: selected rows to read, or None (all).
        mask: None, or a 1-D bool array by row.
        shuffle_buffer: int >= 0, default 0 (file order).
        seed: int, the shuffle's seed.
        epoch: None, or a function giving the epoch about to start.

    Returns:
        The dataset: float32 x `[batch, T, F]` and int32 labels `[batch]`
        (classification) or float32 targets `[batch, k]` (regression).

    Example:
        >>> ds = sequence_dataset("series.npz", scan, scaler, batch_size=64)  # doctest: +SKIP
    """
    import tensorflow as tf

    name = os.fspath(path)
    mask = _check_mask(mask)
    _check_shuffle_buffer(shuffle_buffer)
    n = len(scan.lengths)
    if scan.labels is not None:
        targets = scan.labels
        target_spec = tf.TensorSpec((), tf.int32)
    else:
        targets = scan.targets.reshape(n, -1)
        target_spec = tf.TensorSpec((targets.shape[1],), tf.float32)

    def in_file_order():
        taken = 0
        for start, x in _sequence_chunks(name, scan):
            if mask is not None:
                keep = np.flatnonzero(mask[start:start + len(x)])
            else:
                keep = np.arange(len(x))
            if not len(keep):
                continue
            rows = x[keep]
            if scaler is not None:
                rows = scaler.transform(readers.SequenceData(rows, scan.lengths[start + keep]))
            for row, index in zip(rows, start + keep):
                if num_records is not None and taken >= num_records:
                    return
                taken += 1
                yield row, targets[index]

    x_spec = tf.TensorSpec((scan.width, scan.features), tf.float32)
    dataset = _batched(
        tf.data.Dataset.from_generator(
            _passes(in_file_order, shuffle_buffer=shuffle_buffer, seed=seed, epoch=epoch),
            output_signature=(x_spec, target_spec)),
        batch_size=batch_size, num_records=num_records)
    return dataset.prefetch(tf.data.AUTOTUNE)
