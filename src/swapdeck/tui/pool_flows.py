"""The Pool screen's two changes, each as plan → modal → do: install and evict.

Nothing happens before the person has seen the exact plan (`pool_modals`) and said yes.
A plan that cannot be made, or a change the pool refuses, is one toast in the pool's own
words. The screen runs each flow in a worker (`PoolScreen._confirm_install` / `_evict`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swapdeck.pool.errors import PoolError, human_bytes
from swapdeck.tui.pool_modals import EvictConfirmModal, InstallConfirmModal
from swapdeck.tui.widgets.pool_plan_text import victim_warnings
from swapdeck.tui.widgets.pool_runtime import evict_warnings_by_model, last_uses

if TYPE_CHECKING:
    from swapdeck.pool.session import PoolSession
    from swapdeck.tui.screens.pool import PoolScreen


def _warnings_by_model(screen: PoolScreen, session: PoolSession) -> dict[str, list[str]]:
    """Why evicting each installed model would hurt now (loaded, recently used)."""
    return evict_warnings_by_model(session.state.entries, screen.runtime.state, screen.clock())


def _last_uses(screen: PoolScreen, session: PoolSession) -> dict[str, float]:
    return last_uses(session.state.entries, screen.runtime.state)


async def confirm_install(screen: PoolScreen, model_id: str) -> None:
    session = screen.session
    assert session is not None
    try:
        plan = await session.plan_install(model_id)
    except PoolError as exc:
        screen.notify(str(exc), title="Cannot install", severity="error", timeout=15)
        return
    if plan.already_installed:
        screen.notify(f"{plan.engine_id} is already installed", timeout=5)
        return
    row = session.row(model_id)
    modal = InstallConfirmModal(plan, name=row.name if row else model_id, now=screen.clock(),
                                warnings=victim_warnings(plan, _warnings_by_model(screen,
                                                                                  session)),
                                last_uses=_last_uses(screen, session))
    if not await screen.app.push_screen_wait(modal):
        return
    try:
        await session.install(plan)
    except PoolError as exc:
        screen.notify(str(exc), title="Not started", severity="error", timeout=15)
    screen.redraw()


async def confirm_evict(screen: PoolScreen, model_id: str) -> None:
    session = screen.session
    assert session is not None
    try:
        plan = await session.plan_eviction(model_id)
    except PoolError as exc:
        screen.notify(str(exc), title="Cannot evict", severity="error", timeout=15)
        return
    modal = EvictConfirmModal(plan, now=screen.clock(), used_bytes=session.state.used_bytes,
                              budget_bytes=session.policy.budget_bytes,
                              warnings=_warnings_by_model(screen, session).get(model_id, []),
                              last_use=_last_uses(screen, session).get(model_id))
    if not await screen.app.push_screen_wait(modal):
        return
    try:
        await session.evict(plan)
    except PoolError as exc:
        screen.notify(str(exc), title="Not evicted", severity="error", timeout=15)
        return
    screen.notify(f"evicted {model_id}: {human_bytes(plan.entry.size_bytes)} freed",
                  title="Pool", timeout=6)
    screen.redraw()
