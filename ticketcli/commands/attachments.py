"""attachment: list a ticket's attachments and get one back out."""

from __future__ import annotations

import os

from ..desk import attachments as uc
from ..errors import TicketError
from ..i18n import msg
from ..output import check_format, render_rows
from .inputs import ticket_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from . import complete
    from .params import FormatOption

COLUMNS = ["id", "ticket", "comment", "name", "size", "sha256", "uploader", "internal",
           "created_at"]
TABLE_COLUMNS = ["id", "comment", "name", "size", "uploader", "internal", "created_at"]


def attachment_list(
    c: Context,
    ticket: Annotated[
        int, typer.Argument(metavar="TICKET", help="Ticket number (12 or #12).",
                            parser=ticket_id, autocompletion=complete.ticket_ids)
    ],
    fmt: FormatOption = None,
) -> None:
    """List a ticket's attachments: the ticket's own and those of its comments.

    Customers see those of the tickets they may see, never those of internal
    notes. JSON gives id, ticket, comment (the comment's id, or null for the
    ticket's own), name, size, sha256, uploader, internal and created_at.

    \b
    Examples:
      ticketcli attachment list 42
      ticketcli attachment list 42 --format json
    """
    check_format(fmt)
    found = uc.list_attachments(c.store(), c.actor(), ticket)
    records = [a._asdict() for a in found]
    fmt = c.format(fmt)
    columns = TABLE_COLUMNS if fmt == "table" else COLUMNS
    c.page(render_rows(records, columns, fmt, lang=c.lang,
                       width=c.columns if fmt == "table" else None))
    if not found and c.is_tty:
        c.say(msg("Ticket {id} has no attachments.", id=ticket))


def attachment_get(
    c: Context,
    attachment: Annotated[
        int, typer.Argument(metavar="ID", help="Attachment number (see 'attachment list').")
    ],
    output: Annotated[
        str | None, typer.Option("--output", "-o", metavar="PATH",
                                 help="Write it here (- for stdout; default: its own name "
                                      "in the current directory). An existing file is "
                                      "never overwritten.")
    ] = None,
) -> None:
    """Get an attachment's bytes, exactly as they were stored (checked against their
    sha256).

    Without --output the file takes its stored name in the current directory;
    an existing file is never replaced (exit 1). An attachment you may not see
    is not found (exit 3).

    \b
    Examples:
      ticketcli attachment get 7
      ticketcli attachment get 7 --output /tmp/log.txt
      ticketcli attachment get 7 --output - | less
    """
    info, content = uc.get_attachment(c.store(), c.actor(), attachment)
    if output == "-":
        c.stdout.flush()
        stream = getattr(c.stdout, "buffer", None)
        if stream is None:
            c.stdout.write(content.decode("utf-8", "replace"))
        else:
            stream.write(content)
            stream.flush()
        return
    path = output if output is not None else _local_name(info.name, info.id)
    _write_new(path, content)
    c.say(msg("Saved attachment {id} to {path} ({size} bytes).", id=info.id, path=path,
              size=len(content)))


def _local_name(name: str, attachment_id: int) -> str:
    """The stored name as a file in the current directory: no directories, no control
    characters, never a hidden, empty or special name."""
    base = os.path.basename(name.replace("\\", "/"))
    base = "".join(ch for ch in base if ch >= " " and ch != "\x7f").strip()
    if not base or base in (".", "..") or base.startswith("."):
        base = f"attachment-{attachment_id}" + (base if base.startswith(".") and
                                                 base not in (".", "..") else "")
    return base


def _write_new(path: str, content: bytes) -> None:
    """Write a new private file; an existing regular file is never replaced."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    created = True
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        created = False
        if os.path.exists(path) and not os.path.isfile(path) and not os.path.islink(path):
            fd = os.open(path, os.O_WRONLY)  # a device or a pipe: write to it
        else:
            raise TicketError(msg("{path} already exists; nothing was written. Remove it or "
                                  "choose another with --output PATH", path=path)) from None
    except OSError as e:
        raise TicketError(msg("cannot write {path}: {reason}", path=path,
                              reason=e.strerror or str(e))) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
    except OSError as e:
        if created:
            try:
                os.unlink(path)
            except OSError:
                pass
        raise TicketError(msg("cannot write {path}: {reason}", path=path,
                              reason=e.strerror or str(e))) from None
