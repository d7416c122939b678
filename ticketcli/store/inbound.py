"""All SQL for received mail: the Message-IDs of delivered messages, the proof that a
reply answers one of the desk's own messages, and the messages held for review.

Part of ``store.mail`` (:class:`ticketcli.store.outbox.MailSQL` derives from
:class:`InboundSQL`). A delivered message is recorded with its Message-ID and a
digest of what it says: only a message that was applied claims its Message-ID,
and only for that content, so a stranger who sends a message under someone
else's Message-ID first does not make the real one look delivered already.
All SQL here is parameterized.
"""

from __future__ import annotations

from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

    from .connection import Database

HELD_STATES = ("held", "accepted", "rejected")


class HeldMessage(Record):
    """A received message mail-in did not apply, because nothing proved its sender."""

    id: int
    received_at: str
    sender: str
    subject: str
    ticket_id: int | None
    reason: str
    message_id: str | None
    state: str
    raw: bytes = b""  # only when asked for (held_message)


_COLUMNS = "id, received_at, sender, subject, ticket_id, reason, message_id, state"
_HELD = f"SELECT {_COLUMNS} FROM mail_held "  # noqa: S608 (fixed)


class InboundSQL:
    """Received mail's tables; shares the store's connection and transactions."""

    db: Database
    conn: sqlite3.Connection

    # -- delivered messages ------------------------------------------------------------

    def inbound_ticket(self, message_id: str, sender_id: int | None = None) -> int | None:
        """The ticket a received message went to (that sender's, if they sent one)."""
        value = self.db.one(
            "SELECT ticket_id FROM mail_messages WHERE message_id = ? "
            "ORDER BY sender_id IS ? DESC, id LIMIT 1", (message_id, sender_id))
        return None if value is None else int(value)

    def delivered(self, message_id: str, digest: str) -> int | None:
        """The ticket this very message (its Message-ID and its content) went to, if it
        was delivered already; rows from before digests were kept match by id alone."""
        value = self.db.one(
            "SELECT ticket_id FROM mail_messages WHERE message_id = ? "
            "AND (digest = ? OR digest IS NULL) ORDER BY id LIMIT 1", (message_id, digest))
        return None if value is None else int(value)

    def record_inbound(self, ticket_id: int, message_id: str, sender_id: int | None,
                       now: str, digest: str | None = None) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO mail_messages(ticket_id, message_id, sender_id, "
            "received_at, digest) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, message_id, sender_id, now, digest),
        )

    def ticket_exists(self, ticket_id: int) -> bool:
        return bool(self.db.one("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)))

    def sent_to(self, outbox_id: int, ticket_id: int, token: str) -> str | None:
        """The address the desk's message ``outbox_id`` about ``ticket_id`` went to, if
        ``token`` is its secret; else None."""
        import hmac

        row = self.conn.execute(
            "SELECT address, token FROM outbox WHERE id = ? AND ticket_id = ?",
            (outbox_id, ticket_id)).fetchone()
        if row is None or not row[1] or not hmac.compare_digest(str(row[1]), token.lower()):
            return None
        return str(row[0])

    # -- held for review -------------------------------------------------------------------

    def hold(self, now: str, sender: str, subject: str, ticket_id: int | None, reason: str,
             message_id: str | None, digest: str, raw: bytes) -> int:
        cur = self.conn.execute(
            "INSERT INTO mail_held(received_at, sender, subject, ticket_id, reason, "
            "message_id, digest, raw, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held')",
            (now, sender, subject, ticket_id, reason, message_id, digest, raw))
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def held_with(self, digest: str) -> int | None:
        """The held message that says exactly this (the same one, delivered again)."""
        value = self.db.one("SELECT id FROM mail_held WHERE digest = ? AND state = 'held' "
                            "ORDER BY id LIMIT 1", (digest,))
        return None if value is None else int(value)

    def held(self) -> list[HeldMessage]:
        """The messages waiting for review, oldest first."""
        return [HeldMessage(*r) for r in self.conn.execute(
            _HELD + "WHERE state = 'held' ORDER BY id")]

    def held_message(self, held_id: int) -> HeldMessage | None:
        """One held, accepted or rejected message, with its bytes while it is held."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS}, raw FROM mail_held WHERE id = ?",  # noqa: S608 (fixed)
            (held_id,)).fetchone()
        if row is None:
            return None
        return HeldMessage(*row[:-1])._replace(raw=bytes(row[-1] or b""))

    def decide(self, held_id: int, state: str, actor_id: int, now: str) -> bool:
        """Mark a held message accepted or rejected, and drop its bytes (accepted, what it
        says is on its ticket now; rejected, it is gone); False when it was no longer
        held. The record of it stays: who decided, when, and what."""
        assert state in HELD_STATES[1:]
        cur = self.conn.execute(
            "UPDATE mail_held SET state = ?, decided_by = ?, decided_at = ?, raw = x'' "
            "WHERE id = ? AND state = 'held'",
            (state, actor_id, now, held_id))
        return cur.rowcount > 0
