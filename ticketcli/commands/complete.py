"""Dynamic values for shell completion: ticket ids, statuses, emails, priorities.

Completion runs the program on every Tab, so these read the database through
a read-only connection (never creating or migrating it), use range scans on
indexes only, and answer nothing rather than fail. The database, config and
acting person are the global options as click parsed them (their environment
variables included), given to the run's context.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    import typer

    from ..context import Context
    from ..store import Store, User


def _context(ctx: typer.Context) -> Context:
    from ..context import Context

    root = ctx.find_root()
    c = root.obj if isinstance(root.obj, Context) else Context()
    params = root.params
    c.configure(db=params.get("db"), config=params.get("config"), as_=params.get("as_"),
                lang=None)
    return c


def _with_store(ctx: typer.Context, fn: Callable[[Store], list[str]]) -> list[str]:
    from ..store import Store

    try:
        store = Store.open_readonly(_context(ctx).db_path)
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
    from .. import config as cfg

    def find(store: Store) -> list[str]:
        try:
            email = _context(ctx).actor_email()
        except Exception:
            email = cfg.login_actor()
        viewer = store.people.user_by_email(email.lower())
        return [] if viewer is None else fn(store, viewer)

    return _with_store(ctx, find)


def ticket_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """Ids of the tickets the acting person may see."""
    return _as_viewer(ctx, lambda s, viewer: [
        str(i) for i in s.tickets.ids_starting(incomplete.lstrip("#"), viewer)])


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
    from ..output import FORMATS

    return [f for f in FORMATS if f.startswith(incomplete)]


def presets(incomplete: str) -> list[str]:
    from ..workflow import PRESETS

    return [p for p in PRESETS if p.startswith(incomplete)]


def roles(incomplete: str) -> list[str]:
    return [r for r in ("customer", "agent", "admin") if r.startswith(incomplete)]
