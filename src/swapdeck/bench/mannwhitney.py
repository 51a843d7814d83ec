"""The two-sided Mann–Whitney U test, written out so a comparison needs no scipy import.

Same choices as `scipy.stats.mannwhitneyu(x, y, alternative="two-sided")` with its default
`method="auto"`: the exact null distribution when a sample has at most 8 values and there are
no ties, otherwise the normal approximation with the tie correction and a continuity
correction of 0.5. The tests check it against scipy where scipy is installed and against
closed-form values everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

EXACT_MAX = 8


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        average = (start + end) / 2 + 1
        for k in range(start, end + 1):
            ranks[order[k]] = average
        ties.append(end - start + 1)
        start = end + 1
    return ranks, ties


@lru_cache(maxsize=256)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1+n2, n1) orderings give each U = 0 … n1·n2 (no ties)."""
    # counts[m][k] over growing n2: the classic recurrence f(n1, n2, u) =
    # f(n1 − 1, n2, u − n2) + f(n1, n2 − 1, u), built row by row.
    table: dict[tuple[int, int], tuple[int, ...]] = {(0, j): (1,) for j in range(n2 + 1)}
    for i in range(1, n1 + 1):
        table[(i, 0)] = (1,)
        for j in range(1, n2 + 1):
            size = i * j + 1
            counts = [0] * size
            left = table[(i - 1, j)]
            for u, c in enumerate(left):
                counts[u + j] += c
            for u, c in enumerate(table[(i, j - 1)]):
                counts[u] += c
            table[(i, j)] = tuple(counts)
    return table[(n1, n2)]


def mann_whitney_two_sided(x: Sequence[float], y: Sequence[float]) -> float:
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return 1.0
    ranks, ties = _ranks([*x, *y])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    has_ties = any(t > 1 for t in ties)
    if min(n1, n2) <= EXACT_MAX and not has_ties:
        counts = _u_counts(n1, n2)
        total = sum(counts)
        u = round(max(u1, n1 * n2 - u1))  # the upper tail, doubled
        upper = sum(counts[u:]) / total
        return min(1.0, 2.0 * upper)
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sigma == 0:
        return 1.0
    mu = n1 * n2 / 2.0
    z = (abs(u1 - mu) - 0.5) / sigma
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))
