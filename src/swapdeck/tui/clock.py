"""Time for the TUI: the injectable clock and the words for ages and countdowns.

The app never calls `time.time()` itself; it is handed a `Clock`. Tests and snapshots pass
a `FrozenClock`, so a TTL countdown or an "oldest in flight" age renders the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]
UNKNOWN_TEXT = "—"


class FrozenClock:
    """A clock that only moves when told to (tests, snapshots)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def format_duration(seconds: float | None) -> str:
    """Compact, two units at most: 7s, 4m12s, 1h05m, 3d04h; None → "—"."""
    if seconds is None:
        return UNKNOWN_TEXT
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_age(since: float | None, now: float) -> str:
    """How long ago `since` was, e.g. "4m12s ago"; None → "—"."""
    if since is None:
        return UNKNOWN_TEXT
    return f"{format_duration(now - since)} ago"
