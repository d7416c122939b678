"""Bad input of any kind: one 'Error:' line on stderr, the right exit code, no traceback,
and no change to the data (the database dump is identical before and after)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, dump

from ticketcli.store.migrations import SCHEMA_VERSION


def fails(desk: Desk, *args: str, code: int, as_: str | None = ADMIN,
          input: bytes | str | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command that must fail cleanly and change nothing; return its stderr."""
    before = dump(desk.db)
    result = desk.run(*args, as_=as_, expect=code, input=input, env=env)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert dump(desk.db) == before
    return str(lines[0])


@pytest.fixture
def tid(desk: Desk) -> int:
    ticket = desk.open("Printer on fire", "--body", "Smoke", as_=CUSTOMER)
    desk.run("comment", str(ticket), "Looking", as_=AGENT)
    return ticket


# -- ids --------------------------------------------------------------------------------------


def test_unknown_ticket_is_not_found(desk: Desk, tid: int) -> None:
    for args in (("show", "999"), ("comment", "999", "hello"), ("set-status", "999", "open"),
                 ("share", "999", OTHER), ("assign", "999", AGENT), ("take", "999"),
                 ("open", "Follow", "--follow-up", "999")):
        message = fails(desk, *args, code=3)
        assert "999" in message, args


@pytest.mark.parametrize("command", ["show", "comment", "set-status", "share", "assign"])
def test_malformed_ticket_ids_are_usage_errors(desk: Desk, tid: int, command: str) -> None:
    extra = {"comment": ["hi"], "set-status": ["open"], "share": [OTHER],
             "assign": [AGENT]}.get(command, [])
    for bad in ("abc", "0", "1.5", "", "1e3", "0x1", "1 2"):
        fails(desk, command, bad, *extra, code=2)


def test_ids_too_large_for_sqlite_are_not_internal_errors(desk: Desk, tid: int) -> None:
    # 2**63 does not fit an SQLite integer: no such ticket can exist.
    big = str(2**63)
    failures = []
    for args in (("show", big), ("comment", big, "hi"), ("set-status", big, "open"),
                 ("share", big, OTHER), ("assign", big, AGENT), ("take", big),
                 ("open", "x", "--follow-up", big)):
        before = dump(desk.db)
        result = desk.run(*args, expect=None)
        assert dump(desk.db) == before
        assert result.stderr.startswith("Error:")
        if result.exit_code not in (2, 3) or "internal error" in result.stderr:
            failures.append(f"{' '.join(args)} -> {result.exit_code}: {result.stderr.strip()}")
    assert failures == []


@pytest.mark.parametrize("command", ["show", "set-status", "comment"])
def test_negative_ids_are_usage_errors(desk: Desk, tid: int, command: str) -> None:
    extra = {"comment": ["hi"], "set-status": ["open"]}.get(command, [])
    fails(desk, command, "-1", *extra, code=2)
    fails(desk, command, "--", "-5", *extra, code=2)


def test_follow_up_with_bad_id(desk: Desk, tid: int) -> None:
    fails(desk, "open", "x", "--follow-up", "0", code=2)
    fails(desk, "open", "x", "--follow-up", "abc", code=2)


# -- statuses and moves --------------------------------------------------------------------------


def test_unknown_status_is_a_usage_error(desk: Desk, tid: int) -> None:
    message = fails(desk, "set-status", str(tid), "bogus", code=2)
    assert "bogus" in message
    fails(desk, "comment", str(tid), "hi", "--status", "bogus", code=2)
    fails(desk, "list", "--status", "bogus", code=2)
    # Keys and labels are accepted in any case, but a near miss is still unknown.
    message = fails(desk, "set-status", str(tid), "Opne", code=2)
    assert "new, open, pending, on_hold, solved, closed" in message
    assert "(labels: New, Open, Pending, On hold, Solved, Closed)" in message


def test_unknown_priority_is_a_usage_error(desk: Desk, tid: int) -> None:
    fails(desk, "open", "x", "--priority", "critical", code=2)
    fails(desk, "list", "--priority", "critical", code=2)


def test_refused_move_by_the_workflow(desk: Desk, tid: int) -> None:
    desk.run("set-status", str(tid), "solved", as_=AGENT)
    # standard: solved may go to open or closed only.
    message = fails(desk, "set-status", str(tid), "pending", code=5, as_=AGENT)
    assert "solved" in message and "pending" in message


def test_closed_is_final(desk: Desk, tid: int) -> None:
    desk.run("set-status", str(tid), "closed", as_=AGENT)
    message = fails(desk, "set-status", str(tid), "open", code=5, as_=AGENT)
    assert "follow-up" in message
    fails(desk, "comment", str(tid), "reopen please", code=5, as_=CUSTOMER)
    fails(desk, "comment", str(tid), "note", "--internal", code=5, as_=AGENT)


def test_customer_may_not_move_beyond_the_workflow(desk: Desk, tid: int) -> None:
    fails(desk, "set-status", str(tid), "solved", code=4, as_=CUSTOMER)
    fails(desk, "set-status", str(tid), "closed", code=4, as_=CUSTOMER)
    fails(desk, "comment", str(tid), "done", "--status", "solved", code=4, as_=CUSTOMER)


@pytest.mark.parametrize("command", ["set-status", "comment"])
def test_if_status_mismatch_is_a_conflict(desk: Desk, tid: int, command: str) -> None:
    args = ("open",) if command == "set-status" else ("hello",)
    message = fails(desk, command, str(tid), *args, "--if-status", "pending", code=5,
                    as_=AGENT)
    assert "new" in message


@pytest.mark.parametrize("command", ["set-status", "comment"])
def test_unknown_if_status_is_a_usage_error(desk: Desk, tid: int, command: str) -> None:
    args = ("open",) if command == "set-status" else ("hello",)
    message = fails(desk, command, str(tid), *args, "--if-status", "bogus", code=2, as_=AGENT)
    assert "--if-status" in message and "bogus" in message


# -- people and emails ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@", "@example.com", "a b@example.com", "a@@example.com",
              "<a@example.com>", "a@example.com,b@example.com", ""],
)
def test_malformed_emails_are_usage_errors(desk: Desk, tid: int, email: str) -> None:
    fails(desk, "user", "add", email, code=2)
    fails(desk, "share", str(tid), email, code=2, as_=AGENT)
    fails(desk, "open", "x", "--requester", email, code=2, as_=AGENT)
    fails(desk, "list", "--requester", email, code=2)


def test_malformed_actor_email(desk: Desk, tid: int) -> None:
    fails(desk, "list", code=2, as_="not an email")


def test_unknown_share_email_is_not_found_by_staff_where_only_the_registered_may_be(
        desk_factory: Any) -> None:
    sd = desk_factory("service-desk")
    tid = sd.open("x", "--requester", CUSTOMER, as_=AGENT)
    message = fails(sd, "share", str(tid), "ghost@example.com", code=3, as_=AGENT)
    assert "ghost@example.com" in message
    # One unknown address in a list: nobody is added.
    sd.run("user", "add", "carla@example.com", "--org", "Acme")
    fails(sd, "share", str(tid), "carla@example.com", "ghost@example.com", code=3, as_=AGENT)
    assert sd.ticket(tid)["participants"] == []


def test_sharing_tells_a_customer_nothing_of_who_is_registered(desk: Desk, tid: int,
                                                                desk_factory: Any) -> None:
    # standard accepts unregistered requesters: someone new joins as a customer.
    desk.run("share", str(tid), "ghost@example.com", as_=CUSTOMER)
    assert desk.ticket(tid)["participants"] == ["ghost@example.com"]
    assert desk.run("share", str(tid), "nobody@example.com", "--remove",
                    as_=CUSTOMER).stderr == "nobody@example.com was not on ticket 1.\n"
    # service-desk shares within the organization: an unregistered address is refused
    # exactly as a registered one outside it.
    sd = desk_factory("service-desk")
    own = sd.open("y", as_=CUSTOMER)
    outside = fails(sd, "share", str(own), OTHER, code=4, as_=CUSTOMER)
    ghost = fails(sd, "share", str(own), "ghost@example.com", code=4, as_=CUSTOMER)
    assert ghost == outside.replace(OTHER, "ghost@example.com")


def test_unknown_assignee_is_not_found(desk: Desk, tid: int) -> None:
    fails(desk, "assign", str(tid), "ghost@example.com", code=3)


def test_unknown_actor_is_permission_denied(desk: Desk, tid: int) -> None:
    message = fails(desk, "list", code=4, as_="stranger@example.com")
    assert "stranger@example.com" in message
    fails(desk, "show", str(tid), code=4, as_="stranger@example.com")
    fails(desk, "open", "Hi", code=4, as_="stranger@example.com")
    fails(desk, "list", code=4, as_=None, env={"TICKETCLI_USER": "stranger@example.com"})


# -- text, titles, files ---------------------------------------------------------------------------


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_bad_titles_are_usage_errors(desk: Desk, tid: int, title: str) -> None:
    fails(desk, "open", title, code=2)


def test_empty_comment_is_a_usage_error(desk: Desk, tid: int) -> None:
    fails(desk, "comment", str(tid), "", code=2)
    fails(desk, "comment", str(tid), "  \n ", code=2)
    fails(desk, "comment", str(tid), code=2)


def test_nul_in_text_is_refused(desk: Desk, tid: int, tmp_path: Path) -> None:
    f = tmp_path / "bin.txt"
    f.write_bytes(b"abc\x00def")
    fails(desk, "open", "x", "--body-file", str(f), code=2)
    fails(desk, "comment", str(tid), "--body-file", str(f), code=2)


def test_body_file_not_utf8_is_refused(desk: Desk, tid: int, tmp_path: Path) -> None:
    f = tmp_path / "latin1.txt"
    f.write_bytes("caffè".encode("latin-1"))
    fails(desk, "open", "x", "--body-file", str(f), code=2)
    fails(desk, "open", "x", "--body-file", "-", input="caffè".encode("latin-1"), code=2)


def test_both_body_and_body_file_is_refused(desk: Desk, tid: int, tmp_path: Path) -> None:
    f = tmp_path / "b.txt"
    f.write_text("x", encoding="utf-8")
    fails(desk, "open", "x", "--body", "y", "--body-file", str(f), code=2)


def test_missing_or_directory_paths(desk: Desk, tid: int, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    good = tmp_path / "good.txt"
    good.write_text("ok", encoding="utf-8")
    fails(desk, "open", "x", "--attach", missing, code=2)
    fails(desk, "open", "x", "--attach", str(tmp_path), code=2)
    # A good file next to a bad one: nothing at all is written.
    fails(desk, "open", "x", "--attach", str(good), "--attach", missing, code=2)
    fails(desk, "comment", str(tid), "see file", "--attach", missing, code=2)
    fails(desk, "comment", str(tid), "see file", "--attach", str(tmp_path), code=2)
    fails(desk, "open", "x", "--body-file", missing, code=2)
    fails(desk, "open", "x", "--body-file", str(tmp_path), code=2)
    fails(desk, "comment", str(tid), "--body-file", missing, code=2)


@pytest.mark.parametrize("field", ["novalue", "=value", "bad key=1", "a;b=1"])
def test_bad_fields_are_usage_errors(desk: Desk, tid: int, field: str) -> None:
    fails(desk, "open", "x", "--field", field, code=2)


def test_bad_options(desk: Desk, tid: int) -> None:
    fails(desk, "list", "--limit", "-1", code=2)
    fails(desk, "list", "--limit", "many", code=2)
    fails(desk, "list", "--format", "yaml", code=2)
    fails(desk, "show", str(tid), "--format", "xml", code=2)
    fails(desk, "list", "--no-such-option", code=2)
    fails(desk, "no-such-command", code=2)
    fails(desk, "close-stale", "--now", "the day before", code=2)
    fails(desk, "close-stale", "--now", "7x", code=2)
    fails(desk, "close-stale", "--limit", "-3", code=2)
    fails(desk, "user", "add", "z@example.com", "--role", "root", code=2)
    fails(desk, "org", "add", "   ", code=2)


def test_customers_may_not_run_close_stale(desk: Desk, tid: int) -> None:
    """close-stale would close tickets a customer cannot see, and list their ids."""
    desk.run("set-status", str(tid), "solved", as_=AGENT)
    for extra in ((), ("--dry-run", "--format", "ids")):
        message = fails(desk, "close-stale", "--now", "2099-01-01T00:00:00Z", *extra, code=4,
                        as_=CUSTOMER)
        assert "customer" in message
    # Staff, and cron under a name that is nobody on the desk, run it.
    result = desk.run("close-stale", "--now", "2099-01-01T00:00:00Z", "--format", "ids",
                      "--dry-run", as_="cron@localhost")
    assert result.stdout.split() == [str(tid)]
    result = desk.run("close-stale", "--now", "2099-01-01T00:00:00Z", "--format", "ids",
                      as_=AGENT)
    assert result.stdout.split() == [str(tid)]


def test_unknown_org_for_a_user_is_not_found(desk: Desk, tid: int) -> None:
    fails(desk, "user", "add", "z@example.com", "--org", "Nowhere", code=3)


# -- configuration and database files ------------------------------------------------------------


def test_malformed_config_toml(desk: Desk, tid: int, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("language = \n[[[", encoding="utf-8")
    message = fails(desk, "--config", str(cfg), "list", code=78)
    assert str(cfg) in message
    fails(desk, "list", code=78, env={"TICKETCLI_CONFIG": str(cfg)})
    fails(desk, "open", "x", code=78, env={"TICKETCLI_CONFIG": str(cfg)})


def test_bad_config_values(desk: Desk, tid: int, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('language = "fr"\n', encoding="utf-8")
    fails(desk, "--config", str(cfg), "list", code=78)
    cfg.write_text("busy_timeout = \"soon\"\n", encoding="utf-8")
    fails(desk, "--config", str(cfg), "list", code=78)
    cfg.write_text("user = 5\n", encoding="utf-8")
    fails(desk, "--config", str(cfg), "list", code=78, as_=None)
    fails(desk, "--config", str(tmp_path / "missing.toml"), "list", code=78)
    fails(desk, "--config", str(tmp_path), "list", code=78)


def test_malformed_default_config(desk: Desk, tid: int, isolated_env: Path) -> None:
    cfg = isolated_env / "config" / "ticketcli" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(b"\xff\xfe not utf-8 = [")
    fails(desk, "list", code=78)


def _raw(tmp_path: Path, name: str, content: bytes) -> Desk:
    path = tmp_path / name
    path.write_bytes(content)
    return Desk(path)


def _untouched(desk: Desk, *args: str, code: int = 78) -> None:
    before = desk.db.read_bytes()
    siblings = sorted(p.name for p in desk.db.parent.iterdir())
    result = desk.run(*args, expect=code)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert desk.db.read_bytes() == before
    assert sorted(p.name for p in desk.db.parent.iterdir()) == siblings


@pytest.mark.parametrize(
    "content",
    [b"hello, I am a text file\n", b"x" * 5000, b"SQLite format 3\x00" + b"\x00" * 10,
     b"SQLite format 3\x00" + b"\xab" * 4080, b"SQLite format 3\x00" + b"\x00" * 4080,
     b"\x89PNG\r\n\x1a\n" + b"\x00" * 200],
)
@pytest.mark.parametrize("command", [("list",), ("open", "x"), ("init",), ("user", "list")])
def test_a_file_that_is_not_a_database_is_untouched(tmp_path: Path, content: bytes,
                                                     command: tuple[str, ...]) -> None:
    desk = _raw(tmp_path, "notes.txt", content)
    _untouched(desk, *command)


def _newer(tmp_path: Path) -> Desk:
    from conftest import make_desk

    desk = make_desk(tmp_path)
    desk.open("x")
    con = sqlite3.connect(desk.db)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return desk


def test_a_newer_database_is_refused_and_untouched(tmp_path: Path) -> None:
    desk = _newer(tmp_path)
    for command in (("list",), ("open", "y"), ("show", "1"), ("init",), ("close-stale",),
                    ("user", "list")):
        _untouched(desk, *command)
    result = desk.run("list", expect=78)
    assert "upgrade" in result.stderr.lower() or "newer" in result.stderr.lower()


def _foreign(tmp_path: Path, app_id: int, version: int) -> Desk:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)")
    con.execute("INSERT INTO notes(text) VALUES ('mine')")
    con.execute(f"PRAGMA application_id = {app_id}")
    con.execute(f"PRAGMA user_version = {version}")
    con.commit()
    con.close()
    return Desk(path)


@pytest.mark.parametrize(("app_id", "version"), [(0, 0), (0, 1), (0, 7), (0x12345678, 0),
                                                 (0x12345678, 1)])
@pytest.mark.parametrize("command", [("list",), ("open", "x"), ("init",)])
def test_a_database_of_another_program_is_untouched(tmp_path: Path, app_id: int,
                                                     version: int,
                                                     command: tuple[str, ...]) -> None:
    desk = _foreign(tmp_path, app_id, version)
    _untouched(desk, *command)


def test_a_directory_as_database(tmp_path: Path) -> None:
    d = tmp_path / "dir.db"
    d.mkdir()
    result = Desk(d).run("list", expect=None)
    assert result.exit_code in (1, 2, 78)
    assert result.stderr.startswith("Error:")
    assert list(d.iterdir()) == []


def test_database_busy_past_the_timeout(desk: Desk, tid: int) -> None:
    con = sqlite3.connect(desk.db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        before = [r for r in con.execute("SELECT id, status FROM tickets")]
        result = desk.run("set-status", str(tid), "open", expect=75,
                          env={"TICKETCLI_BUSY_TIMEOUT": "0.2"})
        assert result.stdout == ""
        assert result.stderr.startswith("Error:")
        assert len(result.stderr.splitlines()) == 1
        assert [r for r in con.execute("SELECT id, status FROM tickets")] == before
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert desk.status(tid) == "new"


def test_bad_busy_timeout_env_is_a_clean_error(desk: Desk, tid: int) -> None:
    result = desk.run("list", expect=None, env={"TICKETCLI_BUSY_TIMEOUT": "soon"})
    assert result.exit_code in (2, 78)
    assert result.stderr.startswith("Error:")


# -- permission errors leave nothing behind -------------------------------------------------


def test_permission_errors_change_nothing(desk: Desk, tid: int) -> None:
    fails(desk, "user", "add", "new@example.com", code=4, as_=AGENT)
    fails(desk, "user", "add", "new@example.com", code=4, as_=CUSTOMER)
    fails(desk, "user", "list", code=4, as_=AGENT)
    fails(desk, "org", "add", "Globex", code=4, as_=AGENT)
    fails(desk, "org", "list", code=4, as_=CUSTOMER)
    fails(desk, "comment", str(tid), "secret", "--internal", code=4, as_=CUSTOMER)
    fails(desk, "assign", str(tid), AGENT, code=4, as_=CUSTOMER)
    fails(desk, "take", str(tid), code=4, as_=CUSTOMER)
    fails(desk, "open", "x", "--requester", OTHER, code=4, as_=CUSTOMER)
    fails(desk, "share", str(tid), OTHER, code=3, as_=OTHER)  # hidden: as if missing
    fails(desk, "comment", str(tid), "hi", code=3, as_=OTHER)
    fails(desk, "set-status", str(tid), "closed", code=3, as_=OTHER)
