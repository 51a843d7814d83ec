"""The Fleet screen: what a card and a table row say, and how the screen follows events."""

from __future__ import annotations

from swapdeck.events import (
    GpuSample,
    InflightRequest,
    InflightUpsert,
    Liveness,
    LivenessChanged,
    ModelInfo,
    ModelsListed,
    ModelState,
    ModelStateChanged,
    PerfSampled,
)
from swapdeck.fleet.state import FleetState
from swapdeck.tui.screens.fleet import FleetScreen
from swapdeck.tui.widgets.card_lines import CardInput, card_lines, card_rows
from swapdeck.tui.widgets.fleet_table import FleetTable, choose_columns, table_cells
from swapdeck.tui.widgets.fleet_totals import fleet_totals, totals_line
from swapdeck.tui.widgets.host_card import HostCard

from .conftest import (
    NOW,
    FedRuntime,
    host_events,
    make_app,
    make_config,
    screen_text,
    until,
    wait_for_mode,
)

MODELS = {"qwen2.5-7b": ModelState.READY, "llama-3.1-8b": ModelState.STARTING,
          "phi-3-mini": ModelState.STOPPED}


def _state(*events_per_host: list) -> FleetState:  # type: ignore[type-arg]
    state = FleetState()
    for events in events_per_host:
        state.apply_all(events)
    return state


def _card(state: FleetState, name: str, **kwargs: object) -> CardInput:
    values: dict = {"control": True, "is_local": False, "local": None,  # type: ignore[type-arg]
                    "queue": (), "outcomes": (), "now": NOW, **kwargs}
    return CardInput(host=state.host(name), **values)


def _text(card: CardInput, width: int = 76) -> str:
    return "\n".join(line.plain for line in card_lines(card, width))


# --------------------------------------------------------------------------- pure


def test_card_spells_out_states_ttl_and_in_flight() -> None:
    """§4: TTL counts from the last request's end (or from ready); paused while busy."""
    state = _state(host_events("gpu-a", models=MODELS, ttl=300,
                               inflight=[("r1", "llama-3.1-8b", NOW - 12)]))
    text = _text(_card(state, "gpu-a"))
    lines = text.splitlines()
    assert lines[0].startswith("● connected")
    assert "1 in flight, oldest 12s" in lines[0]
    assert "llama-swap v236" in lines[0] and "control" in lines[0]
    ready = next(line for line in lines if "qwen2.5-7b" in line)
    assert ready.split()[0] == "ready"
    # known only from a full list (no ready time, no request yet): the whole TTL is left
    assert "ttl 5m00s" in ready
    starting = next(line for line in lines if "llama-3.1-8b" in line)
    assert starting.split()[0] == "starting" and "1 in flight, oldest 12s" in starting
    assert next(line for line in lines if "phi-3-mini" in line).split()[0] == "stopped"
    assert "gpu0 RTX 4090" not in text  # no name below 90 columns
    assert "vram" in text and "GiB" in text and "util" in text and "°C" in text


def test_ttl_counts_down_from_the_last_request() -> None:
    state = _state(host_events("gpu-a", models={"qwen": ModelState.READY}, ttl=300,
                               requests=1))
    # the one record finished at NOW - 280 → 20 s left
    assert "ttl 20s" in _text(_card(state, "gpu-a"))


def test_unknown_numbers_show_a_dash_never_zero() -> None:
    """§3.1: -1 is llama-swap's 'unknown'."""
    state = _state(host_events("gpu-a", models=MODELS))
    state.apply(PerfSampled("gpu-a", NOW, (), (GpuSample(NOW, 0, "Tesla P40"),)))
    text = _text(_card(state, "gpu-a"))
    gpu_line = next(line for line in text.splitlines() if "vram" in line)
    assert "—/— GiB" not in gpu_line and "vram" in gpu_line and "—" in gpu_line
    assert " 0%" not in text.split("cpu")[0].split("vram")[1]
    cells = table_cells(_card(state, "gpu-a"))
    assert cells["util"].plain.strip() == "—" and cells["temp"].plain == "—"
    assert cells["power"].plain == "—"


def test_down_host_says_when_it_was_last_seen_and_why() -> None:
    state = _state(host_events("gpu-a", models=MODELS))
    state.apply(LivenessChanged("gpu-a", NOW - 5, Liveness.DOWN, attempt=6,
                                last_error="connection refused", last_seen=NOW - 250))
    lines = _text(_card(state, "gpu-a", control=False)).splitlines()
    assert lines[0].startswith("✕ down") and "read-only" in lines[0]
    assert lines[1].strip() == "last seen 4m10s ago  connection refused"
    assert table_cells(_card(state, "gpu-a"))["status"].plain == "✕ down 4m10s"


def test_reconnecting_host_shows_the_attempt() -> None:
    state = _state(host_events("gpu-a", models=MODELS))
    state.apply(LivenessChanged("gpu-a", NOW, Liveness.RECONNECTING, attempt=3,
                                last_error="read timeout", last_seen=NOW - 20))
    assert _text(_card(state, "gpu-a")).startswith("◌ reconnecting (attempt 3)")


def test_many_stopped_models_are_counted_not_listed() -> None:
    models = {f"m{i:02d}": ModelState.STOPPED for i in range(10)} | {"zz": ModelState.READY}
    state = _state(host_events("gpu-a", models=models))
    rows = card_rows(state.host("gpu-a"))
    assert rows[:2] == [None, "zz"]  # loaded first
    assert len(rows) == 1 + 6
    assert "+5 more stopped" in _text(_card(state, "gpu-a"))


def test_selected_model_line_is_marked_without_colour() -> None:
    state = _state(host_events("gpu-a", models=MODELS))
    rows = card_rows(state.host("gpu-a"))
    cursor = rows.index("phi-3-mini")
    line = next(line for line in card_lines(_card(state, "gpu-a", cursor=cursor), 76)
                if "phi-3-mini" in line.plain)
    assert line.plain.startswith("›")


def test_wide_cards_put_a_gpu_on_one_line_narrow_on_two() -> None:
    state = _state(host_events("gpu-a", models=MODELS, gpus=2))
    wide = [line for line in _text(_card(state, "gpu-a"), 150).splitlines() if "gpu" in line]
    narrow = _text(_card(state, "gpu-a"), 60).splitlines()
    assert len(wide) == 2 and all("util" in line for line in wide)
    assert "gpu0 RTX 4090" in wide[0]
    assert all(len(line) <= 60 for line in narrow)


def test_totals_count_hosts_models_rate_and_vram() -> None:
    state = _state(host_events("a", models=MODELS, requests=30),
                   host_events("b", models={"x": ModelState.READY}, gpus=2))
    state.apply(LivenessChanged("b", NOW, Liveness.DOWN, last_error="boom", last_seen=NOW - 9))
    totals = fleet_totals(state.hosts.values(), NOW)
    assert (totals.hosts_connected, totals.hosts_total) == (1, 2)
    assert (totals.models_ready, totals.models_loading) == (2, 1)
    assert totals.requests_per_min == 30 / 5
    assert totals.vram_total_mb == 3 * 24564.0
    assert "1/2 hosts" in totals_line(totals, width=80).plain
    assert "req/min (5m) 6.0" in totals_line(totals, width=160).plain


def test_totals_before_any_host_answered_are_unknown() -> None:
    totals = fleet_totals(FleetState(["a"]).hosts.values(), NOW)
    assert totals.requests_per_min is None and totals.vram_used_mb is None
    assert "— req/min" in totals_line(totals, width=80).plain


def test_table_columns_fit_the_terminal() -> None:
    for width in (80, 120, 160, 200):
        columns = choose_columns(width)
        assert sum(cells + 2 for _, _, cells in columns) <= width
        assert [c[0] for c in columns][:3] == ["host", "status", "models"]


# --------------------------------------------------------------------------- pilot


async def test_cards_follow_events_through_the_hub() -> None:
    config = make_config([("gpu-a", True), ("gpu-b", False)])
    local = config.hosts[0].model_copy(update={"url": "http://127.0.0.1:8080"})
    config = config.model_copy(update={"hosts": (local, config.hosts[1])})
    runtime = FedRuntime(config, host_events("gpu-a", models=MODELS)
                         + host_events("gpu-b", models=MODELS))
    app = make_app(runtime)  # its local reader: a box without the NVIDIA driver
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_mode(app, pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen) and screen.effective_view == "cards"
        cards = {c.host_name: c for c in screen.query(HostCard)}
        assert cards["gpu-b"].border_subtitle == "read-only"

        def card_text(name: str) -> str:
            card = cards[name]
            return "\n".join(line.plain for line in card._lines_for(card.content_size.width))

        # gpu-a is on 127.0.0.1: this machine's own reading shows, or why there is none
        await until(pilot, lambda: "local no NVIDIA driver" in card_text("gpu-a"),
                    "the local line")
        assert "local" not in card_text("gpu-b")
        runtime.hub.emit(ModelStateChanged("gpu-b", NOW, "llama-3.1-8b", ModelState.STARTING,
                                           ModelState.READY))
        runtime.hub.emit(InflightUpsert("gpu-b", NOW, InflightRequest(
            "r9", "llama-3.1-8b", started_at=NOW - 3)))
        await until(pilot, lambda: "ready    llama-3.1-8b  1 in flight, oldest 3s"
                    in card_text("gpu-b"), "the card to show llama ready and busy")
        await pilot.press("q")


async def test_table_view_updates_only_changed_cells() -> None:
    names = [(f"h{i:02d}", i % 2 == 0) for i in range(12)]
    events = [e for name, _ in names for e in host_events(name, models=MODELS)]
    runtime = FedRuntime(make_config(names), events)
    app = make_app(runtime)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_mode(app, pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        assert screen.effective_view == "table"  # 12 cards do not fit 160×48
        table = screen.query_one(FleetTable)
        assert table.row_count == 12
        assert "12/12 connected" in screen_text(app)
        runtime.hub.emit(LivenessChanged("h03", NOW, Liveness.DOWN, attempt=2,
                                         last_error="refused", last_seen=NOW - 61))
        await until(pilot, lambda: "✕ down 1m01s" in str(table.get_cell("h03", "status")),
                    "the h03 row to say down")
        assert "11/12 connected" in screen_text(app)
        await pilot.press("q")


async def test_cursor_view_and_filter_keys() -> None:
    runtime = FedRuntime(make_config([("gpu-a", True), ("gpu-b", True)]),
                         host_events("gpu-a", models=MODELS)
                         + host_events("gpu-b", models={"mistral-24b": ModelState.READY}))
    app = make_app(runtime)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_mode(app, pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        # the cursor walks host lines and model lines, across cards
        assert (screen.sel_host, screen.sel_model) == ("gpu-a", None)
        await pilot.press("j")
        assert (screen.sel_host, screen.sel_model) == ("gpu-a", "llama-3.1-8b")
        await pilot.press("down", "down", "down")
        assert (screen.sel_host, screen.sel_model) == ("gpu-b", None)
        await pilot.press("k")
        assert (screen.sel_host, screen.sel_model) == ("gpu-a", "phi-3-mini")
        # the selected model disappears: the cursor falls back to its host line
        runtime.hub.emit(ModelsListed("gpu-a", NOW, (ModelInfo("qwen2.5-7b", ModelState.READY),)))
        await until(pilot, lambda: card_rows(runtime.state.host("gpu-a")) == [None, "qwen2.5-7b"],
                    "the new model list")
        await pilot.press("j")
        assert (screen.sel_host, screen.sel_model) == ("gpu-a", "qwen2.5-7b")
        # a click selects the line under the mouse (border, status line, then models)
        gpu_b = next(c for c in screen.query(HostCard) if c.host_name == "gpu-b")
        await pilot.click(gpu_b, offset=(6, 2))
        assert (screen.sel_host, screen.sel_model) == ("gpu-b", "mistral-24b")
        await pilot.press("k", "k")
        assert (screen.sel_host, screen.sel_model) == ("gpu-a", "qwen2.5-7b")
        # v: auto → cards → table; Enter on a host line opens its card
        assert (screen.view_mode, screen.effective_view) == ("auto", "cards")
        await pilot.press("v", "v")
        assert (screen.view_mode, screen.effective_view) == ("table", "table")
        table = screen.query_one(FleetTable)
        assert table.display and app.focused is table
        await pilot.press("down", "enter")
        assert (screen.view_mode, screen.effective_view) == ("cards", "cards")
        assert screen.sel_host == "gpu-b" and app.focused is None
        # / filters hosts by name or model; Esc clears
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "fleet-filter"
        await pilot.press(*"mis")
        assert {c.host_name: c.display for c in screen.query(HostCard)} == {
            "gpu-a": False, "gpu-b": True}
        await pilot.press("escape")
        assert all(c.display for c in screen.query(HostCard)) and app.focused is None
        await pilot.press("q")
