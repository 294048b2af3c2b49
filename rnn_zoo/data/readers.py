"""Bring your own data: read text and numeric sequences from files, with checked input.

This module also defines the small frozen containers every loader and generator in
`rnn_zoo.data` returns (`TextClassificationData`, `TaggingData`, `SequenceData`) and
`DataError`, so that all data entry points share one vocabulary of types. It imports
nothing heavy (numpy and the standard library only).

Every reader validates what it reads and raises `DataError` (a `ValueError`) whose
message names the file, the 1-based line, record or archive key, and what was
expected. No other exception escapes for any content of the file: errors of the
libraries underneath (csv, json, zipfile, zlib, NumPy) are wrapped. Only opening the
path itself may raise `OSError` (missing file, a folder, no permission).

Labels, one rule for every reader: a label is a non-empty text of at most
`limits.MAX_LABEL_LENGTH` characters without line breaks (labels are written one per
line to `labels.txt`). A label written as a decimal number (`1`, `1.0`, `+1`, `1e0`,
`.5`; ASCII digits, optional sign, fraction and exponent) is a *numeric* label, and
numeric labels that are equal are the same class, named in plain digits without
trailing zeros: `1`, `1.0`, `"1"` and `1e0` are all class `"1"`, and `0.50` is class
`"0.5"`. Any other label is compared as written (after stripping surrounding spaces).
Inferred label sets are ordered by value when every label is numeric (so `"10"`
follows `"2"`), else as strings.

Limits: every size taken from a file is checked against the constants of
`rnn_zoo.data.limits` before anything is allocated from it (file bytes, line and
text length, rows, classes, steps, features, array elements).
"""

from __future__ import annotations

import array
import contextlib
import csv
import dataclasses
import decimal
import io
import json
import os
import re
import stat
import struct
import threading
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

import rnn_zoo.data.limits as limits

try:  # lzma is optional in CPython builds; zipfile needs it only for lzma members
    from lzma import LZMAError
except ImportError:  # pragma: no cover - depends on how Python was built
    LZMAError = OSError

__all__ = [
    "DataError",
    "SequenceData",
    "TaggingData",
    "TextClassificationData",
    "pad_sequences",
    "read_array_npz",
    "read_sequences_npz",
    "read_text_csv",
    "read_text_jsonl",
]


class DataError(ValueError):
    """Raised when input data is malformed; the message names the file and the row."""


# --------------------------------------------------------------------------- containers


def _check_rows(name: str, array: Any, n: int) -> None:
    if array is not None and len(array) != n:
        raise ValueError(f"`{name}` has {len(array)} rows, expected {n} (one per sample).")


@dataclasses.dataclass(frozen=True)
class TextClassificationData:
    """Texts with one integer class label each.

    Args:
        texts: `list[str]`, one raw (un-tokenised) text per sample.
        labels: `np.ndarray` of int32, shape `[n]`, values in `0..len(class_names)-1`.
        class_names: `tuple[str, ...]`; `class_names[i]` is the name of label `i`.
        negated: optional `np.ndarray` of bool, shape `[n]`: True where the sentence
            holds a negator that flips the polarity of a word (generators only).
        order_dependent: optional `np.ndarray` of bool, shape `[n]`: True where the
            multiset of words is equally likely under every label, so only word order
            decides the label (generators only). Report accuracy on this subset to
            tell order-aware models from bag-of-words ones.

    Example:
        >>> data = TextClassificationData(["good", "bad"], np.array([1, 0]), ("neg", "pos"))
        >>> len(data), data.class_names[data.labels[0]]
        (2, 'pos')
    """

    texts: list[str]
    labels: np.ndarray
    class_names: tuple[str, ...]
    negated: np.ndarray | None = None
    order_dependent: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", list(self.texts))
        object.__setattr__(self, "labels", np.asarray(self.labels, dtype=np.int32))
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        n = len(self.texts)
        _check_rows("labels", self.labels, n)
        for name in ("negated", "order_dependent"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value, dtype=bool))
                _check_rows(name, getattr(self, name), n)

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, indices: Sequence[int] | np.ndarray) -> TextClassificationData:
        """Return the samples at `indices` (e.g. to split off a validation set).

        Args:
            indices: integer indices or a boolean mask of length `len(self)`.

        Returns:
            A new `TextClassificationData` of the same kind.

        Example:
            >>> data = TextClassificationData(["a", "b", "c"], np.array([0, 1, 0]), ("x", "y"))
            >>> data.select([2]).texts
            ['c']
        """
        idx = _as_indices(indices, len(self))
        return dataclasses.replace(
            self,
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            negated=None if self.negated is None else self.negated[idx],
            order_dependent=None if self.order_dependent is None else self.order_dependent[idx],
        )


@dataclasses.dataclass(frozen=True)
class TaggingData:
    """Sentences with one tag per token (sequence labelling).

    Tokens are the space-separated words of each text; they contain no punctuation, so
    `rnn_zoo.text.TextVectorizer` yields exactly one id per token and the ids line up
    with `tags`.

    Args:
        texts: `list[str]`, tokens joined by single spaces.
        tags: `np.ndarray` of int32, shape `[n, max_len]`, right-padded with 0. Tag 0
            is `"<pad>"` and never occurs on a real token, so a loss can ignore it
            (`keras.losses.SparseCategoricalCrossentropy(ignore_class=0)`).
        dependent: `np.ndarray` of bool, shape `[n, max_len]`: True on tokens whose tag
            is decided only by a word later in the sentence (False on padding).
        lengths: `np.ndarray` of int32, shape `[n]`, the number of tokens per text.
        tag_names: `tuple[str, ...]`; `tag_names[i]` is the name of tag `i`.

    Example:
        >>> data = TaggingData(["the bat"], np.array([[1, 2]]), np.array([[0, 1]]),
        ...                    np.array([2]), ("<pad>", "O", "ANIMAL"))
        >>> data.tags.shape
        (1, 2)
    """

    texts: list[str]
    tags: np.ndarray
    dependent: np.ndarray
    lengths: np.ndarray
    tag_names: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", list(self.texts))
        object.__setattr__(self, "tags", np.asarray(self.tags, dtype=np.int32))
        object.__setattr__(self, "dependent", np.asarray(self.dependent, dtype=bool))
        object.__setattr__(self, "lengths", np.asarray(self.lengths, dtype=np.int32))
        object.__setattr__(self, "tag_names", tuple(self.tag_names))
        n = len(self.texts)
        for name in ("tags", "dependent", "lengths"):
            _check_rows(name, getattr(self, name), n)
        if self.tags.shape != self.dependent.shape:
            raise ValueError(
                f"`dependent` has shape {self.dependent.shape}, expected {self.tags.shape} "
                "(the shape of `tags`)."
            )

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, indices: Sequence[int] | np.ndarray) -> TaggingData:
        """Return the samples at `indices`; the padded width is kept.

        Args:
            indices: integer indices or a boolean mask of length `len(self)`.

        Returns:
            A new `TaggingData`.

        Example:
            >>> data.select([0]).tags.shape  # doctest: +SKIP
            (1, 2)
        """
        idx = _as_indices(indices, len(self))
        return dataclasses.replace(
            self,
            texts=[self.texts[i] for i in idx],
            tags=self.tags[idx],
            dependent=self.dependent[idx],
            lengths=self.lengths[idx],
        )


@dataclasses.dataclass(frozen=True)
class SequenceData:
    """Numeric sequences, right-padded, with optional class labels or regression targets.

    Args:
        x: `np.ndarray` of float32, shape `[n, max_len, features]`; step `t` of sample
            `i` is `x[i, t]`, and steps `t >= lengths[i]` are 0.0.
        lengths: `np.ndarray` of int32, shape `[n]`, every value in `1..max_len`.
        labels: optional int32 `[n]` class labels in `0..len(class_names)-1`.
        class_names: `tuple[str, ...]` naming the labels (empty without labels).
        targets: optional float32 regression targets, shape `[n]` or `[n, k]`.
        names: `tuple[str, ...]`, optional per-sample identifiers (empty if unknown).

    Example:
        >>> data = SequenceData(np.zeros((2, 3, 1), "float32"), np.array([3, 1]))
        >>> data.x.shape, data.lengths.tolist()
        ((2, 3, 1), [3, 1])
    """

    x: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    targets: np.ndarray | None = None
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", np.asarray(self.x, dtype=np.float32))
        object.__setattr__(self, "lengths", np.asarray(self.lengths, dtype=np.int32))
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        object.__setattr__(self, "names", tuple(str(c) for c in self.names))
        if self.x.ndim != 3:
            raise ValueError(f"`x` must have shape [n, time, features], got {self.x.shape}.")
        n = self.x.shape[0]
        _check_rows("lengths", self.lengths, n)
        if self.labels is not None:
            object.__setattr__(self, "labels", np.asarray(self.labels, dtype=np.int32))
            _check_rows("labels", self.labels, n)
        if self.targets is not None:
            object.__setattr__(self, "targets", np.asarray(self.targets, dtype=np.float32))
            _check_rows("targets", self.targets, n)
        if self.names:
            _check_rows("names", self.names, n)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def mask(self) -> np.ndarray:
        """Boolean `[n, max_len]` mask, True on real (un-padded) steps."""
        return np.arange(self.x.shape[1])[None, :] < self.lengths[:, None]

    def select(self, indices: Sequence[int] | np.ndarray) -> SequenceData:
        """Return the samples at `indices`; the padded width is kept.

        Args:
            indices: integer indices or a boolean mask of length `len(self)`.

        Returns:
            A new `SequenceData`.

        Example:
            >>> SequenceData(np.zeros((2, 3, 1)), np.array([3, 1])).select([1]).lengths
            array([1], dtype=int32)
        """
        idx = _as_indices(indices, len(self))
        return dataclasses.replace(
            self,
            x=self.x[idx],
            lengths=self.lengths[idx],
            labels=None if self.labels is None else self.labels[idx],
            targets=None if self.targets is None else self.targets[idx],
            names=tuple(self.names[i] for i in idx) if self.names else (),
        )


def _as_indices(indices: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ValueError(f"A boolean mask must have shape ({n},), got {idx.shape}.")
        return np.flatnonzero(idx)
    return idx.astype(np.int64).reshape(-1)


def pad_sequences(
    sequences: Sequence[np.ndarray], *, max_length: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad a list of `[len_i, features]` arrays into float32 `[n, max_len, features]`.

    Args:
        sequences: arrays of shape `[len_i, features]`, all with the same `features`.
        max_length: pad (never truncate) to this many steps; default: the longest.

    Returns:
        `(x, lengths)`: float32 `[n, max_len, features]` padded with 0.0, int32 `[n]`.

    Example:
        >>> x, lengths = pad_sequences([np.ones((2, 1)), np.ones((1, 1))])
        >>> x[:, :, 0].tolist(), lengths.tolist()
        ([[1.0, 1.0], [1.0, 0.0]], [2, 1])
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int32)
    longest = int(lengths.max(initial=0))
    width = longest if max_length is None else max_length
    if width < longest:
        raise ValueError(
            f"max_length={max_length} is shorter than the longest sequence ({longest})."
        )
    features = sequences[0].shape[-1] if len(sequences) else 0
    x = np.zeros((len(sequences), width, features), dtype=np.float32)
    for i, seq in enumerate(sequences):
        x[i, : len(seq)] = seq
    return x, lengths


# --------------------------------------------------------------------------- shared checks


def _exceeds(name: str, where: str | None, what: str, value: int, limit: str) -> DataError:
    """A `DataError` for a size past one of the limits in `rnn_zoo.data.limits`."""
    place = name if where is None else f"{name}, {where}"
    return DataError(
        f"{place}: {what} is {value}; the limit is {limit} = {getattr(limits, limit)}"
        " (see rnn_zoo.data.limits)."
    )


@contextlib.contextmanager
def _open_regular(path: str | os.PathLike, name: str, limit: str):
    """Open a regular file for binary reading and check its size against `limit`."""
    # Checked before `open`: opening a named pipe would wait for a writer forever.
    if os.path.exists(path) and not os.path.isfile(path):
        what = ("a folder" if os.path.isdir(path)
                else "not a regular file (a pipe, socket or device)")
        raise DataError(f"{name}: {what}; expected a data file.")
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise
    except OSError as error:  # permissions, a name too long, a path through a file
        raise DataError(f"{name}: cannot be read ({error.strerror or error}).") from None
    with stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{name}: not a regular file; expected a data file.")
        if info.st_size > getattr(limits, limit):
            raise _exceeds(name, None, "the file size in bytes", info.st_size, limit)
        yield stream


def _show(values: Sequence[str], most: int = 20) -> str:
    """Up to `most` values for an error message, then how many there are in all."""
    shown = repr(list(values[:most]))
    return shown if len(values) <= most else f"{shown[:-1]}, ...] ({len(values)} in all)"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_lone_surrogates(text: str) -> str:
    """JSON may escape half a surrogate pair ("\\ud800"); make it U+FFFD, as bytes are."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


# --------------------------------------------------------------------------- labels

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Everything str.splitlines() splits on: a label holding one would break labels.txt.
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


class _LabelProblem(ValueError):
    """A label that breaks the label rule; callers add the file and line."""


def _label_key(value: Any) -> tuple[str, decimal.Decimal | None]:
    """Apply the label rule: return the class name and, for numeric labels, the value.

    Args:
        value: a label as read (a str, or a `Decimal` from JSON) or as given by the
            caller (any object; numbers are written with `str`).

    Returns:
        `(name, number)`; `number` is None for a label that is not a decimal number.

    Raises:
        _LabelProblem: an empty label, one with a line break, or one that is too long.
    """
    text = _replace_lone_surrogates(value if isinstance(value, str) else str(value)).strip()
    if not text:
        raise _LabelProblem("an empty label; expected a non-empty string or a number")
    if len(text) > limits.MAX_LABEL_LENGTH:
        raise _LabelProblem(
            f"a label of {len(text)} characters; the limit is MAX_LABEL_LENGTH ="
            f" {limits.MAX_LABEL_LENGTH} (see rnn_zoo.data.limits)"
        )
    if _LINE_BREAKS.search(text):
        raise _LabelProblem(f"label {text!r} holds a line break; expected a single-line label")
    if not _NUMBER.fullmatch(text):
        return text, None
    try:
        number = decimal.Decimal(text)
        digits = abs(number.adjusted()) if number else 0
    except ArithmeticError:  # an exponent beyond what Decimal can hold
        digits = None
    if digits is None or digits >= limits.MAX_LABEL_LENGTH:
        raise _LabelProblem(
            f"numeric label {text[:40]!r} needs more than MAX_LABEL_LENGTH ="
            f" {limits.MAX_LABEL_LENGTH} digits written out (see rnn_zoo.data.limits)"
        )
    plain = format(number, "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    if plain in ("-0", ""):
        plain = "0"
    if len(plain) > limits.MAX_LABEL_LENGTH:
        raise _LabelProblem(
            f"numeric label {text[:40]!r} has {len(plain)} digits written out; the limit is"
            f" MAX_LABEL_LENGTH = {limits.MAX_LABEL_LENGTH} (see rnn_zoo.data.limits)"
        )
    return plain, number


def _given_label_names(labels: Sequence[Any]) -> tuple[str, ...]:
    """Check the caller's `labels=` argument and return its class names in id order."""


    def invalid(expected: str) -> ValueError:
        shown = repr(labels)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        return ValueError(
            f"Invalid value received for argument `labels`. Expected {expected}. Received:"
            f" labels={shown}"
        )

    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence | np.ndarray):
        raise invalid("a list of labels in id order, or None to infer them")
    if not len(labels):
        raise invalid("a non-empty list; pass None to infer the label set")
    if len(labels) > limits.MAX_CLASSES:
        raise invalid(f"at most MAX_CLASSES = {limits.MAX_CLASSES} labels")
    names = []
    for value in list(labels):
        if isinstance(value, bytes):  # e.g. a NumPy bytes array of labels
            value = value.decode("utf-8", errors="replace")
        try:
            names.append(_label_key(value)[0])
        except _LabelProblem as problem:
            raise invalid(f"labels that follow the label rule, not {problem}") from None
    if len(set(names)) != len(names):
        seen: set[str] = set()
        repeated = next(n for n in names if n in seen or seen.add(n))
        raise invalid(f"distinct labels, but {repeated!r} occurs twice (equal numbers are one"
                      " label)")
    return tuple(names)


class _Rows:
    """Collects checked records, enforcing the row and class limits as they come.

    Each record keeps its text and a small class id (first-seen order while the label
    set is inferred), so memory grows with the texts, not with per-record objects.
    """

    def __init__(
        self, name: str, text_field: str, label_field: str, labels: Sequence[Any] | None
    ) -> None:
        self.name, self.text_field, self.label_field = name, text_field, label_field
        self.given = None if labels is None else _given_label_names(labels)
        # class name -> (id, numeric value or None); given labels keep their own ids
        self.classes: dict[str, tuple[int, decimal.Decimal | None]] = (
            {} if self.given is None else {n: (i, None) for i, n in enumerate(self.given)}
        )
        self.texts: list[str] = []
        self.ids = array.array("i")

    def add(self, line: int, text: Any, label: Any) -> None:
        where = f"line {line}"
        if not isinstance(text, str) or not text.strip():
            shown = text if not isinstance(text, str) else text[:40]
            raise DataError(
                f"{self.name}, {where}: {self.text_field} is {shown!r}; expected a non-empty"
                " string (empty text)."
            )
        if len(text) > limits.MAX_TEXT_LENGTH:
            raise _exceeds(self.name, where, "the text length in characters", len(text),
                           "MAX_TEXT_LENGTH")
        try:
            label_name, number = _label_key(label)
        except _LabelProblem as problem:
            raise DataError(f"{self.name}, {where}: {self.label_field}: {problem}.") from None
        if len(self.texts) >= limits.MAX_ROWS:
            raise _exceeds(self.name, where, "the number of records", len(self.texts) + 1,
                           "MAX_ROWS")
        known = self.classes.get(label_name)
        if known is None:
            if self.given is not None:
                raise DataError(
                    f"{self.name}, {where}: label {label_name!r} is not in the label set;"
                    f" expected one of {_show(self.given)}."
                )
            if len(self.classes) >= limits.MAX_CLASSES:
                raise _exceeds(self.name, where, "the number of distinct labels",
                               len(self.classes) + 1, "MAX_CLASSES")
            known = self.classes[label_name] = (len(self.classes), number)
        self.texts.append(_replace_lone_surrogates(text))
        self.ids.append(known[0])

    def data(self) -> TextClassificationData:
        """The records as `TextClassificationData`, ids in the label set's order."""
        if self.given is not None:
            return TextClassificationData(self.texts, np.asarray(self.ids), self.given)
        numbers = {label: number for label, (_, number) in self.classes.items()}
        if all(number is not None for number in numbers.values()):
            names = tuple(sorted(numbers, key=numbers.__getitem__))
        else:
            names = tuple(sorted(numbers))
        final = np.empty(len(names), dtype=np.int32)
        for i, label in enumerate(names):
            final[self.classes[label][0]] = i
        return TextClassificationData(self.texts, final[np.asarray(self.ids)], names)


# --------------------------------------------------------------------------- text readers


def _read_utf8(path: str | os.PathLike) -> str:
    """Read a whole file as strict UTF-8 (a BOM is dropped) and report bad bytes by line."""
    name = os.fspath(path)
    with _open_regular(path, name, "MAX_TEXT_FILE_BYTES") as stream:
        # Read at most one byte past the limit: the file may have grown since fstat.
        raw = stream.read(limits.MAX_TEXT_FILE_BYTES + 1)
    if len(raw) > limits.MAX_TEXT_FILE_BYTES:
        raise _exceeds(name, None, "the file size in bytes", len(raw), "MAX_TEXT_FILE_BYTES")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{name}, line {line}: bytes {raw[err.start:err.end]!r} are not valid "
            "UTF-8; expected a UTF-8 encoded text file."
        ) from None
    if not text.strip():
        raise DataError(f"{name}: the file is empty; expected a header or records.")
    return text


_CSV_LIMIT_LOCK = threading.Lock()


@contextlib.contextmanager
def _csv_field_limit(limit: int):
    """Set csv's process-wide field size limit for one read, then restore it."""
    with _CSV_LIMIT_LOCK:
        previous = csv.field_size_limit(limit)
        try:
            yield
        finally:
            csv.field_size_limit(previous)


def read_text_csv(
    path: str | os.PathLike,
    *,
    text_column: str = "text",
    label_column: str = "label",
    labels: Sequence[Any] | None = None,
) -> TextClassificationData:
    """Read a UTF-8 CSV file with a header row into texts and integer labels.

    Any CSV the `csv` module reads is accepted: quoted fields holding commas, quotes
    and line breaks, CRLF or LF line ends, a UTF-8 BOM, any Unicode. Blank lines are
    skipped.

    Labels follow the rule in this module's docstring: equal numbers are one class
    (`1`, `1.0` and `01` are class `"1"`), other labels compare as written.

    Limits (`rnn_zoo.data.limits`): `MAX_TEXT_FILE_BYTES` per file,
    `MAX_TEXT_LENGTH` characters per field, `MAX_LABEL_LENGTH` per label,
    `MAX_ROWS` records and `MAX_CLASSES` distinct labels.

    Args:
        path: the CSV file (comma-separated, `"`-quoted, UTF-8 with or without BOM).
        text_column: header of the text column. Default `"text"`.
        label_column: header of the label column. Default `"label"`.
        labels: the label set in id order (`labels[i]` gets id `i`), compared by the
            label rule. Default None: the sorted unique labels found (by value when
            every label is numeric, so "10" follows "2").

    Returns:
        `TextClassificationData` (texts, int32 labels, class_names).

    Raises:
        DataError: empty file, no data rows, a missing or repeated column, wrong field
            count, empty text, a label outside `labels` or against the label rule,
            malformed CSV, bytes that are not UTF-8, or a size past a limit; the
            message names the file and the 1-based line.
        ValueError: `labels` is empty, repeats a label, or breaks the label rule.
        OSError: the file cannot be opened.

    Example:
        >>> data = read_text_csv("reviews.csv", labels=["neg", "pos"])  # doctest: +SKIP
        >>> data.texts[0], data.labels[0]  # doctest: +SKIP
        ('great food', 1)
    """
    if text_column == label_column:
        raise ValueError(
            "Invalid value received for argument `label_column`. Expected a column other"
            f" than text_column={text_column!r}. Received: label_column={label_column!r}"
        )
    name = os.fspath(path)
    collected = _Rows(name, f"column {text_column!r}", f"column {label_column!r}", labels)
    content = _read_utf8(path)
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    line = 1

    def malformed(err: csv.Error) -> DataError:
        if "field larger than field limit" in str(err):
            return DataError(
                f"{name}, line {line}: a field is longer than the limit MAX_TEXT_LENGTH ="
                f" {limits.MAX_TEXT_LENGTH} characters (see rnn_zoo.data.limits)."
            )
        return DataError(f"{name}, line {line}: malformed CSV ({err}).")

    with _csv_field_limit(limits.MAX_TEXT_LENGTH):
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{name}: no header row; expected a header and records.") from None
        except csv.Error as err:
            raise malformed(err) from None
        for column in (text_column, label_column):
            if column not in header:
                raise DataError(
                    f"{name}, line 1: missing column(s) {column!r}; expected a header with"
                    f" {text_column!r} and {label_column!r}, found {_show(header)}."
                )
            if header.count(column) > 1:
                raise DataError(
                    f"{name}, line 1: column {column!r} appears {header.count(column)} times;"
                    " expected it once."
                )
        text_at, label_at = header.index(text_column), header.index(label_column)
        end_line = reader.line_num
        while True:
            line = end_line + 1  # a quoted field may span lines; report where it starts
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                raise malformed(err) from None
            end_line = reader.line_num
            if not row or all(not field.strip() for field in row):
                continue  # blank lines carry no record
            if len(row) != len(header):
                raise DataError(
                    f"{name}, line {line}: {len(row)} fields; expected {len(header)} as in the"
                    " header."
                )
            collected.add(line, row[text_at], row[label_at])
    if not collected.texts:
        raise DataError(f"{name}: no data rows after the header; expected at least one record.")
    return collected.data()


def _lines(content: str):
    """Yield `(1-based number, line)` split on "\n" only, a trailing "\r" dropped.

    Not `str.splitlines`, which also splits inside JSON strings (U+2028, U+0085, ...),
    and not `str.split`, which would hold a list of every line at once.
    """
    start, number = 0, 1
    while start <= len(content):
        end = content.find("\n", start)
        if end == -1:
            end = len(content)
        line = content[start:end]
        yield number, line[:-1] if line.endswith("\r") else line
        start, number = end + 1, number + 1


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


class _Pairs(dict):
    """A JSON object that remembers which keys it held more than once."""

    repeated: frozenset = frozenset()


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict:
    record = _Pairs(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        record.repeated = frozenset(k for k, _ in pairs if k in seen or seen.add(k))
    return record


def read_text_jsonl(
    path: str | os.PathLike,
    *,
    text_key: str = "text",
    label_key: str = "label",
    labels: Sequence[Any] | None = None,
) -> TextClassificationData:
    """Read a UTF-8 JSON Lines file (one object per line) into texts and integer labels.

    Records are separated by "\\n" ("\\r\\n" is tolerated) and nothing else, so any
    valid JSON text fits on a line, including strings that hold U+2028, U+2029,
    U+0085 or form feeds. Blank lines are skipped. A JSON escape of half a surrogate
    pair ("\\ud800"), which is no character, becomes U+FFFD.

    Labels are JSON strings or finite JSON numbers and follow the rule in this
    module's docstring: `1`, `1.0` and `"1"` are the same class `"1"`.

    Limits (`rnn_zoo.data.limits`): `MAX_TEXT_FILE_BYTES` per file,
    `MAX_LINE_LENGTH` characters per line, `MAX_TEXT_LENGTH` per text,
    `MAX_LABEL_LENGTH` per label, `MAX_ROWS` records and `MAX_CLASSES` labels.

    Args:
        path: the `.jsonl` file.
        text_key: key of the text (a JSON string). Default `"text"`.
        label_key: key of the label (a JSON string or number). Default `"label"`.
        labels: the label set in id order, compared by the label rule. Default None:
            sorted unique labels found (by value when every label is numeric).

    Returns:
        `TextClassificationData` (texts, int32 labels, class_names as strings).

    Raises:
        DataError: empty file, invalid JSON (also nesting too deep for the parser), a
            record that is not an object, a missing or repeated key, a text that is
            not a non-empty string, a label of another type, outside `labels` or
            against the label rule, bytes that are not UTF-8, or a size past a
            limit; the message names the file and the 1-based line.
        ValueError: `labels` is empty, repeats a label, or breaks the label rule.
        OSError: the file cannot be opened.

    Example:
        >>> data = read_text_jsonl("reviews.jsonl")  # doctest: +SKIP
        >>> data.class_names  # doctest: +SKIP
        ('neg', 'pos')
    """
    if text_key == label_key:
        raise ValueError(
            "Invalid value received for argument `label_key`. Expected a key other than"
            f" text_key={text_key!r}. Received: label_key={label_key!r}"
        )
    name = os.fspath(path)
    collected = _Rows(name, repr(text_key), repr(label_key), labels)
    content = _read_utf8(path)
    # JSON numbers become Decimal: exact (1.0 == 1, no float rounding) and free of
    # Python's int-digits limit.
    decoder = json.JSONDecoder(
        object_pairs_hook=_object_pairs, parse_float=decimal.Decimal, parse_int=decimal.Decimal
    )
    for line_no, line in _lines(content):
        if not line.strip(" \t\r"):  # JSON's own whitespace, nothing wider
            continue
        where = f"line {line_no}"
        if len(line) > limits.MAX_LINE_LENGTH:
            raise _exceeds(name, where, "the line length in characters", len(line),
                           "MAX_LINE_LENGTH")
        try:
            record = decoder.decode(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{name}, {where}: invalid JSON ({err.msg}, column {err.colno}); expected"
                " one JSON object per line."
            ) from None
        except RecursionError:
            raise DataError(
                f"{name}, {where}: invalid JSON (nested too deeply to parse); expected one"
                " JSON object per line."
            ) from None
        except (ValueError, ArithmeticError) as err:
            raise DataError(
                f"{name}, {where}: invalid JSON ({err}); expected one JSON object per line."
            ) from None
        if not isinstance(record, dict):
            raise DataError(f"{name}, {where}: got a JSON {_json_type(record)}; expected a JSON"
                            " object.")
        for key in (text_key, label_key):
            if key not in record:
                raise DataError(
                    f"{name}, {where}: missing key {key!r}; found keys {_show(sorted(record))}."
                )
            if key in getattr(record, "repeated", ()):
                raise DataError(
                    f"{name}, {where}: key {key!r} appears more than once; expected it once."
                )
        label = record[label_key]
        # JSON true/false and null are no labels; NaN and Infinity (which Python's json
        # accepts) are no finite numbers.
        if not (
            isinstance(label, str)
            or (isinstance(label, decimal.Decimal) and label.is_finite())
        ):
            shown = "" if isinstance(label, (dict, list)) else f" ({label!r})"
            raise DataError(
                f"{name}, {where}: {label_key!r} is a JSON {_json_type(label)}{shown}; expected"
                " a non-empty string or a finite number (an integer such as 1)."
            )
        collected.add(line_no, record[text_key], label)
    if not collected.texts:
        raise DataError(f"{name}: no records; expected at least one JSON object.")
    return collected.data()


# --------------------------------------------------------------------------- numeric

# key -> (dtype kinds accepted, ranks accepted, what it holds)
_NPZ_KEYS: dict[str, tuple[str, tuple[int, ...], str]] = {
    "x": ("fiub", (2, 3), "[n, time, features] or [n, time]"),
    "values": ("fiub", (1, 2), "[total_steps, features] or [total_steps]"),
    "lengths": ("iuf", (1,), "[n] integers"),
    "labels": ("iuf", (1,), "[n] integer class ids"),
    "class_names": ("USiu", (1,), "[K] strings"),
    "targets": ("fiub", (1, 2), "[n] or [n, k]"),
}
_NPY_MAGIC = b"\x93NUMPY"
# Everything a damaged or hostile archive can make zipfile, zlib, bz2, lzma or
# NumPy's header parser raise once the file itself is open.
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    LZMAError,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    SyntaxError,
    RuntimeError,
    NotImplementedError,
    OverflowError,
    struct.error,
)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Members an archive read by `read_array_npz` may list (it reads only one of them).
_MAX_MEMBERS = 64


def _npy_header(
    stream: Any, name: str, key: str, spec: tuple[str, tuple[int, ...], str], sequences: bool
) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read and check one member's `.npy` header; nothing is allocated from it yet.

    `spec` is `(dtype kinds, ranks, what it holds)`; `sequences` adds the per-key shape
    checks of `read_sequences_npz`.
    """
    kinds, ranks, holds = spec
    if stream.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
        raise DataError(f"{name}, key {key!r}: not a .npy array; expected a NumPy array.")
    version = tuple(stream.read(2))
    if version not in ((1, 0), (2, 0)):
        raise DataError(
            f"{name}, key {key!r}: .npy format version {version}; expected 1.0 or 2.0."
        )
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    try:
        shape, fortran, dtype = read_header(stream)
    except Exception as err:  # noqa: BLE001 - NumPy's header parser (ast, tokenize,
        # dtype construction) raises many kinds on garbage; none may escape unwrapped.
        raise DataError(
            f"{name}, key {key!r}: cannot read the .npy header ({type(err).__name__}: {err})."
        ) from None
    if dtype.kind not in kinds or dtype.subdtype is not None or dtype.names is not None:
        why = " (object arrays would need pickle, which is never used)" if dtype.hasobject else ""
        raise DataError(
            f"{name}, key {key!r}: dtype {dtype}{why}; expected {holds} of dtype kind"
            f" {' or '.join(repr(k) for k in kinds)}."
        )
    if len(shape) not in ranks or any(d < 0 for d in shape):
        raise DataError(f"{name}, key {key!r}: shape {shape}; expected {holds}.")
    count = 1
    for d in shape:
        count *= d
    if count > limits.MAX_ARRAY_ELEMENTS:
        raise _exceeds(name, f"key {key!r}", f"the number of elements of shape {shape}", count,
                       "MAX_ARRAY_ELEMENTS")
    if dtype.kind in "US" and dtype.itemsize > 4 * limits.MAX_LABEL_LENGTH:
        raise _exceeds(name, f"key {key!r}", "the string width in bytes", dtype.itemsize,
                       "MAX_LABEL_LENGTH")
    if sequences:
        _check_member_shape(name, key, shape)
    return shape, fortran, dtype


def _check_member_shape(name: str, key: str, shape: tuple[int, ...]) -> None:
    """Per-key checks that need only the shape (so they run before the data is read)."""
    where = f"key {key!r}"
    if shape[0] == 0:
        raise DataError(f"{name}, {where}: shape {shape} holds no records; expected at least one.")
    rows_limit = "MAX_CLASSES" if key == "class_names" else "MAX_ROWS"
    if key != "values" and shape[0] > getattr(limits, rows_limit):
        raise _exceeds(name, where, f"the first axis of shape {shape}", shape[0], rows_limit)
    if key == "x" and shape[1] > limits.MAX_SEQUENCE_LENGTH:
        raise _exceeds(name, where, f"the time axis of shape {shape}", shape[1],
                       "MAX_SEQUENCE_LENGTH")
    if key == "x" and shape[1] == 0:
        raise DataError(f"{name}, {where}: shape {shape} has no time steps; expected at least 1.")
    if key in ("x", "values", "targets") and len(shape) == _NPZ_KEYS[key][1][-1]:
        if shape[-1] == 0:
            raise DataError(
                f"{name}, {where}: shape {shape} has an empty feature axis; expected at least"
                " 1 feature."
            )
        if shape[-1] > limits.MAX_FEATURES:
            raise _exceeds(name, where, f"the feature axis of shape {shape}", shape[-1],
                           "MAX_FEATURES")


def _npy_data(stream: Any, name: str, key: str, header: tuple) -> np.ndarray:
    """Read exactly the bytes the checked header announces, and nothing after them."""
    shape, fortran, dtype = header
    count = 1
    for d in shape:
        count *= d
    size = count * dtype.itemsize
    data = stream.read(size)
    if len(data) != size:
        raise DataError(
            f"{name}, key {key!r}: {len(data)} bytes of data; expected {size} for shape {shape}"
            f" and dtype {dtype} (the archive is truncated)."
        )
    if stream.read(1):
        raise DataError(
            f"{name}, key {key!r}: bytes after the data for shape {shape}; expected none."
        )
    if size == 0:
        array = np.zeros(count, dtype=dtype)
    else:
        array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def _check_member_count(stream: Any, name: str, most: int) -> None:
    """Refuse an archive whose central directory lists more members than keys exist.

    zipfile builds an object per listed member before anything else can be checked, so
    a small file listing millions of members would cost gigabytes. The count is read
    from the end-of-central-directory record (and its ZIP64 form) first. A record that
    cannot be found is left for zipfile to report.
    """
    size = stream.seek(0, os.SEEK_END)
    tail_start = max(0, size - (22 + 0xFFFF))  # the record, then a comment of <= 64 KiB
    stream.seek(tail_start)
    tail = stream.read()
    end = tail.rfind(b"PK\x05\x06")
    if end == -1 or len(tail) - end < 22:
        return
    entries, directory_size = struct.unpack("<HL", tail[end + 10 : end + 16])
    if (entries == 0xFFFF or directory_size == 0xFFFFFFFF) and end >= 20:
        locator = tail[end - 20 : end]
        if locator[:4] == b"PK\x06\x07":
            (offset,) = struct.unpack("<Q", locator[8:16])
            stream.seek(min(offset, size))
            record = stream.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                entries, directory_size = struct.unpack("<QQ", record[32:48])
    # zipfile walks the directory by its size, so bound that too: an entry is 46 bytes
    # plus a name, an extra field and a comment of at most 64 KiB each.
    if entries > most or directory_size > most * (46 + 3 * 0xFFFF):
        raise DataError(
            f"{name}: the archive lists {entries} members in a directory of {directory_size}"
            f" bytes; expected at most {most} members."
        )


def _read_npz(
    path: str | os.PathLike,
    name: str,
    *,
    only: str | None = None,
    spec: tuple[str, tuple[int, ...], str] | None = None,
) -> dict[str, np.ndarray]:
    """Read the arrays of an `.npz` archive, checking keys, headers and sizes first.

    Without `spec`: the layout of `read_sequences_npz` (every member a known key).
    With `spec`: one array checked against it, the member `only`, or the archive's
    single member when `only` is None; other members are left unread.
    """
    sequences = spec is None
    with _open_regular(path, name, "MAX_NPZ_FILE_BYTES") as stream:
        if stream.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
            raise DataError(f"{name}: holds a single array (.npy); expected an .npz archive.")
        _check_member_count(stream, name, len(_NPZ_KEYS) if sequences else _MAX_MEMBERS)
        stream.seek(0)
        try:
            archive = zipfile.ZipFile(stream)
        except _ARCHIVE_ERRORS as err:
            raise DataError(
                f"{name}: cannot read as an .npz archive ({type(err).__name__}: {err})."
            ) from None
        with archive:
            members: dict[str, zipfile.ZipInfo] = {}
            for info in archive.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if sequences and key not in _NPZ_KEYS:
                    raise DataError(
                        f"{name}: unknown key {key[:60]!r}; expected only keys from"
                        f" {sorted(_NPZ_KEYS)!r}."
                    )
                if key in members:
                    raise DataError(f"{name}: key {key[:60]!r} appears twice in the archive.")
                members[key] = info
            if not members:
                raise DataError(f"{name}: the archive is empty; expected at least one array.")
            if not sequences:
                if only is None and len(members) != 1:
                    raise DataError(
                        f"{name}: holds {len(members)} arrays {_show(sorted(members))};"
                        " expected exactly one."
                    )
                key = next(iter(members)) if only is None else only
                if key not in members:
                    raise DataError(
                        f"{name}: no key {key!r}; found keys {_show(sorted(members))}."
                    )
                members = {key: members[key]}
            arrays: dict[str, np.ndarray] = {}
            # Every header first: a bad shape anywhere fails before any data is read.
            for pass_ in ("header", "data"):
                for key, info in members.items():
                    key_spec = _NPZ_KEYS[key] if sequences else spec
                    try:
                        with archive.open(info) as member:
                            header = _npy_header(member, name, key, key_spec, sequences)
                            if pass_ == "data":
                                arrays[key] = _npy_data(member, name, key, header)
                    except DataError:
                        raise
                    except _ARCHIVE_ERRORS as err:
                        raise DataError(
                            f"{name}, key {key!r}: cannot read the array ({type(err).__name__}:"
                            f" {err})."
                        ) from None
    return arrays


def read_array_npz(
    path: str | os.PathLike,
    key: str | None = None,
    *,
    kinds: str = "fiub",
    ranks: Sequence[int] = (1, 2, 3),
) -> np.ndarray:
    """Read one array from an `.npz` file with the checks of `read_sequences_npz`.

    For model inputs other than training data (token ids, features, representative
    data): the array's header is checked (dtype kind, rank, `limits.MAX_ARRAY_ELEMENTS`)
    before its data is read, nothing is unpickled, and a damaged archive gives a
    `DataError`, never a library error.

    Args:
        path: the `.npz` file.
        key: the array to read; other members are not read. Default None: the archive
            must hold exactly one array, whatever its name.
        kinds: accepted NumPy dtype kinds, e.g. `"iu"` for integer ids. Default
            `"fiub"` (float, signed and unsigned integer, bool).
        ranks: accepted numbers of dimensions. Default `(1, 2, 3)`.

    Returns:
        The array as stored (its own dtype and shape; read-only).

    Raises:
        DataError: not an npz archive, a missing key (or not exactly one array when
            `key` is None), another dtype kind or rank, a size past a limit, or a
            damaged archive; the message names the file and the key.
        OSError: the file cannot be opened.

    Example:
        >>> np.savez("ids.npz", token_ids=np.array([[2, 3, 4]]))  # doctest: +SKIP
        >>> read_array_npz("ids.npz", "token_ids", kinds="iu", ranks=(2,))  # doctest: +SKIP
        array([[2, 3, 4]])
    """
    name = os.fspath(path)
    ranks = tuple(int(r) for r in ranks)
    holds = f"an array of rank {' or '.join(map(str, ranks))}"
    arrays = _read_npz(path, name, only=key, spec=(kinds, ranks, holds))
    return next(iter(arrays.values()))


def _first(mask: np.ndarray) -> int | None:
    """The flat index of the first True in `mask`, or None (allocates nothing per hit)."""
    return int(np.argmax(mask)) if mask.any() else None


def _check_whole(name: str, key: str, array: np.ndarray, what: str) -> None:
    """Refuse fractional, NaN or infinite values in a float array of counts or ids."""
    if array.dtype.kind != "f":
        return
    with np.errstate(invalid="ignore"):
        bad = _first(~np.isfinite(array) | (np.floor(array) != array))
    if bad is not None:
        raise DataError(
            f"{name}, record {bad + 1}: {what} {array[bad]!r} in key {key!r}; expected an"
            " integer."
        )


def _not_float32(values: np.ndarray) -> np.ndarray:
    """True where a value is NaN, infinite, or past float32's range."""
    with np.errstate(invalid="ignore", over="ignore"):
        return ~np.isfinite(values) | (np.abs(values) > _FLOAT32_MAX)


def _refuse_value(name: str, where: str, value: Any) -> DataError:
    return DataError(
        f"{name}, {where}: value {value}; expected finite numbers in float32's range (no NaN"
        " or infinity)."
    )


def read_sequences_npz(path: str | os.PathLike) -> SequenceData:
    """Read numeric sequences from an `.npz` file (never unpickles anything).

    Two layouts are accepted (all arrays numeric; object arrays are refused):

    - padded: `x` `[n, T, F]` (or `[n, T]` for one feature), optional `lengths`
      `[n]` (default: every sample is `T` long). Steps at or after `lengths[i]` are
      reset to 0.0 (values there are not checked).
    - concatenated: `values` `[sum(lengths), F]` (or `[sum(lengths)]`) holding the
      samples back to back, and `lengths` `[n]`.

    Optional in both: `labels` `[n]` (class ids `0..K-1`) with optional
    `class_names` (a str or bytes array `[K]`, or integers), and `targets` `[n]` or
    `[n, k]`. No other key is allowed. Feature and target arrays may be of any
    float, integer or bool dtype; lengths and labels of any integer dtype, or floats
    holding whole numbers. Bytes class names are decoded as UTF-8. Class names
    follow the label rule of this module's docstring (equal numbers are one class,
    so `"1"` and `"1.0"` may not both appear). Without `class_names`, the classes
    are `"0".."K-1"` for `K = max(labels) + 1`.

    Limits (`rnn_zoo.data.limits`), checked from each array's header before its
    data is read: `MAX_NPZ_FILE_BYTES`, `MAX_ARRAY_ELEMENTS` per array and for the
    padded `x`, `MAX_ROWS` records, `MAX_SEQUENCE_LENGTH` steps, `MAX_FEATURES`, and
    `MAX_CLASSES` (class names, and the largest label id + 1).

    Args:
        path: the `.npz` file, e.g. written by `np.savez(path, x=x, lengths=lengths)`.

    Returns:
        `SequenceData` with float32 `x [n, max_len, F]` right-padded with 0.0.

    Raises:
        DataError: not an npz archive (or a damaged or truncated one), an unknown or
            missing key, object or other wrong dtypes, a wrong rank, no records or
            an empty axis, a zero or too long length, lengths that disagree with `x`
            or `values`, NaN, infinite or beyond-float32 values, labels outside
            `class_names`, or a size past a limit; the message names the file and the
            key or 1-based record.
        OSError: the file cannot be opened.

    Example:
        >>> np.savez("seq.npz", x=np.random.rand(4, 10, 3), lengths=[10, 7, 3, 1])  # doctest: +SKIP
        >>> read_sequences_npz("seq.npz").x.shape  # doctest: +SKIP
        (4, 10, 3)
    """
    name = os.fspath(path)
    arrays = _read_npz(path, name)
    if "x" in arrays and "values" in arrays:
        raise DataError(
            f"{name}: found both 'x' and 'values'; expected 'x' (padded) or 'values' +"
            " 'lengths' (concatenated), not both."
        )
    if "x" not in arrays and "values" not in arrays:
        raise DataError(
            f"{name}: found keys {sorted(arrays)!r}; expected 'x' (padded) or 'values' +"
            " 'lengths'."
        )
    if "values" in arrays and "lengths" not in arrays:
        raise DataError(f"{name}: key 'values' needs key 'lengths' (samples per row block).")
    raw_lengths = arrays.get("lengths")
    if raw_lengths is not None:
        _check_whole(name, "lengths", raw_lengths, "length")

    if "x" in arrays:
        raw = arrays["x"]
        if raw.ndim == 2:
            raw = raw[:, :, None]
        n, width, _ = raw.shape
        if raw_lengths is None:
            raw_lengths = np.full(n, width, dtype=np.int64)
        elif len(raw_lengths) != n:
            raise DataError(
                f"{name}, key 'lengths': {len(raw_lengths)} entries; expected {n} (rows of 'x')."
            )
        _check_lengths(name, raw_lengths, width)
        lengths = raw_lengths.astype(np.int64)
        mask = np.arange(width)[None, :] < lengths[:, None]
        if raw.dtype.kind == "f":
            bad = _first(_not_float32(raw) & mask[:, :, None])
            if bad is not None:
                record, step, feature = np.unravel_index(bad, raw.shape)
                raise _refuse_value(name, f"record {record + 1}, step {step + 1}",
                                    raw[record, step, feature])
        with np.errstate(invalid="ignore", over="ignore"):
            x = raw.astype(np.float32)  # padding past float32 overflows, then is reset
        x[~mask] = 0.0
    else:
        values = arrays["values"]
        if values.ndim == 1:
            values = values[:, None]
        _check_lengths(name, raw_lengths, None)
        lengths = raw_lengths.astype(np.int64)
        total = int(lengths.sum())  # each length <= MAX_SEQUENCE_LENGTH: no int64 overflow
        if total != values.shape[0]:
            raise DataError(
                f"{name}, key 'values': {values.shape[0]} rows; expected sum(lengths) = {total}."
            )
        width, features = int(lengths.max()), values.shape[1]
        padded = len(lengths) * width * features
        if padded > limits.MAX_ARRAY_ELEMENTS:
            raise _exceeds(name, None, f"the padded x [{len(lengths)}, {width}, {features}]"
                           " in elements", padded, "MAX_ARRAY_ELEMENTS")
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        if values.dtype.kind == "f":
            bad = _first(_not_float32(values))
            if bad is not None:
                row, feature = np.unravel_index(bad, values.shape)
                record = int(np.searchsorted(bounds, row, side="right")) - 1
                raise _refuse_value(name, f"record {record + 1}, step {row - bounds[record] + 1}",
                                    values[row, feature])
        values = values.astype(np.float32)
        x, _ = pad_sequences([values[bounds[i] : bounds[i + 1]] for i in range(len(lengths))])
    n = len(lengths)

    labels, class_names, targets = None, (), None
    if "class_names" in arrays and "labels" not in arrays:
        raise DataError(f"{name}: key 'class_names' needs key 'labels' (one class id per record).")
    if "labels" in arrays:
        raw_labels = arrays["labels"]
        if raw_labels.shape != (n,):
            raise DataError(f"{name}, key 'labels': shape {raw_labels.shape}; expected ({n},).")
        _check_whole(name, "labels", raw_labels, "label")
        if "class_names" in arrays:
            class_names = _class_names(name, arrays["class_names"])
            expected = f"0..{len(class_names) - 1} (one per class name)"
        else:
            expected = (
                f"a class id in 0..{limits.MAX_CLASSES - 1}: the limit is MAX_CLASSES ="
                f" {limits.MAX_CLASSES} (see rnn_zoo.data.limits)"
            )
        high = len(class_names) - 1 if class_names else limits.MAX_CLASSES - 1
        bad = _first((raw_labels < 0) | (raw_labels > high))
        if bad is not None:
            raise DataError(
                f"{name}, record {bad + 1}: label {raw_labels[bad]} in key 'labels'; expected"
                f" {expected}."
            )
        labels = raw_labels.astype(np.int32)  # every id is now in 0..MAX_CLASSES - 1
        if not class_names:
            class_names = tuple(str(i) for i in range(int(labels.max()) + 1))
    if "targets" in arrays:
        raw_targets = arrays["targets"]
        if len(raw_targets) != n:
            raise DataError(
                f"{name}, key 'targets': shape {raw_targets.shape}; expected [{n}] or [{n}, k]."
            )
        if raw_targets.dtype.kind == "f":
            flat = raw_targets.reshape(n, -1)
            bad = _first(_not_float32(flat))
            if bad is not None:
                record, column = np.unravel_index(bad, flat.shape)
                raise _refuse_value(name, f"record {record + 1}, key 'targets'",
                                    flat[record, column])
        targets = raw_targets.astype(np.float32)
    return SequenceData(x, lengths.astype(np.int32), labels=labels, class_names=class_names,
                        targets=targets)


def _class_names(name: str, array: np.ndarray) -> tuple[str, ...]:
    """Decode and check `class_names` by the label rule (distinct, single-line, bounded)."""
    names = []
    for i, value in enumerate(array.tolist()):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(
                    f"{name}, key 'class_names', entry {i + 1}: bytes {value[:40]!r} are not"
                    " valid UTF-8."
                ) from None
        try:
            names.append(_label_key(value)[0])
        except _LabelProblem as problem:
            raise DataError(f"{name}, key 'class_names', entry {i + 1}: {problem}.") from None
    seen: dict[str, int] = {}
    for i, label in enumerate(names):
        if label in seen:
            raise DataError(
                f"{name}, key 'class_names', entry {i + 1}: {label!r} repeats entry"
                f" {seen[label] + 1} (equal numbers are one class); expected distinct names."
            )
        seen[label] = i
    return tuple(names)


def _check_lengths(name: str, lengths: np.ndarray, width: int | None) -> None:
    empty = _first(lengths <= 0)
    if empty is not None:
        raise DataError(
            f"{name}, record {empty + 1}: length {lengths[empty]}; expected at least 1 step "
            "(zero-length sequences cannot be masked)."
        )
    if width is not None:
        long = _first(lengths > width)
        if long is not None:
            raise DataError(
                f"{name}, record {long + 1}: length {lengths[long]}; expected at most {width}"
                " (the time dimension of 'x')."
            )
    long = _first(lengths > limits.MAX_SEQUENCE_LENGTH)
    if long is not None:
        raise _exceeds(name, f"record {long + 1}", "the length", int(lengths[long]),
                       "MAX_SEQUENCE_LENGTH")
