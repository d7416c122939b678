"""Ticket commands: open, list, show, share, assign, take (comment and set-status,
which take many ids, are in :mod:`.replies`)."""

from __future__ import annotations

from ..desk import clocks, listing, sharing, tickets
from ..errors import UsageError
from ..i18n import msg
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
from .inputs import body_from, read_attachments, ticket_id
from .inputs import parse_fields as field_pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
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
                                 parser=ticket_id,
                                 help="Link to a closed ticket this one follows up.")
    ] = None,
) -> None:
    """Open a ticket and print its number alone on stdout.

    A title that begins with - is text when it holds a space ("-5 °C in the
    server room"); before any other, put -- (ticketcli open -- -5C). The
    priority may be given by key or label (urgent, Urgente). --body-file -
    reads the description from stdin (on a terminal: end with Ctrl-D).

    \b
    Examples:
      ticketcli open "Printer on fire"
      ticketcli open "-5 °C in the server room" --priority Alta
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


DEFAULT_LIMIT = 100
TIME = ("ISO-8601 (without a zone: UTC), a date (local midnight), today, yesterday, or an "
        "age such as 30m, 12h, 7d, 2w")


def list_(
    c: Context,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", metavar="S",
                     help="Only this status: its key or its label in English or Italian "
                          "(repeatable; a,b for several).",
                     autocompletion=complete.statuses),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Include closed and cancelled.")
    ] = False,
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", metavar="P", help="Only statuses of this phase: new, open, "
                     "pending, hold, solved, closed, cancelled (repeatable; a,b for several)."),
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", metavar="P", autocompletion=complete.priorities,
                                 help="Only this priority (key or label).")
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--requester", metavar="EMAIL", autocompletion=complete.emails)
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", metavar="EMAIL", help="An agent, or 'me'.",
                                 autocompletion=complete.assignees)
    ] = None,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only tickets assigned to you (--assignee me).")
    ] = False,
    org: Annotated[str | None, typer.Option("--org", metavar="ORG", help="Organization.")] = None,
    category: Annotated[str | None, typer.Option("--category", metavar="C")] = None,
    created_since: Annotated[
        str | None, typer.Option("--created-since", metavar="TIME",
                                 help="Created at or after TIME: " + TIME + ".")
    ] = None,
    created_before: Annotated[
        str | None, typer.Option("--created-before", metavar="TIME",
                                 help="Created before TIME.")
    ] = None,
    updated_since: Annotated[
        str | None, typer.Option("--updated-since", metavar="TIME",
                                 help="Updated at or after TIME.")
    ] = None,
    updated_before: Annotated[
        str | None, typer.Option("--updated-before", metavar="TIME",
                                 help="Updated before TIME (7d: not touched for a week).")
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
        int | None, typer.Option("--limit", "-n", metavar="N",
                                 help=f"At most N tickets (default: {DEFAULT_LIMIT}; "
                                      "0: no limit).")
    ] = None,
    count: Annotated[
        bool, typer.Option("--count", help="Print only how many tickets match.")
    ] = False,
    fields: Annotated[
        str | None, typer.Option("--fields", metavar="A,B,C", help="Only these fields.")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """List tickets, newest first: the active ones unless --all, --status or --phase.

    Statuses and priorities may be given by key or by label, in English or
    Italian, in any case and with or without accents ("in attesa"). Times take
    ISO-8601, a date (local midnight), today, yesterday, or an age (7d).

    \b
    Examples:
      ticketcli list
      ticketcli list --status pending,on_hold
      ticketcli list --mine --updated-before 7d
      ticketcli list --all --search "printer" --format json
      ticketcli list --assignee me --sort=-priority --fields id,priority,title
      ticketcli list --stale --format ids
      ticketcli list --org Acme --created-since yesterday --count
      ticketcli list --sla breached --sort due --limit 20
    """
    check_format(fmt)
    if limit is not None and limit < 0:
        raise UsageError(msg("--limit must be 0 or more"))
    if mine:
        if assignee not in (None, "me"):
            raise UsageError(msg("give --mine or --assignee, not both"))
        assignee = "me"
    shown = DEFAULT_LIMIT if limit is None else limit
    picked = parse_fields(fields, TICKET_FIELDS)
    key, descending = _sort(sort)
    now = c.now()
    req = listing.ListRequest(
        statuses=_each(status), phases=_each(phase), include_all=all_, priority=priority,
        requester=requester, assignee=assignee, organization=org, category=category,
        created_since=_when(created_since, now), created_before=_when(created_before, now),
        updated_since=_when(updated_since, now), updated_before=_when(updated_before, now),
        stale_at=now if stale else None, search=search, sla=sla, sla_now=c.now_iso(),
        sort=key, descending=descending, limit=shown or None,
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
    c.page(render_rows(records, columns, fmt, lang=c.lang, wf=store.workflow(),
                       width=c.columns if fmt == "table" else None))
    if not found and c.is_tty:
        c.say(msg("No tickets match."))
    if more and limit is None:
        c.say(msg("(showing the first {limit}; use --limit N or --limit 0 for more)",
                  limit=shown))


def _each(values: list[str] | None) -> list[str]:
    """Repeated options, each of which may hold several values: ``a,b`` is ``a`` and
    ``b``."""
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _when(value: str | None, now: datetime) -> str | None:
    from ..clock import iso, parse_when

    return None if value is None else iso(parse_when(value, now))


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

    A terminal gets a readable page, its texts wrapped to the terminal's width
    and, when it is longer than the screen, shown through the pager; a pipe gets
    one tab-separated row unless --format says otherwise (--format table for the
    page, json for everything).

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
    fmt = c.format(fmt)
    c.page(render_details(details, fmt, lang=c.lang, wf=store.workflow(), fields=picked,
                          width=c.columns if fmt == "table" else None,
                          sla=clocks.view(store, details.ticket, c.now_iso())))


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
        if remove:
            said = msg("{email} removed from ticket {id}.", email=email, id=ticket_id) \
                if changed else msg("{email} was not on ticket {id}.", email=email, id=ticket_id)
        else:
            said = msg("{email} added to ticket {id}.", email=email, id=ticket_id) \
                if changed else msg("{email} already on ticket {id}.", email=email, id=ticket_id)
        c.say(said)


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
    actor = c.actor()
    changed, user = tickets.assign(store, actor, c.now_iso(), ticket_id, email)
    if user is None:
        c.say(msg("Ticket {id}: unassigned.", id=ticket_id) if changed else
              msg("Ticket {id} has no assignee.", id=ticket_id))
    elif user.id == actor.id:
        c.say(msg("Ticket {id}: assigned to you ({email}).", id=ticket_id, email=user.email)
              if changed else msg("Ticket {id} is already assigned to you ({email}).",
                                  id=ticket_id, email=user.email))
    else:
        c.say(msg("Ticket {id}: assigned to {email}.", id=ticket_id, email=user.email)
              if changed else msg("Ticket {id} is already assigned to {email}.",
                                  id=ticket_id, email=user.email))


def take(c: Context, ticket_id: IdArg) -> None:
    """Assign a ticket to yourself.

    \b
    Examples:
      ticketcli take 42
    """
    assign(c, ticket_id, "me")
