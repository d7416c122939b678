"""The shapes of ``list`` queries against a brute-force reference.

The store reads lists and counts through indexes and kept counts, in several
query shapes chosen for speed; each must give exactly what a plain filter over
every ticket gives, for staff and for customers.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, make_desk

ACTIVE = ["new", "open", "pending", "on_hold", "solved"]


def counts_table(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {s: n for s, n in conn.execute("SELECT status, n FROM ticket_counts") if n}


def counts_real(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM tickets GROUP BY status"))


def count(desk: Desk, *args: str, as_: str = ADMIN) -> int:
    return int(desk.run("list", "--count", *args, as_=as_).stdout)


def listed(desk: Desk, *args: str, as_: str = ADMIN) -> list[int]:
    out = desk.run("list", "--limit", "0", "--format", "ids", *args, as_=as_).stdout
    return [int(x) for x in out.split()]


def check_counts(desk: Desk) -> None:
    """Every whole-status count equals the rows, and what list shows."""
    assert counts_table(desk.db) == counts_real(desk.db)
    real = counts_real(desk.db)
    for as_ in (ADMIN, CUSTOMER):
        assert count(desk, as_=as_) == len(listed(desk, as_=as_))
        assert count(desk, "--all", as_=as_) == len(listed(desk, "--all", as_=as_))
        for status in [*ACTIVE, "closed"]:
            n = count(desk, "--status", status, as_=as_)
            assert n == len(listed(desk, "--status", status, as_=as_))
            if as_ == ADMIN:
                assert n == real.get(status, 0)
        for phase in ("new", "solved", "closed"):
            assert count(desk, "--phase", phase, as_=as_) == \
                len(listed(desk, "--phase", phase, as_=as_))
    assert count(desk) == sum(real.get(s, 0) for s in ACTIVE)
    assert count(desk, "--all") == sum(real.values())


def test_counts_follow_opening_status_changes_and_close_stale(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    check_counts(desk)  # an empty desk
    ids = [desk.open(f"Ticket {i}", "--requester", CUSTOMER if i % 2 else OTHER)
           for i in range(8)]
    check_counts(desk)
    desk.run("set-status", str(ids[0]), "open")
    desk.run("set-status", str(ids[1]), "pending")
    desk.run("set-status", str(ids[2]), "solved")
    desk.run("set-status", str(ids[3]), "solved")
    desk.run("set-status", str(ids[4]), "closed")
    desk.run("set-status", str(ids[1]), "pending", expect=None)  # a non-move changes nothing
    check_counts(desk)
    desk.run("comment", str(ids[2]), "still broken", as_=CUSTOMER if 2 % 2 else OTHER)
    desk.run("close-stale", "--now", "2099-01-01T00:00:00Z")
    check_counts(desk)
    desk.run("assign", str(ids[5]), AGENT)  # other columns change: counts do not
    check_counts(desk)


def test_counts_after_import_and_with_other_filters(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    lines = []
    for i in range(30):
        status = [*ACTIVE, "closed"][i % 6]
        lines.append(json.dumps({
            "title": f"Imported {i}", "requester": CUSTOMER if i % 3 else OTHER,
            "status": status, "priority": "urgent" if i % 4 == 0 else "normal",
        }))
    desk.run("import", "-", input="\n".join(lines) + "\n")
    desk.open("After the import")
    check_counts(desk)
    # Counts with other filters count the rows themselves.
    assert count(desk, "--priority", "urgent") == len(listed(desk, "--priority", "urgent"))
    assert count(desk, "--all", "--search", "Imported") == 30
    assert count(desk, "--requester", OTHER) == len(listed(desk, "--requester", OTHER))
