"""workflow: show, export, validate and import the stored workflow as TOML."""

from __future__ import annotations

from ..desk import workflows as uc
from ..errors import ConfigError
from ..output import check_format, render_rows
from ..workflow import Workflow, format_duration, load, problems
from .inputs import read_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated, Any

    import typer

    from ..context import Context
    from .params import FormatOption



def _checked(c: Any, path: str) -> Workflow:
    text = read_text(c, "-", "workflow") if path == "-" else None
    data = uc.read_document(path, text)
    found = problems(data)
    if found:
        for problem in found:
            c.say(f"{path}: {problem}")
        raise ConfigError(f"{path}: {len(found)} problem(s) in the workflow; nothing changed")
    return load(data, path)


def workflow_show(c: Context, fmt: FormatOption = None) -> None:
    """Show the stored workflow: statuses with phase and labels, moves, replies, stale rules.

    \b
    Examples:
      ticketcli workflow show
      ticketcli workflow show --format json
    """
    check_format(fmt)
    wf = c.store().workflow()
    if fmt in ("json", "jsonl"):
        from ..jsontext import dumps

        c.out(dumps(wf.to_dict(), indent=2 if fmt == "json" else None)
              + "\n")
        return
    records = [
        {"status": s.key, "phase": s.phase, "final": s.final, "en": s.labels.get("en"),
         "it": s.labels.get("it"),
         "moves": ", ".join(f"{side}: {'/'.join(wf.manual_targets(side, s.key))}"
                            for side in ("agent", "requester")
                            if wf.manual_targets(side, s.key))}
        for s in wf.statuses.values()
    ]
    out_fmt = c.format(fmt)
    c.out(render_rows(records, ["status", "phase", "final", "en", "it", "moves"], out_fmt,
                      lang=c.lang))
    if out_fmt == "table":
        priorities = ", ".join(f"{p} ({wf.priority_label(p, c.lang)})" for p in wf.priorities)
        lines = [f"\n{wf.name}: {wf.description}", f"initial: {wf.initial}; priorities: "
                 f"{priorities}; sharing: {wf.sharing}; unregistered requesters: "
                 f"{'allowed' if wf.allow_unregistered else 'refused'}"]
        for r in wf.replies:
            lines.append(f"reply by {r.by} in {', '.join(sorted(r.statuses))} -> {r.to}")
        for rule in wf.stale:
            remind = (f", remind after {format_duration(rule.remind_after)}"
                      if rule.remind_after else "")
            lines.append(f"stale: {', '.join(rule.sources)} idle {format_duration(rule.after)} "
                         f"({rule.since}) -> {rule.to}{remind}")
        c.out("\n".join(lines) + "\n")


def workflow_export(
    c: Context,
    file: Annotated[str | None, typer.Argument(metavar="[FILE]",
                                               help="Write here (default: stdout).")] = None,
) -> None:
    """Export the stored workflow as TOML, to edit and import again.

    \b
    Examples:
      ticketcli workflow export > desk.toml
      ticketcli workflow export desk.toml
    """
    from ..files import write_atomically

    text = uc.to_toml(c.store().workflow())
    if file is None or file == "-":
        c.out(text)
    else:
        write_atomically(file, text)
        c.say(f"Wrote {file}.")


def workflow_validate(
    c: Context, file: Annotated[str, typer.Argument(metavar="FILE")]
) -> None:
    """Check a workflow file; every problem is listed with its location (exit 78).

    \b
    Examples:
      ticketcli workflow validate desk.toml
    """
    wf = _checked(c, file)
    c.say(f"{file}: workflow {wf.name!r} is valid ({len(wf.statuses)} statuses).")


def workflow_import(
    c: Context,
    file: Annotated[str, typer.Argument(metavar="FILE")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="OLD=NEW",
                     help="Move tickets from a status the new workflow lacks (repeatable)."),
    ] = None,
) -> None:
    """Replace the stored workflow with a TOML file (admins only).

    Refused when tickets would be left in a status the new workflow lacks,
    unless --map says where they go.

    \b
    Examples:
      ticketcli workflow import desk.toml
      ticketcli workflow import desk.toml --map on_hold=pending
    """
    wf = _checked(c, file)
    store = c.store()
    moved = uc.import_workflow(store, c.actor(), c.now_iso(), wf, uc.parse_mapping(map_ or []))
    for old, n in moved.items():
        c.say(f"Moved {n} ticket(s) from {old}.")
    c.say(f"Workflow {wf.name!r} imported.")
