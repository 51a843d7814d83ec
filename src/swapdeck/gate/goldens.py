"""The recorded baseline: the pinned build's golden answers (and speed samples) in a JSON
file a reviewer can read — prompts, expected text, token ids, and what produced them.

`swapdeck gate --record-baseline FILE` writes it once; `swapdeck gate --baseline FILE`
compares a candidate with it instead of running the pinned build. Speed samples in it are
only comparable on the same hardware and model (`hardware_fingerprint`, model sha256).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swapdeck.config import ConfigError
from swapdeck.gate.correctness import Answer, GoldenPrompt
from swapdeck.gate.speed import SideValues

BASELINE_KIND = "swapdeck-gate-baseline"
BASELINE_VERSION = 1


@dataclass(frozen=True, slots=True)
class ModelFingerprint:
    file: str
    sha256: str
    size_bytes: int
    meta: dict[str, Any] | None = None
    """`/v1/models` `data[0].meta` (n_params, n_vocab, n_ctx_train, …) as the engine read it."""

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "size_bytes": self.size_bytes,
                "meta": self.meta}


@dataclass(frozen=True, slots=True)
class Golden:
    prompt: GoldenPrompt
    answer: Answer


@dataclass(frozen=True, slots=True)
class Baseline:
    recorded_at: str
    engine: dict[str, Any]
    """The pinned build that answered: build, release, package, version, sha256, …"""
    model: ModelFingerprint
    hardware: dict[str, Any]
    hardware_fingerprint: str
    request: dict[str, Any]
    """The greedy request settings every golden was produced with."""
    goldens: tuple[Golden, ...]
    speed_suite: dict[str, Any] | None = None
    speed: dict[str, SideValues] = field(default_factory=dict)


def baseline_dict(baseline: Baseline) -> dict[str, Any]:
    return {
        "kind": BASELINE_KIND, "version": BASELINE_VERSION,
        "recorded_at": baseline.recorded_at, "engine": baseline.engine,
        "model": baseline.model.as_dict(), "hardware": baseline.hardware,
        "hardware_fingerprint": baseline.hardware_fingerprint, "request": baseline.request,
        "prompts": [{
            "id": g.prompt.id, "prompt": g.prompt.prompt, "max_tokens": g.prompt.max_tokens,
            "must_contain": list(g.prompt.must_contain), "expected_text": g.answer.text,
            "finish_reason": g.answer.finish_reason,
            "token_ids": None if g.answer.token_ids is None else list(g.answer.token_ids),
        } for g in baseline.goldens],
        "speed": {"suite": baseline.speed_suite,
                  "cells": {k: v.as_dict() for k, v in baseline.speed.items()}},
    }


def write_baseline(path: Path, baseline: Baseline) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(baseline_dict(baseline), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    temp.replace(path)


def read_baseline(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, "", f"expected a readable baseline file ({exc.strerror})") \
            from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(path, "", f"expected JSON ({exc})") from None
    return parse_baseline(data, path)


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: Path | str,
          where: str = "") -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(path, f"{where}{key}", f"expected {names}")
    return value


def parse_baseline(data: Any, path: Path | str = "<baseline>") -> Baseline:
    if not isinstance(data, Mapping) or data.get("kind") != BASELINE_KIND:
        raise ConfigError(path, "kind", f"expected a {BASELINE_KIND} file")
    if data.get("version") != BASELINE_VERSION:
        raise ConfigError(path, "version", f"expected {BASELINE_VERSION}")
    model = _need(data, "model", dict, path)
    goldens = [_golden(item, index, path)
               for index, item in enumerate(_need(data, "prompts", list, path))]
    if not goldens:
        raise ConfigError(path, "prompts", "expected at least one prompt")
    speed = _mapping(data.get("speed"))
    cells = _mapping(speed.get("cells"))
    try:
        parsed_cells = {str(k): SideValues.from_dict(v) for k, v in cells.items()
                        if isinstance(v, dict)}
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, "speed.cells", f"expected recorded samples ({exc})") from None
    return Baseline(
        recorded_at=str(data.get("recorded_at", "")),
        engine=_need(data, "engine", dict, path),
        model=ModelFingerprint(file=str(model.get("file", "")),
                               sha256=_need(model, "sha256", str, path, "model."),
                               size_bytes=_need(model, "size_bytes", int, path, "model."),
                               meta=model.get("meta") if isinstance(model.get("meta"), dict)
                               else None),
        hardware=_mapping(data.get("hardware")),
        hardware_fingerprint=str(data.get("hardware_fingerprint", "")),
        request=_mapping(data.get("request")),
        goldens=tuple(goldens),
        speed_suite=_mapping(speed.get("suite")) or None,
        speed=parsed_cells)


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _golden(item: Any, index: int, path: Path | str) -> Golden:
    where = f"prompts[{index}]."
    if not isinstance(item, Mapping):
        raise ConfigError(path, f"prompts[{index}]", "expected an object")
    ids = item.get("token_ids")
    if ids is not None and not (isinstance(ids, list) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise ConfigError(path, f"{where}token_ids", "expected a list of integers (or null: "
                          "the build sent none)")
    must = item.get("must_contain", [])
    if not isinstance(must, list) or not all(isinstance(s, str) for s in must):
        raise ConfigError(path, f"{where}must_contain", "expected a list of strings")
    max_tokens = _need(item, "max_tokens", int, path, where)
    if max_tokens < 1:
        raise ConfigError(path, f"{where}max_tokens", "expected a positive integer")
    finish = item.get("finish_reason")
    prompt = GoldenPrompt(id=_need(item, "id", str, path, where),
                          prompt=_need(item, "prompt", str, path, where),
                          max_tokens=max_tokens, must_contain=tuple(must))
    answer = Answer(text=_need(item, "expected_text", str, path, where),
                    token_ids=None if ids is None else tuple(ids),
                    finish_reason=finish if isinstance(finish, str) else None, fingerprint=None)
    return Golden(prompt, answer)


def goldens_from(prompts: Sequence[GoldenPrompt], answers: Sequence[Answer]) -> tuple[Golden, ...]:
    return tuple(Golden(p, a) for p, a in zip(prompts, answers, strict=True))
