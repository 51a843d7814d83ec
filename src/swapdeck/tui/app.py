"""swapdeck's Textual app: modes (screens) on 1–5, help, filter, palette, actions, themes.

`SwapdeckApp(runtime_factory)` opens the data plane itself (in a worker, so the first frame
never waits on SQLite or the network) and closes it on quit: the runtime's `__aexit__`
flushes history, and quitting awaits it. `run_app(config, theme)` is the plain `swapdeck`
with a config; `run_demo(data_dir, theme)` runs the same app against a simulated fleet
started in this process on loopback.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from swapdeck.config import Config, ConfigError, parse_config
from swapdeck.events import Liveness
from swapdeck.fleet.actions import ActionKind, ActionRefused, ActionStatus, describe_effect
from swapdeck.fleet.state import FleetState
from swapdeck.sources.local import LocalReading
from swapdeck.tui.clock import Clock
from swapdeck.tui.modals import ConfirmActionModal
from swapdeck.tui.screens import RuntimeLike
from swapdeck.tui.screens.fleet import FleetScreen
from swapdeck.tui.screens.help import HelpScreen, collect_key_help
from swapdeck.tui.theme import APP_VARIABLE_DEFAULTS, DEFAULT_THEME, load_themes, theme_dirs
from swapdeck.tui.widgets.palette import FleetCommands

RuntimeFactory = Callable[[], AbstractAsyncContextManager[RuntimeLike]]


@dataclass(frozen=True, slots=True)
class ModeSpec:
    key: str
    name: str
    title: str
    module: str
    screen_class: str


MODE_SPECS: tuple[ModeSpec, ...] = (
    ModeSpec("1", "fleet", "Fleet", "swapdeck.tui.screens.fleet", "FleetScreen"),
    ModeSpec("2", "activity", "Activity", "swapdeck.tui.screens.activity", "ActivityScreen"),
    ModeSpec("3", "logs", "Logs", "swapdeck.tui.screens.logs", "LogsScreen"),
    ModeSpec("4", "bench", "Bench", "swapdeck.tui.screens.bench", "BenchScreen"),
    ModeSpec("5", "pool", "Pool", "swapdeck.tui.screens.pool", "PoolScreen"),
)
"""Screens as modes: a mode whose module is not there (yet) gets no key and no command."""


def resolve_screen(spec: ModeSpec) -> tuple[type[Screen[Any]] | None, str]:
    """The screen class for a mode, or None and why (empty when the module just isn't there)."""
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        if exc.name == spec.module:
            return None, ""
        return None, f"{spec.title} screen unavailable: {exc}"
    except Exception as exc:  # a sibling's screen mid-build must not take the app down
        return None, f"{spec.title} screen unavailable: {type(exc).__name__}: {exc}"
    screen = getattr(module, spec.screen_class, None)
    if screen is None:
        return None, f"{spec.title} screen unavailable: no {spec.screen_class} in {spec.module}"
    return screen, ""


class StartingScreen(Screen[None]):
    """What shows while the history opens and hosts are dialled — or why that failed."""

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("swapdeck — opening history and connecting to hosts…",
                                    "dim"), id="starting-message")
        yield Footer(compact=True)

    def show_error(self, message: str) -> None:
        self.query_one("#starting-message", Static).update(Content.assemble(
            ("swapdeck could not start: ", "bold $error"), message, "\n\n",
            ("q quits", "dim")))


def _screen_factory(screen_class: type[Screen[Any]], runtime: RuntimeLike,
                    clock: Clock) -> Callable[[], Screen[Any]]:
    """Every mode's screen is built as `Screen(runtime, clock)`."""
    build: Callable[[RuntimeLike, Clock], Screen[Any]] = screen_class
    return partial(build, runtime, clock)


SCREENS_GROUP = Binding.Group("Screens", compact=True)
"""The number keys share one footer entry ("1234 Screens"): 80 columns are few."""


def _mode_bindings() -> list[BindingType]:
    return [Binding(spec.key, f"goto('{spec.name}')", spec.title, id=f"mode.{spec.name}",
                    group=SCREENS_GROUP)
            for spec in MODE_SPECS]


class SwapdeckApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "swapdeck"
    COMMANDS = App.COMMANDS | {FleetCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        *_mode_bindings(),
        Binding("question_mark", "show_keys", "Keys", id="app.keys"),
        Binding("slash", "focus_filter", "Filter", id="app.filter", show=False),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, runtime_factory: RuntimeFactory, *, clock: Clock = time.time,
                 theme: str | None = None,
                 local_reader: Callable[[float], LocalReading] | None = None,
                 theme_folders: Sequence[Path] | None = None,
                 modes: Sequence[str] | None = None) -> None:
        """`modes` limits the screens registered (default: every one that exists)."""
        super().__init__()
        self.runtime_factory = runtime_factory
        self.clock = clock
        self.requested_theme = theme
        self.local_reader = local_reader
        """Injected NVML/psutil reader (tests); None: the Fleet screen probes this machine."""
        self._theme_folders = theme_folders
        self._wanted_modes = None if modes is None else set(modes)
        self.runtime: RuntimeLike | None = None
        self.startup_error = ""
        self.shutdown_error = ""
        self.loaded_themes: list[str] = []
        self._exit_stack = AsyncExitStack()
        self._closed = False
        self._modes_ready: list[ModeSpec] = []
        self._announced: set[int] = set()

    # ------------------------------------------------------------------ start and stop

    def get_default_screen(self) -> Screen[Any]:
        return StartingScreen(id="_default")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(APP_VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self._load_themes()
        self._open_runtime()
        self.set_interval(0.5, self._announce_outcomes)

    def _load_themes(self) -> None:
        folders = self._theme_folders if self._theme_folders is not None else theme_dirs()
        loaded = load_themes(folders)
        for theme in loaded.themes:
            self.register_theme(theme)
            if theme.name not in self.loaded_themes:
                self.loaded_themes.append(theme.name)
        for problem in loaded.problems:
            self.notify(str(problem), title="Theme file skipped", severity="warning", timeout=15)
        wanted = self.requested_theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            names = ", ".join(sorted(self.available_themes))
            self.notify(f"No theme named {wanted!r}; available: {names}",
                        title="Theme", severity="warning", timeout=15)
            wanted = DEFAULT_THEME
        if wanted in self.available_themes:
            self.theme = wanted

    @work(exclusive=True, group="runtime", exit_on_error=False)
    async def _open_runtime(self) -> None:
        try:
            runtime = await self._exit_stack.enter_async_context(self.runtime_factory())
        except ConfigError as exc:
            self._startup_failed(str(exc))
            return
        except Exception as exc:  # SQLite, disk, a host config we cannot dial: words, no trace
            self._startup_failed(f"{type(exc).__name__}: {exc}" if str(exc)
                                 else type(exc).__name__)
            return
        self.runtime = runtime
        for spec in MODE_SPECS:
            if self._wanted_modes is not None and spec.name not in self._wanted_modes:
                continue
            screen_class, problem = resolve_screen(spec)
            if problem:
                self.notify(problem, severity="warning", timeout=10)
            if screen_class is None:
                continue
            self.add_mode(spec.name, _screen_factory(screen_class, runtime, self.clock))
            self._modes_ready.append(spec)
        self.refresh_bindings()
        await self.switch_mode("fleet")

    def _startup_failed(self, message: str) -> None:
        self.startup_error = message
        if isinstance(self.screen, StartingScreen):
            self.screen.show_error(message)

    async def close_runtime(self) -> None:
        """Stop hosts and flush history; safe to call twice."""
        if not self._closed:
            self._closed = True
            try:
                await self._exit_stack.aclose()
            except Exception as exc:  # quitting must still quit; say what was not saved
                self.shutdown_error = (f"could not close cleanly ({type(exc).__name__}: {exc});"
                                       " the last moments of history may be missing")

    async def action_quit(self) -> None:
        await self.close_runtime()  # the history flush must finish before we go
        code = 1 if self.startup_error else 0
        self.exit(code, return_code=code)

    async def on_unmount(self) -> None:
        await self.close_runtime()  # any other way out (ctrl+c in a test harness…)

    # ------------------------------------------------------------------ modes and keys

    @property
    def modes_ready(self) -> list[str]:
        return [spec.name for spec in self._modes_ready]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "goto":
            return bool(parameters) and parameters[0] in self.modes_ready
        return True

    async def action_goto(self, mode: str) -> None:
        if mode in self.modes_ready:
            await self.switch_mode(mode)

    def action_show_keys(self) -> None:
        self.push_screen(HelpScreen(collect_key_help(self)))

    def action_focus_filter(self) -> None:
        focus_filter = getattr(self.screen, "action_focus_filter", None)
        if callable(focus_filter):
            focus_filter()
        else:
            self.notify("This screen has no filter", timeout=3)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for spec in self._modes_ready:
            yield SystemCommand(f"{spec.title} screen", f"Switch to {spec.title} (key {spec.key})",
                                partial(self.run_action, f"goto('{spec.name}')"))
        for name in self.loaded_themes:
            yield SystemCommand(f"Theme: {name}", "Switch to this swapdeck theme",
                                partial(setattr, self, "theme", name))

    # ------------------------------------------------------------------ fleet commands

    @property
    def fleet_state(self) -> FleetState | None:
        return self.runtime.state if self.runtime is not None else None

    def jump_to_host(self, host: str) -> None:
        self.run_worker(self._jump_to_host(host), exclusive=True, group="jump")

    async def _jump_to_host(self, host: str) -> None:
        await self.switch_mode("fleet")
        if isinstance(self.screen, FleetScreen):
            self.screen.select_host(host)

    def on_fleet_screen_action_requested(self, message: FleetScreen.ActionRequested) -> None:
        self.request_action(message.host, message.kind, message.model)

    def request_action(self, host: str, kind: ActionKind, model: str | None) -> None:
        """Confirm, then queue. A host that is read-only or not connected skips the modal:
        the queue refuses those synchronously, and its refusal is the message shown."""
        runtime = self.runtime
        if runtime is None:
            return
        state = runtime.state.host(host)
        config = next((h for h in runtime.config.hosts if h.name == host), None)
        if config is None or not config.control or state.liveness is not Liveness.CONNECTED:
            self._submit(host, kind, model)
            return
        inflight = state.inflight_for(model) if model else state.inflight_count
        effect = describe_effect(kind, host, model, inflight, state.inflight_count)

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._submit(host, kind, model)

        self.push_screen(ConfirmActionModal(kind, host, model, effect,
                                            runtime.actions.queued(host)), answered)

    def _submit(self, host: str, kind: ActionKind, model: str | None) -> None:
        assert self.runtime is not None
        try:
            action = self.runtime.actions.submit(host, kind, model)
        except ActionRefused as refusal:
            self.notify(str(refusal), title="Not queued", severity="error", timeout=10)
            return
        self.notify(f"{action.describe()} on {host}", title="Queued", timeout=4)

    def _announce_outcomes(self) -> None:
        if self.runtime is None:
            return
        history = self.runtime.actions.history
        for action in history:
            if action.finished_at is None or action.id in self._announced:
                continue
            self._announced.add(action.id)
            done = action.status is ActionStatus.DONE
            detail = "" if done else f" — {action.message}"
            self.notify(f"{action.describe()} on {action.host}: {action.status.value}{detail}",
                        title="Action finished",
                        severity="information" if done else
                        "error" if action.status is ActionStatus.FAILED else "warning",
                        timeout=8)
        if len(self._announced) > 4 * len(history) + 100:
            self._announced &= {a.id for a in history}


# ---------------------------------------------------------------------- entry points


def run_app(config: Config, theme: str | None = None) -> int:
    """`swapdeck` with a config: the cockpit until the user quits; the exit code."""
    from swapdeck.fleet.runtime import FleetRuntime

    app = SwapdeckApp(lambda: FleetRuntime(config), theme=theme or config.theme)
    code = app.run()
    return _report(app, code)


def _report(app: SwapdeckApp, code: int | None) -> int:
    """The exit code, with startup or shutdown trouble printed once the screen is gone."""
    for problem in (app.startup_error, app.shutdown_error):
        if problem:
            print(f"swapdeck: {problem}", file=sys.stderr)
    if app.startup_error or app.shutdown_error:
        return 1
    return code if isinstance(code, int) else 0


def demo_config(rendered_toml: str) -> Config:
    """The simulated fleet's config text (`fleet.render_config(data_dir=…)`) → a Config."""
    return parse_config(tomllib.loads(rendered_toml), "<demo fleet>")


def run_demo(data_dir: Path, theme: str | None) -> int:
    """`swapdeck demo`: start the simulated fleet in-process, run the app, stop the fleet."""
    try:
        return asyncio.run(_run_demo(data_dir, theme))
    except KeyboardInterrupt:
        return 130


async def _run_demo(data_dir: Path, theme: str | None) -> int:
    from swapdeck.fleet.runtime import FleetRuntime
    from swapdeck.sim.catalog_server import start_demo_pool
    from swapdeck.sim.fleet import DEMO_FLEET, start_fleet
    from swapdeck.tui.widgets.pool_runtime import configure_pool

    data_dir.mkdir(parents=True, exist_ok=True)
    fleet = await start_fleet(DEMO_FLEET)
    try:
        pool = await start_demo_pool(data_dir)  # the Pool screen's catalog, on loopback
        try:
            fleet_toml = fleet.render_config(data_dir=str(data_dir))
            config = demo_config(fleet_toml + "\n" + pool.config_toml)
            app = SwapdeckApp(lambda: FleetRuntime(config), theme=theme or config.theme)
            configure_pool(app, catalog=lambda: pool.source)
            code = await app.run_async()
        finally:
            await pool.stop()
    finally:
        await fleet.stop()
    return _report(app, code)
