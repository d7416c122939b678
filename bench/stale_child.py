"""close-stale in a process of its own, every write transaction timed: what the bench's
close-stale probe runs (``python bench/stale_child.py REPORT.json TICKETCLI-ARGS...``).

The command runs as ``ticketcli`` would run it (``ticketcli.__main__.run``), with a
context whose store, once opened, has an observer (``Database.observers``) note how
long each write transaction held the lock: from the moment ``BEGIN IMMEDIATE`` got it
to the end of ``COMMIT``. The automatic WAL checkpoint SQLite may run right after a
commit, which holds no write lock, is turned off on that connection
(``wal_autocheckpoint = 0``), so that it does not land in a transaction's time;
close-stale checkpoints itself between batches and at the end. The report gets the
longest hold, the number of transactions and this process's peak memory.

Only the standard library and ticketcli: this process's memory is the figure.
"""

from __future__ import annotations

import json
import resource
import sys

from ticketcli.__main__ import run
from ticketcli.context import Context
from ticketcli.store import Store


class TimedContext(Context):
    """This process's context, whose store tells each write transaction's hold time."""

    def __init__(self) -> None:
        super().__init__(stdout=sys.stdout, stderr=sys.stderr, stdin=sys.stdin)
        self.held: list[float] = []
        self._timed: Store | None = None

    def open_store(self) -> Store:
        store = super().open_store()
        if store is not self._timed:
            self._timed = store
            store.conn.execute("PRAGMA wal_autocheckpoint = 0")
            store.db.observers.append(self._observe)
        return store

    def _observe(self, waited: float, held: float) -> None:
        self.held.append(held)


def peak_kib() -> int:
    """This process's own peak resident memory. Not ``ru_maxrss``: Linux carries the
    parent's resident memory at the fork over the exec into it."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> int:
    report, args = argv[0], argv[1:]
    context = TimedContext()
    code = run(args, context=context)
    with open(report, "w") as fh:
        json.dump({"longest": max(context.held, default=0.0),
                   "transactions": len(context.held), "maxrss_kib": peak_kib()}, fh)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
