"""The same weights give the same outputs on TensorFlow, JAX and torch (<= 1e-5).

Runs once (not per backend): it starts one subprocess per backend itself,
because the Keras backend is fixed when keras is first imported.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from rnn_zoo.factories import FACTORIES
from tests.model_inputs import features
from tests.model_inputs import token_ids

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("text_classifier", {"vocab_size": 20, "cell": "lstm", "units": 6, "embedding_dim": 5}),
    ("text_classifier", {"vocab_size": 20, "cell": "gru", "units": [6, 4], "depth": 2,
                         "bidirectional": True, "embedding_dim": 5, "pooling": "attention"}),
    ("sequence_classifier", {"num_features": 3, "num_classes": 4, "cell": "simple_rnn",
                             "units": 5, "pooling": "max"}),
    ("sequence_tagger", {"vocab_size": 20, "num_tags": 3, "cell": "lstm", "units": 4,
                         "bidirectional": True, "embedding_dim": 4}),
    ("language_model", {"vocab_size": 20, "cell": "gru", "units": 4, "embedding_dim": 4}),
    ("sequence_regressor", {"num_features": 3, "output_dim": 2, "cell": "gru", "units": 5,
                            "pooling": "mean"}),
]


def test_same_weights_give_same_outputs_on_every_backend(tmp_path):
    rng = np.random.default_rng(7)
    payload = {}
    for index, (task, kwargs) in enumerate(CASES):
        model = FACTORIES[task](compile_model=False, **kwargs)
        weights = [rng.normal(scale=0.5, size=w.shape).astype("float32")
                   for w in model.get_weights()]
        payload[f"config_{index}"] = json.dumps({"task": task, "kwargs": kwargs})
        for k, w in enumerate(weights):
            payload[f"weights_{index}_{k}"] = w
        is_tokens = "vocab_size" in kwargs
        x = token_ids(rng, batch=4, steps=9) if is_tokens else features(rng, batch=4, steps=9)
        if is_tokens:
            x[0] = np.roll(x[0], 3)  # a row with padding at the front too
        payload[f"inputs_{index}"] = x
    in_path = tmp_path / "cases.npz"
    np.savez(in_path, **payload)

    results = {}
    for backend in ("tensorflow", "jax", "torch"):
        out_path = tmp_path / f"{backend}.npz"
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, str(ROOT / "tests" / "cross_backend_worker.py"),
                        str(in_path), str(out_path)], check=True, env=env, cwd=ROOT,
                       timeout=600)
        results[backend] = np.load(out_path)

    for index in range(len(CASES)):
        reference = results["tensorflow"][f"outputs_{index}"]
        for backend in ("jax", "torch"):
            np.testing.assert_allclose(results[backend][f"outputs_{index}"], reference,
                                       atol=1e-5, rtol=0, err_msg=f"{backend} {CASES[index]}")
