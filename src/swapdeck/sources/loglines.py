"""Whole log lines out of arbitrary chunks (§2.2 `logData`, §1.6 `/logs/stream`).

llama-swap forwards log writes as they happen: a chunk may hold several lines, part of a
line, or the end of one line and the start of the next. The assembler keeps the incomplete
tail until its newline arrives, so any chunking of a text yields the same lines.

A line that never ends (a progress bar without newlines, a binary blob) is cut every
`max_line` characters so memory stays bounded; the cut points depend only on the text, so
chunk-independence still holds.
"""

from __future__ import annotations

DEFAULT_MAX_LINE = 16 * 1024
RESUME_TAIL = 8 * 1024
"""How much of the text already seen is kept to find our place in a replayed history."""


class LineAssembler:
    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self.max_line = max_line
        self._pending = ""
        self._seen_tail = ""

    @property
    def pending(self) -> str:
        """The incomplete last line, not yet emitted."""
        return self._pending

    def feed(self, chunk: str) -> list[str]:
        """Complete lines in `chunk` (with what was pending), without their line endings."""
        if not chunk:
            return []
        self._remember(chunk)
        lines: list[str] = []
        parts = chunk.split("\n")
        for part in parts[:-1]:
            self._append(part, lines)
            lines.append(self._pending.removesuffix("\r"))
            self._pending = ""
        self._append(parts[-1], lines)
        return lines

    def flush(self) -> list[str]:
        """The pending tail as a last line (the stream ended without a final newline)."""
        tail, self._pending = self._pending, ""
        return [tail.removesuffix("\r")] if tail else []

    def resume_history(self, history: str) -> str:
        """The part of a replayed history (sent on every reconnect) not yet fed.

        Each new `/api/events` connection starts with the source's whole history (§2.2).
        If the text we saw last is in it, only what follows is new; if not (a reload
        emptied the history, or more was logged than the host keeps), all of it is new and
        the half line we were holding belonged to a world that is gone.
        """
        if self._seen_tail:
            at = history.rfind(self._seen_tail)
            if at >= 0:
                return history[at + len(self._seen_tail):]
        self._pending = ""
        return history

    def _append(self, text: str, lines: list[str]) -> None:
        self._pending += text
        while len(self._pending) > self.max_line:
            lines.append(self._pending[: self.max_line])
            # Cutting only while more than `max_line` is held leaves a non-empty rest, so
            # a cut never invents an empty line at the newline that follows.
            self._pending = self._pending[self.max_line:]

    def _remember(self, chunk: str) -> None:
        self._seen_tail = (self._seen_tail + chunk)[-RESUME_TAIL:]
