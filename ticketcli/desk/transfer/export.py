"""Export: a desk as JSON Lines, the records ``import`` reads back.

Staff export everything: a header, organizations, people, then every ticket
with its participants, comments, attachments and history. A customer exports
the tickets they may see, exactly as ``show`` shows them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from ...store import Store, User
from ...store.bulk import reads as bulk
from .records import FORMAT_VERSION, HEADER_TYPE


def export_records(store: Store, actor: User, now: str) -> Generator[dict[str, Any]]:
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
    from ..tickets import show

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
             "to": h.to_status, "detail": h.detail, "via": h.via}
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
