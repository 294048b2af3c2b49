"""`python -m rnn_zoo.export REQUEST.json`: the TensorFlow-side worker of a cross-backend export.

Started by `rnn_zoo.export.cross_backend.export_in_tensorflow` with
`KERAS_BACKEND=tensorflow`; not meant to be run by hand (use `rnn-zoo export`).
The one module that calls the orchestrator on behalf of another process;
nothing imports it.
"""

import sys

from rnn_zoo.export import api
from rnn_zoo.export import cross_backend


def run_request(request_path):
    """Load the model under TensorFlow, export it as asked, write the reply.

    Args:
        request_path: the request's JSON file.

    Returns:
        The process exit status (0, or 1 when the export was refused).

    Example:

    >>> run_request("/tmp/rnn_zoo_export_x/request.json")
    0
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("python -m rnn_zoo.export needs KERAS_BACKEND=tensorflow.")
    # The progress lines ("export step k/n: ...") reach the parent's logger.
    cross_backend.forward_logs_to_stdout()
    request = cross_backend.read_request(request_path)
    function = {"export_saved_model": api.export_saved_model,
                "export_model": api.export_model}[request["function"]]
    try:
        value = function(request["model"], vectorizer=request["vectorizer"],
                         reference=request["reference"], **request["kwargs"])
    except ValueError as error:
        return cross_backend.write_reply(request["result_path"], error=error)
    return cross_backend.write_reply(request["result_path"], value=value)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m rnn_zoo.export REQUEST.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_request(sys.argv[1]))
