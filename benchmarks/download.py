"""Download throughput: swapdeck's verified downloader against `curl -o`, in one run.

Serves a generated file (default ~200 MB) from a loopback aiohttp server in a separate
process (sendfile, honours Range), then downloads it alternately with curl and with
swapdeck's `Downloader` (which also streams a sha256, checks it and fsyncs before the
rename), and prints each throughput and the ratio. Goal: swapdeck ≥ 90 % of curl.

For context it also measures, in the same run, `curl -o` followed by `sha256sum` (what a
careful person does by hand) and hashlib's single-core sha256 rate: on a CPU without SHA
extensions sha256 alone is slower than a loopback `curl -o`, which bounds any verified
download below curl whatever the transport. CPU seconds are printed because on a shared
box wall-clock rates swing with other load.

    .venv/bin/python benchmarks/download.py [--mb 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from aiohttp import web

from swapdeck.pool.download import Downloader, DownloadRequest

Run = tuple[float, float]
"""(wall seconds, CPU seconds)"""


def _serve(directory: str, port_pipe: Connection) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(Path(directory) / request.match_info["name"])

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/files/{name}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_pipe.send(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


def _make_file(path: Path, size: int) -> str:
    """Incompressible bytes, written in 8 MiB blocks; returns the sha256."""
    digest = hashlib.sha256()
    block = os.urandom(8 * 1024 * 1024)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            handle.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _curl(url: str, out: Path, *, verify: str | None = None) -> Run:
    """`curl -o` (then `sha256sum -c` when `verify` is the expected hash)."""
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(out), url], check=True)
    if verify is not None:
        subprocess.run(["sha256sum", "-c", "--quiet", "-"], input=f"{verify}  {out}\n",
                       text=True, check=True)
    return time.perf_counter() - started, _cpu(resource.RUSAGE_CHILDREN) - cpu


def _swapdeck(url: str, models: Path, size: int, sha: str) -> Run:
    request = DownloadRequest("bench", url, models / "bench.gguf", size_bytes=size, sha256=sha)
    cpu = _cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = asyncio.run(Downloader(models).download(request))
    elapsed = time.perf_counter() - started
    assert result.verified and result.size_bytes == size
    return elapsed, _cpu(resource.RUSAGE_SELF) - cpu


def _hashlib_rate(path: Path) -> float:
    """Single-core sha256 over the file (from the page cache), bytes per second."""
    digest = hashlib.sha256()
    started = time.perf_counter()
    with open(path, "rb") as handle:
        while block := handle.read(4 * 1024 * 1024):
            digest.update(block)
    return path.stat().st_size / (time.perf_counter() - started)


def _measure(url: str, root: Path, size: int, sha: str,
             rounds: int) -> tuple[dict[str, list[Run]], list[float]]:
    runs: dict[str, list[Run]] = {"curl -o": [], "curl -o + sha256sum": [], "swapdeck": []}
    hash_rates = []
    for round_no in range(rounds):
        out = root / f"curl-{round_no}"
        runs["curl -o"].append(_curl(url, out))
        out.unlink()
        runs["curl -o + sha256sum"].append(_curl(url, out, verify=sha))
        out.unlink()
        models = root / f"models-{round_no}"
        runs["swapdeck"].append(_swapdeck(url, models, size, sha))
        hash_rates.append(_hashlib_rate(models / "bench.gguf"))
        shutil.rmtree(models)
    return runs, hash_rates


def main() -> int:
    parser = argparse.ArgumentParser(description="swapdeck downloader vs curl -o")
    parser.add_argument("--mb", type=int, default=200, help="file size in MB (10**6 bytes)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for tool in ("curl", "sha256sum"):
        if shutil.which(tool) is None:
            print(f"{tool} not found on PATH", file=sys.stderr)
            return 2
    size = args.mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="swapdeck-bench-") as tmp:
        root = Path(tmp)
        (root / "serve").mkdir()
        sha = _make_file(root / "serve" / "bench.gguf", size)
        receive, send = multiprocessing.Pipe(duplex=False)
        server = multiprocessing.Process(target=_serve, args=(str(root / "serve"), send),
                                         daemon=True)
        server.start()
        try:
            url = f"http://127.0.0.1:{receive.recv()}/files/bench.gguf"
            runs, hash_rates = _measure(url, root, size, sha, args.rounds)
        finally:
            server.terminate()
            server.join()
    rates = {name: size / statistics.median(w for w, _c in rows) / 1e6
             for name, rows in runs.items()}
    print(f"file: {args.mb} MB, {args.rounds} rounds, medians; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for name, rows in runs.items():
        cpu = statistics.median(c for _w, c in rows)
        print(f"{name:<26}: {rates[name]:8.1f} MB/s  {cpu:5.2f} CPU-s")
    print(f"{'sha256 alone (1 core)':<26}: {statistics.median(hash_rates) / 1e6:8.1f} MB/s")
    print(f"ratio swapdeck / curl -o             : {rates['swapdeck'] / rates['curl -o']:6.1%}"
          "  (goal >= 90%)")
    print("ratio swapdeck / curl -o + sha256sum : "
          f"{rates['swapdeck'] / rates['curl -o + sha256sum']:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
