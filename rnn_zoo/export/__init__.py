"""Export for servers and phones: SavedModel, TFLite, versioned layout, manifest.

```
saved_models/<name>/<version>/
  saved_model.pb, variables/    signatures: serving_default, token_ids (+ deprecated
                                alias ids) | features, text
  model.tflite                  target "litert" (default): builtins only, dynamic
                                length, Interpreter and CompiledModel
  mediapipe.tflite              target "mediapipe": fixed length, one subgraph,
                                RegexTokenizer + vocab + labels in its metadata
  manifest.json                 inputs, outputs, limits, ops, sizes, parity, versions
  vocab.txt, text_vectorizer.json, labels.txt
```

A SavedModel with the `text` signature needs `import tensorflow_text` before
`tf.saved_model.load` (its tokenisation ops are not in core TensorFlow).

The modules run one way: leaves (`serving`, `parity`, `results`, `manifest`,
`verify`, `supported`) <- writers (`saved_model`, `tflite`, `streaming`; their
internals `graph`, `fused`, `converter`) <- the orchestrator (`api`, with
`versions` and `cross_backend`) <- `predictor` users and the command line.

Example:

>>> result = rnn_zoo.export.export_model(model, vectorizer=vectorizer,
...                                      labels=["negative", "positive"])
>>> predictor = rnn_zoo.export.load_exported(result.path)
>>> predictor.predict(["not bad at all"])
"""

import importlib

# Public name -> the submodule that defines it. They load on first use, so that
# running an exported `.tflite` file (`load_exported`) needs neither TensorFlow
# nor Keras: only the writers import them.
_LAZY_NAMES = {
    "ExportResult": "results",
    "ExportedModel": "predictor",
    "SavedModelExport": "results",
    "StreamingReport": "results",
    "TFLiteReport": "results",
    "VersionExistsError": "results",
    "export_model": "api",
    "export_saved_model": "api",
    "export_streaming_tflite": "streaming",
    "export_tflite": "tflite",
    "list_versions": "versions",
    "load_exported": "predictor",
    "read_manifest": "manifest",
}


def __getattr__(name):
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"rnn_zoo.export.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnn_zoo.export' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    "ExportResult",
    "ExportedModel",
    "SavedModelExport",
    "StreamingReport",
    "TFLiteReport",
    "VersionExistsError",
    "export_model",
    "export_saved_model",
    "export_streaming_tflite",
    "export_tflite",
    "list_versions",
    "load_exported",
    "read_manifest",
]
