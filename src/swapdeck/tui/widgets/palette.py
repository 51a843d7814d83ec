"""Command-palette hits for the fleet: jump to a host, warm or unload a model.

Hits are built from the live state each time the palette asks, so a model that just
loaded offers "Unload" and one that stopped offers "Warm". Choosing one goes through the
same confirmation as the keys do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from swapdeck.events import ModelState
from swapdeck.fleet.actions import ActionKind
from swapdeck.fleet.state import FleetState


class FleetCommandTarget(Protocol):
    """What the app offers the palette (SwapdeckApp implements it)."""

    @property
    def fleet_state(self) -> FleetState | None: ...

    def jump_to_host(self, host: str) -> None: ...

    def request_action(self, host: str, kind: ActionKind, model: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class FleetCommand:
    text: str
    help: str
    run: Callable[[], object]


def fleet_commands(state: FleetState, target: FleetCommandTarget) -> Iterator[FleetCommand]:
    for name, host in state.hosts.items():
        yield FleetCommand(f"Host {name}", f"Jump to {name}'s card on the Fleet screen",
                           partial(target.jump_to_host, name))
        for model_id, view in sorted(host.models.items()):
            state_now = view.info.state
            if state_now is ModelState.PEER:
                continue
            if state_now.is_loaded:
                yield FleetCommand(f"Unload {model_id} on {name}",
                                   f"{model_id} is {state_now.value}; asks before stopping it",
                                   partial(target.request_action, name, ActionKind.UNLOAD,
                                           model_id))
            if state_now not in (ModelState.READY, ModelState.STARTING):
                yield FleetCommand(f"Warm {model_id} on {name}",
                                   f"{model_id} is {state_now.value}; asks before loading it",
                                   partial(target.request_action, name, ActionKind.WARM,
                                           model_id))
        if any(v.info.state.is_loaded for v in host.models.values()):
            yield FleetCommand(f"Unload all on {name}", "Stop every running model on the host",
                               partial(target.request_action, name, ActionKind.UNLOAD_ALL,
                                       None))


class FleetCommands(Provider):
    def _commands(self) -> list[FleetCommand]:
        target: FleetCommandTarget = self.app  # type: ignore[assignment]
        state = getattr(target, "fleet_state", None)
        return [] if state is None else list(fleet_commands(state, target))

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.text, command.run, help=command.help)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.text)
            if score > 0:
                yield Hit(score, matcher.highlight(command.text), command.run, help=command.help)
