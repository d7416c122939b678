"""The workflow engine, checked against tables written by hand from the README's
"Workflows" section and what each preset is for.

Nothing here is derived from the engine: every allowed move, reply rule, stale
rule, phase, label and priority of each preset is spelled out below, so a
preset or engine change that breaks the documented behaviour makes a test fail.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tomli_w

from ticketcli.errors import ConfigError, Conflict, PermissionDenied, TicketError, UsageError
from ticketcli.workflow import (
    PRESETS,
    Status,
    Workflow,
    format_duration,
    load,
    load_preset,
    parse_duration,
    problems,
)

DAY = 86400
SIDES = ("agent", "requester", "participant")
WF: dict[str, Workflow] = {name: load_preset(name) for name in PRESETS}

# -- the presets, by hand --------------------------------------------------------

STATUSES: dict[str, tuple[str, ...]] = {
    "standard": ("new", "open", "pending", "on_hold", "solved", "closed"),
    "service-desk": (
        "open", "assigned", "in_progress", "dev_request", "resolved", "closed", "cancelled",
    ),
    "care": (
        "received", "in_progress", "on_hold", "escalated", "waiting_customer", "answered",
        "closed",
    ),
    "chat": ("open", "pending", "closed"),
    "basic": ("in_progress", "closed"),
}

INITIAL = {
    "standard": "new",
    "service-desk": "open",
    "care": "received",
    "chat": "open",
    "basic": "in_progress",
}

PHASES: dict[str, dict[str, str]] = {
    "standard": {
        "new": "new", "open": "open", "pending": "pending", "on_hold": "hold",
        "solved": "solved", "closed": "closed",
    },
    "service-desk": {
        "open": "new", "assigned": "open", "in_progress": "open", "dev_request": "hold",
        "resolved": "solved", "closed": "closed", "cancelled": "cancelled",
    },
    "care": {
        "received": "new", "in_progress": "open", "on_hold": "hold", "escalated": "open",
        "waiting_customer": "pending", "answered": "solved", "closed": "closed",
    },
    "chat": {"open": "open", "pending": "pending", "closed": "closed"},
    "basic": {"in_progress": "open", "closed": "closed"},
}

# standard (003) and service-desk (002): closed is final, a follow-up ticket is needed.
# care (000): a customer reply reopens a closed ticket. chat (004): staff reopen it.
# basic (001): staff reopen it.
FINAL: dict[str, frozenset[str]] = {
    "standard": frozenset({"closed"}),
    "service-desk": frozenset({"closed", "cancelled"}),
    "care": frozenset(),
    "chat": frozenset(),
    "basic": frozenset(),
}

LABELS_IT: dict[str, dict[str, str]] = {
    "standard": {
        "new": "Nuovo", "open": "Aperto", "pending": "In attesa", "on_hold": "In sospeso",
        "solved": "Risolto", "closed": "Chiuso",
    },
    "service-desk": {
        "open": "Aperta", "assigned": "Assegnata", "in_progress": "In carico",
        "dev_request": "Richiesta di sviluppo", "resolved": "Risolta", "closed": "Chiusa",
        "cancelled": "Annullata",
    },
    "care": {
        "received": "Richiesta ricevuta", "in_progress": "In lavorazione",
        "on_hold": "Temporaneamente in attesa", "escalated": "Prioritaria",
        "waiting_customer": "In attesa di una vostra risposta", "answered": "Risposta inviata",
        "closed": "Chiusa",
    },
    "chat": {"open": "Aperto", "pending": "In sospeso", "closed": "Chiuso"},
    "basic": {"in_progress": "In corso", "closed": "Chiuso"},
}

LABELS_EN: dict[str, dict[str, str]] = {
    "standard": {
        "new": "New", "open": "Open", "pending": "Pending", "on_hold": "On hold",
        "solved": "Solved", "closed": "Closed",
    },
    "service-desk": {
        "open": "Open", "assigned": "Assigned", "in_progress": "In progress",
        "dev_request": "Development request", "resolved": "Resolved", "closed": "Closed",
        "cancelled": "Cancelled",
    },
    "care": {
        "received": "Received", "in_progress": "In progress", "on_hold": "On hold",
        "escalated": "Escalated", "waiting_customer": "Waiting for your reply",
        "answered": "Answered", "closed": "Closed",
    },
    "chat": {"open": "Open", "pending": "Pending", "closed": "Closed"},
    "basic": {"in_progress": "In progress", "closed": "Closed"},
}

_SD_WORK = frozenset({"assigned", "in_progress", "dev_request", "resolved", "cancelled"})
_CARE_TO = frozenset(
    {"in_progress", "on_hold", "escalated", "waiting_customer", "answered", "closed"}
)
_STD_TO = frozenset({"open", "pending", "on_hold", "solved", "closed"})

# Every manual move each side may make: {preset: {side: {from: {to, ...}}}}.
# Staff work tickets between the working statuses. Requesters only confirm a
# solution by closing it (standard 003, service-desk 002) or close an answered
# request they are happy with (care). Participants follow a ticket; moves
# belong to staff and the requester. Anything missing here is refused.
ALLOWED: dict[str, dict[str, dict[str, frozenset[str]]]] = {
    "standard": {
        "agent": {
            "new": _STD_TO,
            "open": _STD_TO - {"open"},
            "pending": _STD_TO - {"pending"},
            "on_hold": _STD_TO - {"on_hold"},
            "solved": frozenset({"open", "closed"}),
        },
        "requester": {"solved": frozenset({"closed"})},
        "participant": {},
    },
    "service-desk": {
        "agent": {
            "open": _SD_WORK,
            "assigned": _SD_WORK - {"assigned"},
            "in_progress": _SD_WORK - {"in_progress"},
            "dev_request": _SD_WORK - {"dev_request"},
            "resolved": frozenset({"in_progress", "closed"}),
        },
        "requester": {"resolved": frozenset({"closed"})},
        "participant": {},
    },
    "care": {
        "agent": {
            "received": _CARE_TO,
            "in_progress": _CARE_TO - {"in_progress"},
            "on_hold": _CARE_TO - {"on_hold"},
            "escalated": _CARE_TO - {"escalated"},
            "waiting_customer": _CARE_TO - {"waiting_customer"},
            "answered": _CARE_TO - {"answered"},
            "closed": frozenset({"in_progress"}),
        },
        "requester": {"answered": frozenset({"closed"})},
        "participant": {},
    },
    "chat": {
        "agent": {
            "open": frozenset({"pending", "closed"}),
            "pending": frozenset({"open", "closed"}),
            "closed": frozenset({"open", "pending"}),
        },
        "requester": {},
        "participant": {},
    },
    "basic": {
        "agent": {
            "in_progress": frozenset({"closed"}),
            "closed": frozenset({"in_progress"}),
        },
        "requester": {},
        "participant": {},
    },
}

# What a public reply does: {preset: {side: {status: new status}}}; absent = no change.
# A participant's reply counts as one from the requester side.
_STD_REQ = {"pending": "open", "on_hold": "open", "solved": "open"}
_CARE_REQ = {"waiting_customer": "in_progress", "answered": "in_progress", "closed": "in_progress"}
_CHAT_ANY = {"pending": "open", "closed": "open"}
REPLIES: dict[str, dict[str, dict[str, str]]] = {
    "standard": {"agent": {}, "requester": _STD_REQ, "participant": _STD_REQ},
    "service-desk": {
        "agent": {},
        "requester": {"resolved": "in_progress"},
        "participant": {"resolved": "in_progress"},
    },
    "care": {"agent": {}, "requester": _CARE_REQ, "participant": _CARE_REQ},
    "chat": {
        "agent": {"open": "pending", **_CHAT_ANY},
        "requester": _CHAT_ANY,
        "participant": _CHAT_ANY,
    },
    "basic": {"agent": {}, "requester": {}, "participant": {}},
}

# close-stale: (from, after, clock, to, reminder lead).
STALE: dict[str, list[tuple[tuple[str, ...], int, str, str, int | None]]] = {
    "standard": [(("solved",), 14 * DAY, "requester_activity", "closed", 11 * DAY)],
    "service-desk": [(("resolved",), 30 * DAY, "requester_activity", "closed", 25 * DAY)],
    "care": [(("waiting_customer", "answered"), 14 * DAY, "requester_activity", "closed", None)],
    "chat": [],
    "basic": [],
}

PRIORITIES: dict[str, tuple[str, ...]] = {
    "standard": ("low", "normal", "high", "urgent"),
    "service-desk": ("low", "normal", "high", "urgent"),
    "care": ("low", "normal", "high", "urgent"),
    "chat": ("low", "normal", "high"),
    "basic": ("normal", "blocking"),
}

RESOLUTIONS: dict[str, tuple[str, ...]] = {
    "standard": (),
    "service-desk": ("done", "out_of_scope", "project_manager", "other_department"),
    "care": (),
    "chat": (),
    "basic": (),
}


def expected_error(preset: str, side: str, source: str, target: str) -> type[TicketError] | None:
    """The error a manual move must raise, from the hand-written table (None: allowed)."""
    table = ALLOWED[preset]
    if target in table[side].get(source, frozenset()):
        return None
    if source in FINAL[preset]:
        return Conflict
    if any(target in table[s].get(source, frozenset()) for s in SIDES if s != side):
        return PermissionDenied
    return Conflict


# -- sanity of the tables themselves ----------------------------------------------------


def test_the_five_presets_are_known() -> None:
    assert set(PRESETS) == set(STATUSES)
    assert PRESETS[0] == "standard"


def test_hand_tables_only_name_real_statuses() -> None:
    for preset, sides in ALLOWED.items():
        known = set(STATUSES[preset])
        for moves in sides.values():
            for source, targets in moves.items():
                assert source in known and targets <= known, (preset, source)
                assert source not in targets


# -- statuses, phases, finality, labels -----------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_statuses_in_order_and_initial(preset: str) -> None:
    wf = WF[preset]
    assert tuple(wf.statuses) == STATUSES[preset]
    assert wf.initial == INITIAL[preset]
    assert wf.name == preset
    assert wf.description


@pytest.mark.parametrize("preset", PRESETS)
def test_phases(preset: str) -> None:
    wf = WF[preset]
    assert {k: wf.phase_of(k) for k in wf.statuses} == PHASES[preset]


@pytest.mark.parametrize("preset", PRESETS)
def test_final_flags(preset: str) -> None:
    wf = WF[preset]
    assert {k for k in wf.statuses if wf.is_final(k)} == FINAL[preset]


@pytest.mark.parametrize("preset", PRESETS)
def test_active_statuses_leave_out_closed_and_cancelled(preset: str) -> None:
    expected = [k for k, p in PHASES[preset].items() if p not in ("closed", "cancelled")]
    assert WF[preset].active_statuses() == expected


@pytest.mark.parametrize("preset", PRESETS)
def test_labels_in_english_and_italian(preset: str) -> None:
    wf = WF[preset]
    assert {k: s.label("it") for k, s in wf.statuses.items()} == LABELS_IT[preset]
    assert {k: s.label("en") for k, s in wf.statuses.items()} == LABELS_EN[preset]


def test_label_falls_back_to_english_then_the_key() -> None:
    status = WF["care"].status("waiting_customer")
    assert status.label("fr") == "Waiting for your reply"
    assert Status("odd", "open", False, {}).label("it") == "odd"
    assert Status("odd", "open", False, {"en": "Odd"}).label("it") == "Odd"


def test_unknown_status_is_a_usage_error_listing_the_statuses() -> None:
    with pytest.raises(UsageError) as exc:
        WF["chat"].status("spam")
    assert "'spam'" in exc.value.message
    assert "open, pending, closed" in exc.value.message
    with pytest.raises(UsageError):
        WF["chat"].check_move("agent", "open", "spam", 3)


# -- every manual move ----------------------------------------------------------------


def _every_triple() -> Iterator[Any]:
    for preset, statuses in STATUSES.items():
        for side in SIDES:
            for source in statuses:
                for target in statuses:
                    yield pytest.param(
                        preset, side, source, target, id=f"{preset}-{side}-{source}-{target}"
                    )


@pytest.mark.parametrize(("preset", "side", "source", "target"), list(_every_triple()))
def test_every_move(preset: str, side: str, source: str, target: str) -> None:
    wf = WF[preset]
    error = expected_error(preset, side, source, target)
    if error is None:
        assert wf.allows(side, source, target)
        wf.check_move(side, source, target, 42)
        assert target in wf.manual_targets(side, source)
        return
    assert not wf.allows(side, source, target)
    assert target not in wf.manual_targets(side, source)
    with pytest.raises(TicketError) as exc:
        wf.check_move(side, source, target, 42)
    assert type(exc.value) is error
    assert "ticket 42" in exc.value.message
    if source in FINAL[preset]:
        assert "--follow-up 42" in exc.value.message


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("side", SIDES)
def test_manual_targets_are_exactly_the_table(preset: str, side: str) -> None:
    wf = WF[preset]
    for source in STATUSES[preset]:
        expected = ALLOWED[preset][side].get(source, frozenset())
        assert set(wf.manual_targets(side, source)) == expected, source


def test_permission_message_names_who_may_move() -> None:
    with pytest.raises(PermissionDenied) as exc:
        WF["standard"].check_move("participant", "solved", "closed", 9)
    assert "staff" in exc.value.message and "requester" in exc.value.message
    with pytest.raises(PermissionDenied) as exc:
        WF["standard"].check_move("requester", "new", "open", 9)
    assert "only staff" in exc.value.message
    assert "requester" not in exc.value.message


def test_conflict_message_lists_the_allowed_targets() -> None:
    with pytest.raises(Conflict) as exc:
        WF["standard"].check_move("agent", "solved", "pending", 5)
    assert exc.value.message == (
        "can't move ticket 5 from solved to pending; allowed from solved: closed, open"
    )
    with pytest.raises(Conflict) as exc:
        WF["chat"].check_move("participant", "open", "open", 5)
    assert "allowed from" not in exc.value.message


def test_final_ticket_message_points_to_a_follow_up() -> None:
    with pytest.raises(Conflict) as exc:
        WF["service-desk"].check_move("agent", "cancelled", "open", 12)
    assert 'ticketcli open --follow-up 12' in exc.value.message
    assert "final" in exc.value.message


# -- replies ----------------------------------------------------------------------


def _every_reply() -> Iterator[Any]:
    for preset, statuses in STATUSES.items():
        for side in SIDES:
            for status in statuses:
                yield pytest.param(preset, side, status, id=f"{preset}-{side}-{status}")


@pytest.mark.parametrize(("preset", "side", "status"), list(_every_reply()))
def test_reply_target(preset: str, side: str, status: str) -> None:
    assert WF[preset].reply_target(side, status) == REPLIES[preset][side].get(status)


def test_reply_rule_to_the_current_status_is_no_change() -> None:
    doc = _tiny()
    doc["replies"] = [{"by": "any", "in": ["open", "waiting"], "to": "open"}]
    wf = load(doc)
    assert wf.reply_target("agent", "open") is None
    assert wf.reply_target("requester", "waiting") == "open"


def test_first_matching_reply_rule_wins() -> None:
    doc = _tiny()
    doc["replies"] = [
        {"by": "agent", "in": ["open"], "to": "waiting"},
        {"by": "any", "in": ["open"], "to": "closed"},
    ]
    wf = load(doc)
    assert wf.reply_target("agent", "open") == "waiting"
    assert wf.reply_target("requester", "open") == "closed"


# -- stale rules ----------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_stale_rules(preset: str) -> None:
    wf = WF[preset]
    got = [(r.sources, r.after, r.since, r.to, r.remind_after) for r in wf.stale]
    assert got == STALE[preset]
    for rule in wf.stale:
        assert not any(wf.is_final(s) for s in rule.sources)
        assert wf.phase_of(rule.to) == "closed"


def test_care_stale_time_is_configurable() -> None:
    wf = WF["care"].with_stale_after(21 * DAY)
    assert [(r.sources, r.after, r.to) for r in wf.stale] == [
        (("waiting_customer", "answered"), 21 * DAY, "closed")
    ]
    assert WF["care"].stale[0].after == 14 * DAY  # the preset itself is untouched
    assert load(wf.to_dict()) == wf


def test_changing_stale_time_keeps_the_reminder_lead() -> None:
    later = WF["service-desk"].with_stale_after(40 * DAY)
    assert (later.stale[0].after, later.stale[0].remind_after) == (40 * DAY, 35 * DAY)
    shorter = WF["service-desk"].with_stale_after(3 * DAY)
    assert (shorter.stale[0].after, shorter.stale[0].remind_after) == (3 * DAY, None)
    assert load(shorter.to_dict()) == shorter


@pytest.mark.parametrize("preset", ["chat", "basic"])
def test_no_stale_rule_to_configure(preset: str) -> None:
    with pytest.raises(UsageError, match="no stale rule"):
        WF[preset].with_stale_after(DAY)


@pytest.mark.parametrize("seconds", [0, -DAY])
def test_stale_time_must_be_positive(seconds: int) -> None:
    # A zero wait would be stored, then refused by load() on every later run.
    with pytest.raises(UsageError):
        WF["care"].with_stale_after(seconds)


# -- priorities, resolutions, sharing ------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_priorities(preset: str) -> None:
    wf = WF[preset]
    assert wf.priorities == PRIORITIES[preset]
    assert wf.default_priority == "normal"
    for p in PRIORITIES[preset]:
        assert wf.check_priority(p) == p
    with pytest.raises(UsageError) as exc:
        wf.check_priority("critical")
    assert ", ".join(PRIORITIES[preset]) in exc.value.message


def test_blocking_exists_only_in_basic() -> None:
    assert WF["basic"].check_priority("blocking") == "blocking"
    with pytest.raises(UsageError):
        WF["standard"].check_priority("blocking")
    with pytest.raises(UsageError):
        WF["basic"].check_priority("urgent")


@pytest.mark.parametrize("preset", PRESETS)
def test_resolutions(preset: str) -> None:
    wf = WF[preset]
    assert wf.resolutions == RESOLUTIONS[preset]
    for r in RESOLUTIONS[preset]:
        assert wf.check_resolution(r) == r


def test_service_desk_refuses_unknown_resolution() -> None:
    with pytest.raises(UsageError, match="out_of_scope"):
        WF["service-desk"].check_resolution("wontfix")


@pytest.mark.parametrize("preset", PRESETS)
def test_sharing_and_registration(preset: str) -> None:
    wf = WF[preset]
    strict = preset == "service-desk"
    assert wf.sharing == ("organization" if strict else "anyone")
    assert wf.allow_unregistered is not strict


# -- durations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("14d", 14 * DAY), ("36h", 36 * 3600), ("2w", 14 * DAY), ("90m", 5400),
        ("30s", 30), (" 21 d ", 21 * DAY), ("0d", 0), (7, 7), (0, 0),
    ],
)
def test_parse_duration(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "bad",
    ["", "14", "d", "-1d", "1.5d", "14 days", "14dd", "d14", "1y", None, True, False, -3,
     3.5, [14], "100000000d", 10**15],
)
def test_parse_duration_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"), (30, "30s"), (90, "90s"), (60, "1m"), (5400, "90m"), (3600, "1h"),
        (36 * 3600, "36h"), (DAY, "1d"), (10 * DAY, "10d"), (14 * DAY, "2w"),
        (DAY + 1, "86401s"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(format_duration(seconds)) == seconds


# -- serialisation ----------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_round_trip_through_dict_toml_and_json(preset: str) -> None:
    wf = WF[preset]
    data = wf.to_dict()
    assert problems(data) == []
    assert load(data) == wf
    assert load(tomllib.loads(tomli_w.dumps(data))) == wf
    assert load(json.loads(json.dumps(data))) == wf
    assert load(data).to_dict() == data


@pytest.mark.parametrize("preset", PRESETS)
def test_to_dict_shape(preset: str) -> None:
    data = WF[preset].to_dict()
    assert list(data["statuses"]) == list(STATUSES[preset])
    assert data["initial"] == INITIAL[preset]
    assert data["priorities"] == list(PRIORITIES[preset])
    for key, spec in data["statuses"].items():
        assert spec["label"]["it"] == LABELS_IT[preset][key]
        assert spec["phase"] == PHASES[preset][key]
        assert spec["final"] is (key in FINAL[preset])


def test_preset_file_and_unknown_preset() -> None:
    with pytest.raises(UsageError, match="standard, service-desk, care, chat, basic"):
        load_preset("kanban")


# -- problems() in workflow documents -----------------------------------------------------


def _tiny() -> dict[str, Any]:
    """A small valid workflow document to break in one place at a time."""
    return {
        "name": "tiny",
        "description": "A tiny desk",
        "initial": "open",
        "priorities": ["normal", "high"],
        "default_priority": "normal",
        "resolutions": ["done"],
        "sharing": "anyone",
        "allow_unregistered": True,
        "statuses": {
            "open": {"phase": "open", "final": False, "label": {"en": "Open", "it": "Aperto"}},
            "waiting": {
                "phase": "pending", "final": False, "label": {"en": "Waiting", "it": "Attesa"},
            },
            "closed": {"phase": "closed", "final": True, "label": {"en": "Closed", "it": "Chiuso"}},
        },
        "moves": [
            {"roles": ["agent"], "from": ["open", "waiting"], "to": ["open", "waiting", "closed"]},
            {"roles": ["requester"], "from": ["waiting"], "to": ["closed"]},
        ],
        "replies": [{"by": "requester", "in": ["waiting"], "to": "open"}],
        "stale": [
            {"from": ["waiting"], "after": "14d", "since": "requester_activity", "to": "closed",
             "remind_after": "10d"},
        ],
    }


def test_tiny_document_is_valid() -> None:
    assert problems(_tiny()) == []
    wf = load(_tiny())
    assert wf.allows("requester", "waiting", "closed")
    assert wf.stale[0].remind_after == 10 * DAY


Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _drop(path: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        del node[last]

    return edit


def _append(path: str, value: object) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc[path].append(value)

    return edit


BAD: list[tuple[str, Edit, str]] = [
    # (problem expected, the edit, id)
    ("colour: unknown key", _set("colour", "red"), "top-unknown-key"),
    ("name: must be a non-empty string", _set("name", ""), "name-empty"),
    ("name: must be a non-empty string", _set("name", 3), "name-number"),
    ("description: must be a string", _set("description", ["x"]), "description"),
    ("statuses: must be a table with at least one status", _drop("statuses"), "no-statuses"),
    ("statuses: must be a table with at least one status", _set("statuses", {}), "statuses-empty"),
    ("statuses: must be a table with at least one status", _set("statuses", ["open"]),
     "statuses-array"),
    ("statuses.Open-Now: status keys are lower-case", _set("statuses/Open-Now",
     {"phase": "open", "label": {"en": "A", "it": "B"}}), "status-key"),
    ("statuses.limbo: must be a table", _set("statuses/limbo", "x"), "status-not-table"),
    ("statuses.open.phase: must be one of new, open, pending, hold, solved, closed, cancelled",
     _set("statuses/open/phase", "limbo"), "phase-unknown"),
    ("statuses.open.phase: must be one of", _drop("statuses/open/phase"), "phase-missing"),
    ("statuses.closed.final: must be true or false", _set("statuses/closed/final", "yes"),
     "final-not-bool"),
    ("statuses.open.label: must be a table of language = text",
     _set("statuses/open/label", "Open"), "label-string"),
    ("statuses.open.label: must be a table of language = text",
     _set("statuses/open/label/en", ""), "label-empty"),
    ("statuses.open.label.it: missing", _drop("statuses/open/label/it"), "label-missing-it"),
    ("statuses.open.label.en: missing", _drop("statuses/open/label/en"), "label-missing-en"),
    ("statuses.closed.finall: unknown key", _set("statuses/closed/finall", True),
     "status-unknown-key"),
    ("initial: must name one of the statuses", _drop("initial"), "initial-missing"),
    ("initial: must name one of the statuses", _set("initial", "bogus"), "initial-unknown"),
    ("initial: must be an active, non-final status", _set("initial", "closed"), "initial-final"),
    ("moves: must be an array of tables", _set("moves", {"roles": "agent"}), "moves-table"),
    ("moves[0]: must be a table", _set("moves/0", "agent"), "move-not-table"),
    ("moves[0].roles: unknown role 'admin'", _set("moves/0/roles", ["admin"]), "role-admin"),
    ("moves[0].roles: unknown role 'participant'", _set("moves/0/roles", ["participant"]),
     "role-participant"),
    ("moves[0].roles: must name at least one role", _set("moves/0/roles", []), "roles-empty"),
    ("moves[0].roles: must be a list of strings", _set("moves/0/roles", [1]), "roles-number"),
    ("moves[1].from: unknown status 'bogus'", _set("moves/1/from", ["bogus"]), "move-from"),
    ("moves[1].to: unknown status 'bogus'", _set("moves/1/to", ["waiting", "bogus"]),
     "move-to"),
    ("moves[0].when: unknown key", _set("moves/0/when", "always"), "move-unknown-key"),
    ("moves[1].from: must name at least one status", _set("moves/1/from", []),
     "move-from-empty"),
    ("moves[1].to: must name at least one status", _drop("moves/1/to"), "move-to-missing"),
    ("moves[2].from: 'closed' is final", _append(
        "moves", {"roles": ["agent"], "from": ["closed"], "to": ["open"]}), "move-from-final"),
    ("replies: must be an array of tables", _set("replies", "requester"), "replies-string"),
    ("replies[0]: must be a table", _set("replies/0", 3), "reply-not-table"),
    ("replies[0].by: must be one of agent, requester, any", _set("replies/0/by", "robot"),
     "reply-by"),
    ("replies[0].by: must be one of", _drop("replies/0/by"), "reply-by-missing"),
    ("replies[0].in: unknown status 'bogus'", _set("replies/0/in", ["bogus"]), "reply-in"),
    ("replies[0].in: must name at least one status", _set("replies/0/in", []), "reply-in-empty"),
    ("replies[0].to: must name one of the statuses", _set("replies/0/to", "bogus"), "reply-to"),
    ("replies[1].in: 'closed' is final", _append(
        "replies", {"by": "any", "in": ["closed"], "to": "open"}), "reply-in-final"),
    ("replies[0].after: unknown key", _set("replies/0/after", "1d"), "reply-unknown-key"),
    ("stale: must be an array of tables", _set("stale", "14d"), "stale-string"),
    ("stale[0]: must be a table", _set("stale/0", ["waiting"]), "stale-not-table"),
    ("stale[0].from: unknown status 'bogus'", _set("stale/0/from", ["bogus"]), "stale-from"),
    ("stale[0].from: must name at least one status", _set("stale/0/from", []),
     "stale-from-empty"),
    ("stale[0].from: 'closed' is final", _set("stale/0/from", ["waiting", "closed"]),
     "stale-from-final"),
    ("stale[0].to: must name one of the statuses", _set("stale/0/to", "bogus"), "stale-to"),
    ("stale[0].to: must differ from every status in 'from'", _set("stale/0/to", "waiting"),
     "stale-to-same"),
    ("stale[0].after: not a duration", _drop("stale/0/after"), "stale-after-missing"),
    ("stale[0].after: not a duration", _set("stale/0/after", "soon"), "stale-after-word"),
    ("stale[0].after: must be longer than zero", _set("stale/0/after", "0d"), "stale-after-0"),
    ("stale[0].after: duration must not be negative", _set("stale/0/after", -5),
     "stale-after-negative"),
    ("stale[0].after: ", _set("stale/0/after", "99999999d"), "stale-after-huge"),
    ("stale[0].remind_after: must be shorter than 'after'", _set("stale/0/remind_after", "20d"),
     "remind-too-late"),
    ("stale[0].remind_after: must be shorter than 'after'", _set("stale/0/remind_after", 0),
     "remind-zero"),
    ("stale[0].remind_after: not a duration", _set("stale/0/remind_after", "later"),
     "remind-word"),
    ("stale[0].since: must be one of requester_activity, status_change",
     _set("stale/0/since", "forever"), "stale-since"),
    ("stale[0].every: unknown key", _set("stale/0/every", "1h"), "stale-unknown-key"),
    ("priorities: must list at least one priority", _set("priorities", []), "priorities-empty"),
    ("priorities: must be a list of strings", _set("priorities", [1, 2]), "priorities-numbers"),
    ("default_priority: must be one of the priorities", _set("default_priority", "meh"),
     "default-priority"),
    ("resolutions: must be a list of strings", _set("resolutions", 5), "resolutions"),
    ("sharing: must be one of anyone, organization", _set("sharing", "world"), "sharing"),
    ("allow_unregistered: must be true or false", _set("allow_unregistered", "no"),
     "allow-unregistered"),
]


@pytest.mark.parametrize(("expected", "edit"), [pytest.param(e, f, id=i) for e, f, i in BAD])
def test_problems_name_their_location(expected: str, edit: Edit) -> None:
    doc = _tiny()
    edit(doc)
    found = problems(doc)
    assert any(p.startswith(expected) for p in found), found
    with pytest.raises(ConfigError) as exc:
        load(doc, "workflow.toml")
    assert exc.value.message.startswith("invalid workflow.toml: ")
    assert expected in exc.value.message


def test_top_level_must_be_a_table() -> None:
    assert problems([1, 2]) == ["(top): a workflow must be a TOML table"]  # type: ignore[arg-type]


def test_every_problem_is_reported_at_once() -> None:
    doc = _tiny()
    doc["sharing"] = "world"
    doc["statuses"]["open"]["phase"] = "limbo"
    doc["stale"][0]["since"] = "forever"
    found = problems(doc)
    assert len(found) == 3
    assert [p.split(":")[0] for p in found] == ["statuses.open.phase", "stale[0].since", "sharing"]


def test_a_single_string_counts_as_a_list() -> None:
    doc = _tiny()
    doc["moves"][1]["from"] = "waiting"
    doc["stale"][0]["from"] = "waiting"
    assert problems(doc) == []
    assert load(doc) == load(_tiny())
