"""The installs a person confirmed and that have not finished yet: `pool-installs.json`.

The downloader keeps the partial bytes of an interrupted download; this journal keeps *the
decision*: which model, from where, with which sha256, paused or not. On the next start the
pool session reads it and carries on (see `PoolSession.start`), so quitting swapdeck — or a
crash — in the middle of a download loses nothing. The file is written atomically; a file
that cannot be read is reported and treated as empty (the partials stay, and installing the
model again resumes them).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from swapdeck.pool.installers.base import InstallTarget
from swapdeck.pool.state import write_file_atomically

JOURNAL_FILE = "pool-installs.json"
JOURNAL_VERSION = 1
_TARGET_FIELDS = {f.name: f for f in fields(InstallTarget)}


@dataclass(frozen=True, slots=True)
class JournalRecord:
    target: InstallTarget
    confirmed_at: float
    """Unix seconds of the confirmation in the install modal."""
    paused: bool = False
    """Paused when swapdeck stopped: it comes back paused."""


class JournalUnreadable(ValueError):
    """The journal file is not what swapdeck writes; the message names the file."""


def encode_journal(records: tuple[JournalRecord, ...]) -> bytes:
    data = {"version": JOURNAL_VERSION,
            "installs": [{"target": asdict(r.target), "confirmed_at": r.confirmed_at,
                          "paused": r.paused} for r in records]}
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def decode_journal(raw: bytes, origin: str) -> tuple[JournalRecord, ...]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JournalUnreadable(f"{origin}: expected JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != JOURNAL_VERSION:
        raise JournalUnreadable(f"{origin}: expected a JSON object with \"version\": "
                                f"{JOURNAL_VERSION}")
    installs = data.get("installs")
    if not isinstance(installs, list):
        raise JournalUnreadable(f"{origin}: installs: expected a list")
    return tuple(_record(raw_record, f"{origin}: installs[{i}]")
                 for i, raw_record in enumerate(installs))


def _record(raw: Any, where: str) -> JournalRecord:
    if not isinstance(raw, dict) or not isinstance(raw.get("target"), dict):
        raise JournalUnreadable(f"{where}: expected an object with a target")
    target: dict[str, Any] = raw["target"]
    unknown = sorted(set(target) - set(_TARGET_FIELDS))
    if unknown:
        raise JournalUnreadable(f"{where}.target: unknown keys {unknown}")
    if not isinstance(target.get("id"), str) or not isinstance(target.get("org"), str):
        raise JournalUnreadable(f"{where}.target: expected string id and org")
    confirmed = raw.get("confirmed_at")
    if not isinstance(confirmed, int | float) or isinstance(confirmed, bool):
        raise JournalUnreadable(f"{where}.confirmed_at: expected unix seconds")
    try:
        install_target = InstallTarget(**target)
    except TypeError as exc:
        raise JournalUnreadable(f"{where}.target: {exc}") from None
    return JournalRecord(install_target, float(confirmed), bool(raw.get("paused", False)))


class InstallJournal:
    """`pool-installs.json` next to `pool.json`; one record per model id."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[JournalRecord, ...]:
        """Raises `JournalUnreadable`; no file is an empty journal."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return ()
        except OSError as exc:
            raise JournalUnreadable(f"{self.path}: cannot read ({exc.strerror})") from None
        return decode_journal(raw, str(self.path))

    def _save(self, records: tuple[JournalRecord, ...]) -> None:
        if not records:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(self.path, encode_journal(records))

    def _others(self, model_id: str) -> tuple[JournalRecord, ...]:
        try:
            return tuple(r for r in self.load() if r.target.id != model_id)
        except JournalUnreadable:
            return ()  # replaced by a good file: the install being written is what counts

    def put(self, record: JournalRecord) -> None:
        self._save((*self._others(record.target.id), record))

    def drop(self, model_id: str) -> None:
        if self.path.exists():
            self._save(self._others(model_id))
