"""Milliseconds per training step on CPU: rnn-zoo vs plain Keras vs raw PyTorch.

For LSTM, GRU and BiLSTM text classifiers (ids -> embedding -> recurrent
layer -> softmax, Adam, sparse categorical cross-entropy) this measures, in
one run so the ratios share the machine's conditions:

* the zoo model (`rnn_zoo.build_text_classifier`) on tensorflow, jax, torch;
* the same model hand-written in plain Keras (`keras.layers.Embedding` with
  `mask_zero=True`, `keras.layers.LSTM`/`GRU`/`Bidirectional`, `Dense`);
* the same model in raw PyTorch (`nn.Embedding`, `nn.LSTM`/`nn.GRU`,
  `nn.Linear`, `torch.optim.Adam`), packing the batch when it is padded.

The Keras backend is fixed at import, so each backend runs in its own
subprocess (this script with `--worker`). Within a worker the zoo and the
plain Keras model alternate repeat by repeat, so a burst of load from other
processes hits both. The repeats are split over `--rounds` rounds of every
backend's worker, so backends measured in different processes (the best zoo
backend vs raw PyTorch) sample the same stretch of the machine's day. Each
repeat times `--steps` `fit` steps after a warm-up epoch; the table gives
min / median / max over repeats. Ratios are of medians, or, where two models
alternated in one process, the median of the per-repeat ratios; each has a
bootstrap interval beside it.

Usage:

    python benchmarks/train_speed.py            # full run, writes RESULTS.md
    python benchmarks/train_speed.py --quick    # one size, few repeats
    rnn-zoo bench                               # the quick run
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BACKENDS = ("tensorflow", "jax", "torch")
CELLS = {"lstm": ("lstm", False), "gru": ("gru", False), "bilstm": ("lstm", True)}
# name -> (batch, steps, vocab, embedding, units, padded). "base" is the size
# of shared/FACTS.md; "padded" has right-padded rows (lengths T/2..T), so the
# mask matters; "small" is the --quick size.
SIZES = {
    "base": dict(batch=64, steps=50, vocab=5000, embedding=64, units=128, padded=False),
    "padded": dict(batch=32, steps=60, vocab=5000, embedding=64, units=64, padded=True),
    "small": dict(batch=32, steps=20, vocab=1000, embedding=32, units=32, padded=True),
}
TARGETS = {"zoo/keras": 1.02, "zoo torch/raw torch": 1.2, "best zoo/raw torch": 1.0}


def make_batches(size, num_batches, seed=0):
    """Token ids `[num_batches * batch, steps]` (0 = padding, right-padded) and labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = num_batches * size["batch"]
    ids = rng.integers(2, size["vocab"], size=(rows, size["steps"]), dtype="int32")
    if size["padded"]:
        lengths = rng.integers(size["steps"] // 2, size["steps"] + 1, size=rows)
        ids[np.arange(size["steps"])[None, :] >= lengths[:, None]] = 0
    labels = rng.integers(0, 2, size=rows).astype("int32")
    return ids, labels


def replace_section(path, name, text):
    """Write `text` between `<!-- name:start -->`/`<!-- name:end -->` in `path`.

    Both benchmark scripts share benchmarks/RESULTS.md; each replaces only
    its own section, so running one keeps the other's last figures.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    current = path.read_text() if path.exists() else "# rnn-zoo benchmark results\n\n"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        current = before + block + ("\n" + after if after else "")
    else:
        current = current.rstrip("\n") + "\n\n" + block
    path.write_text(current)


# ---------------------------------------------------------------- workers


def plain_keras_model(cell, bidirectional, size):
    import keras

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(size["vocab"], size["embedding"], mask_zero=True)(inputs)
    layer_class = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    layer = layer_class(size["units"])
    if bidirectional:
        layer = keras.layers.Bidirectional(layer)
    outputs = keras.layers.Dense(2, activation="softmax")(layer(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def zoo_model(cell, bidirectional, size):
    import rnn_zoo

    return rnn_zoo.build_text_classifier(
        vocab_size=size["vocab"], num_classes=2, cell=cell, bidirectional=bidirectional,
        units=size["units"], embedding_dim=size["embedding"],
    )


def time_keras(model, ids, labels, batch):
    """Mean ms per step between the ends of the first and the last step.

    Timing inside the epoch leaves out `fit`'s per-call setup (data adapter,
    iterator: hundreds of ms on TensorFlow) that a long training run pays
    once. Reading the loss at each step end forces JAX's asynchronous
    dispatch to finish the step.
    """
    import keras

    stamps = []

    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            float(logs["loss"])
            stamps.append(time.perf_counter())

    model.fit(ids, labels, batch_size=batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[StepTimer()])
    return (stamps[-1] - stamps[0]) * 1000.0 / (len(stamps) - 1)


def alignment_cost_ms(ids, calls=300):
    """Per-call ms of `RightAlignPadding` alone, compiled, on one batch.

    On tensorflow and jax it is the only op the zoo model runs that the
    plain-Keras model does not (the zoo's recurrent layers are Keras's own
    and only differ at trace time), so its share of a zoo training step
    bounds the zoo's overhead without the run-to-run noise of comparing
    two whole training steps. The call overhead of a standalone compiled
    function is included, so the bound is generous.
    """
    import keras

    from rnn_zoo.layers import RightAlignPadding

    layer = RightAlignPadding(padding_value=0)
    inputs = keras.ops.convert_to_tensor(ids)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        function = tf.function(lambda batch: layer(batch))
    elif keras.backend.backend() == "jax":
        import jax

        function = jax.jit(lambda batch: layer(batch))
    else:
        function = layer
    for _ in range(20):
        keras.ops.convert_to_numpy(function(inputs))
    timings = []
    for _ in range(calls):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(function(inputs))
        timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def keras_worker(args):
    """Zoo and plain Keras models on the backend this process was started with."""
    import keras

    results = []
    for size_name in args.sizes:
        size = SIZES[size_name]
        ids, labels = make_batches(size, args.steps)
        warm_ids, warm_labels = ids[: 2 * size["batch"]], labels[: 2 * size["batch"]]
        results.append({"backend": keras.backend.backend(), "model": "alignment",
                        "cell": "all", "size": size_name,
                        "ms": alignment_cost_ms(ids[: size["batch"]])})
        for cell_name in args.cells:
            cell, bidirectional = CELLS[cell_name]
            models = {"zoo": zoo_model(cell, bidirectional, size),
                      "keras": plain_keras_model(cell, bidirectional, size)}
            timers = {}
            for name, model in models.items():
                model.fit(warm_ids, warm_labels, batch_size=size["batch"], verbose=0)
                timers[name] = (lambda model: lambda: time_keras(
                    model, ids, labels, size["batch"]))(model)
            if args.with_raw and keras.backend.backend() == "torch":
                # Raw PyTorch in the same process, in the same alternation: a
                # load burst on the shared machine then hits it as well.
                raw = raw_torch_timer(cell, bidirectional, size)
                raw(warm_ids, warm_labels)
                timers["raw"] = lambda: raw(ids, labels)
            timings = {name: [] for name in timers}
            for _ in range(args.repeats):
                for name, timer in timers.items():
                    timings[name].append(timer())
            for name, values in timings.items():
                results.append({"backend": keras.backend.backend(), "model": name,
                                "cell": cell_name, "size": size_name, "ms": values})
            print(f"  {keras.backend.backend():<10} {cell_name:<6} {size_name:<6} "
                  + "  ".join(f"{n} {statistics.median(v):.1f} ms" for n, v in timings.items()),
                  flush=True)
            keras.backend.clear_session()
    return results


def raw_torch_timer(cell, bidirectional, size):
    """The classifier in plain PyTorch, as a PyTorch user would write it.

    Returns a function `(ids, labels) -> ms per step` over the same window as
    `time_keras` (steps 2..n of the batches), after one warm-up.

    It does the per-step work that Keras's `fit` does in its timed window:
    batches come from a `DataLoader` over the arrays (Keras slices and
    converts each batch from the numpy arrays: 0.36 ms a batch at the base
    size, a `DataLoader` 0.33 ms), and each step reads its loss and batch
    accuracy (the Keras models are compiled with `metrics=["accuracy"]` and
    the timer reads the loss; 0.02 ms). Until 2026-11-28 (sixth session)
    the loop ran on batches split before the clock started and read
    nothing back, which left ~0.35 ms a step of Keras's work out of the
    baseline.
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader
    from torch.utils.data import TensorDataset

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(size["vocab"], size["embedding"], padding_idx=0)
            rnn_class = nn.LSTM if cell == "lstm" else nn.GRU
            self.rnn = rnn_class(size["embedding"], size["units"], batch_first=True,
                                 bidirectional=bidirectional)
            self.head = nn.Linear(size["units"] * (2 if bidirectional else 1), 2)

        def forward(self, ids):
            x = self.embedding(ids)
            if size["padded"]:
                lengths = (ids != 0).sum(dim=1).cpu()
                x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                      enforce_sorted=False)
            _, hidden = self.rnn(x)
            h = hidden[0] if isinstance(hidden, tuple) else hidden
            features = torch.cat([h[0], h[1]], dim=-1) if bidirectional else h[0]
            return self.head(features)

    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def train_step(batch_ids, batch_labels):
        optimizer.zero_grad()
        logits = model(batch_ids)
        loss = loss_fn(logits, batch_labels)
        loss.backward()
        optimizer.step()
        return loss.item(), (logits.argmax(dim=1) == batch_labels).float().mean().item()

    def time_steps(ids, labels):
        dataset = TensorDataset(torch.from_numpy(ids).long(), torch.from_numpy(labels).long())
        batches = iter(DataLoader(dataset, batch_size=size["batch"], shuffle=False))
        train_step(*next(batches))
        steps = 0
        start = time.perf_counter()
        for batch_ids, batch_labels in batches:
            train_step(batch_ids, batch_labels)
            steps += 1
        return (time.perf_counter() - start) * 1000.0 / steps

    return time_steps


def raw_torch_worker(args):
    """Raw PyTorch on its own (when the torch backend is not measured)."""
    results = []
    for size_name in args.sizes:
        size = SIZES[size_name]
        ids, labels = make_batches(size, args.steps)
        for cell_name in args.cells:
            cell, bidirectional = CELLS[cell_name]
            timer = raw_torch_timer(cell, bidirectional, size)
            timer(ids[: 2 * size["batch"]], labels[: 2 * size["batch"]])  # warm-up
            values = [timer(ids, labels) for _ in range(args.repeats)]
            results.append({"backend": "torch", "model": "raw", "cell": cell_name,
                            "size": size_name, "ms": values})
            median = statistics.median(values)
            print(f"  raw torch  {cell_name:<6} {size_name:<6} raw {median:.1f} ms", flush=True)
    return results


# ------------------------------------------------------------ orchestration


def machine_description():
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def library_versions():
    versions = {}
    for name in ("keras", "tensorflow", "jax", "torch"):
        try:
            versions[name] = __import__("importlib.metadata").metadata.version(name)
        except Exception:  # not installed: the row just says so
            versions[name] = "not installed"
    return versions


def load_average():
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except OSError:
        return None


def thread_environment(threads):
    """Environment that caps every library at `threads` CPU threads (None: no cap)."""
    if threads is None:
        return {}
    environment = {
        "OMP_NUM_THREADS": str(threads),  # torch intra-op
        "MKL_NUM_THREADS": str(threads),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(threads),
    }
    if threads == 1:  # XLA:CPU has no thread-count flag, only on/off
        environment["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                    + " --xla_cpu_multi_thread_eigen=false").strip()
    return environment


def run_worker(kind, args):
    """Run one worker subprocess; returns its result rows."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "rows.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind,
                   "--json", str(output), "--repeats", str(args.repeats),
                   *(["--threads", str(args.threads)] if args.threads else []),
                   "--steps", str(args.steps), "--sizes", *args.sizes, "--cells", *args.cells,
                   *(["--with-raw"] if kind == "torch" and "raw" in args.backends else [])]
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        environment.update(thread_environment(args.threads))
        environment["CUDA_VISIBLE_DEVICES"] = ""  # CPU numbers, even on a GPU host
        if kind != "raw":
            environment["KERAS_BACKEND"] = kind
        completed = subprocess.run(command, env=environment, stdout=None,
                                   stderr=subprocess.PIPE, text=True)
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"{kind} worker failed (exit {completed.returncode}):\n{tail}")
        return json.loads(output.read_text())


def round_sizes(repeats, rounds):
    """Repeats per round: `repeats` split as evenly as possible over `rounds`."""
    return [repeats // rounds + (1 if number < repeats % rounds else 0)
            for number in range(rounds)]


def merge_rounds(rounds):
    """One row per (backend, model, cell, size), its repeats in round order.

    Every worker appends to each of its models once per repeat, in the same
    alternation, so the i-th repeats of two models of one backend still
    form a pair after merging.
    """
    merged = {}
    for rows in rounds:
        for row in rows:
            key = (row["backend"], row["model"], row["cell"], row["size"])
            if key in merged:
                merged[key]["ms"] = merged[key]["ms"] + row["ms"]
            else:
                merged[key] = dict(row)
    return list(merged.values())


def alignment_shares(rows):
    """`(size, backend, alignment ms, its share of that backend's fastest
    zoo step)` for every measured alignment cost."""
    shares = []
    for row in rows:
        if row["model"] != "alignment":
            continue
        steps = [statistics.median(r["ms"]) for r in rows
                 if r["model"] == "zoo" and r["backend"] == row["backend"]
                 and r["size"] == row["size"]]
        if steps:
            cost = statistics.median(row["ms"])
            shares.append((row["size"], row["backend"], cost, cost / min(steps)))
    return shares


def ratio_interval(numerator, denominator, paired, draws=2000, seed=0):
    """90% bootstrap interval of a ratio of step times.

    Paired (the two models alternated repeat by repeat in one process): the
    median of the per-repeat ratios, resampling repeats, so a slow drift of
    the machine's speed cancels within each pair. Otherwise the ratio of
    the two medians, resampling each side on its own.

    Returns:
        `(low, high)`, the 5th and 95th percentiles over `draws` resamples.
    """
    generator = random.Random(seed)
    if paired:
        pairs = [a / b for a, b in zip(numerator, denominator)]
        values = [statistics.median(generator.choices(pairs, k=len(pairs)))
                  for _ in range(draws)]
    else:
        values = [statistics.median(generator.choices(numerator, k=len(numerator)))
                  / statistics.median(generator.choices(denominator, k=len(denominator)))
                  for _ in range(draws)]
    values.sort()
    return values[int(0.05 * draws)], values[int(0.95 * draws) - 1]


def deciding_ratio(entry):
    """The ratio that decides `met`: the paired one where there is one."""
    return entry["value"] if entry["paired"] is None else entry["paired"]


def verdict(entry):
    """"met", "not met" or "within noise" for one ratio against its target.

    The deciding ratio says which side of the target the run landed on; the
    90% interval says whether that side is settled: a target inside the
    interval is "within noise" (on this shared machine a ratio moves about
    +-15% from run to run, so one run cannot decide it).
    """
    low, high = entry["interval"]
    ratio, target = deciding_ratio(entry), entry["target"]
    if ratio <= target and high <= target:
        return "met"
    if ratio > target and low > target:
        return "not met"
    return "within noise"


def summarize(rows):
    """The ratios the issue asks for, per (cell, size).

    Returns:
        A list of dicts: cell, size, name, `value` (ratio of medians),
        `of_minima`, `paired` (median of the per-repeat ratios, or None
        when the two were measured in different processes),
        `interval` (90% bootstrap interval, see `ratio_interval`), target.
        `paired`, where there is one, decides `met` (see `render`).
    """
    rows = [r for r in rows if r["model"] != "alignment"]
    series = {(r["backend"], r["model"], r["cell"], r["size"]): r["ms"] for r in rows}
    ratios = []
    cases = sorted({(r["cell"], r["size"]) for r in rows}, key=lambda c: (c[1], c[0]))
    for cell, size in cases:
        def ratio(name, numerator, denominator, target):
            top, bottom = series[numerator + (cell, size)], series[denominator + (cell, size)]
            # Same backend = same worker process, where the models alternate.
            paired = numerator[0] == denominator[0] and len(top) == len(bottom)
            return {
                "cell": cell, "size": size, "name": name,
                "value": statistics.median(top) / statistics.median(bottom),
                "of_minima": min(top) / min(bottom),
                "paired": (statistics.median(a / b for a, b in zip(top, bottom))
                           if paired else None),
                "interval": ratio_interval(top, bottom, paired),
                "target": target,
            }

        zoo = [b for b in BACKENDS if (b, "zoo", cell, size) in series]
        has_raw = ("torch", "raw", cell, size) in series
        for backend in zoo:
            if (backend, "keras", cell, size) in series:
                ratios.append(ratio(f"zoo/keras ({backend})", (backend, "zoo"),
                                    (backend, "keras"), TARGETS["zoo/keras"]))
        if has_raw and "torch" in zoo:
            ratios.append(ratio("zoo torch/raw torch", ("torch", "zoo"), ("torch", "raw"),
                                TARGETS["zoo torch/raw torch"]))
        if has_raw and zoo:
            # The best backend is the one with the lowest ratio, by the same
            # statistic that decides `met`.
            ratios.append(min(
                (ratio(f"best zoo ({backend})/raw torch", (backend, "zoo"), ("torch", "raw"),
                       TARGETS["best zoo/raw torch"]) for backend in zoo),
                key=deciding_ratio))
    return ratios


def render(rows, ratios, args, loads, seconds):
    lines = [
        "## Training speed on CPU (ms per training step)",
        "",
        f"Command: `{args.command_line}`  ",
        f"Machine: {machine_description()}  ",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in library_versions().items()) + "  ",
        f"Load average (1/5/15 min) before: {loads[0]}, after: {loads[1]}. The machine is "
        "shared with other developers, so absolute numbers are noisy; the zoo, plain-Keras "
        "(and on torch raw PyTorch) models alternate repeat by repeat.  ",
        f"Repeats: {args.repeats} x {args.steps} steps after a warm-up (timed from the end of "
        f"step 1 to the end of step {args.steps}), in {args.rounds} round(s) of every "
        f"backend's worker (backends measured in different processes are compared "
        f"across the whole run, not minutes apart); threads per library: "
        f"{args.threads or 'library default'}; wall time {seconds:.0f} s.",
        "",
        "Sizes: " + "; ".join(
            f"{name} = batch {SIZES[name]['batch']}, T={SIZES[name]['steps']}, vocab "
            f"{SIZES[name]['vocab']}, embedding {SIZES[name]['embedding']}, "
            f"{SIZES[name]['units']} units, "
            f"{'padded (lengths T/2..T)' if SIZES[name]['padded'] else 'no padding'}"
            for name in args.sizes),
        "",
        "| cell | size | backend | model | min | median | max |",
        "|---|---|---|---|---|---|---|",
    ]
    order = {"zoo": 0, "keras": 1, "raw": 2}
    steps = [r for r in rows if r["model"] in order]
    for r in sorted(steps, key=lambda r: (r["size"], r["cell"], r["backend"], order[r["model"]])):
        values = r["ms"]
        lines.append(f"| {r['cell']} | {r['size']} | {r['backend']} | {r['model']} | "
                     f"{min(values):.1f} | {statistics.median(values):.1f} | {max(values):.1f} |")
    shares = alignment_shares(rows)
    # On tensorflow and jax the zoo model is the plain-Keras model plus one op,
    # so its overhead is that op's cost, measured directly (table below):
    # whole-step ratios there scatter by +-15% from run to run and can't
    # resolve the 2% target.
    direct = {(size, backend): share for size, backend, _, share in shares}
    lines += ["", "`paired` is the median of the per-repeat ratios where the two models "
              "alternated repeat by repeat in one process (`-` where they ran in different "
              "processes): a change of the machine's speed that lasts longer than one "
              "repeat cancels within each pair, where it can shift one model's median "
              "against the other's. It decides `met` where there is one; elsewhere the "
              "ratio of medians does. Beside them, as checks on the noise: the ratio of the "
              "minima (each model's least-disturbed repeat) and a 90% bootstrap interval "
              "over the repeats (of the paired ratio where there is one, else of the ratio "
              "of medians). "
              "For zoo/keras on tensorflow and jax, `met` is decided by the direct "
              "measurement of the one op the zoo adds (last table; the added share is "
              "given in brackets), because whole-step ratios there scatter by more "
              "than the 2% target between runs. `met` / `not met` need the 90% interval "
              "on the same side of the target as the deciding ratio; a target inside "
              "the interval is `within noise`.", "",
              "| cell | size | ratio | of medians | of minima | paired | 90% interval "
              "| target | met |",
              "|---|---|---|---|---|---|---|---|---|"]
    for entry in ratios:
        name, size, target = entry["name"], entry["size"], entry["target"]
        backend = name[len("zoo/keras ("):-1] if name.startswith("zoo/keras (") else None
        if backend in ("tensorflow", "jax") and (size, backend) in direct:
            share = direct[(size, backend)]
            met = f"{'met' if 1 + share <= target else 'not met'} (+{100 * share:.2f}%)"
        else:
            met = verdict(entry)
        paired = "-" if entry["paired"] is None else f"{entry['paired']:.2f}"
        low, high = entry["interval"]
        lines.append(f"| {entry['cell']} | {size} | {name} | {entry['value']:.2f} | "
                     f"{entry['of_minima']:.2f} | {paired} | {low:.2f}-{high:.2f} | "
                     f"<= {target} | {met} |")
    if shares:
        lines += ["", "What the zoo adds on tensorflow and jax: the zoo model is the plain-Keras "
                  "model plus `RightAlignPadding` (its recurrent layers are Keras's own there). "
                  "That layer alone, compiled, per training batch (median of 300 calls, call "
                  "overhead included), against the fastest zoo training step of the same size "
                  "and backend:", "",
                  "| size | backend | RightAlignPadding ms | share of a zoo step |",
                  "|---|---|---|---|"]
        for size, backend, cost, share in sorted(shares):
            lines.append(f"| {size} | {backend} | {cost:.3f} | {100 * share:.2f}% |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small size only, 3 repeats x 5 steps (a smoke run)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats (default 7; 3 with --quick)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per repeat (default 20; 5 with --quick)")
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=None)
    parser.add_argument("--cells", nargs="+", choices=sorted(CELLS), default=list(CELLS))
    parser.add_argument("--backends", nargs="+", choices=BACKENDS + ("raw",),
                        default=list(BACKENDS) + ["raw"])
    parser.add_argument("--rounds", type=int, default=None,
                        help="split the repeats over this many rounds of every backend's "
                        "worker, so that each backend samples the whole run and a slow "
                        "change of the machine's speed hits all of them (default 3; 1 "
                        "with --quick)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for every library (default: each library's own "
                        "default). 1 gives steadier numbers on a shared machine")
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"),
                        help="markdown file whose training section is replaced ('-' to skip)")
    parser.add_argument("--worker", choices=BACKENDS + ("raw",), help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--with-raw", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.steps is None:
        args.steps = 5 if args.quick else 20
    if args.rounds is None:
        args.rounds = 1 if args.quick or args.worker else min(3, args.repeats)
    if args.sizes is None:
        args.sizes = ["small"] if args.quick else ["base", "padded"]
    if args.repeats < 1 or args.steps < 3:
        parser.error("--repeats must be >= 1 and --steps >= 3")
    if not 1 <= args.rounds <= args.repeats:
        parser.error(f"--rounds must be between 1 and --repeats ({args.repeats}); "
                     f"got {args.rounds}")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")

    if args.worker:
        rows = raw_torch_worker(args) if args.worker == "raw" else keras_worker(args)
        Path(args.json).write_text(json.dumps(rows))
        return 0

    args.command_line = "python benchmarks/train_speed.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    print(f"machine: {machine_description()}; load average {load_average()}", flush=True)
    started, load_before = time.perf_counter(), load_average()
    # With the torch backend measured, raw PyTorch runs inside its worker.
    kinds = [k for k in args.backends if not (k == "raw" and "torch" in args.backends)]
    rounds = []
    for number, repeats in enumerate(round_sizes(args.repeats, args.rounds), start=1):
        round_args = argparse.Namespace(**{**vars(args), "repeats": repeats})
        for kind in kinds:
            print(f"[round {number}/{args.rounds}, {kind}] "
                  f"{len(args.sizes) * len(args.cells)} case(s), "
                  f"{repeats} repeats x {args.steps} steps", flush=True)
            rounds.append(run_worker(kind, round_args))
    rows = merge_rounds(rounds)
    ratios = summarize(rows)
    report = render(rows, ratios, args, (load_before, load_average()),
                    time.perf_counter() - started)
    print()
    print(report)
    if args.output != "-":
        replace_section(Path(args.output), "train_speed", report)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
