"""What an export reads: people, organizations, and tickets with everything on them.

An export reads everything in one read transaction (:func:`snapshot`), so the
file is one consistent snapshot even while others write, and walks tickets by
id in chunks (:func:`all_bundles`), so memory stays flat at any size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .. import Comment, HistoryEntry, Store, Ticket, User
from ..tickets import TicketSQL
from . import each_in


@dataclass(frozen=True)
class OrgData:
    name: str
    manager: str | None
    created_at: str


@dataclass(frozen=True)
class PersonData:
    email: str
    name: str
    role: str
    organization: str | None
    created_at: str


@dataclass(frozen=True)
class Participation:
    email: str
    added_at: str | None  # None where the viewer is not shown it (customers)


@dataclass(frozen=True)
class StoredAttachment:
    id: int
    comment_id: int | None
    uploader: str | None
    name: str
    size: int
    sha256: str
    content: bytes
    created_at: str


@dataclass(frozen=True)
class Bundle:
    """A ticket with everything attached to it."""

    ticket: Ticket
    reminded_for: str | None
    participants: list[Participation]
    comments: list[Comment]
    attachments: list[StoredAttachment]
    history: list[HistoryEntry]


# The store's columns of a ticket, then the clock value its last reminder was for.
_EXPORT_TICKET_SQL = (
    "SELECT " + TicketSQL.TICKET_COLUMNS + ", t.reminded_for" + TicketSQL.TICKET_FROM
)


@contextmanager
def snapshot(store: Store) -> Iterator[None]:
    """One read transaction: everything read inside sees the same database state."""
    conn = store.conn
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()  # start the read now
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def export_people(store: Store) -> tuple[list[OrgData], list[PersonData]]:
    orgs = [
        OrgData(*r) for r in store.conn.execute(
            "SELECT o.name, m.email, o.created_at FROM orgs o "
            "LEFT JOIN users m ON m.id = o.manager_id ORDER BY o.id"
        )
    ]
    people = [
        PersonData(*r) for r in store.conn.execute(
            "SELECT u.email, coalesce(u.name, ''), u.role, o.name, u.created_at FROM users u "
            "LEFT JOIN orgs o ON o.id = u.org_id ORDER BY u.id"
        )
    ]
    return orgs, people


def visible_ticket_ids(store: Store, viewer: User, after: int, limit: int) -> list[int]:
    """Ids above ``after`` that ``viewer`` may see, by the store's one visibility rule."""
    clause, params = store.tickets.visibility(viewer)
    rows = store.conn.execute(
        f"SELECT t.id FROM tickets t WHERE t.id > ? AND {clause} ORDER BY t.id LIMIT ?",  # noqa: S608 (fixed SQL fragments only)
        (after, *params, limit),
    )
    return [int(r[0]) for r in rows]


def attachment_files(store: Store, ids: Sequence[int]) -> dict[int, tuple[int | None, bytes]]:
    """(comment id, content) of attachments by id."""
    found: dict[int, tuple[int | None, bytes]] = {}
    for aid, comment_id, content in each_in(
        store.conn,
        "SELECT id, comment_id, content FROM attachments "
        "WHERE id IN (SELECT value FROM json_each(?))",
        list(ids),
    ):
        found[int(aid)] = (comment_id, bytes(content))
    return found


def all_bundles(store: Store, chunk: int = 1000) -> Iterator[Bundle]:
    """Every ticket with everything attached to it, by id: what staff export.

    Tickets are read ``chunk`` at a time by id, and their comments, history,
    participants and attachments with one range query each.
    """
    conn = store.conn
    after = 0
    while True:
        rows = conn.execute(
            _EXPORT_TICKET_SQL + "WHERE t.id > ? ORDER BY t.id LIMIT ?", (after, chunk)
        ).fetchall()
        if not rows:
            return
        tickets = [(TicketSQL.ticket_from_row(r[:20]), r[20]) for r in rows]
        span = (tickets[0][0].id, tickets[-1][0].id)
        participants: dict[int, list[Participation]] = {}
        for tid, email, added in conn.execute(
            "SELECT p.ticket_id, u.email, p.added_at FROM participants p "
            "JOIN users u ON u.id = p.user_id WHERE p.ticket_id BETWEEN ? AND ? "
            "ORDER BY p.ticket_id, p.added_at, u.email",
            span,
        ):
            participants.setdefault(tid, []).append(Participation(email, added))
        comments: dict[int, list[Comment]] = {}
        for tid, cid, author, body, internal, created in conn.execute(
            "SELECT c.ticket_id, c.id, u.email, c.body, c.internal, c.created_at "
            "FROM comments c JOIN users u ON u.id = c.author_id "
            "WHERE c.ticket_id BETWEEN ? AND ? ORDER BY c.ticket_id, c.id",
            span,
        ):
            comments.setdefault(tid, []).append(
                Comment(cid, author, body, bool(internal), created)
            )
        attachments: dict[int, list[StoredAttachment]] = {}
        for r in conn.execute(
            "SELECT a.ticket_id, a.id, a.comment_id, u.email, a.name, a.size, a.sha256, "
            "a.content, a.created_at FROM attachments a "
            "LEFT JOIN users u ON u.id = a.uploader_id WHERE a.ticket_id BETWEEN ? AND ? "
            "ORDER BY a.ticket_id, a.id",
            span,
        ):
            attachments.setdefault(r[0], []).append(
                StoredAttachment(r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7]), r[8])
            )
        history: dict[int, list[HistoryEntry]] = {}
        for r in conn.execute(
            "SELECT h.ticket_id, h.id, h.at, u.email, h.event, h.from_status, h.to_status, "
            "h.detail, v.email FROM history h LEFT JOIN users u ON u.id = h.actor_id "
            "LEFT JOIN users v ON v.id = h.via_id "
            "WHERE h.ticket_id BETWEEN ? AND ? ORDER BY h.ticket_id, h.id",
            span,
        ):
            history.setdefault(r[0], []).append(
                HistoryEntry(r[1], r[2], r[3], r[4], r[5], r[6],
                             json.loads(r[7]) if r[7] else {}, r[8])
            )
        for t, reminded in tickets:
            yield Bundle(
                ticket=t,
                reminded_for=reminded,
                participants=participants.get(t.id, []),
                comments=comments.get(t.id, []),
                attachments=attachments.get(t.id, []),
                history=history.get(t.id, []),
            )
        after = span[1]
