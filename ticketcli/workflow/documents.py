"""Workflow documents (a preset's TOML, the copy stored in the database, a file
to import) turned into a :class:`Workflow`, with every problem named and placed."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError, UsageError
from .model import (
    COUNTRY_YEARS,
    DAYS,
    DEFAULT_PAUSE,
    LANGUAGES,
    PHASES,
    PRESETS,
    REPLY_SIDES,
    SHARING,
    SIDES,
    SINCE,
    TARGETS,
    Calendar,
    Move,
    ReplyRule,
    SlaPolicy,
    StaleRule,
    Status,
    Workflow,
    parse_duration,
    parse_hm,
    priority_labels_for,
)

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


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


def _tables(c: _Checker, data: dict[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
    """The tables of the array ``name`` (moves, replies, stale), each with where it is."""
    raw = data.get(name, [])
    if not isinstance(raw, list):
        c.add(name, "must be an array of tables")
        return []
    found = []
    for i, spec in enumerate(raw):
        if isinstance(spec, dict):
            found.append((f"{name}[{i}]", spec))
        else:
            c.add(f"{name}[{i}]", "must be a table")
    return found


def _only(c: _Checker, where: str, spec: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for k in spec:
        if k not in allowed:
            c.add(f"{where}.{k}", "unknown key")


def _known(c: _Checker, where: str, keys: list[str], statuses: dict[str, Status]) -> None:
    for k in keys:
        if k not in statuses:
            c.add(where, f"unknown status {k!r}")


def _leaving(c: _Checker, where: str, spec: dict[str, Any], key: str,
             statuses: dict[str, Status], mover: str) -> list[str]:
    """The statuses a rule moves tickets out of (``spec[key]``): known, at least one,
    none final."""
    names = _str_list(c, f"{where}.{key}", spec.get(key, []))
    _known(c, f"{where}.{key}", names, statuses)
    if not names:
        c.add(f"{where}.{key}", "must name at least one status")
    for s in names:
        if s in statuses and statuses[s].final:
            c.add(f"{where}.{key}", f"{s!r} is final; {mover} cannot move it")
    return names


def _target(c: _Checker, where: str, spec: dict[str, Any],
            statuses: dict[str, Status]) -> str | None:
    """The status a rule moves tickets to (``spec["to"]``), if it is one."""
    to = spec.get("to")
    if not isinstance(to, str) or to not in statuses:
        c.add(f"{where}.to", "must name one of the statuses")
        return None
    return to


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
        "priority_labels", "calendars", "sla",
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
        _only(c, where, spec, ("phase", "final", "label"))
        statuses[key] = Status(key, str(phase), final, {str(k): str(v) for k, v in labels.items()})

    initial = data.get("initial")
    if not isinstance(initial, str) or initial not in statuses:
        c.add("initial", "must name one of the statuses")
        initial = next(iter(statuses), "")
    elif statuses[initial].final or not statuses[initial].active:
        c.add("initial", "must be an active, non-final status")

    moves: list[Move] = []
    for where, spec in _tables(c, data, "moves"):
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
        _only(c, where, spec, ("roles", "from", "to"))
        moves.append(Move(frozenset(roles), frozenset(sources), frozenset(targets)))

    replies: list[ReplyRule] = []
    for where, spec in _tables(c, data, "replies"):
        by = spec.get("by")
        if by not in REPLY_SIDES:
            c.add(f"{where}.by", f"must be one of {', '.join(REPLY_SIDES)}")
        within = _leaving(c, where, spec, "in", statuses, "a reply")
        to = _target(c, where, spec, statuses) or initial
        _only(c, where, spec, ("by", "in", "to"))
        replies.append(ReplyRule(str(by), frozenset(within), str(to)))

    stale: list[StaleRule] = []
    for where, spec in _tables(c, data, "stale"):
        sources = _leaving(c, where, spec, "from", statuses, "a stale rule")
        target = _target(c, where, spec, statuses)
        to = target or initial
        if target is not None and target in sources:
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
        _only(c, where, spec, ("from", "after", "since", "to", "remind_after"))
        stale.append(StaleRule(tuple(sources), after, str(since), str(to), remind))

    priorities = _str_list(c, "priorities", data.get("priorities", []))
    if not priorities:
        c.add("priorities", "must list at least one priority")
        priorities = ["normal"]
    default_priority = data.get("default_priority", priorities[0])
    if default_priority not in priorities:
        c.add("default_priority", "must be one of the priorities")
        default_priority = priorities[0]
    priority_labels = _priority_labels(c, data.get("priority_labels", {}), priorities)
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

    calendars = _calendars(c, data.get("calendars", {}))
    policies = _policies(c, data, calendars, priorities, statuses)

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
        priority_labels=priority_labels,
        calendars=calendars,
        sla=policies,
    )
    return wf, c.problems


def _priority_labels(c: _Checker, raw: object,
                     priorities: list[str]) -> dict[str, dict[str, str]]:
    """``[priority_labels]``: ``KEY = { en = "...", it = "..." }`` for priorities of the
    workflow; a priority (or a language) without one takes the default label."""
    given: dict[str, dict[str, str]] = {}
    if not isinstance(raw, dict):
        c.add("priority_labels", "must be a table of priority = { en = ..., it = ... }")
        raw = {}
    for key, labels in raw.items():
        where = f"priority_labels.{key}"
        if key not in priorities:
            c.add(where, "is not one of the priorities")
            continue
        if not isinstance(labels, dict) or not all(
            isinstance(v, str) and v.strip() for v in labels.values()
        ):
            c.add(where, "must be a table of language = text")
            continue
        for lang in labels:
            if lang not in LANGUAGES:
                c.add(f"{where}.{lang}", f"unknown language (use {', '.join(LANGUAGES)})")
        given[key] = {str(k): str(v) for k, v in labels.items() if k in LANGUAGES}
    return priority_labels_for(priorities, given)


_HM = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _zone_problem(name: str) -> str | None:
    """Why ``name`` is not a time zone this machine (or the tzdata package) knows."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r} (an IANA name such as Europe/Rome)"
    return None


def _country_days(c: _Checker, where: str, country: str) -> str:
    """The country's public holidays over COUNTRY_YEARS, comma-separated."""
    try:
        import holidays
    except ImportError:
        c.add(where, "needs the holidays package (pip install holidays)")
        return ""
    try:
        found = holidays.country_holidays(country, years=range(COUNTRY_YEARS[0],
                                                                COUNTRY_YEARS[1] + 1))
    except (NotImplementedError, KeyError, ValueError):
        c.add(where, f"unknown country {country!r} (an ISO 3166 code such as IT or US)")
        return ""
    return ",".join(sorted(d.isoformat() for d in found))


def _calendars(c: _Checker, raw: object) -> dict[str, Calendar]:
    if not isinstance(raw, dict):
        c.add("calendars", "must be a table of calendars")
        return {}
    found: dict[str, Calendar] = {}
    for name, spec in raw.items():
        where = f"calendars.{name}"
        if not _KEY.match(name):
            c.add(where, "calendar names are lower-case letters, digits and underscores")
        if not isinstance(spec, dict):
            c.add(where, "must be a table")
            continue
        _only(c, where, spec, ("timezone", "hours", "holidays", "holidays_country"))
        zone = spec.get("timezone")
        if not isinstance(zone, str) or not zone:
            c.add(f"{where}.timezone", "must name an IANA time zone such as Europe/Rome")
            zone = "UTC"
        else:
            problem = _zone_problem(zone)
            if problem:
                c.add(f"{where}.timezone", problem)
        hours: list[tuple[tuple[int, int], ...]] = []
        raw_hours = spec.get("hours", {})
        if not isinstance(raw_hours, dict):
            c.add(f"{where}.hours", "must be a table of day = [ranges]")
            raw_hours = {}
        for day in raw_hours:
            if day not in DAYS:
                c.add(f"{where}.hours.{day}", f"unknown day (use {', '.join(DAYS)})")
        for day in DAYS:
            ranges: list[tuple[int, int]] = []
            for text in _str_list(c, f"{where}.hours.{day}", raw_hours.get(day, [])):
                m = _HM.match(text.strip())
                if not m:
                    c.add(f"{where}.hours.{day}", f"malformed range {text!r} (use HH:MM-HH:MM)")
                    continue
                h1, m1, h2, m2 = (int(g) for g in m.groups())
                start, end = h1 * 60 + m1, h2 * 60 + m2
                if start >= end or end > 24 * 60:
                    c.add(f"{where}.hours.{day}",
                          f"range {text!r} must end after it starts, by 24:00")
                    continue
                ranges.append((start, end))
            ranges.sort()
            for (a1, b1), (a2, b2) in zip(ranges, ranges[1:], strict=False):
                if a2 < b1:
                    c.add(f"{where}.hours.{day}", "ranges overlap: "
                          f"{a1 // 60:02d}:{a1 % 60:02d}-{b1 // 60:02d}:{b1 % 60:02d} and "
                          f"{a2 // 60:02d}:{a2 % 60:02d}-{b2 // 60:02d}:{b2 % 60:02d}")
            hours.append(tuple(ranges))
        if not any(hours):
            c.add(f"{where}.hours", "the calendar is never open: give some day a range")
        days = _str_list(c, f"{where}.holidays", spec.get("holidays", []))
        for d in days:
            if not _DATE.match(d) or not _valid_date(d):
                c.add(f"{where}.holidays", f"{d!r} is not a date (use YYYY-MM-DD)")
        country = spec.get("holidays_country")
        country_days = ""
        if country is not None:
            if not isinstance(country, str) or not country:
                c.add(f"{where}.holidays_country", "must be a country code such as IT")
                country = None
            else:
                country_days = _country_days(c, f"{where}.holidays_country", country)
        found[name] = Calendar(name, zone, tuple(hours), tuple(sorted(set(days))), country,
                               country_days)
    return found


def _valid_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _policies(c: _Checker, data: dict[str, Any], calendars: dict[str, Calendar],
              priorities: list[str], statuses: dict[str, Status]) -> tuple[SlaPolicy, ...]:
    found: list[SlaPolicy] = []
    names: set[str] = set()
    pausable = [p for p in PHASES if p not in ("solved", "closed", "cancelled")]
    for where, spec in _tables(c, data, "sla"):
        _only(c, where, spec, ("name", "priorities", "categories", "calendar", *TARGETS,
                               "warn_before", "pause", "on_breach"))
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            c.add(f"{where}.name", "must be a non-empty string")
            name = where
        elif name in names:
            c.add(f"{where}.name", f"another policy is called {name!r}")
        names.add(name)
        prios = _str_list(c, f"{where}.priorities", spec.get("priorities", []))
        if not prios:
            c.add(f"{where}.priorities", "must name at least one priority")
        for p in prios:
            if p not in priorities:
                c.add(f"{where}.priorities", f"unknown priority {p!r}; the workflow has: "
                      + ", ".join(priorities))
        cats = _str_list(c, f"{where}.categories", spec.get("categories", []))
        cal = spec.get("calendar")
        if cal is not None and (not isinstance(cal, str) or cal not in calendars):
            c.add(f"{where}.calendar", f"unknown calendar {cal!r}"
                  + ("; the workflow has: " + ", ".join(calendars) if calendars
                     else "; define it under [calendars.NAME]"))
            cal = None
        targets: list[int | None] = []
        for target in TARGETS:
            if target not in spec:
                targets.append(None)
                continue
            try:
                seconds = parse_hm(spec[target])
            except ValueError as e:
                c.add(f"{where}.{target}", str(e))
                targets.append(None)
                continue
            if seconds <= 0:
                c.add(f"{where}.{target}", "must be longer than zero")
            targets.append(seconds)
        if all(t is None for t in targets) and not any(t in spec for t in TARGETS):
            c.add(where, "needs a target: first_response, next_reply or resolution")
        warn = 0
        if "warn_before" in spec:
            try:
                warn = parse_hm(spec["warn_before"])
            except ValueError as e:
                c.add(f"{where}.warn_before", str(e))
            if any(t is not None and warn >= t > 0 for t in targets):
                c.add(f"{where}.warn_before", "must be shorter than every target")
        pause = _str_list(c, f"{where}.pause", spec.get("pause", list(DEFAULT_PAUSE)))
        for p in pause:
            if p not in pausable:
                c.add(f"{where}.pause", f"{p!r} is not a phase the clock can pause in "
                      f"(choose from {', '.join(pausable)})")
        breach = spec.get("on_breach", {})
        status = priority = None
        if not isinstance(breach, dict):
            c.add(f"{where}.on_breach", "must be a table such as { status = \"escalated\" }")
            breach = {}
        _only(c, f"{where}.on_breach", breach, ("status", "priority"))
        if "status" in breach:
            status = breach["status"]
            if not isinstance(status, str) or status not in statuses:
                c.add(f"{where}.on_breach.status", "must name one of the statuses")
                status = None
        if "priority" in breach:
            priority = breach["priority"]
            if not isinstance(priority, str) or priority not in priorities:
                c.add(f"{where}.on_breach.priority", "must name one of the priorities")
                priority = None
        found.append(SlaPolicy(str(name), tuple(prios), tuple(cats), cal, targets[0],
                               targets[1], targets[2], warn, tuple(pause), status, priority))
    return tuple(found)


def load_preset(name: str) -> Workflow:
    """One of the workflows shipped in ``ticketcli/presets``."""
    import tomllib
    from importlib import resources

    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of: " + ", ".join(PRESETS))
    text = resources.files("ticketcli.presets").joinpath(f"{name}.toml").read_text("utf-8")
    return load(tomllib.loads(text), f"preset {name}")
