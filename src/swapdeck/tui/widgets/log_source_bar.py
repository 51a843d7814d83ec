"""The Logs screen's top bar: which host, which log, and the regex filter.

Sources are llama-swap's own (§1.6, §2.2): the proxy log, the upstream log (the model
processes' output, ANSI colours and all) and one log per model (`/logs/stream/<model>`).
Their values are the state's log keys (`proxy`, `upstream`, `model:<id>`).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Select

from swapdeck.events import LogSource
from swapdeck.fleet.state import log_key

BUILTIN_SOURCES = (("proxy log", LogSource.PROXY.value),
                   ("upstream log", LogSource.UPSTREAM.value))


def source_options(models: Sequence[str]) -> list[tuple[str, str]]:
    return [*BUILTIN_SOURCES,
            *((f"model: {model}", log_key(LogSource.MODEL, model)) for model in models)]


class LogSourceBar(Horizontal):
    DEFAULT_CSS = """
    LogSourceBar {
        height: 1;
        background: $panel;
        & > Label { padding: 0 1; color: $text-muted; }
        & > #log-host { width: 22; }
        & > #log-source { width: 34; margin-left: 1; }
        & > #log-filter { width: 1fr; margin-left: 1; }
    }
    """

    class SourceChanged(Message):
        def __init__(self, host: str | None, source: str) -> None:
            super().__init__()
            self.host = host
            self.source = source

    class PatternChanged(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class PatternDone(Message):
        """Enter in the filter: back to the log."""

    def __init__(self, hosts: Sequence[str], host: str | None, models: Sequence[str],
                 source: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hosts = tuple(hosts)
        self._host = host
        self._sources = tuple(source_options(models))
        self._source = source

    def compose(self) -> ComposeResult:
        # Built with the screen's choice as their value: selectors report their start-up
        # value, and it must be the one the screen already shows.
        yield Label("log")
        yield Select[str](((name, name) for name in self._hosts), prompt="no hosts",
                          value=self._host if self._host in self._hosts else Select.NULL,
                          allow_blank=not self._hosts, compact=True, id="log-host")
        known = any(value == self._source for _, value in self._sources)
        yield Select[str](self._sources, value=self._source if known else Select.NULL,
                          allow_blank=False, compact=True, id="log-source")
        yield Input(placeholder="regex filter (/)", compact=True, id="log-filter")

    @property
    def host(self) -> str | None:
        value = self.query_one("#log-host", Select).value
        return value if isinstance(value, str) else None

    @property
    def source(self) -> str:
        value = self.query_one("#log-source", Select).value
        return value if isinstance(value, str) else LogSource.PROXY.value

    def set_hosts(self, hosts: Sequence[str]) -> None:
        if tuple(hosts) != self._hosts:
            self._hosts = tuple(hosts)
            self._set_options("#log-host", [(name, name) for name in hosts])

    def set_models(self, models: Sequence[str]) -> None:
        options = tuple(source_options(models))
        if options != self._sources:
            self._sources = options
            self._set_options("#log-source", options)

    def _set_options(self, selector: str, options: Sequence[tuple[str, str]]) -> None:
        # Only the choices change here, never the choice: the selector's own value is kept
        # (a pick the screen has not handled yet must not be overwritten by a refresh).
        select: Select[str] = self.query_one(selector, Select)
        keep = select.value
        with select.prevent(Select.Changed):
            select.set_options(options)
            if any(value == keep for _, value in options):
                select.value = keep

    def show_source(self, source: str) -> None:
        """Point the source selector at `source` (the screen chose it), quietly."""
        select: Select[str] = self.query_one("#log-source", Select)
        if select.value != source and any(value == source for _, value in self._sources):
            with select.prevent(Select.Changed):
                select.value = source

    def focus_filter(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value if isinstance(event.value, str) else None
        if event.select.id == "log-host":
            self.post_message(self.SourceChanged(value, self.source))
        elif value is not None:
            self.post_message(self.SourceChanged(self.host, value))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.PatternChanged(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.PatternDone())
