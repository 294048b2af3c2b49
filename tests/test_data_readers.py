"""Bring-your-own-data readers: happy paths and bad input that names the file and row."""

import contextlib
import dataclasses
import json

import numpy as np
import pytest

from rnn_zoo.data.readers import DataError
from rnn_zoo.data.readers import SequenceData
from rnn_zoo.data.readers import TextClassificationData
from rnn_zoo.data.readers import pad_sequences
from rnn_zoo.data.readers import read_array_npz
from rnn_zoo.data.readers import read_sequences_npz
from rnn_zoo.data.readers import read_text_csv
from rnn_zoo.data.readers import read_text_jsonl


def _write(path, content):
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


@contextlib.contextmanager
def _raises_naming(path, where=None, match=None):
    """Expect a DataError (a ValueError) whose message names the file, the row and the problem."""
    with pytest.raises(DataError) as info:
        yield
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(path) in message, message
    for part in (where, match):
        if part:
            assert part in message, message


# --------------------------------------------------------------------------- happy paths


def test_csv_reads_texts_and_sorted_label_names(tmp_path):
    path = _write(
        tmp_path / "a.csv", 'id,text,label\n1,good food,pos\n2,"bad, cold food",neg\n3,ok,pos\n'
    )
    data = read_text_csv(path)
    assert isinstance(data, TextClassificationData)
    assert data.texts == ["good food", "bad, cold food", "ok"]
    assert data.class_names == ("neg", "pos")
    assert data.labels.tolist() == [1, 0, 1] and data.labels.dtype == np.int32


def test_csv_integer_labels_sort_numerically_and_given_labels_keep_their_order(tmp_path):
    path = _write(tmp_path / "n.csv", "text,label\na,10\nb,2\nc,1\n")
    assert read_text_csv(path).class_names == ("1", "2", "10")
    data = read_text_csv(path, labels=[10, 2, 1])
    assert data.class_names == ("10", "2", "1") and data.labels.tolist() == [0, 1, 2]


def test_csv_custom_columns_bom_quoted_newline_and_blank_lines(tmp_path):
    path = _write(tmp_path / "c.csv", '\ufeffreview,stars\n"line one\nline two",5\n\ncafé 日本,1\n')
    data = read_text_csv(path, text_column="review", label_column="stars")
    assert data.texts == ["line one\nline two", "café 日本"]
    assert data.class_names == ("1", "5")


def _jsonl(path, records):
    return _write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def test_jsonl_reads_string_and_integer_labels(tmp_path):
    path = _jsonl(tmp_path / "a.jsonl", [{"text": "good", "label": 1}, {"text": "bad", "label": 0}])
    data = read_text_jsonl(path)
    assert data.texts == ["good", "bad"] and data.class_names == ("0", "1")
    assert data.labels.tolist() == [1, 0]
    named = _jsonl(tmp_path / "b.jsonl", [{"body": "naïve", "y": "pos"}])
    data = read_text_jsonl(named, text_key="body", label_key="y", labels=["neg", "pos"])
    assert data.texts == ["naïve"] and data.labels.tolist() == [1]


def test_npz_padded_layout_resets_padding_and_casts_to_float32(tmp_path):
    x = np.arange(2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2) + 1
    path = tmp_path / "p.npz"
    np.savez(
        path,
        x=x,
        lengths=np.array([3, 1]),
        labels=np.array([1, 0]),
        class_names=np.array(["a", "b"]),
    )
    data = read_sequences_npz(path)
    assert isinstance(data, SequenceData)
    assert data.x.dtype == np.float32 and data.x.shape == (2, 3, 2)
    np.testing.assert_array_equal(data.x[0], x[0])
    np.testing.assert_array_equal(data.x[1, 1:], 0.0)  # padding after lengths[1] = 1
    assert data.lengths.tolist() == [3, 1] and data.labels.tolist() == [1, 0]
    assert data.class_names == ("a", "b")
    assert data.mask.tolist() == [[True, True, True], [True, False, False]]


def test_npz_concatenated_layout_and_default_lengths(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(
        path,
        values=np.arange(5, dtype=np.float32),
        lengths=np.array([2, 3]),
        targets=np.array([0.5, 1.5]),
    )
    data = read_sequences_npz(path)
    assert data.x.shape == (2, 3, 1)
    assert data.x[:, :, 0].tolist() == [[0, 1, 0], [2, 3, 4]]
    assert data.targets.tolist() == [0.5, 1.5]
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones((4, 7)))
    assert read_sequences_npz(plain).lengths.tolist() == [7] * 4


def test_read_array_npz_reads_one_array_by_key_or_the_only_one(tmp_path):
    ids = np.array([[2, 3, 4], [5, 0, 0]], dtype=np.int32)
    path = tmp_path / "ids.npz"
    np.savez(path, token_ids=ids, note=np.array(["left unread"]))
    read = read_array_npz(path, "token_ids", kinds="iu", ranks=(2,))
    np.testing.assert_array_equal(read, ids)
    assert read.dtype == np.int32
    single = tmp_path / "single.npz"
    np.savez(single, anything=np.ones((2, 3), np.float32))
    assert read_array_npz(single).shape == (2, 3)
    with _raises_naming(path, None, "expected exactly one"):
        read_array_npz(path)
    with _raises_naming(path, None, "no key 'features'"):
        read_array_npz(path, "features")
    with _raises_naming(path, "'token_ids'", "dtype int32"):
        read_array_npz(path, "token_ids", kinds="f")
    with _raises_naming(path, "'token_ids'", "rank 3"):
        read_array_npz(path, "token_ids", ranks=(3,))


# --------------------------------------------------------------------------- the label rule


def test_equal_numeric_labels_are_one_class_in_csv_and_jsonl(tmp_path):
    csv_path = _write(tmp_path / "n.csv", "text,label\na,1\nb,1.0\nc,01\nd,1e0\ne,2\nf,0.50\n")
    data = read_text_csv(csv_path)
    assert data.class_names == ("0.5", "1", "2")
    assert data.labels.tolist() == [1, 1, 1, 1, 2, 0]
    jsonl_path = _write(
        tmp_path / "n.jsonl",
        '{"text": "a", "label": 1}\n{"text": "b", "label": 1.0}\n{"text": "c", "label": "1"}\n'
        '{"text": "d", "label": 10}\n{"text": "e", "label": 2}\n',
    )
    data = read_text_jsonl(jsonl_path)
    assert data.class_names == ("1", "2", "10")
    assert data.labels.tolist() == [0, 0, 0, 2, 1]
    # The caller's label set follows the same rule, and may not name one class twice.
    assert read_text_jsonl(jsonl_path, labels=["10.0", 2, 1]).labels.tolist() == [2, 2, 2, 0, 1]
    with pytest.raises(ValueError, match=r"argument `labels`.*'1' occurs twice"):
        read_text_csv(csv_path, labels=[1, 1.0, 2])


def test_labels_that_are_not_numbers_compare_as_written(tmp_path):
    path = _write(tmp_path / "s.csv", "text,label\na,pos\nb, pos \nc,Pos\nd,+1\ne,nan\n")
    data = read_text_csv(path)
    # "+1" is the number 1; "nan" is no number; mixed sets sort as strings.
    assert data.class_names == ("1", "Pos", "nan", "pos")
    assert data.labels.tolist() == [3, 3, 1, 0, 2]


def test_npz_float_labels_and_bytes_class_names_are_accepted(tmp_path):
    path = tmp_path / "b.npz"
    np.savez(
        path,
        x=np.ones((2, 3)),
        labels=np.array([1.0, 0.0]),
        class_names=np.array(["café".encode(), b"neg"]),
    )
    data = read_sequences_npz(path)
    assert data.labels.tolist() == [1, 0] and data.class_names == ("café", "neg")


@pytest.mark.parametrize(
    "labels, match",
    [
        pytest.param("pos", "a list of labels", id="a-string"),
        pytest.param({"neg", "pos"}, "a list of labels", id="a-set-has-no-order"),
        pytest.param([], "non-empty", id="empty"),
        pytest.param(["neg", "neg"], "'neg' occurs twice", id="repeated"),
        pytest.param([1, "1.0"], "'1' occurs twice", id="equal-numbers"),
        pytest.param(["a\nb"], "line break", id="line-break"),
        pytest.param([" "], "empty label", id="blank"),
    ],
)
def test_invalid_labels_argument_names_the_argument(tmp_path, labels, match):
    path = _write(tmp_path / "a.csv", "text,label\na,pos\n")
    for reader in (read_text_csv, read_text_jsonl):
        with pytest.raises(ValueError, match=r"argument `labels`.*" + match):
            reader(path, labels=labels)


def test_text_and_label_column_must_differ(tmp_path):
    path = _write(tmp_path / "a.csv", "text,label\na,pos\n")
    with pytest.raises(ValueError, match="argument `label_column`"):
        read_text_csv(path, text_column="text", label_column="text")
    with pytest.raises(ValueError, match="argument `label_key`"):
        read_text_jsonl(path, text_key="text", label_key="text")


# --------------------------------------------------------------------------- bad input


def _npz(**arrays):
    def write(path):
        np.savez(path, **arrays)

    return write


def _object_npz(path):
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.ones((2, 1)), np.ones((3, 1))
    np.savez(path, x=ragged)  # numpy pickles object arrays


_NAN_X = np.zeros((3, 4, 2), dtype=np.float32)
_NAN_X[2, 1, 0] = np.nan

# (reader, file name, content: str | bytes | callable(path), reader kwargs, where, match)
_BAD_INPUT = [
    pytest.param(read_text_csv, "empty.csv", "", {}, None, "empty", id="csv-empty-file"),
    pytest.param(
        read_text_csv, "header.csv", "text,label\n", {}, None, "no data rows", id="csv-header-only"
    ),
    pytest.param(
        read_text_csv, "m.csv", "sentence,label\nhello,pos\n", {}, "line 1", "'text'",
        id="csv-missing-column",
    ),
    pytest.param(
        read_text_csv, "l.csv", "text,label\ngood,pos\nmeh,neutral\n", {"labels": ["neg", "pos"]},
        "line 3", "'neutral'", id="csv-label-outside-label-set",
    ),
    pytest.param(
        read_text_csv, "b.csv", b"text,label\ngood,pos\nbad \xff\xfe,neg\n", {}, "line 3", "UTF-8",
        id="csv-undecodable-bytes",
    ),
    pytest.param(
        read_text_csv, "e.csv", "text,label\ngood,pos\n   ,neg\n", {}, "line 3", "empty text",
        id="csv-empty-text",
    ),
    pytest.param(
        read_text_csv, "f.csv", "text,label\ngood,pos,extra\n", {}, "line 2", "fields",
        id="csv-wrong-field-count",
    ),
    pytest.param(
        read_text_csv, "ml.csv", 'text,label\n"two\nlines",pos\n"",neg\n', {}, "line 4",
        "empty text", id="csv-line-number-counts-multiline-records",
    ),
    pytest.param(read_text_jsonl, "empty.jsonl", "\n\n", {}, None, "empty", id="jsonl-empty-file"),
    pytest.param(
        read_text_jsonl, "j.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b", "label": \n', {},
        "line 3", "invalid JSON", id="jsonl-invalid-json",
    ),
    pytest.param(
        read_text_jsonl, "k.jsonl", '{"text": "a", "label": 1}\n{"text": "b"}\n', {}, "line 2",
        "'label'", id="jsonl-missing-key",
    ),
    pytest.param(
        read_text_jsonl, "o.jsonl", '["text", 1]\n', {}, "line 1", "JSON object",
        id="jsonl-record-not-an-object",
    ),
    pytest.param(
        read_text_jsonl, "t.jsonl", '{"text": "a", "label": true}\n', {}, "line 1", "integer",
        id="jsonl-boolean-label",
    ),
    pytest.param(
        read_text_jsonl, "e.jsonl", '{"text": "a", "label": "pos"}\n{"text": "", "label": "pos"}\n',
        {}, "line 2", "non-empty string", id="jsonl-empty-text",
    ),
    pytest.param(
        read_text_jsonl, "u.jsonl",
        '{"text": "a", "label": "pos"}\n{"text": "b", "label": "meh"}\n',
        {"labels": ["neg", "pos"]}, "line 2", "'meh'", id="jsonl-label-outside-label-set",
    ),
    pytest.param(
        read_text_jsonl, "b.jsonl",
        b'{"text": "a", "label": 1}\n{"text": "\xc3\x28", "label": 1}\n',
        {}, "line 2", "UTF-8", id="jsonl-undecodable-bytes",
    ),
    pytest.param(
        read_sequences_npz, "nan.npz", _npz(x=_NAN_X), {}, "record 3, step 2", "NaN",
        id="npz-nan-names-record-and-step",
    ),
    pytest.param(
        read_sequences_npz, "z.npz", _npz(x=np.ones((3, 4, 1)), lengths=np.array([4, 0, 2])), {},
        "record 2", "at least 1", id="npz-zero-length-sequence",
    ),
    pytest.param(
        read_sequences_npz, "obj.npz", _object_npz, {}, "'x'", "pickle",
        id="npz-object-arrays-refused-without-unpickling",
    ),
    pytest.param(
        read_sequences_npz, "lab.npz",
        _npz(x=np.ones((2, 3, 1)), labels=np.array([0, 5]), class_names=np.array(["a", "b"])), {},
        "record 2", "expected 0..1", id="npz-label-outside-class-names",
    ),
    pytest.param(
        read_sequences_npz, "long.npz", _npz(x=np.ones((2, 3, 1)), lengths=np.array([3, 4])), {},
        "record 2", "at most 3", id="npz-length-longer-than-x",
    ),
    pytest.param(
        read_sequences_npz, "not.npz", "hello", {}, None, ".npz", id="npz-not-an-archive"
    ),
]


@pytest.mark.parametrize("reader, filename, content, kwargs, where, match", _BAD_INPUT)
def test_bad_input_raises_data_error_naming_file_place_and_problem(
    tmp_path, reader, filename, content, kwargs, where, match
):
    path = tmp_path / filename
    if callable(content):
        content(path)
    else:
        _write(path, content)
    with _raises_naming(path, where, match):
        reader(path, **kwargs)


# --------------------------------------------------------------------------- containers


def test_containers_select_and_check_row_counts():
    data = TextClassificationData(
        ["a", "b", "c"], [0, 1, 0], ("x", "y"), negated=[True, False, True]
    )
    picked = data.select(data.negated)
    assert picked.texts == ["a", "c"] and picked.negated.tolist() == [True, True]
    assert picked.order_dependent is None
    with pytest.raises(ValueError, match="labels"):
        TextClassificationData(["a"], [0, 1], ("x", "y"))
    seq = SequenceData(np.zeros((2, 3, 1)), [3, 1], names=("p", "q"))
    assert seq.select([1]).names == ("q",) and seq.select([1]).x.shape == (1, 3, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seq.x = None


def test_pad_sequences_right_pads_with_zeros():
    x, lengths = pad_sequences([np.ones((2, 3)), np.full((4, 3), 2.0)])
    assert x.shape == (2, 4, 3) and x.dtype == np.float32
    assert lengths.tolist() == [2, 4]
    assert (x[0, 2:] == 0).all() and (x[1] == 2).all()
    with pytest.raises(ValueError, match="max_length"):
        pad_sequences([np.ones((5, 1))], max_length=3)
