"""TFLite conversion shared by the whole-sequence and the streaming exports.

`convert_functions` turns `tf.function`s into a builtin-only `.tflite`
flatbuffer (through a temporary SavedModel, the only path that keeps the
fused LSTM kernel); `check_no_flex` reads the ops back from the flatbuffer and
refuses Select TF (Flex) ops unless asked.

Example:

>>> content = convert_functions({"serving_default": serve})
>>> check_no_flex(content)
['FULLY_CONNECTED', 'SOFTMAX', 'UNIDIRECTIONAL_SEQUENCE_LSTM']
"""

import re
import shutil
import tempfile

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
