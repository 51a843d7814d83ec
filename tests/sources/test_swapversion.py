"""`/api/version` (§1.7): which era a host is, and so where its activity comes from (§10)."""

from __future__ import annotations

import pytest

from swapdeck.sources.jsonfields import FieldError
from swapdeck.sources.swapversion import SwapVersion, parse_swap_version


@pytest.mark.parametrize(("version", "number", "rest"), [
    ("v250", 250, True), ("v236", 236, True), ("v235", 235, False), ("173", 173, False),
    ("dev-abc", None, None),
])
def test_release_numbers_decide_rest_activity(version: str, number: int | None,
                                              rest: bool | None) -> None:
    found = parse_swap_version(200, {"version": version, "commit": "c0ffee"})
    assert (found.number, found.rest_activity, found.commit, found.build_date) == (
        number, rest, "c0ffee", "")


def test_before_v173_the_route_is_missing() -> None:
    assert parse_swap_version(404, None) == SwapVersion("<v173", "", "", 0)
    assert parse_swap_version(404, None).rest_activity is False


@pytest.mark.parametrize("body", [None, [], {"commit": "x"}, {"version": 250}])
def test_unreadable_answers(body: object) -> None:
    with pytest.raises(FieldError):
        parse_swap_version(200, body)
