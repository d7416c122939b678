"""Files the user names: reading them safely, and replacing them all at once.

Reading (``--body-file``, ``--attach``, config and workflow files, import
files): a regular file only, never more than a limit (a device such as
``/dev/zero`` is refused rather than read forever), and failures as one clear
error. Writing (``export --output``, ``workflow export FILE``, the config
file): a new version is put in place at once or not at all, and never over
anything but a regular file. Paths are plain strings: ``pathlib`` costs more to
import than a ``show`` spends on its query.
"""

from __future__ import annotations

import os
import stat

from .errors import ConfigError, TicketError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, TypeVar

    T = TypeVar("T")

MAX_TEXT_FILE = 1024 * 1024  # config and workflow files are small


def read_small_file(path: str, what: str, error: type[TicketError] = ConfigError,
                    limit: int = MAX_TEXT_FILE, *, truncate: bool = False) -> bytes:
    """A regular file's bytes, read at most ``limit``; FileNotFoundError passes through.

    Anything else (a directory, a FIFO that would block, a device that never
    ends) is refused with ``error``; so is a file over ``limit`` bytes, unless
    ``truncate``, which returns its first ``limit + 1`` bytes for the caller to
    judge (so it can name its own limit).
    """
    st = os.stat(path)  # FileNotFoundError for the caller
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} {path} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {path} is not a regular file")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror}") from None
    if len(data) > limit and not truncate:
        raise error(f"{what} {path} is larger than {limit // 1024} KiB")
    return data


class reading:  # noqa: N801 (used as a function: ``with reading(path, what):``)
    """Failures to read the file a user named, as usage errors saying which and why."""

    def __init__(self, path: str, what: str) -> None:
        self.path, self.what = path, what

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: object) -> None:
        path, what = self.path, self.what
        if isinstance(error, FileNotFoundError):
            raise UsageError(f"{what} {path} does not exist") from None
        if isinstance(error, PermissionError):
            raise UsageError(f"{what} {path} is not readable: permission denied") from None
        if isinstance(error, OSError):
            raise UsageError(f"cannot read {what} {path}: {error.strerror}") from None


def replace_file(path: str, fill: Callable[[IO[str]], T], *, parents: bool = False) -> T:
    """Write a new version of the file at ``path`` with ``fill`` and put it in place at once;
    return what ``fill`` returns.

    The text goes to a temporary file beside the target (mode 0600, created exclusively, so
    never through a link someone put there), is synced, and is renamed over the target; on
    any failure the temporary file is removed and the target is as it was. A symlink of
    your own (or root's) is written through: its target is replaced, the link stays; one
    that someone else owns is refused (UsageError, exit 2), never followed: in a shared
    directory such as /tmp it would let them choose what you overwrite. A
    directory, device, FIFO or socket is refused (UsageError, exit 2), never replaced. The
    directory must exist unless ``parents`` (then it is created, mode 0700); a missing or
    read-only directory or a full disk is a TicketError (exit 1).
    """
    import tempfile

    path = os.fspath(path)
    name = os.path.basename(path)
    if not path or name in ("", ".", ".."):
        raise UsageError(f"{path!r} is not a file name")
    if os.path.islink(path):
        refuse_foreign_link(path)
        resolved = os.path.realpath(path)
        if os.path.islink(resolved):  # realpath stops inside a loop of links
            raise UsageError(f"{path} is a loop of symbolic links")
        path, name = resolved, os.path.basename(resolved)
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
    parent = os.path.dirname(path) or "."
    if mode is None and not os.path.isdir(parent):
        if os.path.exists(parent):
            raise TicketError(f"cannot write {path}: {parent} is not a directory")
        if not parents:
            raise TicketError(f"cannot write {path}: the directory {parent} does not exist")
    try:
        if parents:
            os.makedirs(parent, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{name}.", suffix=".tmp")
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


def refuse_foreign_link(path: str) -> None:
    """UsageError when ``path`` is a symbolic link that neither you nor root owns (or any
    link on the way to its target is): writing through it would write where its owner
    chose. Nothing when it is not a link."""
    seen = 0
    while True:
        try:
            st = os.lstat(path)
        except OSError:
            return
        if not stat.S_ISLNK(st.st_mode):
            return
        if st.st_uid not in (os.geteuid(), 0):
            raise UsageError(f"{path} is a symbolic link owned by someone else (uid "
                             f"{st.st_uid}); refusing to write through it")
        seen += 1
        if seen > 40:
            return  # a loop: the caller reports it
        target = os.readlink(path)
        path = os.path.join(os.path.dirname(path), target)


def write_atomically(path: str, text: str, *, parents: bool = False) -> None:
    """Replace the regular file at ``path`` with ``text`` (see :func:`replace_file`)."""
    replace_file(path, lambda fh: fh.write(text), parents=parents)


def _sync_directory(directory: str) -> None:
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
