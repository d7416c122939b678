"""Attachments come back out: list a ticket's, and get one's stored bytes.

Visibility is that of ``show``: a customer sees the attachments of the tickets they
may see, never those of internal notes; an attachment they may not see is reported
exactly as one that does not exist (exit 3). The bytes handed out are checked
against the sha256 recorded when they were stored.
"""

from __future__ import annotations

from ..errors import NotFound, TicketError, UsageError
from ..i18n import msg
from .checks import check_id
from .tickets import visible

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store import AttachmentInfo, Store, Ticket, User


def list_attachments(store: Store, actor: User, ticket_id: int) -> list[AttachmentInfo]:
    ticket = _visible_ticket(store, actor, ticket_id)
    return store.tickets.attachment_infos(ticket.id, internal=actor.staff)


def get_attachment(store: Store, actor: User,
                   attachment_id: int) -> tuple[AttachmentInfo, bytes]:
    """An attachment the actor may see and its bytes, exactly as stored."""
    if attachment_id <= 0:
        raise UsageError(msg("attachment ids are positive whole numbers, not {id}",
                             id=attachment_id))
    found = store.tickets.attachment_file(attachment_id)
    missing = NotFound(msg("attachment {id} not found", id=attachment_id))
    if found is None:
        raise missing
    info, content = found
    if not actor.staff and (info.internal or not store.tickets.can_see(actor, info.ticket)):
        raise missing
    import hashlib

    if len(content) != info.size or hashlib.sha256(content).hexdigest() != info.sha256:
        raise TicketError(msg(
            "attachment {id} is damaged: its bytes do not match the sha256 recorded when it "
            "was stored; nothing was written. Restore the database from a backup, or run "
            "'ticketcli doctor'", id=attachment_id))
    return info, content


def _visible_ticket(store: Store, actor: User, ticket_id: int) -> Ticket:
    """The ticket if the actor may see it; a customer's invisible ticket is not found."""
    check_id(ticket_id)
    if not actor.staff and not store.tickets.can_see(actor, ticket_id):
        store.tickets.ticket(ticket_id)  # not found when it does not exist
        raise NotFound(msg("ticket {id} not found", id=ticket_id))
    return visible(store, actor, ticket_id)
