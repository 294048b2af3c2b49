"""`rnn-zoo generate NAME -o PATH`: continue a prompt with a language-model or chorale preset.

A language-model preset (`char_shakespeare_en`) writes text: the prompt and
what the model adds. A next-frame preset (`chorales_bach`) writes a MIDI
file (`.mid`) of the prompt frames and the generated ones, one frame per
quarter note, a key held over consecutive frames written as one note. NAME
may also be a bundle folder holding such a model. The same arguments always
give the same output (`--seed`).

Example:

    rnn-zoo generate char_shakespeare_en -o out.txt --prompt "ROMEO." --length 400
    rnn-zoo generate chorales_bach -o chorale.mid --prompt "G2 D3 B3 G4" --length 64
"""

import math
import os

from rnn_zoo.errors import UsageError

# What each kind of output is when --length is not given: characters or frames.
DEFAULT_LENGTH = {"text": 500, "frames": 64}
MIDI_EXTENSIONS = (".mid", ".midi")
# Quarter notes per minute in the written MIDI file.
MIDI_TEMPO = 80
_GENERATIVE_TASKS = ("language_model", "next_frame")


def register(subparsers):
    parser = subparsers.add_parser(
        "generate", help="write text or a MIDI file continuing a prompt (language-model "
        "and chorale presets)",
        description="Continue a prompt with a generative preset and write the result: text "
        "for a language model (char_shakespeare_en), a MIDI file for the Bach chorale "
        "model (chorales_bach; PATH must end in .mid). NAME is a preset name or a bundle "
        "folder. The same arguments always give the same output.",
    )
    parser.add_argument("name", metavar="NAME",
                        help="a generative preset (`rnn-zoo presets` lists them) or a bundle "
                        "folder")
    parser.add_argument("-o", "--output", required=True, metavar="PATH",
                        help="the file to write: text, or a .mid file for chorales")
    parser.add_argument("--prompt", default=None, metavar="TEXT",
                        help="text to continue, or for chorales the first frames as key "
                        "names, e.g. \"G2 D3 B3 G4, D3 A3 F#4 D5\" (default: the preset's own "
                        "prompt)")
    parser.add_argument("--length", default=None, metavar="N",
                        help="characters (or frames) to add: an integer in [1, 100000] "
                        f"(default {DEFAULT_LENGTH['text']} characters, "
                        f"{DEFAULT_LENGTH['frames']} frames)")
    parser.add_argument("--temperature", default="1.0", metavar="T",
                        help="a float > 0: below 1 more conservative, above 1 more varied "
                        "(default 1.0)")
    parser.add_argument("--seed", default="0", metavar="S",
                        help="an integer >= 0, the sampling's seed (default 0)")
    parser.set_defaults(func=run)


def _number(text, flag, kind, minimum=None, maximum=None):
    """`text` as an int or a finite float > 0, or a UsageError naming `flag`."""
    try:
        value = int(text) if kind is int else float(text)
    except (TypeError, ValueError):
        value = None
    if kind is int:
        bad = value is None or (minimum is not None and value < minimum) or (
            maximum is not None and value > maximum)
        expected = f"an integer in [{minimum}, {maximum}]" if maximum is not None else \
            f"an integer >= {minimum}"
    else:
        bad = value is None or not math.isfinite(value) or value <= 0
        expected = "a finite number > 0"
    if bad:
        raise UsageError(f"Invalid value received for {flag}. Expected {expected}. "
                         f"Received: {flag}={text}")
    return value


def _resolve(name):
    """`(folder or preset name, is_preset)`; refuses a non-generative preset before Keras."""
    from rnn_zoo import presets

    if os.path.isdir(name):
        return name, False
    presets.check_name(name)
    task = presets.PRESETS[name]["task"]
    if task not in _GENERATIVE_TASKS:
        generative = [preset for preset, entry in presets.PRESETS.items()
                      if entry["task"] in _GENERATIVE_TASKS]
        raise UsageError(f"preset {name!r} is a {task}, which does not generate; "
                         f"`rnn-zoo generate` takes one of {tuple(sorted(generative))}.")
    return name, True


def run(args):
    from rnn_zoo.bundle import MAX_GENERATE_LENGTH
    from rnn_zoo.commands.common import output_file

    temperature = _number(args.temperature, "--temperature", float)
    seed = _number(args.seed, "--seed", int, minimum=0)
    length = None if args.length is None else _number(
        args.length, "--length", int, minimum=1, maximum=MAX_GENERATE_LENGTH)
    if args.prompt is not None and not args.prompt.strip():
        raise UsageError("Invalid value received for --prompt. Expected some text. "
                         "Received: an empty prompt")
    source, is_preset = _resolve(args.name)
    output_file(args.output, "--output")
    from rnn_zoo import presets

    if is_preset and presets.PRESETS[source]["task"] == "next_frame":
        _check_midi_path(args.output)
    bundle = presets.from_preset(source)
    kind = bundle.generation_kind()
    if kind is None:
        raise UsageError(f"{args.name}: its model ({bundle.task or 'no task recorded'}) "
                         "does not generate; `rnn-zoo generate` takes a language model or a "
                         "next-frame model.")
    if kind == "frames":
        _check_midi_path(args.output)
    length = length or DEFAULT_LENGTH[kind]
    result = bundle.generate(args.prompt, length=length, temperature=temperature, seed=seed)
    from rnn_zoo import atomic

    if kind == "text":
        atomic.write_text(args.output, result if result.endswith("\n") else result + "\n")
        print(f"wrote {len(result):,} characters ({length:,} generated) to {args.output}")
        return 0
    notes = write_midi(result, bundle.labels, args.output)
    print(f"wrote {len(result)} frames ({length} generated, {notes} notes) to {args.output}")
    return 0


def _check_midi_path(path):
    if not path.lower().endswith(MIDI_EXTENSIONS):
        raise UsageError(f"Invalid value received for --output. A next-frame model writes a "
                         f"MIDI file; expected a path ending in {' or '.join(MIDI_EXTENSIONS)}. "
                         f"Received: --output={path}")


def write_midi(frames, labels, path, tempo=MIDI_TEMPO):
    """Write 0/1 frames `[time, keys]` as a MIDI file, one quarter note per frame.

    A key sounding over consecutive frames becomes one note as long as the
    run; an all-silent stretch is a rest. Written through `rnn_zoo.atomic`.

    Args:
        frames: float or int array `[time, keys]` of 0/1.
        labels: the keys' pitch names, lowest first (e.g. "A0" ... "C8"); the
            first gives the MIDI number of key 0.
        path: the `.mid` file.
        tempo: quarter notes per minute, default 80.

    Returns:
        The number of notes written.
    """
    import music21
    import numpy as np

    from rnn_zoo import atomic

    frames = np.asarray(frames) > 0.5
    lowest = music21.pitch.Pitch(labels[0]).midi
    part = music21.stream.Part()
    part.insert(0, music21.tempo.MetronomeMark(number=tempo))
    notes = 0
    for key in range(frames.shape[1]):
        on = np.concatenate([[False], frames[:, key], [False]]).astype(np.int8)
        starts = np.flatnonzero(np.diff(on) == 1)
        stops = np.flatnonzero(np.diff(on) == -1)
        for start, stop in zip(starts, stops):
            note = music21.note.Note(midi=lowest + key)
            note.quarterLength = float(stop - start)
            part.insert(float(start), note)
            notes += 1
    if notes == 0:
        part.insert(0, music21.note.Rest(quarterLength=float(max(len(frames), 1))))
    score = music21.stream.Score([part])
    atomic.write_with(path, lambda temporary: score.write("midi", fp=temporary))
    return notes
