"""import and export: move a whole desk in or out as JSON Lines (or CSV in)."""

from __future__ import annotations

from ..errors import UsageError
from ..files import reading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Annotated

    import typer

    from ..context import Context
    from .params import FormatOption


def _open_source(path: str, stdin: IO[str]) -> IO[bytes]:
    if path == "-":
        stream = getattr(stdin, "buffer", None)
        if stream is None:
            raise UsageError("stdin is not a byte stream; pass a FILE instead of -")
        return stream  # type: ignore[no-any-return]
    import os

    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory, not a file to import")
    with reading(path, "import file"):
        return open(path, "rb")


def import_(
    c: Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="JSONL or CSV file (- for stdin).")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", metavar="FORMAT",
                     help="jsonl or csv (default: from the file name, else from its content)."),
    ] = None,
    new_ids: Annotated[
        bool, typer.Option("--new-ids", help="Number imported tickets afresh instead of "
                           "keeping the file's numbers.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every record and report; import nothing.")
    ] = False,
) -> None:
    """Import tickets (admins only): all of the file, or nothing if any line is bad.

    JSONL is what 'ticketcli export' writes: organizations, people, and tickets
    with their comments, attachments and history. CSV has one ticket a row,
    with the columns of 'list --format csv' plus description, participants
    and field.KEY. Ticket numbers are kept unless --new-ids; statuses and
    priorities must exist in this desk's workflow. Each bad line is reported
    on stderr as FILE:LINE: problem, and the command exits 2. The import is
    one transaction: other writers wait for it (a million tickets: about a
    minute and a half).

    \b
    Examples:
      ticketcli import backup.jsonl
      ticketcli import from-other-tool.csv --new-ids --dry-run
      ticketcli export | ticketcli --db copy.db import -
    """
    from ..desk.transfer import import_stream

    if fmt is not None and fmt not in ("jsonl", "csv"):
        raise UsageError(f"unknown import format {fmt!r}; choose jsonl or csv")
    store = c.store()
    actor = c.actor()
    name = "<stdin>" if file == "-" else file
    stream = _open_source(file, c.stdin)
    try:
        report = import_stream(store, actor, c.now_iso(), stream, fmt=fmt, source=name,
                               new_ids=new_ids, dry_run=dry_run, limits=c.limits)
    finally:
        if file != "-":
            stream.close()
    if report.errors:
        for e in report.errors:
            c.stderr.write(f"{name}:{e.line}: {e.message}\n")
        count = len(report.errors)
        raise UsageError(
            f"{count} bad line{'s' if count != 1 else ''} in {name} (first: line "
            f"{report.errors[0].line}); nothing was imported. Fix them and run it again"
        )
    verb = "Would import" if dry_run else "Imported"
    c.say(f"{verb} {report.tickets} ticket(s) with {report.comments} comment(s) from {name}; "
          f"{report.people_created} new people, {report.orgs_created} new organization(s).")


def export(
    c: Context,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="PATH",
                     help="Write to this file (replaced only when complete; default: stdout)."),
    ] = None,
) -> None:
    """Export tickets as JSON Lines, with every field, comments, attachments and history.

    Staff export the whole desk, people and organizations included; a customer
    exports the tickets they can see, as 'show' shows them. The output
    re-imports with 'ticketcli import'.

    \b
    Examples:
      ticketcli export > backup.jsonl
      ticketcli export --output backup.jsonl
      ticketcli export | ticketcli --db copy.db import -
    """
    from ..desk.transfer import export_records, write_jsonl

    store = c.store()
    records = export_records(store, c.actor(), c.now_iso())
    try:
        if output is None or output == "-":
            count = write_jsonl(records, c.stdout.write)
            c.stdout.flush()
        else:
            from ..files import replace_file

            count = replace_file(output, lambda fh: write_jsonl(records, fh.write))
    finally:
        records.close()  # its read transaction ends here, whatever happened
    c.say(f"Exported {count} ticket(s).")


def migrate_db(
    c: Context,
    to: Annotated[
        str,
        typer.Option("--to", metavar="URL|PATH",
                     help="The empty database to copy the desk into: a SQLite file or "
                          "postgresql://..."),
    ],
    fmt: FormatOption = None,
) -> None:
    """Copy the whole desk into another database (admins only), ids kept.

    Tickets, people, organizations, comments, attachments, history, the outbox,
    mail ids, templates and settings go into an empty target, from SQLite to
    PostgreSQL or back. Every table's rows and checksum are compared on both
    sides before the copy commits; a difference keeps nothing. Prints each
    table's rows and checksum. The desk is read as of one moment: writers go
    on meanwhile, and what they write after it is not copied.

    \b
    Examples:
      ticketcli migrate-db --to postgresql://desk@db.example.com/helpdesk
      ticketcli --db postgresql:///helpdesk migrate-db --to backup.db --format json
    """
    from ..desk.transfer.migrate import migrate
    from ..output import check_format, render_rows

    check_format(fmt)
    if not to:
        raise UsageError("--to needs a database: a file path or postgresql://...")
    store = c.store()
    summary = migrate(store, c.actor(), to, c.busy_timeout)
    chosen = c.format(fmt)
    if chosen == "json":
        from ..jsontext import dumps

        c.out(dumps(summary, indent=2) + "\n")
    else:
        records = [{"table": t, "rows": v["rows"], "checksum": v["checksum"]}
                   for t, v in summary.items()]
        c.out(render_rows(records, ["table", "rows", "checksum"], chosen, lang=c.lang))
    total = sum(int(str(v["rows"])) for v in summary.values())
    c.say(f"Copied {total} rows in {len(summary)} tables; every count and checksum matches.")
