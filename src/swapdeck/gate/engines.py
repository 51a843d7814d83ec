"""The engines of one gate run, started and stopped together, and what they answer.

`Engines` owns the llama-server processes and an HTTP client for each; it starts them with
the same fixed arguments, restarts them with more slots for the speed grid, and always
stops them (an `async with` block). `ask` sends one greedy correctness prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from swapdeck.bench.engine import LlamaServer
from swapdeck.gate import http
from swapdeck.gate.correctness import Answer, GoldenPrompt, greedy_body, parse_answer
from swapdeck.gate.launch import EngineSpec, StartFailure, engine_facts, start_engine, stop_engine
from swapdeck.gate.measure import CHAT_PATH, USER_AGENT, Endpoint

REQUEST_TIMEOUT_S = 120.0
KEEPALIVE_EXPIRY_S = 1.0
"""llama-server (cpp-httplib) closes a connection idle for 5 s; a client that reuses one near
that edge gets "server disconnected". Idle connections are dropped well before, here."""


class AnswerError(Exception):
    """A correctness request did not get an answer; one line."""


@dataclass(slots=True)
class RunningEngine:
    spec: EngineSpec
    server: LlamaServer
    client: httpx.AsyncClient
    props: dict[str, Any]
    meta: dict[str, Any] | None

    @property
    def build(self) -> str | None:
        value = self.props.get("build_info")
        return value if isinstance(value, str) and value else None

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.spec.role, self.client)


class Engines:
    def __init__(self, specs: Sequence[EngineSpec]) -> None:
        self.specs = tuple(specs)
        self.running: dict[str, RunningEngine] = {}
        self.parallel = 0

    async def start(self, parallel: int) -> StartFailure | None:
        """Every engine with `-np parallel` (in order); the first failure stops the rest."""
        await self.stop()
        self.parallel = parallel
        for spec in self.specs:
            started = await start_engine(spec, parallel)
            if isinstance(started, StartFailure):
                await self.stop()
                return started
            client = httpx.AsyncClient(
                base_url=started.url, timeout=REQUEST_TIMEOUT_S,
                headers={"User-Agent": USER_AGENT},
                limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S))
            props, meta = await engine_facts(client)
            self.running[spec.role] = RunningEngine(spec, started, client, props, meta)
        return None

    async def stop(self) -> None:
        running, self.running = self.running, {}
        for engine in running.values():
            await engine.client.aclose()
            await stop_engine(engine.server)

    def __getitem__(self, role: str) -> RunningEngine:
        return self.running[role]

    def get(self, role: str) -> RunningEngine | None:
        return self.running.get(role)

    async def __aenter__(self) -> Engines:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()


async def ask(engine: RunningEngine, prompt: GoldenPrompt) -> Answer:
    """One greedy answer; `token_ids` is None when the build sends no `logprobs`."""
    try:
        response = await http.post(engine.client, CHAT_PATH, greedy_body(prompt))
    except httpx.HTTPError as exc:
        raise AnswerError(f"{engine.spec.role}: prompt {prompt.id!r}: "
                          f"{exc or type(exc).__name__}") from None
    if response.status_code != 200:
        raise AnswerError(f"{engine.spec.role}: prompt {prompt.id!r}: HTTP "
                          f"{response.status_code}: {response.text[:200]}")
    try:
        return parse_answer(response.json())
    except ValueError as exc:
        raise AnswerError(f"{engine.spec.role}: prompt {prompt.id!r}: {exc}") from None


async def tokenized(engine: RunningEngine, answer: Answer) -> Answer:
    """The answer with ids from the engine's `/tokenize` of its text (no end-of-generation
    token: compare such answers only with answers tokenized the same way)."""
    try:
        response = await http.post(engine.client, "/tokenize", {"content": answer.text,
                                                                 "add_special": False})
        ids = response.json().get("tokens") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        ids = None
    if not isinstance(ids, list):
        raise AnswerError(f"{engine.spec.role}: the build returns no token ids and has no "
                          "/tokenize")
    return Answer(answer.text, tuple(int(i) for i in ids), answer.finish_reason,
                  answer.fingerprint)


async def ask_all(engine: RunningEngine, prompts: Sequence[GoldenPrompt]) -> list[Answer]:
    return [await ask(engine, prompt) for prompt in prompts]
