"""Importing checked records: people, numbers and rows, batch by batch, in one transaction.

The records arrive checked (:mod:`.checks`); what needs the database is done
here: who is already registered, which ticket numbers are taken, which
organizations exist. Rows go to the import session
(:mod:`ticketcli.store.bulk.session`) a batch at a time; the whole import is
its one transaction, committed only if no line was bad.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from typing import IO

from ...errors import UsageError
from ...store import Store, User
from ...store.bulk import session as bulk
from ...store.bulk.rows import (
    AttachmentRow,
    CommentRow,
    HistoryRow,
    ParticipantRow,
    PersonRow,
    TicketRow,
)
from ...workflow import Workflow
from ..checks import DEFAULT_LIMITS, Limits
from ..people import require_admin
from .checks import ENCODE, Checker
from .read import checked_records
from .records import (
    FORMATS,
    Checked,
    ImportReport,
    LineError,
    OrgIn,
    PersonIn,
    TicketIn,
)

BATCH = 5_000  # tickets per batch of rows


def import_stream(store: Store, actor: User, now: str, stream: IO[bytes], *, fmt: str | None,
                  source: str, new_ids: bool = False, dry_run: bool = False,
                  limits: Limits = DEFAULT_LIMITS) -> ImportReport:
    """Import a JSONL or CSV stream (admins only); see the package's rules."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown import format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    require_admin(actor, "import tickets")
    checker = Checker(store.workflow(), now, limits)
    return import_records(store, actor, now, checked_records(stream, fmt, source, checker),
                          source=source, new_ids=new_ids, dry_run=dry_run)


def import_records(store: Store, actor: User, now: str, records: Iterable[Checked], *,
                   source: str, new_ids: bool = False, dry_run: bool = False) -> ImportReport:
    """Import checked records in one transaction; nothing is kept if any line is bad.

    The report lists every bad line; its ``errors`` being non-empty means the
    database was left exactly as it was.
    """
    require_admin(actor, "import tickets")
    report = ImportReport(dry_run=dry_run)
    # An import makes millions of objects and frees them batch by batch, with no
    # cycles among them: the cycle collector would walk the live batch again and
    # again (a third of the time) for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with bulk.import_session(store) as session:
            importer = _Importer(session, store.workflow(), actor, now, source, new_ids,
                                 report)
            for item in records:
                importer.add(item)
            importer.finish()
            report.errors.sort(key=lambda e: e.line)
            session.commit = not report.errors and not dry_run
    finally:
        if collecting:
            gc.enable()
    return report


def _renumbered(detail: str | None, renumber: dict[int, int]) -> str | None:
    """A history detail whose comment reference follows the comment's new id."""
    if detail is None or '"comment"' not in detail:
        return detail
    data = json.loads(detail)
    if type(data.get("comment")) is int and data["comment"] in renumber:
        data["comment"] = renumber[data["comment"]]
        return ENCODE(data)
    return detail


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
        self.orgs: dict[str, int] = {}  # by case-folded name
        self.org_names: dict[str, int] = {}  # by name as written
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
        if type(item) is TicketIn:
            if self.persons:
                self.flush_people()
            self.tickets.append(item)
            if len(self.tickets) >= BATCH:
                self.flush()
        elif type(item) is PersonIn:
            if self.tickets:
                self.flush()
            self.persons.append(item)
            if len(self.persons) >= BATCH:
                self.flush_people()
        elif type(item) is OrgIn:
            self.flush()
            self.org(item)
        elif type(item) is LineError:
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
                self.s.store.people.set_org_manager(org_id, manager.id)

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
        org_id = self.org_names.get(name)
        if org_id is None:
            org_id = self._org_id(name)
            if org_id is None:
                org_id = self.s.add_org(name, self.now)
                self.orgs[name.casefold()] = org_id
                self.report.orgs_created += 1
            self.org_names[name] = org_id
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
                history.append((tid, actor, now, "imported", None, t.status, imported, None))
            else:
                history += [
                    (tid, person[who].id if who else None, at, event, src, dst,
                     _renumbered(detail, renumber) if renumber else detail,
                     person[via].id if via else None)
                    for at, who, event, src, dst, detail, via in t.history
                ]
        self.s.insert(tickets=tickets, comments=comments, participants=participants,
                      attachments=attachments, history=history)
        if self.wf.sla:
            self._clocks(batch, ids)
        self.report.tickets += len(tickets)
        self.report.comments += len(comments)

    def _clocks(self, batch: list[TicketIn], ids: dict[int, int]) -> None:
        """The service-level clocks of a batch, from the records' own times."""
        from ...store.sla import compute, row

        wf, person = self.wf, self.people
        phases = {k: st.phase for k, st in wf.statuses.items()}
        rows = []
        for t in batch:
            tid = ids.get(t.line)
            if tid is None or wf.policy_for(t.priority, t.category) is None:
                continue
            history = [
                (at, event, dst, json.loads(detail).get("target")
                 if detail and event.startswith("sla_") else None)
                for at, _who, event, _src, dst, detail, _via in t.history or ()
            ]
            replies = [(created, person[author].staff)
                       for _given, author, _body, internal, created in t.comments
                       if not internal]
            found = compute(wf, t.priority, t.category, t.created_at, t.status_changed_at,
                            t.phase, history, replies, phases)
            if found is not None:
                rows.append(row(tid, found))
        self.s.store.sla.put(rows)

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
        names += [h[6] for h in t.history or () if h[6]]
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
            if t.requester in people and (t.assignee is None or t.assignee in people) and (
                    not t.history or all((h[1] is None or h[1] in people)
                                         and (h[6] is None or h[6] in people) for h in t.history)
            ) and not (t.participants or t.comments or t.attachments):
                continue  # everyone known: the common case, checked without a list
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
        staff: set[str] = set()  # assignees found to be staff
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
            if t.assignee and t.assignee not in staff:
                assignee = people.get(t.assignee)
                if assignee is None or not assignee.staff:
                    what = "not a user" if assignee is None else "a customer"
                    problems.append(
                        f"assignee {t.assignee} is {what}; tickets are assigned to agents "
                        "(add them first, with a user record of role agent or 'ticketcli "
                        "user add')"
                    )
                else:
                    staff.add(t.assignee)
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
