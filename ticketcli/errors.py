"""Exit codes and every error class of ticketcli.

Every failure the user can cause is a :class:`TicketError` with an exit code;
the one boundary (:mod:`ticketcli.boundary`) turns it into a single ``Error: ...``
line on stderr and that code. mail-in answers mail servers in the codes of
sysexits.h instead: :data:`SYSEXITS` maps one set onto the other at the boundary.

Plain classes of int constants rather than enums: this module is imported by
every command, and ``enum`` costs more to import than the rest of it.
"""

from __future__ import annotations


class ExitCode:
    """The exit codes scripts rely on (SPEC section 4)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    PERMISSION = 4
    CONFLICT = 5
    BUSY = 75
    CONFIG = 78
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class Sysexit:
    """sysexits.h, which mail servers understand (mail-in's exit codes)."""

    OK = 0
    DATAERR = 65  # unusable message
    NOUSER = 67  # unknown or refused sender
    SOFTWARE = 70
    TEMPFAIL = 75  # try again later: the server keeps the message
    CONFIG = 78


# How mail-in reports each exit code: a refused sender, a message to retry, a
# message that can never be delivered. ERROR is a read-only file or a full disk,
# which the server should retry; an internal error too (see boundary.exit_code).
SYSEXITS = {
    ExitCode.OK: Sysexit.OK,
    ExitCode.ERROR: Sysexit.TEMPFAIL,
    ExitCode.USAGE: Sysexit.DATAERR,
    ExitCode.NOT_FOUND: Sysexit.NOUSER,
    ExitCode.PERMISSION: Sysexit.NOUSER,
    ExitCode.CONFLICT: Sysexit.DATAERR,
    ExitCode.BUSY: Sysexit.TEMPFAIL,
    ExitCode.CONFIG: Sysexit.CONFIG,
    ExitCode.INTERRUPTED: Sysexit.TEMPFAIL,
}


class TicketError(Exception):
    """Base class: a failure with a message for the user and an exit code."""

    code: int = ExitCode.ERROR

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


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


class NeverOpen(ConfigError):
    """A service-level calendar without opening hours for years around a time."""


class Interrupted(TicketError):
    """Ctrl-C (or click's Abort): the command stopped where it was."""

    code = ExitCode.INTERRUPTED


def interrupted() -> Interrupted:
    """What Ctrl-C is reported as."""
    from .i18n import msg

    return Interrupted(msg("interrupted; what was already saved stays saved"))


class OutputError(TicketError):
    """Standard output or standard error would not take what was written (a full disk,
    ``/dev/full``, an I/O error). Not an internal error, and not a promise that nothing
    was written: a command prints its result after saving what it changed."""


class MailInError(TicketError):
    """A message mail-in cannot deliver, with the sysexits code it answers (already in
    mail-in's codes: the boundary does not map it again)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, code)


# -- delivering mail (notify send) ------------------------------------------------------


class Unreachable(TicketError):
    """The mail server (or the sendmail command) cannot be reached: exit 75, and the
    messages stay queued for the next run."""

    code = ExitCode.BUSY


class DeliveryFailure(Exception):
    """One message was not delivered; whether it is retried depends on the subclass."""


class TemporaryFailure(DeliveryFailure):
    """The server refused this message for now (4xx): try it again later."""


class PermanentFailure(DeliveryFailure):
    """The server refused this message for good (5xx): mark it failed."""


class Disconnected(DeliveryFailure):
    """The connection dropped while sending: reconnect and try the message again."""


# -- internal signals ---------------------------------------------------------------------


class MessageTooComplex(Exception):
    """Raised while a received message is parsed, to stop reading it: it has more parts,
    or parts nested deeper, than mail-in reads (the message says which). Never reaches
    the boundary: the message is then unusable (65)."""


class ClosedPipe(Exception):  # noqa: N818 (a signal, not an error)
    """The reader of standard output went away (``ticketcli export | head``): the
    command ends quietly with exit 0. Raised in place of BrokenPipeError where click
    would otherwise turn that into exit 1."""


class Rollback(Exception):
    """Raised inside a transaction to undo it on purpose (an import's dry run, an
    import with bad lines): never reaches the boundary."""
