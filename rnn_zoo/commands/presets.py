"""`rnn-zoo presets`: list, rebuild and check the pretrained presets."""

ACTIONS = ("list", "build", "check")


def register(subparsers):
    parser = subparsers.add_parser(
        "presets", help="list, rebuild (build NAME) or check the pretrained presets",
        description="Pretrained presets ship inside the package (rnn_zoo/pretrained/NAME): "
        "trained bundles with a model card, a same-run baseline and a TFLite file. "
        "`rnn-zoo presets` lists them with task, data, headline metric and size; "
        "`rnn-zoo presets build NAME` reruns the recipe that made one (fixed seeds, recorded "
        "split; needs `pip install rnn-zoo[presets]` and the TensorFlow backend); "
        "`rnn-zoo presets check [NAME ...]` rescores built presets on their recorded test "
        "split and compares their TFLite file with the model. Load one in Python with "
        "`rnn_zoo.presets.from_preset(NAME)`.",
    )
    parser.add_argument("action", nargs="?", default="list", choices=ACTIONS,
                        help="list (default), build or check")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="preset names (build: exactly one; check: default all built)")
    parser.add_argument("-o", "--output-dir", metavar="DIR", default=None,
                        help="build: write the preset here instead of the package's folder; "
                        "check: check this folder (with one NAME)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="build: show the training progress")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="list and check: lines for people (default) or JSON, one "
                        "object per preset (check: name, metric, card and measured value, "
                        "the interval the measured value must fall in, verdict)")
    parser.set_defaults(func=run)


def _size(count):
    from rnn_zoo.commands.common import human_size

    return "-" if count is None else human_size(count)


def _list(output_format="table"):
    from rnn_zoo.presets import describe_preset
    from rnn_zoo.presets import list_presets

    entries = [describe_preset(name) for name in list_presets()]
    if output_format == "json":
        import json

        print(json.dumps(entries, indent=1, default=str))
        return 0
    rows = [("NAME", "TASK", "DATA", "HEADLINE", "SIZE")]
    rows += [(e["name"], e["task"], e["data"], e["headline"] or
              ("(not built)" if not e["built"] else "-"), _size(e["bytes"])) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def run(args):
    from rnn_zoo.errors import UsageError
    from rnn_zoo.presets import check_name

    if args.action == "list":
        if args.names or args.output_dir:
            raise UsageError("`rnn-zoo presets` (list) takes no NAME or --output-dir.")
        return _list(args.format)
    for name in args.names:
        check_name(name)
    if args.action == "build":
        if args.format != "table":
            raise UsageError("`rnn-zoo presets build` prints no table: drop --format "
                             "(it applies to list and check).")
        if len(args.names) != 1:
            raise UsageError("`rnn-zoo presets build` takes exactly one NAME.")
        from rnn_zoo import recipes

        bundle = recipes.build(args.names[0], args.output_dir, verbose=2 if args.verbose else 0)
        metrics = bundle.metrics
        print(f"{args.names[0]}: accuracy {100 * metrics['accuracy']:.1f}% (baseline "
              f"{100 * metrics['baseline_accuracy']:.1f}%); card in "
              f"{args.output_dir or 'the package'}")
        return 0
    import os

    from rnn_zoo import recipes
    from rnn_zoo.presets import list_presets
    from rnn_zoo.presets import preset_folder

    if args.output_dir and len(args.names) != 1:
        raise UsageError("`rnn-zoo presets check --output-dir DIR` takes exactly one NAME.")
    names = args.names or [name for name in list_presets()
                           if os.path.isdir(preset_folder(name))]
    failed = 0
    verdicts = []
    for name in names:
        result = recipes.check(name, args.output_dir)
        failed += not result["ok"]
        if args.format == "json":
            verdicts.append(_verdict(result))
            continue
        status = "ok" if result["ok"] else "MISMATCH"
        card = (f"{100 * result['recorded']:.2f}%" if isinstance(result["recorded"], float)
                else "no accuracy")
        print(f"{name}: {status}: accuracy {100 * result['measured']:.2f}% (card "
              f"{card}, tolerance {100 * result['tolerance']:.1f} "
              f"points); TFLite max |diff| {result['tflite_max_abs_diff']:.1e}", flush=True)
    if args.format == "json":
        import json

        print(json.dumps(verdicts, indent=1))
    return 1 if failed else 0


def _verdict(result):
    """One preset's check as a JSON-ready dict (what `--format json` prints).

    Args:
        result: what `rnn_zoo.recipes.check` returned.

    Returns:
        dict with `name`, `metric`, `card` (the value on the model card),
        `measured`, `interval` ([low, high]: the card value plus or minus the
        tolerance, where the measured value must fall; None without a card
        value), `tolerance`, `tflite_max_abs_diff`, `tflite_tolerance` (the
        largest allowed) and `verdict` ("ok": both within their tolerance,
        else "mismatch", which makes the exit status 1).
    """
    from rnn_zoo.recipes.common import TFLITE_TOLERANCE

    recorded = result["recorded"]
    interval = None
    if isinstance(recorded, float):
        interval = [recorded - result["tolerance"], recorded + result["tolerance"]]
    # The metric the check compared: accuracy, unless the check names another.
    return {"name": result["name"], "metric": result.get("metric", "accuracy"), "card": recorded,
            "measured": result["measured"], "interval": interval,
            "tolerance": result["tolerance"],
            "tflite_max_abs_diff": result["tflite_max_abs_diff"],
            "tflite_tolerance": TFLITE_TOLERANCE,
            "verdict": "ok" if result["ok"] else "mismatch"}
