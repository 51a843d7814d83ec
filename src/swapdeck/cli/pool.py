"""`swapdeck pool list | install ID | evict ID | budget GB | allow ORG`.

Destructive commands (install may evict; evict deletes) print the whole plan — download
source and sha256, what is evicted with its size, score and last use, the llama-swap config
diff — and ask before doing it, unless `--yes`. Without a terminal to ask on, they refuse.

`install ID` resolves the id through `swapdeck.pool.catalog` (imported lazily: the command
still works for `--url` installs without it); `--url URL --size BYTES [--sha256 HEX]`
installs a GGUF that is not in the catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import functools
import importlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from swapdeck.config import Config, find_config, load_config
from swapdeck.pool.errors import PoolError, human_bytes
from swapdeck.pool.installers.advisory import AdvisoryInstaller
from swapdeck.pool.installers.base import (
    Installer,
    InstallTarget,
    Progress,
    target_from_catalog,
)
from swapdeck.pool.installers.llamaswap import LlamaSwapInstaller
from swapdeck.pool.installers.ollama import OllamaInstaller
from swapdeck.pool.manager import InstallPlan, PoolManager, RemovalPlan
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import GB, PoolEntry


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pool = subparsers.add_parser("pool", help="the models this box holds: list, install, evict")
    commands = pool.add_subparsers(dest="pool_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="installed models, budget, resumable downloads")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)

    install = commands.add_parser("install", help="install a catalog model (or --url GGUF)")
    install.add_argument("model_id", metavar="ID")
    install.add_argument("--url", help="direct GGUF URL instead of the catalog")
    install.add_argument("--size", type=int, metavar="BYTES", help="size of the --url file")
    install.add_argument("--sha256", metavar="HEX", help="sha256 of the --url file")
    install.add_argument("--org", default="", help="org of the --url model (allow-list)")
    install.add_argument("--family", default="", help="family of the --url model")
    install.add_argument("--ollama-name", metavar="TAG", help="Ollama tag (install_target "
                         "ollama), default: the id")
    install.add_argument("--score", type=float, default=0.0,
                         help="score to record for eviction order (default 0)")
    install.add_argument("--protect", action="append", default=[], metavar="ID",
                         help="never evict this model for the install (repeatable)")
    install.add_argument("--yes", action="store_true", help="do it without asking")
    install.set_defaults(func=run_install)

    evict = commands.add_parser("evict", help="remove an installed model")
    evict.add_argument("model_id", metavar="ID")
    evict.add_argument("--yes", action="store_true", help="do it without asking")
    evict.set_defaults(func=run_evict)

    budget = commands.add_parser("budget", help="set the pool's disk budget in GB (10^9 B)")
    budget.add_argument("gigabytes", type=float, metavar="GB")
    budget.set_defaults(func=run_budget)

    allow = commands.add_parser("allow", help="allow installs from a Hugging Face org")
    allow.add_argument("org", metavar="ORG")
    allow.set_defaults(func=run_allow)


# --------------------------------------------------------------------------- commands


def reports_pool_errors(command: Callable[[argparse.Namespace], int],
                        ) -> Callable[[argparse.Namespace], int]:
    """A pool problem (an unreadable pool.json, a disk that cannot be read) is one line
    with the file and what to do, never a traceback."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except PoolError as exc:
            return _fail(str(exc))

    return run


@reports_pool_errors
def run_list(args: argparse.Namespace) -> int:
    manager = build_manager(args.config)
    state = manager.load()
    policy = manager.policy(state)
    llama = manager.installers.get("llama-swap")
    partials = llama.downloader.orphans() if isinstance(llama, LlamaSwapInstaller) else []
    if args.json:
        print(json.dumps({
            "state": state.model_dump(mode="json"), "policy": policy.model_dump(mode="json"),
            "resumable_downloads": [{"model_id": o.request.model_id, "url": o.request.url,
                                     "bytes_on_disk": o.bytes_on_disk,
                                     "size_bytes": o.request.size_bytes} for o in partials],
        }, indent=2))
        return 0
    source = "pool.json" if state.disk_budget_bytes is not None else "config"
    print(f"pool: {human_bytes(state.used_bytes)} used of {human_bytes(policy.budget_bytes)} "
          f"budget ({source}); orgs: {', '.join(policy.allowed_orgs) or 'any'}")
    if not state.entries:
        print("no models installed through the pool")
    else:
        print(f"{'ID':<32} {'SIZE':>9} {'SCORE':>6}  {'LAST USED':<16}  {'INSTALLED':<16}  "
              f"{'WHERE':<10} VERIFIED")
        for e in state.entries:
            print(f"{e.id:<32} {human_bytes(e.size_bytes):>9} {e.score:>6.1f}  "
                  f"{_when(e.last_used_at):<16}  {_when(e.installed_at):<16}  "
                  f"{e.installer:<10} {'yes' if e.verified else 'no'}")
    for orphan in partials:
        total = orphan.request.size_bytes
        print(f"resumable download: {orphan.request.model_id} "
              f"{human_bytes(orphan.bytes_on_disk)}"
              f"{' of ' + human_bytes(total) if total else ''} → {orphan.request.dest}")
    return 0


def run_install(args: argparse.Namespace) -> int:
    try:
        manager = build_manager(args.config)
        recovered = manager.recover_downloads()  # "on start": clean what nothing identifies
        if recovered is not None and recovered.cleaned:
            print(f"cleaned {len(recovered.cleaned)} unidentifiable partial download file(s)")
        target = resolve_target(args, manager.settings)
        plan = asyncio.run(manager.prepare(target, protect=args.protect))
    except PoolError as exc:
        return _fail(str(exc))
    print(render_install_plan(plan))
    if plan.already_installed:
        return 0
    if plan.installer_kind == "advisory":
        print("swapdeck does not drive this engine: run the commands above yourself.")
        return 0
    refused = confirm(args.yes, f"install {plan.target.id}")
    if refused is not None:
        return refused
    try:
        asyncio.run(_print_progress(manager.execute(plan)))
    except PoolError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("\ninterrupted; the partial download is kept: run the same command to resume",
              file=sys.stderr)
        return 130
    return 0


def run_evict(args: argparse.Namespace) -> int:
    try:
        manager = build_manager(args.config)
        plan = asyncio.run(manager.prepare_eviction(args.model_id))
    except PoolError as exc:
        return _fail(str(exc))
    print(render_removal_plan(plan))
    refused = confirm(args.yes, f"evict {plan.entry.id}")
    if refused is not None:
        return refused
    try:
        asyncio.run(manager.evict(plan))
    except PoolError as exc:
        return _fail(str(exc))
    print(f"evicted {plan.entry.id}: {human_bytes(plan.entry.size_bytes)} freed")
    return 0


@reports_pool_errors
def run_budget(args: argparse.Namespace) -> int:
    if args.gigabytes < 0:
        return _fail(f"budget: expected a number of GB >= 0, got {args.gigabytes}")
    manager = build_manager(args.config)
    state = manager.set_budget(round(args.gigabytes * GB))
    print(f"pool budget set to {human_bytes(manager.policy(state).budget_bytes)}")
    if state.used_bytes > manager.policy(state).budget_bytes:
        print(f"the pool holds {human_bytes(state.used_bytes)}, more than that; nothing is "
              "evicted now: the next install evicts what it needs, or use `swapdeck pool evict`")
    return 0


@reports_pool_errors
def run_allow(args: argparse.Namespace) -> int:
    manager = build_manager(args.config)
    was_open = not manager.policy().allowed_orgs
    policy = manager.policy(manager.allow_org(args.org))
    print(f"installs allowed from: {', '.join(policy.allowed_orgs)}")
    if was_open:
        print("(before, any org was allowed; now only these are)")
    return 0


# --------------------------------------------------------------------------- wiring


def load_pool_context(config_arg: str | None) -> tuple[Config, PoolSettings]:
    """The config and its `[pool]` table (defaults when there is no config file)."""
    path = find_config(Path(config_arg) if config_arg else None)
    if path is None:
        return Config(), PoolSettings()
    config = load_config(path)
    return config, config.pool


def build_manager(config_arg: str | None) -> PoolManager:
    config, settings = load_pool_context(config_arg)
    installers: dict[str, Installer] = {
        "llama-swap": LlamaSwapInstaller(settings),
        "ollama": OllamaInstaller(settings.ollama_url),
    }
    if settings.install_target == "advisory":
        installers["advisory"] = AdvisoryInstaller(settings)
    return PoolManager(config.resolved_data_dir() / "pool.json", settings, installers)


def resolve_target(args: argparse.Namespace, settings: PoolSettings) -> InstallTarget:
    if args.url:
        sha = args.sha256.lower() if args.sha256 else None
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            raise PoolError(f"--sha256: expected 64 hex digits, got {args.sha256!r}")
        return InstallTarget(id=args.model_id, org=args.org, family=args.family, url=args.url,
                             size_bytes=args.size, sha256=sha, ollama_name=args.ollama_name,
                             score=args.score)
    try:
        catalog_module: Any = importlib.import_module("swapdeck.pool.catalog")
    except ModuleNotFoundError:
        raise PoolError(f"{args.model_id}: no model catalog in this swapdeck; give --url, "
                        "--size and --sha256") from None
    try:
        catalog = catalog_module.load_catalog()
    except ValueError as exc:  # CatalogError
        raise PoolError(f"the model catalog is unreadable: {exc}") from None
    entry = catalog.get(args.model_id)
    if entry is None:
        ids = [e.id for e in catalog.entries]
        close = difflib.get_close_matches(args.model_id, ids, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see `swapdeck rank`)"
        raise PoolError(f"{args.model_id}: not in the catalog{hint}")
    return target_from_catalog(entry, score=args.score, ollama_name=args.ollama_name)


def confirm(yes: bool, action: str) -> int | None:
    """None to go ahead; else the exit code: 2 with no terminal to ask on, 1 on "no"."""
    if yes:
        return None
    if not sys.stdin.isatty():
        print(f"swapdeck: refusing to {action}: no terminal to ask for confirmation on; "
              "re-run with --yes to confirm", file=sys.stderr)
        return 2
    try:
        answer = input(f"{action}? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in {"y", "yes"}:
        return None
    print("nothing done")
    return 1


# --------------------------------------------------------------------------- rendering


def render_install_plan(plan: InstallPlan) -> str:
    target = plan.target
    if plan.already_installed:
        return f"{plan.engine_id} is already installed ({human_bytes(plan.size_bytes)})"
    lines = [f"install {plan.engine_id} via {plan.installer_kind}: "
             f"{human_bytes(plan.size_bytes)}{'' if target.size_exact else ' (approximate)'}"]
    if plan.installer is not None:
        inst = plan.installer
        lines.append(f"  from    {inst.source}")
        lines.append(f"  to      {inst.destination}")
        if inst.kind != "ollama":
            sha = inst.sha256 or "unknown (unverified unless the Hub names it)"
            lines.append(f"  sha256  {sha}")
    lines.append(f"  pool    {human_bytes(plan.used_bytes)} used → "
                 f"{human_bytes(plan.used_after_bytes)} of {human_bytes(plan.budget_bytes)}")
    if plan.eviction.victims:
        lines.append(f"  evicts  {len(plan.eviction.victims)} model(s), freeing "
                     f"{human_bytes(plan.eviction.freed_bytes)}:")
        lines += [_entry_line(e) for e in plan.eviction.victims]
    if plan.installer is not None:
        lines += [f"  note    {note}" for note in plan.installer.notes]
        lines += [f"  $ {command}" for command in plan.installer.commands]
        if plan.installer.config_diff:
            lines.append(plan.installer.config_diff.rstrip("\n"))
    return "\n".join(lines)


def render_removal_plan(plan: RemovalPlan) -> str:
    lines = ["evict:", _entry_line(plan.entry)]
    lines += [f"  $ {command}" for command in plan.installer.commands]
    lines += [f"  note    {note}" for note in plan.installer.notes]
    if plan.installer.config_diff:
        lines.append(plan.installer.config_diff.rstrip("\n"))
    return "\n".join(lines)


def format_progress(progress: Progress) -> str:
    parts = [f"{progress.phase.value:<8}", progress.model_id]
    if progress.total_bytes:
        parts.append(f"{progress.done_bytes / progress.total_bytes:6.1%} "
                     f"{human_bytes(progress.done_bytes)}/{human_bytes(progress.total_bytes)}")
    elif progress.done_bytes:
        parts.append(human_bytes(progress.done_bytes))
    if progress.rate_bps:
        parts.append(f"{human_bytes(progress.rate_bps)}/s")
    if progress.eta_s is not None:
        parts.append(f"ETA {int(progress.eta_s) // 60}:{int(progress.eta_s) % 60:02d}")
    if progress.verified is False:
        parts.append("(unverified)")
    if progress.message:
        parts.append(f"— {progress.message}")
    return " ".join(parts)


async def _print_progress(events: AsyncIterator[Progress]) -> None:
    tty = sys.stdout.isatty()
    last_phase, last_line = None, 0.0
    async for progress in events:
        line = format_progress(progress)
        if tty:
            print("\r" + line[:120].ljust(120), end="", flush=True)
        elif progress.phase != last_phase or time.monotonic() - last_line >= 2.0:
            print(line, flush=True)
            last_line = time.monotonic()
        last_phase = progress.phase
    if tty:
        print()


def _entry_line(entry: PoolEntry) -> str:
    return (f"    - {entry.id}: {human_bytes(entry.size_bytes)}, score {entry.score:.1f}, "
            f"last used {_when(entry.last_used_at)}, installed {_when(entry.installed_at)}")


def _when(at: float | None) -> str:
    if at is None:
        return "never"
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")


def _fail(message: str) -> int:
    print(f"swapdeck: {message}", file=sys.stderr)
    return 1
