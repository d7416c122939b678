"""The error boundary shared by both ways in (the fast path and the Typer app):
every failure becomes one ``Error: ...`` line on stderr and an exit code.

Free of Typer and click, so the fast path can use it without loading them.
"""

from __future__ import annotations

import io
import os
import sqlite3
import sys
from typing import IO, Any

from .errors import ExitCode, TicketError


class OutputError(TicketError):
    """Standard output or standard error would not take what was written (a full disk,
    ``/dev/full``, an I/O error). Not an internal error, and not a promise that nothing
    was written: a command prints its result after saving what it changed."""


class _Guarded(io.TextIOWrapper):
    """A standard stream whose write failures are OutputError. A closed pipe stays a
    BrokenPipeError: the reader went away (``ticketcli list | head``), which is no error."""

    label = "standard output"

    def write(self, text: str, /) -> int:
        try:
            return super().write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _output_error(self.label, e) from None

    def flush(self) -> None:
        try:
            super().flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _output_error(self.label, e) from None


def _output_error(label: str, error: OSError) -> OutputError:
    return OutputError(f"cannot write to {label} ({error.strerror or error})")


class _Closed(io.TextIOBase):
    """A standard output or error the process was started without (``>&-``): writing to
    it is an OutputError, so a command that prints nothing there still runs."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def writable(self) -> bool:
        return True

    def write(self, text: str, /) -> int:
        raise OutputError(f"cannot write to {self.label} (it is closed)")

    def isatty(self) -> bool:
        return False


def guard_streams() -> None:
    """Make sys.stdout and sys.stderr report every failure to write (see _Guarded).

    With PYTHONUNBUFFERED (or ``python -u``) a standard stream's text layer writes to the
    file directly and ignores a short write, so a disk filling up silently truncated the
    output: a buffered layer in between writes the rest, or raises. Streams that are not
    the interpreter's own (replaced by a test runner) are left alone; closed ones become
    streams that report being closed (stdin: empty).
    """
    if sys.stdin is None:  # started with stdin closed (<&-): it reads as empty
        sys.stdin = io.StringIO()
    for name, label in (("stdout", "standard output"), ("stderr", "standard error")):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, _Closed(label))
            continue
        if type(stream) is not io.TextIOWrapper:
            continue
        stream.flush()
        buffer: Any = stream.buffer
        if isinstance(buffer, io.RawIOBase):
            buffer = io.BufferedWriter(buffer)
        guarded = _Guarded(buffer, encoding=stream.encoding, errors=stream.errors,
                           line_buffering=stream.line_buffering,
                           write_through=stream.write_through)
        guarded.label = label
        setattr(sys, name, guarded)


def finish(code: int) -> int:
    """The exit code once stdout and stderr have written what they still hold.

    A failure to write is reported (exit 1) unless an error already was. Either way what
    could not be written is dropped, so the interpreter does not fail again flushing it at
    exit (Python then prints "Exception ignored" and exits 120).
    """
    for name, label in (("stdout", "standard output"), ("stderr", "standard error")):
        stream = getattr(sys, name)
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            _discard(stream)
        except (OSError, OutputError) as e:
            _discard(stream)
            if code == 0:
                error = _output_error(label, e) if isinstance(e, OSError) else e
                code = fail(error.message, ExitCode.ERROR)
    return code


def _discard(stream: IO[str]) -> None:
    """Point the stream's file descriptor at the null device: what it holds is dropped."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def fail(message: str, code: int) -> int:
    """Write ``Error: message`` as one line on stderr; return ``code``."""
    line = " ".join(str(message).split())
    try:
        sys.stderr.write(f"Error: {line}\n")
        sys.stderr.flush()
    except (OSError, OutputError):
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
        aborted()
        return 130
    if isinstance(error, BrokenPipeError):
        # The reader went away (`ticketcli list | head`): not an error.
        _discard(sys.stdout)
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


def exit_status(exit: SystemExit) -> int:
    """The status a SystemExit asks for (None: 0; a message: 1, as the interpreter does)."""
    if exit.code is None:
        return 0
    return exit.code if isinstance(exit.code, int) else 1


def non_utf8(argv: list[str]) -> str | None:
    """The first argument that is not valid UTF-8 (shown with replacements), if any."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeError:
            return arg.encode("utf-8", "replace").decode()
    return None


def aborted() -> None:
    """Say "Aborted." on stderr (Ctrl-C), if stderr still takes it."""
    try:
        sys.stderr.write("Aborted.\n")
        sys.stderr.flush()
    except (OSError, OutputError):
        pass
