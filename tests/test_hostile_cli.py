"""Hostile arguments and files for every `rnn-zoo` subcommand: exit 2, one line, no traceback.

Each case runs `rnn_zoo.cli.main([...])` in-process (fast; a crash is the
exception escaping `main`) and expects status 2 and exactly one line on
stderr, `rnn-zoo CMD: error: ...`, naming the argument or the file; argparse's
own errors are that one line too, without the usage block. A few cases run
the console script in a subprocess, where a traceback would be printed.

As root (containers), permissions do not stop reads or writes: an unreadable
file is then a socket (`open` fails with ENXIO) and a read-only folder is one
under /sys (EPERM), so that every case still meets a real OS refusal.

TF backend only: argument and file handling does not depend on the backend.
"""

import os
import re
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest

from rnn_zoo import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# --------------------------------------------------------------------------- files


def _garbage(size=512):
    return np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8).tobytes()


def _unreadable(path):
    """A file that cannot be opened for reading (see the module docstring)."""
    if IS_ROOT:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()  # the socket file stays; opening it fails with ENXIO
    else:
        path.write_text("text,label\nx,y\n")
        path.chmod(0)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{placeholder: path} of hostile and valid inputs, made once."""
    folder = tmp_path_factory.mktemp("hostile_cli")
    paths = {}

    def add(name, content=None):
        path = folder / name
        if content is not None:
            path.write_bytes(content)
        paths[name] = str(path)
        return path

    add("nope.csv")  # missing
    (folder / "adir").mkdir()
    paths["adir"] = str(folder / "adir")
    for extension in ("csv", "jsonl", "npz", "toml", "keras", "tflite", "txt"):
        add(f"empty.{extension}", b"")
        add(f"garbage.{extension}", _garbage())
    add("badutf8.csv", b"text,label\n\xff\xfe caf\xe9,pos\nok,neg\n")
    add("badutf8.toml", b'task = "\xff\xfe"\n')
    add("badutf8.txt", b"fine\n\xff\xfe not utf-8\n")
    add("data.xyz", b"text,label\ngood,pos\nbad,neg\n")
    add("model.h5", _garbage())
    add("reviews.csv", ("text,label\n" + "good fun,pos\nbad dull,neg\n" * 8).encode())
    add("onelabel.csv", ("text,label\n" + "good fun,pos\n" * 12).encode())
    add("bad.toml", b"this is = = not toml\n")
    add("unknown_key.toml", b'task = "sequence_regressor"\nfrobnicate = 1\n')
    add("afile.txt", b"a file, not a folder\n")
    paths["under_file"] = str(folder / "afile.txt" / "out")
    paths["longname"] = str(folder / ("x" * 300 + ".csv"))
    paths["unreadable.csv"] = str(_unreadable(folder / "unreadable.csv"))
    paths["unreadable.keras"] = str(_unreadable(folder / "unreadable.keras"))
    if IS_ROOT:
        paths["readonly"] = "/sys/rnn_zoo_hostile_cli/out"
    else:
        readonly = folder / "readonly"
        readonly.mkdir()
        readonly.chmod(stat.S_IRUSR | stat.S_IXUSR)
        paths["readonly"] = str(readonly / "out")
    rng = np.random.default_rng(0)
    np.savez(folder / "wrong_keys.npz", frobnicate=np.zeros(3))
    paths["wrong_keys.npz"] = str(folder / "wrong_keys.npz")
    np.savez(folder / "series.npz", x=rng.normal(size=(6, 5, 2)).astype("float32"),
             labels=np.array([0, 1] * 3))
    paths["series.npz"] = str(folder / "series.npz")
    from tests.conftest import BASE_SPEC
    from tests.conftest import to_toml

    add("spec.toml", to_toml(BASE_SPEC).encode())
    # A real bundle (one epoch on 16 rows), for the cases that need a good model.
    bundle = folder / "bundle"
    status = cli.main(["train", paths["reviews.csv"], "-o", str(bundle), "--epochs", "1",
                       "--units", "4", "--embedding-dim", "4", "--validation-split", "0",
                       "--no-tensorboard"])
    assert status == 0
    paths["bundle"] = str(bundle)
    return paths


# --------------------------------------------------------------------------- cases

HUGE = str(10 ** 12)
HUGER = str(2 ** 70)

# (id, argv, what the error line must name). "{name}" is a path from `files`;
# "{out}" a fresh folder per case.
_TRAIN = ["train", "{reviews.csv}", "-o", "{out}", "--epochs", "1", "--no-tensorboard"]
_SPEC = ["tune", "{spec.toml}", "-o", "{out}"]
_EXPORT = ["export", "{bundle}", "--export-root", "{out}"]
_PREDICT = ["predict", "{bundle}"]


def _flag(argv, *extra):
    return [*argv, *extra]


CASES = [
    # list
    ("list-format", ["list", "--format", "xml"], "--format"),
    ("list-extra", ["list", "extra"], "extra"),
    # presets
    ("presets-action", ["presets", "frobnicate"], "frobnicate"),
    ("presets-format", ["presets", "--format", "xml"], "--format"),
    ("presets-build-noname", ["presets", "build"], "NAME"),
    ("presets-build-unknown", ["presets", "build", "no_such_preset"], "no_such_preset"),
    ("presets-build-two", ["presets", "build", "a", "b"], "name='a'"),
    ("presets-check-unknown", ["presets", "check", "no_such_preset"], "no_such_preset"),
    # generate (refused before any model is loaded, but the last two)
    ("generate-no-output", ["generate", "char_shakespeare_en"], "--output"),
    ("generate-unknown", ["generate", "no_such_preset", "-o", "{out}.txt"], "no_such_preset"),
    ("generate-not-generative", ["generate", "sentiment_rotten_tomatoes_en", "-o",
                                 "{out}.txt"], "sentiment_rotten_tomatoes_en"),
    ("generate-length-zero", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                              "--length", "0"], "--length"),
    ("generate-length-huge", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                              "--length", HUGE], "--length"),
    ("generate-length-nan", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                             "--length", "nan"], "--length"),
    ("generate-temperature-nan", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                                  "--temperature", "nan"], "--temperature"),
    ("generate-temperature-zero", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                                   "--temperature", "0"], "--temperature"),
    ("generate-temperature-inf", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                                  "--temperature", "inf"], "--temperature"),
    ("generate-seed-negative", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                                "--seed", "-1"], "--seed"),
    ("generate-seed-text", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                            "--seed", "abc"], "--seed"),
    ("generate-prompt-empty", ["generate", "char_shakespeare_en", "-o", "{out}.txt",
                               "--prompt", "  "], "--prompt"),
    ("generate-output-directory", ["generate", "char_shakespeare_en", "-o", "{adir}"],
     "adir"),
    ("generate-output-under-file", ["generate", "char_shakespeare_en", "-o",
                                    "{under_file}.txt"], "afile.txt"),
    ("generate-output-readonly", ["generate", "char_shakespeare_en", "-o",
                                  "{readonly}.txt"], "{readonly}"),
    ("generate-midi-extension", ["generate", "chorales_bach", "-o", "{out}.txt"], "--output"),
    ("generate-not-a-bundle", ["generate", "{adir}", "-o", "{out}.txt"], "adir"),
    ("generate-bundle-not-generative", ["generate", "{bundle}", "-o", "{out}.txt"],
     "bundle"),
    # demo (refused before any training)
    ("demo-seed-negative", ["demo", "--seed", "-1", "-o", "{out}"], "--seed"),
    ("demo-seed-huge", ["demo", "--seed", HUGER, "-o", "{out}"], "--seed"),
    ("demo-seed-text", ["demo", "--seed", "abc"], "--seed"),
    ("demo-output-under-file", ["demo", "-o", "{under_file}"], "afile.txt"),
    ("demo-output-readonly", ["demo", "-o", "{readonly}"], "{readonly}"),
    # train: the data file
    ("train-missing", ["train", "{nope.csv}", "-o", "{out}"], "nope.csv"),
    ("train-directory", ["train", "{adir}", "-o", "{out}"], "adir"),
    ("train-empty-csv", ["train", "{empty.csv}", "-o", "{out}"], "empty.csv"),
    ("train-empty-jsonl", ["train", "{empty.jsonl}", "-o", "{out}"], "empty.jsonl"),
    ("train-empty-npz", ["train", "{empty.npz}", "-o", "{out}"], "empty.npz"),
    ("train-garbage-csv", ["train", "{garbage.csv}", "-o", "{out}"], "garbage.csv"),
    ("train-garbage-jsonl", ["train", "{garbage.jsonl}", "-o", "{out}"], "garbage.jsonl"),
    ("train-garbage-npz", ["train", "{garbage.npz}", "-o", "{out}"], "garbage.npz"),
    ("train-bad-utf8", ["train", "{badutf8.csv}", "-o", "{out}"], "badutf8.csv"),
    ("train-wrong-extension", ["train", "{data.xyz}", "-o", "{out}"], "data.xyz"),
    ("train-unreadable", ["train", "{unreadable.csv}", "-o", "{out}"], "unreadable.csv"),
    ("train-name-too-long", ["train", "{longname}", "-o", "{out}"], "xxxxxxxx"),
    ("train-one-label", ["train", "{onelabel.csv}", "-o", "{out}"], "`data`"),
    ("train-npz-wrong-keys", ["train", "{wrong_keys.npz}", "-o", "{out}"], "wrong_keys.npz"),
    ("train-validation-missing", _flag(_TRAIN, "--validation", "{nope.csv}"), "nope.csv"),
    ("train-validation-garbage", _flag(_TRAIN, "--validation", "{garbage.csv}"),
     "garbage.csv"),
    ("train-test-directory", _flag(_TRAIN, "--test", "{adir}"), "adir"),
    # train: the output folder
    ("train-output-under-file", ["train", "{reviews.csv}", "-o", "{under_file}"], "afile.txt"),
    ("train-output-readonly", ["train", "{reviews.csv}", "-o", "{readonly}"], "{readonly}"),
    # train: numbers and choices
    ("train-units-negative", _flag(_TRAIN, "--units", "-1"), "--units"),
    ("train-units-huge", _flag(_TRAIN, "--units", HUGE), "--units"),
    ("train-units-nan", _flag(_TRAIN, "--units", "nan"), "--units"),
    ("train-depth-zero", _flag(_TRAIN, "--depth", "0"), "--depth"),
    ("train-depth-huge", _flag(_TRAIN, "--depth", HUGE), "--depth"),
    ("train-dropout-nan", _flag(_TRAIN, "--dropout", "nan"), "--dropout"),
    ("train-dropout-above-one", _flag(_TRAIN, "--dropout", "1.5"), "--dropout"),
    ("train-learning-rate-nan", _flag(_TRAIN, "--learning-rate", "nan"), "--learning-rate"),
    ("train-learning-rate-negative", _flag(_TRAIN, "--learning-rate", "-1"),
     "--learning-rate"),
    ("train-learning-rate-inf", _flag(_TRAIN, "--learning-rate", "inf"), "--learning-rate"),
    ("train-embedding-zero", _flag(_TRAIN, "--embedding-dim", "0"), "--embedding-dim"),
    ("train-embedding-huge", _flag(_TRAIN, "--embedding-dim", HUGE), "--embedding-dim"),
    ("train-epochs-zero", _flag(_TRAIN, "--epochs", "0"), "--epochs"),
    ("train-epochs-negative", _flag(_TRAIN, "--epochs", "-3"), "--epochs"),
    ("train-batch-size-zero", _flag(_TRAIN, "--batch-size", "0"), "--batch-size"),
    ("train-batch-size-huge", _flag(_TRAIN, "--batch-size", HUGER), "--batch-size"),
    ("train-patience-negative", _flag(_TRAIN, "--patience", "-1"), "--patience"),
    ("train-validation-split-above-one", _flag(_TRAIN, "--validation-split", "1.5"),
     "--validation-split"),
    ("train-validation-split-nan", _flag(_TRAIN, "--validation-split", "nan"),
     "--validation-split"),
    ("train-weight-noise-nan", _flag(_TRAIN, "--weight-noise", "nan"), "--weight-noise"),
    ("train-weight-noise-negative", _flag(_TRAIN, "--weight-noise", "-1"), "--weight-noise"),
    ("train-max-tokens-zero", _flag(_TRAIN, "--max-tokens", "0"), "--max-tokens"),
    ("train-max-length-zero", _flag(_TRAIN, "--max-length", "0"), "--max-length"),
    ("train-max-length-huge", _flag(_TRAIN, "--max-length", HUGE), "--max-length"),
    ("train-seed-negative", _flag(_TRAIN, "--seed", "-1"), "--seed"),
    ("train-seed-huge", _flag(_TRAIN, "--seed", HUGER), "--seed"),
    ("train-cell", _flag(_TRAIN, "--cell", "gruu"), "--cell"),
    ("train-pooling", _flag(_TRAIN, "--pooling", "median"), "--pooling"),
    ("train-tokenizer", _flag(_TRAIN, "--tokenizer", "spacy"), "--tokenizer"),
    ("train-model-unknown", _flag(_TRAIN, "--model", "no_such_model"), "no_such_model"),
    ("train-preset-unknown", _flag(_TRAIN, "--preset", "no_such_preset"), "no_such_preset"),
    ("train-stream-preset-adapt-sample",
     [*_TRAIN, "--stream", "--preset", "sentiment_rotten_tomatoes_en", "--adapt-sample", "5"],
     "--adapt-sample"),
    ("train-text-column", _flag(_TRAIN, "--text-column", "review"), "review"),
    ("train-label-column", _flag(_TRAIN, "--label-column", "stars"), "stars"),
    # tune: the spec file
    ("tune-missing", ["tune", "{nope.csv}"], "nope.csv"),
    ("tune-directory", ["tune", "{adir}"], "adir"),
    ("tune-empty", ["tune", "{empty.toml}", "-o", "{out}"], "empty.toml"),
    ("tune-garbage", ["tune", "{garbage.toml}", "-o", "{out}"], "garbage.toml"),
    ("tune-bad-utf8", ["tune", "{badutf8.toml}", "-o", "{out}"], "badutf8.toml"),
    ("tune-not-toml", ["tune", "{bad.toml}", "-o", "{out}"], "bad.toml"),
    ("tune-unknown-key", ["tune", "{unknown_key.toml}", "-o", "{out}"], "frobnicate"),
    ("tune-wrong-extension", ["tune", "{data.xyz}", "-o", "{out}"], "data.xyz"),
    ("tune-unreadable", ["tune", "{unreadable.csv}", "-o", "{out}"], "unreadable.csv"),
    # tune: numbers, choices, folders
    ("tune-max-trials-zero", _flag(_SPEC, "--max-trials", "0"), "--max-trials"),
    ("tune-max-trials-negative", _flag(_SPEC, "--max-trials", "-1"), "--max-trials"),
    ("tune-epochs-zero", _flag(_SPEC, "--epochs", "0"), "--epochs"),
    ("tune-cv-folds-zero", _flag(_SPEC, "--cv-folds", "0"), "--cv-folds"),
    ("tune-cv-folds-huge", _flag(_SPEC, "--cv-folds", HUGE), "--cv-folds"),
    ("tune-max-time-nan", _flag(_SPEC, "--max-time", "nan"), "--max-time"),
    ("tune-max-time-negative", _flag(_SPEC, "--max-time", "-1"), "--max-time"),
    ("tune-ensemble-negative", _flag(_SPEC, "--ensemble", "-2"), "--ensemble"),
    ("tune-workers-negative", _flag(_SPEC, "--workers", "-1"), "--workers"),
    ("tune-logical-cpus-zero", _flag(_SPEC, "--strategy", "mirrored", "--logical-cpus", "0"),
     "--logical-cpus"),
    ("tune-role", _flag(_SPEC, "--role", "boss"), "--role"),
    ("tune-strategy", _flag(_SPEC, "--strategy", "magic"), "--strategy"),
    ("tune-oracle-address", _flag(_SPEC, "--role", "chief", "--oracle-address", "nohost"),
     "--oracle-address"),
    ("tune-output-under-file", ["tune", "{spec.toml}", "-o", "{under_file}"], "afile.txt"),
    ("tune-output-readonly", ["tune", "{spec.toml}", "-o", "{readonly}"], "{readonly}"),
    # export: the model file
    ("export-missing", ["export", "{nope.csv}", "--export-root", "{out}"], "nope.csv"),
    ("export-directory", ["export", "{adir}", "--export-root", "{out}"], "adir"),
    ("export-empty", ["export", "{empty.keras}", "--export-root", "{out}"], "empty.keras"),
    ("export-garbage", ["export", "{garbage.keras}", "--export-root", "{out}"],
     "garbage.keras"),
    ("export-wrong-extension", ["export", "{model.h5}", "--export-root", "{out}"],
     "model.h5"),
    ("export-unreadable", ["export", "{unreadable.keras}", "--export-root", "{out}"],
     "unreadable.keras"),
    # export: flags, with a good bundle
    ("export-version-negative", _flag(_EXPORT, "--version", "-1"), "--version"),
    ("export-version-huge", _flag(_EXPORT, "--version", HUGER), "--version"),
    ("export-version-text", _flag(_EXPORT, "--version", "one"), "--version"),
    ("export-quantization", _flag(_EXPORT, "--quantization", "int4"), "--quantization"),
    ("export-target", _flag(_EXPORT, "--target", "coreml"), "coreml"),
    ("export-lstm-kernel", _flag(_EXPORT, "--lstm-kernel", "cudnn"), "--lstm-kernel"),
    ("export-representative-missing", _flag(_EXPORT, "--quantization", "int8",
                                            "--representative-data", "{nope.csv}"),
     "nope.csv"),
    ("export-representative-garbage",
     _flag(_EXPORT, "--quantization", "int8", "--representative-data",
           "{garbage.npz}"), "garbage.npz"),
    ("export-vocab-missing", _flag(_EXPORT, "--vocab", "{nope.csv}"), "nope.csv"),
    ("export-vocab-bad-utf8", _flag(_EXPORT, "--vocab", "{badutf8.txt}"), "badutf8.txt"),
    ("export-labels-missing", _flag(_EXPORT, "--labels", "{nope.csv}"), "nope.csv"),
    ("export-labels-directory", _flag(_EXPORT, "--labels", "{adir}"), "adir"),
    ("export-labels-empty", _flag(_EXPORT, "--labels", "{empty.txt}"), "empty.txt"),
    ("export-max-length-zero", _flag(_EXPORT, "--max-length", "0"), "--max-length"),
    ("export-max-length-huge", _flag(_EXPORT, "--max-length", HUGE), "--max-length"),
    ("export-name-traversal", _flag(_EXPORT, "--name", "../escape"), "--name"),
    ("export-name-newline", _flag(_EXPORT, "--name", "model\n"), "--name"),
    ("export-name-long", _flag(_EXPORT, "--name", "n" * 300), "--name"),
    ("export-root-under-file", ["export", "{bundle}", "--export-root", "{under_file}"],
     "afile.txt"),
    ("export-root-readonly", ["export", "{bundle}", "--export-root", "{readonly}"],
     "{readonly}"),
    # predict: the model path
    ("predict-missing", ["predict", "{nope.csv}", "--text", "hi"], "nope.csv"),
    ("predict-directory", ["predict", "{adir}", "--text", "hi"], "adir"),
    ("predict-garbage-tflite", ["predict", "{garbage.tflite}", "--text", "hi"],
     "garbage.tflite"),
    ("predict-empty-tflite", ["predict", "{empty.tflite}", "--text", "hi"], "empty.tflite"),
    ("predict-garbage-keras", ["predict", "{garbage.keras}", "--text", "hi"],
     "garbage.keras"),
    ("predict-wrong-extension", ["predict", "{model.h5}", "--text", "hi"], "model.h5"),
    ("predict-no-model", ["predict", "--text", "hi"], "PATH"),
    ("predict-no-input", ["predict", "{bundle}"], "--text"),
    ("predict-preset-unknown", ["predict", "--preset", "no_such_preset", "--text", "hi"],
     "no_such_preset"),
    # predict: inputs and outputs, with a good bundle
    ("predict-file-missing", _flag(_PREDICT, "--file", "{nope.csv}"), "nope.csv"),
    ("predict-file-directory", _flag(_PREDICT, "--file", "{adir}"), "adir"),
    ("predict-file-empty", _flag(_PREDICT, "--file", "{empty.txt}"), "empty.txt"),
    ("predict-file-garbage", _flag(_PREDICT, "--file", "{garbage.txt}"), "garbage.txt"),
    ("predict-file-bad-utf8", _flag(_PREDICT, "--file", "{badutf8.txt}"), "badutf8.txt"),
    ("predict-file-wrong-extension", _flag(_PREDICT, "--file", "{data.xyz}"), "data.xyz"),
    ("predict-file-unreadable", _flag(_PREDICT, "--file", "{unreadable.csv}"),
     "unreadable.csv"),
    ("predict-text-column", _flag(_PREDICT, "--file", "{reviews.csv}", "--text-column",
                                  "review"), "review"),
    ("predict-npz-missing", _flag(_PREDICT, "--npz", "{nope.csv}"), "nope.csv"),
    ("predict-npz-garbage", _flag(_PREDICT, "--npz", "{garbage.npz}"), "garbage.npz"),
    ("predict-npz-wrong-keys", _flag(_PREDICT, "--npz", "{wrong_keys.npz}"), "wrong_keys.npz"),
    ("predict-batch-size-zero", _flag(_PREDICT, "--text", "hi", "--batch-size", "0"),
     "--batch-size"),
    ("predict-batch-size-negative", _flag(_PREDICT, "--text", "hi", "--batch-size", "-4"),
     "--batch-size"),
    ("predict-format", _flag(_PREDICT, "--text", "hi", "--format", "xml"), "--format"),
    ("predict-output-extension", _flag(_PREDICT, "--text", "hi", "--output", "{out}.xyz"),
     "--output"),
    ("predict-output-under-file", _flag(_PREDICT, "--text", "hi", "--output",
                                        "{under_file}.csv"), "afile.txt"),
    ("predict-output-readonly", _flag(_PREDICT, "--text", "hi", "--output",
                                      "{readonly}.csv"), "{readonly}"),
    # inspect
    ("inspect-missing", ["inspect", "{nope.csv}", "--text", "hi"], "nope.csv"),
    ("inspect-directory", ["inspect", "{adir}", "--text", "hi"], "adir"),
    ("inspect-garbage", ["inspect", "{garbage.keras}", "--text", "hi"], "garbage.keras"),
    ("inspect-empty", ["inspect", "{empty.keras}", "--text", "hi"], "empty.keras"),
    ("inspect-wrong-extension", ["inspect", "{model.h5}", "--text", "hi"], "model.h5"),
    ("inspect-no-input", ["inspect", "{bundle}"], "--text"),
    ("inspect-no-tokens", ["inspect", "{bundle}", "--text", "   "], "--text"),
    ("inspect-vocab-missing", ["inspect", "{bundle}", "--text", "hi", "--vocab",
                               "{nope.csv}"], "nope.csv"),
    ("inspect-vocab-bad-utf8", ["inspect", "{bundle}", "--text", "hi", "--vocab",
                                "{badutf8.txt}"], "badutf8.txt"),
    ("inspect-npz-missing", ["inspect", "{bundle}", "--npz", "{nope.csv}"], "nope.csv"),
    ("inspect-npz-garbage", ["inspect", "{bundle}", "--npz", "{garbage.npz}"],
     "garbage.npz"),
    ("inspect-index-negative", ["inspect", "{bundle}", "--npz", "{series.npz}", "--index",
                                "-1"], "--index"),
    ("inspect-index-huge", ["inspect", "{bundle}", "--npz", "{series.npz}", "--index",
                            HUGE], "--index"),
    ("inspect-output-under-file", ["inspect", "{bundle}", "--text", "good", "--output",
                                   "{under_file}.png"], "afile.txt"),
    ("inspect-output-readonly", ["inspect", "{bundle}", "--text", "good", "--output",
                                 "{readonly}.png"], "{readonly}"),
    ("inspect-output-directory", ["inspect", "{bundle}", "--text", "good", "--output",
                                  "{adir}"], "adir"),
    # bench (refused before any benchmark runs)
    ("bench-what", ["bench", "everything"], "everything"),
    ("bench-backend", ["bench", "--backends", "theano"], "--backends"),
    ("bench-threads-zero", ["bench", "--threads", "0"], "--threads"),
    ("bench-threads-negative", ["bench", "--threads", "-2"], "--threads"),
    ("bench-threads-huge", ["bench", "--threads", HUGE], "--threads"),
    ("bench-output-directory", ["bench", "--output", "{adir}"], "adir"),
    ("bench-output-under-file", ["bench", "--output", "{under_file}.md"], "afile.txt"),
    ("bench-output-readonly", ["bench", "--output", "{readonly}.md"], "{readonly}"),
]


def _case_id(case):
    return case.values[0] if hasattr(case, "values") else case[0]


def _fill(value, files, out):
    def path(match):
        name = match.group(1)
        return out if name == "out" else files[name]

    return re.sub(r"\{([\w.]+)\}", path, value)


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.strip()]


def _run(argv, capsys):
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("name,argv,needle", CASES, ids=[_case_id(c) for c in CASES])
def test_hostile_argument_exits_2_with_one_line(name, argv, needle, files, tmp_path,
                                                capsys):
    out = str(tmp_path / "out")
    argv = [_fill(value, files, out) for value in argv]
    needle = _fill(needle, files, out)
    status, _, stderr = _run(argv, capsys)
    lines = _error_lines(stderr)
    assert status == 2, (status, stderr[-3000:])
    assert len(lines) == 1, stderr[-3000:]
    # Argparse's top-level parser says "rnn-zoo: error:" for a stray argument.
    assert re.match(rf"rnn-zoo( {argv[0]})?: error: ", lines[0]), lines[0]
    assert needle in lines[0], (needle, lines[0])


def test_every_subcommand_has_hostile_cases():
    # A new subcommand gets its rows in CASES.
    covered = {_case_id(case).split("-")[0] for case in CASES}
    assert set(cli.COMMANDS) <= covered, set(cli.COMMANDS) - covered


@pytest.mark.parametrize("argv,prog", [
    (["train", "data.csv", "-o", "out", "--units", "abc"], "rnn-zoo train"),
    (["fly"], "rnn-zoo"),
])
def test_argparse_errors_print_one_line(argv, prog, capsys):
    # No usage block: one line, and where the usage is.
    status, _, stderr = _run(argv, capsys)
    assert status == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith(f"{prog}: error: ") and f"(see {prog} --help)" in stderr, stderr


def test_an_os_error_no_command_checked_is_one_line(tmp_path, capsys):
    # cli._run's backstop for a path a command did not check first: a real OS refusal.
    parser = cli.build_parser()
    args = parser.parse_args(["list"])
    args.func = lambda _: open(tmp_path).read()
    assert cli._run(parser, args) == 2
    assert capsys.readouterr().err == f"rnn-zoo list: error: {tmp_path}: Is a directory\n"


# A few through the console script itself: a traceback there is printed, not raised.
SUBPROCESS_CASES = [
    ("train", "{garbage.csv}", "-o", "{out}"),
    ("predict", "{model.h5}", "--text", "hi"),
]


def _user_environment():
    # Without the suite's TF_CPP_MIN_LOG_LEVEL: the command hides native log lines itself.
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment["KERAS_BACKEND"] = "tensorflow"
    return environment


@pytest.mark.parametrize("argv", SUBPROCESS_CASES, ids=[c[0] for c in SUBPROCESS_CASES])
def test_hostile_input_in_a_subprocess_prints_one_line(argv, files, tmp_path):
    argv = [_fill(value, files, str(tmp_path / "out")) for value in argv]
    result = subprocess.run([sys.executable, "-m", "rnn_zoo.cli", *argv], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env=_user_environment())
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"rnn-zoo {argv[0]}: error: "), lines
    assert "Traceback" not in result.stderr
