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

    def to_dict(self) -> dict[str, Any]:
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
        return data


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
    )
