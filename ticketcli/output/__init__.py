"""One renderer for every format: table, json, jsonl, csv, tsv, ids (tables in
:mod:`.table`).

Machine formats use keys and ISO-8601 UTC stamps; tables use labels in the
user's language and compact local times. When stdout is not a terminal and no
format was asked for, rows come out tab-separated with no header.
"""

from __future__ import annotations

from ..clock import local
from ..errors import UsageError
from ..jsontext import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..desk.tickets import Details
    from ..store import Ticket
    from ..workflow import Workflow

FORMATS = ("table", "json", "jsonl", "csv", "tsv", "ids")
PLAIN = "plain"  # the non-terminal default: TSV without a header


def check_format(fmt: str | None) -> str | None:
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return fmt

# Column and field names for people, in English: other languages come from the catalog.
HEADERS: dict[str, str] = {
    "id": "ID", "title": "Title", "status": "Status", "phase": "Phase",
    "priority": "Priority", "category": "Category", "requester": "Requester",
    "assignee": "Assignee", "organization": "Organization", "resolution": "Resolution",
    "created_at": "Created", "updated_at": "Updated", "from": "From", "to": "To",
    "email": "Email", "name": "Name", "role": "Role", "manager": "Manager",
    "members": "Members", "description": "Description", "participants": "Participants",
    "comments": "Comments", "history": "History", "attachments": "Attachments",
    "follow_up_of": "Follow-up of", "fields": "Fields", "internal": "internal note",
    "system": "(automatic)", "size": "Size", "sha256": "SHA-256", "at": "When",
    "actor": "Who", "event": "Event", "detail": "Detail", "check": "Check",
    "state": "State", "ticket": "Ticket", "comment": "Comment", "uploader": "Uploader",
    "enabled": "On", "default": "Default", "login": "Login", "disabled": "Disabled",
    "key": "Key", "value": "Value", "received_at": "Received",
    "subject": "Subject", "reason": "Reason", "due": "Due", "sla": "Service levels",
    "first_response": "First response", "next_reply": "Next reply",
    "resolution_target": "Resolution", "met": "met", "breached": "BREACHED",
    "paused": "paused", "policy": "Policy", "group": "Group", "opened": "Opened",
    "solved": "Solved", "reopened": "Reopened", "backlog": "Backlog",
    "first_response_median_s": "1st reply (median)", "first_response_p90_s": "(p90)",
    "resolution_median_s": "Resolution (median)", "resolution_p90_s": "(p90)",
    "sla_met_first_response": "Met: 1st reply", "sla_met_next_reply": "next reply",
    "sla_met_resolution": "resolution", "target": "Target", "due_at": "Due",
    "actions": "Actions",
}


def header(key: str, lang: str) -> str:
    """The name of a column or field for people, in ``lang``."""
    text = HEADERS.get(key)
    if text is None:
        return key
    from ..i18n import pgettext

    return pgettext(lang, "header", text)


LIST_COLUMNS = ["id", "status", "priority", "requester", "assignee", "updated_at", "title"]
MACHINE_COLUMNS = [
    "id", "title", "status", "phase", "priority", "category", "requester", "assignee",
    "organization", "resolution", "follow_up_of", "created_at", "updated_at",
]
TIME_KEYS = ("created_at", "updated_at", "at", "received_at")


def ticket_record(t: Ticket) -> dict[str, Any]:
    """The stable JSON shape of a ticket in lists."""
    return {
        "id": t.id,
        "title": t.title,
        "status": t.status,
        "phase": t.phase,
        "priority": t.priority,
        "category": t.category,
        "requester": t.requester,
        "assignee": t.assignee,
        "organization": t.organization,
        "resolution": t.resolution,
        "follow_up_of": t.follow_up_of,
        "fields": t.fields,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def with_sla(record: dict[str, Any],
             level: tuple[str | None, bool] | None) -> dict[str, Any]:
    """A list record with its service levels: the earliest due time among unmet
    targets and whether any target was breached (no clocks: null and false)."""
    record["sla_due_at"] = level[0] if level else None
    record["sla_breached"] = level[1] if level else False
    return record


def due_cell(due: str | None, breached: bool) -> str:
    """The due column of a list on a terminal: local time, ``!`` when breached."""
    text = local(due) if due else ""
    return f"{text} !".strip() if breached else text


def details_record(d: Details, sla: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON shape of ``show``: a ticket plus its conversation and history, and
    its service levels (``sla``: null when no policy applies)."""
    record = ticket_record(d.ticket)
    targets = [t for k, t in (sla or {}).items() if isinstance(t, dict)]
    dues = [t["due_at"] for t in targets if t["due_at"] and t["met_at"] is None]
    with_sla(record, (min(dues, default=None), any(t["breached"] for t in targets))
             if sla else None)
    record["description"] = d.ticket.description
    record["participants"] = d.participants
    record["comments"] = [
        {"id": c.id, "author": c.author, "body": c.body, "internal": c.internal,
         "created_at": c.created_at}
        for c in d.comments
    ]
    record["attachments"] = [
        {"id": a.id, "name": a.name, "size": a.size, "sha256": a.sha256,
         "uploader": a.uploader, "created_at": a.created_at}
        for a in d.attachments
    ]
    record["history"] = [
        {"at": h.at, "actor": h.actor, "event": h.event, "from": h.from_status,
         "to": h.to_status, "detail": h.detail, "via": h.via}
        for h in d.history
    ]
    record["sla"] = sla
    return record


TICKET_FIELDS = [*MACHINE_COLUMNS, "fields", "sla_due_at", "sla_breached"]
DETAIL_FIELDS = [*MACHINE_COLUMNS, "fields", "description", "participants", "comments",
                 "attachments", "history", "sla"]


def parse_fields(spec: str | None, valid: Sequence[str]) -> list[str] | None:
    """The fields named by ``--fields a,b,c``, checked against ``valid``."""
    if spec is None:
        return None
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise UsageError(
            f"unknown field {', '.join(unknown) or repr(spec)}; valid fields: {', '.join(valid)}"
        )
    return list(dict.fromkeys(names))


def pick(record: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    return record if fields is None else {f: record.get(f) for f in fields}


def _json(value: Any, indent: int | None = None) -> str:
    return dumps(value, indent=indent)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return dumps(value, sort_keys=True)
    return str(value)


def _tsv_cell(value: Any) -> str:
    text = _cell(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace(
        "\r", "\\r"
    )


# A cell a spreadsheet would take for a formula (OWASP's list): it gets a leading "'".
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_QUOTED = frozenset(',"\r\n')


def _csv_cell(text: str) -> str:
    """One CSV cell (RFC 4180): a formula neutralised, quoted when it holds a comma, a
    quote or any line break (a lone CR too, which the csv module leaves bare)."""
    if text.startswith(_FORMULA):
        text = "'" + text
    if _QUOTED.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _csv_row(cells: Sequence[str]) -> str:
    if len(cells) == 1 and cells[0] == "":
        return '""\n'  # a row of one empty cell is not a blank line
    return ",".join(_csv_cell(c) for c in cells) + "\n"


def _table_cell(value: Any, key: str, wf: Workflow | None, lang: str) -> str:
    if key in ("status", "from", "to") and wf is not None and isinstance(value, str):
        status = wf.statuses.get(value)
        return status.label(lang) if status else value
    if key == "priority" and wf is not None and isinstance(value, str):
        return wf.priority_label(value, lang)
    if isinstance(value, bool):
        from ..i18n import gettext

        return gettext(lang, "yes" if value else "no")
    if key in TIME_KEYS and isinstance(value, str):
        return local(value)
    text = _cell(value)
    return " ".join(text.split()) if key != "id" else text


def render_rows(records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, *,
                lang: str = "en", wf: Workflow | None = None, width: int | None = None) -> str:
    """Render a list of records; returns text ending in a newline, or '' for nothing.
    A table fits in ``width`` cells (the terminal's) when it is known."""
    if fmt == "json":
        return _json(list(records), 2) + "\n"
    if fmt == "jsonl":
        return "".join(_json(r) + "\n" for r in records)
    if fmt == "ids":
        if "id" not in columns and not all("id" in r for r in records):
                    raise UsageError("--format ids needs the id field")
        return "".join(f"{r['id']}\n" for r in records)
    if fmt == "csv":
        lines = [_csv_row(columns)]
        lines += [_csv_row([_cell(r.get(c)) for c in columns]) for r in records]
        return "".join(lines)
    if fmt in ("tsv", PLAIN):
        lines = [] if fmt == PLAIN else ["\t".join(columns)]
        lines += ["\t".join(_tsv_cell(r.get(c)) for c in columns) for r in records]
        return "".join(line + "\n" for line in lines)
    if not records:
        return ""
    from .table import clip, render

    headers = [header(c, lang) for c in columns]
    rows = [[_table_cell(r.get(c), c, wf, lang) for c in columns] for r in records]
    flex = list(columns).index("title") if "title" in columns else None
    if width is None and flex is not None:
        rows = [[*r[:flex], clip(r[flex], 60), *r[flex + 1:]] for r in rows]
    # What a narrow terminal gives up first, before any column is cut: the year of
    # times, then the domain of addresses (anna@…).
    shorter = [(i, _without_year) for i, c in enumerate(columns) if c in TIME_KEYS]
    shorter += [(i, _local_part) for i, c in enumerate(columns) if c in EMAIL_KEYS]
    return render(headers, rows, columns=width, flex=flex, shorter=shorter)


EMAIL_KEYS = ("requester", "assignee", "manager", "uploader", "recipient")


def _without_year(text: str) -> str:
    """``2026-05-01 09:30`` as ``05-01 09:30``."""
    return text[5:] if len(text) == 16 and text[4] == "-" else text


def _local_part(text: str) -> str:
    """``anna@example.com`` as ``anna@…``."""
    local, at, _ = text.partition("@")
    return f"{local}@…" if at else text


def render_details(d: Details, fmt: str, *, lang: str, wf: Workflow,
                   fields: Sequence[str] | None = None, width: int | None = None,
                   sla: dict[str, Any] | None = None) -> str:
    """``show`` in a format; the readable page (``table``) wrapped to ``width`` cells."""
    record = pick(details_record(d, sla), fields)
    if fields is not None and fmt in ("table", "csv", "tsv", PLAIN):
        return render_rows([record], fields, fmt, lang=lang, wf=wf, width=width)
    if fmt == "json":
        return _json(record, 2) + "\n"
    if fmt == "jsonl":
        return _json(record) + "\n"
    if fmt in ("csv", "tsv", "ids", PLAIN):
        return render_rows([record], fields or MACHINE_COLUMNS, fmt)
    from .details import details_page

    return details_page(d, lang, wf, lambda key: header(key, lang), width, sla)
