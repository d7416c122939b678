"""The event seam: every change to a ticket is recorded here, inside its transaction.

``record`` writes the history row (what ``show`` lists) and then hands the
new event to the subscribers, such as the mail outbox, in the same
transaction: an event and its consequences commit together or not at all.
``record_many`` does the same for many events at once (close-stale's batches),
with one statement for the history rows and one call to each subscriber.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..store import Store

# What an event is: (ticket id, actor id, time, event, from status, to status, detail).
Event = tuple[int, int | None, str, str, str | None, str | None, dict[str, Any] | None]
# A recorded event: its history row id first, then the event.
Recorded = tuple[int, int, int | None, str, str, str | None, str | None, dict[str, Any] | None]

# A subscriber receives the store (inside the open write transaction) and the
# events just written, in the order they were written.
Subscriber = Callable[[Store, Sequence[Recorded]], None]
SUBSCRIBERS: list[Subscriber] = []


def record(store: Store, ticket_id: int, actor_id: int | None, now: str, event: str,
           from_status: str | None = None, to_status: str | None = None,
           detail: dict[str, Any] | None = None) -> int:
    history_id = store.add_history(ticket_id, actor_id, now, event, from_status, to_status,
                                   detail)
    for subscriber in SUBSCRIBERS:
        subscriber(store, [(history_id, ticket_id, actor_id, now, event, from_status,
                            to_status, detail)])
    return history_id


def record_many(store: Store, events: Sequence[Event]) -> list[int]:
    """Record each event, as ``record`` would one by one; returns the history ids."""
    history_ids = store.add_history_many(events)
    if history_ids:
        recorded = [(hid, *ev) for hid, ev in zip(history_ids, events, strict=True)]
        for subscriber in SUBSCRIBERS:
            subscriber(store, recorded)
    return history_ids


def _mail_outbox(store: Store, recorded: Sequence[Recorded]) -> None:
    """Email notifications: outbox rows in the event's transaction (imported on first use)."""
    from ..mail.outbox import enqueue_many

    enqueue_many(store, recorded)


SUBSCRIBERS.append(_mail_outbox)
