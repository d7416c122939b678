"""The bodies of the read commands, ``show`` and ``list``.

Free of Typer: the Typer commands (commands/tickets.py) and the fast path
(fastpath.py) both call these, with the same keyword arguments and defaults.
"""

from __future__ import annotations

from .context import Context
from .desk import tickets as uc
from .errors import UsageError
from .output import (
    DETAIL_FIELDS,
    LIST_COLUMNS,
    MACHINE_COLUMNS,
    TICKET_FIELDS,
    check_format,
    parse_fields,
    pick,
    render_details,
    render_rows,
    ticket_record,
)


def show(c: Context, ticket_id: int, *, fields: str | None = None,
         fmt: str | None = None) -> None:
    check_format(fmt)
    picked = parse_fields(fields, DETAIL_FIELDS)
    store = c.store()
    details = uc.show(store, c.actor(), ticket_id)
    c.out(render_details(details, c.format(fmt), lang=c.lang, wf=store.workflow(),
                         fields=picked))


def list_(
    c: Context,
    *,
    status: list[str] | None = None,
    all_: bool = False,
    phase: list[str] | None = None,
    priority: str | None = None,
    requester: str | None = None,
    assignee: str | None = None,
    org: str | None = None,
    category: str | None = None,
    created_since: str | None = None,
    created_before: str | None = None,
    updated_since: str | None = None,
    updated_before: str | None = None,
    stale: bool = False,
    search: str | None = None,
    sort: str = "-id",
    limit: int = 100,
    count: bool = False,
    fields: str | None = None,
    fmt: str | None = None,
) -> None:
    check_format(fmt)
    if limit < 0:
        raise UsageError("--limit must be 0 or more")
    picked = parse_fields(fields, TICKET_FIELDS)
    key, descending = _sort(sort)
    req = uc.ListRequest(
        statuses=status or [], phases=phase or [], include_all=all_, priority=priority,
        requester=requester, assignee=assignee, organization=org, category=category,
        created_since=_since(created_since), created_before=_since(created_before),
        updated_since=_since(updated_since), updated_before=_since(updated_before),
        stale_at=c.now() if stale else None, search=search, sort=key,
        descending=descending, limit=limit or None,
    )
    store = c.store()
    if count:
        c.out(f"{uc.count_tickets(store, c.actor(), req)}\n")
        return
    found, more = uc.list_tickets(store, c.actor(), req)
    fmt = c.format(fmt)
    columns = picked or (LIST_COLUMNS if fmt == "table" else MACHINE_COLUMNS)
    records = [pick(ticket_record(t), picked) for t in found]
    c.out(render_rows(records, columns, fmt, lang=c.lang, wf=store.workflow()))
    if more:
        c.say(f"(showing the first {limit}; use --limit N or --limit 0 for more)")


def _since(value: str | None) -> str | None:
    from .clock import iso, parse

    return None if value is None else iso(parse(value))


def _sort(spec: str) -> tuple[str, bool]:
    """``updated_at`` (ascending), ``-updated_at`` or ``updated_at:desc`` (descending)."""
    key, _, direction = spec.strip().partition(":")
    descending = direction.lower() == "desc"
    if direction and direction.lower() not in ("asc", "desc"):
        raise UsageError(f"--sort takes FIELD, -FIELD, FIELD:asc or FIELD:desc, not {spec!r}")
    if key.startswith("-"):
        key, descending = key[1:], True
    return key, descending
