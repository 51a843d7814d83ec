"""The Pool screen's modals: confirm an install, confirm an eviction, and "why this score".

Nothing is downloaded, deleted or edited without a yes here, and the confirmation shows the
plan that will run (`pool_plan_text`). The safe answer has the focus; y / n answer from the
keyboard, Esc is no. Long plans (a config diff) scroll inside the dialog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from swapdeck.pool.manager import InstallPlan, RemovalPlan
from swapdeck.tui.modals import YesNoModal
from swapdeck.tui.widgets.pool_plan_text import install_plan_lines, removal_plan_lines

POOL_DIALOG_CSS = """
.pool-dialog {
    width: 110;
    max-width: 96%;
    height: auto;
    max-height: 92%;
    border: thick $primary;
    background: $surface;
    padding: 0 1;
}
.pool-dialog .pool-dialog-title { margin-bottom: 1; }
.pool-dialog .pool-dialog-body { height: auto; max-height: 30; }
.pool-dialog .pool-dialog-buttons { height: auto; margin-top: 1; align-horizontal: right; }
.pool-dialog .pool-dialog-buttons Button { margin-left: 2; }
"""


class _PlanModal(YesNoModal):
    DEFAULT_CSS = POOL_DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="pool.confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="pool.confirm.no"),
    ]
    VERB = "Do it"

    def __init__(self, title: str, lines: Sequence[Content], *, danger: bool) -> None:
        super().__init__(classes="swapdeck-modal")
        self.title_text = title
        self.lines = list(lines)
        self.danger = danger

    @property
    def body_text(self) -> str:
        return "\n".join(line.plain for line in self.lines)

    def compose(self) -> ComposeResult:
        with Vertical(classes="pool-dialog"):
            yield Label(Content.styled(self.title_text, "bold"), classes="pool-dialog-title")
            with VerticalScroll(classes="pool-dialog-body"):
                yield Static(Content("\n").join(self.lines), classes="pool-plan")
            with Horizontal(classes="pool-dialog-buttons"):
                yield Button(f"{self.VERB} (y)", id="yes",
                             variant="error" if self.danger else "primary")
                yield Button("Cancel (n)", id="no")


class InstallConfirmModal(_PlanModal):
    VERB = "Install"

    def __init__(self, plan: InstallPlan, *, name: str, now: float,
                 warnings: Sequence[str] = (),
                 last_uses: Mapping[str, float] | None = None) -> None:
        self.plan = plan
        title = f"Install {name} ({plan.engine_id})?"
        super().__init__(title, install_plan_lines(plan, now=now, warnings=warnings,
                                                   last_uses=last_uses),
                         danger=bool(plan.eviction.victims))


class EvictConfirmModal(_PlanModal):
    VERB = "Evict"

    def __init__(self, plan: RemovalPlan, *, now: float, used_bytes: int, budget_bytes: int,
                 warnings: Sequence[str] = (), last_use: float | None = None) -> None:
        self.plan = plan
        super().__init__(f"Evict {plan.entry.id}?",
                         removal_plan_lines(plan, now=now, used_bytes=used_bytes,
                                            budget_bytes=budget_bytes, warnings=warnings,
                                            last_use=last_use),
                         danger=True)


class WhyModal(ModalScreen[None]):
    """Facts to read, then close: why a model scored what it did (memory breakdown, speed
    basis, evidence), or every hardware figure with its source."""

    DEFAULT_CSS = POOL_DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="pool.why.close"),
    ]

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__(classes="swapdeck-modal")
        self.title_text = title
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with Vertical(classes="pool-dialog"):
            yield Label(Content.styled(self.title_text, "bold"), classes="pool-dialog-title")
            with VerticalScroll(classes="pool-dialog-body"):
                yield Static(Content("\n".join(self.lines)), classes="pool-why")
            yield Static(Content.styled("Esc / Enter closes", "dim"))

    def action_close(self) -> None:
        self.dismiss(None)
