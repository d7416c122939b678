"""All SQL for email: the outbox, templates and mail languages (received mail: :mod:`.inbound`).

The outbox is filled inside the transaction of the event that caused each
message (see :mod:`ticketcli.mail.outbox`) and drained by ``notify send``.
Sending is claimed: :meth:`MailSQL.claim` marks due rows ``sending`` with a
lease in one ``BEGIN IMMEDIATE`` transaction, so several senders at once never
take the same row; a sender that dies leaves rows whose lease expires and
which the next run takes again. Every later update checks the claim token, so
a run that lost its lease cannot mark someone else's row.

All SQL here is parameterized; no identifier is ever built from input.
"""

from __future__ import annotations

import os

from ..jsontext import dumps, loads
from ..record import Record
from .inbound import InboundSQL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from .connection import Database

STATES = ("pending", "sending", "sent", "failed")
_SELECT = (
    "SELECT o.id, o.ticket_id, o.history_id, o.recipient_id, o.address, coalesce(o.name, ''), "
    "o.lang, o.kind, o.data, o.subject, o.body, o.state, o.attempts, o.next_attempt_at, "
    "o.lease_until, o.last_error, o.created_at, o.sent_at, o.token FROM outbox o "
)


class OutboxMessage(Record):
    id: int
    ticket_id: int
    history_id: int
    recipient_id: int
    address: str
    name: str
    lang: str
    kind: str
    data: dict[str, Any]
    subject: str
    body: str
    state: str
    attempts: int
    next_attempt_at: str
    lease_until: str | None
    last_error: str | None
    created_at: str
    sent_at: str | None
    token: str | None = None  # the secret in its Message-ID (None: sent before there were)


class NewMessage(Record):
    """One message for one recipient, ready to enqueue: what to tell them (``data``);
    its text is rendered when a sender takes it (see ``mail.outbox.render_claimed``)."""

    recipient_id: int
    address: str
    name: str
    lang: str
    kind: str
    data: dict[str, Any]


class ThreadEntry(Record):
    """A message earlier in one recipient's conversation about a ticket."""

    at: str
    outbox_id: int | None  # our message (its Message-ID is derived from the id and token)
    message_id: str | None  # their message, as received
    token: str | None = None  # our message's secret



def _message(row: Sequence[Any]) -> OutboxMessage:
    values = list(row)
    values[8] = loads(values[8] or "{}")
    return OutboxMessage(*values)


class MailSQL(InboundSQL):
    """The email tables of one store; shares its connection and transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn
        # What every event's messages need and rarely changes: read once per store.
        self._default_lang: str | None = None
        self._templates: dict[tuple[str, str], tuple[str, str] | None] = {}

    # -- desk-wide settings ----------------------------------------------------

    def desk_id(self) -> str:
        """The token in this desk's Message-IDs (created by the m002 migration)."""
        return self.db.meta("mail_desk_id") or "0"

    def default_lang(self) -> str:
        if self._default_lang is None:
            self._default_lang = self.db.meta("mail_language") or "en"
        return self._default_lang

    def set_default_lang(self, lang: str) -> None:
        self.db.set_meta("mail_language", lang)
        self._default_lang = None

    def user_lang(self, user_id: int) -> str | None:
        value = self.db.one("SELECT lang FROM mail_prefs WHERE user_id = ?", (user_id,))
        return None if value is None else str(value)

    # -- what agents want to hear about (notify prefs) ------------------------------

    def notify_prefs(self, user_id: int) -> dict[str, bool]:
        """The choices ``user_id`` made (events without one take their default)."""
        return {str(r[0]): bool(r[1]) for r in self.conn.execute(
            "SELECT event, enabled FROM notify_prefs WHERE user_id = ?", (user_id,))}

    def set_notify_prefs(self, user_id: int, choices: dict[str, bool]) -> None:
        self.conn.executemany(
            "INSERT INTO notify_prefs(user_id, event, enabled) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id, event) DO UPDATE SET enabled = excluded.enabled",
            [(user_id, event, int(on)) for event, on in choices.items()],
        )

    def notify_choices(self, event: str, user_ids: Sequence[int]) -> dict[int, bool]:
        """The choice each of ``user_ids`` made for ``event``, for those who made one."""
        return {int(r[0]): bool(r[1]) for r in self.db.select_in(
            "SELECT user_id, enabled FROM notify_prefs WHERE user_id IN", user_ids,
            " AND event = ?", (event,))} if user_ids else {}

    def user_langs(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The chosen language of each of ``user_ids`` that has one."""
        return {int(r[0]): str(r[1]) for r in self.db.select_in(
            "SELECT user_id, lang FROM mail_prefs WHERE user_id IN", user_ids)}

    def set_user_lang(self, user_id: int, lang: str | None) -> None:
        if lang is None:
            self.conn.execute("DELETE FROM mail_prefs WHERE user_id = ?", (user_id,))
            return
        self.conn.execute(
            "INSERT INTO mail_prefs(user_id, lang) VALUES (?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET lang = excluded.lang",
            (user_id, lang),
        )

    # -- templates ----------------------------------------------------------------

    def template(self, kind: str, lang: str) -> tuple[str, str] | None:
        """An admin's override of a template, if any."""
        cache = self._templates
        if (kind, lang) not in cache:
            row = self.conn.execute(
                "SELECT subject, body FROM mail_templates WHERE kind = ? AND lang = ?",
                (kind, lang),
            ).fetchone()
            cache[(kind, lang)] = None if row is None else (str(row[0]), str(row[1]))
        return cache[(kind, lang)]

    def custom_templates(self) -> set[tuple[str, str]]:
        return {(str(r[0]), str(r[1])) for r in self.conn.execute(
            "SELECT kind, lang FROM mail_templates")}

    def set_template(self, kind: str, lang: str, subject: str, body: str, now: str) -> None:
        self.conn.execute(
            "INSERT INTO mail_templates(kind, lang, subject, body, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind, lang) DO UPDATE SET "
            "subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at",
            (kind, lang, subject, body, now),
        )
        self._templates.clear()

    def delete_template(self, kind: str, lang: str) -> bool:
        cur = self.conn.execute(
            "DELETE FROM mail_templates WHERE kind = ? AND lang = ?", (kind, lang)
        )
        self._templates.clear()
        return cur.rowcount > 0

    # -- what messages tell -------------------------------------------------------

    def comment_text(self, comment_id: int) -> tuple[str, bool] | None:
        row = self.conn.execute(
            "SELECT body, internal FROM comments WHERE id = ?", (comment_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), bool(row[1]))

    # -- the outbox -------------------------------------------------------------------

    def enqueue(self, history_id: int, ticket_id: int, messages: Sequence[NewMessage],
                now: str) -> int:
        """Insert one pending row per message, each with its own secret token; a repeated
        (event, recipient) is ignored."""
        return self.enqueue_many([(history_id, ticket_id, m, now) for m in messages])

    def enqueue_many(self, messages: Sequence[tuple[int, int, NewMessage, str]]) -> int:
        """:meth:`enqueue` for (history id, ticket id, message, time) of several events."""
        if not messages:
            return 0
        before = self.conn.total_changes
        secrets = os.urandom(10 * len(messages)).hex()  # 80 bits each, one system call
        self.conn.executemany(
            "INSERT OR IGNORE INTO outbox(ticket_id, history_id, recipient_id, address, "
            "name, lang, kind, data, subject, body, state, attempts, next_attempt_at, "
            "created_at, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', 'pending', 0, ?, ?, ?)",
            [(ticket_id, history_id, m.recipient_id, m.address, m.name, m.lang, m.kind,
              dumps(m.data, sort_keys=True), now, now, secrets[20 * i:20 * i + 20])
             for i, (history_id, ticket_id, m, now) in enumerate(messages)],
        )
        return self.conn.total_changes - before

    def set_text(self, texts: Sequence[tuple[int, str, str]]) -> None:
        """Keep the rendered (outbox id, subject, body) of messages being sent: what
        was sent stays as it was sent, whatever templates say later."""
        self.conn.executemany("UPDATE outbox SET subject = ?, body = ? WHERE id = ?",
                              [(subject, body, i) for i, subject, body in texts])

    def message(self, outbox_id: int) -> OutboxMessage | None:
        row = self.conn.execute(
            _SELECT + "WHERE o.id = ?", (outbox_id,)
        ).fetchone()
        return None if row is None else _message(row)

    def messages(self, *, states: Sequence[str] = (), ticket_id: int | None = None,
                 limit: int | None = None) -> list[OutboxMessage]:
        """Outbox rows, newest first."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if states:
            where.append("o.state IN (" + ", ".join("?" * len(states)) + ")")
            params.extend(states)
        if ticket_id is not None:
            where.append("o.ticket_id = ?")
            params.append(ticket_id)
        sql = _SELECT + "WHERE " + " AND ".join(where)
        sql += " ORDER BY o.id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [_message(r) for r in self.conn.execute(sql, params)]

    def anything_due(self, now: str) -> bool:
        """Whether a sender would find a message to take now (see :meth:`claim`)."""
        return bool(self.db.one(
            "SELECT 1 FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?) "
            "OR (state = 'sending' AND lease_until <= ?) LIMIT 1", (now, now)))

    def counts(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in self.conn.execute(
            "SELECT state, count(*) FROM outbox GROUP BY state")}

    # -- claims (call each inside its own store.write()) -------------------------------

    def claim(self, now: str, lease_until: str, limit: int, token: str) -> list[OutboxMessage]:
        """Take up to ``limit`` due rows for this sender: pending and due, or abandoned."""
        rows = self.conn.execute(
            "SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?) "
            "OR (state = 'sending' AND lease_until <= ?) ORDER BY id LIMIT ?",
            (now, now, limit),
        ).fetchall()
        ids = [int(r[0]) for r in rows]
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        self.conn.execute(
            f"UPDATE outbox SET state = 'sending', lease_until = ?, claimed_by = ? "  # noqa: S608 (placeholders only)
            f"WHERE id IN ({marks})",
            (lease_until, token, *ids),
        )
        found = self.conn.execute(
            _SELECT + f"WHERE o.id IN ({marks}) ORDER BY o.id",
            ids,
        )
        return [_message(r) for r in found]

    def extend(self, ids: Sequence[int], token: str, lease_until: str) -> set[int]:
        """Renew this sender's lease on ``ids``; returns the ids it still holds."""
        held: set[int] = set()
        for i in ids:
            cur = self.conn.execute(
                "UPDATE outbox SET lease_until = ? WHERE id = ? AND state = 'sending' "
                "AND claimed_by = ?",
                (lease_until, i, token),
            )
            if cur.rowcount:
                held.add(i)
        return held

    def mark_sent(self, outbox_id: int, token: str, now: str) -> bool:
        return self._settle(outbox_id, token, "state = 'sent', sent_at = ?, last_error = NULL",
                            [now])

    def mark_retry(self, outbox_id: int, token: str, error: str, next_at: str) -> bool:
        return self._settle(outbox_id, token, "state = 'pending', last_error = ?, "
                            "next_attempt_at = ?, claimed_by = NULL", [error, next_at])

    def mark_failed(self, outbox_id: int, token: str, error: str) -> bool:
        return self._settle(outbox_id, token, "state = 'failed', last_error = ?, "
                            "claimed_by = NULL", [error])

    def _settle(self, outbox_id: int, token: str, assignments: str,
                params: list[str]) -> bool:
        """End an attempt on a message this sender holds; False if it holds it no more."""
        cur = self.conn.execute(
            f"UPDATE outbox SET {assignments}, attempts = attempts + 1, "  # noqa: S608 (fixed)
            "lease_until = NULL WHERE id = ? AND state = 'sending' AND claimed_by = ?",
            (*params, outbox_id, token),
        )
        return cur.rowcount > 0

    def release(self, ids: Sequence[int], token: str, error: str | None) -> None:
        """Give rows back untouched (the server was unreachable: no attempt counted)."""
        for i in ids:
            self.conn.execute(
                "UPDATE outbox SET state = 'pending', lease_until = NULL, claimed_by = NULL, "
                "last_error = coalesce(?, last_error) "
                "WHERE id = ? AND state = 'sending' AND claimed_by = ?",
                (error, i, token),
            )

    def requeue(self, ids: Sequence[int], now: str) -> int:
        """Put failed messages back in the queue with a fresh attempt count."""
        changed = 0
        for i in ids:
            cur = self.conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                "lease_until = NULL, claimed_by = NULL WHERE id = ? AND state = 'failed'",
                (now, i),
            )
            changed += cur.rowcount
        return changed

    def failed_ids(self) -> list[int]:
        return [int(r[0]) for r in self.conn.execute(
            "SELECT id FROM outbox WHERE state = 'failed' ORDER BY id")]

    # -- threading ------------------------------------------------------------------------

    def thread(self, ticket_id: int, recipient_id: int, before_id: int,
               limit: int = 10) -> list[ThreadEntry]:
        """The recipient's earlier messages on a ticket, oldest first: ours and theirs."""
        rows = self.conn.execute(
            "SELECT at, outbox_id, message_id, token FROM ("
            "  SELECT created_at AS at, id AS outbox_id, NULL AS message_id, token FROM outbox "
            "  WHERE ticket_id = ? AND recipient_id = ? AND id < ? AND state <> 'failed' "
            "  UNION ALL "
            "  SELECT received_at, NULL, message_id, NULL FROM mail_messages "
            "  WHERE ticket_id = ? AND sender_id = ?"
            ") AS thread ORDER BY at DESC, coalesce(outbox_id, 0) DESC LIMIT ?",
            (ticket_id, recipient_id, before_id, ticket_id, recipient_id, limit),
        ).fetchall()
        return [ThreadEntry(str(r[0]), r[1], r[2], r[3]) for r in reversed(rows)]
