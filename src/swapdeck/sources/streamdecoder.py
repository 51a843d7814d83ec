"""Turns each `/api/events` frame of any era into events (§2.1, §2.2, §2.4). No I/O.

Holds what decoding needs to remember between frames: the previous model list (to find
state changes), the TTLs learned from `/running`, a line assembler per log source, and the
last llama-server build seen in the upstream log. Activity is returned to the caller rather
than emitted, because only the caller knows the ledger and the REST side (epochs.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from swapdeck.events import (
    ActivityRecord,
    EngineVersion,
    FrameRejected,
    HostEvent,
    LogLines,
    LogSource,
    ModelInfo,
    ModelsListed,
    ModelState,
    ProfileChanged,
)
from swapdeck.sources.enginebuild import EngineBuild, find_build
from swapdeck.sources.envelope import Envelope, MalformedFrame, decode_envelope
from swapdeck.sources.inflight import InflightReader
from swapdeck.sources.inflightfold import drop_superseded_inflight
from swapdeck.sources.jsonfields import FieldError, as_object, get_int, get_str
from swapdeck.sources.loglines import LineAssembler
from swapdeck.sources.logsieve import log_frame_without_build
from swapdeck.sources.modelstatus import diff_model_states, parse_model_list, with_ttls
from swapdeck.sources.records import parse_metrics_array

_LOG_SOURCES = {"proxy": LogSource.PROXY, "upstream": LogSource.UPSTREAM}
_IGNORED_TYPES = frozenset({"uiConfig"})
"""Known types with nothing for swapdeck: `uiConfig` names session headers for the web UI."""


@dataclass(slots=True)
class Decoded:
    events: list[HostEvent] = field(default_factory=list)
    records: list[ActivityRecord] = field(default_factory=list)
    """From a `metrics` array (v140..v235), oldest first, epochs not yet assigned."""
    activity_ids: list[int] = field(default_factory=list)
    """From `activity {"id"}` (v236+): rows to fetch over REST."""
    became_ready: list[str] = field(default_factory=list)
    """Models now ready whose TTL is not known yet."""
    frames: int = 0
    malformed: int = 0
    """Frames of `frames` that could not be read (each also a `FrameRejected`)."""
    records_rejected: int = 0


class StreamDecoder:
    def __init__(self, host: str, *, log_lines: bool = True) -> None:
        """`log_lines=False`: emit no `LogLines`; of the logs only the llama-server build
        is read, and frames that cannot name one are not even decoded (logsieve.py)."""
        self.host = host
        self.log_lines = log_lines
        self.ttls: dict[str, int] = {}
        self.models: tuple[ModelInfo, ...] | None = None
        self.engine_build: EngineBuild | None = None
        self._assemblers = {source: LineAssembler() for source in _LOG_SOURCES.values()}
        self._awaiting_history: set[LogSource] = set()
        self._inflight = InflightReader(host)

    def connected(self) -> None:
        """A new stream starts with each log source's whole history (§2.2). TTLs are
        forgotten: a config reload closes every stream (§2.3) and may have changed them,
        and a model of unknown TTL asks `/running` again when it becomes ready."""
        self._awaiting_history = set(_LOG_SOURCES.values())
        self._inflight.forget()
        self.ttls.clear()

    def decode(self, event_name: str, data: str, now: float) -> Decoded:
        return self.decode_batch(((event_name, data),), now)

    def decode_batch(self, frames: Sequence[tuple[str, str]], now: float) -> Decoded:
        """Frames read together (one read of the stream), in order, into one `Decoded`;
        `inflight` updates that a later frame of the batch supersedes are not parsed
        (inflightfold.py)."""
        out = Decoded(frames=len(frames))
        envelopes: list[Envelope] = []
        for event_name, data in frames:
            if not self.log_lines and log_frame_without_build(data):
                continue  # logsieve.py: nothing in it for a consumer without log lines
            try:
                envelopes.append(decode_envelope(event_name, data))
            except MalformedFrame as exc:
                self._reject(out, now, exc.reason, exc.detail)
        for envelope in drop_superseded_inflight(envelopes):
            try:
                self._dispatch(envelope.type, envelope.payload, now, out)
            except MalformedFrame as exc:
                self._reject(out, now, exc.reason, exc.detail)
            except FieldError as exc:
                self._reject(out, now, f"malformed {envelope.type} payload", str(exc))
        return out

    def attach_ttls(self, ttls: dict[str, int], now: float) -> ModelsListed | None:
        """Remember TTLs from `/running`; a new `ModelsListed` when that changed the list."""
        self.ttls.update(ttls)
        if self.models is None:
            return None
        updated = with_ttls(self.models, self.ttls)
        if updated == self.models:
            return None
        self.models = updated
        return ModelsListed(host=self.host, at=now, models=updated)

    # ------------------------------------------------------------------ per type

    def _dispatch(self, kind: str, payload: object, now: float, out: Decoded) -> None:
        # Most frequent first: one per finished request (and, v240+, in-flight updates).
        if kind == "metrics":
            records, rejected = parse_metrics_array(payload)
            out.records.extend(records)
            for message in rejected:
                self._reject_record(out, now, message)
        elif kind == "activity":
            out.activity_ids.append(get_int(as_object(payload, "activity"), "id"))
        elif kind == "modelStatus":
            self._model_status(payload, now, out)
        elif kind == "logData":
            self._log_data(payload, now, out)
        elif kind == "inflight":
            out.events.append(self._inflight.read(now, payload))
        elif kind == "profileChanged":
            active = as_object(payload, "profileChanged").get("active")
            if active is not None and not isinstance(active, str):
                raise FieldError("active: expected a profile name or null")
            out.events.append(ProfileChanged(host=self.host, at=now, active=active))
        elif kind not in _IGNORED_TYPES:
            raise MalformedFrame("unknown message type", kind[:60])

    def _model_status(self, payload: object, now: float, out: Decoded) -> None:
        models = parse_model_list(payload, self.ttls)
        previous = None if self.models is None else {m.id: m.state for m in self.models}
        out.events.append(ModelsListed(host=self.host, at=now, models=models))
        out.events.extend(diff_model_states(self.host, now, previous, models))
        out.became_ready += [
            m.id for m in models
            if m.state is ModelState.READY and m.ttl_s is None
            and (previous is None or previous.get(m.id) is not ModelState.READY)
        ]
        self.models = models

    def _log_data(self, payload: object, now: float, out: Decoded) -> None:
        obj = as_object(payload, "logData")
        raw_source = get_str(obj, "source")
        source = _LOG_SOURCES.get(raw_source)
        if source is None:
            raise FieldError(f"source: expected proxy or upstream, got {raw_source[:40]!r}")
        text = get_str(obj, "data", "")
        if not self.log_lines:
            # Only the build matters, and it is named in one line written at start-up: no
            # line assembly, no history dedupe (a build seen again changes nothing).
            if source is LogSource.UPSTREAM:
                self._note_build(text.split("\n"), now, out)
            return
        assembler = self._assemblers[source]
        if source in self._awaiting_history:
            self._awaiting_history.discard(source)
            text = assembler.resume_history(text)
        lines = assembler.feed(text)
        if not lines:
            return
        if self.log_lines:
            out.events.append(LogLines(host=self.host, at=now, source=source,
                                       lines=tuple(lines)))
        if source is LogSource.UPSTREAM:
            self._note_build(lines, now, out)

    def _note_build(self, lines: list[str], now: float, out: Decoded) -> None:
        build = find_build(lines)
        if build is not None and build != self.engine_build:
            self.engine_build = build
            out.events.append(EngineVersion(host=self.host, at=now, component="llama-server",
                                            version=build.version, commit=build.commit))

    def _reject(self, out: Decoded, now: float, reason: str, detail: str) -> None:
        out.malformed += 1
        out.events.append(FrameRejected(host=self.host, at=now, reason=reason, detail=detail))

    def _reject_record(self, out: Decoded, now: float, detail: str) -> None:
        out.records_rejected += 1
        out.events.append(FrameRejected(host=self.host, at=now,
                                        reason="malformed activity record", detail=detail))
