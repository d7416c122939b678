"""The outbox subscriber: what the customer side should hear about becomes messages.

:func:`enqueue` receives each transaction's change set (it is one of the
store's subscribers, added by the context) at commit, inside the transaction:
the change and its messages commit together or not at all. For each ticket the
set changed, it composes one message per recipient, in the recipient's
language, from that ticket's events alone; it never looks back at earlier rows,
and a message once queued is never rewritten. A message holds what to tell (its
``data``); its text is rendered from the templates when a sender takes it
(:func:`render_claimed`), so a run that closes a hundred thousand tickets
renders nothing, and a template fixed before the mail goes out applies to it.

What a ticket's events in one change set become:

- ``opened``: the opening confirmation, naming the files sent with it;
- a public ``comment``: a reply, naming its files and, when the same command
  moved the ticket, the status change (one message that tells both);
- ``status`` without a reply: a status change (``autoclosed`` when close-stale
  closed it);
- ``reminder``: close-stale's warning before it closes the ticket;
- ``shared``: a note to the person just added;
- ``sla_warning`` / ``sla_breached``: a notice to the assignee, or to every agent
  when nobody is assigned (:mod:`.sla_notices`).

Recipients are the requester and the participants, never the person who acted,
with one exception: the opening confirmation always goes to the requester,
because it carries the reference number they need to write back. Internal
notes, and files on them, never produce mail. Two commands are two change sets,
so two messages, however close together they ran.

Agents hear about their own work, as each chose (``notify prefs``, defaults in
:data:`ticketcli.desk.prefs.NOTIFY_EVENTS`), never about what they did themselves:

- ``assigned``: the new assignee, when someone else assigns a ticket to them;
- ``customer_reply``: the assignee, when the customer side replies to their ticket;
- ``new_ticket``: the agents who asked for it, when a ticket is opened and no one is
  assigned to it.

This module must stay cheap to import: no ``email``, no ``smtplib``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..store import ChangeSet, Event, Store, User
    from ..store.outbox import MailSQL, NewMessage, OutboxMessage
    from ..store.tickets import TicketHead

MAILED = frozenset({"opened", "comment", "status", "reminder", "shared", "attachment",
                    "assigned"})


def enqueue(store: Store, changes: ChangeSet) -> None:
    """The subscriber: write the outbox rows for one change set, with the tickets,
    people and languages they need read once for all of them."""

    ready: list[tuple[int, int, NewMessage, str]] = []
    if any(ev.event.startswith("sla_") for ev in changes.events):
        from .sla_notices import compose as sla_notices

        ready += sla_notices(store, changes)
    tickets = {tid: [ev for ev in evs if ev.event in MAILED]
               for tid, evs in changes.tickets().items()}
    tickets = {tid: evs for tid, evs in tickets.items() if evs}
    if not tickets:
        store.mail.enqueue_many(ready)
        return
    look = _Lookup(store, tickets)
    for evs in tickets.values():
        for lead, kind, base, people in _compose(store, look, evs):
            ready += [(lead.history_id, lead.ticket_id, m, lead.at)
                      for m in _for_each(store.mail, kind, base, people, look.langs)]
    store.mail.enqueue_many(ready)


class _Lookup:
    """The tickets, people and mail languages of a change set, read together."""

    def __init__(self, store: Store, tickets: dict[int, list[Event]]) -> None:
        ids = list(tickets)
        events = [ev for evs in tickets.values() for ev in evs]
        self.tickets = store.tickets.ticket_heads(
            ids, description=any(ev.event == "opened" for ev in events))
        self.participants = store.tickets.participants_of(ids)
        wanted = [t.requester_id for t in self.tickets.values()]
        wanted += [t.assignee_id for t in self.tickets.values() if t.assignee_id is not None]
        wanted += [ev.actor_id for ev in events if ev.actor_id is not None]
        wanted += [u.id for people in self.participants.values() for u in people]
        self.users = store.people.users_by_id(wanted)
        self.langs = store.mail.user_langs(list(self.users))
        self._store = store
        self._watching: list[User] | None = None

    def add(self, user: User) -> User:
        """Someone the messages name beyond those read at first (an assignee by email)."""
        if user.id not in self.users:
            self.users[user.id] = user
            lang = self._store.mail.user_lang(user.id)
            if lang is not None:
                self.langs[user.id] = lang
        return user

    def wants(self, user: User, event: str) -> bool:
        from ..desk.prefs import NOTIFY_EVENTS

        chosen = self._store.mail.notify_choices(event, [user.id])
        return chosen.get(user.id, NOTIFY_EVENTS[event])

    def watching_new(self) -> list[User]:
        """The agents who asked to hear of every new ticket (read once)."""
        if self._watching is None:
            ms, people = self._store.mail, self._store.people
            ids = people.staff_ids()
            on = [i for i, enabled in ms.notify_choices("new_ticket", ids).items() if enabled]
            found = people.users_by_id(on)
            self._watching = [self.add(found[i]) for i in on if i in found]
        return self._watching


Composed = tuple["Event", str, dict[str, "Any"], list["User"]]


def _compose(store: Store, look: _Lookup, evs: Sequence[Event]) -> list[Composed]:
    """The messages of one ticket's events in a change set: (the event each answers
    to, kind, what to tell, recipients)."""
    ticket = look.tickets.get(evs[0].ticket_id)
    if ticket is None:
        return []
    files = [str(ev.detail["name"]) for ev in evs
             if ev.event == "attachment" and ev.detail.get("name")
             and not ev.detail.get("internal")]
    out: list[Composed] = []
    reply: Composed | None = None
    for ev in evs:
        actor = look.users.get(ev.actor_id) if ev.actor_id is not None else None
        base: dict[str, Any] = {
            "id": ticket.id,
            "title": ticket.title,
            "status": ticket.status,
            "actor": _display(actor) if actor else None,
        }
        if ev.event == "opened":
            base["body"] = ticket.description
            if ev.detail.get("follow_up_of"):
                base["follow_up"] = ev.detail["follow_up_of"]
            if files:
                base["attachments"] = files
            out.append((ev, "opened", base, _audience(look, ticket, ev.actor_id,
                                                      keep_requester=True)))
        elif ev.event == "comment":
            found = store.mail.comment_text(int(ev.detail.get("comment", 0)))
            if found is None or found[1]:
                continue  # internal notes never leave
            base["body"] = found[0]
            if files:
                base["attachments"] = files
            reply = (ev, "reply", base, _audience(look, ticket, ev.actor_id))
            out.append(reply)
        elif ev.event == "status":
            change = {"status": ev.to_status}
            if ev.detail.get("resolution"):
                change["resolution"] = ev.detail["resolution"]
            people = _audience(look, ticket, ev.actor_id)
            if reply is not None and ev.actor_id is not None and ev.actor_id == reply[0].actor_id:
                # Told in the reply the same command wrote; anyone it did not reach
                # hears of the change on its own.
                reply[2].update(change, change={"from": ev.from_status, "to": ev.to_status})
                told = {u.id for u in reply[3]}
                people = [u for u in people if u.id not in told]
            automatic = ev.actor_id is None and ev.detail.get("reason") == "stale"
            base.update(change, previous=ev.from_status)
            if people:
                out.append((ev, "autoclosed" if automatic else "status", base, people))
        elif ev.event == "reminder":
            base["closes_at"] = ev.detail.get("closes_at", "")
            out.append((ev, "reminder", base, _audience(look, ticket, ev.actor_id)))
        elif ev.event == "shared":
            user = store.people.user_by_email(str(ev.detail.get("user", "")))
            if user is None or user.id == ev.actor_id or user.disabled:
                continue
            if user.id not in look.langs:
                lang = store.mail.user_lang(user.id)
                if lang is not None:
                    look.langs[user.id] = lang
            out.append((ev, "shared", base, [user]))
    out += _for_agents(store, look, ticket, evs, files, reply)
    return [m for m in out if m[3]]


def _for_agents(store: Store, look: _Lookup, ticket: TicketHead, evs: Sequence[Event],
                files: list[str], reply: Composed | None) -> list[Composed]:
    """What the agents hear of one ticket's events: their assignments, the customer
    side's replies to their tickets, new tickets no one is assigned to."""
    out: list[Composed] = []

    def base(ev: Event) -> dict[str, Any]:
        actor = look.users.get(ev.actor_id) if ev.actor_id is not None else None
        data: dict[str, Any] = {"id": ticket.id, "title": ticket.title,
                                "status": ticket.status, "priority": ticket.priority,
                                "actor": _display(actor) if actor else None}
        if files:
            data["attachments"] = files
        return data

    assigned_now = any(ev.event == "assigned" and ev.detail.get("to") for ev in evs)
    for ev in evs:
        if ev.event == "assigned" and ev.detail.get("to"):
            user = store.people.user_by_email(str(ev.detail["to"]))
            if user is None or not user.staff or user.id == ev.actor_id:
                continue
            if look.wants(look.add(user), "assigned"):
                out.append((ev, "assigned", base(ev), [user]))
        elif ev.event == "comment" and ticket.assignee_id is not None:
            actor = look.users.get(ev.actor_id) if ev.actor_id is not None else None
            assignee = look.users.get(ticket.assignee_id)
            if actor is None or actor.staff or assignee is None or assignee.id == actor.id:
                continue
            if reply is not None and any(u.id == assignee.id for u in reply[3]):
                continue  # a participant too: the reply itself reached them
            found = store.mail.comment_text(int(ev.detail.get("comment", 0)))
            if found is None or found[1] or not look.wants(assignee, "customer_reply"):
                continue
            data = base(ev)
            data["body"] = found[0]
            out.append((ev, "customer_reply", data, [assignee]))
        elif ev.event == "opened" and ticket.assignee_id is None and not assigned_now:
            people = [u for u in look.watching_new()
                      if u.id != ev.actor_id and u.id != ticket.requester_id]
            if people:
                data = base(ev)
                data["body"] = ticket.description
                out.append((ev, "new_ticket", data, people))
    return out


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
        if not u.disabled
        and (u.id != actor_id or (keep_requester and u.id == ticket.requester_id))
    ]


def _for_each(ms: MailSQL, kind: str, base: dict[str, Any], people: list[User],
              langs: dict[int, str]) -> list[NewMessage]:
    from ..store.outbox import NewMessage

    default = ms.default_lang()
    return [
        NewMessage(user.id, user.email, user.name, langs.get(user.id) or default, kind,
                   {**base, "recipient": _display(user)})
        for user in people
    ]


def rendered(store: Store, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """The rows with their subject and body: as sent, or rendered now from the
    templates for those not taken by a sender yet."""
    from . import templates

    wf = store.workflow()
    ms = store.mail
    out = []
    for row in rows:
        if not row.body:
            subject, body = templates.render(row.kind, row.lang, row.data, wf,
                                             ms.template(row.kind, row.lang))
            row = row._replace(subject=subject, body=body)
        out.append(row)
    return out


def render_claimed(store: Store, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """:func:`rendered`, keeping the text of newly rendered rows (inside the claim's
    transaction): a message is sent, and retried, as it was first rendered."""
    out = rendered(store, rows)
    store.mail.set_text([(r.id, r.subject, r.body) for r, old in zip(out, rows, strict=True)
                         if not old.body])
    return out
