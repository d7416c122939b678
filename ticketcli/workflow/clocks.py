"""Service-level clocks from what really happened to a ticket.

Pure: :func:`clocks` replays a ticket's facts (replies, phase changes, and the
``sla_warning``/``sla_breached`` events already recorded) under one policy and
its calendar, and says, for each of the policy's targets, when it is due, when
it was met, whether it was late, and what ``sla check`` still has to record.
The answer never depends on the time it is asked: "breached now" is the stored
answer compared with now (:func:`breached`).

The rules (docs/SLA.md says them for people):

- **first_response** runs from the opening to the first public reply by staff;
  it stops unmet when the ticket reaches a solved, closed or cancelled phase
  first.
- **next_reply** runs from the first public reply from the requester side that
  staff have not answered yet (once first_response is over) to the next public
  staff reply: each such stretch is a cycle. A reply while the ticket is
  resolved starts its cycle when the ticket is reopened. Resolving the ticket
  ends a running cycle.
- **resolution** runs from the opening until the ticket reaches a solved,
  closed or cancelled phase, and counts only time outside the policy's
  ``pause`` phases; a reopened ticket's clock resumes where it stopped (time
  spent resolved does not count).
- Neither response clock pauses. A target is late when a cycle was met after
  its due time, or stopped unmet after it.
"""

from __future__ import annotations

from ..record import Record
from .model import RESOLVED_PHASES, TARGETS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from .calendar import Hours
    from .model import SlaPolicy

# Facts at the same second: replies first (a reply sent with --status solved
# answers before it resolves), then phase changes, then recorded SLA events.
REPLY_STAFF, REPLY_REQUESTER, PHASE, SLA_EVENT = 0, 1, 2, 3
_ORDER = {REPLY_STAFF: 0, REPLY_REQUESTER: 0, PHASE: 1, SLA_EVENT: 2}


class Fact(Record):
    """One thing that happened to a ticket: ``value`` is the new phase (PHASE) or
    ``"warning:TARGET"`` / ``"breached:TARGET"`` (SLA_EVENT)."""

    at: int
    kind: int
    value: str = ""


class Target(Record):
    """One target's state after the replay (times are epoch seconds).

    ``due`` is the running (or paused) cycle's due time, or the one it had when
    it was met; ``late_at`` the first due time that passed on a cycle already
    over (met late or stopped late); ``elapsed`` the business seconds counted up
    to ``met``."""

    name: str
    due: int | None
    met: int | None
    late: bool
    late_at: int | None
    running: bool
    paused: bool
    cycle: int
    warn: int | None
    warned: bool
    breach_recorded: bool
    elapsed: int | None

    def pending(self) -> tuple[int, str] | None:
        """(when, event) of the next event ``sla check`` has to record, if any."""
        if self.due is None or self.breach_recorded or not (self.running or self.paused):
            return None
        if self.running and not self.warned and self.warn is not None and self.warn < self.due:
            return self.warn, "warning"
        return self.due, "breached"


class Clocks(Record):
    """Every target of a policy for one ticket, and what lists and cron need."""

    policy: str
    calendar: str | None
    targets: dict[str, Target]
    due_at: int | None  # earliest due among running (unmet, not paused) targets
    warn_at: int | None  # earliest warning time among them
    breach_at: int | None  # when the ticket counts as breached (past or to come)
    check_at: int | None  # next time sla check has something to record


class _Cycle:
    """A target while the facts are replayed."""

    __slots__ = ("breach_recorded", "cycle", "due", "elapsed", "late", "late_at", "met",
                 "paused", "running", "warn", "warned")

    def __init__(self) -> None:
        self.due: int | None = None
        self.met: int | None = None
        self.late = False
        self.late_at: int | None = None
        self.running = False
        self.paused = False
        self.cycle = 0
        self.warn: int | None = None
        self.warned = False
        self.breach_recorded = False
        self.elapsed: int | None = None

    def start(self, hours: Hours, at: int, seconds: int, warn_before: int) -> None:
        self.cycle += 1
        self.running = True
        self.paused = False
        self.met = None
        self.warned = self.breach_recorded = False
        self.due = hours.add(at, seconds)
        self.warn = hours.back(self.due, warn_before) if warn_before else None

    def stop(self, at: int, *, met: bool) -> None:
        """The running cycle ends at ``at``: answered (``met``) or not."""
        self.running = False
        if met:
            self.met = at
        if self.due is not None and at > self.due:
            self.late = True
            if self.late_at is None or self.due < self.late_at:
                self.late_at = self.due
        if not met:
            self.due = None if not self.late or self.due is None else self.due


def clocks(policy: SlaPolicy, hours: Hours, created: int, phase: str,
           facts: Sequence[Fact]) -> Clocks:
    """Replay ``facts`` (any order; sorted here) of a ticket opened at ``created``
    in ``phase`` under ``policy``, counted in ``hours``."""
    warn_before = policy.warn_before
    fr_target, nr_target, res_target = (policy.target(t) for t in TARGETS)
    pause = frozenset(policy.pause)
    fr, nr, res = _Cycle(), _Cycle(), _Cycle()
    resolved = phase in RESOLVED_PHASES
    responded = False  # the first response is over (met, or stopped by resolving)
    unanswered = False  # a requester reply waits for staff
    # resolution: business seconds counted so far, and since when it runs
    counted = 0
    since: int | None = None

    if fr_target is not None and not resolved:
        fr.start(hours, created, fr_target, warn_before)
    elif resolved:
        responded = True
    else:
        responded = False

    def resume(at: int) -> None:
        nonlocal since
        since = at
        res.running, res.paused = True, False
        if counted < res_target:  # type: ignore[operator]
            res.due = hours.add(at, res_target - counted)  # type: ignore[operator]
            res.warn = hours.back(res.due, warn_before) if warn_before else None

    if res_target is not None:
        res.cycle = 1
        if resolved:
            res.met, res.elapsed = created, 0
        elif phase in pause:
            res.paused = True
        else:
            resume(created)

    for fact in sorted(facts, key=lambda f: (f.at, _ORDER[f.kind])):
        at, kind = fact.at, fact.kind
        if kind == REPLY_STAFF:
            if fr.running:
                fr.stop(at, met=True)
                fr.elapsed = hours.between(created, at)
            if nr.running:
                nr.stop(at, met=True)
            responded = True
            unanswered = False
        elif kind == REPLY_REQUESTER:
            if fr.running or not responded:
                continue
            unanswered = True
            if nr_target is not None and not nr.running and not resolved:
                nr.start(hours, at, nr_target, warn_before)
        elif kind == PHASE:
            new = fact.value
            was_resolved, resolved = resolved, new in RESOLVED_PHASES
            if res_target is not None and res.running and since is not None:
                counted += hours.between(since, at)
                res.running, since = False, None
            if resolved and not was_resolved:
                if fr.running:
                    fr.stop(at, met=False)
                responded = True
                if nr.running:
                    nr.stop(at, met=False)
                unanswered = False
                if res_target is not None:
                    res.paused = False
                    res.met, res.elapsed = at, counted
                    if counted > res_target and res.due is not None:
                        res.late = True
                        res.late_at = res.due if res.late_at is None else min(res.late_at,
                                                                              res.due)
            elif not resolved:
                if was_resolved:
                    res.met = res.elapsed = None
                    if unanswered and nr_target is not None and not nr.running:
                        nr.start(hours, at, nr_target, warn_before)
                if res_target is not None:
                    if new in pause:
                        res.paused = True
                    else:
                        resume(at)
        else:  # SLA_EVENT
            event, _, target = fact.value.partition(":")
            cycle = {"first_response": fr, "next_reply": nr, "resolution": res}.get(target)
            if cycle is None:
                continue
            if event == "warning":
                cycle.warned = True
            elif event == "breached":
                cycle.warned = cycle.breach_recorded = True
    if res_target is not None and res.paused and counted < res_target:
        res.due = res.warn = None  # paused before its time ran out: nothing is due
    targets: dict[str, Target] = {}
    for name, seconds, cycle in (("first_response", fr_target, fr),
                                 ("next_reply", nr_target, nr), ("resolution", res_target, res)):
        if seconds is None:
            continue
        targets[name] = Target(name, cycle.due, cycle.met, cycle.late, cycle.late_at,
                               cycle.running, cycle.paused, cycle.cycle, cycle.warn,
                               cycle.warned, cycle.breach_recorded, cycle.elapsed)
    return summarise(policy.name, policy.calendar, targets)


def summarise(policy: str, calendar: str | None, targets: dict[str, Target]) -> Clocks:
    dues = [t.due for t in targets.values() if t.running and t.due is not None]
    warns = [t.warn for t in targets.values() if t.running and t.warn is not None]
    breach = [t.late_at for t in targets.values() if t.late_at is not None]
    breach += [t.due for t in targets.values()
               if (t.running or t.paused) and t.due is not None]
    pending = [p[0] for t in targets.values() if (p := t.pending()) is not None]
    return Clocks(policy, calendar, targets, min(dues, default=None), min(warns, default=None),
                  min(breach, default=None), min(pending, default=None))


# -- what people and lists see -------------------------------------------------------


def is_breached(t: Target, now: int) -> bool:
    """Met late, stopped late, or past due unmet (running or paused) at ``now``."""
    if t.late:
        return True
    return (t.running or t.paused) and t.due is not None and t.due <= now


def shown_due(t: Target) -> int | None:
    """The due time people see: none while paused or while no cycle runs (a
    next_reply with nothing to answer); a met target keeps the due it had."""
    if t.paused:
        return None
    if t.running:
        return t.due
    if t.met is not None and t.name != "next_reply":
        return t.due
    return None


def to_json(c: Clocks) -> dict[str, Any]:
    """The stored form of a ticket's clocks (read back by :func:`from_json`)."""
    return {"policy": c.policy, "calendar": c.calendar,
            "targets": {name: list(t[1:]) for name, t in c.targets.items()}}


def targets_from_json(data: dict[str, Any]) -> dict[str, Target]:
    return {name: Target(name, *values) for name, values in data["targets"].items()}


def from_json(data: dict[str, Any]) -> Clocks:
    return summarise(data["policy"], data.get("calendar"), targets_from_json(data))


# -- facts from stored rows -------------------------------------------------------------


_ORDINAL_1970 = 719163  # date(1970, 1, 1).toordinal()


def epoch(stamp: str) -> int:
    """A stored stamp (``2026-05-01T09:30:00Z``) as epoch seconds (read by hand: this
    runs for every fact of every ticket an import or a new workflow gives clocks)."""
    from datetime import date

    if len(stamp) != 20 or stamp[10] != "T" or stamp[19] != "Z":
        raise ValueError(f"not a stored time: {stamp!r}")
    days = date(int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10])).toordinal()
    return ((days - _ORDINAL_1970) * 86400 + int(stamp[11:13]) * 3600
            + int(stamp[14:16]) * 60 + int(stamp[17:19]))


def stamp(moment: int | None) -> str | None:
    if moment is None:
        return None
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


SLA_EVENTS = {"sla_warning": "warning", "sla_breached": "breached"}


def facts_from(created: str, status_changed: str, phase_now: str,
               history: Sequence[tuple[str, str, str | None, str | None]],
               replies: Sequence[tuple[str, bool]],
               phase_of: dict[str, str]) -> tuple[int, str, list[Fact]]:
    """(opening time, phase at opening, facts) from a ticket's stored rows.

    ``history``: (at, event, to_status, target) of its ``opened``, ``status`` and
    SLA events, in order; ``replies``: (at, by staff) of its public comments. A
    ticket imported without its history opened in a ``new`` phase and reached its
    phase when its status last changed."""
    opened = epoch(created)
    phase0 = "new"
    facts: list[Fact] = []
    last: str | None = None
    for at, event, to_status, target in history:
        if event == "opened":
            if to_status is not None:
                phase0 = phase_of.get(to_status, phase0)
            last = phase0 if last is None else last
        elif event == "status":
            if to_status is not None and to_status in phase_of:
                last = phase_of[to_status]
                facts.append(Fact(epoch(at), PHASE, last))
        elif event in SLA_EVENTS and target:
            facts.append(Fact(epoch(at), SLA_EVENT, f"{SLA_EVENTS[event]}:{target}"))
    if (last or phase0) != phase_now:
        facts.append(Fact(max(epoch(status_changed), opened), PHASE, phase_now))
    for at, staff in replies:
        facts.append(Fact(epoch(at), REPLY_STAFF if staff else REPLY_REQUESTER, ""))
    return opened, phase0, facts
