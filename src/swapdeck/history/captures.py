"""Stored captures: redaction, per-body cap, total cap with oldest-first eviction.

Captures arrive already redacted by llama-swap (§1.10) but secrets must never reach the
file, so the sensitive headers are redacted again here whatever their spelling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import aiosqlite

from swapdeck.history.values import StoredCapture

REDACTED = "[REDACTED]"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: REDACTED if name.lower() in SENSITIVE_HEADERS else value
            for name, value in headers.items()}


def cap_body(body: bytes | None, cap_bytes: int) -> tuple[bytes | None, bool]:
    """The body cut to `cap_bytes`, and whether anything was cut."""
    if body is None or len(body) <= cap_bytes:
        return body, False
    return body[:cap_bytes], True


def prepare_capture(capture: StoredCapture, row_cap_bytes: int) -> StoredCapture:
    """What actually gets stored: headers redacted, each body capped, flags kept or set."""
    req_body, req_cut = cap_body(capture.req_body, row_cap_bytes)
    resp_body, resp_cut = cap_body(capture.resp_body, row_cap_bytes)
    return StoredCapture(
        req_path=capture.req_path,
        req_headers=redact_headers(capture.req_headers),
        resp_headers=redact_headers(capture.resp_headers),
        req_body=req_body,
        resp_body=resp_body,
        req_truncated=capture.req_truncated or req_cut,
        resp_truncated=capture.resp_truncated or resp_cut,
    )


def headers_json(headers: Mapping[str, str]) -> str:
    return json.dumps(dict(headers), sort_keys=True, separators=(",", ":"))


def stored_size(capture: StoredCapture) -> int:
    """Bytes a capture counts against the total cap: bodies, headers and path."""
    return (len(capture.req_body or b"") + len(capture.resp_body or b"")
            + len(headers_json(capture.req_headers)) + len(headers_json(capture.resp_headers))
            + len(capture.req_path.encode()))


def plan_eviction(sizes_oldest_first: Iterable[tuple[int, int]], total: int, cap: int) -> list[int]:
    """Ids to delete, oldest first, until the total is within the cap."""
    evict: list[int] = []
    for row_id, size in sizes_oldest_first:
        if total <= cap:
            break
        evict.append(row_id)
        total -= size
    return evict


# --------------------------------------------------------------------------- database

_UPSERT = (
    "INSERT OR REPLACE INTO captures (host, epoch, remote_id, stored_at, req_path, "
    "req_headers, resp_headers, req_body, resp_body, req_truncated, resp_truncated, "
    "stored_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def insert_capture(conn: aiosqlite.Connection, key: tuple[str, int, int], stored_at: float,
                         capture: StoredCapture) -> None:
    """Insert (or replace, which makes it the newest) a prepared capture; no transaction."""
    await conn.execute(_UPSERT, (
        *key, stored_at, capture.req_path, headers_json(capture.req_headers),
        headers_json(capture.resp_headers), capture.req_body, capture.resp_body,
        int(capture.req_truncated), int(capture.resp_truncated), stored_size(capture),
    ))


async def enforce_total_cap(conn: aiosqlite.Connection, cap_bytes: int) -> int:
    """Evict the oldest captures until the total fits; returns how many went."""
    total_rows = list(await conn.execute_fetchall(
        "SELECT COALESCE(SUM(stored_bytes), 0) FROM captures"))
    total = int(total_rows[0][0])
    if total <= cap_bytes:
        return 0
    sizes = await conn.execute_fetchall("SELECT id, stored_bytes FROM captures ORDER BY id")
    evict = plan_eviction(((int(r[0]), int(r[1])) for r in sizes), total, cap_bytes)
    await conn.executemany("DELETE FROM captures WHERE id = ?", ((i,) for i in evict))
    return len(evict)


async def select_capture(conn: aiosqlite.Connection,
                         key: tuple[str, int, int]) -> StoredCapture | None:
    found = list(await conn.execute_fetchall(
        "SELECT req_path, req_headers, resp_headers, req_body, resp_body, req_truncated, "
        "resp_truncated FROM captures WHERE host = ? AND epoch = ? AND remote_id = ?", key))
    if not found:
        return None
    return capture_from_row(found[0])


def capture_from_row(row: Sequence[object]) -> StoredCapture:
    req_body, resp_body = row[3], row[4]
    return StoredCapture(
        req_path=str(row[0]),
        req_headers=json.loads(str(row[1])),
        resp_headers=json.loads(str(row[2])),
        req_body=bytes(req_body) if isinstance(req_body, bytes | bytearray | memoryview) else None,
        resp_body=bytes(resp_body) if isinstance(resp_body, bytes | bytearray | memoryview)
        else None,
        req_truncated=bool(row[5]),
        resp_truncated=bool(row[6]),
    )
