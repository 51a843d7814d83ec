"""Starting an engine for the gate: the bench's `LlamaServer` with fixed arguments, and a
diagnosis in words when it does not come up.

Fixed arguments for both builds: loopback, a free port, `-c` per slot × slots, `-np` (1 for
correctness, the grid's widest concurrency for speed), `-t` threads. The whole output of a
failed start goes to `diagnose_output`; a file the OS will not run never prints anything,
so its errno is diagnosed instead.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from swapdeck.bench.engine import EngineError, LlamaServer
from swapdeck.gate import http
from swapdeck.gate.diagnose import Diagnosis, diagnose_output, diagnose_spawn_error

CTX_PER_SLOT = 2048
OUTPUT_LINES = 400
START_ATTEMPTS = 3
"""A port can be taken between our probe and the engine's bind: try a fresh one."""
_EXITED = re.compile(r"exited with (-?\d+)")


@dataclass(frozen=True, slots=True)
class EngineSpec:
    role: str
    """`pinned` or `candidate`."""
    binary: Path
    model: Path
    threads: int
    health_timeout_s: float


@dataclass(frozen=True, slots=True)
class StartFailure:
    role: str
    binary: Path
    diagnosis: Diagnosis
    output_tail: str


def server_args(spec: EngineSpec, parallel: int) -> list[str]:
    """What the gate passes (after the binary), for the report; `--port` comes last."""
    server = LlamaServer(spec.binary, spec.model, threads=spec.threads,
                         ctx_size=CTX_PER_SLOT * parallel, parallel=parallel)
    return [*server.args, "--port", "<free port>"]


def _start_blocking(spec: EngineSpec, parallel: int) -> LlamaServer | StartFailure:
    last: StartFailure | None = None
    for _ in range(START_ATTEMPTS):
        server = LlamaServer(spec.binary, spec.model, threads=spec.threads,
                             ctx_size=CTX_PER_SLOT * parallel, parallel=parallel)
        try:
            server.start(timeout_s=spec.health_timeout_s, attempts=1)
            return server
        except OSError as exc:  # the OS refused to run it: no output to read
            _close(server)
            return StartFailure(spec.role, spec.binary,
                                diagnose_spawn_error(exc.errno, str(spec.binary)), "")
        except EngineError as exc:
            output = server.log_tail(OUTPUT_LINES)
            _close(server)
            code = _EXITED.search(str(exc))
            diagnosis = diagnose_output(output, int(code.group(1)) if code else None,
                                        timed_out="not healthy after" in str(exc),
                                        timeout_s=spec.health_timeout_s)
            last = StartFailure(spec.role, spec.binary, diagnosis,
                                "\n".join(output.splitlines()[-15:]))
            if diagnosis.kind != "port-in-use":
                return last
    assert last is not None
    return last


def _close(server: LlamaServer) -> None:
    """Stop the process and close its log file (the context-manager exit does both)."""
    server.__exit__(None, None, None)


async def start_engine(spec: EngineSpec, parallel: int) -> LlamaServer | StartFailure:
    return await asyncio.to_thread(_start_blocking, spec, parallel)


async def stop_engine(server: LlamaServer) -> None:
    await asyncio.to_thread(_close, server)


async def engine_facts(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """`/props` and the `/v1/models` meta (the engine's reading of the model, §2.5)."""
    props: dict[str, Any] = {}
    meta: dict[str, Any] | None = None
    try:
        response = await http.get(client, "/props")
        body = response.json() if response.status_code == 200 else None
        props = body if isinstance(body, dict) else {}
        response = await http.get(client, "/v1/models")
        models = response.json() if response.status_code == 200 else None
        data = models.get("data") if isinstance(models, dict) else None
        first = data[0] if isinstance(data, list) and data else None
        found = first.get("meta") if isinstance(first, dict) else None
        meta = found if isinstance(found, dict) else None
    except (httpx.HTTPError, ValueError):
        pass
    return props, meta
