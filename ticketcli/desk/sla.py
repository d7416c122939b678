"""sla check: record service-level warnings and breaches, from cron, exactly once.

The clocks are kept per ticket by the store at every commit (``store.sla``):
each row says when ``sla check`` next has something to record (``check_at``).
A run takes the rows due *now* in short ``BEGIN IMMEDIATE`` transactions, a
chunk at a time, as close-stale does: the selection is made inside the lock, so
a row another run has just dealt with no longer matches (its commit moved
``check_at``), and two runs at once record each event once. For each target
whose warning time or due time has passed it records ``sla_warning`` or
``sla_breached`` (``detail: {target, due_at}``) in the ticket's history, once
per ticket, target and cycle: the recorded events are facts the clocks replay,
so the next computation knows them. A breach applies the policy's
``on_breach`` (a priority, and a status when the workflow lets staff make that
move). The outbox tells the assignee, or every agent when nobody is assigned.
Each transaction commits whole: a run killed between two loses nothing that
the next run will not redo. ``--dry-run`` only reads.
"""

from __future__ import annotations

from ..clock import iso
from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

    from ..store import Store
    from ..workflow import Workflow
    from ..workflow.clocks import Clocks

BATCH = 1000  # most tickets one transaction takes
READ = 500  # rows a dry run reads at a time


class Found(Record):
    """One event a run recorded (or, dry, would record)."""

    ticket: int
    target: str
    event: str  # warning or breached
    due_at: str
    actions: list[str]


def due_events(c: Clocks, now: int) -> list[tuple[str, str, int]]:
    """(target, event, due time) that ``sla check`` records at ``now`` for one ticket."""
    out: list[tuple[str, str, int]] = []
    for name, t in c.targets.items():
        if t.pending() is None or t.due is None:
            continue
        if t.due <= now:
            out.append((name, "breached", t.due))
        elif t.running and not t.warned and t.warn is not None and t.warn <= now:
            out.append((name, "warning", t.due))
    return out


def check(store: Store, now: datetime, *, dry_run: bool = False) -> list[Found]:
    wf = store.workflow()
    if not wf.sla:
        return []
    at = iso(now)
    if not store.sla.anything_due(at):  # what cron finds every minute: nothing more loads
        return []
    if dry_run:
        return _rehearse(store, wf, at)
    from .stale import _collections_between

    found: list[Found] = []
    with store.stale.checkpointing_itself(), _collections_between():
        _in_batches(store, wf, at, found)
    return found


def _rehearse(store: Store, wf: Workflow, at: str) -> list[Found]:
    from ..workflow.clocks import epoch

    found: list[Found] = []
    after: tuple[str, int] | None = None
    moment = epoch(at)
    while True:
        rows = store.sla.due(at, after, READ)
        if not rows:
            return found
        after = rows[-1][1], rows[-1][0]
        states = store.sla.ticket_states([tid for tid, _ in rows])
        for tid, _ in rows:
            if tid in states:
                found += _act(store, wf, tid, states[tid], moment, at, dry_run=True)


def _in_batches(store: Store, wf: Workflow, at: str, found: list[Found]) -> None:
    import time

    from ..workflow.clocks import epoch
    from .stale import CHECKPOINT_EVERY, CHUNK, MAX_HOLD, PAUSE

    after: tuple[str, int] | None = None
    moment = epoch(at)
    batches = 0
    while True:
        finished = False
        with store.write():
            started = time.monotonic()
            done = 0
            while True:
                rows = store.sla.due(at, after, CHUNK)
                if rows:
                    after = rows[-1][1], rows[-1][0]
                    states = store.sla.ticket_states([tid for tid, _ in rows])
                    for tid, _ in rows:
                        if tid in states:
                            found += _act(store, wf, tid, states[tid], moment, at)
                    done += len(rows)
                if len(rows) < CHUNK:
                    finished = True
                    break
                # What this transaction's tickets cost at commit (their history rows,
                # clocks and messages) is about what they cost so far.
                spent = time.monotonic() - started
                if 2 * spent > MAX_HOLD or done >= BATCH:
                    break
        if finished:
            return
        batches += 1
        if batches % CHECKPOINT_EVERY == 0:
            store.stale.checkpoint()
        else:
            time.sleep(PAUSE)


def _act(store: Store, wf: Workflow, ticket_id: int, state: tuple[Any, ...], moment: int,
         at: str, *, dry_run: bool = False) -> list[Found]:
    """Record what is due on one ticket (re-read inside the lock); apply on_breach."""
    status, priority, _assignee, check_at, raw = state
    if check_at is None or check_at > at:
        return []  # another run (or a change) got there first
    from ..jsontext import loads
    from ..workflow.clocks import from_json, stamp

    c = from_json(loads(raw))
    events = due_events(c, moment)
    if not events:
        return []
    for target, event, due in events:
        if not dry_run:
            store.record(ticket_id, None, at, f"sla_{event}",
                         detail={"target": target, "due_at": stamp(due) or ""})
    actions: list[str] = []
    if any(event == "breached" for _, event, _ in events):
        actions = _on_breach(store, wf, ticket_id, c.policy, status, priority, at, dry_run)
    return [Found(ticket_id, target, event, stamp(due) or "",
                  actions if event == "breached" else []) for target, event, due in events]


def _on_breach(store: Store, wf: Workflow, ticket_id: int, policy_name: str, status: str,
               priority: str, at: str, dry_run: bool) -> list[str]:
    policy = next((p for p in wf.sla if p.name == policy_name), None)
    if policy is None:
        return []
    actions: list[str] = []
    target = policy.on_breach_status
    if target and target != status and wf.allows("agent", status, target):
        if not dry_run:
            store.tickets.set_status(ticket_id, target, wf.phase_of(target), at,
                                     keep_resolution=wf.status(target).resolved)
            store.record(ticket_id, None, at, "status", status, target, {"reason": "sla"})
        actions.append(f"status={target}")
    new = policy.on_breach_priority
    if new and new != priority:
        if not dry_run:
            store.sla.set_priority(ticket_id, new, at)
            store.record(ticket_id, None, at, "edited",
                         detail={"field": "priority", "from": priority, "to": new,
                                 "reason": "sla"})
        actions.append(f"priority={new}")
    return actions
