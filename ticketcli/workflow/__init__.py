"""The workflow engine: statuses, phases, moves, reply rules and stale rules.

A workflow is data (a preset TOML file, or the copy stored in the database).
The package is pure: no I/O beyond reading the packaged presets, no SQL, no
printing. ``model`` holds what a workflow is and answers what it allows;
``documents`` reads and checks the documents that describe one.
"""

from __future__ import annotations

from .model import (
    INACTIVE_PHASES,
    LANGUAGES,
    MAX_DURATION,
    PHASES,
    PRESETS,
    REPLY_SIDES,
    ROLES,
    SHARING,
    SIDE_NAMES,
    SIDES,
    SINCE,
    Move,
    ReplyRule,
    StaleRule,
    Status,
    Workflow,
    format_duration,
    from_stored,
    parse_duration,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# Reading documents means checking them (documents imports re): loaded on first use.
def load(data: dict[str, Any], source: str = "workflow") -> Workflow:
    """Build a Workflow from a parsed TOML document or raise ConfigError."""
    from .documents import load as checked

    return checked(data, source)


def load_preset(name: str) -> Workflow:
    """One of the workflows shipped in ``ticketcli/presets``."""
    from .documents import load_preset as preset

    return preset(name)


def problems(data: dict[str, Any]) -> list[str]:
    """Every problem in a workflow document, each with its location."""
    from .documents import problems as found

    return found(data)

__all__ = [
    "INACTIVE_PHASES", "LANGUAGES", "MAX_DURATION", "PHASES", "PRESETS", "REPLY_SIDES",
    "ROLES", "SHARING", "SIDES", "SIDE_NAMES", "SINCE", "Move", "ReplyRule", "StaleRule",
    "Status", "Workflow", "format_duration", "from_stored", "load", "load_preset",
    "parse_duration",
    "problems",
]
