"""Workflow documents (a preset's TOML, the copy stored in the database, a file
to import) turned into a :class:`Workflow`, with every problem named and placed."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError, UsageError
from .model import (
    LANGUAGES,
    PHASES,
    PRESETS,
    REPLY_SIDES,
    SHARING,
    SIDES,
    SINCE,
    Move,
    ReplyRule,
    StaleRule,
    Status,
    Workflow,
    parse_duration,
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
        "priority_labels",
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


def load_preset(name: str) -> Workflow:
    """One of the workflows shipped in ``ticketcli/presets``."""
    import tomllib
    from importlib import resources

    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of: " + ", ".join(PRESETS))
    text = resources.files("ticketcli.presets").joinpath(f"{name}.toml").read_text("utf-8")
    return load(tomllib.loads(text), f"preset {name}")
