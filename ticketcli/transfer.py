"""Bulk import and export: move a desk in from another tool, and back out.

The exchange format is JSON Lines, one record a line (``export`` writes it and
``import`` reads it): a header, then organizations, then people, then one line
per ticket with its participants, comments, attachments and history. ``import``
also reads CSV with one ticket a row (the columns of ``list --format csv``,
plus ``description``, ``participants`` and ``field.KEY`` columns).

Import rules:

* all or nothing: every record is checked; if any line is bad, every bad line
  is reported with its number and *nothing* is imported, so a script can fix
  the file and run it again with no half-imported state to clean up. The
  whole import is one transaction, so a crash leaves nothing behind either;
* ticket numbers are kept, so export -> import round-trips; a number already in
  use is a bad line, unless ``new_ids`` numbers the imported tickets afresh
  (``follow_up_of`` then follows the renumbering; other numbers inside history
  details are kept as they were);
* statuses, priorities and resolutions must exist in the stored workflow; the
  phase always comes from the workflow;
* people are matched by email. Someone unknown (requester, participant, comment
  author) is added as a customer when the workflow accepts unregistered
  requesters, else the line is bad. An assignee must be an agent or admin that
  exists or comes in a people record earlier in the file. People and
  organizations already in the database are never changed;
* a ticket without a ``history`` list gets one ``imported`` history row, and
  nothing imported sends mail: history rows are written directly, not through
  the event seam.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, NamedTuple

from . import bulkstore as bulk
from .bulkstore import (
    AttachmentRow,
    CommentRow,
    HistoryRow,
    ParticipantRow,
    PersonRow,
    TicketRow,
)
from .clock import iso, parse
from .errors import TicketError, UsageError
from .people import check_email, require_admin
from .store import Store, User
from .tickets import DEFAULT_LIMITS, MAX_ID, Limits
from .workflow import ROLES, Workflow

FORMAT_VERSION = 1
HEADER_TYPE = "ticketcli-export"
FORMATS = ("jsonl", "csv")
BATCH = 5_000  # tickets per executemany batch
_MISSING: Any = object()  # "key absent", as opposed to an explicit null
# The stored form, with ranges checked (days past the 28th are checked by datetime).
_STAMP = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ"
).fullmatch
_FIELD_KEY = re.compile(r"[A-Za-z0-9_-]+").fullmatch
# How the store writes JSON details (one encoder, not one per call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode

TICKET_KEYS = frozenset({
    "type", "id", "title", "description", "status", "phase", "priority", "category",
    "requester", "assignee", "organization", "resolution", "follow_up_of", "fields",
    "created_at", "updated_at", "status_changed_at", "activity_at", "reminded_for",
    "participants", "comments", "attachments", "history",
})
COMMENT_KEYS = frozenset({"id", "author", "body", "internal", "created_at"})
ATTACHMENT_KEYS = frozenset({"id", "comment", "name", "size", "sha256", "uploader",
                             "created_at", "content_base64"})
HISTORY_KEYS = frozenset({"at", "actor", "event", "from", "to", "detail"})
USER_KEYS = frozenset({"type", "email", "name", "role", "organization", "created_at"})
ORG_KEYS = frozenset({"type", "name", "manager", "created_at"})
CSV_COLUMNS = (
    "id", "title", "description", "status", "phase", "priority", "category", "requester",
    "assignee", "organization", "resolution", "follow_up_of", "created_at", "updated_at",
    "status_changed_at", "activity_at", "participants",
)


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass
class ImportReport:
    tickets: int = 0
    comments: int = 0
    people_created: int = 0
    orgs_created: int = 0
    dry_run: bool = False
    errors: list[LineError] = field(default_factory=list)


# -- checked records (tuples: cheap to build) ----------------------------------------------


# Parts of a ticket are plain tuples, unpacked where used.
# (id, author, body, internal, created_at)
CommentIn = tuple[int | None, str, str, bool, str]
# (id, comment id, uploader, name, sha256, content, created_at)
AttachmentIn = tuple[int | None, int | None, str | None, str, str, bytes, str]
# (at, actor, event, from status, to status, detail as JSON or None)
HistoryIn = tuple[str, str | None, str, str | None, str | None, str | None]


class TicketIn(NamedTuple):
    line: int
    id: int | None
    title: str
    description: str
    status: str
    phase: str
    priority: str
    category: str | None
    requester: str
    assignee: str | None
    organization: str | None
    own_org: bool  # no organization given: the requester's
    resolution: str | None
    follow_up_of: int | None
    fields: str
    created_at: str
    updated_at: str
    status_changed_at: str
    activity_at: str
    reminded_for: str | None
    participants: list[tuple[str, str]]
    comments: list[CommentIn]
    attachments: list[AttachmentIn]
    history: list[HistoryIn] | None


class PersonIn(NamedTuple):
    line: int
    email: str
    name: str
    role: str
    organization: str | None
    created_at: str


class OrgIn(NamedTuple):
    line: int
    name: str
    manager: str | None
    created_at: str


class HeaderIn(NamedTuple):
    line: int


Checked = TicketIn | PersonIn | OrgIn | HeaderIn | LineError


# -- reading records -----------------------------------------------------------------


def detect_format(name: str, first_line: bytes) -> str:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if first_line.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def _json_record(number: int, raw: bytes) -> dict[str, Any] | LineError | None:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return LineError(number, "not UTF-8 text")
    except ValueError as e:
        if not raw.strip():
            return None
        return LineError(number, f"not valid JSON ({e})")
    if not isinstance(record, dict):
        return LineError(number, "each line must be a JSON object")
    return record


def _csv_records(lines: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """CSV rows as records in the JSON shape, each with the line it starts on."""
    import csv

    state = {"line": 0, "bad": 0}

    def text() -> Iterator[str]:
        for raw in lines:
            state["line"] += 1
            if state["line"] == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                state["bad"] = state["bad"] or state["line"]
                yield raw.decode("utf-8", "replace")

    reader = csv.reader(text(), strict=True)
    header: list[str] | None = None
    start = 1
    while True:
        bad_before = state["bad"]
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield start, LineError(start, f"malformed CSV ({e}); nothing after it was read")
            return
        number, start = start, state["line"] + 1
        if state["bad"] != bad_before:
            yield number, LineError(state["bad"], "not UTF-8 text")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [h.strip().lower() for h in row]
            unknown = [h for h in header if h not in CSV_COLUMNS and not h.startswith("field.")]
            if unknown or len(set(header)) != len(header) or "title" not in header:
                problem = (f"unknown column(s) {', '.join(unknown)}" if unknown
                           else "each column may appear once, and 'title' is required")
                yield number, LineError(
                    number, f"{problem}; the columns are {', '.join(CSV_COLUMNS)} and field.KEY"
                )
                return
            continue
        if len(row) != len(header):
            yield number, LineError(number, f"{len(row)} cells, but the header has {len(header)}")
            continue
        yield number, _from_csv(dict(zip(header, row, strict=True)))


def _from_csv(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row in the JSON record's shape: empty cells are absent, numbers are numbers."""
    record: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for key, value in row.items():
        if key.startswith("field."):
            if value != "":
                fields[key[6:]] = value
            continue
        if value.strip() == "":
            continue
        if key in ("id", "follow_up_of"):
            record[key] = int(value) if value.strip().isdigit() else value
        elif key == "participants":
            record[key] = [p for p in re.split(r"[\s,;]+", value) if p]
        else:
            record[key] = value
    if fields:
        record["fields"] = fields
    return record


# -- checking one record ------------------------------------------------------------------


class Checker:
    """Validates and normalizes records against the stored workflow (pure: no database)."""

    def __init__(self, wf: Workflow, now: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.wf = wf
        self.now = now
        self.limits = limits
        self._emails: dict[str, str] = {}
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

    # -- values ---------------------------------------------------------------------

    def email(self, value: Any, what: str, p: list[str]) -> str:
        known = self._emails.get(value) if isinstance(value, str) else None
        if known is not None:
            return known
        if isinstance(value, str):
            try:
                address = check_email(value)
            except TicketError as e:
                p.append(f"{what}: {e.message}")
                return ""
            self._emails[value] = address
            return address
        p.append(f"{what} must be an email address")
        return ""

    @staticmethod
    def stamp(value: Any, what: str, p: list[str]) -> str:
        if isinstance(value, str):
            if _STAMP(value):
                if value[8:10] <= "28":
                    return value
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

    @staticmethod
    def _unknown(item: dict[str, Any], allowed: frozenset[str], what: str,
                 p: list[str]) -> None:
        if not allowed.issuperset(item):
            names = ", ".join(sorted(str(k) for k in item.keys() - allowed))
            p.append(f"{what}unknown field(s) {names}")

    def _body(self, value: Any, what: str, p: list[str], *, required: bool) -> str:
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

    # -- records ----------------------------------------------------------------------

    def ticket(self, line: int, r: dict[str, Any], p: list[str]) -> TicketIn:
        wf = self.wf
        get = r.get
        if not TICKET_KEYS.issuperset(r):
            self._unknown(r, TICKET_KEYS, "", p)
        ticket_id = self.number(get("id"), "id", p)
        title = get("title")
        if isinstance(title, str):
            title = " ".join(title.split())
        if not title or not isinstance(title, str):
            p.append("title must be non-empty text")
            title = ""
        elif len(title) > self.limits.title:
            p.append(f"a title is at most {self.limits.title} characters (got {len(title)})")
        description = self._body(get("description", ""), "description", p, required=False)
        status = get("status", wf.initial)
        if not isinstance(status, str) or status not in self._phase:
            self.status(status, "", p)
            status = wf.initial
        priority = get("priority")
        if priority is None:
            priority = wf.default_priority
        elif not isinstance(priority, str) or priority not in wf.priorities:
            p.append(f"unknown priority {priority!r}; choose one of: {', '.join(wf.priorities)}")
        category = self.text(get("category"), "category", p)
        category = (category.strip() or None) if category else None
        requester = self.email(r["requester"], "requester", p) if "requester" in r else ""
        if "requester" not in r:
            p.append("requester (an email address) is required")
        assignee = get("assignee")
        if assignee is not None:
            assignee = self.email(assignee, "assignee", p)
        organization = get("organization", _MISSING)
        own_org = organization is _MISSING
        if own_org or organization is None:
            organization = None
        elif not isinstance(organization, str) or not organization.strip():
            p.append("organization must be a non-empty name")
            organization = None
        else:
            organization = organization.strip()
        resolution = self.text(get("resolution"), "resolution", p)
        if resolution and wf.resolutions and resolution not in wf.resolutions:
            p.append(f"unknown resolution {resolution!r}; choose one of: "
                     + ", ".join(wf.resolutions))
        follow_up_of = self.number(get("follow_up_of"), "follow_up_of", p)
        if follow_up_of is not None and follow_up_of == ticket_id:
            p.append("a ticket cannot follow up itself")
        fields = get("fields")
        fields_json = "{}" if not fields else self.fields(fields, p)
        stamp = self.stamp
        created = stamp(r["created_at"], "created_at", p) if "created_at" in r else self.now
        updated = stamp(r["updated_at"], "updated_at", p) if "updated_at" in r else created
        changed = (stamp(r["status_changed_at"], "status_changed_at", p)
                   if "status_changed_at" in r else updated)
        activity = stamp(r["activity_at"], "activity_at", p) if "activity_at" in r else changed
        reminded = get("reminded_for")
        if reminded is not None:
            reminded = stamp(reminded, "reminded_for", p)
        value = get("participants")
        participants = self.participants(value, created, p) if value else []
        value = get("comments")
        comments = self.comments(value, created, p) if value else []
        value = get("attachments")
        attachments = self.attachments(value, created, comments, p) if value else []
        history = self.history(r["history"], p) if "history" in r else None
        return TicketIn(
            line, ticket_id, title, description, status, self._phase[status], priority,
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
        return _ENCODE(clean)

    @staticmethod
    def _items(value: Any, what: str, p: list[str]) -> list[Any]:
        if isinstance(value, list):
            return value
        p.append(f"{what} must be a list")
        return []

    def participants(self, value: Any, default_at: str, p: list[str]) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for i, item in enumerate(self._items(value, "participants", p)):
            what = f"participants[{i}]"
            if isinstance(item, str):
                seen.setdefault(self.email(item, what, p), default_at)
            elif isinstance(item, dict):
                self._unknown(item, frozenset({"email", "added_at"}), f"{what}: ", p)
                email = self.email(item.get("email"), what, p)
                at = (self.stamp(item["added_at"], f"{what}.added_at", p)
                      if item.get("added_at") is not None else default_at)
                seen.setdefault(email, at)
            else:
                p.append(f"{what} must be an email or an object with email and added_at")
        return list(seen.items())

    def comments(self, value: Any, default_at: str, p: list[str]) -> list[CommentIn]:
        out: list[CommentIn] = []
        ids: set[int] = set()
        for i, item in enumerate(self._items(value, "comments", p)):
            what = f"comments[{i}]"
            if not isinstance(item, dict):
                p.append(f"{what} must be an object")
                continue
            self._unknown(item, COMMENT_KEYS, f"{what}: ", p)
            cid = self.number(item.get("id"), f"{what}.id", p)
            if cid is not None:
                if cid in ids:
                    p.append(f"{what}.id {cid} appears twice")
                ids.add(cid)
            body = self._body(item.get("body"), f"{what}.body", p, required=True)
            internal = item.get("internal", False)
            if not isinstance(internal, bool):
                p.append(f"{what}.internal must be true or false")
            author = self.email(item.get("author"), f"{what}.author", p)
            at = (self.stamp(item["created_at"], f"{what}.created_at", p)
                  if "created_at" in item else default_at)
            out.append((cid, author, body, internal is True, at))
        return out

    def attachments(self, value: Any, default_at: str, comments: list[CommentIn],
                    p: list[str]) -> list[AttachmentIn]:
        out: list[AttachmentIn] = []
        comment_ids = {c[0] for c in comments if c[0] is not None}
        for i, item in enumerate(self._items(value, "attachments", p)):
            what = f"attachments[{i}]"
            if not isinstance(item, dict):
                p.append(f"{what} must be an object")
                continue
            self._unknown(item, ATTACHMENT_KEYS, f"{what}: ", p)
            aid = self.number(item.get("id"), f"{what}.id", p)
            comment = self.number(item.get("comment"), f"{what}.comment", p)
            if comment is not None and comment not in comment_ids:
                p.append(f"{what}.comment {comment} is not one of this ticket's comment ids")
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                p.append(f"{what}.name must be non-empty text")
                name = ""
            encoded = item.get("content_base64")
            content = b""
            if not isinstance(encoded, str):
                p.append(f"{what}.content_base64 is required (the file, base64-encoded)")
            else:
                try:
                    content = base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError):
                    p.append(f"{what}.content_base64 is not valid base64")
            if len(content) > self.limits.attachment:
                p.append(f"{what} is {len(content)} bytes; the limit is {self.limits.attachment}")
            digest = hashlib.sha256(content).hexdigest()
            if item.get("sha256", digest) != digest:
                p.append(f"{what}.sha256 does not match its content")
            if item.get("size", len(content)) != len(content):
                p.append(f"{what}.size does not match its content")
            uploader = item.get("uploader")
            if uploader is not None:
                uploader = self.email(uploader, f"{what}.uploader", p)
            at = (self.stamp(item["created_at"], f"{what}.created_at", p)
                  if "created_at" in item else default_at)
            out.append((aid, comment, uploader, name, digest, content, at))
        return out

    def history(self, value: Any, p: list[str]) -> list[HistoryIn]:
        out: list[HistoryIn] = []
        phases = self._phase
        encode = _ENCODE
        for i, item in enumerate(self._items(value, "history", p)):
            what = f"history[{i}]"
            if not isinstance(item, dict):
                p.append(f"{what} must be an object")
                continue
            if not HISTORY_KEYS.issuperset(item):
                self._unknown(item, HISTORY_KEYS, f"{what}: ", p)
            get = item.get
            at = self.stamp(get("at"), f"{what}.at", p)
            actor = get("actor")
            if actor is not None:
                actor = self.email(actor, f"{what}.actor", p)
            event = get("event")
            if not isinstance(event, str) or not event or len(event) > 40:
                p.append(f"{what}.event must be a short non-empty name")
                event = ""
            detail = get("detail") or {}
            if not isinstance(detail, dict):
                p.append(f"{what}.detail must be an object")
                detail = {}
            source, target = get("from"), get("to")
            if source is not None and (type(source) is not str or source not in phases):
                source = self.status(source, f"{what}.from", p)
            if target is not None and (type(target) is not str or target not in phases):
                target = self.status(target, f"{what}.to", p)
            out.append((at, actor, event, source, target, encode(detail) if detail else None))
        return out

    def person(self, line: int, r: dict[str, Any], p: list[str]) -> PersonIn:
        self._unknown(r, USER_KEYS, "", p)
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
        self._unknown(r, ORG_KEYS, "", p)
        name = r.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200 or any(
                ch < " " for ch in name):
            p.append("name must be 1-200 printable characters")
            name = ""
        manager = r.get("manager")
        if manager is not None:
            manager = self.email(manager, "manager", p)
        created = self.stamp(r.get("created_at", self.now), "created_at", p)
        return OrgIn(line, name.strip(), manager, created)


def checked_records(stream: IO[bytes], fmt: str | None, name: str,
                    checker: Checker) -> Iterator[Checked]:
    """Every record of a JSONL or CSV stream, checked, in file order."""
    first = stream.readline()
    chosen = fmt or detect_format(name, first)
    lines = itertools.chain([first], stream)
    if chosen == "csv":
        for number, row in _csv_records(lines):
            yield row if isinstance(row, LineError) else checker.record(number, row)
        return
    if chosen != "jsonl":
        raise UsageError(f"unknown import format {chosen!r}; choose one of: {', '.join(FORMATS)}")
    for number, raw in enumerate(lines, 1):
        record = _json_record(number, raw)
        if record is not None:
            yield record if isinstance(record, LineError) else checker.record(number, record)


def _renumbered(detail: str | None, renumber: dict[int, int]) -> str | None:
    """A history detail whose comment reference follows the comment's new id."""
    if detail is None or '"comment"' not in detail:
        return detail
    data = json.loads(detail)
    if type(data.get("comment")) is int and data["comment"] in renumber:
        data["comment"] = renumber[data["comment"]]
        return _ENCODE(data)
    return detail


# -- import ---------------------------------------------------------------------------------


class _Importer:
    """Turns checked records into rows, batch by batch, inside one import session."""

    def __init__(self, session: bulk.ImportSession, wf: Workflow, actor: User, now: str,
                 source: str, new_ids: bool, report: ImportReport) -> None:
        self.s = session
        self.wf = wf
        self.actor = actor
        self.now = now
        self.source = json.dumps({"source": source}, ensure_ascii=False)
        self.new_ids = new_ids
        self.report = report
        self.people: dict[str, User] = {actor.email: actor}
        self.orgs: dict[str, int] = {}
        self.tickets: list[TicketIn] = []
        self.persons: list[PersonIn] = []
        self.max = {t: session.max_id(t) for t in bulk.ID_TABLES}
        self.first_new_ticket = self.max["tickets"] + 1
        self.renumbered: dict[int, int] = {}  # file id -> new id (new_ids only)
        self.follow_ups: list[tuple[int, int, int]] = []  # (line, ticket id, file ref)
        self.managers: list[tuple[int, int, str]] = []  # (line, org id, email)

    def fail(self, line: int, message: str) -> None:
        self.report.errors.append(LineError(line, message))

    def add(self, item: Checked) -> None:
        """Take one checked record; people and organizations apply before later tickets."""
        if isinstance(item, TicketIn):
            if self.persons:
                self.flush_people()
            self.tickets.append(item)
            if len(self.tickets) >= BATCH:
                self.flush()
        elif isinstance(item, PersonIn):
            if self.tickets:
                self.flush()
            self.persons.append(item)
            if len(self.persons) >= BATCH:
                self.flush_people()
        elif isinstance(item, OrgIn):
            self.flush()
            self.org(item)
        elif isinstance(item, LineError):
            self.report.errors.append(item)

    def finish(self) -> None:
        self.flush()
        self._link_follow_ups()
        for line, org_id, email in self.managers:
            self._known([email])
            manager = self.people.get(email)
            if manager is None or not manager.staff:
                self.fail(line, f"manager {email} must be an agent or admin of this desk "
                          "(or come in a user record with such a role)")
            else:
                self.s.store.set_org_manager(org_id, manager.id)

    # -- people and organizations ----------------------------------------------------

    def org(self, o: OrgIn) -> None:
        if self._org_id(o.name) is None:
            org_id = self.s.add_org(o.name, o.created_at)
            self.orgs[o.name.casefold()] = org_id
            self.report.orgs_created += 1
            if o.manager:
                self.managers.append((o.line, org_id, o.manager))

    def _org_id(self, name: str) -> int | None:
        key = name.casefold()
        if key not in self.orgs:
            self.orgs.update(self.s.org_ids([name]))
        return self.orgs.get(key)

    def _org_or_create(self, name: str) -> int:
        org_id = self._org_id(name)
        if org_id is None:
            org_id = self.s.add_org(name, self.now)
            self.orgs[name.casefold()] = org_id
            self.report.orgs_created += 1
        return org_id

    def flush_people(self) -> None:
        """Add the people of pending user records; those already here stay as they are."""
        batch, self.persons = self.persons, []
        self._known(p.email for p in batch)
        new: dict[str, PersonRow] = {}
        for p in batch:
            if p.email not in self.people and p.email not in new:
                org_id = self._org_or_create(p.organization) if p.organization else None
                new[p.email] = (p.email, p.name, p.role, org_id, p.created_at)
        if new:
            self.people.update(self.s.add_people(list(new.values())))
            self.report.people_created += len(new)

    def _known(self, emails: Iterable[str]) -> None:
        """Look up the emails not yet cached."""
        missing = [e for e in emails if e not in self.people]
        if missing:
            self.people.update(self.s.people(missing))

    # -- tickets -------------------------------------------------------------------------

    def flush(self) -> None:
        self.flush_people()
        batch, self.tickets = self.tickets, []
        if not batch:
            return
        batch = self._check_people(batch)
        ids = self._ticket_ids(batch)
        comment_ids = self._child_ids("comments", [c[0] for t in batch for c in t.comments])
        attachment_ids = self._child_ids(
            "attachments", [a[0] for t in batch for a in t.attachments])
        tickets: list[TicketRow] = []
        history: list[HistoryRow] = []
        comments: list[CommentRow] = []
        participants: list[ParticipantRow] = []
        attachments: list[AttachmentRow] = []
        person = self.people
        imported = self.source
        actor = self.actor.id
        now = self.now
        for t in batch:
            tid = ids.get(t.line)
            if tid is None:
                continue
            requester = person[t.requester]
            if t.own_org:
                org_id = requester.org_id
            else:
                org_id = None if t.organization is None else self._org_or_create(t.organization)
            if t.follow_up_of is not None:
                # Linked at the end, when every ticket of the file is in.
                self.follow_ups.append((t.line, tid, t.follow_up_of))
            tickets.append((
                tid, t.title, t.description, t.status, t.phase, t.priority, t.category,
                requester.id, person[t.assignee].id if t.assignee else None, org_id,
                t.resolution, t.fields, None, t.created_at, t.updated_at,
                t.status_changed_at, t.activity_at, t.reminded_for,
            ))
            if t.participants:
                participants += [(tid, person[email].id, added)
                                 for email, added in t.participants if email != t.requester]
            renumber: dict[int, int] = {}
            if t.comments or t.attachments:
                renumber = self._children(t, tid, comment_ids, attachment_ids, comments,
                                          attachments)
            if t.history is None:
                history.append((tid, actor, now, "imported", None, t.status, imported))
            else:
                history += [
                    (tid, person[who].id if who else None, at, event, src, dst,
                     _renumbered(detail, renumber) if renumber else detail)
                    for at, who, event, src, dst, detail in t.history
                ]
        s = self.s
        s.insert_tickets(tickets)
        s.insert_comments(comments)
        s.insert_participants(participants)
        s.insert_attachments(attachments)
        s.insert_history(history)
        s.index([("tickets", [r[0] for r in tickets]), ("comments", [r[0] for r in comments])])
        self.report.tickets += len(tickets)
        self.report.comments += len(comments)

    def _children(self, t: TicketIn, tid: int, comment_ids: Iterator[int],
                  attachment_ids: Iterator[int], comments: list[CommentRow],
                  attachments: list[AttachmentRow]) -> dict[int, int]:
        """Rows for a ticket's comments and attachments; returns file id -> new comment id."""
        person = self.people
        renumber: dict[int, int] = {}
        for given, author, body, internal, created in t.comments:
            cid = next(comment_ids)
            if given is not None and given != cid:
                renumber[given] = cid
            comments.append((cid, tid, person[author].id, body, int(internal), created))
        for _aid, comment, uploader, name, digest, content, created in t.attachments:
            link = None if comment is None else renumber.get(comment, comment)
            attachments.append((
                next(attachment_ids), tid, link, person[uploader].id if uploader else None,
                name, len(content), digest, content, created,
            ))
        return renumber

    @staticmethod
    def _names(t: TicketIn) -> list[str]:
        """Every email a ticket record names."""
        names = [t.requester]
        if t.assignee:
            names.append(t.assignee)
        names += [h[1] for h in t.history or () if h[1]]
        if t.participants or t.comments or t.attachments:
            names += [e for e, _ in t.participants]
            names += [c[1] for c in t.comments]
            names += [a[2] for a in t.attachments if a[2]]
        return names

    def _check_people(self, batch: list[TicketIn]) -> list[TicketIn]:
        """Resolve everyone the batch names, adding unknown people as customers where the
        workflow allows; returns the tickets whose people are all fine."""
        people = self.people
        named: dict[str, TicketIn] = {}
        for t in batch:
            for email in self._names(t):
                if email not in people and email not in named:
                    named[email] = t
        self._known(named)
        missing = {e for e in named if e not in people}
        if missing and self.wf.allow_unregistered:
            new: list[PersonRow] = []
            for email in sorted(missing):
                t = named[email]
                if email == t.assignee:
                    continue  # never made up: reported below
                org_id = None
                if email == t.requester and t.organization is not None:
                    org_id = self._org_or_create(t.organization)
                new.append((email, email.split("@")[0], "customer", org_id, self.now))
            if new:
                people.update(self.s.add_people(new))
                self.report.people_created += len(new)
            missing = {e for e in missing if e not in people}
        good = []
        for t in batch:
            problems = []
            if missing:
                unknown = sorted({e for e in self._names(t) if e in missing} - {t.assignee})
                if unknown:
                    problems.append(
                        f"{', '.join(unknown)} not registered, and the {self.wf.name} workflow "
                        "accepts registered users only; add them first (user records or "
                        "'ticketcli user add')"
                    )
            if t.assignee:
                assignee = people.get(t.assignee)
                if assignee is None or not assignee.staff:
                    what = "not a user" if assignee is None else "a customer"
                    problems.append(
                        f"assignee {t.assignee} is {what}; tickets are assigned to agents "
                        "(add them first, with a user record of role agent or 'ticketcli "
                        "user add')"
                    )
            for problem in problems:
                self.fail(t.line, problem)
            if not problems:
                good.append(t)
        return good

    def _ticket_ids(self, batch: list[TicketIn]) -> dict[int, int]:
        """The number each ticket gets, by line; lines whose number is taken are reported."""
        out: dict[int, int] = {}
        if self.new_ids:
            for t in batch:
                if t.id is not None and t.id in self.renumbered:
                    self.fail(t.line, f"ticket id {t.id} appears twice in the file")
                    continue
                self.max["tickets"] += 1
                out[t.line] = self.max["tickets"]
                if t.id is not None:
                    self.renumbered[t.id] = out[t.line]
            return out
        top = self.max["tickets"]
        taken = self.s.taken_ids("tickets", [t.id for t in batch if t.id and t.id <= top])
        for t in batch:
            tid = t.id
            if tid is None:
                tid = self.max["tickets"] + 1
            elif tid in taken:
                self.fail(t.line, f"ticket {tid} already exists (in the database or earlier "
                          "in the file); import with --new-ids to number the tickets afresh")
                continue
            taken.add(tid)
            out[t.line] = tid
            if tid > self.max["tickets"]:
                self.max["tickets"] = tid
        return out

    def _child_ids(self, table: str, wanted: list[int | None]) -> Iterator[int]:
        """Ids for comments or attachments: the file's own when free, else new ones."""
        if not wanted:
            return iter(())
        top = self.max[table]
        taken = self.s.taken_ids(table, [i for i in wanted if i is not None and i <= top])
        result = []
        for i in wanted:
            if i is None or i in taken:
                i = self.max[table] + 1  # above every id in use or handed out
            taken.add(i)
            self.max[table] = max(self.max[table], i)
            result.append(i)
        return iter(result)

    def _link_follow_ups(self) -> None:
        """Point follow-ups at their tickets; every ticket of the file is in by now."""
        if not self.follow_ups:
            return
        if self.new_ids:
            # A number the file itself used means that ticket; otherwise a ticket
            # that was in the database before this import.
            outside = sorted({ref for _, _, ref in self.follow_ups} - self.renumbered.keys())
            existing = self.s.existing_tickets(outside, at_most=self.first_new_ticket - 1)
        else:
            existing = self.s.existing_tickets(sorted({ref for _, _, ref in self.follow_ups}))
        pairs = []
        for line, tid, ref in self.follow_ups:
            target = self.renumbered.get(ref) if self.new_ids else None
            if target is None and ref in existing:
                target = ref
            if target is None:
                self.fail(line, f"follow_up_of {ref}: no such ticket in the file or the "
                          "database")
            else:
                pairs.append((target, tid))
        self.s.set_follow_ups(pairs)


def import_records(store: Store, actor: User, now: str, records: Iterable[Checked], *,
                   source: str, new_ids: bool = False, dry_run: bool = False) -> ImportReport:
    """Import checked records in one transaction; nothing is kept if any line is bad.

    The report lists every bad line; its ``errors`` being non-empty means the
    database was left exactly as it was.
    """
    require_admin(actor, "import tickets")
    report = ImportReport(dry_run=dry_run)
    with bulk.import_session(store) as session:
        importer = _Importer(session, store.workflow(), actor, now, source, new_ids, report)
        for item in records:
            importer.add(item)
        importer.finish()
        report.errors.sort(key=lambda e: e.line)
        session.commit = not report.errors and not dry_run
    return report


def import_stream(store: Store, actor: User, now: str, stream: IO[bytes], *, fmt: str | None,
                  source: str, new_ids: bool = False, dry_run: bool = False,
                  limits: Limits = DEFAULT_LIMITS) -> ImportReport:
    """Import a JSONL or CSV stream (admins only); see the module's rules."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown import format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    require_admin(actor, "import tickets")
    checker = Checker(store.workflow(), now, limits)
    return import_records(store, actor, now, checked_records(stream, fmt, source, checker),
                          source=source, new_ids=new_ids, dry_run=dry_run)


# -- export -------------------------------------------------------------------------------


def export_records(store: Store, actor: User, now: str) -> Iterator[dict[str, Any]]:
    """The records of an export, in import order: header, organizations, people, tickets.

    Staff export everything. A customer exports the tickets they may see,
    exactly as ``show`` shows them to them, and no directory of people.
    """
    wf = store.workflow()
    with bulk.snapshot(store):
        yield {"type": HEADER_TYPE, "version": FORMAT_VERSION, "exported_at": now,
               "workflow": wf.name, "by": actor.email}
        if not actor.staff:
            yield from (bundle_record(b) for b in _visible_bundles(store, actor))
            return
        orgs, people = bulk.export_people(store)
        for o in orgs:
            yield {"type": "org", "name": o.name, "manager": o.manager,
                   "created_at": o.created_at}
        for u in people:
            yield {"type": "user", "email": u.email, "name": u.name, "role": u.role,
                   "organization": u.organization, "created_at": u.created_at}
        for b in bulk.all_bundles(store):
            yield bundle_record(b)


def _visible_bundles(store: Store, actor: User, chunk: int = 500) -> Iterator[bulk.Bundle]:
    """A customer's tickets through ``show``, the use case that decides what they see."""
    from .tickets import show

    after = 0
    while ids := bulk.visible_ticket_ids(store, actor, after, chunk):
        for ticket_id in ids:
            d = show(store, actor, ticket_id)
            files = bulk.attachment_files(store, [a.id for a in d.attachments])
            yield bulk.Bundle(
                ticket=d.ticket,
                reminded_for=None,
                participants=[bulk.Participation(e, None) for e in d.participants],
                comments=d.comments,
                attachments=[
                    bulk.StoredAttachment(a.id, files[a.id][0], a.uploader, a.name, a.size,
                                          a.sha256, files[a.id][1], a.created_at)
                    for a in d.attachments
                ],
                history=d.history,
            )
        after = ids[-1]


def bundle_record(b: bulk.Bundle) -> dict[str, Any]:
    t = b.ticket
    return {
        "type": "ticket", "id": t.id, "title": t.title, "description": t.description,
        "status": t.status, "phase": t.phase, "priority": t.priority, "category": t.category,
        "requester": t.requester, "assignee": t.assignee, "organization": t.organization,
        "resolution": t.resolution, "follow_up_of": t.follow_up_of, "fields": t.fields,
        "created_at": t.created_at, "updated_at": t.updated_at,
        "status_changed_at": t.status_changed_at, "activity_at": t.activity_at,
        "reminded_for": b.reminded_for,
        "participants": [
            {"email": p.email, "added_at": p.added_at} if p.added_at else p.email
            for p in b.participants
        ],
        "comments": [
            {"id": c.id, "author": c.author, "body": c.body, "internal": c.internal,
             "created_at": c.created_at}
            for c in b.comments
        ],
        "attachments": [
            {"id": a.id, "comment": a.comment_id, "name": a.name, "size": a.size,
             "sha256": a.sha256, "uploader": a.uploader, "created_at": a.created_at,
             "content_base64": base64.b64encode(a.content).decode("ascii")}
            for a in b.attachments
        ],
        "history": [
            {"at": h.at, "actor": h.actor, "event": h.event, "from": h.from_status,
             "to": h.to_status, "detail": h.detail}
            for h in b.history
        ],
    }


def write_jsonl(records: Iterable[dict[str, Any]], write: Callable[[str], Any]) -> int:
    """Serialize records one a line; returns how many tickets were written."""
    count = 0
    dumps = json.dumps
    buffer: list[str] = []
    for r in records:
        buffer.append(dumps(r, ensure_ascii=False))
        if r.get("type") == "ticket":
            count += 1
        if len(buffer) >= 1000:
            write("\n".join(buffer) + "\n")
            buffer.clear()
    if buffer:
        write("\n".join(buffer) + "\n")
    return count
