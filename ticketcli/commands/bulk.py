"""Running one change over many tickets: ids from arguments or stdin, one report.

Each ticket is checked and changed in its own transaction; the output says
which succeeded and which failed and why, and the exit code is non-zero when
any failed (the failures' common code, else 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import typer

from ..context import Context
from ..errors import ExitCode, TicketError, UsageError
from ..tickets import Change
from . import read_text

CONFIRM_ABOVE = 5


def parse_ids(c: Context, words: Sequence[str]) -> list[int]:
    """Ticket ids from the arguments; ``-`` reads whitespace-separated ids from stdin."""
    ids: list[int] = []
    for word in words:
        tokens = read_text(c, "-", "list of ids").split() if word == "-" else [word]
        for token in tokens:
            if not (token.isascii() and token.isdigit()) or int(token) <= 0:
                raise UsageError(f"{token!r} is not a ticket id (ids are positive numbers)")
            ids.append(int(token))
    if not ids:
        raise UsageError("no ticket ids given")
    return list(dict.fromkeys(ids))


def confirm(c: Context, count: int, what: str, yes: bool) -> None:
    if yes or count <= CONFIRM_ABOVE or not c.is_tty:
        return
    try:
        with open("/dev/tty", "r+") as tty:
            tty.write(f"{what} {count} tickets? [y/N] ")
            tty.flush()
            answer = tty.readline().strip().lower()
    except OSError:
        raise UsageError(
            f"{what} {count} tickets needs --yes when there is no terminal to ask"
        ) from None
    if answer not in ("y", "yes"):
        raise UsageError("cancelled; nothing was changed")


def run_each(c: Context, ids: Sequence[int], action: Callable[[int], Change | None],
             *, dry_run: bool, done: str) -> None:
    """Apply ``action`` to each id; report per ticket; exit non-zero if any failed."""
    if len(ids) == 1 and not dry_run:
        change = action(ids[0])
        report_change(c, ids[0], change, done)
        return
    failures: list[TicketError] = []
    for ticket_id in ids:
        try:
            change = action(ticket_id)
        except TicketError as e:
            failures.append(e)
            c.out(f"{ticket_id}\tfailed\t{e.message}\n")
            continue
        if change is None:
            c.out(f"{ticket_id}\tok\t{done}\n")
        else:
            c.out(f"{ticket_id}\tok\t{change.from_status} -> {change.to_status}\n")
    prefix = "dry run: " if dry_run else ""
    c.say(f"{prefix}{len(ids) - len(failures)} ok, {len(failures)} failed.")
    if failures:
        codes = {int(e.code) for e in failures}
        code = codes.pop() if len(codes) == 1 else int(ExitCode.ERROR)
        raise typer.Exit(code)


def report_change(c: Context, ticket_id: int, change: Change | None, done: str) -> None:
    if change is not None:
        c.say(f"Ticket {change.id}: {change.from_status} → {change.to_status}.")
    elif done:
        c.say(f"Ticket {ticket_id}: {done}.")
