"""Ticket commands: open, list, show, comment, set-status, share, assign, take."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import completion, views, writes
from ..desk import tickets as uc
from . import FormatOption, context

IdArg = Annotated[
    int, typer.Argument(metavar="ID", help="Ticket number.", autocompletion=completion.ticket_ids)
]
AttachOption = Annotated[
    list[str] | None,
    typer.Option("--attach", metavar="PATH", help="Attach a file (repeatable)."),
]
IfStatusOption = Annotated[
    str | None,
    typer.Option("--if-status", metavar="STATUS", autocompletion=completion.statuses,
                 help="Refuse (exit 5) unless the ticket is still in this status."),
]


def open_(
    ctx: typer.Context,
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
                                 autocompletion=completion.priorities)
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", metavar="C", help="Product or area.")
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--requester", metavar="EMAIL",
                                 help="Open on behalf of this person (staff only).",
                                 autocompletion=completion.emails)
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="KEY=VALUE",
                     help="Extra detail such as phone=... or contact=email (repeatable)."),
    ] = None,
    attach: AttachOption = None,
    follow_up: Annotated[
        int | None, typer.Option("--follow-up", metavar="ID", autocompletion=completion.ticket_ids,
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
    writes.open_(context(ctx), title, body=body, body_file=body_file, priority=priority,
                 category=category, requester=requester, field=field, attach=attach,
                 follow_up=follow_up)


def list_(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", metavar="S", help="Only this status (repeatable).",
                     autocompletion=completion.statuses),
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
        str | None, typer.Option("--priority", metavar="P", autocompletion=completion.priorities)
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--requester", metavar="EMAIL", autocompletion=completion.emails)
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", metavar="EMAIL", help="An agent, or 'me'.",
                                 autocompletion=completion.assignees)
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
    search: Annotated[
        str | None, typer.Option("--search", "-q", metavar="TEXT",
                                 help="Words, all in the title and description or all in "
                                      "one comment you can see; the last also as a prefix.")
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", metavar="FIELD",
                          help="Order by a field; -FIELD or FIELD:desc for descending "
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
    """
    views.list_(
        context(ctx), status=status, all_=all_, phase=phase, priority=priority,
        requester=requester, assignee=assignee, org=org, category=category,
        created_since=created_since, created_before=created_before,
        updated_since=updated_since, updated_before=updated_before, stale=stale,
        search=search, sort=sort, limit=limit, count=count, fields=fields, fmt=fmt,
    )


def show(
    ctx: typer.Context,
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
    views.show(context(ctx), ticket_id, fields=fields, fmt=fmt)


DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Check every ticket and report; change nothing.")
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask before changing many tickets.")
]


def comment(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(metavar="ID... [TEXT]", autocompletion=completion.ticket_ids,
                       help="Ticket numbers (- reads them from stdin), then the reply unless "
                            "--body or --body-file gives it."),
    ],
    body: Annotated[
        str | None, typer.Option("--body", "-b", metavar="TEXT", help="The reply text.")
    ] = None,
    body_file: Annotated[
        str | None, typer.Option("--body-file", metavar="PATH", help="Read it from a file "
                                 "(- for stdin).")
    ] = None,
    internal: Annotated[
        bool, typer.Option("--internal", help="An internal note only staff see.")
    ] = False,
    status: Annotated[
        str | None, typer.Option("--status", metavar="S",
                                 help="Reply and set this status in one step.",
                                 autocompletion=completion.statuses)
    ] = None,
    attach: AttachOption = None,
    if_status: IfStatusOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
) -> None:
    """Reply to one or more tickets, or write an internal note.

    A public reply applies the workflow's reply rules (a requester's answer
    reopens a waiting ticket) unless --status says where the ticket goes.

    \b
    Examples:
      ticketcli comment 42 "Could you send the log?" --status pending
      ticketcli comment 42 --internal "Supplier says Tuesday"
      ticketcli comment 42 --body-file reply.txt --attach fix.patch
      ticketcli list --status pending --format ids | ticketcli comment - --body "Any news?"
    """
    writes.comment(context(ctx), args, body=body, body_file=body_file, internal=internal,
                   status=status, attach=attach, if_status=if_status, dry_run=dry_run, yes=yes)


def set_status(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(metavar="ID... STATUS", autocompletion=completion.ids_then_status,
                       help="Ticket numbers (- reads them from stdin), then the status key."),
    ],
    resolution: Annotated[
        str | None, typer.Option("--resolution", metavar="R",
                                 help="How it was resolved (e.g. done, out_of_scope); with "
                                      "a solved, closed or cancelled status.")
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT",
                                 help="A note kept with the change (internal for staff).")
    ] = None,
    if_status: IfStatusOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
) -> None:
    """Move tickets to another status, as the workflow allows for your role.

    \b
    Examples:
      ticketcli set-status 42 solved
      ticketcli set-status 42 resolved --resolution out_of_scope --note "Needs a quote"
      ticketcli set-status 42 open --if-status pending
      ticketcli list --status pending --format ids | ticketcli set-status - solved --yes
    """
    writes.set_status(context(ctx), args, resolution=resolution, note=note,
                      if_status=if_status, dry_run=dry_run, yes=yes)


def share(
    ctx: typer.Context,
    ticket_id: IdArg,
    emails: Annotated[
        list[str],
        typer.Argument(metavar="EMAIL...", help="People to add.", autocompletion=completion.emails),
    ],
    remove: Annotated[bool, typer.Option("--remove", help="Remove them instead.")] = False,
) -> None:
    """Add people to a ticket as participants (or remove them), within the sharing rule.

    \b
    Examples:
      ticketcli share 42 anna@example.com luca@example.com
      ticketcli share 42 luca@example.com --remove
    """
    c = context(ctx)
    store = c.store()
    results = uc.share(store, c.actor(), c.now_iso(), ticket_id, emails, remove=remove)
    for email, changed in results:
        verb = ("removed from" if remove else "added to") if changed else (
            "was not on" if remove else "already on")
        c.say(f"{email} {verb} ticket {ticket_id}.")


def assign(
    ctx: typer.Context,
    ticket_id: IdArg,
    email: Annotated[
        str | None, typer.Argument(metavar="EMAIL", help="An agent, 'me', or nothing to "
                                   "unassign.", autocompletion=completion.assignees)
    ] = None,
) -> None:
    """Assign a ticket to an agent (staff only).

    \b
    Examples:
      ticketcli assign 42 marco@example.com
      ticketcli assign 42 me
      ticketcli assign 42
    """
    c = context(ctx)
    store = c.store()
    changed = uc.assign(store, c.actor(), c.now_iso(), ticket_id, email)
    if not changed:
        c.say(f"Ticket {ticket_id} already has that assignee.")


def take(ctx: typer.Context, ticket_id: IdArg) -> None:
    """Assign a ticket to yourself.

    \b
    Examples:
      ticketcli take 42
    """
    assign(ctx, ticket_id, "me")
