"""Bring your own data: read text and numeric sequences from files, with checked input.

This module also defines the small frozen containers every loader and generator in
`rnn_zoo.data` returns (`TextClassificationData`, `TaggingData`, `SequenceData`) and
`DataError`, so that all data entry points share one vocabulary of types. It imports
nothing heavy (numpy and the standard library only).

Every reader validates what it reads and raises `DataError` (a `ValueError`) whose
message names the file, the 1-based line or record, and what was expected.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "DataError",
    "SequenceData",
    "TaggingData",
    "TextClassificationData",
    "pad_sequences",
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


# --------------------------------------------------------------------------- text readers


def _read_utf8(path: str | os.PathLike) -> str:
    """Read a whole file as strict UTF-8 (a BOM is dropped) and report bad bytes by line."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.strip():
        raise DataError(f"{os.fspath(path)}: the file is empty; expected a header or records.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{os.fspath(path)}, line {line}: bytes {raw[err.start:err.end]!r} are not valid "
            "UTF-8; expected a UTF-8 encoded text file."
        ) from None


def _label_names(raw_labels: list[str], labels: Sequence[Any] | None) -> tuple[str, ...]:
    if labels is not None:
        names = tuple(str(v) for v in labels)
        if len(set(names)) != len(names):
            raise ValueError(f"`labels` has duplicates: {list(labels)!r}.")
        if not names:
            raise ValueError("`labels` is empty; pass None to infer the label set.")
        return names
    unique = set(raw_labels)
    # "10" must come after "2": when every label is an integer, order them as numbers.
    if all(_is_int(v) for v in unique):
        return tuple(sorted(unique, key=int))
    return tuple(sorted(unique))


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def _to_classification(
    path: str | os.PathLike,
    rows: list[tuple[str, str, str]],
    labels: Sequence[Any] | None,
) -> TextClassificationData:
    """Map `(where, text, label)` rows to a `TextClassificationData`, checking labels."""
    names = _label_names([label for _, _, label in rows], labels)
    index = {name: i for i, name in enumerate(names)}
    ids = np.empty(len(rows), dtype=np.int32)
    for i, (where, _, label) in enumerate(rows):
        if label not in index:
            raise DataError(
                f"{os.fspath(path)}, {where}: label {label!r} is not in the label set; "
                f"expected one of {list(names)!r}."
            )
        ids[i] = index[label]
    return TextClassificationData([text for _, text, _ in rows], ids, names)


def read_text_csv(
    path: str | os.PathLike,
    *,
    text_column: str = "text",
    label_column: str = "label",
    labels: Sequence[Any] | None = None,
) -> TextClassificationData:
    """Read a UTF-8 CSV file with a header row into texts and integer labels.

    Args:
        path: the CSV file (comma-separated, `"`-quoted, UTF-8 with or without BOM).
        text_column: header of the text column. Default `"text"`.
        label_column: header of the label column. Default `"label"`.
        labels: the label set in id order (`labels[i]` gets id `i`); values are compared
            as strings. Default None: the sorted unique labels found (numerically when
            every label is an integer, so "10" follows "2").

    Returns:
        `TextClassificationData` (texts, int32 labels, class_names).

    Raises:
        DataError: empty file, no data rows, missing column, wrong field count, empty
            text, a label outside `labels`, or bytes that are not UTF-8; the message
            names the file and the 1-based line.

    Example:
        >>> data = read_text_csv("reviews.csv", labels=["neg", "pos"])  # doctest: +SKIP
        >>> data.texts[0], data.labels[0]  # doctest: +SKIP
        ('great food', 1)
    """
    name = os.fspath(path)
    content = _read_utf8(path)
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as err:
        raise DataError(f"{name}, line 1: malformed CSV header ({err}).") from None
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        raise DataError(
            f"{name}, line 1: missing column(s) {missing!r}; expected a header with "
            f"{text_column!r} and {label_column!r}, found {header!r}."
        )
    text_at, label_at = header.index(text_column), header.index(label_column)
    rows: list[tuple[str, str, str]] = []
    end_line = reader.line_num
    while True:
        start_line = end_line + 1  # a quoted field may span lines; report where it starts
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise DataError(f"{name}, line {start_line}: malformed CSV ({err}).") from None
        end_line = reader.line_num
        if not row or all(not field.strip() for field in row):
            continue  # blank lines carry no record
        where = f"line {start_line}"
        if len(row) != len(header):
            raise DataError(
                f"{name}, {where}: {len(row)} fields; expected {len(header)} as in the header."
            )
        text, label = row[text_at], row[label_at].strip()
        if not text.strip():
            raise DataError(
                f"{name}, {where}: empty text in column {text_column!r}; expected a non-empty"
                " string."
            )
        if not label:
            raise DataError(f"{name}, {where}: empty label in column {label_column!r}.")
        rows.append((where, text, label))
    if not rows:
        raise DataError(f"{name}: no data rows after the header; expected at least one record.")
    return _to_classification(path, rows, labels)


def read_text_jsonl(
    path: str | os.PathLike,
    *,
    text_key: str = "text",
    label_key: str = "label",
    labels: Sequence[Any] | None = None,
) -> TextClassificationData:
    """Read a UTF-8 JSON Lines file (one object per line) into texts and integer labels.

    Args:
        path: the `.jsonl` file; blank lines are skipped.
        text_key: key of the text (a JSON string). Default `"text"`.
        label_key: key of the label (a JSON string or integer). Default `"label"`.
        labels: the label set in id order; values are compared as strings (`1` and
            `"1"` are the same label). Default None: sorted unique labels found
            (numerically when every label is an integer).

    Returns:
        `TextClassificationData` (texts, int32 labels, class_names as strings).

    Raises:
        DataError: empty file, invalid JSON, a record that is not an object, a missing
            key, a text that is not a non-empty string, a label of another type or
            outside `labels`, or bytes that are not UTF-8; the message names the file
            and the 1-based line.

    Example:
        >>> data = read_text_jsonl("reviews.jsonl")  # doctest: +SKIP
        >>> data.class_names  # doctest: +SKIP
        ('neg', 'pos')
    """
    name = os.fspath(path)
    content = _read_utf8(path)
    rows: list[tuple[str, str, str]] = []
    for line_no, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {line_no}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{name}, {where}: invalid JSON ({err.msg}); expected one JSON object per line."
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"{name}, {where}: got a JSON {type(record).__name__}; expected a JSON object."
            )
        for key in (text_key, label_key):
            if key not in record:
                raise DataError(
                    f"{name}, {where}: missing key {key!r}; found keys {sorted(record)!r}."
                )
        text, label = record[text_key], record[label_key]
        if not isinstance(text, str) or not text.strip():
            raise DataError(
                f"{name}, {where}: {text_key!r} is {text!r}; expected a non-empty string."
            )
        # bool is an int subclass; True/False as class labels are almost always a mistake.
        if (
            isinstance(label, bool)
            or not isinstance(label, (str, int))
            or (isinstance(label, str) and not label.strip())
        ):
            raise DataError(
                f"{name}, {where}: {label_key!r} is {label!r}; expected a non-empty string or an"
                " integer."
            )
        rows.append((where, text, str(label).strip()))
    if not rows:
        raise DataError(f"{name}: no records; expected at least one JSON object.")
    return _to_classification(path, rows, labels)


# --------------------------------------------------------------------------- numeric


def read_sequences_npz(path: str | os.PathLike) -> SequenceData:
    """Read numeric sequences from an `.npz` file (never unpickles anything).

    Two layouts are accepted (all arrays numeric; object arrays are refused):

    - padded: `x` float `[n, T, F]` (or `[n, T]` for one feature), optional `lengths`
      int `[n]` (default: every sample is `T` long). Steps at or after `lengths[i]` are
      reset to 0.0.
    - concatenated: `values` float `[sum(lengths), F]` (or `[sum(lengths)]`) holding the
      samples back to back, and `lengths` int `[n]`.

    Optional in both: `labels` int `[n]` (ids `0..K-1`) with optional `class_names`
    (string array `[K]`), and `targets` float `[n]` or `[n, k]`.

    Args:
        path: the `.npz` file, e.g. written by `np.savez(path, x=x, lengths=lengths)`.

    Returns:
        `SequenceData` with float32 `x [n, max_len, F]` right-padded with 0.0.

    Raises:
        DataError: not an npz archive, object arrays, missing or extra-dimensional keys,
            a zero or too long length, NaN or infinite values, labels outside
            `class_names`; the message names the file and the 1-based record.

    Example:
        >>> np.savez("seq.npz", x=np.random.rand(4, 10, 3), lengths=[10, 7, 3, 1])  # doctest: +SKIP
        >>> read_sequences_npz("seq.npz").x.shape  # doctest: +SKIP
        (4, 10, 3)
    """
    name = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{name}: cannot read as an .npz archive ({err}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(
            f"{name}: holds a single array; expected an .npz archive with key 'x' or 'values'."
        )
    with archive:
        keys = set(archive.files)
        arrays: dict[str, np.ndarray] = {}
        for key in keys:
            try:
                arrays[key] = archive[key]
            except ValueError as err:  # object arrays need pickle, which we refuse
                raise DataError(
                    f"{name}, key {key!r}: {err}; expected a numeric or string array."
                ) from None
    if not keys:
        raise DataError(f"{name}: the archive is empty; expected key 'x' or 'values'.")

    def numeric(key: str, kinds: str) -> np.ndarray:
        array = arrays[key]
        if array.dtype.kind not in kinds:
            wanted = "an integer" if kinds == "iu" else "a numeric"
            raise DataError(f"{name}, key {key!r}: dtype {array.dtype}; expected {wanted} array.")
        return array

    lengths = None
    if "lengths" in arrays:
        lengths = numeric("lengths", "iu")
        if lengths.ndim != 1:
            raise DataError(f"{name}, key 'lengths': shape {lengths.shape}; expected [n].")
        lengths = lengths.astype(np.int64)

    if "x" in arrays:
        x = numeric("x", "fiub").astype(np.float32)
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3:
            raise DataError(f"{name}, key 'x': shape {x.shape}; expected [n, time, features].")
        n, width = x.shape[0], x.shape[1]
        if lengths is None:
            lengths = np.full(n, width, dtype=np.int64)
        elif len(lengths) != n:
            raise DataError(
                f"{name}, key 'lengths': {len(lengths)} entries; expected {n} (rows of 'x')."
            )
        _check_lengths(name, lengths, width)
        x = x.copy()
        x[np.arange(width)[None, :] >= lengths[:, None]] = 0.0
    elif "values" in arrays:
        if lengths is None:
            raise DataError(f"{name}: key 'values' needs key 'lengths' (samples per row block).")
        values = numeric("values", "fiub").astype(np.float32)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise DataError(
                f"{name}, key 'values': shape {values.shape}; expected [total_steps, features]."
            )
        _check_lengths(name, lengths, None)
        if int(lengths.sum()) != values.shape[0]:
            raise DataError(
                f"{name}, key 'values': {values.shape[0]} rows; expected sum(lengths) ="
                f" {int(lengths.sum())}."
            )
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        x, _ = pad_sequences([values[bounds[i] : bounds[i + 1]] for i in range(len(lengths))])
    else:
        raise DataError(
            f"{name}: found keys {sorted(keys)!r}; expected 'x' (padded) or 'values' + 'lengths'."
        )

    lengths = lengths.astype(np.int32)
    bad = ~np.isfinite(x)
    if bad.any():
        record, step, _ = np.argwhere(bad)[0]
        raise DataError(
            f"{name}, record {record + 1}, step {step + 1}: value"
            f" {x[record, step][bad[record, step]][0]}; expected finite numbers (no NaN or"
            " infinity)."
        )

    labels, class_names, targets = None, (), None
    if "labels" in arrays:
        labels = numeric("labels", "iu")
        if labels.shape != (len(lengths),):
            raise DataError(
                f"{name}, key 'labels': shape {labels.shape}; expected ({len(lengths)},)."
            )
        if "class_names" in arrays:
            class_names = tuple(str(c) for c in arrays["class_names"].reshape(-1))
        else:
            class_names = tuple(str(i) for i in range(int(labels.max()) + 1))
        outside = np.flatnonzero((labels < 0) | (labels >= len(class_names)))
        if outside.size:
            record = int(outside[0])
            raise DataError(
                f"{name}, record {record + 1}: label {labels[record]}; expected"
                f" 0..{len(class_names) - 1} (one per class name)."
            )
    if "targets" in arrays:
        targets = numeric("targets", "fiub").astype(np.float32)
        if len(targets) != len(lengths) or targets.ndim > 2:
            raise DataError(
                f"{name}, key 'targets': shape {targets.shape}; expected [{len(lengths)}] or"
                f" [{len(lengths)}, k]."
            )
        bad_t = np.flatnonzero(~np.isfinite(targets.reshape(len(targets), -1)).all(axis=1))
        if bad_t.size:
            raise DataError(
                f"{name}, record {bad_t[0] + 1}: target is not finite; expected finite numbers."
            )
    return SequenceData(x, lengths, labels=labels, class_names=class_names, targets=targets)


def _check_lengths(name: str, lengths: np.ndarray, width: int | None) -> None:
    empty = np.flatnonzero(lengths <= 0)
    if empty.size:
        raise DataError(
            f"{name}, record {empty[0] + 1}: length {lengths[empty[0]]}; expected at least 1 step "
            "(zero-length sequences cannot be masked)."
        )
    if width is not None:
        long = np.flatnonzero(lengths > width)
        if long.size:
            raise DataError(
                f"{name}, record {long[0] + 1}: length {lengths[long[0]]}; expected at most {width}"
                " (the time dimension of 'x')."
            )
