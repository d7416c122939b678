"""What a workflow is and the questions it answers: statuses, phases, moves,
reply rules and stale rules ("may an agent move this ticket from solved to
open?", "what does a requester's reply do to a pending ticket?")."""

from __future__ import annotations

from ..errors import Conflict, PermissionDenied, UsageError
from ..i18n import ByLang, msg
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

# The labels of the priorities the presets use, for a workflow stored before priorities
# had labels (and for one that names a priority without giving it labels).
DEFAULT_PRIORITY_LABELS: dict[str, dict[str, str]] = {
    "low": {"en": "Low", "it": "Bassa"},
    "normal": {"en": "Normal", "it": "Normale"},
    "high": {"en": "High", "it": "Alta"},
    "urgent": {"en": "Urgent", "it": "Urgente"},
    "blocking": {"en": "Blocking", "it": "Bloccante"},
}


def priority_labels_for(
    priorities: tuple[str, ...] | list[str], given: dict[str, dict[str, str]] | None = None,
) -> dict[str, dict[str, str]]:
    """Every priority's labels: those ``given``, else the defaults, else the key."""
    given = given or {}
    out: dict[str, dict[str, str]] = {}
    for key in priorities:
        labels = dict(DEFAULT_PRIORITY_LABELS.get(key) or {"en": key, "it": key})
        labels.update(given.get(key) or {})
        out[key] = labels
    return out


def fold(text: str) -> str:
    """``text`` as people may type it: case, accents, underscores, hyphens and runs of
    spaces do not count (``"In  Attesa"``, ``"in_attesa"`` and ``"in attesa"`` agree)."""
    if text.isascii():
        folded = text.lower()
    else:
        from unicodedata import combining, normalize

        folded = "".join(ch for ch in normalize("NFKD", text) if not combining(ch)).casefold()
    return " ".join(folded.replace("_", " ").replace("-", " ").split())


def choices(labels: dict[str, dict[str, str]]) -> str:
    """The keys, then their labels in the reader's language: ``new, open (labels: New,
    Open)``."""
    langs = {lang for by_lang in labels.values() for lang in by_lang} | {"en"}
    shown = ByLang({lang: ", ".join(by_lang.get(lang) or by_lang.get("en") or key
                                    for key, by_lang in labels.items())
                    for lang in sorted(langs)})
    return msg("{keys} (labels: {labels})", keys=", ".join(labels), labels=shown)


def resolve(text: str, labels: dict[str, dict[str, str]], what: str, workflow: str) -> str:
    """The key that ``text`` names: a key, or a label in any language, compared with
    :func:`fold`. Unknown or ambiguous text is a usage error listing the choices."""
    if text in labels:
        return text
    wanted = fold(text)
    found = [key for key, by_lang in labels.items()
             if wanted == fold(key) or any(wanted == fold(v) for v in by_lang.values())]
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(msg("{what} {text!r} is ambiguous: it may be {choices}; give the key",
                             what=msg(what), text=text,
                             choices=choices({k: labels[k] for k in found})))
    raise UsageError(msg("unknown {what} {text!r}; the {workflow} workflow has: {choices}",
                         what=msg(what), text=text, workflow=workflow,
                         choices=choices(labels)))


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
    # Each priority's labels by language (see priority_labels_for).
    priority_labels: dict[str, dict[str, str]] = {}  # noqa: RUF012 (never mutated)
    calendars: dict[str, Calendar] = {}  # noqa: RUF012 (never mutated)
    sla: tuple[SlaPolicy, ...] = ()

    # -- questions ---------------------------------------------------------

    def status(self, key: str) -> Status:
        try:
            return self.statuses[key]
        except KeyError:
            return self.statuses[self.status_key(key)]

    def status_labels(self) -> dict[str, dict[str, str]]:
        return {k: s.labels for k, s in self.statuses.items()}

    def status_key(self, text: str) -> str:
        """The status that ``text`` names: its key or its label in either language,
        whatever the case and accents."""
        if text in self.statuses:
            return text
        return resolve(text, self.status_labels(), "status", self.name)

    def priority_key(self, text: str) -> str:
        """The priority that ``text`` names: its key or its label in either language."""
        if text in self.priorities:
            return text
        return resolve(text, self.labels_of_priorities(), "priority", self.name)

    def labels_of_priorities(self) -> dict[str, dict[str, str]]:
        return priority_labels_for(self.priorities, self.priority_labels)

    def priority_label(self, key: str, lang: str) -> str:
        labels = self.priority_labels.get(key) or DEFAULT_PRIORITY_LABELS.get(key) or {}
        return labels.get(lang) or labels.get("en") or key

    def status_label(self, key: str | None, lang: str) -> str:
        if not key:
            return ""
        status = self.statuses.get(key)
        return status.label(lang) if status else key

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
            raise Conflict(msg(
                "ticket {id} is in {source!r}, which the {workflow} workflow no longer has; an "
                "admin can move it with 'ticketcli workflow import FILE --map {source}=NEW'",
                id=ticket_id, source=source, workflow=self.name))
        if current.final:
            raise Conflict(msg(
                "ticket {id} is {source}, which is final; open a follow-up with "
                '"ticketcli open --follow-up {id} TITLE"', id=ticket_id, source=source))
        if self.allows(side, source, target):
            return
        others = [s for s in SIDES if s != side and self.allows(s, source, target)]
        if others:
            who = [msg(SIDE_NAMES[s]) for s in others]
            raise PermissionDenied(msg(
                "can't move ticket {id} from {source} to {target}: only {who} may do that in "
                "the {workflow} workflow", id=ticket_id, source=source, target=target,
                who=who, workflow=self.name))
        allowed = sorted(t for t in self.statuses if self.allows(side, source, t))
        if allowed:
            raise Conflict(msg(
                "can't move ticket {id} from {source} to {target}; allowed from {source}: "
                "{allowed}", id=ticket_id, source=source, target=target,
                allowed=", ".join(allowed)))
        raise Conflict(msg("can't move ticket {id} from {source} to {target}",
                           id=ticket_id, source=source, target=target))

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
        """The priority key ``priority`` names (a key or a label)."""
        return self.priority_key(priority)

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
                raise UsageError(msg("unknown resolution {resolution!r}; choose one of: "
                                     "{choices}", resolution=resolution,
                                     choices=", ".join(self.resolutions)))
            return resolution
        clean = one_line(resolution, "a resolution", MAX_RESOLUTION)
        if not clean:
            raise UsageError(msg("--resolution needs some text"))
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
            "priority_labels": {k: dict(v) for k, v in self.labels_of_priorities().items()},
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
        # Workflows stored before priorities had labels take the presets' labels.
        priority_labels=priority_labels_for(tuple(data["priorities"]),
                                            data.get("priority_labels")),
        # Absent from workflows stored before service levels existed.
        calendars={name: calendar_from_stored(name, c)
                   for name, c in data.get("calendars", {}).items()},
        sla=tuple(policy_from_stored(p) for p in data.get("sla", ())),
    )
