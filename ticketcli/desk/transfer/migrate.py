"""``migrate-db``: the whole desk copied onto the other engine (or another file or
server of the same), ids kept, verified before it commits."""

from __future__ import annotations

from ...errors import ConfigError, UsageError
from ..people import require_admin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...store import Store, User


def migrate(source: Store, actor: User, target: str, busy_timeout: float,
            ) -> dict[str, dict[str, object]]:
    """Copy ``source`` into the empty desk at ``target`` (a path or a URL); the rows and
    checksum of every table, the same on both sides (else nothing is kept)."""
    import os

    from ...store import Store
    from ...store.bulk import copy

    require_admin(actor, "copy the whole desk")
    if _same(source, target):
        raise UsageError("--to names the desk being copied; choose another database")
    if not target.startswith(("postgresql://", "postgres://")) and os.path.lexists(target) \
            and os.path.isfile(target) and os.path.getsize(target) > 0:
        _refuse_unless_empty(target, busy_timeout)
    dest = Store.open(target, busy_timeout=busy_timeout)
    try:
        if not copy.is_empty(dest):
            raise ConfigError(f"database {dest.path} already holds a desk; migrate-db copies "
                              "into an empty database only")
        summary: dict[str, dict[str, object]] = {}
        with copy.snapshot(source), dest.write():
            copy.clear_meta(dest)
            copy.before_rows(dest)
            checked = []
            for table, key in copy.TABLES:
                names = copy.columns(source, table)
                theirs = set(copy.columns(dest, table))
                missing = [n for n in names if n not in theirs]
                if missing:
                    raise ConfigError(f"database {dest.path} has no column {table}."
                                      f"{missing[0]}; it is not this ticketcli's schema")
                sent = copy.Checksum()
                pairs = []
                for rows in copy.read(source, table, key, names):
                    copy.write(dest, table, names, rows)
                    pairs += copy.held_back(table, names, rows)
                    sent.add(rows)
                copy.write_later(dest, table, pairs)
                summary[table] = {"rows": sent.rows, "checksum": sent.hexdigest()}
                checked.append((table, key, names))
            copy.after_rows(dest)
            # Read back what the target holds, through its own indexes, before it commits.
            for table, key, names in checked:
                got = copy.Checksum()
                for rows in copy.read(dest, table, key, names):
                    got.add(rows)
                if (got.rows, got.hexdigest()) != (summary[table]["rows"],
                                                   summary[table]["checksum"]):
                    raise ConfigError(
                        f"the copy of {table} differs from the source ({got.rows} rows "
                        f"against {summary[table]['rows']}); nothing was kept")
            copy.restart_ids(dest)
    finally:
        dest.close()
    return summary


def _same(source: Store, target: str) -> bool:
    import os

    if source.db.engine == "sqlite" and not target.startswith(("postgresql://", "postgres://")):
        try:
            return os.path.samefile(source.path, target)
        except OSError:
            return False
    return str(getattr(source.db, "url", source.path)) == target


def _refuse_unless_empty(target: str, busy_timeout: float) -> None:
    """An existing SQLite file is a target only when it is an empty desk."""
    from ...store import Store
    from ...store.bulk import copy

    existing = Store.open(target, busy_timeout=busy_timeout)
    try:
        if not copy.is_empty(existing):
            raise ConfigError(f"database {target} already holds a desk; migrate-db copies "
                              "into an empty database only")
    finally:
        existing.close()
