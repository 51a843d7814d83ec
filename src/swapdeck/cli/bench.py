"""`swapdeck bench`: run suites, list/show stored runs, compare two runs, set a baseline.

Exit codes: 0 done; 1 a FAIL verdict (`compare`, or `run` against its baseline);
2 an expected failure (bad suite, host down, unknown run), printed as one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swapdeck.bench.render import render_judgement, render_run, render_runs
from swapdeck.bench.report import judge_stored, judgement_dict, load_run, run_dict
from swapdeck.bench.runner import BenchError, Progress, ProgressFn
from swapdeck.bench.session import SessionResult, run_and_store
from swapdeck.bench.store import BenchStore
from swapdeck.bench.suite import Suite, load_suite
from swapdeck.bench.suite_dirs import resolve_suite
from swapdeck.bench.target import BenchTarget, Via, target_for_host, target_for_url
from swapdeck.bench.traffic import (
    RECENT_TRAFFIC_S,
    foreign_inflight_ids,
    new_marker,
    recent_requests,
)
from swapdeck.config import (
    Config,
    ConfigError,
    HostConfig,
    default_data_dir,
    find_config,
    load_config,
)
from swapdeck.history.values import HistoryError

SETTLE_TIMEOUT_S = 5.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser("bench", help="benchmark models on a host; compare runs")
    sub = bench.add_subparsers(dest="bench_command", metavar="ACTION", required=True)

    run = sub.add_parser("run", help="run a suite (TOML) and store every sample")
    run.add_argument("suite", type=Path,
                     help="a suite file, or the name of one in ~/.config/swapdeck/suites or "
                     "the shipped suites (smoke, sweep, warm-cache)")
    run.add_argument("--host", default=None, help="a host from the config (default: the "
                     "suite's target.host, or the only host)")
    run.add_argument("--model", default=None, help="one model (default: the suite's models)")
    run.add_argument("--url", default=None,
                     help="straight to a llama-server at this URL, no config needed")
    run.add_argument("--yes", action="store_true",
                     help="benchmark even if the host had traffic in the last minute")
    _common(run)
    run.set_defaults(func=_run)

    listing = sub.add_parser("list", help="stored runs, newest first")
    listing.add_argument("--host", default=None)
    listing.add_argument("--model", default=None)
    listing.add_argument("--limit", type=int, default=50)
    _common(listing)
    listing.set_defaults(func=_list)

    show = sub.add_parser("show", help="one run: environment and per-cell statistics")
    show.add_argument("run", type=int)
    _common(show)
    show.set_defaults(func=_show)

    compare = sub.add_parser("compare", help="RUN_B against RUN_A (exit 1 on FAIL)")
    compare.add_argument("run_a", type=int, help="the baseline")
    compare.add_argument("run_b", type=int, help="the candidate")
    _common(compare)
    compare.set_defaults(func=_compare)

    baseline = sub.add_parser("baseline", help="make RUN the baseline of its host+model+suite")
    baseline.add_argument("run", type=int)
    _common(baseline)
    baseline.set_defaults(func=_baseline)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (also when piped)")
    parser.add_argument("--db", type=Path, default=None,
                        help="history file (default: the config's data_dir/history.sqlite)")


def _fail(message: str) -> int:
    print(f"swapdeck: bench: {message}", file=sys.stderr)
    return 2


def _wants_json(args: argparse.Namespace) -> bool:
    return bool(args.json) or not sys.stdout.isatty()


def _print_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _optional_config(args: argparse.Namespace) -> Config | None:
    path = find_config(Path(args.config) if getattr(args, "config", None) else None)
    return load_config(path) if path is not None else None


def _database(args: argparse.Namespace, config: Config | None) -> Path:
    if args.db is not None:
        return Path(args.db)
    if config is not None:
        return config.database_path
    return default_data_dir() / "history.sqlite"


def _with_store(args: argparse.Namespace, action: Callable[[BenchStore], Any]) -> int:
    async def go() -> int:
        store = await BenchStore.open(_database(args, _optional_config(args)))
        try:
            return int(await action(store))
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except (HistoryError, BenchError) as exc:
        return _fail(str(exc))


# ----------------------------------------------------------------------------- read commands


def _list(args: argparse.Namespace) -> int:
    async def action(store: BenchStore) -> int:
        runs = await store.runs(host=args.host, model=args.model, limit=args.limit)
        baselines = await store.baselines()
        if _wants_json(args):
            _print_json({"runs": [dict(r.as_dict(), baseline=r.id in baselines) for r in runs]})
        else:
            sys.stdout.write(render_runs(runs, set(baselines)))
        return 0

    return _with_store(args, action)


def _show(args: argparse.Namespace) -> int:
    async def action(store: BenchStore) -> int:
        loaded = await load_run(store, args.run)
        if _wants_json(args):
            _print_json(run_dict(loaded))
        else:
            sys.stdout.write(render_run(loaded))
        return 0

    return _with_store(args, action)


def _compare(args: argparse.Namespace) -> int:
    async def action(store: BenchStore) -> int:
        judgement = await judge_stored(store, args.run_a, args.run_b)
        if _wants_json(args):
            _print_json(judgement_dict(judgement))
        else:
            sys.stdout.write(render_judgement(judgement))
        return 1 if judgement.result.failed else 0

    return _with_store(args, action)


def _baseline(args: argparse.Namespace) -> int:
    async def action(store: BenchStore) -> int:
        run = await store.set_baseline(args.run, now=time.time())
        message = f"run {run.id} is now the baseline for {run.host} / {run.model} / " \
                  f"{run.suite_name}"
        if _wants_json(args):
            _print_json({"baseline": run.id, "host": run.host, "model": run.model,
                         "suite": run.suite_name})
        else:
            print(message)
        return 0

    return _with_store(args, action)


# ----------------------------------------------------------------------------- run


def _pick_host(config: Config, suite: Suite, wanted: str | None) -> HostConfig:
    name = wanted or suite.target.host
    if name is None:
        if len(config.hosts) == 1:
            return config.hosts[0]
        raise ConfigError(config.source or "<config>", "hosts",
                          "expected --host or target.host in the suite (the config has "
                          f"{len(config.hosts)} hosts)")
    try:
        return config.host(name)
    except KeyError:
        known = ", ".join(h.name for h in config.hosts)
        raise ConfigError(config.source or "<config>", "hosts",
                          f"expected a host named {name!r} (known: {known})") from None


def _models(suite: Suite, wanted: str | None, *, url: bool) -> list[str | None]:
    if wanted:
        return [wanted]
    if suite.target.models:
        return list(suite.target.models)
    if url:
        return [None]
    raise BenchError(f"no model to benchmark: pass --model or set target.models in suite "
                     f"{suite.name!r}")


def _run(args: argparse.Namespace) -> int:
    try:
        args.suite = resolve_suite(args.suite)
        suite = load_suite(args.suite)
    except ConfigError as exc:
        return _fail(str(exc))
    try:
        return asyncio.run(_run_async(args, suite))
    except (HistoryError, BenchError, ValueError) as exc:
        return _fail(str(exc))


async def _run_async(args: argparse.Namespace, suite: Suite) -> int:
    if args.url:
        config = _optional_config(args)
        targets = [target_for_url(args.url, m) for m in _models(suite, args.model, url=True)]
        return await _run_targets(args, suite, targets, config, host=None)
    from swapdeck.cli.fleet import require_config

    config = require_config(args)
    host = _pick_host(config, suite, args.host)
    models = _models(suite, args.model, url=False)
    targets = [target_for_host(host, m or "") for m in models]
    return await _run_targets(args, suite, targets, config, host=host)


async def _run_targets(args: argparse.Namespace, suite: Suite, targets: list[BenchTarget],
                       config: Config | None, host: HostConfig | None) -> int:
    store = await BenchStore.open(_database(args, config))
    results: list[SessionResult] = []
    try:
        if host is not None and targets[0].via is Via.LLAMA_SWAP:
            results = await _run_watched(args, suite, targets, store, host)
        else:
            for target in targets:
                results.append(await _one(args, suite, target, store, None))
    finally:
        await store.close()
    if _wants_json(args):
        _print_json({"runs": [dict(run_dict(r.loaded), judgement=judgement_dict(r.judgement)
                                   if r.judgement else None) for r in results]})
    else:
        for r in results:
            sys.stdout.write(render_run(r.loaded))
            if r.judgement is not None:
                sys.stdout.write(render_judgement(r.judgement))
            else:
                print(f"no baseline yet for {r.loaded.run.host} / {r.loaded.run.model} / "
                      f"{suite.name}: `swapdeck bench baseline {r.run_id}` makes this run it")
    failed = any(r.judgement is not None and r.judgement.result.failed for r in results)
    return 1 if failed else 0


async def _run_watched(args: argparse.Namespace, suite: Suite, targets: list[BenchTarget],
                       store: BenchStore, host: HostConfig) -> list[SessionResult]:
    """Behind llama-swap: watch the host's events to see others' traffic before and during."""
    from swapdeck.fleet.runtime import FleetRuntime

    async with FleetRuntime(Config(hosts=(host,)), history=False) as runtime:
        state = runtime.state
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline and state.host(host.name).seq == 0:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the activity reconcile follows the first events
        now = time.time()
        own = await store.run_windows(host.name, since=now - RECENT_TRAFFIC_S)
        recent = recent_requests(state.host(host.name).activity, now, own_runs=own)
        if recent and not args.yes and not await _confirm(host.name, recent):
            raise BenchError(f"{host.name} finished {recent} request(s) in the last minute; "
                             "not benchmarking a busy host (pass --yes to go ahead)")
        results = []
        for target in targets:
            marker = new_marker()

            def foreign(marker: str = marker) -> frozenset[str]:
                return foreign_inflight_ids(state.host(host.name).inflight.values(), marker)

            results.append(await _one(args, suite, target, store, foreign, marker))
        return results


async def _confirm(host: str, recent: int) -> bool:
    if not sys.stdin.isatty():
        return False
    question = (f"{host} finished {recent} request(s) in the last minute; "
                "benchmark it anyway? [y/N] ")
    answer = await asyncio.to_thread(input, question)
    return answer.strip().lower() in ("y", "yes")


async def _one(args: argparse.Namespace, suite: Suite, target: BenchTarget, store: BenchStore,
               foreign: Callable[[], frozenset[str]] | None,
               marker: str | None = None) -> SessionResult:
    with ProgressDisplay(args, f"{target.host} {target.model}") as on_progress:
        return await run_and_store(store, suite, target, source=args.suite,
                                   foreign_inflight=foreign, on_progress=on_progress,
                                   marker=marker)


class ProgressDisplay:
    """A rich progress bar on a terminal; nothing when output is piped or JSON."""

    def __init__(self, args: argparse.Namespace, title: str) -> None:
        self._live = not args.json and sys.stderr.isatty() and sys.stdout.isatty()
        self._title = title
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressFn:
        if not self._live:
            return lambda event: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
                             transient=True)
        self._bar.start()
        self._task = self._bar.add_task(self._title, total=None, detail="probing")
        return self._update

    def _update(self, event: Progress) -> None:
        last = event.last
        detail = event.cell or event.phase
        if last is not None and last.ttft_ms is not None:
            detail += f"  TTFT {last.ttft_ms:.0f} ms"
        if last is not None and last.tg_norm is not None:
            detail += f"  {last.tg_norm:.1f} t/s"
        self._bar.update(self._task, total=event.total, completed=event.done, detail=detail)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
