"""Log lines out of arbitrary chunks (§2.2 `logData`: chunks may hold several or partial
lines) and the engine build line (§1.6 upstream output)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from swapdeck.sources.enginebuild import EngineBuild, find_build, parse_build_line
from swapdeck.sources.loglines import LineAssembler

_text = st.text(alphabet=st.sampled_from([*list("ab \r\n—\x1b["), "é", "🙂"]), max_size=300)


def _chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def _feed_all(chunks: list[str], max_line: int) -> list[str]:
    assembler = LineAssembler(max_line=max_line)
    lines = [line for chunk in chunks for line in assembler.feed(chunk)]
    return lines + assembler.flush()


@given(_text, st.lists(st.integers(min_value=0, max_value=400), max_size=20),
       st.integers(min_value=1, max_value=40))
def test_any_chunking_yields_the_same_lines(text: str, cuts: list[int], max_line: int) -> None:
    """§2.2: chunks split lines arbitrarily; the lines must not depend on where."""
    assert _feed_all(_chunked(text, cuts), max_line) == _feed_all([text], max_line)


@given(st.lists(st.text(alphabet="xyz \t", max_size=30), max_size=10),
       st.lists(st.integers(min_value=0, max_value=400), max_size=20))
def test_short_lines_come_out_as_written(lines: list[str], cuts: list[int]) -> None:
    """§1.6: `[LEVEL] message\\n` lines, \\r\\n endings tolerated."""
    text = "".join(f"{line}\r\n" for line in lines)
    assert _feed_all(_chunked(text, cuts), 64) == lines


def test_incomplete_tail_waits_for_its_newline() -> None:
    assembler = LineAssembler()
    assert assembler.feed("[INFO] one\n[INFO] tw") == ["[INFO] one"]
    assert assembler.pending == "[INFO] tw"
    assert assembler.feed("o\n") == ["[INFO] two"]


def test_a_pathological_line_is_cut() -> None:
    """A line without end (progress output) cannot grow memory without bound."""
    assembler = LineAssembler(max_line=4)
    assert assembler.feed("abcdefghij") == ["abcd", "efgh"]
    assert assembler.feed("\n") == ["ij"]


def test_resume_history_skips_what_was_seen_or_restarts() -> None:
    """§2.2: every connection replays the history; §12: a gin-era reload empties it."""
    assembler = LineAssembler()
    assembler.feed("one\ntwo\nthr")
    assert assembler.resume_history("one\ntwo\nthree\nfour\n") == "ee\nfour\n"
    assert assembler.feed("ee\nfour\n") == ["three", "four"]
    assert assembler.resume_history("fresh\n") == "fresh\n"
    assert assembler.pending == ""


def test_build_lines() -> None:
    """§1.6: llama-server prints its build when a model starts."""
    assert parse_build_line("build: 6497 (cd08fc3e) with cc for x86_64-linux-gnu") == \
        EngineBuild(version="b6497", commit="cd08fc3e")
    assert parse_build_line("main: build = 1234 (abc1234)") == EngineBuild("b1234", "abc1234")
    assert parse_build_line("version: 6500 (0123abcd)") == EngineBuild("b6500", "0123abcd")
    assert parse_build_line("build: 0 (unknown) with cc") is None
    assert parse_build_line("load_tensors: version GGUF V3 (latest)") is None
    assert find_build(["x", "build: 1 (aaaaaaa)", "y", "build: 2 (bbbbbbb)"]) == \
        EngineBuild("b2", "bbbbbbb")
    assert find_build(["[INFO] nothing here"]) is None
