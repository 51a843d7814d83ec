"""Follows one llama-swap host of any version v140..v250 and speaks only `swapdeck.events`.

`run` connects (§6: `/api/version`, then `/api/events`), reconciles activity, streams, and
reconnects with backoff and a circuit breaker until cancelled. Per connection it also polls
`/health` (the stream has no heartbeat, §2.1), `/api/performance` (§1.9) and, on v236+,
`/api/metrics/activity` (§1.10). Decoding lives in `streamdecoder.py`, epochs and gaps in
`epochs.py`, backoff in `reconnect.py`; this file only wires them to sockets and time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiohttp
import httpx

from swapdeck.config import ConfigError, HostConfig
from swapdeck.events import EngineVersion, Liveness, LivenessChanged, LogLines
from swapdeck.sources import actions
from swapdeck.sources.activitysync import (
    RECONCILE_PAGE,
    ActivityRouteMissing,
    live_page_size,
    sync_activity,
)
from swapdeck.sources.base import LIVE, ActionError, Emit, FollowProfile, ResumePoint
from swapdeck.sources.capture import Capture
from swapdeck.sources.epochs import ActivityIntake, ActivityLedger
from swapdeck.sources.errors import describe_transport_error, http_failure
from swapdeck.sources.http import make_client
from swapdeck.sources.jsonfields import FieldError
from swapdeck.sources.modelstatus import parse_running_ttls
from swapdeck.sources.perfpoll import PerfAvailability, PerfPoller
from swapdeck.sources.reconnect import Breaker, ReconnectPolicy, RetryPlan
from swapdeck.sources.rest import (
    AuthFailed,
    ConnectorStats,
    HealthPath,
    HostFailure,
    JsonGet,
    get_health,
    get_json,
    json_getter,
)
from swapdeck.sources.session import make_session
from swapdeck.sources.sse import EventStream, open_event_stream
from swapdeck.sources.streamdecoder import StreamDecoder
from swapdeck.sources.swapversion import parse_swap_version

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0
_FRESH_START = ResumePoint()


class _End(Enum):
    CLOSED_BY_HOST = "closed by host"
    FAILED = "failed"
    REFUSED = "refused"  # 401 or an unreadable key: retried slowly, never probed


@dataclass(frozen=True, slots=True)
class _Outcome:
    end: _End
    error: str
    was_connected: bool
    frames: int


class LlamaSwapConnector:
    def __init__(self, host: HostConfig, *, resume: ResumePoint = _FRESH_START,
                 client: httpx.AsyncClient | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time,
                 policy: ReconnectPolicy | None = None,
                 profile: FollowProfile = LIVE) -> None:
        self.config = host
        self.host = host.name
        self.stats = ConnectorStats()
        self._client = client
        self._owns_client = client is None
        self._follow_session: aiohttp.ClientSession | None = None
        """Following: the stream and the recurring reads (session.py). The httpx client
        above is for actions a person asks for."""
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._policy = policy if policy is not None else ReconnectPolicy()
        self._health_path = HealthPath()
        self._breaker = Breaker(self._policy)
        self._intake = ActivityIntake(host.name, ActivityLedger.from_resume(resume))
        self._profile = profile
        self._decoder = StreamDecoder(host.name, log_lines=profile.log_lines)
        self._perf = PerfPoller(host.name, resume.perf_watermark)
        self._swap_version: tuple[str, str, str] | None = None
        self._announced_activity_id: int | None = None
        """The newest id an SSE `activity` event named; sizes the next fetch."""
        self._rest_activity: bool | None = None  # None: version unknown, ask the endpoint
        self._last_liveness: LivenessChanged | None = None

    @property
    def epoch(self) -> int:
        """The activity epoch records are being stamped with now (§12)."""
        return self._intake.ledger.epoch

    # ------------------------------------------------------------------ follow

    async def run(self, emit: Emit) -> None:
        plan: RetryPlan | None = None
        try:
            while True:
                if plan is not None:
                    await self._wait_to_retry(plan)
                outcome = await self._session(emit)
                plan = self._plan_retry(outcome, emit)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP clients this connector made (an injected one is the caller's)."""
        if self._follow_session is not None:
            session, self._follow_session = self._follow_session, None
            await session.close()
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def _wait_to_retry(self, plan: RetryPlan) -> None:
        while True:
            if plan.delay_s > 0:
                await asyncio.sleep(plan.delay_s)
            # Half-open: a down host gets a cheap unauthenticated probe before a full connect.
            if not plan.probe_health or await self.health():
                return
            plan = RetryPlan(plan.liveness, plan.attempt, self._policy.probe_delay(self._rng), True)

    def _plan_retry(self, outcome: _Outcome, emit: Emit) -> RetryPlan:
        if outcome.was_connected:
            self.stats.reconnects += 1
        if outcome.error:
            self.stats.last_error = outcome.error
        if outcome.end is _End.REFUSED:
            plan = self._breaker.auth_failed(self._rng)
        elif outcome.end is _End.CLOSED_BY_HOST:
            plan = self._breaker.closed_by_host()
        else:
            plan = self._breaker.failed(self._rng)
        error = outcome.error
        event = LivenessChanged(host=self.host, at=self._clock(), liveness=plan.liveness,
                                attempt=plan.attempt, last_error=error,
                                last_seen=self.stats.last_seen)
        previous = self._last_liveness
        # A host that stays down is said once per distinct reason, not once per probe.
        if not (previous is not None and plan.liveness is Liveness.DOWN
                and previous.liveness is Liveness.DOWN and previous.last_error == error):
            self._emit_liveness(emit, event)
        return plan

    def _emit_liveness(self, emit: Emit, event: LivenessChanged) -> None:
        self._last_liveness = event
        emit(event)

    async def _session(self, emit: Emit) -> _Outcome:
        frames_before = self.stats.frames_ok + self.stats.frames_malformed
        connected = False

        def outcome(end: _End, error: str) -> _Outcome:
            frames = self.stats.frames_ok + self.stats.frames_malformed - frames_before
            return _Outcome(end, error, connected, frames)

        try:
            session = self._following_session()
            await self._identify(session, emit)
            async with open_event_stream(session) as source:
                await self._check_stream(source)
                connected = True
                self._connected(emit)
                await self._stream(session, source, emit)
            # A reload ends a working stream cleanly (§2.3) and is no error; a stream that
            # ends before saying anything is one (a proxy in between, a broken host).
            ended = outcome(_End.CLOSED_BY_HOST, "")
            if ended.frames == 0:
                ended = outcome(_End.FAILED, "/api/events: closed before sending anything")
            return ended
        except AuthFailed as exc:
            return outcome(_End.REFUSED, str(exc))
        except ConfigError as exc:
            return outcome(_End.REFUSED, str(exc).removeprefix(": "))
        except HostFailure as exc:
            return outcome(_End.FAILED, str(exc))
        except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
            what = "event stream" if connected else "connect"
            return outcome(_End.FAILED, f"{what}: {describe_transport_error(exc)}")
        except Exception as exc:  # a bug here must not stop following the host for good
            log.exception("connector for %s failed unexpectedly", self.host)
            return outcome(_End.FAILED, f"internal error: {type(exc).__name__}: {exc}")

    async def _identify(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        """`GET /api/version` (v173+; 404 before, §1.7)."""
        status, body = await get_json(session, "/api/version")
        self._touch()
        try:
            found = parse_swap_version(status, body)
        except FieldError as exc:
            raise HostFailure(f"/api/version: unreadable answer ({exc})") from None
        self._rest_activity = found.rest_activity
        version, commit, build_date = found.version, found.commit, found.build_date
        if (version, commit, build_date) != self._swap_version:
            self._swap_version = (version, commit, build_date)
            emit(EngineVersion(host=self.host, at=self._clock(), component="llama-swap",
                               version=version, commit=commit, build_date=build_date))

    async def _check_stream(self, source: EventStream) -> None:
        if source.status == 401:
            raise AuthFailed()
        if source.status != 200:
            raise HostFailure(http_failure("/api/events", source.status, await source.body()))
        if source.content_type != "text/event-stream":  # a proxy's page, a login form
            raise HostFailure(f"/api/events: expected an event stream, got "
                              f"{source.content_type or 'no content type'}")

    def _connected(self, emit: Emit) -> None:
        self._touch()
        self._breaker.succeeded()
        self._decoder.connected()
        self._intake.reconnected()
        self._emit_liveness(emit, LivenessChanged(
            host=self.host, at=self._clock(), liveness=Liveness.CONNECTED,
            last_seen=self.stats.last_seen))

    async def _stream(self, session: aiohttp.ClientSession, source: EventStream,
                      emit: Emit) -> None:
        """Read the stream until it ends; helpers run beside it and die with it."""
        activity_wake, ttl_wake = asyncio.Event(), asyncio.Event()
        activity_wake.set()  # reconcile on connect
        ttl_wake.set()  # TTLs of what is already running
        reader = asyncio.create_task(self._read(source, emit, activity_wake, ttl_wake))
        watchdog = asyncio.create_task(self._watch_health(session))
        get = json_getter(session)
        helpers: list[Coroutine[Any, Any, None]] = [
            self._poll_perf(get, emit), self._fetch_ttls(get, emit, ttl_wake)]
        if self._rest_activity is not False:
            helpers.append(self._follow_activity(get, emit, activity_wake))
        tasks = [reader, watchdog, *(asyncio.create_task(self._guarded(h)) for h in helpers)]
        try:
            done, _ = await asyncio.wait((reader, watchdog), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise a transport error or a failed health check
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _guarded(self, helper: Coroutine[Any, Any, None]) -> None:
        """A helper that fails unexpectedly is logged; the stream goes on without it."""
        try:
            await helper
        except Exception as exc:
            log.exception("connector helper for %s failed", self.host)
            self.stats.last_error = f"internal error: {type(exc).__name__}: {exc}"

    async def _read(self, source: EventStream, emit: Emit, activity_wake: asyncio.Event,
                    ttl_wake: asyncio.Event) -> None:
        async for batch in source.batches(gather_s=self._profile.stream_gather_s):
            now = self._clock()
            self._touch(now)
            decoded = self._decoder.decode_batch(batch, now)
            self.stats.frames_malformed += decoded.malformed
            self.stats.frames_ok += decoded.frames - decoded.malformed
            self.stats.records_rejected += decoded.records_rejected
            for event in decoded.events:
                emit(event)
            if decoded.records:  # v140..v235: the on-connect array is the reconcile (§2.4)
                restarted = self._intake.ledger.host_restarted(decoded.records[-1].remote_id)
                for event in self._intake.take(decoded.records, oldest_held=decoded.records[0],
                                               now=now, restarted=restarted):
                    emit(event)
            if decoded.activity_ids:
                self._announced_activity_id = max(decoded.activity_ids)
                activity_wake.set()  # a burst of ids becomes one fetch
            if decoded.became_ready:
                ttl_wake.set()

    async def _watch_health(self, session: aiohttp.ClientSession) -> None:
        """The stream has no heartbeat (§2.1): a silent one is probed with `/health`. A
        frame that arrived during the interval already proves the stream alive, so a busy
        host is not asked."""
        while True:
            frames_before = self.stats.frames_ok + self.stats.frames_malformed
            await asyncio.sleep(self.config.health_interval_s)
            if self.stats.frames_ok + self.stats.frames_malformed != frames_before:
                continue
            await get_health(session, HEALTH_TIMEOUT_S, self._health_path)
            self._touch()

    async def _follow_activity(self, get: JsonGet, emit: Emit,
                               wake: asyncio.Event) -> None:
        """v236+: REST reconcile now, then one coalesced fetch per burst of `activity`."""
        reconciled, retry_s = False, self._policy.base_s
        while True:
            await wake.wait()
            wake.clear()
            page_size = (live_page_size(self._announced_activity_id,
                                        self._intake.ledger.last_id)
                         if reconciled else RECONCILE_PAGE)
            try:
                result = await sync_activity(get, self._intake, page_size=page_size,
                                             now=self._clock)
            except ActivityRouteMissing:
                self._rest_activity = False  # records come in SSE `metrics` arrays
                return
            except HostFailure as exc:
                self.stats.last_error = str(exc)
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, self._policy.cap_s)
                wake.set()
                continue
            self._touch()
            self._rest_activity = True
            reconciled, retry_s = True, self._policy.base_s
            for event in result.events:
                emit(event)
            # A busy host sends an `activity` id per request; ids arriving in this pause
            # are fetched together, so a host at 50 req/s costs a few fetches/s, not 50.
            await asyncio.sleep(self._profile.activity_spacing_s)

    async def _fetch_ttls(self, get: JsonGet, emit: Emit,
                          wake: asyncio.Event) -> None:
        """`/running` (§1.3) on connect and when a model of unknown TTL becomes ready; a
        failed read is retried with backoff (the running models' TTLs are asked only here)."""
        retry_s = self._policy.base_s
        while True:
            await wake.wait()
            wake.clear()
            try:
                _, body = await get("/running")
                ttls = parse_running_ttls(body)
            except (HostFailure, FieldError) as exc:
                self.stats.last_error = f"/running: {exc}"
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, self._policy.cap_s)
                wake.set()
                continue
            retry_s = self._policy.base_s
            self._touch()
            if ttls is None:
                return  # <=v185: `/running` has no ttl field
            listed = self._decoder.attach_ttls(ttls, self._clock())
            if listed is not None:
                emit(listed)

    async def _poll_perf(self, get: JsonGet, emit: Emit) -> None:
        while True:
            try:
                availability, events = await self._perf.poll(get, self._clock())
            except HostFailure as exc:
                self.stats.last_error = str(exc)
            else:
                self._touch()
                for event in events:
                    emit(event)
                if availability is not PerfAvailability.AVAILABLE:
                    return  # 404: older than v212; 503: disabled on the host
            await asyncio.sleep(self.config.perf_interval_s)

    def _touch(self, now: float | None = None) -> None:
        self.stats.last_seen = self._clock() if now is None else now

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(self.config)
        return self._client

    def _following_session(self) -> aiohttp.ClientSession:
        if self._follow_session is None:
            self._follow_session = make_session(self.config)
        return self._follow_session

    def _action_client(self, what: str) -> httpx.AsyncClient:
        try:
            return self._get_client()
        except ConfigError as exc:
            raise ActionError(f"{what}: {exc}") from None

    # ------------------------------------------------------------------ actions

    async def warm(self, model: str) -> None:
        await actions.warm(self._action_client(f"warm {model}"), model)

    async def unload(self, model: str) -> None:
        await actions.unload(self._action_client(f"unload {model}"), model)

    async def unload_all(self) -> None:
        await actions.unload_all(self._action_client("unload all"))

    async def health(self) -> bool:
        """The reconnect probe: the watchdog's own check, on the following session."""
        try:
            await get_health(self._following_session(), HEALTH_TIMEOUT_S, self._health_path)
        except (ConfigError, HostFailure):
            return False
        self._touch()
        return True

    async def fetch_capture(self, epoch: int, remote_id: int) -> Capture | None:
        """The stored request/response of a record; None when the host no longer has it.

        Ids restart with each epoch (§12), so a record of an older epoch would fetch some
        other request's capture: refused with None.
        """
        if epoch != self.epoch:
            return None
        return await actions.fetch_capture(self._action_client(f"capture {remote_id}"),
                                           remote_id)

    def follow_log(self, model: str) -> AsyncGenerator[LogLines, None]:
        """Lines of `/logs/stream/<model>` (§1.6): history first, then live, until it ends."""
        client = self._action_client(f"log of {model}")
        return actions.follow_log(client, self.host, model, self._clock)
