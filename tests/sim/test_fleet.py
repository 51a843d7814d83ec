"""The demo fleet and the swapdeck config it renders."""

from __future__ import annotations

import tomllib

from swapdeck.config import parse_config
from swapdeck.sim import DEMO_FLEET, Era, SimFleet, SimHostSpec

from .conftest import FAST_MODELS, wait_for


def test_demo_fleet_covers_every_era() -> None:
    assert {Era(spec.era) for spec in DEMO_FLEET} == set(Era)
    assert sum(spec.flap for spec in DEMO_FLEET) == 1
    assert any(spec.api_key for spec in DEMO_FLEET)
    assert any(spec.gpus == 2 and Era(spec.era) is Era.V250 for spec in DEMO_FLEET)


async def test_fleet_starts_serves_and_renders_a_valid_config(tmp_path: object) -> None:
    specs = [SimHostSpec("one", "v250", seed=1, api_key="sk-one", models=FAST_MODELS,
                         rate_per_s=50.0),
             SimHostSpec("two", "v200", seed=2, models=FAST_MODELS, rate_per_s=50.0)]
    fleet = await SimFleet.start(specs)
    try:
        await wait_for(lambda: all(h.served >= 3 for h in fleet.hosts.values()), timeout=10)
        text = fleet.render_config(data_dir=str(tmp_path))
        config = parse_config(tomllib.loads(text))
    finally:
        await fleet.stop()
    assert [h.name for h in config.hosts] == ["one", "two"]
    assert config.hosts[0].url == fleet.hosts["one"].url
    assert config.hosts[0].api_key == "sk-one" and config.hosts[1].api_key is None
    assert all(h.control and h.kind.value == "llama-swap" for h in config.hosts)
    assert str(config.data_dir) == str(tmp_path)
