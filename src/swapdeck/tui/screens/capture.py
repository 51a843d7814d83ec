"""The capture inspector: one request/response pair, fetched in a worker, read for people.

The host's copy is asked first (`connector.fetch_capture`, §1.10 `/api/captures/{id}`)
and a copy of it is kept in the history (bodies capped by `capture_row_cap_kb`, oldest
evicted past `capture_total_cap_mb`): llama-swap holds captures in memory only, so a
reload or restart drops them. If the host no longer holds one, or cannot be reached, the
copy kept when it was last opened is shown (`store.load_capture`). Decoding, reading
and redaction live in `swapdeck.fleet.capture_view`; this screen only lays the result
out: a chat view (messages by role, then the answer with its reasoning apart), the
request and the response as text (headers first, then the pretty body).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TabbedContent, TabPane, TextArea

from swapdeck.events import ActivityRecord
from swapdeck.fleet.capture_view import (
    EXPIRED_MESSAGE,
    BodyKind,
    BodyView,
    CaptureFormatError,
    CaptureView,
    RawCapture,
    build_view,
    capture_from_object,
)
from swapdeck.history import HistoryError, HistoryStore, StoredCapture
from swapdeck.sources.capture import Capture
from swapdeck.tui.screens import RuntimeLike
from swapdeck.tui.widgets.activity_columns import fmt_duration_ms, fmt_status

log = logging.getLogger(__name__)

ROLE_STYLES = {"system": "bold magenta", "user": "bold cyan", "assistant": "bold green",
               "tool": "bold yellow", "prompt": "bold cyan"}


@dataclass(frozen=True, slots=True)
class CaptureOutcome:
    capture: RawCapture | None
    origin: str
    """"host", "history" or "" when there is nothing to show."""
    message: str
    """Why there is nothing to show, or a note about where the capture came from."""


async def load_capture(runtime: RuntimeLike, host: str, record: ActivityRecord) -> CaptureOutcome:
    """The host's copy, else the history's; never raises for an expected failure."""
    host_problem = ""
    connector = runtime.hub.connectors.get(host)
    fetch = getattr(connector, "fetch_capture", None)
    if fetch is not None:
        try:
            found = await fetch(record.epoch, record.remote_id)
            raw = capture_from_object(found) if found is not None else None
        except CaptureFormatError as exc:
            host_problem = f"{host} sent a capture swapdeck cannot read ({exc})"
        except Exception as exc:  # network trouble: say so, then try our own copy
            host_problem = f"{host} did not answer ({exc or type(exc).__name__})"
        else:
            if raw is not None:
                await keep_copy(runtime.store, host, record, found)
                return CaptureOutcome(raw, "host", "")
    store = runtime.store
    if store is not None:
        try:
            stored = await store.load_capture(host, record.epoch, record.remote_id)
        except Exception as exc:
            stored = None
            host_problem = host_problem or f"the history could not be read ({exc})"
        if stored is not None:
            note = "from swapdeck's history: the host no longer holds it"
            return CaptureOutcome(capture_from_object(stored), "history",
                                  f"{host_problem}; {note}" if host_problem else note)
    if host_problem:
        return CaptureOutcome(None, "", f"{host_problem}, and the history holds no copy")
    return CaptureOutcome(None, "", EXPIRED_MESSAGE)


async def keep_copy(store: HistoryStore | None, host: str, record: ActivityRecord,
                    found: Capture) -> None:
    """Keep the host's capture in the history; a file that cannot take it (read-only when
    attached to a collector, or failing) costs the copy, never the view."""
    if store is None or store.read_only:
        return
    copy = StoredCapture(req_path=found.req_path, req_headers=found.req_headers,
                         resp_headers=found.resp_headers, req_body=found.req_body,
                         resp_body=found.resp_body)
    try:
        await store.store_capture(host, record.epoch, record.remote_id, copy)
    except HistoryError as exc:
        log.warning("capture %s/%s not kept in history: %s", host, record.remote_id, exc)


def chat_text(view: CaptureView) -> Text:
    text = Text()
    for turn in view.conversation:
        text.append(turn.role.upper(), style=ROLE_STYLES.get(turn.role, "bold"))
        text.append("\n")
        text.append(turn.content or "(empty)")
        text.append("\n\n")
    answer = view.answer
    if answer is None:
        text.append("no answer to show", style="dim")
        return text
    details = [f"{answer.events} streamed events" if answer.streamed else "one JSON response"]
    if answer.finish_reason:
        details.append(f"finish: {answer.finish_reason}")
    text.append("ASSISTANT", style=ROLE_STYLES["assistant"])
    text.append(f"  ({', '.join(details)})\n", style="dim")
    if answer.reasoning:
        text.append("reasoning\n", style="bold dim")
        text.append(answer.reasoning + "\n", style="dim italic")
        text.append("answer\n", style="bold dim")
    text.append(answer.content or ("(error) " + answer.error if answer.error else "(empty)"))
    return text


def message_text(first_line: str, headers: tuple[tuple[str, str], ...], body: BodyView) -> str:
    """An HTTP message for reading: a first line, headers, a blank line, the body."""
    lines = [first_line, *(f"{name}: {value}" for name, value in headers), ""]
    if body.kind is BodyKind.EMPTY:
        lines.append("(no body captured)")
    else:
        lines.append(body.text)
    return "\n".join(lines)


class CaptureScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CaptureScreen {
        align: center middle;
        #capture-dialog {
            width: 100%; height: 100%; max-width: 160;
            border: round $primary; background: $surface; padding: 0 1;
        }
        #capture-title { height: auto; text-style: bold; }
        #capture-status { height: auto; color: $warning; }
        #capture-tabs { height: 1fr; }
        TextArea { height: 1fr; border: none; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab"),
        Binding("right_square_bracket", "tab(1)", "Next tab"),
    ]

    def __init__(self, runtime: RuntimeLike, host: str, record: ActivityRecord) -> None:
        super().__init__()
        self.runtime = runtime
        self.host = host
        self.record = record
        self.view: CaptureView | None = None
        self.outcome: CaptureOutcome | None = None

    def compose(self) -> ComposeResult:
        r = self.record
        title = (f"{r.model} on {self.host} · {r.req_path or '(path unknown)'} · "
                 f"status {fmt_status(r.status_code)} · {fmt_duration_ms(r.duration_ms)} · "
                 f"request #{r.remote_id}")
        with Vertical(id="capture-dialog"):
            yield Static(title, id="capture-title", markup=False)
            yield Static(f"fetching the capture from {self.host}…", id="capture-status",
                         markup=False)
            with TabbedContent(id="capture-tabs"):
                with TabPane("Chat", id="tab-chat"), VerticalScroll():
                    yield Static("", id="capture-chat")
                with TabPane("Request", id="tab-request"):
                    yield TextArea("", read_only=True, id="capture-request")
                with TabPane("Response", id="tab-response"):
                    yield TextArea("", read_only=True, id="capture-response")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#capture-tabs").display = False
        self._fetch()

    @work(exclusive=True, exit_on_error=False)
    async def _fetch(self) -> None:
        outcome = await load_capture(self.runtime, self.host, self.record)
        self.outcome = outcome
        status = self.query_one("#capture-status", Static)
        if outcome.capture is None:
            status.update(outcome.message)
            return
        view = build_view(outcome.capture, status_code=self.record.status_code)
        self.view = view
        notes = [outcome.message] if outcome.message else []
        notes.extend(view.notes)
        status.update("\n".join(notes))
        status.display = bool(notes)
        self._show(view)

    def _show(self, view: CaptureView) -> None:
        method = "POST"  # only POSTs to inference paths are recorded and captured (§3.1)
        self.query_one("#capture-chat", Static).update(chat_text(view))
        self.query_one("#capture-request", TextArea).load_text(
            message_text(f"{method} {view.req_path}", view.req_headers, view.request))
        status = fmt_status(self.record.status_code)
        self.query_one("#capture-response", TextArea).load_text(
            message_text(f"HTTP {status}", view.resp_headers, view.response))
        tabs = self.query_one("#capture-tabs", TabbedContent)
        tabs.display = True
        if view.has_chat:
            tabs.active = "tab-chat"
        else:
            tabs.hide_tab("tab-chat")
            tabs.active = "tab-request"

    def action_close(self) -> None:
        self.dismiss(None)

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#capture-tabs", TabbedContent)
        if not tabs.display:
            return
        panes = [pane.id for pane in tabs.query(TabPane)
                 if pane.id and (pane.id != "tab-chat" or (self.view and self.view.has_chat))]
        if tabs.active in panes:
            tabs.active = panes[(panes.index(tabs.active) + step) % len(panes)]
