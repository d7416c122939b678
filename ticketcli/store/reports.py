"""What ``report`` counts: tickets opened, status changes, first staff replies,
clocks and backlogs, read in a few passes (each bounded by the period where an
index allows it). Group columns come from a fixed table."""

from __future__ import annotations

from .migrations import BLOCK_BITS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

    from .connection import Database

# What a ticket is grouped by (report --by), as SQL over t, a (assignee), o (org).
GROUP_COLUMNS = {
    "agent": "a.email",
    "priority": "t.priority",
    "category": "t.category",
    "organization": "o.name",
}
_JOINS = (" LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN orgs o ON o.id = t.org_id ")


class ReportSQL:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    def _group(self, by: str | None) -> str:
        return GROUP_COLUMNS[by] if by in GROUP_COLUMNS else "NULL"

    def created_since(self, since: str, by: str | None) -> Iterator[tuple[int, str, Any]]:
        """(id, created_at, group) of tickets created at or after ``since``; the
        per-block time bounds say from which id to look."""
        joins = _JOINS if by in GROUP_COLUMNS else " "
        sql = (f"SELECT t.id, t.created_at, {self._group(by)} FROM tickets t{joins}"  # noqa: S608 (fixed)
               f"WHERE t.id >= coalesce((SELECT min(block) << {BLOCK_BITS} FROM ticket_blocks "
               "WHERE created_max >= ?), 1 << 62) AND t.created_at >= ?")
        for r in self.conn.execute(sql, (since, since)):
            yield int(r[0]), str(r[1]), r[2]

    def status_events(self, since: str, by: str | None,
                      resolved: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """(ticket id, at, from, to, group) of status changes at or after ``since``
        into or out of one of the ``resolved`` statuses."""
        marks = ", ".join("?" * len(resolved)) or "NULL"
        moves = f"(h.to_status IN ({marks}) OR h.from_status IN ({marks}))"
        if by in GROUP_COLUMNS:
            sql = ("SELECT h.ticket_id, h.at, h.from_status, h.to_status, "  # noqa: S608 (fixed)
                   f"{self._group(by)} FROM history h JOIN tickets t ON t.id = h.ticket_id"
                   f"{_JOINS}WHERE h.event = 'status' AND h.at >= ? AND {moves}")
        else:
            sql = ("SELECT h.ticket_id, h.at, h.from_status, h.to_status, NULL "  # noqa: S608
                   f"FROM history h WHERE h.event = 'status' AND h.at >= ? AND {moves}")
        yield from self.conn.execute(sql, (since, *resolved, *resolved))

    def unresolved_now(self, statuses: Sequence[str], by: str | None) -> dict[Any, int]:
        """How many tickets are in ``statuses`` now, per group."""
        if not statuses:
            return {}
        marks = ", ".join("?" * len(statuses))
        if by not in GROUP_COLUMNS:
            n = self.db.one(f"SELECT coalesce(sum(n), 0) FROM ticket_counts "  # noqa: S608
                            f"WHERE status IN ({marks})", list(statuses))
            return {None: int(n)}
        group = self._group(by)
        sql = (f"SELECT {group}, count(*) FROM tickets t{_JOINS}"  # noqa: S608 (fixed)
               f"WHERE t.status IN ({marks}) GROUP BY {group}")
        return {r[0]: int(r[1]) for r in self.conn.execute(sql, list(statuses))}

    def first_staff_replies(self, from_id: int) -> dict[int, str]:
        """The first public staff reply of each ticket from id ``from_id`` on."""
        rows = self.conn.execute(
            "SELECT c.ticket_id, min(c.created_at) FROM comments c "
            "JOIN users u ON u.id = c.author_id WHERE c.ticket_id >= ? AND c.internal = 0 "
            "AND u.role IN ('agent', 'admin') GROUP BY c.ticket_id", (from_id,))
        return {int(r[0]): str(r[1]) for r in rows}

    def clocks_from(self, from_id: int) -> Iterator[tuple[int, str]]:
        for r in self.conn.execute(
                "SELECT ticket_id, state FROM sla_clocks WHERE ticket_id >= ?", (from_id,)):
            yield int(r[0]), str(r[1])
