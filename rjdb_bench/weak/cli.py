"""``rjdb-bench weak build-labels|train-tagger|train-matcher|train-linker [overrides...]``: argparse wiring.

Each sub-command composes its ``configs/weak/*.yaml`` with Hydra overrides (``key=value``),
as ``rjdb-bench run`` does; ``--resume`` continues a training run from its last checkpoint.
"""

from __future__ import annotations

import argparse
from typing import Any

COMMANDS = {
    "build-labels": (
        "labels",
        "weak BIO skill labels and match pairs from RJDB rows, with a data card",
    ),
    "train-tagger": ("tagger", "fine-tune an encoder as a BIO skill tagger on the weak labels"),
    "train-matcher": (
        "matcher",
        "fine-tune an encoder as a cross-encoder matcher on the weak pairs",
    ),
    "train-linker": (
        "linker",
        "fine-tune a bi-encoder skill linker on the weak (sentence, skill) pairs",
    ),
}


def add_weak_parser(subparsers: Any) -> None:
    """Add ``weak`` and its sub-commands to the CLI's sub-parsers."""
    weak = subparsers.add_parser(
        "weak", help="trainable weak supervision from RJDB (docs/weak-supervision.md)"
    )
    actions = weak.add_subparsers(dest="weak_command", required=True, parser_class=type(weak))
    for command, (config, text) in COMMANDS.items():
        action = actions.add_parser(command, help=text)
        if config != "labels":
            action.add_argument(
                "--resume", action="store_true", help="continue from the last checkpoint"
            )
        action.add_argument(
            "overrides",
            nargs="*",
            help=f"Hydra overrides of configs/weak/{config}.yaml, e.g. output_dir=DIR seed=1",
        )


def run_weak(args: argparse.Namespace) -> int:
    """Run the ``weak`` sub-command ``args`` name; InputError propagates to the CLI."""
    from rjdb_bench.weak.config import compose_weak

    config_name = COMMANDS[args.weak_command][0]
    settings = compose_weak(config_name, args.overrides)
    if config_name == "labels":
        from rjdb_bench.weak.build import build_labels, summary

        print(summary(build_labels(settings), str(settings.output_dir)))
        return 0
    from rjdb_bench.weak.train import train

    final = train(settings, resume=args.resume)
    print(
        f"trained {config_name}: {final}  (evaluate: rjdb-bench run model={config_name} "
        f"model.pretrained={final} ...)"
    )
    return 0
