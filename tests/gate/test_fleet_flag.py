"""The Fleet view flags hosts whose engine build differs from the pin: the `[gate]` config
section, where the pin is found, and what the card and the table say (pure and on screen).

Host builds come from the upstream log (`b6497`, llama-swap-api.md §1.5 upstream logs); the
pin is compared by its release tag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swapdeck.config import ConfigError, parse_config
from swapdeck.events import ModelState
from swapdeck.fleet.state import FleetState
from swapdeck.gate.lock import EngineLock, write_lock
from swapdeck.gate.settings import (
    GITHUB_RELEASES,
    lock_path,
    pinned_build_name,
    pinned_lock,
)
from swapdeck.tui.widgets.card_lines import CardInput, card_lines, off_pin
from swapdeck.tui.widgets.fleet_table import choose_columns, table_cells
from tests.tui.conftest import NOW, FedRuntime, host_events, make_app, screen_text, until

MODELS = {"qwen2.5-7b": ModelState.READY}


def pin(release: str | None = "b6500", build: str = "b6500-abcdef12") -> EngineLock:
    return EngineLock(build=build, release=release, package=None, version=None,
                      binary="llama-server", sha256="a" * 64, libraries_sha256=None,
                      locked_at="2025-11-22T23:10:00Z")


def test_gate_settings_in_the_config(tmp_path: Path) -> None:
    config = parse_config({}, tmp_path / "config.toml")
    assert config.gate.release_feed == GITHUB_RELEASES and config.gate.lock is None
    assert lock_path(config) == tmp_path / "engine.lock", "beside the config file"
    pinned = parse_config({"gate": {"lock": "pins/fleet.lock"}}, tmp_path / "c.toml")
    assert lock_path(pinned) == tmp_path / "pins" / "fleet.lock"
    absolute = parse_config({"gate": {"lock": str(tmp_path / "x.lock")}}, "<config>")
    assert lock_path(absolute) == tmp_path / "x.lock"
    with pytest.raises(ConfigError, match=r"gate\.release_feed: expected an http"):
        parse_config({"gate": {"release_feed": "ftp://x"}}, "c.toml")
    with pytest.raises(ConfigError, match=r"gate\.colour"):
        parse_config({"gate": {"colour": 1}}, "c.toml")


def test_the_pin_is_read_when_there_and_readable(tmp_path: Path) -> None:
    config = parse_config({}, tmp_path / "config.toml")
    assert pinned_lock(config) is None
    write_lock(tmp_path / "engine.lock", pin())
    assert pinned_lock(config) == pin()
    assert pinned_build_name(pinned_lock(config)) == "b6500"
    assert pinned_build_name(pin(release=None)) == "b6500-abcdef12"
    assert pinned_build_name(None) is None
    (tmp_path / "engine.lock").write_text("not toml [")
    assert pinned_lock(config) is None, "the Fleet view shows no flag; `gate` reports it"


def card(build: str, pinned: str | None) -> CardInput:
    state = FleetState()
    state.apply_all(host_events("gpu-a", models=MODELS, build=build))
    return CardInput(host=state.host("gpu-a"), control=True, is_local=False, local=None,
                     queue=(), outcomes=(), now=NOW, pinned_build=pinned)


def test_card_and_table_flag_a_host_off_the_pin() -> None:
    assert off_pin("b6497", "b6500") and not off_pin("b6500", "b6500")
    assert not off_pin(None, "b6500") and not off_pin("b6497", None)
    off = "\n".join(line.plain for line in card_lines(card("b6497", "b6500"), 100))
    assert "engine b6497 ≠ pin b6500" in off
    on = "\n".join(line.plain for line in card_lines(card("b6500", "b6500"), 100))
    assert "engine b6500" in on and "≠" not in on
    unpinned = "\n".join(line.plain for line in card_lines(card("b6497", None), 100))
    assert "engine b6497" in unpinned and "≠" not in unpinned
    assert table_cells(card("b6497", "b6500"))["engine"].plain == "b6497 ≠ pin"
    assert table_cells(card("b6500", "b6500"))["engine"].plain == "b6500"


def test_the_engine_column_appears_only_with_a_pin() -> None:
    assert "engine" not in [k for k, _, _ in choose_columns(160)]
    keys = [k for k, _, _ in choose_columns(160, engine=True)]
    assert keys.index("engine") == keys.index("inflight") + 1


async def test_the_fleet_table_reads_the_pin_beside_the_config(tmp_path: Path) -> None:
    """The table finds the pin itself (the config's folder); the cards show the flag once the
    Fleet screen passes `CardInput.pinned_build` (the card text is tested above)."""
    write_lock(tmp_path / "engine.lock", pin())
    config = parse_config({"hosts": [
        {"name": name, "url": f"http://{name}.lan:8080"} for name in ("old", "new", "odd")]},
        tmp_path / "config.toml")
    events = [*host_events("old", models=MODELS, build="b6497"),
              *host_events("new", models=MODELS, build="b6500"),
              *host_events("odd", models=MODELS, build="b6400")]
    app = make_app(FedRuntime(config, events), modes=("fleet",))
    async with app.run_test(size=(150, 20)) as pilot:
        await until(pilot, lambda: app.current_mode == "fleet", "the Fleet screen")
        await pilot.press("v", "v")  # auto → cards → table

        def shown() -> bool:
            return "b6400 ≠ pin" in screen_text(app)

        await until(pilot, shown, "the off-pin hosts in the table")
        text = screen_text(app)
        rows = {name: next(line for line in text.splitlines() if f" {name} " in line)
                for name in ("old", "new", "odd")}
    assert "Engine" in text
    assert "b6497 ≠ pin" in rows["old"] and "b6400 ≠ pin" in rows["odd"]
    assert "b6500" in rows["new"] and "≠" not in rows["new"]


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
