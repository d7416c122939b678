"""The workflow engine: statuses, phases, moves, reply rules and stale rules.

A workflow is data (a preset TOML file, or the copy stored in the database).
The package is pure: no I/O beyond reading the packaged presets, no SQL, no
printing. ``model`` holds what a workflow is and answers what it allows;
``documents`` reads and checks the documents that describe one.
"""

from .documents import load, load_preset, problems
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
    parse_duration,
)

__all__ = [
    "INACTIVE_PHASES", "LANGUAGES", "MAX_DURATION", "PHASES", "PRESETS", "REPLY_SIDES",
    "ROLES", "SHARING", "SIDES", "SIDE_NAMES", "SINCE", "Move", "ReplyRule", "StaleRule",
    "Status", "Workflow", "format_duration", "load", "load_preset", "parse_duration",
    "problems",
]
