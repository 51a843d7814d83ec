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
COMMAND_MODULES = ("fleet", "rank", "pool", "bench", "gate", "engine", "collect")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swapdeck",
        description="A terminal cockpit for fleets of llama-swap hosts.",
    )
    parser.add_argument("--version", action="version", version=f"swapdeck {__version__}")
    parser.add_argument("--config", type=str, default=None,
                        help="config file (default: $SWAPDECK_CONFIG, then the XDG config dir)")
    parser.add_argument("--attach", action="store_true",
                        help="open the cockpit read-only on a running collector's history")
    parser.add_argument("--theme", default=None,
                        help="theme name (swapdeck-dark, swapdeck-light, or one of yours)")
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
    try:
        if func is None:
            return _cockpit(args, parser)
        return int(func(args))
    except ConfigError as exc:
        print(f"swapdeck: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _cockpit(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Plain `swapdeck`: the TUI on the configured fleet, or a pointer to the demo."""
    from pathlib import Path

    from swapdeck.config import find_config, load_config

    path = find_config(Path(args.config) if args.config else None)
    if path is None:
        parser.print_help()
        print("\nNo config found (--config, $SWAPDECK_CONFIG, ~/.config/swapdeck/config.toml)."
              "\nTry `swapdeck demo`, or copy sample-configs/swapdeck.toml.", file=sys.stderr)
        return 2
    config = load_config(path)
    if not config.hosts:
        raise ConfigError(path, "hosts", "expected at least one [[hosts]] entry")
    if args.attach:
        from swapdeck.cli.collect import run_attached

        return run_attached(config, theme=args.theme or config.theme)
    from swapdeck.tui.app import run_app

    return run_app(config, theme=args.theme or config.theme)
