"""Running a suite on one model of one host: probes, prompt sizing, then the grid.

Order of work (bench-facts §0, §9):

1. Is the model loaded? (llama-swap `/running`, which does not load anything.)
2. Two small probe requests: the first to a cold model includes the load; `load_ms` =
   its TTFT minus the second (warm) one's, kept apart from every TTFT statistic.
3. Prompt sizing: the server's `/tokenize` (or `/upstream/<model>/tokenize`) when it answers,
   else a third probe calibrates tokens per word from `usage.prompt_tokens`.
4. Engine, model and hardware fingerprints (asked only now: an upstream GET loads a model).
5. Each cell: prompts prepared first, `warmup` discarded rounds, then `repetitions` rounds,
   with at most `concurrency` requests in flight (an asyncio semaphore, closed loop).

While it runs, an optional callable reports foreign in-flight request ids on the host; any
seen make the run "polluted".
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import zlib
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field

import httpx

from swapdeck.bench.fingerprint import EngineInfo, describe_engine, running_entry
from swapdeck.bench.prompts import (
    Calibration,
    SizedPrompt,
    filler,
    make_nonce,
    sized_calibrated,
    sized_exact,
)
from swapdeck.bench.request import ChatSettings, chat_body, send_chat
from swapdeck.bench.sample import RequestContext, RequestSample
from swapdeck.bench.suite import CellSpec, Suite
from swapdeck.bench.target import BenchTarget
from swapdeck.bench.traffic import bench_user_agent, new_marker

PROBE_WORDS = 24
CALIBRATION_WORDS = 96
PROBE_TOKENS = 2
POLL_INTERVAL_S = 0.1

ForeignInflight = Callable[[], Set[str]]
HeadersFor = Callable[[RequestContext], Mapping[str, str]]
"""Extra headers per request: routing or tracing headers, or a simulator's fault knobs."""


class BenchError(Exception):
    """A run that cannot go on: the message is one line a person can act on."""


@dataclass(frozen=True, slots=True)
class Progress:
    phase: str
    """`probe`, `warmup`, `measure` or `done`."""
    cell: str | None
    cell_index: int
    cells: int
    done: int
    total: int
    last: RequestSample | None = None


ProgressFn = Callable[[Progress], None]


@dataclass(slots=True)
class RunOutcome:
    target: BenchTarget
    suite: Suite
    started_at: float
    finished_at: float | None = None
    samples: list[RequestSample] = field(default_factory=list)
    probes: list[RequestSample] = field(default_factory=list)
    load_ms: float | None = None
    model_was_loaded: bool | None = None
    prompt_sizing: str = ""
    template_overhead: float | None = None
    engine: EngineInfo | None = None
    foreign_ids: set[str] = field(default_factory=set)
    marker: str = ""

    @property
    def polluted(self) -> bool:
        return bool(self.foreign_ids)

    @property
    def client_cpu_ms(self) -> float:
        return sum(s.client_cpu_ms for s in self.samples)

    @property
    def client_cpu_per_token_ms(self) -> float | None:
        tokens = sum(s.n_out or 0 for s in self.samples if s.ok)
        return self.client_cpu_ms / tokens if tokens else None


class BenchRunner:
    def __init__(self, suite: Suite, target: BenchTarget, *,
                 foreign_inflight: ForeignInflight | None = None,
                 on_progress: ProgressFn | None = None,
                 clock: Callable[[], float] = time.time, seed: int | None = None,
                 marker: str | None = None, extra_headers: HeadersFor | None = None) -> None:
        self.suite = suite
        self.target = target
        self._foreign = foreign_inflight
        self._on_progress = on_progress
        self._clock = clock
        self._rng = random.Random(seed)
        self.marker = marker or new_marker()
        self._headers = {"User-Agent": bench_user_agent(self.marker)}
        self._extra_headers = extra_headers
        self._total = suite.requests_per_model()
        self._done = 0
        self._calibration: Calibration | None = None
        self.outcome = RunOutcome(target, suite, started_at=clock(), marker=self.marker)

    async def run(self) -> RunOutcome:
        """Measure every cell; on cancellation `self.outcome` keeps what was measured."""
        cells = self.suite.cells()
        widest = max(c.concurrency for c in cells)
        poller = asyncio.create_task(self._poll_foreign()) if self._foreign else None
        try:
            async with self.target.client(max_connections=widest + 2) as client:
                await self._probe(client)
                for index, cell in enumerate(cells):
                    await self._run_cell(client, cell, index, len(cells))
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            self._note_foreign()
            self.outcome.finished_at = self._clock()
        self._report("done", None, len(cells), len(cells), None)
        return self.outcome

    # ------------------------------------------------------------------ probes and sizing

    def _settings(self, max_tokens: int) -> ChatSettings:
        return ChatSettings(self.target.model, max_tokens, self.suite.run.temperature,
                            self.suite.run.seed, cache_prompt=not self.suite.run.cache_bust)

    async def _send(self, client: httpx.AsyncClient, prompt: str, ctx: RequestContext,
                    max_tokens: int) -> RequestSample:
        self._note_foreign()
        headers = self._headers
        if self._extra_headers is not None:
            headers = {**self._extra_headers(ctx), **headers}
        sample = await send_chat(client, self.target.chat_path,
                                 chat_body(self._settings(max_tokens), prompt), ctx,
                                 headers=headers, timeout_s=self.suite.run.timeout_s)
        self._note_foreign()
        return sample

    async def _probe_once(self, client: httpx.AsyncClient, words: int,
                          index: int) -> tuple[RequestSample, str]:
        text = make_nonce(self._rng) + filler(words, self.suite.run.seed)
        ctx = RequestContext("probe", 0, PROBE_TOKENS, 1, index, True, self._clock())
        sample = await self._send(client, text, ctx, PROBE_TOKENS)
        self.outcome.probes.append(sample)
        if not sample.ok:
            raise BenchError(f"{self.target.host}: probe request to model "
                             f"{self.target.model!r} failed: {sample.error or sample.status}")
        return sample, text

    async def _probe(self, client: httpx.AsyncClient) -> None:
        outcome = self.outcome
        self._report("probe", None, 0, len(self.suite.cells()), None)
        if self.target.via.value == "llama-swap":
            outcome.model_was_loaded = (await running_entry(client, self.target)) is not None
        else:
            outcome.model_was_loaded = True  # a bare llama-server has its model loaded
        cold, _ = await self._probe_once(client, PROBE_WORDS, 0)
        warm, warm_text = await self._probe_once(client, PROBE_WORDS, 1)
        if not outcome.model_was_loaded and cold.ttft_ms is not None and warm.ttft_ms is not None:
            outcome.load_ms = max(0.0, cold.ttft_ms - warm.ttft_ms)
        counted = await self._count_tokens(client, warm_text)
        if counted is not None and warm.n_in is not None:
            outcome.prompt_sizing = "tokenize"
            outcome.template_overhead = float(warm.n_in - counted)
        else:
            outcome.prompt_sizing = "calibrated"
            self._calibration = await self._calibrate(client, warm)
            outcome.template_overhead = self._calibration.overhead
        outcome.engine = await describe_engine(client, self.target)

    async def _calibrate(self, client: httpx.AsyncClient, small: RequestSample) -> Calibration:
        large, _ = await self._probe_once(client, CALIBRATION_WORDS, 2)
        if small.n_in is None or large.n_in is None:
            raise BenchError(f"{self.target.host}: the server reports no prompt token counts "
                             "(usage.prompt_tokens) and has no /tokenize: cannot size prompts")
        try:
            return Calibration.from_probes(PROBE_WORDS, small.n_in, CALIBRATION_WORDS,
                                           large.n_in)
        except ValueError as exc:
            raise BenchError(f"{self.target.host}: {exc}") from None

    async def _count_tokens(self, client: httpx.AsyncClient, text: str) -> int | None:
        """The server's own token count for `text` (no special tokens), None if it cannot."""
        try:
            response = await client.post(self.target.engine_path("tokenize"),
                                         json={"content": text, "add_special": False},
                                         headers=self._headers)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            tokens = response.json().get("tokens")
        except (ValueError, AttributeError):
            return None
        return len(tokens) if isinstance(tokens, list) else None

    async def _prompt(self, client: httpx.AsyncClient, cell: CellSpec) -> SizedPrompt:
        bust = self.suite.run.cache_bust
        nonce = make_nonce(self._rng) if bust else ""
        seed = zlib.crc32(cell.key.encode()) ^ self.suite.run.seed
        if self.outcome.prompt_sizing == "tokenize":
            overhead = int(self.outcome.template_overhead or 0)

            async def count(text: str) -> int:
                counted = await self._count_tokens(client, text)
                if counted is None:
                    raise BenchError(f"{self.target.host}: /tokenize stopped answering")
                return counted

            return await sized_exact(count, nonce=nonce, seed=seed,
                                     content_tokens=max(1, cell.prompt_tokens - overhead),
                                     template_overhead=overhead)
        if self._calibration is None:
            raise BenchError("internal: prompts requested before sizing was calibrated")
        return sized_calibrated(self._calibration, nonce=nonce, prompt_tokens=cell.prompt_tokens,
                                seed=seed)

    # ------------------------------------------------------------------ cells

    async def _run_cell(self, client: httpx.AsyncClient, cell: CellSpec, index: int,
                        cells: int) -> None:
        run = self.suite.run
        warmups = run.warmup * cell.concurrency
        count = warmups + run.repetitions * cell.concurrency
        if run.cache_bust:
            prompts = [await self._prompt(client, cell) for _ in range(count)]
        else:
            prompts = [await self._prompt(client, cell)] * count
        gate = asyncio.Semaphore(cell.concurrency)

        async def one(position: int) -> None:
            async with gate:
                warm = position < warmups
                ctx = RequestContext(cell.key, cell.prompt_tokens, cell.gen_tokens,
                                     cell.concurrency, position, warm, self._clock())
                sample = await self._send(client, prompts[position].text, ctx, cell.gen_tokens)
                self.outcome.samples.append(sample)
                self._done += 1
                self._report("warmup" if warm else "measure", cell.key, index, cells, sample)

        # Warmups finish before anything is measured: their cost must not overlap the cell.
        await asyncio.gather(*(one(i) for i in range(warmups)))
        await asyncio.gather(*(one(i) for i in range(warmups, count)))

    # ------------------------------------------------------------------ bookkeeping

    def _report(self, phase: str, cell: str | None, index: int, cells: int,
                last: RequestSample | None) -> None:
        if self._on_progress is not None:
            self._on_progress(Progress(phase, cell, index, cells, self._done, self._total, last))

    def _note_foreign(self) -> None:
        if self._foreign is not None:
            self.outcome.foreign_ids.update(self._foreign())

    async def _poll_foreign(self) -> None:
        while True:
            self._note_foreign()
            await asyncio.sleep(POLL_INTERVAL_S)
