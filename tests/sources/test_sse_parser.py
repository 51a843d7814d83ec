"""The event-stream parser (sse.py) against the SSE specification and llama-swap's bytes
(§2.1), fed whole and in every kind of chunking."""

from __future__ import annotations

import asyncio
import itertools

from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from swapdeck.config import HostConfig
from swapdeck.sources.session import make_session
from swapdeck.sources.sse import ServerSentEvent, SseParser, open_event_stream
from tests.sources.docbytes import frame, sse

MESSAGE = 'event:message\ndata:{"type":"activity","data":"{\\"id\\":42}"}\n\n'


def parse(*chunks: str) -> list[ServerSentEvent]:
    parser = SseParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_llama_swap_message() -> None:
    """§2.1: `event:message\\ndata:<envelope>\\n\\n`, no space after the colons."""
    assert parse(MESSAGE) == [
        ServerSentEvent("message", '{"type":"activity","data":"{\\"id\\":42}"}')]


def test_doc_frames_round_trip() -> None:
    envelope = frame("inflight", {"operation": "remove", "id": "7"})
    assert parse(sse(envelope).decode()) == [ServerSentEvent("message", envelope)]


def test_line_endings_crlf_lf_and_cr() -> None:
    for ending in ("\r\n", "\n", "\r"):
        text = f"event: x{ending}data: a{ending}data: b{ending}{ending}"
        assert parse(text) == [ServerSentEvent("x", "a\nb")], repr(ending)


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    assert parse("data: a\r", "\n\r", "\n") == [ServerSentEvent("message", "a")]


def test_fields_per_spec() -> None:
    text = (": a comment\n"
            "data\n"                # a field with no colon: empty value
            "data:  two spaces\n"    # only one space is removed
            "id: 9\nretry: 100\n"    # ignored
            "unknown: x\n"
            "\n")
    assert parse(text) == [ServerSentEvent("message", "\n two spaces")]


def test_event_without_data_is_not_dispatched_and_type_resets() -> None:
    assert parse("event: lonely\n\n", "data: x\n\n") == [ServerSentEvent("message", "x")]


def test_leading_bom_is_dropped_once() -> None:
    assert parse("\ufeffdata: a\n\n", "data: \ufeffb\n\n") == [
        ServerSentEvent("message", "a"), ServerSentEvent("message", "\ufeffb")]


def test_unfinished_event_waits_for_its_blank_line() -> None:
    parser = SseParser()
    assert parser.feed("data: a\n") == []
    assert parser.feed("\n") == [ServerSentEvent("message", "a")]


@st.composite
def streams(draw: st.DrawFn) -> tuple[str, list[int]]:
    lines = draw(st.lists(st.sampled_from(
        ["event:message", "data:{\"type\":\"x\"}", "data: é ü", ": c", "", "data", "id: 1"]),
        max_size=30))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = "".join(line + ending for line in lines) + ending
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=12))
    return text, sorted(cuts)


@given(streams())
def test_any_chunking_gives_the_same_events(case: tuple[str, list[int]]) -> None:
    text, cuts = case
    bounds = [0, *cuts, len(text)]
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert parse(*chunks) == parse(text)


async def test_bytes_split_inside_a_character_over_loopback() -> None:
    """The stream decodes UTF-8 incrementally: a character cut between two TCP writes
    arrives whole."""
    body = 'event:message\ndata:{"m":"é ü 日本"}\n\n'.encode()
    cut = body.index("日".encode()) + 1

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(body[:cut])
        await asyncio.sleep(0.05)
        await response.write(body[cut:])
        return response

    app = web.Application()
    app.router.add_get("/api/events", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    session = make_session(HostConfig(name="h", url=f"http://127.0.0.1:{port}"))
    try:
        async with open_event_stream(session) as stream:
            events = [event async for event in stream.events()]
    finally:
        await session.close()
        await runner.cleanup()
    assert events == [ServerSentEvent("message", '{"m":"é ü 日本"}')]
