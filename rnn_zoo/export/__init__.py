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

from rnn_zoo.export.api import export_model
from rnn_zoo.export.api import export_saved_model
from rnn_zoo.export.manifest import read_manifest
from rnn_zoo.export.predictor import ExportedModel
from rnn_zoo.export.predictor import load_exported
from rnn_zoo.export.results import ExportResult
from rnn_zoo.export.results import SavedModelExport
from rnn_zoo.export.results import StreamingReport
from rnn_zoo.export.results import TFLiteReport
from rnn_zoo.export.results import VersionExistsError
from rnn_zoo.export.streaming import export_streaming_tflite
from rnn_zoo.export.tflite import export_tflite
from rnn_zoo.export.versions import list_versions

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
