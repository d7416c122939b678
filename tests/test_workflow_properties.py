"""Property tests: random lives of a ticket, in the pure engine and through the use cases.

A life is a random sequence of public replies, internal notes, moves by hand
from each side and runs of close-stale after some idle time. Whatever the
sequence, a ticket never reaches a status outside its workflow, never leaves a
final status, and its history is one unbroken chain of moves.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketcli.clock import iso
from ticketcli.desk import sharing, tickets
from ticketcli.desk.stale import close_stale
from ticketcli.errors import Conflict, PermissionDenied
from ticketcli.store import Store, User
from ticketcli.workflow import PRESETS, Workflow, load_preset

SIDES = ("agent", "requester", "participant")
WF: dict[str, Workflow] = {name: load_preset(name) for name in PRESETS}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    kind: str  # reply, note, move, reply_status, stale
    side: str = "agent"
    target: str = ""
    idle: int = 0  # seconds that pass before the event


def events(wf: Workflow, max_size: int) -> st.SearchStrategy[list[Event]]:
    statuses = list(wf.statuses)
    idle = st.integers(min_value=0, max_value=40 * 86400)
    one = st.one_of(
        st.builds(Event, st.just("reply"), st.sampled_from(SIDES), st.just(""), idle),
        st.builds(Event, st.just("note"), st.just("agent"), st.just(""), idle),
        st.builds(Event, st.just("move"), st.sampled_from(SIDES), st.sampled_from(statuses),
                  idle),
        st.builds(Event, st.just("reply_status"), st.sampled_from(SIDES),
                  st.sampled_from(statuses), idle),
        st.builds(Event, st.just("stale"), st.just("agent"), st.just(""), idle),
    )
    return st.lists(one, max_size=max_size)


# -- the pure engine ----------------------------------------------------------------


@dataclass
class Life:
    wf: Workflow
    status: str
    moves: list[tuple[str, str]] = field(default_factory=list)

    def apply(self, target: str) -> None:
        assert target in self.wf.statuses
        assert target != self.status
        assert not self.wf.is_final(self.status), f"moved out of final {self.status}"
        self.moves.append((self.status, target))
        self.status = target


def live(wf: Workflow, story: list[Event]) -> Life:
    life = Life(wf, wf.initial)
    for ev in story:
        before = life.status
        if ev.kind == "reply":
            target = wf.reply_target(ev.side, life.status)
            if target is not None:
                life.apply(target)
        elif ev.kind in ("move", "reply_status"):
            try:
                wf.check_move(ev.side, life.status, ev.target, 1)
            except (Conflict, PermissionDenied) as e:
                assert not wf.allows(ev.side, before, ev.target)
                if wf.is_final(before):
                    assert isinstance(e, Conflict)
                continue
            assert wf.allows(ev.side, before, ev.target)
            life.apply(ev.target)
        elif ev.kind == "stale":
            for rule in wf.stale:
                if life.status in rule.sources:
                    life.apply(rule.to)
                    break
        if wf.is_final(before):
            assert life.status == before
    return life


@pytest.mark.parametrize("preset", PRESETS)
@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_engine_lives_stay_in_the_workflow(preset: str, data: st.DataObject) -> None:
    wf = WF[preset]
    life = live(wf, data.draw(events(wf, 40)))
    assert life.status in wf.statuses
    previous = wf.initial
    for source, target in life.moves:
        assert source == previous
        assert target in wf.statuses
        previous = target
    assert previous == life.status


@pytest.mark.parametrize("preset", PRESETS)
@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_check_move_agrees_with_allows(preset: str, data: st.DataObject) -> None:
    wf = WF[preset]
    statuses = list(wf.statuses)
    side = data.draw(st.sampled_from(SIDES))
    source = data.draw(st.sampled_from(statuses))
    target = data.draw(st.sampled_from(statuses))
    allowed = wf.allows(side, source, target)
    try:
        wf.check_move(side, source, target, 1)
    except PermissionDenied:
        assert not allowed and not wf.is_final(source)
        assert any(wf.allows(s, source, target) for s in SIDES if s != side)
    except Conflict:
        assert not allowed
        assert wf.is_final(source) or not any(wf.allows(s, source, target) for s in SIDES)
    else:
        assert allowed


# -- the same lives through the use cases, on a real database ------------------------------


@dataclass
class Desk:
    store: Store
    wf: Workflow
    people: dict[str, User]
    ticket_id: int


def open_desk(folder: Path, preset: str) -> Desk:
    store = Store.open(folder / "life.db")
    store.conn.execute("PRAGMA synchronous = OFF")  # speed only; durability is not under test
    wf = WF[preset]
    now = iso(T0)
    with store.write():
        store.set_workflow(wf)
        org = store.people.add_org("Acme", None, now)
        agent = store.people.add_user("agent@example.com", "Agnese", "agent", None, now)
        requester = store.people.add_user("anna@example.com", "Anna", "customer", org.id, now)
        participant = store.people.add_user("carla@example.com", "Carla", "customer", org.id, now)
    tid = tickets.open_ticket(store, requester, now, title="Printer on fire", body="It burns",
                              priority=None, category=None, requester=None, fields={},
                              files=[], follow_up=None)
    sharing.share(store, requester, now, tid, [participant.email], remove=False)
    people = {"agent": agent, "requester": requester, "participant": participant}
    return Desk(store, wf, people, tid)


def status_chain(store: Store, ticket_id: int) -> list[tuple[str | None, str | None]]:
    return [
        (h.from_status, h.to_status)
        for h in store.tickets.history(ticket_id, internal=True)
        if h.event in ("opened", "status")
    ]


def step(desk: Desk, ev: Event, now: datetime, last_activity: datetime) -> datetime:
    """Apply one event; returns the new time of the last requester-side activity."""
    store, wf, tid = desk.store, desk.wf, desk.ticket_id
    actor = desk.people[ev.side]
    before = store.tickets.ticket(tid)
    stamp = iso(now)
    history_before = len(store.tickets.history(tid, internal=True))
    refused: Exception | None = None
    try:
        if ev.kind in ("reply", "note"):
            tickets.comment(store, actor, stamp, tid, body="Any news?",
                            internal=ev.kind == "note", status=None, files=[])
        elif ev.kind == "reply_status":
            tickets.comment(store, actor, stamp, tid, body="Done", internal=False,
                            status=ev.target, files=[])
        elif ev.kind == "move":
            tickets.set_status(store, actor, stamp, tid, ev.target, resolution=None, note=None)
        else:
            close_stale(store, now)
    except (Conflict, PermissionDenied) as e:
        refused = e
    after = store.tickets.ticket(tid)

    assert after.status in wf.statuses
    assert after.phase == wf.phase_of(after.status)
    if wf.is_final(before.status):
        assert after.status == before.status
        no_op = ev.kind == "move" and ev.target == before.status  # "already closed"
        if ev.kind != "stale" and not no_op:
            assert isinstance(refused, Conflict)
    if refused is not None:
        # a refused change leaves no trace
        assert after == before
        assert len(store.tickets.history(tid, internal=True)) == history_before
        return last_activity

    side = "requester" if ev.side == "participant" else ev.side
    if ev.kind == "reply":
        expected = wf.reply_target(side, before.status) or before.status
    elif ev.kind == "note":
        expected = before.status
    elif ev.kind in ("move", "reply_status"):
        assert ev.target == before.status or wf.allows(
            tickets.move_side(actor, before), before.status, ev.target)
        expected = ev.target
    else:
        expected = before.status
        for rule in wf.stale:
            idle = (now - last_activity).total_seconds()
            if before.status in rule.sources and idle >= rule.after:
                expected = rule.to
                break
    assert after.status == expected, (ev, before.status)

    if after.status != before.status:
        return now
    if ev.kind in ("reply", "reply_status") and ev.side != "agent":
        return now  # a public reply from the requester side
    return last_activity


@pytest.mark.parametrize("preset", PRESETS)
@given(data=st.data())
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_use_case_lives_keep_a_consistent_history(preset: str, data: st.DataObject) -> None:
    wf = WF[preset]
    story = data.draw(events(wf, 20))
    with tempfile.TemporaryDirectory() as folder:
        desk = open_desk(Path(folder), preset)
        try:
            now = T0
            last_activity = T0
            for ev in story:
                now += timedelta(seconds=ev.idle)
                last_activity = step(desk, ev, now, last_activity)
            chain = status_chain(desk.store, desk.ticket_id)
            assert chain[0] == (None, wf.initial)
            for (_, previous_to), (source, _) in zip(chain, chain[1:], strict=False):
                assert source == previous_to
            assert chain[-1][1] == desk.store.tickets.ticket(desk.ticket_id).status
        finally:
            desk.store.close()
