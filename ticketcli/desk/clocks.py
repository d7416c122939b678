"""What ``show`` and ``list`` tell of a ticket's service-level clocks (kept by the
store at every change; see :mod:`ticketcli.store.sla`). Cheap when the workflow
has no policies: nothing is read or imported then."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..store import Store, Ticket

TARGETS = ("first_response", "next_reply", "resolution")


def view(store: Store, ticket: Ticket, now: str) -> dict[str, Any] | None:
    """``show``'s ``sla``: None without a policy, else the policy, its calendar and
    each target (None where the policy has none) as ``{due_at, met_at, breached,
    paused}``."""
    if not store.workflow().sla:
        return None
    from ..workflow.clocks import epoch, is_breached, shown_due, stamp

    found = store.sla.clocks_of([ticket.id]).get(ticket.id)
    if found is None:
        return None
    moment = epoch(now)
    out: dict[str, Any] = {"policy": found.policy, "calendar": found.calendar}
    for name in TARGETS:
        t = found.targets.get(name)
        out[name] = None if t is None else {
            "due_at": stamp(shown_due(t)), "met_at": stamp(t.met),
            "breached": is_breached(t, moment), "paused": t.paused,
        }
    return out


def due_and_breached(store: Store, ids: Sequence[int],
                     now: str) -> dict[int, tuple[str | None, bool]]:
    """(earliest due time among unmet targets, any target breached) of the tickets
    of ``ids`` that have clocks: ``list``'s ``sla_due_at`` and ``sla_breached``."""
    if not ids or not store.workflow().sla:
        return {}
    return {tid: (due, breach is not None and breach <= now)
            for tid, (due, breach) in store.sla.summaries(ids).items()}
