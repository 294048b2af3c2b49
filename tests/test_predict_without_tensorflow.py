"""`rnn-zoo predict` on an exported `.tflite` file needs LiteRT only (issue 19).

An app developer checking a file on a laptop, or a server running only the
LiteRT interpreter, should not pay for importing TensorFlow or Keras when the
input is token ids or features (text with the default tokenizer needs
tensorflow-text, so that case may import TensorFlow).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.export import export_model

_CHILD = """
import json, sys
from rnn_zoo.cli import main
status = main(sys.argv[1:])
heavy = sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)
print("HEAVY=" + json.dumps(heavy))
sys.exit(status)
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    model = rnn_zoo.build_sequence_classifier(num_features=3, num_classes=2, units=4)
    return export_model(model, name="series", export_root=root).path


@pytest.mark.parametrize("target", ["version", "file"])
def test_predict_on_a_tflite_export_imports_neither_tensorflow_nor_keras(exported, target,
                                                                          tmp_path):
    features = np.random.default_rng(0).normal(size=(3, 5, 3)).astype("float32")
    np.savez(tmp_path / "x.npz", features=features)
    path = exported if target == "version" else os.path.join(exported, "model.tflite")
    arguments = [path, "--npz", str(tmp_path / "x.npz"), "--format", "json"]
    if target == "version":
        arguments.append("--tflite")
    result = subprocess.run([sys.executable, "-c", _CHILD, "predict", *arguments],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    heavy = json.loads(result.stdout.rsplit("HEAVY=", 1)[1])
    assert heavy == [], f"predict on a .tflite file imported {heavy}"
    rows = json.loads(result.stdout.rsplit("HEAVY=", 1)[0])
    assert len(rows) == 3
