"""Sharing a ticket: adding and removing participants, within the workflow's rule."""

from __future__ import annotations

from ..errors import PermissionDenied, UsageError
from ..i18n import msg
from ..text import check_email
from .people import find_user
from .tickets import visible

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..store import Store, Ticket, User
    from ..workflow import Workflow


def share(store: Store, actor: User, now: str, ticket_id: int, emails: Sequence[str],
          *, remove: bool) -> list[tuple[str, bool]]:
    """Add (or remove) participants; returns (email, changed) for each address.

    Someone new is added as a customer where the workflow accepts unregistered
    requesters (as mail from them would); elsewhere a customer learns nothing of
    who is registered: an unknown address is refused as one outside the sharing
    rule is, and removing an unknown address removes no one."""
    wf = store.workflow()
    addresses = list(dict.fromkeys(check_email(e) for e in emails))
    if not addresses:
        raise UsageError(msg("name at least one email to share with"))
    results: list[tuple[str, bool]] = []
    with store.write():
        ticket = visible(store, actor, ticket_id)
        is_requester = actor.id == ticket.requester_id
        for address in addresses:
            found = store.people.user_by_email(address)
            if remove and found is None:
                results.append((address, False))
                continue
            user = found if found is not None else _newcomer(store, wf, actor, ticket,
                                                             address, now)
            if remove:
                if not (actor.staff or is_requester or user.id == actor.id):
                    raise PermissionDenied(msg(
                        "only staff, the requester or {email} may remove {email}",
                        email=address))
                changed = store.tickets.remove_participant(ticket.id, user.id)
                event = "unshared"
            else:
                if not (actor.staff or is_requester):
                    raise PermissionDenied(msg(
                        "only staff and the requester may share ticket {id}", id=ticket.id))
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


def _newcomer(store: Store, wf: Workflow, actor: User, ticket: Ticket, address: str,
              now: str) -> User:
    """Someone not registered, shared into ``ticket``: a new customer where the workflow
    accepts unregistered requesters; else refused, to a customer exactly as a registered
    person outside the sharing rule is."""
    if not (actor.staff or actor.id == ticket.requester_id):
        raise PermissionDenied(f"only staff and the requester may share ticket {ticket.id}")
    if wf.allow_unregistered and wf.sharing != "organization":
        return store.people.add_user(address, address.split("@")[0], "customer", None, now)
    if actor.staff:
        return find_user(store, address)  # NotFound: staff may know who is registered
    _rule_refusal(ticket, address)
    raise AssertionError("unreachable")


def _rule_refusal(ticket: Ticket, address: str) -> None:
    if ticket.org_id is None:
        raise PermissionDenied(msg(
            "ticket {id} cannot be shared: its requester belongs to no organization, "
            "and this workflow shares only with the members of the requester's organization "
            "and its project manager", id=ticket.id)
        )
    raise PermissionDenied(msg(
        "ticket {id} can be shared only with members of {org} or its project manager; "
        "{email} is neither", id=ticket.id, org=ticket.organization, email=address))


def _check_sharing_rule(store: Store, wf: Workflow, ticket: Ticket, user: User) -> None:
    if wf.sharing != "organization":
        return
    if ticket.org_id is not None:
        if user.org_id == ticket.org_id:
            return
        org = store.people.org_by_id(ticket.org_id)
        if org is not None and org.manager_id == user.id:
            return
    _rule_refusal(ticket, user.email)
