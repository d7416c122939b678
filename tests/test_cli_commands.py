"""Every command as the README documents it (Commands, Output, Exit codes), driven through
the CLI on real database files.

One test (or a few) per command and option: what it prints on stdout, what it
stores, and what `show` reports afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, dump, make_desk

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

def future(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(desk: Desk, *args: str, as_: str | None = ADMIN) -> list[int]:
    out = desk.run("list", *args, "--format", "ids", as_=as_).stdout
    return [int(line) for line in out.splitlines()]


def events(ticket: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [h for h in ticket["history"] if h["event"] == name]


# -- init ---------------------------------------------------------------------------


def test_init_creates_a_ticketcli_database(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "new.db")
    result = desk.run("init")
    assert result.stdout == ""  # messages go to stderr
    assert desk.db.exists()
    con = sqlite3.connect(desk.db)
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_schema")}
    finally:
        con.close()
    assert version >= 1
    assert "tickets" in tables
    # The default preset is standard: a new ticket starts in 'new'.
    tid = desk.open("First")
    assert desk.status(tid) == "new"


@pytest.mark.parametrize(
    ("preset", "initial"),
    [("standard", "new"), ("service-desk", "open"), ("care", "received"), ("chat", "open"),
     ("basic", "in_progress")],
)
def test_init_preset_sets_the_workflow(tmp_path: Path, preset: str, initial: str) -> None:
    desk = Desk(tmp_path / f"{preset}.db")
    desk.run("init", "--preset", preset)
    tid = desk.open("Hello")
    assert desk.status(tid) == initial


def test_init_refuses_to_overwrite_a_database_with_tickets(desk: Desk) -> None:
    tid = desk.open("Keep me")
    result = desk.run("init", "--preset", "chat", expect=None)
    assert result.exit_code != 0
    assert result.stderr.startswith("Error:")
    # Still the standard workflow, still the ticket.
    assert desk.status(tid) == "new"
    assert desk.ticket(tid)["title"] == "Keep me"


def test_only_an_admin_may_init_a_desk_in_use(desk: Desk) -> None:
    before = dump(desk.db)
    for actor in (CUSTOMER, AGENT, "ghost@example.com"):
        result = desk.run("init", "--preset", "basic", as_=actor, expect=4)
        assert result.stderr.startswith("Error:"), result.stderr
    assert dump(desk.db) == before
    # The admin may still choose another workflow while the desk holds no tickets.
    desk.run("init", "--preset", "basic")
    assert desk.status(desk.open("Hello")) == "in_progress"


def test_init_unknown_preset_is_a_usage_error(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "x.db")
    result = desk.run("init", "--preset", "nope", expect=2)
    assert result.stderr.startswith("Error:")


def test_version_and_help() -> None:
    from typer.testing import CliRunner

    from ticketcli.cli import app

    runner = CliRunner()
    v = runner.invoke(app, ["--version"])
    assert v.exit_code == 0
    assert v.stdout.startswith("ticketcli ")
    h = runner.invoke(app, ["-h"])
    assert h.exit_code == 0
    for command in ("init", "open", "list", "show", "comment", "set-status", "share",
                    "close-stale", "user", "org"):
        assert command in h.stdout


# -- open -------------------------------------------------------------------------


def test_open_prints_the_new_id_alone(desk: Desk) -> None:
    first = desk.run("open", "Printer on fire")
    assert first.stdout == "1\n"
    second = desk.run("open", "Scanner on fire", as_=CUSTOMER)
    assert second.stdout == "2\n"


def test_open_stores_every_option(desk: Desk) -> None:
    tid = desk.open("VPN drops", "--body", "Since Monday", "--priority", "high",
                    "--category", "Network", "--field", "phone=+39 055 123456",
                    "--field", "contact=email", as_=AGENT)
    t = desk.ticket(tid)
    assert t["title"] == "VPN drops"
    assert t["description"] == "Since Monday"
    assert t["priority"] == "high"
    assert t["category"] == "Network"
    assert t["requester"] == AGENT
    assert t["assignee"] is None
    assert t["fields"] == {"phone": "+39 055 123456", "contact": "email"}
    assert t["status"] == "new"
    assert t["phase"] == "new"


def test_open_field_value_may_contain_equals(desk: Desk) -> None:
    tid = desk.open("x", "--field", "query=a=b")
    assert desk.ticket(tid)["fields"] == {"query": "a=b"}


def test_open_default_priority_is_the_workflows(desk: Desk) -> None:
    assert desk.ticket(desk.open("x"))["priority"] == "normal"


def test_open_for_a_requester(desk: Desk) -> None:
    tid = desk.open("On behalf", "--requester", CUSTOMER, as_=AGENT)
    t = desk.ticket(tid)
    assert t["requester"] == CUSTOMER
    assert t["organization"] == "Acme"
    # The customer sees it as theirs.
    assert ids(desk, as_=CUSTOMER) == [tid]


def test_open_body_file(desk: Desk, tmp_path: Path) -> None:
    body = "first line\r\nsecond line\n\n  indented\ttab\n"
    f = tmp_path / "body.txt"
    f.write_bytes(body.encode())
    tid = desk.open("From file", "--body-file", str(f))
    assert desk.ticket(tid)["description"] == body


def test_open_body_from_stdin(desk: Desk) -> None:
    body = "dmesg says:\n[  1.0] ünïcödé ✓\n<script>alert(1)</script>\n"
    out = desk.run("open", "Kernel warnings", "--body-file", "-", input=body.encode()).stdout
    tid = int(out)
    assert out == f"{tid}\n"
    assert desk.ticket(tid)["description"] == body


@pytest.mark.parametrize(
    "text",
    [
        "Line one\n\nLine three\n",
        "  leading and trailing spaces  ",
        "<b>bold</b> **markdown** [link](http://x) $(rm -rf /) `cmd` ${HOME}",
        "ünïcödé 🖨️ 日本語 עברית",
        "quotes \" ' and back\\slash and %s %d {0} \\n literal",
        "--not-an-option",
        "no trailing newline",
    ],
)
def test_text_round_trips_exactly(desk: Desk, text: str) -> None:
    tid = desk.open("Round trip", "--body", text)
    desk.run("comment", str(tid), "--body", text)
    desk.run("comment", str(tid), "--internal", "--body", text, as_=AGENT)
    t = desk.ticket(tid)
    assert t["description"] == text
    assert [c["body"] for c in t["comments"]] == [text, text]
    # jsonl carries the same text.
    line = desk.run("show", str(tid), "--format", "jsonl").stdout
    assert json.loads(line)["description"] == text


def test_title_unicode_and_markup_round_trip(desk: Desk) -> None:
    title = "Stampante <b>in fiamme</b> 🔥 & «ünïcödé» 'quoted' \"double\""
    tid = desk.open(title)
    assert desk.ticket(tid)["title"] == title
    listed = desk.json("list")
    assert listed[0]["title"] == title


def test_open_attachments_store_name_size_and_sha256(desk: Desk, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"line 1\nline 2\n")
    blob = tmp_path / "data.bin"
    content = bytes(range(256)) * 40
    blob.write_bytes(content)
    empty = tmp_path / "empty.dat"
    empty.write_bytes(b"")
    tid = desk.open("With files", "--attach", str(log), "--attach", str(blob),
                    "--attach", str(empty))
    t = desk.ticket(tid)
    got = {a["name"]: a for a in t["attachments"]}
    assert set(got) == {"log.txt", "data.bin", "empty.dat"}
    assert got["log.txt"]["size"] == 14
    assert got["log.txt"]["sha256"] == hashlib.sha256(b"line 1\nline 2\n").hexdigest()
    assert got["data.bin"]["size"] == len(content)
    assert got["data.bin"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert got["empty.dat"]["size"] == 0
    assert got["empty.dat"]["sha256"] == hashlib.sha256(b"").hexdigest()
    # The table lists them too.
    table = desk.run("show", str(tid), "--format", "table").stdout
    assert "log.txt" in table and "data.bin" in table
    # And the content is stored byte for byte.
    con = sqlite3.connect(desk.db)
    try:
        stored = con.execute("SELECT content FROM attachments WHERE name = 'data.bin'").fetchone()
    finally:
        con.close()
    assert bytes(stored[0]) == content


def test_open_follow_up_links_to_a_final_ticket(desk: Desk) -> None:
    old = desk.open("Original", "--category", "Printers", as_=CUSTOMER)
    desk.run("set-status", str(old), "closed", as_=AGENT)
    new = desk.open("Still broken", "--follow-up", str(old), as_=CUSTOMER)
    assert new != old
    t = desk.ticket(new)
    assert t["follow_up_of"] == old
    assert t["status"] == "new"
    assert t["category"] == "Printers"
    original = desk.ticket(old)
    assert original["status"] == "closed"
    assert any(h["detail"].get("ticket") == new for h in original["history"])
    assert "#" + str(old) in desk.run("show", str(new), "--format", "table").stdout


def test_open_follow_up_of_an_active_ticket_is_refused(desk: Desk) -> None:
    old = desk.open("Original")
    result = desk.run("open", "Again", "--follow-up", str(old), expect=5)
    assert result.stderr.startswith("Error:")
    assert ids(desk, "--all") == [old]


# -- list ---------------------------------------------------------------------------


def test_list_shows_active_tickets_newest_first(desk: Desk) -> None:
    a = desk.open("A")
    b = desk.open("B")
    c = desk.open("C")
    desk.run("set-status", str(b), "closed")
    assert ids(desk) == [c, a]
    assert ids(desk, "--all") == [c, b, a]


def test_list_status_is_repeatable(desk: Desk) -> None:
    a = desk.open("A")
    b = desk.open("B")
    c = desk.open("C")
    desk.run("set-status", str(a), "pending")
    desk.run("set-status", str(b), "on_hold")
    desk.run("set-status", str(c), "closed")
    assert ids(desk, "--status", "pending") == [a]
    assert ids(desk, "--status", "pending", "--status", "on_hold") == [b, a]
    assert ids(desk, "--status", "closed") == [c]  # an explicit status reaches closed ones
    assert ids(desk, "--status", "new") == []


def test_list_priority_requester_assignee(desk: Desk) -> None:
    a = desk.open("A", "--priority", "urgent", as_=CUSTOMER)
    b = desk.open("B", as_=OTHER)
    c = desk.open("C", "--priority", "urgent", as_=OTHER)
    desk.run("assign", str(b), AGENT)
    desk.run("take", str(c), as_=AGENT)
    assert ids(desk, "--priority", "urgent") == [c, a]
    assert ids(desk, "--requester", OTHER) == [c, b]
    assert ids(desk, "--requester", CUSTOMER) == [a]
    assert ids(desk, "--assignee", AGENT) == [c, b]
    assert ids(desk, "--assignee", "me", as_=AGENT) == [c, b]
    assert ids(desk, "--assignee", "me", as_=ADMIN) == []
    assert ids(desk, "--requester", OTHER, "--priority", "urgent") == [c]


def test_list_unknown_requester_is_an_empty_success(desk: Desk) -> None:
    desk.open("A")
    result = desk.run("list", "--requester", "nobody@example.com", "--format", "json")
    assert json.loads(result.stdout) == []


def test_list_limit(desk: Desk) -> None:
    for n in range(5):
        desk.open(f"T{n}")
    result = desk.run("list", "--limit", "2", "--format", "ids")
    assert result.stdout.split() == ["5", "4"]
    assert ids(desk, "--limit", "0") == [5, 4, 3, 2, 1]


def test_list_empty_is_success(desk: Desk) -> None:
    for fmt in ("json", "jsonl", "ids", "tsv", "csv", "table"):
        result = desk.run("list", "--format", fmt)
        if fmt == "json":
            assert json.loads(result.stdout) == []
        elif fmt in ("jsonl", "ids"):
            assert result.stdout == ""
    assert desk.run("list").stdout == ""


def test_list_search_matches_title_description_and_comments(desk: Desk) -> None:
    a = desk.open("Printer jammed")
    b = desk.open("Laptop", "--body", "the screen flickers after the update")
    c = desk.open("Other")
    desk.run("comment", str(c), "the toner cartridge is empty", as_=AGENT)
    d = desk.open("Unrelated")
    assert ids(desk, "--search", "printer") == [a]
    assert ids(desk, "--search", "flickers") == [b]
    assert ids(desk, "--search", "toner") == [c]
    assert ids(desk, "--search", "screen update") == [b]
    assert d not in ids(desk, "--search", "printer")
    assert ids(desk, "--search", "nothing-matches-this") == []


def test_list_search_respects_other_filters(desk: Desk) -> None:
    a = desk.open("Printer one")
    b = desk.open("Printer two")
    desk.run("set-status", str(a), "closed")
    assert ids(desk, "--search", "printer") == [b]
    assert ids(desk, "--search", "printer", "--all") == [b, a]


# -- show ---------------------------------------------------------------------------


def test_show_json_fields(desk: Desk) -> None:
    tid = desk.open("Hello", "--body", "World", as_=CUSTOMER)
    desk.run("share", str(tid), OTHER, as_=CUSTOMER)
    desk.run("comment", str(tid), "A reply", as_=AGENT)
    t = desk.ticket(tid)
    for key in ("id", "title", "status", "phase", "priority", "category", "requester",
                "assignee", "created_at", "updated_at", "description", "participants",
                "comments", "history"):
        assert key in t, key
    assert t["id"] == tid
    assert t["participants"] == [OTHER]
    assert len(t["comments"]) == 1
    c = t["comments"][0]
    assert set(c) >= {"author", "body", "internal", "created_at"}
    assert c["author"] == AGENT
    assert c["body"] == "A reply"
    assert c["internal"] is False
    assert ISO_Z.match(c["created_at"])
    for h in t["history"]:
        assert ISO_Z.match(h["at"])
    assert ISO_Z.match(t["created_at"]) and ISO_Z.match(t["updated_at"])


def test_show_table_has_the_conversation(desk: Desk) -> None:
    tid = desk.open("Hello", "--body", "Multi\nline description", as_=CUSTOMER)
    desk.run("comment", str(tid), "Public answer", as_=AGENT)
    desk.run("comment", str(tid), "--internal", "Private note", as_=AGENT)
    out = desk.run("show", str(tid), "--format", "table").stdout
    assert f"#{tid}" in out
    assert "Hello" in out
    assert "Multi" in out and "line description" in out
    assert "Public answer" in out
    assert "Private note" in out
    assert CUSTOMER in out


# -- comment --------------------------------------------------------------------------


def test_comment_by_staff_keeps_status_in_standard(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    result = desk.run("comment", str(tid), "Looking into it", as_=AGENT)
    assert result.stdout == ""
    assert desk.status(tid) == "new"


@pytest.mark.parametrize("waiting", ["pending", "on_hold", "solved"])
def test_requester_reply_reopens_a_waiting_ticket(desk: Desk, waiting: str) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), waiting, as_=AGENT)
    desk.run("comment", str(tid), "Here is the log", as_=CUSTOMER)
    t = desk.ticket(tid)
    assert t["status"] == "open"
    last = events(t, "status")[-1]
    assert (last["from"], last["to"], last["actor"]) == (waiting, "open", CUSTOMER)


def test_comment_with_status_sets_it_in_one_step(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("comment", str(tid), "Could you send the log?", "--status", "pending", as_=AGENT)
    t = desk.ticket(tid)
    assert t["status"] == "pending"
    assert [c["body"] for c in t["comments"]] == ["Could you send the log?"]
    moves = events(t, "status")
    assert len(moves) == 1
    assert (moves[0]["from"], moves[0]["to"]) == ("new", "pending")


def test_comment_status_overrides_reply_rule(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), "solved", as_=AGENT)
    desk.run("comment", str(tid), "Thanks, all good", "--status", "closed", as_=CUSTOMER)
    assert desk.status(tid) == "closed"


def test_internal_note_does_not_apply_reply_rules(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), "pending", as_=AGENT)
    desk.run("comment", str(tid), "--internal", "call supplier", as_=AGENT)
    t = desk.ticket(tid)
    assert t["status"] == "pending"
    assert t["comments"][0]["internal"] is True


def test_comment_body_file_and_stdin(desk: Desk, tmp_path: Path) -> None:
    tid = desk.open("x")
    f = tmp_path / "reply.txt"
    f.write_text("from a file\n", encoding="utf-8")
    desk.run("comment", str(tid), "--body-file", str(f))
    desk.run("comment", str(tid), "--body-file", "-", input="from stdin ✓\n".encode())
    assert [c["body"] for c in desk.ticket(tid)["comments"]] == ["from a file\n", "from stdin ✓\n"]


def test_comment_attachments(desk: Desk, tmp_path: Path) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    f = tmp_path / "fix.patch"
    f.write_bytes(b"--- a\n+++ b\n")
    desk.run("comment", str(tid), "patch attached", "--attach", str(f), as_=AGENT)
    t = desk.ticket(tid, as_=CUSTOMER)
    assert [(a["name"], a["size"], a["sha256"]) for a in t["attachments"]] == [
        ("fix.patch", 12, hashlib.sha256(b"--- a\n+++ b\n").hexdigest())
    ]


def test_chat_agent_reply_makes_open_pending(desk_factory: Any) -> None:
    desk = desk_factory("chat")
    tid = desk.open("Chat", as_=CUSTOMER)
    assert desk.status(tid) == "open"
    desk.run("comment", str(tid), "Hi, how can I help?", as_=AGENT)
    assert desk.status(tid) == "pending"
    desk.run("comment", str(tid), "My printer", as_=CUSTOMER)
    assert desk.status(tid) == "open"


# -- set-status and --if-status ----------------------------------------------------------


def test_set_status_moves_and_records(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    result = desk.run("set-status", str(tid), "open", as_=AGENT)
    assert result.stdout == ""
    t = desk.ticket(tid)
    assert t["status"] == "open" and t["phase"] == "open"
    desk.run("set-status", str(tid), "on_hold", as_=AGENT)
    t = desk.ticket(tid)
    assert t["status"] == "on_hold" and t["phase"] == "hold"


def test_set_status_to_same_status_is_a_no_op(desk: Desk) -> None:
    tid = desk.open("x")
    desk.run("set-status", str(tid), "new")
    assert events(desk.ticket(tid), "status") == []


def test_set_status_note_is_kept(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), "on_hold", "--note", "waiting for supplier", as_=AGENT)
    t = desk.ticket(tid)
    assert [c["body"] for c in t["comments"]] == ["waiting for supplier"]


def test_set_status_resolution_service_desk(desk_factory: Any) -> None:
    desk = desk_factory("service-desk")
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), "resolved", "--resolution", "out_of_scope", as_=AGENT)
    t = desk.ticket(tid)
    assert t["status"] == "resolved"
    assert t["resolution"] == "out_of_scope"


def test_reopening_clears_the_resolution(desk_factory: Any) -> None:
    desk = desk_factory("service-desk")
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), "resolved", "--resolution", "out_of_scope", as_=AGENT)
    desk.run("comment", str(tid), "Still broken", as_=CUSTOMER)  # the reply reopens it
    t = desk.ticket(tid)
    assert (t["status"], t["resolution"]) == ("in_progress", None)
    # Resolved again without --resolution: the workflow's default, not the old one.
    desk.run("set-status", str(tid), "resolved", as_=AGENT)
    assert desk.ticket(tid)["resolution"] == "done"
    # Closing a resolved ticket keeps its resolution.
    desk.run("set-status", str(tid), "closed", as_=AGENT)
    assert desk.ticket(tid)["resolution"] == "done"


def test_a_resolution_goes_with_a_resolved_status(desk_factory: Any) -> None:
    desk = desk_factory("service-desk")
    tid = desk.open("x", as_=CUSTOMER)
    result = desk.run("set-status", str(tid), "in_progress", "--resolution", "done",
                      as_=AGENT, expect=2)
    assert result.stderr.startswith("Error:") and "resolved" in result.stderr
    assert desk.ticket(tid)["status"] == "open"


@pytest.mark.parametrize("command", ["set-status", "comment"])
def test_if_status_guards_against_concurrent_change(desk: Desk, command: str) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), "pending", as_=AGENT)
    if command == "set-status":
        ok = ("set-status", str(tid), "open", "--if-status", "pending")
        stale = ("set-status", str(tid), "solved", "--if-status", "pending")
    else:
        ok = ("comment", str(tid), "first", "--status", "open", "--if-status", "pending")
        stale = ("comment", str(tid), "second", "--if-status", "pending")
    desk.run(*ok, as_=AGENT)
    assert desk.status(tid) == "open"
    before = desk.ticket(tid)
    result = desk.run(*stale, as_=AGENT, expect=5)
    assert result.stderr.startswith("Error:")
    assert desk.ticket(tid) == before


# -- share ----------------------------------------------------------------------------


def test_share_adds_and_removes_participants(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    assert ids(desk, as_=OTHER) == []
    desk.run("share", str(tid), OTHER, as_=CUSTOMER)
    assert desk.ticket(tid)["participants"] == [OTHER]
    assert ids(desk, as_=OTHER) == [tid]
    assert desk.ticket(tid, as_=OTHER)["id"] == tid
    desk.run("share", str(tid), OTHER, "--remove", as_=CUSTOMER)
    assert desk.ticket(tid)["participants"] == []
    assert ids(desk, as_=OTHER) == []
    hidden = desk.run("show", str(tid), as_=OTHER, expect=3)
    assert hidden.stderr == desk.run("show", "999", as_=OTHER, expect=3).stderr.replace(
        "999", str(tid))


def test_share_several_and_idempotent(desk: Desk) -> None:
    tid = desk.open("x")
    desk.run("share", str(tid), CUSTOMER, OTHER, as_=AGENT)
    desk.run("share", str(tid), CUSTOMER, as_=AGENT)
    t = desk.ticket(tid)
    assert sorted(t["participants"]) == sorted([CUSTOMER, OTHER])
    assert len(events(t, "shared")) == 2


def test_service_desk_shares_only_within_the_organization(desk_factory: Any) -> None:
    desk = desk_factory("service-desk")
    desk.run("user", "add", "carla@example.com", "--org", "Acme")
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("share", str(tid), "carla@example.com", as_=CUSTOMER)
    result = desk.run("share", str(tid), OTHER, as_=CUSTOMER, expect=4)
    assert result.stderr.startswith("Error:")
    assert desk.ticket(tid)["participants"] == ["carla@example.com"]


def test_service_desk_shares_with_the_project_manager(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "sd.db")
    desk.run("init", "--preset", "service-desk")
    desk.run("user", "add", "pm@example.com", "--role", "agent")
    desk.run("org", "add", "Acme", "--manager", "pm@example.com")
    desk.run("user", "add", CUSTOMER, "--org", "Acme")
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("share", str(tid), "pm@example.com", as_=CUSTOMER)
    assert desk.ticket(tid)["participants"] == ["pm@example.com"]


# -- assign and take ---------------------------------------------------------------------


def test_assign_take_and_unassign(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("assign", str(tid), AGENT)
    assert desk.ticket(tid)["assignee"] == AGENT
    desk.run("take", str(tid))
    assert desk.ticket(tid)["assignee"] == ADMIN
    desk.run("assign", str(tid), "me", as_=AGENT)
    assert desk.ticket(tid)["assignee"] == AGENT
    desk.run("assign", str(tid))
    t = desk.ticket(tid)
    assert t["assignee"] is None
    moves = [(h["detail"].get("from"), h["detail"].get("to"), h["actor"])
             for h in events(t, "assigned")]
    assert moves == [(None, AGENT, ADMIN), (AGENT, ADMIN, ADMIN), (ADMIN, AGENT, AGENT),
                     (AGENT, None, ADMIN)]


def test_assign_to_a_customer_is_refused(desk: Desk) -> None:
    tid = desk.open("x")
    result = desk.run("assign", str(tid), CUSTOMER, expect=2)
    assert result.stderr.startswith("Error:")
    assert desk.ticket(tid)["assignee"] is None


# -- close-stale --------------------------------------------------------------------------


def _solved(desk: Desk, n: int) -> list[int]:
    out = []
    for i in range(n):
        tid = desk.open(f"Solved {i}", as_=CUSTOMER)
        desk.run("set-status", str(tid), "solved", as_=AGENT)
        out.append(tid)
    return out


def test_close_stale_closes_only_stale_tickets(desk: Desk) -> None:
    solved = _solved(desk, 2)
    active = desk.open("Active", as_=CUSTOMER)
    assert desk.run("close-stale", "--now", future(13), "--format", "ids").stdout == ""
    assert [desk.status(t) for t in solved] == ["solved", "solved"]
    data = json.loads(desk.run("close-stale", "--now", future(15), "--format", "json").stdout)
    assert data == [{"id": t, "from": "solved", "to": "closed"} for t in solved]
    assert [desk.status(t) for t in solved] == ["closed", "closed"]
    assert desk.status(active) == "new"


def test_close_stale_dry_run_writes_nothing(desk: Desk) -> None:
    solved = _solved(desk, 2)
    before = list(sqlite3.connect(desk.db).iterdump())
    data = json.loads(
        desk.run("close-stale", "--dry-run", "--now", future(15), "--format", "json").stdout
    )
    assert data == [{"id": t, "from": "solved", "to": "closed"} for t in solved]
    assert list(sqlite3.connect(desk.db).iterdump()) == before
    assert [desk.status(t) for t in solved] == ["solved", "solved"]


def test_close_stale_limit(desk: Desk) -> None:
    solved = _solved(desk, 3)
    first = json.loads(
        desk.run("close-stale", "--limit", "1", "--now", future(15), "--format", "json").stdout
    )
    assert len(first) == 1
    assert [desk.status(t) for t in solved].count("closed") == 1
    rest = json.loads(desk.run("close-stale", "--limit", "0", "--now", future(15), "--format",
                               "json").stdout)
    assert len(rest) == 2  # 0 is no limit, as in list
    assert {c["id"] for c in first + rest} == set(solved)


def test_close_stale_quiet_prints_nothing(desk: Desk) -> None:
    solved = _solved(desk, 1)
    result = desk.run("close-stale", "--quiet", "--now", future(15))
    assert result.stdout == ""
    assert result.stderr == ""
    assert desk.status(solved[0]) == "closed"


def test_close_stale_twice_changes_each_ticket_once(desk: Desk) -> None:
    solved = _solved(desk, 3)
    now = future(20)
    first = json.loads(desk.run("close-stale", "--now", now, "--format", "json").stdout)
    second = json.loads(desk.run("close-stale", "--now", now, "--format", "json").stdout)
    assert sorted(c["id"] for c in first) == solved
    assert second == []
    for tid in solved:
        t = desk.ticket(tid)
        moves = events(t, "status")
        assert [(m["from"], m["to"]) for m in moves] == [("new", "solved"), ("solved", "closed")]
        assert ISO_Z.match(moves[-1]["at"])


def test_close_stale_requester_reply_restarts_the_clock(desk: Desk) -> None:
    (tid,) = _solved(desk, 1)
    desk.run("comment", str(tid), "still broken", as_=CUSTOMER)
    assert desk.status(tid) == "open"
    assert json.loads(desk.run("close-stale", "--now", future(30), "--format", "json")
                      .stdout) == []


def test_close_stale_default_output_is_plain_rows(desk: Desk) -> None:
    (tid,) = _solved(desk, 1)
    result = desk.run("close-stale", "--now", future(15))
    assert result.stdout == f"{tid}\tsolved\tclosed\n"


def test_close_stale_chat_never_closes(desk_factory: Any) -> None:
    desk = desk_factory("chat")
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("set-status", str(tid), "pending", as_=AGENT)
    assert json.loads(desk.run("close-stale", "--now", future(3650), "--format", "json")
                      .stdout) == []
    assert desk.status(tid) == "pending"


# -- user and org ---------------------------------------------------------------------------


def test_user_add_and_list(desk: Desk) -> None:
    desk.run("user", "add", "Carla@Example.com", "--name", "Carla", "--role", "agent",
             "--org", "Acme")
    users = desk.json("user", "list")
    by_email = {u["email"]: u for u in users}
    assert set(by_email) == {ADMIN, AGENT, CUSTOMER, OTHER, "carla@example.com"}
    assert by_email["carla@example.com"]["role"] == "agent"
    assert by_email["carla@example.com"]["name"] == "Carla"
    assert by_email["carla@example.com"]["organization"] == "Acme"
    assert by_email[ADMIN]["role"] == "admin"
    assert by_email[CUSTOMER]["role"] == "customer"


def test_user_add_duplicate_and_unknown_org(desk: Desk) -> None:
    dup = desk.run("user", "add", CUSTOMER, "--role", "admin", expect=5)
    assert dup.stderr.startswith("Error:")
    assert {u["email"]: u["role"] for u in desk.json("user", "list")}[CUSTOMER] == "customer"
    unknown = desk.run("user", "add", "x@example.com", "--org", "Nope", expect=3)
    assert unknown.stderr.startswith("Error:")
    role = desk.run("user", "add", "y@example.com", "--role", "boss", expect=2)
    assert role.stderr.startswith("Error:")


def test_org_add_and_list(desk: Desk) -> None:
    desk.run("org", "add", "Globex", "--manager", AGENT)
    orgs = {o["name"]: o for o in desk.json("org", "list")}
    assert set(orgs) == {"Acme", "Globex"}
    assert orgs["Globex"]["manager"] == AGENT
    assert orgs["Acme"]["manager"] is None
    assert orgs["Acme"]["members"] == 1
    desk.run("org", "add", "Globex", expect=5)
    desk.run("org", "add", "Initech", "--manager", CUSTOMER, expect=2)
    desk.run("org", "add", "Initech", "--manager", "ghost@example.com", expect=3)
    assert {o["name"] for o in desk.json("org", "list")} == {"Acme", "Globex"}


def test_org_list_by_agent(desk: Desk) -> None:
    assert {o["name"] for o in desk.json("org", "list", as_=AGENT)} == {"Acme"}


# -- history ----------------------------------------------------------------------------------


def test_history_records_every_change_with_actor_and_time(desk: Desk, tmp_path: Path) -> None:
    f = tmp_path / "shot.png"
    f.write_bytes(b"\x89PNG fake")
    tid = desk.open("x", "--attach", str(f), as_=CUSTOMER)
    desk.run("comment", str(tid), "reply", as_=AGENT)
    desk.run("comment", str(tid), "--internal", "note", as_=AGENT)
    desk.run("set-status", str(tid), "pending", as_=AGENT)
    desk.run("share", str(tid), OTHER, as_=CUSTOMER)
    desk.run("share", str(tid), OTHER, "--remove", as_=CUSTOMER)
    desk.run("assign", str(tid), AGENT)
    desk.run("comment", str(tid), "more", "--attach", str(f), as_=CUSTOMER)
    t = desk.ticket(tid)
    seen = [(h["event"], h["actor"]) for h in t["history"]]
    assert seen == [
        ("opened", CUSTOMER),
        ("attachment", CUSTOMER),
        ("comment", AGENT),
        ("note", AGENT),
        ("status", AGENT),
        ("shared", CUSTOMER),
        ("unshared", CUSTOMER),
        ("assigned", ADMIN),
        ("comment", CUSTOMER),
        ("attachment", CUSTOMER),
        ("status", CUSTOMER),
    ]
    for h in t["history"]:
        assert ISO_Z.match(h["at"]), h
    att = events(t, "attachment")[0]["detail"]
    assert att["name"] == "shot.png"
    assert att["sha256"] == hashlib.sha256(b"\x89PNG fake").hexdigest()
    # The table shows the history with the people who acted.
    table = desk.run("show", str(tid), "--format", "table").stdout
    history = table.split("History:")[1]
    for event in ("opened", "attachment", "comment", "note", "status", "shared", "unshared",
                  "assigned"):
        assert event in history
    assert AGENT in history and CUSTOMER in history and ADMIN in history


def test_every_preset_desk_accepts_the_standard_people(tmp_path: Path) -> None:
    for preset in ("care", "basic"):
        desk = make_desk(tmp_path, preset, f"{preset}.db")
        tid = desk.open("x", as_=CUSTOMER)
        assert ids(desk, as_=CUSTOMER) == [tid]


# -- search input is text, never query syntax --------------------------------------------------

WEIRD_SEARCHES = ['"', "*", "OR", "AND", "NOT", "NEAR(", "NEAR(a b)", "'; DROP TABLE tickets; --",
                  "%", "_", "__", "\\", "'", "^", "-", "a:b", "title:x", "{a b}", "(", ")", "+",
                  '"unbalanced', "x*", "*x", "a OR", "é", "🖨️", "%_%", "a AND NOT b", "[", "."]


@pytest.mark.parametrize("who", [ADMIN, CUSTOMER])
def test_search_input_never_errors(desk: Desk, who: str) -> None:
    tid = desk.open("Printer on fire", "--body", "plain words only", as_=CUSTOMER)
    desk.run("comment", str(tid), "a public reply", as_=AGENT)
    desk.run("comment", str(tid), "--internal", "a private note", as_=AGENT)
    for query in WEIRD_SEARCHES:
        for fmt in ("json", "ids"):
            result = desk.run("list", "--all", "--search", query, "--format", fmt, as_=who)
            assert result.stderr == "", query
            if fmt == "json":
                assert isinstance(json.loads(result.stdout), list)
    # The tickets table is still there.
    assert ids(desk, "--all") == [tid]


def test_search_wildcards_are_literal(desk: Desk) -> None:
    plain = desk.open("Plain ticket")
    percent = desk.open("CPU at 100% all day")
    desk.open("snake_case variable")
    assert ids(desk, "--search", "%") == [percent]
    assert plain not in ids(desk, "--search", "_")
    assert percent not in ids(desk, "--search", "_")
    assert ids(desk, "--search", "*") == []
    assert ids(desk, "--search", "'; DROP TABLE tickets; --") == []
    assert ids(desk, "--search", "OR") == []
    assert len(ids(desk, "--all")) == 3


def test_search_is_case_and_accent_insensitive(desk: Desk) -> None:
    tid = desk.open("Stampante guasta", "--body", "La caffè è fredda")
    assert ids(desk, "--search", "STAMPANTE") == [tid]
    assert ids(desk, "--search", "caffe") == [tid]
    assert ids(desk, "--search", "stamp") == [tid]  # a prefix is enough
