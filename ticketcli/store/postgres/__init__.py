"""The desk on a PostgreSQL server: ``--db postgresql://...`` (or ``postgres://``).

:class:`PgDatabase` is :class:`~ticketcli.store.connection.Database` over a server
connection: the same store, statements and change sets, with the write lock a
desk-wide advisory lock held for the transaction (``pg_advisory_xact_lock`` in READ
COMMITTED, the server's counterpart of SQLite's ``BEGIN IMMEDIATE``) and the wait
for it bounded by ``lock_timeout`` (the busy timeout: exit 75 past it).
"""

from __future__ import annotations

from ...errors import ConfigError, TicketError
from ..connection import Database

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Self

    from .adapter import Connection

SCHEMES = ("postgresql://", "postgres://")
# The advisory lock every writer of a desk takes (one per schema: see _lock_key).
LOCK_CLASS = 0x7469636B  # "tick"
# One lock per desk: desks in other schemas of the same database never wait on it.
LOCK_SQL = f"SELECT pg_advisory_xact_lock({LOCK_CLASS:d}, hashtext(current_schema()))"


def is_url(target: str) -> bool:
    """Whether ``--db`` names a server rather than a file."""
    return target.startswith(SCHEMES)


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "the PostgreSQL server"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = parts.username or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class PgDatabase(Database):
    """A desk on PostgreSQL."""

    engine = "postgresql"
    url = ""

    @property
    def server(self) -> Connection:
        """The connection, as what it is (the store sees it as SQLite's)."""
        return self.conn  # type: ignore[return-value]

    @classmethod
    def open(cls, path: Any, *, busy_timeout: float = 15.0) -> Self:
        from .adapter import connect

        url = str(path)
        shown = redacted(url)
        try:
            conn, _driver = connect(url)
        except ConfigError:
            raise
        except Exception as e:  # the server's refusal, as sqlite3 would say it
            raise TicketError(f"cannot reach database {shown}: {_first_line(e)}") from None
        db = cls(conn, shown)  # type: ignore[arg-type]
        db.url = url
        db.busy_timeout = busy_timeout
        try:
            db._prepare(False, busy_timeout)
        except BaseException:
            conn.close()
            raise
        return db

    @classmethod
    def open_readonly(cls, path: Any) -> Self | None:
        try:
            return cls.open(path, busy_timeout=0.2)
        except (TicketError, ConfigError):
            return None

    def login(self) -> str:
        """On a server the login is the database role the session authenticated as:
        the server vouches for it, where an OS login on another machine means nothing."""
        return str(self.one("SELECT session_user"))

    def _prepare(self, empty: bool, busy_timeout: float) -> None:
        from ..migrations import SCHEMA_VERSION

        version = self._version()
        if version is None:
            encoding = str(self.one("SHOW server_encoding"))
            if encoding.upper() not in ("UTF8", "UTF-8"):
                raise ConfigError(
                    f"database {self.path} is encoded {encoding}; a desk needs UTF8 "
                    "(createdb -E UTF8 --template template0)")
            self._create_schema()
            return
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"database {self.path} has schema version {version}, newer than this "
                f"ticketcli understands ({SCHEMA_VERSION}); upgrade ticketcli"
            )
        if version < SCHEMA_VERSION:  # no older PostgreSQL schema exists yet
            raise ConfigError(f"database {self.path} has schema version {version}, which "
                              "this ticketcli cannot migrate")

    def _version(self) -> int | None:
        """The desk's schema version; None in an empty schema; a schema holding other
        tables is refused."""
        ours, tables = self.conn.execute(
            "SELECT to_regclass('ticketcli_schema') IS NOT NULL, count(*) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p', 'f')"
        ).fetchone() or (0, 0)
        if ours:
            return int(self.one("SELECT max(version) FROM ticketcli_schema") or 0)
        if tables:
            raise ConfigError(
                f"database {self.path} holds {int(tables)} other tables and no ticketcli "
                "desk; refusing to touch it (use an empty database or schema)")
        return None

    def _create_schema(self) -> None:
        from ...clock import iso, utcnow
        from .schema import statements

        raw = self.server.raw
        with raw.cursor() as cur:
            try:
                cur.execute("BEGIN")
                cur.execute(LOCK_SQL)
                cur.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_schema = current_schema() "
                            "AND table_name = 'ticketcli_schema'")
                if cur.fetchone()[0]:  # another process made it meanwhile
                    cur.execute("ROLLBACK")
                    return
                for sql, params in statements(iso(utcnow())):
                    cur.execute(sql, params or None)
                cur.execute("COMMIT")
            except BaseException as e:
                if raw.info.transaction_status != 0:
                    cur.execute("ROLLBACK")
                from .adapter import sqlite_error

                if isinstance(e, self.server.driver.Error):
                    raise sqlite_error(e) from None
                raise

    def _begin_immediate(self) -> None:
        # One round trip: begin, bound the wait, take the desk's lock.
        timeout_ms = max(int(self.busy_timeout * 1000), 1)
        self.server.script(f"BEGIN; SET LOCAL lock_timeout = {timeout_ms:d}; {LOCK_SQL}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
