"""Install through an Ollama daemon's REST API (shapes in ranking-facts §7).

- `POST /api/pull` streams NDJSON: `pulling manifest`, then per-layer lines with `digest`,
  `total` (bytes of *that layer*, not the model) and `completed` (absent until data flows),
  then `verifying sha256 digest`, `writing manifest`, `success`. Errors come as an
  in-stream `{"error": ...}` line, often with HTTP 200.
- `DELETE /api/delete` answers 200 or 404 (absent: already gone, fine for an eviction).
- `GET /api/tags` lists what is installed with sizes; `POST /api/show` has no size.

Ollama verifies every layer's sha256 itself and resumes a cancelled pull from its own
partial blobs, so pause = close the stream and pull again later; cancel = close it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from swapdeck.pool.errors import (
    DownloadFailed,
    InstallerUnavailable,
    InstallFailed,
    ModelNotFound,
)
from swapdeck.pool.installers.base import (
    InstalledModel,
    InstallerPlan,
    InstallTarget,
    Phase,
    Progress,
    TransferControl,
)
from swapdeck.pool.state import PoolEntry

_MISSING_MARKERS = ("does not exist", "not found", "manifest")
_PHASE_OF_STATUS = {
    "verifying sha256 digest": Phase.VERIFY,
    "writing manifest": Phase.INSTALL,
    "removing any unused layers": Phase.INSTALL,
    "removing unused layers": Phase.INSTALL,
}


class PullProgress:
    """Folds NDJSON pull lines into one `Progress` per line (pure, no I/O)."""

    def __init__(self, model_id: str, clock: Callable[[], float]) -> None:
        self.model_id = model_id
        self._clock = clock
        self._started = clock()
        self._layers: dict[str, tuple[int, int]] = {}
        self._first_done: int | None = None
        self.phase = Phase.DOWNLOAD
        self.succeeded = False

    @property
    def done(self) -> int:
        return sum(completed for completed, _total in self._layers.values())

    @property
    def total(self) -> int | None:
        """Sum of the layer sizes seen so far: Ollama announces layers one by one."""
        return sum(total for _c, total in self._layers.values()) or None

    def feed(self, line: dict[str, Any]) -> Progress:
        if "error" in line:
            raise _PullError(str(line["error"]))
        status = str(line.get("status", ""))
        digest = line.get("digest")
        if isinstance(digest, str) and isinstance(line.get("total"), int):
            completed = line.get("completed")
            self._layers[digest] = (completed if isinstance(completed, int) else 0,
                                    int(line["total"]))
        self.phase = _PHASE_OF_STATUS.get(status, self.phase)
        if status == "success":
            self.phase, self.succeeded = Phase.DONE, True
        return self._progress(status)

    def _progress(self, message: str) -> Progress:
        done, total = self.done, self.total
        if self._first_done is None:
            self._first_done, self._started = done, self._clock()
        elapsed = self._clock() - self._started
        moved = done - self._first_done
        rate = moved / elapsed if elapsed > 0 and moved > 0 else None
        eta = (total - done) / rate if rate and total is not None else None
        # Ollama checks each layer's sha256 against its manifest; a success is verified.
        verified = True if self.succeeded else None
        return Progress(self.model_id, self.phase, done, total, rate, eta, verified,
                        message=message)


class _PullError(Exception):
    pass


class OllamaInstaller:
    kind = "ollama"

    def __init__(self, base_url: str, *, client: httpx.AsyncClient | None = None,
                 timeout_s: float = 8.0, stall_timeout_s: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._timeout = httpx.Timeout(timeout_s)
        # Ollama sends a progress line at least every few seconds while a pull moves; a
        # longer silence is the "max retries exceeded" stall (ollama#1002), fixed by pulling
        # again, which resumes from Ollama's partial blobs.
        self._pull_timeout = httpx.Timeout(timeout_s, read=stall_timeout_s)
        self._clock = clock
        self._created: set[str] = set()
        """Tags this installer's pulls brought into being: the only ones `discard` deletes."""

    async def plan(self, target: InstallTarget,
                   evicting: tuple[PoolEntry, ...] = ()) -> InstallerPlan:
        name = target.engine_id("ollama")
        notes = ["Ollama checks every layer's sha256 against the registry manifest"]
        removing = [e.id for e in evicting if e.installer == "ollama"]
        if removing:
            notes.append("removes " + ", ".join(removing) + " from Ollama first")
        return InstallerPlan(kind=self.kind, source=f"ollama registry: {name}",
                             destination=f"Ollama at {self.base_url}", notes=tuple(notes))

    async def plan_removal(self, entries: tuple[PoolEntry, ...]) -> InstallerPlan:
        names = [e.id for e in entries if e.installer == "ollama"]
        return InstallerPlan(kind=self.kind, source="", destination=f"Ollama at {self.base_url}",
                             notes=tuple(f"DELETE /api/delete {name}" for name in names))

    async def install(self, target: InstallTarget,
                      control: TransferControl | None = None) -> AsyncIterator[Progress]:
        control = control or TransferControl()
        name = target.engine_id("ollama")
        what = f"pull of {name}"
        # A tag someone pulled by hand is theirs: a failed re-pull must not delete it.
        if name not in {m.id for m in await self.installed()}:
            self._created.add(name)
        while True:
            control.raise_if_cancelled(what)
            folded = PullProgress(name, self._clock)
            async with self._session() as client:
                try:
                    async with client.stream("POST", f"{self.base_url}/api/pull",
                                             json={"model": name, "stream": True},
                                             timeout=self._pull_timeout) as response:
                        await self._check_pull_status(name, response)
                        async for line in response.aiter_lines():
                            if not line.strip():
                                continue
                            progress = folded.feed(_json_line(name, line))
                            yield progress
                            control.raise_if_cancelled(what)
                            if control.paused or folded.succeeded:
                                break
                except _PullError as exc:
                    raise _classify(name, str(exc)) from None
                except httpx.ReadTimeout:
                    raise DownloadFailed(f"{self.base_url}/api/pull ({name})",
                                         "Ollama reported no progress for "
                                         f"{self._pull_timeout.read:.0f} s; pull again to "
                                         "resume", resumable=True) from None
                except httpx.TransportError as exc:
                    raise InstallerUnavailable(
                        "ollama", f"{self.base_url}: {_first_line(exc)}") from None
            if folded.succeeded:
                self._created.discard(name)  # the pool's now; nothing left to clean up
                return
            if not control.paused:
                raise DownloadFailed(f"{self.base_url}/api/pull ({name})",
                                     "the pull stream ended before Ollama said success",
                                     resumable=True)
            yield Progress(name, folded.phase, folded.done, folded.total, paused=True,
                           message="paused (Ollama keeps the partial layers)")
            await control.wait_while_paused(what)

    async def _check_pull_status(self, name: str, response: httpx.Response) -> None:
        if response.status_code == 200:
            return
        body = (await response.aread()).decode("utf-8", "replace")
        message = _error_text(body) or f"HTTP {response.status_code}"
        if response.status_code == 404:
            raise ModelNotFound(name, f"Ollama at {self.base_url}")
        if response.status_code >= 500:
            raise InstallerUnavailable("ollama", f"{self.base_url}: {message}")
        raise _classify(name, message)

    async def installed_entry(self, target: InstallTarget) -> InstalledModel:
        name = target.engine_id("ollama")
        for model in await self.installed():
            if model.id == name:
                return model
        raise InstallFailed(name, "Ollama said success but /api/tags does not list it")

    async def remove(self, entry: PoolEntry) -> None:
        await self.delete(entry.id)

    async def delete(self, name: str) -> bool:
        """True if Ollama deleted it, False if it was not there (404)."""
        response = await self._request("DELETE", "/api/delete", json={"model": name})
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise InstallFailed(name, f"Ollama refused the delete: "
                                f"{_error_text(response.text) or response.status_code}")
        return True

    async def discard(self, target: InstallTarget) -> int:
        """Best effort after a failed pull: delete the tag if this pull created it and it
        got as far as existing. A tag that was there before the pull is left alone."""
        name = target.engine_id("ollama")
        if name not in self._created:
            return 0
        sizes = {m.id: m.size_bytes for m in await self.installed()}
        if name in sizes and await self.delete(name):
            return sizes[name]
        return 0

    async def installed(self) -> list[InstalledModel]:
        data = _json_body(await self._request("GET", "/api/tags"), "/api/tags")
        found = []
        for raw in data.get("models") or []:
            details = raw.get("details") or {}
            found.append(InstalledModel(
                id=str(raw.get("name") or raw.get("model")), size_bytes=int(raw.get("size", 0)),
                digest=raw.get("digest"), family=str(details.get("family", "")),
                quant=str(details.get("quantization_level", ""))))
        return found

    async def show(self, name: str) -> dict[str, Any]:
        response = await self._request("POST", "/api/show", json={"model": name})
        if response.status_code == 404:
            raise ModelNotFound(name, f"Ollama at {self.base_url}")
        return _json_body(response, "/api/show")

    # ----------------------------------------------------------------- plumbing

    def _session(self) -> _Session:
        return _Session(self._client, self._timeout)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self._session() as client:
            try:
                response = await client.request(method, f"{self.base_url}{path}", **kwargs)
            except httpx.TransportError as exc:
                raise InstallerUnavailable("ollama",
                                           f"{self.base_url}: {_first_line(exc)}") from None
        if response.status_code >= 500:
            raise InstallerUnavailable("ollama", f"{self.base_url}{path}: HTTP "
                                       f"{response.status_code}")
        return response


class _Session:
    """The injected client as is, or a fresh one closed afterwards."""

    def __init__(self, client: httpx.AsyncClient | None, timeout: httpx.Timeout) -> None:
        self._given = client
        self._timeout = timeout
        self._own: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        self._own = httpx.AsyncClient(timeout=self._timeout)
        return self._own

    async def __aexit__(self, *_exc: object) -> None:
        if self._own is not None:
            await self._own.aclose()


def _classify(name: str, error: str) -> Exception:
    """ranking-facts §7 (HE): a missing manifest/model is the target's fault, not Ollama's."""
    if any(marker in error.lower() for marker in _MISSING_MARKERS):
        return ModelNotFound(name, f"the Ollama registry ({error})")
    return InstallFailed(name, f"Ollama said: {error}")


def _json_line(name: str, line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        raise InstallFailed(name, f"Ollama sent a line that is not JSON: {line[:80]!r}") from None
    if not isinstance(value, dict):
        raise InstallFailed(name, f"Ollama sent an unexpected line: {line[:80]!r}")
    return value


def _json_body(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        raise InstallerUnavailable("ollama", f"{what} answered with something that is not "
                                   "JSON") from None
    if not isinstance(value, dict):
        raise InstallerUnavailable("ollama", f"{what} answered with unexpected JSON")
    return value


def _error_text(body: str) -> str:
    try:
        value = json.loads(body)
    except ValueError:
        return body.strip()[:200]
    return str(value.get("error", "")) if isinstance(value, dict) else ""


def _first_line(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
