"""Command-line entry point: thin — parse arguments, call the core, print, exit code.

Each area registers its own subcommands from its own module (`register(subparsers)`), so
the dispatcher stays small and areas never edit one shared file.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from swapdeck import __version__
from swapdeck.config import ConfigError

# Modules under swapdeck.cli that each define `register(subparsers) -> None`; a subcommand
# sets `func(args) -> int` with `set_defaults`.
COMMAND_MODULES = ("fleet", "rank", "pool")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swapdeck",
        description="A terminal cockpit for fleets of llama-swap hosts.",
    )
    parser.add_argument("--version", action="version", version=f"swapdeck {__version__}")
    parser.add_argument("--config", type=str, default=None,
                        help="config file (default: $SWAPDECK_CONFIG, then the XDG config dir)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"swapdeck.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"swapdeck.cli.{name}":
                continue  # an area not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except ConfigError as exc:
        print(f"swapdeck: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
