"""Editing a user's llama-swap config.yaml (llama-swap-api.md §5): minimal diffs, comments
kept, backups, atomic writes, and refusals when an edit would break or lose anything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from swapdeck.pool.errors import ConfigInvalid, PlanOutdated
from swapdeck.pool.installers.llamaswap_config import (
    NewModel,
    add_model,
    apply_config_edit,
    model_ids,
    plan_config_edit,
    remove_model,
    render_model_cmd,
)

# The §5 fixture, with the comments and hand formatting a real user's file has.
CONFIG = """\
# llama-swap on gpu1 — hand edited, keep the comments!
healthCheckTimeout: 60
logLevel: info
startPort: 10001
metricsMaxInMemory: 500
captureBuffer: 5
globalTTL: 0
apiKeys: ["sk-test-key"]

models:
  # the daily driver
  "qwen3-30b":
    name: "Qwen3 30B A3B"
    cmd: /opt/llama.cpp/llama-server --port ${PORT} -m /models/qwen3-30b.gguf -ngl 99
    aliases: ["qwen"]
    ttl: 300   # five minutes
  "nomic-embed":
    cmd: /opt/llama.cpp/llama-server --port ${PORT} -m /models/nomic.gguf --embedding
    unlisted: true
# groups keep the embedder loaded beside the chat model
groups:
  "chat":  {swap: true, exclusive: true, members: ["qwen3-30b"]}
  "embed": {swap: false, exclusive: false, persistent: true, members: ["nomic-embed"]}
peers:
  "box2": {proxy: "http://192.168.1.23:8080", models: ["llama-8b"]}
"""

SMOL = NewModel("smollm2-135m",
                render_model_cmd("llama-server --port ${PORT} -m {path}",
                                 Path("/srv/my models/SmolLM2-135M-Instruct-Q4_1.gguf")),
                "SmolLM2 135M Instruct")
NOW = datetime(2026, 11, 22, 21, 58, 27, 123456, tzinfo=UTC)


def load(text: str) -> dict[str, object]:
    data = YAML(typ="safe").load(text)
    assert isinstance(data, dict)
    return data


def diff_lines(old: str, new: str, sign: str) -> list[str]:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    if sign == "+":
        return [line for line in new_lines if line not in old_lines]
    return [line for line in old_lines if line not in new_lines]


def test_cmd_template_keeps_the_port_macro_and_quotes_the_path() -> None:
    """§5: `${PORT}` is llama-swap's macro and must reach config.yaml untouched."""
    assert SMOL.cmd == ("llama-server --port ${PORT} -m "
                        "'/srv/my models/SmolLM2-135M-Instruct-Q4_1.gguf'")


def test_add_only_adds_the_entry_and_keeps_every_other_byte() -> None:
    new = add_model(CONFIG, SMOL)
    assert diff_lines(CONFIG, new, "-") == []
    assert diff_lines(CONFIG, new, "+") == [
        "  smollm2-135m:",
        "    name: SmolLM2 135M Instruct",
        f"    cmd: {SMOL.cmd}",
    ]
    models = load(new)["models"]
    assert isinstance(models, dict)
    assert models["smollm2-135m"] == {"name": SMOL.name, "cmd": SMOL.cmd}
    assert list(models) == ["qwen3-30b", "nomic-embed", "smollm2-135m"]
    # the comment that introduces `groups:` stays above `groups:`
    lines = new.splitlines()
    assert lines[lines.index("groups:") - 1].startswith("# groups keep")


def test_add_is_idempotent_but_never_overwrites_a_user_model() -> None:
    once = add_model(CONFIG, SMOL)
    assert add_model(once, SMOL) == once
    with pytest.raises(ConfigInvalid, match="already exists with another cmd"):
        add_model(CONFIG, NewModel("qwen3-30b", "llama-server -m other.gguf"))


def test_add_to_configs_without_models() -> None:
    bare = "logLevel: info\n"
    assert load(add_model(bare, SMOL))["models"] == {
        "smollm2-135m": {"name": SMOL.name, "cmd": SMOL.cmd}}
    empty = "models:\n# nothing yet\nlogLevel: info"
    assert model_ids(add_model(empty, SMOL)) == ["smollm2-135m"]
    flow = "models: {}\nlogLevel: info\n"
    assert model_ids(add_model(flow, SMOL)) == ["smollm2-135m"]


def test_remove_cuts_the_entry_and_its_group_membership() -> None:
    """§4/§5: groups name their members by model id; an emptied group is dropped."""
    new = remove_model(CONFIG, "nomic-embed")
    data = load(new)
    assert model_ids(new) == ["qwen3-30b"]
    assert data["groups"] == {"chat": {"swap": True, "exclusive": True,
                                       "members": ["qwen3-30b"]}}
    assert data["peers"] == load(CONFIG)["peers"]
    for comment in ("# llama-swap on gpu1", "# the daily driver", "# five minutes",
                    "# groups keep"):
        assert comment in new


def test_remove_without_references_is_a_pure_cut() -> None:
    config = CONFIG.replace('members: ["nomic-embed"]', 'members: ["qwen3-30b"]')
    new = remove_model(add_model(config, SMOL), SMOL.id)
    assert new == config


def test_remove_drops_the_id_from_the_startup_preload() -> None:
    config = CONFIG + "hooks:\n  on_startup:\n    preload: [\"nomic-embed\", \"qwen3-30b\"]\n"
    hooks = load(remove_model(config, "nomic-embed"))["hooks"]
    assert hooks == {"on_startup": {"preload": ["qwen3-30b"]}}


def test_remove_refuses_when_the_id_is_named_where_we_cannot_edit_safely() -> None:
    config = CONFIG + "matrix:\n  sets:\n    pair: [\"qwen3-30b\", \"nomic-embed\"]\n"
    with pytest.raises(ConfigInvalid, match=r"still named at matrix\.sets\.pair\[1\]"):
        remove_model(config, "nomic-embed")


def test_an_edit_that_would_break_another_model_is_refused() -> None:
    config = ("models:\n"
              "  a:\n    cmd: &shared llama-server --port ${PORT} -m /m/a.gguf\n"
              "  b:\n    cmd: *shared\n")
    with pytest.raises(ConfigInvalid, match="nothing was written"):
        remove_model(config, "a")


def test_a_config_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ConfigInvalid, match="not valid YAML"):
        add_model("models:\n  a: [unclosed\n", SMOL)
    with pytest.raises(ConfigInvalid, match="models: expected a mapping"):
        add_model("models: [a, b]\n", SMOL)


def test_plan_then_apply_backs_up_and_writes_atomically(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    edit = plan_config_edit(path, add=[SMOL], remove=["nomic-embed"])
    assert path.read_text() == CONFIG, "planning writes nothing"
    assert f"+    cmd: {SMOL.cmd}" in edit.diff and '-  "nomic-embed":' in edit.diff

    backup = apply_config_edit(edit, now=NOW)
    assert backup is not None
    assert backup.name == "config.yaml.swapdeck-20261122T215827123456Z.bak"
    assert backup.read_text() == CONFIG
    assert path.read_text() == edit.new_text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", backup.name]

    again = plan_config_edit(path, add=[SMOL])
    assert not again.changed and apply_config_edit(again, now=NOW) is None


def test_apply_refuses_when_the_file_changed_since_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    edit = plan_config_edit(path, add=[SMOL])
    path.write_text(CONFIG + "# edited by someone else\n")
    with pytest.raises(PlanOutdated):
        apply_config_edit(edit, now=NOW)
    assert path.read_text().endswith("# edited by someone else\n")
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_missing_config_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid, match="llama_swap_config"):
        plan_config_edit(tmp_path / "nope.yaml", add=[SMOL])
