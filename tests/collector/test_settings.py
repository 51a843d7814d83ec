"""The `[collector]` table and the failures a person can fix: one line, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from swapdeck.cli import main
from swapdeck.collector.errors import CollectorError
from swapdeck.collector.service import CollectorService
from swapdeck.config import ConfigError, parse_config


def test_defaults_are_loopback_and_open() -> None:
    settings = parse_config({}).collector
    assert settings.bind == "127.0.0.1"
    assert settings.resolve_bearer_token({}) is None


def test_token_sources(tmp_path: Path) -> None:
    key_file = tmp_path / "token"
    key_file.write_text("from-file\n", encoding="utf-8")
    assert parse_config({"collector": {"bearer_token_file": str(key_file)}}) \
        .collector.resolve_bearer_token() == "from-file"
    env = parse_config({"collector": {"bearer_token_env": "SCRAPE_TOKEN"}}).collector
    assert env.resolve_bearer_token({"SCRAPE_TOKEN": "from-env"}) == "from-env"
    with pytest.raises(ConfigError, match="SCRAPE_TOKEN to be set"):
        env.resolve_bearer_token({})
    missing = parse_config({"collector": {"bearer_token_file": str(tmp_path / "nope")}})
    with pytest.raises(ConfigError, match=r"collector\.bearer_token_file: expected a readable"):
        missing.collector.resolve_bearer_token()


@pytest.mark.parametrize(("table", "message"), [
    ({"port": 70000}, "collector.port: expected"),
    ({"bearer_token": "a", "bearer_token_env": "B"}, "at most one of"),
    ({"max_models_per_host": 0}, "collector.max_models_per_host: expected"),
    ({"listen": "0.0.0.0"}, "collector.listen: unknown key"),
])
def test_bad_tables_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"collector": table}, "swapdeck.toml")


async def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = parse_config({"data_dir": str(tmp_path), "collector": {"port": port}})
        with pytest.raises(CollectorError, match=f"cannot listen on 127.0.0.1:{port}"):
            async with CollectorService(config):
                pass


def test_attach_without_history_says_what_to_run(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "swapdeck.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[[hosts]]\nname = "a"\n'
                      'url = "http://127.0.0.1:9"\n', encoding="utf-8")
    assert main(["--config", str(config), "attach"]) == 1
    assert "start `swapdeck collect`" in capsys.readouterr().err
