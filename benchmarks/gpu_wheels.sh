#!/usr/bin/env bash
# Fetch, here, the Python packages gpu_check.sh needs on a GPU machine that has
# CUDA builds of PyTorch and JAX but no Keras and no way to reach PyPI (the
# device machine this project is lent: Python 3.12, torch and jax with CUDA).
#
# Writes wheels for Keras and the two Keras needs that such an image lacks
# (namex, optree) into .whl/ (git-ignored), at the versions installed in this
# project's .venv, so the GPU runs the Keras the tests ran. gpu_check.sh installs
# whatever it finds in .whl/ into a temporary folder before it starts. The
# other Keras needs (numpy, absl-py, h5py, ml-dtypes, rich, packaging) and
# what rnn_zoo imports (matplotlib, pandas, scikit-learn, scipy) are expected
# there already; TensorFlow's CUDA build is far too large to carry, so its
# backend is reported as unchecked there.
#
# Usage: benchmarks/gpu_wheels.sh [PYTHON_VERSION]    (default 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || { echo "gpu_wheels: $PYTHON not found; run 'make install' first" >&2; exit 1; }
TARGET_PYTHON="${1:-3.12}"

pins=()
for name in keras namex optree; do
  version="$("$PYTHON" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")"
  pins+=("$name==$version")
done
rm -rf .whl
mkdir -p .whl
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: \
  --python-version "$TARGET_PYTHON" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "${pins[@]}"
echo "gpu_wheels: ${pins[*]} for Python $TARGET_PYTHON in .whl/ ($(du -sh .whl | cut -f1))"
