"""Themes as TOML data: the bundled ones, user files, bad files, switching, NO_COLOR."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapdeck.events import ModelState
from swapdeck.tui.theme import (
    APP_VARIABLE_DEFAULTS,
    ThemeFileError,
    bundled_themes_dir,
    load_theme_file,
    load_themes,
)

from .conftest import FedRuntime, host_events, make_app, make_config, told, wait_for_mode

GOOD = '''name = "mine"
dark = false
primary = "#112233"
background = "#FAFAFA"
[variables]
state-ready = "#00AA00"
'''


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_themes_load_and_set_every_swapdeck_colour() -> None:
    folder = bundled_themes_dir()
    assert folder is not None
    loaded = load_themes([folder])
    assert loaded.problems == []
    themes = {t.name: t for t in loaded.themes}
    assert {"swapdeck-dark", "swapdeck-light"} <= set(themes)
    assert themes["swapdeck-dark"].dark and not themes["swapdeck-light"].dark
    for theme in themes.values():
        assert set(APP_VARIABLE_DEFAULTS) <= set(theme.variables)
        assert theme.background and theme.foreground and theme.success and theme.error


@pytest.mark.parametrize(("text", "key", "expected"), [
    ('name = "x"\nprimary = "#12"\n', "primary", 'expected a colour like "#58A6FF", got \'#12\''),
    ('name = "x"\nprimary = "#123456"\nprimry = "#123456"\n', "primry", "unknown key"),
    ('name = "x"\nprimary = "#123456"\ndark = "yes"\n', "dark", "expected true or false"),
    ('name = "x"\nprimary = "#123456"\n[variables]\nstate-ready = 3\n', "variables.state-ready",
     "expected a colour string"),
    ('name = "x"\n', "primary", "expected this key to be set"),
    ('name = "x"\nprimary = \n', "", "expected valid TOML"),
])
def test_bad_theme_files_name_the_file_and_the_key(tmp_path: Path, text: str, key: str,
                                                   expected: str) -> None:
    path = _write(tmp_path, "bad.toml", text)
    with pytest.raises(ThemeFileError) as caught:
        load_theme_file(path)
    assert caught.value.path == str(path) and caught.value.key == key
    assert expected in caught.value.expected
    assert str(caught.value).startswith(f"{path}: {key}: " if key else f"{path}: ")


def test_a_bad_file_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    _write(tmp_path, "a-bad.toml", 'primary = "nope"\n')
    _write(tmp_path, "mine.toml", GOOD)
    loaded = load_themes([tmp_path, tmp_path / "missing"])
    assert [t.name for t in loaded.themes] == ["mine"]
    assert [p.key for p in loaded.problems] == ["primary"]
    assert loaded.themes[0].variables == {"state-ready": "#00AA00"}


async def test_user_themes_switching_and_bad_files_in_the_app(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    bad = _write(user, "broken.toml", 'name = "broken"\nprimary = "#123456"\nsurface = 12\n')
    _write(user, "mine.toml", GOOD)
    folder = bundled_themes_dir()
    assert folder is not None
    runtime = FedRuntime(make_config([("gpu-a", True)]),
                         host_events("gpu-a", models={"qwen": ModelState.READY}))
    app = make_app(runtime, theme="mine", theme_folders=[folder, user])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_mode(app, pilot)
        assert app.theme == "mine"
        assert app.theme_variables["state-ready"] == "#00AA00"
        # a variable the user file leaves out falls back to swapdeck's default
        assert app.theme_variables["gauge-hot"] == APP_VARIABLE_DEFAULTS["gauge-hot"]
        await told(pilot, app, f"Theme file skipped: {bad}: surface: expected a colour string")
        assert "broken" not in app.available_themes
        # the command palette's theme commands switch too
        command = next(c for c in app.get_system_commands(app.screen)
                       if c.title == "Theme: swapdeck-light")
        command.callback()
        await pilot.pause()
        assert app.theme == "swapdeck-light" and not app.current_theme.dark
        assert app.theme_variables["state-ready"] == "#1A7F37"
        await pilot.press("q")


async def test_unknown_theme_name_is_reported_and_the_default_kept() -> None:
    runtime = FedRuntime(make_config([("gpu-a", True)]),
                         host_events("gpu-a", models={"qwen": ModelState.READY}))
    app = make_app(runtime, theme="solarized-nope")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_mode(app, pilot)
        assert app.theme == "swapdeck-dark"
        await told(pilot, app, "No theme named 'solarized-nope'; available:")
        await pilot.press("q")


async def test_no_color_keeps_states_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    runtime = FedRuntime(make_config([("gpu-a", True)]), host_events(
        "gpu-a", models={"qwen": ModelState.READY, "phi": ModelState.STOPPED}))
    app = make_app(runtime)
    assert app.no_color
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_mode(app, pilot)
        card = app.screen._cards["gpu-a"]  # type: ignore[attr-defined]
        text = [line.plain for line in card._lines_for(card.content_size.width)]
        assert text[0].startswith("● connected")
        assert any(line.split()[:2] == ["ready", "qwen"] for line in text)
        assert any(line.split()[:2] == ["stopped", "phi"] for line in text)
        await pilot.press("q")
