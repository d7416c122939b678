"""The one error boundary: every failure, on the fast path, in the Typer app and in
mail-in alike, becomes one ``Error: ...`` line on stderr and an exit code.

:func:`guarded` runs a command and returns its exit code; :func:`exit_code`
is the one place that decides what an error is reported as. It also guards the
standard streams (a full disk, a closed pipe, a stream the process was started
without) and flushes them at the end (:func:`finish`). Free of Typer and click,
so the fast path can use it without loading them; the Typer app turns click's
own errors into ticketcli's before they reach it.
"""

from __future__ import annotations

import io
import os
import sqlite3
import sys

from .errors import SYSEXITS, ClosedPipe, ExitCode, OutputError, TicketError, interrupted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import IO, Any

    from .context import Context


def guarded(c: Context, command: Callable[[], int | None]) -> int:
    """Run ``command``; its exit code, or the code of the error it raised, reported
    in the codes the context asks for (mail-in's sysexits)."""
    try:
        return int(command() or 0)
    except BaseException as error:
        if isinstance(error, (BrokenPipeError, ClosedPipe)):
            _drop_frames(error)
        return exit_code(error, c.exit_codes, c.text)


def _drop_frames(error: BaseException | None) -> None:
    """Let go of the frames an exception holds, so that what they hold (a generator over
    an open cursor) is finished now, while the store is still open, rather than at exit
    (where Python would report "Exception ignored")."""
    while error is not None:
        error.__traceback__ = None
        error = error.__context__


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
    """Write ``Error: message`` as one line on stderr, control and bidi characters shown
    rather than obeyed; return ``code``."""
    from .output.table import terminal

    line = terminal(" ".join(str(message).split()))
    try:
        sys.stderr.write(f"Error: {line}\n")
        sys.stderr.flush()
    except (OSError, OutputError):
        pass
    return int(code)


def exit_code(error: BaseException, codes: Mapping[int, int] | None = None,
              text: Callable[[str], str] | None = None) -> int:
    """The exit code for an exception a command let through, after reporting it.

    ``codes`` maps ticketcli's exit codes onto another set (mail-in's sysexits); a
    :class:`MailInError` already carries one of those. ``text`` puts a message in the
    user's language (the context's). SystemExit and other non-errors are raised again.
    """
    from .errors import MailInError

    def report(message: str, code: int) -> int:
        if text is not None and type(message) is not str:
            message = text(message)
        return fail(message, code if codes is None or isinstance(error, MailInError)
                    else codes.get(code, code))

    if isinstance(error, KeyboardInterrupt) or (
            isinstance(error, TicketError) and error.code == ExitCode.INTERRUPTED):
        _after_ctrl_c()
    if isinstance(error, TicketError):
        return report(error.message, error.code)
    if isinstance(error, sqlite3.Error):
        from .store import translate

        err = translate(error, "the database")
        return report(err.message, err.code)
    if isinstance(error, KeyboardInterrupt):
        stopped = interrupted()
        return report(stopped.message, stopped.code)
    if isinstance(error, (BrokenPipeError, ClosedPipe)):
        # The reader went away (`ticketcli list | head`): not an error.
        _discard(sys.stdout)
        return ExitCode.OK
    if isinstance(error, UnicodeError):
        return report("an argument or input is not valid UTF-8 text", ExitCode.USAGE)
    if isinstance(error, MemoryError):
        return report("out of memory; nothing was written", ExitCode.ERROR)
    if isinstance(error, Exception):  # the last line of defence: never a traceback
        if os.environ.get("TICKETCLI_DEBUG"):
            raise error
        then = "the mail server will try again. " if codes is SYSEXITS else \
            "nothing was written. "
        return report(
            f"internal error ({type(error).__name__}: {error}); {then}"
            "Set TICKETCLI_DEBUG=1 for details and report it",
            ExitCode.ERROR,
        )
    raise error


def _after_ctrl_c() -> None:
    """On a terminal, the line the terminal echoed ^C on ends first: the error is a line
    of its own."""
    try:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
    except (OSError, ValueError, OutputError):
        pass


def non_utf8(argv: list[str]) -> str | None:
    """The first argument that is not valid UTF-8 (shown with replacements), if any."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeError:
            return arg.encode("utf-8", "replace").decode()
    return None
