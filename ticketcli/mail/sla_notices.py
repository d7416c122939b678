"""Service-level notices for staff: what ``sla_warning`` and ``sla_breached`` events
become in the outbox.

Part of the outbox subscriber (:func:`ticketcli.mail.outbox.enqueue` calls
:func:`compose` with each change set): one message per event to the ticket's
assignee, or to every agent and admin when nobody is assigned, in each one's
language. Customers never get these.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store import ChangeSet, Store
    from ..store.outbox import NewMessage

KINDS = {"sla_warning": "sla_warning", "sla_breached": "sla_breached"}


def compose(store: Store, changes: ChangeSet) -> list[tuple[int, int, NewMessage, str]]:
    """(history id, ticket id, message, time) for the change set's SLA events."""
    events = [ev for ev in changes.events if ev.event in KINDS]
    if not events:
        return []
    from ..store.outbox import NewMessage

    ids = [ev.ticket_id for ev in events]
    heads = store.tickets.ticket_heads(ids)
    assignees = store.sla.assignees(ids)
    staff: list[int] | None = None
    wanted: dict[int, list[int]] = {}
    for tid in ids:
        if assignees.get(tid) is not None:
            wanted[tid] = [int(assignees[tid])]  # type: ignore[arg-type]
        else:
            if staff is None:
                staff = store.sla.staff_ids()
            wanted[tid] = staff
    users = store.people.users_by_id([u for people in wanted.values() for u in people])
    langs = store.mail.user_langs(list(users))
    default = store.mail.default_lang()
    out: list[tuple[int, int, NewMessage, str]] = []
    for ev in events:
        ticket = heads.get(ev.ticket_id)
        if ticket is None:
            continue
        for uid in wanted[ev.ticket_id]:
            user = users.get(uid)
            if user is None or not user.staff:
                continue
            data = {"id": ticket.id, "title": ticket.title, "status": ticket.status,
                    "target": ev.detail.get("target"), "due_at": ev.detail.get("due_at"),
                    "recipient": user.name or user.email}
            out.append((ev.history_id, ev.ticket_id,
                        NewMessage(user.id, user.email, user.name,
                                   langs.get(user.id) or default, KINDS[ev.event], data),
                        ev.at))
    return out
