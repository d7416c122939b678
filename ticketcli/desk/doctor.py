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
    mode_bits = stat.S_IMODE(os.stat(store.path).st_mode)
    if mode_bits & 0o007:
        checks.append(Check("permissions", "fail", f"{oct(mode_bits)}: anyone on this machine "
                            f"can read the tickets; run chmod 600 {store.path}"))
    elif mode_bits & 0o070:
        checks.append(Check("permissions", "warn", f"{oct(mode_bits)}: shared with the file's "
                            "group; fine if that group is your support team"))
    else:
        checks.append(Check("permissions", "ok", oct(mode_bits)))
    try:
        wf = store.workflow()
        checks.append(Check("workflow", "ok", f"{wf.name}, {len(wf.statuses)} statuses"))
    except Exception as e:  # reported, not raised: doctor diagnoses
        checks.append(Check("workflow", "fail", str(e)))
    return checks
