"""Run in a subprocess per backend: build models from configs, load shared weights, predict.

Usage: KERAS_BACKEND=<b> python tests/cross_backend_worker.py IN.npz OUT.npz
IN.npz holds, per case i: "config_i" (JSON text of factory + kwargs),
"weights_i_<k>" arrays and "inputs_i". OUT.npz gets "outputs_i".
"""

import json
import sys

import numpy as np

from rnn_zoo.factories import FACTORIES


def main(in_path, out_path):
    # allow_pickle=False: the file only holds numeric arrays and JSON text.
    data = np.load(in_path, allow_pickle=False)
    outputs = {}
    case = 0
    while f"config_{case}" in data:
        spec = json.loads(str(data[f"config_{case}"]))
        model = FACTORIES[spec["task"]](compile_model=False, **spec["kwargs"])
        count = len(model.get_weights())
        model.set_weights([data[f"weights_{case}_{k}"] for k in range(count)])
        outputs[f"outputs_{case}"] = model.predict(data[f"inputs_{case}"], verbose=0)
        case += 1
    np.savez(out_path, **outputs)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
