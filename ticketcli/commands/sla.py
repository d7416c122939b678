"""Service levels: ``sla check`` (from cron) and ``report``."""

from __future__ import annotations

from ..clock import parse
from ..errors import UsageError
from ..output import check_format, render_rows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated, Any

    import typer

    from ..context import Context
    from ..store import Store
    from .params import FormatOption

REPORT_FORMATS = ("table", "json", "csv")
REPORT_COLUMNS = [
    "key", "opened", "solved", "reopened", "backlog", "first_response_median_s",
    "first_response_p90_s", "resolution_median_s", "resolution_p90_s",
    "sla_met_first_response", "sla_met_next_reply", "sla_met_resolution",
]


def _refuse_customers(store: Store, email: str) -> None:
    """sla check works for the desk (history records no person): cron may run it under
    any name but a customer's (as close-stale; its module costs more to import)."""
    from ..errors import PermissionDenied
    from ..text import check_email

    user = store.people.user_by_email(check_email(email))
    if user is not None and not user.staff:
        raise PermissionDenied(f"only agents and admins may run sla check; {user.email} "
                               "is a customer")


def sla_check(
    c: Context,
    now: Annotated[
        str | None, typer.Option("--now", metavar="ISO-8601",
                                 help="Judge due times as of this time (default: now; "
                                      "a time without zone is UTC).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be recorded; write nothing.")
    ] = False,
    fmt: FormatOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing on success.")] = False,
) -> None:
    """Record service-level warnings and breaches that are due; safe to run from cron.

    Each warning and breach is recorded once per ticket, target and cycle, even
    when runs overlap; a breach applies the policy's on_breach and queues a
    notice to the assignee (or every agent). Nothing due is success.

    \b
    Examples:
      ticketcli sla check --quiet
      ticketcli sla check --dry-run --format json
      ticketcli sla check --now 2026-12-01T09:00:00Z
    """
    from ..desk import sla as uc

    check_format(fmt)
    moment = parse(now) if now is not None else c.now()
    store = c.store()
    _refuse_customers(store, c.actor_email())
    found = uc.check(store, moment, dry_run=dry_run)
    if quiet:
        return
    records = [{"ticket": f.ticket, "target": f.target, "event": f.event, "due_at": f.due_at,
                "actions": f.actions} for f in found]
    fmt = c.format(fmt)
    c.out(render_rows(records, ["ticket", "target", "event", "due_at", "actions"], fmt,
                      lang=c.lang, wf=store.workflow()))
    if fmt == "table":
        verb = "would record" if dry_run else "recorded"
        breached = sum(f.event == "breached" for f in found)
        c.say(f"sla check {verb} {breached} breach(es) and {len(found) - breached} "
              "warning(s).")


def report(
    c: Context,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE",
                                 help="Start of the period (default: 30 days before --until).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="DATE",
                                 help="End of the period, not included (default: now).")
    ] = None,
    by: Annotated[
        str, typer.Option("--by", metavar="GROUP",
                          help="week, month, agent, priority, category or organization.")
    ] = "week",
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", metavar="FORMAT",
                                 help="table, json or csv (default: table on a terminal, "
                                      "tab-separated rows otherwise).")
    ] = None,
    chart: Annotated[
        bool, typer.Option("--chart", help="On a terminal, also draw opened against solved "
                                           "and the backlog.")
    ] = False,
) -> None:
    """How the desk did: opened, solved, reopened, backlog, response and resolution
    times, and the share of service-level targets met; staff only.

    Times are in seconds: business seconds where a policy's calendar applies,
    wall seconds otherwise (docs/SLA.md says how each figure is counted).

    \b
    Examples:
      ticketcli report
      ticketcli report --since 2026-01-01 --until 2027-01-01 --by month --format json
      ticketcli report --by agent --format csv > agents.csv
      ticketcli report --by week --chart
    """
    from datetime import timedelta

    from ..desk import report as uc

    if fmt is not None and fmt not in REPORT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; report takes: {', '.join(REPORT_FORMATS)}")
    end = parse(until) if until is not None else c.now()
    start = parse(since) if since is not None else end - timedelta(days=30)
    store = c.store()
    result = uc.report(store, c.actor(), start, end, by)
    fmt = c.format(fmt)
    if fmt == "json":
        from ..jsontext import dumps

        c.out(dumps({"since": result.since, "until": result.until, "by": result.by,
                     "groups": result.groups}, indent=2) + "\n")
        return
    rows = [_flat(g) for g in result.groups]
    if fmt == "table":
        c.out(render_rows([_readable(r) for r in rows], ["group", *REPORT_COLUMNS[1:]],
                          "table", lang=c.lang,
                          width=c.columns))
        if chart and c.is_tty:
            c.out(_chart(result.groups, by, c.columns or 100))
        return
    c.out(render_rows(rows, REPORT_COLUMNS, fmt))


def _flat(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": g["key"], "opened": g["opened"], "solved": g["solved"],
        "reopened": g["reopened"], "backlog": g["backlog"],
        "first_response_median_s": g["first_response"]["median_s"],
        "first_response_p90_s": g["first_response"]["p90_s"],
        "resolution_median_s": g["resolution"]["median_s"],
        "resolution_p90_s": g["resolution"]["p90_s"],
        **{f"sla_met_{k}": v for k, v in g["sla_met"].items()},
    }


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(int(seconds), 3600)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{rest // 60:02d}m"


def _readable(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    key = out.pop("key")
    out["group"] = "-" if key is None else key
    for k, v in r.items():
        if k.endswith("_s"):
            out[k] = _duration(v)
        elif k.startswith("sla_met_"):
            out[k] = "-" if v is None else f"{100 * v:.0f}%"
    return out


def _chart(groups: list[dict[str, Any]], by: str, width: int) -> str:
    """Opened against solved per group, and the backlog, drawn for a terminal."""
    import plotext as plt

    labels = ["-" if g["key"] is None else str(g["key"]) for g in groups]
    if not labels:
        return ""
    xs = list(range(1, len(labels) + 1))
    step = max(1, len(labels) // 8)
    plt.clear_figure()
    plt.plotsize(min(width, 160), 24)
    plt.theme("clear")
    plt.subplots(2, 1)
    plt.subplot(1, 1)
    plt.title(f"Opened and solved per {by}")
    plt.multiple_bar(xs, [[g["opened"] for g in groups], [g["solved"] for g in groups]],
                     labels=["opened", "solved"])
    plt.xticks(xs[::step], labels[::step])
    plt.subplot(2, 1)
    plt.title("Backlog")
    plt.plot(xs, [g["backlog"] for g in groups], marker="braille")
    plt.xticks(xs[::step], labels[::step])
    return str(plt.build()) + "\n"
