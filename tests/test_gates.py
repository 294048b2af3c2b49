"""Gate inspection: recomputed gates reproduce each layer's own outputs."""

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo import gates as gates_lib
from rnn_zoo.cudnn import recurrent_layers

# Left-, right- and un-padded rows: the layer sees them right-aligned.
IDS = np.array([[0, 0, 3, 4, 5], [6, 7, 0, 0, 0], [1, 2, 3, 4, 5]], dtype="int32")


def _layer_output(model, layer, inputs):
    tensor = layer._inbound_nodes[0].output_tensors[0]
    return keras.ops.convert_to_numpy(keras.Model(model.input, tensor)(inputs))


def _assert_matches_layer(model, inputs):
    activations = gates_lib.gate_activations(model, inputs)
    layers = recurrent_layers(model)
    per_layer = {}
    for entry in activations:
        per_layer.setdefault(entry.layer, []).append(entry)
    assert list(per_layer) == [layer.name for layer in layers]
    for layer in layers:
        output = _layer_output(model, layer, inputs)
        for half, entry in enumerate(per_layer[layer.name]):
            units, mask = entry.units, entry.mask
            hidden = entry.gates["hidden"]
            own = output[..., half * units:(half + 1) * units]
            if own.ndim == 3:  # return_sequences: compare every real step
                np.testing.assert_allclose(hidden[mask], own[mask], atol=1e-5)
            else:  # final state: after the last real step (forward) or step 0 (backward)
                lengths = mask.sum(axis=1)
                step = lengths - 1 if entry.direction == "forward" else np.zeros_like(lengths)
                np.testing.assert_allclose(hidden[np.arange(len(step)), step], own, atol=1e-5)
    return activations


@pytest.mark.multi_backend
@pytest.mark.parametrize("cell,bidirectional", [("lstm", True), ("gru", True),
                                                ("lstm", False), ("simple_rnn", False)])
def test_recomputed_hidden_states_match_layer_outputs(cell, bidirectional):
    model = rnn_zoo.build_text_classifier(vocab_size=8, cell=cell, units=3, depth=2,
                                          embedding_dim=3, bidirectional=bidirectional)
    activations = _assert_matches_layer(model, IDS)
    assert len(activations) == 2 * (2 if bidirectional else 1)
    first = activations[0]
    np.testing.assert_array_equal(first.mask.sum(axis=1), [3, 2, 5])
    expected = {"lstm": {"input", "forget", "candidate", "output", "cell", "hidden"},
                "gru": {"update", "reset", "candidate", "hidden"},
                "simple_rnn": {"hidden"}}[cell]
    assert set(first.gates) == expected
    assert first.gates["hidden"].shape == (3, 5, 3)


@pytest.mark.multi_backend
def test_gates_of_a_masked_numeric_model_match_layer_outputs():
    x = np.random.default_rng(0).normal(size=(2, 6, 2)).astype("float32")
    x[0, 4:] = 0.0  # padding steps (all features == mask_value)
    model = rnn_zoo.build_sequence_classifier(num_features=2, num_classes=3, cell="gru",
                                              units=4, pooling="mean")
    activations = _assert_matches_layer(model, x)
    np.testing.assert_array_equal(activations[0].mask.sum(axis=1), [4, 6])


def _handmade(values, mask):
    values = np.asarray(values, "float32")[None, :, None]
    gates = {name: values for name in ("input", "forget", "output", "candidate",
                                       "cell", "hidden")}
    return gates_lib.LayerGates(layer="lstm", direction="forward", cell="lstm",
                                gates=gates, mask=np.asarray([mask]), units=1)


def test_gate_statistics_count_only_real_steps():
    entry = _handmade([0.05, 0.95, 0.5, 0.99, 0.01], [True, True, True, True, False])
    rows = gates_lib.gate_statistics([entry])
    forget = next(row for row in rows if row["gate"] == "forget")
    assert forget["memory_gate"] and forget["count"] == 4
    assert forget["share_low"] == pytest.approx(0.25)
    assert forget["share_high"] == pytest.approx(0.5)
    assert forget["share_middle"] == pytest.approx(0.25)
    assert "forget" in gates_lib.format_statistics(rows)
    # How much it moves: the spread over the real steps only (0.01 is padding).
    assert forget["step_std"] == pytest.approx(np.std([0.05, 0.95, 0.5, 0.99]), abs=1e-6)
    assert "std/step" in gates_lib.format_statistics(rows)
    with pytest.raises(ValueError, match="low < high"):
        gates_lib.gate_statistics([entry], low=0.5, high=0.4)


def test_plot_gates_writes_a_png_and_checks_the_tokens(tmp_path):
    entry = _handmade([0.05, 0.95, 0.5], [True, True, True])
    path = gates_lib.plot_gates([entry], ["not", "good", "."], str(tmp_path / "g.png"))
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="tokens"):
        gates_lib.plot_gates([entry], ["one"], str(tmp_path / "bad.png"))


def test_gate_activations_refuses_a_model_without_recurrent_layers():
    model = rnn_zoo.build_bag_of_embeddings(vocab_size=8, embedding_dim=2, hidden_units=2)
    with pytest.raises(ValueError, match="no recurrent layer"):
        gates_lib.gate_activations(model, IDS)


def test_old_module_name_inspect_is_a_deprecated_alias_of_gates():
    with pytest.warns(DeprecationWarning, match=r"rnn_zoo\.inspect is deprecated; use .*gates"):
        from rnn_zoo import inspect as old
    assert old is gates_lib
    with pytest.warns(DeprecationWarning):
        assert rnn_zoo.inspect.gate_activations is gates_lib.gate_activations


def test_plot_gates_writes_a_png_atomically(tmp_path):
    model = rnn_zoo.build_text_classifier(vocab_size=10, units=3, embedding_dim=2,
                                          compile_model=False)
    activations = gates_lib.gate_activations(model, IDS[:1])
    path = tmp_path / "gates.png"
    assert gates_lib.plot_gates(activations, ["a", "b", "c"], path) == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gates.png"]
