"""Recipe: Bach chorale continuation, a next-frame model of 88-key piano rolls.

Data: the 4-part Bach chorales of music21's corpus
(`rnn_zoo.data.load_bach_chorales`: quarter-note steps, 88 keys, 351
chorales), with that loader's fixed split (60/20/20 by a hash of each
chorale's name: 211 / 67 / 73), the split `examples/bach_chorales.py` uses.

Task: at step t the model reads frame t and gives, for each of the 88 keys,
the probability that it sounds at step t + 1. The NLL of a step is the
binary cross-entropy summed over the 88 keys; it is averaged over all real
steps of the test chorales (Chung et al. 2014's measure). Training follows
the example: whole chorales as sequences (padding masked), gradient norm
clipped, weight noise (Graves 2011; std 0.075 as Chung et al.), early
stopping on the exact validation NLL per step with the best epoch's weights.

Baselines, trained in the same run on the same split: per-key first-order
Markov (each key's probability of sounding given whether it sounded at the
previous step, keys independent: the best model that remembers one step and
ignores harmony), and per-key frequency (no memory at all). Intervals: 95%
bootstrap over test chorales.

Example:

>>> from rnn_zoo.recipes import chorales
>>> bundle = chorales.build("runs/chorales")  # doctest: +SKIP
"""

import logging
import time

import numpy as np

from rnn_zoo.recipes import common

logger = logging.getLogger(__name__)

NAME = "chorales_bach"
# A real step can be all zeros (a rest), so padding gets its own value.
PAD = -1.0
GOAL = 8.9
PUBLISHED = {"GRU": 8.54, "LSTM": 8.67, "tanh RNN": 9.10}
DEFAULT_PROMPT = "G2 D3 B3 G4"
HYPERPARAMETERS = {
    "cell": "lstm",
    "units": 128,
    "learning_rate": 0.005,
    "clipnorm_summed_nll": 1.0,
    "weight_noise": 0.075,
    "batch_size": 8,
    "epochs": 60,
    "patience": 8,
}
DATA_LICENCE = (
    "The chorales are Johann Sebastian Bach's (public domain). The encodings ship in "
    "music21's corpus (music21 is BSD-3-Clause); music21's `corpus/license.txt` says they "
    "are distributed with the encoders' permission, that the music21 authors assume no "
    "copyright, and that some corpus encodings may carry restrictions on commercial use. "
    "No chorale ships with rnn-zoo: only weights learnt from them.")
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def key_names(lowest=21, keys=88):
    """The piano keys' names, lowest first: "A0", "A#0", "B0", "C1", ... "C8"."""
    return tuple(f"{_NOTE_NAMES[m % 12]}{m // 12 - 1}" for m in range(lowest, lowest + keys))


def next_step(data):
    """Input frames t (padding = `PAD`), target frames t + 1, weight 1 on real targets."""
    mask = np.arange(data.x.shape[1])[None] < data.lengths[:, None]
    x = data.x[:, :-1].copy()
    x[~mask[:, :-1]] = PAD
    return x, data.x[:, 1:], mask[:, 1:].astype(np.float32)


def step_nll(probabilities, targets):
    """NLL of every step, summed over keys: `[n, time]` (nats)."""
    p = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    return -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).sum(-1)


def nll_per_step(probabilities, targets, weights):
    """NLL averaged over the real steps (weight 1)."""
    return float((step_nll(probabilities, targets) * weights).sum() / weights.sum())


def frame_accuracy(probabilities, targets, weights):
    """Per chorale: the share of real steps whose thresholded frame (p > 0.5) is exact."""
    exact = ((probabilities > 0.5) == (targets > 0.5)).all(-1)
    return (exact * weights).sum(1) / weights.sum(1)


def ratio_interval(numerators, denominators, samples=common.BOOTSTRAP_SAMPLES,
                   seed=common.SEED, level=0.95):
    """Percentile bootstrap interval of `sum(numerators) / sum(denominators)` over items.

    Args:
        numerators, denominators: one value per item (a chorale's summed NLL
            and its number of steps).

    Returns:
        `[low, high]`.
    """
    numerators = np.asarray(numerators, dtype=np.float64)
    denominators = np.asarray(denominators, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(numerators), (samples, len(numerators)))
    ratios = numerators[picks].sum(1) / denominators[picks].sum(1)
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(ratios, tail)), float(np.percentile(ratios, 100 - tail))]


def markov_baseline(train_x, train_y, train_w):
    """Per-key P(on at t+1 | on / off at t) from training pairs, add-one smoothed.

    Returns:
        function of input frames `[n, time, 88]` (padding `PAD`) -> probabilities.
    """
    real = train_w[..., None] > 0
    previous = (train_x > 0.5) & real
    after_on = ((train_y > 0.5) & previous).sum((0, 1))
    after_off = ((train_y > 0.5) & ~previous & real).sum((0, 1))
    on_given_on = (after_on + 1) / (previous.sum((0, 1)) + 2)
    on_given_off = (after_off + 1) / ((~previous & real).sum((0, 1)) + 2)

    def predict(x):
        return np.where(x > 0.5, on_given_on, on_given_off).astype(np.float32)

    return predict


def frequency_baseline(train_y, train_w):
    """Per-key frequency of sounding (no memory), add-one smoothed."""
    on = (train_y * train_w[..., None]).sum((0, 1))
    frequency = (on + 1) / (train_w.sum() + 2)

    def predict(x):
        return np.broadcast_to(frequency, x.shape).astype(np.float32)

    return predict


def build_model(units, learning_rate, clipnorm, cell="lstm"):
    """Frames `[batch, time, 88]` (padding `PAD`) -> next-frame key probabilities.

    The zoo's own layers: `RightAlignPadding` and `Masking` (padding may sit
    anywhere, as in every zoo model), one recurrent layer, a sigmoid per key.
    The loss is Keras's binary cross-entropy (the mean over keys, the NLL per
    step / 88), so the clip norm is scaled by 1/88 to clip the summed NLL's
    gradient at `clipnorm`.
    """
    import keras

    from rnn_zoo.data.datasets import CHORALE_NUM_KEYS
    from rnn_zoo.layers import RightAlignPadding
    from rnn_zoo.layers import recurrent_layer

    inputs = keras.Input((None, CHORALE_NUM_KEYS), name="features")
    x = RightAlignPadding(padding_value=PAD, name="right_align_padding")(inputs)
    x = keras.layers.Masking(mask_value=PAD, name="masking")(x)
    x = recurrent_layer(cell, units, return_sequences=True, name=f"{cell}_1")(x)
    outputs = keras.layers.Dense(CHORALE_NUM_KEYS, activation="sigmoid", name="keys")(x)
    model = keras.Model(inputs, outputs, name=f"{cell}_chorales")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate,
                                                  clipnorm=clipnorm / CHORALE_NUM_KEYS),
                  loss="binary_crossentropy")
    return model


def _fit(model, train, valid, h, verbose):
    """Epochs with early stopping on the exact validation NLL per real step.

    A loop, not `rnn_zoo.train.train`: Keras's val_loss averages the
    weighted loss over padded batch elements, which is not the NLL per real
    step that is reported. Returns `(best epoch, epochs run, best validation NLL)`.
    """
    from rnn_zoo.callbacks import WeightNoise

    best, best_weights, best_epoch, epoch = np.inf, None, 0, 0
    noise = WeightNoise(h["weight_noise"], seed=common.SEED)
    for epoch in range(1, h["epochs"] + 1):
        model.fit(train[0], train[1], sample_weight=train[2], batch_size=h["batch_size"],
                  epochs=1, shuffle=True, verbose=verbose, callbacks=[noise])
        nll = nll_per_step(model.predict(valid[0], batch_size=128, verbose=0), *valid[1:])
        logger.info("%s: epoch %d, validation NLL per step %.3f", NAME, epoch, nll)
        if nll < best:
            best, best_weights, best_epoch = nll, model.get_weights(), epoch
        elif epoch - best_epoch >= h["patience"]:
            break
    model.set_weights(best_weights)
    return best_epoch, epoch, best


def _splits():
    from rnn_zoo.data.datasets import load_bach_chorales

    return {split: load_bach_chorales(split=split) for split in ("train", "valid", "test")}


def _scores(probabilities, y, w):
    """Per chorale: summed NLL and number of real steps."""
    return (step_nll(probabilities, y) * w).sum(1), w.sum(1)


def build(output_dir, verbose=0):
    """Train the LSTM, fit the baselines, score all on the test chorales, write the folder.

    Args:
        output_dir: the preset folder to write (replaced if it holds a bundle).
        verbose: passed to `fit` (0 silent).

    Returns:
        The saved `rnn_zoo.Bundle`.
    """
    import keras

    from rnn_zoo.bundle import Bundle

    started = time.time()
    h = HYPERPARAMETERS
    data = _splits()
    train, valid, test = (next_step(data[s]) for s in ("train", "valid", "test"))

    common.seed_everything()
    model = build_model(h["units"], h["learning_rate"], h["clipnorm_summed_nll"], h["cell"])
    trained = time.time()
    best_epoch, epochs_run, valid_nll = _fit(model, train, valid, h, verbose)
    train_seconds = time.time() - trained
    common.fresh_optimizer(model, h["learning_rate"])
    labels = key_names()
    bundle = Bundle(model, None, labels)
    probabilities = bundle.predict(test[0])

    markov = markov_baseline(*train)(test[0])
    frequency = frequency_baseline(train[1], train[2])(test[0])
    nll, steps = _scores(probabilities, test[1], test[2])
    markov_nll, _ = _scores(markov, test[1], test[2])
    frequency_nll, _ = _scores(frequency, test[1], test[2])
    correct = frame_accuracy(probabilities, test[1], test[2])
    markov_correct = frame_accuracy(markov, test[1], test[2])
    m = {
        "headline": "nll_per_step",
        "lower_is_better": True,
        "nll_per_step": float(nll.sum() / steps.sum()),
        "nll_per_step_interval": ratio_interval(nll, steps),
        "baseline_nll_per_step": float(markov_nll.sum() / steps.sum()),
        "baseline_nll_per_step_interval": ratio_interval(markov_nll, steps),
        "nll_saved": float((markov_nll - nll).sum() / steps.sum()),
        "nll_saved_interval": ratio_interval(markov_nll - nll, steps),
        "frequency_baseline_nll_per_step": float(frequency_nll.sum() / steps.sum()),
        "frequency_baseline_nll_per_step_interval": ratio_interval(frequency_nll, steps),
        "validation_nll_per_step": valid_nll,
        "goal_nll_per_step": GOAL,
        "accuracy": float((correct * steps).sum() / steps.sum()),
        "accuracy_interval": ratio_interval(correct * steps, steps),
        "baseline_accuracy": float((markov_correct * steps).sum() / steps.sum()),
        "baseline_interval": ratio_interval(markov_correct * steps, steps),
        "baseline": "per-key first-order Markov (same run)",
        "test_examples": int(len(steps)),
        "test_steps": int(steps.sum()),
        "best_epoch": best_epoch,
        "epochs_trained": epochs_run,
        "train_seconds": round(train_seconds, 1),
        "default_prompt": DEFAULT_PROMPT,
        "split": {"source": "rnn_zoo.data.load_bach_chorales (60/20/20 by a hash of each "
                            "chorale's name; the split of examples/bach_chorales.py)",
                  "train": int(len(data["train"])), "validation": int(len(data["valid"])),
                  "test": int(len(data["test"])), "test_names": list(data["test"].names)},
        "hyperparameters": h,
    }
    m["intervals_overlap"] = bool(
        m["nll_per_step_interval"][0] <= m["baseline_nll_per_step_interval"][1]
        and m["baseline_nll_per_step_interval"][0] <= m["nll_per_step_interval"][1])
    finish(bundle, output_dir, m, test[0][:16], data["test"].lengths[:16] - 1, started)
    keras.backend.clear_session()
    return bundle


def finish(bundle, output_dir, m, test_x, test_steps, started):
    """Export the TFLite file, measure its forms, save the bundle and write the card.

    Args:
        bundle: the trained bundle (its model gets exported).
        output_dir: the preset folder.
        m: the metrics so far (`tflite` and `build_seconds` are added).
        test_x: a few test inputs `[n, time, 88]`; `test_steps`: their real steps.
        started: `time.time()` when the build began.
    """
    model = bundle.model
    verification = [row[:n] for row, n in zip(test_x, test_steps)]
    m["tflite"] = common.export_and_measure(model, output_dir, verification,
                                            verification[0][None])
    common.save_built(bundle, output_dir, m, started)
    versions = {name: common.package_version(name)
                for name in ("rnn-zoo", "keras", "tensorflow", "music21")}
    sample = bundle.generate(DEFAULT_PROMPT, length=16, temperature=1.0, seed=0)
    bundle.card = common.write_card(output_dir, lambda sizes: _card(
        m, sizes, int(model.count_params()), versions, sample))
    logger.info("%s: NLL per step %.3f (Markov baseline %.3f) in %.0f s", NAME,
                m["nll_per_step"], m["baseline_nll_per_step"], m["build_seconds"])


def _nll_text(value, bounds):
    return f"{value:.2f} ({bounds[0]:.2f}-{bounds[1]:.2f})"


def _verdict(m):
    saved = (f"{m['nll_saved']:+.2f} nats per step, paired 95% interval "
             f"{m['nll_saved_interval'][0]:+.2f} to {m['nll_saved_interval'][1]:+.2f}")
    if m["nll_saved"] > 0 and not m["intervals_overlap"]:
        beat = ("It beats the same-run Markov baseline: the two 95% intervals do not "
                f"overlap (saving {saved}).")
    elif m["nll_saved"] > 0:
        beat = (f"It is better than the Markov baseline ({saved}), but the two 95% "
                "intervals OVERLAP: the issue's standard is NOT met.")
    else:
        beat = f"It does NOT beat the Markov baseline ({saved})."
    goal = ("It meets the goal of at most 8.9 nats per step." if m["nll_per_step"] <= GOAL
            else f"It does NOT meet the goal of at most {GOAL} nats per step "
                 f"({m['nll_per_step']:.2f}).")
    return f"{beat} {goal}"


def _frames_text(frames, labels):
    return "\n".join(" ".join(labels[k] for k in np.flatnonzero(frame)) or "rest"
                     for frame in frames)


def _card(m, sizes, parameters, versions, sample):
    h = m["hyperparameters"]
    split = m["split"]
    labels = key_names()
    table = "\n".join([
        common.table_row("model", "parameters", "NLL per step (95% interval)",
                         "exact next frame (95% interval)"),
        "|---|---:|---:|---:|",
        common.table_row(f"this preset ({h['cell'].upper()} {h['units']})", f"{parameters:,}",
                         _nll_text(m["nll_per_step"], m["nll_per_step_interval"]),
                         f"{common.percent(m['accuracy'])} "
                         f"({common.interval_text(m['accuracy_interval'])})"),
        common.table_row(f"same-run baseline: {m['baseline']}", "176",
                         _nll_text(m["baseline_nll_per_step"],
                                   m["baseline_nll_per_step_interval"]),
                         f"{common.percent(m['baseline_accuracy'])} "
                         f"({common.interval_text(m['baseline_interval'])})"),
        common.table_row("same-run: per-key frequency (no memory)", "88",
                         _nll_text(m["frequency_baseline_nll_per_step"],
                                   m["frequency_baseline_nll_per_step_interval"]), "-"),
    ])
    ranking = " < ".join(f"{name} {value:.2f}" for name, value in
                         sorted(PUBLISHED.items(), key=lambda item: item[1]))
    return f"""# {NAME}

Bach chorale continuation: a next-frame model of 4-part chorales as 88-key piano rolls at
quarter-note steps. At each step it reads the keys sounding now and gives, for each of the
88 piano keys (`labels.txt`: `A0` ... `C8`), the probability that it sounds at the next
step. A single {h['cell'].upper()} layer ({h['units']} units) and a sigmoid per key;
`generate` samples continuations and `rnn-zoo generate {NAME} -o out.mid` writes them as
MIDI.

```python
import rnn_zoo.presets
bundle = rnn_zoo.presets.from_preset("{NAME}")
bundle.predict(frames)                 # frames: float32 [n, time, 88] of 0/1, padding -1
bundle.generate("{DEFAULT_PROMPT}", length=32, temperature=1.0, seed=0)   # [33, 88] frames
```

## Intended use
A small, checked example of a recurrent next-step model on multi-hot sequences: teaching,
music-generation sketches, and a reference for the NLL such a model reaches on held-out
chorales (a comparison with Chung et al. 2014's ranking of recurrent units).

Must not be used for: claims about Bach's style or authorship, analysis or grading of
students' harmony, or music presented as Bach's. It knows quarter-note steps only (no
rhythm finer than a beat, no note repetitions within a held key), four-part chorales
only, and keys, not voices.

## Data
- Source: music21 {versions['music21']}'s corpus (`music21.corpus.chorales.Iterator`), read
  by `rnn_zoo.data.load_bach_chorales`: the {split['train'] + split['validation'] + split['test']}
  chorales with exactly 4 parts, as 88-key rolls (MIDI 21-108) sampled at the start of
  each quarter note (as in JSB Chorales, Boulanger-Lewandowski et al. 2012).
- Licence: {DATA_LICENCE}

## Split
The loader's fixed split (the one `examples/bach_chorales.py` uses): 60/20/20 by a
SHA-256 hash of each chorale's corpus name, {split['train']} train / {split['validation']}
validation (early stopping) / {split['test']} test chorales ({m['test_steps']:,} scored
steps; the names are in `metrics.json`). Input frame t, target frame t + 1, over whole
chorales. Scored with `bundle.predict` on the raw test rolls.

## Metrics (test chorales; 95% bootstrap intervals, {m['test_examples']} chorales, 2,000 resamples)
NLL per step: binary cross-entropy summed over the 88 keys (nats), averaged over every
real step of the test chorales. Lower is better. "Exact next frame": the share of steps
where thresholding each key at 0.5 gives exactly the next frame.

{table}

{_verdict(m)}

## Comparison figures (JSB Chorales, a different split: compare the ranking)
Chung, Gulcehre, Cho & Bengio (2014), "Empirical evaluation of gated recurrent neural
networks on sequence modeling" (arXiv:1412.3555), test NLL per step on JSB Chorales
(Boulanger-Lewandowski et al.'s split) with models of about 20K parameters:
{ranking}. Their pieces and split differ from music21's 4-part chorales here, so the
numbers are not comparable one to one; `examples/bach_chorales.py` reruns their three
sizes on this split (tanh 9.16, GRU 9.02, LSTM 8.93 with seed 0, examples/README.md).
This preset, a larger LSTM ({parameters:,} parameters) trained the same way, reaches
{m['nll_per_step']:.2f}. Their figures are not rechecked here.

## Model
- Parameters: {parameters:,}. Inputs pass `RightAlignPadding` and `Masking` (padding
  value {PAD}; a rest is an all-zero frame, so padding needs its own value), one
  {h['cell'].upper()} layer, a sigmoid `Dense` per key. Training: Adam (learning rate
  {h['learning_rate']}), gradient norm of the summed NLL clipped at
  {h['clipnorm_summed_nll']}, weight noise std {h['weight_noise']}
  (`rnn_zoo.callbacks.WeightNoise`), batches of {h['batch_size']} whole chorales, up to
  {h['epochs']} epochs, early stopping on the validation NLL per step (patience
  {h['patience']}): best epoch {m['best_epoch']} of {m['epochs_trained']} run
  (validation NLL {m['validation_nll_per_step']:.2f}), {m['train_seconds']:.0f} s of training.
- TFLite (`assets/model.tflite`, `rnn_zoo.export.tflite.export_tflite`, float32, batch 1,
  dynamic length, LSTM written as `{m['tflite']['lstm_kernel']}`; ops
  {', '.join(m['tflite']['ops'])}): largest difference from Keras
  {m['tflite']['max_abs_diff']:.1e}. It takes the raw frames (padding {PAD}).

## TFLite files, quantized forms and latency
{common.tflite_table(m['tflite']['forms'], m['tflite']['latency_steps'])}

## Sample (`bundle.generate("{DEFAULT_PROMPT}", length=16, seed=0)`, one frame per line)
```
{_frames_text(sample, labels)}
```

## Files
{common.sizes_table(sizes)}

## Known limitations
- Keys are drawn independently given the past, so a sampled frame can hold too many or
  too few notes; the model has no notion of voices, metre or phrase ends.
- 211 training chorales: a small corpus. The test interval is about
  {m['nll_per_step_interval'][1] - m['nll_per_step_interval'][0]:.1f} nats wide.

## Rebuild
```
rnn-zoo presets build {NAME}
```
Seeds are fixed (Python, numpy, Keras and the weight noise: 0); built in
{m['build_seconds']:.0f} s with rnn-zoo {versions['rnn-zoo']}, Keras {versions['keras']},
TensorFlow {versions['tensorflow']}, music21 {versions['music21']} (the first run parses
the corpus, about a minute, and caches the rolls). `rnn-zoo presets check {NAME}`
rescores this folder on the test chorales.
"""


def check(folder):
    """Rescore `folder` on the test chorales (see `rnn_zoo.recipes.check`).

    Returns:
        The dict of `common.check_result` (exact next-frame accuracy), plus
        `recorded_nll_per_step`, `measured_nll_per_step` and `nll_tolerance`;
        `ok` needs both within tolerance.
    """
    from rnn_zoo.data.datasets import load_bach_chorales
    from rnn_zoo.presets import from_preset

    bundle = from_preset(folder)
    data = load_bach_chorales(split="test")
    x, y, w = next_step(data)
    probabilities = bundle.predict(x)
    nll, steps = _scores(probabilities, y, w)
    measured = float(nll.sum() / steps.sum())
    accuracy = float((frame_accuracy(probabilities, y, w) * steps).sum() / steps.sum())
    rows = [row[:n] for row, n in zip(x[:8], data.lengths[:8] - 1)]
    difference = common.tflite_difference(bundle, folder, rows)
    result = common.check_result(NAME, bundle, accuracy, difference)
    recorded = bundle.metrics.get("nll_per_step")
    result.update({"recorded_nll_per_step": recorded, "measured_nll_per_step": measured,
                   "nll_tolerance": common.CHECK_TOLERANCE})
    result["ok"] = bool(result["ok"] and isinstance(recorded, float)
                        and abs(measured - recorded) <= common.CHECK_TOLERANCE)
    return result
