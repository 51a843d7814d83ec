"""Which installed models to delete to make room — a pure plan, nothing is touched here.

Order (ranking-facts §5, HE `planEviction`, with a deterministic last tie-break): lowest
score first; among equal scores a model never used goes before a used one; then the one
used longest ago; then the one installed longest ago; then the id in code-point order.
Picking stops as soon as the freed bytes cover the need, so nothing beyond the last pick
is deleted. When even every evictable model is not enough, the plan still lists them all
and says by how much it falls short — the caller refuses *before* deleting anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from swapdeck.pool.state import PoolEntry


@dataclass(frozen=True, slots=True)
class EvictionPlan:
    need_bytes: int
    victims: tuple[PoolEntry, ...]
    """In eviction order; when `covers` is False, every evictable entry."""
    freed_bytes: int
    shortfall_bytes: int
    """How much the plan cannot free (0 when it covers the need)."""

    @property
    def covers(self) -> bool:
        return self.shortfall_bytes == 0

    @property
    def victim_ids(self) -> tuple[str, ...]:
        return tuple(entry.id for entry in self.victims)


def eviction_order_key(entry: PoolEntry) -> tuple[float, int, float, float, str]:
    never_used = entry.last_used_at is None
    return (
        entry.score,
        0 if never_used else 1,
        entry.last_used_at if entry.last_used_at is not None else 0.0,
        entry.installed_at,
        entry.id,
    )


def plan_eviction(entries: Iterable[PoolEntry], need_bytes: int, *,
                  protect: Iterable[str] = ()) -> EvictionPlan:
    """Pick entries to free at least `need_bytes`, never one whose id is in `protect`."""
    if need_bytes <= 0:
        return EvictionPlan(need_bytes=need_bytes, victims=(), freed_bytes=0, shortfall_bytes=0)
    protected = set(protect)
    candidates = sorted((e for e in entries if e.id not in protected), key=eviction_order_key)
    victims: list[PoolEntry] = []
    freed = 0
    for entry in candidates:
        if freed >= need_bytes:
            break
        if entry.size_bytes == 0:
            continue  # deleting it frees nothing; keep it
        victims.append(entry)
        freed += entry.size_bytes
    return EvictionPlan(
        need_bytes=need_bytes,
        victims=tuple(victims),
        freed_bytes=freed,
        shortfall_bytes=max(0, need_bytes - freed),
    )
