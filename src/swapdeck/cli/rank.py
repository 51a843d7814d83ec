"""`swapdeck rank`: which catalog models this box runs, and how well, best first."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from swapdeck.config import find_config, load_config
from swapdeck.pool.catalog import CatalogError, load_catalog
from swapdeck.pool.estimate import GIB, SpeedBasis
from swapdeck.pool.evidence import Grade, Metric, Observation
from swapdeck.pool.hardware import (
    HardwareFileError,
    HardwareProfile,
    load_profile_file,
    profile_to_json,
)
from swapdeck.pool.hardware_probe import load_hardware_profile
from swapdeck.pool.rank import RankedModel, rank
from swapdeck.pool.settings import PoolSettings

JSON_SCHEMA_VERSION = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("rank", help="rank the catalog's models for this box")
    parser.add_argument("--hardware", type=Path, default=None, metavar="FILE",
                        help="use this hardware profile JSON (the cache format) instead of "
                             "probing; the config's [pool.hardware] override is not applied")
    parser.add_argument("--json", action="store_true", help="print JSON (schema_version 1)")
    parser.add_argument("--all", action="store_true",
                        help="include models that cannot run here (score 0)")
    parser.add_argument("--context", type=int, default=None, metavar="N",
                        help="context tokens to plan for (default: [pool] context_tokens, 8192)")
    parser.add_argument("--evidence", type=Path, default=None, metavar="FILE",
                        help="benchmark observations JSON (a list; see swapdeck.pool.evidence)")
    parser.set_defaults(func=run_rank)


def run_rank(args: argparse.Namespace) -> int:
    settings = pool_settings(args.config)
    now = time.time()
    if args.context is not None and args.context <= 0:
        return _fail(f"--context: expected a positive number of tokens, got {args.context}")
    context = args.context or settings.context_tokens
    try:
        if args.hardware is not None:
            hardware = load_profile_file(args.hardware)
        else:
            hardware = load_hardware_profile(cache_dir(), now=now, override=settings.hardware)
        catalog = load_catalog()
        observations = load_observations(args.evidence) if args.evidence else []
    except (HardwareFileError, CatalogError, EvidenceFileError) as exc:
        return _fail(str(exc))
    rows = rank(catalog.candidates(), hardware, observations, now=now, context_tokens=context,
                include_unrunnable=args.all)
    text = json.dumps(rank_json(rows, hardware, context), indent=2) if args.json \
        else render_table(rows, hardware, context)
    try:
        print(text)
    except BrokenPipeError:  # `swapdeck rank | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def pool_settings(config_arg: str | None) -> PoolSettings:
    """The config's `[pool]` table, validated with the rest; defaults with no config file."""
    path = find_config(Path(config_arg) if config_arg else None)
    return load_config(path).pool if path is not None else PoolSettings()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "swapdeck"


class EvidenceFileError(ValueError):
    pass


def load_observations(path: Path) -> list[Observation]:
    """A JSON list of {model_id, source, grade, metric, value, observed_at, …}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvidenceFileError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise EvidenceFileError(f"{path}: expected JSON ({exc})") from None
    if not isinstance(data, list):
        raise EvidenceFileError(f"{path}: expected a JSON list of observations")
    observations = []
    for index, raw in enumerate(data):
        try:
            observations.append(Observation(
                model_id=str(raw["model_id"]), source=str(raw["source"]),
                grade=Grade(raw["grade"]), metric=Metric(raw.get("metric", "quality")),
                value=float(raw["value"]), observed_at=float(raw["observed_at"]),
                hardware_fingerprint=raw.get("hardware_fingerprint"),
                run_id=raw.get("run_id"),
            ))
        except (KeyError, ValueError, TypeError) as exc:
            raise EvidenceFileError(f"{path}: [{index}]: {exc!s} (expected model_id, source, "
                                    "grade, metric, value, observed_at)") from None
    return observations


def rank_json(rows: list[RankedModel], hardware: HardwareProfile, context: int) -> dict[str, Any]:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "context_tokens": context,
        "hardware": profile_to_json(hardware),
        "warnings": list(hardware.all_warnings),
        "models": [row.to_dict() for row in rows],
    }


_BASIS_MARK = {SpeedBasis.ESTIMATED: "~", SpeedBasis.LOWER_BOUND: "≥",
               SpeedBasis.MEASURED: "✓", SpeedBasis.CANNOT_RUN: " "}


def render_table(rows: list[RankedModel], hardware: HardwareProfile, context: int) -> str:
    gpus = ", ".join(f"{g.name} {g.vram_bytes / GIB:.0f} GiB" for g in hardware.gpus) or "none"
    lines = [
        f"GPU: {gpus} · RAM {hardware.ram_bytes / GIB:.0f} GiB · CPU {hardware.cpu_name} "
        f"({hardware.cpu_cores} cores) · context {context} tokens",
        "",
    ]
    header = ("#", "model", "score", "fit", "tok/s", "memory", "quant")
    table = [header] + [
        (str(i), row.name, f"{row.score:.1f}", row.fit.verdict.value.replace("_", " "),
         f"{_BASIS_MARK[row.speed.basis]}{row.speed.tokens_per_s:.1f}",
         f"{row.memory.total_bytes / GIB:.1f} GiB", row.memory.quant.id)
        for i, row in enumerate(rows, start=1)
    ]
    widths = [max(len(r[c]) for r in table) for c in range(len(header))]
    right = {0, 2, 4, 5}
    for cells in table:
        lines.append("  ".join(cell.rjust(w) if c in right else cell.ljust(w)
                               for c, (cell, w) in enumerate(zip(cells, widths, strict=True))
                               ).rstrip())
    if not rows:
        lines.append("(no catalog model can run on this box; --all shows why)")
    lines += ["", "tok/s: ~ estimated from memory bandwidth, ≥ lower bound, ✓ measured here"]
    lines += [f"warning: {warning}" for warning in hardware.all_warnings]
    return "\n".join(lines)


def _fail(message: str) -> int:
    print(f"swapdeck rank: {message}", file=sys.stderr)
    return 2
