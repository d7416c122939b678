"""What ``doctor`` asks the database about itself."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .connection import Database


class HealthSQL:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    def pragma(self, name: str) -> Any:
        """The value of a read-only PRAGMA from a fixed list."""
        allowed = ("user_version", "journal_mode", "application_id", "page_size",
                   "page_count", "freelist_count", "synchronous", "foreign_keys")
        if name not in allowed:
            raise ValueError(name)
        return self.db.one(f"PRAGMA {name}")

    def integrity_problems(self, limit: int = 20) -> list[str]:
        rows = self.conn.execute(f"PRAGMA integrity_check({int(limit):d})").fetchall()
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    def foreign_key_problems(self) -> int:
        return len(self.conn.execute("PRAGMA foreign_key_check").fetchall())

    # -- on PostgreSQL ---------------------------------------------------------------

    def server_version(self) -> tuple[int, str]:
        return int(self.db.one("SHOW server_version_num")), str(self.db.one("SHOW server_version"))

    def transport(self) -> tuple[str, bool]:
        """("socket", False) on a Unix socket, else (the server's address, TLS or not)."""
        addr = self.db.one("SELECT inet_server_addr()::text")
        if addr is None:
            return "socket", False
        tls = self.db.one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return str(addr), bool(tls)

    def schema_version(self) -> int:
        return int(self.db.one("SELECT max(version) FROM ticketcli_schema") or 0)

    def session_user(self) -> str:
        return str(self.db.one("SELECT session_user"))

    def missing_privileges(self) -> list[str]:
        """What the session user may not do to the desk's tables ("write outbox")."""
        from .bulk.copy import TABLES

        missing = []
        for table, _ in TABLES:
            for what, privilege in (("read", "SELECT"), ("write", "INSERT,UPDATE,DELETE")):
                if not self.db.one("SELECT has_table_privilege(session_user, "
                                   "current_schema() || '.' || ?, ?)", (table, privilege)):
                    missing.append(f"{what} {table}")
        return missing

    def pooled(self) -> bool:
        """Whether a pooler (pgbouncer) sits between: the process the connection was
        told it talks to at its start is not the server process that answers, or two
        transactions in a row reach different ones."""
        told = int(self.conn.raw.info.backend_pid)  # type: ignore[attr-defined]
        first = self.db.one("SELECT pg_backend_pid()")
        second = self.db.one("SELECT pg_backend_pid()")
        return bool(first != told or first != second)

    def count_problems(self) -> list[str]:
        """Statuses whose kept count differs from the tickets'."""
        rows = self.conn.execute(
            "SELECT coalesce(k.status, t.status) FROM ticket_counts k FULL JOIN "
            "(SELECT status, count(*) AS n FROM tickets GROUP BY status) t "
            "ON t.status = k.status WHERE coalesce(k.n, 0) <> coalesce(t.n, 0)").fetchall()
        return [str(r[0]) for r in rows]
