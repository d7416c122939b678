"""Typed records the store returns, the query a listing asks for, and the events a
transaction records (its change set).

Records (:mod:`ticketcli.record`) rather than dataclasses: they are as typed and
immutable, and cost nothing to define on the read commands' start-up path."""

from __future__ import annotations

from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


class User(Record):
    id: int
    email: str
    name: str
    role: str
    org_id: int | None
    org: str | None
    login: str | None = None  # the OS login bound to this person, if any
    disabled: bool = False  # cannot act, gets no mail

    @property
    def staff(self) -> bool:
        return self.role in ("agent", "admin")


class Org(Record):
    id: int
    name: str
    manager_id: int | None
    manager: str | None
    members: int


class Ticket(Record):
    id: int
    title: str
    description: str
    status: str
    phase: str
    priority: str
    category: str | None
    requester_id: int
    requester: str
    assignee_id: int | None
    assignee: str | None
    org_id: int | None
    organization: str | None
    resolution: str | None
    fields: dict[str, str]
    follow_up_of: int | None
    created_at: str
    updated_at: str
    status_changed_at: str
    activity_at: str


class Comment(Record):
    id: int
    author: str
    body: str
    internal: bool
    created_at: str


class Attachment(Record):
    id: int
    name: str
    size: int
    sha256: str
    created_at: str
    uploader: str | None


class AttachmentInfo(Record):
    """An attachment as ``attachment list`` shows it: ``comment`` is the id of the
    comment it came with (None: the ticket's own), ``internal`` whether that comment is
    an internal note (staff only)."""

    id: int
    ticket: int
    comment: int | None
    name: str
    size: int
    sha256: str
    uploader: str | None
    internal: bool
    created_at: str


class HistoryEntry(Record):
    id: int
    at: str
    actor: str | None
    event: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]
    via: str | None = None  # who really acted, when the actor was acted for


class TicketQuery(Record):
    """Filters and order for :meth:`ListingSQL.list_tickets`; ``viewer`` limits what a
    customer sees. ``order`` gives the workflow's order of statuses and priorities
    so that sorting by them follows the workflow rather than the alphabet.
    Immutable: derive a variant with ``q._replace(...)``."""

    statuses: Sequence[str] = ()
    priority: str | None = None
    requester_id: int | None = None
    assignee_id: int | None = None
    org_id: int | None = None
    category: str | None = None
    created_since: str | None = None
    created_before: str | None = None
    updated_since: str | None = None
    updated_before: str | None = None
    # (statuses, clock, cutoff) triples: tickets a stale rule would act on.
    stale: Sequence[tuple[Sequence[str], str, str]] | None = None
    search: str | None = None
    # Service levels: breached, at-risk or ok as of sla_now (tickets with clocks only).
    sla: str | None = None
    sla_now: str | None = None
    sort: str = "id"
    descending: bool = True
    limit: int | None = None
    viewer: User | None = None
    order: Mapping[str, Sequence[str]] = {}  # noqa: RUF012 (never mutated)


SORT_KEYS = {
    "id": "t.id",
    "title": "t.title COLLATE NOCASE",
    "category": "t.category COLLATE NOCASE",
    "requester": "r.email",
    "assignee": "a.email",
    "organization": "o.name COLLATE NOCASE",
    "resolution": "t.resolution",
    "follow_up_of": "t.follow_up_of",
    "created_at": "t.created_at",
    "updated_at": "t.updated_at",
    "status": "t.status",
    "phase": "t.phase",
    "priority": "t.priority",
    "due": "s.due_at",
}


class Event(Record):
    """One change to a ticket, as its history row records it: ``event`` is opened,
    status, comment, note, attachment, shared, unshared, assigned, follow_up or
    reminder. ``history_id`` is the row's id once the change set is written."""

    ticket_id: int
    actor_id: int | None
    at: str
    event: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]
    history_id: int = 0
    via_id: int | None = None  # who really acted, when ``actor_id`` was acted for


class ChangeSet(Record):
    """Everything one transaction recorded, in order: what a command changed (or a
    close-stale batch, or one mail-in delivery). Subscribers get it once, at commit."""

    events: tuple[Event, ...]

    def tickets(self) -> dict[int, list[Event]]:
        """The events of each ticket, tickets in the order they were first changed."""
        found: dict[int, list[Event]] = {}
        for ev in self.events:
            found.setdefault(ev.ticket_id, []).append(ev)
        return found


_CLOCKS = {"requester_activity": "activity_at", "status_change": "status_changed_at"}


def clock_column(clock: str) -> str:
    """The tickets column a stale rule's clock reads (any other name: the status change)."""
    return _CLOCKS.get(clock, "status_changed_at")
