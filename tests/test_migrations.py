"""Schema migrations run in one transaction: a migration that dies half way
leaves the previous schema, its data and its version intact."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, Desk, make_desk

from ticketcli.store.migrations import SCHEMA_VERSION


def _version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}


def _upgrade_that_dies(db: Path, how: str) -> subprocess.CompletedProcess[str]:
    """Run a next migration that changes things and then dies (SIGKILL or an error)."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        from ticketcli.store import migrations
        def m999_broken(db):
            db["brand_new"].create({{"id": int, "x": str}}, pk="id")
            db.execute("ALTER TABLE tickets ADD COLUMN extra TEXT")
            db.execute("UPDATE tickets SET title = 'CLOBBERED'")
            if {how!r} == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("migration failed half way")
        migrations.MIGRATIONS.append(m999_broken)
        migrations.SCHEMA_VERSION = len(migrations.MIGRATIONS)
        import ticketcli.store.connection as connection
        connection.SCHEMA_VERSION = migrations.SCHEMA_VERSION
        from ticketcli.store import Store
        Store.open(__import__("pathlib").Path({str(db)!r}))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def _check_untouched(desk: Desk, tid: int) -> None:
    assert _version(desk.db) == SCHEMA_VERSION
    assert "brand_new" not in _tables(desk.db)
    with sqlite3.connect(desk.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        columns = {r[1] for r in conn.execute("PRAGMA table_info(tickets)")}
    assert "extra" not in columns
    # The old schema still works for every command.
    assert desk.ticket(tid)["title"] == "Printer on fire"
    desk.run("comment", str(tid), "still here")
    assert len(desk.ticket(tid)["comments"]) == 1


def test_a_migration_killed_half_way_leaves_the_old_schema_working(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    tid = desk.open("Printer on fire")
    result = _upgrade_that_dies(desk.db, "kill")
    assert result.returncode == -9, result.stderr
    _check_untouched(desk, tid)


def test_a_migration_that_fails_rolls_back_completely(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    tid = desk.open("Printer on fire")
    result = _upgrade_that_dies(desk.db, "raise")
    assert result.returncode == 1
    assert "migration failed half way" in result.stderr
    _check_untouched(desk, tid)


def test_an_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    """A database at every earlier version upgrades on first use and keeps its data."""
    from ticketcli.store import migrations

    for start in range(1, SCHEMA_VERSION):
        db = tmp_path / f"v{start}.db"
        conn = sqlite3.connect(db, isolation_level=None)
        import sqlite_utils

        sdb = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        for step in migrations.MIGRATIONS[:start]:
            step(sdb)
        conn.execute(f"PRAGMA user_version = {start}")
        conn.execute(f"PRAGMA application_id = {migrations.APPLICATION_ID}")
        conn.close()
        desk = Desk(db)
        desk.run("init", as_=None)
        tid = desk.open("Printer on fire")
        assert _version(db) == SCHEMA_VERSION
        assert desk.ticket(tid)["title"] == "Printer on fire"


def test_upgrade_to_4_counts_the_tickets_already_there(tmp_path: Path) -> None:
    """m004 fills the per-status counts from the tickets a version 3 desk holds."""
    from ticketcli.store.migrations import COUNT_TRIGGERS

    desk = make_desk(tmp_path)
    ids = [desk.open(f"Ticket {i}") for i in range(5)]
    desk.run("set-status", str(ids[0]), "open")
    desk.run("set-status", str(ids[1]), "closed")
    with sqlite3.connect(desk.db, isolation_level=None) as conn:  # back to version 3
        for name in COUNT_TRIGGERS:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE ticket_counts")
        conn.execute("PRAGMA user_version = 3")
    conn.close()
    assert desk.run("list", "--count").stdout == "4\n"  # upgrades on first use
    assert _version(desk.db) == SCHEMA_VERSION
    with sqlite3.connect(desk.db) as conn:
        kept = dict(conn.execute("SELECT status, n FROM ticket_counts"))
    conn.close()
    assert kept == {"new": 3, "open": 1, "closed": 1}
    desk.open("One more")
    assert desk.run("list", "--count", "--all").stdout == "6\n"


def test_upgrade_to_5_reindexes_words_and_bounds_the_tickets_already_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """m005 rebuilds the full-text indexes leaner and fills the per-block time bounds
    from what a version 4 desk holds."""
    import ticketcli.store.connection as connection
    from ticketcli.store import migrations

    with monkeypatch.context() as mp:  # a desk made by the version 4 code
        import ticketcli.mail.outbox as outbox

        mp.setattr(outbox, "_for_agents", lambda *a: [])  # (which told agents nothing)
        mp.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
        mp.setattr(migrations, "SCHEMA_VERSION", 4)
        mp.setattr(connection, "SCHEMA_VERSION", 4)
        desk = make_desk(tmp_path)
        first = desk.open("Stampante in tilt", "--body", "Non stampa più")
        second = desk.open("VPN down")
        desk.run("comment", str(second), "--body", "La stampante del terzo piano")
        assert _version(desk.db) == 4
    assert desk.run("list", "--search", "stampant", "--format", "ids").stdout == \
        f"{second}\n{first}\n"
    assert _version(desk.db) == SCHEMA_VERSION
    with sqlite3.connect(desk.db) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'tickets_fts'").fetchone()
        blocks = conn.execute("SELECT block, created_min, created_max, updated_min "
                              "FROM ticket_blocks").fetchall()
        times = conn.execute("SELECT min(created_at), max(created_at), min(updated_at) "
                             "FROM tickets").fetchone()
    conn.close()
    assert "detail = none" in sql[0]
    assert blocks == [(0, *times)]
    assert desk.run("list", "--sort", "title", "--format", "ids").stdout == \
        f"{first}\n{second}\n"
