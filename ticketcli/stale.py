"""close-stale: apply the workflow's stale rules in short, re-checked batches.

Each batch is its own ``BEGIN IMMEDIATE`` transaction that selects the tickets
that are stale *now*, inside the lock, then moves them and writes their history
rows. A ticket that got a reply a moment earlier no longer matches and is left
alone; two runs at once cannot both move the same ticket. Staff commands wait
at most one short batch for the lock.

A rule with ``remind_after`` also records one ``reminder`` event per waiting
period (per value of the ticket's stale clock) once the ticket has been idle
that long; the closure itself still waits for the full idle time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import events
from .clock import FORMAT, iso
from .store import Store
from .tickets import Change, _move
from .workflow import StaleRule

BATCH = 200
PAUSE = 0.002  # seconds between write batches
MAX_HOLD = 0.025  # seconds of work in one batch, so others never wait long for the lock


@dataclass
class StaleReport:
    changes: list[Change] = field(default_factory=list)
    reminders: list[int] = field(default_factory=list)


def close_stale(store: Store, now: datetime, *, dry_run: bool = False,
                limit: int | None = None, batch: int = BATCH) -> StaleReport:
    wf = store.workflow()
    stamp = iso(now)
    report = StaleReport()
    for rule in wf.stale:
        cutoff = iso(now - timedelta(seconds=rule.after))

        def budget() -> int:
            return batch if limit is None else min(batch, limit - len(report.changes))

        def fetch(size: int, after_id: int, rule: StaleRule = rule,
                  cutoff: str = cutoff) -> list[tuple[int, str]]:
            ids = store.stale_ids(rule.sources, rule.since, cutoff, size, after_id)
            return [(i, "") for i in ids]

        def close(item: tuple[int, str], rule: StaleRule = rule) -> None:
            ticket = store.ticket(item[0])
            if dry_run:
                report.changes.append(Change(ticket.id, ticket.status, rule.to))
                return
            resolution = wf.resolution_for(rule.to, None, ticket.resolution)
            report.changes.append(
                _move(store, wf, None, ticket, rule.to, stamp, resolution, reason="stale")
            )

        _in_batches(store, dry_run, budget, fetch, close)
        if rule.remind_after is not None:
            # clock in (cutoff, due]: idle long enough to warn, not yet long enough to close
            due = iso(now - timedelta(seconds=rule.remind_after))

            def fetch_due(size: int, after_id: int, rule: StaleRule = rule, cutoff: str = cutoff,
                          due: str = due) -> list[tuple[int, str]]:
                return store.remind_ids(rule.sources, rule.since, cutoff, due, size, after_id)

            def remind(item: tuple[int, str], rule: StaleRule = rule) -> None:
                ticket_id, clock_value = item
                report.reminders.append(ticket_id)
                if dry_run:
                    return
                store.mark_reminded(ticket_id, clock_value)
                closes_at = datetime.strptime(clock_value, FORMAT) + timedelta(seconds=rule.after)
                events.record(store, ticket_id, None, stamp, "reminder",
                              detail={"closes_at": closes_at.strftime(FORMAT), "to": rule.to})

            _in_batches(store, dry_run, lambda: batch, fetch_due, remind)
    return report


def _in_batches(store: Store, dry_run: bool, budget: Callable[[], int],
                fetch: Callable[[int, int], list[tuple[int, str]]],
                act: Callable[[tuple[int, str]], None]) -> None:
    """Fetch and act on tickets in id order, one short transaction per batch.

    ``fetch(size, after_id)`` runs inside the transaction, so what it returns is
    still true when ``act`` runs. A batch ends after ``size`` tickets or
    MAX_HOLD seconds of work, whichever comes first; the rest are fetched again
    by the next batch, after a pause that lets waiting writers in.
    """
    after_id = 0
    while (size := budget()) > 0:
        done: list[int] = []
        with nullcontext() if dry_run else store.write():
            started = time.monotonic()
            items = fetch(size, after_id)
            for item in items:
                act(item)
                done.append(item[0])
                if not dry_run and time.monotonic() - started > MAX_HOLD:
                    break
        if len(items) < size and len(done) == len(items):
            return
        after_id = done[-1]
        if not dry_run:
            time.sleep(PAUSE)
