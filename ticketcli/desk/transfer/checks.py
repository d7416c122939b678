"""Checking one record: every problem of a line, in one message, or the record normalized.

:class:`Checker` is pure (no database): it knows the stored workflow, the time
of the import and the size limits. Each check appends its problems to the
list ``p`` and returns a neutral value, so one pass finds every problem of a
line. The common case is checked inline (a type and a precompiled pattern);
anything else goes to the general check, which knows the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...clock import iso, parse
from ...errors import TicketError
from ...text import check_email, has_control
from ...workflow import ROLES, Workflow
from ..checks import DEFAULT_LIMITS, MAX_ID, Limits
from .records import (
    ATTACHMENT_KEYS,
    COMMENT_KEYS,
    FORMAT_VERSION,
    HEADER_TYPE,
    HISTORY_KEYS,
    ORG_KEYS,
    PARTICIPANT_KEYS,
    TICKET_KEYS,
    USER_KEYS,
    AttachmentIn,
    Checked,
    CommentIn,
    HeaderIn,
    HistoryIn,
    LineError,
    OrgIn,
    ParticipantIn,
    PersonIn,
    TicketIn,
)

_MISSING: Any = object()  # "key absent", as opposed to an explicit null
# The stored form, ranges checked; ASCII digits only ("\d" would take any script's).
_STAMP = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
).fullmatch
# The same with days up to the 28th: valid in every month, no calendar needed.
_ANY_MONTH_STAMP: Callable[[str], Any] = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
).fullmatch
_FIELD_KEY = re.compile(r"[A-Za-z0-9_-]+").fullmatch
# What `open` refuses in a title (after runs of whitespace become one space).
# How the store writes JSON details (one encoder, not one per call).
ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


class Checker:
    """Validates and normalizes records against the stored workflow."""

    def __init__(self, wf: Workflow, now: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.wf = wf
        self.now = now
        self.limits = limits
        self._emails: dict[str, str] = {}  # as written -> normalized, for valid ones
        self._phase = {k: s.phase for k, s in wf.statuses.items()}

    def record(self, line: int, r: dict[str, Any]) -> Checked:
        kind = r.get("type", "ticket")
        p: list[str] = []
        checked: Checked
        if kind == "ticket":
            checked = self.ticket(line, r, p)
        elif kind == "user":
            checked = self.person(line, r, p)
        elif kind == "org":
            checked = self.org(line, r, p)
        elif kind == HEADER_TYPE:
            checked = HeaderIn(line)
            if r.get("version") != FORMAT_VERSION:
                p.append(f"export format version {r.get('version')!r} is not one this "
                         f"ticketcli reads ({FORMAT_VERSION}); upgrade ticketcli")
        else:
            p.append(f"unknown record type {kind!r} (use ticket, user or org)")
        return LineError(line, "; ".join(p)) if p else checked

    # -- values: each returns the normalized value, or a neutral one after a problem ----

    def email(self, value: Any, what: str, p: list[str]) -> str:
        if type(value) is str:
            known = self._emails.get(value)
            if known is not None:
                return known
            try:
                address = check_email(value)
            except TicketError as e:
                p.append(f"{what}: {e.message}")
                return ""
            self._emails[value] = address
            return address
        p.append(f"{what} must be an email address")
        return ""

    def optional_email(self, value: Any, what: str, p: list[str]) -> str | None:
        return None if value is None else self.email(value, what, p)

    @staticmethod
    def stamp(value: Any, what: str, p: list[str]) -> str:
        if isinstance(value, str):
            if _ANY_MONTH_STAMP(value):
                return value
            if _STAMP(value):
                try:
                    datetime.fromisoformat(value)  # February 30th and the like
                    return value
                except ValueError:
                    pass
            else:
                try:
                    return iso(parse(value))
                except TicketError:
                    pass
        p.append(f"{what} must be an ISO-8601 time such as 2026-05-01T09:30:00Z")
        return ""

    def stamp_or(self, item: dict[str, Any], key: str, where: str, default: str,
                 p: list[str]) -> str:
        """``item[key]`` as a time, or ``default`` when the key is absent."""
        value = item.get(key, _MISSING)
        if value is _MISSING:
            return default
        if type(value) is str and _ANY_MONTH_STAMP(value):
            return value
        return self.stamp(value, f"{where}.{key}" if where else key, p)

    @staticmethod
    def number(value: Any, what: str, p: list[str]) -> int | None:
        if value is None or (type(value) is int and 0 < value <= MAX_ID):
            return value
        p.append(f"{what} must be a positive whole number")
        return None

    @staticmethod
    def text(value: Any, what: str, p: list[str]) -> str | None:
        if value is None or isinstance(value, str):
            return value
        p.append(f"{what} must be text")
        return None

    def status(self, value: Any, what: str, p: list[str]) -> str | None:
        if value is None or (isinstance(value, str) and value in self._phase):
            return value
        p.append(f"{what + ': ' if what else ''}unknown status {value!r}; the {self.wf.name} "
                 "workflow has: " + ", ".join(self.wf.statuses))
        return None

    def body(self, value: Any, what: str, p: list[str], *, required: bool) -> str:
        if not isinstance(value, str):
            p.append(f"{what} must be {'non-empty ' if required else ''}text")
            return ""
        if required and not value.strip():
            p.append(f"{what} must be non-empty text")
        elif "\x00" in value:
            p.append(f"{what} contains a NUL character")
        elif len(value) > self.limits.body:
            p.append(f"{what} is at most {self.limits.body} characters (got {len(value)})")
        return value

    @staticmethod
    def unknown_keys(item: dict[str, Any], allowed: frozenset[str], what: str,
                     p: list[str]) -> None:
        if not allowed.issuperset(item):
            names = ", ".join(sorted(str(k) for k in item.keys() - allowed))
            p.append(f"{what}unknown field(s) {names}")

    @staticmethod
    def objects(value: Any, name: str, keys: frozenset[str], p: list[str], *,
                or_text: str = "") -> list[tuple[str, Any]]:
        """The items of a list field as (label, item): objects whose keys are all known,
        and text items too where ``or_text`` says what else an item may be."""
        if not isinstance(value, list):
            p.append(f"{name} must be a list")
            return []
        out: list[tuple[str, Any]] = []
        for i, item in enumerate(value):
            label = f"{name}[{i}]"
            if type(item) is dict:
                if not keys.issuperset(item):
                    Checker.unknown_keys(item, keys, f"{label}: ", p)
            elif not (or_text and type(item) is str):
                p.append(f"{label} must be {or_text or 'an object'}")
                continue
            out.append((label, item))
        return out

    # -- records ------------------------------------------------------------------

    def ticket(self, line: int, r: dict[str, Any], p: list[str]) -> TicketIn:
        wf = self.wf
        get = r.get
        if not TICKET_KEYS.issuperset(r):
            self.unknown_keys(r, TICKET_KEYS, "", p)
        ticket_id = get("id")
        if ticket_id is not None and not (type(ticket_id) is int and 0 < ticket_id <= MAX_ID):
            ticket_id = self.number(ticket_id, "id", p)
        title = get("title")
        if isinstance(title, str):
            title = " ".join(title.split())
        if not title or not isinstance(title, str):
            p.append("title must be non-empty text")
            title = ""
        elif len(title) > self.limits.title:
            p.append(f"a title is at most {self.limits.title} characters (got {len(title)})")
        elif has_control(title):
            p.append("title cannot contain control characters")
        description = get("description", "")
        if type(description) is not str or "\x00" in description or (
                len(description) > self.limits.body):
            description = self.body(description, "description", p, required=False)
        status = get("status", wf.initial)
        phase = self._phase.get(status) if type(status) is str else None
        if phase is None:
            self.status(status, "", p)
            status = wf.initial
            phase = self._phase[status]
        priority = get("priority")
        if priority is None:
            priority = wf.default_priority
        elif type(priority) is not str or priority not in wf.priorities:
            p.append(f"unknown priority {priority!r}; choose one of: {', '.join(wf.priorities)}")
        category = get("category")
        if category is not None:
            category = self.text(category, "category", p)
            category = (category.strip() or None) if category else None
        if "requester" in r:
            requester = self.email(r["requester"], "requester", p)
        else:
            p.append("requester (an email address) is required")
            requester = ""
        assignee = self.optional_email(get("assignee"), "assignee", p)
        organization = get("organization", _MISSING)
        own_org = organization is _MISSING
        if own_org or organization is None:
            organization = None
        elif not isinstance(organization, str) or not organization.strip():
            p.append("organization must be a non-empty name")
            organization = None
        else:
            organization = organization.strip()
        resolution = get("resolution")
        if resolution is not None:
            resolution = self.text(resolution, "resolution", p)
            if resolution and wf.resolutions and resolution not in wf.resolutions:
                p.append(f"unknown resolution {resolution!r}; choose one of: "
                         + ", ".join(wf.resolutions))
        follow_up_of = get("follow_up_of")
        if follow_up_of is not None:
            follow_up_of = self.number(follow_up_of, "follow_up_of", p)
            if follow_up_of is not None and follow_up_of == ticket_id:
                p.append("a ticket cannot follow up itself")
        fields = get("fields")
        fields_json = "{}" if not fields else self.fields(fields, p)
        stamp_or = self.stamp_or
        created = stamp_or(r, "created_at", "", self.now, p)
        updated = stamp_or(r, "updated_at", "", created, p)
        changed = stamp_or(r, "status_changed_at", "", updated, p)
        activity = stamp_or(r, "activity_at", "", changed, p)
        reminded = get("reminded_for")
        if reminded is not None:
            reminded = self.stamp(reminded, "reminded_for", p)
        value = get("participants")
        participants = self.participants(value, created, p) if value else []
        value = get("comments")
        comments = self.comments(value, created, p) if value else []
        value = get("attachments")
        attachments = self.attachments(value, created, comments, p) if value else []
        history = self.history(r["history"], p) if "history" in r else None
        return TicketIn(
            line, ticket_id, title, description, status, phase, priority,
            category, requester, assignee, organization, own_org, resolution, follow_up_of,
            fields_json, created, updated, changed, activity, reminded, participants,
            comments, attachments, history,
        )

    @staticmethod
    def fields(value: Any, p: list[str]) -> str:
        if not isinstance(value, dict):
            p.append("fields must be an object of KEY: text")
            return "{}"
        clean: dict[str, str] = {}
        for k, v in value.items():
            if not _FIELD_KEY(k):
                p.append(f"field key {k!r} must be letters, digits, - and _")
            elif isinstance(v, str):
                clean[k] = v
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                clean[k] = str(v)
            else:
                p.append(f"field {k!r} must be text")
        return ENCODE(clean)

    # -- the parts of a ticket -------------------------------------------------------

    def participants(self, value: Any, default_at: str, p: list[str]) -> list[ParticipantIn]:
        seen: dict[str, str] = {}
        for label, item in self.objects(
                value, "participants", PARTICIPANT_KEYS, p,
                or_text="an email or an object with email and added_at"):
            if type(item) is str:
                seen.setdefault(self.email(item, label, p), default_at)
                continue
            email = self.email(item.get("email"), label, p)
            at = default_at
            if item.get("added_at") is not None:
                at = self.stamp(item["added_at"], f"{label}.added_at", p)
            seen.setdefault(email, at)
        return list(seen.items())

    def comments(self, value: Any, default_at: str, p: list[str]) -> list[CommentIn]:
        out: list[CommentIn] = []
        ids: set[int] = set()
        for label, item in self.objects(value, "comments", COMMENT_KEYS, p):
            cid = self.number(item.get("id"), f"{label}.id", p)
            if cid is not None:
                if cid in ids:
                    p.append(f"{label}.id {cid} appears twice")
                ids.add(cid)
            body = self.body(item.get("body"), f"{label}.body", p, required=True)
            internal = item.get("internal", False)
            if not isinstance(internal, bool):
                p.append(f"{label}.internal must be true or false")
            author = self.email(item.get("author"), f"{label}.author", p)
            at = self.stamp_or(item, "created_at", label, default_at, p)
            out.append((cid, author, body, internal is True, at))
        return out

    def attachments(self, value: Any, default_at: str, comments: list[CommentIn],
                    p: list[str]) -> list[AttachmentIn]:
        out: list[AttachmentIn] = []
        comment_ids = {c[0] for c in comments if c[0] is not None}
        for label, item in self.objects(value, "attachments", ATTACHMENT_KEYS, p):
            aid = self.number(item.get("id"), f"{label}.id", p)
            comment = self.number(item.get("comment"), f"{label}.comment", p)
            if comment is not None and comment not in comment_ids:
                p.append(f"{label}.comment {comment} is not one of this ticket's comment ids")
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                p.append(f"{label}.name must be non-empty text")
                name = ""
            content = self.content(item, label, p)
            digest = hashlib.sha256(content).hexdigest()
            if item.get("sha256", digest) != digest:
                p.append(f"{label}.sha256 does not match its content")
            if item.get("size", len(content)) != len(content):
                p.append(f"{label}.size does not match its content")
            uploader = self.optional_email(item.get("uploader"), f"{label}.uploader", p)
            at = self.stamp_or(item, "created_at", label, default_at, p)
            out.append((aid, comment, uploader, name, digest, content, at))
        return out

    def content(self, item: dict[str, Any], label: str, p: list[str]) -> bytes:
        """An attachment's file, from its base64 text, within the size limit."""
        encoded = item.get("content_base64")
        content = b""
        if not isinstance(encoded, str):
            p.append(f"{label}.content_base64 is required (the file, base64-encoded)")
        else:
            try:
                content = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                p.append(f"{label}.content_base64 is not valid base64")
        if len(content) > self.limits.attachment:
            p.append(f"{label} is {len(content)} bytes; the limit is {self.limits.attachment}")
        return content

    def history(self, value: Any, p: list[str]) -> list[HistoryIn]:
        out: list[HistoryIn] = []
        phases = self._phase
        emails = self._emails
        for label, item in self.objects(value, "history", HISTORY_KEYS, p):
            get = item.get
            at = get("at")
            if type(at) is not str or not _ANY_MONTH_STAMP(at):
                at = self.stamp(at, f"{label}.at", p)
            actor = get("actor")
            if actor is not None and (type(actor) is not str or actor not in emails):
                actor = self.email(actor, f"{label}.actor", p)
            elif actor is not None:
                actor = emails[actor]
            event = get("event")
            if type(event) is not str or not event or len(event) > 40:
                p.append(f"{label}.event must be a short non-empty name")
                event = ""
            detail = get("detail") or None
            if detail is not None and type(detail) is not dict:
                p.append(f"{label}.detail must be an object")
                detail = None
            via = get("via")
            if via is not None and (type(via) is not str or via not in emails):
                via = self.email(via, f"{label}.via", p)
            elif via is not None:
                via = emails[via]
            source, target = get("from"), get("to")
            if source is not None and (type(source) is not str or source not in phases):
                source = self.status(source, f"{label}.from", p)
            if target is not None and (type(target) is not str or target not in phases):
                target = self.status(target, f"{label}.to", p)
            out.append((at, actor, event, source, target, ENCODE(detail) if detail else None,
                        via))
        return out

    def person(self, line: int, r: dict[str, Any], p: list[str]) -> PersonIn:
        self.unknown_keys(r, USER_KEYS, "", p)
        email = self.email(r.get("email"), "email", p)
        name = self.text(r.get("name"), "name", p)
        role = r.get("role", "customer")
        if role not in ROLES:
            p.append(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
        org = self.text(r.get("organization"), "organization", p)
        created = self.stamp(r.get("created_at", self.now), "created_at", p)
        return PersonIn(line, email, name or email.split("@")[0], str(role),
                        org.strip() or None if org else None, created)

    def org(self, line: int, r: dict[str, Any], p: list[str]) -> OrgIn:
        self.unknown_keys(r, ORG_KEYS, "", p)
        name = r.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200 or any(
                ch < " " for ch in name):
            p.append("name must be 1-200 printable characters")
            name = ""
        manager = self.optional_email(r.get("manager"), "manager", p)
        created = self.stamp(r.get("created_at", self.now), "created_at", p)
        return OrgIn(line, name.strip(), manager, created)
