"""The Bench screen's confirmation: the plan before anything is sent.

It says how many cells and requests the run makes, how long it should take on the
host's recent speed, and warns when others' traffic on the host would skew the numbers.
y / Enter on Run runs it; n / Esc does not (Cancel has the focus, as in every swapdeck
confirmation).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Label, Static

from swapdeck.bench.plan import RunPlan
from swapdeck.tui.clock import format_duration
from swapdeck.tui.modals import YesNoModal


class BenchPlanModal(YesNoModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Run", id="bench.plan.yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="bench.plan.no"),
    ]

    def __init__(self, suite: str, host: str, model: str, plan: RunPlan, recent: int) -> None:
        super().__init__(classes="swapdeck-modal")
        self.lines = [f"{plan.cells} cell(s), {plan.requests} requests (warmups included)",
                      "estimated duration: " + (f"up to {format_duration(plan.estimated_s)}"
                                                if plan.estimated_s is not None else "unknown")
                      + f" ({plan.basis})"]
        self.title_text = f"Run suite {suite} on {host} / {model}?"
        self.recent = recent
        """Requests others finished on the host in the last minute."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content.styled(self.title_text, "bold"), id="plan-title")
            yield Static("\n".join(self.lines), id="plan-body")
            if self.recent:
                yield Static(Content.styled(
                    f"This host finished {self.recent} request(s) from others in the last "
                    "minute: their load will skew the numbers.", "$warning"), id="plan-traffic")
            with Horizontal(id="buttons"):
                yield Button("Run (y)", id="yes", variant="primary")
                yield Button("Cancel (n)", id="no")
