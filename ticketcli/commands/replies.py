"""comment and set-status: the changes scripts make over many tickets at once.

Both take many ids (``-`` reads them from stdin): each ticket is checked and
changed in its own transaction; the output says which succeeded and which
failed and why, and the exit code is non-zero when any failed (the failures'
common code, else 1). Scripts call these in loops, so they start as fast as
``show``.
"""

from __future__ import annotations

from ..desk import tickets
from ..errors import ExitCode, TicketError, UsageError
from ..i18n import msg
from .inputs import body_from, parse_ids, read_attachments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Annotated

    import typer

    from ..context import Context
    from ..desk.tickets import Change
    from . import complete
    from .params import AttachOption, DryRunOption, IfStatusOption, YesOption

CONFIRM_ABOVE = 5


def comment(
    c: Context,
    args: Annotated[
        list[str],
        typer.Argument(metavar="ID... [TEXT]", autocompletion=complete.ticket_ids,
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
                                 help="Reply and set this status in one step (key or label).",
                                 autocompletion=complete.statuses)
    ] = None,
    attach: AttachOption = None,
    if_status: IfStatusOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
) -> int:
    """Reply to one or more tickets, or write an internal note.

    A public reply applies the workflow's reply rules (a requester's answer
    reopens a waiting ticket) unless --status says where the ticket goes (a
    status key or label: pending, "In attesa"). A reply that begins with - is
    text when it holds a space ("- step one"); before any other, put --
    (ticketcli comment 42 -- -1). Ids may be written #42.

    \b
    Examples:
      ticketcli comment 42 "Could you send the log?" --status pending
      ticketcli comment "#42" "- step one: unplug it"
      ticketcli comment 42 --internal "Supplier says Tuesday"
      ticketcli comment 42 --body-file reply.txt --attach fix.patch
      ticketcli list --status pending --format ids | ticketcli comment - --body "Any news?"
    """
    words = list(args)
    text: str | None = None
    if body is None and body_file is None:
        if len(words) < 2:
            raise UsageError(msg("give the comment as TEXT, --body TEXT or --body-file PATH"))
        text = words.pop()
    elif body is not None:
        text = body
    if body_file == "-" and "-" in words:
        raise UsageError(msg("stdin cannot hold both the ids and the comment"))
    message = body_from(c, text, body_file, "comment", required=True)
    assert message is not None
    ids = parse_ids(c, words)
    files = read_attachments(c, attach)
    store = c.store()
    actor = c.actor()
    confirm(c, len(ids), msg("Comment on"), yes or dry_run)

    def act(ticket_id: int) -> Change | None:
        return tickets.comment(store, actor, c.now_iso(), ticket_id, body=message,
                               internal=internal, status=status, files=files,
                               if_status=if_status, limits=c.limits)

    with store.rehearsal(dry_run):
        return run_each(c, ids, act, dry_run=dry_run, done=msg("commented"))


def set_status(
    c: Context,
    args: Annotated[
        list[str],
        typer.Argument(metavar="ID... STATUS", autocompletion=complete.ids_then_status,
                       help="Ticket numbers (- reads them from stdin), then the status (key or "
                            "label)."),
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
) -> int:
    """Move tickets to another status, as the workflow allows for your role.

    The status may be given by key or by its label in English or Italian,
    in any case and with or without accents (solved, Risolto, "in attesa").

    \b
    Examples:
      ticketcli set-status 42 solved
      ticketcli set-status 42 resolved --resolution out_of_scope --note "Needs a quote"
      ticketcli set-status 42 open --if-status pending
      ticketcli list --status pending --format ids | ticketcli set-status - solved --yes
    """
    if len(args) < 2:
        raise UsageError(msg("give one or more ticket ids and then the status"))
    *words, target = args
    ids = parse_ids(c, words)
    store = c.store()
    actor = c.actor()
    confirm(c, len(ids), msg("Move to {status}", status=target), yes or dry_run)

    def act(ticket_id: int) -> Change | None:
        return tickets.set_status(store, actor, c.now_iso(), ticket_id, target,
                                  resolution=resolution, note=note, if_status=if_status)

    with store.rehearsal(dry_run):
        return run_each(c, ids, act, dry_run=dry_run, done=_already(target, note, resolution))


def _already(status: str, note: str | None, resolution: str | None) -> str:
    """What set-status says of a ticket that already has the status: the note and the
    resolution given with it are not applied, and it says so rather than drop them."""
    if note is not None and resolution is not None:
        return msg("already {status}; the note was not added; the resolution was not "
                   "changed", status=status)
    if note is not None:
        return msg("already {status}; the note was not added", status=status)
    if resolution is not None:
        return msg("already {status}; the resolution was not changed", status=status)
    return msg("already {status}", status=status)


# -- one change over many tickets ------------------------------------------------------


def confirm(c: Context, count: int, what: str, yes: bool) -> None:
    if yes or count <= CONFIRM_ABOVE or not c.is_tty:
        return
    # Unbuffered bytes: a terminal is not seekable, which a text file opened "r+" needs.
    try:
        with open("/dev/tty", "rb+", buffering=0) as tty:
            tty.write(c.text(msg("{what} {count} tickets? [y/N] ", what=what,
                                 count=count)).encode())
            answer = tty.readline(100).decode(errors="replace").strip().lower()
    except OSError:
        raise UsageError(msg("{what} {count} tickets needs --yes when there is no terminal "
                             "to ask", what=what, count=count)) from None
    if answer not in ("y", "yes", "s", "si", "sì"):
        raise UsageError(msg("cancelled; nothing was changed"))


def run_each(c: Context, ids: Sequence[int], action: Callable[[int], Change | None],
             *, dry_run: bool, done: str) -> int:
    """Apply ``action`` to each id and report per ticket; the exit code: 0 when all
    succeeded, else the failures' common code (1 when they differ)."""
    if len(ids) == 1 and not dry_run:
        change = action(ids[0])
        report_change(c, ids[0], change, done)
        return ExitCode.OK
    failed = 0
    codes: set[int] = set()  # what the failures were: their codes, not every error kept
    for ticket_id in ids:
        try:
            change = action(ticket_id)
        except TicketError as e:
            failed += 1
            codes.add(int(e.code))
            c.out(f"{ticket_id}\tfailed\t{e.message}\n")
            continue
        if change is None:
            c.out(f"{ticket_id}\tok\t{done}\n")
        else:
            c.out(f"{ticket_id}\tok\t{change.from_status} -> {change.to_status}\n")
    ok = len(ids) - failed
    c.say(msg("dry run: {ok} ok, {failed} failed.", ok=ok, failed=failed) if dry_run
          else msg("{ok} ok, {failed} failed.", ok=ok, failed=failed))
    if not codes:
        return ExitCode.OK
    return codes.pop() if len(codes) == 1 else ExitCode.ERROR


def report_change(c: Context, ticket_id: int, change: Change | None, done: str) -> None:
    if change is not None:
        c.say(msg("Ticket {id}: {source} → {target}.", id=change.id,
                  source=change.from_status, target=change.to_status))
    elif done:
        c.say(msg("Ticket {id}: {what}.", id=ticket_id, what=done))
