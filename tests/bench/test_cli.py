"""`swapdeck bench …` end to end: a config pointing at a simulated llama-swap host, a suite
file, a history file in tmp_path; the CLI runs in a thread while the simulator serves."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import swapdeck.cli
from swapdeck.cli import main
from swapdeck.sim import SimHost
from tests.bench.conftest import SimFactory

SUITE = """
name = "cli"
[target]
models = ["fast"]
[grid]
prompt_tokens = [64]
gen_tokens = [6]
concurrency = [1]
[run]
repetitions = 6
warmup = 1
"""


@pytest.fixture(autouse=True)
def bench_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatcher lists command modules; bench is listed by the lead's wiring."""
    if "bench" not in swapdeck.cli.COMMAND_MODULES:
        monkeypatch.setattr(swapdeck.cli, "COMMAND_MODULES",
                            (*swapdeck.cli.COMMAND_MODULES, "bench"))


@contextlib.contextmanager
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


async def cli(*argv: str) -> tuple[int, str, str]:
    def call() -> tuple[int, str, str]:
        with captured() as (out, err):
            code = main(list(argv))
        return code, out.getvalue(), err.getvalue()

    return await asyncio.to_thread(call)


def write_config(tmp_path: Path, host: SimHost) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n[[hosts]]\nname = "sim"\n'
                    f'url = "{host.url}"\n', encoding="utf-8")
    return path


def write_suite(tmp_path: Path, text: str = SUITE) -> Path:
    path = tmp_path / "cli.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_run_list_show_baseline_compare(make_sim: SimFactory, tmp_path: Path) -> None:
    host = await make_sim()
    config, suite = write_config(tmp_path, host), write_suite(tmp_path)

    code, out, err = await cli("--config", str(config), "bench", "run", str(suite), "--json")
    assert code == 0, err
    report = json.loads(out)
    first = report["runs"][0]
    assert first["run"]["host"] == "sim" and first["run"]["model"] == "fast"
    assert first["run"]["status"] == "done" and first["judgement"] is None
    cell = first["cells"][0]
    assert cell["cell"] == "pp64/tg6/c1" and cell["requests"] == 6 and cell["failed"] == 0
    assert cell["metrics"]["tg_norm"]["median"] == pytest.approx(400.0)
    assert set(cell["metrics"]["ttft_ms"]) >= {"p50", "p90", "p95", "p99", "ci_low", "ci_high"}
    first_id = first["run"]["id"]
    assert (tmp_path / "data" / "history.sqlite").is_file()

    code, out, _ = await cli("--config", str(config), "bench", "baseline", str(first_id))
    assert code == 0 and "baseline" in out

    code, out, err = await cli("--config", str(config), "bench", "run", str(suite), "--json")
    assert code == 0, err
    second = json.loads(out)["runs"][0]
    assert second["judgement"]["baseline_run"] == first_id
    tg = [m for c in second["judgement"]["cells"] for m in c["metrics"]
          if m["metric"] == "tg_norm"]
    assert [m["verdict"] for m in tg] == ["PASS"]

    code, out, _ = await cli("--config", str(config), "bench", "list", "--json")
    runs = json.loads(out)["runs"]
    assert [r["id"] for r in runs] == [second["run"]["id"], first_id]
    assert [r["baseline"] for r in runs] == [False, True]

    code, out, _ = await cli("--config", str(config), "bench", "show", str(first_id))
    shown = json.loads(out)  # piped output is JSON
    assert code == 0 and shown["run"]["id"] == first_id
    assert [c["cell"] for c in shown["cells"]] == ["pp64/tg6/c1"]

    # a slower model against the same baseline: compare exits 1 on FAIL
    code, out, err = await cli("--config", str(config), "bench", "run", str(suite),
                               "--model", "slow", "--json")
    assert code == 0, err  # no baseline for sim/slow/cli: nothing to fail against
    slow_id = json.loads(out)["runs"][0]["run"]["id"]
    code, out, _ = await cli("--config", str(config), "bench", "compare", str(first_id),
                             str(slow_id))
    assert code == 1 and "FAIL" in out and "different model" in out
    code, out, _ = await cli("--config", str(config), "bench", "compare", str(first_id),
                             str(second["run"]["id"]), "--json")
    assert code == 0 and json.loads(out)["verdict"] != "FAIL"


async def test_straight_to_a_server_with_url_and_no_config(make_sim: SimFactory,
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    host = await make_sim()
    monkeypatch.delenv("SWAPDECK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "noconfig"))
    db = tmp_path / "h.sqlite"
    code, out, err = await cli("bench", "run", str(write_suite(tmp_path)), "--url", host.url,
                               "--db", str(db), "--json")
    assert code == 0, err
    run = json.loads(out)["runs"][0]["run"]
    assert run["via"] == "llama-server" and run["host"] == host.url.removeprefix("http://")


async def test_a_busy_host_is_not_benchmarked_without_confirmation(make_sim: SimFactory,
                                                                   tmp_path: Path) -> None:
    host = await make_sim()
    for _ in range(3):
        await host.serve_request("fast", output_tokens=4)
    config, suite = write_config(tmp_path, host), write_suite(tmp_path)
    code, _, err = await cli("--config", str(config), "bench", "run", str(suite))
    assert code == 2
    assert "sim finished 3 request(s) in the last minute" in err and "--yes" in err
    code, _, err = await cli("--config", str(config), "bench", "run", str(suite), "--yes",
                             "--json")
    assert code == 0, err


async def test_pollution_from_other_clients_is_recorded(make_sim: SimFactory,
                                                        tmp_path: Path) -> None:
    """Foreign in-flight requests (llama-swap-api §2.2 `inflight`) during the run."""
    host = await make_sim()
    config = write_config(tmp_path, host)
    suite = write_suite(tmp_path, SUITE.replace("repetitions = 6", "repetitions = 15"))
    host.start_traffic(40.0, seed=3)
    try:
        code, out, err = await cli("--config", str(config), "bench", "run", str(suite),
                                   "--yes", "--json")
    finally:
        host.stop_traffic()
    assert code == 0, err
    run = json.loads(out)["runs"][0]["run"]
    assert run["polluted"] is True and run["foreign_requests"]


async def test_expected_failures_are_one_line(make_sim: SimFactory, tmp_path: Path) -> None:
    host = await make_sim()
    config = write_config(tmp_path, host)
    code, _, err = await cli("--config", str(config), "bench", "run", str(tmp_path / "no.toml"))
    assert code == 2 and err.count("\n") == 1 and "expected a readable suite file" in err
    code, _, err = await cli("--config", str(config), "bench", "show", "42")
    assert code == 2 and "no bench run 42" in err and err.count("\n") == 1
    suite = write_suite(tmp_path, SUITE.replace('models = ["fast"]', "models = []"))
    code, _, err = await cli("--config", str(config), "bench", "run", str(suite))
    assert code == 2 and "pass --model or set target.models" in err
    code, _, err = await cli("--config", str(config), "bench", "run", str(write_suite(tmp_path)),
                             "--host", "nope")
    assert code == 2 and "expected a host named 'nope'" in err
    await host.go_down()
    code, _, err = await cli("--config", str(config), "bench", "run", str(write_suite(tmp_path)),
                             "--yes")
    assert code == 2 and "connection failed" in err and err.count("\n") == 1
