"""Bugs found along the way, each pinned by a test."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from conftest import AGENT, CUSTOMER, OTHER, Desk


def test_service_desk_resolved_tickets_always_carry_a_resolution(
    desk_factory: Callable[[str], Desk],
) -> None:
    desk = desk_factory("service-desk")
    plain = desk.open("Export fails", as_=CUSTOMER)
    quoted = desk.open("Needs a new report", as_=CUSTOMER)
    desk.run("set-status", str(plain), "resolved", as_=AGENT)
    desk.run("set-status", str(quoted), "resolved", "--resolution", "out_of_scope", as_=AGENT)
    assert desk.ticket(plain)["resolution"] == "done"
    assert desk.ticket(quoted)["resolution"] == "out_of_scope"
    desk.run("close-stale", "--now", "2099-01-01")
    assert desk.ticket(plain)["status"] == "closed"
    assert desk.ticket(quoted)["resolution"] == "out_of_scope"
    bad = desk.run("set-status", str(plain), "resolved", "--resolution", "whatever",
                   as_=AGENT, expect=2)
    assert "done" in bad.stderr


def test_a_ticket_in_a_status_the_workflow_lacks_is_a_clear_conflict(desk: Desk) -> None:
    tid = desk.open("Printer on fire")
    with sqlite3.connect(desk.db) as conn:
        conn.execute("UPDATE tickets SET status = 'limbo' WHERE id = ?", (tid,))
    result = desk.run("set-status", str(tid), "open", expect=5)
    assert "limbo" in result.stderr and "--map" in result.stderr


def test_close_stale_refuses_times_out_of_range(desk: Desk) -> None:
    for now in ("0001-01-05", "9999-12-31T23:59:59"):
        result = desk.run("close-stale", "--now", now, expect=2)
        assert result.stderr.startswith("Error:") and "out of range" in result.stderr


def test_huge_ticket_ids_are_simply_not_found(desk: Desk) -> None:
    result = desk.run("show", str(2**63), expect=3)
    assert "not found" in result.stderr


def test_global_options_may_follow_the_command(desk: Desk) -> None:
    from typer.testing import CliRunner

    from ticketcli.cli import app

    runner = CliRunner()
    opened = runner.invoke(app, ["open", "Late options", "--db", str(desk.db), "--as", AGENT])
    assert opened.exit_code == 0, opened.stderr
    tid = opened.stdout.strip()
    shown = runner.invoke(app, ["show", tid, f"--db={desk.db}", f"--as={AGENT}", "-f", "json"])
    assert shown.exit_code == 0, shown.stderr
    assert '"title": "Late options"' in shown.stdout
    # After "--" everything is text, even words that look like global options.
    said = runner.invoke(app, ["--db", str(desk.db), "--as", AGENT, "comment", tid, "--",
                               "--db"])
    assert said.exit_code == 0, said.stderr
    assert desk.ticket(int(tid))["comments"][0]["body"] == "--db"


def test_a_status_the_ticket_already_has_says_its_note_was_not_added(desk: Desk) -> None:
    tid = desk.open("Printer on fire")
    desk.run("set-status", str(tid), "solved", "--note", "first", as_=AGENT)
    again = desk.run("set-status", str(tid), "solved", "--note", "second", as_=AGENT)
    assert again.stderr.strip() == f"Ticket {tid}: already solved; the note was not added."
    assert [c["body"] for c in desk.ticket(tid)["comments"]] == ["first"]
    other = desk.open("Scanner on fire")
    many = desk.run("set-status", str(tid), str(other), "solved", "--note", "third",
                    "--resolution", "done", "--yes", as_=AGENT)
    assert many.stdout.splitlines() == [
        f"{tid}\tok\talready solved; the note was not added; the resolution was not changed",
        f"{other}\tok\tnew -> solved",
    ]
    assert [c["body"] for c in desk.ticket(other)["comments"]] == ["third"]
    plain = desk.run("set-status", str(tid), "solved", as_=AGENT)
    assert plain.stderr.strip() == f"Ticket {tid}: already solved."


def test_service_desk_sharing_from_a_requester_without_organization_says_so(
    desk_factory: Callable[[str], Desk],
) -> None:
    desk = desk_factory("service-desk")
    tid = desk.open("No organization here", as_=OTHER)
    refused = desk.run("share", str(tid), AGENT, as_=OTHER, expect=4)
    assert "no organization" in refused.stderr and "members of no" not in refused.stderr


def test_a_free_form_resolution_is_one_line_of_text(desk: Desk) -> None:
    tid = desk.open("Printer on fire")
    for bad in ("  ", "fixed\x07", "x" * 201):
        refused = desk.run("set-status", str(tid), "solved", "--resolution", bad, as_=AGENT,
                           expect=2)
        assert refused.stderr.startswith("Error:") and "resolution" in refused.stderr
        assert desk.status(tid) == "new"
    desk.run("set-status", str(tid), "solved", "--resolution", " toner\n  replaced ",
             as_=AGENT)
    assert desk.ticket(tid)["resolution"] == "toner replaced"


def test_a_category_is_one_short_line(desk: Desk) -> None:
    for bad in ("net\x07work", "x" * 101):
        refused = desk.run("open", "Printer on fire", "--category", bad, expect=2)
        assert refused.stderr.startswith("Error:") and "category" in refused.stderr
    assert desk.json("list", "--all") == []
    tid = desk.open("Printer on fire", "--category", " net\n work ")
    assert desk.ticket(tid)["category"] == "net work"
    blank = desk.open("Scanner on fire", "--category", "  ")
    assert desk.ticket(blank)["category"] is None
