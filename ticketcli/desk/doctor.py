"""doctor: health checks on a database file and the SQLite underneath it."""

from __future__ import annotations

import os
import sqlite3
import stat

from ..record import Record
from ..store import Store
from ..store.migrations import SCHEMA_VERSION

MIN_SQLITE = (3, 51, 3)  # fixes a rare WAL-reset corruption race between writers
NETWORK_FS = {
    "nfs", "nfs4", "cifs", "smb", "smbfs", "smb3", "afs", "ncpfs", "coda", "9p", "ceph",
    "glusterfs", "lustre", "gpfs", "fuse.sshfs", "sshfs", "davfs", "fuse.rclone",
    "fuse.s3fs", "fuse.gcsfuse", "fuse.glusterfs", "fuse.cephfs",
}


class Check(Record):
    name: str
    state: str  # ok, warn, fail
    detail: str


def filesystem_type(path: str | os.PathLike[str], mounts: str = "/proc/mounts") -> str | None:
    """The type of the filesystem holding ``path``, from the longest matching mount."""
    try:
        with open(mounts, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


def sqlite_check(version: str = sqlite3.sqlite_version) -> Check:
    parts = tuple(int(p) for p in version.split(".")[:3])
    if parts >= MIN_SQLITE:
        return Check("sqlite", "ok", f"SQLite {version}")
    need = ".".join(map(str, MIN_SQLITE))
    return Check("sqlite", "warn", f"SQLite {version} is older than {need}, which fixes a "
                 "rare WAL-reset corruption race between concurrent writers; upgrade if you can")


def run_checks(store: Store, *, mounts: str = "/proc/mounts") -> list[Check]:
    if store.db.engine != "sqlite":
        return server_checks(store)
    checks: list[Check] = []
    problems = store.health.integrity_problems()
    checks.append(Check("integrity", "fail" if problems else "ok",
                        "; ".join(problems) if problems else "integrity_check ok"))
    fk = store.health.foreign_key_problems()
    checks.append(Check("foreign keys", "fail" if fk else "ok",
                        f"{fk} dangling references" if fk else "no dangling references"))
    version = int(store.health.pragma("user_version"))
    checks.append(Check(
        "schema", "ok" if version == SCHEMA_VERSION else "fail",
        f"version {version}" + ("" if version == SCHEMA_VERSION
                                else f", this ticketcli expects {SCHEMA_VERSION}"),
    ))
    checks.append(sqlite_check())
    mode = str(store.health.pragma("journal_mode"))
    checks.append(Check("journal", "ok" if mode == "wal" else "fail",
                        f"journal_mode={mode}" + ("" if mode == "wal"
                                                  else "; ticketcli expects wal")))
    kind = filesystem_type(store.path, mounts)
    if kind is None:
        checks.append(Check("filesystem", "warn", "could not tell the filesystem type"))
    elif kind in NETWORK_FS or kind.startswith("nfs"):
        checks.append(Check("filesystem", "fail", f"{kind}: SQLite locking is unreliable on "
                            "network filesystems; keep the database on a local disk"))
    else:
        checks.append(Check("filesystem", "ok", kind))
    checks += access_checks(store)
    checks.append(workflow_check(store))
    return checks


def workflow_check(store: Store) -> Check:
    try:
        wf = store.workflow()
        return Check("workflow", "ok", f"{wf.name}, {len(wf.statuses)} statuses")
    except Exception as e:  # reported, not raised: doctor diagnoses
        return Check("workflow", "fail", str(e))


MIN_SERVER = 130000  # PostgreSQL 13: the oldest release still maintained when this was written


def server_checks(store: Store) -> list[Check]:
    """doctor on PostgreSQL: the server, the connection, the schema, what the session may
    do, and whether a pooler sits between."""
    h = store.health
    checks: list[Check] = []
    number, shown = h.server_version()
    checks.append(Check("server", "ok" if number >= MIN_SERVER else "warn",
                        f"PostgreSQL {shown}" + ("" if number >= MIN_SERVER else
                                                 "; older than 13, which is out of support")))
    where, tls = h.transport()
    if where == "socket":
        checks.append(Check("tls", "ok", "a local socket (nothing crosses a network)"))
    elif tls:
        checks.append(Check("tls", "ok", f"TLS to {where}"))
    else:
        checks.append(Check("tls", "fail", f"no TLS to {where}: tickets and passwords cross "
                            "the network in clear; add sslmode=require (or verify-full) to "
                            "the URL"))
    version = h.schema_version()
    checks.append(Check(
        "schema", "ok" if version == SCHEMA_VERSION else "fail",
        f"version {version}" + ("" if version == SCHEMA_VERSION
                                else f", this ticketcli expects {SCHEMA_VERSION}")))
    missing = h.missing_privileges()
    checks.append(Check("privileges", "fail" if missing else "ok",
                        ("the session user may not " + "; ".join(missing)) if missing
                        else f"{h.session_user()} may read and write every table"))
    pooled = h.pooled()
    checks.append(Check("pooler", "ok", "transaction pooling (each transaction may reach "
                        "another server process; ticketcli holds nothing between them)"
                        if pooled else "a direct connection"))
    wrong = h.count_problems()
    checks.append(Check("counts", "fail" if wrong else "ok",
                        f"per-status counts differ for {', '.join(wrong)}" if wrong
                        else "per-status counts match the tickets"))
    checks.append(workflow_check(store))
    return checks


def access_checks(store: Store) -> list[Check]:
    """Who can reach the desk's files: its owner only, or (a team desk) its group, never
    the world; the files owned by whom they should be."""
    from .. import config as cfg
    from ..store.access import COMPANIONS, group_name

    info = os.stat(store.path)
    mode = stat.S_IMODE(info.st_mode)
    team = store.meta("group")
    owner = store.meta("owner") or cfg.real_login()
    found: list[Check] = []
    try:
        import pwd

        owned_by = pwd.getpwuid(info.st_uid).pw_name
    except (ImportError, KeyError):
        owned_by = str(info.st_uid)
    if mode & 0o007:
        found.append(Check("permissions", "fail", f"{oct(mode)}: anyone on this machine can "
                           "read the tickets; run chmod " + ("660" if team else "600")
                           + f" {store.path}"))
    elif team is not None:
        group = group_name(info.st_gid)
        wrong = [f"{path} is {oct(stat.S_IMODE(os.stat(path).st_mode))} of group "
                 f"{group_name(os.stat(path).st_gid)}"
                 for path in [store.path, *(store.path + s for s in COMPANIONS)]
                 if os.path.exists(path) and (os.stat(path).st_gid != info.st_gid or
                                              stat.S_IMODE(os.stat(path).st_mode) != 0o660)]
        if group != team:
            found.append(Check("permissions", "fail", f"the desk belongs to group {team}, "
                               f"but {store.path} is of group {group}; run chgrp {team} "
                               f"{store.path}"))
        elif wrong:
            found.append(Check("permissions", "fail", "; ".join(wrong) + f"; run chgrp {team} "
                               f"and chmod 660 on them"))
        else:
            directory = os.path.dirname(os.path.abspath(store.path))
            setgid = bool(os.stat(directory).st_mode & stat.S_ISGID)
            found.append(Check("permissions", "ok" if setgid else "warn",
                               f"{oct(mode)}, shared with group {team}" + (
                                   "" if setgid else f"; {directory} is not set-group-id, so "
                                   "files SQLite creates there may get another group: run "
                                   f"chmod g+s {directory}")))
    elif mode & 0o070:
        found.append(Check("permissions", "warn", f"{oct(mode)}: shared with the file's group; "
                           "fine if that group is your support team (init --group makes it "
                           "a team desk doctor can check)"))
    else:
        found.append(Check("permissions", "ok", oct(mode)))
    if owned_by != owner:
        found.append(Check("owner", "fail" if team is None else "warn",
                           f"{store.path} is owned by {owned_by}, not {owner}" + (
                               "" if team else "; a private desk belongs to its user")))
    else:
        found.append(Check("owner", "ok", owned_by))
    return found
