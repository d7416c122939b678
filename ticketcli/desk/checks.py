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


MAX_FIELDS = 50  # --field pairs on one ticket
MAX_FIELD_SIZE = 10_000  # characters of all a ticket's fields, keys and values together


class Limits(Record):
    """Size limits for what users send: the desk's (``desk set``, admins), which a user's
    config may lower, never raise."""

    title: int = MAX_TITLE
    body: int = MAX_BODY
    attachment: int = MAX_ATTACHMENT
    attachments: int = MAX_ATTACHMENTS
    fields: int = MAX_FIELDS
    field_size: int = MAX_FIELD_SIZE


DEFAULT_LIMITS = Limits()
# The desk-wide setting (and user config key) of each limit, in Limits' order.
LIMIT_KEYS = {
    "max_title_length": ("title", "longest title, in characters"),
    "max_body_size": ("body", "longest description or comment, in characters"),
    "max_attachment_size": ("attachment", "largest attachment, in bytes"),
    "max_attachments": ("attachments", "most attachments in one command"),
    "max_fields": ("fields", "most --field pairs on a ticket"),
    "max_field_size": ("field_size", "characters of all a ticket's fields together"),
}
LIMIT_CEILING = 2**31 - 1  # no desk needs more, and it keeps sizes in plain integers


def limits_from(desk: dict[str, int], user: dict[str, int]) -> Limits:
    """The limits in force: the desk's (or the defaults), lowered by the user's own."""
    values = {}
    for key, (name, _) in LIMIT_KEYS.items():
        value = desk.get(key, getattr(DEFAULT_LIMITS, name))
        if key in user:
            value = min(value, user[key])
        values[name] = value
    return Limits(**values)


def check_fields(fields: dict[str, str], limits: Limits = DEFAULT_LIMITS) -> dict[str, str]:
    """A ticket's extra fields, bounded like bodies: how many, and how much text."""
    if len(fields) > limits.fields:
        raise UsageError(f"a ticket has at most {limits.fields} fields (got {len(fields)})")
    size = sum(len(k) + len(v) for k, v in fields.items())
    if size > limits.field_size:
        raise UsageError(f"a ticket's fields hold at most {limits.field_size} characters "
                         f"(got {size})")
    for key, value in fields.items():
        if "\x00" in key or "\x00" in value:
            raise UsageError(f"field {key!r} contains a NUL character")
    return fields


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
                f"{limits.attachment} (an admin can change it: desk set max_attachment_size)"
            )
