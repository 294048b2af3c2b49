"""Subcommands of the `rnn-zoo` command line, one module each (see rnn_zoo/cli.py)."""
