"""Ticket commands: open, list, show, share, assign, take (comment and set-status,
which take many ids, are in :mod:`.replies`)."""

from __future__ import annotations

from ..desk import clocks, listing, sharing, tickets
from ..errors import UsageError
from ..output import (
    DETAIL_FIELDS,
    LIST_COLUMNS,
    MACHINE_COLUMNS,
    TICKET_FIELDS,
    check_format,
    due_cell,
    parse_fields,
    pick,
    render_details,
    render_rows,
    ticket_record,
    with_sla,
)
from .inputs import body_from, read_attachments
from .inputs import parse_fields as field_pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from . import complete
    from .params import AttachOption, FormatOption, IdArg


def open_(
    c: Context,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="A short summary of the problem.")],
    body: Annotated[
        str | None, typer.Option("--body", "-b", metavar="TEXT", help="The description.")
    ] = None,
    body_file: Annotated[
        str | None,
        typer.Option("--body-file", metavar="PATH", help="Read the description from a file "
                     "(- for stdin)."),
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", metavar="P", help="One of the workflow's "
                                 "priorities (default: its default).",
                                 autocompletion=complete.priorities)
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", metavar="C", help="Product or area.")
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--requester", metavar="EMAIL",
                                 help="Open on behalf of this person (staff only).",
                                 autocompletion=complete.emails)
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="KEY=VALUE",
                     help="Extra detail such as phone=... or contact=email (repeatable)."),
    ] = None,
    attach: AttachOption = None,
    follow_up: Annotated[
        int | None, typer.Option("--follow-up", metavar="ID", autocompletion=complete.ticket_ids,
                                 help="Link to a closed ticket this one follows up.")
    ] = None,
) -> None:
    """Open a ticket and print its number alone on stdout.

    \b
    Examples:
      ticketcli open "Printer on fire"
      ticketcli open "VPN drops" --priority high --body-file notes.txt --attach log.txt
      dmesg | ticketcli open "Kernel warnings" --body-file -
      ticketcli open "Still broken" --follow-up 42 --field phone=+39055123456
    """
    text = body_from(c, body, body_file, "description", required=False) or ""
    files = read_attachments(c, attach)
    store = c.store()
    ticket_id = tickets.open_ticket(
        store, c.actor(), c.now_iso(), title=title, body=text, priority=priority,
        category=category, requester=requester, fields=field_pairs(field), files=files,
        follow_up=follow_up, limits=c.limits,
    )
    c.out(f"{ticket_id}\n")


def list_(
    c: Context,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", metavar="S", help="Only this status (repeatable).",
                     autocompletion=complete.statuses),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Include closed and cancelled.")
    ] = False,
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", metavar="P", help="Only statuses of this phase: new, open, "
                     "pending, hold, solved, closed, cancelled (repeatable)."),
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", metavar="P", autocompletion=complete.priorities)
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--requester", metavar="EMAIL", autocompletion=complete.emails)
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", metavar="EMAIL", help="An agent, or 'me'.",
                                 autocompletion=complete.assignees)
    ] = None,
    org: Annotated[str | None, typer.Option("--org", metavar="ORG", help="Organization.")] = None,
    category: Annotated[str | None, typer.Option("--category", metavar="C")] = None,
    created_since: Annotated[
        str | None, typer.Option("--created-since", metavar="ISO-8601")
    ] = None,
    created_before: Annotated[
        str | None, typer.Option("--created-before", metavar="ISO-8601")
    ] = None,
    updated_since: Annotated[
        str | None, typer.Option("--updated-since", metavar="ISO-8601")
    ] = None,
    updated_before: Annotated[
        str | None, typer.Option("--updated-before", metavar="ISO-8601")
    ] = None,
    stale: Annotated[
        bool, typer.Option("--stale", help="Only tickets close-stale would close now.")
    ] = False,
    sla: Annotated[
        str | None, typer.Option("--sla", metavar="STATE",
                                 help="Only tickets under a service level that are breached, "
                                      "at-risk (within warn_before of a due time) or ok.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", metavar="TEXT",
                                 help="Words, all in the title and description or all in "
                                      "one comment you can see; the last also as a prefix.")
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", metavar="FIELD",
                          help="Order by a field (due: the earliest service-level due "
                               "time); -FIELD or FIELD:desc for descending "
                               "(default: -id, newest first).")
    ] = "-id",
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", help="At most N tickets (0: no limit).")
    ] = 100,
    count: Annotated[
        bool, typer.Option("--count", help="Print only how many tickets match.")
    ] = False,
    fields: Annotated[
        str | None, typer.Option("--fields", metavar="A,B,C", help="Only these fields.")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """List tickets, newest first: the active ones unless --all, --status or --phase.

    \b
    Examples:
      ticketcli list
      ticketcli list --status pending --status on_hold
      ticketcli list --all --search "printer" --format json
      ticketcli list --assignee me --sort=-priority --fields id,priority,title
      ticketcli list --stale --format ids
      ticketcli list --org Acme --updated-since 2026-01-01 --count
      ticketcli list --sla breached --sort due --limit 20
    """
    check_format(fmt)
    if limit < 0:
        raise UsageError("--limit must be 0 or more")
    picked = parse_fields(fields, TICKET_FIELDS)
    key, descending = _sort(sort)
    req = listing.ListRequest(
        statuses=status or [], phases=phase or [], include_all=all_, priority=priority,
        requester=requester, assignee=assignee, organization=org, category=category,
        created_since=_since(created_since), created_before=_since(created_before),
        updated_since=_since(updated_since), updated_before=_since(updated_before),
        stale_at=c.now() if stale else None, search=search, sla=sla, sla_now=c.now_iso(),
        sort=key, descending=descending, limit=limit or None,
    )
    store = c.store()
    if count:
        c.out(f"{listing.count_tickets(store, c.actor(), req)}\n")
        return
    found, more = listing.list_tickets(store, c.actor(), req)
    fmt = c.format(fmt)
    columns = picked or (LIST_COLUMNS if fmt == "table" else MACHINE_COLUMNS)
    levels = clocks.due_and_breached(store, [t.id for t in found], c.now_iso())
    records = [pick(with_sla(ticket_record(t), levels.get(t.id)), picked) for t in found]
    if fmt == "table" and picked is None and store.workflow().sla:
        columns = [*columns[:-1], "due", columns[-1]]
        for r in records:
            r["due"] = due_cell(r["sla_due_at"], r["sla_breached"])
    c.out(render_rows(records, columns, fmt, lang=c.lang, wf=store.workflow(),
                      width=c.columns if fmt == "table" else None))
    if more:
        c.say(f"(showing the first {limit}; use --limit N or --limit 0 for more)")


def _since(value: str | None) -> str | None:
    from ..clock import iso, parse

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


def show(
    c: Context,
    ticket_id: IdArg,
    fields: Annotated[
        str | None, typer.Option("--fields", metavar="A,B,C", help="Only these fields.")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Show a ticket with its participants, comments, attachments and history.

    A terminal gets a readable page; a pipe gets one tab-separated row unless
    --format says otherwise (--format table for the page, json for everything).

    \b
    Examples:
      ticketcli show 42
      ticketcli show 42 --format json
      ticketcli show 42 --fields id,status,assignee --format tsv
    """
    check_format(fmt)
    picked = parse_fields(fields, DETAIL_FIELDS)
    store = c.store()
    details = tickets.show(store, c.actor(), ticket_id)
    c.out(render_details(details, c.format(fmt), lang=c.lang, wf=store.workflow(),
                         fields=picked, sla=clocks.view(store, details.ticket, c.now_iso())))


def share(
    c: Context,
    ticket_id: IdArg,
    emails: Annotated[
        list[str],
        typer.Argument(metavar="EMAIL...", help="People to add.", autocompletion=complete.emails),
    ],
    remove: Annotated[bool, typer.Option("--remove", help="Remove them instead.")] = False,
) -> None:
    """Add people to a ticket as participants (or remove them), within the sharing rule.

    \b
    Examples:
      ticketcli share 42 anna@example.com luca@example.com
      ticketcli share 42 luca@example.com --remove
    """
    store = c.store()
    results = sharing.share(store, c.actor(), c.now_iso(), ticket_id, emails, remove=remove)
    for email, changed in results:
        verb = ("removed from" if remove else "added to") if changed else (
            "was not on" if remove else "already on")
        c.say(f"{email} {verb} ticket {ticket_id}.")


def assign(
    c: Context,
    ticket_id: IdArg,
    email: Annotated[
        str | None, typer.Argument(metavar="EMAIL", help="An agent, 'me', or nothing to "
                                   "unassign.", autocompletion=complete.assignees)
    ] = None,
) -> None:
    """Assign a ticket to an agent (staff only).

    \b
    Examples:
      ticketcli assign 42 marco@example.com
      ticketcli assign 42 me
      ticketcli assign 42
    """
    store = c.store()
    changed = tickets.assign(store, c.actor(), c.now_iso(), ticket_id, email)
    if not changed:
        c.say(f"Ticket {ticket_id} already has that assignee.")


def take(c: Context, ticket_id: IdArg) -> None:
    """Assign a ticket to yourself.

    \b
    Examples:
      ticketcli take 42
    """
    assign(c, ticket_id, "me")
