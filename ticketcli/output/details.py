"""``show`` for a person: the ticket's page, its texts wrapped at word boundaries to the
terminal's width, its history told in words (no Python values, short hashes)."""

from __future__ import annotations

from ..clock import local
from ..i18n import gettext, pgettext
from .table import clip, safe, width, wrap_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..desk.tickets import Details
    from ..store import HistoryEntry
    from ..workflow import Workflow

HASH = 12  # hex digits of a sha256 shown to people
VALUE = 40  # cells of an edited value shown in the history

# What each history event is called on the page (gettext context "event").
EVENTS = {
    "opened": "opened", "status": "status", "comment": "comment", "note": "note",
    "attachment": "attachment", "shared": "shared", "unshared": "unshared",
    "assigned": "assigned", "follow_up": "follow-up", "reminder": "reminder",
    "edited": "edited",
}


# Why a status changed by itself (gettext context "reason").
REASONS = ("reply", "stale")


def event_name(event: str, lang: str) -> str:
    return pgettext(lang, "event", EVENTS[event]) if event in EVENTS else event


def details_page(d: Details, lang: str, wf: Workflow, header: Any,
                 cells: int | None = None, sla: dict[str, Any] | None = None) -> str:
    """The page ``show`` prints on a terminal; ``cells`` is the terminal's width (None:
    lines as long as they are). ``header(key)`` names a field in ``lang``."""
    t = d.ticket
    head = f"#{t.id}  "
    titled = wrap_lines(_one(t.title), None if cells is None else max(cells - width(head), 20))
    out = [head + titled[0], *(" " * width(head) + line for line in titled[1:])]
    out.append("")
    facts = [
        (header("status"), f"{wf.status_label(t.status, lang)} ({t.status})"),
        (header("priority"), wf.priority_label(t.priority, lang)),
        (header("category"), t.category),
        (header("requester"), t.requester),
        (header("assignee"), t.assignee),
        (header("organization"), t.organization),
        (header("resolution"), t.resolution),
        (header("follow_up_of"), f"#{t.follow_up_of}" if t.follow_up_of else None),
        (header("created_at"), local(t.created_at)),
        (header("updated_at"), local(t.updated_at)),
        (header("participants"), ", ".join(d.participants) or None),
    ]
    # A value is shown on the line of its name: a line break in it (a field
    # "phone=1\nAssignee: ...") cannot start a line of its own.
    facts += [(_one(k), v) for k, v in sorted(t.fields.items())]
    label = max(width(k) for k, _ in facts) + 2
    for k, v in facts:
        if not v:
            continue
        lines = wrap_lines(_one(v), None if cells is None else max(cells - label, 20))
        out.append(k + ":" + " " * (label - width(k) - 1) + lines[0])
        out += [" " * label + line for line in lines[1:]]
    if sla is not None:
        out += sla_lines(sla, header)
    if t.description:
        out += ["", header("description") + ":", *wrap_lines(t.description, cells, "  ")]
    if d.attachments:
        out += ["", header("attachments") + ":"]
        for a in d.attachments:
            out += wrap_lines(f"[{a.id}] {_one(a.name)} ({size(a.size)}, sha256 "
                              f"{a.sha256[:HASH]})", cells, "  ")
    if d.comments:
        out += ["", header("comments") + ":"]
        for c in d.comments:
            tag = f" ({header('internal')})" if c.internal else ""
            out.append(f"  {local(c.created_at)}  {c.author}{tag}")
            out += wrap_lines(c.body, cells, "    ")
    if d.history:
        out += ["", header("history") + ":"]
        for e in d.history:
            who = e.actor or header("system")
            what = " ".join(p for p in (event_name(e.event, lang),
                                        history_detail(e, lang, wf)) if p)
            out += wrap_lines(f"{local(e.at)}  {who}  {what}", cells, "  ")
    return safe("\n".join(out) + "\n")


def sla_lines(sla: dict[str, Any], header: Any) -> list[str]:
    """The service-level section of ``show``'s page."""
    out = ["", f"{header('sla')}: {header('policy').lower()} {sla['policy']}"
           + (f" ({sla['calendar']})" if sla.get("calendar") else "")]
    for name, label in (("first_response", header("first_response")),
                        ("next_reply", header("next_reply")),
                        ("resolution", header("resolution_target"))):
        target = sla.get(name)
        if target is None:
            continue
        parts = []
        if target["due_at"]:
            parts.append(f"{header('due').lower()} {local(target['due_at'])}")
        if target["met_at"]:
            parts.append(f"{header('met')} {local(target['met_at'])}")
        if target["paused"]:
            parts.append(header("paused"))
        if target["breached"]:
            parts.append(header("breached"))
        out.append(f"  {label}: {', '.join(parts) or '-'}")
    return out


def _one(value: object) -> str:
    """A value on one line: its line breaks and runs of spaces folded into one space."""
    return " ".join(str(value).split())


def size(n: int) -> str:
    """A size for people: 512 B, 48.2 kB, 3.1 MB."""
    if n < 1000:
        return f"{n} B"
    value = n / 1000
    for unit in ("kB", "MB"):
        if value < 999.95:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _text(value: Any) -> str:
    """A value in the history, never a Python repr."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return " ".join(str(value).split())


def history_detail(e: HistoryEntry, lang: str, wf: Workflow) -> str:
    """What a history entry did, in words: ``New → Open``, ``to marco@example.com``."""
    d = e.detail
    arrow = " → "
    if e.event in ("opened", "status"):
        parts = [arrow.join(wf.status_label(s, lang) for s in (e.from_status, e.to_status) if s)]
        if d.get("resolution"):
            parts.append(f"({gettext(lang, 'resolution')}: {d['resolution']})")
        if d.get("reason") in REASONS:
            parts.append(f"({pgettext(lang, 'reason', str(d['reason']))})")
        if d.get("follow_up_of"):
            parts.append(gettext(lang, "follows up") + f" #{d['follow_up_of']}")
        return " ".join(p for p in parts if p)
    if e.event == "assigned":
        old, new = d.get("from"), d.get("to")
        if new and old:
            return f"{old}{arrow}{new}"
        if new:
            return f"{gettext(lang, 'to')} {new}"
        return f"{gettext(lang, 'none')} ({gettext(lang, 'was')} {old})" if old else ""
    if e.event == "attachment":
        facts = size(int(d.get("size") or 0))
        if d.get("sha256"):
            facts += f", sha256 {str(d['sha256'])[:HASH]}"
        return f"{_text(d.get('name'))} ({facts})"
    if e.event in ("shared", "unshared"):
        return _text(d.get("user"))
    if e.event == "follow_up":
        return gettext(lang, "followed up by") + f" #{d.get('ticket')}"
    if e.event == "reminder":
        closes = local(str(d.get("closes_at", "")))
        return gettext(lang, "closes on") + f" {closes}" if closes else ""
    if e.event == "edited":
        field = str(d.get("field", ""))
        shown = field.removeprefix("field.") if field.startswith("field.") else \
            gettext(lang, EDITED.get(field, field))
        if field == "description":
            return shown
        if field == "priority":
            return shown + ": " + arrow.join(wf.priority_label(str(d.get(k)), lang)
                                             for k in ("from", "to"))
        old, new = (clip(_text(d.get(k)), VALUE) for k in ("from", "to"))
        return f"{shown}: {old}{arrow}{new}"
    if e.event in ("comment", "note"):
        return ""
    return _text({k: v for k, v in d.items() if k != "comment"})


# The names of the fields ``edit`` changes, as its history shows them.
EDITED = {"title": "title", "description": "description changed", "priority": "priority",
          "category": "category", "requester": "requester"}
