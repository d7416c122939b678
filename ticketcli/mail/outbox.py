"""The outbox subscriber: events the customer side should hear about become messages.

:func:`enqueue_many` runs inside the transaction of every recorded event (it is
registered in :mod:`ticketcli.desk.events`). For the events that concern the
customer side it writes one message per recipient, in the recipient's
language, into the outbox; the event and its messages commit together or not
at all. A message holds what to tell (its ``data``); its text is rendered from
the templates when a sender takes it (:func:`render_claimed`), so a run that
closes a hundred thousand tickets renders nothing, and a template fixed before
the mail goes out applies to it.

Recipients are the requester and the participants, never the person who
acted, with one exception: the opening confirmation always goes to the
requester, because it carries the reference number they need to write back.
Internal notes never produce mail. A reply written together with a status
change (or with attachments) is one message that tells both, not two.

This module must stay cheap to import: no ``email``, no ``smtplib``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..desk.events import Recorded
from ..errors import NotFound
from ..store import Store, User
from ..store.outbox import Event, MailStore, NewMessage, OutboxMessage
from ..store.tickets import TicketHead
from . import templates

MAILED = frozenset({"opened", "comment", "status", "reminder", "shared", "attachment"})


def enqueue_many(store: Store, recorded: Sequence[Recorded]) -> None:
    """The event subscriber: write the outbox rows for events just recorded (one
    command's, or a close-stale batch), with the tickets, people and languages they
    need read once for all of them."""
    evs = [
        Event(hid, ticket_id, actor_id, at, event, frm, to, detail or {})
        for hid, ticket_id, actor_id, at, event, frm, to, detail in recorded
        if event in MAILED
    ]
    if not evs:
        return
    ms = MailStore(store)
    look = _Lookup(store, ms, evs)
    ready: list[tuple[int, int, NewMessage, str]] = []
    for ev in evs:
        if ev.event == "attachment" or (ev.event == "status" and ev.actor_id is not None):
            # These may rewrite the messages of an earlier event: write those first.
            ms.enqueue_many(ready)
            ready = []
        ready += [(ev.id, ev.ticket_id, m, ev.at) for m in _messages(store, ms, look, ev)]
    ms.enqueue_many(ready)


class _Lookup:
    """The tickets, people and mail languages of a run of events, read together."""

    def __init__(self, store: Store, ms: MailStore, evs: Sequence[Event]) -> None:
        ticket_ids = [ev.ticket_id for ev in evs if ev.event != "attachment"]
        self.tickets = store.ticket_heads(
            ticket_ids, description=any(ev.event == "opened" for ev in evs))
        self.participants = store.participants_of(ticket_ids)
        wanted = [t.requester_id for t in self.tickets.values()]
        wanted += [ev.actor_id for ev in evs if ev.actor_id is not None]
        wanted += [u.id for people in self.participants.values() for u in people]
        self.users = store.users_by_id(wanted)
        self.langs = ms.user_langs(list(self.users))

    def ticket(self, ticket_id: int) -> TicketHead:
        found = self.tickets.get(ticket_id)
        if found is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return found


def _messages(store: Store, ms: MailStore, look: _Lookup, ev: Event) -> list[NewMessage]:
    """The messages one event sends (after folding it into an earlier one's, if it was
    made together with it)."""
    if ev.event == "attachment":
        _fold_attachment(store, ms, ev)
        return []
    ticket = look.ticket(ev.ticket_id)
    actor = look.users.get(ev.actor_id) if ev.actor_id is not None else None
    base: dict[str, Any] = {
        "id": ticket.id,
        "title": ticket.title,
        "status": ticket.status,
        "actor": _display(actor) if actor else None,
    }
    if ev.event == "opened":
        kind = "opened"
        base["body"] = ticket.description
        if ev.detail.get("follow_up_of"):
            base["follow_up"] = ev.detail["follow_up_of"]
        people = _audience(look, ticket, ev.actor_id, keep_requester=True)
    elif ev.event == "comment":
        found = ms.comment_text(int(ev.detail.get("comment", 0)))
        if found is None or found[1]:
            return []  # internal notes never leave
        kind = "reply"
        base["body"] = found[0]
        people = _audience(look, ticket, ev.actor_id)
    elif ev.event == "status":
        kind = "autoclosed" if ev.actor_id is None and ev.detail.get("reason") == "stale" \
            else "status"
        base["status"] = ev.to_status
        base["previous"] = ev.from_status
        if ev.detail.get("resolution"):
            base["resolution"] = ev.detail["resolution"]
        covered = _fold_status(store, ms, ev)
        people = [u for u in _audience(look, ticket, ev.actor_id) if u.id not in covered]
    elif ev.event == "reminder":
        kind = "reminder"
        base["closes_at"] = ev.detail.get("closes_at", "")
        people = _audience(look, ticket, ev.actor_id)
    else:  # shared
        kind = "shared"
        user = store.user_by_email(str(ev.detail.get("user", "")))
        people = [user] if user is not None and user.id != ev.actor_id else []
        if user is not None and user.id not in look.langs:
            lang = ms.user_lang(user.id)
            if lang is not None:
                look.langs[user.id] = lang
    if not people:
        return []
    return _for_each(ms, kind, base, people, look.langs)


def _display(user: User) -> str:
    return user.name or user.email


def _audience(look: _Lookup, ticket: TicketHead, actor_id: int | None, *,
              keep_requester: bool = False) -> list[User]:
    """Requester and participants, once each, without the person who acted."""
    people: dict[int, User] = {}
    requester = look.users.get(ticket.requester_id)
    if requester is not None:
        people[requester.id] = requester
    for user in look.participants.get(ticket.id, ()):
        people.setdefault(user.id, user)
    return [
        u for u in people.values()
        if u.id != actor_id or (keep_requester and u.id == ticket.requester_id)
    ]


def _for_each(ms: MailStore, kind: str, base: dict[str, Any], people: list[User],
              langs: dict[int, str]) -> list[NewMessage]:
    default = ms.default_lang()
    return [
        NewMessage(user.id, user.email, user.name, langs.get(user.id) or default, kind,
                   {**base, "recipient": _display(user)})
        for user in people
    ]


def rendered(store: Store, ms: MailStore, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """The rows with their subject and body: as sent, or rendered now from the
    templates for those not taken by a sender yet."""
    wf = store.workflow()
    out = []
    for row in rows:
        if not row.body:
            subject, body = templates.render(row.kind, row.lang, row.data, wf,
                                             ms.template(row.kind, row.lang))
            row = row._replace(subject=subject, body=body)
        out.append(row)
    return out


def render_claimed(store: Store, ms: MailStore,
                   rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """:func:`rendered`, keeping the text of newly rendered rows (inside the claim's
    transaction): a message is sent, and retried, as it was first rendered."""
    out = rendered(store, ms, rows)
    ms.set_text([(r.id, r.subject, r.body) for r, old in zip(out, rows, strict=True)
                 if not old.body])
    return out


def _merge(ms: MailStore, lead: Event, change: dict[str, Any]) -> set[int]:
    """Merge ``change`` into the lead event's messages not yet sent; their recipients."""
    covered: set[int] = set()
    for m in ms.pending_for_event(lead.id):
        data = dict(m.data)
        if "attachment" in change:
            data["attachments"] = [*data.get("attachments", []), change["attachment"]]
        else:
            data.update(change)
        ms.rewrite(m.id, data)
        covered.add(m.recipient_id)
    return covered


def _fold_status(store: Store, ms: MailStore, ev: Event) -> set[int]:
    """A status change made with a reply is told in the reply's messages."""
    if ev.actor_id is None:
        return set()  # automatic changes (close-stale) never come with a reply
    lead = ms.lead_event(ev.ticket_id, ev.id, ev.actor_id, ev.at)
    if lead is None or lead.event != "comment":
        return set()
    change = {"change": {"from": ev.from_status, "to": ev.to_status}, "status": ev.to_status}
    if ev.detail.get("resolution"):
        change["resolution"] = ev.detail["resolution"]
    return _merge(ms, lead, change)


def _fold_attachment(store: Store, ms: MailStore, ev: Event) -> None:
    """Files sent with a reply (or an opening) are named in its messages."""
    if ev.detail.get("internal"):
        return  # a file on an internal note is staff-only
    lead = ms.lead_event(ev.ticket_id, ev.id, ev.actor_id, ev.at)
    if lead is not None and ev.detail.get("name"):
        _merge(ms, lead, {"attachment": str(ev.detail["name"])})
