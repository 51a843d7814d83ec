"""`swapdeck collect` (headless: follow the fleet, keep history, serve /metrics) and
`swapdeck attach` (the cockpit on a running collector's history, read-only)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

from swapdeck.cli.fleet import require_config
from swapdeck.collector import eventloop
from swapdeck.collector.errors import CollectorError
from swapdeck.collector.logfmt import LogfmtFormatter, format_line
from swapdeck.collector.service import CollectorService
from swapdeck.config import Config

ATTACHED_MODES = ("fleet", "activity")
"""Screens an attached TUI offers. Logs are not kept in history, and Bench would load the
hosts and write to the collector's file: both need plain `swapdeck`."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    collect = subparsers.add_parser(
        "collect", help="run headless: follow the fleet, keep history, serve /metrics",
        description="Follow every configured host, write the history database and serve "
                    "Prometheus/OpenMetrics metrics until SIGTERM or SIGINT (history is "
                    "flushed before exit). Logs go to stderr, one key=value line each.")
    collect.set_defaults(func=_collect)
    attach = subparsers.add_parser(
        "attach", help="the cockpit on a running collector's history (read-only)",
        description="Open the TUI on the history database a `swapdeck collect` with the "
                    "same config is writing: the past at once, then live updates as the "
                    "collector writes them. Actions are off.")
    attach.set_defaults(func=_attach)


# ----------------------------------------------------------------------------- collect


def _collect(args: argparse.Namespace) -> int:
    config = require_config(args)
    _log_to_stderr()
    try:
        eventloop.run(collect_until_signalled(config))
    except CollectorError as exc:
        sys.stderr.write(format_line(time.time(), "error", str(exc)) + "\n")
        return 1
    return 0


def _log_to_stderr() -> None:
    """swapdeck's own `logging` (warnings, unexpected errors) in the collector's format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger("swapdeck")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


async def collect_until_signalled(config: Config) -> None:
    stop = asyncio.Event()
    received: list[str] = []
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    # Installed before anything starts, so a SIGTERM during start-up still stops cleanly.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        async with CollectorService(config) as collector:
            await stop.wait()
            collector.log.say("info", "signal received", signal=received[0])
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


# ----------------------------------------------------------------------------- attach


def _attach(args: argparse.Namespace) -> int:
    config = require_config(args)
    return run_attached(config, theme=args.theme or config.theme)


def run_attached(config: Config, theme: str | None = None) -> int:
    """The cockpit on the collector's history file; the exit code."""
    path = config.database_path
    if not path.is_file():
        print(f"swapdeck: no history at {path}: start `swapdeck collect` with this config "
              "first (attach reads what the collector writes)", file=sys.stderr)
        return 1
    from swapdeck.collector.attach import AttachedRuntime
    from swapdeck.tui.app import SwapdeckApp

    app = SwapdeckApp(lambda: AttachedRuntime(config), theme=theme or config.theme,
                      modes=ATTACHED_MODES)
    app.sub_title = f"attached to {path} (read-only)"
    code = app.run()
    for problem in (app.startup_error, app.shutdown_error):
        if problem:
            print(f"swapdeck: {problem}", file=sys.stderr)
    if app.startup_error or app.shutdown_error:
        return 1
    return code if isinstance(code, int) else 0
