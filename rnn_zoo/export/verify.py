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


def compiled_model_predict(path, batch, signature_key=None, reuse=False):
    """Run a `.tflite` file with LiteRT's `CompiledModel`, one row per call.

    `ai_edge_litert.compiled_model.CompiledModel` is LiteRT 2.x's API (the
    one new Android and iOS apps use). A dynamic-length input is resized to
    each row's length with `resize_input_tensor` before the buffers are
    made; a fixed-length file takes its own length.

    Each row runs in a fresh `CompiledModel` unless `reuse=True`, so every
    row is checked as a first call: nothing an earlier row left in the
    runtime (buffers sized for its length, tensors it wrote) reaches it.
    `reuse=True` checks what an app that keeps one instance sees.

    Args:
        path: the `.tflite` file.
        batch: numpy ids `[n, time]` or features `[n, time, features]`.
        signature_key: the signature to run, default the first.
        reuse: bool, default False: run every row in one `CompiledModel`.

    Returns:
        dict of output name -> numpy float32 array `[n, ...]`.

    Raises:
        RuntimeError: the file does not load in `CompiledModel` (e.g. it
            holds a fused `UNIDIRECTIONAL_SEQUENCE_LSTM`, whose variable
            tensors LiteRT 2.3 refuses).

    Example:

    >>> compiled_model_predict("model.tflite", np.array([[5, 9, 2]], "int32"))
    {'probabilities': array([[0.31, 0.69]], dtype=float32)}
    """
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.compiled_model import TensorBuffer

    def load():
        try:
            return CompiledModel.from_file(str(path))
        except Exception as error:
            raise RuntimeError(
                f"{path} does not load in LiteRT's CompiledModel: {error}") from None

    compiled = load()
    signatures = compiled.get_signature_list()
    key = signature_key or next(iter(signatures))
    index = compiled.get_signature_index(key)
    input_names = signatures[key]["inputs"]
    output_names = signatures[key]["outputs"]
    declared = compiled.get_input_tensor_details(key)[input_names[0]]["shape"]
    output_details = compiled.get_output_tensor_details(key)
    collected = {name: [] for name in output_names}
    for number, row in enumerate(np.asarray(batch)):
        if number and not reuse:
            compiled = load()
        row = np.ascontiguousarray(row[np.newaxis])
        steps = row.shape[1]
        if int(declared[1]) != steps:
            compiled.resize_input_tensor(0, list(row.shape), index)
        inputs = compiled.create_input_buffers(index)
        inputs[0].write(row)
        # Per-step outputs `[1, T, C]` are sized only while the model runs
        # (the real-step compaction has data-dependent shapes), so the
        # caller provides buffers of the final size, as an app must.
        arrays = []
        for name in output_names:
            shape = [int(d) for d in output_details[name]["shape"]]
            if len(shape) >= 3:
                shape[1] = steps
            arrays.append(np.zeros(shape, np.float32))
        outputs = [TensorBuffer.create_from_host_memory(array) for array in arrays]
        compiled.run_by_index(index, inputs, outputs)
        for name, buffer, array in zip(output_names, outputs, arrays):
            collected[name].append(
                np.asarray(buffer.read(array.size, np.float32)).reshape(array.shape))
    return {name: np.concatenate(values, axis=0) for name, values in collected.items()}


class CompiledRunner:
    """Call a static-shape signature of a `.tflite` file in LiteRT's `CompiledModel`.

    Like the Interpreter's signature runner: named numpy inputs in, named
    numpy outputs out. For files whose shapes are all fixed (streaming
    step files, fixed-length files); `compiled_model_predict` resizes
    dynamic-length inputs.

    Args:
        path: the `.tflite` file.
        signature_key: the signature, default the first.

    Raises:
        RuntimeError: the file does not load in `CompiledModel`.

    Example:

    >>> runner = CompiledRunner("step.tflite", "step")
    >>> runner(token_id=np.array([5], "int32"), state_1_h=h, state_1_c=c)["new_state_1_h"]
    """

    def __init__(self, path, signature_key=None):
        from ai_edge_litert.compiled_model import CompiledModel

        try:
            self._compiled = CompiledModel.from_file(str(path))
        except Exception as error:
            raise RuntimeError(
                f"{path} does not load in LiteRT's CompiledModel: {error}") from None
        signatures = self._compiled.get_signature_list()
        self._key = signature_key or next(iter(signatures))
        self._index = self._compiled.get_signature_index(self._key)
        self.input_names = list(signatures[self._key]["inputs"])
        self._outputs = signatures[self._key]["outputs"]

    def __call__(self, **inputs):
        buffers_in = self._compiled.create_input_buffers(self._index)
        buffers_out = self._compiled.create_output_buffers(self._index)
        for name, buffer in zip(self.input_names, buffers_in):
            buffer.write(np.ascontiguousarray(inputs[name]))
        self._compiled.run_by_index(self._index, buffers_in, buffers_out)
        results = {}
        for name, buffer in zip(self._outputs, buffers_out):
            details = buffer.get_tensor_details()
            shape = [int(d) for d in details["shape"]]
            results[name] = np.asarray(
                buffer.read(int(np.prod(shape)), np.float32)).reshape(shape)
        return results
