"""Bench suites: a TOML file naming what to measure and how (issue 4).

A suite is a grid of prompt tokens × generation tokens × concurrency, run on one host for
one or more models, with repetitions, warmups, sampling settings, cache busting and the SLOs
that define goodput. A bad suite raises `ConfigError` naming the file, the key and what was
expected, exactly like a bad swapdeck config:

    suites/smoke.toml: grid.concurrency[1]: expected an integer between 1 and 256, got 0
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from swapdeck.config import config_error, read_toml

MAX_CONCURRENCY = 256
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SuiteTarget(_Strict):
    host: str | None = None
    """A host name from swapdeck's config; `--host`/`--url` on the command line win."""
    models: tuple[Annotated[str, Field(min_length=1)], ...] = ()


def _distinct_sorted(values: tuple[int, ...], what: str) -> tuple[int, ...]:
    if not values:
        raise ValueError(f"expected at least one {what}")
    if len(set(values)) != len(values):
        raise ValueError(f"expected distinct {what}s, got {list(values)}")
    return tuple(sorted(values))


class SuiteGrid(_Strict):
    prompt_tokens: tuple[Annotated[int, Field(ge=16, le=131072)], ...]
    gen_tokens: tuple[Annotated[int, Field(ge=2, le=16384)], ...]
    """At least 2: TPOT and decode t/s need a second token."""
    concurrency: tuple[Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)], ...] = (1,)

    @field_validator("prompt_tokens")
    @classmethod
    def _pp(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _distinct_sorted(value, "prompt length")

    @field_validator("gen_tokens")
    @classmethod
    def _tg(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _distinct_sorted(value, "generation length")

    @field_validator("concurrency")
    @classmethod
    def _conc(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _distinct_sorted(value, "concurrency level")


class SuiteRun(_Strict):
    repetitions: Annotated[int, Field(ge=1, le=1000)] = 10
    """Measured rounds per cell; each round sends `concurrency` requests."""
    warmup: Annotated[int, Field(ge=0, le=100)] = 1
    """Discarded rounds at the start of every cell."""
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0
    seed: int = 42
    cache_bust: bool = True
    """Nonce at the start of each prompt + `cache_prompt:false`, and `cache_n == 0` checked."""
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 300.0
    """Per request, load time included."""


class SuiteSlo(_Strict):
    """Goodput counts requests that meet every SLO given (vLLM `--goodput`, bench-facts §1.2)."""

    ttft_ms: Annotated[float, Field(gt=0)] | None = None
    tpot_ms: Annotated[float, Field(gt=0)] | None = None
    e2e_ms: Annotated[float, Field(gt=0)] | None = None


class Suite(_Strict):
    name: str
    description: str = ""
    target: SuiteTarget = SuiteTarget()
    grid: SuiteGrid
    run: SuiteRun = SuiteRun()
    slo: SuiteSlo = SuiteSlo()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("expected 1-64 letters, digits, '.', '_' or '-' (it names the "
                             f"suite in stored runs), got {value!r}")
        return value

    def cells(self) -> tuple[CellSpec, ...]:
        """The grid in run order: prompt length, then generation length, then concurrency."""
        return tuple(CellSpec(pp, tg, c) for pp, tg, c in itertools.product(
            self.grid.prompt_tokens, self.grid.gen_tokens, self.grid.concurrency))

    def requests_per_model(self) -> int:
        """Requests sent per model, warmups included (load probes excluded)."""
        rounds = self.run.repetitions + self.run.warmup
        return sum(rounds * cell.concurrency for cell in self.cells())

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """sha256 of the suite's canonical form: two runs compare only on the same suite."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


@dataclass(frozen=True, slots=True, order=True)
class CellSpec:
    prompt_tokens: int
    gen_tokens: int
    concurrency: int

    @property
    def key(self) -> str:
        return f"pp{self.prompt_tokens}/tg{self.gen_tokens}/c{self.concurrency}"


def load_suite(path: Path) -> Suite:
    return parse_suite(read_toml(path, "suite file"), path)


def parse_suite(data: Mapping[str, Any], path: Path | str = "<suite>") -> Suite:
    try:
        return Suite.model_validate(dict(data))
    except ValidationError as exc:
        raise config_error(exc, path, "sample-configs/suites/") from None
