#!/usr/bin/env bash
# One prepared check for a CUDA machine: does every backend take cuDNN, and how fast?
#
# For each Keras backend (tensorflow, jax, torch), in its own process:
#   1. rnn_zoo.cudnn_report on LSTM / GRU / BiLSTM classifiers, unmasked
#      (numeric input, no Masking) and masked (token ids, right-padded): every
#      layer must say cuDNN, except JAX with a mask (Keras 3.15.1 falls back
#      to its generic loop there; the report says so and the check lists it).
#   2. ms per training step with the zoo's default kernel vs the same model
#      with use_cudnn=False on every recurrent layer (the generic loop): the
#      ratio shows the fused kernel really runs.
# Then raw PyTorch nn.LSTM / nn.GRU on cuDNN, same sizes, for the throughput
# comparison.
#
# Exit status: 0 when every backend ran and took cuDNN where it should; 1,
# with one clear line, when no GPU is visible or a layer that should take
# cuDNN does not; 3 when everything that ran passed but a backend's library
# is not installed on this machine, so its cuDNN path is unchecked (named in
# the last line).
#
# On a machine without Keras (the GPU machine this project is lent has CUDA
# builds of PyTorch and JAX, no Keras, no TensorFlow and no network), first
# run benchmarks/gpu_wheels.sh where pip works: this script installs the
# wheels it finds in .whl/ into a temporary folder before it starts.
#
# Usage: benchmarks/gpu_check.sh [--quick]        (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
QUICK="${1:-}"
case "$QUICK" in
  ""|--quick) ;;
  *) echo "gpu_check: unknown argument '$QUICK' (allowed: --quick, or nothing for the full run)" >&2; exit 2 ;;
esac
# Each backend runs in its own process; JAX would otherwise reserve 75% of
# the GPU's memory at its first use.
export XLA_PYTHON_CLIENT_PREALLOCATE=false

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU visible (nvidia-smi missing or failing); run this on a CUDA machine." >&2
  exit 1
fi
nvidia-smi -L
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

SCRIPT="$(mktemp --suffix=.py)"
SITE="$(mktemp -d)"
trap 'rm -rf "$SCRIPT" "$SITE"' EXIT
# Only where Keras is missing: wheels fetched for another Python would not install.
if compgen -G ".whl/*.whl" >/dev/null \
    && ! "$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('keras') is None)"; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" .whl/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  echo "installed for this run: $(cd .whl && ls *.whl | tr '\n' ' ')"
fi
"$PYTHON" --version
cat >"$SCRIPT" <<'PY'
import os
import statistics
import sys
import time

sys.path.insert(0, "benchmarks")
sys.path.insert(0, ".")
QUICK = sys.argv[1] == "--quick"
# batch, steps, vocab/features, embedding, units: big enough for a GPU to matter.
SIZE = dict(batch=128, steps=100, vocab=5000, embedding=64, units=256, padded=True)
STEPS, REPEATS = (5, 2) if QUICK else (20, 5)
CELLS = {"lstm": ("lstm", False), "gru": ("gru", False), "bilstm": ("lstm", True)}


def raw_torch():
    import torch
    from torch import nn

    if not torch.cuda.is_available():
        sys.exit("gpu_check: torch sees no CUDA device")
    device = torch.device("cuda")
    print(f"raw PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}")
    for name, (cell, bidirectional) in CELLS.items():
        rnn_class = nn.LSTM if cell == "lstm" else nn.GRU
        embedding = nn.Embedding(SIZE["vocab"], SIZE["embedding"], padding_idx=0).to(device)
        rnn = rnn_class(SIZE["embedding"], SIZE["units"], batch_first=True,
                        bidirectional=bidirectional).to(device)
        head = nn.Linear(SIZE["units"] * (2 if bidirectional else 1), 2).to(device)
        parameters = [*embedding.parameters(), *rnn.parameters(), *head.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=1e-3)
        ids = torch.randint(2, SIZE["vocab"], (SIZE["batch"], SIZE["steps"]), device=device)
        lengths = torch.randint(SIZE["steps"] // 2, SIZE["steps"] + 1, (SIZE["batch"],))
        ids[torch.arange(SIZE["steps"], device=device)[None] >= lengths.to(device)[:, None]] = 0
        labels = torch.randint(0, 2, (SIZE["batch"],), device=device)

        def step():
            optimizer.zero_grad()
            packed = nn.utils.rnn.pack_padded_sequence(embedding(ids), lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, hidden = rnn(packed)
            h = hidden[0] if isinstance(hidden, tuple) else hidden
            features = torch.cat([h[0], h[1]], -1) if bidirectional else h[0]
            nn.functional.cross_entropy(head(features), labels).backward()
            optimizer.step()

        for _ in range(3):
            step()
        values = []
        for _ in range(REPEATS):
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(STEPS):
                step()
            torch.cuda.synchronize()
            values.append((time.perf_counter() - start) * 1000 / STEPS)
        print(f"RESULT raw-torch {name:<6} {statistics.median(values):8.2f} ms/step "
              f"(min {min(values):.2f}, max {max(values):.2f})")


def keras_backend():
    import keras
    import numpy as np

    import rnn_zoo
    from rnn_zoo.cudnn import gpu_available
    from rnn_zoo.cudnn import recurrent_layers
    from train_speed import make_batches
    from train_speed import time_keras

    backend = keras.backend.backend()
    if not gpu_available(backend):
        sys.exit(f"gpu_check: the {backend} backend sees no GPU (check its CUDA build)")
    failures = []
    ids, labels = make_batches(SIZE, STEPS)
    features = np.random.default_rng(0).normal(
        size=(len(ids), SIZE["steps"], 8)).astype("float32")
    for name, (cell, bidirectional) in CELLS.items():
        common = dict(cell=cell, bidirectional=bidirectional, units=SIZE["units"])
        unmasked = rnn_zoo.build_sequence_classifier(num_features=8, num_classes=2,
                                                     mask_value=None, **common)
        masked = rnn_zoo.build_text_classifier(vocab_size=SIZE["vocab"], num_classes=2,
                                               embedding_dim=SIZE["embedding"], **common)
        for label, model in (("unmasked", unmasked), ("masked", masked)):
            for entry in rnn_zoo.cudnn_report(model):
                print(f"REPORT {backend} {name} {label}: {entry}")
                expected = not (backend == "jax" and entry.masked)
                if expected and not entry.uses_cudnn:
                    failures.append(f"{backend} {name} {label}: {entry}")

        timings = {}
        for kernel in ("default", "use_cudnn=False"):
            model = rnn_zoo.build_text_classifier(vocab_size=SIZE["vocab"], num_classes=2,
                                                  embedding_dim=SIZE["embedding"], **common)
            if kernel != "default":
                for layer in recurrent_layers(model):
                    for inner in ([layer.forward_layer, layer.backward_layer]
                                  if isinstance(layer, keras.layers.Bidirectional) else [layer]):
                        inner.use_cudnn = False
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(ids[: 2 * SIZE["batch"]], labels[: 2 * SIZE["batch"]],
                      batch_size=SIZE["batch"], verbose=0)
            timings[kernel] = statistics.median(
                time_keras(model, ids, labels, SIZE["batch"]) for _ in range(REPEATS))
            print(f"RESULT {backend} zoo {name:<6} {kernel:<16} {timings[kernel]:8.2f} ms/step")
        print(f"RATIO {backend} {name}: generic loop / default kernel = "
              f"{timings['use_cudnn=False'] / timings['default']:.1f}x")
        keras.backend.clear_session()
    if failures:
        sys.exit("gpu_check: expected cuDNN but got: " + " | ".join(failures))


if os.environ.get("GPU_CHECK_PART") == "raw":
    raw_torch()
else:
    keras_backend()
PY

status=0
unchecked=()
for backend in tensorflow jax torch; do
  echo "== $backend"
  if ! "$PYTHON" -c "import $backend" 2>/dev/null; then
    echo "SKIPPED $backend: not installed for $PYTHON here, so its cuDNN path is unchecked"
    unchecked+=("$backend")
    continue
  fi
  if ! KERAS_BACKEND="$backend" "$PYTHON" -c "import keras" 2>/dev/null; then
    echo "gpu_check: keras is not importable by $PYTHON; run benchmarks/gpu_wheels.sh where pip works and bring .whl/ along" >&2
    exit 1
  fi
  if ! KERAS_BACKEND="$backend" TF_CPP_MIN_LOG_LEVEL=2 "$PYTHON" "$SCRIPT" "${QUICK:---full}"; then
    status=1
  fi
done
echo "== raw PyTorch"
GPU_CHECK_PART=raw "$PYTHON" "$SCRIPT" "${QUICK:---full}" || status=1
if [ "$status" -ne 0 ]; then
  echo "gpu_check: FAILED (see the lines above)" >&2
elif [ "${#unchecked[@]}" -gt 0 ]; then
  echo "gpu_check: INCOMPLETE: passed, but ${unchecked[*]} not checked (not installed here)" >&2
  status=3
else
  echo "gpu_check: passed on every backend"
fi
exit "$status"
