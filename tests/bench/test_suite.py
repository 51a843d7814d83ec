"""Suites: parsing the TOML, the grid, and one-line errors naming file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapdeck.bench.suite import CellSpec, load_suite, parse_suite
from swapdeck.config import ConfigError

SAMPLES = Path(__file__).resolve().parents[2] / "sample-configs" / "suites"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_sample_suite_parses(path: Path) -> None:
    suite = load_suite(path)
    assert suite.cells()
    assert suite.name == path.stem


def test_minimal_suite_takes_the_defaults_and_expands_the_grid(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, """
name = "grid"
[grid]
prompt_tokens = [512, 128]
gen_tokens = [32]
concurrency = [4, 1]
"""))
    assert suite.run.repetitions == 10 and suite.run.warmup == 1
    assert suite.run.cache_bust and suite.run.temperature == 0.0
    assert suite.cells() == (CellSpec(128, 32, 1), CellSpec(128, 32, 4), CellSpec(512, 32, 1),
                             CellSpec(512, 32, 4))
    assert CellSpec(128, 32, 4).key == "pp128/tg32/c4"
    # (10 measured + 1 warmup) rounds × concurrency, summed over cells
    assert suite.requests_per_model() == 11 * (1 + 4) * 2


def test_digest_changes_with_the_definition() -> None:
    base = {"name": "d", "grid": {"prompt_tokens": [64], "gen_tokens": [8]}}
    other = {"name": "d", "grid": {"prompt_tokens": [64], "gen_tokens": [16]}}
    assert parse_suite(base).digest() == parse_suite(dict(base)).digest()
    assert parse_suite(base).digest() != parse_suite(other).digest()


@pytest.mark.parametrize(("text", "message"), [
    ('name = "x"\n[grid]\nprompt_tokens = [64]\ngen_tokens = [8]\nconcurrency = [1, 0]\n',
     "suite.toml: grid.concurrency[1]: expected greater than or equal to 1, got 0"),
    ('name = "x"\n[grid]\nprompt_tokens = [64]\ngen_tokens = [8]\nbogus = 1\n',
     "suite.toml: grid.bogus: unknown key (check the spelling against sample-configs/suites/)"),
    ('name = "x"\n', "suite.toml: grid: expected this key to be set"),
    ('name = "x"\n[grid]\nprompt_tokens = [64, 64]\ngen_tokens = [8]\n',
     "suite.toml: grid.prompt_tokens: expected distinct prompt lengths, got [64, 64]"),
    ('name = "x"\n[grid]\nprompt_tokens = []\ngen_tokens = [8]\n',
     "suite.toml: grid.prompt_tokens: expected at least one prompt length"),
    ('name = "x"\n[grid]\nprompt_tokens = [64]\ngen_tokens = [1]\n',
     "suite.toml: grid.gen_tokens[0]: expected greater than or equal to 2, got 1"),
    ('name = "x y"\n[grid]\nprompt_tokens = [64]\ngen_tokens = [8]\n',
     "suite.toml: name: expected 1-64 letters, digits, '.', '_' or '-'"),
    ('name = "x"\n[grid]\nprompt_tokens = [64]\ngen_tokens = [8]\n[run]\nrepetitions = "many"\n',
     "suite.toml: run.repetitions: expected a valid integer"),
    ('name = "x"\n[grid]\nprompt_tokens = [64]\ngen_tokens = [8]\n[slo]\nttft_ms = -5\n',
     "suite.toml: slo.ttft_ms: expected greater than 0, got -5"),
    ("name = [\n", "suite.toml: expected valid TOML"),
])
def test_a_bad_suite_names_the_file_the_key_and_the_expectation(
        tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_suite(write(tmp_path, text))
    assert str(caught.value).startswith(str(tmp_path / message.split(": ", 1)[0]) + ": "
                                        + message.split(": ", 1)[1])
    assert "\n" not in str(caught.value)


def test_a_missing_suite_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: expected a readable suite file"):
        load_suite(tmp_path / "nope.toml")
