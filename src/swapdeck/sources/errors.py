"""Error messages for people, from any era's error body (§0) or a transport failure."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

import aiohttp
import httpx

AUTH_FAILED = "auth failed: invalid or missing API key"
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_MAX_TEXT = 200


def error_text(status: int, body: bytes) -> str:
    """What llama-swap said, from any of its error shapes (§0):

    HEAD `{"src":"llama-swap","error":{"message":...}}`, v218..v250
    `{"src":"llama-swap","error":"..."}`, <=v217 `{"error":"..."}` or plain text,
    `llama-swap: <msg>` for text/plain, a small HTML page for text/html, Go's plain
    `404 page not found`, and `{"msg":"ok"}`-style bodies.
    """
    text = body.decode("utf-8", "replace").strip()
    message = _from_json(text)
    if message is None:
        if text.lstrip().startswith("<"):
            text = _TAGS.sub(" ", text)
        message = text.removeprefix("llama-swap:").strip()
    message = _SPACES.sub(" ", message).strip()
    if not message:
        try:
            message = HTTPStatus(status).phrase.lower()
        except ValueError:
            message = "no error text"
    return message if len(message) <= _MAX_TEXT else message[: _MAX_TEXT - 1] + "…"


def http_failure(what: str, status: int, body: bytes) -> str:
    """`unload qwen3: HTTP 404: model not found` — one line, the host's own words."""
    if status == 401:
        return f"{what}: {AUTH_FAILED}"
    return f"{what}: HTTP {status}: {error_text(status, body)}"


def is_missing_route(status: int, body: bytes) -> bool:
    """Go's router answer for a path the version does not have (§0), not a handler's 404."""
    return status in (404, 405) and body.strip().lower() in (
        b"404 page not found", b"405 method not allowed", b"method not allowed")


def describe_transport_error(exc: BaseException) -> str:
    """A one-line reason for a failed connection, without a traceback."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "cannot connect: timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_root_cause(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection dropped: {_root_cause(exc)}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return f"connection lost: {_root_cause(exc)}"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out waiting for the host"
    if isinstance(exc, httpx.HTTPError):
        return f"HTTP error: {_root_cause(exc)}"
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return _describe_aiohttp_error(exc)
    return f"{type(exc).__name__}: {exc}"


def _describe_aiohttp_error(exc: aiohttp.ClientError | TimeoutError) -> str:
    """The event stream's client (sse.py), in the same words as the httpx cases."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "cannot connect: timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or _root_cause(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection dropped: the host closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"connection dropped: {_root_cause(exc)}"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"connection lost: {exc.strerror or _root_cause(exc)}"
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the host"
    return f"HTTP error: {_root_cause(exc)}"


def _from_json(text: str) -> str | None:
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    error = obj.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    for candidate in (error, obj.get("message"), obj.get("msg")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _root_cause(exc: BaseException) -> str:
    text = str(exc).strip()
    cause = exc.__cause__ or exc.__context__
    while not text and cause is not None:
        text = str(cause).strip()
        cause = cause.__cause__ or cause.__context__
    return _SPACES.sub(" ", text) or type(exc).__name__
