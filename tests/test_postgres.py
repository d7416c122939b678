"""A desk on PostgreSQL: what is the server's own (its driver, its schema, its lock) and
migrate-db between the engines. The rest of the suite runs on the server too, with
``--engine postgresql`` (see conftest).

These tests need a server: ``$TICKETCLI_TEST_PG`` names a database on it (``.ci/run``
starts a throw-away one). Without it they skip, unless ``TICKETCLI_TEST_PG_REQUIRED``
is set (as CI sets it): then they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, ROOT, Desk, dump, make_desk, pg_desk_url, run_cli

BASE = os.environ.get("TICKETCLI_TEST_PG")
if BASE is None and os.environ.get("TICKETCLI_TEST_PG_REQUIRED"):
    raise RuntimeError("TICKETCLI_TEST_PG_REQUIRED is set but TICKETCLI_TEST_PG is not")
server = pytest.mark.skipif(BASE is None, reason="no test server: set TICKETCLI_TEST_PG")


def _raw(url: str):  # type: ignore[no-untyped-def]
    import psycopg2

    con = psycopg2.connect(url)
    con.autocommit = True
    return con


# -- without a server -----------------------------------------------------------------------


def test_a_url_without_the_driver_is_bad_configuration(tmp_path: Path) -> None:
    # A psycopg2 that cannot be imported, first on the path.
    fake = tmp_path / "site" / "psycopg2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no libpq here')\n")
    env = {"PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{ROOT}"}
    for argv in (["list"], ["show", "1"], ["open", "Printer on fire"], ["close-stale"]):
        done = run_cli("--db", "postgresql://nobody@db.invalid/desk", *argv, env=env)
        assert done.returncode == 78, (argv, done.stderr)
        err = done.stderr.decode()
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "pip install 'ticketcli[postgresql]'" in err


def test_a_sqlite_command_never_imports_the_driver(desk: Desk) -> None:
    if not isinstance(desk.db, Path):
        pytest.skip("the desk is on the server")
    code = textwrap.dedent(f"""
        import sys
        from ticketcli.__main__ import run
        code = run(["--db", {str(desk.db)!r}, "--as", {ADMIN!r}, "list"])
        assert code == 0, code
        print(sorted(m for m in sys.modules if m.startswith("psycopg")))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_password_in_the_url_is_never_printed() -> None:
    done = run_cli("--db", "postgresql://desk:s3cret-pw@127.0.0.1:1/helpdesk?connect_timeout=2",
                   "list", "--as", ADMIN)
    err = done.stderr.decode()
    assert done.returncode != 0 and "Traceback" not in err
    assert "s3cret-pw" not in err and err.count("\n") == 1, err


# -- the schema --------------------------------------------------------------------------------


@server
def test_init_creates_the_schema_once_and_refuses_a_foreign_one() -> None:
    url = pg_desk_url()
    first = run_cli("--db", url, "init", "--preset", "care")
    assert first.returncode == 0, first.stderr
    assert b"care workflow" in first.stderr
    con = _raw(url)
    try:
        cur = con.cursor()
        cur.execute("SELECT version FROM ticketcli_schema")
        from ticketcli.store.migrations import SCHEMA_VERSION

        assert cur.fetchall() == [(SCHEMA_VERSION,)]
    finally:
        con.close()
    # A schema holding another program's tables is never touched.
    foreign = pg_desk_url()
    con = _raw(foreign)
    try:
        con.cursor().execute("CREATE TABLE invoices (id int)")
    finally:
        con.close()
    before = dump(foreign)
    for argv in (["init"], ["list"], ["open", "Printer on fire"]):
        done = run_cli("--db", foreign, *argv)
        assert done.returncode == 78, (argv, done.stderr)
        assert b"refusing to touch it" in done.stderr
    assert dump(foreign) == before


@server
def test_a_newer_schema_is_refused_and_left_alone(desk: Desk) -> None:
    url = pg_desk_url()
    assert run_cli("--db", url, "init").returncode == 0
    con = _raw(url)
    try:
        con.cursor().execute("UPDATE ticketcli_schema SET version = version + 1")
    finally:
        con.close()
    before = dump(url)
    done = run_cli("--db", url, "list")
    assert done.returncode == 78
    assert b"newer than this ticketcli understands" in done.stderr
    assert dump(url) == before


# -- the lock ------------------------------------------------------------------------------------


@server
def test_a_writer_past_the_busy_timeout_exits_75_and_changes_nothing() -> None:
    url = pg_desk_url()
    assert run_cli("--db", url, "init").returncode == 0
    assert run_cli("--db", url, "open", "Printer on fire").returncode == 0
    from ticketcli.store.postgres import LOCK_SQL

    holder = _raw(url)
    try:
        cur = holder.cursor()
        cur.execute("BEGIN")
        cur.execute(LOCK_SQL)
        before = dump(url)
        done = run_cli("--db", url, "comment", "1", "Unplug it",
                       env={"TICKETCLI_BUSY_TIMEOUT": "0.5"})
        assert done.returncode == 75, done.stderr
        assert b"busy" in done.stderr and done.stderr.count(b"\n") == 1
        # Readers do not wait for writers.
        assert run_cli("--db", url, "show", "1").returncode == 0
        cur.execute("ROLLBACK")
    finally:
        holder.close()
    assert dump(url) == before
    assert run_cli("--db", url, "comment", "1", "Unplug it").returncode == 0


@server
@pytest.mark.slow
def test_writers_on_separate_connections_lose_nothing() -> None:
    url = pg_desk_url()
    assert run_cli("--db", url, "init").returncode == 0
    assert run_cli("--db", url, "open", "Printer on fire").returncode == 0
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""
                from ticketcli.__main__ import run
                for i in range(8):
                    assert run(["--db", {url!r}, "comment", "1", "w{w} c" + str(i)]) == 0
                    assert run(["--db", {url!r}, "open", "w{w} t" + str(i)]) == 0
            """)], cwd=ROOT, stderr=subprocess.PIPE)
        for w in range(4)
    ]
    for p in writers:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    data = json.loads(run_cli("--db", url, "show", "1", "--format", "json").stdout)
    bodies = sorted(c["body"] for c in data["comments"])
    assert bodies == sorted(f"w{w} c{i}" for w in range(4) for i in range(8))
    ids = json.loads(run_cli("--db", url, "list", "--all", "--format", "json",
                             "--limit", "100").stdout)
    assert sorted(t["id"] for t in ids) == list(range(1, 34))
    count = run_cli("--db", url, "list", "--all", "--count").stdout.strip()
    assert count == b"33"


@server
@pytest.mark.slow
def test_two_close_stale_runs_at_once_close_each_ticket_once() -> None:
    url = pg_desk_url()
    assert run_cli("--db", url, "init").returncode == 0
    opened = []
    for i in range(40):
        done = run_cli("--db", url, "open", f"Ticket {i}")
        opened.append(int(done.stdout))
    for t in opened:
        assert run_cli("--db", url, "set-status", str(t), "solved",
                       "--resolution", "fixed").returncode == 0, t
    later = "2099-01-01T00:00:00Z"
    runs = [subprocess.Popen([sys.executable, "-m", "ticketcli", "--db", url, "close-stale",
                              "--now", later, "--format", "json"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]
    closed: list[int] = []
    for p in runs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        closed += [r["id"] for r in json.loads(out or b"[]")]
    assert sorted(closed) == sorted(opened)
    for t in opened[:5]:
        data = json.loads(run_cli("--db", url, "show", str(t), "--format", "json").stdout)
        assert data["status"] == "closed"
        moves = [h for h in data["history"] if h.get("to") == "closed"]
        assert len(moves) == 1, data["history"]


# -- migrate-db ----------------------------------------------------------------------------------


def _stocked(tmp_path: Path) -> Desk:
    desk = make_desk(tmp_path)
    first = desk.open("Stampante in fiamme: perché?", "--priority", "high",
                      "--body", "Fumo dal cassetto 2 — 🔥", as_=CUSTOMER)
    attachment = tmp_path / "log.bin"
    attachment.write_bytes(bytes(range(256)) * 4)
    desk.run("comment", str(first), "Please send the log", as_=AGENT)
    desk.run("comment", str(first), "Here it is", "--attach", str(attachment), as_=CUSTOMER)
    desk.run("comment", str(first), "internal: looks like tray 2", "--internal", as_=AGENT)
    second = desk.open("VPN down", "--category", "vpn", as_=CUSTOMER)
    desk.run("take", str(second), as_=AGENT)
    desk.run("set-status", str(second), "solved", "--resolution", "fixed", as_=AGENT)
    desk.run("set-status", str(second), "closed", as_=AGENT)
    desk.open("Follow-up of the VPN", "--follow-up", str(second), as_=CUSTOMER)
    return desk


def _export(db: Path | str) -> list[dict[str, object]]:
    done = run_cli("--db", str(db), "--as", ADMIN, "export")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    return [r for r in records if r.get("type") != "ticketcli-export"]


@server
@pytest.mark.slow
def test_migrate_db_copies_a_desk_there_and_back(tmp_path: Path) -> None:
    source = _stocked(tmp_path)
    url = pg_desk_url()
    there = run_cli("--db", str(source.db), "--as", ADMIN, "migrate-db", "--to", url,
                    "--format", "json")
    assert there.returncode == 0, there.stderr
    summary = json.loads(there.stdout)
    assert summary["tickets"]["rows"] == 3 and summary["attachments"]["rows"] == 1
    assert set(summary["meta"]) == {"rows", "checksum"}
    assert _export(url) == _export(source.db)
    # Searching, numbering and counting go on from the copy.
    found = run_cli("--db", url, "--as", ADMIN, "list", "--search", "perche", "--format", "ids")
    assert found.stdout.split() == [b"1"]
    assert run_cli("--db", url, "--as", ADMIN, "list", "--all", "--count").stdout.strip() == b"3"
    opened = run_cli("--db", url, "--as", CUSTOMER, "open", "After the move")
    assert opened.stdout.strip() == b"4"
    back = tmp_path / "back.db"
    home = run_cli("--db", url, "--as", ADMIN, "migrate-db", "--to", str(back),
                   "--format", "json")
    assert home.returncode == 0, home.stderr
    again = json.loads(home.stdout)
    for table, figures in summary.items():
        if table not in ("tickets", "history", "outbox", "participants"):
            assert again[table] == figures, table
    assert _export(back) == _export(url)


@server
def test_migrate_db_refuses_a_target_that_holds_a_desk(tmp_path: Path) -> None:
    source = make_desk(tmp_path)
    source.open("Printer on fire")
    target = pg_desk_url()
    assert run_cli("--db", target, "init").returncode == 0
    assert run_cli("--db", target, "open", "Already here").returncode == 0
    before = dump(target)
    done = run_cli("--db", str(source.db), "--as", ADMIN, "migrate-db", "--to", target)
    assert done.returncode == 78
    assert b"already holds a desk" in done.stderr
    assert dump(target) == before
    # Only admins copy a whole desk.
    denied = run_cli("--db", str(source.db), "--as", AGENT, "migrate-db", "--to",
                     str(tmp_path / "copy.db"))
    assert denied.returncode == 4
    assert not (tmp_path / "copy.db").exists() or dump(tmp_path / "copy.db") == []


# -- who is acting -------------------------------------------------------------------------------


@server
def test_on_a_server_the_bound_login_is_the_database_role() -> None:
    from conftest import query

    url = pg_desk_url()
    assert run_cli("--db", url, "--as", ADMIN, "init").returncode == 0
    role = str(query(url, "SELECT session_user")[0][0])
    assert run_cli("--db", url, "--as", ADMIN, "user", "add", CUSTOMER).returncode == 0
    added = run_cli("--db", url, "--as", ADMIN, "user", "add", AGENT, "--role", "agent",
                    "--login", role)
    assert added.returncode == 0, added.stderr
    # The role the server authenticated acts as its person, whatever the OS login is.
    opened = run_cli("--db", url, "open", "Printer on fire")
    assert opened.returncode == 0, opened.stderr
    data = json.loads(run_cli("--db", url, "show", "1", "--format", "json").stdout)
    assert data["requester"] == AGENT
    # An agent may act for a customer, recorded with who really acted.
    done = run_cli("--db", url, "--as", CUSTOMER, "open", "For Anna")
    assert done.returncode == 0, done.stderr
    data = json.loads(run_cli("--db", url, "show", "2", "--format", "json").stdout)
    assert data["requester"] == CUSTOMER
    assert data["history"][0]["via"] == AGENT
    # ...but not for an admin.
    denied = run_cli("--db", url, "--as", ADMIN, "comment", "1", "As the admin")
    assert denied.returncode == 4


def test_init_group_is_for_a_file() -> None:
    done = run_cli("--db", "postgresql://nobody@db.invalid/desk", "init", "--group", "staff")
    assert done.returncode == 2
    assert b"--group shares a SQLite file" in done.stderr
