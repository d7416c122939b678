"""Message templates: the built-in texts in English and Italian, and rendering.

A template is a subject line and a plain-text body with ``$name`` placeholders
(Python's ``string.Template``). An admin may override any (kind, language)
pair with ``ticketcli notify template set``; the override is stored in the
database, so the outbox renders it in the event's own transaction.
"""

from __future__ import annotations

from functools import lru_cache
from string import Template
from typing import Any

from ..errors import UsageError
from ..workflow import Workflow

KINDS = ("opened", "reply", "status", "reminder", "autoclosed", "shared",
         "assigned", "customer_reply", "new_ticket", "sla_warning", "sla_breached")
LANGS = ("en", "it")

# What each placeholder holds (shown by `notify template show`).
VARIABLES: dict[str, str] = {
    "id": "the ticket number",
    "title": "the ticket title",
    "status": "the ticket's status label (after the change)",
    "priority": "the ticket's priority label",
    "previous": "the status label before the change",
    "recipient": "the recipient's name",
    "actor": "who acted (name), or the help desk for automatic changes",
    "body": "the reply text, or the description of a new ticket",
    "status_change": "a line telling a status change made with a reply (or nothing)",
    "resolution": "the resolution given with the change (or nothing)",
    "attachments": "a line naming the files sent with a reply (or nothing)",
    "closes_at": "when a waiting ticket will be closed automatically (reminders)",
    "follow_up": "a line naming the ticket this one follows up (or nothing)",
    "marker": "the line above which replies are kept (keep it first in the body)",
    "target": "the service-level target (first response, next reply, resolution)",
    "due_at": "when the service-level target is due",
}

MARKERS = {
    "en": "##- Please type your reply above this line -##",
    "it": "##- Scrivi la tua risposta sopra questa riga -##",
}

_FOOTER = {
    "en": "To add to this ticket, reply to this message and keep [#$id] in the subject.\n\n"
          "-- \nHelp desk\n",
    "it": "Per aggiungere qualcosa a questo ticket rispondi a questo messaggio lasciando "
          "[#$id] nell'oggetto.\n\n-- \nAssistenza\n",
}

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    ("opened", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\nwe have received your request and opened ticket "
        "#$id, \"$title\".\nIts status is: $status.\n$follow_up\n$body\n$attachments\n",
    ),
    ("opened", "it"): (
        "[#$id] $title",
        "$marker\n\nGentile $recipient,\n\nabbiamo ricevuto la sua richiesta e aperto il ticket "
        "#$id, \"$title\".\nStato: $status.\n$follow_up\n$body\n$attachments\n",
    ),
    ("reply", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\n$actor replied to ticket #$id:\n\n$body\n\n"
        "$attachments$status_change$resolution\n",
    ),
    ("reply", "it"): (
        "[#$id] $title",
        "$marker\n\nGentile $recipient,\n\n$actor ha risposto al ticket #$id:\n\n$body\n\n"
        "$attachments$status_change$resolution\n",
    ),
    ("status", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\nticket #$id, \"$title\", is now: $status "
        "(was: $previous).\n$resolution\n",
    ),
    ("status", "it"): (
        "[#$id] $title",
        "$marker\n\nGentile $recipient,\n\nil ticket #$id, \"$title\", ora è: $status "
        "(prima: $previous).\n$resolution\n",
    ),
    ("reminder", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\nticket #$id, \"$title\", is waiting for your answer "
        "($status).\nIf we do not hear from you, it will be closed automatically on "
        "$closes_at.\nA reply to this message keeps it open.\n\n",
    ),
    ("reminder", "it"): (
        "[#$id] $title",
        "$marker\n\nGentile $recipient,\n\nil ticket #$id, \"$title\", attende una sua "
        "risposta ($status).\nSenza risposta sarà chiuso automaticamente il $closes_at.\n"
        "Rispondendo a questo messaggio resterà aperto.\n\n",
    ),
    ("autoclosed", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\nticket #$id, \"$title\", has been closed "
        "automatically because we did not hear from you (status: $status).\n\n",
    ),
    ("autoclosed", "it"): (
        "[#$id] $title",
        "$marker\n\nGentile $recipient,\n\nil ticket #$id, \"$title\", è stato chiuso "
        "automaticamente perché non abbiamo ricevuto risposta (stato: $status).\n\n",
    ),
    ("shared", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\n$actor shared ticket #$id, \"$title\", with you.\n"
        "You will receive its updates by email. Status: $status.\n\n",
    ),
    ("shared", "it"): (
        "[#$id] $title",
        "$marker\n\nGentile $recipient,\n\n$actor ha condiviso con lei il ticket #$id, "
        "\"$title\".\nRiceverà i suoi aggiornamenti per email. Stato: $status.\n\n",
    ),
    # What agents hear about their own work (notify prefs).
    ("assigned", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\n$actor assigned ticket #$id, \"$title\", to you.\n"
        "Status: $status. Priority: $priority.\n\n",
    ),
    ("assigned", "it"): (
        "[#$id] $title",
        "$marker\n\nCiao $recipient,\n\n$actor ti ha assegnato il ticket #$id, \"$title\".\n"
        "Stato: $status. Priorità: $priority.\n\n",
    ),
    ("customer_reply", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\n$actor replied to ticket #$id, \"$title\", which is "
        "assigned to you:\n\n$body\n\n$attachments$status_change\n",
    ),
    ("customer_reply", "it"): (
        "[#$id] $title",
        "$marker\n\nCiao $recipient,\n\n$actor ha risposto al ticket #$id, \"$title\", "
        "assegnato a te:\n\n$body\n\n$attachments$status_change\n",
    ),
    ("new_ticket", "en"): (
        "[#$id] $title",
        "$marker\n\nHello $recipient,\n\n$actor opened ticket #$id, \"$title\" (priority: "
        "$priority); no one is assigned to it yet.\n\n$body\n\n$attachments\n",
    ),
    ("new_ticket", "it"): (
        "[#$id] $title",
        "$marker\n\nCiao $recipient,\n\n$actor ha aperto il ticket #$id, \"$title\" "
        "(priorità: $priority); non è ancora assegnato a nessuno.\n\n$body\n\n"
        "$attachments\n",
    ),
    ("sla_warning", "en"): (
        "[#$id] Service level: $target due $due_at",
        "Hello $recipient,\n\nticket #$id, \"$title\" ($status), is due its $target by "
        "$due_at.\n\n",
    ),
    ("sla_warning", "it"): (
        "[#$id] Livello di servizio: $target entro $due_at",
        "Gentile $recipient,\n\nil ticket #$id, \"$title\" ($status), attende la $target "
        "entro il $due_at.\n\n",
    ),
    ("sla_breached", "en"): (
        "[#$id] Service level breached: $target was due $due_at",
        "Hello $recipient,\n\nticket #$id, \"$title\" ($status), has missed its $target "
        "target: it was due $due_at.\n\n",
    ),
    ("sla_breached", "it"): (
        "[#$id] Livello di servizio mancato: $target prevista per $due_at",
        "Gentile $recipient,\n\nil ticket #$id, \"$title\" ($status), ha mancato "
        "l'obiettivo di $target: era prevista per il $due_at.\n\n",
    ),
}

# Every built-in body ends with the footer; an override replaces the whole body.
DEFAULTS = {
    key: (subject, body + _FOOTER[key[1]]) for key, (subject, body) in DEFAULTS.items()
}

_WORDS = {
    "en": {
        "desk": "the help desk",
        "customer": "customer",
        "status_change": "The ticket is now: {to} (was: {frm}).\n",
        "attachments": "Attachments: {names}\n",
        "resolution": "Resolution: {resolution}\n",
        "follow_up": "It follows up ticket #{ticket}.\n",
        "description": "Your request:\n\n{body}\n",
        "target_first_response": "first response", "target_next_reply": "next reply",
        "target_resolution": "resolution",
    },
    "it": {
        "desk": "l'assistenza",
        "customer": "cliente",
        "status_change": "Il ticket ora è: {to} (prima: {frm}).\n",
        "attachments": "Allegati: {names}\n",
        "resolution": "Risoluzione: {resolution}\n",
        "follow_up": "Fa seguito al ticket #{ticket}.\n",
        "description": "La sua richiesta:\n\n{body}\n",
        "target_first_response": "prima risposta", "target_next_reply": "risposta successiva",
        "target_resolution": "risoluzione",
    },
}

MAX_QUOTED = 20_000  # characters of a reply or description copied into a message


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"unknown template {kind!r}; choose one of: {', '.join(KINDS)}")
    return kind


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise UsageError(f"unknown language {lang!r}; choose en or it")
    return lang


def validate(subject: str, body: str) -> None:
    """Refuse a template with a placeholder we do not fill or broken ``$`` syntax."""
    for part, text in (("subject", subject), ("body", body)):
        template = Template(text)
        if not template.is_valid():
            raise UsageError(f"the template {part} has a stray '$'; write '$$' for a dollar sign")
        unknown = sorted(set(template.get_identifiers()) - set(VARIABLES))
        if unknown:
            raise UsageError(
                f"the template {part} uses unknown placeholder(s) "
                + ", ".join("$" + u for u in unknown)
                + "; known: " + ", ".join("$" + v for v in VARIABLES)
            )
    if "\n" in subject.strip():
        raise UsageError("a template subject is one line")


def _label(wf: Workflow, key: str | None, lang: str) -> str:
    if not key:
        return ""
    status = wf.statuses.get(key)
    return status.label(lang) if status else key


def _clip(text: str) -> str:
    text = text.strip("\n")
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "\n[…]"


def variables(data: dict[str, Any], lang: str, wf: Workflow) -> dict[str, str]:
    """The placeholder values for one message, in the recipient's language."""
    words = _WORDS[lang]
    values = {k: "" for k in VARIABLES}
    values["id"] = str(data.get("id", ""))
    values["title"] = str(data.get("title", ""))
    values["status"] = _label(wf, data.get("status"), lang)
    values["previous"] = _label(wf, data.get("previous"), lang)
    if data.get("priority"):
        values["priority"] = wf.priority_label(str(data["priority"]), lang)
    values["recipient"] = str(data.get("recipient") or words["customer"])
    values["actor"] = str(data.get("actor") or words["desk"])
    values["marker"] = MARKERS[lang]
    values["closes_at"] = str(data.get("closes_at", "")).replace("T", " ").replace("Z", " UTC")
    if data.get("target") in ("first_response", "next_reply", "resolution"):
        values["target"] = words["target_" + data["target"]]
    values["due_at"] = str(data.get("due_at") or "").replace("T", " ").replace("Z", " UTC")
    body = _clip(str(data.get("body") or ""))
    if data.get("kind") == "opened":
        values["body"] = words["description"].format(body=body) if body.strip() else ""
    else:
        values["body"] = body
    change = data.get("change")
    if isinstance(change, dict):
        values["status_change"] = words["status_change"].format(
            to=_label(wf, change.get("to"), lang), frm=_label(wf, change.get("from"), lang))
    names = data.get("attachments")
    if isinstance(names, list) and names:
        values["attachments"] = words["attachments"].format(names=", ".join(map(str, names)))
    if data.get("resolution"):
        values["resolution"] = words["resolution"].format(resolution=data["resolution"])
    if data.get("follow_up"):
        values["follow_up"] = words["follow_up"].format(ticket=data["follow_up"])
    return values




@lru_cache(maxsize=128)
def _compiled(text: str) -> tuple[tuple[str, str, str], ...]:
    """``text`` cut once into (literal, placeholder name, placeholder as written)
    pieces, so that substituting is a join. The result is that of
    ``Template(text).safe_substitute``: ``$$`` is ``$``, and a placeholder without a
    value, or a stray ``$``, stays as written."""
    pieces: list[tuple[str, str, str]] = []
    literal: list[str] = []
    at = 0
    for mo in Template.pattern.finditer(text):
        literal.append(text[at:mo.start()])
        at = mo.end()
        name = mo.group("named") or mo.group("braced")
        if name is not None:
            pieces.append(("".join(literal), name, mo.group()))
            literal = []
        elif mo.group("escaped") is not None:
            literal.append(Template.delimiter)
        else:
            literal.append(mo.group())
    literal.append(text[at:])
    pieces.append(("".join(literal), "", ""))
    return tuple(pieces)


def _substitute(text: str, values: dict[str, str]) -> str:
    out: list[str] = []
    for literal, name, written in _compiled(text):
        out.append(literal)
        if name:
            out.append(values.get(name, written))
    return "".join(out)


def render(kind: str, lang: str, data: dict[str, Any], wf: Workflow,
           custom: tuple[str, str] | None) -> tuple[str, str]:
    """Subject and body of one message; the subject always carries ``[#ID]``."""
    subject_t, body_t = custom or DEFAULTS[(kind, lang)]
    values = variables({**data, "kind": kind}, lang, wf)
    subject = " ".join(_substitute(subject_t, values).split())
    tag = f"[#{values['id']}]"
    if tag not in subject:
        subject = f"{tag} {subject}".strip()
    body = _substitute(body_t, values).replace("\r\n", "\n")
    # Tidy what empty placeholders leave behind: no trailing blanks (but keep the
    # signature separator "-- "), at most one blank line in a row.
    # (Plain string methods: regular expressions cost most of a message's time.)
    body = "\n".join(line.rstrip(" \t") for line in body.split("\n"))
    body = body.replace("\n--\n", "\n-- \n")
    while "\n\n\n" in body:
        body = body.replace("\n\n\n", "\n\n")
    return subject, body.strip("\n") + "\n"
