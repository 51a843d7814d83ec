"""Download throughput: swapdeck's verified downloader against `curl -o`, in one run.

Serves a generated file (default ~200 MB) from a loopback aiohttp server in a separate
process (sendfile, honours Range), then downloads it alternately with curl and with
swapdeck's `Downloader` (which also streams a sha256 and checks it), and prints each
throughput and the ratio. Goal: swapdeck ≥ 90 % of curl.

    .venv/bin/python benchmarks/download.py [--mb 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
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


def _curl(url: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(out), url], check=True)
    return time.perf_counter() - started


def _swapdeck(url: str, models: Path, size: int, sha: str) -> float:
    request = DownloadRequest("bench", url, models / "bench.gguf", size_bytes=size, sha256=sha)
    started = time.perf_counter()
    result = asyncio.run(Downloader(models).download(request))
    elapsed = time.perf_counter() - started
    assert result.verified and result.size_bytes == size
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="file size in MB (10**6 bytes)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("curl") is None:
        print("curl not found on PATH", file=sys.stderr)
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
            curl_s: list[float] = []
            ours_s: list[float] = []
            for round_no in range(args.rounds):
                out = root / f"curl-{round_no}"
                curl_s.append(_curl(url, out))
                out.unlink()
                models = root / f"models-{round_no}"
                ours_s.append(_swapdeck(url, models, size, sha))
                shutil.rmtree(models)
        finally:
            server.terminate()
            server.join()
    curl_rate = size / statistics.median(curl_s) / 1e6
    ours_rate = size / statistics.median(ours_s) / 1e6
    print(f"file: {args.mb} MB, {args.rounds} rounds, medians")
    print(f"curl -o                       : {curl_rate:8.1f} MB/s")
    print(f"swapdeck (stream + sha256)    : {ours_rate:8.1f} MB/s")
    print(f"ratio swapdeck / curl         : {ours_rate / curl_rate:8.1%}  (goal >= 90%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
