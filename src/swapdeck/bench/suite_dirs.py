"""Where bench suites are found: the person's own folder first, then the shipped ones.

A suite is a TOML file (`suite.py`); one in `~/.config/swapdeck/suites/` with a shipped
suite's file name replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from swapdeck.config import default_config_dir

PREFERRED_SUITE = "smoke.toml"
"""Picked first where a choice is offered: the shortest shipped suite, a look in seconds."""


def bundled_suites_dir() -> Path | None:
    """The shipped suites: inside the installed package (the wheel carries them), else the
    source checkout's `sample-configs/suites/`."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "bench" / "suites",
                      package.parents[1] / "sample-configs" / "suites"):
        if candidate.is_dir():
            return candidate
    return None


def default_suite_dirs() -> list[Path]:
    """The user's suites first: one with a shipped suite's file name replaces it."""
    bundled = bundled_suites_dir()
    return [default_config_dir() / "suites", *([bundled] if bundled else [])]


def find_suites(dirs: Sequence[Path]) -> list[Path]:
    """Every `*.toml` in `dirs`, by file name; the first folder that has a name wins."""
    found: dict[str, Path] = {}
    for folder in dirs:
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.name, path)
    return list(found.values())


def resolve_suite(given: Path, dirs: Sequence[Path] | None = None) -> Path:
    """A suite argument as a file: a path that exists as given, else a name (`smoke`,
    `smoke.toml`) looked up in the suite folders — so `swapdeck bench run smoke` works on a
    wheel install, where the shipped suites live inside the package. Unknown names come
    back unchanged, for the loader to report as a missing file."""
    if given.exists() or given.parent != Path("."):
        return given
    name = given.name if given.suffix == ".toml" else f"{given.name}.toml"
    found = {p.name: p for p in find_suites(default_suite_dirs() if dirs is None else dirs)}
    return found.get(name, given)
