"""close-stale: the cron job that applies the workflow's stale rules."""

from __future__ import annotations

from ..clock import parse_when
from ..desk import stale as uc
from ..errors import PermissionDenied, UsageError
from ..i18n import msg
from ..output import check_format, render_rows
from ..store import Store
from ..text import check_email

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from .params import FormatOption


def _refuse_customers(store: Store, email: str) -> None:
    """close-stale works for the desk, not for a person: it records no actor, and cron
    may run it under any name, registered or not, but a customer may not run it (nor a
    login bound to a customer, whatever name it gives)."""
    people = [store.people.user_by_email(check_email(email))]
    if store.people.binds_logins():
        people.append(store.people.user_by_login(store.db.login()))
    for user in people:
        if user is not None and not user.staff:
            raise PermissionDenied(f"only agents and admins may run close-stale; "
                                   f"{user.email} is a customer")


def close_stale(
    c: Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    now: Annotated[
        str | None, typer.Option("--now", metavar="TIME",
                                 help="Judge staleness as of this time: ISO-8601 (without "
                                      "a zone: UTC), a date (local midnight), today, "
                                      "yesterday, or an age such as 7d (default: now).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N",
                                 help="Change at most N tickets (0: no limit).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing on success.")] = False,
    fmt: FormatOption = None,
) -> None:
    """Close tickets left idle past the workflow's stale rules; safe to run from cron.

    Each ticket is moved and recorded exactly once, even when several runs
    overlap. Nothing to do is success. It acts for the desk (history records no
    person); customers may not run it.

    \b
    Examples:
      ticketcli close-stale --dry-run
      ticketcli close-stale --quiet
      ticketcli close-stale --now 2026-12-01T00:00:00Z --format json
    """
    check_format(fmt)
    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 or more")
    if limit == 0:
        limit = None  # as in list: 0 is no limit
    moment = parse_when(now, c.now()) if now is not None else c.now()
    store = c.store()
    _refuse_customers(store, c.actor_email())
    report = uc.close_stale(store, moment, dry_run=dry_run, limit=limit)
    if quiet:
        return
    changes = report.changes
    records = [{"id": ch.id, "from": ch.from_status, "to": ch.to_status} for ch in changes]
    fmt = c.format(fmt)
    c.out(render_rows(records, ["id", "from", "to"], fmt, lang=c.lang, wf=store.workflow()))
    if fmt == "table":
        n, r = len(changes), len(report.reminders)
        c.say(msg("close-stale would change {n} ticket(s), would remind {r}.", n=n, r=r)
              if dry_run else msg("close-stale changed {n} ticket(s), reminded {r}.", n=n, r=r))
