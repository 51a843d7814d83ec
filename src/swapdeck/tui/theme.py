"""Themes as data: TOML files turned into Textual `Theme`s, with errors a person can fix.

Bundled themes live in the repository's `themes/` folder (and inside the wheel at
`swapdeck/tui/themes/`); users add their own as `~/.config/swapdeck/themes/<name>.toml`.
A file is a flat table of Textual `Theme` fields plus a `[variables]` table for swapdeck's
own colours (model states, gauges). A bad file never stops the app: `load_themes` returns
the themes that parsed and one `ThemeFileError` per bad file, naming the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from swapdeck.config import default_config_dir

DEFAULT_THEME = "swapdeck-dark"

APP_VARIABLE_DEFAULTS: dict[str, str] = {
    "state-ready": "#3FB950",
    "state-busy": "#D29922",
    "state-stopped": "#8B949E",
    "state-other": "#BC8CFF",
    "gauge-ok": "#3FB950",
    "gauge-warn": "#D29922",
    "gauge-hot": "#F85149",
    "sparkline": "#58A6FF",
}
"""swapdeck's own theme variables with fallbacks, so Textual's built-in themes work too."""

_COLOUR_KEYS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
                "background", "surface", "panel", "boost")
_FLOAT_KEYS = ("luminosity_spread", "text_alpha")
_KNOWN_KEYS = frozenset({"name", "dark", "variables", *_COLOUR_KEYS, *_FLOAT_KEYS})


class ThemeFileError(Exception):
    """A theme file that could not be used: which file, which key, what was expected."""

    def __init__(self, path: Path | str, key: str, expected: str) -> None:
        self.path = str(path)
        self.key = key
        self.expected = expected
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {expected}")


@dataclass
class ThemeLoad:
    themes: list[Theme] = field(default_factory=list)
    problems: list[ThemeFileError] = field(default_factory=list)


def _colour(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(path, key, f"expected a colour string like \"#58A6FF\", got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(path, key,
                             f"expected a colour like \"#58A6FF\", got {value!r}") from None
    return value


def parse_theme(data: Mapping[str, Any], path: Path) -> Theme:
    """One parsed TOML table → a Theme; raises ThemeFileError naming the bad key."""
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ThemeFileError(path, unknown[0],
                             "unknown key (expected Textual Theme fields or [variables])")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(path, "name", f"expected a non-empty string, got {name!r}")
    if "primary" not in data:
        raise ThemeFileError(path, "primary", "expected this key to be set (a colour)")
    colours = {key: _colour(path, key, data[key]) for key in _COLOUR_KEYS if key in data}
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(path, "dark", f"expected true or false, got {dark!r}")
    floats: dict[str, float] = {}
    for key in _FLOAT_KEYS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThemeFileError(path, key, f"expected a number, got {value!r}")
            floats[key] = float(value)
    theme = Theme(name=name.strip(), primary=colours.pop("primary"), dark=dark,
                  variables=_variables(path, data))
    for key, value in colours.items():
        setattr(theme, key, value)  # Theme is a plain dataclass: optional fields by name
    for key, number in floats.items():
        setattr(theme, key, number)
    return theme


def _variables(path: Path, data: Mapping[str, Any]) -> dict[str, str]:
    raw = data.get("variables", {})
    if not isinstance(raw, Mapping):
        raise ThemeFileError(path, "variables", "expected a [variables] table")
    variables: dict[str, str] = {}
    for key, value in raw.items():
        where = f"variables.{key}"
        if key in APP_VARIABLE_DEFAULTS:
            variables[key] = _colour(path, where, value)
        elif isinstance(value, str):
            variables[key] = value  # a Textual variable (e.g. block-cursor-background)
        else:
            raise ThemeFileError(path, where, f"expected a string, got {value!r}")
    return variables


def load_theme_file(path: Path) -> Theme:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThemeFileError(path, "", f"expected a readable file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ThemeFileError(path, "", "expected UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(path, "", f"expected valid TOML ({exc})") from None
    return parse_theme(data, path)


def bundled_themes_dir() -> Path | None:
    """The shipped themes: inside the installed package, else the source checkout's `themes/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "themes", here.parents[2] / "themes"):
        if candidate.is_dir():
            return candidate
    return None


def user_themes_dir() -> Path:
    return default_config_dir() / "themes"


def theme_dirs() -> list[Path]:
    """Bundled first, then the user's: a user file with a bundled name replaces it."""
    bundled = bundled_themes_dir()
    return [*([bundled] if bundled else []), user_themes_dir()]


def load_themes(dirs: Iterable[Path]) -> ThemeLoad:
    result = ThemeLoad()
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                result.themes.append(load_theme_file(path))
            except ThemeFileError as problem:
                result.problems.append(problem)
    return result
