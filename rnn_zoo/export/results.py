"""What the exporters return: one plain dataclass per writer, and the version error.

A leaf: it imports nothing from rnn-zoo, so every writer, the orchestrator, the
cross-backend bridge and the command line can share these types without
importing each other. Every result is JSON-ready through `dataclasses.asdict`
(the cross-backend child sends them back that way).

Example:

>>> from rnn_zoo.export.results import ExportResult
>>> result = rnn_zoo.export.export_model(model)
>>> isinstance(result, ExportResult), result.version
(True, 1)
"""

import dataclasses


class VersionExistsError(FileExistsError, ValueError):
    """Exporting onto a version that already exists (versions are immutable).

    A ValueError too, so the command line reports it as bad input (exit 2).
    """


@dataclasses.dataclass
class SavedModelExport:
    """What `export_saved_model` wrote.

    Attributes:
        path: the SavedModel folder.
        signatures: signature names, `serving_default` first.
        serving: the `serving` part of the manifest (inputs, output, limits).
        parity: max absolute differences against the Keras model.
        manifest: the whole manifest dict written as `manifest.json`.
    """

    path: str
    signatures: list
    serving: dict
    parity: dict
    manifest: dict


class _Report:
    """The one `to_dict` every report shares."""

    def to_dict(self):
        """A JSON-ready dict (for manifests).

        Returns:
            The fields as a dict.
        """
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TFLiteReport(_Report):
    """What `export_tflite` wrote and how well it matches Keras.

    Attributes:
        path: the `.tflite` file.
        ops: sorted unique operator names (builtins only unless
            `allow_flex=True`).
        size_bytes: file size.
        max_abs_diff: max |TFLite - Keras| over the verification inputs and
            every output.
        top1_agreement: fraction of argmax positions (per sequence, or per
            real token for per-step outputs) where TFLite and Keras agree;
            None for single-value outputs.
        latency_ms: median time of one `invoke` (batch `batch_size`,
            `num_threads` threads) on the longest verification input.
        quantization: the quantization mode, None for float32.
        batch_size: the static batch of the exported signature.
        inputs, outputs: signature details (`name`, `shape` with -1 for the
            dynamic time axis, `dtype`).
        num_verification_samples: rows compared with Keras.
        lstm_kernel: how LSTM layers were written, "fused" or "loop" (always
            "loop" for "int8"), "unrolled" for the mediapipe target, None when
            the model has no LSTM layer.
        low_precision_tensors: tensors stored as int8 (or float16 for
            "float16"): 0 for float32, and 0 means a quantization mode left
            every weight in float32 (a warning says why).
        target: the runtime the file was written for, "litert" or
            "mediapipe" (`rnn_zoo.tasks.EXPORT_TARGETS`).
        max_length: the fixed sequence length (None: dynamic length).
        runtimes_verified: runtimes the file ran in and matched, e.g.
            ["interpreter", "compiled_model"] or ["interpreter", "mediapipe"].
        compiled_model_max_abs_diff: max |CompiledModel - Interpreter| on the
            verification inputs (None when not run in CompiledModel).
    """

    path: str
    ops: list
    size_bytes: int
    max_abs_diff: float
    top1_agreement: float
    latency_ms: float
    quantization: str
    batch_size: int
    inputs: list
    outputs: list
    num_verification_samples: int
    low_precision_tensors: int = 0
    lstm_kernel: str | None = "loop"
    target: str = "litert"
    max_length: int = None
    runtimes_verified: list = dataclasses.field(default_factory=list)
    compiled_model_max_abs_diff: float = None


@dataclasses.dataclass
class StreamingReport(_Report):
    """What `export_streaming_tflite` wrote.

    Attributes:
        path, ops, size_bytes, quantization: as in `TFLiteReport`.
        state_names: the state inputs in order (outputs are "new_" + name).
        state_units: width of each state.
        max_abs_diff: max |step-by-step - Keras on the whole sequence| over
            the verification rows (final output for pooled models, every
            real step for per-step models).
        inputs, outputs: signature details.
        runtimes_verified: ["interpreter", "compiled_model"]: the step file
            ran in both and matched.
        compiled_model_max_abs_diff: max |CompiledModel - Interpreter| over
            the first verification rows, step by step.
    """

    path: str
    ops: list
    size_bytes: int
    quantization: str
    state_names: list
    state_units: list
    max_abs_diff: float
    inputs: list
    outputs: list
    runtimes_verified: list = dataclasses.field(default_factory=list)
    compiled_model_max_abs_diff: float = None


@dataclasses.dataclass
class ExportResult:
    """What `export_model` wrote.

    Attributes:
        name: the model name (folder under `export_root`).
        version: the integer version.
        path: `<export_root>/<name>/<version>`.
        files: relative path -> size in bytes, every file of the version.
        parity: max absolute differences of each artifact against the model
            on the backend it was trained on.
        tflite: the TFLite report as a dict (ops, size_bytes, latency_ms,
            quantization, ...), or None with `tflite=False`.
        manifest: the whole `manifest.json`.
    """

    name: str
    version: int
    path: str
    files: dict
    parity: dict
    tflite: dict
    manifest: dict
