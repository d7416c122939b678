"""close-stale: apply the workflow's stale rules in short, re-checked batches.

Each batch is its own ``BEGIN IMMEDIATE`` transaction that selects the tickets
that are stale *now*, inside the lock, then moves them and writes their history
rows and messages. A ticket that got a reply a moment earlier no longer matches
and is left alone; two runs at once cannot both move the same ticket. Staff
commands wait at most one short batch for the lock.

Within a batch the tickets are moved a chunk at a time, each chunk with one
statement for the moves, one for the history rows and one for the messages,
so a ticket costs a few row writes rather than a dozen round trips. Between
chunks the batch looks at the clock and ends early when its time is up; the
next batch picks up after the last ticket moved. Every CHECKPOINT_EVERY
batches, outside any transaction, a passive checkpoint copies the WAL back
into the database, so a long run rewrites a WAL of bounded length instead of
growing one (whose growth makes each commit and each page look-up slower). The
batches' commits leave their fsync to those checkpoints, which hold no write
lock: a slow disk never makes other writers wait (see
``StaleSQL.checkpointing_itself`` for what a power failure can undo).

A rule with ``remind_after`` also records one ``reminder`` event per waiting
period (per value of the ticket's stale clock) once the ticket has been idle
that long; the closure itself still waits for the full idle time.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager, nullcontext
from datetime import timedelta

from ..clock import FORMAT, from_stamp, iso
from ..store import Event
from .tickets import Change

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime
    from typing import Any, TypeVar

    from ..store import Store
    from ..store.stale import StaleSQL
    from ..workflow import StaleRule

    Item = TypeVar("Item", bound=tuple[Any, ...])  # a ticket id first

BATCH = 1000  # most tickets one transaction moves
CHUNK = 40  # tickets fetched and moved between two looks at the clock
PAUSE = 0.002  # seconds between write batches
MAX_HOLD = 0.022  # seconds one batch may hold the write lock, its commit included
FIRST_COMMIT_GUESS = 0.0003  # seconds of commit a ticket costs, before one is measured
CHECKPOINT_EVERY = 25  # batches: a WAL of some 5,000 tickets' pages

class StaleReport:
    """What a run changed (or, dry, would change): the moves and the reminded ids."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.reminders: list[int] = []


def close_stale(store: Store, now: datetime, *, dry_run: bool = False,
                limit: int | None = None, batch: int = BATCH) -> StaleReport:
    sql = store.stale
    report = StaleReport()
    with nullcontext() if dry_run else sql.checkpointing_itself(), _collections_between():
        _apply_rules(store, sql, now, dry_run, limit, batch, report)
    return report


@contextmanager
def _collections_between() -> Iterator[None]:
    """No garbage collection inside a transaction: a full one walks every object
    (the report's too) and can hold the write lock for tens of milliseconds. The
    young generations are collected between batches instead (see _in_batches)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _apply_rules(store: Store, sql: StaleSQL, now: datetime, dry_run: bool,
                 limit: int | None, batch: int, report: StaleReport) -> None:
    wf = store.workflow()
    stamp = iso(now)
    for rule in wf.stale:
        cutoff = iso(now - timedelta(seconds=rule.after))

        def budget() -> int:
            return batch if limit is None else limit - len(report.changes)

        def fetch(size: int, after_id: int, rule: StaleRule = rule,
                  cutoff: str = cutoff) -> list[tuple[int, str, str | None]]:
            return sql.stale(rule.sources, rule.since, cutoff, size, after_id)

        def close(rows: Sequence[tuple[int, str, str | None]], rule: StaleRule = rule) -> None:
            changes = [Change(ticket_id, status, rule.to) for ticket_id, status, _ in rows]
            if not dry_run:
                moves = [(ticket_id, wf.resolution_for(rule.to, None, resolution))
                         for ticket_id, _, resolution in rows]
                sql.move(moves, rule.to, wf.phase_of(rule.to), stamp)
                store.record_many([
                    Event(ticket_id, None, stamp, "status", status, rule.to,
                          {"resolution": resolution, "reason": "stale"} if resolution
                          else {"reason": "stale"})
                    for (ticket_id, resolution), (_, status, _) in zip(moves, rows, strict=True)
                ])
            report.changes += changes

        _in_batches(sql, dry_run, budget, fetch, close, batch)
        if rule.remind_after is not None:
            # clock in (cutoff, due]: idle long enough to warn, not yet long enough to close
            due = iso(now - timedelta(seconds=rule.remind_after))

            def fetch_due(size: int, after_id: int, rule: StaleRule = rule, cutoff: str = cutoff,
                          due: str = due) -> list[tuple[int, str]]:
                return sql.due_reminders(rule.sources, rule.since, cutoff, due, size, after_id)

            def remind(rows: Sequence[tuple[int, str]], rule: StaleRule = rule) -> None:
                report.reminders += [ticket_id for ticket_id, _ in rows]
                if dry_run:
                    return
                sql.mark_reminded(rows)
                after = timedelta(seconds=rule.after)
                store.record_many([
                    Event(ticket_id, None, stamp, "reminder", None, None,
                          {"closes_at": (from_stamp(clock) + after).strftime(
                              FORMAT), "to": rule.to})
                    for ticket_id, clock in rows
                ])

            _in_batches(sql, dry_run, lambda: batch, fetch_due, remind, batch)


def _in_batches(sql: StaleSQL, dry_run: bool, budget: Callable[[], int],
                fetch: Callable[[int, int], list[Item]],
                act: Callable[[Sequence[Item]], None], batch: int) -> None:
    """Fetch and act on tickets in id order, a chunk at a time, in short transactions.

    ``fetch(size, after_id)`` runs inside the transaction, so what it returns is
    still true when ``act`` runs; ``budget()`` says how many more tickets may be
    acted on. The history rows and messages of what a transaction changed are
    written at its commit (its change set), so a transaction ends after ``batch``
    tickets, or when its work so far plus the commit its tickets will cost would
    take MAX_HOLD: what a ticket costs at commit is learnt from the transactions
    before (the first one guesses high, so it is short). The next one picks up
    after the last ticket acted on, after a pause that lets waiting writers in (or
    a checkpoint, which lets them in too). Every transaction acts on one chunk at
    least, so a run always gets on.
    """
    after_id = 0
    batches = 0
    per_ticket = FIRST_COMMIT_GUESS  # seconds of commit each ticket acted on costs
    while True:
        finished = False
        done = 0
        with nullcontext() if dry_run else sql.db.write():
            started = time.monotonic()
            while True:
                remaining = budget()
                if remaining <= 0:
                    finished = True
                    break
                size = min(CHUNK, remaining, batch - done)
                if size <= 0:
                    break  # this transaction has done its share
                items = fetch(size, after_id)
                if items:
                    act(items)
                    done += len(items)
                    after_id = int(items[-1][0])
                if len(items) < size:
                    finished = True
                    break
                spent = time.monotonic() - started
                if not dry_run and spent + per_ticket * (done + size) > MAX_HOLD:
                    break
            worked = time.monotonic()
        if finished:
            return
        if dry_run:
            continue
        if done:
            per_ticket = max((time.monotonic() - worked) / done, per_ticket / 2)
        batches += 1
        if batches % CHECKPOINT_EVERY == 0:
            sql.checkpoint()  # holds no write lock: others get theirs meanwhile
            gc.collect(1)
        else:
            time.sleep(PAUSE)
