"""Per-feature standardisation of padded numeric sequences.

Why not `keras.layers.Normalization`: it would also shift the padding steps
(0.0 becomes -mean/std), and the zoo's models find padding by its value
(`RightAlignPadding` / `Masking` with mask value 0.0). The statistics here
come from the real steps only, and padding stays exactly 0.0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from rnn_zoo.data.readers import SequenceData


@dataclass(frozen=True)
class SequenceScaler:
    """Standardise each feature with statistics of the real steps of a
    training set; padding steps stay 0.0.

    Fit it on the training split only and apply the same scaler to every
    other split and to what the deployed model will see.

    Args:
        mean: float32 `[features]`, per-feature mean over the real steps.
        std: float32 `[features]`, per-feature standard deviation; a
            feature that is constant in the training set gets 1.0 (it is
            only centred).

    Example:
        >>> from rnn_zoo.data import SequenceScaler, load_japanese_vowels
        >>> train = load_japanese_vowels(split="train")  # doctest: +SKIP
        >>> scaler = SequenceScaler.fit(train)  # doctest: +SKIP
        >>> x = scaler.transform(train)  # float32, padding still 0.0  # doctest: +SKIP
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, data: SequenceData) -> SequenceScaler:
        """Compute the statistics over the real steps of `data`.

        Args:
            data: a `SequenceData` (e.g. the training split).

        Returns:
            A `SequenceScaler`.
        """
        if not isinstance(data, SequenceData):
            raise TypeError(
                f"`data` must be a rnn_zoo.data.SequenceData, got {type(data).__name__}."
            )
        real = data.x[data.mask]
        if len(real) == 0:
            raise ValueError("`data` has no real step to compute statistics from.")
        std = real.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        return cls(mean=real.mean(axis=0).astype(np.float32), std=std.astype(np.float32))

    def transform(self, data: SequenceData) -> np.ndarray:
        """Standardise `data.x`.

        Args:
            data: a `SequenceData` with as many features as the fitted one.

        Returns:
            float32 `[n, max_len, features]`: `(x - mean) / std` at the
            real steps, 0.0 at the padding steps.

        Warns:
            UserWarning when a real step becomes all zeros: the models
            would take it for padding (only possible when every feature of
            that step equals the training mean).
        """
        if not isinstance(data, SequenceData):
            raise TypeError(
                f"`data` must be a rnn_zoo.data.SequenceData, got {type(data).__name__}."
            )
        if data.x.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"`data` has {data.x.shape[-1]} features; the scaler was fitted on "
                f"{self.mean.shape[0]}."
            )
        mask = data.mask
        x = ((data.x - self.mean) / self.std).astype(np.float32)
        x[~mask] = 0.0
        lost = int(np.sum(mask & ~np.any(x != 0.0, axis=-1)))
        if lost:
            warnings.warn(
                f"{lost} real step(s) are all zeros after scaling and will be read as "
                "padding (mask value 0.0).",
                stacklevel=2,
            )
        return x
