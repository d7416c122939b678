"""One outbox row as an RFC 5322 message: headers, threading, encodings.

Message-IDs are derived from the row: ``<ticketcli.DESK.TICKET.ROW.TOKEN@DOMAIN>``
for a message, where TOKEN is the secret stored with the row for its one
recipient, and ``<ticketcli.DESK.TICKET@DOMAIN>`` for the thread root; so a
retried message keeps its Message-ID, mail-in can tell which ticket a reply
belongs to from its References, and a reply that names the message proves it
comes from someone who received it (:mod:`ticketcli.mail.trust`). Rows queued
before there were tokens have none (``<ticketcli.DESK.TICKET.ROW@DOMAIN>``).
``In-Reply-To`` and ``References`` chain each recipient's own conversation
about the ticket: our earlier messages to them and theirs to us.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from ..clock import from_stamp
from ..store.outbox import OutboxMessage, ThreadEntry
from ..text import without_controls
from .settings import MailSettings

OWN_ID = re.compile(r"<ticketcli\.([0-9a-z]+)\.(\d{1,19})(?:\.(\d{1,19})(?:\.([0-9a-f]{20}))?)?"
                    r"@[^<>\s]+>", re.IGNORECASE)
MAX_REFERENCES = 10


def message_id(desk: str, ticket_id: int, outbox_id: int | None, domain: str,
               token: str | None = None) -> str:
    tail = f".{outbox_id}" if outbox_id is not None else ""
    if outbox_id is not None and token:
        tail += f".{token}"
    return f"<ticketcli.{desk}.{ticket_id}{tail}@{domain}>"


def own_message(ref: str, desk: str) -> tuple[int, int, str] | None:
    """(ticket, outbox row, token) of one of this desk's messages that carries a token."""
    m = OWN_ID.fullmatch(ref.strip())
    if m is None or m.group(1).lower() != desk.lower() or not m.group(4):
        return None
    return int(m.group(2)), int(m.group(3)), m.group(4).lower()


def own_ticket(ref: str, desk: str) -> int | None:
    """The ticket a Message-ID of this desk belongs to, else None."""
    m = OWN_ID.fullmatch(ref.strip())
    if m is None or m.group(1).lower() != desk.lower():
        return None
    return int(m.group(2))


def references(row: OutboxMessage, earlier: list[ThreadEntry], desk: str,
               domain: str) -> list[str]:
    """The thread root, then the recipient's earlier messages (most recent last)."""
    refs = [message_id(desk, row.ticket_id, None, domain)]
    for entry in earlier[-(MAX_REFERENCES - 1):]:
        if entry.outbox_id is not None:
            refs.append(message_id(desk, row.ticket_id, int(entry.outbox_id), domain,
                                   entry.token))
        elif entry.message_id:
            refs.append(entry.message_id)
    return list(dict.fromkeys(refs))


def _needs_qp(text: str) -> bool:
    return not text.isascii() or any(len(line) > 76 for line in text.splitlines())


def compose(row: OutboxMessage, settings: MailSettings, desk: str,
            earlier: list[ThreadEntry]) -> EmailMessage:
    """The message to send; ValueError when the recipient cannot be put in a header."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = settings.from_header
    local, _, domain = row.address.rpartition("@")
    name = without_controls(row.name)  # a name never carries controls into a header
    msg["To"] = Address(display_name=name if name != row.address else "", username=local,
                        domain=domain)
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Subject"] = " ".join(row.subject.split())
    created = from_stamp(row.created_at)
    msg["Date"] = format_datetime(created)
    msg["Message-ID"] = message_id(desk, row.ticket_id, row.id, settings.domain, row.token)
    refs = references(row, earlier, desk, settings.domain)
    msg["In-Reply-To"] = refs[-1]
    msg["References"] = " ".join(refs)
    # RFC 3834: automatic mail; auto-responders should stay quiet, mail-in drops loops.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Ticketcli-Ticket"] = str(row.ticket_id)
    msg["X-Ticketcli-Loop"] = desk
    body = row.body if row.body.endswith("\n") else row.body + "\n"
    # 7-bit clean on the wire: servers without 8BITMIME get the same bytes.
    msg.set_content(body, charset="utf-8", cte="quoted-printable" if _needs_qp(body) else "7bit")
    msg["Content-Language"] = row.lang  # after set_content, which clears Content-* headers
    return msg
