"""Bench results in the history file (`0002_bench.sql`): suites, runs, raw samples, baselines.

Opens the same SQLite file as the history store through `open_database`, which applies the
numbered migrations; every write is one transaction under the database's lock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from swapdeck.bench.compare import Verdict
from swapdeck.bench.runner import RunOutcome
from swapdeck.bench.sample import RequestSample
from swapdeck.bench.suite import Suite, parse_suite
from swapdeck.history.database import Database, open_database
from swapdeck.history.values import HistoryError

SAMPLE_COLUMNS = (
    "cell", "prompt_tokens_target", "gen_tokens_target", "concurrency", "idx", "warmup",
    "started_at", "status", "error", "ttfr_ms", "ttft_ms", "ttfo_ms", "e2e_ms", "tpot_ms",
    "itl_ms", "n_in", "n_out", "tg_client", "cache_n", "prompt_n", "prompt_ms", "predicted_n",
    "predicted_ms", "tg_norm", "pp_server", "finish_reason", "fingerprint", "client_cpu_ms",
    "timings")
INSERT_SAMPLE = (f"INSERT INTO bench_samples (run_id, {', '.join(SAMPLE_COLUMNS)}) "
                 f"VALUES (?, {', '.join('?' for _ in SAMPLE_COLUMNS)})")
RUN_COLUMNS = (
    "id", "suite_id", "suite_name", "host", "target_url", "via", "model", "engine_build",
    "engine_binary_sha256", "hardware_fp", "model_fp", "environment", "started_at",
    "finished_at", "status", "error", "verdict", "compared_to", "load_ms", "model_was_loaded",
    "prompt_sizing", "template_overhead", "polluted", "foreign_requests", "client_cpu_ms")


@dataclass(frozen=True, slots=True)
class StoredRun:
    id: int
    suite_id: int
    suite_name: str
    host: str
    target_url: str
    via: str
    model: str
    engine_build: str | None
    engine_binary_sha256: str | None
    hardware_fp: str | None
    model_fp: str | None
    environment: dict[str, Any]
    started_at: float
    finished_at: float | None
    status: str
    error: str | None
    verdict: str | None
    compared_to: int | None
    load_ms: float | None
    model_was_loaded: bool | None
    prompt_sizing: str | None
    template_overhead: float | None
    polluted: bool
    foreign_requests: tuple[str, ...]
    client_cpu_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RUN_COLUMNS}


def _strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _sample_row(run_id: int, s: RequestSample) -> tuple[Any, ...]:
    return (run_id, s.cell, s.prompt_tokens_target, s.gen_tokens_target, s.concurrency,
            s.index, int(s.warmup), s.started_at, s.status, s.error, s.ttfr_ms, s.ttft_ms,
            s.ttfo_ms, s.e2e_ms, s.tpot_ms, json.dumps(list(s.itl_ms)), s.n_in, s.n_out,
            s.tg_client, s.cache_n, s.prompt_n, s.prompt_ms, s.predicted_n, s.predicted_ms,
            s.tg_norm, s.pp_server, s.finish_reason, s.fingerprint, s.client_cpu_ms,
            json.dumps(s.timings) if s.timings is not None else None)


def _sample_from_row(row: sqlite3.Row) -> RequestSample:
    timings = json.loads(row["timings"]) if row["timings"] else None
    return RequestSample(
        cell=row["cell"], prompt_tokens_target=row["prompt_tokens_target"],
        gen_tokens_target=row["gen_tokens_target"], concurrency=row["concurrency"],
        index=row["idx"], warmup=bool(row["warmup"]), started_at=row["started_at"],
        status=row["status"], error=row["error"], ttfr_ms=row["ttfr_ms"],
        ttft_ms=row["ttft_ms"], ttfo_ms=row["ttfo_ms"], e2e_ms=row["e2e_ms"],
        tpot_ms=row["tpot_ms"], itl_ms=tuple(json.loads(row["itl_ms"])), n_in=row["n_in"],
        n_out=row["n_out"], tg_client=row["tg_client"], cache_n=row["cache_n"],
        prompt_n=row["prompt_n"], prompt_ms=row["prompt_ms"], predicted_n=row["predicted_n"],
        predicted_ms=row["predicted_ms"], tg_norm=row["tg_norm"], pp_server=row["pp_server"],
        finish_reason=row["finish_reason"], fingerprint=row["fingerprint"],
        client_cpu_ms=row["client_cpu_ms"], timings=timings)


def _run_from_row(row: sqlite3.Row) -> StoredRun:
    loaded = row["model_was_loaded"]
    return StoredRun(
        id=row["id"], suite_id=row["suite_id"], suite_name=row["suite_name"], host=row["host"],
        target_url=row["target_url"], via=row["via"], model=row["model"],
        engine_build=row["engine_build"], engine_binary_sha256=row["engine_binary_sha256"],
        hardware_fp=row["hardware_fp"], model_fp=row["model_fp"],
        environment=json.loads(row["environment"]), started_at=row["started_at"],
        finished_at=row["finished_at"], status=row["status"], error=row["error"],
        verdict=row["verdict"], compared_to=row["compared_to"], load_ms=row["load_ms"],
        model_was_loaded=None if loaded is None else bool(loaded),
        prompt_sizing=row["prompt_sizing"], template_overhead=row["template_overhead"],
        polluted=bool(row["polluted"]),
        foreign_requests=tuple(json.loads(row["foreign_requests"])),
        client_cpu_ms=row["client_cpu_ms"])


class BenchStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.conn.row_factory = sqlite3.Row

    @classmethod
    async def open(cls, path: Path) -> BenchStore:
        return cls(await open_database(path, read_only=False))

    async def close(self) -> None:
        if not self._db.closed:
            await self._db.close()

    async def __aenter__(self) -> BenchStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def path(self) -> Path:
        return self._db.path

    # ------------------------------------------------------------------ writing

    async def save_suite(self, suite: Suite, *, source: Path | None, now: float) -> int:
        """The suite's id, storing its definition the first time it is seen."""
        with self._db.errors("saving a bench suite"):
            async with self._db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO bench_suites (name, digest, definition, source_path, created_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
                    (suite.name, suite.digest(), suite.canonical_json(),
                     str(source) if source else None, now))
                rows = list(await conn.execute_fetchall(
                    "SELECT id FROM bench_suites WHERE digest = ?", (suite.digest(),)))
        return int(rows[0][0])

    async def save_run(self, outcome: RunOutcome, *, suite_id: int, status: str,
                       error: str | None = None, verdict: Verdict | None = None,
                       compared_to: int | None = None,
                       engine_binary_sha256: str | None = None) -> int:
        """Store a finished (or cancelled/failed) run with all its samples in one transaction."""
        target, engine = outcome.target, outcome.engine
        environment = engine.as_dict() if engine is not None else {}
        build = engine.build if engine is not None else None
        if build is None:
            build = next((s.fingerprint for s in outcome.samples if s.fingerprint), None)
        values = (
            suite_id, outcome.suite.name, target.host, _strip_credentials(target.url),
            target.via.value, target.model, build, engine_binary_sha256,
            engine.hardware_fingerprint if engine else None,
            engine.model_fingerprint if engine else None, json.dumps(environment),
            outcome.started_at, outcome.finished_at, status, error,
            verdict.value if verdict else None, compared_to, outcome.load_ms,
            None if outcome.model_was_loaded is None else int(outcome.model_was_loaded),
            outcome.prompt_sizing or None, outcome.template_overhead, int(outcome.polluted),
            json.dumps(sorted(outcome.foreign_ids)), outcome.client_cpu_ms)
        columns = RUN_COLUMNS[1:]
        with self._db.errors("saving a bench run"):
            async with self._db.transaction() as conn:
                cursor = await conn.execute(
                    f"INSERT INTO bench_runs ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})", values)
                run_id = cursor.lastrowid
                if run_id is None:
                    raise HistoryError(f"{self._db.label}: bench run insert returned no id")
                samples = [*outcome.probes, *outcome.samples]
                await conn.executemany(INSERT_SAMPLE, [_sample_row(run_id, s) for s in samples])
        return int(run_id)

    async def set_baseline(self, run_id: int, *, now: float) -> StoredRun:
        run = await self.run(run_id)
        if run.status != "done":
            raise HistoryError(f"bench run {run_id} is {run.status}, only a finished run can be "
                               "a baseline")
        with self._db.errors("setting a bench baseline"):
            async with self._db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO bench_baselines (host, model, suite_name, run_id, set_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (host, model, suite_name) "
                    "DO UPDATE SET run_id = excluded.run_id, set_at = excluded.set_at",
                    (run.host, run.model, run.suite_name, run_id, now))
        return run

    # ------------------------------------------------------------------ reading

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._db.errors("reading bench results"):
            return list(await self._db.conn.execute_fetchall(sql, tuple(args)))

    async def run(self, run_id: int) -> StoredRun:
        rows = await self._fetch(f"SELECT {', '.join(RUN_COLUMNS)} FROM bench_runs WHERE id = ?",
                                 (run_id,))
        if not rows:
            raise HistoryError(f"no bench run {run_id} in {self._db.path}")
        return _run_from_row(rows[0])

    async def runs(self, *, host: str | None = None, model: str | None = None,
                   suite_name: str | None = None, limit: int = 50) -> list[StoredRun]:
        """Newest first."""
        where, args = [], []
        for column, value in (("host", host), ("model", model), ("suite_name", suite_name)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = await self._fetch(f"SELECT {', '.join(RUN_COLUMNS)} FROM bench_runs {clause}"
                                 "ORDER BY started_at DESC, id DESC LIMIT ?", [*args, limit])
        return [_run_from_row(row) for row in rows]

    async def run_windows(self, host: str, since: float) -> list[tuple[float, float | None]]:
        """(start, finish) of this host's runs still going at or after `since`: requests
        that finished inside one were swapdeck's own, not traffic from others."""
        return [(r.started_at, r.finished_at) for r in await self.runs(host=host, limit=20)
                if r.finished_at is None or r.finished_at >= since]

    async def samples(self, run_id: int, *, include_probes: bool = False) -> list[RequestSample]:
        probe = "" if include_probes else "AND cell != 'probe' "
        rows = await self._fetch(f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM bench_samples "
                                 f"WHERE run_id = ? {probe}ORDER BY id", (run_id,))
        return [_sample_from_row(row) for row in rows]

    async def suite(self, suite_id: int) -> Suite:
        rows = await self._fetch("SELECT definition, source_path FROM bench_suites WHERE id = ?",
                                 (suite_id,))
        if not rows:
            raise HistoryError(f"no bench suite {suite_id} in {self._db.path}")
        return parse_suite(json.loads(rows[0]["definition"]), rows[0]["source_path"] or "<stored>")

    async def baseline(self, host: str, model: str, suite_name: str) -> int | None:
        rows = await self._fetch("SELECT run_id FROM bench_baselines WHERE host = ? AND "
                                 "model = ? AND suite_name = ?", (host, model, suite_name))
        return int(rows[0][0]) if rows else None

    async def baselines(self) -> dict[int, tuple[str, str, str]]:
        rows = await self._fetch("SELECT run_id, host, model, suite_name FROM bench_baselines")
        return {int(r[0]): (r[1], r[2], r[3]) for r in rows}

    async def set_verdict(self, run_id: int, verdict: Verdict, compared_to: int) -> None:
        with self._db.errors("recording a bench verdict"):
            async with self._db.transaction() as conn:
                await conn.execute("UPDATE bench_runs SET verdict = ?, compared_to = ? "
                                   "WHERE id = ?", (verdict.value, compared_to, run_id))
