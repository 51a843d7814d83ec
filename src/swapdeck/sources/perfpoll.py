"""Polling `/api/performance?after=` (§1.9): CPU, RAM and GPU samples, never twice.

The watermark is the newest sample's timestamp exactly as the host wrote it, so `after`
round-trips without rounding; a restarted swapdeck starts from the newest stored sample
(`ResumePoint.perf_watermark`) instead of refetching the host's hour-long ring. The value is
sent as a query parameter, which percent-encodes the `+` of a positive offset (§12).
"""

from __future__ import annotations

from enum import Enum

from swapdeck.events import FrameRejected, HostEvent
from swapdeck.sources.jsonfields import FieldError
from swapdeck.sources.perf import parse_performance
from swapdeck.sources.rest import HostFailure, JsonGet
from swapdeck.sources.timestamps import format_rfc3339

PERF_PATH = "/api/performance"


class PerfAvailability(Enum):
    AVAILABLE = "available"
    NOT_SERVED = "not served"  # 404: older than v212
    DISABLED = "disabled"  # 503: `performance.disabled` on the host


class PerfPoller:
    def __init__(self, host: str, watermark: float | None) -> None:
        self.host = host
        self.watermark = watermark
        self._after_text: str | None = None if watermark is None else format_rfc3339(watermark)

    @property
    def after(self) -> str | None:
        """What the next poll sends as `after`."""
        return self._after_text

    async def poll(self, get: JsonGet, now: float
                   ) -> tuple[PerfAvailability, list[HostEvent]]:
        """One poll; raises HostFailure (or AuthFailed) when the host could not be read."""
        params = {"after": self._after_text} if self._after_text else None
        status, body = await get(PERF_PATH, params=params, missing_ok=(404, 503, 400))
        if status == 404:
            return PerfAvailability.NOT_SERVED, []
        if status == 503:
            return PerfAvailability.DISABLED, []
        if status == 400:
            # The host refused our `after`; fall back to our own formatting of the same
            # instant rather than refetching the whole ring.
            if self.watermark is not None and self._after_text != format_rfc3339(self.watermark):
                self._after_text = format_rfc3339(self.watermark)
                return PerfAvailability.AVAILABLE, []
            raise HostFailure(f"{PERF_PATH}: host refused after={self._after_text!r}")
        try:
            batch = parse_performance(self.host, body, after=self.watermark)
        except FieldError as exc:
            raise HostFailure(f"{PERF_PATH}: unreadable answer ({exc})") from None
        events: list[HostEvent] = [
            FrameRejected(host=self.host, at=now, reason="malformed perf sample", detail=text)
            for text in batch.rejected
        ]
        if batch.event is not None:
            events.append(batch.event)
            self.watermark = batch.watermark
            self._after_text = batch.watermark_text
        return PerfAvailability.AVAILABLE, events
