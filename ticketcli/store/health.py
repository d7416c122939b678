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
