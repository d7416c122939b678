"""A desk for a team: who acts (logins bound to people, acting for others, via), people
changed and disabled, the first admin, and the files a team shares on one host."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk

from ticketcli.config import real_login

ME = real_login()


def history(desk: Desk, tid: int) -> list[dict[str, Any]]:
    return list(desk.ticket(tid)["history"])


# -- who acts ------------------------------------------------------------------------------


def test_a_desk_without_bindings_acts_as_it_is_told(desk: Desk) -> None:
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("comment", str(tid), "hello", as_=AGENT)
    assert [h["via"] for h in history(desk, tid)] == [None, None]


def test_a_bound_login_acts_as_its_person(desk: Desk) -> None:
    desk.run("user", "edit", AGENT, "--login", ME)
    tid = desk.open("Printer", as_=None)  # nobody named: the login's person
    assert desk.ticket(tid, as_=None)["requester"] == AGENT
    assert desk.ticket(tid, as_=AGENT)["history"][0]["via"] is None
    desk.run("user", "list", as_=None, expect=4)  # an agent, not an admin
    desk.run("user", "edit", AGENT, "--no-login", as_=None, expect=4)
    desk.run("user", "edit", ADMIN, "--login", ME, as_=None, expect=4)


def test_an_agent_acts_for_a_customer_with_via_but_not_for_staff(desk: Desk) -> None:
    desk.run("user", "edit", AGENT, "--login", ME)
    tid = desk.open("For Anna", as_=CUSTOMER)
    desk.run("comment", str(tid), "On behalf of Anna", as_=CUSTOMER)
    last = desk.ticket(tid, as_=None)["history"][-1]
    assert (last["actor"], last["via"]) == (CUSTOMER, AGENT)
    before = desk.ticket(tid, as_=None)
    refused = desk.run("comment", str(tid), "As the admin", as_=ADMIN, expect=4)
    assert "may not act for staff" in refused.stderr
    assert desk.ticket(tid, as_=None) == before


def test_an_admin_login_acts_for_anyone(desk: Desk) -> None:
    desk.run("user", "edit", ADMIN, "--login", ME)
    tid = desk.open("x", as_=AGENT)
    assert (desk.ticket(tid)["requester"], history(desk, tid)[0]["via"]) == (AGENT, ADMIN)
    assert desk.json("user", "list", as_=None)[0]["login"] == ME


def test_a_customers_login_never_acts_as_staff(desk: Desk) -> None:
    desk.run("user", "edit", CUSTOMER, "--login", ME)
    tid = desk.open("Mine", as_=None)
    assert desk.ticket(tid, as_=None)["requester"] == CUSTOMER
    for who in (AGENT, ADMIN, OTHER):
        result = desk.run("list", as_=who, expect=4)
        assert result.stderr.startswith("Error: login ")
    desk.run("close-stale", as_=None, expect=4)  # cron work is staff work
    # TICKETCLI_USER is a request like --as.
    desk.run("list", as_=None, env={"TICKETCLI_USER": AGENT}, expect=4)


def test_a_login_binds_one_person(desk: Desk) -> None:
    desk.run("user", "edit", ADMIN, "--login", ME)
    clash = desk.run("user", "add", "new@example.com", "--login", ME, as_=None, expect=5)
    assert f"login {ME} is already bound to {ADMIN}" in clash.stderr
    desk.run("user", "edit", AGENT, "--login", ME, as_=None, expect=5)
    desk.run("user", "edit", ADMIN, "--no-login", as_=None)
    assert all(u["login"] is None for u in desk.json("user", "list"))


def test_login_names_are_checked(desk: Desk) -> None:
    for bad in ("-rf", "a b", "x/y", ""):
        desk.run("user", "add", "z@example.com", "--login", bad, expect=2)


# -- people change -------------------------------------------------------------------------


def test_user_edit_changes_name_role_and_organization(desk: Desk) -> None:
    desk.run("user", "edit", OTHER, "--name", "Bruno Bianchi", "--org", "Acme")
    users = {u["email"]: u for u in desk.json("user", "list")}
    assert (users[OTHER]["name"], users[OTHER]["organization"]) == ("Bruno Bianchi", "Acme")
    desk.run("user", "edit", OTHER, "--no-org", "--role", "agent")
    users = {u["email"]: u for u in desk.json("user", "list")}
    assert (users[OTHER]["organization"], users[OTHER]["role"]) == (None, "agent")
    desk.run("user", "edit", OTHER, "--org", "Acme", "--no-org", expect=2)
    desk.run("user", "edit", OTHER, "--role", "boss", expect=2)
    desk.run("user", "edit", "ghost@example.com", "--name", "G", expect=3)
    desk.run("user", "edit", OTHER, "--name", "x", as_=AGENT, expect=4)
    desk.run("user", "edit", OTHER, "--name", "Bad\u202ename", expect=2)


def test_moving_a_customer_reapplies_the_sharing_rule(desk_factory: Any) -> None:
    desk = desk_factory("service-desk")
    desk.run("user", "add", "carla@example.com", "--org", "Acme")
    tid = desk.open("Invoice export", as_=CUSTOMER)
    desk.run("share", str(tid), "carla@example.com", as_=CUSTOMER)
    result = desk.run("user", "edit", "carla@example.com", "--no-org")
    assert f"carla@example.com removed from ticket {tid}" in result.stderr
    ticket = desk.ticket(tid)
    assert ticket["participants"] == []
    last = ticket["history"][-1]
    assert (last["event"], last["actor"], last["detail"]["user"]) == (
        "unshared", ADMIN, "carla@example.com")
    desk.run("show", str(tid), as_="carla@example.com", expect=3)


def test_a_disabled_person_cannot_act_and_gets_no_mail(desk: Desk) -> None:
    tid = desk.open("Printer", as_=CUSTOMER)
    desk.run("share", str(tid), OTHER, as_=CUSTOMER)
    desk.run("user", "disable", OTHER)
    result = desk.run("list", as_=OTHER, expect=4)
    assert "disabled" in result.stderr
    before = len(desk.json("notify", "list", "--limit", "0"))
    desk.run("comment", str(tid), "Fixed it", as_=AGENT)
    new = desk.json("notify", "list", "--limit", "0")[: len(desk.json(
        "notify", "list", "--limit", "0")) - before]
    assert [m["recipient"] for m in new] == [CUSTOMER]
    assert desk.ticket(tid)["participants"] == [OTHER]  # their tickets stay
    users = {u["email"]: u for u in desk.json("user", "list")}
    assert users[OTHER]["disabled"] is True
    desk.run("user", "disable", ADMIN, expect=5)  # not the last word on themselves
    desk.run("user", "enable", OTHER)
    desk.run("list", as_=OTHER)


def test_a_desk_whose_first_person_came_by_mail_gets_an_admin(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "fresh.db")
    mail = (b"From: Anna <anna@example.com>\r\nTo: desk@example.com\r\nSubject: Help\r\n"
            b"\r\nThe printer burns.\r\n")
    assert desk.run("mail-in", input=mail, as_=None).stdout == "1\n"
    users = [(u["email"], u["role"]) for u in desk.json("user", "list", as_="boss@example.com")]
    assert ("boss@example.com", "admin") in users and ("anna@example.com", "customer") in users
    desk.run("list", as_="late@example.com", expect=4)


# -- files a team shares ---------------------------------------------------------------------


def _mode(path: Path) -> tuple[int, str]:
    info = os.stat(path)
    return stat.S_IMODE(info.st_mode), grp.getgrgid(info.st_gid).gr_name


def test_init_group_refuses_an_unknown_group(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "desk.db")
    result = desk.run("init", "--group", "no-such-group-" + secrets.token_hex(4), expect=2)
    assert "there is no group" in result.stderr
    assert not (tmp_path / "desk.db").exists()


def test_init_group_with_the_users_own_group(tmp_path: Path) -> None:
    """Any user may share a desk with a group they belong to: their own primary one here."""
    group = grp.getgrgid(os.getgid()).gr_name
    desk = Desk(tmp_path / "team" / "tickets.db")
    result = desk.run("init", "--group", group)
    assert f"shared with group {group}" in result.stderr
    assert _mode(desk.db) == (0o660, group)
    folder = os.stat(tmp_path / "team").st_mode
    assert folder & stat.S_ISGID and stat.S_IMODE(folder) & 0o070 == 0o070
    desk.open("x")
    for suffix in ("-wal", "-shm"):
        companion = Path(f"{desk.db}{suffix}")
        if companion.exists():
            assert _mode(companion) == (0o660, group), suffix
    checks = {c["check"]: c for c in desk.json("doctor")}
    assert checks["permissions"]["state"] == "ok", checks["permissions"]
    os.chmod(desk.db, 0o664)
    assert {c["check"]: c for c in json_doctor(desk, 1)}["permissions"]["state"] == "fail"


def json_doctor(desk: Desk, code: int) -> list[dict[str, Any]]:
    import json

    return list(json.loads(desk.run("doctor", "--format", "json", expect=code).stdout))


# -- two real people and cron on one desk (needs root to make them) ----------------------------


def _runtime_packages() -> list[str]:
    """The top-level modules of ticketcli and of every distribution it requires at run
    time (its extras left out), found from the installed metadata rather than listed,
    so a dependency that comes or goes does not break the test."""
    from importlib import metadata

    from packaging.requirements import Requirement

    tops: dict[str, list[str]] = {}
    for top, dists in metadata.packages_distributions().items():
        for dist in dists:
            tops.setdefault(dist.lower().replace("_", "-"), []).append(top)
    seen: set[str] = set()
    todo = ["ticketcli"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or ():
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name.lower().replace("_", "-"))
    names = {"ticketcli"}
    # sqlite-utils requires pip only for its own `install` command.
    for dist in seen - {"ticketcli", "pip"}:
        names.update(t for t in tops.get(dist, ()) if not t.startswith("_"))
    return sorted(names)


def _reachable_by_all(path: Path) -> bool:
    """Whether every user may reach ``path`` (each folder above it searchable)."""
    return all(os.stat(p).st_mode & 0o001 for p in [*path.parents][:-1])


def _python_for_all() -> str:
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if os.path.exists(candidate) and _reachable_by_all(Path(os.path.realpath(candidate))):
            return candidate
    pytest.fail("no Python interpreter other users may run (the team test needs one)")


def _library(base: Path) -> Path:
    """ticketcli and what it imports, copied where the test's users can read them (the
    checkout and the virtualenv may sit in root's home)."""
    import importlib.util

    lib = base / "lib"
    lib.mkdir()
    for name in _runtime_packages():
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, lib / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(origin, lib / origin.name)
    for path in [lib, *lib.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return lib


class Account:
    def __init__(self, name: str, groups: list[int], lib: Path) -> None:
        self.name = name
        info = pwd.getpwnam(name)
        self.uid, self.gid, self.groups = info.pw_uid, info.pw_gid, groups
        self.lib = lib

    def run(self, db: Path, *args: str, umask: int = 0o022,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
                       "LANG": "C.UTF-8", "PYTHONPATH": str(self.lib),
                       "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        python = _python_for_all()
        return subprocess.run(
            [python, "-m", "ticketcli", "--db", str(db), *args], capture_output=True,
            text=True, timeout=60, env=environment, cwd="/", user=self.uid, group=self.gid,
            extra_groups=self.groups, umask=umask)


@pytest.fixture
def team() -> Iterator[tuple[str, Account, Account, Account, Account, Path]]:
    """A group with two people and cron's account in it, one account outside, and a
    folder they can all reach."""
    tag = secrets.token_hex(3)
    group = f"tkt{tag}"
    names = [f"tkt{tag}{who}" for who in ("a", "b", "c", "x")]
    subprocess.run(["groupadd", group], check=True)
    try:
        for name in names:
            subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True)
        for name in names[:3]:
            subprocess.run(["usermod", "-aG", group, name], check=True)
        gid = grp.getgrnam(group).gr_gid
        base = Path(tempfile.mkdtemp(prefix="ticketcli-team-", dir="/tmp"))
        os.chmod(base, 0o755)
        lib = _library(base)
        os.chown(base, pwd.getpwnam(names[0]).pw_uid, -1)
        a, b, cron = (Account(n, [gid], lib) for n in names[:3])
        outsider = Account(names[3], [], lib)
        yield group, a, b, cron, outsider, base
    finally:
        for name in names:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        subprocess.run(["groupdel", group], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.root("creates Unix users and a group")
@pytest.mark.slow
def test_two_people_and_cron_work_one_desk(
        team: tuple[str, Account, Account, Account, Account, Path]) -> None:
    group, a, b, cron, outsider, base = team
    db = base / "desk" / "tickets.db"
    done = a.run(db, "--as", "marco@example.com", "init", "--group", group)
    assert done.returncode == 0, done.stderr
    assert _mode(db) == (0o660, group)
    assert os.stat(db.parent).st_mode & stat.S_ISGID
    added = a.run(db, "user", "add", "giulia@example.com", "--role", "agent", "--login", b.name)
    assert added.returncode == 0, added.stderr
    # giulia, with a narrow umask, opens a ticket: as herself, by her login.
    opened = b.run(db, "open", "Printer on fire", umask=0o077)
    assert (opened.returncode, opened.stdout) == (0, "1\n"), opened.stderr
    shown = a.run(db, "show", "1", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert '"requester": "giulia@example.com"' in shown.stdout
    replied = b.run(db, "comment", "1", "Working on it", "--status", "solved", umask=0o077)
    assert replied.returncode == 0, replied.stderr
    listed = a.run(db, "list", "--all", "--format", "ids")
    assert (listed.returncode, listed.stdout) == (0, "1\n"), listed.stderr
    # cron, a third account of the group, bound to no one, closes the solved ticket.
    stale = cron.run(db, "close-stale", "--now", "2099-01-01T00:00:00Z", "--format", "ids")
    assert (stale.returncode, stale.stdout) == (0, "1\n"), stale.stderr
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists():
            assert _mode(path) == (0o660, group), path
    # marco is bound to his login: giulia's login may not act as him.
    impostor = b.run(db, "--as", "marco@example.com", "user", "list")
    assert impostor.returncode == 4, impostor.stderr
    # Someone outside the group cannot open the desk at all.
    refused = outsider.run(db, "list")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    doctor = a.run(db, "doctor", "--format", "json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM history WHERE ticket_id = 1").fetchone()
    assert count >= 4


# -- limits that protect the desk are the desk's ------------------------------------------------


def test_a_user_config_may_lower_a_limit_never_raise_it(desk: Desk, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (2 * 1024 * 1024))
    config = tmp_path / "raise.toml"
    config.write_text("max_attachment_size = 100000000\nmax_title_length = 5\n")
    tid = desk.open("x", as_=CUSTOMER)
    desk.run("desk", "set", "max_attachment_size", str(1024 * 1024))
    refused = desk.run("--config", str(config), "comment", str(tid), "log", "--attach",
                       str(big), as_=CUSTOMER, expect=2)
    assert "desk set max_attachment_size" in refused.stderr
    desk.run("--config", str(config), "open", "too long", as_=CUSTOMER, expect=2)  # lowered
    desk.run("desk", "set", "max_attachment_size", str(4 * 1024 * 1024))
    desk.run("--config", str(config), "comment", str(tid), "log", "--attach", str(big),
             as_=CUSTOMER)
    assert desk.ticket(tid)["attachments"][0]["size"] == 2 * 1024 * 1024


def test_desk_limits_are_for_admins(desk: Desk) -> None:
    shown = {r["key"]: r for r in desk.json("desk", "show")}
    assert set(shown) == {"max_title_length", "max_body_size", "max_attachment_size",
                          "max_attachments", "max_fields", "max_field_size"}
    assert shown["max_attachments"]["value"] == shown["max_attachments"]["default"] == 20
    desk.run("desk", "set", "max_attachments", "3")
    assert {r["key"]: r["value"] for r in desk.json("desk", "show")}["max_attachments"] == 3
    desk.run("desk", "set", "max_attachments", "default")
    assert {r["key"]: r["value"] for r in desk.json("desk", "show")}["max_attachments"] == 20
    for who in (AGENT, CUSTOMER):
        desk.run("desk", "set", "max_attachments", "999", as_=who, expect=4)
        desk.run("desk", "show", as_=who, expect=4)
    desk.run("desk", "set", "max_bogus", "1", expect=3)
    for bad in ("0", "-1", "abc", "99999999999"):
        desk.run("desk", "set", "max_fields", bad, expect=2)


def test_fields_are_bounded_like_bodies(desk: Desk) -> None:
    desk.run("desk", "set", "max_fields", "2")
    desk.run("open", "x", "--field", "a=1", "--field", "b=2", "--field", "c=3", expect=2)
    desk.run("open", "x", "--field", "a=1", "--field", "b=2")
    desk.run("desk", "set", "max_field_size", "10")
    result = desk.run("open", "x", "--field", "a=" + "y" * 20, expect=2)
    assert "at most 10 characters" in result.stderr


def test_choosing_a_resolution_is_staff_work(desk_factory: Any) -> None:
    desk = desk_factory("service-desk")
    tid = desk.open("Export fails", as_=CUSTOMER)
    desk.run("set-status", str(tid), "resolved", as_=AGENT)
    refused = desk.run("set-status", str(tid), "closed", "--resolution", "other_department",
                       as_=CUSTOMER, expect=4)
    assert "staff work" in refused.stderr
    desk.run("set-status", str(tid), "closed", as_=CUSTOMER)
    assert desk.ticket(tid)["resolution"] == "done"
