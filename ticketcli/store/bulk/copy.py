"""All SQL of ``migrate-db``: a whole desk copied from one engine to the other.

The source is read in one read transaction (a snapshot: writers go on meanwhile
and are not copied half), the target written in one write transaction, table by
table in the order their references need, each in primary-key order, a chunk at a
time. What the engines keep for themselves is not copied but rebuilt by the
target's own triggers as the rows arrive: the per-status counts, the id blocks,
the full-text index. Every table gets a checksum, the same on both engines for
the same rows: SHA-256 over its rows in primary-key order, each value written out
in one canonical form. The target's is read back from what it holds before the
copy commits; a difference rolls the whole copy back.
"""

from __future__ import annotations

import hashlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

    from .. import Store

# The tables a desk consists of, parents first, with their primary keys.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("meta", ("key",)),
    ("orgs", ("id",)),
    ("users", ("id",)),
    ("tickets", ("id",)),
    ("participants", ("ticket_id", "user_id")),
    ("comments", ("id",)),
    ("attachments", ("id",)),
    ("history", ("id",)),
    ("outbox", ("id",)),
    ("mail_messages", ("id",)),
    ("mail_templates", ("kind", "lang")),
    ("mail_prefs", ("user_id",)),
    ("mail_held", ("id",)),
    ("notify_prefs", ("user_id", "event")),
    ("sla_clocks", ("ticket_id",)),
)
CHUNK = 2_000
# Columns an engine computes for itself (PostgreSQL's full-text words).
COMPUTED = frozenset({"words"})
# Copied after every ticket is in: a ticket may name a later one.
LATER = {"tickets": "follow_up_of"}


def columns(store: Store, table: str) -> list[str]:
    """The columns of ``table`` that hold the desk's data, in their order."""
    if store.db.engine == "sqlite":
        names = [str(r[1]) for r in store.conn.execute(
            "SELECT * FROM pragma_table_info(?)", (table,))]
    else:
        names = [str(r[0]) for r in store.conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? "
            "ORDER BY ordinal_position", (table,))]
    return [n for n in names if n not in COMPUTED]


def _canonical(value: Any) -> bytes:
    if value is None:
        return b"\\N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b"x" + bytes(value).hex().encode()
    if isinstance(value, bool):
        return str(int(value)).encode()
    if isinstance(value, float) and value.is_integer():
        return str(int(value)).encode()
    return str(value).encode("utf-8", "surrogatepass")


class Checksum:
    """The canonical SHA-256 of a table's rows, fed in primary-key order."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.rows = 0

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.hash.update(b"\x1f".join(_canonical(v) for v in row) + b"\x1e")
        self.rows += len(rows)

    def hexdigest(self) -> str:
        return self.hash.hexdigest()


def read(store: Store, table: str, key: tuple[str, ...], names: Sequence[str],
         ) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``table`` (its columns ``names``) in key order, a chunk at a time."""
    cols = ", ".join(names)
    order = ", ".join(key)
    keyed = [names.index(k) for k in key]
    marks = ", ".join("?" * len(key))
    after: list[Any] | None = None
    while True:
        if after is None:
            sql = f"SELECT {cols} FROM {table} ORDER BY {order} LIMIT ?"  # noqa: S608
            params: list[Any] = [CHUNK]
        else:
            sql = (f"SELECT {cols} FROM {table} WHERE ({order}) > ({marks}) "  # noqa: S608
                   f"ORDER BY {order} LIMIT ?")
            params = [*after, CHUNK]
        rows = [tuple(r) for r in store.conn.execute(sql, params).fetchall()]
        if not rows:
            return
        yield rows
        if len(rows) < CHUNK:
            return
        after = [rows[-1][i] for i in keyed]


def write(store: Store, table: str, names: Sequence[str], rows: Sequence[Sequence[Any]],
          ) -> None:
    """Rows into ``table`` of the target (its columns ``names``); a column copied later
    (:data:`LATER`) goes in empty."""
    later = LATER.get(table)
    if later is not None:
        at = list(names).index(later)
        rows = [tuple(None if i == at else v for i, v in enumerate(r)) for r in rows]
    if store.db.engine != "sqlite":
        store.conn.copy_rows(table, names, rows)  # type: ignore[attr-defined]
        return
    marks = ", ".join("?" * len(names))
    store.conn.executemany(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)  # noqa: S608


def held_back(table: str, names: Sequence[str], rows: Sequence[Sequence[Any]],
              ) -> list[tuple[Any, Any]]:
    """The (value, id) pairs of the column :func:`write` held back, for
    :func:`write_later`."""
    later = LATER.get(table)
    if later is None:
        return []
    at = list(names).index(later)
    return [(r[at], r[0]) for r in rows if r[at] is not None]


def write_later(store: Store, table: str, pairs: Sequence[tuple[Any, Any]]) -> None:
    """The column held back by :func:`write`, once every row of ``table`` is in."""
    later = LATER.get(table)
    if later is not None and pairs:
        store.conn.executemany(
            f"UPDATE {table} SET {later} = ? WHERE id = ?", pairs)  # noqa: S608


def before_rows(store: Store) -> None:
    """On PostgreSQL, what the rows would rebuild one at a time waits for all of them:
    the secondary indexes are dropped (built again by :func:`after_rows`) and the
    trigger that keeps the per-status counts and id blocks is off."""
    if store.db.engine == "sqlite":
        return
    from ..postgres.schema import secondary_indexes

    store.conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for name, _ in secondary_indexes():
        store.conn.execute(f"DROP INDEX {name}")
    store.conn.execute("ALTER TABLE tickets DISABLE TRIGGER ticketcli_ticket_kept")


def after_rows(store: Store) -> None:
    """The indexes and kept figures :func:`before_rows` set aside, from all the rows."""
    if store.db.engine == "sqlite":
        return
    from ..migrations import BLOCK_BITS
    from ..postgres.schema import secondary_indexes

    for _, sql in secondary_indexes():
        store.conn.execute(sql)
    store.conn.execute("ALTER TABLE tickets ENABLE TRIGGER ticketcli_ticket_kept")
    store.conn.execute("DELETE FROM ticket_counts")
    store.conn.execute("INSERT INTO ticket_counts (status, n) "
                       "SELECT status, count(*) FROM tickets GROUP BY status")
    store.conn.execute("DELETE FROM ticket_blocks")
    store.conn.execute(
        f"INSERT INTO ticket_blocks (block, created_min, created_max, updated_min) "  # noqa: S608
        f"SELECT id >> {BLOCK_BITS:d}, min(created_at), max(created_at), min(updated_at) "
        f"FROM tickets GROUP BY id >> {BLOCK_BITS:d}")
    for table, _ in TABLES:
        store.conn.execute(f"ANALYZE {table}")


def clear_meta(store: Store) -> None:
    """The target's own settings, made when its schema was, give way to the source's."""
    store.conn.execute("DELETE FROM meta")


def restart_ids(store: Store) -> None:
    """On PostgreSQL, each table's identity goes on after the ids copied in."""
    if store.db.engine == "sqlite":
        return
    for table, key in TABLES:
        if key == ("id",):
            store.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")


def snapshot(store: Store) -> Any:
    """A read transaction on the source (a context manager): every table as of one
    moment."""
    from contextlib import contextmanager

    @contextmanager
    def reading() -> Iterator[None]:
        conn = store.conn
        if store.db.engine == "sqlite":
            conn.execute("BEGIN")
        else:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    return reading()


def is_empty(store: Store) -> bool:
    """Whether the target holds no desk data yet (its schema just made)."""
    return not any(store.db.one(f"SELECT count(*) FROM {table}")  # noqa: S608
                   for table, _ in TABLES if table != "meta")
