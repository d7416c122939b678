"""mail-in: one received message becomes a reply, a follow-up or a new ticket.

The whole delivery is one ``BEGIN IMMEDIATE`` transaction: a new customer,
their ticket or reply, its attachments, the outbox messages its events cause
and the record of the message's Message-ID and content (which makes a repeated
delivery of the same message a no-op) commit together or not at all. Only a
message that was applied claims its Message-ID.

Who sent a message is proved, not believed (``[mail] trust = "token"``, the
default; see :mod:`ticketcli.mail.trust`): a message that would act for a
registered person on an existing ticket, or that comes from a staff address,
and proves neither that it answers one of the desk's own messages to that
address nor that the desk's mail server saw DMARC pass for it, is **held for
review**: kept whole, not applied, not answered, until staff accept it (it is
then applied as if it had just arrived) or reject it (:mod:`.review`). A new
ticket from an address the workflow accepts still opens at once. The existing use
cases (:func:`ticketcli.desk.tickets.open_ticket`, :func:`ticketcli.desk.tickets.comment`)
do the work, through a view of the store whose ``write()`` joins the open
transaction instead of starting its own.

mail-in answers in the exit codes of sysexits.h, which mail servers understand:
0 delivered (or dropped on purpose), 65 unusable message, 67 unknown or
refused sender, 75 temporary failure (the server keeps the message and
retries), 78 configuration problem (also retried by most servers). A
:class:`MailInError` carries its sysexits code; any other error is mapped at
the boundary (:data:`ticketcli.errors.SYSEXITS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import Conflict, MailInError, Sysexit
from ..mail.compose import own_message, own_ticket
from ..mail.parse import Inbound
from ..mail.quotes import trim_quoted
from ..mail.trust import MailTrust, dmarc_pass
from ..store import Store, User
from ..store.outbox import MailSQL
from ..text import without_controls
from . import tickets
from .checks import DEFAULT_LIMITS, MAX_ID, Limits

SUBJECT_TAG = re.compile(r"\[#(\d{1,12})\]")
MAX_PROOFS = 100  # references looked at for one of the desk's messages
PREFIX = re.compile(r"^\s*((re|r|fw|fwd|i|aw|wg|sv|vs|rif|tr)\s*(\[\d+\])?\s*:\s*)+",
                    re.IGNORECASE)
NO_SUBJECT = "(no subject)"


@dataclass(frozen=True)
class Outcome:
    action: str  # opened, replied, follow_up, duplicate, dropped, held
    ticket_id: int | None
    message: str


def clean_subject(subject: str) -> str:
    """A title from a subject: no Re:/Fwd: prefixes, no [#ID] tags."""
    text = SUBJECT_TAG.sub(" ", PREFIX.sub("", subject))
    text = PREFIX.sub("", " ".join(text.split()))
    return " ".join(text.split())


def _title(mail: Inbound, limits: Limits, fallback: str | None = None) -> str:
    """A title from the subject (else the first line of text), without the control and
    bidirectional characters a subject may carry (an escape sequence, U+202E)."""
    title = without_controls(clean_subject(mail.subject)) or fallback or ""
    if not title:
        first = next((without_controls(line) for line in mail.text.splitlines()
                      if without_controls(line)), "")
        title = first[:80] if first else NO_SUBJECT
    if len(title) > limits.title:
        title = title[: max(limits.title - 1, 1)] + "…"
    return title


def _with_notes(text: str, mail: Inbound) -> str:
    notes = [f"[ticketcli: attachment {s} was not stored]" for s in mail.skipped[:10]]
    if len(mail.skipped) > 10:
        notes.append(f"[ticketcli: {len(mail.skipped) - 10} more attachments were not stored]")
    return "\n\n".join(x for x in [text.strip("\n"), "\n".join(notes)] if x)


def _target(store: Store, ms: MailSQL, mail: Inbound, user: User | None) -> int | None:
    """The ticket this message answers: its References first, then its subject. A ticket
    the sender may not see counts as none (its existence is not theirs to learn)."""
    def answers(ticket_id: int | None) -> bool:
        return (ticket_id is not None and 0 < ticket_id <= MAX_ID and user is not None
                and ms.ticket_exists(ticket_id) and store.tickets.can_see(user, ticket_id))

    desk = ms.desk_id()
    for ref in reversed(mail.references):
        found = own_ticket(ref, desk) or ms.inbound_ticket(ref, user.id if user else None)
        if answers(found):
            return found
    for m in SUBJECT_TAG.finditer(mail.subject):
        number = int(m.group(1))
        if answers(number):
            return number
    return None


def digest(mail: Inbound) -> str:
    """What a message says, as a hash: its sender, subject, text and files. The same
    message delivered again has the same digest; another message that borrows its
    Message-ID has another."""
    import hashlib

    h = hashlib.sha256()
    for part in (mail.sender or "", mail.subject, mail.text, *mail.skipped):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for f in mail.files:
        h.update(f.name.encode("utf-8", "surrogatepass") + b"\0")
        h.update(hashlib.sha256(f.content).digest())
    return h.hexdigest()


def proven(ms: MailSQL, mail: Inbound, trust: MailTrust) -> str | None:
    """How the message proves its sender, if it does: it names one of the desk's own
    messages to that address (``token``), or the desk's mail server saw DMARC pass for
    its From domain (``dmarc``)."""
    desk = ms.desk_id()
    for ref in mail.references[-MAX_PROOFS:]:
        own = own_message(ref, desk)
        if own is not None and own[0] <= MAX_ID and own[1] <= MAX_ID and (
                ms.sent_to(own[1], own[0], own[2]) == mail.sender):
            return "token"
    if trust.authserv_id and mail.sender and dmarc_pass(
            mail.auth_results, trust.authserv_id, mail.sender.rpartition("@")[2]):
        return "dmarc"
    return None


def _why_held(store: Store, ms: MailSQL, mail: Inbound, user: User, target: int | None,
              trust: MailTrust) -> str | None:
    """Why this message must wait for staff, or None when it may be applied (or refused)
    now: it acts for a registered person on an existing ticket, or comes from a staff
    address, and proves nothing."""
    if target is not None:
        if not store.tickets.can_see(user, target):
            return None  # refused as it is: they may not write there at all
        claim = f"it would act as {user.email} on ticket {target}"
    elif user.staff:
        claim = f"it claims the staff address {user.email}"
    else:
        return None
    if proven(ms, mail, trust) is not None:
        return None
    dmarc = f" nor passed DMARC at {trust.authserv_id}" if trust.authserv_id else ""
    return (f"{claim}, but it answers no message the desk sent to that address{dmarc}, so "
            "nothing proves it comes from them")


def _hold(ms: MailSQL, mail: Inbound, target: int | None, reason: str, now: str,
          said: str, raw: bytes) -> Outcome:
    assert mail.sender is not None
    again = ms.held_with(said)
    if again is not None:
        return Outcome("held", None, f"held for review already, as message {again}; "
                       "nothing was written")
    held = ms.hold(now, mail.sender, mail.subject, target, reason, mail.message_id, said,
                   raw)
    return Outcome("held", None, f"held for review as message {held}, because {reason}; "
                   "nothing was applied or answered. Staff can apply it with "
                   f"'ticketcli mail accept {held}' or drop it with 'ticketcli mail reject "
                   f"{held}'")


def deliver(store: Store, mail: Inbound, now: str, limits: Limits = DEFAULT_LIMITS, *,
            trust: MailTrust | None = None, raw: bytes = b"") -> Outcome:
    """Record one received message; MailInError (or a TicketError) when it cannot be.

    ``trust``: the ``[mail]`` settings, under which a message without proof of its
    sender may be held (``raw``, the message as received, is kept for review); None
    applies the message as From says (``trust = "from"``, or staff accepted it)."""
    if mail.auto is not None:
        return Outcome("dropped", None, f"dropped, because {mail.auto}; nothing was written")
    if mail.problem is not None:
        raise MailInError(Sysexit.DATAERR, f"{mail.problem}; nothing was written")
    if mail.sender is None:
        raise MailInError(Sysexit.DATAERR, "the message has no usable From address")
    wf = store.workflow()
    said = digest(mail)
    with store.write():
        ms = store.mail
        if mail.message_id is not None:
            seen = ms.delivered(mail.message_id, said)
            if seen is not None:
                return Outcome("duplicate", seen, f"message {mail.message_id} was already "
                               f"delivered to ticket {seen}; nothing was written")
        joined = store
        user = store.people.user_by_email(mail.sender)
        if user is not None and user.disabled:
            raise MailInError(Sysexit.NOUSER, f"{mail.sender} is disabled on this desk")
        target = _target(store, ms, mail, user)
        if trust is not None and trust.trust == "token" and user is not None:
            reason = _why_held(store, ms, mail, user, target, trust)
            if reason is not None:
                return _hold(ms, mail, target, reason, now, said, raw)
        if target is not None:
            outcome = _reply(store, joined, ms, mail, user, target, now, limits)
        else:
            if user is None:
                if not wf.allow_unregistered:
                    raise MailInError(
                        Sysexit.NOUSER,
                        f"{mail.sender} is not registered, and the {wf.name} workflow accepts "
                        "tickets from registered users only",
                    )
                user = _new_customer(store, ms, mail, now)
            outcome = _open(joined, mail, user, now, limits, follow_up=None)
        if mail.message_id is not None and outcome.ticket_id is not None:
            ms.record_inbound(outcome.ticket_id, mail.message_id, user.id if user else None,
                              now, said)
    return outcome


def _new_customer(store: Store, ms: MailSQL, mail: Inbound, now: str) -> User:
    assert mail.sender is not None
    name = mail.sender_name or mail.sender.split("@")[0]
    user = store.people.add_user(mail.sender, name[:200], "customer", None, now)
    if mail.language is not None:
        ms.set_user_lang(user.id, mail.language)
    return user


def _open(joined: Store, mail: Inbound, user: User, now: str, limits: Limits, *,
          follow_up: int | None, title: str | None = None) -> Outcome:
    """Open a ticket from the message; ``title`` is used when the subject has none."""
    if not mail.text.strip() and not mail.files and not clean_subject(mail.subject):
        raise MailInError(Sysexit.DATAERR, "the message has no subject, no text and no "
                          "attachments; there is nothing to open a ticket with")
    ticket_id = tickets.open_ticket(
        joined, user, now, title=_title(mail, limits, fallback=title),
        body=_with_notes(mail.text, mail), priority=None, category=None, requester=None,
        fields={}, files=mail.files, follow_up=follow_up, limits=limits,
    )
    if follow_up is not None:
        return Outcome("follow_up", ticket_id, f"opened follow-up ticket {ticket_id} of "
                       f"ticket {follow_up} for {user.email}")
    return Outcome("opened", ticket_id, f"opened ticket {ticket_id} for {user.email}")


def _reply(store: Store, joined: Store, ms: MailSQL, mail: Inbound, user: User | None,
           target: int, now: str, limits: Limits) -> Outcome:
    if user is None or not store.tickets.can_see(user, target):
        raise MailInError(Sysexit.NOUSER, f"{mail.sender} may not reply to ticket {target} "
                          "(only its requester, participants and staff may)")
    wf = store.workflow()
    ticket = store.tickets.ticket(target)
    text = trim_quoted(mail.text)
    if wf.is_final(ticket.status):
        # Final tickets take no replies: the workflow says to open a follow-up.
        reply = replace(mail, text=text or mail.text)
        return _open(joined, reply, user, now, limits, follow_up=target, title=ticket.title)
    if not text and not mail.files:
        raise MailInError(Sysexit.DATAERR, f"the reply to ticket {target} has no new text "
                          "(only quoted history) and no attachments; nothing was added")
    body = _with_notes(text, mail) or f"({len(mail.files)} attachment(s) sent by email)"
    try:
        change = tickets.comment(joined, user, now, target, body=body, internal=False,
                                 status=None, files=mail.files, limits=limits)
    except Conflict as e:
        raise MailInError(Sysexit.DATAERR, e.message) from None
    moved = f"; ticket {target}: {change.from_status} → {change.to_status}" if change else ""
    return Outcome("replied", target, f"added the reply of {user.email} to ticket "
                   f"{target}{moved}")
