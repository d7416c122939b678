"""The transactions of :meth:`Database.write` (with the change set each one collects)
and :meth:`Database.rehearsal` (a dry run's writes, rolled back)."""

from __future__ import annotations

import sqlite3

from .connection import translate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .connection import Database


class Transaction:
    """:meth:`Database.write`: a transaction, or a savepoint inside one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.savepoint: str | None = None
        self.mark = 0
        self.asked = self.began = 0.0

    def __enter__(self) -> None:
        db, c = self.db, self.db.conn
        if c.in_transaction:
            self.savepoint = f"nested_{db._depth}"
            self.mark = len(db._events)
            db._depth += 1
            c.execute(f"SAVEPOINT {self.savepoint}")
            return
        if db.observers:
            import time

            self.asked = time.perf_counter()
            db._begin_immediate()
            self.began = time.perf_counter()
        else:
            db._begin_immediate()
        db._events = []

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: object) -> None:
        db, c = self.db, self.db.conn
        if self.savepoint is not None:
            db._depth -= 1
            if kind is None:
                c.execute(f"RELEASE {self.savepoint}")
            else:
                if c.in_transaction:
                    c.execute(f"ROLLBACK TO {self.savepoint}")
                    c.execute(f"RELEASE {self.savepoint}")
                del db._events[self.mark:]
            return
        try:
            if kind is None:
                try:
                    if db._events:
                        events, db._events = db._events, []
                        db.on_commit(events)  # still inside the transaction
                    c.execute("ROLLBACK" if db._rehearsing else "COMMIT")
                except BaseException:
                    if c.in_transaction:
                        c.execute("ROLLBACK")
                    raise
            elif c.in_transaction:
                c.execute("ROLLBACK")
        except sqlite3.Error as e:
            raise translate(e, db.path) from None
        finally:
            db._events = []
            if db.observers:
                import time

                ended = time.perf_counter()
                for observe in db.observers:
                    observe(self.began - self.asked, ended - self.began)
        if isinstance(error, sqlite3.Error):
            raise translate(error, db.path) from None


class Rehearsal:
    """:meth:`Database.rehearsal`: writes inside are done in full, then rolled back."""

    def __init__(self, db: Database, rehearsing: bool) -> None:
        self.db = db
        self.rehearsing = rehearsing

    def __enter__(self) -> None:
        self.before = self.db._rehearsing
        self.db._rehearsing = self.rehearsing or self.before

    def __exit__(self, *exc: object) -> None:
        self.db._rehearsing = self.before
