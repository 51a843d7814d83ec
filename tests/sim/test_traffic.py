"""The seeded traffic generator."""

from __future__ import annotations

from swapdeck.sim.traffic import RequestPlan, TrafficPlanner

from .conftest import FAST_MODELS, HostFactory, wait_for


def _draws(seed: int, count: int = 50) -> list[tuple[float, RequestPlan]]:
    planner = TrafficPlanner(FAST_MODELS, seed)
    return [(planner.next_gap_s(5.0), planner.next_plan()) for _ in range(count)]


def test_same_seed_same_sequence() -> None:
    assert _draws(7) == _draws(7)
    assert _draws(7) != _draws(8)


def test_plans_are_plausible() -> None:
    plans = [plan for _, plan in _draws(1, 400)]
    models = [p.model for p in plans]
    assert models.count("alpha") > models.count("beta") > 0  # Zipf: popular first
    for plan in plans:
        assert plan.prompt_tokens >= 12
        if plan.model == "emb":
            assert plan.path == "/v1/embeddings"
    assert {p.status for p in plans} >= {200, 500}


async def test_host_traffic_flows_and_stops(make_host: HostFactory) -> None:
    host = await make_host("v250")
    host.start_traffic(200.0, seed=3)
    await wait_for(lambda: host.served >= 20, timeout=10)
    host.stop_traffic()
    assert len(host.held_activity_ids()) > 0
