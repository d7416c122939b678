"""What people send, checked before anything is written: titles, categories,
bodies, attachments, ids, and the size limits that bound them."""

from __future__ import annotations

from ..errors import NotFound, UsageError
from ..i18n import msg
from ..record import Record
from ..text import one_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_TITLE = 300
MAX_BODY = 1_000_000
MAX_ATTACHMENT = 25 * 1024 * 1024
MAX_ATTACHMENTS = 20
MAX_CATEGORY = 100  # characters


class NewFile(Record):
    name: str
    content: bytes


# -- checks -------------------------------------------------------------------


MAX_ID = 2**63 - 1  # SQLite's largest integer


def check_id(ticket_id: int) -> int:
    if ticket_id <= 0:
        raise UsageError(msg("ticket ids are positive whole numbers, not {id}", id=ticket_id))
    if ticket_id > MAX_ID:
        raise NotFound(msg("ticket {id} not found", id=ticket_id))
    return ticket_id


class Limits(Record):
    """Size limits for what users send; the user config can change them."""

    title: int = MAX_TITLE
    body: int = MAX_BODY
    attachment: int = MAX_ATTACHMENT
    attachments: int = MAX_ATTACHMENTS


DEFAULT_LIMITS = Limits()


def check_title(title: str, limits: Limits = DEFAULT_LIMITS) -> str:
    if not title.strip():
        raise UsageError(msg("a ticket needs a non-empty title"))
    return one_line(title, "a title", limits.title)


def check_category(category: str | None) -> str | None:
    """A category is one short line; a blank one is none."""
    if category is None:
        return None
    return one_line(category, "a category", MAX_CATEGORY) or None


def check_body(body: str, what: str = "body", limits: Limits = DEFAULT_LIMITS) -> str:
    if "\x00" in body:
        raise UsageError(msg("the {what} contains a NUL character; send text, or attach the "
                             "file", what=msg(what)))
    if len(body) > limits.body:
        raise UsageError(msg("the {what} is at most {limit} characters (got {got})",
                             what=msg(what), limit=limits.body, got=len(body)))
    return body


def check_files(files: Sequence[NewFile], limits: Limits = DEFAULT_LIMITS) -> None:
    if len(files) > limits.attachments:
        raise UsageError(f"at most {limits.attachments} attachments at a time")
    for f in files:
        if len(f.content) > limits.attachment:
            raise UsageError(
                f"attachment {f.name} is {len(f.content)} bytes or more; the limit is "
                f"{limits.attachment} (config key max_attachment_size)"
            )
