"""Faults of the environment, through the CLI: the database path is a directory or has no
parent, the file or its directory is read-only, the disk is full, the file is not a
ticketcli database or is newer, another process holds the write lock, the config is bad.

Each case must end with one ``Error:`` line on stderr and the documented exit code, and
must leave the files exactly as they were.

CI runs as root, for whom ``chmod`` does not make anything read-only. These tests use
what does work for root, all checked on the CI machine type:

* ``chattr +i`` (immutable: not even root may write, create or delete);
* a small tmpfs mounted by the test (disk full), remounted read-only (read-only media);
* ``setpriv --bounding-set -dac_override,-dac_read_search``: root without the
  capabilities that bypass file modes, so ``chmod 444`` / ``chmod 555`` apply as they
  do for an ordinary user (for whom they apply anyway).

The first two need root: those tests are marked ``root`` and skip for anyone else; as
root none of it is optional (if the machine does not allow it, the test errors out).
Mounts and immutable flags are undone in ``finally`` blocks.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ADMIN,
    AGENT,
    CUSTOMER,
    OTHER,
    ROOT,
    Desk,
    dump,
    fill,
    isolate_home,
    make_desk,
    sh,
    tmpfs,
)

from ticketcli.store.migrations import APPLICATION_ID, SCHEMA_VERSION

pytestmark = pytest.mark.slow

FAR_FUTURE = "2099-01-01T00:00:00Z"
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


# -- helpers ---------------------------------------------------------------------------------


def error_line(stderr: str) -> str:
    """The single ``Error:`` line a failure must print; never a traceback."""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), f"stderr: {stderr!r}"
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


def words(line: str) -> str:
    """The error line without the paths in it (test directories have telling names)."""
    return re.sub(r"/\S+", "<path>", line)


def files(directory: Path) -> dict[str, bytes | str]:
    """Every entry of a directory: regular files by content, others by kind."""
    found: dict[str, bytes | str] = {}
    for entry in sorted(directory.iterdir()):
        if entry.is_symlink():
            found[entry.name] = f"symlink -> {os.readlink(entry)}"
        elif entry.is_dir():
            found[entry.name] = "dir"
        else:
            found[entry.name] = entry.read_bytes()
    return found


def checkpoint(db: Path) -> None:
    """Fold the WAL into the main file so the database is one self-contained file."""
    with closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def ticket_count(db: Path, uri_flags: str = "") -> int:
    target = f"file:{db}?{uri_flags}" if uri_flags else str(db)
    with closing(sqlite3.connect(target, uri=bool(uri_flags))) as con:
        return int(con.execute("SELECT count(*) FROM tickets").fetchone()[0])


TEMPLATE: dict[str, Path] = {}


@pytest.fixture(autouse=True, scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One seeded desk per module, copied by every test that needs one: ticket 1 open (a
    customer's, answered by an agent), ticket 2 solved; and an edited workflow file."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        isolate_home(mp, root)
        desk = make_desk(root)
        t1 = desk.open("Printer on fire", "--body", "Smoke from tray 2", as_=CUSTOMER)
        desk.run("comment", str(t1), "Looking into it", as_=AGENT)
        t2 = desk.open("Solved long ago", as_=CUSTOMER)
        desk.run("set-status", str(t2), "solved", as_=AGENT)
        wf = root / "wf.toml"
        desk.run("workflow", "export", str(wf))
    text = wf.read_text()
    assert '\ndescription = "' in text
    wf.write_text(text.replace('\ndescription = "', '\ndescription = "Edited. ', 1))
    checkpoint(desk.db)
    TEMPLATE["db"], TEMPLATE["wf"] = desk.db, wf
    yield


def seeded_desk(directory: Path) -> Desk:
    """A copy of the module's seeded desk in ``directory``."""
    db = directory / "desk.db"
    shutil.copy2(TEMPLATE["db"], db)
    return Desk(db)


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """chattr +i: read-only even for root. Always undone, or pytest could not clean up."""
    done: list[Path] = []
    try:
        for p in paths:
            sh("chattr", "+i", str(p))
            done.append(p)
        yield
    finally:
        for p in reversed(done):
            subprocess.run(["chattr", "-i", str(p)], check=False)


def cli(*args: str, no_dac: bool = False, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """ticketcli in a real process; with ``no_dac`` as root without the capabilities that
    bypass file permissions (so chmod applies as for an ordinary user)."""
    prefix = NO_DAC if no_dac else []
    return subprocess.run([*prefix, sys.executable, "-m", "ticketcli", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **(env or {})})


WRITES: list[list[str]] = [
    ["open", "Blocked"],
    ["comment", "1", "a reply"],
    ["set-status", "1", "pending"],
    ["share", "1", OTHER],
    ["assign", "1", AGENT],
    ["user", "add", "new@example.com"],
    ["org", "add", "Initech"],
    ["close-stale", "--now", FAR_FUTURE],
    ["workflow", "import", "{wf}"],
]
READS: list[list[str]] = [
    ["list", "--all", "--format", "json"],
    ["show", "1", "--format", "json"],
    ["user", "list"],
    ["workflow", "show"],
    ["close-stale", "--dry-run", "--now", FAR_FUTURE, "--format", "json"],
]


def _ids(args: list[str]) -> str:
    return "-".join(a for a in args[:2] if not a.startswith("{"))


def with_workflow(args: list[str], wf: Path) -> list[str]:
    return [a.replace("{wf}", str(wf)) for a in args]


# -- the database path is a directory, or its directory does not exist ----------------------


@pytest.mark.parametrize(
    "args",
    [["list"], ["open", "x"], ["init"], ["show", "1"], ["doctor"], ["close-stale"],
     ["user", "list"], ["workflow", "show"], ["comment", "1", "hi"]],
    ids=_ids,
)
def test_database_path_is_a_directory(tmp_path: Path, args: list[str]) -> None:
    folder = tmp_path / "desk.db"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    before = files(tmp_path)
    result = Desk(folder).run(*args, expect=None)
    assert result.exit_code in (1, 78), result.stderr
    assert "directory" in words(error_line(result.stderr))
    assert result.stdout == ""
    assert files(tmp_path) == before
    assert files(folder) == {"keep.txt": b"mine"}


def test_database_path_from_config_is_a_directory(tmp_path: Path, isolated_env: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    config = isolated_env / "config" / "ticketcli" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'db = "{folder}"\n')
    result = cli("--as", ADMIN, "open", "x")
    assert result.returncode in (1, 78), result.stderr
    assert str(folder) in error_line(result.stderr)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "args", [["open", "x"], ["list"], ["init"], ["doctor"], ["show", "1"], ["user", "list"]],
    ids=_ids,
)
@pytest.mark.parametrize("how", ["missing", "parent-is-a-file", "env", "config"])
def test_missing_parent_directory(tmp_path: Path, isolated_env: Path, args: list[str],
                                  how: str) -> None:
    """--db in a directory that does not exist: a clear error, exit 1, nothing created."""
    if how == "parent-is-a-file":
        (tmp_path / "plain").write_text("a file")
        db = tmp_path / "plain" / "t.db"
    else:
        db = tmp_path / "nodir" / "sub" / "t.db"
    before = files(tmp_path)
    runner = Desk(db)
    if how == "env":
        result = runner.runner.invoke(_app(), ["--as", ADMIN, *args],
                                      env={"TICKETCLI_DB": str(db)})
    elif how == "config":
        config = tmp_path / "cfg.toml"
        config.write_text(f'db = "{db}"\n')
        before = files(tmp_path)
        result = runner.runner.invoke(_app(), ["--config", str(config), "--as", ADMIN, *args])
    else:
        result = runner.run(*args, expect=None)
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    line = error_line(result.stderr)
    assert str(db.parent) in line or str(db) in line, line
    assert result.stdout == ""
    assert files(tmp_path) == before, "something was created"


def _app() -> Any:
    from ticketcli.cli import app

    return app


# -- read-only database file -----------------------------------------------------------------


@pytest.fixture
def desk_wf(tmp_path: Path) -> tuple[Desk, Path]:
    desk = seeded_desk(tmp_path)
    wf = tmp_path / "wf.toml"
    shutil.copy2(TEMPLATE["wf"], wf)
    return desk, wf


@pytest.mark.root("chattr +i")
@pytest.mark.parametrize("args", WRITES, ids=_ids)
def test_immutable_database_file_refuses_writes(desk_wf: tuple[Desk, Path],
                                                args: list[str]) -> None:
    desk, wf = desk_wf
    argv = with_workflow(args, wf)
    before = dump(desk.db)
    with immutable(desk.db):
        result = desk.run(*argv, expect=None)
        assert result.exit_code == 1, (result.exit_code, result.stderr)
        assert "read-only" in words(error_line(result.stderr))
        assert result.stdout == ""
        assert dump(desk.db) == before
    # The same command works once the file is writable: read-only-ness was the only problem.
    desk.run(*argv)
    assert dump(desk.db) != before


@pytest.mark.root("chattr +i")
@pytest.mark.parametrize("args", READS, ids=_ids)
def test_immutable_database_file_still_reads(desk_wf: tuple[Desk, Path],
                                             args: list[str]) -> None:
    desk, _ = desk_wf
    before = dump(desk.db)
    with immutable(desk.db):
        result = desk.run(*args)
    assert result.stdout
    assert dump(desk.db) == before


@pytest.mark.parametrize("args", [["open", "Blocked"], ["comment", "1", "a reply"],
                                  ["user", "add", "new@example.com"],
                                  ["close-stale", "--now", FAR_FUTURE]], ids=_ids)
def test_chmod_444_database_refuses_writes_and_still_reads(desk_wf: tuple[Desk, Path],
                                                           args: list[str]) -> None:
    """The everyday case: a file without write permission, for a process that has no
    capability to bypass it."""
    desk, _ = desk_wf
    before = dump(desk.db)
    desk.db.chmod(0o444)
    result = cli("--db", str(desk.db), "--as", ADMIN, *args, no_dac=True)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "read-only" in words(error_line(result.stderr))
    assert result.stdout == ""
    read = cli("--db", str(desk.db), "--as", ADMIN, "show", "1", "--format", "json",
               no_dac=True)
    assert read.returncode == 0, read.stderr
    desk.db.chmod(0o600)
    assert dump(desk.db) == before


def test_unreadable_database_file(desk_wf: tuple[Desk, Path]) -> None:
    desk, _ = desk_wf
    before = files(desk.db.parent)  # read while the test itself may still read it
    desk.db.chmod(0o000)
    try:
        for args in (["list"], ["open", "x"], ["doctor"]):
            result = cli("--db", str(desk.db), "--as", ADMIN, *args, no_dac=True)
            assert result.returncode == 1, (args, result.returncode, result.stderr)
            assert "permission" in words(error_line(result.stderr))
    finally:
        desk.db.chmod(0o600)
    assert files(desk.db.parent) == before


# -- read-only directory ---------------------------------------------------------------------


def _check_read_only_directory(desk: Desk, run: Any) -> None:
    """Writes fail with one line and change nothing; reads work, or fail with one line
    (SQLite cannot open a WAL database in a read-only directory without its -shm file)."""
    folder = desk.db.parent
    before = files(folder)
    for args in (["open", "Blocked"], ["comment", "1", "a reply"], ["set-status", "1", "pending"],
                 ["user", "add", "new@example.com"], ["close-stale", "--now", FAR_FUTURE]):
        code, out, err = run(args)
        assert code == 1, (args, code, err)
        error_line(err)
        assert out == "", (args, out)
    for args in (["list", "--format", "ids"], ["show", "1", "--format", "json"]):
        code, out, err = run(args)
        assert code in (0, 1), (args, code, err)
        if code:
            error_line(err)
        else:
            assert out
    code, _, err = run(["--db", str(folder / "new.db"), "open", "x"])
    assert code == 1, err
    assert "new.db" in error_line(err)
    assert files(folder) == before, "the read-only directory changed"


@pytest.mark.root("mounts a tmpfs")
def test_read_only_mount(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        desk = seeded_desk(mnt)
        checkpoint(desk.db)
        sh("mount", "-o", "remount,ro", str(mnt))

        def run(args: list[str]) -> tuple[int, str, str]:
            argv = args if args[0] == "--db" else ["--db", str(desk.db), *args]
            result = Desk(desk.db).runner.invoke(_app(), [*argv[:2], "--as", ADMIN, *argv[2:]])
            return result.exit_code, result.stdout, result.stderr

        _check_read_only_directory(desk, run)
        assert ticket_count(desk.db, "immutable=1") == 2


@pytest.mark.root("chattr +i")
def test_immutable_directory(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    desk = seeded_desk(folder)
    checkpoint(desk.db)

    def run(args: list[str]) -> tuple[int, str, str]:
        argv = args if args[0] == "--db" else ["--db", str(desk.db), *args]
        result = desk.runner.invoke(_app(), [*argv[:2], "--as", ADMIN, *argv[2:]])
        return result.exit_code, result.stdout, result.stderr

    with immutable(folder):
        _check_read_only_directory(desk, run)
    assert ticket_count(desk.db) == 2


def test_chmod_555_directory(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    desk = seeded_desk(folder)
    checkpoint(desk.db)

    def run(args: list[str]) -> tuple[int, str, str]:
        argv = args if args[0] == "--db" else ["--db", str(desk.db), *args]
        result = cli(*argv[:2], "--as", ADMIN, *argv[2:], no_dac=True)
        return result.returncode, result.stdout, result.stderr

    folder.chmod(0o555)
    try:
        _check_read_only_directory(desk, run)
    finally:
        folder.chmod(0o755)
    assert ticket_count(desk.db) == 2


# -- disk full --------------------------------------------------------------------------------

BIG_BODY = "x" * 300_000


def _full_disk_writes(desk: Desk) -> list[list[str]]:
    return [["open", "Needs room", "--body", BIG_BODY], ["comment", "1", BIG_BODY],
            ["open", "Small"], ["user", "add", "new@example.com"]]


@pytest.mark.root("mounts a tmpfs")
def test_disk_full_while_the_database_is_in_use(tmp_path: Path) -> None:
    """Another process has the database open (its -wal and -shm exist) when the disk fills."""
    with tmpfs(tmp_path / "mnt", "2m") as mnt:
        desk = seeded_desk(mnt)
        checkpoint(desk.db)
        holder = sqlite3.connect(desk.db)
        try:
            holder.execute("SELECT count(*) FROM tickets").fetchone()
            before = dump(desk.db)
            fill(mnt)
            for args in _full_disk_writes(desk):
                result = desk.run(*args, expect=None)
                assert result.exit_code == 1, (args, result.exit_code, result.stderr)
                line = error_line(result.stderr)
                assert "space" in words(line), line
                assert result.stdout == ""
            assert desk.run("list", "--format", "ids").stdout.split() == ["2", "1"]
            assert dump(desk.db) == before
            (mnt / "filler").unlink()
            assert holder.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            holder.close()
        assert dump(desk.db) == before
        desk.open("Room again")  # usable once there is space


@pytest.mark.root("mounts a tmpfs")
def test_disk_full_with_the_database_closed(tmp_path: Path) -> None:
    """The disk fills while nobody has the database open: SQLite cannot even create its
    -shm file. The error must still say what is wrong (no space), and nothing is lost."""
    with tmpfs(tmp_path / "mnt", "2m") as mnt:
        desk = seeded_desk(mnt)
        checkpoint(desk.db)
        before = dump(desk.db)
        db_bytes = desk.db.read_bytes()
        fill(mnt)
        try:
            for args in _full_disk_writes(desk):
                result = desk.run(*args, expect=None)
                assert result.exit_code == 1, (args, result.exit_code, result.stderr)
                line = error_line(result.stderr)
                assert result.stdout == ""
                assert "space" in words(line) or "full" in words(line), (
                    f"ticketcli {' '.join(args)[:40]} on a full disk says {line!r}: "
                    "nothing tells the user the disk is full")
            read = desk.run("list", "--format", "ids", expect=None)
            if read.exit_code:
                error_line(read.stderr)
            assert desk.db.read_bytes() == db_bytes
        finally:
            (mnt / "filler").unlink()
        assert dump(desk.db) == before
        assert desk.run("list", "--format", "ids").stdout.split() == ["2", "1"]
        desk.open("Room again")


@pytest.mark.root("mounts a tmpfs")
def test_new_database_on_a_full_disk(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        fill(mnt)
        before = files(mnt)
        desk = Desk(mnt / "new.db")
        for args in (["init"], ["open", "x"]):
            result = desk.run(*args, as_=ADMIN, expect=None)
            assert result.exit_code == 1, (args, result.exit_code, result.stderr)
            error_line(result.stderr)
            current = files(mnt)
            # An empty placeholder is tolerable; a half-built database is not.
            leftover = {k: v for k, v in current.items() if k not in before}
            assert all(v == b"" for v in leftover.values()), sorted(leftover)


# -- not a ticketcli database, or a newer one --------------------------------------------------


def _foreign_files(folder: Path) -> dict[str, Path]:
    made: dict[str, Path] = {}
    made["text"] = folder / "notes.txt"
    made["text"].write_text("Shopping list: milk, eggs\n" * 10)
    made["random"] = folder / "random.bin"
    made["random"].write_bytes(bytes(range(256)) * 3)
    made["short"] = folder / "short.bin"
    made["short"].write_bytes(b"SQLite format 3\x00abc")
    made["zip"] = folder / "archive.zip"
    made["zip"].write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    made["other-app"] = folder / "other.db"
    with closing(sqlite3.connect(made["other-app"])) as con:
        con.execute("PRAGMA application_id = 1234")
        con.execute("CREATE TABLE t(x)")
        con.execute("INSERT INTO t VALUES (1)")
        con.commit()
    made["plain-sqlite"] = folder / "plain.db"
    with closing(sqlite3.connect(made["plain-sqlite"])) as con:
        con.execute("CREATE TABLE tickets(id INTEGER PRIMARY KEY, title TEXT)")
        con.execute("INSERT INTO tickets VALUES (1, 'not ours')")
        con.commit()
    made["versioned-empty"] = folder / "versioned.db"
    with closing(sqlite3.connect(made["versioned-empty"])) as con:
        con.execute("PRAGMA user_version = 7")
    return made


@pytest.mark.parametrize("kind", ["text", "random", "short", "zip", "other-app",
                                  "plain-sqlite", "versioned-empty"])
def test_a_file_that_is_not_a_ticketcli_database(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    target = _foreign_files(folder)[kind]
    before = files(folder)
    for args in (["list"], ["open", "x"], ["init"], ["doctor"], ["show", "1"],
                 ["user", "add", "new@example.com"], ["workflow", "show"]):
        result = Desk(target).run(*args, expect=None)
        assert result.exit_code == 78, (kind, args, result.exit_code, result.stderr)
        error_line(result.stderr)
        assert result.stdout == ""
        assert files(folder) == before, f"{kind}: {args} touched the file or left files behind"


def test_a_damaged_ticketcli_database(tmp_path: Path) -> None:
    """A real desk whose pages were overwritten: refused with 78, left byte for byte."""
    folder = tmp_path / "desk"
    folder.mkdir()
    desk = seeded_desk(folder)
    checkpoint(desk.db)
    with open(desk.db, "r+b") as fh:
        fh.seek(4096 * 2)
        fh.write(b"\xff" * 4096 * 8)
    before = files(folder)
    for args in (["list"], ["open", "x"], ["show", "1"]):
        result = desk.run(*args, expect=None)
        assert result.exit_code == 78, (args, result.exit_code, result.stderr)
        error_line(result.stderr)
        assert files(folder) == before


@pytest.mark.parametrize(
    "args",
    [["list"], ["open", "x"], ["init"], ["doctor"], ["show", "1"], ["close-stale"],
     ["user", "add", "new@example.com"], ["comment", "1", "hi"], ["workflow", "show"]],
    ids=_ids,
)
def test_a_database_from_a_newer_version(tmp_path: Path, args: list[str]) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    desk = seeded_desk(folder)
    with closing(sqlite3.connect(desk.db)) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    checkpoint(desk.db)
    before = files(folder)
    result = desk.run(*args, expect=None)
    assert result.exit_code == 78, (result.exit_code, result.stderr)
    line = error_line(result.stderr)
    assert "upgrade" in words(line) and str(SCHEMA_VERSION + 1) in words(line), line
    assert result.stdout == ""
    assert files(folder) == before, "a newer database was touched"


def test_application_id_marks_our_databases(tmp_path: Path) -> None:
    desk = seeded_desk(tmp_path)
    with closing(sqlite3.connect(desk.db)) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


# -- the write lock held by another process ----------------------------------------------------

HOLDER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
seconds = float(sys.argv[2])
if seconds > 0:
    time.sleep(seconds)
else:
    sys.stdin.readline()
con.execute("ROLLBACK")
con.close()
"""


@contextmanager
def write_lock(db: Path, seconds: float = 0.0) -> Iterator[None]:
    """Another process holds the write lock: ``seconds`` long, or until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "locked"
        yield
    finally:
        if proc.poll() is None and seconds <= 0:
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
        assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize("args", [*WRITES, ["init"], ["take", "1"]], ids=_ids)
def test_lock_held_past_the_timeout(desk_wf: tuple[Desk, Path], args: list[str]) -> None:
    desk, wf = desk_wf
    argv = with_workflow(args, wf)
    before = dump(desk.db)
    with write_lock(desk.db):
        started = time.monotonic()
        result = desk.run(*argv, expect=None, env={"TICKETCLI_BUSY_TIMEOUT": "0.5"})
        elapsed = time.monotonic() - started
        assert result.exit_code == 75, (result.exit_code, result.stderr)
        line = error_line(result.stderr)
        assert "busy" in words(line) and "try again" in words(line), line
        assert result.stdout == ""
        assert 0.4 < elapsed < 10, elapsed
    assert dump(desk.db) == before


def test_lock_timeout_from_the_config_file(desk_wf: tuple[Desk, Path],
                                           isolated_env: Path) -> None:
    desk, _ = desk_wf
    config = isolated_env / "config" / "ticketcli" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("busy_timeout = 0.3\n")
    before = dump(desk.db)
    with write_lock(desk.db):
        started = time.monotonic()
        result = desk.run("open", "x", expect=None)
        elapsed = time.monotonic() - started
    assert result.exit_code == 75, result.stderr
    error_line(result.stderr)
    assert 0.2 < elapsed < 10, elapsed
    assert dump(desk.db) == before


@pytest.mark.parametrize("args", [["open", "Waits its turn"], ["comment", "1", "after you"],
                                  ["user", "add", "new@example.com"]], ids=_ids)
def test_lock_held_shorter_than_the_timeout_is_waited_for(desk_wf: tuple[Desk, Path],
                                                          args: list[str]) -> None:
    desk, _ = desk_wf
    before = dump(desk.db)
    with write_lock(desk.db, seconds=1.0):
        started = time.monotonic()
        result = desk.run(*args, env={"TICKETCLI_BUSY_TIMEOUT": "10"})
        elapsed = time.monotonic() - started
    assert elapsed > 0.6, f"finished in {elapsed:.2f}s: it did not wait for the lock"
    assert dump(desk.db) != before
    if args[0] == "open":
        assert desk.ticket(int(result.stdout))["title"] == "Waits its turn"


def test_reads_do_not_wait_for_the_lock(desk_wf: tuple[Desk, Path]) -> None:
    desk, _ = desk_wf
    with write_lock(desk.db):
        started = time.monotonic()
        for args in READS:
            desk.run(*args, env={"TICKETCLI_BUSY_TIMEOUT": "5"})
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("value", ["abc", "", "1s", "nan", "inf", "1e309", "NaN"])
def test_bad_busy_timeout_values(desk_wf: tuple[Desk, Path], value: str) -> None:
    """TICKETCLI_BUSY_TIMEOUT that is not a usable number of seconds: bad configuration
    (or, for the empty string, the default); never an internal error."""
    desk, _ = desk_wf
    before = dump(desk.db)
    result = desk.run("open", "x", expect=None, env={"TICKETCLI_BUSY_TIMEOUT": value})
    if value == "":
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 78, (result.exit_code, result.stderr)
    assert "TICKETCLI_BUSY_TIMEOUT" in words(error_line(result.stderr))
    assert dump(desk.db) == before


def test_negative_busy_timeout_does_not_wait(desk_wf: tuple[Desk, Path]) -> None:
    desk, _ = desk_wf
    with write_lock(desk.db):
        started = time.monotonic()
        result = desk.run("open", "x", expect=None, env={"TICKETCLI_BUSY_TIMEOUT": "-1"})
        assert time.monotonic() - started < 5
    assert result.exit_code == 75, result.stderr
    error_line(result.stderr)


# -- malformed configuration -------------------------------------------------------------------

BAD_CONFIGS: dict[str, bytes] = {
    "unterminated-array": b"user = [\n",
    "bad-syntax": b"this is not toml\n",
    "duplicate-key": b'user = "a@b.c"\nuser = "d@e.f"\n',
    "not-utf8": b'\xff\xfeuser = "a@b.c"\n',
    "nul-byte": b'user = "a\x00b"\n',
    "busy-timeout-text": b'busy_timeout = "soon"\n',
    "busy-timeout-bool": b"busy_timeout = true\n",
    "busy-timeout-nan": b"busy_timeout = nan\n",
    "busy-timeout-inf": b"busy_timeout = inf\n",
    "db-number": b"db = 5\n",
    "user-list": b'user = ["a@b.c"]\n',
    "language-fr": b'language = "fr"\n',
    "user-not-email": b'user = "not-an-email"\n',
    "user-empty": b'user = ""\n',
    "db-empty": b'db = ""\n',
    "limit-zero": b"max_title_length = 0\n",
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
@pytest.mark.parametrize("where", ["option", "default-location"])
def test_malformed_config(desk_wf: tuple[Desk, Path], isolated_env: Path, name: str,
                          where: str) -> None:
    desk, _ = desk_wf
    if where == "option":
        config = desk.db.parent / "bad.toml"
    else:
        config = isolated_env / "config" / "ticketcli" / "config.toml"
        config.parent.mkdir(parents=True)
    config.write_bytes(BAD_CONFIGS[name])
    prefix = ["--config", str(config)] if where == "option" else []
    before = dump(desk.db)
    for args in (["list"], ["open", "x"], ["config", "get", "user"],
                 ["config", "set", "user", "anna@example.com"], ["config", "list"]):
        result = desk.runner.invoke(_app(), ["--db", str(desk.db), "--as", ADMIN, *prefix,
                                             *args])
        assert result.exit_code == 78, (name, args, result.exit_code, result.stderr)
        assert "config" in words(error_line(result.stderr))
        assert result.stdout == ""
        assert config.read_bytes() == BAD_CONFIGS[name], f"{args} edited a broken config"
    assert dump(desk.db) == before


@pytest.mark.parametrize("kind", ["directory", "missing", "dangling-symlink"])
def test_config_path_that_is_not_a_file(desk_wf: tuple[Desk, Path], kind: str) -> None:
    desk, _ = desk_wf
    config = desk.db.parent / "cfg"
    if kind == "directory":
        config.mkdir()
    elif kind == "dangling-symlink":
        config.symlink_to(desk.db.parent / "nowhere.toml")
    before = files(desk.db.parent)
    result = desk.run("list", expect=None, env={"TICKETCLI_CONFIG": str(config)})
    assert result.exit_code == 78, (result.exit_code, result.stderr)
    assert str(config) in error_line(result.stderr)
    assert files(desk.db.parent) == before
