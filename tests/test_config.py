"""Config: found where documented; a bad one names the file, the key and the expectation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from swapdeck.cli import main
from swapdeck.config import ConfigError, find_config, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_config_loads() -> None:
    config = load_config(REPO / "sample-configs" / "swapdeck.toml")
    assert [h.name for h in config.hosts] == ["gpu-box", "lab-3090"]
    assert config.hosts[0].control is True
    assert config.hosts[1].verify_tls is True and config.hosts[1].control is False


def test_sample_configs_commented_keys_are_valid_too(tmp_path: Path) -> None:
    """Every `# key = value` and `# [table]` in the sample is a real, well-typed option."""
    sample = (REPO / "sample-configs" / "swapdeck.toml").read_text(encoding="utf-8")
    option = re.compile(r"^# (\[[a-z.]+\]|[a-z_]+ = .*)$")
    lines = [line[2:] if option.match(line) else line for line in sample.splitlines()]
    assert sum(1 for line in sample.splitlines() if option.match(line)) >= 8
    config = load_config(write(tmp_path, "\n".join(lines)))
    assert config.pool.hardware is not None and config.gate.lock is not None
    assert config.collector.bearer_token_env == "SWAPDECK_METRICS_TOKEN"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[[hosts]]\nname = "a"\nurl = "gpu1:8080"\n', "hosts[0].url", "http:// or https:// URL"),
        ('[[hosts]]\nname = "a"\n', "hosts[0].url", "expected this key to be set"),
        ('[[hosts]]\nname = "a"\nurl = "http://x"\ncolour = 1\n', "hosts[0].colour", "unknown key"),
        ('[[hosts]]\nname = "a"\nurl = "http://x"\ncontrol = "yes"\n', "hosts[0].control",
         "expected a valid boolean"),
        ('[[hosts]]\nname = "a"\nurl = "http://x"\n[[hosts]]\nname = "a"\nurl = "http://y"\n',
         "hosts", "unique host names"),
        ('[history]\nactivity_retention_days = 0\n', "history.activity_retention_days",
         "greater than 0"),
    ],
)
def test_bad_config_names_file_key_and_expectation(tmp_path: Path, text: str, key: str,
                                                   expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == str(path)
    assert caught.value.key == key
    assert expected in caught.value.expected
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected valid TOML"):
        load_config(write(tmp_path, "[[hosts]\n"))
    with pytest.raises(ConfigError, match="expected a readable TOML file"):
        load_config(tmp_path / "nope.toml")


def test_api_key_sources(tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    key_file.write_text("sk-from-file\n")
    config = load_config(write(tmp_path, f"""
[[hosts]]
name = "env"
url = "http://a"
api_key_env = "SWAPDECK_TEST_KEY"
[[hosts]]
name = "file"
url = "http://b"
api_key_file = "{key_file}"
[[hosts]]
name = "none"
url = "http://c"
"""))
    assert config.host("env").resolve_api_key({"SWAPDECK_TEST_KEY": "sk-env"}) == "sk-env"
    assert config.host("file").resolve_api_key({}) == "sk-from-file"
    assert config.host("none").resolve_api_key({}) is None
    with pytest.raises(ConfigError, match="SWAPDECK_TEST_KEY to be set"):
        config.host("env").resolve_api_key({})
    assert "sk-env" not in repr(config.host("env"))


def test_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "swapdeck").mkdir(parents=True)
    (xdg / "swapdeck" / "config.toml").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.delenv("SWAPDECK_CONFIG", raising=False)
    assert find_config() == xdg / "swapdeck" / "config.toml"
    monkeypatch.setenv("SWAPDECK_CONFIG", str(tmp_path / "env.toml"))
    assert find_config() == tmp_path / "env.toml"
    assert find_config(tmp_path / "flag.toml") == tmp_path / "flag.toml"


def test_cli_reports_bad_config_without_traceback(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[[hosts]]\nname = "a"\nurl = "nope"\n')
    assert main(["--config", str(path), "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"swapdeck: config error: {path}: hosts[0].url: ")
    assert "Traceback" not in err
