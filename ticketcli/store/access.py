"""Who may open a desk's files: private to their owner, or shared with a team's group.

A private desk is one file of mode 0600 (SQLite gives its ``-wal`` and ``-shm``
the database's mode). A team desk (``init --group GROUP``) is owned by the
group, mode 0660, in a directory whose set-group-id bit makes every file created
in it the group's. SQLite deletes ``-wal`` and ``-shm`` when the last
connection closes and whoever opens the desk next creates them again, so every
command that opens a team desk hands the ones it created to the database's
group and gives them its mode; with its umask narrowed to 0007 meanwhile, nothing
it creates there is ever readable by others.
"""

from __future__ import annotations

import os
import stat

from ..errors import TicketError, UsageError

COMPANIONS = ("-wal", "-shm", "-journal")
TEAM_MODE = 0o660
TEAM_DIRECTORY_MODE = 0o2770


def group_id(name: str) -> int:
    """The id of the group ``name``; a usage error when there is none."""
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise UsageError(f"there is no group {name!r}; create it with 'groupadd {name}' "
                         "and add the desk's staff to it") from None


def group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def team_directory(path: str, gid: int) -> None:
    """Make the directory of ``path`` ready for a team desk: created when missing (mode
    2770, the group's, set-group-id, so that every file made in it is the group's); an
    existing one the caller owns gets the group and its set-group-id bit."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(parent):
            os.mkdir(parent, 0o700)
            os.chown(parent, -1, gid)
            os.chmod(parent, TEAM_DIRECTORY_MODE)
            return
        info = os.stat(parent)
        if info.st_uid == os.getuid() and (info.st_gid != gid
                                           or not info.st_mode & stat.S_ISGID):
            os.chown(parent, -1, gid)
            os.chmod(parent, stat.S_IMODE(info.st_mode) | stat.S_ISGID | 0o070)
    except PermissionError as e:
        raise _not_member(e.filename or parent, gid) from None
    except OSError as e:
        raise TicketError(f"cannot prepare {parent} for the desk: {e.strerror}") from None


def _not_member(path: str, gid: int) -> TicketError:
    name = group_name(gid)
    return TicketError(
        f"cannot give {path} to group {name}: permission denied; you must be a member "
        f"of {name} (log in again after 'usermod -aG {name} $USER') or root")


def share_database(path: str, gid: int) -> None:
    """Give the database file and its companions to group ``gid``, mode 0660."""
    try:
        share(path, gid)
        for suffix in COMPANIONS:
            if os.path.lexists(path + suffix):
                share(path + suffix, gid)
    except PermissionError as e:
        raise _not_member(e.filename or path, gid) from None
    except OSError as e:
        raise TicketError(f"cannot share {path} with the group: {e.strerror}") from None


def share(path: str, gid: int) -> None:
    """Give the file ``path`` to group ``gid``, mode 0660 (raises OSError)."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path} is not a regular file")
    if info.st_gid != gid:
        os.chown(path, -1, gid, follow_symlinks=False)
    if stat.S_IMODE(info.st_mode) != TEAM_MODE:
        os.chmod(path, TEAM_MODE)


def is_team_file(mode: int) -> bool:
    """Whether a database file's mode shares it with its group."""
    return bool(stat.S_IMODE(mode) & 0o060)


def keep_shared(path: str) -> None:
    """After opening a team desk: give the companion files this process created to the
    database's group, with its mode (best effort: another member's are theirs to fix)."""
    try:
        db = os.stat(path)
    except OSError:
        return
    if not is_team_file(db.st_mode):
        return
    uid = os.getuid()
    for suffix in COMPANIONS:
        companion = path + suffix
        try:
            info = os.lstat(companion)
        except OSError:
            continue
        if info.st_uid != uid or not stat.S_ISREG(info.st_mode):
            continue
        try:
            if info.st_gid != db.st_gid:
                os.chown(companion, -1, db.st_gid, follow_symlinks=False)
            if stat.S_IMODE(info.st_mode) != stat.S_IMODE(db.st_mode):
                os.chmod(companion, stat.S_IMODE(db.st_mode))
        except OSError:
            pass


def narrow_umask_for(path: str) -> None:
    """For a team desk, a umask that keeps new files from the world and never from the
    group (0007): SQLite creates ``-wal`` and ``-shm`` under it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if is_team_file(mode):
        os.umask(0o007)
