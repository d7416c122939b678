"""Each preset walked end to end through the CLI: the life of its tickets as the README's
"Workflows" section describes it.

The clock of every command is a fake one the test moves forward, so the idle
times that close-stale measures are exact; ``close-stale --now`` names the
moment the cron job runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, make_desk

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COLLEAGUE = "carla@example.com"  # Acme, like CUSTOMER


class Clock:
    """The time every command sees; starts at T0."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: float = 0, hours: float = 0) -> None:
        self.now += timedelta(days=days, hours=hours)

    def later(self, days: float) -> str:
        """``--now`` for a cron run ``days`` after the current fake time."""
        return (self.now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    # Every run's Context reads the time from ticketcli.context.utcnow unless told otherwise.
    monkeypatch.setattr("ticketcli.context.utcnow", fake)
    return fake


@pytest.fixture
def desk_at(tmp_path: Path, clock: Clock) -> Callable[[str], Desk]:
    return lambda preset: make_desk(tmp_path, preset, f"{preset}.db")


# -- helpers ------------------------------------------------------------------------


def comment(d: Desk, tid: int, text: str, *args: str, as_: str = AGENT,
            expect: int = 0) -> Any:
    return d.run("comment", str(tid), text, *args, as_=as_, expect=expect)


def move(d: Desk, tid: int, status: str, *args: str, as_: str = AGENT, expect: int = 0) -> Any:
    return d.run("set-status", str(tid), status, *args, as_=as_, expect=expect)


def stale(d: Desk, now: str) -> list[dict[str, Any]]:
    data = d.json("close-stale", "--now", now)
    assert isinstance(data, list)
    return data


def status_moves(d: Desk, tid: int) -> list[tuple[str | None, str | None, str | None]]:
    """(from, to, actor) of every status change in the ticket's history."""
    return [
        (h["from"], h["to"], h["actor"])
        for h in d.ticket(tid)["history"]
        if h["event"] == "status"
    ]


def refused(result: Any, *words: str) -> None:
    message = result.stderr
    assert message.startswith("Error: ") and message.count("\n") == 1, message
    for w in words:
        assert w in message, (w, message)


# -- standard: triage, work, solve, close for good ------------------------


def test_standard_requester_closes_a_solved_ticket(desk_at: Callable[[str], Desk],
                                                   clock: Clock) -> None:
    d = desk_at("standard")
    tid = d.open("Export fails", "--priority", "urgent", "--category", "Gestionale",
                 "--body", "Version 4.2 on Windows 11", "--field", "phone=+39 0376 000000",
                 as_=CUSTOMER)
    t = d.ticket(tid, as_=CUSTOMER)
    assert (t["status"], t["phase"], t["priority"], t["category"]) == (
        "new", "new", "urgent", "Gestionale")
    assert t["fields"] == {"phone": "+39 0376 000000"}

    # new = not yet assigned: staff triage it; the requester cannot.
    refused(move(d, tid, "open", as_=CUSTOMER, expect=4), "only staff")
    d.run("assign", str(tid), AGENT)
    clock.advance(hours=1)
    move(d, tid, "open")
    # pending = waiting for the requester; their reply puts it back in work.
    comment(d, tid, "Which operating system exactly?", "--status", "pending")
    assert d.status(tid) == "pending"
    clock.advance(hours=2)
    comment(d, tid, "Windows 11, build 22631", as_=CUSTOMER)
    assert d.status(tid) == "open"
    # on_hold = waiting for development; a requester comment also reopens it.
    move(d, tid, "on_hold")
    comment(d, tid, "Any news?", as_=CUSTOMER)
    assert d.status(tid) == "open"
    # an agent's reply changes nothing by itself
    comment(d, tid, "We are on it")
    assert d.status(tid) == "open"

    move(d, tid, "solved")
    # A participant follows the ticket but does not close it for the requester.
    d.run("user", "add", COLLEAGUE, "--org", "Acme")
    d.run("share", str(tid), COLLEAGUE, as_=CUSTOMER)
    refused(move(d, tid, "closed", as_=COLLEAGUE, expect=4), "requester")
    # The requester confirms the solution and closes it themselves.
    move(d, tid, "closed", as_=CUSTOMER)
    t = d.ticket(tid, as_=CUSTOMER)
    assert (t["status"], t["phase"]) == ("closed", "closed")
    assert status_moves(d, tid) == [
        ("new", "open", AGENT), ("open", "pending", AGENT), ("pending", "open", CUSTOMER),
        ("open", "on_hold", AGENT), ("on_hold", "open", CUSTOMER), ("open", "solved", AGENT),
        ("solved", "closed", CUSTOMER),
    ]

    # closed is final: no comment, no reopening, by anyone; a follow-up is the way.
    before = d.ticket(tid)
    refused(comment(d, tid, "It broke again", as_=CUSTOMER, expect=5), "--follow-up")
    refused(comment(d, tid, "Reopening", expect=5), "--follow-up")
    refused(move(d, tid, "open", expect=5), "--follow-up")
    refused(move(d, tid, "open", as_=ADMIN, expect=5), "final")
    assert d.ticket(tid) == before
    follow = d.open("Export fails again", "--follow-up", str(tid), as_=CUSTOMER)
    f = d.ticket(follow, as_=CUSTOMER)
    assert (f["status"], f["follow_up_of"], f["category"]) == ("new", tid, "Gestionale")
    assert d.status(tid) == "closed"
    # a follow-up is for final tickets only
    refused(d.run("open", "Too early", "--follow-up", str(follow), as_=CUSTOMER, expect=5),
            str(follow))


def test_standard_solved_closes_after_two_quiet_weeks(desk_at: Callable[[str], Desk],
                                                     clock: Clock) -> None:
    d = desk_at("standard")
    quiet = d.open("Printer offline", as_=CUSTOMER)
    answered = d.open("Scanner offline", as_=CUSTOMER)
    working = d.open("Fax offline", as_=CUSTOMER)
    for tid in (quiet, answered):
        move(d, tid, "solved")
    move(d, working, "open")
    solved_at = clock.now

    # An agent's remark does not restart the requester's two weeks.
    clock.advance(days=10)
    comment(d, quiet, "Closing soon if we hear nothing")
    # The requester comments on the other one: it is back in work.
    comment(d, answered, "Not fixed, sorry", as_=CUSTOMER)
    assert d.status(answered) == "open"

    clock.now = solved_at
    assert stale(d, clock.later(13.95)) == []
    assert d.status(quiet) == "solved"
    changed = stale(d, clock.later(14.05))
    assert changed == [{"id": quiet, "from": "solved", "to": "closed"}]
    assert d.status(quiet) == "closed"
    assert d.status(answered) == "open"
    assert d.status(working) == "open"
    assert status_moves(d, quiet)[-1] == ("solved", "closed", None)
    # run again, or later: each ticket is closed once
    assert stale(d, clock.later(15)) == []
    assert stale(d, clock.later(400)) == []
    assert [m for m in status_moves(d, quiet) if m[1] == "closed"] == [
        ("solved", "closed", None)
    ]
    # closed by the cron job is final too
    clock.advance(days=16)
    refused(comment(d, quiet, "Still broken", as_=CUSTOMER, expect=5), "--follow-up")
    d.open("Printer offline again", "--follow-up", str(quiet), as_=CUSTOMER)


def test_standard_dry_run_changes_nothing(desk_at: Callable[[str], Desk], clock: Clock) -> None:
    d = desk_at("standard")
    tid = d.open("Printer offline", as_=CUSTOMER)
    move(d, tid, "solved")
    data = d.json("close-stale", "--now", clock.later(20), "--dry-run")
    assert data == [{"id": tid, "from": "solved", "to": "closed"}]
    assert d.status(tid) == "solved"


# -- service-desk: registered users, organizations, resolutions ----------------


def test_service_desk_accepts_registered_users_only(desk_at: Callable[[str], Desk]) -> None:
    d = desk_at("service-desk")
    result = d.run("open", "Help", "--requester", "ghost@example.com", as_=AGENT, expect=4)
    refused(result, "ghost@example.com", "user add")
    refused(d.run("open", "Help", as_="ghost@example.com", expect=4), "ghost@example.com")
    assert d.json("list", "--all") == []
    d.run("user", "add", "ghost@example.com", "--org", "Acme")
    tid = d.open("Help", "--requester", "ghost@example.com", as_=AGENT)
    assert d.ticket(tid)["requester"] == "ghost@example.com"
    assert d.ticket(tid)["status"] == "open"


def test_service_desk_shares_within_the_organization(desk_at: Callable[[str], Desk]) -> None:
    d = desk_at("service-desk")
    d.run("user", "add", COLLEAGUE, "--org", "Acme")
    d.run("user", "add", "marco@example.com", "--role", "agent")
    d.run("org", "add", "Beta", "--manager", "marco@example.com")
    d.run("user", "add", "dario@beta.example", "--org", "Beta")

    tid = d.open("Invoices missing", as_=CUSTOMER)
    # Bruno has no organization, Dario is in Beta, Marco manages Beta: all refused.
    for outsider in (OTHER, "dario@beta.example", "marco@example.com"):
        refused(d.run("share", str(tid), outsider, as_=CUSTOMER, expect=4), outsider)
        refused(d.run("share", str(tid), outsider, as_=AGENT, expect=4), outsider)
    d.run("show", str(tid), as_=OTHER, expect=3)  # hidden: answered as missing
    d.run("share", str(tid), COLLEAGUE, as_=CUSTOMER)
    assert d.ticket(tid)["participants"] == [COLLEAGUE]
    # a participant sees the ticket while they remain one
    assert d.ticket(tid, as_=COLLEAGUE)["title"] == "Invoices missing"
    assert [t["id"] for t in d.json("list", as_=COLLEAGUE)] == [tid]
    # a participant's feedback on a resolution counts as the requester side's
    move(d, tid, "resolved", "--resolution", "done")
    comment(d, tid, "Not for my invoices", as_=COLLEAGUE)
    assert d.status(tid) == "in_progress"
    d.run("share", str(tid), COLLEAGUE, "--remove", as_=CUSTOMER)
    d.run("show", str(tid), as_=COLLEAGUE, expect=3)
    assert d.json("list", as_=COLLEAGUE) == []

    # Beta's project manager may be brought into a Beta ticket.
    beta = d.open("Quote for a new report", as_="dario@beta.example")
    d.run("share", str(beta), "marco@example.com", as_="dario@beta.example")
    refused(d.run("share", str(beta), CUSTOMER, as_="dario@beta.example", expect=4), CUSTOMER)
    assert d.ticket(beta)["participants"] == ["marco@example.com"]


def test_service_desk_resolution_and_auto_close(desk_at: Callable[[str], Desk],
                                               clock: Clock) -> None:
    d = desk_at("service-desk")
    tid = d.open("Report crashes", as_=CUSTOMER)
    assert (d.ticket(tid)["status"], d.ticket(tid)["phase"]) == ("open", "new")
    move(d, tid, "assigned")
    move(d, tid, "in_progress")
    move(d, tid, "dev_request")
    assert d.ticket(tid)["phase"] == "hold"
    move(d, tid, "in_progress")
    # not closed before it is resolved
    refused(move(d, tid, "closed", expect=5), "in_progress")
    refused(move(d, tid, "resolved", "--resolution", "wontfix", expect=2), "out_of_scope")
    assert d.status(tid) == "in_progress"
    move(d, tid, "resolved", "--resolution", "done")
    t = d.ticket(tid, as_=CUSTOMER)
    assert (t["status"], t["resolution"]) == ("resolved", "done")
    # The customer's feedback: not solved after all.
    clock.advance(days=2)
    comment(d, tid, "Still crashing on save", as_=CUSTOMER)
    assert d.status(tid) == "in_progress"
    move(d, tid, "resolved", "--resolution", "out_of_scope", "--note", "Needs a quote")
    assert d.ticket(tid)["resolution"] == "out_of_scope"
    # internal note is not shown to the customer
    assert all(not c["internal"] for c in d.ticket(tid, as_=CUSTOMER)["comments"])

    assert stale(d, clock.later(29.95)) == []
    assert stale(d, clock.later(30.05)) == [{"id": tid, "from": "resolved", "to": "closed"}]
    t = d.ticket(tid, as_=CUSTOMER)
    assert (t["status"], t["resolution"]) == ("closed", "out_of_scope")
    refused(comment(d, tid, "Hello?", as_=CUSTOMER, expect=5), "--follow-up")
    refused(move(d, tid, "in_progress", expect=5), "--follow-up")
    follow = d.open("Report crashes (again)", "--follow-up", str(tid), as_=CUSTOMER)
    assert d.ticket(follow)["follow_up_of"] == tid


def test_service_desk_requester_closes_resolved(desk_at: Callable[[str], Desk]) -> None:
    d = desk_at("service-desk")
    tid = d.open("Password reset", as_=CUSTOMER)
    refused(move(d, tid, "cancelled", as_=CUSTOMER, expect=4), "staff")
    move(d, tid, "resolved", "--resolution", "done")
    move(d, tid, "closed", as_=CUSTOMER)
    assert d.status(tid) == "closed"


def test_service_desk_cancelled_is_final(desk_at: Callable[[str], Desk]) -> None:
    d = desk_at("service-desk")
    tid = d.open("Sent by fax", as_=CUSTOMER)
    keep = d.open("Real problem", as_=CUSTOMER)
    move(d, tid, "cancelled")
    t = d.ticket(tid)
    assert (t["status"], t["phase"]) == ("cancelled", "cancelled")
    assert [x["id"] for x in d.json("list")] == [keep]
    assert sorted(x["id"] for x in d.json("list", "--all")) == [tid, keep]
    refused(move(d, tid, "open", expect=5), "--follow-up")
    refused(comment(d, tid, "Why?", as_=CUSTOMER, expect=5), "--follow-up")


# -- care: customer replies always reopen; silence closes --------------------------


def test_care_customer_reply_puts_it_back_in_work(desk_at: Callable[[str], Desk]) -> None:
    d = desk_at("care")
    tid = d.open("Cannot log in", as_=CUSTOMER)
    assert (d.ticket(tid)["status"], d.ticket(tid)["phase"]) == ("received", "new")
    move(d, tid, "in_progress")
    move(d, tid, "on_hold")  # a supplier check: internal, not the customer's fault
    comment(d, tid, "Any update?", as_=CUSTOMER)
    assert d.status(tid) == "on_hold"
    move(d, tid, "escalated")
    assert d.ticket(tid)["phase"] == "open"
    comment(d, tid, "Please confirm the account name", "--status", "waiting_customer")
    comment(d, tid, "It is anna.neri", as_=CUSTOMER)
    assert d.status(tid) == "in_progress"
    comment(d, tid, "Fixed: try again", "--status", "answered")
    comment(d, tid, "Works now, thanks... but one more thing", as_=CUSTOMER)
    assert d.status(tid) == "in_progress"
    move(d, tid, "closed")
    t = d.ticket(tid)
    assert (t["status"], t["phase"]) == ("closed", "closed")
    # closed is not final here: the customer may answer at any time
    comment(d, tid, "It happened again", as_=CUSTOMER)
    assert d.status(tid) == "in_progress"
    assert [m[:2] for m in status_moves(d, tid)] == [
        ("received", "in_progress"), ("in_progress", "on_hold"), ("on_hold", "escalated"),
        ("escalated", "waiting_customer"), ("waiting_customer", "in_progress"),
        ("in_progress", "answered"), ("answered", "in_progress"), ("in_progress", "closed"),
        ("closed", "in_progress"),
    ]
    # a happy customer may close an answered request; staff may reopen a closed one
    move(d, tid, "answered")
    move(d, tid, "closed", as_=CUSTOMER)
    refused(move(d, tid, "in_progress", as_=CUSTOMER, expect=4), "staff")
    move(d, tid, "in_progress")
    assert d.status(tid) == "in_progress"


def test_care_silence_closes_waiting_and_answered(desk_at: Callable[[str], Desk],
                                                 clock: Clock) -> None:
    d = desk_at("care")
    ids = {s: d.open(f"Ticket {s}", as_=CUSTOMER)
           for s in ("waiting_customer", "answered", "on_hold", "in_progress", "escalated")}
    for s, tid in ids.items():
        move(d, tid, s)
    received = d.open("Just arrived", as_=CUSTOMER)
    assert stale(d, clock.later(13.95)) == []
    changed = stale(d, clock.later(14.05))
    assert sorted((c["id"], c["from"], c["to"]) for c in changed) == sorted([
        (ids["waiting_customer"], "waiting_customer", "closed"),
        (ids["answered"], "answered", "closed"),
    ])
    for s in ("on_hold", "in_progress", "escalated"):
        assert d.status(ids[s]) == s
    assert d.status(received) == "received"
    # closed by silence, reopened by the customer's answer
    clock.advance(days=20)
    comment(d, ids["answered"], "Sorry, I was on holiday", as_=CUSTOMER)
    assert d.status(ids["answered"]) == "in_progress"


def test_care_stale_time_is_configurable(tmp_path: Path, clock: Clock) -> None:
    d = Desk(tmp_path / "care21.db")
    d.run("init", "--preset", "care", "--stale-after", "21d")
    tid = d.open("Waiting for you")
    move(d, tid, "waiting_customer", as_=ADMIN)
    assert stale(d, clock.later(15)) == []
    assert stale(d, clock.later(20.95)) == []
    assert stale(d, clock.later(21.05)) == [
        {"id": tid, "from": "waiting_customer", "to": "closed"}
    ]


@pytest.mark.parametrize("bad", ["0d", "-3d", "soon", "100000000d"])
def test_init_refuses_a_bad_stale_time(tmp_path: Path, bad: str) -> None:
    d = Desk(tmp_path / "bad.db")
    refused(d.run("init", "--preset", "care", "--stale-after", bad, expect=2),
            "stale")
    # nothing stored: the database can still be set up properly
    d.run("init", "--preset", "care")
    d.open("Works")


def test_init_refuses_stale_time_without_stale_rules(tmp_path: Path) -> None:
    d = Desk(tmp_path / "chat.db")
    refused(d.run("init", "--preset", "chat", "--stale-after", "3d", expect=2),
            "no stale rule")


# -- chat: replies flip open and pending; never closed automatically -------------------


def test_chat_replies_flip_the_status(desk_at: Callable[[str], Desk], clock: Clock) -> None:
    d = desk_at("chat")
    tid = d.open("Chat with visitor", "--requester", CUSTOMER, as_=AGENT)
    assert d.status(tid) == "open"
    comment(d, tid, "Hello, how can I help?")
    assert d.status(tid) == "pending"
    comment(d, tid, "My order is late", as_=CUSTOMER)
    assert d.status(tid) == "open"
    comment(d, tid, "Checking with the courier")
    assert d.status(tid) == "pending"
    comment(d, tid, "Courier confirms Tuesday")  # an agent reply to a pending ticket
    assert d.status(tid) == "open"
    # reply and set the status in one step
    comment(d, tid, "Delivered, closing", "--status", "closed")
    assert d.status(tid) == "closed"
    comment(d, tid, "Thanks!", as_=CUSTOMER)
    assert d.status(tid) == "open"
    # set it without replying; any reply to a closed ticket opens it again
    move(d, tid, "closed")
    comment(d, tid, "One more note for the visitor")
    assert d.status(tid) == "open"
    move(d, tid, "pending")
    move(d, tid, "closed")
    move(d, tid, "open")  # reopened by hand
    comment(d, tid, "Here is the tracking link", "--status", "pending")
    assert d.status(tid) == "pending"
    refused(move(d, tid, "closed", as_=CUSTOMER, expect=4), "staff")
    assert [x["id"] for x in d.json("list", "--status", "pending")] == [tid]
    assert d.json("list", "--status", "open") == []

    # never closed automatically, however long it waits
    assert stale(d, clock.later(3650)) == []
    assert d.status(tid) == "pending"


def test_chat_spam_is_closed_by_staff(desk_at: Callable[[str], Desk]) -> None:
    d = desk_at("chat")
    tid = d.open("Buy cheap watches", "--requester", OTHER, as_=AGENT)
    move(d, tid, "closed", "--note", "spam")
    assert d.status(tid) == "closed"
    assert d.json("list") == []
    assert [x["id"] for x in d.json("list", "--all")] == [tid]


# -- basic: in progress until staff close it ---------------------------------------


def test_basic_severity_and_staff_only_moves(desk_at: Callable[[str], Desk],
                                           clock: Clock) -> None:
    d = desk_at("basic")
    normal = d.open("Error sending operations", as_=CUSTOMER)
    blocking = d.open("Cannot send documents", "--priority", "blocking", as_=CUSTOMER)
    assert d.ticket(normal)["priority"] == "normal"
    assert d.ticket(blocking)["priority"] == "blocking"
    refused(d.run("open", "Urgent!", "--priority", "urgent", as_=CUSTOMER, expect=2),
            "blocking")
    assert d.status(blocking) == "in_progress"

    comment(d, blocking, "We are calling you back")
    comment(d, blocking, "Thanks", as_=CUSTOMER)
    assert d.status(blocking) == "in_progress"
    refused(move(d, blocking, "closed", as_=CUSTOMER, expect=4), "staff")
    move(d, blocking, "closed")
    assert d.status(blocking) == "closed"
    # the customer may still write, but only staff reopen
    comment(d, blocking, "It happens again", as_=CUSTOMER)
    assert d.status(blocking) == "closed"
    refused(move(d, blocking, "in_progress", as_=CUSTOMER, expect=4), "staff")
    move(d, blocking, "in_progress")
    assert d.status(blocking) == "in_progress"
    assert status_moves(d, blocking) == [
        ("in_progress", "closed", AGENT), ("closed", "in_progress", AGENT),
    ]
    move(d, normal, "closed")
    assert stale(d, clock.later(3650)) == []


def test_basic_labels_in_italian(desk_at: Callable[[str], Desk]) -> None:
    d = desk_at("basic")
    tid = d.open("Errore invio")
    table = d.run("--lang", "it", "show", str(tid), "--format", "table").stdout
    assert "In corso" in table
    move(d, tid, "closed")
    table = d.run("--lang", "it", "list", "--all", "--format", "table").stdout
    assert "Chiuso" in table
