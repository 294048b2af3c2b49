"""The `rnn-zoo` command line: every subcommand has --help, list prints the registry."""

import os
import subprocess
import sys

import pytest

import rnn_zoo
from rnn_zoo import cli


def test_list_prints_every_registered_model(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in rnn_zoo.list_models():
        assert name in out
    assert "sequence_tagger" in out


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert "usage: rnn-zoo " + command in capsys.readouterr().out


def test_unknown_subcommand_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["fly"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_lists_models():
    result = subprocess.run([sys.executable, "-m", "rnn_zoo.cli", "list", "--verbose"],
                            capture_output=True, text=True, timeout=300, check=True)
    assert "stacked_lstm_forecaster" in result.stdout
    assert "units=[64, 32]" in result.stdout


def test_a_closed_pipe_ends_quietly():
    # `rnn-zoo list | head -1`: the reader is gone before the output is
    # written. Closing the read end first makes that happen every time.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "rnn_zoo.cli", "list", "--verbose"],
                                stdout=write_end, stderr=subprocess.PIPE, text=True,
                                timeout=300)
    finally:
        os.close(write_end)
    assert result.returncode == 141
    # TensorFlow's start-up log lines may be there; a traceback must not.
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr


def test_demo_tells_the_negation_story(tmp_path, capsys):
    assert cli.main(["demo", "--output-dir", str(tmp_path), "--no-export"]) == 0
    out = capsys.readouterr().out
    assert "bag of embeddings" in out and "LSTM" in out
    assert "forget gate near 0 or 1" in out
    assert (tmp_path / "lstm_gates.png").stat().st_size > 10_000
    assert (tmp_path / "negation_lstm" / "model.keras").exists()
