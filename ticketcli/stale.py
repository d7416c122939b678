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
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import events
from .clock import iso
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
        after_id = 0
        while limit is None or len(report.changes) < limit:
            size = batch if limit is None else min(batch, limit - len(report.changes))
            done: list[int] = []
            with _maybe_write(store, dry_run):
                started = time.monotonic()
                ids = store.stale_ids(rule.sources, rule.since, cutoff, size, after_id)
                for i in ids:
                    ticket = store.ticket(i)
                    if dry_run:
                        report.changes.append(Change(i, ticket.status, rule.to))
                    else:
                        report.changes.append(
                            _move(store, wf, None, ticket, rule.to, stamp,
                                  wf.resolution_for(rule.to, None, ticket.resolution),
                                  reason="stale")
                        )
                    done.append(i)
                    if not dry_run and time.monotonic() - started > MAX_HOLD:
                        break  # commit what is done; the rest are still stale next batch
            if len(ids) < size and len(done) == len(ids):
                break
            after_id = done[-1]
            if not dry_run:
                time.sleep(PAUSE)  # let waiting staff commands take the lock between batches
        if rule.remind_after is not None:
            _remind(store, rule, now, stamp, cutoff, dry_run, batch, report)
    return report


def _remind(store: Store, rule: StaleRule, now: datetime, stamp: str, cutoff: str,
            dry_run: bool, batch: int, report: StaleReport) -> None:
    assert rule.remind_after is not None
    due = iso(now - timedelta(seconds=rule.remind_after))
    after_id = 0
    while True:
        with _maybe_write(store, dry_run):
            found = store.remind_ids(rule.sources, rule.since, cutoff, due, batch, after_id)
            # clock in (cutoff, due]: idle long enough to warn, not yet long enough to close
            for ticket_id, clock_value in found:
                report.reminders.append(ticket_id)
                if dry_run:
                    continue
                store.mark_reminded(ticket_id, clock_value)
                closes_at = datetime.strptime(clock_value, "%Y-%m-%dT%H:%M:%SZ") + timedelta(
                    seconds=rule.after
                )
                events.record(store,
                    ticket_id, None, stamp, "reminder",
                    detail={"closes_at": closes_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "to": rule.to},
                )
        if len(found) < batch:
            return
        after_id = found[-1][0]
        if not dry_run:
            time.sleep(PAUSE)


def _maybe_write(store: Store, dry_run: bool) -> AbstractContextManager[object]:
    return nullcontext() if dry_run else store.write()
