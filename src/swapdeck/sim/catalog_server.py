"""The demo's model downloads on loopback, and the demo pool they fill.

`CatalogServer` serves files under `/files/<name>` (Range requests honoured, as the Hub's
CDN does) and the demo catalog at `/catalog.json`, in the caller's event loop. Two knobs
make a download watchable: `rate_bps` throttles every body (the demo's 20 MB would
otherwise arrive before the progress bar is drawn), and `hold(after_bytes)` stops each body
at that offset until `release()` — how tests pause a transfer at a known point.

`start_demo_pool(data_dir)` builds the demo catalog, serves it, writes the demo llama-swap
config, pre-installs a few models through the real pool manager on a first run, and returns
the `[pool]` config text and the `CatalogSource` for the Pool screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from swapdeck.pool.catalog import load_catalog
from swapdeck.pool.demo_catalog import (
    DEMO_BUDGET_GB,
    DEMO_PREINSTALLED,
    DEMO_SCALE,
    LLAMA_SWAP_CONFIG,
    DemoCatalog,
    build_demo_catalog,
    pool_toml,
)
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_values import (
    CatalogSource,
    HardwareLoader,
    JobState,
    default_hardware,
    hardware_cache_dir,
)
from swapdeck.pool.settings import PoolSettings

_RANGE = re.compile(r"^bytes=(\d+)-$")
CHUNK_BYTES = 64 * 1024
DEMO_RATE_BPS = 3_000_000.0
"""3 MB/s: the demo's biggest stand-in takes ~7 s, long enough to pause and resume."""
PORT_FILE = "catalog-port"


@dataclass
class CatalogServer:
    files: Mapping[str, bytes]
    catalog_json: bytes = b""
    rate_bps: float | None = None
    honour_range: bool = True
    """False: answer every Range request with the whole file (200), as some mirrors do."""
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """(path, Range header) of every request, in order."""
    port: int = 0
    _hold_after: int | None = None
    _gate: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self._gate.set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/files/{name}"

    def ranges(self) -> list[str | None]:
        return [r for path, r in self.requests if path.startswith("/files/")]

    def hold(self, after_bytes: int) -> None:
        """Stop every body at byte `after_bytes` of the file until `release()`."""
        self._hold_after = after_bytes
        self._gate.clear()

    def release(self) -> None:
        self._hold_after = None
        self._gate.set()

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1:`port` (0: any free port); raises OSError when taken."""
        app = web.Application()
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/catalog.json", self._catalog)
        runner = web.AppRunner(app, handle_signals=False, access_log=None,
                               handler_cancellation=True, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        self.release()  # a held body must not keep the shutdown waiting
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _catalog(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, None))
        return web.Response(body=self.catalog_json, content_type="application/json")

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        range_header = request.headers.get("Range")
        self.requests.append((request.path, range_header))
        data = self.files.get(name)
        if data is None:
            return web.Response(status=404, text=f"{name}: no such file in the demo catalog")
        start, status = 0, 200
        headers = {"Accept-Ranges": "bytes" if self.honour_range else "none",
                   "Content-Type": "application/octet-stream"}
        match = _RANGE.match(range_header or "")
        if match and self.honour_range:
            start = int(match.group(1))
            if start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        headers["Content-Length"] = str(len(data) - start)
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client paused or went away
            await self._stream(response, data, start)
            await response.write_eof()
        return response

    async def _stream(self, response: web.StreamResponse, data: bytes, offset: int) -> None:
        began, sent = time.monotonic(), 0
        while offset < len(data):
            end = min(len(data), offset + CHUNK_BYTES)
            hold = self._hold_after
            if hold is not None and offset < hold < end:
                end = hold
            if hold is not None and offset >= hold:
                await self._gate.wait()
                continue
            await response.write(data[offset:end])
            sent += end - offset
            offset = end
            if self.rate_bps:
                ahead = sent / self.rate_bps - (time.monotonic() - began)
                if ahead > 0:
                    await asyncio.sleep(ahead)


# --------------------------------------------------------------------------- the demo pool


@dataclass
class DemoPool:
    server: CatalogServer
    demo: DemoCatalog
    source: CatalogSource
    config_toml: str
    """The `[pool]` table to append to the demo's swapdeck config."""

    async def stop(self) -> None:
        await self.server.stop()


async def start_demo_pool(data_dir: Path, *, rate_bps: float | None = DEMO_RATE_BPS,
                          preinstall: tuple[str, ...] = DEMO_PREINSTALLED,
                          scale: int = DEMO_SCALE,
                          hardware: HardwareLoader | None = None) -> DemoPool:
    """Serve the demo catalog and prepare the demo's pool under `data_dir/pool`.

    `hardware` ranks the pre-installed models (default: this box, probed and cached)."""
    demo = await asyncio.to_thread(build_demo_catalog, load_catalog(), scale=scale)
    server = CatalogServer(demo.files, demo.catalog_json())
    pool_dir = data_dir / "pool"
    pool_dir.mkdir(parents=True, exist_ok=True)
    await _listen(server, pool_dir / PORT_FILE)
    try:
        models_dir, config_path = pool_dir / "models", pool_dir / "llama-swap" / "config.yaml"
        if not config_path.exists():
            config_path.parent.mkdir(parents=True, exist_ok=True)
            config_path.write_text(LLAMA_SWAP_CONFIG, encoding="utf-8")
        budget_gb = DEMO_BUDGET_GB * DEMO_SCALE / scale
        settings = PoolSettings(models_dir=models_dir, llama_swap_config=config_path,
                                disk_budget_gb=budget_gb, hub_offline=True)
        source = demo.source(server.base_url)
        if not (data_dir / "pool.json").exists():
            loader = hardware or default_hardware(settings, hardware_cache_dir())
            await _preinstall(settings, data_dir, source, preinstall, loader)
        server.rate_bps = rate_bps
    except BaseException:
        await server.stop()
        raise
    return DemoPool(server, demo, source, pool_toml(models_dir, config_path, budget_gb))


async def _listen(server: CatalogServer, port_file: Path) -> None:
    """The port of the last run when it is free, so a download interrupted by quitting
    resumes from the same URL (the partial file is keyed by it)."""
    try:
        port = int(port_file.read_text(encoding="utf-8").strip())
        await server.start(port)
    except (OSError, ValueError):
        await server.start(0)
    port_file.write_text(f"{server.port}\n", encoding="utf-8")


async def _preinstall(settings: PoolSettings, data_dir: Path, source: CatalogSource,
                      model_ids: tuple[str, ...], hardware: HardwareLoader) -> None:
    """Install through the real pool manager, so the pool, the files and the config agree."""
    session = PoolSession(settings, data_dir, hardware=hardware, catalog=lambda: source)
    await session.start()
    try:
        for model_id in model_ids:
            await session.install(await session.plan_install(model_id))
            job = await session.wait_for_job()
            if job is not None and job.state is not JobState.DONE:
                raise RuntimeError(f"demo pool: pre-installing {model_id} failed: {job.message}")
    finally:
        await session.aclose()
