"""Zoo layers: parameter counts, serialization, validation, require_cudnn."""

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo import layers


def _param_count(layer, input_dim):
    layer.build((None, None, input_dim))
    return layer.count_params()


@pytest.mark.multi_backend
@pytest.mark.parametrize("units,input_dim", [(4, 3), (16, 7), (32, 32)])
def test_parameter_counts_match_the_formulas(units, input_dim):
    u, d = units, input_dim
    assert _param_count(layers.LSTM(u), d) == 4 * (u * (d + u) + u)
    assert _param_count(layers.GRU(u), d) == 3 * (u * (d + u) + 2 * u)
    assert _param_count(layers.SimpleRNN(u), d) == u * (d + u) + u
    assert _param_count(layers.Bidirectional(layers.LSTM(u)), d) == 2 * 4 * (u * (d + u) + u)


@pytest.mark.multi_backend
def test_factory_parameter_count_is_embedding_plus_formula_plus_head():
    v, e, u, k = 30, 5, 6, 3
    model = rnn_zoo.build_text_classifier(vocab_size=v, num_classes=k, cell="gru",
                                          units=u, embedding_dim=e, compile_model=False)
    assert model.count_params() == v * e + 3 * (u * (e + u) + 2 * u) + (u * k + k)


@pytest.mark.multi_backend
@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_layer_config_round_trip_keeps_zoo_arguments(cls):
    layer = cls(5, dropout=0.25, return_sequences=True, name="rnn")
    config = layer.get_config()
    assert config["require_cudnn"] is False
    clone = cls.from_config(config)
    assert clone.units == 5 and clone.dropout == 0.25 and clone.return_sequences


@pytest.mark.multi_backend
def test_bidirectional_wrapper_round_trips_through_keras_file(tmp_path):
    inputs = keras.Input((None, 3))
    outputs = layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode="sum")(inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    model.save(tmp_path / "bi.keras")
    reloaded = rnn_zoo.load_model(tmp_path / "bi.keras")
    assert isinstance(reloaded.layers[1], layers.Bidirectional)
    assert isinstance(reloaded.layers[1].forward_layer, layers.GRU)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
@pytest.mark.parametrize("units", [0, -3, 2.5, "8", True])
def test_bad_units_raise_naming_the_argument(cls, units):
    with pytest.raises(ValueError, match=r"`units`.*integer > 0.*Received: units="):
        cls(units)


@pytest.mark.parametrize("argument", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_dropout_outside_unit_interval_raises(argument, value):
    with pytest.raises(ValueError, match=rf"`{argument}`.*\[0, 1\).*Received: {argument}="):
        layers.LSTM(4, **{argument: value})


def test_bad_merge_mode_and_unknown_cell_raise():
    with pytest.raises(ValueError, match="merge_mode.*concat"):
        layers.Bidirectional(layers.LSTM(4), merge_mode="avg")
    expected = r"`cell`.*'lstm', 'gru', 'simple_rnn'.*Received: cell='rnn'"
    with pytest.raises(ValueError, match=expected):
        layers.recurrent_layer("rnn", 4)


@pytest.mark.multi_backend
@pytest.mark.parametrize("layer_kwargs,reason", [
    ({"recurrent_dropout": 0.2}, "recurrent_dropout=0.2 > 0"),
    ({"activation": "relu"}, "activation='relu'"),
    ({"unroll": True}, "unroll=True"),
    ({"use_bias": False}, "use_bias=False"),
])
def test_require_cudnn_refuses_configurations_that_never_take_cudnn(layer_kwargs, reason):
    layer = layers.LSTM(4, require_cudnn=True, **layer_kwargs)
    with pytest.raises(ValueError, match="require_cudnn=True") as info:
        layer(np.zeros((1, 3, 2), "float32"))
    assert reason in str(info.value)


@pytest.mark.multi_backend
def test_require_cudnn_refuses_gru_without_reset_after_and_simple_rnn():
    with pytest.raises(ValueError, match="reset_after=False"):
        layers.GRU(4, reset_after=False, require_cudnn=True)(np.zeros((1, 3, 2), "float32"))
    with pytest.raises(ValueError, match="SimpleRNN has no cuDNN kernel"):
        rnn_zoo.build_text_classifier(vocab_size=20, cell="simple_rnn", units=4,
                                      require_cudnn=True)


@pytest.mark.multi_backend
def test_require_cudnn_accepts_the_default_configuration():
    model = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4,
                                          bidirectional=True, require_cudnn=True)
    assert model.predict(np.array([[3, 4, 0]]), verbose=0).shape == (1, 2)
