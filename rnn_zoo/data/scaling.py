"""Per-feature standardisation of padded numeric sequences.

Why not `keras.layers.Normalization`: it would also shift the padding steps
(0.0 becomes -mean/std), and the zoo's models find padding by its value
(`RightAlignPadding` / `Masking` with mask value 0.0). The statistics here
come from the real steps only, and padding stays exactly `mask_value`.

The scaler saves itself as `scaler.json` (plain numbers, no pickle), the
numeric counterpart of `TextVectorizer`'s `vocab.txt` + `text_vectorizer.json`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnn_zoo import atomic
from rnn_zoo.data.readers import DataError
from rnn_zoo.data.readers import SequenceData

SCALER_FILE = "scaler.json"
_FORMAT_VERSION = 1
# scaler.json holds two numbers per feature; anything bigger is not one we wrote.
MAX_SCALER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class SequenceScaler:
    """Standardise each feature with statistics of the real steps of a
    training set; padding steps stay `mask_value`.

    Fit it on the training split only and apply the same scaler to every
    other split and to what the deployed model will see.

    Args:
        mean: float32 `[features]`, per-feature mean over the real steps.
        std: float32 `[features]`, per-feature standard deviation; a
            feature that is constant in the training set gets 1.0 (it is
            only centred).
        mask_value: float, default 0.0. In a raw array, a step whose
            features all equal `mask_value` is padding (as the models'
            `Masking` layer reads it); padding is written back as
            `mask_value`.

    Example:
        >>> from rnn_zoo.data import SequenceScaler, load_japanese_vowels
        >>> train = load_japanese_vowels(split="train")  # doctest: +SKIP
        >>> scaler = SequenceScaler.fit(train)  # doctest: +SKIP
        >>> x = scaler.transform(train)  # float32, padding still 0.0  # doctest: +SKIP
        >>> x_raw = scaler.transform(train.x)  # same, padding found by value  # doctest: +SKIP
        >>> scaler.save("bundle"); SequenceScaler.load("bundle")  # doctest: +SKIP
    """

    mean: np.ndarray
    std: np.ndarray
    mask_value: float = 0.0

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float32).reshape(-1)
        std = np.asarray(self.std, dtype=np.float32).reshape(-1)
        if mean.shape != std.shape or mean.size == 0:
            raise ValueError(
                "Invalid value received for arguments `mean` and `std`. Expected two "
                f"non-empty vectors of one length. Received: mean shape {mean.shape}, "
                f"std shape {std.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError(
                "Invalid value received for arguments `mean` and `std`. Expected finite "
                "numbers and std > 0."
            )
        if isinstance(self.mask_value, bool) or not isinstance(
            self.mask_value, (int, float, np.integer, np.floating)
        ) or not math.isfinite(self.mask_value):
            raise ValueError(
                "Invalid value received for argument `mask_value`. Expected a finite number. "
                f"Received: mask_value={self.mask_value!r}"
            )
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "mask_value", float(self.mask_value))

    @property
    def num_features(self) -> int:
        """Number of features the scaler was fitted on."""
        return int(self.mean.shape[0])

    @classmethod
    def fit(cls, data: SequenceData | np.ndarray, mask_value: float = 0.0) -> SequenceScaler:
        """Compute the statistics over the real steps of `data`.

        Args:
            data: a `SequenceData` (padding from its `lengths`), or a float array
                `[n, time, features]` (a step whose features all equal
                `mask_value` is padding).
            mask_value: float, default 0.0, as in the constructor.

        Returns:
            A `SequenceScaler`.

        Example:
            >>> SequenceScaler.fit(np.array([[[1.0], [3.0], [0.0]]])).mean.tolist()
            [2.0]
        """
        x, mask = _steps(data, "data", mask_value)
        real = x[mask]
        if len(real) == 0:
            raise ValueError("`data` has no real step to compute statistics from.")
        real = real.astype(np.float64)
        std = real.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        return cls(mean=real.mean(axis=0).astype(np.float32), std=std.astype(np.float32),
                   mask_value=mask_value)

    def transform(self, data: SequenceData | np.ndarray) -> np.ndarray:
        """Standardise `data`.

        Args:
            data: a `SequenceData` (padding from its `lengths`), or a float array
                `[n, time, features]` (or `[time, features]` for one sequence)
                whose padding steps have every feature equal to `mask_value`.

        Returns:
            float32 `[n, max_len, features]` (`[time, features]` for one
            sequence): `(x - mean) / std` at the real steps, `mask_value` at
            the padding steps.

        Warns:
            UserWarning when a real step becomes all `mask_value`: the models
            would take it for padding (only possible when every feature of
            that step maps exactly onto `mask_value`).

        Example:
            >>> scaler = SequenceScaler(mean=[2.0], std=[2.0])
            >>> scaler.transform(np.array([[[4.0], [0.0]]]))[0, :, 0].tolist()
            [1.0, 0.0]
        """
        single = isinstance(data, np.ndarray) and data.ndim == 2
        x, mask = _steps(data[None] if single else data, "data", self.mask_value)
        if x.shape[-1] != self.num_features:
            raise ValueError(
                f"`data` has {x.shape[-1]} features; the scaler was fitted on "
                f"{self.num_features}."
            )
        x = ((x - self.mean) / self.std).astype(np.float32)
        x[~mask] = self.mask_value
        lost = int(np.sum(mask & np.all(x == self.mask_value, axis=-1)))
        if lost:
            warnings.warn(
                f"{lost} real step(s) are all {self.mask_value} after scaling and will be "
                f"read as padding (mask value {self.mask_value}).",
                stacklevel=2,
            )
        return x[0] if single else x

    # ------------------------------------------------------------------ persistence

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-ready lists and numbers."""
        return {
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "mask_value": self.mask_value,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SequenceScaler:
        """Rebuild a scaler from `get_config()`."""
        return cls(**config)

    def save(self, folder: str | os.PathLike) -> str:
        """Write `scaler.json` into `folder` atomically (created if missing).

        Args:
            folder: destination folder; an existing `scaler.json` is replaced.

        Returns:
            The path of `scaler.json`.

        Example:
            >>> scaler.save("artifacts/series")  # doctest: +SKIP
        """
        payload = {"format_version": _FORMAT_VERSION, "class": "SequenceScaler",
                   "config": self.get_config()}
        return atomic.write_json(os.path.join(os.fspath(folder), SCALER_FILE), payload)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> SequenceScaler:
        """Read the `scaler.json` that `save` wrote into `folder`, checking every value.

        Args:
            folder: holds `scaler.json`.

        Returns:
            A `SequenceScaler`.

        Raises:
            DataError: the file is missing, larger than `MAX_SCALER_BYTES`, not JSON,
                or holds a value of the wrong kind, shape or size (the message names
                the file).

        Example:
            >>> scaler = SequenceScaler.load("artifacts/series")  # doctest: +SKIP
        """
        path = os.path.join(os.fspath(folder), SCALER_FILE)
        if not os.path.isfile(path):
            raise DataError(f"{path}: no such file; expected the scaler written by "
                            "SequenceScaler.save.")
        size = os.path.getsize(path)
        if size > MAX_SCALER_BYTES:
            raise DataError(f"{path}: {size} bytes; expected at most {MAX_SCALER_BYTES}.")
        with open(path, "rb") as stream:
            raw = stream.read()
        try:
            saved = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError) as error:
            raise DataError(f"{path}: not valid JSON ({error}).") from None
        if (not isinstance(saved, dict) or saved.get("format_version") != _FORMAT_VERSION
                or saved.get("class") != "SequenceScaler"
                or not isinstance(saved.get("config"), dict)):
            raise DataError(f"{path}: expected an object with format_version={_FORMAT_VERSION},"
                            " class='SequenceScaler' and a config object.")
        config = saved["config"]
        unknown = sorted(set(config) - {"mean", "std", "mask_value"})
        if unknown or "mean" not in config or "std" not in config:
            raise DataError(f"{path}: config keys {sorted(config)}; expected 'mean', 'std' "
                            "and optionally 'mask_value'.")
        for key in ("mean", "std"):
            values = config[key]
            if (not isinstance(values, list) or not values
                    or not all(_is_number(v) for v in values)):
                raise DataError(f"{path}: `{key}` must be a non-empty list of finite numbers.")
        if len(config["mean"]) != len(config["std"]):
            raise DataError(f"{path}: `mean` has {len(config['mean'])} values and `std` "
                            f"{len(config['std'])}; expected one of each per feature.")
        if not all(v > 0 for v in config["std"]):
            raise DataError(f"{path}: `std` must hold numbers > 0.")
        mask_value = config.get("mask_value", 0.0)
        if not _is_number(mask_value):
            raise DataError(f"{path}: `mask_value` must be a finite number. "
                            f"Received: {mask_value!r}")
        return cls(mean=config["mean"], std=config["std"], mask_value=mask_value)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a finite number")


def _steps(data: Any, argument: str, mask_value: float) -> tuple[np.ndarray, np.ndarray]:
    """(x float32 [n, T, F], mask bool [n, T]) of a SequenceData or a raw array."""
    if isinstance(data, SequenceData):
        return data.x, data.mask
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
        x = np.asarray(data)
        if x.dtype.kind not in "fiu" or x.ndim != 3:
            raise TypeError(
                f"`{argument}` must be a rnn_zoo.data.SequenceData or a numeric array "
                f"[n, time, features]; got dtype {x.dtype}, shape {x.shape}."
            )
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"`{argument}` holds NaN or infinite values.")
        return x, ~np.all(x == np.float32(mask_value), axis=-1)
    raise TypeError(
        f"`{argument}` must be a rnn_zoo.data.SequenceData or a numeric array "
        f"[n, time, features], got {type(data).__name__}."
    )
