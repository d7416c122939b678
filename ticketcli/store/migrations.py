"""Schema versions, kept in ``PRAGMA user_version``.

Each migration is a function ``mNNN_name(db)`` over a sqlite-utils Database.
They all run inside the single ``BEGIN IMMEDIATE`` transaction opened by
:func:`migrate`, together with the version bump, so a migration killed half
way leaves the previous schema intact. sqlite-utils is imported only here, and
this module only when a database needs creating or upgrading.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable
    from typing import Any

APPLICATION_ID = 0x544B4354  # "TKCT": marks a file as a ticketcli database


# Keep the full-text tables in step with their content tables.
FTS_TRIGGERS = {
    "tickets_fts_ai": "AFTER INSERT ON tickets BEGIN "
    "INSERT INTO tickets_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "tickets_fts_ad": "AFTER DELETE ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "tickets_fts_au": "AFTER UPDATE OF title, description ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO tickets_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "comments_fts_ai": "AFTER INSERT ON comments BEGIN "
    "INSERT INTO comments_fts(rowid, body) VALUES (new.id, new.body); END",
    "comments_fts_ad": "AFTER DELETE ON comments BEGIN "
    "INSERT INTO comments_fts(comments_fts, rowid, body) "
    "VALUES ('delete', old.id, old.body); END",
}


def m001_initial(db: Any) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", not_null={"value"})
    db["orgs"].create(
        {"id": int, "name": str, "manager_id": int, "created_at": str},
        pk="id",
        not_null={"name", "created_at"},
    )
    db["users"].create(
        {
            "id": int,
            "email": str,
            "name": str,
            "role": str,
            "org_id": int,
            "created_at": str,
        },
        pk="id",
        not_null={"email", "role", "created_at"},
        foreign_keys=[("org_id", "orgs", "id")],
    )
    db["users"].create_index(["email"], unique=True)
    db["orgs"].create_index(["name"], unique=True)
    db["tickets"].create(
        {
            "id": int,
            "title": str,
            "description": str,
            "status": str,
            "phase": str,
            "priority": str,
            "category": str,
            "requester_id": int,
            "assignee_id": int,
            "org_id": int,
            "resolution": str,
            "fields": str,
            "follow_up_of": int,
            "created_at": str,
            "updated_at": str,
            "status_changed_at": str,
            # When the stale clock last restarted: the last status change or the
            # last activity from the requester side, whichever came later.
            "activity_at": str,
            # The stale clock value a reminder was last recorded for: one per period.
            "reminded_for": str,
        },
        pk="id",
        not_null={
            "title", "description", "status", "phase", "priority", "requester_id",
            "fields", "created_at", "updated_at", "status_changed_at", "activity_at",
        },
        defaults={"description": "", "fields": "{}"},
        foreign_keys=[
            ("requester_id", "users", "id"),
            ("assignee_id", "users", "id"),
            ("org_id", "orgs", "id"),
            ("follow_up_of", "tickets", "id"),
        ],
    )
    db["participants"].create(
        {"ticket_id": int, "user_id": int, "added_at": str},
        pk=("ticket_id", "user_id"),
        not_null={"added_at"},
        foreign_keys=[("ticket_id", "tickets", "id"), ("user_id", "users", "id")],
    )
    db["comments"].create(
        {
            "id": int,
            "ticket_id": int,
            "author_id": int,
            "body": str,
            "internal": int,
            "created_at": str,
        },
        pk="id",
        not_null={"ticket_id", "author_id", "body", "internal", "created_at"},
        foreign_keys=[("ticket_id", "tickets", "id"), ("author_id", "users", "id")],
    )
    db["attachments"].create(
        {
            "id": int,
            "ticket_id": int,
            "comment_id": int,
            "uploader_id": int,
            "name": str,
            "size": int,
            "sha256": str,
            "content": bytes,
            "created_at": str,
        },
        pk="id",
        not_null={"ticket_id", "name", "size", "sha256", "content", "created_at"},
        foreign_keys=[
            ("ticket_id", "tickets", "id"),
            ("comment_id", "comments", "id"),
            ("uploader_id", "users", "id"),
        ],
    )
    # The event log: one row per change, read by `show` and by notifiers.
    db["history"].create(
        {
            "id": int,
            "ticket_id": int,
            "actor_id": int,
            "at": str,
            "event": str,
            "from_status": str,
            "to_status": str,
            "detail": str,
        },
        pk="id",
        not_null={"ticket_id", "at", "event"},
        foreign_keys=[("ticket_id", "tickets", "id"), ("actor_id", "users", "id")],
    )
    for table, cols in (
        ("tickets", ["status", "id"]),
        ("tickets", ["status", "activity_at"]),
        ("tickets", ["status", "status_changed_at"]),
        ("tickets", ["requester_id", "id"]),
        ("tickets", ["assignee_id", "id"]),
        ("tickets", ["priority", "id"]),
        ("tickets", ["follow_up_of"]),
        ("participants", ["user_id", "ticket_id"]),
        ("comments", ["ticket_id", "id"]),
        ("attachments", ["ticket_id"]),
        ("history", ["ticket_id", "id"]),
        ("users", ["org_id"]),
    ):
        db[table].create_index(cols)
    tokenize = "tokenize = 'unicode61 remove_diacritics 2'"
    db.execute(
        "CREATE VIRTUAL TABLE tickets_fts USING fts5("
        f"title, description, content='tickets', content_rowid='id', {tokenize})"
    )
    db.execute(
        "CREATE VIRTUAL TABLE comments_fts USING fts5("
        f"body, content='comments', content_rowid='id', {tokenize})"
    )
    for name, body in FTS_TRIGGERS.items():
        db.execute(f"CREATE TRIGGER {name} {body}")


def m002_outbox(db: Any) -> None:
    """Email: the outbox, inbound message ids, template overrides, mail languages."""
    import secrets

    # One row per (event, recipient): rendered when the event is recorded, in its
    # transaction; delivered later by `notify send`, which claims rows with a lease.
    db["outbox"].create(
        {
            "id": int,
            "ticket_id": int,
            "history_id": int,
            "recipient_id": int,
            "address": str,
            "name": str,
            "lang": str,
            "kind": str,
            "data": str,
            "subject": str,
            "body": str,
            "state": str,
            "attempts": int,
            "next_attempt_at": str,
            "lease_until": str,
            "claimed_by": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"ticket_id", "history_id", "recipient_id", "address", "lang", "kind", "data",
                  "subject", "body", "state", "attempts", "next_attempt_at", "created_at"},
        defaults={"attempts": 0, "state": "pending", "data": "{}"},
        foreign_keys=[
            ("ticket_id", "tickets", "id"),
            ("history_id", "history", "id"),
            ("recipient_id", "users", "id"),
        ],
    )
    db["outbox"].create_index(["history_id", "recipient_id"], unique=True)
    db["outbox"].create_index(["state", "next_attempt_at"])
    db["outbox"].create_index(["ticket_id", "recipient_id", "id"])
    # Message-IDs of mail received by mail-in: threading and duplicate deliveries.
    db["mail_messages"].create(
        {"id": int, "ticket_id": int, "message_id": str, "sender_id": int, "received_at": str},
        pk="id",
        not_null={"ticket_id", "message_id", "received_at"},
        foreign_keys=[("ticket_id", "tickets", "id"), ("sender_id", "users", "id")],
    )
    db["mail_messages"].create_index(["message_id"], unique=True)
    db["mail_messages"].create_index(["ticket_id", "sender_id"])
    db["mail_templates"].create(
        {"kind": str, "lang": str, "subject": str, "body": str, "updated_at": str},
        pk=("kind", "lang"),
        not_null={"subject", "body", "updated_at"},
    )
    db["mail_prefs"].create(
        {"user_id": int, "lang": str},
        pk="user_id",
        not_null={"lang"},
        foreign_keys=[("user_id", "users", "id")],
    )
    # Marks this desk's Message-IDs so mail-in recognises replies (and loops).
    db.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('mail_desk_id', ?)",
        [secrets.token_hex(5)],
    )


def _rebuild_full_text(db: Any, detail: str) -> None:
    """Drop and rebuild the full-text tables (and their triggers) with ``detail``."""
    for name in FTS_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    db.execute("DROP TABLE IF EXISTS tickets_fts")
    db.execute("DROP TABLE IF EXISTS comments_fts")
    options = f"tokenize = 'unicode61 remove_diacritics 2', detail = {detail}, columnsize = 0"
    db.execute(
        "CREATE VIRTUAL TABLE tickets_fts USING fts5("
        f"title, description, content='tickets', content_rowid='id', {options})"
    )
    db.execute(
        "CREATE VIRTUAL TABLE comments_fts USING fts5("
        f"body, content='comments', content_rowid='id', {options})"
    )
    for name, body in FTS_TRIGGERS.items():
        db.execute(f"CREATE TRIGGER {name} {body}")
    db.execute("INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO comments_fts(comments_fts) VALUES ('rebuild')")


def m003_scale(db: Any) -> None:
    """Indexes for the remaining filters and sorts, and a leaner full-text index.

    The full-text tables keep which column a word is in but not its positions
    (``detail=column``) nor column sizes (no ranking is done): searches are
    single words and prefixes, and the index is about 40% smaller.
    """
    for cols in (["org_id", "id"], ["updated_at", "id"]):
        db["tickets"].create_index(cols, if_not_exists=True)
    # Nothing looks tickets up by these; stale rules on the status-change clock
    # use the status index. Under 1 KB a ticket matters more.
    db.execute("DROP INDEX IF EXISTS idx_tickets_status_status_changed_at")
    db.execute("DROP INDEX IF EXISTS idx_tickets_follow_up_of")
    _rebuild_full_text(db, "column")


# How many tickets each status holds, kept by the statement that changes a ticket's
# status, inside its transaction: a count is as exact as the rows it counts.
COUNT_TRIGGERS = {
    "ticket_counts_ai": "AFTER INSERT ON tickets BEGIN "
    "INSERT INTO ticket_counts(status, n) VALUES (new.status, 1) "
    "ON CONFLICT(status) DO UPDATE SET n = n + 1; END",
    "ticket_counts_ad": "AFTER DELETE ON tickets BEGIN "
    "UPDATE ticket_counts SET n = n - 1 WHERE status = old.status; END",
    "ticket_counts_au": "AFTER UPDATE OF status ON tickets "
    "WHEN old.status IS NOT new.status BEGIN "
    "UPDATE ticket_counts SET n = n - 1 WHERE status = old.status; "
    "INSERT INTO ticket_counts(status, n) VALUES (new.status, 1) "
    "ON CONFLICT(status) DO UPDATE SET n = n + 1; END",
}


def m004_ticket_counts(db: Any) -> None:
    """Tickets per status, kept by triggers: ``list --count`` of whole statuses reads
    a handful of rows instead of counting every ticket (an index range is counted
    entry by entry in SQLite)."""
    db.execute(
        "CREATE TABLE ticket_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL) "
        "WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO ticket_counts(status, n) SELECT status, count(*) FROM tickets "
        "GROUP BY status"
    )
    for name, body in COUNT_TRIGGERS.items():
        db.execute(f"CREATE TRIGGER {name} {body}")


# Per block of 1,024 ticket ids, bounds on the creation and update times of the
# tickets in it, so a time filter walking ids newest first starts at the last block
# that can hold a match and stops at the first. Bounds only ever widen (a deleted
# ticket leaves them as they were): they may include more than the block holds,
# never less, so a filter using them still sees every match.
BLOCK_BITS = 10
_WIDEN = (
    "ON CONFLICT(block) DO UPDATE SET created_min = min(created_min, excluded.created_min), "
    "created_max = max(created_max, excluded.created_max), "
    "updated_min = min(updated_min, excluded.updated_min)"
)
_WIDEN_FOR_ROW = (
    "INSERT INTO ticket_blocks(block, created_min, created_max, updated_min) "  # noqa: S608
    f"VALUES (new.id >> {BLOCK_BITS}, new.created_at, new.created_at, new.updated_at) "
    f"{_WIDEN}; END"
)
BLOCK_TRIGGERS = {
    "ticket_blocks_ai": f"AFTER INSERT ON tickets BEGIN {_WIDEN_FOR_ROW}",
    # Updates move updated_at forward, within the bound; only a move back or a
    # changed creation time (neither is done by ticketcli itself) widens it.
    "ticket_blocks_au": "AFTER UPDATE OF created_at, updated_at ON tickets "
    "WHEN new.updated_at < old.updated_at OR new.created_at IS NOT old.created_at "
    f"BEGIN {_WIDEN_FOR_ROW}",
}
# The same bounds for the tickets from id ? on (all of them, or a bulk import's).
FILL_BLOCKS = (
    "INSERT INTO ticket_blocks(block, created_min, created_max, updated_min) "  # noqa: S608
    f"SELECT id >> {BLOCK_BITS}, min(created_at), max(created_at), min(updated_at) "
    f"FROM tickets WHERE id >= ? GROUP BY id >> {BLOCK_BITS} {_WIDEN}"
)


def m005_list_scale(db: Any) -> None:
    """Flat lists at a million tickets, in less space.

    - Full text without positions or columns (``detail=none``): searches are
      words and a last-word prefix, never phrases or columns; the index is under
      half the size, which pays for the title index.
    - An index on the title, as ``--sort title`` orders (case-insensitive).
    - Time bounds per block of ids (``ticket_blocks``) for the time filters.
    - Vocabulary tables over the full-text indexes (no storage: they read the
      index) to turn a last-word prefix into the words it stands for.
    """
    _rebuild_full_text(db, "none")
    for table in ("tickets_fts", "comments_fts"):
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}_words "
                   f"USING fts5vocab({table}, row)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_tickets_title ON tickets(title COLLATE NOCASE)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS ticket_blocks (block INTEGER PRIMARY KEY, "
        "created_min TEXT NOT NULL, created_max TEXT NOT NULL, updated_min TEXT NOT NULL)"
    )
    db.execute(FILL_BLOCKS, [0])
    for name, body in BLOCK_TRIGGERS.items():
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(f"CREATE TRIGGER {name} {body}")


def m006_team(db: Any) -> None:
    """A desk for a team: people bound to OS logins, people disabled, and who really
    acted when someone acted for another (``via``)."""
    def add(table: str, column: str, declaration: str) -> None:
        if column not in {c.name for c in db[table].columns}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    add("users", "login", "TEXT")
    add("users", "disabled", "INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS idx_users_login ON users(login) "
               "WHERE login IS NOT NULL")
    add("history", "via_id", "INTEGER REFERENCES users(id)")


def m007_notify_prefs(db: Any) -> None:
    """What each agent wants to hear about (``notify prefs``): one row per choice made;
    an event without a row takes its default."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS notify_prefs (user_id INTEGER NOT NULL "
        "REFERENCES users(id), event TEXT NOT NULL, enabled INTEGER NOT NULL, "
        "PRIMARY KEY (user_id, event))"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_notify_prefs_event ON notify_prefs(event, "
               "enabled)")


def m008_service_levels(db: Any) -> None:
    """Service-level clocks, one row per ticket under a policy (see store/sla.py):
    its clocks as JSON and the times lists and ``sla check`` look up by index.
    Workflows stored before have no policies, so no ticket has clocks yet."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS sla_clocks (ticket_id INTEGER PRIMARY KEY "
        "REFERENCES tickets(id), state TEXT NOT NULL, due_at TEXT, warn_at TEXT, "
        "breach_at TEXT, check_at TEXT)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_sla_clocks_due ON sla_clocks(due_at) "
               "WHERE due_at IS NOT NULL")
    db.execute("CREATE INDEX IF NOT EXISTS idx_sla_clocks_check ON sla_clocks(check_at, "
               "ticket_id) WHERE check_at IS NOT NULL")


def m009_mail_trust(db: Any) -> None:
    """Mail that can be trusted.

    - ``outbox.token``: a secret per message (80 random bits), in its Message-ID; a reply that
      names it comes from someone who received that message. Messages still
      waiting get one now; those already sent keep the Message-ID they went out
      with (a reply to them is not proof).
    - ``mail_held``: messages mail-in did not apply because nothing proved their
      sender, kept whole until staff accept or reject them.
    - ``mail_messages.digest``: a delivered message is known by its Message-ID
      *and* what it says, so a message that only borrows a Message-ID (sent first
      by a stranger) does not make the real one look delivered already.
    """
    if "token" not in db["outbox"].columns_dict:
        db.execute("ALTER TABLE outbox ADD COLUMN token TEXT")
    db.execute("UPDATE outbox SET token = lower(hex(randomblob(10))) "
               "WHERE state = 'pending' AND token IS NULL")
    db["mail_held"].create(
        {
            "id": int,
            "received_at": str,
            "sender": str,  # the From address, as parsed
            "subject": str,
            "ticket_id": int,  # the ticket it would act on, if any
            "reason": str,
            "message_id": str,
            "digest": str,  # what it says (see mail_messages.digest)
            "raw": bytes,  # the message as received, to apply it when accepted
            "state": str,  # held, accepted, rejected
            "decided_at": str,
            "decided_by": int,
        },
        pk="id",
        not_null={"received_at", "sender", "subject", "reason", "digest", "raw", "state"},
        defaults={"state": "held"},
        foreign_keys=[("ticket_id", "tickets", "id"), ("decided_by", "users", "id")],
        if_not_exists=True,
    )
    db["mail_held"].create_index(["state", "id"], if_not_exists=True)
    db["mail_held"].create_index(["digest"], if_not_exists=True)
    if "digest" not in db["mail_messages"].columns_dict:
        db.execute("ALTER TABLE mail_messages ADD COLUMN digest TEXT")
    db.execute("DROP INDEX IF EXISTS idx_mail_messages_message_id")
    db["mail_messages"].create_index(["message_id", "digest"], unique=True, if_not_exists=True)


MIGRATIONS: list[Callable[[Any], None]] = [m001_initial, m002_outbox, m003_scale,
                                           m004_ticket_counts, m005_list_scale, m006_team,
                                           m007_notify_prefs, m008_service_levels,
                                           m009_mail_trust]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION in one IMMEDIATE transaction."""
    import sqlite_utils

    db = sqlite_utils.Database(conn, recursive_triggers=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in MIGRATIONS[version:]:
            step(db)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
