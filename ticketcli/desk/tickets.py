"""Use cases on tickets: open, show, list, comment, set status, share, assign.

Each function takes the store, the acting user and the time, checks the rules
(workflow and visibility), and performs its writes in one transaction. Nothing
here prints or parses arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from ..errors import Conflict, NotFound, PermissionDenied, UsageError
from ..store import Attachment, Comment, HistoryEntry, Store, Ticket, TicketQuery, User
from ..text import one_line
from ..workflow import Workflow
from .people import check_email, find_user

MAX_TITLE = 300
MAX_BODY = 1_000_000
MAX_ATTACHMENT = 25 * 1024 * 1024
MAX_ATTACHMENTS = 20
MAX_CATEGORY = 100  # characters


class NewFile(NamedTuple):
    name: str
    content: bytes


class Details(NamedTuple):
    ticket: Ticket
    participants: list[str]
    comments: list[Comment]
    attachments: list[Attachment]
    history: list[HistoryEntry]


class Change(NamedTuple):
    id: int
    from_status: str
    to_status: str


# -- checks -------------------------------------------------------------------


MAX_ID = 2**63 - 1  # SQLite's largest integer


def check_id(ticket_id: int) -> int:
    if ticket_id <= 0:
        raise UsageError(f"ticket ids are positive whole numbers, not {ticket_id}")
    if ticket_id > MAX_ID:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket_id


class Limits(NamedTuple):
    """Size limits for what users send; the user config can change them."""

    title: int = MAX_TITLE
    body: int = MAX_BODY
    attachment: int = MAX_ATTACHMENT
    attachments: int = MAX_ATTACHMENTS


DEFAULT_LIMITS = Limits()


def check_title(title: str, limits: Limits = DEFAULT_LIMITS) -> str:
    if not title.strip():
        raise UsageError("a ticket needs a non-empty title")
    return one_line(title, "a title", limits.title)


def check_category(category: str | None) -> str | None:
    """A category is one short line; a blank one is none."""
    if category is None:
        return None
    return one_line(category, "a category", MAX_CATEGORY) or None


def check_body(body: str, what: str = "body", limits: Limits = DEFAULT_LIMITS) -> str:
    if "\x00" in body:
        raise UsageError(f"the {what} contains a NUL character; send text, or attach the file")
    if len(body) > limits.body:
        raise UsageError(f"the {what} is at most {limits.body} characters (got {len(body)})")
    return body


def check_files(files: Sequence[NewFile], limits: Limits = DEFAULT_LIMITS) -> None:
    if len(files) > limits.attachments:
        raise UsageError(f"at most {limits.attachments} attachments at a time")
    for f in files:
        if len(f.content) > limits.attachment:
            raise UsageError(
                f"attachment {f.name} is {len(f.content)} bytes or more; the limit is "
                f"{limits.attachment} (config key max_attachment_size)"
            )


def visible(store: Store, actor: User, ticket_id: int) -> Ticket:
    """The ticket, if it exists and ``actor`` may see it."""
    ticket = store.tickets.ticket(check_id(ticket_id))
    if not store.tickets.can_see(actor, ticket.id):
        raise PermissionDenied(f"ticket {ticket_id} is not visible to {actor.email}")
    return ticket


def move_side(actor: User, ticket: Ticket) -> str:
    """Which role of the workflow's moves the actor plays on this ticket."""
    if actor.staff:
        return "agent"
    return "requester" if actor.id == ticket.requester_id else "participant"


def _known_if_status(wf: Workflow, if_status: str | None) -> None:
    """An ``--if-status`` the workflow does not know is a usage error, not a conflict."""
    if if_status is not None:
        try:
            wf.status(if_status)
        except UsageError as e:
            raise UsageError(f"--if-status: {e.message}") from None


def _check_if_status(ticket: Ticket, if_status: str | None) -> None:
    if if_status is not None and ticket.status != if_status:
        raise Conflict(
            f"ticket {ticket.id} is {ticket.status}, not {if_status}; someone changed it first"
        )


def _follow_up_hint(ticket: Ticket) -> str:
    return (
        f"ticket {ticket.id} is {ticket.status}, which is final; open a follow-up with "
        f'"ticketcli open --follow-up {ticket.id} TITLE"'
    )


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
    prio = wf.check_priority(priority) if priority else wf.default_priority
    cat = check_category(category)
    with store.write():
        who = actor
        if requester is not None:
            address = check_email(requester)
            if address != actor.email:
                if not actor.staff:
                    raise PermissionDenied("customers open tickets for themselves only")
                found = store.people.user_by_email(address)
                if found is None:
                    if not wf.allow_unregistered:
                        raise PermissionDenied(
                            f"{address} is not registered, and the {wf.name} workflow accepts "
                            "tickets from registered users only; add them with 'ticketcli user add'"
                        )
                    found = store.people.add_user(address, address.split("@")[0], "customer",
                                                  None, now)
                who = found
        if follow_up is not None:
            original = visible(store, actor, follow_up)
            if original.phase not in ("closed", "cancelled") and not wf.is_final(original.status):
                raise Conflict(
                    f"ticket {original.id} is still {original.status}; comment on it instead "
                    "of opening a follow-up"
                )
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


class ListRequest(NamedTuple):
    """What ``list`` asks for; emails and names are resolved here, not in the command."""

    statuses: Sequence[str] = ()
    phases: Sequence[str] = ()
    include_all: bool = False
    priority: str | None = None
    requester: str | None = None
    assignee: str | None = None
    organization: str | None = None
    category: str | None = None
    created_since: str | None = None
    created_before: str | None = None
    updated_since: str | None = None
    updated_before: str | None = None
    stale_at: datetime | None = None
    search: str | None = None
    sort: str = "id"
    descending: bool = True
    limit: int | None = 100


def _query(store: Store, actor: User, req: ListRequest) -> TicketQuery | None:
    """The store query for a request, or None when it cannot match anything."""
    from ..store import SORT_KEYS
    from ..workflow import PHASES

    wf = store.workflow()
    for s in req.statuses:
        wf.status(s)
    for p in req.phases:
        if p not in PHASES:
            raise UsageError(f"unknown phase {p!r}; choose one of: {', '.join(PHASES)}")
    if req.priority is not None:
        wf.check_priority(req.priority)
    if req.sort not in SORT_KEYS:
        raise UsageError(f"cannot sort by {req.sort!r}; choose one of: {', '.join(SORT_KEYS)}")
    if req.search is not None and not req.search.strip():
        raise UsageError("--search needs some text to look for")
    chosen = list(dict.fromkeys(req.statuses))
    if req.phases:
        in_phases = [k for k, st in wf.statuses.items() if st.phase in req.phases]
        chosen = [k for k in chosen if k in in_phases] if chosen else in_phases
        if not chosen:
            return None
    if not chosen and not req.include_all:
        chosen = wf.active_statuses()
    found: dict[str, int] = {}
    if req.requester is not None:
        user = store.people.user_by_email(check_email(req.requester))
        if user is None:
            return None
        found["requester_id"] = user.id
    if req.assignee is not None:
        user = (actor if req.assignee == "me"
                else store.people.user_by_email(check_email(req.assignee)))
        if user is None:
            return None
        found["assignee_id"] = user.id
    if req.organization is not None:
        org = store.people.org_by_name(req.organization)
        if org is None:
            return None
        found["org_id"] = org.id
    stale = None
    if req.stale_at is not None:
        from ..clock import iso

        stale = [(r.sources, r.since, iso(req.stale_at - timedelta(seconds=r.after)))
                 for r in wf.stale]
    return TicketQuery(
        statuses=chosen, priority=req.priority, category=req.category, search=req.search,
        created_since=req.created_since, created_before=req.created_before,
        updated_since=req.updated_since, updated_before=req.updated_before, stale=stale,
        sort=req.sort, descending=req.descending, limit=req.limit, viewer=actor,
        order={"status": list(wf.statuses), "priority": list(wf.priorities),
               "phase": list(PHASES)},
        **found,
    )


def list_tickets(store: Store, actor: User, req: ListRequest) -> tuple[list[Ticket], bool]:
    q = _query(store, actor, req)
    return store.listing.list_tickets(q) if q is not None else ([], False)


def count_tickets(store: Store, actor: User, req: ListRequest) -> int:
    q = _query(store, actor, req)
    return store.listing.count_matching(q) if q is not None else 0


def comment(store: Store, actor: User, now: str, ticket_id: int, *, body: str,
            internal: bool, status: str | None, files: Sequence[NewFile],
            if_status: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Change | None:
    """Add a reply or an internal note; returns the status change it caused, if any."""
    wf = store.workflow()
    body = check_body(body, "comment", limits)
    if not body.strip():
        raise UsageError("a comment needs some text")
    check_files(files, limits)
    if internal and not actor.staff:
        raise PermissionDenied("only agents and admins may write internal notes")
    if status is not None:
        wf.status(status)
    _known_if_status(wf, if_status)
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
    target = wf.status(status)
    if resolution is not None:
        resolution = wf.check_resolution(resolution)
        if not target.resolved:
            raise UsageError(
                "--resolution goes with a status that ends the work ("
                + ", ".join(s.key for s in wf.statuses.values() if s.resolved)
                + f"); {status} is not one of them"
            )
    if note is not None:
        note = check_body(note, "note")
        if not note.strip():
            raise UsageError("--note needs some text")
    _known_if_status(wf, if_status)
    with store.write():
        ticket = visible(store, actor, ticket_id)
        _check_if_status(ticket, if_status)
        if ticket.status == status:
            return None
        wf.check_move(move_side(actor, ticket), ticket.status, status, ticket.id)
        resolution = wf.resolution_for(status, resolution, ticket.resolution)
        if note is not None:
            # Staff notes on a status change are internal; a requester's is a reply.
            cid = store.tickets.add_comment(ticket.id, actor.id, note, actor.staff, now)
            store.record(ticket.id, actor.id, now, "note" if actor.staff else "comment",
                              detail={"comment": cid})
        if not actor.staff:
            store.tickets.touch(ticket.id, now, requester_activity=True)
        return _move(store, wf, actor.id, ticket, status, now, resolution)


def share(store: Store, actor: User, now: str, ticket_id: int, emails: Sequence[str],
          *, remove: bool) -> list[tuple[str, bool]]:
    """Add (or remove) participants; returns (email, changed) for each address."""
    wf = store.workflow()
    addresses = list(dict.fromkeys(check_email(e) for e in emails))
    if not addresses:
        raise UsageError("name at least one email to share with")
    results: list[tuple[str, bool]] = []
    with store.write():
        ticket = visible(store, actor, ticket_id)
        is_requester = actor.id == ticket.requester_id
        for address in addresses:
            user = find_user(store, address)
            if remove:
                if not (actor.staff or is_requester or user.id == actor.id):
                    raise PermissionDenied(
                        f"only staff, the requester or {address} may remove {address}"
                    )
                changed = store.tickets.remove_participant(ticket.id, user.id)
                event = "unshared"
            else:
                if not (actor.staff or is_requester):
                    raise PermissionDenied(
                        f"only staff and the requester may share ticket {ticket.id}"
                    )
                _check_sharing_rule(store, wf, ticket, user)
                changed = user.id != ticket.requester_id and store.tickets.add_participant(
                    ticket.id, user.id, now
                )
                event = "shared"
            if changed:
                store.record(ticket.id, actor.id, now, event, detail={"user": user.email})
                store.tickets.touch(ticket.id, now)
            results.append((user.email, changed))
    return results


def _check_sharing_rule(store: Store, wf: Workflow, ticket: Ticket, user: User) -> None:
    if wf.sharing != "organization":
        return
    if ticket.org_id is not None:
        if user.org_id == ticket.org_id:
            return
        org = store.people.org_by_id(ticket.org_id)
        if org is not None and org.manager_id == user.id:
            return
    if ticket.org_id is None:
        raise PermissionDenied(
            f"ticket {ticket.id} cannot be shared: its requester belongs to no organization, "
            "and this workflow shares only with the members of the requester's organization "
            "and its project manager"
        )
    raise PermissionDenied(
        f"ticket {ticket.id} can be shared only with members of {ticket.organization} or its "
        f"project manager; {user.email} is neither"
    )


def assign(store: Store, actor: User, now: str, ticket_id: int, email: str | None) -> bool:
    """Assign a ticket to an agent (None unassigns); returns whether anything changed."""
    if not actor.staff:
        raise PermissionDenied("only agents and admins may assign tickets")
    with store.write():
        ticket = visible(store, actor, ticket_id)
        user = None
        if email is not None:
            user = actor if email == "me" else find_user(store, email)
            if not user.staff:
                raise UsageError(f"tickets are assigned to agents; {user.email} is a customer")
        new_id = user.id if user else None
        if new_id == ticket.assignee_id:
            return False
        store.tickets.set_assignee(ticket.id, new_id, now)
        store.record(ticket.id, actor.id, now, "assigned",
                          detail={"from": ticket.assignee, "to": user.email if user else None})
        return True
