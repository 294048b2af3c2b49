"""Real data sets that ship inside PyPI packages, so nothing is downloaded at run time.

- `load_japanese_vowels`, `load_basic_motions` (and `load_aeon_classification` for the
  other classification problems bundled with aeon): multivariate time series.
- `load_bach_chorales`: the 4-part Bach chorales of music21's corpus as 88-key piano
  rolls, close to the JSB Chorales benchmark (Boulanger-Lewandowski et al. 2012).

aeon and music21 are optional (`pip install "rnn-zoo[data]"`); they are imported inside
the functions, so `import rnn_zoo.data` works without them.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from rnn_zoo import atomic
from rnn_zoo.data.readers import SequenceData
from rnn_zoo.data.readers import pad_sequences

__all__ = [
    "CHORALE_LOWEST_MIDI",
    "CHORALE_NUM_KEYS",
    "default_cache_dir",
    "load_aeon_classification",
    "load_bach_chorales",
    "load_basic_motions",
    "load_japanese_vowels",
]

_logger = logging.getLogger(__name__)
_SPLITS = ("train", "test")
_CHORALE_SPLITS = ("train", "valid", "test")
CHORALE_LOWEST_MIDI = 21  # A0, the lowest piano key
CHORALE_NUM_KEYS = 88  # A0 (21) .. C8 (108)
_CHORALE_CACHE_VERSION = 1


def _import_optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"This loader needs the optional package {module.split('.')[0]!r}, which is not "
            'installed. Install the data extras: pip install "rnn-zoo[data]"'
        ) from err


def _check_split(split: str, allowed: tuple[str, ...]) -> None:
    if split not in allowed:
        raise ValueError(
            f"Invalid value received for argument `split`. Expected one of {allowed}. Received:"
            f" split={split!r}"
        )


# --------------------------------------------------------------------------- aeon


def load_aeon_classification(name: str, *, split: str = "train") -> SequenceData:
    """Load a time-series classification problem bundled with aeon (offline).

    aeon stores a series as `[channels, length]`; this returns time-major samples
    `[length, channels]`, right-padded with 0.0 to the longest series of the split.
    Values are left as published (no normalisation).

    Args:
        name: a problem bundled with aeon 1.6, e.g. "JapaneseVowels", "BasicMotions",
            "GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "ACSF1". Other
            names make aeon try a download, which fails offline.
        split: "train" or "test". Default "train".

    Returns:
        `SequenceData` with float32 `x [n, max_len, channels]`, int32 `lengths [n]`,
        int32 `labels [n]` in `0..K-1`, and `class_names` in aeon's class order (the
        same for both splits).

    Raises:
        ImportError: aeon is not installed.
        ValueError: unknown split, or the series hold missing values (NaN).

    Example:
        >>> data = load_aeon_classification("GunPoint", split="test")
        >>> data.x.shape
        (150, 150, 1)
    """
    _check_split(split, _SPLITS)
    aeon_datasets = _import_optional("aeon.datasets")
    # load_equal_length=False keeps variable-length problems as a list of arrays
    # instead of aeon's resampled equal-length variant.
    series, y, metadata = aeon_datasets.load_classification(
        name, split=split, return_metadata=True, load_equal_length=False
    )
    samples = [
        np.asarray(s, dtype=np.float32).T for s in series
    ]  # [channels, len] -> [len, channels]
    for i, sample in enumerate(samples):
        if not np.isfinite(sample).all():
            raise ValueError(
                f"aeon {name} ({split}), series {i + 1}: holds NaN or infinite values; expected"
                " complete series."
            )
    x, lengths = pad_sequences(samples)
    class_names = tuple(str(c) for c in metadata.get("class_values") or sorted(set(map(str, y))))
    index = {c: i for i, c in enumerate(class_names)}
    labels = np.array([index[str(label)] for label in y], dtype=np.int32)
    return SequenceData(x, lengths, labels=labels, class_names=class_names)


def load_japanese_vowels(*, split: str = "train") -> SequenceData:
    """Load JapaneseVowels: 9 speakers, 12 LPC cepstrum channels, 7 to 29 steps.

    270 training and 370 test utterances of variable length. Published accuracies:
    LSTM-FCN 0.99, MLSTM-FCN 1.00 (Karim et al. 2018); FCN 0.993 (Fawaz et al. 2019).

    Args:
        split: "train" or "test". Default "train".

    Returns:
        `SequenceData`: float32 `x [n, max_len, 12]` right-padded with 0.0 (max_len is
        26 for train, 29 for test), `lengths`, `labels` 0..8, `class_names` "1".."9".

    Example:
        >>> train = load_japanese_vowels(split="train")
        >>> train.x.shape, len(train.class_names)
        ((270, 26, 12), 9)
    """
    return load_aeon_classification("JapaneseVowels", split=split)


def load_basic_motions(*, split: str = "train") -> SequenceData:
    """Load BasicMotions: smartwatch accelerometer + gyroscope, 6 channels x 100 steps.

    40 training and 40 test series, 4 classes (badminton, running, standing, walking).

    Args:
        split: "train" or "test". Default "train".

    Returns:
        `SequenceData`: float32 `x [40, 100, 6]`, `lengths` all 100, `labels` 0..3.

    Example:
        >>> load_basic_motions(split="test").class_names  # aeon's order, not sorted
        ('standing', 'running', 'walking', 'badminton')
    """
    return load_aeon_classification("BasicMotions", split=split)


# --------------------------------------------------------------------------- music21


def default_cache_dir() -> Path:
    """`$RNN_ZOO_CACHE` if set, else `~/.cache/rnn_zoo`."""
    return Path(os.environ.get("RNN_ZOO_CACHE") or Path.home() / ".cache" / "rnn_zoo")


def _chorale_split(name: str) -> str:
    """Fixed 60/20/20 split by a hash of the chorale's name.

    Hashing (with a fixed salt) rather than shuffling keeps every chorale in the same
    split whatever `max_chorales` is, and 60/20/20 follows the JSB Chorales proportions.
    """
    u = (
        int.from_bytes(hashlib.sha256(f"rnn-zoo-chorales-0/{name}".encode()).digest()[:8], "big")
        / 2**64
    )
    return "train" if u < 0.6 else "valid" if u < 0.8 else "test"


def _piano_roll(score: Any) -> np.ndarray:
    """Binary `[steps, 88]` roll: key k is on at step t if MIDI 21+k sounds at beat t.

    Sampling at the start of each quarter note (as in JSB Chorales) drops notes that
    begin and end between two beats, such as off-beat passing eighths.
    """
    eps = 1e-6
    steps = int(math.ceil(float(score.highestTime) - eps))
    roll = np.zeros((steps, CHORALE_NUM_KEYS), dtype=np.uint8)
    for part in score.parts:
        for element in part.flatten().notes:
            start = float(element.offset)
            stop = start + float(element.duration.quarterLength)
            first, last = int(math.ceil(start - eps)), int(math.ceil(stop - eps))
            for pitch in element.pitches:
                key = pitch.midi - CHORALE_LOWEST_MIDI
                if 0 <= key < CHORALE_NUM_KEYS:
                    roll[first:last, key] = 1
    return roll


def _parse_chorales(max_chorales: int | None) -> tuple[list[str], list[np.ndarray]]:
    music21 = _import_optional("music21")
    names: list[str] = []
    rolls: list[np.ndarray] = []
    for name in music21.corpus.chorales.Iterator(returnType="filename"):
        # forceSource=True parses the MusicXML itself instead of music21's pickle cache.
        score = music21.corpus.parse(name, forceSource=True)
        if len(score.parts) != 4:
            continue
        roll = _piano_roll(score)
        if len(roll) == 0:
            continue
        names.append(str(name))
        rolls.append(roll)
        if max_chorales is not None and len(names) >= max_chorales:
            break
    return names, rolls


def _read_chorale_cache(path: Path) -> tuple[list[str], list[np.ndarray]] | None:
    try:
        # allow_pickle=False: the cache holds only numeric and fixed-width string arrays.
        with np.load(path, allow_pickle=False) as cache:
            if int(cache["format_version"]) != _CHORALE_CACHE_VERSION:
                return None
            names = [str(n) for n in cache["names"]]
            lengths = cache["lengths"].astype(np.int64)
            flat = cache["rolls"]
    except (OSError, KeyError, ValueError, TypeError, EOFError, zlib.error, zipfile.BadZipFile):
        return None  # missing or unreadable: parse again and rewrite it
    if lengths.ndim != 1 or (lengths < 0).any():
        return None
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    if bounds[-1] != len(flat) or len(names) != len(lengths):
        return None
    return names, [flat[bounds[i] : bounds[i + 1]] for i in range(len(names))]


def _write_chorale_cache(path: Path, names: list[str], rolls: list[np.ndarray]) -> None:
    # Through rnn_zoo.atomic: readers never see a half-written cache, and two processes
    # filling the cache at once do not clash.
    def write(temporary: str) -> None:
        with open(temporary, "wb") as stream:
            np.savez_compressed(
                stream,
                format_version=np.array(_CHORALE_CACHE_VERSION),
                names=np.array(names, dtype=str),
                lengths=np.array([len(r) for r in rolls], dtype=np.int32),
                rolls=np.concatenate(rolls).astype(np.uint8),
            )

    atomic.write_with(path, write)


def load_bach_chorales(
    *,
    split: str = "train",
    max_chorales: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> SequenceData:
    """Load the 4-part Bach chorales of music21's corpus as 88-key piano rolls.

    Each chorale becomes a binary multi-hot sequence at quarter-note steps:
    `x[i, t, k] = 1.0` when MIDI pitch `21 + k` sounds at the start of beat `t`. Of the
    371 chorales bundled with music21 10.5.1, those with exactly 4 parts are kept (351,
    24 to 193 steps). The split is fixed (60/20/20 by a hash of each chorale's name:
    211 / 67 / 73 chorales),
    close in spirit to JSB Chorales (Chung et al. 2014) but not the same pieces: compare
    rankings of models, not absolute NLL.

    Parsing every chorale takes about a minute, so the rolls are cached as a compressed
    `.npz` in `cache_dir` after the first call (written atomically; read back without
    pickle). Delete the file to force a re-parse. A cache that cannot be written is
    logged as a warning; the data is returned all the same.

    Args:
        split: "train", "valid" or "test". Default "train".
        max_chorales: keep only the first N 4-part chorales in corpus order, then split
            them (for quick tests). Default None: all of them.
        cache_dir: where the cache lives. Default None: `$RNN_ZOO_CACHE`, else
            `~/.cache/rnn_zoo`.

    Returns:
        `SequenceData`: float32 `x [n, max_len, 88]` right-padded with 0.0, int32
        `lengths [n]`, and `names` (corpus paths such as "bach/bwv269"). For
        next-step prediction, feed `x[:, :-1]` and predict `x[:, 1:]`.

    Raises:
        ImportError: music21 is not installed.

    Example:
        >>> train = load_bach_chorales(split="train")
        >>> train.x.shape[-1], train.x.dtype
        (88, dtype('float32'))
    """
    _check_split(split, _CHORALE_SPLITS)
    if max_chorales is not None and max_chorales < 1:
        raise ValueError(
            "Invalid value received for argument `max_chorales`. Expected None or an integer >= 1."
            f" Received: max_chorales={max_chorales!r}"
        )
    music21 = _import_optional("music21")
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    # The music21 version is in the name: another corpus release means another cache.
    tag = "all" if max_chorales is None else f"first{max_chorales}"
    path = (
        cache_root
        / f"bach_chorales_v{_CHORALE_CACHE_VERSION}_music21-{music21.__version__}_{tag}.npz"
    )
    cached = _read_chorale_cache(path)
    if cached is None:
        names, rolls = _parse_chorales(max_chorales)
        try:
            _write_chorale_cache(path, names, rolls)
        except OSError as err:
            # The rolls are parsed and correct; a cache that cannot be written (read-only
            # or full disk) costs the next call a re-parse, not this call its data.
            _logger.warning("Could not write the chorale cache %s: %s", path, err)
    else:
        names, rolls = cached
    keep = [i for i, name in enumerate(names) if _chorale_split(name) == split]
    if not keep:  # only possible with a tiny max_chorales
        return SequenceData(np.zeros((0, 1, CHORALE_NUM_KEYS), np.float32), np.zeros(0, np.int32))
    x, lengths = pad_sequences([rolls[i] for i in keep])
    return SequenceData(x, lengths, names=tuple(names[i] for i in keep))
