"""The app shell: modes on number keys, help, filter focus, palette hits, clean quit."""

from __future__ import annotations

from types import TracebackType

from swapdeck.events import ModelState
from swapdeck.fleet.actions import ActionKind
from swapdeck.tui.app import MODE_SPECS, SwapdeckApp, resolve_screen
from swapdeck.tui.modals import ConfirmActionModal
from swapdeck.tui.screens.fleet import FleetScreen
from swapdeck.tui.screens.help import HelpScreen
from swapdeck.tui.widgets.palette import FleetCommands, fleet_commands

from .conftest import (
    FedRuntime,
    host_events,
    make_app,
    make_config,
    screen_text,
    until,
    wait_for_mode,
)

MODELS = {"qwen2.5-7b": ModelState.READY, "phi-3-mini": ModelState.STOPPED}


def _runtime() -> FedRuntime:
    return FedRuntime(make_config([("gpu-a", True), ("gpu-b", False)]),
                      host_events("gpu-a", models=MODELS) + host_events("gpu-b", models=MODELS))


async def test_number_keys_switch_between_the_screens_that_exist() -> None:
    runtime = _runtime()
    app = make_app(runtime)
    available = [spec for spec in MODE_SPECS if resolve_screen(spec)[0] is not None]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_mode(app, pilot)
        assert app.modes_ready == [spec.name for spec in available]
        for spec in reversed(available):
            await pilot.press(spec.key)
            await wait_for_mode(app, pilot, spec.name)
        for spec in MODE_SPECS:  # a screen that is not there (yet): its key does nothing
            if spec not in available:
                await pilot.press(spec.key)
                assert app.current_mode == available[0].name
        assert app.check_action("goto", ("no-such-screen",)) is False
        assert isinstance(app.screen, FleetScreen)
        await pilot.press("q")


async def test_help_lists_every_key_and_slash_focuses_the_filter() -> None:
    app = make_app(_runtime())
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for_mode(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        by_section: dict[str, dict[str, str]] = {}
        for entry in app.screen.entries:
            by_section.setdefault(entry.section, {})[entry.description] = entry.keys
        assert by_section["Fleet"]["Warm"] == "w"
        assert by_section["Fleet"]["Unload all"] == "U"
        assert by_section["Fleet"]["Down"] == "↓ / j"
        assert by_section["Everywhere"]["Fleet"] == "1"
        assert by_section["Everywhere"]["Quit"] == "^q / q"
        assert "Keys" in by_section["Everywhere"] and "Filter" in by_section["Everywhere"]
        text = screen_text(app)
        assert "Unload all" in text and "Everywhere" in text
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)

        assert app.focused is None
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "fleet-filter"
        await pilot.press("q")  # typed into the filter, not a quit
        assert app.is_running and app.screen.query_one("#fleet-filter").value == "q"
        await pilot.press("escape", "q")
    assert app.return_code == 0


async def test_quit_waits_for_the_runtime_to_close() -> None:
    """`q` must not return before the runtime's __aexit__ (the history flush) has run."""
    order: list[str] = []

    class SlowToClose(FedRuntime):
        async def __aexit__(self, exc_type: type[BaseException] | None,
                            exc: BaseException | None, tb: TracebackType | None) -> None:
            order.append("flush started")
            await super().__aexit__(exc_type, exc, tb)
            order.append("flushed")

    runtime = SlowToClose(make_config([("gpu-a", True)]), host_events("gpu-a", models=MODELS))
    app = make_app(runtime)

    def exit_hook(*args: object, **kwargs: object) -> None:
        order.append("exit")
        original_exit(*args, **kwargs)  # type: ignore[arg-type]

    original_exit = app.exit
    app.exit = exit_hook  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_mode(app, pilot)
        await pilot.press("q")
    assert order == ["flush started", "flushed", "exit"]
    assert runtime.closed


async def test_a_runtime_that_cannot_start_says_why() -> None:
    class Broken:
        async def __aenter__(self) -> None:
            raise OSError(13, "Permission denied: '/data/history.sqlite'")

        async def __aexit__(self, *args: object) -> None:
            return None

    app = SwapdeckApp(lambda: Broken())  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: bool(app.startup_error), "the startup error")
        assert app.startup_error == "PermissionError: [Errno 13] Permission denied: " \
            "'/data/history.sqlite'"
        assert "swapdeck could not start: PermissionError" in screen_text(app)
        await pilot.press("q")
    assert app.return_code == 1


async def test_palette_offers_screens_hosts_and_model_actions() -> None:
    runtime = _runtime()
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_mode(app, pilot)
        system = [command.title for command in app.get_system_commands(app.screen)]
        assert "Fleet screen" in system and "Theme: swapdeck-light" in system
        texts = [c.text for c in fleet_commands(runtime.state, app)]
        assert {"Host gpu-b", "Unload qwen2.5-7b on gpu-a", "Warm phi-3-mini on gpu-a",
                "Unload all on gpu-a"} <= set(texts)
        assert "Warm qwen2.5-7b on gpu-a" not in texts  # already ready
        # Through the palette UI: search, pick, and the same confirmation as the keys.
        await pilot.press("ctrl+p")
        await pilot.press(*"warm phi")
        await until(pilot, lambda: "Warm phi-3-mini on gpu-a" in screen_text(app),
                    "the palette hit")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmActionModal), "the modal")
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal)
        assert (modal.kind, modal.host, modal.model) == (ActionKind.WARM, "gpu-a", "phi-3-mini")
        await pilot.press("n")
        app.jump_to_host("gpu-b")
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        await until(pilot, lambda: screen.sel_host == "gpu-b", "the jump to gpu-b")
        assert FleetCommands in app.COMMANDS
        await pilot.press("q")
