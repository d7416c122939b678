"""close-stale's SQL: the tickets a stale rule selects, and their moves a batch at a time.

:class:`StaleSQL` works on the store's connection and inside its transactions. Selections walk the
``(status, id)`` index in id order, so each batch continues where the last one
stopped; moves are one prepared statement run over the whole batch.

All SQL is parameterized; the clock column comes from a fixed table.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

from .records import clock_column

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

    from .connection import Database



class StaleSQL:
    """The stale selections and batch moves over one store's connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    def stale(self, sources: Sequence[str], clock: str, cutoff: str, limit: int,
              after_id: int = 0) -> list[tuple[int, str, str | None]]:
        """(id, status, resolution) of tickets in ``sources`` whose stale clock is at or
        before ``cutoff``, in id order after ``after_id``."""
        column = clock_column(clock)
        marks = ", ".join("?" * len(sources))
        rows = self.conn.execute(
            f"SELECT id, status, resolution FROM tickets WHERE status IN ({marks}) "  # noqa: S608 (fixed fragments)
            f"AND {column} <= ? AND id > ? ORDER BY id LIMIT ?",
            (*sources, cutoff, after_id, limit),
        )
        return [(int(r[0]), str(r[1]), r[2]) for r in rows]

    def due_reminders(self, sources: Sequence[str], clock: str, idle_from: str,
                      idle_until: str, limit: int, after_id: int = 0) -> list[tuple[int, str]]:
        """(id, clock value) of tickets due a reminder: clock in (idle_from, idle_until],
        none recorded yet for that value of the clock."""
        column = clock_column(clock)
        marks = ", ".join("?" * len(sources))
        rows = self.conn.execute(
            f"SELECT id, {column} FROM tickets WHERE status IN ({marks}) "  # noqa: S608 (fixed fragments)
            f"AND {column} <= ? AND {column} > ? "
            f"AND (reminded_for IS NULL OR reminded_for <> {column}) "
            "AND id > ? ORDER BY id LIMIT ?",
            (*sources, idle_until, idle_from, after_id, limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def move(self, moves: Sequence[tuple[int, str | None]], status: str, phase: str,
             now: str) -> None:
        """Move each (ticket id, resolution or None to keep it) to ``status``."""
        params: list[tuple[Any, ...]] = [
            (status, phase, now, now, now, resolution, ticket_id)
            for ticket_id, resolution in moves
        ]
        self.conn.executemany(
            "UPDATE tickets SET status = ?, phase = ?, status_changed_at = ?, activity_at = ?, "
            "updated_at = ?, resolution = coalesce(?, resolution) WHERE id = ?",
            params,
        )

    def mark_reminded(self, reminded: Sequence[tuple[int, str]]) -> None:
        """Record, for each (ticket id, clock value), that its reminder was written."""
        self.conn.executemany(
            "UPDATE tickets SET reminded_for = ? WHERE id = ?",
            [(clock_value, ticket_id) for ticket_id, clock_value in reminded],
        )

    def checkpoint(self) -> None:
        """Copy the pages the WAL holds into the database file, waiting for no one and
        holding no write lock (a passive checkpoint), so that later commits write the
        WAL from its start again instead of growing it. Skipped when another
        checkpoint is running."""
        if self.db.engine != "sqlite":
            return
        try:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e).lower() and "busy" not in str(e).lower():
                raise

    @contextmanager
    def checkpointing_itself(self) -> Iterator[None]:
        """Inside, commits neither wait for an fsync nor start a checkpoint: the WAL
        (``synchronous = NORMAL``, no automatic checkpoint) is synced and copied back
        by :meth:`checkpoint` when the caller runs it between its batches, and once
        on the way out. So no fsync is waited for while the write lock is held, and
        each checkpoint copies many batches' pages at once (an index page touched by
        several batches is copied once).

        A process that dies loses nothing committed. A power failure may undo the
        batches since the last checkpoint, each whole, which a re-run redoes; a
        later commit by any other command (synchronous FULL) syncs them too. With a
        rollback journal (no WAL), or on a server, nothing changes."""
        if self.db.engine != "sqlite":
            yield
            return
        synchronous = int(self.conn.execute("PRAGMA synchronous").fetchone()[0])
        automatic = int(self.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        wal = str(self.conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
        if not wal:
            yield
            return
        self.conn.execute(f"PRAGMA synchronous = {min(synchronous, 1):d}")
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA synchronous = {synchronous:d}")
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {automatic:d}")
            if not self.conn.in_transaction:
                self.checkpoint()
