"""Tickets, their comments, attachments, participants and history; the one
visibility rule."""

from __future__ import annotations

from ..errors import NotFound
from ..i18n import msg
from ..jsontext import dumps, loads
from ..record import Record
from .people import USER_SQL
from .records import Attachment, AttachmentInfo, Comment, Event, HistoryEntry, Ticket, User

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from .connection import Database


def _loads(text: str | None) -> Any:
    """A JSON column's value ({} for none)."""
    return loads(text) if text else {}


def _dumps(value: Any) -> str:
    return dumps(value, sort_keys=True)


class TicketHead(Record):
    """The few columns of a ticket its notifications need."""

    id: int
    title: str
    status: str
    requester_id: int
    description: str
    assignee_id: int | None = None
    priority: str = ""


class TicketSQL:
    """The tickets table and those that hang off it: comments, attachments,
    participants, history."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    # A Ticket as one row: SELECT TICKET_COLUMNS + TICKET_FROM ..., then
    # ticket_from_row (the listings and the export read tickets this way).
    TICKET_COLUMNS = (
        "t.id, t.title, t.description, t.status, t.phase, t.priority, t.category, "
        "t.requester_id, r.email, t.assignee_id, a.email, t.org_id, o.name, t.resolution, "
        "t.fields, t.follow_up_of, t.created_at, t.updated_at, t.status_changed_at, "
        "t.activity_at"
    )
    TICKET_FROM = (
        " FROM tickets t JOIN users r ON r.id = t.requester_id "
        "LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN orgs o ON o.id = t.org_id "
    )

    @staticmethod
    def ticket_from_row(row: Sequence[Any]) -> Ticket:
        values = list(row)
        values[14] = _loads(values[14])
        return Ticket(*values)

    def ticket(self, ticket_id: int) -> Ticket:
        row = self.conn.execute(
            "SELECT " + self.TICKET_COLUMNS + self.TICKET_FROM + "WHERE t.id = ?", (ticket_id,)
        ).fetchone()
        if row is None:
            raise NotFound(msg("ticket {id} not found", id=ticket_id))
        return self.ticket_from_row(row)

    def ticket_heads(self, ids: Sequence[int], *,
                     description: bool = False) -> dict[int, TicketHead]:
        """Title, status and requester (and the description if asked) of the tickets of
        ``ids`` that exist, by id: what a notification about each needs."""
        text = "description" if description else "''"
        return {
            int(r[0]): TicketHead(int(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]),
                                  None if r[5] is None else int(r[5]), str(r[6]))
            for r in self.db.select_in(
                f"SELECT id, title, status, requester_id, {text}, assignee_id, priority "  # noqa: S608 (fixed)
                "FROM tickets WHERE id IN", ids)
        }

    def can_see(self, user: User, ticket_id: int) -> bool:
        """The one visibility rule: staff see all; customers their own and shared."""
        if user.staff:
            return True
        clause, params = self.visibility(user)
        sql = f"SELECT 1 FROM tickets t WHERE t.id = ? AND {clause}"  # noqa: S608 (fixed)
        return bool(self.db.one(sql, (ticket_id, *params)))

    @staticmethod
    def visibility(user: User | None) -> tuple[str, tuple[Any, ...]]:
        """SQL condition on ``t`` limiting tickets to what ``user`` may see."""
        if user is None or user.staff:
            return "1 = 1", ()
        return (
            "(t.requester_id = ? OR t.id IN "
            "(SELECT p.ticket_id FROM participants p WHERE p.user_id = ?))",
            (user.id, user.id),
        )

    def insert_ticket(self, *, title: str, description: str, status: str, phase: str,
                      priority: str, category: str | None, requester_id: int,
                      org_id: int | None, fields: dict[str, str], follow_up_of: int | None,
                      now: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO tickets(title, description, status, phase, priority, category, "
            "requester_id, org_id, fields, follow_up_of, created_at, updated_at, "
            "status_changed_at, activity_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (title, description, status, phase, priority, category, requester_id, org_id,
             _dumps(fields), follow_up_of,
             now, now, now, now),
        )
        return int(cur.lastrowid or 0)

    def set_status(self, ticket_id: int, status: str, phase: str, now: str,
                   resolution: str | None = None, *, keep_resolution: bool = True) -> None:
        """Move a ticket; its resolution becomes ``resolution`` if given, else stays
        (``keep_resolution``) or is cleared."""
        self.conn.execute(
            "UPDATE tickets SET status = ?, phase = ?, status_changed_at = ?, activity_at = ?, "
            "updated_at = ?, resolution = CASE WHEN ? THEN coalesce(?, resolution) ELSE ? END "
            "WHERE id = ?",
            (status, phase, now, now, now, keep_resolution, resolution, resolution, ticket_id),
        )

    def touch(self, ticket_id: int, now: str, *, requester_activity: bool = False) -> None:
        if requester_activity:
            self.conn.execute(
                "UPDATE tickets SET updated_at = ?, activity_at = ? WHERE id = ?",
                (now, now, ticket_id),
            )
        else:
            self.conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (now, ticket_id))

    def set_assignee(self, ticket_id: int, user_id: int | None, now: str) -> None:
        self.conn.execute(
            "UPDATE tickets SET assignee_id = ?, updated_at = ? WHERE id = ?",
            (user_id, now, ticket_id),
        )

    def add_comment(self, ticket_id: int, author_id: int, body: str, internal: bool,
                    now: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO comments(ticket_id, author_id, body, internal, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (ticket_id, author_id, body, int(internal), now),
        )
        return int(cur.lastrowid or 0)

    def comments(self, ticket_id: int, *, internal: bool) -> list[Comment]:
        rows = self.conn.execute(
            "SELECT c.id, u.email, c.body, c.internal, c.created_at FROM comments c "  # noqa: S608 (fixed SQL fragments only)
            "JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ? "
            + ("" if internal else "AND c.internal = 0 ")
            + "ORDER BY c.id",
            (ticket_id,),
        )
        return [Comment(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def add_attachment(self, ticket_id: int, comment_id: int | None, uploader_id: int,
                       name: str, content: bytes, sha256: str, now: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO attachments(ticket_id, comment_id, uploader_id, name, size, sha256, "
            "content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ticket_id, comment_id, uploader_id, name, len(content), sha256, content, now),
        )
        return int(cur.lastrowid or 0)

    def attachments(self, ticket_id: int, *, internal: bool) -> list[Attachment]:
        rows = self.conn.execute(
            "SELECT a.id, a.name, a.size, a.sha256, a.created_at, u.email FROM attachments a "  # noqa: S608 (fixed SQL fragments only)
            "LEFT JOIN users u ON u.id = a.uploader_id "
            "LEFT JOIN comments c ON c.id = a.comment_id WHERE a.ticket_id = ? "
            + ("" if internal else "AND coalesce(c.internal, 0) = 0 ")
            + "ORDER BY a.id",
            (ticket_id,),
        )
        return [Attachment(*r) for r in rows]

    _ATTACHMENT_INFO = (
        "SELECT a.id, a.ticket_id, a.comment_id, a.name, a.size, a.sha256, u.email, "
        "coalesce(c.internal, 0), a.created_at FROM attachments a "
        "LEFT JOIN users u ON u.id = a.uploader_id LEFT JOIN comments c ON c.id = a.comment_id "
    )

    @staticmethod
    def _info(row: Sequence[Any]) -> AttachmentInfo:
        values = list(row)
        values[7] = bool(values[7])
        return AttachmentInfo(*values)

    def attachment_infos(self, ticket_id: int, *, internal: bool) -> list[AttachmentInfo]:
        """A ticket's attachments, oldest first; those of internal notes only with
        ``internal``."""
        rows = self.conn.execute(
            self._ATTACHMENT_INFO + "WHERE a.ticket_id = ? "
            + ("" if internal else "AND coalesce(c.internal, 0) = 0 ") + "ORDER BY a.id",
            (ticket_id,),
        )
        return [self._info(r) for r in rows]

    def attachment_file(self, attachment_id: int) -> tuple[AttachmentInfo, bytes] | None:
        """An attachment and its stored bytes, if it exists."""
        row = self.conn.execute(
            self._ATTACHMENT_INFO.replace("SELECT ", "SELECT a.content, ", 1)
            + "WHERE a.id = ?", (attachment_id,)).fetchone()
        if row is None:
            return None
        return self._info(row[1:]), bytes(row[0] or b"")

    def update_ticket(self, ticket: Ticket, now: str, *, title: str, description: str,
                      priority: str, category: str | None, fields: dict[str, str],
                      requester_id: int, org_id: int | None) -> None:
        """What ``edit`` changes, all columns at once (those not changed as they were)."""
        self.conn.execute(
            "UPDATE tickets SET title = ?, description = ?, priority = ?, category = ?, "
            "fields = ?, requester_id = ?, org_id = ?, updated_at = ? WHERE id = ?",
            (title, description, priority, category, _dumps(fields), requester_id, org_id,
             now, ticket.id),
        )

    def participants(self, ticket_id: int) -> list[User]:
        rows = self.conn.execute(
            USER_SQL.replace("FROM users u", "FROM participants p JOIN users u "
                                   "ON u.id = p.user_id")
            + "WHERE p.ticket_id = ? ORDER BY p.added_at, u.email",
            (ticket_id,),
        )
        return [User(*r) for r in rows]

    def participants_of(self, ticket_ids: Sequence[int]) -> dict[int, list[User]]:
        """The participants of each ticket in ``ticket_ids``, in the order of
        :meth:`participants`; tickets without any are left out."""
        found: dict[int, list[User]] = {}
        sql = USER_SQL.replace(
            "SELECT ", "SELECT p.ticket_id, ", 1
        ).replace("FROM users u", "FROM participants p JOIN users u ON u.id = p.user_id")
        for r in self.db.select_in(sql + "WHERE p.ticket_id IN", ticket_ids,
                                " ORDER BY p.ticket_id, p.added_at, u.email"):
            found.setdefault(int(r[0]), []).append(User(*r[1:]))
        return found

    def add_participant(self, ticket_id: int, user_id: int, now: str) -> bool:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO participants(ticket_id, user_id, added_at) VALUES (?, ?, ?)",
            (ticket_id, user_id, now),
        )
        return cur.rowcount > 0

    def shared_with(self, user_id: int) -> list[tuple[int, int | None]]:
        """(ticket id, its organization id) of every ticket ``user_id`` participates in."""
        return [(int(r[0]), r[1]) for r in self.conn.execute(
            "SELECT t.id, t.org_id FROM participants p JOIN tickets t ON t.id = p.ticket_id "
            "WHERE p.user_id = ? ORDER BY t.id", (user_id,))]

    def remove_participant(self, ticket_id: int, user_id: int) -> bool:
        cur = self.conn.execute(
            "DELETE FROM participants WHERE ticket_id = ? AND user_id = ?", (ticket_id, user_id)
        )
        return cur.rowcount > 0

    def add_history_many(self, events: Sequence[Event]) -> list[Event]:
        """Write one history row per event, in order; returns the events with their
        row ids. Inside a write transaction."""
        if not events:
            return []
        texts: dict[str, str] = {}

        def text(detail: dict[str, Any]) -> str | None:
            if not detail:
                return None
            key = repr(sorted(detail.items()))
            if key not in texts:
                texts[key] = _dumps(detail)
            return texts[key]

        sql = ("INSERT INTO history(ticket_id, actor_id, at, event, from_status, to_status, "
               "detail, via_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        rows = [(e.ticket_id, e.actor_id, e.at, e.event, e.from_status, e.to_status,
                 text(e.detail), e.via_id) for e in events]
        if self.db.engine != "sqlite":  # one round trip, the ids from RETURNING
            ids = self.conn.insert_ids(sql, rows)  # type: ignore[attr-defined]
            return [e._replace(history_id=i) for e, i in zip(events, ids, strict=True)]
        last = int(self.db.one("SELECT coalesce(max(id), 0) FROM history"))
        self.conn.executemany(sql, rows)
        # New rows take the next ids in order: no one else writes inside this transaction.
        ids = [int(r[0]) for r in self.conn.execute(
            "SELECT id FROM history WHERE id > ? ORDER BY id", (last,))]
        if len(ids) != len(events):
            raise RuntimeError(f"wrote {len(events)} history rows but found {len(ids)}")
        return [e._replace(history_id=i) for e, i in zip(events, ids, strict=True)]

    def history(self, ticket_id: int, *, internal: bool) -> list[HistoryEntry]:
        rows = self.conn.execute(
            "SELECT h.id, h.at, u.email, h.event, h.from_status, h.to_status, h.detail, v.email "
            "FROM history h LEFT JOIN users u ON u.id = h.actor_id "
            "LEFT JOIN users v ON v.id = h.via_id WHERE h.ticket_id = ? "
            + ("" if internal else "AND h.event NOT IN ('note', 'sla_warning', 'sla_breached') "
               "AND coalesce("
               "json_extract(h.detail, '$.internal'), 0) = 0 ")
            + "ORDER BY h.id",
            (ticket_id,),
        )
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], r[4], r[5], _loads(r[6]), r[7])
            for r in rows
        ]

    def status_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM tickets GROUP BY status")
        return {str(r[0]): int(r[1]) for r in rows}

    def remap_status(self, old: str, new: str, phase: str, actor_id: int | None,
                     now: str) -> int:
        """Move every ticket in ``old`` to ``new`` with a history row each."""
        self.conn.execute(
            "INSERT INTO history(ticket_id, actor_id, at, event, from_status, to_status, detail) "
            "SELECT id, ?, ?, 'status', status, ?, ? FROM tickets WHERE status = ?",
            (actor_id, now, new, _dumps({"reason": "workflow import"}), old),
        )
        cur = self.conn.execute(
            "UPDATE tickets SET status = ?, phase = ?, status_changed_at = ?, activity_at = ?, "
            "updated_at = ? WHERE status = ?",
            (new, phase, now, now, now, old),
        )
        return cur.rowcount

    def set_phase(self, status: str, phase: str) -> None:
        self.conn.execute(
            "UPDATE tickets SET phase = ? WHERE status = ? AND phase <> ?", (phase, status, phase)
        )

    def ids_starting(self, prefix: str, viewer: User, limit: int = 40) -> list[int]:
        """Ids of tickets ``viewer`` may see whose digits start with ``prefix``, newest
        first (range scans only)."""
        if prefix and not prefix.isdigit():
            return []
        clause, vparams = self.visibility(viewer)
        sql = ("SELECT t.id FROM tickets t WHERE t.id BETWEEN ? AND ? AND "  # noqa: S608
               + clause + " ORDER BY t.id DESC LIMIT ?")
        top = int(self.db.one("SELECT max(id) FROM tickets") or 0)
        ranges = [(1, top)] if not prefix else []
        base, scale = (int(prefix), 1) if prefix else (0, 0)
        while prefix and base * scale <= top:
            ranges.append((base * scale, (base + 1) * scale - 1))
            scale *= 10
        found: list[int] = []
        for low, high in ranges:
            if len(found) >= limit:
                break
            rows = self.conn.execute(sql, (low, high, *vparams, limit - len(found)))
            found += [int(r[0]) for r in rows]
        return found

    def count_tickets(self) -> int:
        return int(self.db.one("SELECT count(*) FROM tickets"))
