"""What a workflow is and the questions it answers: statuses, phases, moves,
reply rules and stale rules ("may an agent move this ticket from solved to
open?", "what does a requester's reply do to a pending ticket?")."""

from __future__ import annotations

from ..errors import Conflict, PermissionDenied, UsageError
from ..record import Record
from ..text import one_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PHASES = ("new", "open", "pending", "hold", "solved", "closed", "cancelled")
INACTIVE_PHASES = frozenset({"closed", "cancelled"})
# Phases in which the work on a ticket is over (for now): a resolution belongs to them,
# and a move back to any other phase takes it away.
RESOLVED_PHASES = frozenset({"solved", "closed", "cancelled"})
ROLES = ("customer", "agent", "admin")
# Who a move or reply rule speaks of: staff (agents and admins), the requester side,
# or anyone. Moves by hand belong to staff and the requester; a participant (a
# customer the ticket was shared with) makes none, but a participant's reply counts
# as one from the requester side.
SIDES = ("agent", "requester")
SIDE_NAMES = {"agent": "staff", "requester": "the requester"}
REPLY_SIDES = ("agent", "requester", "any")
SINCE = ("requester_activity", "status_change")
SHARING = ("anyone", "organization")
LANGUAGES = ("en", "it")
PRESETS = ("standard", "service-desk", "care", "chat", "basic")

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Longer waits make no sense for a help desk, and overflow date arithmetic.
MAX_DURATION = 100 * 365 * 86400
MAX_RESOLUTION = 200  # characters of a free-form resolution


def parse_duration(value: object) -> int:
    """Seconds from ``"14d"``, ``"36h"``, ``"2w"``, ``"90m"``, ``"30s"`` or an int."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    seconds: int | None = None
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"duration must not be negative: {value}")
        seconds = value
    elif isinstance(value, str):
        text = value.strip()
        number, unit = text[:-1].rstrip(), text[-1:]
        if unit in _UNIT_SECONDS and number.isascii() and number.isdigit():
            seconds = int(number) * _UNIT_SECONDS[unit]
    if seconds is None:
        raise ValueError(f"not a duration: {value!r} (use e.g. 14d, 36h, 2w)")
    if seconds > MAX_DURATION:
        raise ValueError(f"duration too long: {value!r} (at most {MAX_DURATION // 86400}d)")
    return seconds


def format_duration(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class Status(Record):
    key: str
    phase: str
    final: bool
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.key

    @property
    def active(self) -> bool:
        return self.phase not in INACTIVE_PHASES

    @property
    def resolved(self) -> bool:
        return self.phase in RESOLVED_PHASES


class Move(Record):
    roles: frozenset[str]
    sources: frozenset[str]
    targets: frozenset[str]


class ReplyRule(Record):
    by: str
    statuses: frozenset[str]
    to: str


class StaleRule(Record):
    sources: tuple[str, ...]
    after: int
    since: str
    to: str
    remind_after: int | None = None


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TARGETS = ("first_response", "next_reply", "resolution")
DEFAULT_PAUSE = ("pending", "hold")
# Years of a country's public holidays worked out when a workflow is stored, so that
# commands never import the holidays package (a time outside them asks it then).
COUNTRY_YEARS = (2000, 2060)


def parse_hm(value: object) -> int:
    """Seconds from an SLA duration: ``"90m"``, ``"1h30m"``, ``"24h"`` (hours and
    minutes only)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a duration: {value!r} (use e.g. 90m, 1h30m, 24h)")
    text = value.strip()
    seconds, number, units = 0, "", ""
    for ch in text:
        if ch.isascii() and ch.isdigit():
            number += ch
        elif ch in "hm" and number and ch not in units and not (ch == "h" and "m" in units):
            seconds += int(number) * (3600 if ch == "h" else 60)
            units += ch
            number = ""
        else:
            raise ValueError(f"not a duration: {value!r} (use e.g. 90m, 1h30m, 24h)")
    if number or not units:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90m, 1h30m, 24h)")
    if seconds > MAX_DURATION:
        raise ValueError(f"duration too long: {value!r}")
    return seconds


def format_hm(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    if hours and minutes:
        return f"{hours}h{minutes}m"
    return f"{hours}h" if hours else f"{minutes}m"


def format_range(start: int, end: int) -> str:
    """``"09:00-13:00"`` from minutes after midnight."""
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


class Calendar(Record):
    """Business hours: a time zone, opening ranges per weekday (minutes after local
    midnight, ``hours[0]`` is Monday), holidays (local dates)."""

    name: str
    timezone: str
    hours: tuple[tuple[tuple[int, int], ...], ...]
    holidays: tuple[str, ...] = ()
    country: str | None = None
    # The country's holidays over COUNTRY_YEARS, comma-separated dates (worked out
    # when the workflow is stored; read only when a calendar is used).
    country_days: str = ""


class SlaPolicy(Record):
    """A service-level policy: which tickets, which calendar, which targets (seconds)."""

    name: str
    priorities: tuple[str, ...]
    categories: tuple[str, ...] = ()
    calendar: str | None = None
    first_response: int | None = None
    next_reply: int | None = None
    resolution: int | None = None
    warn_before: int = 0
    pause: tuple[str, ...] = DEFAULT_PAUSE
    on_breach_status: str | None = None
    on_breach_priority: str | None = None

    def target(self, name: str) -> int | None:
        value: int | None = getattr(self, name)
        return value

    def matches(self, priority: str, category: str | None) -> bool:
        return priority in self.priorities and (
            not self.categories or category in self.categories)


class Workflow(Record):
    name: str
    description: str
    initial: str
    statuses: dict[str, Status]
    moves: tuple[Move, ...]
    replies: tuple[ReplyRule, ...]
    stale: tuple[StaleRule, ...]
    priorities: tuple[str, ...]
    default_priority: str
    resolutions: tuple[str, ...] = ()
    # Statuses that carry a resolution; a move there without one records the first.
    resolution_required: tuple[str, ...] = ()
    sharing: str = "anyone"
    allow_unregistered: bool = True
    calendars: dict[str, Calendar] = {}  # noqa: RUF012 (never mutated)
    sla: tuple[SlaPolicy, ...] = ()

    # -- questions ---------------------------------------------------------

    def status(self, key: str) -> Status:
        try:
            return self.statuses[key]
        except KeyError:
            raise UsageError(
                f"unknown status {key!r}; the {self.name} workflow has: "
                + ", ".join(self.statuses)
            ) from None

    def active_statuses(self) -> list[str]:
        return [s.key for s in self.statuses.values() if s.active]

    def phase_of(self, key: str) -> str:
        return self.status(key).phase

    def is_final(self, key: str) -> bool:
        return self.status(key).final

    def allows(self, side: str, source: str, target: str) -> bool:
        """Whether ``side`` may move a ticket from ``source`` to ``target`` by hand."""
        current = self.statuses.get(source)
        if source == target or current is None or current.final:
            return False
        return any(
            side in m.roles and source in m.sources and target in m.targets for m in self.moves
        )

    def check_move(self, side: str, source: str, target: str, ticket_id: int) -> None:
        """Raise unless ``side`` may move ticket ``ticket_id`` from source to target."""
        self.status(target)
        current = self.statuses.get(source)
        if current is None:
            raise Conflict(
                f"ticket {ticket_id} is in {source!r}, which the {self.name} workflow no longer "
                f"has; an admin can move it with 'ticketcli workflow import FILE --map "
                f"{source}=NEW'"
            )
        if current.final:
            raise Conflict(
                f"ticket {ticket_id} is {source}, which is final; open a follow-up with "
                f'"ticketcli open --follow-up {ticket_id} TITLE"'
            )
        if self.allows(side, source, target):
            return
        others = [s for s in SIDES if s != side and self.allows(s, source, target)]
        if others:
            who = " and ".join(SIDE_NAMES[s] for s in others)
            raise PermissionDenied(
                f"can't move ticket {ticket_id} from {source} to {target}: "
                f"only {who} may do that in the {self.name} workflow"
            )
        allowed = sorted(t for t in self.statuses if self.allows(side, source, t))
        hint = f"; allowed from {source}: {', '.join(allowed)}" if allowed else ""
        raise Conflict(f"can't move ticket {ticket_id} from {source} to {target}{hint}")

    def reply_target(self, side: str, current: str) -> str | None:
        """The status a public reply by ``side`` moves a ticket in ``current`` to."""
        if side == "participant":
            side = "requester"
        for rule in self.replies:
            if rule.by in (side, "any") and current in rule.statuses:
                return None if rule.to == current else rule.to
        return None

    def manual_targets(self, side: str, source: str) -> list[str]:
        return [t for t in self.statuses if self.allows(side, source, t)]

    def check_priority(self, priority: str) -> str:
        if priority not in self.priorities:
            raise UsageError(
                f"unknown priority {priority!r}; choose one of: " + ", ".join(self.priorities)
            )
        return priority

    def resolution_for(self, target: str, given: str | None, current: str | None) -> str | None:
        """The resolution a move to ``target`` records (a default where one is required)."""
        if given is not None:
            return self.check_resolution(given)
        if target in self.resolution_required and current is None and self.resolutions:
            return self.resolutions[0]
        return None

    def check_resolution(self, resolution: str) -> str:
        """One of the workflow's resolutions; or, where it names none, a line of text."""
        if self.resolutions:
            if resolution not in self.resolutions:
                raise UsageError(
                    f"unknown resolution {resolution!r}; choose one of: "
                    + ", ".join(self.resolutions)
                )
            return resolution
        clean = one_line(resolution, "a resolution", MAX_RESOLUTION)
        if not clean:
            raise UsageError("--resolution needs some text")
        return clean

    def policy_for(self, priority: str, category: str | None) -> SlaPolicy | None:
        """The first service-level policy (in file order) that covers a ticket."""
        for policy in self.sla:
            if policy.matches(priority, category):
                return policy
        return None

    def with_stale_after(self, seconds: int) -> Workflow:
        """A copy whose stale rules all wait ``seconds`` (reminders keep their lead)."""
        if not self.stale:
            raise UsageError(f"the {self.name} workflow has no stale rule to configure")
        if not 0 < seconds <= MAX_DURATION:
            raise UsageError(
                f"a stale time must be longer than zero and at most {MAX_DURATION // 86400}d"
            )
        rules = []
        for r in self.stale:
            remind = None
            if r.remind_after is not None:
                lead = r.after - r.remind_after
                remind = seconds - lead if seconds - lead > 0 else None
            rules.append(StaleRule(r.sources, seconds, r.since, r.to, remind))
        return self._replace(stale=tuple(rules))

    # -- serialisation -----------------------------------------------------

    def to_dict(self, *, stored: bool = False) -> dict[str, Any]:
        """The workflow as a document (TOML or JSON); ``stored`` adds what the
        database keeps beside it (a calendar's country holidays, worked out)."""
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "initial": self.initial,
            "priorities": list(self.priorities),
            "default_priority": self.default_priority,
            "resolutions": list(self.resolutions),
            "resolution_required": list(self.resolution_required),
            "sharing": self.sharing,
            "allow_unregistered": self.allow_unregistered,
            "statuses": {
                s.key: {"phase": s.phase, "final": s.final, "label": dict(s.labels)}
                for s in self.statuses.values()
            },
            "moves": [
                {
                    "roles": sorted(m.roles),
                    "from": [k for k in self.statuses if k in m.sources],
                    "to": [k for k in self.statuses if k in m.targets],
                }
                for m in self.moves
            ],
            "replies": [
                {"by": r.by, "in": [k for k in self.statuses if k in r.statuses], "to": r.to}
                for r in self.replies
            ],
            "stale": [],
        }
        for r in self.stale:
            rule: dict[str, Any] = {
                "from": list(r.sources),
                "after": format_duration(r.after),
                "since": r.since,
                "to": r.to,
            }
            if r.remind_after is not None:
                rule["remind_after"] = format_duration(r.remind_after)
            data["stale"].append(rule)
        if self.calendars:
            data["calendars"] = {name: _calendar_dict(cal, stored)
                                 for name, cal in self.calendars.items()}
        if self.sla:
            data["sla"] = [_policy_dict(p) for p in self.sla]
        return data


def _calendar_dict(cal: Calendar, stored: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"timezone": cal.timezone}
    if cal.holidays:
        out["holidays"] = list(cal.holidays)
    if cal.country:
        out["holidays_country"] = cal.country
    if stored and cal.country_days:
        out["country_days"] = cal.country_days
    out["hours"] = {DAYS[i]: [format_range(a, b) for a, b in ranges]
                    for i, ranges in enumerate(cal.hours) if ranges}
    return out


def _policy_dict(p: SlaPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "priorities": list(p.priorities)}
    if p.categories:
        out["categories"] = list(p.categories)
    if p.calendar:
        out["calendar"] = p.calendar
    for target in TARGETS:
        value = p.target(target)
        if value is not None:
            out[target] = format_hm(value)
    out["warn_before"] = format_hm(p.warn_before)
    out["pause"] = list(p.pause)
    breach = {k: v for k, v in (("status", p.on_breach_status),
                                ("priority", p.on_breach_priority)) if v}
    if breach:
        out["on_breach"] = breach
    return out


def _range(text: str) -> tuple[int, int]:
    start, _, end = text.partition("-")
    return (int(start[:2]) * 60 + int(start[3:5]), int(end[:2]) * 60 + int(end[3:5]))


def calendar_from_stored(name: str, c: dict[str, Any]) -> Calendar:
    hours = c.get("hours", {})
    return Calendar(
        name, c["timezone"],
        tuple(tuple(_range(r) for r in hours.get(day, ())) for day in DAYS),
        tuple(c.get("holidays", ())), c.get("holidays_country"), c.get("country_days", ""))


def policy_from_stored(p: dict[str, Any]) -> SlaPolicy:
    breach = p.get("on_breach", {})
    first, following, resolution = (parse_hm(p[t]) if t in p else None for t in TARGETS)
    return SlaPolicy(
        p["name"], tuple(p["priorities"]), tuple(p.get("categories", ())), p.get("calendar"),
        first, following, resolution,
        parse_hm(p["warn_before"]) if "warn_before" in p else 0,
        tuple(p.get("pause", DEFAULT_PAUSE)), breach.get("status"), breach.get("priority"))


def from_stored(data: dict[str, Any]) -> Workflow:
    """The workflow stored in a database (what :meth:`Workflow.to_dict` wrote, checked
    when it was stored), built without checking it again: every command reads it."""
    statuses = {
        key: Status(key, spec["phase"], spec["final"], dict(spec["label"]))
        for key, spec in data["statuses"].items()
    }
    stale = tuple(
        StaleRule(tuple(r["from"]), parse_duration(r["after"]), r["since"], r["to"],
                  parse_duration(r["remind_after"]) if "remind_after" in r else None)
        for r in data["stale"]
    )
    return Workflow(
        name=data["name"],
        description=data["description"],
        initial=data["initial"],
        statuses=statuses,
        moves=tuple(Move(frozenset(m["roles"]), frozenset(m["from"]), frozenset(m["to"]))
                    for m in data["moves"]),
        replies=tuple(ReplyRule(r["by"], frozenset(r["in"]), r["to"]) for r in data["replies"]),
        stale=stale,
        priorities=tuple(data["priorities"]),
        default_priority=data["default_priority"],
        resolutions=tuple(data["resolutions"]),
        resolution_required=tuple(data["resolution_required"]),
        sharing=data["sharing"],
        allow_unregistered=data["allow_unregistered"],
        # Absent from workflows stored before service levels existed.
        calendars={name: calendar_from_stored(name, c)
                   for name, c in data.get("calendars", {}).items()},
        sla=tuple(policy_from_stored(p) for p in data.get("sla", ())),
    )
