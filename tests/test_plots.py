"""gates.png stays legible from 16 to 256 units and 3 to 60 tokens.

Rendered with matplotlib's Agg renderer at the extreme sizes: the image has a
sane size and aspect ratio, and no two pieces of text (titles, token and unit
labels, the colour bar's label, the legend) overlap.
"""

import itertools

import numpy as np
import pytest
from matplotlib import image as mpl_image
from matplotlib import pyplot
from matplotlib.text import Text

from rnn_zoo import gates as gates_lib


def _layer(units, steps, name="backbone_lstm", direction="forward", bidirectional=False,
           seed=0):
    """LayerGates of an LSTM layer with random gate values (no model needed)."""
    rng = np.random.default_rng(seed)
    values = {gate: rng.uniform(0.0, 1.0, size=(1, steps, units)).astype("float32")
              for gate in ("input", "forget", "candidate", "output")}
    return gates_lib.LayerGates(layer=name, direction=direction, cell="lstm", gates=values,
                                mask=np.ones((1, steps), dtype=bool), units=units,
                                bidirectional=bidirectional)


def _tokens(count):
    words = ["the", "extraordinarily", "coffee", "was", "not", "good", ",", "antidisestab"
             "lishmentarianism", "i", "loved", "it"]
    return [words[i % len(words)] for i in range(count)]


def _texts(figure):
    """Every visible, non-empty text of the figure with its bounding box in pixels."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    found = []
    # Text artists only (a legend's TextArea wraps the same Text again).
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            found.append((text.get_text(), box))
    return found


SIZES = [(16, 3), (16, 60), (256, 3), (256, 60)]


@pytest.mark.parametrize("units, steps", SIZES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_no_text_overlaps_at_the_extreme_sizes(units, steps, bidirectional):
    tokens = _tokens(steps)
    layers = [_layer(units, steps, bidirectional=bidirectional)]
    if bidirectional:
        layers.append(_layer(units, steps, direction="backward", bidirectional=True, seed=1))
    oov = [i % 5 == 1 for i in range(steps)]
    title = " ".join(tokens)
    figure = gates_lib.gates_figure(layers, tokens, title=title, oov=oov)
    try:
        texts = _texts(figure)
        names = [t for t, _ in texts]
        # The colour bar is labelled, the OOV mark explained, the title shown.
        assert any("gate value" in t for t in names)
        assert any("not in the vocabulary" in t for t in names)
        assert any(t.startswith(title[:20]) for t in names)
        panel_titles = [t for t in names if " gate (" in t]
        assert len(panel_titles) == 3 * len(layers)
        if units > gates_lib.MAX_PLOTTED_UNITS:
            assert all(f"of {units} units that move most" in t for t in panel_titles)
        overlaps = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(texts, 2)
                    if box_a.overlaps(box_b)]
        assert overlaps == []
        # Inside the canvas: nothing cut off at an edge.
        width, height = figure.canvas.get_width_height()
        for text, box in texts:
            assert box.x0 >= -1 and box.y0 >= -1, text
            assert box.x1 <= width + 1 and box.y1 <= height + 1, text
    finally:
        pyplot.close(figure)


@pytest.mark.parametrize("units, steps", SIZES)
def test_the_png_has_a_sane_size_and_aspect_ratio(units, steps, tmp_path):
    path = tmp_path / "gates.png"
    gates_lib.plot_gates([_layer(units, steps)], _tokens(steps), path, title="a title")
    height, width = mpl_image.imread(path).shape[:2]
    assert 600 <= width <= 1900, width
    assert 400 <= height <= 1900, height
    assert 0.3 <= width / height <= 3.0, (width, height)


def test_wide_layers_show_the_units_that_move_most():
    steps, units = 10, 64
    layer = _layer(units, steps)
    moving = [3, 40]
    for gate in ("input", "forget", "output"):
        layer.gates[gate][:] = 0.5
        layer.gates[gate][0, :, moving] = np.linspace(0, 1, steps)
    panels = gates_lib._panels([layer], _tokens(steps), 0, None)
    for _, matrix, shown, _ in panels:
        assert matrix.shape == (gates_lib.MAX_PLOTTED_UNITS, steps)
        assert set(moving) <= set(shown.tolist())


def test_oov_flags_must_match_the_tokens():
    with pytest.raises(ValueError, match="oov"):
        gates_lib.gates_figure([_layer(16, 3)], _tokens(3), oov=[True])
