"""``edit``: change a ticket after it was opened.

Staff may change anything ``edit`` names; the requester may change the title and the
description of their own active ticket. Every field that really changes is one
history event ``edited`` with ``detail: {field, from, to}`` (custom fields as
``field.KEY``), all in one transaction and so in one change set.
"""

from __future__ import annotations

from ..errors import PermissionDenied, UsageError
from ..i18n import msg
from .checks import DEFAULT_LIMITS, Limits, check_body, check_category, check_title
from .people import find_user
from .tickets import visible

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..store import Store, User

# What a requester may change on their own active ticket.
REQUESTER_FIELDS = ("title", "description")


def edit_ticket(store: Store, actor: User, now: str, ticket_id: int, *,
                title: str | None = None, description: str | None = None,
                priority: str | None = None, category: str | None = None,
                fields: dict[str, str] | None = None, unset_fields: Sequence[str] = (),
                requester: str | None = None, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Apply the changes given (None: leave it); returns the names of the fields that
    changed, in order (empty: everything already was so)."""
    wf = store.workflow()
    asked = [name for name, value in (("title", title), ("description", description),
                                      ("priority", priority), ("category", category),
                                      ("fields", fields or unset_fields or None),
                                      ("requester", requester)) if value is not None]
    if not asked:
        raise UsageError(msg("nothing to change; give --title, --description, --priority, "
                             "--category, --field, --unset-field or --requester"))
    new_title = None if title is None else check_title(title, limits)
    new_body = None if description is None else check_body(description, "description", limits)
    new_priority = None if priority is None else wf.priority_key(priority)
    new_category = None if category is None else check_category(category)
    for key in unset_fields:
        if key in (fields or {}):
            raise UsageError(msg("--field {key}=... and --unset-field {key} contradict each "
                                 "other", key=key))
    with store.write():
        ticket = visible(store, actor, ticket_id)
        if not actor.staff:
            if actor.id != ticket.requester_id:
                raise PermissionDenied(msg("only staff and the requester may edit ticket {id}",
                                           id=ticket.id))
            beyond = [name for name in asked if name not in REQUESTER_FIELDS]
            if beyond:
                raise PermissionDenied(msg(
                    "a requester may change only the title and the description; only staff "
                    "may change {fields}", fields=", ".join(beyond)))
            if not wf.status(ticket.status).active:
                raise PermissionDenied(msg(
                    "ticket {id} is {status}; only staff may edit it now", id=ticket.id,
                    status=ticket.status))
        changes: list[tuple[str, object, object]] = []

        def change(name: str, old: object, new: object) -> None:
            if new != old:
                changes.append((name, old, new))

        if new_title is not None:
            change("title", ticket.title, new_title)
        if new_body is not None:
            change("description", ticket.description, new_body)
        if new_priority is not None:
            change("priority", ticket.priority, new_priority)
        if category is not None:
            change("category", ticket.category, new_category)
        merged = dict(ticket.fields)
        for key, value in (fields or {}).items():
            change(f"field.{key}", ticket.fields.get(key), value)
            merged[key] = value
        for key in unset_fields:
            if key in merged:
                change(f"field.{key}", merged.pop(key), None)
        requester_id, org_id = ticket.requester_id, ticket.org_id
        if requester is not None:
            person = find_user(store, requester)
            if person.id != ticket.requester_id:
                change("requester", ticket.requester, person.email)
                requester_id = person.id
                if person.org_id != ticket.org_id:
                    change("organization", ticket.organization, person.org)
                    org_id = person.org_id
        if not changes:
            return []
        store.tickets.update_ticket(
            ticket, now,
            title=ticket.title if new_title is None else new_title,
            description=ticket.description if new_body is None else new_body,
            priority=ticket.priority if new_priority is None else new_priority,
            category=ticket.category if category is None else new_category,
            fields=merged, requester_id=requester_id, org_id=org_id,
        )
        for name, old, new in changes:
            store.record(ticket.id, actor.id, now, "edited",
                         detail={"field": name, "from": old, "to": new})
    return [name for name, _, _ in changes]
