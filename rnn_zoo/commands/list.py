"""`rnn-zoo list`: the named (untrained) model configurations."""

import json
import sys


def register(subparsers):
    parser = subparsers.add_parser(
        "list", help="list the named model configurations",
        description="List the named, untrained model configurations with their task "
        "(build one with `rnn_zoo.build_model(name)` or `rnn-zoo train --model NAME`).",
    )
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also print each configuration's factory arguments")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="a table (default) or JSON: a list of {name, task, "
                        "description, config}")
    parser.set_defaults(func=run)


def run(args):
    # Only the data in rnn_zoo.configurations: no Keras, no TensorFlow.
    from rnn_zoo.configurations import CONFIGURATIONS

    if args.format == "json":
        json.dump([{"name": name, "task": CONFIGURATIONS[name]["task"],
                    "description": CONFIGURATIONS[name]["description"],
                    "config": CONFIGURATIONS[name]["config"]}
                   for name in sorted(CONFIGURATIONS)], sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
        return 0
    width = max(len(name) for name in CONFIGURATIONS)
    for name in sorted(CONFIGURATIONS):
        entry = CONFIGURATIONS[name]
        print(f"{name:<{width}}  {entry['task']:<19}  {entry['description']}")
        if args.verbose:
            arguments = ", ".join(f"{k}={v!r}" for k, v in entry["config"].items())
            print(f"{'':<{width}}  {arguments}")
    return 0
