"""The exchange format's constants, and records once checked.

Checked records are tuples (cheap to build: an import builds millions of
them); a ticket's comments, attachments and history are plain tuples inside
its :class:`TicketIn`, unpacked where used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

FORMAT_VERSION = 1
HEADER_TYPE = "ticketcli-export"
FORMATS = ("jsonl", "csv")

TICKET_KEYS = frozenset({
    "type", "id", "title", "description", "status", "phase", "priority", "category",
    "requester", "assignee", "organization", "resolution", "follow_up_of", "fields",
    "created_at", "updated_at", "status_changed_at", "activity_at", "reminded_for",
    "participants", "comments", "attachments", "history",
})
PARTICIPANT_KEYS = frozenset({"email", "added_at"})
COMMENT_KEYS = frozenset({"id", "author", "body", "internal", "created_at"})
ATTACHMENT_KEYS = frozenset({"id", "comment", "name", "size", "sha256", "uploader",
                             "created_at", "content_base64"})
HISTORY_KEYS = frozenset({"at", "actor", "event", "from", "to", "detail", "via"})
USER_KEYS = frozenset({"type", "email", "name", "role", "organization", "created_at"})
ORG_KEYS = frozenset({"type", "name", "manager", "created_at"})


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass
class ImportReport:
    tickets: int = 0
    comments: int = 0
    people_created: int = 0
    orgs_created: int = 0
    dry_run: bool = False
    errors: list[LineError] = field(default_factory=list)


# (email, added_at)
ParticipantIn = tuple[str, str]
# (id, author, body, internal, created_at)
CommentIn = tuple[int | None, str, str, bool, str]
# (id, comment id, uploader, name, sha256, content, created_at)
AttachmentIn = tuple[int | None, int | None, str | None, str, str, bytes, str]
# (at, actor, event, from status, to status, detail as JSON or None)
# (at, actor, event, from, to, detail as JSON text, via)
HistoryIn = tuple[str, str | None, str, str | None, str | None, str | None, str | None]


class TicketIn(NamedTuple):
    line: int
    id: int | None
    title: str
    description: str
    status: str
    phase: str
    priority: str
    category: str | None
    requester: str
    assignee: str | None
    organization: str | None
    own_org: bool  # no organization given: the requester's
    resolution: str | None
    follow_up_of: int | None
    fields: str
    created_at: str
    updated_at: str
    status_changed_at: str
    activity_at: str
    reminded_for: str | None
    participants: list[ParticipantIn]
    comments: list[CommentIn]
    attachments: list[AttachmentIn]
    history: list[HistoryIn] | None


class PersonIn(NamedTuple):
    line: int
    email: str
    name: str
    role: str
    organization: str | None
    created_at: str


class OrgIn(NamedTuple):
    line: int
    name: str
    manager: str | None
    created_at: str


class HeaderIn(NamedTuple):
    line: int


Checked = TicketIn | PersonIn | OrgIn | HeaderIn | LineError
