"""An import's one write transaction: batched inserts, and what makes them fast.

Import runs in one ``BEGIN IMMEDIATE`` transaction (:func:`import_session`):
a file goes in whole or not at all, and a crash at any point leaves the
database as it was. Rows go in with ``executemany`` in batches.

Full-text indexing is the largest cost of an import. The FTS5 ``AFTER INSERT``
triggers index one row per statement, and each firing opens a statement
savepoint that makes FTS5 flush its pending terms into a new segment, where one
``INSERT INTO tickets_fts ... SELECT`` per batch indexes the batch at once (the
per-status count trigger likewise costs an upsert per row). So the session
drops the insert triggers it knows (:data:`BATCH_TRIGGERS`: their stored SQL
must be exactly what the migrations created) *inside* its transaction, does
their work once per batch, and re-creates them from their stored SQL before
``COMMIT``. No other connection ever sees the schema without them: SQLite DDL
is transactional, and a rollback (or a crash) restores them.

For the same reason, when the tickets table is small at the start (a desk
moving in), every secondary index but the unique ones is dropped in the
transaction and built once at the end, with two sorting threads: sorting once
is cheaper than inserting into them row by row. Foreign keys do not need them:
they are immediate, so an insert looks up its parents by primary key, and an
import deletes nothing.

That per-batch work is one long statement during which SQLite does not need
Python, so it runs on a helper thread while the caller reads and checks the
next batch: the two cores work at once. The session waits for it before any
other use of the connection.

An import that at least doubles the desk (a desk moving in) then merges each
full-text index into one segment (FTS5 ``optimize``): batch by batch it grew
to several, and a search reads each word's list in every segment. A smaller
import leaves the merging to FTS5's own, which would otherwise rewrite the
whole index for a few new tickets.

FTS5's own merging (``automerge``) is paused while the import lasts and set
back to what it was before ``COMMIT``: as segments came in it would merge them
level by level, work that the closing merge does again in one pass. A smaller
import leaves a few more segments than usual, which the next writes merge as
they always do.

A large import ends with ``ANALYZE tickets``, so the query planner knows how many
tickets each status holds: without those statistics it takes the status index
to be selective, and ``list`` reads every active ticket to sort them where
walking the ids backwards costs next to nothing. Only the tickets table: with
statistics on users too, the planner starts sorted listings from the users table
and reads tickets in random order.

What each of these measured, when it was chosen: bench/README.md ("Why the
store is built as it is").
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...errors import Rollback
from .. import Store, User
from ..people import USER_SQL
from . import chunks, each_in
from .rows import (
    INSERT_SQL,
    AttachmentRow,
    CommentRow,
    HistoryRow,
    ParticipantRow,
    PersonRow,
    TicketRow,
)

if TYPE_CHECKING:
    import sqlite3

# Insert triggers an import replaces, while its transaction lasts, by one statement per
# batch over the batch's new ids (a JSON array): name -> (table, statement). A trigger
# is replaced only if its stored SQL is exactly the one the migrations created.
BATCH_TRIGGERS = {
    "tickets_fts_ai": (
        "tickets",
        "INSERT INTO tickets_fts(rowid, title, description) SELECT id, title, description "
        "FROM tickets WHERE id IN (SELECT value FROM json_each(?))",
    ),
    "comments_fts_ai": (
        "comments",
        "INSERT INTO comments_fts(rowid, body) SELECT id, body FROM comments "
        "WHERE id IN (SELECT value FROM json_each(?))",
    ),
    "ticket_counts_ai": (
        "tickets",
        "INSERT INTO ticket_counts(status, n) SELECT status, count(*) FROM tickets "
        "WHERE id IN (SELECT value FROM json_each(?)) GROUP BY status "
        "ON CONFLICT(status) DO UPDATE SET n = n + excluded.n",
    ),
    # The migrations' own statement for the time bounds of blocks of ids (FILL_BLOCKS),
    # over the batch's ids instead of "the ids from ? on".
    "ticket_blocks_ai": ("tickets", ""),
}
_FROM_ID = "WHERE id >= ?"
_IN_BATCH = "WHERE id IN (SELECT value FROM json_each(?))"
# Tables whose ids an import may choose; the only identifiers put into SQL text.
ID_TABLES = ("tickets", "comments", "attachments")
IMPORT_CACHE_KIB = 256 * 1024  # page cache for the import connection, in KiB
SORT_THREADS = 2  # helper threads SQLite may sort with when it builds an index
DEFER_INDEXES_BELOW = 20_000  # tickets already there: rebuilding their indexes is cheap
DEFERRABLE_TABLES = ("tickets", "history", "comments", "participants", "attachments")
ANALYZE_FROM = 1_000  # tickets imported: then refresh the planner's statistics
# Each full-text index's automerge setting: how to read it, how to set it.
AUTOMERGE = {
    table: (f"SELECT v FROM {table}_config WHERE k = 'automerge'",  # noqa: S608 (constants)
            f"INSERT INTO {table}({table}, rank) VALUES ('automerge', ?)")  # noqa: S608
    for table in ("tickets_fts", "comments_fts")
}
FTS_AUTOMERGE = 4  # FTS5's own default, for an index that has never set it
OPTIMIZE = (  # each full-text index merged into one segment
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('optimize')",
    "INSERT INTO comments_fts(comments_fts) VALUES ('optimize')",
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class ImportSession:
    """Reads and writes of one import, inside its single write transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn = store.conn
        self._indexing: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.commit = True
        self._dropped: list[str] = []  # CREATE sql of the triggers taken over
        self._indexes: list[str] = []  # CREATE INDEX sql of indexes dropped until the end
        self.inserted = 0  # tickets
        self.before = 0  # tickets the desk held when the import began
        self._batch_sql: dict[str, list[str]] = {}  # table -> statements over new ids
        self._automerge: dict[str, int] = {}  # full-text table -> its automerge setting

    # -- insert triggers ---------------------------------------------------------

    def _take_over_triggers(self) -> None:
        from ..migrations import BLOCK_TRIGGERS, COUNT_TRIGGERS, FILL_BLOCKS, FTS_TRIGGERS

        known = {name: f"CREATE TRIGGER {name} {body}"
                 for name, body in (FTS_TRIGGERS | COUNT_TRIGGERS | BLOCK_TRIGGERS).items()
                 if name in BATCH_TRIGGERS}
        statements = dict(BATCH_TRIGGERS)
        if _FROM_ID in FILL_BLOCKS:
            statements["ticket_blocks_ai"] = ("tickets", FILL_BLOCKS.replace(_FROM_ID, _IN_BATCH))
        else:
            known.pop("ticket_blocks_ai")
        rows = self.conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND name IN "
            "(SELECT value FROM json_each(?))", (json.dumps(sorted(known)),)
        ).fetchall()
        for name, sql in rows:
            if sql != known[name]:
                continue  # not the trigger we know: leave it to do its work
            table, statement = statements[name]
            self.conn.execute(f"DROP TRIGGER {_quote(name)}")
            self._dropped.append(sql)
            self._batch_sql.setdefault(table, []).append(statement)

    def _restore_triggers(self) -> None:
        for sql in self._dropped:
            self.conn.execute(sql)
        self._dropped.clear()

    # -- full-text merging ----------------------------------------------------------

    def _pause_merging(self) -> None:
        """No merging of full-text segments while the import lasts (see the module)."""
        for table, (read, write) in AUTOMERGE.items():
            row = self.conn.execute(read).fetchone()
            self._automerge[table] = FTS_AUTOMERGE if row is None else int(row[0])
            self.conn.execute(write, (0,))

    def _resume_merging(self) -> None:
        for table, level in self._automerge.items():
            self.conn.execute(AUTOMERGE[table][1], (level,))
        self._automerge.clear()

    # -- deferred indexes ---------------------------------------------------------

    def _defer_indexes(self) -> None:
        """Drop the indexes worth building once at the end, if the tables are small.

        Unique indexes stay (they check the rows), and so may every other: foreign
        keys here are immediate, so inserting a row looks up its parents by their
        primary keys, never its children; an import deletes nothing.
        """
        count = self.conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        self.before = int(count)
        if count >= DEFER_INDEXES_BELOW:
            return
        for table in DEFERRABLE_TABLES:
            indexes = self.conn.execute(
                "SELECT s.name, s.sql FROM sqlite_schema s "
                "JOIN pragma_index_list(?) i ON i.name = s.name "
                "WHERE s.type = 'index' AND s.sql IS NOT NULL AND NOT i.\"unique\"",
                (table,),
            ).fetchall()
            for name, sql in indexes:
                self.conn.execute(f"DROP INDEX {_quote(name)}")
                self._indexes.append(sql)

    def _restore_indexes(self) -> None:
        for sql in self._indexes:
            self.conn.execute(sql)
        self._indexes.clear()

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, once any background indexing is done with it."""
        self.wait()
        return self._conn

    def wait(self) -> None:
        """Wait for background indexing; raise what it raised."""
        if self._indexing is not None:
            self._indexing.join()
            self._indexing = None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def index(self, batches: Sequence[tuple[str, Sequence[int]]]) -> None:
        """What the replaced triggers do, for rows just inserted as (table, ids), on a
        helper thread."""
        self.wait()
        work = [
            (sql, json.dumps(list(part)))
            for table, ids in batches
            for part in chunks(ids)
            for sql in self._batch_sql.get(table, ())  # none: the triggers did it
        ]
        if work:
            self._indexing = threading.Thread(target=self._index, args=(work,),
                                              name="ticketcli-index", daemon=True)
            self._indexing.start()

    def _index(self, work: list[tuple[str, str]]) -> None:
        try:
            for sql, ids in work:
                self._conn.execute(sql, (ids,))
        except BaseException as e:  # handed to the main thread by wait()
            self._failure = e

    # -- lookups -----------------------------------------------------------------

    def max_id(self, table: str) -> int:
        if table not in ID_TABLES:
            raise ValueError(table)
        row = self.conn.execute(f"SELECT max(id) FROM {table}").fetchone()  # noqa: S608
        return int(row[0] or 0)

    def taken_ids(self, table: str, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` already exist in ``table``."""
        if table not in ID_TABLES:
            raise ValueError(table)
        return {
            r[0] for r in each_in(
                self.conn,
                f"SELECT x.id FROM {table} x WHERE x.id IN "  # noqa: S608
                "(SELECT value FROM json_each(?))",
                ids,
            )
        }

    def people(self, emails: Iterable[str]) -> dict[str, User]:
        """Users by (lower-case) email, for those that exist."""
        wanted = sorted(set(emails))
        found: dict[str, User] = {}
        for r in each_in(
            self.conn,
            USER_SQL + "WHERE u.email IN (SELECT value FROM json_each(?))",  # noqa: S608
            wanted,
        ):
            found[r[1]] = User(*r)
        return found

    def add_people(self, rows: Sequence[PersonRow]) -> dict[str, User]:
        self.conn.executemany(
            "INSERT INTO users(email, name, role, org_id, created_at) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return self.people(r[0] for r in rows)

    def org_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Organization ids by case-folded name, for those that exist."""
        found: dict[str, int] = {}
        for name in set(names):
            row = self.conn.execute(
                "SELECT id FROM orgs WHERE name = ? COLLATE NOCASE", (name,)
            ).fetchone()
            if row is not None:
                found[name.casefold()] = int(row[0])
        return found

    def add_org(self, name: str, created_at: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO orgs(name, created_at) VALUES (?, ?)", (name, created_at)
        )
        return int(cur.lastrowid or 0)

    def existing_tickets(self, ids: Sequence[int], *, at_most: int | None = None) -> set[int]:
        """Which of ``ids`` are tickets now (optionally only those numbered <= at_most)."""
        found = self.taken_ids("tickets", ids)
        return found if at_most is None else {i for i in found if i <= at_most}

    # -- writes --------------------------------------------------------------------

    def insert(self, *, tickets: Sequence[TicketRow], comments: Sequence[CommentRow],
               participants: Sequence[ParticipantRow], attachments: Sequence[AttachmentRow],
               history: Sequence[HistoryRow]) -> None:
        """One batch of rows, parents first; its full text is indexed on the helper thread."""
        self._insert("tickets", tickets)
        self._insert("comments", comments)
        self._insert("participants", participants)
        self._insert("attachments", attachments)
        self._insert("history", history)
        self.inserted += len(tickets)
        self.index([("tickets", [r[0] for r in tickets]), ("comments", [r[0] for r in comments])])

    def _insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            self.conn.executemany(INSERT_SQL[table], rows)

    def set_follow_ups(self, pairs: Sequence[tuple[int, int]]) -> None:
        """(follow_up_of, ticket id) pairs."""
        self.conn.executemany("UPDATE tickets SET follow_up_of = ? WHERE id = ?", pairs)


@contextmanager
def import_session(store: Store) -> Iterator[ImportSession]:
    """One write transaction for a whole import.

    It commits when the block ends with ``session.commit`` still true, and
    rolls back when the block sets it false (bad records, a dry run) or raises.
    """
    if store.db.engine != "sqlite":
        with _server_session(store) as session:
            yield session
        return
    conn = store.conn
    old_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    old_threads = conn.execute("PRAGMA threads").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB:d}")
    conn.execute(f"PRAGMA threads = {SORT_THREADS:d}")  # building the deferred indexes
    session = ImportSession(store)
    try:
        with store.write():
            session._take_over_triggers()
            session._pause_merging()
            session._defer_indexes()
            try:
                yield session
            finally:
                session.wait()  # never leave the helper thread on the connection
            if not session.commit:
                raise Rollback
            if session.inserted >= ANALYZE_FROM and session.inserted >= session.before:
                # Before the indexes are built: they take the pages the old segments free,
                # so the file does not grow by them.
                for statement in OPTIMIZE:
                    conn.execute(statement)
            session._restore_indexes()
            session._restore_triggers()
            session._resume_merging()
            if session.inserted >= ANALYZE_FROM:
                conn.execute("ANALYZE tickets")
    except Rollback:
        pass
    finally:
        conn.execute(f"PRAGMA cache_size = {int(old_cache):d}")
        conn.execute(f"PRAGMA threads = {int(old_threads):d}")
    if session.commit:
        _shrink_wal(store)


@contextmanager
def _server_session(store: Store) -> Iterator[ImportSession]:
    """:func:`import_session` on PostgreSQL: the triggers and indexes do their work row
    by row; the ids the import gave are then where each table's identity goes on."""
    session = ImportSession(store)
    try:
        with store.write():
            session.before = int(store.db.one("SELECT count(*) FROM tickets") or 0)
            yield session
            if not session.commit:
                raise Rollback
            for table in ("orgs", "users", "tickets", "comments", "attachments", "history"):
                store.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
            if session.inserted >= ANALYZE_FROM:
                store.conn.execute("ANALYZE tickets")
    except Rollback:
        pass


def _shrink_wal(store: Store) -> None:
    """After a large import, fold the write-ahead log back and truncate it (best effort)."""
    conn = store.conn
    pages = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if pages is None or pages[1] < 10_000:
        return
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    try:
        conn.execute("PRAGMA busy_timeout = 1000")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception:  # noqa: S110 - the log is folded back by the next checkpoint anyway
        pass
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout):d}")
