"""What the headless collector costs: CPU share of one core and memory, following a busy
simulated fleet.

    .venv/bin/python benchmarks/collector.py [--hosts 50] [--rate 20] [--seconds 60]

This process measures; `--fleet-processes` others (started by this script, `--serve-fleet`)
serve the simulated hosts on loopback, and `python -m swapdeck collect` follows them with a
real history file. After a warm-up (connect, first reconcile), the collector's CPU
time is read from /proc/<pid>/stat over the measured window and its RSS sampled every
second; /metrics is scraped every 15 s as Prometheus would. Goal: under 25 % of one core
and under 150 MB. Numbers only, no verdict — a shared machine makes them noisy, so the
fleet's own CPU and the machine's load are printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from swapdeck.collector import eventloop

ERAS = ("v250", "v236", "v230", "v200")
SERVING = re.compile(r'msg="serving metrics" url=(\S+)')
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- the fleet


async def serve_fleet(args: argparse.Namespace) -> None:
    from swapdeck.sim.fleet import SimHostSpec, start_fleet
    from swapdeck.sim.model import SimModel

    models = (SimModel("chat-8b", group="a", load_s=0.5, prefill_tps=4000.0, decode_tps=120.0),
              SimModel("code-7b", group="b", load_s=0.5, prefill_tps=4500.0, decode_tps=140.0),
              SimModel("embed", group="e", load_s=0.1, prefill_tps=30000.0, decode_tps=1000.0,
                       capabilities=("embedding",)))
    eras = args.eras.split(",")
    specs = [SimHostSpec(f"host{i:02d}", eras[i % len(eras)], seed=i, models=models, gpus=1,
                         rate_per_s=args.rate)
             for i in range(args.first_host, args.first_host + args.hosts)]
    fleet = await start_fleet(specs)
    try:
        # This process's hosts only; the measuring side joins the parts into one config.
        Path(args.config).write_text(fleet.render_config(), encoding="utf-8")
        print("ready", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        # SIGUSR1: say how many requests the fleet has served so far (the offered load
        # actually achieved: a starved machine serves less than asked).
        loop.add_signal_handler(signal.SIGUSR1, lambda: print(
            f"served {sum(h.served for h in fleet.hosts.values())}", flush=True))
        await stop.wait()
    finally:
        await fleet.stop()


# --------------------------------------------------------------------------- measuring


@dataclass
class CpuTimes:
    at: float
    ticks: int


def cpu_times(pid: int) -> CpuTimes:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the command name: state is field 3; utime and stime are fields 14 and 15
    return CpuTimes(time.monotonic(), int(fields[11]) + int(fields[12]))


def share(before: CpuTimes, after: CpuTimes) -> float:
    return (after.ticks - before.ticks) / CLOCK_TICKS / (after.at - before.at)


def rss_mb(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE_BYTES / 1e6


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


async def scrape(client: httpx.AsyncClient, url: str) -> tuple[float, float, int]:
    """(seconds the scrape took, requests counted, samples on the page)."""
    started = time.perf_counter()
    response = await client.get(url, headers={"Accept": "application/openmetrics-text"})
    took = time.perf_counter() - started
    total, samples = 0.0, 0
    for family in text_string_to_metric_families(response.text):  # type: ignore[no-untyped-call]
        for sample in family.samples:
            samples += 1
            if sample.name == "swapdeck_requests_total":
                total += sample.value
    return took, total, samples


async def measure(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="swapdeck-collector-bench-"))
    config = work / "swapdeck.toml"
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "xdg"), "XDG_DATA_HOME": str(work / "xdg")}
    fleet = Fleet(await start_fleet_processes(args, work, env))
    parts = [(work / f"fleet-{n}.toml").read_text() for n in range(len(fleet.processes))]
    config.write_text(f"data_dir = {json.dumps(str(work / 'data'))}\n\n" + "\n".join(parts)
                      + "\n[collector]\nport = 0\n", encoding="utf-8")
    print(f"fleet: {args.hosts} hosts ({args.eras}), {args.rate:g} requests/s each, "
          f"{len(fleet.processes)} processes")

    collector = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "swapdeck", "--config", str(config), "collect",
        stderr=asyncio.subprocess.PIPE, env=env)
    assert collector.stderr is not None
    url = ""
    while not url:
        line = (await asyncio.wait_for(collector.stderr.readline(), 60)).decode()
        if not line:
            raise SystemExit("the collector exited before serving metrics")
        match = SERVING.search(line)
        url = match.group(1) if match else ""
    drain = asyncio.create_task(_drain(collector.stderr))
    print(f"collector: pid {collector.pid}, metrics at {url}")

    async with httpx.AsyncClient(verify=False, timeout=30.0) as client:
        print(f"warming up {args.warmup:.0f} s (connect, reconcile)…")
        await asyncio.sleep(args.warmup)
        _, counted_start, _ = await scrape(client, url)
        served_start = await fleet.served()
        cpu_start, fleet_start = cpu_times(collector.pid), fleet.cpu_times()
        rss_samples: list[float] = []
        scrape_times: list[float] = []
        samples_on_page = 0
        deadline = time.monotonic() + args.seconds
        next_scrape = time.monotonic() + 15
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            rss_samples.append(rss_mb(collector.pid))
            if time.monotonic() >= next_scrape:
                took, _, samples_on_page = await scrape(client, url)
                scrape_times.append(took)
                next_scrape += 15
        cpu_end, fleet_end = cpu_times(collector.pid), fleet.cpu_times()
        served_end = await fleet.served()
        _, counted_end, samples_on_page = await scrape(client, url)
        peak = peak_rss_mb(collector.pid)

    stop_started = time.monotonic()
    collector.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(collector.wait(), 60)
    stop_s = time.monotonic() - stop_started
    drain.cancel()
    await fleet.stop()

    window = cpu_end.at - cpu_start.at
    counted_rate = (counted_end - counted_start) / window
    served_rate = (served_end - served_start) / window
    print()
    print(f"measured window          {window:8.1f} s")
    print(f"requests served          {served_rate:8.1f} /s  by the fleet "
          f"(asked for {args.hosts * args.rate:g}/s)")
    print(f"requests counted         {counted_rate:8.1f} /s  by the collector")
    collector_share = share(cpu_start, cpu_end)
    asked = args.hosts * args.rate
    print(f"collector CPU            {100 * collector_share:8.1f} % of one core"
          "   (goal < 25 %)")
    if counted_rate > 0:
        print(f"  per request            {1e6 * collector_share / counted_rate:8.0f} µs of CPU; "
              f"at the asked-for {asked:g}/s that is "
              f"{100 * collector_share * asked / counted_rate:.1f} % (scaled linearly)")
    print(f"collector RSS            {max(rss_samples):8.1f} MB max, {rss_samples[-1]:.1f} MB "
          f"at the end, peak {peak:.1f}   (goal < 150 MB)")
    if scrape_times:
        print(f"scrape /metrics          {1000 * max(scrape_times):8.1f} ms max over "
              f"{len(scrape_times)} scrapes, {samples_on_page} samples a page")
    print(f"fleet processes CPU      {100 * share(fleet_start, fleet_end):8.1f} % of one core, "
          "all together")
    print(f"SIGTERM to exit          {stop_s:8.2f} s (exit code {code}, history flushed)")
    print(f"machine load average     {os.getloadavg()[0]:8.2f} on {os.cpu_count()} cores")


async def start_fleet_processes(args: argparse.Namespace, work: Path,
                                env: dict[str, str]) -> list[asyncio.subprocess.Process]:
    """The hosts split over `--fleet-processes` simulator processes: one Python process
    cannot serve 1,000 requests/s on a small machine, and an under-served fleet would
    flatter the collector."""
    count = max(1, min(args.fleet_processes, args.hosts))
    bounds = [args.hosts * n // count for n in range(count + 1)]
    processes = []
    for n in range(count):
        processes.append(await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve-fleet", "--first-host", str(bounds[n]),
            "--hosts", str(bounds[n + 1] - bounds[n]), "--rate", str(args.rate),
            "--eras", args.eras, "--config", str(work / f"fleet-{n}.toml"),
            stdout=asyncio.subprocess.PIPE, env=env))
    for process in processes:
        assert process.stdout is not None
        if (await asyncio.wait_for(process.stdout.readline(), 120)).strip() != b"ready":
            raise SystemExit("the simulated fleet did not start")
    return processes


@dataclass
class Fleet:
    processes: list[asyncio.subprocess.Process]

    async def served(self) -> int:
        """Requests served so far by every simulator process (SIGUSR1 makes each say)."""
        total = 0
        for process in self.processes:
            assert process.stdout is not None
            process.send_signal(signal.SIGUSR1)
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()
            total += int(line[1])
        return total

    def cpu_times(self) -> CpuTimes:
        times = [cpu_times(process.pid) for process in self.processes]
        return CpuTimes(times[0].at, sum(t.ticks for t in times))

    async def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="requests/s per host")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--eras", default=",".join(ERAS),
                        help="llama-swap eras the hosts cycle through")
    parser.add_argument("--fleet-processes", type=int, default=2,
                        help="simulator processes serving the hosts (default 2)")
    parser.add_argument("--serve-fleet", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-host", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fleet:
        # The fleet is the harness: on uvloop it serves more of the asked-for load on a
        # small machine (the collector's loop is whatever `swapdeck collect` picks).
        eventloop.run(serve_fleet(args))
    else:
        asyncio.run(measure(args))


if __name__ == "__main__":
    main()
