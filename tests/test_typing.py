"""What a person naturally types: suggestions for mistakes, ``#12``, ``a,b``, ``--mine``,
times as people say them, text that starts with ``-``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import AGENT, CUSTOMER, Desk, run_cli

from ticketcli.clock import iso, parse_when
from ticketcli.errors import UsageError

NOW = datetime(2026, 5, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
def rome(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Rome")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


# -- did you mean -------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [
    (["lst"], "list"), (["shwo", "1"], "show"), (["comit", "1", "x"], "comment"),
    (["user", "ad", "x@y.z"], "add"), (["list", "--stauts", "open"], "--status"),
    (["show", "1", "--formt", "json"], "--format"),
])
def test_a_mistyped_command_or_option_suggests_the_nearest(desk: Desk, typed: list[str],
                                                           meant: str) -> None:
    error = desk.run(*typed, expect=2).stderr
    assert error.startswith("Error: ") and error.count("\n") == 1
    assert f"did you mean {meant}" in error


def test_nothing_near_lists_the_commands(desk: Desk) -> None:
    error = desk.run("xyzzy", expect=2).stderr
    assert "no such command 'xyzzy'" in error and "list" in error and "show" in error


# -- ids, lists, me ---------------------------------------------------------------------------


def test_a_ticket_id_may_be_written_with_a_hash(desk: Desk) -> None:
    tid = desk.open("x")
    assert desk.json("show", f"#{tid}")["id"] == tid
    desk.run("comment", f"#{tid}", "hello")
    desk.run("set-status", f"#{tid}", "open")
    desk.run("assign", f"#{tid}", "me")
    desk.run("edit", f"#{tid}", "--title", "y")
    desk.run("set-status", f"#{tid}", "closed")
    follow = desk.open("z", "--follow-up", f"#{tid}")
    assert desk.ticket(follow)["follow_up_of"] == tid
    desk.run("show", "#x", expect=2)
    desk.run("comment", "##1", "x", expect=2)
    # Both ways in agree (the Typer app and the fast path).
    out = run_cli("--db", str(desk.db), "--as", "admin@example.com", "show", f"#{tid}",
                  "--format", "ids")
    assert out.stdout == f"{tid}\n".encode()


def test_status_takes_comma_separated_values_and_mine_is_assignee_me(desk: Desk) -> None:
    a, b, c = desk.open("a"), desk.open("b"), desk.open("c")
    desk.run("set-status", str(a), "open")
    desk.run("set-status", str(b), "pending")
    both = desk.run("list", "--status", "open,pending", "--format", "ids").stdout
    assert both == desk.run("list", "--status", "open", "--status", "pending", "--format",
                            "ids").stdout == f"{b}\n{a}\n"
    assert desk.run("list", "--status", "open, Aperto,in attesa", "--format",
                    "ids").stdout == f"{b}\n{a}\n"
    assert desk.run("list", "--phase", "new,pending", "--format", "ids").stdout == \
        f"{c}\n{b}\n"
    desk.run("take", str(c), as_=AGENT)
    assert desk.run("list", "--mine", "--format", "ids", as_=AGENT).stdout == f"{c}\n"
    assert desk.run("list", "--assignee", "me", "--format", "ids", as_=AGENT).stdout == \
        f"{c}\n"
    assert desk.run("list", "--mine", "--format", "ids").stdout == ""
    desk.run("list", "--mine", "--assignee", CUSTOMER, expect=2)


# -- times --------------------------------------------------------------------------------------


def test_times_as_people_say_them(rome: None) -> None:
    assert parse_when("30m", NOW) == NOW - timedelta(minutes=30)
    assert parse_when("12h", NOW) == NOW - timedelta(hours=12)
    assert parse_when("7d", NOW) == NOW - timedelta(days=7)
    assert parse_when("2w", NOW) == NOW - timedelta(weeks=2)
    # Rome is UTC+2 in May: local midnight is 22:00 UTC the day before.
    assert iso(parse_when("today", NOW)) == "2026-05-19T22:00:00Z"
    assert iso(parse_when("Yesterday", NOW)) == "2026-05-18T22:00:00Z"
    assert iso(parse_when("ieri", NOW)) == "2026-05-18T22:00:00Z"
    assert iso(parse_when("2026-12-01", NOW)) == "2026-11-30T23:00:00Z"  # winter: UTC+1
    assert iso(parse_when("2026-12-01T09:00:00Z", NOW)) == "2026-12-01T09:00:00Z"
    assert iso(parse_when("2026-12-01T09:00:00", NOW)) == "2026-12-01T09:00:00Z"
    assert iso(parse_when("2026-12-01T09:00:00+01:00", NOW)) == "2026-12-01T08:00:00Z"
    for bad in ("7x", "d", "-7d", "7.5d", "tomorrow", "2026-13-01", "1.5w", "", "7 days",
                "0001-01-01", "99999999d"):
        with pytest.raises(UsageError):
            parse_when(bad, NOW)


def test_time_filters_take_ages_and_dates(desk: Desk, rome: None) -> None:
    old, new = desk.open("old"), desk.open("new")
    import sqlite3

    ten_days = iso(datetime.now(UTC) - timedelta(days=10))
    with sqlite3.connect(desk.db) as conn:
        conn.execute("UPDATE tickets SET created_at = ?, updated_at = ? WHERE id = ?",
                     (ten_days, ten_days, old))
    conn.close()

    def ids(*args: str) -> str:
        return str(desk.run("list", *args, "--format", "ids").stdout)

    assert ids("--updated-before", "7d") == f"{old}\n"
    assert ids("--created-since", "7d") == f"{new}\n"
    assert ids("--created-since", "yesterday") == f"{new}\n"
    assert ids("--created-since", "today") == f"{new}\n"
    assert ids("--updated-since", "2w") == f"{new}\n{old}\n"
    assert ids("--created-before", "1970-01-02") == ""
    assert ids("--created-since", ten_days[:10]) == f"{new}\n{old}\n"
    bad = desk.run("list", "--created-since", "last week", expect=2).stderr
    assert "7d" in bad and "yesterday" in bad
    desk.run("close-stale", "--now", "2w", "--dry-run")
    desk.run("close-stale", "--now", "today", "--dry-run")


# -- text that begins with - ---------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "Typer app"])
def test_positional_text_beginning_with_a_dash_is_text(desk: Desk, fast: bool) -> None:
    from ticketcli.__main__ import run
    from ticketcli.context import Context

    base = ["--db", str(desk.db), "--as", "admin@example.com"]

    def cli(*args: str) -> int:
        import io

        c = Context(env=dict(os.environ), stdout=io.StringIO(), stderr=io.StringIO(),
                    stdin=io.StringIO())
        return run([*base, *args], c, fast=fast)

    assert cli("open", "-5 °C in the server room") == 0
    tid = desk.json("list")[0]["id"]
    assert desk.ticket(tid)["title"] == "-5 °C in the server room"
    assert cli("comment", str(tid), "- step one") == 0
    assert cli("comment", str(tid), "--", "-1") == 0
    assert cli("open", "--", "-5C") == 0
    assert cli("open", "--body=a b") == 2  # an option's own spelling stays an option
    assert cli("comment", str(tid), "-x") == 2  # no space: an (unknown) option
    bodies = [c["body"] for c in desk.ticket(tid)["comments"]]
    assert bodies == ["- step one", "-1"]
    assert desk.json("list")[0]["title"] == "-5C"


def test_the_help_of_open_and_comment_says_so(desk: Desk) -> None:
    for command in ("open", "comment"):
        text = desk.run(command, "--help").stdout
        assert "begins with -" in text and "--" in text


def test_take_and_assign_say_what_they_did(desk: Desk) -> None:
    tid = desk.open("x")
    assert desk.run("take", str(tid), as_=AGENT).stderr == \
        f"Ticket {tid}: assigned to you ({AGENT}).\n"
    assert desk.run("take", str(tid), as_=AGENT).stderr == \
        f"Ticket {tid} is already assigned to you ({AGENT}).\n"
    assert desk.run("assign", str(tid), "admin@example.com", as_=AGENT).stderr == \
        f"Ticket {tid}: assigned to admin@example.com.\n"
    assert desk.run("assign", str(tid)).stderr == f"Ticket {tid}: unassigned.\n"
    assert desk.run("assign", str(tid)).stderr == f"Ticket {tid} has no assignee.\n"
    assert desk.run("assign", str(tid), "me").stdout == ""
