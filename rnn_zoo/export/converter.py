"""TFLite conversion shared by the whole-sequence and the streaming exports.

`convert_functions` turns `tf.function`s into a builtin-only `.tflite`
flatbuffer (through a temporary SavedModel, the only path that keeps the
fused LSTM kernel); `check_no_flex` reads the ops back from the flatbuffer and
refuses Select TF (Flex) ops unless asked; `add_text_classifier_metadata`
adds the TFLite Metadata MediaPipe Tasks' `TextClassifier` needs.

TFLite Metadata for MediaPipe, written with flatbuffers:

MediaPipe's text classifier graph (the same C++ on Android, iOS and web)
tokenises raw text itself when the model's input tensor carries a
`RegexTokenizer` process unit in its TFLite Metadata, with the vocabulary
packed inside the file; it names classes from a `TENSOR_AXIS_LABELS` file on
the output tensor.

mediapipe 1.2.3's own metadata writers import a native module its wheel
lacks, so this module writes the metadata directly:

1. the model is parsed with the TFLite schema's generated Python
   (`tensorflow.lite.python.schema_py_generated`);
2. a `ModelMetadataT` is built with the metadata schema's generated Python
   (`metadata_schema.fbs`, Copyright The TensorFlow / MediaPipe Authors,
   Apache License 2.0), which ships in mediapipe's wheel as
   `mediapipe/tasks/metadata/metadata_schema_py_generated.py` and is loaded
   from there by path (importing it through the `mediapipe` package runs
   that package's broken imports); nothing of it is copied here;
3. the metadata is packed with file identifier `M001`, added as a buffer
   named `TFLITE_METADATA` with `min_parser_version`, the model re-packed
   with `TFL3`, and `vocab.txt` and `labels.txt` appended as a zip archive
   (what MediaPipe's and tflite-support's readers expect).

Example:

>>> content = convert_functions({"serving_default": serve})
>>> check_no_flex(content)
['FULLY_CONNECTED', 'SOFTMAX', 'UNIDIRECTIONAL_SEQUENCE_LSTM']
"""

import importlib.util
import io
import os
import re
import shutil
import tempfile
import zipfile

import numpy as np

from rnn_zoo.export import verify
from rnn_zoo.tasks import QUANTIZATIONS
from rnn_zoo.validation import check_choice


def _flex_error(message):
    names = sorted(set(re.findall(r"\btf\.([A-Za-z0-9_]+)", message)))
    return ValueError(
        "The model needs TensorFlow ops that TFLite has no builtin kernel for "
        f"(Select TF / Flex ops: {', '.join(names) or 'see the converter message'}). "
        "Pass allow_flex=True to export anyway (the app must then link the Flex "
        f"delegate). Converter message: {message.strip().splitlines()[0] if message else ''}"
    )


def convert_functions(signatures, quantization=None, representative_data=None,
                      allow_flex=False):
    """Convert `tf.function`s to TFLite bytes via a temporary SavedModel.

    The LSTM composite-function fusion only happens on the SavedModel path:
    `from_concrete_functions` inlines the functions first and loses it
    (measured: a `WHILE` loop instead of `UNIDIRECTIONAL_SEQUENCE_LSTM`).

    Args:
        signatures: dict of signature name -> `tf.function` with an
            `input_signature`.
        quantization: one of `QUANTIZATIONS`.
        representative_data: for "int8": a callable returning an iterator of
            dicts `{input name: array}` (one signature's inputs).
        allow_flex: bool, also allow Select TF ops.

    Returns:
        The flatbuffer bytes.

    Raises:
        ValueError: a Flex op is needed and `allow_flex` is False (the
            message names the ops), "int8" without `representative_data`, or
            an empty result.

    Example:

    >>> @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32)])
    ... def serve(x):
    ...     return {"y": tf.nn.relu(x)}
    >>> content = convert_functions({"serving_default": serve})
    """
    import tensorflow as tf

    check_choice(quantization, "quantization", QUANTIZATIONS, where="export_tflite")
    directory = tempfile.mkdtemp(prefix="rnn_zoo_tflite_")
    try:
        module = tf.Module()
        concrete = {}
        for name, function in signatures.items():
            setattr(module, f"fn_{name}", function)
            concrete[name] = function.get_concrete_function()
        tf.saved_model.save(module, directory, signatures=concrete)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            directory, signature_keys=list(signatures))
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "dynamic_int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif quantization == "int8":
            if representative_data is None:
                raise ValueError(
                    "quantization='int8' needs `representative_data` (inputs that "
                    "look like production data) to calibrate activation ranges."
                )
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative_data
            # Int8 kernels where they exist, float builtins for the rest
            # (the input ids / features and outputs keep their dtypes).
            ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
        if allow_flex:
            ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
        converter.target_spec.supported_ops = ops
        try:
            content = converter.convert()
        except Exception as error:  # ConverterError: name the offending ops.
            if "Select TF" in str(error) or "not supported" in str(error) or "tf." in str(error):
                raise _flex_error(str(error)) from error
            raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if not content:
        raise ValueError("The TFLite converter returned an empty model.")
    return content


def check_no_flex(content, allow_flex=False):
    """Raise a ValueError naming any Flex op in `content` (unless allowed).

    Args:
        content: `.tflite` flatbuffer bytes.
        allow_flex: bool, default False: accept Flex ops.

    Returns:
        The sorted op names, read from the flatbuffer (the stock interpreter
        refuses to load a model with Flex ops, so don't ask it).

    Raises:
        ValueError: a Flex op is present and not allowed.

    Example:

    >>> check_no_flex(content)
    ['RELU']
    """
    names = op_names_from_flatbuffer(content)
    flex = verify.flex_ops(names)
    if flex and not allow_flex:
        raise ValueError(f"The exported model contains Select TF (Flex) ops {flex}; "
                         "pass allow_flex=True to accept them.")
    return names


def op_names_from_flatbuffer(content):
    """Sorted unique op names of a `.tflite` flatbuffer.

    Args:
        content: `.tflite` flatbuffer bytes.

    Returns:
        Sorted list of str: builtin op names, custom ops by their custom
        name (e.g. "FlexTensorListReserve").

    Example:

    >>> op_names_from_flatbuffer(open("model.tflite", "rb").read())
    ['FULLY_CONNECTED', 'SOFTMAX', 'UNIDIRECTIONAL_SEQUENCE_LSTM']
    """
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    builtin_names = {value: name for name, value in vars(schema.BuiltinOperator).items()
                     if not name.startswith("_")}
    names = set()
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.customCode
            names.add(custom.decode() if isinstance(custom, bytes) else str(custom))
        else:
            names.add(builtin_names.get(builtin, str(builtin)))
    return sorted(names)

# MediaPipe's text preprocessing (Model Maker's default): split on runs of
# anything but ASCII word characters and apostrophes. RE2's `\w` is ASCII.
DELIMITER_PATTERN = r"[^\w\']+"
PAD_TOKEN = "<PAD>"
UNKNOWN_TOKEN = "<UNKNOWN>"
METADATA_BUFFER_NAME = "TFLITE_METADATA"
METADATA_FILE_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.2.1"
VOCAB_FILE = "vocab.txt"
LABELS_FILE = "labels.txt"

_SCHEMA = None


def metadata_schema():
    """The metadata schema's generated Python module from mediapipe's wheel.

    Returns:
        The module `metadata_schema_py_generated`.

    Raises:
        ImportError: mediapipe is not installed (`pip install "rnn-zoo[app]"`).

    Example:

    >>> metadata_schema().AssociatedFileType.VOCABULARY
    5
    """
    global _SCHEMA
    if _SCHEMA is None:
        spec = importlib.util.find_spec("mediapipe")
        folder = None if spec is None or not spec.submodule_search_locations \
            else list(spec.submodule_search_locations)[0]
        path = None if folder is None else os.path.join(
            folder, "tasks", "metadata", "metadata_schema_py_generated.py")
        if path is None or not os.path.isfile(path):
            raise ImportError(
                "The mediapipe target writes TFLite Metadata with the schema that ships in "
                "the `mediapipe` package; install it with `pip install \"rnn-zoo[app]\"`."
            )
        module_spec = importlib.util.spec_from_file_location(
            "rnn_zoo_metadata_schema_py_generated", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        _SCHEMA = module
    return _SCHEMA


def vocab_file_text(tokens):
    """A RegexTokenizer vocabulary file: `token id` lines.

    Args:
        tokens: the vectorizer's real tokens in id order (the first has id 2).

    Returns:
        str: `<PAD> 0`, `<UNKNOWN> 1`, then one `token id` line per token.

    Example:

    >>> vocab_file_text(["good", "bad"])
    '<PAD> 0\\n<UNKNOWN> 1\\ngood 2\\nbad 3\\n'
    """
    lines = [f"{PAD_TOKEN} 0", f"{UNKNOWN_TOKEN} 1"]
    lines += [f"{token} {index}" for index, token in enumerate(tokens, start=2)]
    return "".join(line + "\n" for line in lines)


def _feature_tensor_metadata(schema, name, description):
    """A `TensorMetadataT` with plain feature content (what MediaPipe's graph reads)."""
    content = schema.ContentT()
    content.contentPropertiesType = schema.ContentProperties.FeatureProperties
    content.contentProperties = schema.FeaturePropertiesT()
    meta = schema.TensorMetadataT()
    meta.name = name
    meta.description = description
    meta.content = content
    return meta



def add_text_classifier_metadata(content, tokens, labels, name="rnn_zoo text classifier",
                                 description=None):
    """Add MediaPipe text classifier metadata and files to a `.tflite` model.

    Args:
        content: `.tflite` bytes with one subgraph, one int32 input
            `[1, max_length]` and one float32 output `[1, classes]`.
        tokens: the vocabulary's real tokens in id order (id 2 first).
        labels: class names, one per output class.
        name: the model name in the metadata.
        description: optional text.

    Returns:
        The new `.tflite` bytes (metadata + packed `vocab.txt` and `labels.txt`).

    Raises:
        ValueError: the model has more than one subgraph, or its input is not
            a fixed `[1, N]`.

    Example:

    >>> content = add_text_classifier_metadata(content, vectorizer.vocabulary[2:], labels)
    """
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as tflite_schema

    schema = metadata_schema()
    model = tflite_schema.ModelT.InitFromObj(tflite_schema.Model.GetRootAsModel(content, 0))
    graph = model.subgraphs[0]
    input_shape = list(graph.tensors[graph.inputs[0]].shapeSignature
                       if graph.tensors[graph.inputs[0]].shapeSignature is not None
                       else graph.tensors[graph.inputs[0]].shape)
    if len(input_shape) != 2 or min(input_shape) < 1:
        raise ValueError(
            "TFLite Metadata with a tokenizer needs a fixed-length input [1, N]; this "
            f"model's input is {input_shape}. A runtime that reads the length from the "
            "shape would score one token of a dynamic-length input.")
    if len(model.subgraphs) != 1:
        raise ValueError(
            f"MediaPipe's TextClassifier takes one subgraph; this model has "
            f"{len(model.subgraphs)} (a WHILE loop adds subgraphs).")

    vocab = schema.AssociatedFileT()
    vocab.name = VOCAB_FILE
    vocab.description = "Vocabulary: `token id` lines; <PAD> and <UNKNOWN> give ids 0 and 1."
    vocab.type = schema.AssociatedFileType.VOCABULARY
    tokenizer = schema.RegexTokenizerOptionsT()
    tokenizer.delimRegexPattern = DELIMITER_PATTERN
    tokenizer.vocabFile = [vocab]
    unit = schema.ProcessUnitT()
    unit.optionsType = schema.ProcessUnitOptions.RegexTokenizerOptions
    unit.options = tokenizer
    input_meta = _feature_tensor_metadata(
        schema, "input_text", "Token ids from MediaPipe's RegexTokenizer, 0-padded.")
    input_meta.processUnits = [unit]

    label_file = schema.AssociatedFileT()
    label_file.name = LABELS_FILE
    label_file.description = "Class names, line k = class k."
    label_file.type = schema.AssociatedFileType.TENSOR_AXIS_LABELS
    output_meta = _feature_tensor_metadata(schema, "probability", "Probability of each class.")
    output_meta.associatedFiles = [label_file]

    subgraph = schema.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [input_meta]
    subgraph.outputTensorMetadata = [output_meta]
    model_meta = schema.ModelMetadataT()
    model_meta.name = name
    model_meta.description = description or (
        "Recurrent text classifier exported by rnn-zoo for MediaPipe Tasks.")
    model_meta.subgraphMetadata = [subgraph]
    model_meta.minParserVersion = MIN_PARSER_VERSION

    builder = flatbuffers.Builder(0)
    builder.Finish(model_meta.Pack(builder), file_identifier=METADATA_FILE_IDENTIFIER)
    metadata_bytes = bytes(builder.Output())

    buffer = tflite_schema.BufferT()
    buffer.data = np.frombuffer(metadata_bytes, dtype=np.uint8)
    model.buffers.append(buffer)
    entry = tflite_schema.MetadataT()
    entry.name = METADATA_BUFFER_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [item for item in (model.metadata or [])
                      if item.name not in (METADATA_BUFFER_NAME, b"TFLITE_METADATA")]
    model.metadata.append(entry)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    packed = io.BytesIO(bytes(builder.Output()))
    with zipfile.ZipFile(packed, "a") as archive:
        archive.writestr(VOCAB_FILE, vocab_file_text(tokens))
        archive.writestr(LABELS_FILE, "".join(str(label) + "\n" for label in labels))
    return packed.getvalue()
