"""Use cases on tickets: open, show, comment, set status, assign.

Each function takes the store, the acting user and the time, checks the rules
(workflow and visibility), and performs its writes in one transaction; what it
changed reaches the store's subscribers as the transaction's change set. Nothing
here prints or parses arguments. Listing is in :mod:`.listing`, sharing in
:mod:`.sharing`.
"""

from __future__ import annotations

from ..errors import Conflict, NotFound, PermissionDenied, UsageError
from ..i18n import msg
from ..record import Record
from ..text import check_email
from .checks import (
    DEFAULT_LIMITS,
    Limits,
    NewFile,
    check_body,
    check_category,
    check_fields,
    check_files,
    check_id,
    check_title,
)
from .people import find_user

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..store import Attachment, Comment, HistoryEntry, Store, Ticket, User
    from ..workflow import Workflow


class Details(Record):
    ticket: Ticket
    participants: list[str]
    comments: list[Comment]
    attachments: list[Attachment]
    history: list[HistoryEntry]


class Change(Record):
    id: int
    from_status: str
    to_status: str


def visible(store: Store, actor: User, ticket_id: int) -> Ticket:
    """The ticket, if it exists and ``actor`` may see it. A ticket a customer may not
    see is reported exactly as a missing one: its existence is none of their business."""
    ticket = store.tickets.ticket(check_id(ticket_id))
    if not store.tickets.can_see(actor, ticket.id):
        raise NotFound(msg("ticket {id} not found", id=ticket_id))
    return ticket


def move_side(actor: User, ticket: Ticket) -> str:
    """Which role of the workflow's moves the actor plays on this ticket."""
    if actor.staff:
        return "agent"
    return "requester" if actor.id == ticket.requester_id else "participant"


def _known_if_status(wf: Workflow, if_status: str | None) -> str | None:
    """The status key an ``--if-status`` names; one the workflow does not know is a
    usage error, not a conflict."""
    if if_status is None:
        return None
    try:
        return wf.status_key(if_status)
    except UsageError as e:
        raise UsageError(msg("--if-status: {error}", error=e.message)) from None


def _check_if_status(ticket: Ticket, if_status: str | None) -> None:
    if if_status is not None and ticket.status != if_status:
        raise Conflict(msg("ticket {id} is {status}, not {expected}; someone changed it first",
                           id=ticket.id, status=ticket.status, expected=if_status))


def _follow_up_hint(ticket: Ticket) -> str:
    return msg('ticket {id} is {source}, which is final; open a follow-up with '
               '"ticketcli open --follow-up {id} TITLE"', id=ticket.id, source=ticket.status)


def _store_files(store: Store, actor: User, ticket_id: int, comment_id: int | None,
                 files: Sequence[NewFile], now: str, *, internal: bool = False) -> None:
    if not files:
        return
    import hashlib

    for f in files:
        digest = hashlib.sha256(f.content).hexdigest()
        store.tickets.add_attachment(ticket_id, comment_id, actor.id, f.name, f.content,
                                     digest, now)
        detail: dict[str, object] = {"name": f.name, "size": len(f.content), "sha256": digest}
        if internal:
            detail["internal"] = True  # attached to an internal note: staff only
        store.record(ticket_id, actor.id, now, "attachment", detail=detail)


def _move(store: Store, wf: Workflow, actor_id: int | None, ticket: Ticket, target: str,
          now: str, resolution: str | None = None, reason: str | None = None) -> Change:
    # Work that starts again on a ticket leaves its old resolution behind.
    store.tickets.set_status(ticket.id, target, wf.phase_of(target), now, resolution,
                     keep_resolution=wf.status(target).resolved)
    detail: dict[str, str] = {}
    if resolution:
        detail["resolution"] = resolution
    if reason:
        detail["reason"] = reason
    store.record(ticket.id, actor_id, now, "status", ticket.status, target,
                  detail or None)
    return Change(ticket.id, ticket.status, target)


# -- use cases ------------------------------------------------------------------


def open_ticket(store: Store, actor: User, now: str, *, title: str, body: str,
                priority: str | None, category: str | None, requester: str | None,
                fields: dict[str, str], files: Sequence[NewFile],
                follow_up: int | None, limits: Limits = DEFAULT_LIMITS) -> int:
    wf = store.workflow()
    title = check_title(title, limits)
    body = check_body(body, "description", limits)
    check_files(files, limits)
    fields = check_fields(fields, limits)
    prio = wf.check_priority(priority) if priority else wf.default_priority
    cat = check_category(category)
    with store.write():
        who = actor
        if requester is not None:
            address = check_email(requester)
            if address != actor.email:
                if not actor.staff:
                    raise PermissionDenied(msg("customers open tickets for themselves only"))
                found = store.people.user_by_email(address)
                if found is None:
                    if not wf.allow_unregistered:
                        raise PermissionDenied(msg(
                            "{email} is not registered, and the {workflow} workflow accepts "
                            "tickets from registered users only; add them with 'ticketcli user "
                            "add'", email=address, workflow=wf.name))
                    found = store.people.add_user(address, address.split("@")[0], "customer",
                                                  None, now)
                who = found
        if follow_up is not None:
            original = visible(store, actor, follow_up)
            if original.phase not in ("closed", "cancelled") and not wf.is_final(original.status):
                raise Conflict(msg("ticket {id} is still {status}; comment on it instead of "
                                   "opening a follow-up", id=original.id,
                                   status=original.status))
            if cat is None:
                cat = original.category
        ticket_id = store.tickets.insert_ticket(
            title=title, description=body, status=wf.initial, phase=wf.phase_of(wf.initial),
            priority=prio, category=cat, requester_id=who.id, org_id=who.org_id,
            fields=fields, follow_up_of=follow_up, now=now,
        )
        detail: dict[str, object] = {}
        if follow_up is not None:
            detail["follow_up_of"] = follow_up
            store.record(follow_up, actor.id, now, "follow_up",
                          detail={"ticket": ticket_id})
        store.record(ticket_id, actor.id, now, "opened", None, wf.initial,
                      detail or None)
        _store_files(store, actor, ticket_id, None, files, now)
    return ticket_id


def show(store: Store, actor: User, ticket_id: int) -> Details:
    ticket = visible(store, actor, ticket_id)
    staff = actor.staff
    return Details(
        ticket=ticket,
        participants=[u.email for u in store.tickets.participants(ticket.id)],
        comments=store.tickets.comments(ticket.id, internal=staff),
        attachments=store.tickets.attachments(ticket.id, internal=staff),
        history=store.tickets.history(ticket.id, internal=staff),
    )


def comment(store: Store, actor: User, now: str, ticket_id: int, *, body: str,
            internal: bool, status: str | None, files: Sequence[NewFile],
            if_status: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Change | None:
    """Add a reply or an internal note; returns the status change it caused, if any."""
    wf = store.workflow()
    body = check_body(body, "comment", limits)
    if not body.strip():
        raise UsageError(msg("a comment needs some text"))
    check_files(files, limits)
    if internal and not actor.staff:
        raise PermissionDenied(msg("only agents and admins may write internal notes"))
    if status is not None:
        status = wf.status_key(status)
    if_status = _known_if_status(wf, if_status)
    with store.write():
        ticket = visible(store, actor, ticket_id)
        _check_if_status(ticket, if_status)
        if wf.is_final(ticket.status):
            raise Conflict(_follow_up_hint(ticket))
        target: str | None = None
        if status is not None:
            if status != ticket.status:
                wf.check_move(move_side(actor, ticket), ticket.status, status, ticket.id)
                target = status
        elif not internal:
            target = wf.reply_target("agent" if actor.staff else "requester", ticket.status)
        comment_id = store.tickets.add_comment(ticket.id, actor.id, body, internal, now)
        store.record(ticket.id, actor.id, now, "note" if internal else "comment",
                          detail={"comment": comment_id})
        _store_files(store, actor, ticket.id, comment_id, files, now, internal=internal)
        store.tickets.touch(ticket.id, now, requester_activity=not internal and not actor.staff)
        if target is not None:
            return _move(store, wf, actor.id, ticket, target, now,
                         wf.resolution_for(target, None, ticket.resolution),
                         reason=None if status is not None else "reply")
    return None


def set_status(store: Store, actor: User, now: str, ticket_id: int, status: str, *,
               resolution: str | None, note: str | None,
               if_status: str | None = None) -> Change | None:
    """Move a ticket by hand; returns None when it already had that status."""
    wf = store.workflow()
    status = wf.status_key(status)
    target = wf.status(status)
    if resolution is not None:
        resolution = wf.check_resolution(resolution)
        if not target.resolved:
            raise UsageError(msg(
                "--resolution goes with a status that ends the work ({statuses}); {status} is "
                "not one of them", status=status,
                statuses=", ".join(s.key for s in wf.statuses.values() if s.resolved)))
    if note is not None:
        note = check_body(note, "note")
        if not note.strip():
            raise UsageError(msg("--note needs some text"))
    if_status = _known_if_status(wf, if_status)
    with store.write():
        ticket = visible(store, actor, ticket_id)
        _check_if_status(ticket, if_status)
        if ticket.status == status:
            return None
        wf.check_move(move_side(actor, ticket), ticket.status, status, ticket.id)
        if resolution is not None and not actor.staff:
            raise PermissionDenied(
                "choosing a resolution is staff work; the workflow records its default "
                "when you close your ticket")
        resolution = wf.resolution_for(status, resolution, ticket.resolution)
        if note is not None:
            # Staff notes on a status change are internal; a requester's is a reply.
            cid = store.tickets.add_comment(ticket.id, actor.id, note, actor.staff, now)
            store.record(ticket.id, actor.id, now, "note" if actor.staff else "comment",
                              detail={"comment": cid})
        if not actor.staff:
            store.tickets.touch(ticket.id, now, requester_activity=True)
        return _move(store, wf, actor.id, ticket, status, now, resolution)


def assign(store: Store, actor: User, now: str, ticket_id: int,
           email: str | None) -> tuple[bool, User | None]:
    """Assign a ticket to an agent (None unassigns); returns whether anything changed,
    and the assignee."""
    if not actor.staff:
        raise PermissionDenied(msg("only agents and admins may assign tickets"))
    with store.write():
        ticket = visible(store, actor, ticket_id)
        user = None
        if email is not None:
            user = actor if email == "me" else find_user(store, email)
            if not user.staff:
                raise UsageError(msg("tickets are assigned to agents; {email} is a customer",
                                     email=user.email))
        new_id = user.id if user else None
        if new_id == ticket.assignee_id:
            return False, user
        store.tickets.set_assignee(ticket.id, new_id, now)
        store.record(ticket.id, actor.id, now, "assigned",
                     detail={"from": ticket.assignee, "to": user.email if user else None})
        return True, user
