"""Modals: the confirmation before any action, and the model picker that precedes it.

Nothing touches a host without a yes here. The confirmation names the host, the model and
what happens to requests in flight (`describe_effect`), and lists what is already queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from swapdeck.fleet.actions import ActionKind, QueuedAction

VERB = {ActionKind.WARM: "Warm", ActionKind.UNLOAD: "Unload", ActionKind.UNLOAD_ALL: "Unload all"}


def action_title(kind: ActionKind, host: str, model: str | None) -> str:
    if kind is ActionKind.UNLOAD_ALL:
        return f"Unload every model on {host}?"
    return f"{VERB[kind]} {model} on {host}?"


class YesNoModal(ModalScreen[bool]):
    """How every confirmation answers: Cancel (`#no`) has the focus, `answer(...)` is
    what the y / n bindings call, and the `#yes` / `#no` buttons say the same."""

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")


class ConfirmActionModal(YesNoModal):
    """y / Enter on the confirm button: yes; n / Esc: no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, kind: ActionKind, host: str, model: str | None, effect: str,
                 queued: Sequence[QueuedAction] = ()) -> None:
        super().__init__(classes="swapdeck-modal")
        self.kind = kind
        self.host = host
        self.model = model
        self.effect = effect
        self.queued = tuple(queued)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content.styled(action_title(self.kind, self.host, self.model), "bold"),
                        id="confirm-title")
            yield Static(self.effect, id="confirm-effect")
            if self.queued:
                waiting = ", ".join(a.describe() for a in self.queued)
                yield Static(Content.assemble(("Already queued on this host: ", "dim"),
                                              waiting), id="confirm-queue")
            with Horizontal(id="buttons"):
                yield Button(f"{VERB[self.kind]} (y)", id="yes",
                             variant="primary" if self.kind is ActionKind.WARM else "error")
                yield Button("Cancel (n)", id="no")


class ModelPickerModal(ModalScreen[str | None]):
    """Pick one model of a host (Enter), or none (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
    ]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]]) -> None:
        """`choices`: (model id, what to show) pairs."""
        super().__init__(classes="swapdeck-modal")
        self.title_text = title
        self.choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content.styled(self.title_text, "bold"), id="picker-title")
            yield OptionList(*(Option(label, id=model) for model, label in self.choices),
                             id="picker-options")
            yield Static(Content.styled("Enter picks · Esc cancels", "dim"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
