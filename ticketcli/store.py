"""The one module that speaks SQL: connection, pragmas, transactions, queries.

Every write goes through :meth:`Store.write`, a ``BEGIN IMMEDIATE``
transaction: the change, its history row and anything else it touches commit
together or not at all. All SQL is parameterized; the few identifiers put into
SQL text (sort columns) come from fixed tables in this module.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Busy, ConfigError, NotFound, TicketError
from .migrations import APPLICATION_ID, SCHEMA_VERSION
from .workflow import Workflow

DEFAULT_BUSY_TIMEOUT = 15.0
SQLITE_HEADER = b"SQLite format 3\x00"


# -- records ------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    org_id: int | None
    org: str | None

    @property
    def staff(self) -> bool:
        return self.role in ("agent", "admin")


@dataclass(frozen=True)
class Org:
    id: int
    name: str
    manager_id: int | None
    manager: str | None
    members: int


@dataclass(frozen=True)
class Ticket:
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


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    body: str
    internal: bool
    created_at: str


@dataclass(frozen=True)
class Attachment:
    id: int
    name: str
    size: int
    sha256: str
    created_at: str
    uploader: str | None


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: str
    actor: str | None
    event: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]


@dataclass
class TicketQuery:
    """Filters and order for :meth:`Store.list_tickets`; ``viewer`` limits what a
    customer sees. ``order`` gives the workflow's order of statuses and priorities
    so that sorting by them follows the workflow rather than the alphabet."""

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
    sort: str = "id"
    descending: bool = True
    limit: int | None = 100
    viewer: User | None = None
    order: dict[str, Sequence[str]] = field(default_factory=dict)


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
}


# -- errors ---------------------------------------------------------------------


def translate(error: sqlite3.Error, path: Path | str) -> TicketError:
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


def _low_on_space(path: Path | str) -> bool:
    import shutil

    try:
        return shutil.disk_usage(Path(path).parent).free < 1024 * 1024
    except OSError:
        return False


# -- opening ---------------------------------------------------------------------


def _check_file(path: Path) -> bool:
    """Validate an existing file without touching it; return whether it is empty."""
    import stat

    if path.is_dir():
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


def _create_private(path: Path) -> None:
    if not path.parent.is_dir():
        raise TicketError(f"directory {path.parent} does not exist; create it or choose --db")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as e:
        raise TicketError(f"cannot create database {path}: {e.strerror}") from None
    os.close(fd)


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._workflow: Workflow | None = None
        self.fresh = False  # the schema was created by this process
        self._rehearsing = False
        self._depth = 0  # nesting of write() inside an open transaction
        self.busy_timeout = DEFAULT_BUSY_TIMEOUT

    @classmethod
    def open(cls, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
        """Open (creating if needed) a ticketcli database at ``path``."""
        empty = True
        if path.exists() or path.is_symlink():
            empty = _check_file(path)
        else:
            _create_private(path)
        try:
            conn = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
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
        return store

    @classmethod
    def open_readonly(cls, path: Path) -> Store | None:
        """A read-only view for shell completion: never creates or migrates; None if unusable."""
        try:
            if not path.is_file() or _check_file(path):
                return None
            from urllib.parse import quote

            conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=0.2)
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
            self.fresh = version == 0

    def close(self) -> None:
        self.conn.close()

    # -- transactions --------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Store]:
        """One ``BEGIN IMMEDIATE`` transaction; rolled back on any error.

        Inside an open transaction it nests as a savepoint, so a use case can run
        within a larger one (mail-in: a new customer and their ticket together).
        """
        c = self.conn
        if c.in_transaction:
            name = f"nested_{self._depth}"
            self._depth += 1
            c.execute(f"SAVEPOINT {name}")
            try:
                yield self
                c.execute(f"RELEASE {name}")
            except BaseException:
                if c.in_transaction:
                    c.execute(f"ROLLBACK TO {name}")
                    c.execute(f"RELEASE {name}")
                raise
            finally:
                self._depth -= 1
            return
        self._begin_immediate()
        try:
            yield self
            c.execute("ROLLBACK" if self._rehearsing else "COMMIT")
        except sqlite3.Error as e:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise translate(e, self.path) from None
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def _begin_immediate(self) -> None:
        """Take the write lock, waiting up to the busy timeout.

        SQLite's own busy handler sleeps in growing steps (up to 100 ms) and only
        wins the lock if it wakes in the moment it is free, so a writer that
        commits and begins again at once (close-stale's batches) can starve it.
        Polling every millisecond or two takes a free lock promptly instead.
        """
        import random
        import time

        c = self.conn
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
                    time.sleep(random.uniform(0.0005, 0.002))
                except sqlite3.Error as e:
                    raise translate(e, self.path) from None
        finally:
            c.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000):d}")

    @contextmanager
    def rehearsal(self) -> Iterator[None]:
        """Inside, every write is done and checked in full, then rolled back (--dry-run)."""
        self._rehearsing = True
        try:
            yield
        finally:
            self._rehearsing = False

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- meta and workflow ---------------------------------------------------

    def meta(self, key: str) -> str | None:
        value = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def workflow(self) -> Workflow:
        if self._workflow is None:
            from .workflow import load

            raw = self.meta("workflow")
            if raw is None:
                raise ConfigError(
                    f"database {self.path} has no workflow; run 'ticketcli init --preset NAME'"
                )
            self._workflow = load(json.loads(raw), "stored workflow")
        return self._workflow

    def has_workflow(self) -> bool:
        return self.meta("workflow") is not None

    def set_workflow(self, wf: Workflow) -> None:
        self.set_meta("workflow", json.dumps(wf.to_dict(), ensure_ascii=False))
        self._workflow = wf

    # -- people ---------------------------------------------------------------

    _USER_SQL = (
        "SELECT u.id, u.email, coalesce(u.name, ''), u.role, u.org_id, o.name "
        "FROM users u LEFT JOIN orgs o ON o.id = u.org_id "
    )

    def user_by_email(self, email: str) -> User | None:
        row = self.conn.execute(self._USER_SQL + "WHERE u.email = ?", (email.lower(),)).fetchone()
        return User(*row) if row else None

    def user_by_id(self, user_id: int) -> User | None:
        row = self.conn.execute(self._USER_SQL + "WHERE u.id = ?", (user_id,)).fetchone()
        return User(*row) if row else None

    def users(self) -> list[User]:
        return [User(*r) for r in self.conn.execute(self._USER_SQL + "ORDER BY u.email")]

    def count_users(self) -> int:
        return int(self._one("SELECT count(*) FROM users"))

    def add_user(self, email: str, name: str, role: str, org_id: int | None, now: str) -> User:
        cur = self.conn.execute(
            "INSERT INTO users(email, name, role, org_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (email.lower(), name, role, org_id, now),
        )
        user = self.user_by_id(int(cur.lastrowid or 0))
        assert user is not None
        return user

    def update_user(self, user_id: int, name: str | None, role: str | None,
                    org_id: int | None, set_org: bool) -> None:
        if name is not None:
            self.conn.execute("UPDATE users SET name = ? WHERE id = ?", (name, user_id))
        if role is not None:
            self.conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
        if set_org:
            self.conn.execute("UPDATE users SET org_id = ? WHERE id = ?", (org_id, user_id))

    _ORG_SQL = (
        "SELECT o.id, o.name, o.manager_id, m.email, "
        "(SELECT count(*) FROM users u WHERE u.org_id = o.id) "
        "FROM orgs o LEFT JOIN users m ON m.id = o.manager_id "
    )

    def org_by_name(self, name: str) -> Org | None:
        row = self.conn.execute(
            self._ORG_SQL + "WHERE o.name = ? COLLATE NOCASE", (name,)
        ).fetchone()
        return Org(*row) if row else None

    def org_by_id(self, org_id: int) -> Org | None:
        row = self.conn.execute(self._ORG_SQL + "WHERE o.id = ?", (org_id,)).fetchone()
        return Org(*row) if row else None

    def orgs(self) -> list[Org]:
        return [Org(*r) for r in self.conn.execute(self._ORG_SQL + "ORDER BY o.name")]

    def add_org(self, name: str, manager_id: int | None, now: str) -> Org:
        cur = self.conn.execute(
            "INSERT INTO orgs(name, manager_id, created_at) VALUES (?, ?, ?)",
            (name, manager_id, now),
        )
        org = self.org_by_id(int(cur.lastrowid or 0))
        assert org is not None
        return org

    def set_org_manager(self, org_id: int, manager_id: int | None) -> None:
        self.conn.execute("UPDATE orgs SET manager_id = ? WHERE id = ?", (manager_id, org_id))

    # -- tickets ----------------------------------------------------------------

    _TICKET_COLS = (
        "t.id, t.title, t.description, t.status, t.phase, t.priority, t.category, "
        "t.requester_id, r.email, t.assignee_id, a.email, t.org_id, o.name, t.resolution, "
        "t.fields, t.follow_up_of, t.created_at, t.updated_at, t.status_changed_at, "
        "t.activity_at"
    )
    _TICKET_FROM = (
        " FROM tickets t JOIN users r ON r.id = t.requester_id "
        "LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN orgs o ON o.id = t.org_id "
    )

    @staticmethod
    def _ticket(row: Sequence[Any]) -> Ticket:
        values = list(row)
        values[14] = json.loads(values[14] or "{}")
        return Ticket(*values)

    def ticket(self, ticket_id: int) -> Ticket:
        row = self.conn.execute(
            "SELECT " + self._TICKET_COLS + self._TICKET_FROM + "WHERE t.id = ?", (ticket_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return self._ticket(row)

    def can_see(self, user: User, ticket_id: int) -> bool:
        """The one visibility rule: staff see all; customers their own and shared."""
        if user.staff:
            return True
        clause, params = self.visibility(user)
        return bool(
            self._one(f"SELECT 1 FROM tickets t WHERE t.id = ? AND {clause}", (ticket_id, *params))  # noqa: S608 (fixed SQL fragments only)
        )

    @staticmethod
    def visibility(user: User | None) -> tuple[str, tuple[Any, ...]]:
        """SQL condition on ``t`` limiting tickets to what ``user`` may see."""
        if user is None or user.staff:
            return "1", ()
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
             json.dumps(fields, ensure_ascii=False, sort_keys=True), follow_up_of,
             now, now, now, now),
        )
        return int(cur.lastrowid or 0)

    def set_status(self, ticket_id: int, status: str, phase: str, now: str,
                   resolution: str | None = None) -> None:
        self.conn.execute(
            "UPDATE tickets SET status = ?, phase = ?, status_changed_at = ?, activity_at = ?, "
            "updated_at = ?, resolution = coalesce(?, resolution) WHERE id = ?",
            (status, phase, now, now, now, resolution, ticket_id),
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

    def participants(self, ticket_id: int) -> list[User]:
        rows = self.conn.execute(
            self._USER_SQL.replace("FROM users u", "FROM participants p JOIN users u "
                                   "ON u.id = p.user_id")
            + "WHERE p.ticket_id = ? ORDER BY p.added_at, u.email",
            (ticket_id,),
        )
        return [User(*r) for r in rows]

    def is_participant(self, ticket_id: int, user_id: int) -> bool:
        return bool(
            self._one(
                "SELECT 1 FROM participants WHERE ticket_id = ? AND user_id = ?",
                (ticket_id, user_id),
            )
        )

    def add_participant(self, ticket_id: int, user_id: int, now: str) -> bool:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO participants(ticket_id, user_id, added_at) VALUES (?, ?, ?)",
            (ticket_id, user_id, now),
        )
        return cur.rowcount > 0

    def remove_participant(self, ticket_id: int, user_id: int) -> bool:
        cur = self.conn.execute(
            "DELETE FROM participants WHERE ticket_id = ? AND user_id = ?", (ticket_id, user_id)
        )
        return cur.rowcount > 0

    def add_history(self, ticket_id: int, actor_id: int | None, now: str, event: str,
                    from_status: str | None = None, to_status: str | None = None,
                    detail: dict[str, Any] | None = None) -> int:
        cur = self.conn.execute(
            "INSERT INTO history(ticket_id, actor_id, at, event, from_status, to_status, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ticket_id, actor_id, now, event, from_status, to_status,
             json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None),
        )
        return int(cur.lastrowid or 0)

    def history(self, ticket_id: int, *, internal: bool) -> list[HistoryEntry]:
        rows = self.conn.execute(
            "SELECT h.id, h.at, u.email, h.event, h.from_status, h.to_status, h.detail "
            "FROM history h LEFT JOIN users u ON u.id = h.actor_id WHERE h.ticket_id = ? "
            + ("" if internal else "AND h.event <> 'note' AND coalesce("
               "json_extract(h.detail, '$.internal'), 0) = 0 ")
            + "ORDER BY h.id",
            (ticket_id,),
        )
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]) if r[6] else {})
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
            (actor_id, now, new, json.dumps({"reason": "workflow import"}), old),
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

    # -- completion ------------------------------------------------------------------

    def ids_starting(self, prefix: str, limit: int = 40) -> list[int]:
        """Ticket ids whose digits start with ``prefix``, newest first (range scans only)."""
        if prefix and not prefix.isdigit():
            return []
        if not prefix:
            rows = self.conn.execute("SELECT id FROM tickets ORDER BY id DESC LIMIT ?", (limit,))
            return [int(r[0]) for r in rows]
        top = int(self._one("SELECT max(id) FROM tickets") or 0)
        base, scale = int(prefix), 1
        found: list[int] = []
        while base * scale <= top and len(found) < limit:
            rows = self.conn.execute(
                "SELECT id FROM tickets WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT ?",
                (base * scale, (base + 1) * scale - 1, limit - len(found)),
            )
            found += [int(r[0]) for r in rows]
            scale *= 10
        return found

    def emails_starting(self, prefix: str, limit: int = 40) -> list[str]:
        low = prefix.lower()
        rows = self.conn.execute(
            "SELECT email FROM users WHERE email >= ? AND email < ? ORDER BY email LIMIT ?",
            (low, low + "\U0010ffff", limit),
        )
        return [str(r[0]) for r in rows]

    # -- health ---------------------------------------------------------------------

    def pragma(self, name: str) -> Any:
        """The value of a read-only PRAGMA from a fixed list."""
        allowed = ("user_version", "journal_mode", "application_id", "page_size",
                   "page_count", "freelist_count", "synchronous", "foreign_keys")
        if name not in allowed:
            raise ValueError(name)
        return self._one(f"PRAGMA {name}")

    def integrity_problems(self, limit: int = 20) -> list[str]:
        rows = self.conn.execute(f"PRAGMA integrity_check({int(limit):d})").fetchall()
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    def foreign_key_problems(self) -> int:
        return len(self.conn.execute("PRAGMA foreign_key_check").fetchall())

    def count_tickets(self) -> int:
        return int(self._one("SELECT count(*) FROM tickets"))

    # -- listing ------------------------------------------------------------------

    def _where(self, q: TicketQuery) -> tuple[str, list[Any]]:
        clause, vparams = self.visibility(q.viewer)
        where: list[str] = [clause]
        params: list[Any] = list(vparams)

        def equal(column: str, value: object) -> None:
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)

        if q.statuses:
            where.append(f"t.status IN ({', '.join('?' * len(q.statuses))})")
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
        if q.stale is not None:
            rules = []
            for statuses, clock, cutoff in q.stale:
                rules.append(
                    f"(t.status IN ({', '.join('?' * len(statuses))}) "
                    f"AND t.{self._clock_column(clock)} <= ?)"
                )
                params.extend([*statuses, cutoff])
            where.append("(" + (" OR ".join(rules) or "0") + ")")
        if q.search is not None:
            cond, sparams = self._search_condition(q.search, q.viewer)
            where.append(cond)
            params.extend(sparams)
        return " AND ".join(where), params

    def list_tickets(self, q: TicketQuery) -> tuple[list[Ticket], bool]:
        """Tickets matching ``q`` in its order; and whether more exist past the limit."""
        where, params = self._where(q)
        key = SORT_KEYS[q.sort]
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
            "SELECT " + self._TICKET_COLS + self._TICKET_FROM + "WHERE " + where
            + f" ORDER BY {key} {direction}"
            + ("" if q.sort == "id" else f", t.id {direction}")
        )
        params = params + order_params
        if q.limit:
            sql += " LIMIT ?"
            params.append(min(q.limit, 2**62) + 1)
        rows = self.conn.execute(sql, params).fetchall()
        more = bool(q.limit) and len(rows) > (q.limit or 0)
        return [self._ticket(r) for r in rows[: q.limit or None]], more

    def count_matching(self, q: TicketQuery) -> int:
        where, params = self._where(q)
        sql = "SELECT count(*) FROM tickets t WHERE " + where  # noqa: S608 (fixed fragments)
        return int(self._one(sql, params))

    @staticmethod
    def _search_condition(text: str, viewer: User | None) -> tuple[str, list[Any]]:
        """Whatever the user typed, as plain words: never query syntax, never an SQL error."""
        import re

        words = re.findall(r"\w+", text)
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
        match = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
        internal = "" if viewer is None or viewer.staff else " AND c.internal = 0"
        return (
            "(t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?) OR t.id IN "  # noqa: S608 (fixed SQL fragments only)
            "(SELECT c.ticket_id FROM comments_fts f JOIN comments c ON c.id = f.rowid "
            "WHERE comments_fts MATCH ?" + internal + "))",
            [match, match],
        )

    # -- close-stale ----------------------------------------------------------------

    @staticmethod
    def _clock_column(clock: str) -> str:
        return "activity_at" if clock == "requester_activity" else "status_changed_at"

    def stale_ids(self, sources: Sequence[str], clock: str, cutoff: str, limit: int,
                  after_id: int = 0) -> list[int]:
        """Ids of tickets in ``sources`` whose stale clock is at or before ``cutoff``."""
        column = self._clock_column(clock)
        marks = ", ".join("?" * len(sources))
        rows = self.conn.execute(
            f"SELECT id FROM tickets WHERE status IN ({marks}) AND {column} <= ? "  # noqa: S608
            "AND id > ? ORDER BY id LIMIT ?",
            (*sources, cutoff, after_id, limit),
        )
        return [int(r[0]) for r in rows]

    def remind_ids(self, sources: Sequence[str], clock: str, idle_from: str, idle_until: str,
                   limit: int, after_id: int = 0) -> list[tuple[int, str]]:
        """Tickets due a reminder: clock in (idle_from, idle_until], none yet for its value."""
        column = self._clock_column(clock)
        marks = ", ".join("?" * len(sources))
        rows = self.conn.execute(
            f"SELECT id, {column} FROM tickets WHERE status IN ({marks}) "  # noqa: S608
            f"AND {column} <= ? AND {column} > ? "
            f"AND (reminded_for IS NULL OR reminded_for <> {column}) "
            "AND id > ? ORDER BY id LIMIT ?",
            (*sources, idle_until, idle_from, after_id, limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def mark_reminded(self, ticket_id: int, clock_value: str) -> None:
        self.conn.execute(
            "UPDATE tickets SET reminded_for = ? WHERE id = ?", (clock_value, ticket_id)
        )
