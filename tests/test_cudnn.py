"""cudnn_report: the kernel each recurrent layer takes, and every reason it isn't cuDNN."""

import keras
import pytest

import rnn_zoo
from rnn_zoo import layers
from rnn_zoo.cudnn import gpu_available


@pytest.mark.multi_backend
def test_report_lists_every_recurrent_layer_once_with_plain_reasons(backend):
    model = rnn_zoo.build_text_classifier(vocab_size=20, units=[4, 4], depth=2, cell="gru",
                                          bidirectional=True, embedding_dim=4)
    report = rnn_zoo.cudnn_report(model)
    assert [entry.layer for entry in report] == ["backbone_bigru_1", "backbone_bigru_2"]
    for entry in report:
        assert entry.cell == "gru" and entry.bidirectional and entry.masked
        assert entry.backend == backend
        if not gpu_available():
            assert not entry.uses_cudnn
            assert f"no GPU visible to the {backend} backend" in entry.reasons
        assert str(entry).startswith(entry.layer)


@pytest.mark.multi_backend
def test_report_names_configuration_reasons():
    inputs = keras.Input((None, 3))
    x = layers.LSTM(4, recurrent_dropout=0.2, return_sequences=True, name="dropout_lstm")(inputs)
    x = layers.GRU(4, reset_after=False, activation="relu", name="old_gru")(x)
    report = {e.layer: e for e in rnn_zoo.cudnn_report(keras.Model(inputs, x))}
    assert "recurrent_dropout=0.2 > 0" in report["dropout_lstm"].reasons
    assert any("reset_after=False" in r for r in report["old_gru"].reasons)
    assert any("activation='relu'" in r for r in report["old_gru"].reasons)
    assert not report["dropout_lstm"].masked


@pytest.mark.multi_backend
def test_report_explains_masked_fallback_on_jax_and_torch(backend):
    model = rnn_zoo.build_text_classifier(vocab_size=20, units=4, embedding_dim=4)
    (entry,) = rnn_zoo.cudnn_report(model)
    assert entry.masked
    masked_reason = f"{backend} backend: masked input falls back to the generic loop"
    if backend == "tensorflow":
        # TF's cuDNN kernel takes right-padded masks, which RightAlignPadding guarantees.
        assert masked_reason not in entry.reasons
    elif entry.kernel == "generic loop":
        assert masked_reason in entry.reasons
    else:
        # A native kernel (rnn_zoo.kernels) handles the mask: no such fallback.
        assert masked_reason not in entry.reasons


def test_simple_rnn_is_reported_as_having_no_cudnn_kernel():
    model = rnn_zoo.build_sequence_classifier(num_features=2, num_classes=2, cell="simple_rnn",
                                              units=4)
    (entry,) = rnn_zoo.cudnn_report(model)
    assert "SimpleRNN has no cuDNN kernel in Keras" in entry.reasons
    assert not entry.uses_cudnn
