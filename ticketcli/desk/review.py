"""Mail held for review: list it, accept a message (apply it as if it had just arrived),
or reject it. Staff only; every decision is recorded on the held message (who, when)
and in the history of the ticket it concerns, as an internal event customers do not
see."""

from __future__ import annotations

from ..errors import Conflict, MailInError, NotFound, PermissionDenied, Sysexit
from ..store import Store, User
from .checks import DEFAULT_LIMITS, Limits
from .mailin import Outcome, deliver
from .people import require_staff

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store.inbound import HeldMessage


def held(store: Store, actor: User) -> list[HeldMessage]:
    require_staff(actor, "review held mail")
    return store.mail.held()


def _waiting(store: Store, held_id: int) -> HeldMessage:
    message = store.mail.held_message(held_id)
    if message is None:
        raise NotFound(f"no held message {held_id}; 'ticketcli mail held' lists them")
    if message.state != "held":
        raise Conflict(f"message {held_id} was {message.state} already")
    return message


def accept(store: Store, actor: User, now: str, held_id: int,
           limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """Apply a held message as if it had just arrived, its sender believed. When it
    cannot be applied (its sender may no longer write there, the ticket changed), the
    message stays held and the error says why."""
    from ..mail.parse import parse

    require_staff(actor, "accept held mail")
    with store.write():
        message = _waiting(store, held_id)
        mail = parse(message.raw, limits=limits)
        try:
            outcome = deliver(store, mail, now, limits)
        except MailInError as e:  # mail-in's codes are for mail servers, not for staff
            kind = PermissionDenied if e.code == Sysexit.NOUSER else Conflict
            raise kind(f"message {held_id} cannot be applied: {e.message}; it stays held "
                       f"(reject it with 'ticketcli mail reject {held_id}')") from None
        store.mail.decide(held_id, "accepted", actor.id, now)
        if outcome.ticket_id is not None:
            store.record(outcome.ticket_id, actor.id, now, "mail_accepted",
                         detail={"held": held_id, "from": message.sender, "internal": True})
    return outcome


def reject(store: Store, actor: User, now: str, held_id: int) -> HeldMessage:
    """Drop a held message: it is never applied; the record of it stays."""
    require_staff(actor, "reject held mail")
    with store.write():
        message = _waiting(store, held_id)
        store.mail.decide(held_id, "rejected", actor.id, now)
        if message.ticket_id is not None and store.mail.ticket_exists(message.ticket_id):
            store.record(message.ticket_id, actor.id, now, "mail_rejected",
                         detail={"held": held_id, "from": message.sender, "internal": True})
    return message
