"""Staying current, by review only: which llama.cpp releases are newer than the pin, and
which of them change anything for the engine.

The feed is GitHub's releases API shape (newest first, `per_page`, `Link: <…>; rel="next"`).
llama.cpp tags every build `b<N>`, and each release's notes carry the commit title(s) of that
build, which follow the project's `area : what changed (#PR)` convention, e.g.
`ggml : fix AVX512 build (#15000)` or `server, webui : …`.

The rule (`engine_relevance`): one build is one commit, and its notes open with the commit
title. A release is skipped only when that title names only areas that cannot change what
the engine computes or how fast — CI, docs, scripts, Python tooling, model conversion, the
web UI, and tools the fleet does not run (`llama-bench`, `quantize`, `tts`…). A title that
names no area, or any area not in that list (`ggml`, `server`, `vulkan`, `model`…), keeps
the release: the rule never skips what it cannot judge. Pure, except `fetch_releases`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

NON_ENGINE_AREAS = frozenset({
    "ci", "docs", "doc", "readme", "contributing", "scripts", "script", "gguf-py", "py",
    "python", "convert", "convert_hf_to_gguf", "model-conversion", "devops", "github", "gh",
    "nix", "flake", "webui", "ui", "editorconfig", "codeowners", "license", "release",
    "tests", "test", "llama-bench", "bench", "batched-bench", "quantize", "llama-quantize",
    "perplexity", "imatrix", "tts", "gguf-split", "examples", "example", "tools-docs",
    "requirements", "gitignore", "pyproject", "swift", "android", "ios-example", "zig",
})
"""Lower-case areas whose changes do not reach llama-server's inference path."""
_TAG = re.compile(r"b(\d+)")
_TITLE = re.compile(r"^\s*(?P<areas>[A-Za-z0-9_.\-/]+(?:\s*[,/+&]\s*"
                    r"[A-Za-z0-9_.\-/]+)*)\s*:\s+\S")
_ASSET_LINE = re.compile(r"^\s*(?:[-*]\s*)?\[.*\]\(https?://|^\s*\*\*.*\*\*\s*$")
MAX_PAGES = 10
PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class Release:
    tag: str
    number: int
    name: str
    published_at: str
    url: str
    body: str
    assets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Relevance:
    relevant: bool
    reason: str
    areas: tuple[str, ...]


def parse_releases(data: Any) -> list[Release]:
    """GitHub release objects → builds (`b<N>` tags only; drafts and other tags skipped)."""
    if not isinstance(data, list):
        raise ValueError(f"expected a JSON list of releases, got {type(data).__name__}")
    releases = []
    for item in data:
        if not isinstance(item, dict) or item.get("draft"):
            continue
        tag = item.get("tag_name")
        match = _TAG.fullmatch(tag) if isinstance(tag, str) else None
        if match is None:
            continue
        assets = item.get("assets")
        assets = assets if isinstance(assets, list) else []
        releases.append(Release(
            tag=str(tag), number=int(match.group(1)), name=str(item.get("name") or tag),
            published_at=str(item.get("published_at") or ""),
            url=str(item.get("html_url") or ""), body=str(item.get("body") or ""),
            assets=tuple(str(a.get("name")) for a in assets if isinstance(a, dict))))
    return releases


def commit_title(body: str) -> str | None:
    """The build's commit title: the first line of the notes that is not an HTML tag, a
    platform heading or a download link (what follows it is the commit's description)."""
    for line in body.splitlines():
        text = line.strip()
        if text and not text.startswith("<") and not _ASSET_LINE.search(text):
            return text
    return None


def areas_of(title: str) -> tuple[str, ...] | None:
    """`server, webui : fix (#1)` → ("server", "webui"); None when the title names no area."""
    match = _TITLE.match(title)
    if match is None:
        return None
    return tuple(a.lower() for a in re.split(r"\s*[,/+&]\s*", match.group("areas")) if a)


def engine_relevance(release: Release) -> Relevance:
    title = commit_title(release.body)
    if title is None:
        return Relevance(True, "no release notes to judge: kept", ())
    areas = areas_of(title)
    if areas is None:
        return Relevance(True, f"the change names no area ({title[:60]!r}): kept", ())
    engine = [a for a in areas if a not in NON_ENGINE_AREAS]
    if engine:
        return Relevance(True, f"changes {', '.join(engine)}", areas)
    return Relevance(False, f"only {', '.join(areas)}: nothing the engine runs", areas)


def newer_than(releases: Iterable[Release], pinned: int) -> list[Release]:
    """Builds after the pinned one, newest first, each once."""
    seen: dict[int, Release] = {}
    for release in releases:
        if release.number > pinned and release.number not in seen:
            seen[release.number] = release
    return sorted(seen.values(), key=lambda r: r.number, reverse=True)


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a GitHub `Link` header."""
    for part in (header or "").split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None


class FeedError(Exception):
    """The release feed could not be read; one line."""


async def fetch_releases(url: str, *, newer_than_build: int, client: httpx.AsyncClient,
                         max_pages: int = MAX_PAGES) -> list[Release]:
    """Pages of the feed until one reaches the pinned build (newest-first order) or ends."""
    found: list[Release] = []
    page_url: str | None = url
    params: dict[str, int] | None = {"per_page": PER_PAGE}
    for _ in range(max_pages):
        if page_url is None:
            break
        try:
            response = await client.get(page_url, params=params,
                                        headers={"Accept": "application/vnd.github+json"})
        except httpx.HTTPError as exc:
            raise FeedError(f"release feed {page_url}: {exc or type(exc).__name__}") from None
        if response.status_code != 200:
            raise FeedError(f"release feed {page_url}: HTTP {response.status_code} "
                            f"{response.text[:120]}")
        try:
            page = parse_releases(response.json())
        except ValueError as exc:
            raise FeedError(f"release feed {page_url}: {exc}") from None
        found.extend(page)
        if not page or min(r.number for r in page) <= newer_than_build:
            break
        page_url, params = next_link(response.headers.get("link")), None
    return found


def summarize(releases: Sequence[Release]) -> list[tuple[Release, Relevance]]:
    return [(release, engine_relevance(release)) for release in releases]
