"""Export for servers and phones: SavedModel, TFLite, versioned layout, manifest.

```
saved_models/<name>/<version>/
  saved_model.pb, variables/    signatures: serving_default, ids | features, text
  model.tflite                  builtins only, fused LSTM kernels
  manifest.json                 inputs, outputs, limits, ops, sizes, parity, versions
  vocab.txt, text_vectorizer.json, labels.txt
```

A SavedModel with the `text` signature needs `import tensorflow_text` before
`tf.saved_model.load` (its tokenisation ops are not in core TensorFlow).

Example:

>>> result = rnn_zoo.export.export_model(model, vectorizer=vectorizer,
...                                      labels=["negative", "positive"])
>>> predictor = rnn_zoo.export.load_exported(result.path)
>>> predictor.predict(["not bad at all"])
"""

from rnn_zoo.export.manifest import read_manifest
from rnn_zoo.export.predictor import ExportedModel
from rnn_zoo.export.predictor import load_exported
from rnn_zoo.export.saved_model import SavedModelExport
from rnn_zoo.export.saved_model import export_saved_model
from rnn_zoo.export.tflite import TFLiteReport
from rnn_zoo.export.tflite import export_tflite
from rnn_zoo.export.versions import ExportResult
from rnn_zoo.export.versions import VersionExistsError
from rnn_zoo.export.versions import export_model
from rnn_zoo.export.versions import list_versions
