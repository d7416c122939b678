"""Scripting and staff ergonomics: bulk changes, list filters and sorting, --fields,
--count, the config command and workflow files."""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from conftest import AGENT, CUSTOMER, OTHER, ROOT, Desk


def ids(desk: Desk, *args: str) -> list[int]:
    out = desk.run("list", *args, "--format", "ids").stdout
    return [int(x) for x in out.split()]


# -- bulk ------------------------------------------------------------------------------


def test_ids_piped_from_list_into_set_status(desk: Desk) -> None:
    pending = [desk.open(f"Pending {i}") for i in range(3)]
    other = desk.open("Stays new")
    for t in pending:
        desk.run("set-status", str(t), "pending", as_=AGENT)
    piped = desk.run("list", "--status", "pending", "--format", "ids").stdout
    result = desk.run("set-status", "-", "solved", input=piped, as_=AGENT)
    lines = result.stdout.splitlines()
    assert sorted(int(line.split("\t")[0]) for line in lines) == sorted(pending)
    assert all(line.split("\t")[1:] == ["ok", "pending -> solved"] for line in lines)
    assert "3 ok, 0 failed" in result.stderr
    assert {desk.status(t) for t in pending} == {"solved"}
    assert desk.status(other) == "new"
    # The same pipeline when nothing matches: nothing to do, which is success.
    piped = desk.run("list", "--status", "pending", "--format", "ids").stdout
    assert piped == ""
    for command in (["set-status", "-", "solved"], ["comment", "-", "--body", "Any news?"]):
        result = desk.run(*command, input=piped, as_=AGENT)
        assert (result.stdout, result.stderr) == ("", "0 ok, 0 failed.\n")
    # Ids missing from the command line itself are still a usage error.
    assert desk.run("set-status", "solved", as_=AGENT, expect=2).stderr.startswith("Error:")


def test_bulk_reports_each_failure_and_exits_with_its_code(desk: Desk) -> None:
    good = desk.open("Good")
    closed = desk.open("Closed")
    desk.run("set-status", str(closed), "closed", as_=AGENT)
    result = desk.run("set-status", str(good), str(closed), "999", "open", as_=AGENT,
                      expect=1)  # a conflict (5) and a missing ticket (3): mixed codes
    rows = {int(r.split("\t")[0]): r.split("\t")[1:] for r in result.stdout.splitlines()}
    assert rows[good] == ["ok", "new -> open"]
    assert rows[closed][0] == "failed" and "final" in rows[closed][1]
    assert rows[999] == ["failed", "ticket 999 not found"]
    assert desk.status(good) == "open"
    same = desk.run("set-status", str(closed), "998", "open", as_=AGENT, expect=None)
    assert same.exit_code in (3, 5, 1)


def test_bulk_dry_run_checks_everything_and_changes_nothing(desk: Desk) -> None:
    tickets = [desk.open(f"T{i}") for i in range(4)]
    before = [desk.ticket(t) for t in tickets]
    result = desk.run("set-status", *map(str, tickets), "solved", "--dry-run", as_=AGENT)
    assert result.stdout.count("\tok\t") == 4
    assert "dry run" in result.stderr
    assert [desk.ticket(t) for t in tickets] == before
    said = desk.run("comment", *map(str, tickets), "--body", "Any news?", "--dry-run",
                    as_=AGENT)
    assert said.stdout.count("\tok\t") == 4
    assert all(not desk.ticket(t)["comments"] for t in tickets)


def test_bulk_comment_reaches_every_ticket(desk: Desk) -> None:
    tickets = [desk.open(f"T{i}", as_=CUSTOMER) for i in range(3)]
    desk.run("comment", *map(str, tickets), "--body", "The part has shipped.", as_=AGENT)
    for t in tickets:
        assert [c["body"] for c in desk.ticket(t)["comments"]] == ["The part has shipped."]
    # One id and a text: the classic form still works.
    desk.run("comment", str(tickets[0]), "Thanks!", as_=CUSTOMER)
    assert desk.ticket(tickets[0])["comments"][-1]["body"] == "Thanks!"


def test_bad_ids_are_refused_before_anything_changes(desk: Desk) -> None:
    t = desk.open("T")
    result = desk.run("set-status", str(t), "x1", "open", as_=AGENT, expect=2)
    assert "x1" in result.stderr
    assert desk.status(t) == "new"


# -- list: filters, sorting, fields, count -----------------------------------------------


@pytest.fixture
def stocked(desk: Desk) -> dict[str, int]:
    desk.run("org", "add", "Beta")
    desk.run("user", "add", "carla@beta.example", "--org", "Beta")
    t = {
        "low": desk.open("Low one", "--priority", "low", "--category", "printers", as_=CUSTOMER),
        "urgent": desk.open("Urgent one", "--priority", "urgent", as_=CUSTOMER),
        "beta": desk.open("Beta one", "--priority", "high", as_="carla@beta.example"),
        "solved": desk.open("Solved one", as_=OTHER),
    }
    desk.run("set-status", str(t["solved"]), "solved", as_=AGENT)
    desk.run("set-status", str(t["urgent"]), "pending", as_=AGENT)
    desk.run("take", str(t["beta"]), as_=AGENT)
    return t


def test_list_filters(desk: Desk, stocked: dict[str, int]) -> None:
    t = stocked
    assert ids(desk, "--phase", "pending") == [t["urgent"]]
    assert ids(desk, "--phase", "solved", "--phase", "new") == [t["solved"], t["beta"], t["low"]]
    assert ids(desk, "--org", "Beta") == [t["beta"]]
    assert ids(desk, "--org", "Nowhere") == []
    assert ids(desk, "--category", "printers") == [t["low"]]
    assert desk.run("--as", AGENT, "list", "--assignee", "me", "--format", "ids",
                    as_=None).stdout.split() == [str(t["beta"])]
    assert ids(desk, "--created-since", "2000-01-01", "--phase", "new") == [t["beta"], t["low"]]
    assert ids(desk, "--created-before", "2000-01-01") == []
    assert ids(desk, "--updated-before", "2999-01-01", "--phase", "solved") == [t["solved"]]
    assert ids(desk, "--updated-since", "2999-01-01") == []


def test_list_stale_shows_what_close_stale_would_close(desk: Desk,
                                                        stocked: dict[str, int]) -> None:
    assert ids(desk, "--stale") == []  # solved just now: not idle yet
    import sqlite3

    with sqlite3.connect(desk.db) as conn:
        conn.execute("UPDATE tickets SET activity_at = '2000-01-01T00:00:00Z' WHERE id = ?",
                     (stocked["solved"],))
    assert ids(desk, "--stale") == [stocked["solved"]]
    closed = json.loads(desk.run("close-stale", "--format", "json").stdout)
    assert [c["id"] for c in closed] == [stocked["solved"]]
    assert ids(desk, "--stale") == []


def test_list_sorts_in_workflow_order_and_by_fields(desk: Desk, stocked: dict[str, int]) -> None:
    t = stocked
    assert ids(desk, "--sort=-priority") == [t["urgent"], t["beta"], t["solved"], t["low"]]
    assert ids(desk, "--sort", "priority") == [t["low"], t["solved"], t["beta"], t["urgent"]]
    assert ids(desk, "--sort", "title") == [t["beta"], t["low"], t["solved"], t["urgent"]]
    assert ids(desk, "--sort", "id:asc") == sorted(t.values())
    # Ties follow the id, in the same direction.
    assert ids(desk, "--sort", "status") == [t["low"], t["beta"], t["urgent"], t["solved"]]
    bad = desk.run("list", "--sort", "colour", expect=2)
    assert "priority" in bad.stderr


def test_list_count_and_limit_note(desk: Desk, stocked: dict[str, int]) -> None:
    assert desk.run("list", "--count").stdout == "4\n"
    assert desk.run("list", "--count", "--phase", "new").stdout == "2\n"
    limited = desk.run("list", "--limit", "2", "--format", "ids")
    assert len(limited.stdout.split()) == 2
    assert limited.stderr == ""  # the limit was asked for: no note about it
    everything = desk.run("list", "--limit", "0", "--format", "ids")
    assert len(everything.stdout.split()) == 4 and everything.stderr == ""


def test_fields_pick_and_order_output_in_every_format(desk: Desk,
                                                      stocked: dict[str, int]) -> None:
    t = stocked["low"]
    rows = json.loads(desk.run("list", "--fields", "priority,id", "--format", "json",
                               "--category", "printers").stdout)
    assert rows == [{"priority": "low", "id": t}]
    assert list(rows[0]) == ["priority", "id"]
    tsv = desk.run("list", "--fields", "id,title", "--format", "tsv", "--category", "printers")
    assert tsv.stdout == f"id\ttitle\n{t}\tLow one\n"
    csv = desk.run("list", "--fields", "title", "--format", "csv", "--category", "printers")
    assert csv.stdout == "title\nLow one\n"
    shown = json.loads(desk.run("show", str(t), "--fields", "status,comments",
                                "--format", "json").stdout)
    assert shown == {"status": "new", "comments": []}
    bad = desk.run("list", "--fields", "id,colour", expect=2)
    assert "colour" in bad.stderr and "priority" in bad.stderr


# -- config -------------------------------------------------------------------------------


def test_config_set_get_unset_keep_comments_and_unknown_keys(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text('# my desk\nuser = "x@example.com"  # me\n\n[extra]\nkept = 1\n')
    run = lambda *a, **k: desk.run("--config", str(path), *a, as_=None, **k)  # noqa: E731
    run("config", "set", "language", "it")
    run("config", "set", "smtp.port", "587")
    run("config", "set", "busy_timeout", "2.5")
    assert run("config", "get", "language").stdout == "it\n"
    assert run("config", "get", "smtp.port").stdout == "587\n"
    text = path.read_text()
    assert "# my desk" in text and "# me" in text and "[extra]" in text
    data = tomllib.loads(text)
    assert data["language"] == "it" and data["smtp"] == {"port": 587}
    assert data["busy_timeout"] == 2.5 and data["extra"] == {"kept": 1}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "language=it" in run("config", "list").stdout.splitlines()
    run("config", "unset", "language")
    run("config", "get", "language", expect=3)
    assert "# my desk" in path.read_text()
    before = path.read_text()
    bad = run("config", "set", "language", "fr", expect=2)
    assert bad.stderr == "Error: language must be 'en' or 'it', not 'fr'\n"
    assert path.read_text() == before
    assert run("config", "path").stdout == f"{path}\n"


# -- workflow files ---------------------------------------------------------------------


def test_workflow_export_edit_validate_import_with_a_mapping(desk: Desk, tmp_path: Path) -> None:
    held = desk.open("Waiting for the supplier")
    desk.run("set-status", str(held), "on_hold", as_=AGENT)
    exported = tmp_path / "desk.toml"
    desk.run("workflow", "export", str(exported))
    data = tomllib.loads(exported.read_text())
    data["statuses"]["supplier"] = data["statuses"].pop("on_hold")
    text = json.dumps(data).replace('"on_hold"', '"supplier"')
    edited = tmp_path / "edited.toml"
    edited.write_text(tomli_w.dumps(json.loads(text)))
    desk.run("workflow", "validate", str(edited))
    refused = desk.run("workflow", "import", str(edited), expect=5)
    assert "on_hold" in refused.stderr and "--map" in refused.stderr
    assert desk.status(held) == "on_hold"
    desk.run("workflow", "import", str(edited), "--map", "on_hold=supplier")
    shown = desk.ticket(held)
    assert shown["status"] == "supplier" and shown["phase"] == "hold"
    assert shown["history"][-1]["from"] == "on_hold"
    assert shown["history"][-1]["to"] == "supplier"
    assert "supplier" in desk.run("workflow", "show").stdout
    desk.run("set-status", str(held), "open", as_=AGENT)


def test_workflow_validate_lists_every_problem_with_its_location(desk: Desk,
                                                                tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        'name = "x"\ninitial = "nowhere"\npriorities = ["normal"]\n'
        '[statuses.open]\nphase = "bogus"\nlabel = { en = "Open" }\n'
        '[[moves]]\nroles = ["agent"]\nfrom = ["open"]\nto = ["gone"]\n'
    )
    result = desk.run("workflow", "validate", str(broken), expect=78)
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("Error:")
    problems = "\n".join(lines[:-1])
    for where in ("initial", "statuses.open.phase", "statuses.open.label.it", "moves[0].to"):
        assert f"{broken}: {where}" in problems, where
    desk.run("workflow", "import", str(broken), expect=78)
    assert json.loads(desk.run("workflow", "show", "--format", "json").stdout)["name"] == \
        "standard"


def test_workflow_import_is_admins_only(desk: Desk, tmp_path: Path) -> None:
    exported = tmp_path / "desk.toml"
    desk.run("workflow", "export", str(exported))
    desk.run("workflow", "import", str(exported), as_=AGENT, expect=4)


def test_search_pages_newest_first_through_descriptions_and_comments(desk: Desk) -> None:
    old_comment = desk.open("Quiet one", as_=CUSTOMER)
    desk.run("comment", str(old_comment), "the toner smells", as_=CUSTOMER)
    described = [desk.open(f"T{i}", "--body", "toner everywhere", as_=CUSTOMER)
                 for i in range(4)]
    new_comment = desk.open("Another quiet one", as_=CUSTOMER)
    desk.run("comment", str(new_comment), "Toner again", as_=CUSTOMER)
    internal = desk.open("Internal only", as_=CUSTOMER)
    desk.run("comment", str(internal), "--internal", "toner supplier", as_=AGENT)
    everything = [internal, new_comment, *reversed(described), old_comment]
    assert ids(desk, "--search", "toner", "--limit", "0") == everything
    first = desk.run("list", "--search", "TONER", "--limit", "3", "--format", "ids")
    assert [int(x) for x in first.stdout.split()] == everything[:3]
    assert "--limit" not in first.stderr
    assert ids(desk, "--search", "ton", "--limit", "100") == everything  # a prefix
    assert desk.run("list", "--search", "toner", "--count").stdout == f"{len(everything)}\n"
    mine = desk.run("list", "--search", "toner", "--format", "ids", as_=CUSTOMER).stdout
    assert [int(x) for x in mine.split()] == everything[1:]  # never through internal notes
    assert ids(desk, "--search", "toner smells") == [old_comment]
    assert ids(desk, "--search", "toner", "--status", "new", "--sort", "id:asc") == \
        list(reversed(everything))


def test_sorted_pages_by_priority_and_status(desk: Desk, stocked: dict[str, int]) -> None:
    t = stocked
    page = desk.run("list", "--sort=-priority", "--limit", "2", "--format", "ids")
    assert [int(x) for x in page.stdout.split()] == [t["urgent"], t["beta"]]
    assert "--limit" not in page.stderr
    assert ids(desk, "--sort", "priority", "--limit", "3") == [t["low"], t["solved"], t["beta"]]
    assert ids(desk, "--sort", "-status", "--limit", "2") == [t["solved"], t["urgent"]]
    assert ids(desk, "--sort", "-priority", "--limit", "0") == \
        ids(desk, "--sort", "-priority", "--limit", "100")


def _on_a_terminal(desk: Desk, args: list[str], answer: bytes) -> tuple[int, str]:
    """Run ticketcli with a pseudo-terminal as its terminal; answer its question."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "ticketcli", "--db", str(desk.db),
                                  "--as", AGENT, *args])
    seen = b""
    answered = False
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        assert ready, f"no output from the terminal: {seen!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(fd, answer)
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert answered, seen
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_many_tickets_on_a_terminal_ask_first(desk: Desk) -> None:
    ids = [str(desk.open(f"T{i}", as_=CUSTOMER)) for i in range(6)]
    code, seen = _on_a_terminal(desk, ["set-status", *ids, "open"], b"n\n")
    assert code == 2 and "Move to open 6 tickets? [y/N]" in seen and "cancelled" in seen
    assert {desk.status(int(t)) for t in ids} == {"new"}
    code, seen = _on_a_terminal(desk, ["set-status", *ids, "open"], b"y\n")
    assert code == 0, seen
    assert {desk.status(int(t)) for t in ids} == {"open"}
