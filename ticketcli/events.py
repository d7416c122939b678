"""The event seam: every change to a ticket is recorded here, inside its transaction.

``record`` writes the history row (what ``show`` lists) and then hands the
new event to the subscribers, such as the mail outbox, in the same
transaction: an event and its consequences commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .store import Store

# A subscriber receives the store (inside the open write transaction) and the
# id of the history row just written.
Subscriber = Callable[[Store, int], None]
SUBSCRIBERS: list[Subscriber] = []


def record(store: Store, ticket_id: int, actor_id: int | None, now: str, event: str,
           from_status: str | None = None, to_status: str | None = None,
           detail: dict[str, Any] | None = None) -> int:
    history_id = store.add_history(ticket_id, actor_id, now, event, from_status, to_status,
                                   detail)
    for subscriber in SUBSCRIBERS:
        subscriber(store, history_id)
    return history_id


def _mail_outbox(store: Store, history_id: int) -> None:
    """Email notifications: outbox rows in the event's transaction (imported on first use)."""
    from .mail.outbox import enqueue

    enqueue(store, history_id)


SUBSCRIBERS.append(_mail_outbox)
