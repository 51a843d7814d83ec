"""Measuring speed on llama-servers the gate started: interleaved rounds, P, C, P, C… per cell.

Reuses the bench's request path (`send_chat`: streamed, TTFT, `timings`, `tg_norm`) and its
prompt sizing (`sized_exact` against the server's `/tokenize`, a nonce at the start of every
prompt, `cache_prompt:false`, bench-facts §0.4). Each build is warmed with `warmup` discarded
rounds per cell before anything of that cell is measured (§7.2 "warm each build").
Interleaving (asv-style) spreads slow drifts of the machine over both builds instead of
letting them land on whichever ran second.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from swapdeck.bench.prompts import filler, make_nonce, sized_exact
from swapdeck.bench.request import ChatSettings, chat_body, send_chat
from swapdeck.bench.sample import RequestContext, RequestSample
from swapdeck.bench.suite import CellSpec
from swapdeck.gate import http
from swapdeck.gate.speed import split_rounds

CHAT_PATH = "/v1/chat/completions"
USER_AGENT = "swapdeck-gate"
PROBE_WORDS = 24
SEED = 42

Progress = Callable[[str], None]


class MeasureError(Exception):
    """The measurement cannot go on (a server stopped answering /tokenize, a prompt too
    short for the chat template); one line."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    label: str
    """`pinned` or `candidate`."""
    client: httpx.AsyncClient
    """Based at the server's URL."""


async def count_tokens(client: httpx.AsyncClient, text: str) -> int:
    why = "no token list in the answer"
    tokens = None
    try:
        response = await http.post(client, "/tokenize", {"content": text, "add_special": False})
        if response.status_code == 200:
            tokens = response.json().get("tokens")
        else:
            why = f"HTTP {response.status_code}"
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        why = str(exc) or type(exc).__name__
    if not isinstance(tokens, list):
        raise MeasureError(f"the engine did not answer /tokenize ({why}); cannot size prompts")
    return len(tokens)


class PromptMaker:
    """Prompts of an exact token count (chat template included) for one model."""

    def __init__(self, sizer: httpx.AsyncClient, *, seed: int = SEED) -> None:
        self._sizer = sizer
        self._seed = seed
        self._rng = random.Random(seed)
        self._overhead: int | None = None

    async def template_overhead(self) -> int:
        """Tokens the chat template adds around a message, measured once with a probe."""
        if self._overhead is None:
            text = make_nonce(self._rng) + filler(PROBE_WORDS, self._seed)
            ctx = RequestContext("probe", 0, 2, 1, 0, True, time.time())
            sample = await send_chat(self._sizer, CHAT_PATH, chat_body(_settings(2), text), ctx,
                                     headers={"User-Agent": USER_AGENT}, timeout_s=120.0)
            if not sample.ok or sample.n_in is None:
                raise MeasureError(f"probe request failed: {sample.error or sample.status}")
            self._overhead = sample.n_in - await count_tokens(self._sizer, text)
        return self._overhead

    async def prompts(self, cell: CellSpec, count: int) -> list[str]:
        overhead = await self.template_overhead()
        content = cell.prompt_tokens - overhead
        if content < 8:
            raise MeasureError(f"cell {cell.key}: {cell.prompt_tokens} prompt tokens leave no "
                               f"room after the chat template's own {overhead}; ask for more")
        seed = zlib.crc32(cell.key.encode()) ^ self._seed

        async def count_with_sizer(text: str) -> int:
            return await count_tokens(self._sizer, text)

        made = []
        for _ in range(count):
            sized = await sized_exact(count_with_sizer, nonce=make_nonce(self._rng),
                                      content_tokens=content, seed=seed,
                                      template_overhead=overhead)
            made.append(sized.text)
        return made


def _settings(max_tokens: int) -> ChatSettings:
    return ChatSettings(model="gate", max_tokens=max_tokens, temperature=0.0, seed=SEED,
                        cache_prompt=False)


async def _block(endpoint: Endpoint, cell: CellSpec, prompts: Sequence[str], *, warmup: bool,
                 first_index: int, timeout_s: float) -> list[RequestSample]:
    """`len(prompts)` requests, at most `cell.concurrency` in flight (closed loop)."""
    gate = asyncio.Semaphore(cell.concurrency)
    samples: list[RequestSample] = []

    async def one(position: int) -> None:
        async with gate:
            ctx = RequestContext(cell.key, cell.prompt_tokens, cell.gen_tokens,
                                 cell.concurrency, first_index + position, warmup, time.time())
            samples.append(await send_chat(
                endpoint.client, CHAT_PATH, chat_body(_settings(cell.gen_tokens),
                                                      prompts[position]),
                ctx, headers={"User-Agent": USER_AGENT}, timeout_s=timeout_s))

    await asyncio.gather(*(one(i) for i in range(len(prompts))))
    return samples


async def measure_cell(endpoints: Sequence[Endpoint], cell: CellSpec, maker: PromptMaker, *,
                       samples: int, warmup: int, rounds: int, timeout_s: float,
                       progress: Progress | None = None) -> dict[str, list[RequestSample]]:
    """Per endpoint label, `samples × concurrency` measured requests, in interleaved rounds.

    Warmups (`warmup × concurrency` per build) run first and are not returned.
    """
    per_round = split_rounds(samples, rounds)
    width = cell.concurrency
    measured: dict[str, list[RequestSample]] = {e.label: [] for e in endpoints}
    for endpoint in endpoints:
        if warmup:
            prompts = await maker.prompts(cell, warmup * width)
            await _block(endpoint, cell, prompts, warmup=True, first_index=0,
                         timeout_s=timeout_s)
    for number, size in enumerate(per_round, start=1):
        for endpoint in endpoints:
            if progress is not None:
                progress(f"speed {cell.key}: round {number}/{len(per_round)}, {endpoint.label}")
            prompts = await maker.prompts(cell, size * width)
            done = measured[endpoint.label]
            done += await _block(endpoint, cell, prompts, warmup=False,
                                 first_index=warmup * width + len(done), timeout_s=timeout_s)
    return measured
