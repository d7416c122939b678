"""Writing output where it cannot go: ``export --output`` and ``workflow export FILE`` into
a missing or read-only directory, onto a full disk, a symlink or something that is not a
regular file; and data on stdout that the disk (or ``/dev/full``) will not take.

Each failure is one ``Error:`` line on stderr and exit 1 (2 for a target that is not a
regular file), with no partial or temporary file left behind; a symlink is written
through, never replaced. Real processes: the fast path (``python -m ticketcli``) and the
Typer app without it (``ticketcli.cli.main``), with and without ``PYTHONUNBUFFERED``.

As in test_env_faults.py (CI runs as root): a small tmpfs mounted by the test is a full
disk (those tests are marked ``root``); ``setpriv`` without the capabilities that bypass
file modes makes ``chmod 555`` apply to root too. No device is ever given to ticketcli as
a path: the "device" cases use a FIFO of the test's own, and ``/dev/full`` is only ever
the stdout a test opens for the child.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from conftest import ADMIN, ROOT, Desk, fill, make_desk, tmpfs

pytestmark = pytest.mark.slow

NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
FAST = [sys.executable, "-m", "ticketcli"]
TYPER = [sys.executable, "-c", "from ticketcli.cli import main; main()"]
TICKETS = 60  # their JSON is a few times the 8 KiB of the tiny disk below

TEMPLATE: dict[str, Path] = {}


@pytest.fixture(autouse=True, scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One desk with TICKETS tickets per module, copied by every test."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            mp.setenv(var, str(root / var.lower()))
        desk = make_desk(root)
        for n in range(TICKETS):
            desk.open(f"Ticket number {n} with a title long enough to take some room")
    with closing(sqlite3.connect(desk.db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    TEMPLATE["db"] = desk.db
    yield


@pytest.fixture
def db(tmp_path: Path) -> Path:
    copy = tmp_path / "desk.db"
    shutil.copy2(TEMPLATE["db"], copy)
    return copy


def run(db: Path, *args: str, way: list[str] = FAST, stdout: int | object = subprocess.PIPE,
        stderr: int | object = subprocess.PIPE, unbuffered: bool = False,
        prefix: list[str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's ticketcli, whatever the cwd
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run([*(prefix or []), *way, "--db", str(db), "--as", ADMIN, *args],
                          stdout=stdout, stderr=stderr, text=True, timeout=60, env=env,
                          cwd=cwd)


def error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), f"stderr: {stderr!r}"
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


def entries(directory: Path) -> dict[str, str]:
    """What a directory holds: regular files by content, the rest by kind."""
    found: dict[str, str] = {}
    for entry in sorted(directory.iterdir()):
        mode = entry.lstat().st_mode
        if stat.S_ISLNK(mode):
            found[entry.name] = f"symlink -> {os.readlink(entry)}"
        elif stat.S_ISREG(mode):
            found[entry.name] = entry.read_text(errors="replace")
        else:
            found[entry.name] = oct(stat.S_IFMT(mode))
    return found


WRITERS = {
    "export": ["export", "--output"],
    "workflow-export": ["workflow", "export"],
}


# -- export --output and workflow export FILE -------------------------------------------------


@pytest.mark.parametrize("command", WRITERS)
def test_missing_directory_is_an_error_and_creates_nothing(db: Path, tmp_path: Path,
                                                           command: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run(db, *WRITERS[command], "nodir/out.txt", cwd=work)
    assert result.returncode == 1, result.stderr
    line = error_line(result.stderr)
    assert "nodir" in line and "does not exist" in line, line
    assert entries(work) == {}


@pytest.mark.parametrize("command", WRITERS)
def test_read_only_directory_is_an_error_and_changes_nothing(db: Path, tmp_path: Path,
                                                             command: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "out.txt").write_text("the old copy\n")
    folder.chmod(0o555)
    try:
        result = run(db, *WRITERS[command], str(folder / "out.txt"), prefix=NO_DAC)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 1, result.stderr
    line = error_line(result.stderr)
    assert "Permission denied" in line or "permission denied" in line, line
    assert entries(folder) == {"out.txt": "the old copy\n"}


@pytest.mark.root("mounts a tmpfs")
@pytest.mark.parametrize("command", WRITERS)
def test_full_disk_is_an_error_and_leaves_the_old_file(db: Path, tmp_path: Path,
                                                       command: str) -> None:
    with tmpfs(tmp_path / "tiny", "8k") as tiny:
        (tiny / "out.txt").write_text("the old copy\n")
        fill(tiny)
        before = entries(tiny)
        result = run(db, *WRITERS[command], str(tiny / "out.txt"))
        assert result.returncode == 1, result.stderr
        line = error_line(result.stderr)
        assert "No space left" in line, line
        assert entries(tiny) == before, "a partial or temporary file was left behind"


@pytest.mark.parametrize("command", WRITERS)
def test_a_symlink_is_written_through(db: Path, tmp_path: Path, command: str) -> None:
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    target = tmp_path / "real.txt"
    target.write_text("the old copy\n")
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    result = run(db, *WRITERS[command], str(link))
    assert result.returncode == 0, result.stderr
    assert os.readlink(link) == "real.txt", "the symlink was replaced"
    written = target.read_text()
    assert written != "the old copy\n"
    assert ("Ticket number 59" in written) if command == "export" else ("[statuses." in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]


@pytest.mark.parametrize("command", WRITERS)
def test_a_new_file_is_private(db: Path, tmp_path: Path, command: str) -> None:
    target = tmp_path / "new.txt"
    result = run(db, *WRITERS[command], str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", WRITERS)
def test_a_fifo_is_refused_not_replaced(db: Path, tmp_path: Path, command: str) -> None:
    """A stand-in for a device such as /dev/full: never replaced by a regular file."""
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "to-fifo"
    link.symlink_to("fifo")
    for path in (fifo, link):
        result = run(db, *WRITERS[command], str(path))
        assert result.returncode == 2, result.stderr
        assert "not a regular file" in error_line(result.stderr)
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
        assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "to-fifo"]


def test_export_to_stdout_with_dash_still_works(db: Path) -> None:
    result = run(db, "export", "--output", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"type": "ticket"') == TICKETS


# -- stdout that cannot take the data ---------------------------------------------------------

DATA = [
    ["list", "--format", "json"],
    ["list", "--format", "csv"],
    ["list", "--format", "jsonl", "--all"],
    ["export"],
]


@pytest.mark.root("mounts a tmpfs")
@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("way", [FAST, TYPER], ids=["fast-path", "typer"])
@pytest.mark.parametrize("args", DATA, ids=lambda a: "-".join(a))
def test_stdout_on_a_full_disk_is_an_error(db: Path, tmp_path: Path, args: list[str],
                                           way: list[str], unbuffered: bool) -> None:
    """The output is larger than the disk: exit 1, never a silently truncated file."""
    with tmpfs(tmp_path / "tiny", "8k") as tiny:
        with open(tiny / "out", "w") as out:
            result = run(db, *args, way=way, stdout=out, unbuffered=unbuffered)
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert error_line(result.stderr) == (
            "Error: cannot write to standard output (No space left on device)")


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("way", [FAST, TYPER], ids=["fast-path", "typer"])
@pytest.mark.parametrize("args", [["list", "--limit", "1"], ["show", "1"],
                                  ["list", "--format", "json"]], ids=lambda a: "-".join(a))
def test_stdout_to_dev_full_is_an_error(db: Path, args: list[str], way: list[str],
                                        unbuffered: bool) -> None:
    """Small or large output, kept in a buffer or not: one line, exit 1 (never the 120
    Python gives when a flush at exit fails)."""
    with open("/dev/full", "w") as full:
        result = run(db, *args, way=way, stdout=full, unbuffered=unbuffered)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert error_line(result.stderr) == (
        "Error: cannot write to standard output (No space left on device)")


def count(db: Path) -> int:
    with closing(sqlite3.connect(db)) as con:
        return int(con.execute("SELECT count(*) FROM tickets").fetchone()[0])


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_open_with_stdout_on_dev_full_does_not_claim_nothing_was_written(
        db: Path, unbuffered: bool) -> None:
    """The ticket is saved before its number is printed: the error must not say "nothing
    was written" (a script would retry and open it twice), nor call it an internal error."""
    with open("/dev/full", "w") as full:
        result = run(db, "open", "Printer on fire", stdout=full, unbuffered=unbuffered)
    assert result.returncode == 1, result.stderr
    line = error_line(result.stderr)
    assert line == "Error: cannot write to standard output (No space left on device)", line
    assert "nothing was written" not in line
    assert count(db) == TICKETS + 1


def test_stderr_on_dev_full_is_an_error_but_the_data_is_complete(db: Path) -> None:
    with open("/dev/full", "w") as full:
        result = run(db, "export", stderr=full)
    assert result.returncode == 1
    assert result.stdout.count('"type": "ticket"') == TICKETS


@pytest.mark.parametrize("way", [FAST, TYPER], ids=["fast-path", "typer"])
def test_a_reader_that_goes_away_is_not_an_error(db: Path, way: list[str]) -> None:
    """`ticketcli list | head -1`: exit 0 and nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    assert reader.stdin is not None
    try:
        result = subprocess.run([*way, "--db", str(db), "--as", ADMIN, "export"],
                                stdout=reader.stdin, stderr=subprocess.PIPE, text=True,
                                timeout=60, env=env, cwd=ROOT)
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stderr and "Exception" not in result.stderr, result.stderr


def _closing(fd: int) -> object:
    return lambda: os.close(fd)


@pytest.mark.parametrize("way", [FAST, TYPER], ids=["fast-path", "typer"])
def test_a_closed_stdout_is_an_error_not_an_internal_one(db: Path, way: list[str]) -> None:
    """`ticketcli list >&-`: nowhere to put the data is one clear line and exit 1."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for args in (["list"], ["show", "1"], ["open", "Printer on fire"]):
        result = subprocess.run([*way, "--db", str(db), "--as", ADMIN, *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                timeout=60, env=env, cwd=ROOT, preexec_fn=_closing(1))
        assert result.returncode == 1, (args, result.stderr)
        assert error_line(result.stderr) == (
            "Error: cannot write to standard output (it is closed)"), args
    # A command that prints nothing on stdout does not need it.
    result = subprocess.run([*way, "--db", str(db), "--as", ADMIN, "comment", "1", "Any news?"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            timeout=60, env=env, cwd=ROOT, preexec_fn=_closing(1))
    assert result.returncode == 0, result.stderr
    assert count(db) == TICKETS + 1  # the open above saved its ticket before printing


@pytest.mark.parametrize("way", [FAST, TYPER], ids=["fast-path", "typer"])
def test_a_closed_stdin_reads_as_empty(db: Path, way: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run([*way, "--db", str(db), "--as", ADMIN, "set-status", "-", "open"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=60, env=env, cwd=ROOT, preexec_fn=_closing(0))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "0 ok, 0 failed.\n")


def test_typer_path_without_fast_path_runs(db: Path) -> None:
    """The TYPER way in above really is the Typer app (it lists like the fast path)."""
    assert run(db, "list", "--format", "ids", way=TYPER).stdout == run(
        db, "list", "--format", "ids").stdout


def test_desk_template_has_the_tickets(db: Path) -> None:
    assert count(db) == TICKETS
    assert Desk(db).run("list", "--format", "ids", "--limit", "0").stdout.split()[-1] == "1"
