"""Recipe: smartwatch shoulder-exercise recogniser, with a streaming TFLite file.

Data: seglearn 1.2.5's `load_watch()` (`seglearn/data/watch_dataset.npy`, a
pickled dict shipped in seglearn's BSD-3-Clause wheel): 140 recordings of a
wrist-worn smartwatch's accelerometer and gyroscope (6 channels at 50 Hz,
947 to 2,618 steps), 10 subjects, each doing 7 shoulder exercises with
each arm.

Split: stratified by exercise, 10% of the recordings for test, seed 0; a
stratified 10% of the rest (seed 0) is the validation split that stops
training. Split by recording, so no window of a test recording is seen in
training (windows of one recording overlap and are near copies).

Unit: a window of `WINDOW` steps of every `DECIMATION`-th sample (25 Hz,
so 4 s). Training windows start every `TRAIN_STRIDE` steps; test windows do
not overlap. Model: a unidirectional
LSTM read to its last step (pooling "last"), so the same weights export as
a whole-window TFLite file and as a one-step-at-a-time streaming file.
Baseline: each channel's mean and standard deviation over the window,
standardised, into a logistic regression (C picked on the validation
windows), same run. Accuracy over test windows, with 95% intervals from a
bootstrap over test recordings (windows of one recording are not
independent).

Example:

>>> from rnn_zoo.recipes import watch
>>> bundle = watch.build("runs/watch")  # doctest: +SKIP
"""

import logging
import os
import tempfile
import time

import numpy as np

from rnn_zoo.recipes import common

logger = logging.getLogger(__name__)

NAME = "watch_exercise"
DATA_PACKAGE = "seglearn"
DATA_VERSION = "1.2.5"
SAMPLE_RATE_HZ = 50
# The model reads every DECIMATION-th sample (25 Hz): half the steps for the
# LSTM to carry its state across, and half the training time.
DECIMATION = 2
MODEL_RATE_HZ = SAMPLE_RATE_HZ // DECIMATION
WINDOW = 100
TRAIN_STRIDE = 20
STREAMING_FILE = "streaming.tflite"
# seglearn's class codes, and what they stand for in the study it cites.
EXERCISES = {
    "PEN": "pendulum",
    "ABD": "abduction",
    "FEL": "forward elevation",
    "IR": "internal rotation",
    "ER": "external rotation",
    "TRAP": "trapezius extension",
    "ROW": "upright row",
}
HYPERPARAMETERS = {
    "cell": "lstm",
    "bidirectional": False,
    "units": 64,
    "depth": 1,
    "pooling": "last",
    "dropout": 0.2,
    "learning_rate": 3e-3,
    "batch_size": 64,
    "epochs": 40,
    "patience": 6,
}
BASELINE_C = (0.01, 0.1, 1.0, 10.0, 100.0)
# Every SLICE_STEP-th test window ships with the tests (BSD-3-Clause allows it).
SLICE_STEP = 5
SLICE_FILE = "watch_exercise_test_slice.npz"
DATA_LICENCE = (
    "BSD-3-Clause: seglearn's licence (\"Copyright (c) 2018, David M. Burns\"), which "
    "covers the wheel and the data file inside it; seglearn's docstring describes the "
    "data as sensor data from its author's smartwatch study. A slice of test windows "
    "ships with rnn-zoo's tests, with the licence beside it.")
CITATION = ("D. M. Burns, N. Leung, M. Hardisty, C. M. Whyne, P. Henry, S. McLachlin "
            "(2018), \"Shoulder physiotherapy exercise recognition: machine learning the "
            "inertial signals from a smartwatch\", Physiological Measurement 39; "
            "arXiv:1802.01489 (the study seglearn's `load_watch` docstring cites)")


def load_recordings():
    """The watch recordings.

    Returns:
        dict with `x` (list of float32 `[time, 6]`, every `DECIMATION`-th
        sample), `labels` (int32 `[140]`),
        `subjects`, `sides`, `channels` and `class_names`.

    Raises:
        FileNotFoundError: seglearn is not installed (`pip install
            rnn-zoo[presets]`, or `pip install seglearn==1.2.5`).
    """
    try:
        from seglearn.datasets import load_watch
    except ImportError:
        raise FileNotFoundError(
            f"{DATA_PACKAGE} is not installed; the {NAME} recipe reads its watch data. "
            f"Install it with `pip install {DATA_PACKAGE}=={DATA_VERSION}` (or `pip install "
            "rnn-zoo[presets]`).") from None
    data = load_watch()
    return {
        "x": [np.asarray(x, dtype=np.float32)[::DECIMATION] for x in data["X"]],
        "labels": np.asarray(data["y"], dtype=np.int32),
        "subjects": np.asarray(data["subject"], dtype=np.int32),
        "sides": np.asarray(data["side"], dtype=np.int32),
        "channels": tuple(str(c) for c in data["X_labels"]),
        "class_names": tuple(str(c) for c in data["y_labels"]),
    }


def splits(labels):
    """The recorded split: `(train, validation, test)` recording indices."""
    rest, test = common.stratified_split(labels)
    inner_train, inner_val = common.stratified_split(labels[rest])
    return rest[inner_train], rest[inner_val], test


def windows(recordings, labels, indices, stride):
    """Cut recordings into windows of `WINDOW` steps, one every `stride` steps.

    Returns:
        `(x, y, group)`: float32 `[n, WINDOW, 6]`, int32 labels, and the
        recording index each window came from.
    """
    xs, ys, groups = [], [], []
    for i in indices:
        series = recordings[i]
        for start in range(0, len(series) - WINDOW + 1, stride):
            xs.append(series[start:start + WINDOW])
            ys.append(labels[i])
            groups.append(i)
    return (np.stack(xs).astype(np.float32), np.asarray(ys, dtype=np.int32),
            np.asarray(groups, dtype=np.int64))


def window_features(x):
    """The baseline's features: each channel's mean and standard deviation."""
    return np.concatenate([x.mean(axis=1), x.std(axis=1)], axis=1)


def train_baseline(x_train, y_train, x_val, y_val):
    """Standardised mean/std features into logistic regression, C picked on validation.

    Returns:
        `(predict, c)`: a function from raw windows to label ids, and the C.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    f_train, f_val = window_features(x_train), window_features(x_val)
    best = None
    for c in BASELINE_C:
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
        pipeline.fit(f_train, y_train)
        accuracy = float((pipeline.predict(f_val) == y_val).mean())
        if best is None or accuracy > best[0]:
            best = (accuracy, c, pipeline)
    pipeline = best[2]
    return (lambda x: pipeline.predict(window_features(x))), best[1]


def per_group(correct, groups):
    """Summed `correct` and window counts per recording, in recording order."""
    order = np.unique(groups)
    return (np.asarray([correct[groups == g].sum() for g in order]),
            np.asarray([(groups == g).sum() for g in order]))


def _write_slice(slice_dir, x, labels):
    import importlib.metadata

    from rnn_zoo import atomic

    os.makedirs(slice_dir, exist_ok=True)

    def write(path):
        with open(path, "wb") as stream:
            np.savez_compressed(stream, x=x, labels=labels)

    atomic.write_with(os.path.join(slice_dir, SLICE_FILE), write)
    license_file = next((f for f in importlib.metadata.distribution(DATA_PACKAGE).files or []
                         if str(f).endswith(".dist-info/LICENSE")), None)
    if license_file is not None:
        with open(license_file.locate(), encoding="utf-8") as stream:
            atomic.write_text(os.path.join(slice_dir, "seglearn_LICENSE.txt"), stream.read())


def _streaming_int8(model, verification_batch):
    """Size and parity of a dynamic-range int8 streaming file (measured, not shipped)."""
    from rnn_zoo.export.streaming import export_streaming_tflite

    with tempfile.TemporaryDirectory() as scratch:
        step = export_streaming_tflite(model, os.path.join(scratch, "streaming_int8.tflite"),
                                       quantization="dynamic_int8",
                                       verification_data=verification_batch)
    return {"quantization": "dynamic_int8", "bytes": step.size_bytes,
            "max_abs_diff": step.max_abs_diff}


def step_latency_ms(path, repeats=300):
    """Median milliseconds of one call of the streaming file (one thread)."""
    from rnn_zoo.export import verify
    from rnn_zoo.export.streaming import SIGNATURE

    interpreter = verify.load_interpreter(path)
    runner = interpreter.get_signature_runner(SIGNATURE)
    details = verify.signature_details(interpreter, SIGNATURE)
    feed = {item["name"]: np.zeros([max(d, 1) for d in item["shape"]], np.float32)
            for item in details["inputs"]}
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        runner(**feed)
        timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000)


def evaluation_slice():
    """The shipped slice: every `SLICE_STEP`-th test window, raw.

    Returns:
        `(x, labels)`: float32 `[n, WINDOW, 6]` and int32 labels.
    """
    data = load_recordings()
    x_test, y_test, _ = windows(data["x"], data["labels"], splits(data["labels"])[2], WINDOW)
    return x_test[::SLICE_STEP], y_test[::SLICE_STEP]


def write_evaluation_slice(slice_dir):
    """Write the shipped slice (`SLICE_FILE`) and seglearn's licence into `slice_dir`.

    The slice follows from the recorded split alone, so it can be written
    without a build (the tests' copy lives in `tests/data/presets/`).
    """
    _write_slice(slice_dir, *evaluation_slice())


def build(output_dir, verbose=0, slice_dir=None):
    """Train the recogniser and the baseline, score both, write the folder and both TFLite files.

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
    from rnn_zoo.data.scaling import SequenceScaler
    from rnn_zoo.export.streaming import export_streaming_tflite
    from rnn_zoo.factories import build_sequence_classifier
    from rnn_zoo.train import train

    started = time.time()
    common.seed_everything()
    h = HYPERPARAMETERS
    data = load_recordings()
    labels = data["labels"]
    train_idx, val_idx, test_idx = splits(labels)
    x_train, y_train, _ = windows(data["x"], labels, train_idx, TRAIN_STRIDE)
    x_val, y_val, _ = windows(data["x"], labels, val_idx, WINDOW)
    x_test, y_test, g_test = windows(data["x"], labels, test_idx, WINDOW)
    scaler = SequenceScaler.fit(x_train)
    num_classes = len(data["class_names"])

    model = build_sequence_classifier(
        num_features=x_train.shape[2], num_classes=num_classes, cell=h["cell"],
        bidirectional=h["bidirectional"], units=h["units"], depth=h["depth"],
        pooling=h["pooling"], dropout=h["dropout"], learning_rate=h["learning_rate"],
        name="lstm_watch_exercise")
    result = train(model, (scaler.transform(x_train), y_train),
                   validation_data=(scaler.transform(x_val), y_val), epochs=h["epochs"],
                   batch_size=h["batch_size"], patience=h["patience"], monitor="val_loss",
                   tensorboard=False, verbose=verbose)
    common.fresh_optimizer(model, h["learning_rate"])
    bundle = Bundle(model, scaler, data["class_names"], task="sequence_classifier")

    predicted = bundle.predict(x_test).argmax(-1)
    baseline, baseline_c = train_baseline(x_train, y_train, x_val, y_val)
    baseline_predicted = baseline(x_test)
    correct, totals = per_group(predicted == y_test, g_test)
    baseline_correct, _ = per_group(baseline_predicted == y_test, g_test)
    metrics = common.score_grouped(correct, baseline_correct, totals)
    by_window = common.score(predicted == y_test, baseline_predicted == y_test)
    recordings_right = [int(np.bincount(predicted[g_test == g], minlength=num_classes)
                            .argmax() == labels[g]) for g in np.unique(g_test)]
    slice_rows = np.arange(0, len(y_test), SLICE_STEP)
    metrics.update({
        "headline": "accuracy",
        "unit": f"windows of {WINDOW} steps at {MODEL_RATE_HZ} Hz "
                f"({WINDOW / MODEL_RATE_HZ:g} s)",
        "baseline": f"per-window mean/std per channel + logistic regression (C={baseline_c})",
        "window_bootstrap": {"accuracy_interval": by_window["accuracy_interval"],
                             "baseline_interval": by_window["baseline_interval"]},
        "recording_majority_accuracy": float(np.mean(recordings_right)),
        "slice_accuracy": float((predicted[slice_rows] == y_test[slice_rows]).mean()),
        "slice_examples": int(len(slice_rows)),
        "epochs_trained": len(result.history["loss"]),
        "split": {"train": len(train_idx), "validation": len(val_idx), "test": len(test_idx),
                  "unit": "recording", "stratified_by": "exercise",
                  "test_fraction": common.TEST_FRACTION, "seed": common.SEED,
                  "train_windows": int(len(y_train)), "validation_windows": int(len(y_val)),
                  "test_windows": int(len(y_test)), "window": WINDOW,
                  "train_stride": TRAIN_STRIDE, "test_stride": WINDOW,
                  "test_recordings": [int(i) for i in test_idx]},
        "hyperparameters": h,
    })
    scaled_test = scaler.transform(x_test)
    verification = list(scaled_test[:16])
    metrics["tflite"] = common.export_and_measure(model, output_dir, verification,
                                                  scaled_test[:1])
    streaming_path = os.path.join(output_dir, "assets", STREAMING_FILE)
    step = export_streaming_tflite(model, streaming_path, verification_data=scaled_test[:8])
    metrics["streaming"] = {
        "file": f"assets/{STREAMING_FILE}", "max_abs_diff": step.max_abs_diff,
        "compiled_model_max_abs_diff": step.compiled_model_max_abs_diff,
        "state_names": step.state_names, "state_units": step.state_units,
        "inputs": [d["name"] for d in step.inputs], "outputs": [d["name"] for d in step.outputs],
        "ops": step.ops, "step_latency_ms": step_latency_ms(streaming_path)}
    metrics["streaming_int8"] = _streaming_int8(model, scaled_test[:4])
    common.save_built(bundle, output_dir, metrics, started)
    if slice_dir is not None:
        _write_slice(slice_dir, x_test[slice_rows], y_test[slice_rows])
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
                for name in ("rnn-zoo", "keras", "tensorflow", "scikit-learn", DATA_PACKAGE)}
    return common.write_card(folder, lambda sizes: _card(
        bundle.metrics, sizes, int(bundle.model.count_params()), versions, bundle.scaler,
        bundle.labels))


def refresh_card(folder):
    """Re-render the card of the preset in `folder` from its saved metrics (no training).

    Returns:
        The card's text.
    """
    from rnn_zoo.bundle import Bundle

    return write_model_card(folder, Bundle.load(folder))


def _ceiling(m):
    if m["baseline_interval"][1] < 1.0:
        return ""
    return (f" With {m['test_examples']} test recordings the baseline's own interval "
            "reaches 100%, so no result on this split could meet that standard.")


def _vector(values):
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def _card(m, sizes, parameters, versions, scaler, labels):
    h = m["hyperparameters"]
    split = m["split"]
    s = m["streaming"]
    q = m["streaming_int8"]
    w = m["window_bootstrap"]
    seconds = WINDOW / MODEL_RATE_HZ
    ours = common.table_row("this preset (LSTM, last step)", f"{parameters:,}",
                            common.percent(m["accuracy"]),
                            common.interval_text(m["accuracy_interval"]),
                            common.interval_text(w["accuracy_interval"]))
    theirs = common.table_row(f"same-run baseline: {m['baseline']}", "-",
                              common.percent(m["baseline_accuracy"]),
                              common.interval_text(m["baseline_interval"]),
                              common.interval_text(w["baseline_interval"]))
    classes = ", ".join(f"`{code}` ({EXERCISES.get(code, code)})"
                        for code in labels)
    units = s["state_units"][0]
    step_input = next(name for name in s["inputs"] if name not in s["state_names"])
    step_output = next(name for name in s["outputs"] if not name.startswith("new_"))
    return f"""# {NAME}

Shoulder-exercise recognition from a smartwatch: a {seconds:g}-second window of the
watch's 6 inertial channels (accelerometer `ax ay az`, gyroscope `wx wy wz`) ->
probabilities of 7 exercises: {classes}. The watch records at {SAMPLE_RATE_HZ} Hz; the
model reads every {DECIMATION}nd sample ({MODEL_RATE_HZ} Hz), {WINDOW} steps per window. A
unidirectional LSTM ({h['units']} units) read to its last step, behind the bundle's
`SequenceScaler`. It ships twice as TFLite: `assets/model.tflite` (a whole window per
call) and `assets/{STREAMING_FILE}` (one step per call, the app keeps the state).

```python
import rnn_zoo.presets
bundle = rnn_zoo.presets.from_preset("{NAME}")
# raw float32 [n, {WINDOW}, 6]: the watch's samples, every {DECIMATION}nd one -> [n, 7]
bundle.predict(recording[::{DECIMATION}][None, :{WINDOW}])
```

## Intended use
Recognising which of these 7 physiotherapy exercises a person wearing a wrist
smartwatch is doing, for demonstrations and research on exercise tracking; a checked
example of a streaming recurrent model in rnn-zoo, and a starting point for
fine-tuning on similar 6-channel inertial data.

Must not be used for: medical decisions (whether an exercise is done correctly, or
rehabilitation progress), identifying people, or any movement outside these 7
exercises: it has no "other" class, so every window, walking or resting included, gets
one of the 7.

## Data
- Source: `seglearn.datasets.load_watch()` (`seglearn/data/watch_dataset.npy` in the
  `{DATA_PACKAGE}` {DATA_VERSION} wheel; installed here: {versions[DATA_PACKAGE]}): 140
  recordings of 947 to 2,618 samples at {SAMPLE_RATE_HZ} Hz, 10 subjects, each
  exercise done with each arm (20 recordings per exercise).
- Licence: {DATA_LICENCE}
- Citation: {CITATION}. The exercise names are our reading of seglearn's class codes.

## Split
By recording, stratified by exercise, 10% test, seed 0
(`rnn_zoo.recipes.common.stratified_split`): {split['train']} train, {split['validation']}
validation (a stratified 10% of the rest, seed 0: early stopping and the baseline's C),
{split['test']} test recordings (indices {split['test_recordings']}). Every subject
also appears in training (with other exercises, or the other arm): the figures are
not for new wearers. Windows of {WINDOW} steps: training windows start every
{TRAIN_STRIDE} steps ({split['train_windows']:,} windows); validation and test windows
do not overlap ({split['validation_windows']} and {split['test_windows']}). Scored with
`bundle.predict` on the raw test windows.

## Metrics (test split, {m['test_units']} windows from {m['test_examples']} recordings)
95% intervals from a bootstrap over the test recordings (2,000 resamples): windows of
one recording are not independent, so this is the interval the verdict uses. The
interval from a bootstrap over single windows, narrower and optimistic, is given for
reference.

| model | parameters | window accuracy | 95% interval (recordings) | 95% interval (windows) |
|---|---:|---:|---:|---:|
{ours}
{theirs}

{common.verdict(m)}{_ceiling(m)}
A majority vote over each test recording's windows names {common.percent(
        m['recording_majority_accuracy'])} of the {m['test_examples']} recordings right.
Shipped evaluation slice (every {SLICE_STEP}th test window, {m['slice_examples']}
windows, in the tests): {common.percent(m['slice_accuracy'])}.

## Comparison figures
None cited: the study's own results are for its own windows and cross-validation,
which can't be rerun offline here; the same-run baseline is the comparison.

## Model
- Parameters: {parameters:,}. Training: Adam (learning rate {h['learning_rate']}), batch
  {h['batch_size']}, up to {h['epochs']} epochs, early stopping on validation loss
  (patience {h['patience']}, best weights restored); {m['epochs_trained']} epochs run;
  dropout {h['dropout']}.
- `assets/model.tflite` (`rnn_zoo.export.tflite.export_tflite`, float32, batch 1, ops
  {', '.join(m['tflite']['ops'])}) takes the SCALED window `[1, time, 6]` (see the
  scaling below). Its forms:

{common.tflite_table(m['tflite']['forms'], m['tflite']['latency_steps'])}

## Streaming file: how to feed `assets/{STREAMING_FILE}`
Written by `rnn_zoo.export.streaming.export_streaming_tflite`; signature `step`, all
float32, batch 1, no loop and no state inside the file (ops {', '.join(s['ops'])}).
- Inputs: `{step_input}` `[1, 6]`, one scaled sensor sample (every {DECIMATION}nd sample
  of the watch's {SAMPLE_RATE_HZ} Hz stream); `{s['state_names'][0]}` and
  `{s['state_names'][1]}` `[1, {units}]`, the LSTM's state. Start both with zeros.
- Outputs: `{step_output}`, probabilities `[1, 7]` in the order of `labels.txt`, for
  the window read so far, and
  `new_{s['state_names'][0]}` / `new_{s['state_names'][1]}`: feed them back as the
  state at the next call.
- Scaling, per channel `ax ay az wx wy wz` (`scaler.json`): `x = (raw - mean) / std`,
  mean = {_vector(scaler.mean)}, std = {_vector(scaler.std)}. A step whose 6 values
  are all exactly 0 is padding: `bundle.predict` skips a raw all-zero sample, and the
  file leaves the state unchanged on a scaled all-zero one; skip such samples.
- Windows: the model was trained on {WINDOW}-step windows read from a zero state. Reset
  the state to zeros, feed {WINDOW} samples, and read the probabilities after the
  last one: that is the model's prediction for the window (largest difference from
  Keras on whole windows {s['max_abs_diff']:.1e}; LiteRT `CompiledModel` agrees with
  the Interpreter to {s['compiled_model_max_abs_diff']:.1e}). For a label every
  {seconds / 2:g} s, run two streams reset {WINDOW // 2} steps apart. Outputs before
  the {WINDOW}th sample are for a shorter window, which it was not trained on.
- Size {sizes.get('assets/' + STREAMING_FILE, 0):,} bytes (float32); a dynamic-range int8
  streaming file (measured, not shipped) is {q['bytes']:,} bytes, largest difference
  from Keras {q['max_abs_diff']:.1e}. Cost: median {s['step_latency_ms']:.4f} ms per step
  on one thread of the CPU above (LiteRT `Interpreter`).

## Files
{common.sizes_table(sizes)}

## Known limitations
- {scaler.num_features} channels from one watch model, placement and sampling rate; other
  devices, sample rates or axis conventions need retraining (or at least rescaling).
- Ten subjects only, all also seen in training: accuracy for a new wearer is likely lower.
- {split['test']} test recordings: the intervals are wide.
- No "other activity" class (see Intended use).

## Rebuild
```
pip install {DATA_PACKAGE}=={DATA_VERSION}
rnn-zoo presets build {NAME}
```
Seeds are fixed (Python, numpy, Keras: 0); built in {m['build_seconds']:.0f} s with
rnn-zoo {versions['rnn-zoo']}, Keras {versions['keras']}, TensorFlow
{versions['tensorflow']}, scikit-learn {versions['scikit-learn']}. `rnn-zoo presets check
{NAME}` rescores this folder on the recorded split.
"""


def check(folder):
    """Rescore `folder` on the recorded test split (see `rnn_zoo.recipes.check`)."""
    from rnn_zoo.presets import from_preset

    bundle = from_preset(folder)
    data = load_recordings()
    _, _, test_idx = splits(data["labels"])
    x_test, y_test, _ = windows(data["x"], data["labels"], test_idx, WINDOW)
    measured = float((bundle.predict(x_test).argmax(-1) == y_test).mean())
    difference = common.tflite_difference(bundle, folder, list(bundle.preprocess(x_test[:8])))
    return common.check_result(NAME, bundle, measured, difference)
