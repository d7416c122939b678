"""Roles and visibility (the README's "People and visibility"), enforced for every command
and every format.

Customers see only the tickets they requested or were shared into, never internal
notes (nor anything attached to them); agents see and work everything; admins also
manage people. The acting person comes from --as, TICKETCLI_USER, the config, the login.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk
from typer.testing import CliRunner

from ticketcli.cli import app

FORMATS = ("table", "json", "jsonl", "csv", "tsv", "ids")
SECRET = "Zanzibar"  # a word only internal notes contain
PUNCT_SECRET = "%%##%%"  # only punctuation: exercises the non-word search path


class Scene:
    """anna's ticket (with an internal note), bruno's ticket shared with anna, bruno's
    private ticket, and a staff ticket."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.anna = desk.open("Anna printer", "--body", "Anna body", as_=CUSTOMER)
        desk.run("comment", str(self.anna), "Public answer for Anna", as_=AGENT)
        desk.run("comment", str(self.anna), "--internal", f"{SECRET} supplier delay {PUNCT_SECRET}",
                 as_=AGENT)
        self.shared = desk.open("Bruno shared", "--body", "Bruno body shared", as_=OTHER)
        desk.run("share", str(self.shared), CUSTOMER, as_=OTHER)
        self.private = desk.open("Bruno private", "--body", "Bruno secret body", as_=OTHER)
        desk.run("comment", str(self.private), "Bruno private reply", as_=AGENT)
        self.staff = desk.open("Staff only", "--body", "internal matter", as_=AGENT)

    def ids(self, *args: str, as_: str = CUSTOMER) -> list[int]:
        out = self.desk.run("list", *args, "--format", "ids", as_=as_).stdout
        return [int(x) for x in out.split()]


@pytest.fixture
def scene(desk: Desk) -> Scene:
    return Scene(desk)


# -- what each role sees -----------------------------------------------------------------------


def test_customer_lists_own_and_shared_only(scene: Scene) -> None:
    assert scene.ids() == [scene.shared, scene.anna]
    assert scene.ids("--all") == [scene.shared, scene.anna]
    assert scene.ids(as_=OTHER) == [scene.private, scene.shared]
    assert scene.ids(as_=AGENT) == [scene.staff, scene.private, scene.shared, scene.anna]
    assert scene.ids(as_=ADMIN) == [scene.staff, scene.private, scene.shared, scene.anna]


def test_customer_list_hides_others_in_every_format(scene: Scene) -> None:
    for fmt in FORMATS:
        out = scene.desk.run("list", "--all", "--format", fmt, as_=CUSTOMER).stdout
        assert "Bruno private" not in out, fmt
        assert "Staff only" not in out, fmt
        if fmt != "ids":
            assert "Anna printer" in out and "Bruno shared" in out, fmt
        if fmt == "json":
            assert {r["id"] for r in json.loads(out)} == {scene.anna, scene.shared}


def test_customer_list_default_format_hides_others(scene: Scene) -> None:
    out = scene.desk.run("list", "--all", as_=CUSTOMER).stdout
    assert sorted(int(line.split("\t")[0]) for line in out.splitlines()) == sorted(
        [scene.anna, scene.shared])


def test_customer_filters_cannot_widen_visibility(scene: Scene) -> None:
    assert scene.ids("--requester", OTHER) == [scene.shared]
    assert scene.ids("--requester", AGENT) == []
    assert scene.ids("--status", "new") == [scene.shared, scene.anna]
    assert scene.ids("--limit", "0", "--all") == [scene.shared, scene.anna]


def test_customer_search_never_finds_others_tickets(scene: Scene) -> None:
    for word in ("Bruno", "secret", "private", "Staff", "matter", "reply"):
        found = scene.ids("--all", "--search", word)
        assert scene.private not in found, word
        assert scene.staff not in found, word


def test_customer_search_finds_own_and_shared(scene: Scene) -> None:
    assert scene.ids("--search", "Anna") == [scene.anna]
    assert scene.ids("--search", "shared") == [scene.shared]
    assert scene.ids("--search", "Public answer") == [scene.anna]


def test_customer_cannot_show_others_tickets(scene: Scene) -> None:
    for tid in (scene.private, scene.staff):
        for fmt in FORMATS:
            result = scene.desk.run("show", str(tid), "--format", fmt, as_=CUSTOMER, expect=None)
            assert result.exit_code in (3, 4), result.exit_code
            assert result.stdout == ""
            assert result.stderr.startswith("Error:")
            assert "Bruno private" not in result.stderr and "Staff only" not in result.stderr


def test_customer_shows_own_and_shared(scene: Scene) -> None:
    assert scene.desk.ticket(scene.anna, as_=CUSTOMER)["title"] == "Anna printer"
    assert scene.desk.ticket(scene.shared, as_=CUSTOMER)["title"] == "Bruno shared"


def test_customer_cannot_act_on_invisible_tickets(scene: Scene) -> None:
    for args in (("comment", str(scene.private), "hello"),
                 ("set-status", str(scene.private), "closed"),
                 ("share", str(scene.private), CUSTOMER),
                 ("open", "Follow", "--follow-up", str(scene.private))):
        result = scene.desk.run(*args, as_=CUSTOMER, expect=None)
        assert result.exit_code in (3, 4), (args, result.exit_code)
    t = scene.desk.ticket(scene.private)
    assert t["participants"] == []
    assert [c["body"] for c in t["comments"]] == ["Bruno private reply"]
    assert scene.ids(as_=ADMIN) == [scene.staff, scene.private, scene.shared, scene.anna]


# -- internal notes ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", [CUSTOMER, OTHER])
def test_internal_notes_hidden_from_customers_in_every_format(scene: Scene, who: str) -> None:
    # OTHER is the requester of scene.shared, CUSTOMER a participant: a note there too.
    scene.desk.run("comment", str(scene.shared), "--internal", f"{SECRET} on shared",
                   as_=AGENT)
    for tid in (scene.anna, scene.shared) if who == CUSTOMER else (scene.shared,):
        for fmt in FORMATS:
            out = scene.desk.run("show", str(tid), "--format", fmt, as_=who).stdout
            assert SECRET not in out, (tid, fmt)
            assert PUNCT_SECRET not in out, (tid, fmt)
            assert "internal note" not in out, (tid, fmt)
            staff = scene.desk.run("show", str(tid), "--format", fmt, as_=AGENT).stdout
            if fmt in ("table", "json", "jsonl"):
                assert SECRET in staff  # the check above can fail


def test_internal_notes_hidden_in_default_show(scene: Scene) -> None:
    out = scene.desk.run("show", str(scene.anna), as_=CUSTOMER).stdout
    assert SECRET not in out
    assert "Public answer for Anna" in out or str(scene.anna) in out


def test_internal_notes_hidden_from_customer_json(scene: Scene) -> None:
    t = scene.desk.ticket(scene.anna, as_=CUSTOMER)
    assert [c["body"] for c in t["comments"]] == ["Public answer for Anna"]
    assert all(c["internal"] is False for c in t["comments"])
    assert all(h["event"] != "note" for h in t["history"])
    assert SECRET not in json.dumps(t)
    staff = scene.desk.ticket(scene.anna, as_=AGENT)
    assert [c["internal"] for c in staff["comments"]] == [False, True]


def test_search_never_matches_internal_notes_for_customers(scene: Scene) -> None:
    for query in (SECRET, SECRET.lower(), "supplier delay", "Zanz", PUNCT_SECRET, "##"):
        assert scene.ids("--all", "--search", query) == [], query
        assert scene.ids("--all", "--search", query, as_=AGENT) == [scene.anna], query


def test_set_status_note_by_staff_is_internal(scene: Scene) -> None:
    scene.desk.run("set-status", str(scene.anna), "on_hold", "--note", "Kilimanjaro vendor",
                   as_=AGENT)
    out = scene.desk.run("show", str(scene.anna), "--format", "json", as_=CUSTOMER).stdout
    assert "Kilimanjaro" not in out
    assert scene.ids("--search", "Kilimanjaro") == []
    assert json.loads(out)["status"] == "on_hold"


def test_attachments_of_internal_notes_are_hidden(scene: Scene, tmp_path: Path) -> None:
    f = tmp_path / "salary-Zanzibar.xlsx"
    f.write_bytes(b"confidential numbers")
    scene.desk.run("comment", str(scene.anna), "--internal", "see file", "--attach", str(f),
                   as_=AGENT)
    staff = scene.desk.ticket(scene.anna, as_=AGENT)
    assert [a["name"] for a in staff["attachments"]] == ["salary-Zanzibar.xlsx"]
    t = scene.desk.ticket(scene.anna, as_=CUSTOMER)
    assert t["attachments"] == []
    # Nor may the history tell the customer about it.
    assert SECRET not in json.dumps(t)
    for fmt in ("table", "jsonl"):
        out = scene.desk.run("show", str(scene.anna), "--format", fmt, as_=CUSTOMER).stdout
        assert "salary" not in out


def test_customer_cannot_write_internal_notes(scene: Scene) -> None:
    result = scene.desk.run("comment", str(scene.anna), "--internal", "me too", as_=CUSTOMER,
                            expect=4)
    assert result.stderr.startswith("Error:")
    assert len(scene.desk.ticket(scene.anna)["comments"]) == 2


# -- what customers may change -----------------------------------------------------------------


def test_requester_may_close_own_solved_ticket(scene: Scene) -> None:
    scene.desk.run("set-status", str(scene.anna), "solved", as_=AGENT)
    scene.desk.run("set-status", str(scene.anna), "closed", as_=CUSTOMER)
    t = scene.desk.ticket(scene.anna)
    assert t["status"] == "closed"
    last = [h for h in t["history"] if h["event"] == "status"][-1]
    assert (last["actor"], last["from"], last["to"]) == (CUSTOMER, "solved", "closed")


def test_requester_may_not_move_otherwise(scene: Scene) -> None:
    for target in ("open", "pending", "on_hold", "solved", "closed"):
        result = scene.desk.run("set-status", str(scene.anna), target, as_=CUSTOMER,
                                expect=None)
        assert result.exit_code in (4, 5), (target, result.exit_code)
        assert result.stderr.startswith("Error:")
    assert scene.desk.status(scene.anna) == "new"
    scene.desk.run("set-status", str(scene.anna), "solved", as_=AGENT)
    scene.desk.run("set-status", str(scene.anna), "open", as_=CUSTOMER, expect=4)
    assert scene.desk.status(scene.anna) == "solved"


def test_participant_may_not_close_someone_elses_ticket(scene: Scene) -> None:
    scene.desk.run("set-status", str(scene.shared), "solved", as_=AGENT)
    scene.desk.run("set-status", str(scene.shared), "closed", as_=CUSTOMER, expect=4)
    assert scene.desk.status(scene.shared) == "solved"
    # The requester (bruno) may.
    scene.desk.run("set-status", str(scene.shared), "closed", as_=OTHER)
    assert scene.desk.status(scene.shared) == "closed"


def test_participant_reply_is_public_and_visible_to_requester(scene: Scene) -> None:
    scene.desk.run("comment", str(scene.shared), "Anna adds a detail", as_=CUSTOMER)
    bodies = [c["body"] for c in scene.desk.ticket(scene.shared, as_=OTHER)["comments"]]
    assert bodies == ["Anna adds a detail"]


def test_customer_cannot_assign_or_take(scene: Scene) -> None:
    scene.desk.run("assign", str(scene.anna), AGENT, as_=CUSTOMER, expect=4)
    scene.desk.run("take", str(scene.anna), as_=CUSTOMER, expect=4)
    assert scene.desk.ticket(scene.anna)["assignee"] is None


def test_participant_cannot_reshare(scene: Scene) -> None:
    scene.desk.run("user", "add", "carla@example.com")
    scene.desk.run("share", str(scene.shared), "carla@example.com", as_=CUSTOMER, expect=4)
    assert scene.desk.ticket(scene.shared)["participants"] == [CUSTOMER]
    # A participant may leave.
    scene.desk.run("share", str(scene.shared), CUSTOMER, "--remove", as_=CUSTOMER)
    assert scene.ids() == [scene.anna]


def test_agent_works_every_ticket(scene: Scene) -> None:
    for tid in (scene.anna, scene.shared, scene.private):
        scene.desk.run("comment", str(tid), "on it", "--status", "open", as_=AGENT)
        assert scene.desk.status(tid) == "open"
    scene.desk.run("comment", str(scene.private), "--internal", "note", as_=AGENT)


# -- people and roles --------------------------------------------------------------------------


def test_user_management_is_for_admins(desk: Desk) -> None:
    for who in (AGENT, CUSTOMER):
        desk.run("user", "add", "new@example.com", as_=who, expect=4)
        desk.run("user", "list", as_=who, expect=4)
        desk.run("org", "add", "Globex", as_=who, expect=4)
    desk.run("org", "list", as_=CUSTOMER, expect=4)
    emails = {u["email"] for u in desk.json("user", "list")}
    assert "new@example.com" not in emails
    desk.run("user", "add", "new-admin@example.com", "--role", "admin")
    desk.run("user", "add", "new@example.com", as_="new-admin@example.com")


def test_unknown_actor_is_refused(desk: Desk) -> None:
    result = desk.run("list", as_="nobody@example.com", expect=4)
    assert result.stderr.startswith("Error:")
    assert "nobody@example.com" in result.stderr
    desk.run("open", "x", as_="nobody@example.com", expect=4)
    assert "nobody@example.com" not in {u["email"] for u in desk.json("user", "list")}


def test_actor_emails_are_case_insensitive(desk: Desk) -> None:
    tid = desk.open("mine", as_="Anna@Example.COM")
    assert desk.ticket(tid)["requester"] == CUSTOMER


def _fresh(tmp_path: Path, name: str = "fresh.db") -> Desk:
    return Desk(tmp_path / name)


def test_first_actor_on_a_new_database_becomes_admin(tmp_path: Path) -> None:
    desk = _fresh(tmp_path)
    desk.run("init", as_="first@example.com")
    desk.run("user", "add", "second@example.com", "--role", "agent", as_="first@example.com")
    users = {u["email"]: u["role"] for u in desk.json("user", "list", as_="first@example.com")}
    assert users == {"first@example.com": "admin", "second@example.com": "agent"}
    desk.run("list", as_="third@example.com", expect=4)


def test_whoever_runs_init_is_the_admin_not_whoever_comes_next(tmp_path: Path) -> None:
    desk = _fresh(tmp_path)
    result = desk.run("init", as_="boss@example.com")
    assert "boss@example.com is its admin" in result.stderr
    desk.run("list", as_="next@example.com", expect=4)
    users = desk.json("user", "list", as_="boss@example.com")
    assert [(u["email"], u["role"]) for u in users] == [("boss@example.com", "admin")]


def test_first_actor_without_init(tmp_path: Path) -> None:
    desk = _fresh(tmp_path)
    tid = desk.open("Hello", as_="solo@example.com")
    assert desk.ticket(tid, as_="solo@example.com")["requester"] == "solo@example.com"
    users = desk.json("user", "list", as_="solo@example.com")
    assert [(u["email"], u["role"]) for u in users] == [("solo@example.com", "admin")]
    desk.run("open", "Hi", as_="late@example.com", expect=4)


def test_first_actor_from_environment(tmp_path: Path) -> None:
    desk = _fresh(tmp_path)
    desk.run("list", as_=None, env={"TICKETCLI_USER": "env@example.com"})
    users = desk.json("user", "list", as_="env@example.com")
    assert [(u["email"], u["role"]) for u in users] == [("env@example.com", "admin")]


def test_actor_precedence(desk: Desk, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'user = "{OTHER}"\n', encoding="utf-8")

    def requester(*global_args: str, env: dict[str, str] | None = None) -> str:
        out = desk.run(*global_args, "open", "who am I", as_=None, env=env).stdout
        return str(desk.ticket(int(out))["requester"])

    assert requester("--config", str(cfg)) == OTHER
    assert requester("--config", str(cfg), env={"TICKETCLI_USER": CUSTOMER}) == CUSTOMER
    assert requester("--config", str(cfg), "--as", AGENT,
                     env={"TICKETCLI_USER": CUSTOMER}) == AGENT
    assert requester(env={"TICKETCLI_USER": CUSTOMER}) == CUSTOMER


def test_login_name_is_the_last_resort(tmp_path: Path) -> None:
    import getpass

    desk = _fresh(tmp_path)
    desk.run("open", "From my login", as_=None)
    users = desk.json("user", "list", as_=None)
    assert len(users) == 1
    login = getpass.getuser()
    assert users[0]["email"].startswith(login.lower())
    assert users[0]["role"] == "admin"


def test_visibility_with_real_cli_runner_env(desk: Desk) -> None:
    """TICKETCLI_DB and TICKETCLI_USER from the environment give the same view as options."""
    mine = desk.open("Anna's", as_=CUSTOMER)
    desk.open("Bruno's", as_=OTHER)
    result = CliRunner().invoke(app, ["list", "--all", "--format", "ids"],
                                env={"TICKETCLI_DB": str(desk.db),
                                     "TICKETCLI_USER": CUSTOMER})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{mine}\n"
