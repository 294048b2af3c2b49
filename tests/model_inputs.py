"""Tiny, deterministic inputs and targets for each task (shared by tests)."""

import numpy as np

VOCAB = 20
BATCH = 8
STEPS = 7
FEATURES = 3


def token_ids(rng, batch=BATCH, steps=STEPS, vocab=VOCAB):
    """Right-padded ids in [2, vocab) with lengths 2..steps."""
    ids = rng.integers(2, vocab, size=(batch, steps)).astype("int32")
    lengths = rng.integers(2, steps + 1, size=batch)
    for row, length in enumerate(lengths):
        ids[row, length:] = 0
    return ids


def features(rng, batch=BATCH, steps=STEPS, num_features=FEATURES):
    """Right-padded float steps (padding steps are all zeros)."""
    x = rng.normal(size=(batch, steps, num_features)).astype("float32")
    lengths = rng.integers(2, steps + 1, size=batch)
    for row, length in enumerate(lengths):
        x[row, length:] = 0.0
    return x


def task_data(task, rng):
    """(x, y, factory kwargs, expected output shape) for a factory task."""
    if task == "text_classifier":
        x = token_ids(rng)
        return x, (x[:, 0] % 2).astype("int32"), {"vocab_size": VOCAB, "num_classes": 2}, (BATCH, 2)
    if task == "sequence_classifier":
        x = features(rng)
        y = (x[:, 0, 0] > 0).astype("int32") + (x[:, 0, 1] > 0).astype("int32")
        return x, y, {"num_features": FEATURES, "num_classes": 3}, (BATCH, 3)
    if task == "sequence_regressor":
        x = features(rng)
        y = np.stack([x[:, 0, 0], x[:, 1, 1]], axis=-1).astype("float32")
        return x, y, {"num_features": FEATURES, "output_dim": 2}, (BATCH, 2)
    if task == "sequence_tagger":
        x = token_ids(rng)
        return x, (x % 3).astype("int32"), {"vocab_size": VOCAB, "num_tags": 3}, (BATCH, STEPS, 3)
    if task == "language_model":
        ids = token_ids(rng, steps=STEPS + 1)
        x, y = ids[:, :-1], ids[:, 1:]
        return x, y, {"vocab_size": VOCAB}, (BATCH, STEPS, VOCAB)
    if task == "bag_of_embeddings":
        x = token_ids(rng)
        return x, (x[:, 0] % 2).astype("int32"), {"vocab_size": VOCAB, "num_classes": 2}, (BATCH, 2)
    raise ValueError(task)
