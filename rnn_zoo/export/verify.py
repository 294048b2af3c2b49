"""Run exported `.tflite` files with the LiteRT interpreter and compare them.

`tf.lite.Interpreter` is deprecated; `ai_edge_litert.interpreter.Interpreter`
(PyPI `ai-edge-litert`) loads the same files and installs beside TF 2.21.
"""

import statistics
import time

import numpy as np


def load_interpreter(model, num_threads=1):
    """A LiteRT interpreter for a `.tflite` path or the file's bytes.

    Args:
        model: str / path-like, or `bytes` holding the flatbuffer.
        num_threads: int >= 1, default 1 (what a phone app usually gets).

    Returns:
        An `ai_edge_litert.interpreter.Interpreter`, tensors allocated.

    Example:

    >>> interpreter = load_interpreter("model.tflite")
    """
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, (bytes, bytearray)):
        interpreter = Interpreter(model_content=bytes(model), num_threads=num_threads)
    else:
        interpreter = Interpreter(model_path=str(model), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


def op_names(interpreter):
    """Sorted unique operator names in the model (e.g. "WHILE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM"; Select TF ops show up as "FlexXxx" or
    "DELEGATE")."""
    return sorted({detail["op_name"] for detail in interpreter._get_ops_details()})


def flex_ops(names):
    """The names among `names` that need the Select TF ops (Flex) runtime."""
    return sorted(name for name in names
                  if name.startswith("Flex") or name in ("DELEGATE", "CUSTOM"))


def run_signature(interpreter, inputs, signature_key=None):
    """Run one signature on named inputs.

    Args:
        interpreter: from `load_interpreter`.
        inputs: dict of input name -> numpy array (shapes may differ from
            the last call: the signature runner resizes).
        signature_key: str or None (the only / first signature).

    Returns:
        dict of output name -> numpy array.
    """
    signatures = interpreter.get_signature_list()
    key = signature_key or next(iter(signatures))
    runner = interpreter.get_signature_runner(key)
    return {name: np.array(value) for name, value in runner(**inputs).items()}


def signature_details(interpreter, signature_key=None):
    """Input and output names, shapes (-1 = dynamic) and dtypes of a signature.

    Returns:
        dict with "inputs" and "outputs": lists of
        `{"name", "shape", "dtype"}`.
    """
    signatures = interpreter.get_signature_list()
    key = signature_key or next(iter(signatures))
    runner = interpreter.get_signature_runner(key)

    def describe(details):
        return [
            {"name": name,
             "shape": [int(d) for d in detail.get("shape_signature", detail["shape"])],
             "dtype": np.dtype(detail["dtype"]).name}
            for name, detail in sorted(details.items())
        ]

    return {"signature": key,
            "inputs": describe(runner.get_input_details()),
            "outputs": describe(runner.get_output_details())}


def predict_rows(interpreter, input_name, batch, rows_per_call=1, signature_key=None):
    """Run a fixed-batch model over a larger batch, `rows_per_call` at a time.

    Args:
        interpreter: from `load_interpreter`.
        input_name: the signature's input name.
        batch: numpy array `[n, ...]` with n a multiple of `rows_per_call`.
        rows_per_call: the model's static batch size.

    Returns:
        dict of output name -> numpy array `[n, ...]`.
    """
    if len(batch) % rows_per_call:
        raise ValueError(
            f"Invalid value received for argument `batch`: {len(batch)} rows is not "
            f"a multiple of the model's batch size {rows_per_call}."
        )
    collected = {}
    for start in range(0, len(batch), rows_per_call):
        outputs = run_signature(interpreter, {input_name: batch[start:start + rows_per_call]},
                                signature_key)
        for name, value in outputs.items():
            collected.setdefault(name, []).append(value)
    return {name: np.concatenate(values, axis=0) for name, values in collected.items()}


def median_latency_ms(interpreter, inputs, repeats=50, warmup=5, signature_key=None):
    """Median wall time of one `invoke` in milliseconds.

    Args:
        interpreter: from `load_interpreter` (its `num_threads` applies).
        inputs: dict of input name -> numpy array.
        repeats: timed runs, default 50.
        warmup: untimed runs first, default 5.

    Returns:
        float, the median in ms.
    """
    signatures = interpreter.get_signature_list()
    key = signature_key or next(iter(signatures))
    runner = interpreter.get_signature_runner(key)
    for _ in range(warmup):
        runner(**inputs)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        runner(**inputs)
        timings.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(timings)
