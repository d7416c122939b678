"""Service levels through the CLI: policies in the workflow, clocks from what
happened (replies, pauses, reopening, priority changes, imports), show and list,
sla check (exactly once, concurrent runs, on_breach, notices) and report."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, ROOT, Desk, dump, make_desk

from ticketcli.__main__ import run
from ticketcli.clock import parse
from ticketcli.context import Context

# A Friday, 10:00 in Rome (CET, UTC+1).
T0 = "2026-12-04T09:00:00Z"

POLICIES = """
[calendars.office]
timezone = "Europe/Rome"
holidays = ["2026-12-24"]

[calendars.office.hours]
mon = ["09:00-13:00", "14:00-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-18:00"]

[[sla]]
name = "urgent"
priorities = ["urgent"]
first_response = "1h"
next_reply = "2h"
resolution = "8h"
warn_before = "15m"

[[sla]]
name = "business"
priorities = ["normal", "high"]
categories = ["vpn", "email"]
calendar = "office"
first_response = "4h"
next_reply = "8h"
resolution = "24h"
warn_before = "30m"
on_breach = { priority = "urgent" }
"""


def later(stamp: str, **delta: float) -> str:
    return (parse(stamp) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(desk: Desk, when: str, *args: str, as_: str = ADMIN, expect: int = 0,
       tty: bool = False, env: dict[str, str] | None = None) -> str:
    """Run a command in-process as if the clock said ``when``."""
    import os

    out, err = io.StringIO(), io.StringIO()
    context = Context(stdout=out, stderr=err, clock=lambda: parse(when), is_tty=tty,
                      env={**os.environ, **(env or {})})
    code = run(["--db", str(desk.db), "--as", as_, *args], context=context)
    assert code == expect, f"{args} exited {code}: {err.getvalue()}"
    return out.getvalue()


def at_json(desk: Desk, when: str, *args: str, as_: str = ADMIN) -> Any:
    return json.loads(at(desk, when, *args, "--format", "json", as_=as_))


def with_policies(desk: Desk, tmp_path: Path, extra: str = POLICIES) -> None:
    exported = desk.run("workflow", "export").stdout
    path = tmp_path / "wf.toml"
    path.write_text(exported + extra)
    desk.run("workflow", "import", str(path))


def open_at(desk: Desk, when: str, *args: str, as_: str = CUSTOMER) -> int:
    return int(at(desk, when, "open", "Printer on fire", *args, as_=as_).strip())


@pytest.fixture
def sla_desk(tmp_path: Path) -> Desk:
    d = make_desk(tmp_path)
    with_policies(d, tmp_path)
    return d


# -- the workflow ---------------------------------------------------------------------


def test_policies_are_stored_exported_and_reimported(sla_desk: Desk, tmp_path: Path) -> None:
    text = sla_desk.run("workflow", "export").stdout
    assert "[calendars.office]" in text and 'name = "business"' in text
    assert 'timezone = "Europe/Rome"' in text
    again = tmp_path / "again.toml"
    again.write_text(text)
    sla_desk.run("workflow", "validate", str(again))
    sla_desk.run("workflow", "import", str(again))
    assert sla_desk.run("workflow", "export").stdout == text


def test_the_presets_ship_without_policies(desk: Desk) -> None:
    text = desk.run("workflow", "export").stdout
    assert "[[sla]]" not in text and "calendars" not in text
    tid = desk.open()
    assert desk.ticket(tid)["sla"] is None
    assert desk.json("list")[0]["sla_due_at"] is None


def test_a_workflow_stored_before_service_levels_still_loads() -> None:
    from ticketcli.workflow import from_stored, load_preset

    data = load_preset("care").to_dict()
    assert "sla" not in data and "calendars" not in data
    wf = from_stored(data)
    assert wf.sla == () and wf.calendars == {}


BAD = [
    ('timezone = "Europe/Rom"', "calendars.office.timezone: unknown time zone"),
    ('mon = ["09:00-13:00", "12:00-18:00"]', "calendars.office.hours.mon: ranges overlap"),
    ('mon = ["9-13"]', "calendars.office.hours.mon: malformed range"),
    ('mon = ["13:00-09:00"]', "must end after it starts"),
    ('priorities = ["vital"]', "sla[0].priorities: unknown priority 'vital'"),
    ('calendar = "home"', "sla[0].calendar: unknown calendar 'home'"),
    ('first_response = "2 days"', "sla[0].first_response: not a duration"),
    ('warn_before = "3h"', "sla[0].warn_before: must be shorter than every target"),
    ('pause = ["solved"]', "sla[0].pause"),
    ('on_breach = { status = "nowhere" }', "sla[0].on_breach.status"),
    ('holidays = ["2026-02-30"]', "calendars.office.holidays"),
    ('holidays_country = "XX"', "unknown country 'XX'"),
    ("never", "calendars.office.hours: the calendar is never open"),
    ('colour = "red"', "sla[0].colour: unknown key"),
]


@pytest.mark.parametrize(("line", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_calendars_and_policies_are_refused_with_their_place(
        desk: Desk, tmp_path: Path, line: str, message: str) -> None:
    cal = {"timezone": 'timezone = "Europe/Rome"', "mon": 'mon = ["09:00-18:00"]',
           "holidays": "", "country": ""}
    policy = ['name = "p"', 'priorities = ["urgent"]', 'calendar = "office"',
              'first_response = "2h"', 'warn_before = "30m"']
    key = line.split(" = ")[0]
    if key in ("timezone", "mon"):
        cal[key] = line
    elif key == "holidays":
        cal["holidays"] = line
    elif key == "holidays_country":
        cal["country"] = line
    elif line == "never":
        cal["mon"] = ""
    else:
        policy = [p for p in policy if not p.startswith(key + " ")] + [line]
    text = desk.run("workflow", "export").stdout + (
        f"\n[calendars.office]\n{cal['timezone']}\n{cal['holidays']}\n{cal['country']}\n"
        f"[calendars.office.hours]\n{cal['mon']}\n\n[[sla]]\n" + "\n".join(policy) + "\n")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for command in ("validate", "import"):
        result = desk.run("workflow", command, str(path), expect=78)
        assert message in result.stderr, result.stderr
    assert "[[sla]]" not in desk.run("workflow", "export").stdout


# -- clocks ---------------------------------------------------------------------------


def sla_of(desk: Desk, when: str, tid: int) -> dict[str, Any]:
    found = at_json(desk, when, "show", str(tid))["sla"]
    assert found is not None
    return found  # type: ignore[no-any-return]


def test_first_response_is_met_by_the_first_public_staff_reply(sla_desk: Desk) -> None:
    tid = open_at(sla_desk, T0, "--priority", "urgent")
    s = sla_of(sla_desk, T0, tid)
    assert s["policy"] == "urgent" and s["calendar"] is None
    assert s["first_response"] == {"due_at": later(T0, hours=1), "met_at": None,
                                   "breached": False, "paused": False}
    at(sla_desk, later(T0, minutes=10), "comment", str(tid), "looking", "--internal",
       as_=AGENT)
    at(sla_desk, later(T0, minutes=20), "comment", str(tid), "me too", as_=CUSTOMER)
    at(sla_desk, later(T0, minutes=40), "comment", str(tid), "on it", as_=AGENT)
    s = sla_of(sla_desk, later(T0, hours=5), tid)
    assert s["first_response"]["met_at"] == later(T0, minutes=40)
    assert s["first_response"]["breached"] is False
    # the requester's reply before the first response started no next_reply cycle
    assert s["next_reply"] == {"due_at": None, "met_at": None, "breached": False,
                               "paused": False}


def test_a_late_first_response_stays_breached(sla_desk: Desk) -> None:
    tid = open_at(sla_desk, T0, "--priority", "urgent")
    assert sla_of(sla_desk, later(T0, minutes=59), tid)["first_response"]["breached"] is False
    assert sla_of(sla_desk, later(T0, minutes=61), tid)["first_response"]["breached"] is True
    at(sla_desk, later(T0, hours=2), "comment", str(tid), "sorry", as_=AGENT)
    s = sla_of(sla_desk, later(T0, days=3), tid)
    assert s["first_response"]["met_at"] == later(T0, hours=2)
    assert s["first_response"]["breached"] is True
    row = at_json(sla_desk, later(T0, days=3), "list")[0]
    assert row["sla_breached"] is True


def test_business_hours_count_only_while_the_office_is_open(sla_desk: Desk) -> None:
    # Friday 17:00 Rome: 4 business hours are 17-18 Friday, then Monday 09-12.
    friday = "2026-12-04T16:00:00Z"
    tid = open_at(sla_desk, friday, "--priority", "normal", "--category", "vpn")
    s = sla_of(sla_desk, friday, tid)
    assert s["policy"] == "business" and s["calendar"] == "office"
    assert s["first_response"]["due_at"] == "2026-12-07T11:00:00Z"
    # 24 h of resolution: Fri 1h, Mon 8h, Tue 9h, Wed 6h -> Wednesday 15:00 Rome
    assert s["resolution"]["due_at"] == "2026-12-09T14:00:00Z"
    # a ticket outside every policy has no clocks
    other = open_at(sla_desk, friday, "--priority", "low")
    assert at_json(sla_desk, friday, "show", str(other))["sla"] is None


def test_next_reply_runs_from_the_first_unanswered_requester_reply(sla_desk: Desk) -> None:
    tid = open_at(sla_desk, T0, "--priority", "urgent")
    at(sla_desk, later(T0, minutes=5), "comment", str(tid), "hello", as_=AGENT)
    at(sla_desk, later(T0, hours=1), "comment", str(tid), "still broken", as_=CUSTOMER)
    at(sla_desk, later(T0, hours=2), "comment", str(tid), "and now?", as_=CUSTOMER)
    s = sla_of(sla_desk, later(T0, hours=2), tid)
    assert s["next_reply"]["due_at"] == later(T0, hours=3)  # from the first, not the second
    at(sla_desk, later(T0, hours=4), "comment", str(tid), "fixed?", as_=AGENT)
    s = sla_of(sla_desk, later(T0, hours=4), tid)
    assert s["next_reply"] == {"due_at": None, "met_at": later(T0, hours=4),
                               "breached": True, "paused": False}


def test_resolution_pauses_while_pending_and_resumes(sla_desk: Desk) -> None:
    tid = open_at(sla_desk, T0, "--priority", "urgent")
    at(sla_desk, later(T0, minutes=30), "comment", str(tid), "need logs", "--status",
       "pending", as_=AGENT)
    s = sla_of(sla_desk, later(T0, hours=5), tid)
    assert s["resolution"] == {"due_at": None, "met_at": None, "breached": False,
                               "paused": True}
    # The requester's reply reopens it: 7h30m of the 8h are left.
    at(sla_desk, later(T0, hours=10), "comment", str(tid), "logs attached", as_=CUSTOMER)
    s = sla_of(sla_desk, later(T0, hours=10), tid)
    assert s["resolution"]["due_at"] == later(T0, hours=17, minutes=30)
    assert s["resolution"]["paused"] is False
    at(sla_desk, later(T0, hours=12), "set-status", str(tid), "solved", as_=AGENT)
    s = sla_of(sla_desk, later(T0, days=2), tid)
    assert s["resolution"]["met_at"] == later(T0, hours=12)
    assert s["resolution"]["breached"] is False
    # Reopened a day later: the clock resumes where it stopped (2h used, 5h30m left),
    # the day spent solved does not count.
    at(sla_desk, later(T0, hours=36), "comment", str(tid), "back again", as_=CUSTOMER)
    s = sla_of(sla_desk, later(T0, hours=36), tid)
    assert s["resolution"]["met_at"] is None
    assert s["resolution"]["due_at"] == later(T0, hours=41, minutes=30)
    # and the reply on the solved ticket started a next_reply cycle when it reopened
    assert s["next_reply"]["due_at"] == later(T0, hours=38)


def test_sla_check_records_each_breach_once_and_applies_on_breach(sla_desk: Desk) -> None:
    """The business policy's breach raises the priority to urgent, which moves the
    ticket to the urgent policy measured from its original start."""
    tid = open_at(sla_desk, T0, "--priority", "high", "--category", "email")
    assert sla_of(sla_desk, T0, tid)["policy"] == "business"
    assert at(sla_desk, T0, "sla", "check") == ""  # nothing due: success, no output
    # Friday 10:00 Rome + 4 business hours = 14:00 Rome; warning at 13:30 Rome.
    warned = at_json(sla_desk, "2026-12-04T12:40:00Z", "sla", "check")
    assert warned == [{"ticket": tid, "target": "first_response", "event": "warning",
                       "due_at": "2026-12-04T13:00:00Z", "actions": []}]
    assert at_json(sla_desk, "2026-12-04T12:50:00Z", "sla", "check") == []
    dry = at_json(sla_desk, "2026-12-04T15:00:00Z", "sla", "check", "--dry-run")
    before = dump(sla_desk.db)
    assert at_json(sla_desk, "2026-12-04T15:00:00Z", "sla", "check", "--dry-run") == dry
    assert dump(sla_desk.db) == before
    found = at_json(sla_desk, "2026-12-04T15:00:00Z", "sla", "check")
    assert found == dry == [{"ticket": tid, "target": "first_response", "event": "breached",
                             "due_at": "2026-12-04T13:00:00Z", "actions": ["priority=urgent"]}]
    shown = at_json(sla_desk, "2026-12-04T15:00:00Z", "show", str(tid))
    assert shown["priority"] == "urgent"
    events = [(h["event"], h["detail"]) for h in shown["history"] if h["event"] != "opened"]
    assert events == [
        ("sla_warning", {"target": "first_response", "due_at": "2026-12-04T13:00:00Z"}),
        ("sla_breached", {"target": "first_response", "due_at": "2026-12-04T13:00:00Z"}),
        ("edited", {"field": "priority", "from": "high", "to": "urgent", "reason": "sla"}),
    ]
    s = shown["sla"]
    assert s["policy"] == "urgent"  # from the original start: due an hour after opening
    assert s["first_response"]["due_at"] == later(T0, hours=1)
    # The first response's breach under the other policy is not recorded again.
    assert [f["target"] for f in at_json(sla_desk, "2026-12-06T00:00:00Z", "sla",
                                         "check")] == ["resolution"]
    assert at_json(sla_desk, "2026-12-07T00:00:00Z", "sla", "check") == []


def test_on_breach_status_needs_a_move_the_workflow_allows(tmp_path: Path) -> None:
    care = make_desk(tmp_path, "care", "care.db")
    with_policies(care, tmp_path, '\n[[sla]]\nname = "all"\npriorities = ["normal"]\n'
                  'first_response = "1h"\non_breach = { status = "escalated" }\n')
    tid = open_at(care, T0)
    closed = open_at(care, T0)
    at(care, later(T0, minutes=10), "set-status", str(closed), "on_hold", as_=AGENT)
    at(care, later(T0, minutes=20), "set-status", str(closed), "closed", as_=AGENT)
    found = at_json(care, later(T0, hours=2), "sla", "check")
    assert found == [{"ticket": tid, "target": "first_response", "event": "breached",
                      "due_at": later(T0, hours=1), "actions": ["status=escalated"]}]
    assert care.status(tid) == "escalated"
    std = make_desk(tmp_path, "standard", "std.db")
    with_policies(std, tmp_path, '\n[[sla]]\nname = "all"\npriorities = ["normal"]\n'
                  'first_response = "1h"\non_breach = { status = "new" }\n')
    tid = open_at(std, T0)
    at(std, later(T0, minutes=1), "set-status", str(tid), "on_hold", as_=AGENT)
    found = at_json(std, later(T0, hours=2), "sla", "check")
    assert found[0]["actions"] == []  # staff may not move on_hold -> new
    assert std.status(tid) == "on_hold"


def outbox(db: Path) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(db)
    try:
        return [(str(r[0]), str(r[1]), str(r[2])) for r in con.execute(
            "SELECT kind, address, lang FROM outbox WHERE kind LIKE 'sla_%' ORDER BY id")]
    finally:
        con.close()


def test_notices_go_to_the_assignee_or_to_every_agent(sla_desk: Desk) -> None:
    mine = open_at(sla_desk, T0, "--priority", "urgent")
    at(sla_desk, T0, "assign", str(mine), AGENT)
    open_at(sla_desk, T0, "--priority", "urgent")
    at(sla_desk, later(T0, minutes=50), "sla", "check")
    sent = outbox(sla_desk.db)
    assert sorted(a for k, a, _ in sent if k == "sla_warning") == sorted([AGENT, AGENT, ADMIN])
    at(sla_desk, later(T0, minutes=70), "sla", "check")
    assert sorted(a for k, a, _ in outbox(sla_desk.db) if k == "sla_breached") == sorted(
        [AGENT, AGENT, ADMIN])
    assert CUSTOMER not in {a for _, a, _ in outbox(sla_desk.db)}
    listed = sla_desk.run("notify", "list").stdout
    assert "Service level breached: first response was due" in listed


def test_two_sla_checks_at_once_record_each_breach_once(sla_desk: Desk,
                                                        tmp_path: Path) -> None:
    lines = [json.dumps({"type": "ticketcli-export", "version": 1})]
    for i in range(120):
        lines.append(json.dumps({
            "type": "ticket", "title": f"Broken {i}", "status": "open", "priority": "urgent",
            "requester": CUSTOMER, "created_at": later(T0, minutes=i),
            "updated_at": later(T0, minutes=i), "status_changed_at": later(T0, minutes=i),
            "activity_at": later(T0, minutes=i)}))
    sla_desk.run("import", "-", input="\n".join(lines) + "\n")
    now = later(T0, days=2)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "ticketcli", "--db", str(sla_desk.db), "--as", ADMIN,
         "sla", "check", "--now", now, "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1] for r in results]
    found = [f for out, _ in results for f in json.loads(out or b"[]")]
    keys = [(f["ticket"], f["target"]) for f in found]
    assert len(keys) == len(set(keys)) == 240  # first_response and resolution of 120
    con = sqlite3.connect(sla_desk.db)
    recorded = con.execute(
        "SELECT count(*), count(DISTINCT ticket_id || json_extract(detail, '$.target')) "
        "FROM history WHERE event = 'sla_breached'").fetchone()
    con.close()
    assert recorded == (240, 240)
    assert json.loads(run_check(sla_desk, now)) == []


def run_check(desk: Desk, now: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "ticketcli", "--db", str(desk.db), "--as", ADMIN, "sla",
         "check", "--now", now, "--format", "json"], capture_output=True, check=True,
        cwd=ROOT, timeout=60).stdout.decode() or "[]"


def test_customers_may_not_run_sla_check(sla_desk: Desk) -> None:
    result = sla_desk.run("sla", "check", as_=CUSTOMER, expect=4)
    assert "customer" in result.stderr


# -- list -----------------------------------------------------------------------------


def test_list_filters_and_sorts_by_service_level(sla_desk: Desk) -> None:
    late = open_at(sla_desk, T0, "--priority", "urgent")  # due T0+1h
    risky = open_at(sla_desk, later(T0, minutes=50), "--priority", "urgent")  # due 1:50
    fine = open_at(sla_desk, later(T0, minutes=80), "--priority", "urgent")  # due 2:20
    none = open_at(sla_desk, T0, "--priority", "low")
    now = later(T0, minutes=95)  # late breached, risky within 15m, fine ok
    ids = lambda *a: [int(x) for x in at(sla_desk, now, "list", *a, "--format", "ids").split()]  # noqa: E731
    assert ids("--sla", "breached") == [late]
    assert ids("--sla", "at-risk") == [risky]
    assert ids("--sla", "ok") == [fine]
    assert ids("--sort", "due") == [late, risky, fine, none]
    assert ids("--sort", "due", "--limit", "2") == [late, risky]
    assert ids("--sort", "-due") == [fine, risky, late, none]
    assert at(sla_desk, now, "list", "--sla", "breached", "--count").strip() == "1"
    rows = {r["id"]: r for r in at_json(sla_desk, now, "list")}
    assert rows[late]["sla_due_at"] == later(T0, hours=1) and rows[late]["sla_breached"]
    assert rows[fine]["sla_breached"] is False
    assert rows[none]["sla_due_at"] is None and rows[none]["sla_breached"] is False
    table = at(sla_desk, now, "list", "--format", "table", env={"COLUMNS": "140"})
    assert "Due" in table.splitlines()[0]
    assert " !" in next(line for line in table.splitlines() if line.startswith(str(late)))
    sla_desk.run("list", "--sla", "late", expect=2)
    # a customer sees only their own tickets through the filter too
    assert at(sla_desk, now, "list", "--sla", "breached", "--format", "ids",
              as_=OTHER) == ""


def test_show_on_a_terminal_has_a_service_level_section(sla_desk: Desk) -> None:
    tid = open_at(sla_desk, T0, "--priority", "urgent")
    page = at(sla_desk, later(T0, hours=2), "show", str(tid), "--format", "table")
    assert "Service levels: policy urgent" in page
    assert "First response:" in page and "BREACHED" in page


# -- import -----------------------------------------------------------------------------


def test_imported_tickets_get_clocks_from_their_own_timestamps(sla_desk: Desk) -> None:
    record = {"type": "ticket", "id": 500, "title": "Old one", "status": "solved",
              "priority": "urgent", "requester": CUSTOMER, "created_at": "2026-01-10T08:00:00Z",
              "updated_at": "2026-01-10T20:00:00Z", "status_changed_at": "2026-01-10T20:00:00Z",
              "activity_at": "2026-01-10T20:00:00Z",
              "comments": [{"author": AGENT, "body": "on it", "internal": False,
                            "created_at": "2026-01-10T10:00:00Z"}]}
    sla_desk.run("import", "-", input=json.dumps({"type": "ticketcli-export", "version": 1})
                 + "\n" + json.dumps(record) + "\n")
    s = sla_desk.ticket(500)["sla"]
    assert s["first_response"] == {"due_at": "2026-01-10T09:00:00Z",
                                   "met_at": "2026-01-10T10:00:00Z", "breached": True,
                                   "paused": False}
    assert s["resolution"]["met_at"] == "2026-01-10T20:00:00Z"
    assert s["resolution"]["breached"] is True  # 12 h against 8 h
    # the same clocks as a ticket rebuilt by a new workflow
    text = sla_desk.run("workflow", "export").stdout
    path = sla_desk.db.parent / "same.toml"
    path.write_text(text)
    sla_desk.run("workflow", "import", str(path))
    assert sla_desk.ticket(500)["sla"] == s


# -- report -----------------------------------------------------------------------------


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    v = sorted(values)
    n = len(v)
    return int(round(v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2))


def _p90(values: list[int]) -> int | None:
    if not values:
        return None
    v = sorted(values)
    return v[-(-9 * len(v) // 10) - 1]


def secs(a: str, b: str) -> int:
    return int((parse(b) - parse(a)).total_seconds())


def build_small_desk(d: Desk) -> list[int]:
    """A week of work: urgent tickets under an around-the-clock policy, low ones
    without a policy; replies, solutions, a reopening, a pause."""
    ids = []
    day = "2026-11-30T08:00:00Z"  # a Monday
    for i in range(8):
        opened = later(day, hours=7 * i)
        prio = "urgent" if i % 2 == 0 else "low"
        tid = open_at(d, opened, "--priority", prio)
        ids.append(tid)
        if i % 4 != 3:
            at(d, later(opened, minutes=20 + 25 * i), "comment", str(tid), "on it", as_=AGENT)
        if i % 3 == 0:
            at(d, later(opened, hours=1 + i), "set-status", str(tid), "solved", as_=AGENT)
        if i == 0:
            at(d, later(opened, hours=3), "comment", str(tid), "not fixed", as_=CUSTOMER)
            at(d, later(opened, hours=9), "set-status", str(tid), "solved", as_=AGENT)
        if i == 4:
            at(d, later(opened, hours=2), "set-status", str(tid), "closed", as_=AGENT)
    return ids


def test_report_agrees_with_show_ticket_by_ticket(sla_desk: Desk) -> None:
    ids = build_small_desk(sla_desk)
    since, until = "2026-11-30T00:00:00Z", "2026-12-03T00:00:00Z"
    now = "2026-12-10T00:00:00Z"
    got = at_json(sla_desk, now, "report", "--since", since, "--until", until, "--by",
                  "priority")
    assert got["since"] == since and got["until"] == until and got["by"] == "priority"
    shows = [at_json(sla_desk, now, "show", str(t)) for t in ids]
    resolved = {"solved", "closed"}
    expected: dict[str, dict[str, Any]] = {}
    for s in shows:
        g = expected.setdefault(s["priority"], {"opened": 0, "solved": 0, "reopened": 0,
                                                "backlog": 0, "fr": [], "res": [],
                                                "met": {}})
        if since <= s["created_at"] < until:
            g["opened"] += 1
        for h in s["history"]:
            if h["event"] == "status" and since <= h["at"] < until:
                g["solved"] += h["to"] in resolved and h["from"] not in resolved
                g["reopened"] += h["from"] in resolved and h["to"] not in resolved
        state = "new"
        for h in s["history"]:
            if h["event"] in ("opened", "status") and h["at"] < until:
                state = h["to"]
        g["backlog"] += s["created_at"] < until and state not in resolved
        if not since <= s["created_at"] < until:
            continue
        staff = [c["created_at"] for c in s["comments"]
                 if c["author"] == AGENT and not c["internal"] and c["created_at"] < until]
        if s["sla"]:  # around the clock: business seconds are wall seconds
            fr = s["sla"]["first_response"]
            if fr["met_at"] and fr["met_at"] <= until:
                g["fr"].append(secs(s["created_at"], fr["met_at"]))
            res = s["sla"]["resolution"]
            if res["met_at"] and res["met_at"] <= until:
                solved_stretch = 0
                reopen = [h for h in s["history"] if h["event"] == "status"]
                last = None
                for h in reopen:
                    if h["to"] in resolved:
                        last = h["at"]
                    elif last:
                        solved_stretch += secs(last, h["at"])
                        last = None
                g["res"].append(secs(s["created_at"], res["met_at"]) - solved_stretch)
            for name in ("first_response", "next_reply", "resolution"):
                t = s["sla"][name]
                decided = t["breached"] or (t["met_at"] and t["met_at"] <= until)
                if decided:
                    ok, n = g["met"].get(name, (0, 0))
                    g["met"][name] = (ok + (not t["breached"]), n + 1)
        else:
            if staff:
                g["fr"].append(secs(s["created_at"], min(staff)))
            ends = [h["at"] for h in s["history"] if h["event"] == "status"
                    and h["to"] in resolved and h["at"] < until]
            if ends and state in resolved:
                g["res"].append(secs(s["created_at"], ends[-1]))
    assert [g["key"] for g in got["groups"]] == sorted(expected)
    for group in got["groups"]:
        e = expected[group["key"]]
        assert (group["opened"], group["solved"], group["reopened"], group["backlog"]) == (
            e["opened"], e["solved"], e["reopened"], e["backlog"]), group["key"]
        assert group["first_response"] == {"median_s": _median(e["fr"]), "p90_s": _p90(e["fr"])}
        assert group["resolution"] == {"median_s": _median(e["res"]), "p90_s": _p90(e["res"])}
        for name in ("first_response", "next_reply", "resolution"):
            ok, n = e["met"].get(name, (0, 0))
            assert group["sla_met"][name] == (ok / n if n else None), (group["key"], name)
    assert sum(g["opened"] for g in got["groups"]) == sum(
        e["opened"] for e in expected.values()) > 0


def test_report_by_week_counts_events_in_each_period(sla_desk: Desk) -> None:
    build_small_desk(sla_desk)
    now = "2026-12-20T00:00:00Z"
    got = at_json(sla_desk, now, "report", "--since", "2026-11-23", "--until", "2026-12-14",
                  "--by", "week")
    assert [g["key"] for g in got["groups"]] == ["2026-W48", "2026-W49", "2026-W50"]
    assert [g["opened"] for g in got["groups"]] == [0, 8, 0]
    assert got["groups"][0]["backlog"] == 0
    assert got["groups"][1]["backlog"] == got["groups"][2]["backlog"] > 0
    by_month = at_json(sla_desk, now, "report", "--since", "2026-11-01", "--until",
                       "2027-01-01", "--by", "month")
    assert [(g["key"], g["opened"]) for g in by_month["groups"]] == [("2026-11", 3),
                                                                     ("2026-12", 5)]


def test_report_formats_and_who_may_see_it(sla_desk: Desk) -> None:
    build_small_desk(sla_desk)
    now = "2026-12-10T00:00:00Z"
    csv = at(sla_desk, now, "report", "--by", "agent", "--format", "csv")
    assert csv.splitlines()[0].startswith("key,opened,solved,reopened,backlog,")
    piped = at(sla_desk, now, "report", "--chart")
    assert "\t" in piped and "Opened" not in piped  # data only
    table = at(sla_desk, now, "report", "--format", "table", "--chart", tty=True,
               env={"COLUMNS": "120"})
    assert "Opened and solved per week" in table and "Backlog" in table
    at(sla_desk, now, "report", as_=CUSTOMER, expect=4)
    at(sla_desk, now, "report", "--by", "year", expect=2)
    at(sla_desk, now, "report", "--format", "ids", expect=2)
    at(sla_desk, now, "report", "--since", "2026-12-05", "--until", "2026-12-01", expect=2)


# -- docs/SLA.md -------------------------------------------------------------------------


def _examples() -> dict[str, str]:
    text = (ROOT / "docs" / "SLA.md").read_text()
    part = text.split("## Complete examples", 1)[1]
    found = {}
    for chunk in part.split("### ")[1:]:
        preset = chunk.split(":", 1)[0].strip()
        found[preset] = chunk.split("```toml\n", 1)[1].split("```", 1)[0]
    return found


def test_the_care_example_escalates_a_breached_ticket(tmp_path: Path) -> None:
    examples = _examples()
    assert set(examples) == {"care", "standard", "basic"}
    care = make_desk(tmp_path, "care", "care.db")
    with_policies(care, tmp_path, "\n" + examples["care"])
    tid = open_at(care, T0, "--priority", "urgent")  # Friday 10:00 Rome
    at(care, later(T0, minutes=5), "set-status", str(tid), "in_progress", as_=AGENT)
    found = at_json(care, later(T0, hours=2), "sla", "check")
    assert [(f["target"], f["event"], f["actions"]) for f in found] == [
        ("first_response", "breached", ["status=escalated"])]
    assert care.status(tid) == "escalated"


def test_the_other_examples_are_what_they_say(tmp_path: Path) -> None:
    examples = _examples()
    std = make_desk(tmp_path, "standard", "std.db")
    with_policies(std, tmp_path, "\n" + examples["standard"])
    assert "vpn and mail" in std.run("workflow", "export").stdout
    basic = make_desk(tmp_path, "basic", "basic.db")
    path = tmp_path / "basic.toml"
    path.write_text(basic.run("workflow", "export").stdout + "\n" + examples["basic"])
    result = basic.run("workflow", "validate", str(path), expect=78)
    assert "sla[0].resolution: not a duration: '1d'" in result.stderr


def _import_open(desk: Desk, n: int) -> None:
    lines = [json.dumps({"type": "ticketcli-export", "version": 1})]
    for i in range(n):
        stamp = later(T0, seconds=i)
        lines.append(json.dumps({
            "type": "ticket", "title": f"Broken {i}", "status": "open", "priority": "urgent",
            "requester": CUSTOMER, "assignee": AGENT, "created_at": stamp,
            "updated_at": stamp, "status_changed_at": stamp, "activity_at": stamp}))
    desk.run("import", "-", input="\n".join(lines) + "\n")


def test_a_killed_sla_check_loses_nothing(sla_desk: Desk) -> None:
    import os
    import signal
    import time

    _import_open(sla_desk, 1500)
    now = later(T0, days=3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ticketcli", "--db", str(sla_desk.db), "--as", ADMIN, "sla",
         "check", "--now", now, "--quiet"], cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        con = sqlite3.connect(sla_desk.db, timeout=30)
        try:
            done = con.execute("SELECT count(*) FROM history "
                               "WHERE event = 'sla_breached'").fetchone()[0]
        finally:
            con.close()
        if done:
            break
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert sla_desk.run("sla", "check", "--now", now, "--quiet").stdout == ""
    con = sqlite3.connect(sla_desk.db)
    rows = con.execute(
        "SELECT ticket_id, json_extract(detail, '$.target'), count(*) FROM history "
        "WHERE event = 'sla_breached' GROUP BY 1, 2").fetchall()
    messages = con.execute("SELECT count(*) FROM outbox WHERE kind = 'sla_breached'"
                           ).fetchone()[0]
    con.close()
    assert len(rows) == 3000 and {r[2] for r in rows} == {1}
    assert messages == 3000  # one notice per breach, to the assignee
    assert json.loads(run_check(sla_desk, now)) == []


def test_customers_do_not_see_the_desks_alerts(sla_desk: Desk) -> None:
    tid = open_at(sla_desk, T0, "--priority", "urgent")
    at(sla_desk, later(T0, hours=2), "sla", "check", "--quiet")
    staff = [h["event"] for h in at_json(sla_desk, later(T0, hours=2), "show", str(tid))
             ["history"]]
    mine = [h["event"] for h in at_json(sla_desk, later(T0, hours=2), "show", str(tid),
                                        as_=CUSTOMER)["history"]]
    assert "sla_breached" in staff and "sla_breached" not in mine
    assert at(sla_desk, later(T0, hours=3), "sla", "check", "--quiet") == ""


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["missed its first response target", "2026-12-04 13:00:00 UTC"]),
    ("it", ["ha mancato l'obiettivo di prima risposta", "2026-12-04 13:00:00 UTC"]),
])
def test_the_notices_speak_both_languages(lang: str, words: list[str]) -> None:
    from ticketcli.mail import templates
    from ticketcli.workflow import load_preset

    wf = load_preset("standard")
    subject, body = templates.render(
        "sla_breached", lang, {"id": 7, "title": "VPN down", "status": "open",
                               "target": "first_response", "due_at": "2026-12-04T13:00:00Z",
                               "recipient": "Agnese"}, wf, None)
    assert subject.startswith("[#7]")
    for w in words:
        assert w in body
    assert "$" not in body
    warn_subject, _ = templates.render("sla_warning", lang, {"id": 7, "target": "resolution",
                                                             "due_at": "x"}, wf, None)
    assert ("resolution" if lang == "en" else "risoluzione") in warn_subject
