"""init: create the database and store the chosen workflow."""

from __future__ import annotations

from ..desk.people import first_admin, require_admin
from ..errors import TicketError, UsageError
from ..text import check_email
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
    group: Annotated[
        str | None,
        typer.Option("--group", metavar="GROUP",
                     help="A desk for a team: the database and its -wal/-shm files owned by "
                          "this group, mode 0660 (its directory set-group-id)."),
    ] = None,
) -> None:
    """Create the database and store the workflow every user and cron job will follow.

    Whoever runs it becomes the desk's first admin (on a team desk, bound to
    their login). Refuses to replace the workflow of a database that already
    holds tickets; on a desk with people, only an admin may run it.

    \b
    Examples:
      ticketcli init
      ticketcli --db /srv/helpdesk.db init --preset service-desk
      ticketcli init --preset care --stale-after 21d
      ticketcli --db /srv/helpdesk/tickets.db init --group helpdesk
    """
    from .. import config as cfg
    from ..store import access

    wf = load_preset(preset)
    if stale_after is not None:
        try:
            seconds = parse_duration(stale_after)
        except ValueError as e:
            raise UsageError(f"--stale-after: {e}") from None
        wf = wf.with_stale_after(seconds)
    if group is not None and c.db_path.startswith(("postgresql://", "postgres://")):
        raise UsageError("--group shares a SQLite file with a Unix group; on PostgreSQL the "
                         "server decides who may connect (grant the desk's tables to a role)")
    gid = access.group_id(group) if group is not None else None
    if gid is not None:
        access.team_directory(c.db_path, gid)
    store = c.open_store()
    now = c.now_iso()
    with store.write():
        if store.people.has_admin():
            # A desk in use: only its admins may choose its workflow again.
            require_admin(c.actor(), "replace the workflow of a desk in use")
        count = store.tickets.count_tickets()
        if count:
            raise TicketError(
                f"database {store.path} already holds {count} tickets; init will not "
                "overwrite it (use another --db for a new desk)"
            )
        store.set_workflow(wf)
        admin = None
        if not store.people.has_admin():
            login = store.db.login() if gid is not None else None
            admin = first_admin(store, check_email(c.actor_email()), now, login=login)
        if gid is not None:
            store.set_meta("group", access.group_name(gid))
            store.set_meta("owner", cfg.real_login())
    if gid is not None:
        access.share_database(store.path, gid)
    who = f"; {admin.email} is its admin" if admin is not None else ""
    team = f", shared with group {group}" if group is not None else ""
    c.say(f"Initialized {store.path} with the {wf.name} workflow{team}{who}.")
