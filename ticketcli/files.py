"""Replacing a file the user named (``export --output``, ``workflow export FILE``, the
config file): all at once or not at all, and never anything but a regular file."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

from .errors import TicketError, UsageError

T = TypeVar("T")


def replace_file(path: Path, fill: Callable[[IO[str]], T], *, parents: bool = False) -> T:
    """Write a new version of the file at ``path`` with ``fill`` and put it in place at once;
    return what ``fill`` returns.

    The text goes to a temporary file beside the target (mode 0600), is synced, and is
    renamed over the target; on any failure the temporary file is removed and the target is
    as it was. A symlink is written through: its target is replaced, the link stays. A
    directory, device, FIFO or socket is refused (UsageError, exit 2), never replaced. The
    directory must exist unless ``parents`` (then it is created, mode 0700); a missing or
    read-only directory or a full disk is a TicketError (exit 1).
    """
    import tempfile

    if not str(path) or path.name in ("", ".", ".."):
        raise UsageError(f"{str(path)!r} is not a file name")
    if path.is_symlink():
        try:
            path = path.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
            raise UsageError(f"{path} is a loop of symbolic links") from None
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise TicketError(f"cannot write {path}: {e.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"{path} is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(f"{path} is not a regular file; refusing to replace it")
    parent = path.parent
    if mode is None and not parent.is_dir():
        if parent.exists():
            raise TicketError(f"cannot write {path}: {parent} is not a directory")
        if not parents:
            raise TicketError(f"cannot write {path}: the directory {parent} does not exist")
    try:
        if parents:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise TicketError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp made it 0600
            result = fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise TicketError(f"cannot write {path}: {e.strerror or e}") from None
        raise
    _sync_directory(parent)
    return result


def write_atomically(path: Path, text: str, *, parents: bool = False) -> None:
    """Replace the regular file at ``path`` with ``text`` (see :func:`replace_file`)."""
    replace_file(path, lambda fh: fh.write(text), parents=parents)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; a filesystem that cannot is no reason to fail."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
