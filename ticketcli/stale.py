"""close-stale: apply the workflow's stale rules in short, re-checked batches.

Each batch is its own ``BEGIN IMMEDIATE`` transaction that selects the tickets
that are stale *now*, inside the lock, then moves them and writes their history
rows. A ticket that got a reply a moment earlier no longer matches and is left
alone; two runs at once cannot both move the same ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .clock import iso
from .store import Store
from .tickets import Change, _move

BATCH = 200


def close_stale(store: Store, now: datetime, *, dry_run: bool = False,
                limit: int | None = None, batch: int = BATCH) -> list[Change]:
    wf = store.workflow()
    stamp = iso(now)
    changes: list[Change] = []
    for rule in wf.stale:
        cutoff = iso(now - timedelta(seconds=rule.after))
        after_id = 0
        while limit is None or len(changes) < limit:
            size = batch if limit is None else min(batch, limit - len(changes))
            if dry_run:
                ids = store.stale_ids(rule.sources, rule.since, cutoff, size, after_id)
                changes.extend(Change(i, store.ticket(i).status, rule.to) for i in ids)
            else:
                with store.write():
                    ids = store.stale_ids(rule.sources, rule.since, cutoff, size, after_id)
                    for i in ids:
                        ticket = store.ticket(i)
                        changes.append(_move(store, wf, None, ticket, rule.to, stamp,
                                             reason="stale"))
            if len(ids) < size:
                break
            after_id = ids[-1]
    return changes
