"""mail-in: one message on stdin becomes a reply or a new ticket."""

from __future__ import annotations

from ..errors import SYSEXITS, MailInError, Sysexit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..context import Context

MAX_MESSAGE = 50 * 1024 * 1024  # bytes of one message accepted by mail-in


def mail_in(c: Context) -> None:
    """Read one email on stdin: a reply to its ticket, or a new ticket.

    A subject with [#42], or References/In-Reply-To pointing to a message
    about ticket 42, make it a reply by the sender (who must be its
    requester, a participant or staff); a closed, final ticket gets a
    follow-up. Anything else opens a ticket if the workflow accepts the
    sender. Auto-replies, bounces and ticketcli's own mail are dropped.
    Exit codes follow sysexits for mail servers: 0 delivered or dropped,
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
    mail = parse(data, own_addresses=frozenset([own] if own else []), limits=limits)
    outcome = deliver(c.store(), mail, c.now_iso(), limits)
    if outcome.ticket_id is not None and outcome.action != "duplicate":
        c.out(f"{outcome.ticket_id}\n")
    c.say(f"mail-in: {outcome.message}.")
