"""What commands read besides their arguments: texts from files or stdin, attachments.

Free of Typer, so the fast path (fastpath.py) can run the commands that read them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .context import Context
from .desk.tickets import MAX_BODY, NewFile
from .errors import UsageError


def read_text(c: Context, source: str, what: str) -> str:
    """Text from a file, or from stdin when ``source`` is ``-``; exactly as given.

    Reads at most a little more than the body limit allows (4 bytes a character),
    so a device such as /dev/zero is refused rather than read forever."""
    limit = max(c.limits.body, MAX_BODY) * 4
    if source == "-":
        stream = getattr(c.stdin, "buffer", None)
        data = stream.read(limit + 1) if stream is not None else c.stdin.read(limit + 1).encode()
    else:
        data = _read_file(Path(source), what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"the {what} is not UTF-8 text; attach binary files with --attach"
        ) from None


def _read_file(path: Path, what: str, limit: int) -> bytes:
    """A regular file's first ``limit + 1`` bytes; anything else is a usage error."""
    from .config import read_small_file

    with reading(path, what):
        return read_small_file(path, what, UsageError, limit, truncate=True)


@contextmanager
def reading(path: Path | str, what: str) -> Iterator[None]:
    """Failures to read the file a user named, as usage errors saying which and why."""
    try:
        yield
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except PermissionError:
        raise UsageError(f"{what} {path} is not readable: permission denied") from None
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror}") from None


def read_attachments(c: Context, paths: list[str] | None) -> list[NewFile]:
    """The files to attach, read up to one byte past the size limit (devices never hang)."""
    files = []
    for p in paths or []:
        path = Path(p)
        content = _read_file(path, "attachment", c.limits.attachment)
        files.append(NewFile(os.path.basename(p) or "attachment", content))
    return files


def body_from(c: Context, text: str | None, body_file: str | None, what: str,
              required: bool) -> str | None:
    if text is not None and body_file is not None:
        raise UsageError(f"give the {what} as text or with --body-file, not both")
    if body_file is not None:
        return read_text(c, body_file, what)
    if text is None and required:
        raise UsageError(f"give the {what} as text, or with --body-file PATH (- for stdin)")
    return text
