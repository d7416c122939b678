"""close-stale on many tickets: every closed ticket gets its own history row and its
own messages, the same as when tickets are closed one at a time, across batches.

The tickets are seeded in-process (fast); close-stale runs through the CLI on the
real database file; results are read back with plain SQL and ``notify list``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, make_desk
from test_concurrency import FAR_FUTURE, OLD, query, seed_tickets


def later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def outbox(desk: Desk) -> list[dict[str, Any]]:
    rows = desk.json("notify", "list", "--limit", "0")
    assert isinstance(rows, list)
    return sorted(rows, key=lambda r: r["id"])


def stale_history(db: Path) -> list[tuple[Any, ...]]:
    """(history id, ticket, actor, from, to, detail) of every close-stale closure."""
    return query(db, "SELECT id, ticket_id, actor_id, from_status, to_status, detail "
                     "FROM history WHERE event = 'status' AND "
                     "json_extract(detail, '$.reason') = 'stale' ORDER BY id")


def test_each_closed_ticket_gets_its_own_messages_and_history(desk: Desk,
                                                              tmp_path: Path) -> None:
    desk.run("notify", "lang", "it", "--user", OTHER)
    template = tmp_path / "autoclosed.txt"
    template.write_text("Subject: Chiuso: $title\n\nCiao $recipient, #$id ora è $status "
                        "(era $previous), $$0.\n")
    desk.run("notify", "template", "set", "autoclosed", "--lang", "it", "--file", str(template))
    shared = desk.open("Shared one", as_=CUSTOMER)
    desk.run("share", str(shared), OTHER, as_=CUSTOMER)
    italian = desk.open("Stampante", as_=OTHER)
    alone = desk.open("Alone", as_=CUSTOMER)
    still_open = desk.open("Still open", as_=CUSTOMER)
    for tid in (shared, italian, alone):
        desk.run("set-status", str(tid), "solved", as_=AGENT)
    before = len(outbox(desk))

    report = desk.json("close-stale", "--now", later(15))
    assert report == [{"id": t, "from": "solved", "to": "closed"}
                      for t in (shared, italian, alone)]

    new = [(r["ticket"], r["recipient"], r["kind"], r["lang"], r["subject"], r["body"])
           for r in outbox(desk)[before:]]
    english = ("##- Please type your reply above this line -##\n\nHello {name},\n\n"
               "ticket #{id}, \"{title}\", has been closed automatically because we did "
               "not hear from you (status: Closed).\n\nTo add to this ticket, reply to this "
               "message and keep [#{id}] in the subject.\n\n-- \nHelp desk\n")
    assert new == [
        (shared, CUSTOMER, "autoclosed", "en", f"[#{shared}] Shared one",
         english.format(name="Anna", id=shared, title="Shared one")),
        (shared, OTHER, "autoclosed", "it", f"[#{shared}] Chiuso: Shared one",
         f"Ciao Bruno, #{shared} ora è Chiuso (era Risolto), $0.\n"),
        (italian, OTHER, "autoclosed", "it", f"[#{italian}] Chiuso: Stampante",
         f"Ciao Bruno, #{italian} ora è Chiuso (era Risolto), $0.\n"),
        (alone, CUSTOMER, "autoclosed", "en", f"[#{alone}] Alone",
         english.format(name="Anna", id=alone, title="Alone")),
    ]
    rows = stale_history(desk.db)
    assert [(r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows] == [
        (t, None, "solved", "closed", {"reason": "stale"}) for t in (shared, italian, alone)
    ]
    # Each message belongs to its ticket's closure event.
    by_ticket = {r[1]: r[0] for r in rows}
    assert {(t, h) for t, h in query(
        desk.db, "SELECT ticket_id, history_id FROM outbox WHERE kind = 'autoclosed'")} == {
        (t, by_ticket[t]) for t in (shared, italian, alone)}
    history = desk.ticket(shared)["history"]
    assert history[-1]["event"] == "status" and history[-1]["to"] == "closed"
    assert desk.ticket(still_open)["status"] == "new"

    # A second run finds nothing and writes nothing.
    assert desk.json("close-stale", "--now", later(16)) == []
    assert len(outbox(desk)) == before + 4
    assert len(stale_history(desk.db)) == 3


def test_many_tickets_across_batches_are_each_reminded_then_closed_once(
        tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    ids = seed_tickets(desk.db, 450)
    from ticketcli.desk import sharing as uc
    from ticketcli.store import Store

    store = Store.open(desk.db)
    try:
        admin = store.people.user_by_email(ADMIN)
        assert admin is not None
        shared = ids[::7]
        for tid in shared:
            uc.share(store, admin, OLD, tid, [OTHER], remove=False)
    finally:
        store.close()
    # Sharing is activity of the desk, not of the requester: the clock did not move.
    now = datetime.strptime(OLD, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    remind_at = (now + timedelta(days=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = len(outbox(desk))

    assert desk.json("close-stale", "--now", remind_at) == []
    assert desk.json("close-stale", "--now", remind_at) == []  # once per waiting period
    reminders = [r for r in outbox(desk)[before:] if r["kind"] == "reminder"]
    assert len(reminders) == len(outbox(desk)) - before == 450 + len(shared)
    assert sorted((r["ticket"], r["recipient"]) for r in reminders) == sorted(
        [(t, CUSTOMER) for t in ids] + [(t, OTHER) for t in shared])
    for r in reminders:
        assert f"seed {ids.index(r['ticket'])}\"" in r["body"]
    before = len(outbox(desk))

    dry = desk.json("close-stale", "--dry-run", "--limit", "300", "--now", FAR_FUTURE)
    assert [c["id"] for c in dry] == ids[:300]
    assert stale_history(desk.db) == [] and len(outbox(desk)) == before

    first = desk.json("close-stale", "--limit", "250", "--now", FAR_FUTURE)
    assert [c["id"] for c in first] == ids[:250]
    rest = desk.json("close-stale", "--now", FAR_FUTURE)
    assert [c["id"] for c in rest] == ids[250:]
    assert desk.json("close-stale", "--now", FAR_FUTURE) == []

    rows = stale_history(desk.db)
    assert [r[1] for r in rows] == ids
    closure = {r[1]: r[0] for r in rows}
    messages = query(desk.db, "SELECT ticket_id, history_id, recipient_id, id FROM outbox "
                              "WHERE kind = 'autoclosed' ORDER BY id")
    listed = outbox(desk)
    assert len(messages) == len(listed) - before == 450 + len(shared)
    subjects = {r["id"]: r["subject"] for r in listed}
    users = dict(query(desk.db, "SELECT id, email FROM users"))
    assert sorted((t, users[u]) for t, _, u, _ in messages) == sorted(
        [(t, CUSTOMER) for t in ids] + [(t, OTHER) for t in shared])
    for ticket, history_id, _, outbox_id in messages:
        assert history_id == closure[ticket]
        assert subjects[outbox_id] == f"[#{ticket}] seed {ids.index(ticket)}"


def test_a_waiting_writer_tries_for_the_lock_within_each_pause_between_batches() -> None:
    """close-stale lets waiting writers in by pausing between its transactions; a writer
    polls for the lock (Store.write), and its longest sleep must fit inside that pause
    with room to spare, or it can miss a pause and wait through two transactions."""
    from ticketcli.desk import stale
    from ticketcli.store import connection

    shortest, longest = connection.LOCK_POLL
    assert 0 < shortest < longest <= stale.PAUSE / 2
