"""What ``list`` asks for, turned into the store's query: statuses, phases, people and
organizations resolved, times and stale rules made into bounds."""

from __future__ import annotations

from ..errors import UsageError
from ..i18n import msg
from ..record import Record
from ..text import check_email

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from ..store import Store, Ticket, TicketQuery, User


SLA_STATES = ("breached", "at-risk", "ok")


class ListRequest(Record):
    """What ``list`` asks for; emails and names are resolved here, not in the command."""

    statuses: Sequence[str] = ()
    phases: Sequence[str] = ()
    include_all: bool = False
    priority: str | None = None
    requester: str | None = None
    assignee: str | None = None
    organization: str | None = None
    category: str | None = None
    created_since: str | None = None
    created_before: str | None = None
    updated_since: str | None = None
    updated_before: str | None = None
    stale_at: datetime | None = None
    search: str | None = None
    sla: str | None = None  # breached, at-risk or ok (as of sla_now)
    sla_now: str | None = None
    sort: str = "id"
    descending: bool = True
    limit: int | None = None  # None: no limit (the list command declares its default)


def _query(store: Store, actor: User, req: ListRequest) -> TicketQuery | None:
    """The store query for a request, or None when it cannot match anything."""
    from ..store import SORT_KEYS, TicketQuery
    from ..workflow import PHASES

    wf = store.workflow()
    statuses = [wf.status_key(s) for s in req.statuses]
    for p in req.phases:
        if p not in PHASES:
            raise UsageError(msg("unknown phase {phase!r}; choose one of: {choices}",
                                 phase=p, choices=", ".join(PHASES)))
    priority = None if req.priority is None else wf.priority_key(req.priority)
    if req.sort not in SORT_KEYS:
        raise UsageError(f"cannot sort by {req.sort!r}; choose one of: {', '.join(SORT_KEYS)}")
    if req.sla is not None and req.sla not in SLA_STATES:
        raise UsageError(f"--sla takes one of: {', '.join(SLA_STATES)}")
    if req.sla is not None and not wf.sla:
        return None  # no policies: no ticket has clocks
    if req.search is not None and not req.search.strip():
        raise UsageError("--search needs some text to look for")
    chosen = list(dict.fromkeys(statuses))
    if req.phases:
        in_phases = [k for k, st in wf.statuses.items() if st.phase in req.phases]
        chosen = [k for k in chosen if k in in_phases] if chosen else in_phases
        if not chosen:
            return None
    if not chosen and not req.include_all:
        chosen = wf.active_statuses()
    found: dict[str, int] = {}
    if req.requester is not None:
        user = store.people.user_by_email(check_email(req.requester))
        if user is None:
            return None
        found["requester_id"] = user.id
    if req.assignee is not None:
        user = (actor if req.assignee == "me"
                else store.people.user_by_email(check_email(req.assignee)))
        if user is None:
            return None
        found["assignee_id"] = user.id
    if req.organization is not None:
        org = store.people.org_by_name(req.organization)
        if org is None:
            return None
        found["org_id"] = org.id
    stale = None
    if req.stale_at is not None:
        from datetime import timedelta

        from ..clock import iso

        stale = [(r.sources, r.since, iso(req.stale_at - timedelta(seconds=r.after)))
                 for r in wf.stale]
    return TicketQuery(
        statuses=chosen, priority=priority, category=req.category, search=req.search,
        created_since=req.created_since, created_before=req.created_before,
        updated_since=req.updated_since, updated_before=req.updated_before, stale=stale,
        sla=req.sla, sla_now=req.sla_now if req.sla is not None else None,
        sort=req.sort, descending=req.descending, limit=req.limit, viewer=actor,
        order={"status": list(wf.statuses), "priority": list(wf.priorities),
               "phase": list(PHASES)},
        **found,
    )


def list_tickets(store: Store, actor: User, req: ListRequest) -> tuple[list[Ticket], bool]:
    q = _query(store, actor, req)
    return store.listing.list_tickets(q) if q is not None else ([], False)


def count_tickets(store: Store, actor: User, req: ListRequest) -> int:
    q = _query(store, actor, req)
    return store.listing.count_matching(q) if q is not None else 0
