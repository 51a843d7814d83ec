"""The metrics endpoint against scripted simulated hosts on loopback: exact counts, a restart
that keeps its counters, bounded labels, and the bearer token."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from swapdeck.collector.labels import INFERENCE_PATHS
from swapdeck.collector.service import CollectorService
from swapdeck.sim import SimHost

from .conftest import config_for, eventually, scrape

Plan = list[tuple[str, str, int, int]]
"""(model, path, status, cached tokens) per request, in order."""

PLAN: Plan = [
    ("alpha", "/v1/chat/completions", 200, 0),
    ("alpha", "/v1/chat/completions", 200, 50),
    ("alpha", "/v1/chat/completions", 200, 0),
    ("alpha", "/v1/completions", 200, 0),
    ("alpha", "/v1/chat/completions", 500, 0),
    ("alpha", "/v1/chat/completions", 503, 0),
    ("beta", "/v1/chat/completions", 200, 0),
    ("beta", "/v1/chat/completions", 200, 120),
    ("beta", "/v1/chat/completions", 429, 0),
]
PROMPT, OUTPUT = 200, 30


async def serve(host: SimHost, plan: Plan) -> None:
    for model, path, status, cached in plan:
        await host.serve_request(model, path=path, status=status, prompt_tokens=PROMPT,
                                 output_tokens=OUTPUT, cached_tokens=cached)


def served_total(url: str, hosts: dict[str, int]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        page = await scrape(url)
        return all(page.total("swapdeck_requests_total", host=h) == n for h, n in hosts.items())
    return check


async def test_counts_equal_what_the_simulator_served(
        sim_hosts: Callable[..., Awaitable[SimHost]], tmp_path: Path) -> None:
    """§3.1 (records, token fields 0 on failures), §1.1 (paths), §10 (v230 `metrics` arrays,
    v250 REST activity): every request the hosts served is counted once, by model, path
    and status, and both exposition formats parse with prometheus_client."""
    hosts = {"modern": await sim_hosts("v250", "modern", seed=1),
             "legacy": await sim_hosts("v230", "legacy", seed=2)}
    config = config_for(hosts, tmp_path, bearer_token="s3cret-scrape")
    async with CollectorService(config) as collector:
        await asyncio.gather(*(serve(h, PLAN) for h in hosts.values()))
        await eventually(_with_token(collector.url, len(PLAN), hosts), what="all requests counted")
        page = await scrape(collector.url, token="s3cret-scrape")
        text_page = await scrape(collector.url, token="s3cret-scrape", openmetrics=False)

        async with httpx.AsyncClient(verify=False) as client:
            assert (await client.get(collector.url)).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await client.get(collector.url, headers=wrong)).status_code == 401
            health = await client.get(collector.url.replace("/metrics", "/healthz"))
            assert health.status_code == 200

    expected = Counter((model, path, str(status)) for model, path, status, _ in PLAN)
    successes = [(m, c) for m, _, s, c in PLAN if s == 200]
    for name in hosts:
        counted = {(dict(labels)["model"], dict(labels)["path"], dict(labels)["status"]): value
                   for labels, value in page.series("swapdeck_requests_total", host=name).items()}
        assert counted == {key: float(n) for key, n in expected.items()}
        assert text_page.series("swapdeck_requests_total", host=name) == \
            page.series("swapdeck_requests_total", host=name)
        for model in ("alpha", "beta"):
            ok = [cached for m, cached in successes if m == model]
            # llama.cpp re-evaluates at least one prompt token; failures carry 0 tokens (§3.1)
            assert page.value("swapdeck_prompt_tokens_total", host=name, model=model) == \
                sum(PROMPT - cached for cached in ok)
            assert page.value("swapdeck_cached_tokens_total", host=name, model=model) == sum(ok)
            assert page.value("swapdeck_generated_tokens_total", host=name,
                              model=model) == OUTPUT * len(ok)
            all_requests = sum(1 for m, *_ in PLAN if m == model)
            assert page.value("swapdeck_request_duration_seconds_count", host=name,
                              model=model) == all_requests
            for rate in ("decode", "prefill"):
                assert page.value(f"swapdeck_{rate}_tokens_per_second_count", host=name,
                                  model=model) == len(ok)
                assert page.value(f"swapdeck_{rate}_tokens_per_second_bucket", host=name,
                                  model=model, le="+Inf") == len(ok)
            states = page.series("swapdeck_model_state", host=name, model=model)
            assert sum(states.values()) == 1.0  # exactly one state is set
        assert page.value("swapdeck_host_up", host=name) == 1.0
        assert page.value("swapdeck_host_liveness", host=name,
                          swapdeck_host_liveness="connected") == 1.0
        assert page.value("swapdeck_host_reconnects_total", host=name) == 0.0
        assert page.get("swapdeck_host_last_seen_age_seconds", host=name) is not None
        gpu = page.series("swapdeck_gpu_memory_total_bytes", host=name)
        assert gpu and all(v > 0 for v in gpu.values())


def _with_token(url: str, per_host: int,
                hosts: dict[str, SimHost]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        page = await scrape(url, token="s3cret-scrape")
        return all(page.total("swapdeck_requests_total", host=h) == per_host for h in hosts)
    return check


async def test_a_restart_does_not_reset_counters(
        sim_hosts: Callable[..., Awaitable[SimHost]], tmp_path: Path) -> None:
    """Counters are seeded from the history on start. The hosts still hold every record, so
    the reconnect reconcile re-reads them (§12: v230 resends its whole `metrics` ring, v250
    pages its activity store) — none may be counted twice."""
    hosts = {"modern": await sim_hosts("v250", "modern", seed=3),
             "legacy": await sim_hosts("v230", "legacy", seed=4)}
    config = config_for(hosts, tmp_path)
    async with CollectorService(config) as first:
        await asyncio.gather(*(serve(h, PLAN) for h in hosts.values()))
        await eventually(served_total(first.url, {h: len(PLAN) for h in hosts}),
                         what="first run counted everything")
        await hosts["modern"].drop_streams()  # one reconnect, which must survive too

        async def reconnected() -> bool:
            page = await scrape(first.url)
            return (page.value("swapdeck_host_reconnects_total", host="modern") == 1
                    and page.value("swapdeck_host_up", host="modern") == 1)

        await eventually(reconnected, what="modern reconnected")
        before = (await scrape(first.url)).counters()

    async with CollectorService(config) as second:
        seeded = await scrape(second.url)
        for key, value in before.items():
            if key[0] == "swapdeck_collector_events_total":
                continue  # the collector's own event count is per process
            assert abs(seeded.counters()[key] - value) <= 1e-6 * max(1.0, abs(value)), key
        # Two more requests per host after the reconnect: counted once, on top of the past.
        more: Plan = [("alpha", "/v1/chat/completions", 200, 0), ("beta", "/v1/responses", 404, 0)]
        await asyncio.gather(*(serve(h, more) for h in hosts.values()))
        await eventually(served_total(second.url, {h: len(PLAN) + 2 for h in hosts}),
                         what="new requests counted after the restart")
        after = await scrape(second.url)
    for name in hosts:
        assert after.value("swapdeck_requests_total", host=name, model="alpha",
                           path="/v1/chat/completions", status="200") == \
            before[("swapdeck_requests_total", frozenset({
                ("host", name), ("model", "alpha"), ("path", "/v1/chat/completions"),
                ("status", "200")}))] + 1
        assert after.value("swapdeck_requests_total", host=name, model="beta",
                           path="/v1/responses", status="404") == 1
        assert after.total("swapdeck_requests_total", host=name) == len(PLAN) + 2


async def test_labels_stay_bounded_with_1000_distinct_paths(
        sim_hosts: Callable[..., Awaitable[SimHost]], tmp_path: Path) -> None:
    """§1.1: only llama-swap's inference paths become label values; anything else is
    `other`, so 1,000 distinct request paths add no series."""
    host = await sim_hosts("v250", "busy", seed=5)
    config = config_for({"busy": host}, tmp_path)
    async with CollectorService(config) as collector:
        # Groups of 20: each activity fetch then reads one page (more at once, while rows
        # keep arriving, trips a paging bug in the connector's reconcile, reported).
        for start in range(0, 1000, 20):
            await asyncio.gather(*(
                host.serve_request("alpha", path=f"/v1/custom/{i}?id={i}", prompt_tokens=2,
                                   output_tokens=1) for i in range(start, start + 20)))
        await eventually(served_total(collector.url, {"busy": 1000}), timeout=40,
                         what="1,000 requests counted")
        page = await scrape(collector.url)
    series = page.series("swapdeck_requests_total", host="busy")
    assert [dict(labels) for labels in series] == [
        {"host": "busy", "model": "alpha", "path": "other", "status": "200"}]
    assert len(page.samples) < 400, "the whole page stays small"
    paths = {dict(labels)["path"] for (name, labels) in page.samples
             if name == "swapdeck_requests_total"}
    assert paths <= INFERENCE_PATHS | {"other", "unknown"}
