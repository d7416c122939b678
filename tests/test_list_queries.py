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


# -- time filters bounded by blocks of ids, title order, search words ----------------


def _stamp(day: int, second: int = 0) -> str:
    from datetime import datetime, timedelta

    moment = datetime(2025, 1, 1) + timedelta(days=day, seconds=second % 60)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _import_scattered(desk: Desk, seed: int) -> list[dict[str, object]]:
    """Tickets over several blocks of 1,024 ids, times unrelated to the ids."""
    import random

    rng = random.Random(seed)
    ids = sorted(rng.sample(range(1, 5000), 60))
    tickets = []
    for i in ids:
        created = rng.randrange(0, 300)
        updated = created + rng.randrange(0, 40)
        tickets.append({
            "id": i, "title": rng.choice(["Printer", "printer jam", "VPN", "vpn down", "Zebra",
                                          "alpha", "Éclair", "mouse"]) + f" {i}",
            "requester": rng.choice([CUSTOMER, OTHER]),
            "status": rng.choice([*ACTIVE, "closed"]),
            "created_at": _stamp(created, i), "updated_at": _stamp(updated, i),
        })
    desk.run("import", "-", input="\n".join(json.dumps(t) for t in tickets) + "\n")
    return tickets


def _times(db: Path) -> dict[int, tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return {i: (c, u) for i, c, u in conn.execute(
            "SELECT id, created_at, updated_at FROM tickets")}


def test_time_filters_find_exactly_the_matching_tickets(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    _import_scattered(desk, seed=7)
    desk.open("Opened today")
    # A clock that went back: an update older than the ticket's last one.
    with sqlite3.connect(desk.db) as conn:
        conn.execute("UPDATE tickets SET updated_at = '2025-01-02T00:00:00Z' "
                     "WHERE id = (SELECT max(id) FROM tickets WHERE id < 4000)")
    times = _times(desk.db)
    for day in (0, 1, 30, 100, 150, 299, 330, 400):
        cut = _stamp(day)
        for option, keep in (
            ("--created-since", lambda c, u, cut=cut: c >= cut),
            ("--created-before", lambda c, u, cut=cut: c < cut),
            ("--updated-before", lambda c, u, cut=cut: u < cut),
            ("--updated-since", lambda c, u, cut=cut: u >= cut),
        ):
            want = sorted((i for i, (c, u) in times.items() if keep(c, u)), reverse=True)
            assert listed(desk, "--all", option, cut) == want, (option, cut)
            assert listed(desk, "--all", option, cut, "--sort", "id") == sorted(want)
            first = desk.run("list", "--all", option, cut, "--limit", "3", "--format", "ids")
            assert [int(x) for x in first.stdout.split()] == want[:3]
            assert count(desk, "--all", option, cut) == len(want)
            seen = listed(desk, "--all", option, cut, as_=CUSTOMER)
            assert set(seen) <= set(want)


def test_block_bounds_stay_wide_enough_after_every_kind_of_change(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    _import_scattered(desk, seed=11)
    for i in range(3):
        desk.open(f"New {i}")
    with sqlite3.connect(desk.db) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM tickets ORDER BY id")]
    desk.run("comment", str(ids[0]), "--body", "a reply moves updated_at on")
    with sqlite3.connect(desk.db) as conn:
        conn.execute("UPDATE tickets SET created_at = '2024-01-01T00:00:00Z' WHERE id = ?",
                     (ids[-5],))
        conn.execute("DELETE FROM history WHERE ticket_id = ?", (ids[3],))
        conn.execute("DELETE FROM tickets WHERE id = ?", (ids[3],))
        rows = conn.execute(
            "SELECT id >> 10, min(created_at), max(created_at), min(updated_at) FROM tickets "
            "GROUP BY id >> 10").fetchall()
        bounds = {b: (lo, hi, up) for b, lo, hi, up in conn.execute(
            "SELECT block, created_min, created_max, updated_min FROM ticket_blocks")}
    for block, lo, hi, up in rows:
        b_lo, b_hi, b_up = bounds[block]
        assert b_lo <= lo and b_hi >= hi and b_up <= up


def test_sorting_by_title_walks_the_title_order(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    tickets = _import_scattered(desk, seed=3)
    by_id = {int(str(t["id"])): str(t["title"]) for t in tickets}
    for args, statuses in (([], ACTIVE), (["--all"], [*ACTIVE, "closed"])):
        want = sorted((i for i, t in enumerate(tickets) if t["status"] in statuses),
                      key=lambda k: (str(tickets[k]["title"]).lower(), int(str(tickets[k]["id"]))))
        got = listed(desk, *args, "--sort", "title")
        assert got == [int(str(tickets[k]["id"])) for k in want]
        assert listed(desk, *args, "--sort", "-title") == got[::-1]
        page = desk.run("list", *args, "--sort", "title", "--limit", "4", "--format", "ids")
        assert [int(x) for x in page.stdout.split()] == got[:4]
    assert by_id  # the reference above used every imported ticket


def _prefix_reference(db: Path, word: str) -> list[int]:
    """What FTS5 itself finds for the word as a prefix, in titles, descriptions and
    comments."""
    with sqlite3.connect(db) as conn:
        match = '"' + word.replace('"', '""') + '"*'
        found = {r[0] for r in conn.execute(
            "SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?", (match,))}
        found |= {r[0] for r in conn.execute(
            "SELECT c.ticket_id FROM comments_fts f JOIN comments c ON c.id = f.rowid "
            "WHERE comments_fts MATCH ?", (match,))}
    return sorted(found, reverse=True)


def test_the_last_word_finds_every_word_it_begins(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    _import_scattered(desk, seed=5)
    words = ["stampante", "stampanti", "stampa", "Stämpel", "perché", "perche", "caffè",
             "naïve", "x", "xy", "ab1", "1234", "über", "печать", "печатать"]
    for i, w in enumerate(words):
        tid = desk.open(f"About {w}", "--body", f"Ticket {i} mentions {w}")
        if i % 3 == 0:
            desk.run("comment", str(tid), "--body", f"and {w}{w[-1]} in a reply")
    for prefix in ["stamp", "stampant", "STAMP", "st", "s", "perc", "perché", "caff", "caffe",
                   "nai", "naï", "x", "ab", "12", "über", "uber", "печат", "zzz", "Éc", "ecl",
                   "print", "vpn", "a"]:
        want = _prefix_reference(desk.db, prefix)
        assert listed(desk, "--all", "--search", prefix) == want, prefix
        assert listed(desk, "--all", "--search", f"About {prefix}") == [
            i for i in want if i in listed(desk, "--all", "--search", "About")], prefix
        assert count(desk, "--all", "--search", prefix) == len(want), prefix
