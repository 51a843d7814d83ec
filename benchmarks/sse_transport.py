"""CPU per SSE message of the `/api/events` transport: httpx + httpx-sse (the reference,
what the connector used before) against swapdeck's own stream client (sse.py: aiohttp and
the chunk-level parser), each on asyncio's loop and on uvloop.

    .venv/bin/python benchmarks/sse_transport.py [--hosts 50] [--rate 20] [--seconds 20]

A simulated fleet runs in a second process (`benchmarks/collector.py --serve-fleet`); for
each variant a fresh process opens one stream per host, counts messages for the measured
window and reports its own CPU time per message. Only the transport is measured: messages
are counted, not decoded. The ratio to the reference measured in the same run is the
number to read; absolute microseconds move with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

VARIANTS = ("httpx/asyncio", "httpx/uvloop", "swapdeck/asyncio", "swapdeck/uvloop")
HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- one variant


async def _httpx_stream(url: str, seen: list[int]) -> None:
    import httpx
    from httpx_sse import aconnect_sse

    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, read=None)) as client, \
            aconnect_sse(client, "GET", "/api/events") as source:
        async for _ in source.aiter_sse():
            seen[0] += 1


async def _swapdeck_stream(url: str, seen: list[int]) -> None:
    from swapdeck.config import HostConfig
    from swapdeck.sources.session import make_session
    from swapdeck.sources.sse import open_event_stream

    session = make_session(HostConfig(name="bench", url=url))
    try:
        async with open_event_stream(session) as stream:
            async for _ in stream.events():
                seen[0] += 1
    finally:
        await session.close()


async def _follow(kind: str, urls: list[str], warmup: float, seconds: float) -> str:
    seen = [0]
    stream = _httpx_stream if kind == "httpx" else _swapdeck_stream
    tasks = [asyncio.create_task(stream(url, seen)) for url in urls]
    await asyncio.sleep(warmup)
    before, usage = seen[0], resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    after, usage_after = seen[0], resource.getrusage(resource.RUSAGE_SELF)
    window = time.monotonic() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    cpu = (usage_after.ru_utime + usage_after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    messages = after - before
    return f"{messages / window:.1f} {cpu / window:.4f} {cpu / max(messages, 1):.9f}"


def run_variant(args: argparse.Namespace) -> None:
    kind, loop = args.variant.split("/")
    hosts = tomllib.loads(Path(args.config).read_text())["hosts"]
    urls = [h["url"] for h in (hosts.values() if isinstance(hosts, dict) else hosts)]
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        print(runner.run(_follow(kind, urls, args.warmup, args.seconds)), flush=True)


# --------------------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="requests/s per host")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        run_variant(args)
        return

    work = Path(tempfile.mkdtemp(prefix="swapdeck-sse-bench-"))
    config = work / "swapdeck.toml"
    env = {**os.environ, "XDG_CONFIG_HOME": str(work), "XDG_DATA_HOME": str(work)}
    fleet = subprocess.Popen(
        [sys.executable, str(HERE / "collector.py"), "--serve-fleet", "--hosts", str(args.hosts),
         "--rate", str(args.rate), "--eras", "v250,v236,v230,v200", "--config", str(config)],
        stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert fleet.stdout is not None
        if fleet.stdout.readline().strip() != "ready":
            raise SystemExit("the simulated fleet did not start")
        print(f"{args.hosts} simulated hosts at {args.rate:g} requests/s each; "
              f"{args.seconds:g} s per variant\n")
        print(f"{'variant':<18} {'messages/s':>11} {'CPU share':>10} {'µs/message':>11} "
              f"{'vs reference':>13}")
        reference: float | None = None
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--config", str(config),
                 "--seconds", str(args.seconds), "--warmup", str(args.warmup)],
                capture_output=True, text=True, env=env, check=True).stdout.split()
            rate, share, per_message = float(out[0]), float(out[1]), float(out[2])
            reference = reference if reference is not None else per_message
            print(f"{variant:<18} {rate:11.0f} {100 * share:9.1f}% {1e6 * per_message:11.1f} "
                  f"{per_message / reference:12.2f}x")
        print(f"\nmachine load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    finally:
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(30)


if __name__ == "__main__":
    main()
