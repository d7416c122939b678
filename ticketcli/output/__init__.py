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
from .table import safe

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

HEADERS: dict[str, dict[str, str]] = {
    "en": {
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
        "state": "State", "due": "Due", "sla": "Service levels",
        "first_response": "First response", "next_reply": "Next reply",
        "resolution_target": "Resolution", "met": "met", "breached": "BREACHED",
        "paused": "paused", "policy": "Policy", "key": "Group", "opened": "Opened",
        "solved": "Solved", "reopened": "Reopened", "backlog": "Backlog",
        "first_response_median_s": "1st reply (median)", "first_response_p90_s": "(p90)",
        "resolution_median_s": "Resolution (median)", "resolution_p90_s": "(p90)",
        "sla_met_first_response": "Met: 1st reply", "sla_met_next_reply": "next reply",
        "sla_met_resolution": "resolution", "ticket": "Ticket", "target": "Target",
        "due_at": "Due", "actions": "Actions",
    },
    "it": {
        "id": "ID", "title": "Titolo", "status": "Stato", "phase": "Fase",
        "priority": "Priorità", "category": "Categoria", "requester": "Richiedente",
        "assignee": "Assegnatario", "organization": "Organizzazione",
        "resolution": "Risoluzione", "created_at": "Creato", "updated_at": "Aggiornato",
        "from": "Da", "to": "A", "email": "Email", "name": "Nome", "role": "Ruolo",
        "manager": "Capoprogetto", "members": "Membri", "description": "Descrizione",
        "participants": "Partecipanti", "comments": "Commenti", "history": "Cronologia",
        "attachments": "Allegati", "follow_up_of": "Seguito di", "fields": "Campi",
        "internal": "nota interna", "system": "(automatico)", "size": "Dimensione",
        "sha256": "SHA-256", "at": "Quando", "actor": "Chi", "event": "Evento",
        "detail": "Dettaglio", "check": "Controllo", "state": "Esito", "due": "Scadenza",
        "sla": "Livelli di servizio", "first_response": "Prima risposta",
        "next_reply": "Risposta successiva", "resolution_target": "Risoluzione",
        "met": "rispettato", "breached": "MANCATO", "paused": "in pausa",
        "policy": "Politica", "key": "Gruppo", "opened": "Aperti", "solved": "Risolti",
        "reopened": "Riaperti", "backlog": "Arretrato",
        "first_response_median_s": "1ª risposta (mediana)", "first_response_p90_s": "(p90)",
        "resolution_median_s": "Risoluzione (mediana)", "resolution_p90_s": "(p90)",
        "sla_met_first_response": "Rispettati: 1ª risposta",
        "sla_met_next_reply": "risp. successiva", "sla_met_resolution": "risoluzione",
        "ticket": "Ticket", "target": "Obiettivo", "due_at": "Scadenza", "actions": "Azioni",
    },
}

LIST_COLUMNS = ["id", "status", "priority", "requester", "assignee", "updated_at", "title"]
MACHINE_COLUMNS = [
    "id", "title", "status", "phase", "priority", "category", "requester", "assignee",
    "organization", "resolution", "follow_up_of", "created_at", "updated_at",
]
TIME_KEYS = ("created_at", "updated_at", "at")


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
         "to": h.to_status, "detail": h.detail}
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


def _table_cell(value: Any, key: str, wf: Workflow | None, lang: str) -> str:
    if key in ("status", "from", "to") and wf is not None and isinstance(value, str):
        status = wf.statuses.get(value)
        return status.label(lang) if status else value
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
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in records:
            writer.writerow([_cell(r.get(c)) for c in columns])
        return buf.getvalue()
    if fmt in ("tsv", PLAIN):
        lines = [] if fmt == PLAIN else ["\t".join(columns)]
        lines += ["\t".join(_tsv_cell(r.get(c)) for c in columns) for r in records]
        return "".join(line + "\n" for line in lines)
    if not records:
        return ""
    from .table import clip, render

    headers = [HEADERS[lang].get(c, c) for c in columns]
    rows = [[_table_cell(r.get(c), c, wf, lang) for c in columns] for r in records]
    flex = list(columns).index("title") if "title" in columns else None
    if width is None and flex is not None:
        rows = [[*r[:flex], clip(r[flex], 60), *r[flex + 1:]] for r in rows]
    return render(headers, rows, columns=width, flex=flex)


def render_details(d: Details, fmt: str, *, lang: str, wf: Workflow,
                   fields: Sequence[str] | None = None,
                   sla: dict[str, Any] | None = None) -> str:
    record = pick(details_record(d, sla), fields)
    if fields is not None and fmt in ("table", "csv", "tsv", PLAIN):
        return render_rows([record], fields, fmt, lang=lang, wf=wf)
    if fmt == "json":
        return _json(record, 2) + "\n"
    if fmt == "jsonl":
        return _json(record) + "\n"
    if fmt in ("csv", "tsv", "ids", PLAIN):
        return render_rows([record], fields or MACHINE_COLUMNS, fmt)
    return safe(_details_table(d, lang, wf, sla))


def _sla_lines(sla: dict[str, Any], h: dict[str, str]) -> list[str]:
    """The service-level section of ``show`` on a terminal."""
    out = ["", f"{h['sla']}: {h['policy'].lower()} {sla['policy']}"
           + (f" ({sla['calendar']})" if sla.get("calendar") else "")]
    for name, label in (("first_response", h["first_response"]),
                        ("next_reply", h["next_reply"]),
                        ("resolution", h["resolution_target"])):
        t = sla.get(name)
        if t is None:
            continue
        parts = []
        if t["due_at"]:
            parts.append(f"{h['due'].lower()} {local(t['due_at'])}")
        if t["met_at"]:
            parts.append(f"{h['met']} {local(t['met_at'])}")
        if t["paused"]:
            parts.append(h["paused"])
        if t["breached"]:
            parts.append(h["breached"])
        out.append(f"  {label}: {', '.join(parts) or '-'}")
    return out


def _details_table(d: Details, lang: str, wf: Workflow,
                   sla: dict[str, Any] | None = None) -> str:
    h = HEADERS[lang]
    t = d.ticket
    status = wf.statuses.get(t.status)
    out = [f"#{t.id}  {t.title}", ""]
    facts = [
        (h["status"], f"{status.label(lang) if status else t.status} ({t.status})"),
        (h["priority"], t.priority),
        (h["category"], t.category),
        (h["requester"], t.requester),
        (h["assignee"], t.assignee),
        (h["organization"], t.organization),
        (h["resolution"], t.resolution),
        (h["follow_up_of"], f"#{t.follow_up_of}" if t.follow_up_of else None),
        (h["created_at"], local(t.created_at)),
        (h["updated_at"], local(t.updated_at)),
        (h["participants"], ", ".join(d.participants) or None),
    ]
    facts += [(k, v) for k, v in sorted(t.fields.items())]
    width = max(len(k) for k, _ in facts)
    out += [f"{k + ':':<{width + 1}} {v}" for k, v in facts if v]
    if sla is not None:
        out += _sla_lines(sla, h)
    if t.description:
        out += ["", h["description"] + ":", *("  " + line for line in t.description.splitlines())]
    if d.attachments:
        out += ["", h["attachments"] + ":"]
        out += [f"  [{a.id}] {a.name}  {a.size} B  sha256:{a.sha256[:12]}" for a in d.attachments]
    if d.comments:
        out += ["", h["comments"] + ":"]
        for c in d.comments:
            tag = f" ({h['internal']})" if c.internal else ""
            out.append(f"  {local(c.created_at)}  {c.author}{tag}")
            out += ["    " + line for line in c.body.splitlines()]
    if d.history:
        out += ["", h["history"] + ":"]
        for e in d.history:
            move = ""
            if e.to_status:
                labels = [
                    wf.statuses[s].label(lang) if s in wf.statuses else s
                    for s in (e.from_status, e.to_status) if s
                ]
                move = " → ".join(labels)
            extra = ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items()) if k != "comment")
            who = e.actor or h["system"]
            out.append(f"  {local(e.at)}  {who}  {e.event}  {move}  {extra}".rstrip())
    return "\n".join(out) + "\n"
