"""Service-level clocks kept per ticket: the SQL of ``sla_clocks``.

The table is an index of the history, as the full-text index is one of the
tickets: one row per ticket under a policy, with its clocks (JSON) and four
indexed times, ``due_at`` (earliest due among running targets: ``list --sort
due`` and ``sla_due_at``), ``warn_at`` (``--sla at-risk``), ``breach_at`` (when
the ticket counts as breached: ``--sla breached``) and ``check_at`` (the next
time ``sla check`` has something to record). Nothing is recomputed per query.

Rows are rewritten by :meth:`SlaSQL.refresh`, which the store calls at every
commit for the tickets the transaction's change set touched (after their
history rows are written, inside the same transaction): whatever use case
changed a ticket, its clocks change with it or not at all. A new workflow
rebuilds every row (:meth:`SlaSQL.rebuild`); an import computes its tickets'
rows from the records it inserts (:meth:`SlaSQL.put`).
"""

from __future__ import annotations

from ..jsontext import dumps, loads
from ..workflow.calendar import hours_for
from ..workflow.clocks import Clocks, clocks, facts_from, from_json, stamp, to_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from ..workflow import Workflow
    from .connection import Database

# Events that never move a clock: a change set of only these leaves the rows alone.
STILL = frozenset({"attachment", "shared", "unshared", "assigned", "note", "follow_up",
                   "reminder"})
CHUNK = 400  # tickets read together


def compute(wf: Workflow, priority: str, category: str | None, created: str,
            status_changed: str, phase: str,
            history: Sequence[tuple[str, str, str | None, str | None]],
            replies: Sequence[tuple[str, bool]],
            phases: dict[str, str]) -> Clocks | None:
    """A ticket's clocks under the workflow's policy for it (None: no policy)."""
    policy = wf.policy_for(priority, category)
    if policy is None:
        return None
    cal = wf.calendars.get(policy.calendar) if policy.calendar else None
    opened, phase0, facts = facts_from(created, status_changed, phase, history, replies,
                                       phases)
    return clocks(policy, hours_for(cal), opened, phase0, facts)


def row(ticket_id: int, c: Clocks) -> tuple[Any, ...]:
    return (ticket_id, dumps(to_json(c)), stamp(c.due_at), stamp(c.warn_at),
            stamp(c.breach_at), stamp(c.check_at))


class SlaSQL:
    """The clocks of one store's tickets."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    # -- writing -----------------------------------------------------------------------

    def put(self, rows: Sequence[tuple[Any, ...]], gone: Sequence[int] = ()) -> None:
        """Write ``row(...)`` tuples; drop the rows of ``gone`` (no policy any more)."""
        if rows:
            self.conn.executemany(
                "INSERT INTO sla_clocks(ticket_id, state, due_at, warn_at, breach_at, check_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(ticket_id) DO UPDATE SET "
                "state = excluded.state, due_at = excluded.due_at, warn_at = excluded.warn_at, "
                "breach_at = excluded.breach_at, check_at = excluded.check_at", rows)
        if gone:
            self.conn.executemany("DELETE FROM sla_clocks WHERE ticket_id = ?",
                                  [(i,) for i in gone])

    def refresh(self, wf: Workflow, ticket_ids: Iterable[int]) -> None:
        """Recompute the clocks of these tickets from their rows (inside a write)."""
        ids = list(dict.fromkeys(ticket_ids))
        phases = {k: s.phase for k, s in wf.statuses.items()}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            heads = {int(r[0]): r for r in self.db.select_in(
                "SELECT id, priority, category, created_at, status_changed_at, phase "
                "FROM tickets WHERE id IN", chunk)}
            wanted = [i for i, r in heads.items() if wf.policy_for(r[1], r[2]) is not None]
            history: dict[int, list[tuple[str, str, str | None, str | None]]] = {}
            replies: dict[int, list[tuple[str, bool]]] = {}
            if wanted:
                for r in self.db.select_in(
                        "SELECT ticket_id, at, event, to_status, "
                        "json_extract(detail, '$.target') FROM history WHERE ticket_id IN",
                        wanted, " AND event IN ('opened', 'status', 'sla_warning', "
                        "'sla_breached') ORDER BY id"):
                    history.setdefault(int(r[0]), []).append((r[1], r[2], r[3], r[4]))
                for r in self.db.select_in(
                        "SELECT c.ticket_id, c.created_at, u.role IN ('agent', 'admin') "
                        "FROM comments c JOIN users u ON u.id = c.author_id "
                        "WHERE c.internal = 0 AND c.ticket_id IN", wanted, " ORDER BY c.id"):
                    replies.setdefault(int(r[0]), []).append((r[1], bool(r[2])))
            rows, gone = [], []
            for tid, h in heads.items():
                found = compute(wf, h[1], h[2], h[3], h[4], h[5], history.get(tid, []),
                                replies.get(tid, []), phases)
                if found is None:
                    gone.append(tid)
                else:
                    rows.append(row(tid, found))
            self.put(rows, gone)

    def rebuild(self, wf: Workflow) -> int:
        """Every ticket's clocks under ``wf`` (a new workflow); returns how many run."""
        self.conn.execute("DELETE FROM sla_clocks")
        if not wf.sla:
            return 0
        priorities = sorted({p for policy in wf.sla for p in policy.priorities})
        last = 0
        while True:
            ids = [int(r[0]) for r in self.conn.execute(
                "SELECT id FROM tickets WHERE id > ? AND priority IN ("  # noqa: S608 (marks)
                + ", ".join("?" * len(priorities)) + ") ORDER BY id LIMIT 5000",
                [last, *priorities])]
            if not ids:
                break
            self.refresh(wf, ids)
            last = ids[-1]
        return int(self.db.one("SELECT count(*) FROM sla_clocks"))

    # -- reading -----------------------------------------------------------------------

    def clocks_of(self, ticket_ids: Sequence[int]) -> dict[int, Clocks]:
        return {int(r[0]): from_json(loads(r[1])) for r in self.db.select_in(
            "SELECT ticket_id, state FROM sla_clocks WHERE ticket_id IN", ticket_ids)}

    def summaries(self, ticket_ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        """(due_at, breach_at) of the tickets that have clocks (for lists)."""
        return {int(r[0]): (r[1], r[2]) for r in self.db.select_in(
            "SELECT ticket_id, due_at, breach_at FROM sla_clocks WHERE ticket_id IN",
            ticket_ids)}

    def due(self, now: str, after: tuple[str, int] | None,
            limit: int) -> list[tuple[int, str]]:
        """Tickets with something for sla check to record at ``now``, in check order,
        after the (check_at, ticket id) key ``after``."""
        if after is None:
            rows = self.conn.execute(
                "SELECT ticket_id, check_at FROM sla_clocks WHERE check_at <= ? "
                "ORDER BY check_at, ticket_id LIMIT ?", (now, limit))
        else:
            rows = self.conn.execute(
                "SELECT ticket_id, check_at FROM sla_clocks WHERE check_at <= ? "
                "AND (check_at, ticket_id) > (?, ?) ORDER BY check_at, ticket_id LIMIT ?",
                (now, after[0], after[1], limit))
        return [(int(r[0]), str(r[1])) for r in rows]

    def has_rows(self) -> bool:
        return self.db.one("SELECT 1 FROM sla_clocks LIMIT 1") is not None

    def anything_due(self, now: str) -> bool:
        return self.db.one("SELECT 1 FROM sla_clocks WHERE check_at <= ? LIMIT 1",
                           (now,)) is not None

    def ticket_states(self, ticket_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        """(status, priority, assignee_id, check_at, state) of tickets, inside a write."""
        return {int(r[0]): tuple(r[1:]) for r in self.db.select_in(
            "SELECT t.id, t.status, t.priority, t.assignee_id, s.check_at, s.state "
            "FROM tickets t JOIN sla_clocks s ON s.ticket_id = t.id WHERE t.id IN",
            ticket_ids)}

    def set_priority(self, ticket_id: int, priority: str, now: str) -> None:
        self.conn.execute("UPDATE tickets SET priority = ?, updated_at = ? WHERE id = ?",
                          (priority, now, ticket_id))

    def assignees(self, ticket_ids: Sequence[int]) -> dict[int, int | None]:
        return {int(r[0]): r[1] for r in self.db.select_in(
            "SELECT id, assignee_id FROM tickets WHERE id IN", ticket_ids)}

    def staff_ids(self) -> list[int]:
        return [int(r[0]) for r in self.conn.execute(
            "SELECT id FROM users WHERE role IN ('agent', 'admin') ORDER BY id")]
