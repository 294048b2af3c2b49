"""Hostile input for the data readers: only `DataError`, never a crash or a silent change.

Generated files (Hypothesis) check two properties of every reader:

- a valid file, written in any legal form, reads back exactly what was written;
- an invalid file (random bytes, truncations, bit flips, wrong types, huge numbers)
  raises `DataError` and nothing else.

Hand-written cases pin each finding of the hostile-input probe (issue 20) and its
class: JSON line splitting, unknown NPZ keys, overflowing or empty shapes, the label
rule, sizes checked against `rnn_zoo.data.limits` before allocation, and library
errors wrapped into `DataError`.
"""

import io
import json
import math
import os
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rnn_zoo.data import limits
from rnn_zoo.data.readers import DataError
from rnn_zoo.data.readers import SequenceData
from rnn_zoo.data.readers import TextClassificationData
from rnn_zoo.data.readers import read_array_npz
from rnn_zoo.data.readers import read_sequences_npz
from rnn_zoo.data.readers import read_text_csv
from rnn_zoo.data.readers import read_text_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READERS = {"csv": read_text_csv, "jsonl": read_text_jsonl, "npz": read_sequences_npz}

# Modest example counts: the whole file runs in well under a minute on one core.
# database=None keeps the checkout free of a .hypothesis folder.
_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    # Module-scoped: Hypothesis runs many examples per test, each rewriting one file.
    return tmp_path_factory.mktemp("hostile")


def _put(folder, name, content):
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _only_data_error(reader, path, **kwargs):
    """Run a reader; return its result, or None when it raised `DataError`.

    Any other exception propagates and fails the test, with the file attached.
    """
    try:
        return reader(path, **kwargs)
    except DataError as err:
        assert os.fspath(path) in str(err), str(err)  # every message names the file
        return None


def _npy(array):
    stream = io.BytesIO()
    np.lib.format.write_array(stream, np.asarray(array), allow_pickle=False)
    return stream.getvalue()


def _npy_header(descr, shape, fortran=False):
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        stream, {"descr": descr, "fortran_order": fortran, "shape": shape}
    )
    return stream.getvalue()


def _zip(members, compression=zipfile.ZIP_STORED):
    stream = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate member name is the point of one case
        with zipfile.ZipFile(stream, "w", compression=compression) as archive:
            for name, content in members:
                archive.writestr(name, content)
    return stream.getvalue()


def _savez(compressed=False, **arrays):
    stream = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(stream, **arrays)
    return stream.getvalue()


# --------------------------------------------------------------------------- strategies

# Any Unicode scalar value (lone surrogates cannot be written as UTF-8).
_CHARS = st.characters(blacklist_categories=("Cs",))
_TEXTS = st.text(_CHARS, min_size=1, max_size=30).filter(lambda t: t.strip())
# (as written in the file, the class name the label rule gives)
_WORD_LABELS = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True).map(lambda s: (s, s))
_INT_LABELS = st.integers(-(10**30), 10**30).map(lambda i: (str(i), str(i)))
_FLOAT_INT_LABELS = st.integers(-(10**6), 10**6).map(lambda i: (f"{i}.0", str(i)))
_HALF_LABELS = st.integers(-1000, 1000).map(lambda i: (f"{i}.50", f"{i}.5"))
_TEXT_LABELS = st.one_of(_WORD_LABELS, _INT_LABELS, _FLOAT_INT_LABELS, _HALF_LABELS)
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(_CHARS, max_size=10)
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8,
)


def _expected_order(names, all_numeric):
    from decimal import Decimal

    unique = set(names)
    return tuple(sorted(unique, key=Decimal)) if all_numeric else tuple(sorted(unique))


def _is_numeric(written):
    return written[0] in "+-0123456789."


# --------------------------------------------------------------------------- round trips


def _csv_field(value, always):
    # RFC 4180 by hand: Python 3.11's csv.writer leaves a lone "\r" unquoted when the
    # line terminator is "\n", which no reader can read back.
    if always or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@settings(max_examples=80, **_SETTINGS)
@given(
    rows=st.lists(st.tuples(_TEXTS, _TEXT_LABELS), min_size=1, max_size=8),
    terminator=st.sampled_from(["\n", "\r\n"]),
    always_quote=st.booleans(),
    bom=st.booleans(),
    extra_column=st.booleans(),
)
def test_valid_csv_round_trips(folder, rows, terminator, always_quote, bom, extra_column):
    lines = [["label", "text"] + (["note"] if extra_column else [])]
    lines += [[written, text] + (["x,y"] if extra_column else []) for text, (written, _) in rows]
    content = "".join(
        ",".join(_csv_field(field, always_quote) for field in line) + terminator for line in lines
    )
    path = _put(folder, "round.csv", ("\ufeff" if bom else "") + content)
    data = read_text_csv(path)
    assert data.texts == [text for text, _ in rows]
    names = [name for _, (_, name) in rows]
    assert [data.class_names[i] for i in data.labels] == names
    numeric = all(_is_numeric(written) for _, (written, _) in rows)
    assert data.class_names == _expected_order(names, numeric)


@settings(max_examples=80, **_SETTINGS)
@given(
    rows=st.lists(
        st.tuples(
            _TEXTS,
            st.one_of(
                st.integers(-(2**63), 2**63).map(lambda i: (i, str(i))),
                st.integers(-1000, 1000).map(lambda i: (float(i), str(i))),
                _TEXT_LABELS,
            ),
            st.dictionaries(st.sampled_from(["id", "meta", "x"]), _JSON_VALUES, max_size=2),
        ),
        min_size=1,
        max_size=8,
    ),
    ensure_ascii=st.booleans(),
    terminator=st.sampled_from(["\n", "\r\n"]),
    blank=st.sampled_from(["", "\n", " \t\n"]),
)
def test_valid_jsonl_round_trips(folder, rows, ensure_ascii, terminator, blank):
    lines = []
    for text, (label, _), extra in rows:
        record = {**extra, "text": text, "label": label}
        lines.append(json.dumps(record, ensure_ascii=ensure_ascii) + terminator + blank)
    path = _put(folder, "round.jsonl", "".join(lines))
    data = read_text_jsonl(path)
    assert data.texts == [text for text, _, _ in rows]
    names = [name for _, (_, name), _ in rows]
    assert [data.class_names[i] for i in data.labels] == names


_NUMERIC_DTYPES = st.sampled_from(
    ["float16", "float32", "float64", ">f8", "int8", "int32", "int64", "uint8", "uint64", "bool"]
)


def _values_for(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return st.floats(-1e4, 1e4, allow_nan=False, width=min(32, dtype.itemsize * 8))
    return None  # hypothesis' default elements for integers and bools


@settings(max_examples=80, **_SETTINGS)
@given(data=st.data())
def test_valid_npz_round_trips(folder, data):
    n = data.draw(st.integers(1, 5))
    width = data.draw(st.integers(1, 6))
    features = data.draw(st.integers(1, 3))
    dtype = data.draw(_NUMERIC_DTYPES)
    x = data.draw(hnp.arrays(dtype, (n, width, features), elements=_values_for(dtype)))
    lengths = np.array(data.draw(st.lists(st.integers(1, width), min_size=n, max_size=n)))
    k = data.draw(st.integers(1, 4))
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    label_dtype = data.draw(st.sampled_from(["int64", "int32", "uint16", "float64"]))
    names_kind = data.draw(st.sampled_from(["none", "str", "bytes"]))
    names = [f"class {i} é" for i in range(k)]
    targets = data.draw(hnp.arrays("float32", (n,), elements=st.floats(-1e3, 1e3, width=32)))
    arrays = {"labels": labels.astype(label_dtype), "targets": targets}
    if names_kind == "str":
        arrays["class_names"] = np.array(names)
    elif names_kind == "bytes":
        arrays["class_names"] = np.array([name.encode("utf-8") for name in names])
    if data.draw(st.booleans()):
        arrays["x"], arrays["lengths"] = x, lengths
    else:  # the concatenated layout
        arrays["values"] = np.concatenate([x[i, : lengths[i]] for i in range(n)])
        arrays["lengths"] = lengths
    path = _put(folder, "round.npz", _savez(data.draw(st.booleans()), **arrays))
    read = read_sequences_npz(path)
    assert isinstance(read, SequenceData)
    assert read.lengths.tolist() == lengths.tolist()
    for i in range(n):
        np.testing.assert_array_equal(read.x[i, : lengths[i]], x[i, : lengths[i]].astype("f4"))
        assert not read.x[i, lengths[i]:].any()
    assert read.labels.tolist() == labels.tolist()
    expected_names = names if names_kind != "none" else [str(i) for i in range(labels.max() + 1)]
    assert read.class_names == tuple(expected_names)
    np.testing.assert_array_equal(read.targets, targets)


# --------------------------------------------------------------------------- invalid files


@settings(max_examples=120, **_SETTINGS)
@given(
    kind=st.sampled_from(sorted(READERS)),
    prefix=st.sampled_from([b"", b"text,label\n", b'{"text": "a", "label": ', b"PK\x03\x04"]),
    content=st.binary(max_size=300),
)
def test_random_bytes_raise_only_data_error(folder, kind, prefix, content):
    path = _put(folder, f"random.{kind}", prefix + content)
    result = _only_data_error(READERS[kind], path)
    assert result is None or isinstance(result, (TextClassificationData, SequenceData))


def _valid_file(kind):
    if kind == "csv":
        return 'text,label\n"a, b",1\n"two\nlines",pos\ncafé,1.0\n'.encode()
    if kind == "jsonl":
        return '{"text": "a\u2028b", "label": 1}\r\n{"text": "c", "label": "pos"}\n'.encode()
    return _savez(
        True,
        values=np.arange(12.0).reshape(6, 2),
        lengths=np.array([2, 4]),
        labels=np.array([0, 1]),
        class_names=np.array(["a", "b"]),
        targets=np.array([0.5, 1.0]),
    )


@settings(max_examples=120, **_SETTINGS)
@given(
    kind=st.sampled_from(sorted(READERS)),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=3),
)
def test_truncated_or_bit_flipped_files_raise_only_data_error(folder, kind, cut, flips):
    content = bytearray(_valid_file(kind))
    for where, mask in flips:
        content[min(int(where * len(content)), len(content) - 1)] ^= mask
    content = bytes(content[: int(cut * len(content))] if cut < 1 else content)
    path = _put(folder, f"damaged.{kind}", content)
    result = _only_data_error(READERS[kind], path)
    if isinstance(result, SequenceData):  # a flip the zip CRC cannot see (metadata)
        assert np.isfinite(result.x).all() and (result.lengths >= 1).all()


@settings(max_examples=60, **_SETTINGS)
@given(text=_JSON_VALUES, label=_JSON_VALUES)
def test_jsonl_values_of_any_type_raise_only_data_error(folder, text, label):
    line = json.dumps({"text": text, "label": label})
    path = _put(folder, "types.jsonl", line + "\n")
    result = _only_data_error(read_text_jsonl, path)
    valid_text = isinstance(text, str) and bool(text.strip())
    number = isinstance(label, (int, float)) and not isinstance(label, bool)
    if result is not None:
        assert valid_text and (isinstance(label, str) or number)
        assert result.texts == [text]
    elif valid_text and number and math.isfinite(label):
        pytest.fail(f"a valid record was refused: {line}")


_ANY_DTYPES = st.sampled_from(
    ["float32", "float64", "complex64", "int64", "uint64", "int8", "bool", "<U3", "|S2",
     "datetime64[s]", "timedelta64[ms]", "float16"]
)
_ANY_SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)


@settings(max_examples=100, **_SETTINGS)
@given(
    arrays=st.dictionaries(
        st.sampled_from(["x", "values", "lengths", "labels", "class_names", "targets"]),
        st.tuples(_ANY_DTYPES, _ANY_SHAPES).flatmap(lambda ds: hnp.arrays(*ds)),
        min_size=1,
        max_size=4,
    )
)
def test_npz_of_any_arrays_raises_only_data_error_or_reads_a_checked_result(folder, arrays):
    path = _put(folder, "any.npz", _savez(**arrays))
    result = _only_data_error(read_sequences_npz, path)
    if result is not None:
        assert result.x.dtype == np.float32 and np.isfinite(result.x).all()
        assert ((result.lengths >= 1) & (result.lengths <= result.x.shape[1])).all()
        assert not result.x[~result.mask].any()
        if result.labels is not None:
            assert ((result.labels >= 0) & (result.labels < len(result.class_names))).all()


_BAD_IDS = st.one_of(
    st.integers(limits.MAX_CLASSES, 2**63 - 1),
    st.integers(2**63, 2**64 - 1),  # uint64 only
    st.integers(-(2**63), -1),
    st.floats().filter(lambda v: not (v.is_integer() and 0 <= v < limits.MAX_CLASSES)),
)


@settings(max_examples=60, **_SETTINGS)
@given(key=st.sampled_from(["labels", "lengths"]), value=_BAD_IDS)
def test_npz_huge_negative_or_fractional_ids_and_lengths_raise_data_error(folder, key, value):
    if isinstance(value, float):
        column = np.array([1.0, value])
    elif value >= 2**63:
        column = np.array([1, value], dtype=np.uint64)
    else:
        column = np.array([1, value], dtype=np.int64)
    path = _put(folder, "huge.npz", _savez(x=np.ones((2, 7, 1)), **{key: column}))
    with pytest.raises(DataError, match="record 2"):
        read_sequences_npz(path)


@settings(max_examples=40, **_SETTINGS)
@given(
    digits=st.integers(1001, 6000),
    where=st.sampled_from(["label", "other"]),
    sign=st.sampled_from(["", "-"]),
)
def test_jsonl_huge_numbers_never_escape_as_value_error(folder, digits, where, sign):
    number = sign + "9" * digits
    record = '{"text": "a", "label": %s}' % (number if where == "label" else '"pos"')
    if where == "other":
        record = record[:-1] + ', "id": %s}' % number
    path = _put(folder, "digits.jsonl", record + "\n")
    if where == "label":
        with pytest.raises(DataError, match="MAX_LABEL_LENGTH"):
            read_text_jsonl(path)
    else:  # Python's int-digits limit must not bite: the number is not used
        assert read_text_jsonl(path).class_names == ("pos",)


# --------------------------------------------------------------------------- valid forms


_VALID_JSONL = [
    pytest.param('{"text": "a\u2028b", "label": 1}\n', ["a\u2028b"], id="raw-U+2028"),
    pytest.param('{"text": "a\u2029b", "label": 1}\n', ["a\u2029b"], id="raw-U+2029"),
    pytest.param('{"text": "a\x85b", "label": 1}\n', ["a\x85b"], id="raw-NEL-U+0085"),
    pytest.param('{"text": "a\\u001cb\\u001dc\\u001ed", "label": 1}\n', ["a\x1cb\x1dc\x1ed"],
                 id="escaped-file-group-record-separators"),
    pytest.param('{"text": "a\\u000bb\\u000cc", "label": 1}\n', ["a\x0bb\x0cc"],
                 id="escaped-vertical-tab-form-feed"),
    pytest.param('{"text": "a", "label": 1}\r\n{"text": "b", "label": 2}\r\n', ["a", "b"],
                 id="crlf"),
    pytest.param('\ufeff{"text": "a", "label": 1}', ["a"], id="bom-no-final-newline"),
    pytest.param('\r\n  \t\n{"text": "a", "label": 1}\n\n', ["a"], id="blank-lines"),
    pytest.param('{"text":"a",\r"label":1}\n', ["a"], id="carriage-return-as-json-whitespace"),
    pytest.param('{"label": 1, "text": "\\ud83d\\ude00"}\n', ["\U0001f600"],
                 id="escaped-surrogate-pair"),
    pytest.param('{"label": 1, "text": "a\\ud800b"}\n', ["a\ufffdb"],
                 id="lone-surrogate-escape-becomes-U+FFFD"),
    pytest.param('{"text": "\U0010ffff\\u0000", "label": 1}\n', ["\U0010ffff\x00"],
                 id="highest-code-point-and-escaped-nul"),
    pytest.param('{"text": "a", "label": 1, "meta": {"text": 2, "text": 3}}\n', ["a"],
                 id="repeated-key-in-nested-object-is-not-ours"),
    pytest.param('{"text": "a", "label": 9223372036854775807}\n', ["a"], id="int64-max-label"),
    pytest.param('{"text": "a", "label": 1, "x": ' + "[" * 50 + "]" * 50 + "}\n", ["a"],
                 id="moderate-nesting"),
]


@pytest.mark.parametrize("content, texts", _VALID_JSONL)
def test_valid_jsonl_in_any_legal_form_is_accepted(folder, content, texts):
    assert read_text_jsonl(_put(folder, "valid.jsonl", content)).texts == texts


_VALID_CSV = [
    pytest.param('text,label\r\n"a\r\nb",1\r\n', ["a\r\nb"], id="crlf-and-quoted-crlf"),
    pytest.param('\ufefftext,label\n"say ""hi""",1\n', ['say "hi"'], id="bom-and-doubled-quotes"),
    pytest.param("text,label\na\u2028b\x85c\x0bd\x0ce,1\n", ["a\u2028b\x85c\x0bd\x0ce"],
                 id="unicode-separators-in-an-unquoted-field"),
    pytest.param("text,label\na\x00b,1\n", ["a\x00b"], id="nul-in-field"),
    pytest.param("label,text\n1,\U0001f600 \u65e5\u672c\n", ["\U0001f600 \u65e5\u672c"],
                 id="columns-in-any-order-astral-characters"),
    pytest.param("text,label\n" + "a" * 200_000 + ",1\n", ["a" * 200_000],
                 id="field-longer-than-csv-default-limit"),
]


@pytest.mark.parametrize("content, texts", _VALID_CSV)
def test_valid_csv_in_any_legal_form_is_accepted(folder, content, texts):
    assert read_text_csv(_put(folder, "valid.csv", content)).texts == texts


def test_valid_npz_in_any_legal_form_is_accepted(folder):
    forms = {
        "fortran-order": {"x": np.asfortranarray(np.arange(24.0).reshape(2, 3, 4))},
        "big-endian": {"x": np.arange(6.0).reshape(2, 3).astype(">f8")},
        "int64-labels": {"x": np.ones((2, 1)), "labels": np.array([0, 1], dtype=np.int64)},
        "uint64-lengths": {"x": np.ones((2, 3)), "lengths": np.array([3, 1], dtype=np.uint64)},
        "float-lengths": {"values": np.ones(4), "lengths": np.array([1.0, 3.0])},
        "int-class-names": {"x": np.ones((2, 1)), "labels": np.array([1, 0]),
                            "class_names": np.array([10, 20])},
        "bool-features": {"x": np.array([[[True], [False]]])},
        "nan-in-padding": {"x": np.array([[1.0, np.nan]]), "lengths": np.array([1])},
        "2d-targets": {"x": np.ones((2, 1)), "targets": np.ones((2, 3))},
    }
    for form, arrays in forms.items():
        for compressed in (False, True):
            data = read_sequences_npz(_put(folder, f"{form}.npz", _savez(compressed, **arrays)))
            assert np.isfinite(data.x).all(), form
    fortran = read_sequences_npz(folder / "fortran-order.npz")
    np.testing.assert_array_equal(fortran.x, np.arange(24.0).reshape(2, 3, 4))
    assert read_sequences_npz(folder / "int-class-names.npz").class_names == ("10", "20")
    assert read_sequences_npz(folder / "nan-in-padding.npz").x.tolist() == [[[1.0], [0.0]]]


# --------------------------------------------------------------------------- the label rule


def test_equal_numbers_are_one_class_in_every_reader(folder):
    csv_data = read_text_csv(
        _put(folder, "rule.csv", "text,label\na,1\nb,1.0\nc,01\nd,+1\ne,1e0\nf,10E-1\ng,2\n")
    )
    assert csv_data.class_names == ("1", "2") and csv_data.labels.tolist() == [0] * 6 + [1]
    jsonl_data = read_text_jsonl(
        _put(folder, "rule.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 1.0}\n'
             '{"text": "c", "label": "1"}\n{"text": "d", "label": 1e0}\n'
             '{"text": "e", "label": -0.0}\n{"text": "f", "label": 0}\n')
    )
    assert jsonl_data.class_names == ("0", "1")
    assert jsonl_data.labels.tolist() == [1, 1, 1, 1, 0, 0]
    with pytest.raises(DataError, match=r"entry 2: '1' repeats entry 1"):
        read_sequences_npz(_put(folder, "rule.npz", _savez(
            x=np.ones((1, 1)), labels=np.array([0]), class_names=np.array(["1", "1.0"]))))


def test_numbers_past_float64_precision_stay_distinct(folder):
    # Exact comparison: float64 would merge 2**63 and 2**63 + 1.
    data = read_text_jsonl(_put(
        folder, "exact.jsonl",
        '{"text": "a", "label": 9223372036854775808}\n'
        '{"text": "b", "label": 9223372036854775809}\n'
        '{"text": "c", "label": 0.1}\n{"text": "d", "label": 0.10000000000000001}\n'))
    assert data.class_names == (
        "0.1", "0.10000000000000001", "9223372036854775808", "9223372036854775809"
    )


# --------------------------------------------------------------------------- hostile, by hand


def _member_flags(content, flag=None, method=None):
    """Patch the flag bits or compression method of every zip member, both headers."""
    raw = bytearray(content)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = raw.find(signature)
        while start != -1:
            if flag is not None:
                raw[start + flag_at : start + flag_at + 2] = flag.to_bytes(2, "little")
            if method is not None:
                raw[start + method_at : start + method_at + 2] = method.to_bytes(2, "little")
            start = raw.find(signature, start + 4)
    return bytes(raw)


def _lying_count(content):
    """Make the end-of-central-directory record claim a single member."""
    raw = bytearray(content)
    end = raw.rfind(b"PK\x05\x06")
    raw[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2
    return bytes(raw)


def _ones_npz(**extra):
    return _savez(x=np.ones((2, 3, 1)), **extra)


_X_HEADER = _npy_header("<f8", (2, 3, 1))
_X_DATA = np.ones((2, 3, 1)).tobytes()
_STORED = _savez(x=np.arange(6.0).reshape(2, 3))

# (content, the DataError message must contain)
_HOSTILE_NPZ = [
    pytest.param(_ones_npz(extra=np.ones(2)), "unknown key 'extra'", id="unknown-key"),
    pytest.param(_ones_npz(x_=np.ones(2)), "expected only keys from", id="near-miss-key"),
    pytest.param(_zip([("x.npy", _npy(np.ones((2, 1)))), ("x.npy", _npy(np.ones((2, 1))))]),
                 "appears twice", id="duplicate-member"),
    pytest.param(_zip([("dir/x.npy", _npy(np.ones((2, 1))))]), "unknown key", id="nested-member"),
    pytest.param(_zip([]), "empty", id="empty-archive"),
    pytest.param(_zip([(f"x{i}.npy", b"") for i in range(7)]), "lists 7 members",
                 id="more-members-than-keys"),
    pytest.param(_lying_count(_zip([(f"k{i}.npy", b"") for i in range(300)])), "unknown key",
                 id="end-record-understates-the-members"),
    pytest.param(_savez(values=np.ones((4, 1)), lengths=np.array([2**62, 2**62, 2**62, 4])),
                 "MAX_SEQUENCE_LENGTH", id="lengths-whose-sum-overflows-int64"),
    pytest.param(_savez(values=np.ones((2, 1)), lengths=np.array([2**63 - 1, 2**63 - 1])),
                 "MAX_SEQUENCE_LENGTH", id="int64-max-lengths"),
    pytest.param(_savez(values=np.ones((3, 1)), lengths=np.array([4, -1])), "at least 1",
                 id="negative-length-balancing-the-sum"),
    pytest.param(_savez(values=np.ones((3, 1)), lengths=np.array([1, 1])), "sum(lengths)",
                 id="lengths-disagree-with-values"),
    pytest.param(_savez(values=np.ones((3, 1))), "needs key 'lengths'",
                 id="values-without-lengths"),
    pytest.param(_ones_npz(lengths=np.array([3, 4])), "at most 3", id="length-past-width"),
    pytest.param(_ones_npz(lengths=np.array([3])), "expected 2", id="too-few-lengths"),
    pytest.param(_ones_npz(lengths=np.array([1.5, 2])), "expected an integer",
                 id="fractional-length"),
    pytest.param(_ones_npz(lengths=np.array([np.nan, 2])), "expected an integer", id="nan-length"),
    pytest.param(_ones_npz(lengths=np.array([True, True])), "dtype bool", id="bool-lengths"),
    pytest.param(_savez(x=np.ones((2, 3, 0))), "empty feature axis", id="zero-features"),
    pytest.param(_savez(values=np.ones((3, 0)), lengths=np.array([3])), "empty feature axis",
                 id="zero-features-concatenated"),
    pytest.param(_savez(x=np.ones((2, 0, 1))), "no time steps", id="zero-steps"),
    pytest.param(_savez(x=np.ones((0, 3, 1))), "no records", id="zero-records"),
    pytest.param(_savez(x=np.ones((0, 3, 1)), labels=np.zeros(0, int)), "no records",
                 id="zero-records-with-labels-no-reduction-error"),
    pytest.param(_savez(x=np.ones(3)), "shape (3,)", id="x-rank-1"),
    pytest.param(_savez(x=np.ones((1, 2, 3, 4))), "shape (1, 2, 3, 4)", id="x-rank-4"),
    pytest.param(_savez(x=np.float64(1.0)), "shape ()", id="x-rank-0"),
    pytest.param(_ones_npz(lengths=np.ones((2, 1), int)), "shape (2, 1)", id="lengths-rank-2"),
    pytest.param(_ones_npz(labels=np.zeros((2, 1), int)), "shape (2, 1)", id="labels-rank-2"),
    pytest.param(_ones_npz(targets=np.ones((2, 1, 1))), "shape (2, 1, 1)", id="targets-rank-3"),
    pytest.param(_savez(x=np.array([["a", "b"]])), "dtype <U1", id="string-features"),
    pytest.param(_savez(x=np.ones((1, 2), complex)), "complex128", id="complex-features"),
    pytest.param(_savez(x=np.zeros((1, 2), "datetime64[s]")), "datetime64", id="datetime"),
    pytest.param(_savez(x=np.zeros((1, 2), [("a", "f4"), ("b", "i4")])), "expected",
                 id="structured-dtype"),
    pytest.param(_zip([("x.npy", _npy_header("|O", (1, 2)) + b"\x80\x04N.")]), "pickle",
                 id="object-dtype-header"),
    pytest.param(_zip([("labels.npy", _npy_header("|O", (2,)))]), "pickle",
                 id="object-labels"),
    pytest.param(_ones_npz(labels=np.array([0, 2**40])), "MAX_CLASSES", id="label-id-2**40"),
    pytest.param(_ones_npz(labels=np.array([0, 2**64 - 1], np.uint64)), "MAX_CLASSES",
                 id="label-id-uint64-max"),
    pytest.param(_ones_npz(labels=np.array([0, -1])), "record 2: label -1", id="negative-label"),
    pytest.param(_ones_npz(labels=np.array([0, 1e300])), "MAX_CLASSES", id="float-label-1e300"),
    pytest.param(_ones_npz(labels=np.array([0, 0.5])), "expected an integer",
                 id="fractional-label"),
    pytest.param(_ones_npz(labels=np.array([0, np.inf])), "expected an integer", id="inf-label"),
    pytest.param(_ones_npz(labels=np.array([0, 1]), class_names=np.array(["a", ""])),
                 "empty label", id="empty-class-name"),
    pytest.param(_ones_npz(labels=np.array([0, 1]), class_names=np.array(["a", "b\nc"])),
                 "line break", id="class-name-with-newline"),
    pytest.param(_ones_npz(labels=np.array([0, 1]), class_names=np.array([b"a", b"\xff"])),
                 "not valid UTF-8", id="class-name-bad-utf8-bytes"),
    pytest.param(_ones_npz(labels=np.array([0, 1]), class_names=np.array([["a", "b"]])),
                 "shape (1, 2)", id="class-names-rank-2"),
    pytest.param(_ones_npz(labels=np.array([0, 1]), class_names=np.array([1.5, 2.5])),
                 "dtype float64", id="float-class-names"),
    pytest.param(_ones_npz(class_names=np.array(["a", "b"])), "needs key 'labels'",
                 id="class-names-without-labels"),
    pytest.param(_ones_npz(labels=np.array([0])), "shape (1,)", id="too-few-labels"),
    pytest.param(_ones_npz(targets=np.array([1.0, np.nan])), "record 2", id="nan-target"),
    pytest.param(_ones_npz(targets=np.array([1.0])), "expected [2]", id="too-few-targets"),
    pytest.param(_savez(x=np.array([[1.0, np.inf]])), "record 1, step 2", id="inf-feature"),
    pytest.param(_savez(x=np.array([[1.0, 1e300]])), "float32's range", id="beyond-float32"),
    pytest.param(_savez(values=np.array([1.0, -1e39]), lengths=np.array([1, 1])),
                 "record 2, step 1", id="beyond-float32-concatenated"),
    pytest.param(_savez(x=np.ones((1, 1)), values=np.ones(1), lengths=np.array([1])),
                 "both 'x' and 'values'", id="both-layouts"),
    pytest.param(_savez(lengths=np.array([1])), "expected 'x'", id="no-data-key"),
    pytest.param(_npy(np.ones((2, 3))), "single array", id="npy-not-npz"),
    pytest.param(_STORED[: len(_STORED) // 2], "cannot read", id="truncated-archive"),
    pytest.param(_STORED[:-30], "cannot read", id="truncated-central-directory"),
    pytest.param(_zip([("x.npy", _X_HEADER + _X_DATA[:-8])]), "truncated", id="truncated-data"),
    pytest.param(_zip([("x.npy", _X_HEADER + _X_DATA + b"!")]), "bytes after the data",
                 id="trailing-bytes"),
    pytest.param(_zip([("x.npy", _npy_header("<f8", (2**40, 3, 1)))]), "MAX_ARRAY_ELEMENTS",
                 id="header-declares-2**40-rows"),
    pytest.param(_zip([("x.npy", _npy_header("<f8", (2, 2**21, 1)))]), "MAX_SEQUENCE_LENGTH",
                 id="header-declares-long-time-axis"),
    pytest.param(_zip([("x.npy", _npy_header("<f8", (1, 1, 2**20)))]), "MAX_FEATURES",
                 id="header-declares-many-features"),
    pytest.param(_zip([("class_names.npy", _npy_header("<U1", (2**20,))),
                       ("labels.npy", _npy(np.zeros(1, int))), ("x.npy", _npy(np.ones((1, 1))))]),
                 "MAX_CLASSES", id="header-declares-many-class-names"),
    pytest.param(_zip([("class_names.npy", _npy_header("<U100000000", (1,)))]),
                 "MAX_LABEL_LENGTH", id="header-declares-huge-strings"),
    pytest.param(_zip([("x.npy", _npy_header("<f8", (-1, 3, 1)))]), "shape (-1, 3, 1)",
                 id="header-declares-negative-shape"),
    pytest.param(_zip([("x.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'" + b" " * 8)]),
                 "cannot read the .npy header", id="header-garbage"),
    pytest.param(_zip([("x.npy", b"\x93NUMPY\x03\x00" + _X_HEADER[8:])]), "version (3, 0)",
                 id="npy-version-3"),
    pytest.param(_zip([("x.npy", b"not numpy at all")]), "not a .npy array", id="bad-magic"),
    pytest.param(_member_flags(_STORED, flag=1), "cannot read", id="encrypted-member"),
    pytest.param(_member_flags(_STORED, method=99), "cannot read", id="unknown-compression"),
    pytest.param(bytes(b ^ 0x55 if 80 <= i < 120 else b
                       for i, b in enumerate(_savez(True, x=np.arange(900.0).reshape(30, 30)))),
                 "key 'x'", id="corrupt-deflate-stream"),
    pytest.param(b"", "cannot read", id="empty-file"),
]


@pytest.mark.parametrize("content, match", _HOSTILE_NPZ)
def test_hostile_npz_raises_data_error_naming_file_and_key(folder, content, match):
    path = _put(folder, "hostile.npz", content)
    with pytest.raises(DataError) as info:
        read_sequences_npz(path)
    assert str(path) in str(info.value) and match in str(info.value), str(info.value)


_HOSTILE_ARRAY_NPZ = [
    pytest.param(_zip([("token_ids.npy", _npy_header("<i8", (2**20, 2**20)))]),
                 "MAX_ARRAY_ELEMENTS", id="header-declares-2**40-ids"),
    pytest.param(_zip([("token_ids.npy", _npy_header("|O", (2, 3)))]), "pickle",
                 id="object-ids"),
    pytest.param(_zip([("token_ids.npy", _npy_header("<i8", (2, 3)) + b"\0" * 40)]),
                 "truncated", id="truncated-ids"),
    pytest.param(_zip([(f"k{i}.npy", b"") for i in range(65)]), "lists 65 members",
                 id="too-many-members"),
    pytest.param(_savez(token_ids=np.ones((2, 3))), "dtype float64", id="float-ids"),
    pytest.param(_savez(token_ids=np.ones(3, int)), "shape (3,)", id="ids-rank-1"),
    pytest.param(_STORED[:-30], "cannot read", id="truncated-archive"),
]


@pytest.mark.parametrize("content, match", _HOSTILE_ARRAY_NPZ)
def test_hostile_array_npz_raises_data_error_naming_file_and_key(folder, content, match):
    path = _put(folder, "hostile_ids.npz", content)
    with pytest.raises(DataError) as info:
        read_array_npz(path, "token_ids", kinds="iu", ranks=(2,))
    assert str(path) in str(info.value) and match in str(info.value), str(info.value)


def test_array_npz_leaves_other_members_unread(folder):
    # A hostile member beside the wanted one costs nothing: it is never opened.
    content = _zip([("token_ids.npy", _npy(np.array([[2, 3]]))),
                    ("bomb.npy", _npy_header("<f8", (2**40,)))])
    assert read_array_npz(_put(folder, "beside.npz", content), "token_ids").tolist() == [[2, 3]]


_HOSTILE_CSV = [
    pytest.param("text,label\n\"open quote,1\n", "line 2", id="unterminated-quote"),
    pytest.param('text,label\n"a"b,1\n', "malformed CSV", id="text-after-closing-quote"),
    pytest.param("text,text,label\na,b,1\n", "appears 2 times", id="repeated-text-column"),
    pytest.param("text,label\na,\"po\ns\"\n", "line break", id="label-with-line-break"),
    pytest.param("text,label\na,\u2028\n", "empty label", id="label-only-a-separator"),
    pytest.param("text,label\na," + "x" * 1001 + "\n", "MAX_LABEL_LENGTH", id="label-too-long"),
    pytest.param("text,label\na,1e999999999\n", "MAX_LABEL_LENGTH", id="label-huge-exponent"),
    pytest.param("text,label\na,1e99999999999999999999999\n", "MAX_LABEL_LENGTH",
                 id="label-exponent-beyond-decimal"),
    pytest.param("text,label\na,1e-5000\n", "MAX_LABEL_LENGTH", id="label-tiny-exponent"),
    pytest.param("text,label\n" + "a" * 1_000_001 + ",1\n", "MAX_TEXT_LENGTH",
                 id="field-larger-than-field-limit"),
    pytest.param("text,label\nab,1\n".encode("utf-16"), "UTF-8", id="utf-16-file"),
    pytest.param(b"text,label\n\xc0\xafx,1\n", "line 2", id="overlong-utf-8"),
    pytest.param(b"text,label\n\xed\xa0\x80,1\n", "line 2", id="utf-8-encoded-surrogate"),
    pytest.param("\ufeff\n", "empty", id="only-a-bom-and-a-newline"),
]


@pytest.mark.parametrize("content, match", _HOSTILE_CSV)
def test_hostile_csv_raises_data_error_naming_file_and_line(folder, content, match):
    path = _put(folder, "hostile.csv", content)
    with pytest.raises(DataError) as info:
        read_text_csv(path)
    assert str(path) in str(info.value) and match in str(info.value), str(info.value)


_HOSTILE_JSONL = [
    pytest.param('{"text": "a", "label": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
                 "nested too deeply", id="recursion-error"),
    pytest.param('{"text": "a", "label": ' + "{" * 5000 + "}\n", "line 1",
                 id="deep-and-broken"),
    pytest.param('{"text": "a", "label": ' + "7" * 5000 + "}\n", "MAX_LABEL_LENGTH",
                 id="int-digits-limit"),
    pytest.param('{"text": "a", "label": 1e999999999999999999999}\n', "line 1",
                 id="exponent-beyond-decimal"),
    pytest.param('{"text": "a", "label": NaN}\n', "finite number", id="nan-label"),
    pytest.param('{"text": "a", "label": -Infinity}\n', "finite number", id="infinity-label"),
    pytest.param('{"text": "a", "label": null}\n', "finite number", id="null-label"),
    pytest.param('{"text": "a", "label": [1]}\n', "finite number", id="list-label"),
    pytest.param('{"text": "a", "label": {"x": 1}}\n', "finite number", id="object-label"),
    pytest.param('{"text": "a", "label": false}\n', "finite number", id="boolean-label"),
    pytest.param('{"text": "a", "label": ""}\n', "empty label", id="empty-label"),
    pytest.param('{"text": "a", "label": "x\\ny"}\n', "line break", id="label-with-newline"),
    pytest.param('{"text": 5, "label": 1}\n', "non-empty string", id="number-text"),
    pytest.param('{"text": null, "label": 1}\n', "non-empty string", id="null-text"),
    pytest.param('{"text": ["a"], "label": 1}\n', "non-empty string", id="list-text"),
    pytest.param('{"text": "\\u2028", "label": 1}\n', "non-empty string", id="blank-text"),
    pytest.param('{"text": "a", "label": 1, "label": 2}\n', "more than once",
                 id="repeated-label-key"),
    pytest.param('{"text": "a", "text": "b", "label": 2}\n', "more than once",
                 id="repeated-text-key"),
    pytest.param('{"text": "a\tb", "label": 1}\n', "invalid JSON", id="raw-tab-in-string"),
    pytest.param('{"text": "a\x0bb", "label": 1}\n', "invalid JSON",
                 id="raw-vertical-tab-in-string"),
    pytest.param('{"text": "a", "label": 1}\r{"text": "b", "label": 1}\r', "invalid JSON",
                 id="old-mac-line-ends"),
    pytest.param('{"text": "a", "label": 1} {"text": "b", "label": 2}\n', "invalid JSON",
                 id="two-objects-on-a-line"),
    pytest.param('{"text": "a", "label": 1}}\n', "invalid JSON", id="trailing-garbage"),
    pytest.param('"just a string"\n', "JSON object", id="top-level-string"),
    pytest.param("17\n", "JSON object", id="top-level-number"),
    pytest.param("{}\n", "missing key", id="empty-object"),
    pytest.param(b'{"text": "\xf4\x90\x80\x80", "label": 1}\n', "UTF-8",
                 id="code-point-beyond-U+10FFFF"),
    pytest.param(b"\xef\xbb\xbf\xef\xbb\xbf{}\n", "invalid JSON", id="two-boms"),
]


@pytest.mark.parametrize("content, match", _HOSTILE_JSONL)
def test_hostile_jsonl_raises_data_error_naming_file_and_line(folder, content, match):
    path = _put(folder, "hostile.jsonl", content)
    with pytest.raises(DataError) as info:
        read_text_jsonl(path)
    assert str(path) in str(info.value) and match in str(info.value), str(info.value)


# --------------------------------------------------------------------------- stated limits


_LIMITED = [
    pytest.param("MAX_TEXT_FILE_BYTES", 100, "csv", "text,label\n" + "a,1\n" * 40,
                 id="csv-file-size"),
    pytest.param("MAX_TEXT_FILE_BYTES", 100, "jsonl", '{"text": "a", "label": 1}\n' * 8,
                 id="jsonl-file-size"),
    pytest.param("MAX_NPZ_FILE_BYTES", 100, "npz", _ones_npz(), id="npz-file-size"),
    pytest.param("MAX_ROWS", 3, "csv", "text,label\n" + "a,1\n" * 4, id="csv-rows"),
    pytest.param("MAX_ROWS", 3, "jsonl", '{"text": "a", "label": 1}\n' * 4, id="jsonl-rows"),
    pytest.param("MAX_ROWS", 3, "npz", _savez(x=np.ones((4, 1))), id="npz-rows"),
    pytest.param("MAX_CLASSES", 3, "csv", "text,label\na,1\nb,2\nc,3\nd,4\n", id="csv-classes"),
    pytest.param("MAX_CLASSES", 3, "jsonl",
                 "".join('{"text": "a", "label": %d}\n' % i for i in range(4)),
                 id="jsonl-classes"),
    pytest.param("MAX_CLASSES", 3, "npz", _savez(x=np.ones((1, 1)), labels=np.array([3])),
                 id="npz-label-id"),
    pytest.param("MAX_CLASSES", 3, "npz",
                 _savez(x=np.ones((1, 1)), labels=np.array([0]),
                        class_names=np.array(list("abcd"))), id="npz-class-names"),
    pytest.param("MAX_TEXT_LENGTH", 10, "csv", "text,label\n" + "a" * 11 + ",1\n",
                 id="csv-field-length"),
    pytest.param("MAX_TEXT_LENGTH", 10, "jsonl", '{"text": "%s", "label": 1}\n' % ("a" * 11),
                 id="jsonl-text-length"),
    pytest.param("MAX_LINE_LENGTH", 30, "jsonl", '{"text": "a", "label": 1, "x": 12345}\n',
                 id="jsonl-line-length"),
    pytest.param("MAX_LABEL_LENGTH", 3, "csv", "text,label\na,abcd\n", id="csv-label-length"),
    pytest.param("MAX_SEQUENCE_LENGTH", 5, "npz", _savez(x=np.ones((1, 6))), id="npz-time-axis"),
    pytest.param("MAX_SEQUENCE_LENGTH", 5, "npz",
                 _savez(values=np.ones(6), lengths=np.array([6])), id="npz-length"),
    pytest.param("MAX_FEATURES", 2, "npz", _savez(x=np.ones((1, 1, 3))), id="npz-features"),
    pytest.param("MAX_ARRAY_ELEMENTS", 10, "npz", _savez(x=np.ones((2, 6))),
                 id="npz-array-elements"),
    pytest.param("MAX_ARRAY_ELEMENTS", 10, "npz",
                 _savez(values=np.ones(10), lengths=np.array([1] * 4 + [6])),
                 id="npz-padded-x-elements"),
]


@pytest.mark.parametrize("limit, value, kind, content", _LIMITED)
def test_every_stated_limit_gives_a_data_error_naming_it(
    folder, monkeypatch, limit, value, kind, content
):
    path = _put(folder, f"limited.{kind}", content)
    READERS[kind](path)  # within the real limits, the file is valid
    monkeypatch.setattr(limits, limit, value)
    with pytest.raises(DataError, match=f"{limit} = {value}"):
        READERS[kind](path)


def test_not_a_regular_file_is_refused_before_reading():
    # /dev/zero never ends: a reader that read it whole would never return.
    for reader in READERS.values():
        with pytest.raises(DataError, match="not a regular file"):
            reader("/dev/zero")


def _socket_file(path):
    import socket

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays behind
    return path


@pytest.mark.parametrize("kind", sorted(READERS))
@pytest.mark.parametrize("what", ["folder", "pipe", "socket", "under a file"])
def test_a_path_that_is_no_data_file_is_a_data_error_naming_it(tmp_path, kind, what):
    # Refused before `open`, which would wait forever on a named pipe.
    path = tmp_path / f"data.{kind}"
    if what == "folder":
        path.mkdir()
    elif what == "pipe":
        os.mkfifo(path)
    elif what == "socket":
        _socket_file(path)
    else:
        (tmp_path / "plain").write_text("x")
        path = tmp_path / "plain" / f"data.{kind}"
    with pytest.raises(DataError, match=f"data.{kind}"):
        READERS[kind](path)


_CHILD = textwrap.dedent(
    """
    import resource
    import sys

    limit = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import numpy as np

    from rnn_zoo.data.readers import DataError, read_sequences_npz

    heavy = sorted(m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules)
    if heavy:
        sys.exit("the readers imported " + ", ".join(heavy))
    try:
        np.ones(2**28)  # 2 GiB: proves the limit is in force in this process
    except MemoryError:
        pass
    else:
        sys.exit("the address-space limit is not in force")
    try:
        read_sequences_npz(sys.argv[1])
    except DataError as err:
        print(err)
        sys.exit(0)
    sys.exit("no DataError")
    """
)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_savez(x=np.ones((2, 3, 1)), labels=np.array([0, 2**40])), id="label-2**40"),
        pytest.param(_zip([("x.npy", _npy_header("<f8", (2**34, 1, 1)))]), id="rows-2**34"),
        pytest.param(_savez(values=np.ones((2, 1)), lengths=np.array([1, 2**33])),
                     id="length-2**33"),
    ],
)
def test_sizes_are_checked_before_allocation_in_a_numpy_only_process(folder, content):
    path = _put(folder, "allocation.npz", content)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": REPO}
    start = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
    )
    elapsed = time.monotonic() - start
    assert child.returncode == 0, child.stdout + child.stderr
    assert str(path) in child.stdout and "rnn_zoo.data.limits" in child.stdout, child.stdout
    assert elapsed < 30, elapsed
