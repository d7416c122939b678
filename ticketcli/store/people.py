"""People and organizations."""

from __future__ import annotations

from .records import Org, User

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .connection import Database

# A User as one row: USER_SQL + "WHERE ...", then User(*row).
USER_SQL = (
    "SELECT u.id, u.email, coalesce(u.name, ''), u.role, u.org_id, o.name, u.login, "
    "u.disabled = 1 FROM users u LEFT JOIN orgs o ON o.id = u.org_id "
)


class PeopleSQL:
    """The users and orgs tables."""

    _USER_SQL = USER_SQL

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    def user_by_email(self, email: str) -> User | None:
        row = self.conn.execute(self._USER_SQL + "WHERE u.email = ?", (email.lower(),)).fetchone()
        return User(*row) if row else None

    def user_by_id(self, user_id: int) -> User | None:
        row = self.conn.execute(self._USER_SQL + "WHERE u.id = ?", (user_id,)).fetchone()
        return User(*row) if row else None

    def users_by_id(self, ids: Sequence[int]) -> dict[int, User]:
        """The users of ``ids`` that exist, by id."""
        return {int(r[0]): User(*r) for r in self.db.select_in(self._USER_SQL + "WHERE u.id IN",
                                                                     ids)}

    def users(self) -> list[User]:
        return [User(*r) for r in self.conn.execute(self._USER_SQL + "ORDER BY u.email")]

    def count_users(self) -> int:
        return int(self.db.one("SELECT count(*) FROM users"))

    def has_admin(self) -> bool:
        """Whether the desk has an admin who can act (not disabled)."""
        return bool(self.db.one(
            "SELECT 1 FROM users WHERE role = 'admin' AND disabled = 0 LIMIT 1"))

    def binds_logins(self) -> bool:
        """Whether any person is bound to an OS login (the desk then checks who acts)."""
        return bool(self.db.one("SELECT 1 FROM users WHERE login IS NOT NULL LIMIT 1"))

    def user_by_login(self, login: str) -> User | None:
        row = self.conn.execute(self._USER_SQL + "WHERE u.login = ?", (login,)).fetchone()
        return User(*row) if row else None

    def add_user(self, email: str, name: str, role: str, org_id: int | None, now: str,
                 login: str | None = None) -> User:
        cur = self.conn.execute(
            "INSERT INTO users(email, name, role, org_id, created_at, login) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (email.lower(), name, role, org_id, now, login),
        )
        user = self.user_by_id(int(cur.lastrowid or 0))
        assert user is not None
        return user

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

    def update_user(self, user_id: int, *, name: str, role: str, org_id: int | None,
                    login: str | None, disabled: bool) -> None:
        self.conn.execute(
            "UPDATE users SET name = ?, role = ?, org_id = ?, login = ?, disabled = ? "
            "WHERE id = ?", (name, role, org_id, login, int(disabled), user_id))

    def rename_org(self, org_id: int, name: str) -> None:
        self.conn.execute("UPDATE orgs SET name = ? WHERE id = ?", (name, org_id))

    def staff_ids(self) -> list[int]:
        """The ids of every agent and admin."""
        return [int(r[0]) for r in self.conn.execute(
            "SELECT id FROM users WHERE role IN ('agent', 'admin') ORDER BY id")]

    def set_org_manager(self, org_id: int, manager_id: int | None) -> None:
        self.conn.execute("UPDATE orgs SET manager_id = ? WHERE id = ?", (manager_id, org_id))

    def emails_starting(self, prefix: str, viewer: User, limit: int = 40) -> list[str]:
        """Addresses ``viewer`` may know that start with ``prefix``: every one for staff;
        for a customer, their own and their organization's (the people they may share
        with under the strictest rule), never the whole desk's."""
        low = prefix.lower()
        clause = ""
        params: tuple[int | None, ...] = ()
        if not viewer.staff:
            clause, params = " AND (id = ? OR org_id = ?)", (viewer.id, viewer.org_id)
        rows = self.conn.execute(
            "SELECT email FROM users WHERE email >= ? AND email < ?" + clause  # noqa: S608
            + " ORDER BY email LIMIT ?",
            (low, low + "\U0010ffff", *params, limit),
        )
        return [str(r[0]) for r in rows]
