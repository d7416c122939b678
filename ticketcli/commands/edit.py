"""edit: change a ticket's title, description, priority, category, fields or
requester after it was opened."""

from __future__ import annotations

from ..desk import editing
from ..errors import UsageError
from ..i18n import msg
from .inputs import body_from, parse_fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from . import complete
    from .params import IdArg


def edit(
    c: Context,
    ticket: IdArg,
    title: Annotated[
        str | None, typer.Option("--title", metavar="T", help="A new title.")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", metavar="TEXT", help="A new description.")
    ] = None,
    description_file: Annotated[
        str | None, typer.Option("--description-file", metavar="PATH",
                                 help="Read the new description from a file (- for stdin).")
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", metavar="P", autocompletion=complete.priorities,
                                 help="A priority of the workflow (key or label).")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", metavar="C", help="Product or area (\"\" for "
                                 "none).")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="KEY=VALUE", help="Set a field (repeatable)."),
    ] = None,
    unset_field: Annotated[
        list[str] | None,
        typer.Option("--unset-field", metavar="KEY", help="Remove a field (repeatable)."),
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--requester", metavar="EMAIL", autocompletion=complete.emails,
                                 help="Make this registered person the requester.")
    ] = None,
) -> None:
    """Change a ticket after it was opened (staff; the requester: the title and
    description of their own active ticket).

    Every change is kept in the ticket's history as an "edited" event with the
    field, what it was and what it became. A field that already has the value
    given is left alone.

    \b
    Examples:
      ticketcli edit 42 --title "Printer on fire in room 2"
      ticketcli edit 42 --priority urgent --category hardware
      ticketcli edit 42 --field phone=+39055123456 --unset-field contact
      ticketcli edit 42 --description-file notes.txt
      ticketcli edit 42 --requester anna@example.com
    """
    text = body_from(c, description, description_file, "description", required=False)
    keys = []
    for key in unset_field or []:
        clean = key.strip()
        if not clean or not clean.replace("_", "").replace("-", "").isalnum():
            raise UsageError(msg("--unset-field takes a simple KEY, not {key!r}", key=key))
        keys.append(clean)
    store = c.store()
    changed = editing.edit_ticket(
        store, c.actor(), c.now_iso(), ticket, title=title, description=text,
        priority=priority, category=category,
        fields=parse_fields(field) if field else None, unset_fields=keys,
        requester=requester, limits=c.limits,
    )
    if changed:
        c.say(msg("Ticket {id}: changed {fields}.", id=ticket, fields=", ".join(changed)))
    else:
        c.say(msg("Ticket {id}: nothing changed (it already was so).", id=ticket))
