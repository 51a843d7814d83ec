"""Fleet commands: `status` (one connect, print, exit), `sim` (serve a simulated fleet),
`demo` (the TUI against an in-process simulated fleet)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from swapdeck.config import Config, ConfigError, find_config, load_config
from swapdeck.events import Liveness
from swapdeck.fleet.runtime import FleetRuntime
from swapdeck.fleet.snapshot import fleet_dict
from swapdeck.fleet.state import FleetState


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = subparsers.add_parser("status", help="connect once, print the fleet, exit")
    status.add_argument("--json", action="store_true", help="print JSON (schema_version 1)")
    status.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for hosts to answer (default 10)")
    status.set_defaults(func=_status)

    sim = subparsers.add_parser("sim", help="serve a simulated llama-swap fleet on loopback")
    sim.add_argument("--write-config", type=Path, default=None,
                     help="also write the ready-to-use config to this file")
    sim.add_argument("--data-dir", type=Path, default=None,
                     help="data_dir to put in the printed config (default: swapdeck's own)")
    sim.add_argument("--seed", type=int, default=0, help="shifts every host's traffic seed")
    sim.add_argument("--no-flap", action="store_true", help="keep every host up")
    sim.set_defaults(func=_sim)

    demo = subparsers.add_parser("demo", help="the full TUI against a simulated fleet")
    demo.set_defaults(func=_demo)


def require_config(args: argparse.Namespace) -> Config:
    path = find_config(Path(args.config) if args.config else None)
    if path is None:
        raise ConfigError("(no config file)", "",
                          "expected --config, $SWAPDECK_CONFIG or ~/.config/swapdeck/config.toml "
                          "(see sample-configs/swapdeck.toml, or try `swapdeck demo`)")
    config = load_config(path)
    if not config.hosts:
        raise ConfigError(path, "hosts", "expected at least one [[hosts]] entry")
    return config


# ----------------------------------------------------------------------------- status


def _settled(state: FleetState, names: list[str]) -> bool:
    """Every host either answered (connected with its model list) or failed at least once."""
    for name in names:
        host = state.host(name)
        if host.liveness is Liveness.CONNECTED and host.models:
            continue
        if host.liveness is Liveness.DOWN or host.attempt >= 1:
            continue
        return False
    return True


async def collect_status(config: Config, timeout: float) -> dict[str, Any]:
    names = [h.name for h in config.hosts]
    async with FleetRuntime(config) as runtime:
        deadline = time.monotonic() + timeout
        # The freshly rebuilt picture says what the hosts were; wait for what they are.
        fresh = {n: runtime.state.host(n).seq for n in names}
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            answered = all(runtime.state.host(n).seq > fresh[n] for n in names)
            if answered and _settled(runtime.state, names):
                break
        await asyncio.sleep(0.5)  # let the activity reconcile and first perf poll land
        urls = {h.name: h.url for h in config.hosts}
        return fleet_dict(runtime.state, urls, time.time())


def _status(args: argparse.Namespace) -> int:
    config = require_config(args)
    snapshot = asyncio.run(collect_status(config, args.timeout))
    if args.json or not sys.stdout.isatty():
        json.dump(snapshot, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_status(snapshot))
    healthy = all(h["liveness"] == Liveness.CONNECTED.value for h in snapshot["hosts"])
    return 0 if healthy else 1


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def render_status(snapshot: dict[str, Any]) -> str:
    now = snapshot["generated_at"]
    out: list[str] = []
    for host in snapshot["hosts"]:
        chip = host["liveness"]
        if host["liveness"] == "reconnecting":
            chip = (f"reconnecting (attempt {host['attempt']})" if host["attempt"]
                    else "no answer yet")
        seen = host["last_seen"]
        seen_text = f", seen {_age(now - seen)} ago" if seen else ""
        version = host["llama_swap_version"] or "version ?"
        build = host["engine_build"] or "engine ?"
        out.append(f"{host['name']}  {host['url']}  [{chip}{seen_text}]  {version}  {build}")
        if host["last_error"] and host["liveness"] != "connected":
            out.append(f"  last error: {host['last_error']}")
        for model in host["models"]:
            ttl = model["ttl_remaining_s"]
            ttl_text = f"  ttl {_age(ttl)}" if ttl is not None else ""
            busy = f"  {model['inflight']} in flight" if model["inflight"] else ""
            out.append(f"  {model['state']:<9} {model['id']}{ttl_text}{busy}")
        oldest = host["oldest_inflight_age_s"]
        oldest_text = f" (oldest {_age(oldest)})" if oldest is not None else ""
        out.append(f"  in flight: {host['inflight']}{oldest_text}")
        last = host["last_activity"]
        if last:
            tps = last["decode_tps"]
            out.append(f"  last request: {last['model']} {last['path'] or ''} "
                       f"{last['status'] or ''} {_age(now - last['finished_at'])} ago, "
                       f"{last['generated_tokens']} tok"
                       + (f" at {tps:.1f} t/s" if tps is not None else ""))
        for gpu in host["gpus"]:
            used, total = gpu["mem_used_mb"], gpu["mem_total_mb"]
            vram = f"{used / 1024:.1f}/{total / 1024:.1f} GiB" if used and total else "—"
            out.append(f"  gpu{gpu['index']} {gpu['name']}: {vram}, util {gpu['util_pct']}%, "
                       f"{gpu['temp_c']}°C, {gpu['power_w']} W")
        out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- sim / demo


async def _serve_sim(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from swapdeck.sim.fleet import DEMO_FLEET, start_fleet

    specs = tuple(replace(spec, seed=spec.seed + args.seed,
                          flap=spec.flap and not args.no_flap) for spec in DEMO_FLEET)
    fleet = await start_fleet(specs)
    try:
        config_text = fleet.render_config(data_dir=str(args.data_dir) if args.data_dir else None)
        if args.write_config:
            args.write_config.write_text(config_text, encoding="utf-8")
            print(f"# config written to {args.write_config}", file=sys.stderr)
        print(config_text, flush=True)
        print("# serving; Ctrl-C stops", file=sys.stderr, flush=True)
        await asyncio.Event().wait()
    finally:
        await fleet.stop()


def _sim(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_sim(args))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from swapdeck.tui.app import run_demo

    # A throwaway history per demo run, unless the user asks to keep one.
    chosen = os.environ.get("SWAPDECK_DEMO_DIR")
    data_dir = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="swapdeck-demo-"))
    return run_demo(data_dir=data_dir, theme=args.theme)
