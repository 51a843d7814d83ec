"""`swapdeck pool …` end to end: a real TOML config, a loopback file server, real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from swapdeck.cli import main
from tests.pool.conftest import sha256_hex
from tests.pool.servers import serve_files
from tests.pool.test_llamaswap_config_edit import CONFIG


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    models = tmp_path / "models"
    llama_config = tmp_path / "llama-swap.yaml"
    llama_config.write_text(CONFIG)
    config = tmp_path / "swapdeck.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n\n[pool]\nmodels_dir = "{models}"\n'
        f'llama_swap_config = "{llama_config}"\ndisk_budget_gb = 1\n')
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal to ask on
    return {"config": config, "models": models, "llama": llama_config,
            "pool": tmp_path / "data" / "pool.json"}


def swapdeck(box: dict[str, Path], *args: str) -> int:
    return main(["--config", str(box["config"]), "pool", *args])


def install_args(url: str, data: bytes, *extra: str) -> list[str]:
    return ["install", "tiny", "--url", url, "--size", str(len(data)),
            "--sha256", sha256_hex(data), "--org", "HuggingFaceTB", *extra]


def test_install_without_a_terminal_refuses_and_downloads_nothing(
        box: dict[str, Path], payload: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    with serve_files({"tiny.gguf": payload}) as server:
        code = swapdeck(box, *install_args(server.url("tiny.gguf"), payload))
        assert server.requests == []
    out, err = capsys.readouterr()
    assert code == 2 and "re-run with --yes" in err
    assert f"sha256  {sha256_hex(payload)}" in out and "+  tiny:" in out  # the plan was shown
    assert not box["models"].exists() or not any(box["models"].rglob("*.gguf"))


def test_install_list_and_evict(box: dict[str, Path], payload: bytes,
                                capsys: pytest.CaptureFixture[str]) -> None:
    with serve_files({"tiny.gguf": payload}) as server:
        assert swapdeck(box, *install_args(server.url("tiny.gguf"), payload, "--yes")) == 0
    dest = box["models"] / "tiny.gguf"
    assert dest.read_bytes() == payload
    assert "tiny" in YAML(typ="safe").load(box["llama"].read_text())["models"]
    assert list(box["llama"].parent.glob("llama-swap.yaml.swapdeck-*.bak"))

    capsys.readouterr()
    assert swapdeck(box, "list") == 0
    listing = capsys.readouterr().out
    assert "tiny" in listing and "524.3 kB" in listing and "yes" in listing

    assert swapdeck(box, "list", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in data["state"]["entries"]] == ["tiny"]

    assert swapdeck(box, "evict", "tiny") == 2  # asks first; no terminal
    assert dest.exists()
    assert swapdeck(box, "evict", "tiny", "--yes") == 0
    assert not dest.exists() and box["llama"].read_text() == CONFIG
    assert swapdeck(box, "evict", "tiny", "--yes") == 1
    assert "not in the pool" in capsys.readouterr().err


def test_budget_and_allow_list_gate_installs(box: dict[str, Path], payload: bytes,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert swapdeck(box, "allow", "Qwen") == 0
    assert "now only these are" in capsys.readouterr().out
    url = "http://127.0.0.1:9/tiny.gguf"
    assert swapdeck(box, *install_args(url, payload, "--yes")) == 1
    assert "swapdeck pool allow HuggingFaceTB" in capsys.readouterr().err

    assert swapdeck(box, "allow", "HuggingFaceTB") == 0
    assert swapdeck(box, "budget", "0.0001") == 0
    capsys.readouterr()
    assert swapdeck(box, *install_args(url, payload, "--yes")) == 1
    assert "nothing was deleted" in capsys.readouterr().err
    assert swapdeck(box, "budget", "-1") == 1


def test_catalog_ids_resolve_through_the_shipped_catalog(
        box: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    catalog = pytest.importorskip("swapdeck.pool.catalog")
    entry = catalog.load_catalog().entries[0]
    assert swapdeck(box, "install", entry.id) == 2
    out = capsys.readouterr().out
    assert f"install {entry.id} via llama-swap" in out
    assert f"{entry.repo}/resolve/main/{entry.file}" in out
    assert swapdeck(box, "install", entry.id[:-2]) == 1
    assert "did you mean" in capsys.readouterr().err


def test_bad_config_is_one_line_naming_the_key(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "swapdeck.toml"
    config.write_text('[pool]\ndisk_budget_gb = "lots"\n')
    assert main(["--config", str(config), "pool", "list"]) == 2
    err = capsys.readouterr().err
    assert "pool.disk_budget_gb" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["list"], ["budget", "2"], ["allow", "Qwen"]])
def test_an_unreadable_pool_json_is_one_line_naming_the_file(
        box: dict[str, Path], command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    box["pool"].parent.mkdir(parents=True, exist_ok=True)
    box["pool"].write_text('{"version": "two", "entries": []}')
    assert swapdeck(box, *command) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"swapdeck: {box['pool']}: ") and "Traceback" not in err
    assert err.count("\n") == 1
    assert box["pool"].read_text() == '{"version": "two", "entries": []}'  # nothing lost
