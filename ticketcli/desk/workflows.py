"""Use cases on the stored workflow: read TOML files, validate, import safely."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, Conflict, UsageError
from ..store import Store, User
from ..workflow import Workflow
from .people import require_admin


def read_document(path: str, text: str | None = None) -> dict[str, Any]:
    """Parse a workflow TOML file (``-`` for stdin text given in ``text``)."""
    import tomllib

    if text is None:
        import os

        from ..files import read_small_file, reading

        if os.path.isdir(path):
            raise UsageError(f"workflow file {path} is a directory")
        with reading(path, "workflow file"):
            data = read_small_file(path, "workflow file", ConfigError)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"workflow file {path} is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def to_toml(wf: Workflow) -> str:
    import tomli_w

    header = (
        f"# ticketcli workflow '{wf.name}'. Edit, check with 'ticketcli workflow validate "
        "FILE', load with 'ticketcli workflow import FILE'.\n"
    )
    return header + tomli_w.dumps(wf.to_dict())


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(f"--map takes OLD=NEW status keys, not {pair!r}")
        mapping[old.strip()] = new.strip()
    return mapping


def import_workflow(store: Store, actor: User, now: str, wf: Workflow,
                    mapping: dict[str, str]) -> dict[str, int]:
    """Store ``wf``; tickets in removed statuses move as ``mapping`` says.

    Refuses (exit 5) when a ticket would be stranded in a status the new
    workflow lacks and no mapping names where it goes. Returns moved counts.
    """
    require_admin(actor, "change the workflow")
    for old, new in mapping.items():
        if new not in wf.statuses:
            raise UsageError(f"--map {old}={new}: {new!r} is not a status of the new workflow")
    moved: dict[str, int] = {}
    with store.write():
        counts = store.tickets.status_counts()
        stranded = {s: n for s, n in counts.items() if s not in wf.statuses and s not in mapping}
        if stranded:
            listing = ", ".join(f"{n} in {s}" for s, n in sorted(stranded.items()))
            raise Conflict(
                f"the new workflow has no status for {listing}; say where they go with "
                "--map OLD=NEW"
            )
        for old, new in mapping.items():
            if counts.get(old):
                moved[old] = store.tickets.remap_status(old, new, wf.phase_of(new), actor.id, now)
        for key, status in wf.statuses.items():
            store.tickets.set_phase(key, status.phase)
        store.set_workflow(wf)
        # Policies, calendars or statuses may have changed: every ticket's clocks anew.
        if wf.sla or store.sla.has_rows():
            store.sla.rebuild(wf)
    return moved
