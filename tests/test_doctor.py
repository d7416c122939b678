"""doctor: a health report, and a non-zero exit when something is wrong."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from conftest import Desk

from ticketcli.desk.doctor import filesystem_type, run_checks, sqlite_check
from ticketcli.store import Store


def report(desk: Desk, expect: int = 0) -> dict[str, tuple[str, str]]:
    result = desk.run("doctor", "--format", "json", expect=expect)
    if expect:
        assert result.stderr.startswith("Error: doctor:") and result.stderr.count("\n") == 1
    return {r["check"]: (r["state"], r["detail"]) for r in json.loads(result.stdout)}


def test_a_healthy_desk(desk: Desk) -> None:
    checks = report(desk)
    for name in ("integrity", "foreign keys", "schema", "journal", "permissions", "workflow"):
        assert checks[name][0] == "ok", (name, checks[name])
    assert checks["sqlite"][0] in ("ok", "warn")
    assert "standard" in checks["workflow"][1]


def test_a_world_readable_file_fails_and_a_group_readable_one_warns(desk: Desk) -> None:
    os.chmod(desk.db, 0o644)
    assert report(desk, expect=1)["permissions"][0] == "fail"
    os.chmod(desk.db, 0o640)
    assert report(desk)["permissions"][0] == "warn"


def test_a_journal_that_is_not_wal_fails(desk: Desk) -> None:
    with sqlite3.connect(desk.db) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    journal = report(desk, expect=1)["journal"]
    assert journal == ("fail", "journal_mode=delete; ticketcli expects wal")


def test_old_sqlite_versions_are_a_warning() -> None:
    assert sqlite_check("3.40.1").state == "warn"
    assert "3.51.3" in sqlite_check("3.51.2").detail
    assert sqlite_check("3.51.3").state == "ok"
    assert sqlite_check("3.52.0").state == "ok"


def test_network_filesystems_are_recognised(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda1 / ext4 rw 0 0\n"
        "server:/export /srv/desk nfs4 rw 0 0\n"
        "//nas/share /mnt/share cifs rw 0 0\n"
    )
    assert filesystem_type(Path("/srv/desk/tickets.db"), str(mounts)) == "nfs4"
    assert filesystem_type(Path("/mnt/share/x/tickets.db"), str(mounts)) == "cifs"
    assert filesystem_type(Path("/srv/desktop/tickets.db"), str(mounts)) == "ext4"


def test_a_database_on_nfs_fails_the_filesystem_check(desk: Desk, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"server:/export {desk.db.parent} nfs rw 0 0\n/dev/vda1 / ext4 rw 0 0\n")
    store = Store.open(desk.db)
    try:
        checks = {c.name: c for c in run_checks(store, mounts=str(mounts))}
    finally:
        store.close()
    assert checks["filesystem"].state == "fail"
    assert "network" in checks["filesystem"].detail


def test_doctor_never_creates_a_database(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "nothing.db")
    result = desk.run("doctor", expect=1)
    assert "no database" in result.stderr
    assert not desk.db.exists()
