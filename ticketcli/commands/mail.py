"""mail-in: one message on stdin becomes a reply or a new ticket; and the ``mail`` group:
the messages mail-in held for review (``held``, ``accept``, ``reject``)."""

from __future__ import annotations

from ..errors import SYSEXITS, MailInError, Sysexit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from .params import FormatOption

MAX_MESSAGE = 50 * 1024 * 1024  # bytes of one message accepted by mail-in


def mail_in(c: Context) -> None:
    """Read one email on stdin: a reply to its ticket, or a new ticket.

    A subject with [#42], or References/In-Reply-To pointing to a message
    about ticket 42, make it a reply by the sender (who must be its
    requester, a participant or staff); a closed, final ticket gets a
    follow-up. Anything else opens a ticket if the workflow accepts the
    sender. Auto-replies, bounces and ticketcli's own mail are dropped.
    A message that would act for a registered person on an existing ticket,
    or comes from a staff address, without proof of its sender (it answers
    none of the desk's messages to that address, and the desk's mail server
    saw no DMARC pass) is held for review: 'ticketcli mail held'.
    Exit codes follow sysexits for mail servers: 0 delivered, held or dropped,
    65 unusable message, 67 unknown or refused sender, 75 try again later.

    \b
    Examples:
      ticketcli --db /srv/helpdesk.db mail-in < message.eml
      helpdesk: "|/usr/local/bin/ticketcli --db /srv/helpdesk.db mail-in"
    """
    c.exit_codes = SYSEXITS  # mail servers understand sysexits.h
    from ..desk.mailin import deliver
    from ..mail.parse import parse
    from ..mail.settings import own_address
    from ..mail.trust import settings

    stream = getattr(c.stdin, "buffer", None)
    data = stream.read(MAX_MESSAGE + 1) if stream is not None else c.stdin.read().encode(
        "utf-8", "surrogateescape")
    if len(data) > MAX_MESSAGE:
        raise MailInError(Sysexit.DATAERR, f"the message is larger than "
                          f"{MAX_MESSAGE // (1024 * 1024)} MB")
    if not data.strip():
        raise MailInError(Sysexit.DATAERR, "no message on standard input")
    own = own_address(c.config)
    limits = c.limits
    trust = settings(c.config, c.config_path)
    mail = parse(data, own_addresses=frozenset([own] if own else []), limits=limits)
    outcome = deliver(c.store(), mail, c.now_iso(), limits,
                      trust=trust if trust.trust == "token" else None, raw=data)
    if outcome.ticket_id is not None and outcome.action != "duplicate":
        c.out(f"{outcome.ticket_id}\n")
    c.say(f"mail-in: {outcome.message}.")


HELD_COLUMNS = ["id", "received_at", "from", "subject", "ticket", "reason"]


def held(c: Context, fmt: FormatOption = None) -> None:
    """List the messages mail-in held for review, oldest first (staff only).

    mail-in holds a message that would act for a registered person on an
    existing ticket, or that comes from a staff address, when nothing proves
    who sent it (see docs/EMAIL.md). Nothing in it was applied or answered.

    \b
    Examples:
      ticketcli mail held
      ticketcli mail held --format json
    """
    from ..desk.review import held as held_messages
    from ..output import check_format, render_rows

    check_format(fmt)
    found = held_messages(c.store(), c.actor())
    records = [{"id": m.id, "received_at": m.received_at, "from": m.sender,
                "subject": m.subject, "ticket": m.ticket_id, "reason": m.reason}
               for m in found]
    c.out(render_rows(records, HELD_COLUMNS, c.format(fmt), lang=c.lang,
                      width=c.columns if c.format(fmt) == "table" else None))


def accept(
    c: Context,
    held_id: Annotated[int, typer.Argument(metavar="ID", help="A held message (mail held).")],
) -> None:
    """Apply a held message as if it had just arrived, its sender believed (staff only).

    Prints the ticket it went to. The decision is recorded on the message and,
    as an internal event, in the ticket's history.

    \b
    Examples:
      ticketcli mail accept 3
    """
    from ..desk.review import accept as accept_message

    outcome = accept_message(c.store(), c.actor(), c.now_iso(), held_id, c.limits)
    if outcome.ticket_id is not None:
        c.out(f"{outcome.ticket_id}\n")
    c.say(f"Accepted message {held_id}: {outcome.message}.")


def reject(
    c: Context,
    held_id: Annotated[int, typer.Argument(metavar="ID", help="A held message (mail held).")],
) -> None:
    """Drop a held message: it is never applied (staff only).

    The decision is recorded on the message and, as an internal event, in the
    history of the ticket it would have acted on.

    \b
    Examples:
      ticketcli mail reject 3
    """
    from ..desk.review import reject as reject_message

    message = reject_message(c.store(), c.actor(), c.now_iso(), held_id)
    c.say(f"Rejected message {held_id} from {message.sender}; it was not applied.")
