"""`?`: every key that works right now — the current screen's and the app's — in one sheet.

The list is taken from the live bindings when `?` is pressed, so it can never drift from
what the keys really do; hidden bindings (not in the footer) are listed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


@dataclass(frozen=True, slots=True)
class KeyHelp:
    section: str
    keys: str
    description: str


def collect_key_help(app: App[Any]) -> list[KeyHelp]:
    """The bindings active on the current screen, grouped by where they come from."""
    seen: dict[tuple[str, str], KeyHelp] = {}
    for active in app.screen.active_bindings.values():
        if not active.enabled:
            continue
        binding = active.binding
        node = active.node
        section = "Everywhere" if isinstance(node, App) else _section_name(node)
        description = binding.description or binding.tooltip or binding.action
        entry = (section, binding.action)
        key = app.get_key_display(binding)
        if entry in seen:
            if key not in seen[entry].keys.split(" / "):
                seen[entry] = KeyHelp(section, f"{seen[entry].keys} / {key}", description)
            continue
        seen[entry] = KeyHelp(section, key, description)
    return sorted(seen.values(), key=lambda k: (k.section == "Everywhere", k.section))


def _section_name(node: object) -> str:
    title = getattr(node, "HELP_TITLE", None)
    return str(title) if title else type(node).__name__.removesuffix("Screen")


def help_text(entries: Iterable[KeyHelp]) -> Content:
    lines: list[Content] = []
    section = None
    for entry in entries:
        if entry.section != section:
            if section is not None:
                lines.append(Content(""))
            lines.append(Content.styled(entry.section, "bold $accent"))
            section = entry.section
        lines.append(Content.assemble((f"  {entry.keys:<16}", "bold"), entry.description))
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, entries: Sequence[KeyHelp]) -> None:
        super().__init__(classes="swapdeck-modal")
        self.entries = tuple(entries)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Content.styled("Keys", "bold"), id="help-title")
            yield Static(help_text(self.entries), id="help-keys")
            yield Static(Content.styled("Esc, q or ? closes · ctrl+p lists every command too",
                                        "dim"))

    def action_close(self) -> None:
        self.dismiss(None)
