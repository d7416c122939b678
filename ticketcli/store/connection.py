"""Opening a database file safely, pragmas, BEGIN IMMEDIATE transactions, and the
change set each transaction collects.

Every write goes through :meth:`Database.write`, a ``BEGIN IMMEDIATE``
transaction: the change, its history rows and anything else it touches commit
together or not at all. The events a transaction records (:meth:`Database.record`)
are collected, not written one by one: at commit, still inside the transaction,
they are handed once, as one change set, to :attr:`Database.on_commit` (the
store writes their history rows and tells its subscribers, the outbox among
them), then the transaction commits. A rolled-back transaction, or savepoint,
drops its events with its rows.
"""

from __future__ import annotations

import os
import sqlite3

from ..errors import Busy, ConfigError, TicketError
from .migrations import APPLICATION_ID, SCHEMA_VERSION
from .records import Event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any, Self

    from ..workflow import Workflow
    from .transaction import Rehearsal, Transaction

    PathLike = str | os.PathLike[str]

DEFAULT_BUSY_TIMEOUT = 15.0
IN_CHUNK = 500  # values in one IN (...) list (select_in)
LOCK_POLL = (0.0002, 0.001)  # seconds between attempts at the write lock (min, max)
SQLITE_HEADER = b"SQLite format 3\x00"


# -- errors ---------------------------------------------------------------------


def translate(error: sqlite3.Error, path: PathLike) -> TicketError:
    """Turn a SQLite error into the user-facing error with the right exit code."""
    text = str(error).lower()
    code = getattr(error, "sqlite_errorname", "") or ""
    if code in ("SQLITE_FULL", "SQLITE_IOERR_SHMSIZE", "SQLITE_IOERR_WRITE",
                "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE") and _low_on_space(path):
        return TicketError(f"no space left for database {path}; nothing was written")
    if "locked" in text or "busy" in text:
        return Busy(f"database {path} is busy (another process holds the lock); try again")
    if "readonly" in text or "read-only" in text:
        return TicketError(f"database {path} is read-only; check its permissions")
    if "disk is full" in text or "database or disk is full" in text:
        return TicketError(f"no space left for database {path}; nothing was written")
    if "not a database" in text or "malformed" in text:
        return ConfigError(f"{path} is not a ticketcli database (or it is damaged)")
    if "unable to open" in text:
        return TicketError(f"cannot open database {path}; check the path and its permissions")
    return TicketError(f"database error on {path}: {error}")


def _low_on_space(path: PathLike) -> bool:
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1024 * 1024


# -- opening ---------------------------------------------------------------------


def _check_file(path: str) -> bool:
    """Validate an existing file without touching it; return whether it is empty."""
    import stat

    if os.path.isdir(path):
        raise ConfigError(f"{path} is a directory, not a database file")
    try:
        mode = os.stat(path).st_mode
    except OSError as e:  # a dangling symlink, a loop of them
        raise TicketError(f"cannot open database {path}: {e.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path} is not a regular file, so not a ticketcli database")
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except PermissionError:
        raise TicketError(f"cannot read database {path}: permission denied") from None
    except OSError as e:
        raise TicketError(f"cannot read database {path}: {e.strerror}") from None
    if not header:
        return True
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise ConfigError(f"{path} is not a ticketcli database; refusing to touch it")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id not in (0, APPLICATION_ID):
        raise ConfigError(f"{path} is an SQLite file of another program; refusing to touch it")
    return False


def _refuse_foreign_link(path: str) -> None:
    from ..files import refuse_foreign_link

    try:
        refuse_foreign_link(path)
    except TicketError as e:
        raise ConfigError(f"database {e.message}") from None


def _create_private(path: str) -> bool:
    """Create the database file, mode 0600, exclusively (never through a link); False
    when something is already there (made by someone else meanwhile): check it then."""
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise TicketError(f"directory {parent} does not exist; create it or choose --db")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    except OSError as e:
        raise TicketError(f"cannot create database {path}: {e.strerror}") from None
    os.close(fd)
    return True


def _no_subscribers(events: Sequence[Event]) -> None:
    raise RuntimeError("events were recorded on a database without a store to write them")


class Database:
    """One SQLite connection with ticketcli's pragmas, transactions and stored workflow."""

    engine = "sqlite"  # postgres.PgDatabase: "postgresql"

    def __init__(self, conn: sqlite3.Connection, path: PathLike) -> None:
        self.conn = conn
        self.path = os.fspath(path)
        self._workflow: Workflow | None = None
        self._rehearsing = False
        self._depth = 0  # nesting of write() inside an open transaction
        self._events: list[Event] = []  # recorded by the open transaction
        # Who really acts in this run when the actor is acted for (``--as``): recorded
        # with every event as ``via``.
        self.via_id: int | None = None
        self.busy_timeout = DEFAULT_BUSY_TIMEOUT
        # Called at commit, inside the transaction, with the events it recorded.
        self.on_commit: Callable[[Sequence[Event]], None] = _no_subscribers
        # Told, after each outermost write transaction ends, how long it waited for the
        # write lock and how long it then held it (seconds), commit included: for
        # measuring (bench/), never needed to run.
        self.observers: list[Callable[[float, float], None]] = []

    @classmethod
    def open(cls, path: PathLike, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Self:
        """Open (creating if needed) a ticketcli database at ``path``."""
        path = os.fspath(path)
        empty = True
        if os.path.lexists(path) or not _create_private(path):
            empty = _check_file(path)
            if empty and os.path.islink(path):
                _refuse_foreign_link(path)  # an empty file is about to become a database
        from .access import keep_shared, narrow_umask_for

        narrow_umask_for(path)
        try:
            conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise translate(e, path) from None
        store = cls(conn, path)
        store.busy_timeout = busy_timeout
        try:
            store._prepare(empty, busy_timeout)
        except sqlite3.Error as e:
            conn.close()
            raise translate(e, path) from None
        except BaseException:
            conn.close()
            raise
        keep_shared(path)
        return store

    @classmethod
    def open_readonly(cls, path: PathLike) -> Self | None:
        """A read-only view for shell completion: never creates or migrates; None if unusable."""
        path = os.fspath(path)
        try:
            if not os.path.isfile(path) or _check_file(path):
                return None
            from urllib.parse import quote

            conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=0.2)
            ok = conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID and (
                conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            )
        except (sqlite3.Error, TicketError):
            return None
        if not ok:
            conn.close()
            return None
        return cls(conn, path)

    def _prepare(self, empty: bool, busy_timeout: float) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000):d}")
        version = c.execute("PRAGMA user_version").fetchone()[0]
        app_id = c.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID:
            tables = c.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if tables or version:
                raise ConfigError(f"{self.path} is not a ticketcli database; refusing to touch it")
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"database {self.path} has schema version {version}, newer than this "
                f"ticketcli understands ({SCHEMA_VERSION}); upgrade ticketcli"
            )
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("PRAGMA synchronous = FULL")
        if version < SCHEMA_VERSION:
            from .migrations import migrate

            if c.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                c.execute("PRAGMA journal_mode = WAL")
            migrate(c)

    def close(self) -> None:
        self.conn.close()

    def login(self) -> str:
        """Who runs this command, as the desk knows logins: the OS login (a file's
        permissions are the trust boundary)."""
        from ..config import real_login

        return real_login()

    # -- transactions --------------------------------------------------------

    def write(self) -> Transaction:
        """One ``BEGIN IMMEDIATE`` transaction, rolled back on any error (a context
        manager).

        Inside an open transaction it nests as a savepoint, so a use case can run
        within a larger one (mail-in: a new customer and their ticket together);
        the events recorded inside join the outer transaction's change set, or are
        dropped with the savepoint.
        """
        from .transaction import Transaction

        return Transaction(self)

    def record(self, ticket_id: int, actor_id: int | None, at: str, event: str,
               from_status: str | None = None, to_status: str | None = None,
               detail: dict[str, Any] | None = None) -> None:
        """Add an event to the open transaction's change set (its history row is
        written at commit, with the rest of the set)."""
        if not self.conn.in_transaction:
            raise RuntimeError("an event is recorded inside a write transaction")
        self._events.append(Event(ticket_id, actor_id, at, event, from_status, to_status,
                                  detail or {}, 0, self.via_id if actor_id is not None else None))

    def record_many(self, events: Sequence[Event]) -> None:
        """:meth:`record` for many events at once (close-stale's batches)."""
        if not self.conn.in_transaction:
            raise RuntimeError("events are recorded inside a write transaction")
        self._events.extend(events)

    def _begin_immediate(self) -> None:
        """Take the write lock, waiting up to the busy timeout.

        SQLite's own busy handler sleeps in growing steps (up to 100 ms) and only
        wins the lock if it wakes in the moment it is free, so a writer that
        commits and begins again at once (close-stale's batches) can starve it.
        Polling takes a free lock promptly instead, at most half of close-stale's
        pause between batches apart (LOCK_POLL), so an attempt always falls inside
        one.
        """
        import time

        c = self.conn
        low, high = LOCK_POLL
        deadline = time.monotonic() + self.busy_timeout
        c.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    c.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as e:
                    text = str(e).lower()
                    if ("locked" not in text and "busy" not in text) or (
                        time.monotonic() >= deadline
                    ):
                        raise translate(e, self.path) from None
                    # Jitter from the clock: writers polling together drift apart.
                    time.sleep(low + (high - low) * (time.perf_counter_ns() % 997) / 997)
                except sqlite3.Error as e:
                    raise translate(e, self.path) from None
        finally:
            c.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000):d}")

    def rehearsal(self, rehearsing: bool = True) -> Rehearsal:
        """Inside, every write is done and checked in full, then rolled back (--dry-run);
        with ``rehearsing`` false, writes are real (a command's --dry-run off)."""
        from .transaction import Rehearsal

        return Rehearsal(self, rehearsing)

    def select_in(self, head: str, values: Sequence[Any], tail: str = "",
                  params: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of ``head (?, ?, ...) tail`` for all of ``values`` (duplicates
        dropped), a chunk at a time; ``params`` follow each chunk's values. ``head``
        ends with ``IN``; both are fixed SQL text."""
        unique = list(dict.fromkeys(values))
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start:start + IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            yield from self.conn.execute(f"{head} ({marks}){tail}", [*chunk, *params])

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row of ``sql``, or None."""
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- meta and workflow ---------------------------------------------------

    def meta(self, key: str) -> str | None:
        value = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def workflow(self) -> Workflow:
        if self._workflow is None:
            raw = self.meta("workflow")
            if raw is None:
                raise ConfigError(
                    f"database {self.path} has no workflow; run 'ticketcli init --preset NAME'"
                )
            self._workflow = _stored_workflow(raw)
        return self._workflow

    def has_workflow(self) -> bool:
        return self.meta("workflow") is not None

    def set_workflow(self, wf: Workflow) -> None:
        from ..jsontext import dumps

        self.set_meta("workflow", dumps(wf.to_dict(stored=True)))
        self._workflow = wf



def _stored_workflow(raw: str) -> Workflow:
    """The workflow stored as JSON (checked when it was stored; built without checks)."""
    from ..jsontext import loads
    from ..workflow import from_stored

    return from_stored(loads(raw))

