"""The exceptions rnn-zoo raises for bad input, shared by the library and the CLI.

`UsageError` is a `ValueError`: library code that raises it reads like any
other argument check, and the command line prints it as one line and exits
with status 2. `DataError` (in `rnn_zoo.data`) is the one for data files.
"""


class UsageError(ValueError):
    """Bad user input detected by a subcommand; printed as one line, exit 2."""
