"""The bodies of the write commands ``open``, ``comment`` and ``set-status``.

Free of Typer: the Typer commands (commands/tickets.py) and the fast path
(fastpath.py) both call these, with the same keyword arguments and defaults.
Scripts call these commands in loops, so they start as fast as ``show``.

``comment`` and ``set-status`` take many ids (``-`` reads them from stdin):
each ticket is checked and changed in its own transaction; the output says
which succeeded and which failed and why, and the exit code is non-zero when
any failed (the failures' common code, else 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

from .context import Context
from .desk import tickets as uc
from .desk.tickets import Change
from .errors import ExitCode, TicketError, UsageError
from .inputs import body_from, read_attachments, read_text


def _fields(pairs: list[str] | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").replace("-", "").isalnum():
            raise UsageError(f"--field takes KEY=VALUE with a simple key, not {pair!r}")
        fields[key] = value
    return fields


def open_(c: Context, title: str, *, body: str | None = None, body_file: str | None = None,
          priority: str | None = None, category: str | None = None,
          requester: str | None = None, field: list[str] | None = None,
          attach: list[str] | None = None, follow_up: int | None = None) -> None:
    text = body_from(c, body, body_file, "description", required=False) or ""
    files = read_attachments(c, attach)
    store = c.store()
    ticket_id = uc.open_ticket(
        store, c.actor(), c.now_iso(), title=title, body=text, priority=priority,
        category=category, requester=requester, fields=_fields(field), files=files,
        follow_up=follow_up, limits=c.limits,
    )
    c.out(f"{ticket_id}\n")


def comment(c: Context, args: list[str], *, body: str | None = None,
            body_file: str | None = None, internal: bool = False, status: str | None = None,
            attach: list[str] | None = None, if_status: str | None = None,
            dry_run: bool = False, yes: bool = False) -> None:
    words = list(args)
    text: str | None = None
    if body is None and body_file is None:
        if len(words) < 2:
            raise UsageError("give the comment as TEXT, --body TEXT or --body-file PATH")
        text = words.pop()
    elif body is not None:
        text = body
    if body_file == "-" and "-" in words:
        raise UsageError("stdin cannot hold both the ids and the comment")
    message = body_from(c, text, body_file, "comment", required=True)
    assert message is not None
    ids = parse_ids(c, words)
    files = read_attachments(c, attach)
    store = c.store()
    actor = c.actor()
    confirm(c, len(ids), "Comment on", yes or dry_run)

    def act(ticket_id: int) -> Change | None:
        return uc.comment(store, actor, c.now_iso(), ticket_id, body=message,
                          internal=internal, status=status, files=files, if_status=if_status,
                          limits=c.limits)

    with store.rehearsal() if dry_run else nullcontext():
        run_each(c, ids, act, dry_run=dry_run, done="commented")


def set_status(c: Context, args: list[str], *, resolution: str | None = None,
               note: str | None = None, if_status: str | None = None, dry_run: bool = False,
               yes: bool = False) -> None:
    if len(args) < 2:
        raise UsageError("give one or more ticket ids and then the status")
    *words, status = args
    ids = parse_ids(c, words)
    store = c.store()
    actor = c.actor()
    confirm(c, len(ids), f"Move to {status}", yes or dry_run)

    def act(ticket_id: int) -> Change | None:
        return uc.set_status(store, actor, c.now_iso(), ticket_id, status,
                             resolution=resolution, note=note, if_status=if_status)

    with store.rehearsal() if dry_run else nullcontext():
        run_each(c, ids, act, dry_run=dry_run, done=_already(status, note, resolution))


def _already(status: str, note: str | None, resolution: str | None) -> str:
    """What set-status says of a ticket that already has the status: the note and the
    resolution given with it are not applied, and it says so rather than drop them."""
    unused = [what for what, value in (("the note was not added", note),
                                       ("the resolution was not changed", resolution))
              if value is not None]
    return "; ".join([f"already {status}", *unused])


# -- one change over many tickets ------------------------------------------------------

CONFIRM_ABOVE = 5


def parse_ids(c: Context, words: Sequence[str]) -> list[int]:
    """Ticket ids from the arguments; ``-`` reads whitespace-separated ids from stdin.

    Ids piped from a query that matched nothing (``list ... --format ids | set-status -
    solved``) are nothing to do, not an error: only ids missing from the command line
    itself are a usage error."""
    ids: list[int] = []
    for word in words:
        tokens = read_text(c, "-", "list of ids").split() if word == "-" else [word]
        for token in tokens:
            if not (token.isascii() and token.isdigit()) or int(token) <= 0:
                raise UsageError(f"{token!r} is not a ticket id (ids are positive numbers)")
            ids.append(int(token))
    if not ids and "-" not in words:
        raise UsageError("no ticket ids given")
    return list(dict.fromkeys(ids))


def confirm(c: Context, count: int, what: str, yes: bool) -> None:
    if yes or count <= CONFIRM_ABOVE or not c.is_tty:
        return
    # Unbuffered bytes: a terminal is not seekable, which a text file opened "r+" needs.
    try:
        with open("/dev/tty", "rb+", buffering=0) as tty:
            tty.write(f"{what} {count} tickets? [y/N] ".encode())
            answer = tty.readline(100).decode(errors="replace").strip().lower()
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
        raise SystemExit(code)


def report_change(c: Context, ticket_id: int, change: Change | None, done: str) -> None:
    if change is not None:
        c.say(f"Ticket {change.id}: {change.from_status} → {change.to_status}.")
    elif done:
        c.say(f"Ticket {ticket_id}: {done}.")
