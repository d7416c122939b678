"""Every SQL statement ticketcli runs, behind one :class:`Store`.

A store is one open database (:class:`~.connection.Database`: the connection,
its transactions and change sets, the stored workflow) and one object per
concern over it, each in its own module:

- ``store.people`` (:mod:`.people`): users and organizations;
- ``store.tickets`` (:mod:`.tickets`): tickets, comments, attachments,
  participants, history, and the one visibility rule;
- ``store.listing`` (:mod:`.listing`): ``list`` and ``--search``;
- ``store.stale`` (:mod:`.stale`): close-stale's selections and batch moves;
- ``store.mail`` (:mod:`.outbox`): the outbox, inbound Message-IDs, templates;
- ``store.health`` (:mod:`.health`): what ``doctor`` asks;
- ``store.sla`` (:mod:`.sla`): the service-level clocks kept per ticket;
- ``store.reports`` (:mod:`.reports`): what ``report`` counts;

and, used by their own commands only, :mod:`.migrations` (the schema) and
:mod:`.bulk` (import and export). Code above the store never writes SQL.

At every commit the store writes the change set's history rows and then, when
the workflow has service-level policies, the clocks of the tickets it touched
(``sla_clocks``, an index of the history kept in the same transaction, whoever
made the change). Subscribers (:attr:`Store.subscribers`) receive each transaction's change set
once, at commit, inside the transaction: the outbox is one (the context adds it).
"""

from __future__ import annotations

from .connection import DEFAULT_BUSY_TIMEOUT, SQLITE_HEADER, Database, translate
from .people import PeopleSQL
from .records import (
    SORT_KEYS,
    Attachment,
    AttachmentInfo,
    ChangeSet,
    Comment,
    Event,
    HistoryEntry,
    Org,
    Ticket,
    TicketQuery,
    User,
)
from .tickets import TicketSQL

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Sequence
    from contextlib import AbstractContextManager
    from typing import Any, Self

    from ..workflow import Workflow
    from .health import HealthSQL
    from .listing import ListingSQL
    from .outbox import MailSQL
    from .reports import ReportSQL
    from .sla import SlaSQL
    from .stale import StaleSQL

    # A subscriber gets the store (inside the transaction) and the change set.
    Subscriber = Callable[["Store", ChangeSet], None]


class Store:
    """One open desk database and its SQL, a concern per attribute."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn
        self.path = db.path
        self.people = PeopleSQL(db)
        self.tickets = TicketSQL(db)
        self.subscribers: list[Subscriber] = []
        self._listing: ListingSQL | None = None
        self._stale: StaleSQL | None = None
        self._mail: MailSQL | None = None
        self._health: HealthSQL | None = None
        self._sla: SlaSQL | None = None
        self._reports: ReportSQL | None = None
        db.on_commit = self._publish

    @classmethod
    def open(cls, path: str | os.PathLike[str], *,
             busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Self:
        """Open (creating and migrating if needed) the ticketcli database at ``path``, a
        file, or a PostgreSQL server's URL."""
        if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
            from .postgres import PgDatabase

            return cls(PgDatabase.open(path, busy_timeout=busy_timeout))
        return cls(Database.open(path, busy_timeout=busy_timeout))

    @classmethod
    def open_readonly(cls, path: str | os.PathLike[str]) -> Self | None:
        """A read-only view (shell completion); None when there is no usable database."""
        if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
            from .postgres import PgDatabase

            db: Database | None = PgDatabase.open_readonly(path)
        else:
            db = Database.open_readonly(path)
        return None if db is None else cls(db)

    def close(self) -> None:
        self.db.close()

    # -- the concerns loaded on first use ---------------------------------------------

    @property
    def listing(self) -> ListingSQL:
        if self._listing is None:
            from .listing import ListingSQL

            self._listing = ListingSQL(self.db)
        return self._listing

    @property
    def stale(self) -> StaleSQL:
        if self._stale is None:
            from .stale import StaleSQL

            self._stale = StaleSQL(self.db)
        return self._stale

    @property
    def mail(self) -> MailSQL:
        if self._mail is None:
            from .outbox import MailSQL

            self._mail = MailSQL(self.db)
        return self._mail

    @property
    def health(self) -> HealthSQL:
        if self._health is None:
            from .health import HealthSQL

            self._health = HealthSQL(self.db)
        return self._health

    @property
    def sla(self) -> SlaSQL:
        if self._sla is None:
            from .sla import SlaSQL

            self._sla = SlaSQL(self.db)
        return self._sla

    @property
    def reports(self) -> ReportSQL:
        if self._reports is None:
            from .reports import ReportSQL

            self._reports = ReportSQL(self.db)
        return self._reports

    # -- transactions and change sets -------------------------------------------------

    def write(self) -> AbstractContextManager[None]:
        """One ``BEGIN IMMEDIATE`` transaction (a savepoint inside one)."""
        return self.db.write()

    def rehearsal(self, rehearsing: bool = True) -> AbstractContextManager[None]:
        """Inside, every write is done and checked in full, then rolled back (--dry-run);
        with ``rehearsing`` false, nothing changes (writes are real)."""
        return self.db.rehearsal(rehearsing)

    def record(self, ticket_id: int, actor_id: int | None, at: str, event: str,
               from_status: str | None = None, to_status: str | None = None,
               detail: dict[str, Any] | None = None) -> None:
        """Add an event to the open transaction's change set."""
        self.db.record(ticket_id, actor_id, at, event, from_status, to_status, detail)

    def record_many(self, events: Sequence[Event]) -> None:
        self.db.record_many(events)

    def _publish(self, events: Sequence[Event]) -> None:
        """At commit: write the history rows, then hand the change set to each subscriber."""
        changes = ChangeSet(tuple(self.tickets.add_history_many(events)))
        self._keep_clocks(changes)
        for subscriber in self.subscribers:
            subscriber(self, changes)

    def _keep_clocks(self, changes: ChangeSet) -> None:
        """The service-level clocks of the tickets a change set touched, rewritten
        from their rows now that its history is written (nothing without policies)."""
        if self.db._workflow is None and not self.db.has_workflow():
            return
        wf = self.workflow()
        if not wf.sla:
            return
        from .sla import STILL

        ids = [ev.ticket_id for ev in changes.events if ev.event not in STILL]
        if ids:
            self.sla.refresh(wf, ids)

    # -- the stored workflow and desk settings -------------------------------------------

    def workflow(self) -> Workflow:
        return self.db.workflow()

    def has_workflow(self) -> bool:
        return self.db.has_workflow()

    def set_workflow(self, wf: Workflow) -> None:
        self.db.set_workflow(wf)

    def meta(self, key: str) -> str | None:
        return self.db.meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self.db.set_meta(key, value)

    def desk_limits(self) -> dict[str, int]:
        """The desk-wide limits an admin set (``desk set``), by key."""
        rows = self.conn.execute(
            "SELECT key, value FROM meta WHERE key >= 'limit.' AND key < 'limit/'")
        return {str(k)[len("limit."):]: int(v) for k, v in rows}

    def set_desk_limit(self, key: str, value: int | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (f"limit.{key}",))
        else:
            self.db.set_meta(f"limit.{key}", str(value))

    def select_in(self, head: str, values: Sequence[Any], tail: str = "",
                  params: Sequence[Any] = ()) -> Iterator[Any]:
        return self.db.select_in(head, values, tail, params)


__all__ = [
    "DEFAULT_BUSY_TIMEOUT", "SORT_KEYS", "SQLITE_HEADER", "Attachment", "AttachmentInfo",
    "ChangeSet", "Comment",
    "Database", "Event", "HistoryEntry", "Org", "Store", "Ticket", "TicketQuery", "User",
    "translate",
]
