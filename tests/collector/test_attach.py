"""Attach mode without a TUI: runtimes that follow a collector's history file read-only see
the past at once and the collector's new rows as they are written — two at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from swapdeck.collector.attach import ATTACHED_REFUSAL, AttachedRuntime
from swapdeck.collector.service import CollectorService
from swapdeck.events import Liveness, ModelState
from swapdeck.fleet.actions import ActionKind, ActionRefused
from swapdeck.history import HistoryError
from swapdeck.sim import SimHost
from swapdeck.sources.base import ActionError

from .conftest import config_for, eventually


async def test_attached_runtimes_see_history_then_live_rows(
        sim_hosts: Callable[..., Awaitable[SimHost]], tmp_path: Path) -> None:
    """§3.1 records, §4 model states and §1.9 perf samples reach an attached view through
    the database only: it never dials the host."""
    host = await sim_hosts("v250", "gpu1", seed=7)
    config = config_for({"gpu1": host}, tmp_path)
    async with CollectorService(config) as collector:
        for _ in range(3):
            await host.serve_request("alpha", prompt_tokens=20, output_tokens=5)
        store = collector.runtime.store
        assert store is not None

        async def written() -> bool:
            return collector.counters.records_counted == 3 and store.pending == 0

        await eventually(written, what="collector wrote three requests")
        await store.flush()

        async with (AttachedRuntime(config, poll_interval_s=0.05) as first,
                    AttachedRuntime(config, poll_interval_s=0.05) as second):
            for view in (first, second):
                past = view.state.host("gpu1")
                assert [r.remote_id for r in past.activity] == host.held_activity_ids()
                assert past.liveness is Liveness.CONNECTED
                assert past.models["alpha"].info.state is ModelState.READY
                assert past.latest_gpus(), "perf from history"
                assert view.hub.connectors.keys() == {"gpu1"}

            # Live: new requests and a model that loads, written by the collector.
            await host.serve_request("beta", prompt_tokens=20, output_tokens=5)
            await host.serve_request("alpha", prompt_tokens=20, output_tokens=5, status=500)

            async def caught_up() -> bool:
                return all(
                    [r.remote_id for r in v.state.host("gpu1").activity]
                    == host.held_activity_ids()
                    and v.state.host("gpu1").models["beta"].info.state is ModelState.READY
                    for v in (first, second))

            await eventually(caught_up, what="both attached views caught up")
            live = first.state.host("gpu1")
            assert [r.status_code for r in live.activity][-2:] == [200, 500]
            assert live.errors_seen == 1
            # Nothing is counted twice between the rebuilt picture and the follower.
            assert live.requests_seen == len(host.held_activity_ids()) == 5

            # Actions are off, with a reason, whichever way they are asked for.
            with pytest.raises(ActionRefused, match="read-only"):
                first.actions.submit("gpu1", ActionKind.UNLOAD, "alpha")
            with pytest.raises(ActionError, match="actions are off"):
                await first.hub.connectors["gpu1"].unload_all()
            assert all(not h.control for h in first.config.hosts)
            assert "actions are off" in ATTACHED_REFUSAL


async def test_attaching_before_any_collector_ran_says_so(tmp_path: Path) -> None:
    config = config_for({}, tmp_path)
    with pytest.raises(HistoryError, match="no such file"):
        async with AttachedRuntime(config):
            pass
