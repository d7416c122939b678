"""The daily tools of a desk: edit, org edit, attachment list/get, notify prefs, and the
mail agents get about their own work."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, make_desk

AGENT2 = "luca@example.com"


@pytest.fixture
def team(tmp_path: Path) -> Desk:
    d = make_desk(tmp_path)
    d.run("user", "add", AGENT2, "--role", "agent", "--name", "Luca")
    return d


def edits(d: Desk, tid: int, as_: str = ADMIN) -> list[dict[str, Any]]:
    return [h["detail"] for h in d.ticket(tid, as_=as_)["history"] if h["event"] == "edited"]


# -- edit -----------------------------------------------------------------------------


def test_staff_edit_every_field_each_change_an_edited_event(desk: Desk) -> None:
    tid = desk.open("Printr", "--field", "phone=1", "--field", "contact=email", as_=CUSTOMER)
    result = desk.run("edit", str(tid), "--title", "Printer on fire", "--priority", "urgent",
                      "--category", "hardware", "--field", "phone=2", "--unset-field",
                      "contact", "--description", "Smoke", as_=AGENT)
    assert result.stdout == ""
    assert f"Ticket {tid}: changed" in result.stderr
    t = desk.ticket(tid)
    assert (t["title"], t["priority"], t["category"], t["description"]) == \
        ("Printer on fire", "urgent", "hardware", "Smoke")
    assert t["fields"] == {"phone": "2"}
    assert edits(desk, tid) == [
        {"field": "title", "from": "Printr", "to": "Printer on fire"},
        {"field": "description", "from": "", "to": "Smoke"},
        {"field": "priority", "from": "normal", "to": "urgent"},
        {"field": "category", "from": None, "to": "hardware"},
        {"field": "field.phone", "from": "1", "to": "2"},
        {"field": "field.contact", "from": "email", "to": None},
    ]
    history = [h for h in t["history"] if h["event"] == "edited"]
    assert {h["actor"] for h in history} == {AGENT}


def test_edit_takes_labels_and_changes_only_what_differs(desk: Desk) -> None:
    tid = desk.open("Same")
    desk.run("edit", str(tid), "--priority", "Alta")
    assert desk.ticket(tid)["priority"] == "high"
    again = desk.run("edit", str(tid), "--priority", "high", "--title", "Same")
    assert "nothing changed" in again.stderr
    assert len(edits(desk, tid)) == 1


def test_edit_requester_moves_the_organization(desk: Desk) -> None:
    tid = desk.open("For Bruno", "--requester", OTHER)
    desk.run("edit", str(tid), "--requester", CUSTOMER)
    t = desk.ticket(tid)
    assert t["requester"] == CUSTOMER and t["organization"] == "Acme"
    assert {"field": "requester", "from": OTHER, "to": CUSTOMER} in edits(desk, tid)
    assert {"field": "organization", "from": None, "to": "Acme"} in edits(desk, tid)
    # Now Anna's: she sees it, Bruno no longer does.
    desk.ticket(tid, as_=CUSTOMER)
    desk.run("show", str(tid), as_=OTHER, expect=3)  # hidden: answered as missing
    desk.run("edit", str(tid), "--requester", "nobody@example.com", expect=3)


def test_a_requester_edits_title_and_description_of_their_own_active_ticket(
        desk: Desk) -> None:
    tid = desk.open("Typo tittle", as_=CUSTOMER)
    desk.run("edit", str(tid), "--title", "Typo title", "--description-file", "-",
             as_=CUSTOMER, input="More detail\n")
    t = desk.ticket(tid, as_=CUSTOMER)
    assert (t["title"], t["description"]) == ("Typo title", "More detail\n")
    for extra in (("--priority", "urgent"), ("--category", "x"), ("--field", "a=b"),
                  ("--requester", OTHER)):
        desk.run("edit", str(tid), *extra, as_=CUSTOMER, expect=4)
    desk.run("share", str(tid), OTHER, as_=CUSTOMER)
    desk.run("edit", str(tid), "--title", "Mine now", as_=OTHER, expect=4)  # a participant
    desk.run("set-status", str(tid), "closed", as_=AGENT)
    desk.run("edit", str(tid), "--title", "Too late", as_=CUSTOMER, expect=4)
    assert desk.ticket(tid)["title"] == "Typo title"
    desk.run("edit", str(tid), "--title", "Staff may still", as_=AGENT)  # staff: any time


def test_edit_refuses_bad_input_and_changes_nothing(desk: Desk) -> None:
    tid = desk.open("Keep me")
    before = desk.ticket(tid)
    desk.run("edit", str(tid), expect=2)  # nothing to change
    desk.run("edit", str(tid), "--priority", "critical", expect=2)
    desk.run("edit", str(tid), "--title", "", expect=2)
    desk.run("edit", str(tid), "--title", "x" * 301, expect=2)
    desk.run("edit", str(tid), "--field", "no-equals", expect=2)
    desk.run("edit", str(tid), "--unset-field", "a b", expect=2)
    desk.run("edit", str(tid), "--field", "a=1", "--unset-field", "a", expect=2)
    desk.run("edit", str(tid), "--description", "x", "--description-file", "-", expect=2)
    desk.run("edit", "999", "--title", "x", expect=3)
    assert desk.ticket(tid) == before


def test_edit_is_one_change_set_for_the_outbox(desk: Desk) -> None:
    from ticketcli.store import Store

    tid = desk.open("Watched")
    seen: list[Any] = []
    store = Store.open(desk.db)
    store.subscribers.append(lambda _s, changes: seen.append(changes))
    from ticketcli.desk.editing import edit_ticket

    actor = store.people.user_by_email(ADMIN)
    assert actor is not None
    edit_ticket(store, actor, "2026-01-01T00:00:00Z", tid, title="New", priority="high")
    store.close()
    assert len(seen) == 1
    assert [(e.event, e.detail["field"]) for e in seen[0].events] == \
        [("edited", "title"), ("edited", "priority")]


# -- org edit -------------------------------------------------------------------------


def test_org_edit_renames_and_changes_the_manager(desk: Desk) -> None:
    desk.run("org", "edit", "Acme", "--rename", "Acme Italia", "--manager", AGENT)
    orgs = {o["name"]: o for o in desk.json("org", "list")}
    assert "Acme" not in orgs and orgs["Acme Italia"]["manager"] == AGENT
    assert orgs["Acme Italia"]["members"] == 1
    desk.run("org", "edit", "acme italia", "--no-manager")  # names match in any case
    assert desk.json("org", "list")[0]["manager"] is None
    assert desk.ticket(desk.open("x", as_=CUSTOMER))["organization"] == "Acme Italia"


def test_org_edit_errors(desk: Desk) -> None:
    desk.run("org", "add", "Beta")
    desk.run("org", "edit", "Acme", "--rename", "beta", expect=5)
    desk.run("org", "edit", "Nope", "--rename", "x", expect=3)
    desk.run("org", "edit", "Acme", expect=2)
    desk.run("org", "edit", "Acme", "--manager", AGENT, "--no-manager", expect=2)
    desk.run("org", "edit", "Acme", "--manager", CUSTOMER, expect=2)
    desk.run("org", "edit", "Acme", "--rename", "  ", expect=2)
    desk.run("org", "edit", "Acme", "--rename", "Other", as_=AGENT, expect=4)
    desk.run("org", "edit", "Acme", "--rename", "ACME")  # its own name in other case
    assert [o["name"] for o in desk.json("org", "list")] == ["ACME", "Beta"]


# -- attachments ----------------------------------------------------------------------


@pytest.fixture
def files(desk: Desk, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "log.txt").write_bytes(b"line 1\n")
    (tmp_path / "shot.png").write_bytes(bytes(range(256)) * 3)
    (tmp_path / "secret.txt").write_bytes(b"supplier price list")
    tid = desk.open("With files", "--attach", str(tmp_path / "log.txt"), as_=CUSTOMER)
    desk.run("comment", str(tid), "Here is a screenshot", "--attach",
             str(tmp_path / "shot.png"), as_=CUSTOMER)
    desk.run("comment", str(tid), "--internal", "Price list", "--attach",
             str(tmp_path / "secret.txt"), as_=AGENT)
    return {"tid": tid, "dir": tmp_path}


def test_attachment_list_json_shape_and_visibility(desk: Desk, files: dict[str, Any]) -> None:
    tid = files["tid"]
    staff = desk.json("attachment", "list", str(tid))
    assert [a["name"] for a in staff] == ["log.txt", "shot.png", "secret.txt"]
    assert list(staff[0]) == ["id", "ticket", "comment", "name", "size", "sha256", "uploader",
                              "internal", "created_at"]
    comments = desk.ticket(tid)["comments"]
    assert staff[0]["comment"] is None and staff[1]["comment"] == comments[0]["id"]
    assert staff[2]["comment"] == comments[1]["id"]
    assert [a["internal"] for a in staff] == [False, False, True]
    assert staff[1]["size"] == 768
    assert staff[1]["sha256"] == hashlib.sha256(bytes(range(256)) * 3).hexdigest()
    assert staff[1]["uploader"] == CUSTOMER and staff[1]["ticket"] == tid
    mine = desk.json("attachment", "list", f"#{tid}", as_=CUSTOMER)
    assert [a["name"] for a in mine] == ["log.txt", "shot.png"]
    missing = desk.run("attachment", "list", str(tid), as_=OTHER, expect=3)
    nothing = desk.run("attachment", "list", "999", as_=OTHER, expect=3)
    assert missing.stderr.replace(str(tid), "N") == nothing.stderr.replace("999", "N")


def test_attachment_get_writes_the_stored_bytes_never_overwriting(
        desk: Desk, files: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = {a["name"]: a["id"] for a in desk.json("attachment", "list", str(files["tid"]))}
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    got = desk.run("attachment", "get", str(ids["shot.png"]), as_=CUSTOMER)
    assert (out / "shot.png").read_bytes() == bytes(range(256)) * 3
    assert "shot.png" in got.stderr and got.stdout == ""
    assert (out / "shot.png").stat().st_mode & 0o777 == 0o600
    (out / "log.txt").write_bytes(b"mine")
    refused = desk.run("attachment", "get", str(ids["log.txt"]), expect=1)
    assert "exists" in refused.stderr
    assert (out / "log.txt").read_bytes() == b"mine"
    desk.run("attachment", "get", str(ids["log.txt"]), "--output", str(out / "copy.txt"))
    assert (out / "copy.txt").read_bytes() == b"line 1\n"
    piped = desk.run("attachment", "get", str(ids["shot.png"]), "--output", "-")
    assert piped.stdout_bytes == bytes(range(256)) * 3


def test_attachment_get_hides_what_a_customer_may_not_see(desk: Desk,
                                                          files: dict[str, Any]) -> None:
    ids = {a["name"]: a["id"] for a in desk.json("attachment", "list", str(files["tid"]))}
    internal = desk.run("attachment", "get", str(ids["secret.txt"]), "-o", "-",
                        as_=CUSTOMER, expect=3)
    other = desk.run("attachment", "get", str(ids["log.txt"]), "-o", "-", as_=OTHER, expect=3)
    absent = desk.run("attachment", "get", "9999", "-o", "-", as_=CUSTOMER, expect=3)
    assert internal.stdout == other.stdout == absent.stdout == ""
    assert "not found" in internal.stderr and "not found" in other.stderr
    staff = desk.run("attachment", "get", str(ids["secret.txt"]), "-o", "-", as_=AGENT)
    assert staff.stdout == "supplier price list"


def test_attachment_get_checks_the_sha256(desk: Desk, files: dict[str, Any],
                                          tmp_path: Path) -> None:
    aid = desk.json("attachment", "list", str(files["tid"]))[0]["id"]
    with sqlite3.connect(desk.db) as conn:
        conn.execute("UPDATE attachments SET content = ? WHERE id = ?", (b"line 2\n", aid))
    conn.close()
    bad = desk.run("attachment", "get", str(aid), "-o", str(tmp_path / "x.txt"), expect=1)
    assert "damaged" in bad.stderr and not (tmp_path / "x.txt").exists()


def test_attachment_names_become_safe_local_files(desk: Desk, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tid = desk.open("x")
    for name in ("../../etc/passwd", ".bashrc", "..", "a\x1bb.txt"):
        with sqlite3.connect(desk.db) as conn:
            conn.execute(
                "INSERT INTO attachments(ticket_id, comment_id, uploader_id, name, size, "
                "sha256, content, created_at) VALUES (?, NULL, 1, ?, 1, ?, ?, ?)",
                (tid, name, hashlib.sha256(b"x").hexdigest(), b"x", "2026-01-01T00:00:00Z"))
        conn.close()
    monkeypatch.chdir(tmp_path)
    for a in desk.json("attachment", "list", str(tid)):
        desk.run("attachment", "get", str(a["id"]))
    made = sorted(p.name for p in tmp_path.iterdir() if p.is_file() and p.name != "desk.db"
                  and not p.name.startswith("desk.db"))
    assert made == ["ab.txt", "attachment-2.bashrc", "attachment-3", "passwd"]
    assert not os.path.exists(tmp_path.parent / "etc")


# -- notify prefs and the agents' mail ------------------------------------------------


def outbox(d: Desk) -> list[dict[str, Any]]:
    rows = d.json("notify", "list", "--limit", "0", as_=ADMIN)
    return sorted(rows, key=lambda m: m["id"])


def mail_to(d: Desk, who: str) -> list[str]:
    return [m["kind"] for m in outbox(d) if m["recipient"] == who]


def test_notify_prefs_defaults_and_changes(team: Desk) -> None:
    prefs = team.json("notify", "prefs", as_=AGENT)
    assert prefs == [{"event": "assigned", "enabled": True, "default": True},
                     {"event": "customer_reply", "enabled": True, "default": True},
                     {"event": "new_ticket", "enabled": False, "default": False}]
    result = team.run("notify", "prefs", "--set", "new_ticket=on", "--set", "assigned=off",
                      "--format", "json", as_=AGENT)
    assert {p["event"]: p["enabled"] for p in json.loads(result.stdout)} == \
        {"assigned": False, "customer_reply": True, "new_ticket": True}
    # One's own: another agent keeps the defaults.
    assert [p["enabled"] for p in team.json("notify", "prefs", as_=AGENT2)] == \
        [True, True, False]
    team.run("notify", "prefs", "--set", "bogus=on", as_=AGENT, expect=2)
    team.run("notify", "prefs", "--set", "assigned=maybe", as_=AGENT, expect=2)
    team.run("notify", "prefs", as_=CUSTOMER, expect=4)


def test_the_assignee_hears_of_an_assignment_but_not_of_their_own(team: Desk) -> None:
    tid = team.open("Printer", as_=CUSTOMER)
    team.run("assign", str(tid), AGENT, as_=ADMIN)
    team.run("take", str(tid), as_=AGENT2)  # takes it themselves: no mail to them
    assert mail_to(team, AGENT) == ["assigned"]
    assert mail_to(team, AGENT2) == []
    team.run("notify", "prefs", "--set", "assigned=off", as_=AGENT)
    team.run("assign", str(tid), AGENT, as_=ADMIN)
    assert mail_to(team, AGENT) == ["assigned"]
    msg = next(m for m in outbox(team) if m["kind"] == "assigned")
    assert f"[#{tid}]" in msg["subject"] and "assigned ticket" in msg["body"]
    assert "Priority: Normal" in msg["body"]


def test_the_assignee_hears_of_a_customer_reply(team: Desk) -> None:
    tid = team.open("Printer", as_=CUSTOMER)
    team.run("assign", str(tid), AGENT, as_=AGENT)  # themselves: no mail
    team.run("comment", str(tid), "It smokes again", as_=CUSTOMER)
    team.run("comment", str(tid), "Unplug it", as_=AGENT)  # their own reply: nothing
    team.run("comment", str(tid), "--internal", "Call the supplier", as_=AGENT2)
    team.run("comment", str(tid), "Staff chat", as_=AGENT2)  # staff, not the customer side
    assert mail_to(team, AGENT) == ["customer_reply"]
    msg = next(m for m in outbox(team) if m["kind"] == "customer_reply")
    assert "It smokes again" in msg["body"] and "Anna" in msg["body"]
    team.run("notify", "prefs", "--set", "customer_reply=off", as_=AGENT)
    team.run("comment", str(tid), "Still smoking", as_=CUSTOMER)
    assert mail_to(team, AGENT) == ["customer_reply"]


def test_new_tickets_go_to_the_agents_who_asked(team: Desk) -> None:
    team.run("notify", "prefs", "--set", "new_ticket=on", as_=AGENT)
    tid = team.open("Printer", as_=CUSTOMER)
    team.open("Opened by the agent", as_=AGENT)  # their own: only its confirmation
    assert mail_to(team, AGENT) == ["new_ticket", "opened"]
    assert mail_to(team, AGENT2) == []
    msg = next(m for m in outbox(team) if m["kind"] == "new_ticket")
    assert f"[#{tid}] Printer" in msg["subject"]
    team.run("user", "add", "it@example.com", "--role", "agent")
    team.run("notify", "lang", "it", "--user", "it@example.com", as_=ADMIN)
    team.run("notify", "prefs", "--set", "new_ticket=on", as_="it@example.com")
    team.open("Stampante", as_=CUSTOMER)
    italian = [m for m in outbox(team) if m["recipient"] == "it@example.com"]
    assert italian and "ha aperto il ticket" in italian[0]["body"]


def test_agent_kinds_have_templates_in_both_languages(desk: Desk) -> None:
    for kind in ("assigned", "customer_reply", "new_ticket"):
        for lang in ("en", "it"):
            body = desk.run("notify", "template", "show", kind, "--lang", lang).stdout
            assert "$id" in body
