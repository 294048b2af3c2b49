"""`python -m rnn_zoo.export REQUEST.json`: the TensorFlow-side worker of a cross-backend export.

Started by `rnn_zoo.export.cross_backend.export_in_tensorflow` with
`KERAS_BACKEND=tensorflow`; not meant to be run by hand (use `rnn-zoo export`).
"""

import sys

from rnn_zoo.export.cross_backend import run_request

if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m rnn_zoo.export REQUEST.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_request(sys.argv[1]))
