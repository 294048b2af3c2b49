"""rnn-zoo: recurrent networks (LSTM, GRU, bidirectional) on Keras 3.

Data -> preprocessing -> backbone -> head -> train -> tune -> export -> inspect.

Example:

>>> import rnn_zoo
>>> rnn_zoo.list_models()[:3]
>>> model = rnn_zoo.build_text_classifier(vocab_size=5000, cell="gru", bidirectional=True)
>>> for entry in rnn_zoo.cudnn_report(model):
...     print(entry)
"""

__version__ = "0.1.0"

from rnn_zoo import layers
from rnn_zoo.cudnn import cudnn_report
from rnn_zoo.factories import build_bag_of_embeddings
from rnn_zoo.factories import build_language_model
from rnn_zoo.factories import build_model
from rnn_zoo.factories import build_sequence_classifier
from rnn_zoo.factories import build_sequence_regressor
from rnn_zoo.factories import build_sequence_tagger
from rnn_zoo.factories import build_text_classifier
from rnn_zoo.factories import describe_model
from rnn_zoo.factories import list_models
from rnn_zoo.saving import load_model
