"""Dynamic values for shell completion: ticket ids, statuses, emails, priorities.

Completion runs the program on every Tab, so these read the database through
a read-only connection (never creating or migrating it), use range scans on
indexes only, and answer nothing rather than fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import typer

from .store import Store, User
from .workflow import PRESETS


def _with_store(ctx: typer.Context, fn: Callable[[Store], list[str]]) -> list[str]:
    from .context import Context

    params = ctx.find_root().params
    c = Context(
        db_option=params.get("db") or os.environ.get("TICKETCLI_DB"),
        config_option=params.get("config") or os.environ.get("TICKETCLI_CONFIG"),
    )
    try:
        store = Store.open_readonly(c.db_path)
    except Exception:
        return []
    if store is None:
        return []
    try:
        return fn(store)
    except Exception:
        return []
    finally:
        store.close()


def _as_viewer(ctx: typer.Context, fn: Callable[[Store, User], list[str]]) -> list[str]:
    """``fn`` for the acting person (nothing for someone the desk does not know)."""
    from . import config as cfg
    from .context import Context

    params = ctx.find_root().params
    c = Context(config_option=params.get("config") or os.environ.get("TICKETCLI_CONFIG"),
                as_option=params.get("as_") or os.environ.get("TICKETCLI_USER"))

    def find(store: Store) -> list[str]:
        try:
            email = c.actor_email()
        except Exception:
            email = cfg.login_actor(os.environ)
        viewer = store.people.user_by_email(email.lower())
        return [] if viewer is None else fn(store, viewer)

    return _with_store(ctx, find)


def ticket_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """Ids of the tickets the acting person may see."""
    return _as_viewer(ctx, lambda s, viewer: [str(i) for i in s.tickets.ids_starting(incomplete,
                                                                           viewer)])


def statuses(ctx: typer.Context, incomplete: str) -> list[str]:
    return _with_store(ctx, lambda s: [k for k in s.workflow().statuses
                                       if k.startswith(incomplete)])


def ids_then_status(ctx: typer.Context, incomplete: str) -> list[str]:
    """For ``set-status ID... STATUS``: ids while typing digits, else status keys."""
    if incomplete.isdigit():
        return ticket_ids(ctx, incomplete)
    return statuses(ctx, incomplete)


def priorities(ctx: typer.Context, incomplete: str) -> list[str]:
    return _with_store(ctx, lambda s: [p for p in s.workflow().priorities
                                       if p.startswith(incomplete)])


def emails(ctx: typer.Context, incomplete: str) -> list[str]:
    """Addresses the acting person may know (a customer: their organization's)."""
    return _as_viewer(ctx, lambda s, viewer: s.people.emails_starting(incomplete, viewer))


def assignees(ctx: typer.Context, incomplete: str) -> list[str]:
    return (["me"] if "me".startswith(incomplete) else []) + emails(ctx, incomplete)


def formats(incomplete: str) -> list[str]:
    from .output import FORMATS

    return [f for f in FORMATS if f.startswith(incomplete)]


def presets(incomplete: str) -> list[str]:
    return [p for p in PRESETS if p.startswith(incomplete)]


def roles(incomplete: str) -> list[str]:
    return [r for r in ("customer", "agent", "admin") if r.startswith(incomplete)]
