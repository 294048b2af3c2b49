"""The `rnn-zoo` command line: help, version, list, start-up cost, renamed flags, errors."""

import argparse
import json
import os
import subprocess
import sys
import textwrap

import pytest

import rnn_zoo
from rnn_zoo import cli
from rnn_zoo import tasks
from rnn_zoo.commands.common import deprecated_alias
from rnn_zoo.commands.common import flag_names
from rnn_zoo.commands.common import human_size
from rnn_zoo.commands.common import user_message


def test_list_prints_every_named_configuration(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in rnn_zoo.list_models():
        assert name in out
    assert "sequence_tagger" in out


def test_list_format_json_gives_every_configuration(capsys):
    assert cli.main(["list", "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert sorted(e["name"] for e in entries) == sorted(rnn_zoo.list_models())
    assert all(set(e) == {"name", "task", "description", "config"} for e in entries)


@pytest.mark.parametrize("count, text", [
    (0, "0 B"), (98, "98 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (3900, "3.8 KiB"),
    (156_262, "152.6 KiB"), (1_258_291, "1.2 MiB"), (4 * 2**30, "4.0 GiB"),
    (3 * 2**40, "3.0 TiB"),
])
def test_one_human_size_spelling(count, text):
    assert human_size(count) == text


def test_bench_says_what_runs_and_how_long_before_it_starts():
    from rnn_zoo.commands import bench

    quick = bench.estimate_minutes(["train", "inference"], None, full=False)
    assert 0 < quick < bench.estimate_minutes(["train", "inference"], None, full=True)
    assert bench.estimate_minutes(["train"], ["jax"], full=False) < quick


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert "usage: rnn-zoo " + command in capsys.readouterr().out


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"rnn-zoo {rnn_zoo.__version__}"


def test_unknown_subcommand_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["fly"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_usage_error_is_importable_from_cli_for_compatibility():
    from rnn_zoo.errors import UsageError

    assert cli.UsageError is UsageError


# Runs `cli.main(argv)` for each argv in one fresh interpreter, and reports
# after each which heavy modules the run imported.
_IMPORT_PROBE = textwrap.dedent("""
    import contextlib, io, json, sys
    from rnn_zoo import cli
    report = []
    for argv in json.loads(sys.argv[1]):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                status = cli.main(argv)
            except SystemExit as stop:
                status = stop.code
        heavy = sorted(name for name in ("tensorflow", "keras", "jax", "torch")
                       if name in sys.modules)
        report.append([argv, status, heavy])
    print(json.dumps(report))
""")


def test_help_list_and_argument_errors_import_neither_tensorflow_nor_keras():
    runs = [(["--help"], 0), (["--version"], 0), (["list"], 0), (["list", "--verbose"], 0),
            (["train", "x.csv"], 2),  # missing -o: an argument error
            (["export", "model.keras", "--quantization", "int4"], 2),  # a bad choice
            *(([command, "--help"], 0) for command in cli.COMMANDS)]
    result = subprocess.run([sys.executable, "-c", _IMPORT_PROBE,
                             json.dumps([argv for argv, _ in runs])],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for (argv, status, heavy), (_, expected) in zip(report, runs, strict=True):
        assert heavy == [], (argv, heavy)
        assert status == expected, (argv, status)


def test_choices_come_from_the_task_registry():
    parser = cli.build_parser()
    train = cli._subparser(parser, "train")
    export = cli._subparser(parser, "export")

    def choices(subparser, flag):
        return tuple(next(a for a in subparser._actions if flag in a.option_strings).choices)

    assert choices(train, "--cell") == tasks.CELLS
    assert choices(train, "--pooling") == tasks.POOLINGS
    assert choices(export, "--lstm-kernel") == tasks.LSTM_KERNELS
    assert choices(export, "--quantization") == tuple(q for q in tasks.QUANTIZATIONS if q)


def test_console_script_lists_configurations():
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
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr


def _parser_with_renamed_flags():
    parser = argparse.ArgumentParser(prog="rnn-zoo demo")
    parser.add_argument("--export-root", default="saved_models")
    deprecated_alias(parser, "--root", "--export-root")
    parser.add_argument("--no-tflite", action="store_true")
    deprecated_alias(parser, "--skip-tflite", "--no-tflite")
    parser.add_argument("--validation-split", type=float, default=0.1)
    return parser


def test_an_old_flag_still_works_and_warns_once_on_stderr(capsys):
    parser = _parser_with_renamed_flags()
    args = parser.parse_args(["--root", "out", "--skip-tflite"])
    assert args.export_root == "out" and args.no_tflite is True
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rnn-zoo demo: warning: --root is deprecated; use --export-root.",
                   "rnn-zoo demo: warning: --skip-tflite is deprecated; use --no-tflite."]
    # The new spelling is silent, and the old one is hidden from --help.
    args = parser.parse_args(["--export-root", "new"])
    assert args.export_root == "new" and capsys.readouterr().err == ""
    assert "--root" not in parser.format_help()


def test_a_library_error_names_the_cli_flag():
    flags = flag_names(_parser_with_renamed_flags())
    error = ValueError("prepare: Invalid value received for argument `validation_split`. "
                       "Expected a float in [0, 1). Received: validation_split=1.5")
    assert user_message(error, flags) == (
        "prepare: Invalid value received for argument `--validation-split`. "
        "Expected a float in [0, 1). Received: --validation-split=1.5")
    # Old Python names map to the new flags; names with no flag stay as they are.
    assert user_message(ValueError("bad `root` and `vocab_size`; export_root=1"), flags) == (
        "bad `--export-root` and `vocab_size`; --export-root=1")
    # "Pass version=None" means leaving the flag out: a flag can't be given None.
    assert user_message(ValueError("Version 1 exists. Pass version=None for the next free "
                                   "version (2)."), {"version": "--version"}) == (
        "Version 1 exists. Omit --version for the next free version (2).")


def test_a_factory_error_reaches_the_user_as_its_flag(tmp_path, capsys):
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "good,pos\nbad,neg\n" * 6, encoding="utf-8")
    assert cli.main(["train", str(data), "-o", str(tmp_path / "out"), "--units", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert "argument `--units`" in error and "Received: --units=0" in error


def test_demo_tells_the_negation_story(tmp_path, capsys):
    assert cli.main(["demo", "--output-dir", str(tmp_path), "--no-export"]) == 0
    out = capsys.readouterr().out
    assert "bag of embeddings" in out and "LSTM" in out
    assert "forget gate near 0 or 1" in out
    assert (tmp_path / "lstm_gates.png").stat().st_size > 10_000
    bundle = tmp_path / "negation_lstm"
    for name in ("model.keras", "vocab.txt", "text_vectorizer.json", "labels.txt",
                 "metadata.json"):
        assert (bundle / name).exists(), name


def test_presets_check_format_json_gives_one_verdict_per_preset(tmp_path, capsys):
    import shutil

    from rnn_zoo.presets import preset_folder

    name = "speaker_japanese_vowels"
    assert cli.main(["presets", "check", name, "--format", "json"]) == 0
    (verdict,) = json.loads(capsys.readouterr().out)
    assert set(verdict) == {"name", "metric", "card", "measured", "interval", "tolerance",
                            "tflite_max_abs_diff", "tflite_tolerance", "verdict"}
    assert verdict["tflite_max_abs_diff"] <= verdict["tflite_tolerance"]
    low, high = verdict["interval"]
    assert verdict["name"] == name and verdict["metric"] == "accuracy"
    assert low <= verdict["measured"] <= high and verdict["verdict"] == "ok"
    assert (low + high) / 2 == pytest.approx(verdict["card"])
    # A card claiming more than the model scores: "mismatch", and exit status 1.
    folder = tmp_path / name
    shutil.copytree(preset_folder(name), folder)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    metrics["accuracy"] = 0.5
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert cli.main(["presets", "check", name, "-o", str(folder), "--format", "json"]) == 1
    (verdict,) = json.loads(capsys.readouterr().out)
    assert verdict["card"] == 0.5 and verdict["interval"] == pytest.approx([0.495, 0.505])
    assert verdict["verdict"] == "mismatch"


def test_presets_build_refuses_format(capsys):
    assert cli.main(["presets", "build", "speaker_japanese_vowels", "--format", "json"]) == 2
    assert "drop --format" in capsys.readouterr().err
