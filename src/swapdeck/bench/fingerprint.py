"""What a run ran on: engine build, model identity, hardware and the llama-swap `cmd`.

Runs compare only when these match, so they are stored with every run (bench-facts §7.2
"environment guardrails"): `/props.build_info`, `/v1/models` `meta` as the model fingerprint
(§2.5), llama-swap's `/api/hardware` (v247+, §1.7) or, for a loopback llama-server, this
machine, and the `cmd` from `/running` (§1.3). Anything a server does not answer stays None.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from typing import Any

import httpx

from swapdeck.bench.target import BenchTarget, Via

PROBE_TIMEOUT_S = 30.0


def fingerprint(value: Any) -> str:
    """sha256 of the canonical JSON of `value`."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EngineInfo:
    build: str | None
    model_path: str | None
    total_slots: int | None
    n_ctx: int | None
    model_meta: dict[str, Any] | None
    hardware: dict[str, Any] | None
    cmd: str | None

    @property
    def model_fingerprint(self) -> str | None:
        return fingerprint(self.model_meta) if self.model_meta else None

    @property
    def hardware_fingerprint(self) -> str | None:
        return fingerprint(self.hardware) if self.hardware else None

    def as_dict(self) -> dict[str, Any]:
        return {"build": self.build, "model_path": self.model_path,
                "total_slots": self.total_slots, "n_ctx": self.n_ctx,
                "model_meta": self.model_meta, "model_fingerprint": self.model_fingerprint,
                "hardware": self.hardware, "hardware_fingerprint": self.hardware_fingerprint,
                "cmd": self.cmd}


async def _get_json(client: httpx.AsyncClient, path: str) -> Any:
    try:
        response = await client.get(path, timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


async def running_entry(client: httpx.AsyncClient, target: BenchTarget) -> dict[str, Any] | None:
    """The model's `/running` row behind llama-swap (None: not running, or not llama-swap)."""
    if target.via is not Via.LLAMA_SWAP:
        return None
    body = await _get_json(client, "/running")
    rows = body.get("running") if isinstance(body, dict) else None
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("model") == target.model:
            return row
    return None


async def describe_engine(client: httpx.AsyncClient, target: BenchTarget) -> EngineInfo:
    props = await _get_json(client, target.engine_path("props"))
    props = props if isinstance(props, dict) else {}
    settings = props.get("default_generation_settings")
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    models = await _get_json(client, target.engine_path("v1/models"))
    meta = None
    if isinstance(models, dict) and isinstance(models.get("data"), list) and models["data"]:
        first = models["data"][0]
        meta = first.get("meta") if isinstance(first, dict) else None
    running = await running_entry(client, target)
    return EngineInfo(
        build=_str(props.get("build_info")), model_path=_str(props.get("model_path")),
        total_slots=_int(props.get("total_slots")), n_ctx=_int(n_ctx),
        model_meta=meta if isinstance(meta, dict) and meta else None,
        hardware=await _hardware(client, target),
        cmd=_str(running.get("cmd")) if running else None)


async def _hardware(client: httpx.AsyncClient, target: BenchTarget) -> dict[str, Any] | None:
    if target.via is Via.LLAMA_SWAP:
        body = await _get_json(client, "/api/hardware")
        if isinstance(body, dict):
            return {key: body[key] for key in ("architecture", "cpu", "memory", "accelerators")
                    if key in body}
    if target.is_loopback:
        return local_hardware()
    return None


def local_hardware() -> dict[str, Any]:
    """This machine, for a llama-server on loopback: CPU model, threads, memory, OS."""
    import psutil

    cpu_model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu_model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return {"architecture": platform.machine(), "cpu": cpu_model,
            "logical_cpus": os.cpu_count(), "memory_bytes": int(psutil.virtual_memory().total),
            "os": platform.system()}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
