"""A GitHub-releases-shaped feed on loopback, serving the recorded pages in
tests/gate/recorded/releases-page*.json with GitHub's `Link: <…>; rel="next"` paging."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).parent / "recorded"
FEED_PATH = "/repos/ggml-org/llama.cpp/releases"


class _Feed(BaseHTTPRequestHandler):
    pages: tuple[bytes, ...] = ()
    seen: list[str]

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.seen.append(self.path)
        if parts.path != FEED_PATH:
            self.send_error(404)
            return
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        body = self.pages[page - 1] if 1 <= page <= len(self.pages) else b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        host = f"http://127.0.0.1:{self.server.server_port}"  # type: ignore[attr-defined]
        links = []
        if page < len(self.pages):
            links.append(f'<{host}{FEED_PATH}?per_page=100&page={page + 1}>; rel="next"')
        links.append(f'<{host}{FEED_PATH}?per_page=100&page={len(self.pages)}>; rel="last"')
        self.send_header("Link", ", ".join(links))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def release_feed() -> Iterator[tuple[str, list[str]]]:
    """(feed URL, the request paths it saw)."""
    seen: list[str] = []
    pages = tuple((RECORDED / f"releases-page{n}.json").read_bytes() for n in (1, 2))
    handler = type("Feed", (_Feed,), {"pages": pages, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{FEED_PATH}", seen
    finally:
        server.shutdown()
        server.server_close()
