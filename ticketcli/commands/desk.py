"""desk: the desk-wide settings that protect it (admins)."""

from __future__ import annotations

from ..desk import settings
from ..output import check_format, render_rows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from .params import FormatOption


def desk_show(c: Context, fmt: FormatOption = None) -> None:
    """Show the desk-wide limits, with their built-in defaults (admins only).

    \b
    Examples:
      ticketcli desk show
      ticketcli desk show --format json
    """
    check_format(fmt)
    rows = settings.show_limits(c.store(), c.actor())
    c.out(render_rows(rows, ["key", "value", "default", "description"], c.format(fmt),
                      lang=c.lang))


def desk_set(
    c: Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="A limit: max_title_length, "
                                       "max_body_size, max_attachment_size, max_attachments, "
                                       "max_fields or max_field_size.")],
    value: Annotated[str, typer.Argument(metavar="VALUE",
                                         help="A whole number, or 'default'.")],
) -> None:
    """Set a desk-wide limit (admins only); a user's config may only lower it.

    \b
    Examples:
      ticketcli desk set max_attachment_size 10485760
      ticketcli desk set max_fields 20
      ticketcli desk set max_body_size default
    """
    now = settings.set_limit(c.store(), c.actor(), key, value)
    c.say(f"{key} is {now} for everyone on this desk.")
