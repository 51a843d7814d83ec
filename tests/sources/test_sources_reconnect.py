"""Backoff with jitter and the circuit breaker (§2.3: streams end, clients must reconnect)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swapdeck.events import Liveness
from swapdeck.sources.reconnect import Breaker, ReconnectPolicy


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_base_plus_half(attempt: int, seed: int) -> None:
    policy = ReconnectPolicy(base_s=1.0, factor=2.0, cap_s=30.0, jitter=0.5)
    delay = policy.backoff(attempt, random.Random(seed))
    expected = min(30.0, 2.0 ** (attempt - 1))
    assert expected <= delay <= expected * 1.5


def test_backoff_grows_then_caps() -> None:
    class Fixed(random.Random):
        def random(self) -> float:
            return 0.0

    policy = ReconnectPolicy(base_s=0.5, cap_s=4.0)
    assert [policy.backoff(n, Fixed()) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_spreads_a_fleet() -> None:
    policy = ReconnectPolicy()
    rng = random.Random(7)
    delays = {round(policy.backoff(3, rng), 6) for _ in range(20)}
    assert len(delays) > 10


def test_breaker_opens_after_n_failures_and_resets_on_success() -> None:
    rng = random.Random(1)
    breaker = Breaker(ReconnectPolicy(open_after=3, probe_interval_s=20.0))
    first, second, third = (breaker.failed(rng) for _ in range(3))
    assert [p.liveness for p in (first, second, third)] == [
        Liveness.RECONNECTING, Liveness.RECONNECTING, Liveness.DOWN]
    assert [p.attempt for p in (first, second, third)] == [1, 2, 3]
    assert third.probe_health and 20.0 <= third.delay_s <= 30.0
    assert not second.probe_health
    breaker.succeeded()
    assert breaker.failed(rng).liveness is Liveness.RECONNECTING


def test_host_closing_the_stream_is_a_quiet_first_attempt() -> None:
    """§2.3: every config reload closes the stream; that is not an outage."""
    breaker = Breaker(ReconnectPolicy(open_after=3))
    plan = breaker.closed_by_host()
    assert (plan.liveness, plan.attempt, plan.delay_s) == (Liveness.RECONNECTING, 1, 0.0)
    assert breaker.failed(random.Random(0)).attempt == 2


def test_auth_failure_goes_down_at_the_slow_cadence_without_health_probe() -> None:
    """§7: 401 is not fixed by waiting for /health, which needs no key."""
    breaker = Breaker(ReconnectPolicy(open_after=5, probe_interval_s=10.0))
    plan = breaker.auth_failed(random.Random(0))
    assert plan.liveness is Liveness.DOWN
    assert not plan.probe_health
    assert 10.0 <= plan.delay_s <= 15.0


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(base_s=5, cap_s=1)
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=2)
