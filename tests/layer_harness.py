"""One battery for every zoo layer: Keras's own `run_layer_test`, plus what the zoo adds.

Keras's `run_layer_test` (keras/src/testing/test_case.py, the harness Keras's
own layers are tested with) is reused as it is: build, symbolic call, eager
call, weight counts, `get_config`/`from_config` and
`serialize_keras_object`/`deserialize_keras_object` round trips, a training
step, and output dtypes under mixed precision. Keras ships it only inside
`keras.src`, as a method of its `TestCase`, so `run_layer_test` below calls it
on a bare instance rather than copying it.

On top of it `run_layer_test` checks what Keras's harness leaves out:

* registration: the class is registered as `rnn_zoo>ClassName`, which is how
  safe-mode loading finds it, and its config holds every constructor argument;
* `compute_output_shape` gives the shapes the eager call produced;
* a masked call (for a layer that takes a mask): on right-padded rows the
  layer returns what it returns on the rows cut to their real length (every
  real step, for a sequence output), eagerly and inside a model whose mask
  comes from `keras.layers.Masking`;
* a `.keras` file of a model holding the layer loads back through
  `rnn_zoo.load_model` (safe mode) and predicts the same outputs.
"""

import dataclasses
import inspect

import keras
import numpy as np
from keras import tree
from keras.src.testing.test_case import TestCase as KerasTestCase

import rnn_zoo

ATOL = 1e-5


@dataclasses.dataclass
class LayerCase:
    """One layer configuration to run through `run_layer_test`.

    Attributes:
        id: the pytest id.
        layer_cls: the zoo layer class.
        init_kwargs: constructor arguments.
        input_data: an array, or a list of arrays for a layer with several inputs.
        expected_output_shape: a shape, or a tuple of shapes for several outputs.
        expected_output_dtype: a dtype name, or a tuple of them.
        lengths: real steps per row of a right-padded `[batch, time, features]`
            `input_data` whose padding steps are all zeros; set for a layer
            that takes a mask, None otherwise.
        sequence_output: whether the output keeps a time axis (then only the
            real steps are compared in the masked check).
    """

    id: str
    layer_cls: type
    init_kwargs: dict
    input_data: object
    expected_output_shape: tuple
    expected_output_dtype: object = "float32"
    lengths: tuple = None
    sequence_output: bool = False


def _numpy(value):
    return tree.map_structure(keras.ops.convert_to_numpy, value)


def _shapes(value):
    return tree.map_structure(lambda x: tuple(x.shape), value)


def _as_shapes(value):
    """A shape, or a (nested) list/tuple of shapes, as tuples throughout."""
    if all(dim is None or isinstance(dim, int) for dim in value):
        return tuple(value)
    return tuple(_as_shapes(shape) for shape in value)


def check_registered(layer_cls):
    """The class is registered under the `rnn_zoo` package, by its own name."""
    name = keras.saving.get_registered_name(layer_cls)
    assert name == f"rnn_zoo>{layer_cls.__name__}", name
    assert keras.saving.get_registered_object(name) is layer_cls


def check_config_holds_arguments(layer, init_kwargs):
    """Every constructor argument, passed or default, is in `get_config()`."""
    config = layer.get_config()
    parameters = inspect.signature(type(layer).__init__).parameters
    named = [p for p in parameters.values()
             if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    for parameter in named:
        assert parameter.name in config, (type(layer).__name__, parameter.name)
    for name, value in init_kwargs.items():
        if isinstance(value, keras.layers.Layer):
            # A wrapped layer is stored serialized, under its registered name.
            assert config[name]["registered_name"] == keras.saving.get_registered_name(
                type(value))
        else:
            assert config[name] == value, (name, config[name], value)


def _model_around(layer, input_data, masked):
    """A functional model feeding `input_data`'s structure into `layer`.

    With `masked`, the input goes through `keras.layers.Masking` first, so the
    layer receives the padding mask of the all-zero steps.
    """
    arrays = input_data if isinstance(input_data, list) else [input_data]
    inputs = [keras.Input(shape=(None,) + array.shape[2:], dtype=str(array.dtype))
              for array in arrays]
    fed = list(inputs)
    if masked:
        fed = [keras.layers.Masking(0.0)(inputs[0])]
    outputs = layer(fed if len(fed) > 1 else fed[0])
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs)


def check_masked_call(layer, case):
    """Masked rows give what the rows cut to their real length give."""
    x = case.input_data
    steps = x.shape[1]
    mask = np.arange(steps)[None, :] < np.asarray(case.lengths)[:, None]
    masked = _numpy(layer(x, mask=mask))
    for row, length in enumerate(case.lengths):
        alone = _numpy(layer(x[row:row + 1, :length]))[0]
        got = masked[row, :length] if case.sequence_output else masked[row]
        np.testing.assert_allclose(got, alone, atol=ATOL, rtol=0,
                                   err_msg=f"row {row} (length {length})")
    model = _model_around(layer, x, masked=True)
    np.testing.assert_allclose(_numpy(model(x)), masked, atol=ATOL, rtol=0,
                               err_msg="symbolic masked call")


def check_keras_file_round_trip(layer, case, tmp_path):
    """A model holding the layer saves and loads back in safe mode, same outputs."""
    model = _model_around(layer, case.input_data, masked=case.lengths is not None)
    before = _numpy(model(case.input_data))
    path = tmp_path / f"{case.id}.keras"
    model.save(path)
    reloaded = rnn_zoo.load_model(path)
    assert type(reloaded.get_layer(layer.name)) is case.layer_cls
    after = _numpy(reloaded(case.input_data))
    # A reloaded model with several outputs returns a list where the original
    # returned a tuple; the arrays are what must match.
    before, after = tree.flatten(before), tree.flatten(after)
    assert len(before) == len(after)
    for expected, got in zip(before, after):
        np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


def run_layer_test(case, tmp_path):
    """Run Keras's `run_layer_test`, then the zoo's own checks, on one case."""
    check_registered(case.layer_cls)
    layer = case.layer_cls(**case.init_kwargs)
    outputs = layer(case.input_data)
    check_config_holds_arguments(layer, case.init_kwargs)
    # A layer without weights has nothing to train, and Keras's generator-fed
    # training step can't carry a list input on TensorFlow.
    trains = bool(layer.trainable_weights)
    KerasTestCase().run_layer_test(
        case.layer_cls,
        case.init_kwargs,
        input_data=case.input_data,
        expected_output_shape=case.expected_output_shape,
        expected_output_dtype=case.expected_output_dtype,
        run_training_check=trains,
    )
    produced = _as_shapes(_shapes(outputs))
    computed = layer.compute_output_shape(_shapes(case.input_data))
    assert produced == _as_shapes(computed), (produced, computed)
    assert produced == _as_shapes(case.expected_output_shape)
    if case.lengths is not None:
        assert layer.supports_masking
        check_masked_call(layer, case)
    check_keras_file_round_trip(layer, case, tmp_path)
    return outputs
