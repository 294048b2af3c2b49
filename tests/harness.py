"""One test harness for every zoo model (in the spirit of keras's run_layer_test).

`run_model_test` checks, for a built and compiled model: the output shape,
a few training steps with falling loss, predict, and the `.keras` round trip
(safe mode) giving identical outputs.
"""

import numpy as np

import rnn_zoo


def run_model_test(model, x, y, expected_output_shape, tmp_path, steps=4):
    """Train/predict/save/load battery; returns the predictions."""
    history = model.fit(x, y, epochs=steps, batch_size=len(x), verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], f"loss did not fall: {losses}"

    after = model.predict(x, verbose=0)
    assert after.shape == expected_output_shape, (after.shape, expected_output_shape)
    assert np.all(np.isfinite(after))
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    reloaded = rnn_zoo.load_model(path)
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), after, atol=1e-6, rtol=0)
    return after
