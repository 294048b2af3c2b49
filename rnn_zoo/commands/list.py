"""`rnn-zoo list`: the registered model configurations."""


def register(subparsers):
    parser = subparsers.add_parser(
        "list", help="list the registered model configurations",
        description="List the registered model configurations (presets) with their task.",
    )
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also print each preset's factory arguments")
    parser.set_defaults(func=run)


def run(args):
    # Only the registry: no Keras backend work happens here.
    from rnn_zoo.factories import PRESETS

    width = max(len(name) for name in PRESETS)
    for name in sorted(PRESETS):
        preset = PRESETS[name]
        print(f"{name:<{width}}  {preset['task']:<19}  {preset['description']}")
        if args.verbose:
            arguments = ", ".join(f"{k}={v!r}" for k, v in preset["config"].items())
            print(f"{'':<{width}}  {arguments}")
    return 0
