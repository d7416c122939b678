"""The workflow engine: statuses, phases, moves, reply rules and stale rules.

A workflow is data (a preset TOML file, or the copy stored in the database).
This module is pure: no I/O beyond reading the packaged presets, no SQL, no
printing. It answers questions such as "may an agent move this ticket from
solved to open?" and "what does a requester's reply do to a pending ticket?".
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .errors import ConfigError, Conflict, PermissionDenied, UsageError

PHASES = ("new", "open", "pending", "hold", "solved", "closed", "cancelled")
INACTIVE_PHASES = frozenset({"closed", "cancelled"})
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

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# Longer waits make no sense for a help desk, and overflow date arithmetic.
MAX_DURATION = 100 * 365 * 86400


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
        m = _DURATION.match(value)
        if m:
            seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
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


class Status(NamedTuple):
    key: str
    phase: str
    final: bool
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.key

    @property
    def active(self) -> bool:
        return self.phase not in INACTIVE_PHASES


class Move(NamedTuple):
    roles: frozenset[str]
    sources: frozenset[str]
    targets: frozenset[str]


class ReplyRule(NamedTuple):
    by: str
    statuses: frozenset[str]
    to: str


class StaleRule(NamedTuple):
    sources: tuple[str, ...]
    after: int
    since: str
    to: str
    remind_after: int | None = None


class Workflow(NamedTuple):
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
        if self.resolutions and resolution not in self.resolutions:
            raise UsageError(
                f"unknown resolution {resolution!r}; choose one of: "
                + ", ".join(self.resolutions)
            )
        return resolution

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


# -- loading and validation ------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")


def _str_list(c: _Checker, where: str, value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        c.add(where, "must be a list of strings")
        return []
    return list(value)


def _known(c: _Checker, where: str, keys: list[str], statuses: dict[str, Status]) -> None:
    for k in keys:
        if k not in statuses:
            c.add(where, f"unknown status {k!r}")


def problems(data: dict[str, Any]) -> list[str]:
    """Every problem in a workflow document, each with its location."""
    return _build(data)[1]


def load(data: dict[str, Any], source: str = "workflow") -> Workflow:
    """Build a Workflow from a parsed TOML document or raise ConfigError."""
    wf, found = _build(data)
    if found or wf is None:
        raise ConfigError(f"invalid {source}: " + "; ".join(found))
    return wf


def _build(data: dict[str, Any]) -> tuple[Workflow | None, list[str]]:
    c = _Checker()
    if not isinstance(data, dict):
        return None, ["(top): a workflow must be a TOML table"]
    known_top = {
        "name", "description", "initial", "priorities", "default_priority", "resolutions",
        "resolution_required",
        "sharing", "allow_unregistered", "statuses", "moves", "replies", "stale",
    }
    for key in data:
        if key not in known_top:
            c.add(key, "unknown key")
    name = data.get("name", "custom")
    if not isinstance(name, str) or not name:
        c.add("name", "must be a non-empty string")
        name = "custom"
    description = data.get("description", "")
    if not isinstance(description, str):
        c.add("description", "must be a string")
        description = ""

    statuses: dict[str, Status] = {}
    raw_statuses = data.get("statuses")
    if not isinstance(raw_statuses, dict) or not raw_statuses:
        c.add("statuses", "must be a table with at least one status")
        raw_statuses = {}
    for key, spec in raw_statuses.items():
        where = f"statuses.{key}"
        if not _KEY.match(key):
            c.add(where, "status keys are lower-case letters, digits and underscores")
        if not isinstance(spec, dict):
            c.add(where, "must be a table")
            continue
        phase = spec.get("phase")
        if phase not in PHASES:
            c.add(f"{where}.phase", f"must be one of {', '.join(PHASES)}")
            phase = "open"
        final = spec.get("final", False)
        if not isinstance(final, bool):
            c.add(f"{where}.final", "must be true or false")
            final = False
        labels = spec.get("label", {})
        if not isinstance(labels, dict) or not all(
            isinstance(v, str) and v for v in labels.values()
        ):
            c.add(f"{where}.label", "must be a table of language = text")
            labels = {}
        for lang in LANGUAGES:
            if lang not in labels:
                c.add(f"{where}.label.{lang}", "missing")
        for k in spec:
            if k not in ("phase", "final", "label"):
                c.add(f"{where}.{k}", "unknown key")
        statuses[key] = Status(key, str(phase), final, {str(k): str(v) for k, v in labels.items()})

    initial = data.get("initial")
    if not isinstance(initial, str) or initial not in statuses:
        c.add("initial", "must name one of the statuses")
        initial = next(iter(statuses), "")
    elif statuses[initial].final or not statuses[initial].active:
        c.add("initial", "must be an active, non-final status")

    moves: list[Move] = []
    raw_moves = data.get("moves", [])
    if not isinstance(raw_moves, list):
        c.add("moves", "must be an array of tables")
        raw_moves = []
    for i, spec in enumerate(raw_moves):
        where = f"moves[{i}]"
        if not isinstance(spec, dict):
            c.add(where, "must be a table")
            continue
        roles = _str_list(c, f"{where}.roles", spec.get("roles", []))
        for r in roles:
            if r not in SIDES:
                c.add(f"{where}.roles", f"unknown role {r!r} (use agent or requester)")
        if not roles:
            c.add(f"{where}.roles", "must name at least one role")
        sources = _str_list(c, f"{where}.from", spec.get("from", []))
        targets = _str_list(c, f"{where}.to", spec.get("to", []))
        _known(c, f"{where}.from", sources, statuses)
        _known(c, f"{where}.to", targets, statuses)
        for part, keys in (("from", sources), ("to", targets)):
            if not keys:
                c.add(f"{where}.{part}", "must name at least one status")
        for s in sources:
            if s in statuses and statuses[s].final:
                c.add(f"{where}.from", f"{s!r} is final; no move can leave it")
        for k in spec:
            if k not in ("roles", "from", "to"):
                c.add(f"{where}.{k}", "unknown key")
        moves.append(Move(frozenset(roles), frozenset(sources), frozenset(targets)))

    replies: list[ReplyRule] = []
    raw_replies = data.get("replies", [])
    if not isinstance(raw_replies, list):
        c.add("replies", "must be an array of tables")
        raw_replies = []
    for i, spec in enumerate(raw_replies):
        where = f"replies[{i}]"
        if not isinstance(spec, dict):
            c.add(where, "must be a table")
            continue
        by = spec.get("by")
        if by not in REPLY_SIDES:
            c.add(f"{where}.by", f"must be one of {', '.join(REPLY_SIDES)}")
        within = _str_list(c, f"{where}.in", spec.get("in", []))
        _known(c, f"{where}.in", within, statuses)
        if not within:
            c.add(f"{where}.in", "must name at least one status")
        for s in within:
            if s in statuses and statuses[s].final:
                c.add(f"{where}.in", f"{s!r} is final; a reply cannot move it")
        to = spec.get("to")
        if not isinstance(to, str) or to not in statuses:
            c.add(f"{where}.to", "must name one of the statuses")
            to = initial
        for k in spec:
            if k not in ("by", "in", "to"):
                c.add(f"{where}.{k}", "unknown key")
        replies.append(ReplyRule(str(by), frozenset(within), str(to)))

    stale: list[StaleRule] = []
    raw_stale = data.get("stale", [])
    if not isinstance(raw_stale, list):
        c.add("stale", "must be an array of tables")
        raw_stale = []
    for i, spec in enumerate(raw_stale):
        where = f"stale[{i}]"
        if not isinstance(spec, dict):
            c.add(where, "must be a table")
            continue
        sources = _str_list(c, f"{where}.from", spec.get("from", []))
        _known(c, f"{where}.from", sources, statuses)
        if not sources:
            c.add(f"{where}.from", "must name at least one status")
        for s in sources:
            if s in statuses and statuses[s].final:
                c.add(f"{where}.from", f"{s!r} is final; a stale rule cannot move it")
        to = spec.get("to")
        if not isinstance(to, str) or to not in statuses:
            c.add(f"{where}.to", "must name one of the statuses")
            to = initial
        elif to in sources:
            c.add(f"{where}.to", "must differ from every status in 'from'")
        after = 0
        try:
            after = parse_duration(spec.get("after"))
            if after <= 0:
                c.add(f"{where}.after", "must be longer than zero")
        except ValueError as e:
            c.add(f"{where}.after", str(e))
        remind: int | None = None
        if "remind_after" in spec:
            try:
                remind = parse_duration(spec["remind_after"])
                if not 0 < remind < after:
                    c.add(f"{where}.remind_after", "must be shorter than 'after'")
            except ValueError as e:
                c.add(f"{where}.remind_after", str(e))
        since = spec.get("since", "requester_activity")
        if since not in SINCE:
            c.add(f"{where}.since", f"must be one of {', '.join(SINCE)}")
        for k in spec:
            if k not in ("from", "after", "since", "to", "remind_after"):
                c.add(f"{where}.{k}", "unknown key")
        stale.append(StaleRule(tuple(sources), after, str(since), str(to), remind))

    priorities = _str_list(c, "priorities", data.get("priorities", []))
    if not priorities:
        c.add("priorities", "must list at least one priority")
        priorities = ["normal"]
    default_priority = data.get("default_priority", priorities[0])
    if default_priority not in priorities:
        c.add("default_priority", "must be one of the priorities")
        default_priority = priorities[0]
    resolutions = _str_list(c, "resolutions", data.get("resolutions", []))
    resolution_required = _str_list(c, "resolution_required",
                                    data.get("resolution_required", []))
    _known(c, "resolution_required", resolution_required, statuses)
    if resolution_required and not resolutions:
        c.add("resolution_required", "needs a list of resolutions to choose from")
    sharing = data.get("sharing", "anyone")
    if sharing not in SHARING:
        c.add("sharing", f"must be one of {', '.join(SHARING)}")
        sharing = "anyone"
    allow_unregistered = data.get("allow_unregistered", True)
    if not isinstance(allow_unregistered, bool):
        c.add("allow_unregistered", "must be true or false")
        allow_unregistered = True

    wf = Workflow(
        name=name,
        description=description,
        initial=str(initial),
        statuses=statuses,
        moves=tuple(moves),
        replies=tuple(replies),
        stale=tuple(stale),
        priorities=tuple(priorities),
        default_priority=str(default_priority),
        resolutions=tuple(resolutions),
        resolution_required=tuple(resolution_required),
        sharing=str(sharing),
        allow_unregistered=allow_unregistered,
    )
    return wf, c.problems


def load_preset(name: str) -> Workflow:
    """One of the workflows shipped in ``ticketcli/presets``."""
    import tomllib
    from importlib import resources

    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of: " + ", ".join(PRESETS))
    text = resources.files("ticketcli.presets").joinpath(f"{name}.toml").read_text("utf-8")
    return load(tomllib.loads(text), f"preset {name}")
