"""Logs: one host's proxy, upstream or per-model log, tailed live, filtered, followable.

Proxy and upstream tails already live in the fleet state (`host.logs[key]`, 2,000 lines,
fed by the SSE `logData` stream, §2.2); the screen appends only what is new, found with
`LogTail.total`, in one batch per refresh (≤ 10 Hz). A per-model log is not on the event
stream: picking one starts a worker on `connector.follow_log(model)` (§1.6
`/logs/stream/<model>`) that fills a local tail; leaving that source cancels it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from itertools import islice
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from swapdeck.events import LogSource
from swapdeck.fleet.state import LOG_WINDOW, LogTail
from swapdeck.sources.http import USER_AGENT
from swapdeck.tui.screens import RuntimeLike
from swapdeck.tui.widgets.log_source_bar import LogSourceBar
from swapdeck.tui.widgets.log_view import LogView

REFRESH_INTERVAL_S = 0.1
MODEL_PREFIX = "model:"
OWN_POLLING = re.compile(
    r'^\[INFO\] Request \S+ "GET /(?:api/|running|health|logs/stream)[^"]*" \d+ \d+ '
    rf'"{re.escape(USER_AGENT)}"')
"""llama-swap's access line (§0) for a read swapdeck itself makes: its activity, version
and `/running` reads would otherwise be half of a busy host's proxy log. Actions (warm,
unload) and bench requests still show."""


def compile_filter(text: str) -> tuple[re.Pattern[str] | None, str]:
    """(pattern, "") or (None, error for a person). Smart case: all-lowercase ignores case."""
    if not text:
        return None, ""
    flags = 0 if any(ch.isupper() for ch in text) else re.IGNORECASE
    try:
        return re.compile(text, flags), ""
    except re.error as exc:
        return None, f"invalid regex {text!r}: {exc}"


def last_lines(tail: LogTail, count: int) -> list[str]:
    return list(islice(tail.lines, max(0, len(tail.lines) - count), None))


class LogsScreen(Screen[None]):
    DEFAULT_CSS = """
    LogsScreen {
        layout: vertical;
        #log-view { height: 1fr; }
        #log-status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
        #log-status.-problem { color: $warning; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "follow", "Follow"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("c", "copy", "Copy"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("o", "toggle_own", "Show or hide swapdeck's own reads", show=False),
        Binding("escape", "focus_log", "Log", show=False),
    ]

    def __init__(self, runtime: RuntimeLike, clock: Callable[[], float]) -> None:
        super().__init__()
        self.runtime = runtime
        self.clock = clock
        self.host: str | None = None
        self.source = LogSource.PROXY.value
        self.new_while_paused = 0
        self.problem = ""
        self._shown_total = 0
        self._counted_total = 0
        self._model_tail: LogTail | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._refresh_scheduled = False
        self._last_refresh = 0.0

    def compose(self) -> ComposeResult:
        names = self._host_names()
        if self.host is None and names:
            self.host = names[0]
        yield LogSourceBar(names, self.host, self._models(), self.source, id="log-bar")
        yield LogView(max_lines=LOG_WINDOW, id="log-view")
        yield Static("", id="log-status", markup=False)
        yield Footer()

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    # ------------------------------------------------------------------ lifecycle

    def _host_names(self) -> list[str]:
        names = [h.name for h in self.runtime.config.hosts]
        names.extend(n for n in self.runtime.state.hosts if n not in names)
        return names

    def on_mount(self) -> None:
        self.view.hidden = OWN_POLLING
        self._sync_bar()
        self._reload()
        self.view.focus()

    def on_screen_resume(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.runtime.hub.subscribe(self._on_hub_wake, min_interval_s=0.1)
        if self.source.startswith(MODEL_PREFIX) and self._model_tail is None:
            self._start_model_log()  # a fresh stream replays the model's history
            self._reload()
        self._request_refresh()

    def on_screen_suspend(self) -> None:
        self._stop_listening()
        self._stop_model_log()

    def on_unmount(self) -> None:
        self._stop_listening()

    def _stop_listening(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_hub_wake(self, changed: frozenset[str]) -> None:
        if self.host in changed:
            self._request_refresh()

    def _request_refresh(self) -> None:
        """At most one refresh per REFRESH_INTERVAL_S, however many wake-ups come."""
        if self._refresh_scheduled:
            return
        self._refresh_scheduled = True
        wait = REFRESH_INTERVAL_S - (time.monotonic() - self._last_refresh)
        self.set_timer(max(0.001, wait), self._refresh_now)

    # ------------------------------------------------------------------ data in

    def _tail(self) -> LogTail | None:
        if self.source.startswith(MODEL_PREFIX):
            return self._model_tail
        host = self.runtime.state.hosts.get(self.host or "")
        return host.logs.get(self.source) if host is not None else None

    def _reload(self) -> None:
        """Show the current source's whole tail (new source, new filter, resume)."""
        tail = self._tail()
        self.view.set_lines(tail.lines if tail is not None else ())
        self._shown_total = self._counted_total = tail.total if tail is not None else 0
        self.new_while_paused = 0
        self._update_status()

    def _refresh_now(self) -> None:
        self._refresh_scheduled = False
        self._last_refresh = time.monotonic()
        self._sync_bar()
        tail = self._tail()
        if tail is not None:
            if self.view.following:
                self._append_new(tail)
            else:
                self._count_new(tail)
        self._update_status()

    def _append_new(self, tail: LogTail) -> None:
        fresh = tail.total - self._shown_total
        if fresh <= 0:
            return
        if fresh > len(tail.lines) or self._shown_total > tail.total:
            self.view.set_lines(tail.lines)  # more arrived than the tail keeps: start over
        else:
            self.view.append_lines(last_lines(tail, fresh))
        self._shown_total = self._counted_total = tail.total

    def _count_new(self, tail: LogTail) -> None:
        fresh = tail.total - self._counted_total
        if fresh <= 0:
            return
        lines = last_lines(tail, min(fresh, len(tail.lines)))
        self.new_while_paused += sum(1 for line in lines if self.view.matches(line))
        self._counted_total = tail.total

    def _sync_bar(self) -> None:
        bar = self.query_one(LogSourceBar)
        bar.set_hosts(self._host_names())
        bar.set_models(self._models())

    def _models(self) -> list[str]:
        host = self.runtime.state.hosts.get(self.host or "")
        models = sorted(host.models) if host is not None else []
        current_model = self.source.removeprefix(MODEL_PREFIX)
        if self.source.startswith(MODEL_PREFIX) and current_model not in models:
            models.append(current_model)  # keep a followed model even if the catalog lost it
        return models

    def _update_status(self) -> None:
        status = self.query_one("#log-status", Static)
        where = f"{self._source_label()} @ {self.host or 'no host'}"
        if self.view.following:
            head = f"● following {where}"
        else:
            head = f"❚❚ paused {where} — {self.new_while_paused:,} new lines (f: follow)"
        count = self.view.line_count
        parts = [head, f"{count:,} line{'s' if count != 1 else ''}"]
        if self.view.pattern is not None:
            parts.append(f"filter /{self.view.pattern.pattern}/")
        if self.source == LogSource.PROXY.value:
            parts.append("swapdeck's own reads hidden (o)" if self.view.hidden is not None
                         else "swapdeck's own reads shown (o)")
        parts.append("wrap on" if self.view.wrap else "wrap off")
        if self.problem:
            parts.insert(0, self.problem)  # first, so a narrow terminal still shows it
        status.set_class(bool(self.problem), "-problem")
        status.update(" · ".join(parts), layout=False)  # one line, fixed height

    def _source_label(self) -> str:
        if self.source.startswith(MODEL_PREFIX):
            return f"model {self.source.removeprefix(MODEL_PREFIX)}"
        return self.source

    # ------------------------------------------------------------------ per-model log

    def _start_model_log(self) -> None:
        self._model_tail = LogTail()
        self._follow_model(self.host or "", self.source.removeprefix(MODEL_PREFIX),
                           self._model_tail)

    def _stop_model_log(self) -> None:
        self.workers.cancel_group(self, "model-log")
        self._model_tail = None

    @work(exclusive=True, group="model-log", exit_on_error=False)
    async def _follow_model(self, host: str, model: str, tail: LogTail) -> None:
        connector = self.runtime.hub.connectors.get(host)
        follow = getattr(connector, "follow_log", None)
        if follow is None:
            self._set_problem(f"{host}: this connector cannot follow per-model logs")
            return
        try:
            async for batch in follow(model):
                tail.lines.extend(batch.lines)
                tail.total += len(batch.lines)
                if self.problem:
                    self._set_problem("")
                self._request_refresh()
        except Exception as exc:  # the host went away, or refused: say so in the status line
            self._set_problem(f"log of {model} on {host} stopped: {exc or type(exc).__name__}"
                              " (pick the source again to retry)")
            return
        self._set_problem(f"log of {model} on {host} ended (pick the source again to retry)")

    def _set_problem(self, text: str) -> None:
        self.problem = text
        self._update_status()

    # ------------------------------------------------------------------ actions

    def on_log_source_bar_source_changed(self, event: LogSourceBar.SourceChanged) -> None:
        # Selectors also report their own start-up values; the screen's choice is the truth.
        host = event.host or self.host
        if (host, event.source) == (self.host, self.source):
            return
        self._stop_model_log()
        source = event.source
        if host != self.host and source.startswith(MODEL_PREFIX):
            new_host = self.runtime.state.hosts.get(host or "")
            if new_host is None or source.removeprefix(MODEL_PREFIX) not in new_host.models:
                source = LogSource.PROXY.value  # that model does not live on the new host
        self.host = host
        self.source = source
        self.query_one(LogSourceBar).show_source(source)
        self.problem = ""
        self._sync_bar()
        if self.source.startswith(MODEL_PREFIX):
            self._start_model_log()
        self.view.following = True
        self._reload()

    def on_log_source_bar_pattern_changed(self, event: LogSourceBar.PatternChanged) -> None:
        pattern, error = compile_filter(event.text)
        if error:
            self._set_problem(error)  # keep the last good filter on screen
            return
        self.problem = ""
        self.view.set_pattern(pattern)
        self._update_status()

    def on_log_source_bar_pattern_done(self, event: LogSourceBar.PatternDone) -> None:
        self.view.focus()

    def on_log_view_paused(self, event: LogView.Paused) -> None:
        self._counted_total = self._shown_total  # count from what the view holds
        self.new_while_paused = 0
        self._update_status()

    def on_log_view_reached_end(self, event: LogView.ReachedEnd) -> None:
        self.action_follow()

    def action_follow(self) -> None:
        tail = self._tail()
        self.view.follow()
        if tail is not None:
            self._append_new(tail)
        self.new_while_paused = 0
        self._update_status()

    def action_toggle_own(self) -> None:
        """Show or hide swapdeck's own reads in the proxy log (hidden at first)."""
        self.view.set_hidden(None if self.view.hidden is not None else OWN_POLLING)
        self._update_status()

    def action_toggle_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self._update_status()

    def action_copy(self) -> None:
        selected = self.get_selected_text()
        text = selected if selected else self.view.visible_text()
        if not text:
            self.notify("nothing to copy", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        what = "selection" if selected else "visible lines"
        self.notify(f"copied {lines} line{'s' if lines != 1 else ''} ({what})")

    def action_focus_filter(self) -> None:
        self.query_one(LogSourceBar).focus_filter()

    def action_focus_log(self) -> None:
        self.view.focus()
