"""Recipe: speaker recognition from JapaneseVowels (9 speakers, 12 cepstra per frame).

Data: `rnn_zoo.data.load_japanese_vowels` (aeon's bundled copy of the UCI
set). Split: the set's own 270 train / 370 test utterances, the split every
published figure uses (a stratified 10% of 640 would leave 64 test
utterances and an interval too wide to compare anything); a stratified 10%
of the training utterances (seed 0) is the validation split that stops
training. Model: a bidirectional LSTM with mean pooling. Baseline: the zoo's
default configuration `lstm_sequence_classifier` (one LSTM, last step),
trained in the same run on the same split with the same loop.

Example:

>>> from rnn_zoo.recipes import japanese_vowels
>>> bundle = japanese_vowels.build("runs/vowels")  # doctest: +SKIP
"""

import logging
import os
import time

import numpy as np

from rnn_zoo.recipes import common

logger = logging.getLogger(__name__)

NAME = "speaker_japanese_vowels"
BASELINE_CONFIGURATION = "lstm_sequence_classifier"
HYPERPARAMETERS = {
    "cell": "lstm",
    "bidirectional": True,
    "units": 64,
    "pooling": "mean",
    "dropout": 0.2,
    "learning_rate": 3e-3,
    "batch_size": 16,
    "epochs": 80,
    "patience": 12,
}
# Every SLICE_STEP-th test utterance ships with the tests (CC BY 4.0 allows it).
SLICE_STEP = 6
SLICE_FILE = "japanese_vowels_test_slice.npz"
DATA_LICENCE = (
    "The UCI Machine Learning Repository's \"Japanese Vowels\" set (Kudo, Toyama & "
    "Shimbo 1999; donated by M. Kudo), CC BY 4.0, as bundled by aeon (BSD-3-Clause).")


def evaluation_slice(test):
    """The shipped evaluation slice: every `SLICE_STEP`-th test utterance.

    Returns:
        `(x, labels)`: raw float32 `[n, 29, 12]` (zero-padded) and int32 labels.
    """
    indices = np.arange(0, len(test), SLICE_STEP)
    return test.x[indices], test.labels[indices]


def _write_slice(path, x, labels):
    with open(path, "wb") as stream:
        np.savez_compressed(stream, x=x, labels=labels)


def _train(model, x, y, validation, h, verbose):
    from rnn_zoo.train import train

    return train(model, (x, y), validation_data=validation, epochs=h["epochs"],
                 batch_size=h["batch_size"], patience=h["patience"], monitor="val_loss",
                 tensorboard=False, verbose=verbose)


def build(output_dir, verbose=0, slice_path=None):
    """Train the preset and the default configuration, score both, write the folder.

    Args:
        output_dir: the preset folder to write (replaced if it holds a bundle).
        verbose: passed to `fit` (0 silent).
        slice_path: where to write the evaluation slice (`.npz`), or None.

    Returns:
        The saved `rnn_zoo.Bundle`.
    """
    import keras

    from rnn_zoo import atomic
    from rnn_zoo.bundle import Bundle
    from rnn_zoo.configurations import build_model
    from rnn_zoo.data import load_japanese_vowels
    from rnn_zoo.data.scaling import SequenceScaler
    from rnn_zoo.factories import build_sequence_classifier

    started = time.time()
    h = HYPERPARAMETERS
    train_data = load_japanese_vowels(split="train")
    test = load_japanese_vowels(split="test")
    fit_idx, val_idx = common.stratified_split(train_data.labels)
    fit_data, val_data = train_data.select(fit_idx), train_data.select(val_idx)
    scaler = SequenceScaler.fit(fit_data)
    x_fit, x_val = scaler.transform(fit_data), scaler.transform(val_data)
    num_classes = len(train_data.class_names)

    common.seed_everything()
    model = build_sequence_classifier(
        num_features=12, num_classes=num_classes, cell=h["cell"],
        bidirectional=h["bidirectional"], units=h["units"], pooling=h["pooling"],
        dropout=h["dropout"], learning_rate=h["learning_rate"], name="bilstm_speaker")
    result = _train(model, x_fit, fit_data.labels, (x_val, val_data.labels), h, verbose)

    common.seed_everything()
    baseline = build_model(BASELINE_CONFIGURATION, num_features=12, num_classes=num_classes)
    baseline_h = dict(h, learning_rate=1e-3)
    _train(baseline, x_fit, fit_data.labels, (x_val, val_data.labels), baseline_h, verbose)
    baseline_bundle = Bundle(baseline, scaler, train_data.class_names,
                             task="sequence_classifier")

    common.fresh_optimizer(model, h["learning_rate"])
    labels = tuple(f"speaker_{name}" for name in train_data.class_names)
    bundle = Bundle(model, scaler, labels, task="sequence_classifier")
    predicted = bundle.predict(test.x).argmax(-1)
    baseline_predicted = baseline_bundle.predict(test.x).argmax(-1)
    metrics = common.score(predicted == test.labels, baseline_predicted == test.labels)
    slice_x, slice_y = evaluation_slice(test)
    metrics.update({
        "headline": "accuracy",
        "baseline": f"default configuration {BASELINE_CONFIGURATION} (same run)",
        "slice_accuracy": float((bundle.predict(slice_x).argmax(-1) == slice_y).mean()),
        "slice_examples": int(len(slice_y)),
        "epochs_trained": len(result.history["loss"]),
        "split": {"train": len(fit_idx), "validation": len(val_idx), "test": len(test),
                  "source": "the set's own train/test split",
                  "validation_fraction": common.TEST_FRACTION, "stratified": True,
                  "seed": common.SEED},
        "hyperparameters": h,
    })
    verification = [row[np.any(row != 0, axis=-1)] for row in scaler.transform(test.x[:32])]
    report = common.export_litert(model, output_dir, verification)
    metrics["tflite"] = {"max_abs_diff": report.max_abs_diff, "latency_ms": report.latency_ms,
                         "ops": report.ops, "lstm_kernel": report.lstm_kernel,
                         "latency_steps": int(len(verification[0])),
                         "forms": common.tflite_forms(model, output_dir, verification,
                                                      verification[0][None],
                                                      report.max_abs_diff)}
    metrics["build_seconds"] = round(time.time() - started, 1)
    bundle.metrics = metrics
    bundle.save(output_dir, overwrite=True)
    if slice_path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(slice_path)), exist_ok=True)
        atomic.write_with(slice_path, lambda path: _write_slice(path, slice_x, slice_y))
    versions = {name: common.package_version(name)
                for name in ("rnn-zoo", "keras", "tensorflow", "aeon")}
    bundle.card = common.write_card(output_dir, lambda sizes: _card(
        metrics, sizes, int(model.count_params()), int(baseline.count_params()), versions))
    logger.info("%s: accuracy %.4f (baseline %.4f) in %.0f s", NAME, metrics["accuracy"],
                metrics["baseline_accuracy"], metrics["build_seconds"])
    keras.backend.clear_session()
    return bundle


def _card(m, sizes, parameters, baseline_parameters, versions):
    h = m["hyperparameters"]
    split = m["split"]
    published = ("matches or passes LSTM-FCN's 99.0%" if m["accuracy"] >= 0.99 else
                 f"falls short of LSTM-FCN's 99.0% ({common.percent(m['accuracy'])}; 99.0% is "
                 + ("inside" if m["accuracy_interval"][1] >= 0.99 else "above")
                 + " its 95% interval)")
    ours = common.table_row("this preset (bidirectional LSTM, mean pooling)", f"{parameters:,}",
                            common.percent(m["accuracy"]),
                            common.interval_text(m["accuracy_interval"]))
    theirs = common.table_row(f"same-run baseline: {m['baseline']}", f"{baseline_parameters:,}",
                              common.percent(m["baseline_accuracy"]),
                              common.interval_text(m["baseline_interval"]))
    return f"""# {NAME}

Speaker recognition: an utterance of the Japanese vowel /ae/, as a series of 12 LPC
cepstrum coefficients per frame (7 to 29 frames), -> probabilities of 9 male speakers
(`speaker_1` ... `speaker_9`). A bidirectional LSTM ({h['units']} units per direction,
mean pooling) behind the bundle's `SequenceScaler` (statistics of the training split).

```python
import rnn_zoo.presets
from rnn_zoo.data import load_japanese_vowels
bundle = rnn_zoo.presets.from_preset("{NAME}")
bundle.predict(load_japanese_vowels(split="test").x)   # raw, zero-padded [n, time, 12]
```

## Intended use
A benchmark model: a small, checked example of series classification with rnn-zoo,
and a starting point for fine-tuning on similar 12-channel cepstral series.

Must not be used for: identifying or verifying real people (it knows only 9
speakers, recorded in the 1990s, and says one of them for any input), security or
forensic decisions, or any input other than 12 LPC cepstra computed as in the data set.

## Data
- Source: `rnn_zoo.data.load_japanese_vowels` (aeon {versions['aeon']}, its bundled
  `JapaneseVowels` problem): 270 training and 370 test utterances.
- Licence: {DATA_LICENCE}
- Citation: M. Kudo, J. Toyama, M. Shimbo (1999), "Multidimensional curve
  classification using passing-through regions", Pattern Recognition Letters 20.

## Split
The set's own split (the one every published figure uses): 370 test utterances. The
training utterances are split again, stratified by speaker, 10% validation, seed 0
(`rnn_zoo.recipes.common.stratified_split`): {split['train']} train, {split['validation']}
validation (early stopping). Scored with `bundle.predict` on the raw test series.

## Metrics (test split, {m['test_examples']} utterances; 95% bootstrap intervals, 2,000 resamples)
| model | parameters | accuracy | 95% interval |
|---|---:|---:|---:|
{ours}
{theirs}

{common.verdict(m)}
Shipped evaluation slice (every {SLICE_STEP}th test utterance, {m['slice_examples']}
utterances, in the tests): {common.percent(m['slice_accuracy'])}.

## Comparison figures (same split; not rerun here)
- LSTM-FCN 99.0%, MLSTM-FCN 100% (Karim, Majumdar, Darabi & Harford 2019,
  "Multivariate LSTM-FCNs for time series classification", Neural Networks 116).
- FCN 99.3%, ResNet 99.2% (Fawaz, Forestier, Weber, Idoumghar & Muller 2019, "Deep
  learning for time series classification: a review", DMKD 33; mean of their runs).
These are the authors' figures; their code is not part of rnn-zoo, so they are not
rechecked here. This preset {published}.

## Model
- Parameters: {parameters:,}. Training: Adam (learning rate {h['learning_rate']}), batch
  {h['batch_size']}, up to {h['epochs']} epochs, early stopping on validation loss
  (patience {h['patience']}, best weights restored); {m['epochs_trained']} epochs run;
  dropout {h['dropout']}. The baseline: the same loop at learning rate 1e-3.
- TFLite (`assets/model.tflite`, `rnn_zoo.export.tflite.export_tflite`, float32, batch 1,
  LSTM written as `{m['tflite']['lstm_kernel']}`; ops {', '.join(m['tflite']['ops'])}):
  largest difference from Keras {m['tflite']['max_abs_diff']:.1e}. The TFLite file takes
  the scaled series: apply the bundle's `scaler.json` first.

## TFLite files, quantized forms and latency
{common.tflite_table(m['tflite']['forms'], m['tflite']['latency_steps'])}

## Files
{common.sizes_table(sizes)}

## Known limitations
- Nine speakers only; 370 test utterances give an interval a few points wide.
- An all-zero raw frame is read as padding (that is how shorter utterances are
  padded), so a real frame whose 12 values are all exactly 0 would be skipped.

## Rebuild
```
rnn-zoo presets build {NAME}
```
Seeds are fixed (Python, numpy, Keras: 0); built in {m['build_seconds']:.0f} s with
rnn-zoo {versions['rnn-zoo']}, Keras {versions['keras']}, TensorFlow
{versions['tensorflow']}, aeon {versions['aeon']}. `rnn-zoo presets check {NAME}`
rescores this folder on the test split.
"""


def check(folder):
    """Rescore `folder` on the test split (see `rnn_zoo.recipes.check`)."""
    from rnn_zoo.data import load_japanese_vowels
    from rnn_zoo.presets import from_preset

    bundle = from_preset(folder)
    test = load_japanese_vowels(split="test")
    measured = float((bundle.predict(test.x).argmax(-1) == test.labels).mean())
    rows = bundle.preprocess(test.x[:16])
    difference = common.tflite_difference(
        bundle, folder, [row[np.any(row != 0, axis=-1)] for row in rows])
    return common.check_result(NAME, bundle, measured, difference)
