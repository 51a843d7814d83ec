"""Staying current by review: the release feed (GitHub releases API shape, recorded pages in
tests/gate/recorded/ written after llama.cpp's release notes: the build's commit title in
`<details>`, then the download links) served on loopback, and the skip rule."""

from __future__ import annotations

import json

import httpx
import pytest

from swapdeck.gate.releases import (
    FeedError,
    Release,
    areas_of,
    commit_title,
    engine_relevance,
    fetch_releases,
    newer_than,
    next_link,
    parse_releases,
)
from tests.gate.feed_server import RECORDED, release_feed


def release(title: str, number: int = 6500) -> Release:
    body = f"<details open>\n\n{title}\n\n</details>\n\n**Linux:**\n- [Ubuntu x64](https://x/y)\n"
    return Release(f"b{number}", number, f"b{number}", "", "", body, ())


@pytest.mark.parametrize(("title", "relevant"), [
    ("ggml-cpu : optimize q4_1 dot product with AVX2 (#16102)", True),
    ("server : fix cache_n reported after a context shift (#16096)", True),
    ("vulkan : fix mul_mat_id for small batches (#16085)", True),
    ("model : add Granite hybrid support (#16068)", True),
    ("ci : bump actions/checkout to v5 (#16099)", False),
    ("docs : fix a typo in server README (#16061)", False),
    ("webui : show token rate in the chat header (#16090)", False),
    ("scripts, ci : sync ggml (#16079)", False),
    ("llama-bench : add --n-depth shorthand (#16081)", False),
    ("server, webui : send the slot id (#1)", True),
    ("ggml/cuda: fix a race (#2)", True),
    ('Revert "model : add qwen3 rerank support" (#16072)', True),
    ("Fix the build", True),
])
def test_the_skip_rule(title: str, relevant: bool) -> None:
    verdict = engine_relevance(release(title))
    assert verdict.relevant is relevant, verdict.reason


def test_titles_and_areas() -> None:
    assert commit_title(release("ci : x (#1)").body) == "ci : x (#1)"
    assert commit_title("") is None
    assert areas_of("server, webui : x") == ("server", "webui")
    assert areas_of("ggml/cuda: x") == ("ggml", "cuda")
    assert areas_of("no area here") is None
    assert engine_relevance(Release("b1", 1, "b1", "", "", "", ())).relevant


def test_recorded_pages_parse_and_the_pin_cuts_them() -> None:
    page = parse_releases(json.loads((RECORDED / "releases-page1.json").read_text()))
    assert [r.tag for r in page][:3] == ["b6506", "b6505", "b6504"]
    assert page[0].assets[0].startswith("llama-b6506-bin-")
    newer = newer_than(page + page, 6503)
    assert [r.number for r in newer] == [6506, 6505, 6504]
    assert parse_releases([{"tag_name": "v1.0"}, {"tag_name": "b9", "draft": True}]) == []
    with pytest.raises(ValueError, match="list"):
        parse_releases({"message": "Not Found"})


def test_next_link() -> None:
    header = ('<https://api.github.com/x?page=2>; rel="next", '
              '<https://api.github.com/x?page=9>; rel="last"')
    assert next_link(header) == "https://api.github.com/x?page=2"
    assert next_link('<https://a/x?page=9>; rel="last"') is None and next_link(None) is None


async def test_fetch_follows_pages_until_the_pin() -> None:
    with release_feed() as (url, seen):
        async with httpx.AsyncClient() as client:
            recent = await fetch_releases(url, newer_than_build=6500, client=client)
            assert len(seen) == 1, "page 1 already reaches b6500: no second page"
            older = await fetch_releases(url, newer_than_build=6490, client=client)
            assert len(seen) == 3 and "page=2" in seen[-1]
            with pytest.raises(FeedError, match="HTTP 404"):
                await fetch_releases(url + "/nope", newer_than_build=1, client=client)
    assert [r.number for r in newer_than(recent, 6500)] == [6506, 6505, 6504, 6503, 6502,
                                                            6501]
    assert [r.number for r in newer_than(older, 6490)][-1] == 6491


async def test_an_unreachable_feed_is_one_line() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(FeedError, match=r"release feed http://127\.0\.0\.1:9/"):
            await fetch_releases("http://127.0.0.1:9/", newer_than_build=1, client=client)
