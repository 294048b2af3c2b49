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
  shuffle buffer mixes a file sorted by label.

`rnn-zoo train DATA --stream` puts these together (see its help).

This module imports only numpy and the standard library; `text_dataset`
imports TensorFlow when called.

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
from collections.abc import Iterator
from typing import Any

import numpy as np

import rnn_zoo.data.limits as limits
from rnn_zoo.data import readers
from rnn_zoo.data.readers import DataError

__all__ = [
    "SAMPLE_SIZE",
    "iter_npz_rows",
    "iter_text_records",
    "sample_texts",
    "scan_text_file",
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
            try:
                version = np.lib.format.read_magic(stream)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(stream)
            except ValueError as err:
                raise DataError(f"{name}, {key!r}: damaged array header ({err}).") from None
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
        chunk = stream.read(left)
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
    if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) \
            or shuffle_buffer < 0:
        raise ValueError("Invalid value received for argument `shuffle_buffer`. Expected an "
                         f"integer >= 0. Received: shuffle_buffer={shuffle_buffer!r}")

    passes = [0]

    def in_file_order():
        selected = _selected(iter_text_records(name, **columns), mask, name)
        for index, (line, text, label) in enumerate(selected):
            if num_records is not None and index >= num_records:
                return
            if label not in ids:
                raise DataError(f"{name}, line {line}: label {label!r} is not in the label "
                                f"set; expected one of {readers._show(class_names)}.")
            yield text, ids[label]

    def records():
        if shuffle_buffer < 2:
            yield from in_file_order()
            return
        # Shuffled here, not by tf.data's `shuffle`, whose seeding under
        # tf.distribute is not this process's: pass k draws from
        # Random((seed, k)), the same on every worker.
        chooser = random.Random(f"{seed}:{passes[0] if epoch is None else int(epoch())}")
        buffer = []
        for record in in_file_order():
            if len(buffer) < shuffle_buffer:
                buffer.append(record)
                continue
            slot = chooser.randrange(shuffle_buffer)
            yield buffer[slot]
            buffer[slot] = record
        chooser.shuffle(buffer)
        yield from buffer
        passes[0] += 1

    dataset = tf.data.Dataset.from_generator(
        records, output_signature=(tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32)))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options).batch(batch_size)
    if num_records is not None:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(
            -(-int(num_records) // batch_size)))
    dataset = dataset.map(lambda texts, labels: (vectorizer.tf_vectorize(texts), labels),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
