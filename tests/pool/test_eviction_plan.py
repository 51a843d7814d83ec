"""`plan_eviction`: order (ranking-facts §5), coverage, minimality, protection, determinism."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.pool.eviction import plan_eviction
from swapdeck.pool.state import PoolEntry


def entry(model_id: str, size: int, score: float = 0.0, *, used: float | None = None,
          installed: float = 0.0) -> PoolEntry:
    return PoolEntry(id=model_id, installer="llama-swap", size_bytes=size, score=score,
                     installed_at=installed, last_used_at=used)


entries_strategy = st.lists(
    st.builds(
        entry,
        model_id=st.text("abcdefgh", min_size=1, max_size=6),
        size=st.integers(0, 10_000),
        score=st.sampled_from([0.0, 10.0, 25.5, 50.0]),
        used=st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
        installed=st.floats(0, 1e6, allow_nan=False),
    ),
    max_size=12,
    unique_by=lambda e: e.id,
)


def test_order_is_score_then_never_used_then_oldest_use_then_oldest_install() -> None:
    pool = [
        entry("good-old", 10, score=90, used=1.0),
        entry("bad-used-recently", 10, score=10, used=500.0),
        entry("bad-used-long-ago", 10, score=10, used=100.0),
        entry("bad-never-used-new", 10, score=10, installed=300.0),
        entry("bad-never-used-old", 10, score=10, installed=200.0),
    ]
    plan = plan_eviction(pool, 50)
    assert plan.victim_ids == ("bad-never-used-old", "bad-never-used-new",
                               "bad-used-long-ago", "bad-used-recently", "good-old")


def test_stops_as_soon_as_the_need_is_covered() -> None:
    pool = [entry("a", 5, score=1), entry("b", 5, score=2), entry("c", 5, score=3)]
    plan = plan_eviction(pool, 6)
    assert plan.victim_ids == ("a", "b") and plan.freed_bytes == 10 and plan.covers


def test_says_how_much_it_cannot_free() -> None:
    plan = plan_eviction([entry("a", 5), entry("b", 7)], 20, protect=["b"])
    assert plan.victim_ids == ("a",) and not plan.covers and plan.shortfall_bytes == 15


def test_nothing_needed_means_nothing_evicted() -> None:
    assert plan_eviction([entry("a", 5)], 0).victims == ()
    assert plan_eviction([entry("a", 5)], -3).covers


@settings(max_examples=200, deadline=None)
@given(pool=entries_strategy, need=st.integers(-10, 60_000), data=st.data())
def test_properties(pool: list[PoolEntry], need: int, data: st.DataObject) -> None:
    protect = data.draw(st.sets(st.sampled_from([e.id for e in pool] or ["none"])))
    plan = plan_eviction(pool, need, protect=protect)
    victims = plan.victims

    assert not {v.id for v in victims} & protect, "never evicts a protected model"
    assert plan.freed_bytes == sum(v.size_bytes for v in victims)
    if plan.covers:
        assert plan.freed_bytes >= need, "when it says it covers, it frees at least the need"
    else:
        evictable = [e for e in pool if e.id not in protect and e.size_bytes > 0]
        assert sorted(v.id for v in victims) == sorted(e.id for e in evictable)
        assert plan.shortfall_bytes == need - plan.freed_bytes > 0
    if victims:
        before_last = plan.freed_bytes - victims[-1].size_bytes
        assert before_last < need, "never evicts beyond the pick that covered the need"

    shuffled = pool[:]
    random.Random(need).shuffle(shuffled)
    assert plan_eviction(shuffled, need, protect=protect) == plan, "deterministic"
