"""When to try a host again: exponential backoff with jitter, and a circuit breaker.

Pure: the random source is passed in, nothing sleeps here. After `open_after` consecutive
failures the breaker opens: the host is `down` and is probed with the unauthenticated
`/health` at the slower `probe_interval_s` (half-open) until it answers; only then is a
full connect tried again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from swapdeck.events import Liveness


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.5
    """Up to this fraction of the delay is added at random, so a fleet does not retry in step."""
    open_after: int = 6
    probe_interval_s: float = 30.0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s or self.factor < 1:
            raise ValueError("expected 0 < base_s <= cap_s and factor >= 1")
        if not 0 <= self.jitter <= 1 or self.open_after < 1 or self.probe_interval_s <= 0:
            raise ValueError("expected 0 <= jitter <= 1, open_after >= 1, probe_interval_s > 0")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt `attempt` (1-based): min(cap, base*factor^(n-1)) + 0..jitter."""
        exponent = min(max(attempt, 1) - 1, 64)  # no float overflow on a very long outage
        delay = min(self.cap_s, self.base_s * self.factor**exponent)
        return delay + delay * self.jitter * rng.random()

    def probe_delay(self, rng: random.Random) -> float:
        return self.probe_interval_s + self.probe_interval_s * self.jitter * rng.random()


@dataclass(frozen=True, slots=True)
class RetryPlan:
    liveness: Liveness
    attempt: int
    delay_s: float
    probe_health: bool
    """True while the breaker is open: wait for `/health` before a full connect."""


@dataclass
class Breaker:
    policy: ReconnectPolicy
    failures: int = 0

    @property
    def is_open(self) -> bool:
        return self.failures >= self.policy.open_after

    def failed(self, rng: random.Random) -> RetryPlan:
        self.failures += 1
        if self.is_open:
            return RetryPlan(Liveness.DOWN, self.failures, self.policy.probe_delay(rng), True)
        return RetryPlan(Liveness.RECONNECTING, self.failures,
                         self.policy.backoff(self.failures, rng), False)

    def auth_failed(self, rng: random.Random) -> RetryPlan:
        """A 401 will not fix itself soon, but a person may fix the key: retry slowly.

        `/health` needs no key and would answer, so there is no half-open probe here.
        """
        self.failures = max(self.failures + 1, self.policy.open_after)
        return RetryPlan(Liveness.DOWN, self.failures, self.policy.probe_delay(rng), False)

    def closed_by_host(self) -> RetryPlan:
        """The host ended a working stream (config reload, §2.3): reconnect now, quietly.

        It counts as the first attempt, so if the host is really gone the next failure
        backs off as attempt 2.
        """
        self.failures = 1
        return RetryPlan(Liveness.RECONNECTING, 1, 0.0, False)

    def succeeded(self) -> None:
        self.failures = 0
