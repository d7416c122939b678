"""The error boundary shared by both ways in (the fast path and the Typer app):
every failure becomes one ``Error: ...`` line on stderr and an exit code.

Free of Typer and click, so the fast path can use it without loading them.
"""

from __future__ import annotations

import os
import sqlite3
import sys

from .errors import ExitCode, TicketError


def fail(message: str, code: int) -> int:
    """Write ``Error: message`` as one line on stderr; return ``code``."""
    line = " ".join(str(message).split())
    try:
        sys.stderr.write(f"Error: {line}\n")
        sys.stderr.flush()
    except OSError:
        pass
    return int(code)


def exit_code(error: BaseException) -> int:
    """The exit code for an exception a command let through, after reporting it.

    SystemExit and other non-errors are raised again.
    """
    if isinstance(error, TicketError):
        return fail(error.message, error.code)
    if isinstance(error, sqlite3.Error):
        from .store import translate

        err = translate(error, "the database")
        return fail(err.message, err.code)
    if isinstance(error, KeyboardInterrupt):
        sys.stderr.write("Aborted.\n")
        return 130
    if isinstance(error, BrokenPipeError):
        # The reader went away (`ticketcli list | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    if isinstance(error, UnicodeError):
        return fail("an argument or input is not valid UTF-8 text", ExitCode.USAGE)
    if isinstance(error, MemoryError):
        return fail("out of memory; nothing was written", ExitCode.ERROR)
    if isinstance(error, Exception):  # the last line of defence: never a traceback
        if os.environ.get("TICKETCLI_DEBUG"):
            raise error
        return fail(
            f"internal error ({type(error).__name__}: {error}); nothing was written. "
            "Set TICKETCLI_DEBUG=1 for details and report it",
            ExitCode.ERROR,
        )
    raise error


def non_utf8(argv: list[str]) -> str | None:
    """The first argument that is not valid UTF-8 (shown with replacements), if any."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeError:
            return arg.encode("utf-8", "replace").decode()
    return None
