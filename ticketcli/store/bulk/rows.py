"""The rows an import writes, as plain tuples in column order, and their INSERTs."""

from __future__ import annotations

# Rows are plain tuples in column order (cheaper to build than named ones, and an
# import builds millions of them).
# (id, title, description, status, phase, priority, category, requester_id,
#  assignee_id, org_id, resolution, fields, follow_up_of, created_at, updated_at,
#  status_changed_at, activity_at, reminded_for)
TicketRow = tuple[int, str, str, str, str, str, str | None, int, int | None, int | None,
                  str | None, str, int | None, str, str, str, str, str | None]
# (ticket_id, actor_id, at, event, from_status, to_status, detail, via_id)
HistoryRow = tuple[int, int | None, str, str, str | None, str | None, str | None, int | None]
# (id, ticket_id, author_id, body, internal, created_at)
CommentRow = tuple[int, int, int, str, int, str]
# (ticket_id, user_id, added_at)
ParticipantRow = tuple[int, int, str]
# (id, ticket_id, comment_id, uploader_id, name, size, sha256, content, created_at)
AttachmentRow = tuple[int, int, int | None, int | None, str, int, str, bytes, str]
# (email, name, role, org_id, created_at)
PersonRow = tuple[str, str, str, int | None, str]

INSERT_SQL = {
    "tickets": "INSERT INTO tickets(id, title, description, status, phase, priority, category, "
    "requester_id, assignee_id, org_id, resolution, fields, follow_up_of, created_at, "
    "updated_at, status_changed_at, activity_at, reminded_for) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "history": "INSERT INTO history(ticket_id, actor_id, at, event, from_status, to_status, "
    "detail, via_id) VALUES (?,?,?,?,?,?,?,?)",
    "comments": "INSERT INTO comments(id, ticket_id, author_id, body, internal, created_at) "
    "VALUES (?,?,?,?,?,?)",
    "participants": "INSERT OR IGNORE INTO participants(ticket_id, user_id, added_at) "
    "VALUES (?,?,?)",
    "attachments": "INSERT INTO attachments(id, ticket_id, comment_id, uploader_id, name, "
    "size, sha256, content, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
}
