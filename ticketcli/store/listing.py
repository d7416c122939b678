"""Listing and search: the one query behind ``list`` and ``--search``.

All SQL is parameterized; the few fragments put into SQL text (sort keys,
visibility, the clock column) come from fixed tables in this package.
"""

from __future__ import annotations

import sqlite3

from ..text import words as text_words
from .migrations import BLOCK_BITS
from .records import SORT_KEYS, Ticket, TicketQuery, User, clock_column
from .tickets import TicketSQL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .connection import Database


class ListingSQL:
    """Tickets that match a :class:`TicketQuery`, in its order, as its viewer may see them."""

    TICKET_COLUMNS = TicketSQL.TICKET_COLUMNS
    TICKET_FROM = TicketSQL.TICKET_FROM
    # Tickets with clocks, walked from their clocks (s) first: an --sla filter reads
    # the rows of sla_clocks newest first, or by due time through its index.
    SLA_FROM = TicketSQL.TICKET_FROM.replace(
        " FROM tickets t ", " FROM sla_clocks s CROSS JOIN tickets t ON t.id = s.ticket_id ", 1)
    # Every ticket, with its clocks if it has any (--sort due, after those with a due).
    WITH_SLA_FROM = TicketSQL.TICKET_FROM + "LEFT JOIN sla_clocks s ON s.ticket_id = t.id "
    ticket_from_row = staticmethod(TicketSQL.ticket_from_row)
    visibility = staticmethod(TicketSQL.visibility)

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    # -- listing ------------------------------------------------------------------

    def _where(self, q: TicketQuery, literal: bool = False) -> tuple[str, list[Any]]:
        clause, vparams = self.visibility(q.viewer)
        where: list[str] = [clause]
        params: list[Any] = list(vparams)

        def equal(column: str, value: object) -> None:
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)

        if q.statuses:
            # Newest first is the common order: "+" keeps SQLite walking the ids
            # backwards instead of gathering every active ticket from the status
            # index and sorting them (whatever statistics it has or lacks).
            plus = "+" if q.sort == "id" and q.descending else ""
            where.append(f"{plus}t.status IN ({', '.join('?' * len(q.statuses))})")
            params.extend(q.statuses)
        equal("t.priority", q.priority)
        equal("t.requester_id", q.requester_id)
        equal("t.assignee_id", q.assignee_id)
        equal("t.org_id", q.org_id)
        equal("t.category", q.category)
        for column, op, value in (
            ("t.created_at", ">=", q.created_since), ("t.created_at", "<", q.created_before),
            ("t.updated_at", ">=", q.updated_since), ("t.updated_at", "<", q.updated_before),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                params.append(value)
        # The same filters as bounds on the ids, from the time bounds kept per block of
        # ids: a walk newest first starts at the last block that can hold a match and
        # stops after the first (no such block: NULL, and nothing matches).
        for bound, value in (
            ("t.id < (SELECT (max(block) + 1) << {bits} FROM ticket_blocks "
             "WHERE updated_min < ?)", q.updated_before),
            ("t.id < (SELECT (max(block) + 1) << {bits} FROM ticket_blocks "
             "WHERE created_min < ?)", q.created_before),
            ("t.id >= (SELECT min(block) << {bits} FROM ticket_blocks "
             "WHERE created_max >= ?)", q.created_since),
        ):
            if value is not None:
                where.append(bound.format(bits=BLOCK_BITS))
                params.append(value)
        if q.stale is not None:
            rules = []
            for statuses, clock, cutoff in q.stale:
                rules.append(
                    f"(t.status IN ({', '.join('?' * len(statuses))}) "
                    f"AND t.{clock_column(clock)} <= ?)"
                )
                params.extend([*statuses, cutoff])
            where.append("(" + (" OR ".join(rules) or "1 = 0") + ")")
        if q.sla is not None:
            cond, sla_params = self._sla_condition(q)
            where.append(cond)
            params += sla_params
        if q.search is not None:
            cond, sparams = self._search_condition(q.search, q.viewer, literal)
            where.append(cond)
            params.extend(sparams)
        return " AND ".join(where), params

    def list_tickets(self, q: TicketQuery) -> tuple[list[Ticket], bool]:
        """Tickets matching ``q`` in its order; and whether more exist past the limit."""
        try:
            return self._search_newest(q) or self._list(q, literal=False)
        except sqlite3.OperationalError as e:
            if "fts5" not in str(e):
                raise
            return self._list(q, literal=True)  # a word the index would not take as one

    def _search_newest(self, q: TicketQuery) -> tuple[list[Ticket], bool] | None:
        """The first page of a search in the default order (newest first), read from the
        full-text indexes in id order so that a common word costs no more than a rare
        one. None when the query is not of that shape."""
        if (not q.search or q.sort != "id" or not q.descending or not q.limit
                or q.sla is not None or self.db.engine != "sqlite"):
            return None
        words = text_words(q.search)
        if not words:
            return None
        match = self._match(words)
        where, params = self._where(q._replace(search=None))
        size = min(q.limit, 2**62) + 1
        from_fts = self.TICKET_FROM.replace(
            " FROM tickets t ", " FROM tickets_fts f JOIN tickets t ON t.id = f.rowid ", 1)
        rows = self.conn.execute(
            "SELECT " + self.TICKET_COLUMNS + from_fts  # noqa: S608 (fixed SQL fragments only)
            + "WHERE tickets_fts MATCH ? AND " + where + " ORDER BY f.rowid DESC LIMIT ?",
            [match, *params, size],
        ).fetchall()
        # Tickets found through their comments: only those that could still make the
        # page (newer than its last ticket) need looking at.
        floor = int(rows[-1][0]) if len(rows) == size else 0
        internal = "" if q.viewer is None or q.viewer.staff else " AND c.internal = 0"
        found = {int(r[0]) for r in rows}
        extra = [
            int(r[0]) for r in self.conn.execute(
                "SELECT DISTINCT c.ticket_id FROM comments_fts cf "  # noqa: S608 (fixed)
                "JOIN comments c ON c.id = cf.rowid WHERE comments_fts MATCH ? "
                "AND c.ticket_id > ? AND cf.rowid >= coalesce("
                "(SELECT min(id) FROM comments WHERE ticket_id > ?), 0)" + internal,
                [match, floor, floor],
            )
            if int(r[0]) not in found
        ]
        rows += self.db.select_in("SELECT " + self.TICKET_COLUMNS + self.TICKET_FROM
                               + "WHERE t.id IN", extra, " AND " + where, params)
        rows.sort(key=lambda r: -int(r[0]))
        more = len(rows) > q.limit
        return [self.ticket_from_row(r) for r in rows[: q.limit]], more

    @staticmethod
    def _sla_condition(q: TicketQuery) -> tuple[str, list[Any]]:
        """``--sla``'s condition on the clocks ``s`` as of ``q.sla_now``."""
        now = q.sla_now or ""
        if q.sla == "breached":
            return "s.breach_at <= ?", [now]
        if q.sla == "at-risk":
            return "s.breach_at > ? AND s.warn_at <= ?", [now, now]
        return ("(s.breach_at IS NULL OR s.breach_at > ?) "
                "AND (s.warn_at IS NULL OR s.warn_at > ?)", [now, now])

    # Clocks taken from their table a chunk at a time, in a page's order (without a
    # limit; with one, the first chunk is the page).
    WALK = 256

    def _walk(self, q: TicketQuery, literal: bool, picks: str, picks_params: list[Any],
              start: list[Any], want: int | None, found: list[Any], *,
              page_first: bool = False) -> None:
        """Add to ``found`` the rows of the tickets ``picks`` names, in its order, that
        match ``q``, until ``want`` rows. ``picks`` selects the walk's key columns,
        the ticket id last, from the clocks ``s``, after the key given by its last
        parameters (``start`` first, then the last row's) and with ``LIMIT ?``. The
        clocks are read through their own index and the tickets by id, a chunk at a
        time: SQLite never plans a join between the two tables, whose plan could read
        every ticket (a Bloom filter over them) for a page of twenty."""
        where, params = self._where(q, literal)
        after = start
        # ``page_first``: the first chunk is what the page still needs (most of a walk
        # by due time matches, and each ticket read is a page of the file read at a
        # million tickets), the next ones twice as many each.
        size = max(want - len(found), 8) if page_first and want else self.WALK
        while want is None or len(found) < want:
            chunk = self.conn.execute(picks, [*picks_params, *after, size]).fetchall()
            if not chunk:
                return
            ids = [int(r[-1]) for r in chunk]
            after = list(chunk[-1])
            rows = {int(r[0]): r for r in self.db.select_in(
                "SELECT " + self.TICKET_COLUMNS + self.WITH_SLA_FROM + "WHERE t.id IN", ids,
                " AND " + where, params)}
            found += [rows[i] for i in ids if i in rows]
            if len(chunk) < size:
                return
            size = min(2 * size, 4 * self.WALK)

    def _list_with_clocks(self, q: TicketQuery, literal: bool) -> tuple[list[Ticket], bool]:
        """``--sla`` newest first, and ``--sort due``: walks of the clocks' indexes."""
        want = min(q.limit, 2**62) + 1 if q.limit else None
        found: list[Any] = []
        cond, cparams = self._sla_condition(q) if q.sla is not None else ("1 = 1", [])
        if q.sort == "due":
            # By due time (ties by id), then those without one, newest first.
            if q.descending:
                op, direction, start = "<", "DESC", ["~", 2**62]
            else:
                op, direction, start = ">", "ASC", ["", 0]
            self._walk(q, literal,
                       "SELECT s.due_at, s.ticket_id FROM sla_clocks s "  # noqa: S608
                       "WHERE s.due_at IS NOT NULL AND " + cond
                       + f" AND (s.due_at, s.ticket_id) {op} (?, ?) "
                       f"ORDER BY s.due_at {direction}, s.ticket_id {direction} LIMIT ?",
                       cparams, start, want, found, page_first=True)
            if want is None or len(found) < want:
                self._rest_without_due(q, literal, want, found)
        else:
            self._walk(q, literal,
                       "SELECT s.ticket_id FROM sla_clocks s WHERE " + cond  # noqa: S608
                       + " AND s.ticket_id < ? ORDER BY s.ticket_id DESC LIMIT ?",
                       cparams, [2**62], want, found)
        limit = q.limit or None
        more = bool(q.limit) and len(found) > (q.limit or 0)
        return [self.ticket_from_row(r) for r in found[:limit]], more

    def _rest_without_due(self, q: TicketQuery, literal: bool, want: int | None,
                          found: list[Any]) -> None:
        """``--sort due`` after the tickets with a due time: the others, newest first."""
        if q.sla is not None:
            cond, cparams = self._sla_condition(q)
            self._walk(q, literal,
                       "SELECT s.ticket_id FROM sla_clocks s WHERE s.due_at IS NULL AND "  # noqa: S608
                       + cond + " AND s.ticket_id < ? ORDER BY s.ticket_id DESC LIMIT ?",
                       cparams, [2**62], want, found)
            return
        where, params = self._where(q, literal)
        sql = ("SELECT " + self.TICKET_COLUMNS + self.TICKET_FROM + "WHERE " + where  # noqa: S608
               + " AND NOT EXISTS (SELECT 1 FROM sla_clocks s WHERE s.ticket_id = t.id "
               "AND s.due_at IS NOT NULL) ORDER BY t.id DESC")
        if want is not None:
            sql += " LIMIT ?"
            params = [*params, want - len(found)]
        found += self.conn.execute(sql, params).fetchall()

    def _list_in_groups(self, q: TicketQuery, literal: bool) -> tuple[list[Ticket], bool]:
        """A page sorted by status or priority in the workflow's order: one indexed
        query per value, in that order, until the page is full (no sort over every
        matching ticket)."""
        where, params = self._where(q, literal)
        column = SORT_KEYS[q.sort]
        values = list(q.order[q.sort])
        direction = "DESC" if q.descending else "ASC"
        source = self.TICKET_FROM if q.sla is None else self.SLA_FROM
        select = "SELECT " + self.TICKET_COLUMNS + source + "WHERE " + where
        groups: list[tuple[str, list[Any]]] = [(f" AND {column} = ?", [v]) for v in values]
        if q.descending:
            groups.reverse()
        # Values the workflow does not know (left by an edited workflow) come last.
        groups.append((f" AND {column} NOT IN ({', '.join('?' * len(values))})", values))
        size = min(q.limit or 0, 2**62) + 1
        rows: list[Any] = []
        for condition, values_params in groups:
            rows += self.conn.execute(
                select + condition + f" ORDER BY t.id {direction} LIMIT ?",  # noqa: S608
                [*params, *values_params, size - len(rows)],
            ).fetchall()
            if len(rows) >= size:
                break
        limit = size - 1
        return [self.ticket_from_row(r) for r in rows[:limit]], len(rows) > limit

    # A last word standing for more words than this is searched as a prefix.
    MAX_EXPANSION = 64

    def _match(self, words: list[str]) -> str:
        """An FTS5 query for words typed by a user: each whole, the last also a prefix.

        The prefix becomes the words it stands for, looked up in the indexes'
        vocabularies ("print" -> "print" OR "printer" OR "printers"): FTS5 then
        reads their lists of tickets lazily, newest first, where a prefix query
        would first merge every list in full (tens of milliseconds for a word in
        most of a million tickets). Only for words that are ASCII once accents are
        off, whose lower case is the tokenizer's; anything else, or a prefix of very
        many words, stays a prefix.
        """
        quoted = ['"' + w.replace('"', '""') + '"' for w in words]
        # Accents off, as the tokenizer takes them off Latin letters (perché -> perche).
        last = words[-1].lower()
        if not last.isascii():
            import unicodedata

            last = "".join(ch for ch in unicodedata.normalize("NFD", last)
                           if not unicodedata.combining(ch))
        if last.isascii():
            above = last[:-1] + chr(ord(last[-1]) + 1)
            # Longer words only: the vocabulary reads each word's list to count it,
            # and the word itself, often the most common, needs no looking up (from
            # last + NUL: the vocabulary reads the word itself for a plain "> last").
            found = [str(r[0]) for r in self.conn.execute(
                "SELECT term FROM tickets_fts_words WHERE term >= ?1 AND term < ?2 UNION "
                "SELECT term FROM comments_fts_words WHERE term >= ?1 AND term < ?2 LIMIT ?3",
                [last + "\x00", above, self.MAX_EXPANSION + 1],
            )]
            if len(found) <= self.MAX_EXPANSION:
                terms = " OR ".join('"' + t.replace('"', '""') + '"' for t in [last, *found])
                return " AND ".join([*quoted[:-1], f"({terms})"])
        return " ".join(quoted[:-1] + [quoted[-1] + "*"])

    @staticmethod
    def _tsquery(words: list[str]) -> str:
        """A PostgreSQL text query for words typed by a user (each whole, the last also a
        prefix), folded as the desk's words are (:mod:`.postgres.schema`)."""
        from .postgres.schema import fold

        quoted = ["'" + fold(w).replace("\\", "\\\\").replace("'", "''") + "'" for w in words]
        quoted[-1] += ":*"
        return " & ".join(quoted)

    def _list(self, q: TicketQuery, literal: bool) -> tuple[list[Ticket], bool]:
        if q.sort == "due" or (q.sla is not None and q.sort == "id" and q.descending):
            return self._list_with_clocks(q, literal)
        if q.sort in ("status", "priority") and q.sort in q.order and q.limit:
            return self._list_in_groups(q, literal)
        where, params = self._where(q, literal)
        key = SORT_KEYS[q.sort]
        source = self.TICKET_FROM
        if q.sla is not None:
            source = self.SLA_FROM
            if q.sort == "id":
                key = "s.ticket_id"
        if q.sort in q.order:
            # Follow the workflow's order: CASE over its keys, as parameters.
            values = list(q.order[q.sort])
            key = "CASE " + key + " " + " ".join("WHEN ? THEN ?" for _ in values) + " END"
            order_params: list[Any] = []
            for i, v in enumerate(values):
                order_params += [v, i]
        else:
            order_params = []
        direction = "DESC" if q.descending else "ASC"
        sql = (
            "SELECT " + self.TICKET_COLUMNS + source + "WHERE " + where
            + f" ORDER BY {key} {direction}"
            + ("" if q.sort == "id" else f", t.id {direction}")
        )
        params = params + order_params
        if q.limit:
            sql += " LIMIT ?"
            params.append(min(q.limit, 2**62) + 1)
        rows = self.conn.execute(sql, params).fetchall()
        more = bool(q.limit) and len(rows) > (q.limit or 0)
        return [self.ticket_from_row(r) for r in rows[: q.limit or None]], more

    def count_matching(self, q: TicketQuery) -> int:
        try:
            return self._count(q, literal=False)
        except sqlite3.OperationalError as e:
            if "fts5" not in str(e):
                raise
            return self._count(q, literal=True)

    def _count(self, q: TicketQuery, literal: bool) -> int:
        if self._whole_statuses(q):
            # Staff counting whole statuses (the default active list, --status, --phase,
            # --all): the per-status counts the triggers keep, read in the same snapshot.
            marks = ", ".join("?" * len(q.statuses))
            where = f"status IN ({marks})" if q.statuses else "1 = 1"
            return int(self.db.one(
                "SELECT coalesce(sum(n), 0) FROM ticket_counts WHERE " + where,  # noqa: S608
                list(q.statuses)))
        where, params = self._where(q, literal)
        source = ("FROM tickets t" if q.sla is None
                  else "FROM sla_clocks s CROSS JOIN tickets t ON t.id = s.ticket_id")
        sql = f"SELECT count(*) {source} WHERE " + where  # noqa: S608 (fixed fragments)
        return int(self.db.one(sql, params))

    # TicketQuery fields that do not narrow which tickets match.
    _NOT_FILTERS = frozenset({"statuses", "sort", "descending", "limit", "viewer", "order",
                              "sla_now"})

    @classmethod
    def _whole_statuses(cls, q: TicketQuery) -> bool:
        """Whether ``q`` selects whole statuses only, as staff see them: every filter
        other than the statuses (any added later too) is at its default."""
        if q.viewer is not None and not q.viewer.staff:
            return False
        for name in q._fields:
            if name in cls._NOT_FILTERS:
                continue
            if getattr(q, name) != q._field_defaults.get(name):
                return False
        return True

    def _search_condition(self, text: str, viewer: User | None,
                          literal: bool = False) -> tuple[str, list[Any]]:
        """Whatever the user typed, as plain words: never query syntax, never an SQL error."""
        # Words as the full-text tokenizer sees them (letters and digits), so each
        # is one token: every word whole, the last also as a prefix (type-ahead).
        words = [] if literal else text_words(text)
        if not words:
            # Nothing word-like (only punctuation): fall back to a literal substring.
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            internal = "" if viewer is None or viewer.staff else " AND c.internal = 0"
            return (
                "(t.title LIKE ? ESCAPE '\\' OR t.description LIKE ? ESCAPE '\\' OR t.id IN "  # noqa: S608 (fixed SQL fragments only)
                "(SELECT c.ticket_id FROM comments c WHERE c.body LIKE ? ESCAPE '\\'"
                + internal + "))",
                [like, like, like],
            )
        internal = "" if viewer is None or viewer.staff else " AND c.internal = 0"
        if self.db.engine == "postgresql":
            query = self._tsquery(words)
            return (
                "(t.words @@ to_tsquery('simple', ?) OR t.id IN "  # noqa: S608 (fixed SQL)
                "(SELECT c.ticket_id FROM comments c WHERE c.words @@ to_tsquery('simple', ?)"
                + internal + "))",
                [query, query],
            )
        match = self._match(words)
        return (
            "(t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?) OR t.id IN "  # noqa: S608 (fixed SQL fragments only)
            "(SELECT c.ticket_id FROM comments_fts f JOIN comments c ON c.id = f.rowid "
            "WHERE comments_fts MATCH ?" + internal + "))",
            [match, match],
        )

