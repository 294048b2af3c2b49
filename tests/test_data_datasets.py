"""Offline real data: aeon time series and music21 Bach chorales (real files, small)."""

import numpy as np
import pytest

from rnn_zoo.data import datasets
from rnn_zoo.data.datasets import load_bach_chorales
from rnn_zoo.data.datasets import load_basic_motions
from rnn_zoo.data.datasets import load_japanese_vowels


def test_japanese_vowels_is_time_major_right_padded_and_labelled():
    from aeon.datasets import load_classification

    train = load_japanese_vowels(split="train")
    assert train.x.shape == (270, 26, 12) and train.x.dtype == np.float32
    assert (
        train.lengths.dtype == np.int32 and train.lengths.min() == 7 and train.lengths.max() == 26
    )
    assert train.class_names == tuple(str(i) for i in range(1, 10))
    assert np.bincount(train.labels).tolist() == [30] * 9
    assert (train.x[~train.mask] == 0.0).all()
    # aeon gives [channels, length]; we give [length, channels].
    raw, y = load_classification("JapaneseVowels", split="train")
    for i in (0, 137, 269):
        np.testing.assert_allclose(train.x[i, : train.lengths[i]], raw[i].T, rtol=1e-6)
        assert train.class_names[train.labels[i]] == y[i]


def test_japanese_vowels_test_split_shares_the_class_names():
    test = load_japanese_vowels(split="test")
    assert test.x.shape == (370, 29, 12)
    assert test.class_names == load_japanese_vowels(split="train").class_names
    assert set(test.labels.tolist()) == set(range(9))


def test_basic_motions_has_fixed_length_and_four_classes():
    train, test = load_basic_motions(split="train"), load_basic_motions(split="test")
    assert train.x.shape == test.x.shape == (40, 100, 6)
    assert (train.lengths == 100).all()
    assert train.class_names == test.class_names and len(train.class_names) == 4
    assert np.bincount(train.labels).tolist() == [10] * 4


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match="split"):
        load_japanese_vowels(split="valid")
    with pytest.raises(ValueError, match="split"):
        load_bach_chorales(split="dev", max_chorales=1, cache_dir="unused")


def test_missing_optional_package_names_the_extra():
    with pytest.raises(ImportError, match=r'pip install "rnn-zoo\[data\]"'):
        datasets._import_optional("rnn_zoo_no_such_module")


def test_bach_chorales_piano_rolls_splits_and_cache(tmp_path):
    splits = {
        s: load_bach_chorales(split=s, max_chorales=5, cache_dir=tmp_path)
        for s in ("train", "valid", "test")
    }
    cache_files = list(tmp_path.glob("*.npz"))
    assert len(cache_files) == 1 and not list(tmp_path.glob("*.tmp"))
    names = [n for d in splits.values() for n in d.names]
    assert len(names) == len(set(names)) == 5  # disjoint splits covering the 5 chorales
    for data in splits.values():
        if not len(data):
            continue
        assert data.x.dtype == np.float32 and data.x.shape[2] == 88
        assert set(np.unique(data.x).tolist()) <= {0.0, 1.0}
        assert (data.x[~data.mask] == 0.0).all()
        assert data.x.sum(axis=2).max() <= 4  # four voices
        assert 20 <= data.lengths.min() and data.lengths.max() <= 200
    # bwv269 starts with the soprano on G4 (MIDI 67) on the first beat.
    train = splits["train"]
    first = train.names.index("bach/bwv269")
    assert train.x[first, 0, 67 - 21] == 1.0

    # The cache holds plain arrays only (loads without pickle) and is reused as is.
    with np.load(cache_files[0], allow_pickle=False) as cache:
        assert cache["rolls"].dtype == np.uint8 and len(cache["names"]) == 5
    again = load_bach_chorales(split="train", max_chorales=5, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.x, train.x)
    assert again.names == train.names

    # A damaged cache is rebuilt, not trusted.
    cache_files[0].write_bytes(b"not a zip")
    rebuilt = load_bach_chorales(split="train", max_chorales=5, cache_dir=tmp_path)
    np.testing.assert_array_equal(rebuilt.x, train.x)


def test_chorale_split_membership_does_not_depend_on_max_chorales(tmp_path):
    small = load_bach_chorales(split="train", max_chorales=3, cache_dir=tmp_path)
    large = load_bach_chorales(split="train", max_chorales=5, cache_dir=tmp_path)
    assert set(small.names) <= set(large.names)
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_cache_dir_defaults_to_env_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_ZOO_CACHE", str(tmp_path / "c"))
    assert datasets.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("RNN_ZOO_CACHE")
    assert datasets.default_cache_dir().parts[-2:] == (".cache", "rnn_zoo")


def test_chorale_cache_write_goes_through_atomic_and_a_failed_write_loses_nothing(
    tmp_path, monkeypatch, caplog
):
    from rnn_zoo import atomic

    def fail(source, destination):
        raise OSError(28, "No space left on device (injected)")

    monkeypatch.setattr(atomic, "_replace", fail)
    with caplog.at_level("WARNING", logger="rnn_zoo.data.datasets"):
        first = load_bach_chorales(split="train", max_chorales=3, cache_dir=tmp_path)
    # The parsed data is returned; no cache and no temporary file are left visible.
    assert len(first) and "No space left" in caplog.text
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    second = load_bach_chorales(split="train", max_chorales=3, cache_dir=tmp_path)
    np.testing.assert_array_equal(second.x, first.x)
    assert [p.suffix for p in tmp_path.iterdir()] == [".npz"]
