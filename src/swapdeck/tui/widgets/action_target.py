"""Which model a key press means: pure, so the rules are tested without a screen.

`w` on a stopped model warms it; on a host line (or in the table, where lines are hosts)
it asks which model — unless only one fits. `u` is the same for loaded models. A host that
is read-only or not connected goes straight to the queue, which refuses it in its own
words (no confirmation for something that cannot happen).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from swapdeck.events import Liveness, ModelState
from swapdeck.fleet.actions import ActionKind
from swapdeck.fleet.state import HostState


class Next(StrEnum):
    REQUEST = "request"  # hand (host, kind, model) to the app: confirm, then queue
    PICK = "pick"  # ask which of `choices`
    SAY = "say"  # nothing to do; tell the person why


@dataclass(frozen=True, slots=True)
class ActionTarget:
    next: Next
    model: str | None = None
    choices: tuple[str, ...] = ()
    message: str = ""


def candidates(host: HostState, kind: ActionKind) -> list[str]:
    """Models `kind` makes sense for: warm what is not up or coming up, unload what is loaded."""
    views = [v for v in host.models.values() if v.info.state is not ModelState.PEER]
    if kind is ActionKind.WARM:
        wanted = [v for v in views if v.info.state not in (ModelState.READY, ModelState.STARTING)]
    else:
        wanted = [v for v in views if v.info.state.is_loaded]
    return sorted(v.info.id for v in wanted)


def choose_target(host: HostState, kind: ActionKind, selected_model: str | None, *,
                  controllable: bool) -> ActionTarget:
    if kind is ActionKind.UNLOAD_ALL:
        return ActionTarget(Next.REQUEST)
    fitting = candidates(host, kind)
    if selected_model is not None:
        if selected_model in fitting:
            return ActionTarget(Next.REQUEST, selected_model)
        view = host.models.get(selected_model)
        now = view.info.state.value if view is not None else "gone"
        verb = "warm" if kind is ActionKind.WARM else "unload"
        return ActionTarget(Next.SAY, message=f"Nothing to {verb}: {selected_model} on "
                                              f"{host.name} is {now}")
    if not controllable or (fitting and host.liveness is not Liveness.CONNECTED):
        # The queue refuses this whatever the model: let it say why, in its own words.
        return ActionTarget(Next.REQUEST, fitting[0] if fitting else None)
    if not fitting:
        what = "stopped" if kind is ActionKind.WARM else "loaded"
        return ActionTarget(Next.SAY, message=f"No {what} model on {host.name}")
    if len(fitting) == 1:
        return ActionTarget(Next.REQUEST, fitting[0])
    return ActionTarget(Next.PICK, choices=tuple(fitting))
