"""init: create the database and store the chosen workflow."""

from __future__ import annotations

from ..desk.people import require_admin, resolve_actor
from ..errors import TicketError
from ..workflow import PRESETS, load_preset, parse_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from . import complete


def init(
    c: Context,
    preset: Annotated[
        str, typer.Option("--preset", "-p", metavar="NAME",
                          help="Workflow preset: " + ", ".join(PRESETS) + ".",
                          autocompletion=complete.presets)
    ] = "standard",
    stale_after: Annotated[
        str | None,
        typer.Option("--stale-after", metavar="DURATION",
                     help="Idle time before close-stale acts (e.g. 21d), for presets with "
                          "stale rules."),
    ] = None,
) -> None:
    """Create the database and store the workflow every user and cron job will follow.

    Refuses to replace the workflow of a database that already holds tickets;
    on a desk with people, only an admin may run it.

    \b
    Examples:
      ticketcli init
      ticketcli --db /srv/helpdesk.db init --preset service-desk
      ticketcli init --preset care --stale-after 21d
    """
    wf = load_preset(preset)
    if stale_after is not None:
        try:
            seconds = parse_duration(stale_after)
        except ValueError as e:
            from ..errors import UsageError

            raise UsageError(f"--stale-after: {e}") from None
        wf = wf.with_stale_after(seconds)
    store = c.open_store()
    with store.write():
        if store.people.count_users():
            # A desk in use: only its admins may choose its workflow again.
            actor = resolve_actor(store, c.actor_email(), c.now_iso())
            require_admin(actor, "replace the workflow of a desk in use")
        count = store.tickets.count_tickets()
        if count:
            raise TicketError(
                f"database {store.path} already holds {count} tickets; init will not "
                "overwrite it (use another --db for a new desk)"
            )
        store.set_workflow(wf)
    c.say(f"Initialized {store.path} with the {wf.name} workflow.")
