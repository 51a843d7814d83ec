"""Adding and removing a model in a host's llama-swap `config.yaml` without breaking it.

llama-swap-api.md §5: a model is `models.<id>` with a required `cmd` (and optional `name`);
groups (`groups.<g>.members`, or `routing.router.settings.groups`) and
`hooks.on_startup.preload` name models by id.

How the edit stays safe and small:
- the file is parsed with ruamel.yaml (round-trip mode) only to *locate* things; the
  model entry itself is spliced in or cut out as lines of text, so every other byte —
  comments, quoting, flow-style spacing — stays exactly as the user wrote it;
- only when a removed model is still named in a group or preload list is that list edited
  through ruamel's round-trip dump (which keeps comments but may respace flow mappings;
  the diff shows it);
- the result must parse, and must load to exactly the old data plus/minus this one model
  (and its references): anything else — another model lost, an anchor broken — is refused;
- the write is a timestamped backup, then temp file + fsync + rename.
"""

from __future__ import annotations

import copy
import difflib
import io
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from swapdeck.pool.errors import ConfigInvalid, PlanOutdated
from swapdeck.pool.state import write_file_atomically

_COLUMN0_COMMENT = re.compile(r"^#")


@dataclass(frozen=True, slots=True)
class NewModel:
    id: str
    cmd: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class ConfigEdit:
    """A planned edit: exactly what `apply_config_edit` will write, and its diff."""

    path: Path
    old_text: str
    new_text: str

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    @property
    def diff(self) -> str:
        return config_diff(self.old_text, self.new_text, self.path)


def render_model_cmd(template: str, gguf_path: Path) -> str:
    """`PoolSettings.llama_server_cmd` with `{path}` filled in, shell-quoted.

    `str.format` is not used: llama-swap's own `${PORT}` macro contains `{PORT}`.
    """
    return template.replace("{path}", shlex.quote(str(gguf_path)))


def config_diff(old: str, new: str, path: Path | str) -> str:
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{path} (now)", tofile=f"{path} (after)"))


def model_ids(text: str, source: Path | str = "config.yaml") -> list[str]:
    return list(_models_of(_plain(text, source), source))


# --------------------------------------------------------------------------- pure edits


def add_model(text: str, model: NewModel, source: Path | str = "config.yaml") -> str:
    """`text` with a `models.<id>` entry added; unchanged if the same entry is there."""
    before = _plain(text, source)
    existing = _models_of(before, source).get(model.id)
    if existing is not None:
        if isinstance(existing, dict) and existing.get("cmd") == model.cmd:
            return text
        raise ConfigInvalid(source, f"models.{model.id} already exists with another cmd; "
                            "not overwriting a model you configured")
    root = _round_trip(text, source)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    models = root.get("models") if root is not None else None
    if root is None or "models" not in root:
        snippet = "models:\n" + _entry_snippet(model, 2, 2)
        new_text = "".join(lines) + snippet
    elif models is None:
        line = root.lc.key("models")[0]
        new_text = "".join([*lines[:line + 1], _entry_snippet(model, 2, 2), *lines[line + 1:]])
    elif isinstance(models, CommentedMap) and not models.fa.flow_style() and len(models):
        entry_col, child_col = _indents(models)
        end = _last_content_line(lines, root.lc.key("models")[0], _block_end(root, "models",
                                                                               len(lines)))
        snippet = _entry_snippet(model, entry_col, child_col - entry_col)
        new_text = "".join([*lines[:end + 1], snippet, *lines[end + 1:]])
    else:  # `models: {}` or other flow style: let ruamel re-emit that mapping
        root["models"][model.id] = {"name": model.name or model.id, "cmd": model.cmd}
        new_text = _dump(root)
    expected = _with_model(before, model)
    _check_result(new_text, expected, source)
    return new_text


def remove_model(text: str, model_id: str, source: Path | str = "config.yaml") -> str:
    """`text` without `models.<id>` and without the id in groups and preload lists."""
    before = _plain(text, source)
    if model_id not in _models_of(before, source):
        return text
    root = _round_trip(text, source)
    models = root["models"]
    lines = text.splitlines(keepends=True)
    if isinstance(models, CommentedMap) and not models.fa.flow_style():
        keys = list(models)
        start = models.lc.key(model_id)[0]
        following = keys.index(model_id) + 1
        stop = (models.lc.key(keys[following])[0] if following < len(keys)
                else _block_end(root, "models", len(lines)))
        end = _last_content_line(lines, start, stop, keep_any_comment=True)
        new_text = "".join(lines[:start] + lines[end + 1:])
    else:
        del models[model_id]
        new_text = _dump(root)
    expected = _without_model(before, model_id)
    cut = _plain_after_edit(new_text, source)
    if _without_model(cut, model_id) != cut:
        rt = _round_trip(new_text, source)
        _drop_references(rt, model_id)
        new_text = _dump(rt)
    _check_result(new_text, expected, source)
    leftovers = list(_references(expected, model_id))
    if leftovers:
        raise ConfigInvalid(source, f"{model_id} is still named at {leftovers[0]}; "
                            "remove it there by hand first")
    return new_text


# --------------------------------------------------------------------------- disk


def plan_config_edit(path: Path, *, add: Sequence[NewModel] = (),
                     remove: Sequence[str] = ()) -> ConfigEdit:
    """Read `path` and compute the edit; nothing is written."""
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigInvalid(path, "no such llama-swap config; set [pool] llama_swap_config "
                            "to the host's config.yaml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigInvalid(path, f"cannot read it ({exc})") from None
    new = old
    for model_id in remove:
        new = remove_model(new, model_id, path)
    for model in add:
        new = add_model(new, model, path)
    return ConfigEdit(path, old, new)


def backup_path(path: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    candidate = path.with_name(f"{path.name}.swapdeck-{stamp}.bak")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.swapdeck-{stamp}-{counter}.bak")
        counter += 1
    return candidate


def apply_config_edit(edit: ConfigEdit, *, now: datetime) -> Path | None:
    """Back up the current file, then write the new text atomically; returns the backup.

    Refuses if the file changed since the edit was planned (someone else edited it).
    """
    if not edit.changed:
        return None
    try:
        current = edit.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigInvalid(edit.path, f"cannot read it ({exc})") from None
    if current != edit.old_text:
        raise PlanOutdated(str(edit.path), "the llama-swap config changed on disk")
    backup = backup_path(edit.path, now)
    write_file_atomically(backup, current.encode("utf-8"))
    write_file_atomically(edit.path, edit.new_text.encode("utf-8"))
    return backup


# --------------------------------------------------------------------------- helpers


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long cmd line
    return yaml


def _round_trip(text: str, source: Path | str) -> Any:
    try:
        return _round_trip_yaml().load(text)
    except YAMLError as exc:
        raise ConfigInvalid(source, f"not valid YAML ({_first_line(exc)})") from None


def _dump(root: Any) -> str:
    buffer = io.StringIO()
    _round_trip_yaml().dump(root, buffer)
    return buffer.getvalue()


def _plain(text: str, source: Path | str) -> Any:
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise ConfigInvalid(source, f"not valid YAML ({_first_line(exc)})") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigInvalid(source, "expected a mapping at the top level")
    return data


def _models_of(data: Any, source: Path | str) -> dict[str, Any]:
    models = (data or {}).get("models")
    if models is None:
        return {}
    if not isinstance(models, dict):
        raise ConfigInvalid(source, "models: expected a mapping of model id to settings")
    return models


def _with_model(data: Any, model: NewModel) -> Any:
    data = copy.deepcopy(data or {})
    data["models"] = {**(data.get("models") or {}),
                      model.id: {"name": model.name or model.id, "cmd": model.cmd}}
    return data


def _without_model(data: Any, model_id: str) -> Any:
    data = copy.deepcopy(data or {})
    data["models"] = {k: v for k, v in (data.get("models") or {}).items() if k != model_id}
    _drop_references(data, model_id)
    return data


def _group_maps(data: Any) -> list[Any]:
    found = []
    if isinstance(data.get("groups"), dict):
        found.append(data["groups"])
    router = ((data.get("routing") or {}).get("router") or {}) if isinstance(
        data.get("routing"), dict) else {}
    settings = router.get("settings") if isinstance(router, dict) else None
    if isinstance(settings, dict) and isinstance(settings.get("groups"), dict):
        found.append(settings["groups"])
    return found


def _drop_references(data: Any, model_id: str) -> None:
    """Remove `model_id` from group members and the startup preload list, in place; a
    group left without members is removed (an empty group means nothing)."""
    for groups in _group_maps(data):
        for name in list(groups):
            group = groups[name]
            members = group.get("members") if isinstance(group, dict) else None
            if isinstance(members, list) and model_id in members:
                while model_id in members:
                    members.remove(model_id)
                if not members:
                    del groups[name]
    hooks = data.get("hooks")
    startup = hooks.get("on_startup") if isinstance(hooks, dict) else None
    preload = startup.get("preload") if isinstance(startup, dict) else None
    if isinstance(preload, list):
        while model_id in preload:
            preload.remove(model_id)


def _references(data: Any, model_id: str, where: str = "") -> list[str]:
    """Paths of list items equal to `model_id` (e.g. a matrix set we cannot edit safely)."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _references(value, model_id, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if value == model_id:
                found.append(f"{where}[{index}]")
            else:
                found += _references(value, model_id, f"{where}[{index}]")
    return found


def _plain_after_edit(new_text: str, source: Path | str) -> Any:
    try:
        return _plain(new_text, source)
    except ConfigInvalid as exc:
        raise ConfigInvalid(source, "the edit would leave a file that does not parse "
                            f"({exc.reason}); nothing was written") from None


def _check_result(new_text: str, expected: Any, source: Path | str) -> None:
    after = _plain_after_edit(new_text, source)
    if after != expected:
        lost = sorted(set(_models_of(expected, source)) - set(_models_of(after, source)))
        detail = f"models {', '.join(lost)} would be lost" if lost else "other settings changed"
        raise ConfigInvalid(source, f"the edit would change more than intended ({detail}); "
                            "nothing was written")


def _indents(models: CommentedMap) -> tuple[int, int]:
    """Column of the model ids, and of the keys inside an entry (from the first entry)."""
    first = next(iter(models))
    entry_col = int(models.lc.key(first)[1])
    child = models[first]
    if isinstance(child, CommentedMap) and len(child) and not child.fa.flow_style():
        return entry_col, int(child.lc.key(next(iter(child)))[1])
    return entry_col, entry_col + 2


def _block_end(root: CommentedMap, key: str, n_lines: int) -> int:
    """Line index where the top-level `key`'s block ends (the next top-level key's line)."""
    start = root.lc.key(key)[0]
    later = [root.lc.key(k)[0] for k in root if root.lc.key(k)[0] > start]
    return min(later, default=n_lines)


def _last_content_line(lines: list[str], start: int, stop: int, *,
                       keep_any_comment: bool = False) -> int:
    """The last line in [start, stop) that is not blank nor a trailing comment."""
    end = stop - 1
    while end > start:
        stripped = lines[end].strip()
        is_comment = stripped.startswith("#") and (
            keep_any_comment or _COLUMN0_COMMENT.match(lines[end]) is not None)
        if stripped and not is_comment:
            break
        end -= 1
    return end


def _entry_snippet(model: NewModel, entry_col: int, child_step: int) -> str:
    yaml = _round_trip_yaml()
    yaml.indent(mapping=max(1, child_step))
    buffer = io.StringIO()
    yaml.dump({model.id: {"name": model.name or model.id, "cmd": model.cmd}}, buffer)
    pad = " " * entry_col
    return "".join(pad + line if line.strip() else line
                   for line in buffer.getvalue().splitlines(keepends=True))


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]
