"""Shared pieces of the pool install tests: deterministic payloads and a progress recorder."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from swapdeck.pool.installers.base import Phase, Progress


def make_payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def payload() -> bytes:
    """A 512 KiB GGUF stand-in: big enough for many chunks, small enough to be quick."""
    return make_payload(512 * 1024)


@dataclass
class ProgressLog:
    """Records every progress event and checks, at each one, that the destination is
    either absent or complete and correct — never half-written."""

    dest: Path
    expected: bytes
    events: list[Progress] = field(default_factory=list)

    def __call__(self, progress: Progress) -> None:
        self.events.append(progress)
        if self.dest.exists():
            assert self.dest.read_bytes() == self.expected, "destination half-written"

    def phases(self) -> list[Phase]:
        seen: list[Phase] = []
        for event in self.events:
            if not seen or seen[-1] is not event.phase:
                seen.append(event.phase)
        return seen
