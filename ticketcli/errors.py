"""Exit codes and the domain error hierarchy.

Every failure the user can cause is one of these errors; the CLI boundary turns
it into a single ``Error: ...`` line on stderr and the matching exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    PERMISSION = 4
    CONFLICT = 5
    BUSY = 75
    CONFIG = 78


class TicketError(Exception):
    """Base class: a failure with a message for the user and an exit code."""

    code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(TicketError):
    code = ExitCode.USAGE


class NotFound(TicketError):
    code = ExitCode.NOT_FOUND


class PermissionDenied(TicketError):
    code = ExitCode.PERMISSION


class Conflict(TicketError):
    """A move the workflow refuses, or an update that lost a race."""

    code = ExitCode.CONFLICT


class Busy(TicketError):
    code = ExitCode.BUSY


class ConfigError(TicketError):
    """Bad configuration, bad workflow file, or a database we must not touch."""

    code = ExitCode.CONFIG
