"""import and export: round trips, bad lines, all or nothing, people, ids, visibility."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, make_desk


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def tickets_of(text: str) -> list[dict[str, Any]]:
    return [r for r in records(text) if r["type"] == "ticket"]


def count(db: Path, table: str) -> int:
    assert table in ("tickets", "users", "orgs", "comments", "history", "attachments")
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def schema(db: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_schema "
            "WHERE name NOT LIKE 'sqlite_stat%'").fetchall())


def new_desk(tmp_path: Path, name: str, preset: str = "standard") -> Desk:
    d = Desk(tmp_path / name)
    d.run("init", "--preset", preset)
    return d


def ticket_line(**fields: Any) -> str:
    record = {"title": "Printer on fire", "requester": CUSTOMER, **fields}
    return json.dumps(record) + "\n"


def busy_desk(tmp_path: Path) -> tuple[Desk, list[int]]:
    """A desk with a bit of everything: comments, notes, files, people, follow-ups."""
    d = make_desk(tmp_path)
    (tmp_path / "log.txt").write_bytes(b"line 1\nline 2\n\x00\xff binary too")
    a = d.open("Printer on fire", "--body", "It smokes.\nA lot. ünïcödé", "--requester",
               CUSTOMER, "--priority", "high", "--category", "printing", "--field",
               "phone=+39055123")
    d.run("comment", str(a), "Please unplug it", "--status", "pending")
    d.run("comment", str(a), "--internal", "Supplier says Tuesday", "--attach",
          str(tmp_path / "log.txt"))
    d.run("comment", str(a), "Unplugged, still warm", "--attach", str(tmp_path / "log.txt"),
          as_=CUSTOMER)
    d.run("assign", str(a), AGENT)
    d.run("share", str(a), OTHER)
    b = d.open("VPN drops", "--requester", OTHER)
    d.run("set-status", str(b), "closed")
    c = d.open("Still broken", "--follow-up", str(b), "--requester", OTHER)
    d.open("New person", "--requester", "newbie@example.com")
    return d, [a, b, c]


# -- round trips ------------------------------------------------------------------------


def test_export_then_import_into_an_empty_desk_gives_the_same_tickets(tmp_path: Path) -> None:
    source, ids = busy_desk(tmp_path)
    exported = source.run("export").stdout
    copy = new_desk(tmp_path, "copy.db")
    result = copy.run("import", "-", input=exported.encode())
    assert "Imported 4 ticket(s) with 3 comment(s)" in result.stderr
    again = copy.run("export").stdout
    assert tickets_of(again) == tickets_of(exported)
    for tid in ids:
        assert copy.ticket(tid) == source.ticket(tid)
        assert copy.ticket(tid, as_=OTHER if tid != ids[0] else CUSTOMER) == source.ticket(
            tid, as_=OTHER if tid != ids[0] else CUSTOMER)
    people = {r["email"]: r for r in records(again) if r["type"] == "user"}
    assert people[AGENT]["role"] == "agent"
    assert people[CUSTOMER]["organization"] == "Acme"


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    source, (a, _b, c) = busy_desk(tmp_path)
    exported = {t["id"]: t for t in tickets_of(source.run("export").stdout)}
    first = exported[a]
    assert first["fields"] == {"phone": "+39055123"}
    assert first["assignee"] == AGENT and first["priority"] == "high"
    assert [cm["internal"] for cm in first["comments"]] == [False, True, False]
    assert [p["email"] for p in first["participants"]] == [OTHER]
    assert {x["name"] for x in first["attachments"]} == {"log.txt"}
    assert first["attachments"][0]["comment"] == first["comments"][1]["id"]
    assert {"status_changed_at", "activity_at", "reminded_for"} <= first.keys()
    assert exported[c]["follow_up_of"] == _b


def test_round_trip_into_a_desk_that_takes_registered_users_only(tmp_path: Path) -> None:
    source = make_desk(tmp_path, "service-desk")
    tid = source.open("Portal down", "--requester", CUSTOMER)
    exported = source.run("export").stdout
    copy = new_desk(tmp_path, "copy.db", "service-desk")
    copy.run("import", "-", input=exported.encode())
    assert copy.ticket(tid) == source.ticket(tid)


def test_imported_tickets_are_searchable_and_later_ones_too(tmp_path: Path) -> None:
    source, (a, _b, _c) = busy_desk(tmp_path)
    copy = new_desk(tmp_path, "copy.db")
    fresh = schema(copy.db)
    copy.run("import", "-", input=source.run("export").stdout.encode())
    assert schema(copy.db) == fresh  # triggers and indexes are all back
    with sqlite3.connect(copy.db) as conn:  # the full text matches the rows exactly
        conn.execute("INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('integrity-check', 1)")
        conn.execute("INSERT INTO comments_fts(comments_fts, rank) VALUES ('integrity-check', 1)")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert [t["id"] for t in copy.json("list", "--all", "--search", "smokes")] == [a]
    assert [t["id"] for t in copy.json("list", "--all", "--search", "Tuesday")] == [a]
    later = copy.open("Toner everywhere")
    copy.run("comment", str(later), "Zebrafish in the tray")
    assert [t["id"] for t in copy.json("list", "--search", "zebrafish")] == [later]


def test_export_to_a_file_is_private_and_complete(tmp_path: Path) -> None:
    source, _ = busy_desk(tmp_path)
    target = tmp_path / "backup.jsonl"
    result = source.run("export", "--output", str(target))
    assert result.stdout == ""
    assert "Exported 4 ticket(s)" in result.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert tickets_of(target.read_text()) == tickets_of(source.run("export").stdout)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary file"


# -- bad input: every bad line reported, nothing imported --------------------------------


def test_bad_lines_are_all_reported_and_nothing_is_imported(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    lines = [
        ticket_line(id=1),
        "{not json\n",
        ticket_line(id=3, status="exploded"),
        "\n",
        ticket_line(id=5, created_at="yesterday-ish"),
        json.dumps({"title": "No requester"}) + "\n",
        ticket_line(id=7, colour="red"),
        ticket_line(id=1),
        ticket_line(id=9, requester="new.person@example.com"),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(lines))
    result = d.run("import", str(path), expect=2)
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert [int(e.split(":")[1]) for e in errors] == [2, 3, 5, 6, 7, 8]
    assert "unknown status 'exploded'" in errors[1]
    assert "ISO-8601" in errors[2]
    assert "requester" in errors[3]
    assert "unknown field(s) colour" in errors[4]
    assert "ticket 1 already exists" in errors[5]
    assert result.stderr.splitlines()[-1].startswith(
        f"Error: 6 bad lines in {path} (first: line 2); nothing was imported")
    assert count(d.db, "tickets") == 0
    with sqlite3.connect(d.db) as conn:  # new.person was not kept either
        assert conn.execute("SELECT email FROM users").fetchall() == [(ADMIN,)]


def test_a_bad_comment_keeps_out_its_whole_ticket_and_the_file(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    line = ticket_line(id=4, comments=[
        {"author": ADMIN, "body": "fine"},
        {"author": ADMIN, "body": "", "internal": "yes"},
    ])
    result = d.run("import", "-", input=ticket_line(id=3) + line, expect=2)
    assert "<stdin>:2: comments[1].body must be non-empty text; comments[1].internal must " \
           "be true or false" in result.stderr
    assert count(d.db, "tickets") == 0
    assert count(d.db, "comments") == 0


def test_dry_run_checks_everything_and_imports_nothing(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    result = d.run("import", "-", "--dry-run", input=ticket_line() + ticket_line())
    assert "Would import 2 ticket(s)" in result.stderr
    assert count(d.db, "tickets") == 0
    bad = d.run("import", "-", "--dry-run", input=ticket_line(priority="meh"), expect=2)
    assert "<stdin>:1: unknown priority 'meh'" in bad.stderr


@pytest.mark.parametrize(("data", "message"), [
    (b"\xff\xfe garbage\n", "not UTF-8 text"),
    (b"[1, 2]\n", "each line must be a JSON object"),
    (b'{"type": "ticketcli-export", "version": 99}\n', "export format version 99"),
    (b'{"type": "invoice"}\n', "unknown record type 'invoice'"),
    (b'{"type": "user", "email": "x@example.com", "role": "boss"}\n', "unknown role 'boss'"),
    (b'{"title": "t", "requester": "a@b.c", "attachments": [{"name": "f", '
     b'"content_base64": "aGk=", "sha256": "00"}]}\n', "attachments[0].sha256 does not match"),
    (b'{"title": "t", "requester": "a@b.c", "follow_up_of": 77}\n', "follow_up_of 77"),
    (b'{"title": "t", "requester": "not-an-email"}\n', "requester: 'not-an-email' is not a valid"),
    (b'{"title": "t", "requester": "a@b.c", "id": 1.5}\n', "id must be a positive whole"),
    (b'{"title": "t", "requester": "a@b.c", "history": [{"at": "2026-01-01T00:00:00Z", '
     b'"event": "status", "to": "gone"}]}\n', "history[0].to: unknown status 'gone'"),
])
def test_each_kind_of_bad_record_is_named(tmp_path: Path, data: bytes, message: str) -> None:
    d = new_desk(tmp_path, "desk.db")
    result = d.run("import", "-", "--format", "jsonl", input=data, expect=2)
    assert f"<stdin>:1: {message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert count(d.db, "tickets") == 0


@pytest.mark.parametrize(("fields", "message"), [
    # Digits of another script look like a time to a lax pattern, and sort wrong.
    ({"created_at": "\u0662\u0660\u0662\u0666-01-01T00:00:00Z"}, "created_at must be an ISO-8601"),
    ({"history": [{"at": "2026-01-01T00:00:0\u0665Z", "event": "opened"}]},
     "history[0].at must be an ISO-8601"),
    # What `open` refuses in a title, import refuses too.
    ({"title": "Printer \x1b[31mon fire"}, "title cannot contain control characters"),
])
def test_values_open_would_refuse_are_bad_lines(tmp_path: Path, fields: dict[str, Any],
                                                message: str) -> None:
    d = new_desk(tmp_path, "desk.db")
    result = d.run("import", "-", input=ticket_line(**fields), expect=2)
    assert f"<stdin>:1: {message}" in result.stderr
    assert count(d.db, "tickets") == 0


def test_a_csv_number_in_other_digits_is_a_bad_line_not_a_crash(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    data = f"id,title,requester\n\u00b2,Printer,{CUSTOMER}\n".encode()
    result = d.run("import", "-", "--format", "csv", input=data, expect=2)
    assert "<stdin>:2: id must be a positive whole number" in result.stderr
    assert "Traceback" not in result.stderr


# -- people and permissions -----------------------------------------------------------------


def test_unknown_requesters_become_customers_where_the_workflow_allows(tmp_path: Path) -> None:
    d = make_desk(tmp_path)
    d.run("import", "-", input=ticket_line(requester="Walk.In@Example.com",
                                           organization="Acme"))
    users = {u["email"]: u for u in d.json("user", "list")}
    assert users["walk.in@example.com"]["role"] == "customer"
    assert users["walk.in@example.com"]["organization"] == "Acme"


def test_registered_only_workflow_reports_unknown_people(tmp_path: Path) -> None:
    d = make_desk(tmp_path, "service-desk")
    data = ticket_line(requester="stranger@example.com") + ticket_line()
    result = d.run("import", "-", input=data, expect=2)
    assert "<stdin>:1: stranger@example.com not registered, and the service-desk workflow " \
           "accepts registered users only" in result.stderr
    assert "<stdin>:2" not in result.stderr
    assert count(d.db, "tickets") == 0


def test_assignees_must_be_agents(tmp_path: Path) -> None:
    d = make_desk(tmp_path)
    data = (ticket_line(assignee=OTHER) + ticket_line(assignee="ghost@example.com")
            + ticket_line(assignee=AGENT))
    result = d.run("import", "-", input=data, expect=2)
    assert f"<stdin>:1: assignee {OTHER} is a customer" in result.stderr
    assert "<stdin>:2: assignee ghost@example.com is not a user" in result.stderr
    assert "<stdin>:3" not in result.stderr
    people = (
        json.dumps({"type": "user", "email": "ghost@example.com", "role": "agent"}) + "\n"
    )
    d.run("import", "-", input=people + ticket_line(assignee="ghost@example.com"))
    assert d.json("list")[0]["assignee"] == "ghost@example.com"


def test_only_admins_import(tmp_path: Path) -> None:
    d = make_desk(tmp_path)
    result = d.run("import", "-", input=ticket_line(), as_=AGENT, expect=4)
    assert "only admins may import tickets" in result.stderr
    assert count(d.db, "tickets") == 0


def test_customers_export_only_what_show_shows_them(tmp_path: Path) -> None:
    d, (a, b, _c) = busy_desk(tmp_path)
    out = records(d.run("export", as_=CUSTOMER).stdout)
    assert [r["type"] for r in out] == ["ticketcli-export", "ticket"]
    mine = out[1]
    assert mine["id"] == a
    assert [c["body"] for c in mine["comments"]] == ["Please unplug it",
                                                     "Unplugged, still warm"]
    assert not [h for h in mine["history"] if h["event"] == "note"]
    assert len(mine["attachments"]) == 1
    shown = d.ticket(a, as_=CUSTOMER)
    assert [c["id"] for c in mine["comments"]] == [c["id"] for c in shown["comments"]]
    assert mine["history"] == shown["history"]
    shared = [t["id"] for t in tickets_of(d.run("export", as_=OTHER).stdout)]
    assert a in shared and b in shared


# -- numbers ---------------------------------------------------------------------------------


def test_numbers_in_use_are_refused_unless_new_ids(tmp_path: Path) -> None:
    d = make_desk(tmp_path)
    d.open("Already here")
    data = (ticket_line(id=1, status="closed") + ticket_line(id=2, follow_up_of=1)
            + ticket_line(id=3, follow_up_of=1))
    result = d.run("import", "-", input=data, expect=2)
    assert "<stdin>:1: ticket 1 already exists" in result.stderr
    assert "--new-ids" in result.stderr
    d.run("import", "-", "--new-ids", input=data)
    listed = {t["id"]: t for t in d.json("list", "--all")}
    assert sorted(listed) == [1, 2, 3, 4]
    assert listed[3]["follow_up_of"] == 2 and listed[4]["follow_up_of"] == 2


def test_follow_ups_may_point_forward_in_the_file(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    data = ticket_line(id=5, follow_up_of=9) + ticket_line(id=9, status="closed")
    d.run("import", "-", input=data)
    assert d.ticket(5)["follow_up_of"] == 9


def test_records_without_history_get_an_imported_event(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    path = tmp_path / "old-tool.jsonl"
    path.write_text(ticket_line(id=42, status="pending", created_at="2024-03-01 10:00"))
    d.run("import", str(path))
    shown = d.ticket(42)
    assert shown["created_at"] == "2024-03-01T10:00:00Z"
    assert shown["updated_at"] == "2024-03-01T10:00:00Z"
    assert [(h["event"], h["to"], h["detail"]) for h in shown["history"]] == [
        ("imported", "pending", {"source": str(path)})]


# -- CSV -------------------------------------------------------------------------------------


def test_csv_with_fields_participants_and_line_numbers(tmp_path: Path) -> None:
    d = make_desk(tmp_path)
    path = tmp_path / "tickets.csv"
    path.write_text(
        "id,title,description,status,priority,requester,participants,field.phone\n"
        f'10,Printer,"Two\nlines",open,high,{CUSTOMER},"{OTHER}; {AGENT}",+39055\n'
        f"11,Scanner,,nope,low,{CUSTOMER},,\n"
        f"12,Fax,,open,low,{CUSTOMER},,\n"
    )
    result = d.run("import", str(path), expect=2)
    assert f"{path}:4: unknown status 'nope'" in result.stderr
    assert count(d.db, "tickets") == 0
    path.write_text(path.read_text().replace("nope", "pending"))
    d.run("import", str(path))
    shown = d.ticket(10)
    assert shown["description"] == "Two\nlines"
    assert shown["participants"] == sorted([OTHER, AGENT])  # added together: by email
    assert shown["fields"] == {"phone": "+39055"}
    assert d.ticket(11)["status"] == "pending"


def test_list_csv_output_imports_into_another_desk(tmp_path: Path) -> None:
    d, _ = busy_desk(tmp_path)
    listing = d.run("list", "--all", "--format", "csv").stdout
    copy = make_desk(tmp_path, name="copy.db")
    copy.run("import", "-", "--format", "csv", input=listing)
    keys = ("id", "title", "status", "priority", "category", "requester", "assignee",
            "created_at", "updated_at")
    assert [{k: t[k] for k in keys} for t in copy.json("list", "--all")] == [
        {k: t[k] for k in keys} for t in d.json("list", "--all")]


def test_csv_with_unknown_columns_is_refused(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    result = d.run("import", "-", "--format", "csv", input="title,colour\nx,red\n", expect=2)
    assert "<stdin>:1: unknown column(s) colour" in result.stderr


def test_missing_file_and_unknown_format_are_usage_errors(tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    assert "does not exist" in d.run("import", str(tmp_path / "nope.jsonl"), expect=2).stderr
    assert "choose jsonl or csv" in d.run("import", "-", "--format", "xml", input="",
                                          expect=2).stderr


def test_a_large_import_leaves_planner_statistics_and_the_schema_intact(
        tmp_path: Path) -> None:
    d = new_desk(tmp_path, "desk.db")
    fresh = schema(d.db)
    rows = "".join(f"{i},Ticket {i},{CUSTOMER},{'open' if i % 3 else 'closed'}\n"
                   for i in range(1, 1501))
    d.run("import", "-", "--format", "csv", input="id,title,requester,status\n" + rows)
    assert schema(d.db) == fresh
    with sqlite3.connect(d.db) as conn:
        stats = dict(conn.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'tickets'"))
    assert stats["idx_tickets_status_id"].startswith("1500 ")
    assert len(d.json("list", "--limit", "0")) == 1000
    assert len(d.json("list", "--all", "--search", "Ticket", "--limit", "0")) == 1500


def _segments(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT count(DISTINCT segid) FROM tickets_fts_idx")
                   .fetchone()[0])


def _free_pages(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


def test_a_desk_moving_in_gets_one_full_text_segment(tmp_path: Path) -> None:
    """Imported batch by batch, the index is then merged into one segment; a smaller
    import into a larger desk leaves the merging to FTS5."""
    d = new_desk(tmp_path, "desk.db")

    def csv(ids: range, word: str) -> str:
        return "id,title,requester\n" + "".join(f"{i},{word} {i},{CUSTOMER}\n" for i in ids)

    d.run("import", "-", "--format", "csv", input=csv(range(1, 12_001), "printer"))
    assert _segments(d.db) == 1
    assert _free_pages(d.db) == 0  # the indexes built after it took what the merge freed
    d.run("import", "-", "--format", "csv", input=csv(range(12_001, 14_001), "scanner"))
    assert _segments(d.db) > 1
    assert len(d.json("list", "--all", "--search", "printer", "--limit", "0")) == 12_000
    found = d.json("list", "--all", "--search", "scanner", "--limit", "5")
    assert [t["id"] for t in found] == [14_000, 13_999, 13_998, 13_997, 13_996]


def _automerge(db: Path, table: str) -> Any:
    assert table in ("tickets_fts", "comments_fts")
    with closing(sqlite3.connect(db)) as conn:
        row = conn.execute(
            f"SELECT v FROM {table}_config WHERE k = 'automerge'").fetchone()  # noqa: S608
    return None if row is None else row[0]


def test_an_import_pauses_full_text_merging_only_while_it_lasts(tmp_path: Path) -> None:
    """FTS5 merges segments as rows come in; an import turns that off while it runs (it
    merges once at the end) and leaves each index's setting as it found it, so later
    writes merge again. A failed import changes nothing."""
    d = new_desk(tmp_path, "desk.db")
    with closing(sqlite3.connect(d.db)) as conn, conn:
        conn.execute("INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('automerge', 8)")
    assert _automerge(d.db, "comments_fts") is None  # FTS5's default: 4
    body = "id,title,requester\n" + "".join(f"{i},Ticket {i},{CUSTOMER}\n"
                                            for i in range(1, 6_001))
    d.run("import", "-", "--format", "csv", input=body)
    assert (_automerge(d.db, "tickets_fts"), _automerge(d.db, "comments_fts")) == (8, 4)
    bad = f"id,title,requester\n7000,Fine,{CUSTOMER}\n7001,,{CUSTOMER}\n"
    d.run("import", "-", "--format", "csv", input=bad, expect=2)
    assert (_automerge(d.db, "tickets_fts"), _automerge(d.db, "comments_fts")) == (8, 4)
    assert len(d.json("list", "--all", "--limit", "0")) == 6_000


def test_import_keeps_what_the_insert_triggers_keep(tmp_path: Path) -> None:
    """Import does the work of the insert triggers once a batch: counts per status,
    time bounds per block of ids, full text, all as the triggers would have."""
    d = new_desk(tmp_path, "desk.db")
    statuses = ("new", "open", "pending", "closed")

    def lines(ids: range) -> str:
        return "".join(
            ticket_line(id=i, title=f"Ticket {i} zebra", status=statuses[i % 4],
                        created_at=f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
                        updated_at="2026-01-01T00:00:00Z" if i % 5 else "2026-02-01T00:00:00Z")
            for i in ids)

    d.run("import", "-", input=lines(range(1000, 3500)))
    d.run("import", "-", input=lines(range(1, 900)) + lines(range(5000, 5100)))
    with sqlite3.connect(d.db) as conn:
        assert dict(conn.execute("SELECT status, n FROM ticket_counts WHERE n > 0")) == dict(
            conn.execute("SELECT status, count(*) FROM tickets GROUP BY status"))
        assert conn.execute("SELECT * FROM ticket_blocks ORDER BY block").fetchall() == (
            conn.execute("SELECT id >> 10, min(created_at), max(created_at), min(updated_at) "
                         "FROM tickets GROUP BY id >> 10 ORDER BY 1").fetchall())
        conn.execute("INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('integrity-check', 1)")
    assert len(d.json("list", "--all", "--search", "zebra", "--limit", "0")) == 3499


def test_new_ids_renumber_comments_and_keep_history_pointing_at_them(tmp_path: Path) -> None:
    d, (a, _b, _c) = busy_desk(tmp_path)
    d.run("import", "-", "--new-ids", input=d.run("export").stdout)
    original = d.ticket(a)
    copy = next(t for t in d.json("list", "--all", "--search", "smokes", "--limit", "0")
                if t["id"] != a)
    shown = d.ticket(copy["id"])
    assert [c["body"] for c in shown["comments"]] == [c["body"] for c in original["comments"]]
    new_ids = [c["id"] for c in shown["comments"]]
    assert not set(new_ids) & {c["id"] for c in original["comments"]}
    referenced = [h["detail"]["comment"] for h in shown["history"] if "comment" in h["detail"]]
    assert referenced == new_ids
    assert count(d.db, "tickets") == 8
