"""report: how the desk did over a period, per week, month, agent, priority,
category or organization; staff only.

Every figure comes from the history and the clocks ``show`` displays, so a
report agrees with ``show`` ticket by ticket:

- ``opened``: tickets opened in the period (by their opening time);
- ``solved``: moves into a solved or closed phase from any other but cancelled,
  in the period; ``reopened``: moves out of a solved, closed or cancelled phase;
- ``backlog``: tickets not in a solved, closed or cancelled phase at the end of
  the period (a week or month: its end; otherwise ``--until``), worked back from
  today's counts through the history since;
- ``first_response`` and ``resolution``: median and 90th percentile (nearest
  rank) over the tickets opened in the period whose target was met by
  ``--until``; business seconds of the policy's calendar for a ticket whose
  policy has that target (resolution without its paused and solved stretches),
  wall seconds from opening to the first public staff reply, or to the last
  move into a resolved phase, otherwise;
- ``sla_met``: for the tickets opened in the period with that target, the share
  met on time among those met or breached by ``--until``.

A ticket belongs to the agent, priority, category and organization it has now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ..clock import iso
from ..errors import PermissionDenied, UsageError
from ..jsontext import loads
from ..record import Record
from ..workflow.clocks import epoch, is_breached, targets_from_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..store import Store, User

BY = ("week", "month", "agent", "priority", "category", "organization")
PERIODS = ("week", "month")
TARGETS = ("first_response", "next_reply", "resolution")


class Report(Record):
    since: str
    until: str
    by: str
    groups: list[dict[str, Any]]


def period_of(stamp: str, by: str) -> str:
    """The week (``2026-W48``, ISO weeks from Monday, UTC) or month (``2026-11``)."""
    if by == "month":
        return stamp[:7]
    year, week, _ = date(int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10])).isocalendar()
    return f"{year}-W{week:02d}"


def periods(since: datetime, until: datetime, by: str) -> list[tuple[str, datetime]]:
    """Each period overlapping [since, until), with the moment it ends (or until)."""
    out: list[tuple[str, datetime]] = []
    day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if by == "week":
        day -= timedelta(days=day.weekday())
    else:
        day = day.replace(day=1)
    while day < until:
        if by == "week":
            nxt = day + timedelta(days=7)
        else:
            nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        out.append((period_of(iso(day), by), min(nxt, until)))
        day = nxt
    return out


def _percentiles(values: list[int]) -> dict[str, int | None]:
    if not values:
        return {"median_s": None, "p90_s": None}
    values = sorted(values)
    n = len(values)
    middle = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    rank = -(-9 * n // 10)  # ceil(0.9 n)
    return {"median_s": int(round(middle)), "p90_s": values[rank - 1]}


class _Group:
    __slots__ = ("backlog", "first", "met", "opened", "reopened", "resolution", "solved")

    def __init__(self) -> None:
        self.opened = self.solved = self.reopened = self.backlog = 0
        self.first: list[int] = []
        self.resolution: list[int] = []
        self.met = {t: [0, 0] for t in TARGETS}  # [on time, decided]

    def record(self, key: Any) -> dict[str, Any]:
        return {
            "key": key, "opened": self.opened, "solved": self.solved,
            "reopened": self.reopened, "backlog": self.backlog,
            "first_response": _percentiles(self.first),
            "resolution": _percentiles(self.resolution),
            "sla_met": {t: (ok / n if n else None) for t, (ok, n) in self.met.items()},
        }


def report(store: Store, actor: User, since: datetime, until: datetime, by: str) -> Report:
    if not actor.staff:
        raise PermissionDenied("only agents and admins may see reports")
    if by not in BY:
        raise UsageError(f"--by takes one of: {', '.join(BY)}")
    if since >= until:
        raise UsageError("--since must be before --until")
    wf = store.workflow()
    resolved = {k for k, s in wf.statuses.items() if s.resolved}
    solved = {k for k, s in wf.statuses.items() if s.phase in ("solved", "closed")}
    s, u = iso(since), iso(until)
    period = by in PERIODS
    groups: dict[Any, _Group] = {}
    ends: list[tuple[str, datetime]] = []
    if period:
        ends = periods(since, until, by)
        for key, _ in ends:
            groups[key] = _Group()

    def group(key: Any) -> _Group:
        found = groups.get(key)
        if found is None:
            found = groups[key] = _Group()
        return found

    rs = store.reports
    attribute = None if period else by
    days: dict[str, Any] = {}  # a day's period, worked out once per day
    midnights: dict[str, int] = {}  # a day's first second

    def seconds(stamp: str) -> int:
        day = stamp[:10]
        start = midnights.get(day)
        if start is None:
            start = midnights[day] = epoch(day + "T00:00:00Z")
        return (start + int(stamp[11:13]) * 3600 + int(stamp[14:16]) * 60
                + int(stamp[17:19]))

    def bucket(stamp: str) -> Any:
        day = stamp[:10]
        found = days.get(day)
        if found is None:
            found = days[day] = period_of(stamp, by)
        return found

    # Backlog: today's count per group, worked back through what changed since: per
    # period (or group) the changes to it, and those after --until.
    changes: dict[Any, int] = {}
    later: dict[Any, int] = {}

    cohort: dict[int, tuple[str, Any]] = {}  # tickets opened in the period: created, group
    first_id: int | None = None
    opened: dict[Any, int] = {}
    for tid, created, g in rs.created_since(s, attribute):
        if first_id is None or tid < first_id:
            first_id = tid
        if created < u:
            key = (days.get(created[:10]) or bucket(created)) if period else g
            opened[key] = opened.get(key, 0) + 1
            cohort[tid] = (created, key)
        else:
            later[g] = later.get(g, 0) + 1
    for key, n in opened.items():
        group(key).opened += n
        if period:
            changes[key] = changes.get(key, 0) + n
    last_resolved: dict[int, str | None] = {}
    solves: dict[Any, int] = {}
    reopens: dict[Any, int] = {}
    for tid, at, frm, to, g in rs.status_events(s, attribute, sorted(resolved)):
        was, now_resolved = frm in resolved, to in resolved
        if at >= u:
            if now_resolved != was:
                later[g] = later.get(g, 0) + (-1 if now_resolved else 1)
            continue
        key = (days.get(at[:10]) or bucket(at)) if period else g
        if now_resolved and not was:
            if to in solved:
                solves[key] = solves.get(key, 0) + 1
            if tid in cohort:
                last_resolved[tid] = at
            if period:
                changes[key] = changes.get(key, 0) - 1
        elif was and not now_resolved:
            reopens[key] = reopens.get(key, 0) + 1
            if tid in cohort:
                last_resolved[tid] = None
            if period:
                changes[key] = changes.get(key, 0) + 1
    for key, n in solves.items():
        group(key).solved += n
    for key, n in reopens.items():
        group(key).reopened += n
    unresolved = [k for k in wf.statuses if k not in resolved]
    now_counts = rs.unresolved_now(unresolved, attribute)
    if period:
        # backlog at the end of each period: today's, less what changed after it
        after = sum(later.values()) + sum(changes.values())
        total = now_counts.get(None, 0)
        for key, _ in ends:
            after -= changes.get(key, 0)
            groups[key].backlog = total - after
    else:
        for g in set(now_counts) | set(later):
            n = now_counts.get(g, 0) - later.get(g, 0)
            if n or g in groups:
                group(g).backlog = n
    # Times and targets of the tickets opened in the period.
    clocks = {tid: targets_from_json(loads(raw)) for tid, raw in rs.clocks_from(first_id)
              if tid in cohort} if first_id is not None else {}
    replies = rs.first_staff_replies(first_id) if first_id is not None else {}
    limit = epoch(u)
    # Only the tickets with something to measure: clocks, a staff reply, a resolution.
    for tid, targets in clocks.items():
        g = groups[cohort[tid][1]]
        fr = targets.get("first_response")
        if fr is not None and fr.met is not None and fr.met <= limit and fr.elapsed is not None:
            g.first.append(fr.elapsed)
        res = targets.get("resolution")
        if (res is not None and res.met is not None and res.met <= limit
                and res.elapsed is not None):
            g.resolution.append(res.elapsed)
        for name, t in targets.items():
            late = is_breached(t, limit)
            ok = t.met is not None and t.met <= limit and not late
            if late or ok:
                g.met[name][0] += ok
                g.met[name][1] += 1
    for tid, reply in replies.items():
        opened_at = cohort.get(tid)
        if opened_at is None or reply >= u or "first_response" in clocks.get(tid, ()):
            continue
        groups[opened_at[1]].first.append(seconds(reply) - seconds(opened_at[0]))
    for tid, solved_at in last_resolved.items():
        if solved_at is None or "resolution" in clocks.get(tid, ()):
            continue
        created, key = cohort[tid]
        groups[key].resolution.append(seconds(solved_at) - seconds(created))
    if period:
        keys = [k for k, _ in ends]
    else:
        keys = sorted(groups, key=lambda k: (k is None, str(k)))
    return Report(s, u, by, [groups[k].record(k) for k in keys])
