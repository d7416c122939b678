"""``notify prefs``: what each agent wants to hear about by mail.

The events and their defaults: ``assigned`` (a ticket was assigned to you, on),
``customer_reply`` (a customer replied to a ticket assigned to you, on),
``new_ticket`` (a ticket was opened and no one is assigned, off). The outbox reads the
choices when it composes (:mod:`ticketcli.mail.outbox`).
"""

from __future__ import annotations

from ..errors import PermissionDenied, UsageError
from ..i18n import msg

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store import Store, User

# Event -> whether it is on for an agent who never chose.
NOTIFY_EVENTS: dict[str, bool] = {"assigned": True, "customer_reply": True,
                                  "new_ticket": False}


def check_event(event: str) -> str:
    if event not in NOTIFY_EVENTS:
        raise UsageError(msg("unknown event {event!r}; choose one of: {events}", event=event,
                             events=", ".join(NOTIFY_EVENTS)))
    return event


def notify_prefs(store: Store, actor: User,
                 changes: dict[str, bool] | None = None) -> dict[str, bool]:
    """The acting agent's choices for every event, after making ``changes``."""
    if not actor.staff:
        raise PermissionDenied(msg("notify prefs are for agents and admins; {email} is a "
                                   "customer", email=actor.email))
    for event in changes or {}:
        check_event(event)
    if changes:
        with store.write():
            store.mail.set_notify_prefs(actor.id, changes)
    chosen = store.mail.notify_prefs(actor.id)
    return {event: chosen.get(event, default) for event, default in NOTIFY_EVENTS.items()}
