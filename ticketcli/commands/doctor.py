"""doctor: report the health of the database; non-zero exit when something is wrong."""

from __future__ import annotations

from ..errors import TicketError
from ..output import check_format, render_rows

TYPE_CHECKING = False
if TYPE_CHECKING:


    from ..context import Context
    from .params import FormatOption


def doctor(c: Context, fmt: FormatOption = None) -> None:
    """Check the database: integrity, schema, SQLite version, journal, filesystem, permissions.

    On PostgreSQL: the server's version, TLS, the schema version, the session's
    privileges, whether a pooler sits between, the per-status counts.

    Exits 0 when all is well (warnings included), 1 when a check fails.

    \b
    Examples:
      ticketcli doctor
      ticketcli --db /srv/helpdesk.db doctor --format json
    """
    from ..desk.doctor import run_checks
    from ..store import Store

    check_format(fmt)
    path = c.db_path
    import os

    if not path.startswith(("postgresql://", "postgres://")) and not os.path.exists(path):
        raise TicketError(f"no database at {path}; run 'ticketcli init' to create one")
    store = Store.open(path, busy_timeout=c.busy_timeout)
    try:
        checks = run_checks(store)
    finally:
        store.close()
    records = [{"check": k.name, "state": k.state, "detail": k.detail} for k in checks]
    c.out(render_rows(records, ["check", "state", "detail"], c.format(fmt), lang=c.lang))
    failed = [k.name for k in checks if k.state == "fail"]
    if failed:
        raise TicketError(f"doctor: {len(failed)} check(s) failed: {', '.join(failed)}")
