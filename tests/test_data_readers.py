"""Bring-your-own-data readers: happy paths and bad input that names the file and row."""

import contextlib
import dataclasses
import json

import numpy as np
import pytest

from rnn_zoo.data.readers import (
    DataError,
    SequenceData,
    TextClassificationData,
    pad_sequences,
    read_sequences_npz,
    read_text_csv,
    read_text_jsonl,
)


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


# --------------------------------------------------------------------------- CSV


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


def test_csv_empty_file_raises(tmp_path):
    path = _write(tmp_path / "empty.csv", "")
    with _raises_naming(path, None, "empty"):
        read_text_csv(path)


def test_csv_header_only_raises(tmp_path):
    path = _write(tmp_path / "header.csv", "text,label\n")
    with _raises_naming(path, None, "no data rows"):
        read_text_csv(path)


def test_csv_missing_column_raises_naming_line_1(tmp_path):
    path = _write(tmp_path / "m.csv", "sentence,label\nhello,pos\n")
    with _raises_naming(path, "line 1", "'text'"):
        read_text_csv(path)


def test_csv_label_outside_label_set_raises_naming_the_line(tmp_path):
    path = _write(tmp_path / "l.csv", "text,label\ngood,pos\nmeh,neutral\n")
    with _raises_naming(path, "line 3", "'neutral'"):
        read_text_csv(path, labels=["neg", "pos"])


def test_csv_undecodable_bytes_raise_naming_the_line(tmp_path):
    path = _write(tmp_path / "b.csv", b"text,label\ngood,pos\nbad \xff\xfe,neg\n")
    with _raises_naming(path, "line 3", "UTF-8"):
        read_text_csv(path)


def test_csv_empty_text_raises_naming_the_line(tmp_path):
    path = _write(tmp_path / "e.csv", "text,label\ngood,pos\n   ,neg\n")
    with _raises_naming(path, "line 3", "empty text"):
        read_text_csv(path)


def test_csv_wrong_field_count_raises_naming_the_line(tmp_path):
    path = _write(tmp_path / "f.csv", "text,label\ngood,pos,extra\n")
    with _raises_naming(path, "line 2", "fields"):
        read_text_csv(path)


def test_csv_line_number_counts_multiline_records(tmp_path):
    path = _write(tmp_path / "ml.csv", 'text,label\n"two\nlines",pos\n"",neg\n')
    with _raises_naming(path, "line 4", "empty text"):
        read_text_csv(path)


# --------------------------------------------------------------------------- JSONL


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


def test_jsonl_empty_file_raises(tmp_path):
    path = _write(tmp_path / "empty.jsonl", "\n\n")
    with _raises_naming(path, None, "empty"):
        read_text_jsonl(path)


def test_jsonl_invalid_json_raises_naming_the_line(tmp_path):
    path = _write(tmp_path / "j.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b", "label": \n')
    with _raises_naming(path, "line 3", "invalid JSON"):
        read_text_jsonl(path)


def test_jsonl_missing_key_raises_naming_the_line(tmp_path):
    path = _jsonl(tmp_path / "k.jsonl", [{"text": "a", "label": 1}, {"text": "b"}])
    with _raises_naming(path, "line 2", "'label'"):
        read_text_jsonl(path)


def test_jsonl_non_object_and_bad_label_types_raise(tmp_path):
    path = _write(tmp_path / "o.jsonl", '["text", 1]\n')
    with _raises_naming(path, "line 1", "JSON object"):
        read_text_jsonl(path)
    path = _jsonl(tmp_path / "t.jsonl", [{"text": "a", "label": True}])
    with _raises_naming(path, "line 1", "integer"):
        read_text_jsonl(path)


def test_jsonl_empty_text_and_unknown_label_raise_naming_the_line(tmp_path):
    path = _jsonl(
        tmp_path / "e.jsonl", [{"text": "a", "label": "pos"}, {"text": "", "label": "pos"}]
    )
    with _raises_naming(path, "line 2", "non-empty string"):
        read_text_jsonl(path)
    path = _jsonl(
        tmp_path / "u.jsonl", [{"text": "a", "label": "pos"}, {"text": "b", "label": "meh"}]
    )
    with _raises_naming(path, "line 2", "'meh'"):
        read_text_jsonl(path, labels=["neg", "pos"])


def test_jsonl_undecodable_bytes_raise_naming_the_line(tmp_path):
    path = _write(
        tmp_path / "b.jsonl", b'{"text": "a", "label": 1}\n{"text": "\xc3\x28", "label": 1}\n'
    )
    with _raises_naming(path, "line 2", "UTF-8"):
        read_text_jsonl(path)


# --------------------------------------------------------------------------- NPZ


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


def test_npz_nan_raises_naming_record_and_step(tmp_path):
    x = np.zeros((3, 4, 2), dtype=np.float32)
    x[2, 1, 0] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, x=x)
    with _raises_naming(path, "record 3, step 2", "NaN"):
        read_sequences_npz(path)


def test_npz_zero_length_sequence_raises_naming_the_record(tmp_path):
    path = tmp_path / "z.npz"
    np.savez(path, x=np.ones((3, 4, 1)), lengths=np.array([4, 0, 2]))
    with _raises_naming(path, "record 2", "at least 1"):
        read_sequences_npz(path)


def test_npz_object_arrays_are_refused_without_unpickling(tmp_path):
    path = tmp_path / "obj.npz"
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.ones((2, 1)), np.ones((3, 1))
    np.savez(path, x=ragged)  # numpy pickles object arrays
    with _raises_naming(path, "'x'", "pickle"):
        read_sequences_npz(path)


def test_npz_bad_labels_lengths_and_files_raise(tmp_path):
    path = tmp_path / "lab.npz"
    np.savez(path, x=np.ones((2, 3, 1)), labels=np.array([0, 5]), class_names=np.array(["a", "b"]))
    with _raises_naming(path, "record 2", "expected 0..1"):
        read_sequences_npz(path)
    path = tmp_path / "long.npz"
    np.savez(path, x=np.ones((2, 3, 1)), lengths=np.array([3, 4]))
    with _raises_naming(path, "record 2", "at most 3"):
        read_sequences_npz(path)
    path = _write(tmp_path / "not.npz", "hello")
    with _raises_naming(path, None, ".npz"):
        read_sequences_npz(path)


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
