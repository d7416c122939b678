"""The bench's measurements: start-up, import and its floor, close-stale with its lock
wait, size, and the show, list and search queries, with the checks of every answer.

ticketcli is timed through what it offers, never by replacing any of it: whole
processes (``ticketcli ...``), whole commands in-process (``ticketcli.__main__.run``
with a :class:`ticketcli.context.Context` of its own streams), the use cases on a
store opened here (``ticketcli.desk.tickets.show``, ``ticketcli.desk.listing``), the
import session (``ticketcli.store.bulk.session.import_session``), the store's
transaction observers (``Database.observers``) and SQLite's trace callback on a
connection opened here.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import itertools
import json
import os
import random
import select
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from data import ADMIN, COMMON, NOW, RARE, UNCOMMON, Dataset, days_ago, generate, people_only
from report import Figure, Report, query_target

from ticketcli.__main__ import run as run_command
from ticketcli.clock import iso, parse, utcnow
from ticketcli.context import Context
from ticketcli.desk import listing, tickets
from ticketcli.desk.listing import ListRequest
from ticketcli.desk.transfer.load import BATCH as IMPORT_BATCH
from ticketcli.store import Store, User
from ticketcli.store.bulk import session as bulk

HERE = Path(__file__).resolve().parent
FLOOR_UP_TO = 200_000  # the database's share of an import is measured up to this size
ROUND_TRIP_UP_TO = 20_000  # export -> import -> export is checked up to this size

# -- running ticketcli in a process of its own ---------------------------------------------


def cli_command() -> list[str]:
    """The installed ``ticketcli`` script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("ticketcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ticketcli"]


def run(args: Sequence[str], *, env: dict[str, str] | None = None,
        stdin: Any = None) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Wall time and outcome of a command that must succeed."""
    start = time.perf_counter()
    done = subprocess.run(list(args), capture_output=True, env=env, stdin=stdin, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stderr.decode(errors='replace')}")
    return elapsed, done


def run_on_terminal(args: Sequence[str], *, env: dict[str, str],
                    columns: int = 160, lines: int = 50) -> tuple[float, bytes]:
    """Wall time and output of a command whose stdout and stderr are a terminal (the
    slave of a pseudo-terminal, ``columns`` wide), as when someone types it."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    output = bytearray()
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(list(args), stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=slave, env=env)
        os.close(slave)
        slave = -1
        while True:  # read as it comes: a full terminal buffer would block the command
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                proc.kill()
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal (it ended)
                break
            if not chunk:
                break
            output += chunk
        code = proc.wait()
        elapsed = time.perf_counter() - start
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed on a terminal ({code}):\n"
                         f"{output.decode(errors='replace')}")
    return elapsed, bytes(output)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("TICKETCLI_DB", "TICKETCLI_USER", "TICKETCLI_CONFIG"):
        env.pop(var, None)
    env["TICKETCLI_USER"] = ADMIN
    return env


def remove_database(db: Path) -> None:
    """A database file and its write-ahead log, gone if they were there."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def ticketcli(db: Path | str, *args: str) -> list[str]:
    return [*cli_command(), "--db", str(db), *args]


def build(db: Path, data: Dataset) -> float:
    """A new desk with ``data`` imported (``ticketcli import -``); the import's wall time."""
    remove_database(db)
    env = base_env()
    run(ticketcli(db, "init"), env=env)
    with open(data.path, "rb") as fh:
        elapsed, _ = run(ticketcli(db, "import", "-"), env=env, stdin=fh)
    return elapsed


def compiled(env: dict[str, str], work: Path) -> dict[str, str]:
    """``env`` for start-up runs from compiled bytecode, as an installed ticketcli runs
    (pip compiles it at install): PYTHONDONTWRITEBYTECODE, which some shells and CI set,
    would compile every module of a source tree on every start. The bytecode goes to a
    folder of the bench's own (PYTHONPYCACHEPREFIX), never into the source tree."""
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def installation(env: dict[str, str]) -> str:
    """Which ticketcli the processes run, and whether it is installed editable."""
    import importlib.metadata
    import sysconfig

    _, found = run([sys.executable, "-c", "import ticketcli; print(ticketcli.__file__)"],
                   env=env)
    code = Path(found.stdout.decode().strip()).parent
    try:
        dist = importlib.metadata.distribution("ticketcli")
    except importlib.metadata.PackageNotFoundError:
        return f"Start-up runs {' '.join(cli_command())}, ticketcli from {code} (not installed)."
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    editable = bool(direct.get("dir_info", {}).get("editable"))
    finders = sorted(p.name for p in Path(sysconfig.get_paths()["purelib"]).glob("__editable__*"))
    how = "editable" if editable else "regularly (not editable)"
    text = (f"Start-up runs {' '.join(cli_command())}, ticketcli from {code}, from bytecode "
            f"compiled once (PYTHONPYCACHEPREFIX); ticketcli {dist.version} is installed {how}")
    if finders:
        text += (f", and site-packages holds {', '.join(finders)}: every python start "
                 "runs its finder, the floor's included")
    return text + "."


# -- start-up: whole processes on a small desk -----------------------------------------------

FLOOR = "start-up: python -c 'import sqlite3'"
FAST_RATIO = 2.0  # the command lines scripts call in loops, times the floor
OTHER_RATIO = 3.0  # the rest, times the floor
TERMINAL_RATIO = 1.25  # a table on a terminal, times the same command piped


@dataclass
class Launch:
    """One start-up row: a whole process, timed from its start to its end."""

    name: str
    argv: Callable[[int], list[str]]  # the command line of the i-th run
    ratio: float = FAST_RATIO  # its target, times the floor (or the piped list)
    terminal: bool = False  # stdout and stderr a terminal, not pipes
    # What each run must print for the row to mean what it says: (what, test of
    # stdout and stderr, or of what the terminal showed).
    expect: tuple[str, Callable[[bytes, bytes], bool]] | None = None
    samples: list[float] = field(default_factory=list)

    def once(self, i: int, env: dict[str, str], report: Report) -> float:
        args = self.argv(i)
        if self.terminal:
            elapsed, out = run_on_terminal(args, env=env)
            err = b""
        else:
            elapsed, done = run(args, env=env)
            out, err = done.stdout, done.stderr
        if self.expect is not None and not self.expect[1](out, err):
            report.check(False, f"{self.name}: {self.expect[0]} (run {i}: {out!r} {err!r})")
        return elapsed


SERVER_RATIO = 1.5  # a command on a local PostgreSQL, times the same command on SQLite


def server_schema(server: str, name: str) -> str:
    """A new, empty schema ``name`` in the database ``server`` names, as a desk's URL."""
    from ticketcli.store.postgres.adapter import connect

    conn, _ = connect(server)
    try:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        conn.close()
    sep = "&" if "?" in server else "?"
    return f"{server}{sep}options=-csearch_path%3D{name}"


def startup(report: Report, work: Path, reps: int, server: str | None = None) -> None:
    """Whole-process start-up of the commands people and scripts run, each against
    ``python -c "import sqlite3"`` with the same interpreter, all taken in turn on
    each run so that the machine's load weighs on each alike. With ``server`` (a
    PostgreSQL database's URL), the five commands scripts call in loops run on copies
    of the same desks there too (``migrate-db``), against the same commands on SQLite."""
    data = generate(work / "small.jsonl", 200)
    db, writes = work / "small.db", work / "small-writes.db"  # reads and cron; writes
    build(db, data)
    build(writes, data)
    config = work / "bench-config.toml"
    config.write_text('[smtp]\nfrom = "Bench desk <desk@bench.example>"\n'
                      'sendmail = "/bin/true"\n')
    env = compiled(base_env(), work)
    report.notes.append(installation(env))
    active = run(ticketcli(writes, "list", "--limit", "1", "--format", "ids"),
                 env=env)[1].stdout.decode().strip()
    # What cron finds to do on the desk, done once: the timed runs find nothing.
    run(ticketcli(db, "close-stale"), env=env)
    run(ticketcli(db, "--config", str(config), "notify", "send"), env=env)
    moves = itertools.cycle(("pending", "open"))  # each run a real change
    nothing = ("closes nothing", lambda out, err: not out.strip())
    none_sent = ("sends nothing", lambda out, err: b" 0 sent, 0 to retry, 0 failed" in err)
    changed = ("changes the status", lambda out, err: b"Ticket" in err and b"already" not in err)
    table = ("prints a table", lambda out, err: b"Title" in out and b"\t" not in out)
    piped = Launch("start-up: ticketcli list --limit 20",
                   lambda i: ticketcli(db, "list", "--limit", "20"),
                   expect=("prints tab-separated rows", lambda out, err: out.count(b"\t") >= 20))
    server_rows: list[tuple[Launch, Launch]] = []
    launches = [
        Launch(FLOOR, lambda i: [sys.executable, "-c", "import sqlite3"]),
        Launch("start-up: ticketcli show ID", lambda i: ticketcli(db, "show", "7")),
        piped,
        Launch("start-up: ticketcli open TITLE",
               lambda i: ticketcli(writes, "open", f"Printer on fire, take {i}")),
        Launch("start-up: ticketcli comment ID TEXT",
               lambda i: ticketcli(writes, "comment", active, "Any news?")),
        Launch("start-up: ticketcli set-status ID STATUS",
               lambda i: ticketcli(writes, "set-status", active, next(moves)),
               expect=changed),
        Launch("start-up: ticketcli --version", lambda i: [*cli_command(), "--version"],
               OTHER_RATIO),
        Launch("start-up: ticketcli user list", lambda i: ticketcli(db, "user", "list"),
               OTHER_RATIO),
        Launch("start-up: ticketcli close-stale (nothing to do)",
               lambda i: ticketcli(db, "close-stale", "--format", "ids"), OTHER_RATIO,
               expect=nothing),
        Launch("start-up: ticketcli notify send (nothing to send)",
               lambda i: ticketcli(db, "--config", str(config), "notify", "send"),
               OTHER_RATIO, expect=none_sent),
        Launch("start-up: ticketcli list --limit 20 on a terminal",
               lambda i: ticketcli(db, "list", "--limit", "20"), TERMINAL_RATIO,
               terminal=True, expect=table),
    ]
    if server is not None:
        reads = server_schema(server, "bench_reads")
        written = server_schema(server, "bench_writes")
        for source, target in ((db, reads), (writes, written)):
            run(ticketcli(source, "migrate-db", "--to", target), env=env)
        server_moves = itertools.cycle(("pending", "open"))
        pairs: list[tuple[str, Callable[[int], list[str]]]] = [
            ("show ID", lambda i: ticketcli(reads, "show", "7")),
            ("list --limit 20", lambda i: ticketcli(reads, "list", "--limit", "20")),
            ("open TITLE", lambda i: ticketcli(written, "open", f"Printer, take {i}")),
            ("comment ID TEXT",
             lambda i: ticketcli(written, "comment", active, "Any news?")),
            ("set-status ID STATUS",
             lambda i: ticketcli(written, "set-status", active, next(server_moves))),
        ]
        by_name = {launch.name: launch for launch in launches}
        for name, argv in pairs:
            mine = Launch(f"start-up on PostgreSQL: ticketcli {name}", argv, SERVER_RATIO,
                          expect=changed if name.startswith("set-status") else None)
            server_rows.append((mine, by_name[f"start-up: ticketcli {name}"]))
            launches.append(mine)
    for launch in launches:  # warm-up: the page cache
        launch.once(0, env, report)
    for i in range(1, reps + 1):
        for launch in launches:
            launch.samples.append(launch.once(i, env, report))
    for launch in launches:
        if launch.expect is not None:
            report.check(True, f"{launch.name}: {launch.expect[0]} in every run")
    floor = Figure(launches[0].samples)
    report.put(FLOOR, "baseline", 0, floor)
    on_server = {id(mine): lite for mine, lite in server_rows}
    for launch in launches[1:]:
        fig = Figure(launch.samples)
        if id(launch) in on_server:
            report.put_ratio(launch.name, fig, Figure(on_server[id(launch)].samples),
                             launch.ratio, f"<= {launch.ratio}x on SQLite")
        elif launch.terminal:
            report.put_ratio(launch.name, fig, Figure(piped.samples), launch.ratio,
                             f"<= {launch.ratio}x piped")
        else:
            report.put_ratio(launch.name, fig, floor, launch.ratio,
                             f"<= {launch.ratio:.1f}x baseline")


# -- import, and the database's share of it -------------------------------------------------


class Batch(NamedTuple):
    """One batch of an import's rows, in the import session's column order."""

    tickets: list[Any]
    comments: list[Any]
    participants: list[Any]
    attachments: list[Any]
    history: list[Any]


# The rows of a batch of tickets (ids from ? to ?) as the import inserted them. Links
# between tickets are set after every ticket is in, as import does (set_follow_ups).
_ROWS = {
    "tickets": "SELECT id, title, description, status, phase, priority, category, "
               "requester_id, assignee_id, org_id, resolution, fields, NULL, created_at, "
               "updated_at, status_changed_at, activity_at, reminded_for FROM tickets "
               "WHERE id BETWEEN ? AND ? ORDER BY id",
    "comments": "SELECT id, ticket_id, author_id, body, internal, created_at FROM comments "
                "WHERE ticket_id BETWEEN ? AND ? ORDER BY id",
    "participants": "SELECT ticket_id, user_id, added_at FROM participants "
                    "WHERE ticket_id BETWEEN ? AND ? ORDER BY rowid",
    "attachments": "SELECT id, ticket_id, comment_id, uploader_id, name, size, sha256, "
                   "content, created_at FROM attachments WHERE ticket_id BETWEEN ? AND ? "
                   "ORDER BY id",
    "history": "SELECT ticket_id, actor_id, at, event, from_status, to_status, detail, via_id "
               "FROM history WHERE ticket_id BETWEEN ? AND ? ORDER BY id",
}


def imported_rows(db: Path) -> tuple[list[Batch], list[tuple[int, int]]]:
    """The rows an import wrote, read back a batch of tickets at a time as it wrote
    them (``ticketcli.desk.transfer.load.BATCH`` tickets in id order), and the
    (follow_up_of, ticket id) links it set at the end."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM tickets ORDER BY id")]
        batches = []
        for at in range(0, len(ids), IMPORT_BATCH):
            bounds = (ids[at], ids[min(at + IMPORT_BATCH, len(ids)) - 1])
            batches.append(Batch(**{table: conn.execute(sql, bounds).fetchall()
                                    for table, sql in _ROWS.items()}))
        links = conn.execute("SELECT follow_up_of, id FROM tickets "
                             "WHERE follow_up_of IS NOT NULL ORDER BY id").fetchall()
    return batches, links


def import_floor(data: Dataset, work: Path, reps: int) -> tuple[list[float], bool]:
    """The database's share of an import: wall times of the same rows going through
    the same import session (one transaction, full text, indexes, statistics, commit)
    with nothing read, parsed, checked or looked up.

    A real ``ticketcli import`` of the file goes onto a desk that already holds the
    file's people (so that their ids are the same), and its rows are read back from
    it; each timed run replays them onto a fresh copy of that desk through
    ``import_session`` and ``session.insert``, and must give the same desk.
    """
    people = work / "floor-people.db"
    remove_database(people)
    env = base_env()
    run(ticketcli(people, "init"), env=env)
    run(ticketcli(people, "import", str(people_only(data, work / "floor-people.jsonl"))),
        env=env)
    with contextlib.closing(Store.open(people)) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    copy = work / "floor.db"

    def fresh() -> Path:
        remove_database(copy)
        shutil.copyfile(people, copy)
        os.chmod(copy, 0o600)
        return copy

    run(ticketcli(fresh(), "import", str(data.path)), env=env)
    expected = _summary(copy)
    batches, links = imported_rows(copy)
    same = True
    times = []
    for _ in range(reps):
        store = Store.open(fresh())
        collecting = gc.isenabled()
        gc.disable()  # as import does
        try:
            start = time.perf_counter()
            with bulk.import_session(store) as session:
                for b in batches:
                    session.insert(tickets=b.tickets, comments=b.comments,
                                   participants=b.participants, attachments=b.attachments,
                                   history=b.history)
                session.set_follow_ups(links)
            times.append(time.perf_counter() - start)
        finally:
            if collecting:
                gc.enable()
            store.close()
        same = same and _summary(copy) == expected
    remove_database(copy)
    return times, same


def _summary(db: Path) -> tuple[Any, ...]:
    """Enough of a desk to tell two imports of the same file apart."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return tuple(conn.execute(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM history), "
            "(SELECT total(requester_id * id) FROM tickets), "
            "(SELECT count(*) FROM tickets_fts WHERE tickets_fts MATCH ?), "
            "(SELECT group_concat(status || ':' || n) FROM ticket_counts)", (RARE,)
        ).fetchone())


# -- close-stale, with another writer waiting ------------------------------------------------


class LockProbe(threading.Thread):
    """Another writer, as a concurrent ``ticketcli comment`` would be: it takes the
    write lock again and again the way ticketcli's commands do (``Store.write``), and
    notes its longest wait for it, as its store's observer is told."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.longest = 0.0
        self.halt = threading.Event()

    def _observe(self, waited: float, held: float) -> None:
        self.longest = max(self.longest, waited)

    def run(self) -> None:
        store = Store.open(self.db, busy_timeout=60)
        store.db.observers.append(self._observe)
        try:
            while not self.halt.is_set():
                with store.write():
                    pass
                time.sleep(0.005)
        finally:
            store.close()


def close_stale(db: Path, work: Path) -> dict[str, float]:
    """``ticketcli close-stale`` in a process of its own (``stale_child.py``) on a copy
    of the desk, with a :class:`LockProbe` writing meanwhile."""
    copy = work / "stale-copy.db"
    remove_database(copy)
    shutil.copyfile(db, copy)
    # A cron job meets a file at rest: the copy's write-back must not land in the run.
    os.sync()
    report = work / "stale-report.json"
    env = base_env()
    probe = LockProbe(copy)
    probe.start()
    try:
        elapsed, done = run([sys.executable, str(HERE / "stale_child.py"), str(report),
                             "--db", str(copy), "close-stale", "--now", NOW,
                             "--format", "ids"], env=env)
    finally:
        probe.halt.set()
        probe.join()
    figures = json.loads(report.read_text())
    figures["wall"] = elapsed
    figures["waited"] = probe.longest
    figures["closed"] = len(done.stdout.split())
    remove_database(copy)
    return {k: float(v) for k, v in figures.items()}


# -- one desk: import, floor, answers, size, close-stale, round trip -------------------------


def desk(report: Report, n: int, work: Path, reps: int) -> tuple[Path, Dataset]:
    """Build the desk of ``n`` tickets and measure everything but its queries."""
    data = generate(work / f"bench-{n}.jsonl", n)
    report.say(f"[{n}] file ready: {data.text_chars / n:.0f} characters of title and "
               "description per ticket")
    db = work / f"bench-{n}.db"
    import_reps = max(1, reps if n < 500_000 else min(reps, 2))
    times = [build(db, data) for _ in range(import_reps)]
    rate = Figure([n / t for t in times], unit="tickets/s")
    report.put("import rate (no comments)", ">= 50,000 tickets/s", n, rate)
    report.say(f"[{n}] import: {rate.text()}")
    if n <= FLOOR_UP_TO:
        times, same = import_floor(data, work, import_reps)
        report.check(same, f"[{n}] the import's rows replayed give the same desk")
        floor = Figure([n / t for t in times], unit="tickets/s")
        report.put("  the database's share alone", "none (a ceiling for the rate above)",
                   n, floor)
        report.say(f"[{n}] import, the database's share alone: {floor.text()}")
    verify(report, db, data)
    size(report, db, n)
    stale = [close_stale(db, work) for _ in range(max(1, min(reps, 3)))]
    for s in stale:
        report.check(s["closed"] == data.stale,
                     f"[{n}] close-stale closed {s['closed']:.0f} of {data.stale} stale tickets")
    report.put("close-stale: total time", "< 10 s at 1M (100k stale)", n,
               Figure([s["wall"] for s in stale], unit="s"))
    report.put("close-stale: longest write transaction", "< 50 ms", n,
               Figure([s["longest"] for s in stale]))
    report.put("close-stale: longest wait of another writer", "< 50 ms", n,
               Figure([s["waited"] for s in stale]))
    report.put("close-stale: peak memory", "< 100 MB", n,
               Figure([s["maxrss_kib"] / 1024 for s in stale], unit="MB"))
    report.say(f"[{n}] close-stale: {Figure([s['wall'] for s in stale], unit='s').text()}")
    if n <= ROUND_TRIP_UP_TO:
        round_trip(report, db, n, work)
    return db, data


def verify(report: Report, db: Path, data: Dataset) -> None:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        count = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        fts = conn.execute(
            "SELECT count(*) FROM tickets_fts WHERE tickets_fts MATCH ?", (RARE,)
        ).fetchone()[0]
        integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
    report.check(count == data.tickets, f"[{data.tickets}] imported {count} tickets")
    report.check(fts == data.rare, f"[{data.tickets}] full-text index finds {fts} "
                 f"'{RARE}' tickets")
    report.check(integrity == "ok", f"[{data.tickets}] quick_check {integrity}")


def size(report: Report, db: Path, n: int) -> None:
    """Bytes of database per ticket, checkpointed, and the full-text share (``dbstat``)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = dict(conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    total = os.path.getsize(db)
    fts = sum(v for k, v in pages.items() if "_fts" in k)
    report.put("size per ticket (FTS included)", "< 1,024 B", n, Figure([total / n], unit="B"))
    report.put("  of which full-text index", "", n, Figure([fts / n], unit="B"))
    report.say(f"[{n}] size: {total / n:.0f} B/ticket")


def round_trip(report: Report, db: Path, n: int, work: Path) -> None:
    env = base_env()
    _, first = run(ticketcli(db, "export"), env=env)
    copy = work / "round-trip.db"
    remove_database(copy)
    run(ticketcli(copy, "init"), env=env)
    path = work / "round-trip.jsonl"
    path.write_bytes(first.stdout)
    with open(path, "rb") as fh:
        run(ticketcli(copy, "import", "-"), env=env, stdin=fh)
    _, second = run(ticketcli(copy, "export"), env=env)
    remove_database(copy)

    def records(raw: bytes) -> list[str]:
        return [line for line in raw.decode().splitlines() if '"type": "ticket"' in line]

    report.check(records(first.stdout) == records(second.stdout),
                 f"[{n}] export -> import -> export gives the same {n} tickets")


# -- show, list and search ----------------------------------------------------------------


class InProcess:
    """A whole command run inside this process (``ticketcli.__main__.run`` with a
    context of its own): no interpreter start-up in the figures."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.env = base_env()

    def __call__(self, *args: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        code = run_command(["--db", str(self.db), "--as", ADMIN, *args],
                           context=Context(env=self.env, stdout=out, stderr=err))
        if code != 0:
            raise RuntimeError(f"ticketcli {' '.join(args)} exited {code}: {err.getvalue()}")
        return out.getvalue()


UseCase = Callable[[Store, User], Any]


def on_fresh_store(db: Path, use: UseCase, *,
                   trace: Callable[[str], None] | None = None) -> tuple[float, Any]:
    """The time ``use`` takes on a store just opened, as each command opens its own
    (its actor and workflow already read, as a command has them before its query)."""
    store = Store.open(db)
    try:
        actor = store.people.user_by_email(ADMIN)
        if actor is None:
            raise SystemExit(f"{db} has no {ADMIN}")
        store.workflow()
        if trace is not None:
            store.conn.set_trace_callback(trace)
        start = time.perf_counter()
        result = use(store, actor)
        elapsed = time.perf_counter() - start
        store.conn.set_trace_callback(None)
    finally:
        store.close()
    return elapsed, result


def list_request(*, status: list[str] | None = None, all_: bool = False,
                 phase: list[str] | None = None, priority: str | None = None,
                 requester: str | None = None, assignee: str | None = None,
                 org: str | None = None, category: str | None = None,
                 created_since: str | None = None, created_before: str | None = None,
                 updated_since: str | None = None, updated_before: str | None = None,
                 stale: bool = False, search: str | None = None, sort: str = "-id",
                 limit: int = 100) -> ListRequest:
    """The request ``ticketcli list`` makes of these options, as ``list_`` in
    ticketcli/commands/tickets.py builds it (the same defaults; the time options
    normalized, ``--sort`` read, ``--limit 0`` no limit)."""

    def since(value: str | None) -> str | None:
        return None if value is None else iso(parse(value))

    key, _, direction = sort.strip().partition(":")
    descending = direction.lower() == "desc"
    if key.startswith("-"):
        key, descending = key[1:], True
    return ListRequest(
        statuses=status or [], phases=phase or [], include_all=all_, priority=priority,
        requester=requester, assignee=assignee, organization=org, category=category,
        created_since=since(created_since), created_before=since(created_before),
        updated_since=since(updated_since), updated_before=since(updated_before),
        stale_at=utcnow() if stale else None, search=search, sort=key,
        descending=descending, limit=limit or None,
    )


@dataclass(frozen=True)
class ListQuery:
    """A ``list`` row: the command line's options, and the same as ``list_`` takes them."""

    name: str
    argv: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    count: bool = False  # --count: count_tickets, not list_tickets

    def use_case(self) -> UseCase:
        req = list_request(**self.options)
        if self.count:
            return lambda store, actor: listing.count_tickets(store, actor, req)
        return lambda store, actor: listing.list_tickets(store, actor, req)[0]


LIST_QUERIES = [
    ListQuery("list (active, newest first)", ()),
    ListQuery("list --limit 20", ("--limit", "20"), {"limit": 20}),
    ListQuery("list --all", ("--all",), {"all_": True}),
    ListQuery("list --status pending", ("--status", "pending"), {"status": ["pending"]}),
    ListQuery("list --phase solved", ("--phase", "solved"), {"phase": ["solved"]}),
    ListQuery("list --priority urgent", ("--priority", "urgent"), {"priority": "urgent"}),
    ListQuery("list --requester R", ("--requester", "customer7@bench.example"),
              {"requester": "customer7@bench.example"}),
    ListQuery("list --assignee A", ("--assignee", "agent3@bench.example"),
              {"assignee": "agent3@bench.example"}),
    ListQuery("list --org O", ("--org", "Org 00003"), {"org": "Org 00003"}),
    ListQuery("list --category vpn", ("--category", "vpn"), {"category": "vpn"}),
    ListQuery("list --created-since (last 30 days)", ("--created-since", days_ago(30)),
              {"created_since": days_ago(30)}),
    ListQuery("list --updated-before (a year ago)",
              ("--all", "--updated-before", days_ago(365)),
              {"all_": True, "updated_before": days_ago(365)}),
    ListQuery("list --stale", ("--stale",), {"stale": True}),
    ListQuery("list --sort updated_at", ("--sort", "updated_at"), {"sort": "updated_at"}),
    ListQuery("list --sort -priority", ("--sort=-priority",), {"sort": "-priority"}),
    ListQuery("list --sort title", ("--sort", "title"), {"sort": "title"}),
    ListQuery("list --count", ("--count",), count=True),
    ListQuery(f"list --search {RARE} (rare)", ("--all", "--search", RARE),
              {"all_": True, "search": RARE}),
    ListQuery(f"list --search {UNCOMMON} (1 in 5,000)", ("--all", "--search", UNCOMMON),
              {"all_": True, "search": UNCOMMON}),
    ListQuery(f"list --search {COMMON} (common)", ("--search", COMMON), {"search": COMMON}),
    ListQuery(f"list --all --search {COMMON} --limit 20",
              ("--all", "--search", COMMON, "--limit", "20"),
              {"all_": True, "search": COMMON, "limit": 20}),
]

# A sample of a row: the command line (run whole, in-process) and the same use case.
Sample = tuple[list[str], UseCase]
# What a command printed, as the use case answers it (a ticket id, the ids, a count).
Answer = Callable[[str], Any]


def _ids(output: str) -> list[int]:
    return [t["id"] for t in json.loads(output)]


def _found(result: Any) -> Any:
    """A use case's answer, comparable with what the command printed."""
    if isinstance(result, tickets.Details):
        return result.ticket.id
    if isinstance(result, list):
        return [t.id for t in result]
    return result


def interleaved(report: Report, name: str, sample: Callable[[int], Sample], answer: Answer,
                desks: dict[int, Path], clis: dict[int, InProcess],
                reps: int) -> dict[int, tuple[list[float], list[float]]]:
    """Whole-command and use-case times of a row at each size, the sizes taken in turn;
    the warm-up run at each size checks that the two give the same answer."""
    for n in desks:
        argv, use = sample(n)
        printed = answer(clis[n](*argv))
        found = _found(on_fresh_store(desks[n], use)[1])
        what = f"{len(found)} tickets" if isinstance(found, list) else str(found)
        report.check(printed == found,
                     f"[{n}] {name}: the use case answers what the command prints ({what})")
    out: dict[int, tuple[list[float], list[float]]] = {n: ([], []) for n in desks}
    for _ in range(reps):
        for n in desks:
            argv, use = sample(n)
            start = time.perf_counter()
            clis[n](*argv)
            out[n][0].append(time.perf_counter() - start)
            out[n][1].append(on_fresh_store(desks[n], use)[0])
    return out


def queries(report: Report, built: dict[int, tuple[Path, Dataset]], reps: int) -> None:
    """show, list and search on every desk built, interleaved: each run of a row goes
    round the sizes in turn, so that a machine getting busier or quieter over the
    minutes the rows take weighs on every size alike."""
    desks = {n: db for n, (db, _) in built.items()}
    clis = {n: InProcess(db) for n, db in desks.items()}
    # Ten runs a rep: a query takes milliseconds, and its median moves by tenths of one
    # from run to run on a shared machine (one rep, the smoke run: three).
    runs = reps * 10 if reps > 1 else 3
    shown: dict[int, Iterator[int]] = {}
    for n, cli in clis.items():
        ids = random.Random(n).sample(range(1, n + 1), min(runs + 1, n))
        shown[n] = itertools.cycle(ids)
        got = json.loads(cli("show", str(ids[0]), "--format", "json"))
        report.check(got["id"] == ids[0], f"[{n}] show {ids[0]}")

    def show_one(n: int) -> Sample:
        ticket_id = next(shown[n])
        return (["show", str(ticket_id), "--format", "json"],
                lambda store, actor: tickets.show(store, actor, ticket_id))

    rows: list[tuple[str, Callable[[int], Sample], Answer]] = [
        ("show ID", show_one, lambda output: json.loads(output)["id"])]
    for q in LIST_QUERIES:
        argv = ["list", *q.argv] + ([] if q.count else ["--format", "json"])
        rows.append((q.name, _same(argv, q.use_case()), int if q.count else _ids))
    for name, sample, answer in rows:
        for n, (whole, query) in interleaved(report, name, sample, answer, desks, clis,
                                             runs).items():
            report.put(name, query_target(name), n, Figure(query))
            report.put_command(name, n, Figure(whole))
    largest = max(desks)
    for q in LIST_QUERIES:
        statements: list[str] = []
        on_fresh_store(desks[largest], q.use_case(), trace=statements.append)
        report.plans[q.name] = plan(desks[largest], statements)
    for n, cli in clis.items():
        data = built[n][1]
        rare = json.loads(cli("list", "--all", "--search", RARE, "--limit", "0",
                              "--format", "json"))
        report.check(len(rare) == data.rare, f"[{n}] search {RARE} finds {len(rare)} tickets")
        some = json.loads(cli("list", "--all", "--search", UNCOMMON, "--limit", "0",
                              "--format", "json"))
        report.check(len(some) == data.uncommon,
                     f"[{n}] search {UNCOMMON} finds {len(some)} tickets")
        active = int(cli("list", "--count"))
        report.check(active == data.active, f"[{n}] list --count gives {active} active tickets")
        stale = int(cli("list", "--stale", "--count"))
        report.check(stale == data.stale, f"[{n}] list --stale --count gives {stale}")
    report.say("queries done")


def _same(argv: list[str], use: UseCase) -> Callable[[int], Sample]:
    """The sample of a row that is the same at every size."""
    return lambda n: (argv, use)


def plan(db: Path, statements: list[str]) -> str:
    """EXPLAIN QUERY PLAN of the slowest-looking statement: the last one over tickets."""
    chosen = [s for s in statements if "FROM tickets t" in s]
    if not chosen:
        return ""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + chosen[-1]).fetchall()
    return "\n".join(f"    {'  ' * (r[1] > 0)}{r[3]}" for r in rows)


# -- service levels -----------------------------------------------------------------------

SLA_RATIO = OTHER_RATIO  # sla check with nothing due, times the start-up floor


def sla_build(db: Path, data: Dataset, work: Path) -> float:
    """A service-level desk: the standard workflow with the contract policy, then the
    file imported (its clocks computed by the import); the import's wall time."""
    from data import SLA_POLICY

    remove_database(db)
    env = base_env()
    run(ticketcli(db, "init"), env=env)
    exported = run(ticketcli(db, "workflow", "export"), env=env)[1].stdout.decode()
    wf = work / "bench-sla-workflow.toml"
    wf.write_text(exported + SLA_POLICY)
    run(ticketcli(db, "workflow", "import", str(wf)), env=env)
    with open(data.path, "rb") as fh:
        elapsed, _ = run(ticketcli(db, "import", "-"), env=env, stdin=fh)
    return elapsed


def sla_desk(report: Report, n: int, work: Path, reps: int) -> tuple[Path, Dataset]:
    """Build the service-level desk of ``n`` tickets; time ``sla check`` (the first
    run, which records the breaches, then runs with nothing due) and ``report``."""
    data = generate(work / f"bench-sla-{n}.jsonl", n, sla=True)
    db = work / f"bench-sla-{n}.db"
    took = sla_build(db, data, work)
    report.put("import, 10% under a policy (rate)", "none (clocks computed by the import)", n,
               Figure([n / took], unit="tickets/s"))
    with contextlib.closing(sqlite3.connect(db)) as conn:
        clocks = conn.execute("SELECT count(*) FROM sla_clocks").fetchone()[0]
    report.check(clocks == data.under_policy,
                 f"[{n}] {clocks} tickets have clocks ({data.under_policy} under the policy)")
    env = base_env()
    fast = compiled(base_env(), work)  # start-up from compiled bytecode, as startup() runs
    firsts, idle = [], []
    for _ in range(max(1, min(reps, 2))):
        copy = work / "sla-copy.db"
        remove_database(copy)
        shutil.copyfile(db, copy)
        os.sync()
        elapsed, done = run(ticketcli(copy, "sla", "check", "--now", NOW, "--format",
                                      "json"), env=env)
        found = json.loads(done.stdout or b"[]")
        report.check(len(found) == data.breaches
                     and all(f["event"] == "breached" for f in found),
                     f"[{n}] the first sla check records {len(found)} breaches "
                     f"({data.breaches} expected)")
        firsts.append(elapsed)
        for _ in range(max(3, reps * 2)):
            elapsed, done = run(ticketcli(copy, "sla", "check", "--now", NOW), env=fast)
            report.check(not done.stdout.strip(), f"[{n}] a second sla check finds nothing")
            idle.append(elapsed)
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            recorded = conn.execute(
                "SELECT count(*) FROM history WHERE event = 'sla_breached'").fetchone()[0]
        report.check(recorded == data.breaches, f"[{n}] {recorded} breaches in the history")
        remove_database(copy)
    report.put("sla check: first run (1% of tickets breached)", "< 10 s at 1M (10k breaches)",
               n, Figure(firsts, unit="s"))
    report.put("sla check: nothing due (whole process)",
               f"<= {SLA_RATIO:.1f}x the start-up floor", n, Figure(idle))
    report.say(f"[{n}] sla check: first run {Figure(firsts, unit='s').text()}, "
               f"nothing due {Figure(idle).text()}")
    times = []
    for _ in range(max(1, min(reps, 3))):
        elapsed, done = run(ticketcli(db, "report", "--by", "week", "--since", days_ago(365),
                                      "--until", NOW, "--format", "json"), env=env)
        got = json.loads(done.stdout)
        opened = sum(g["opened"] for g in got["groups"])
        report.check(opened == data.last_year,
                     f"[{n}] report --by week counts {opened} tickets opened in a year")
        times.append(elapsed)
    report.put("report --by week, a year (whole process)", "< 5 s at 1M", n,
               Figure(times, unit="s"))
    report.say(f"[{n}] report: {Figure(times, unit='s').text()}")
    return db, data


SLA_QUERIES = [
    ListQuery("list --sla breached --limit 20 (SLA desk)",
              ("--sla", "breached", "--limit", "20"), {"sla": "breached", "limit": 20}),
    ListQuery("list --sort due --limit 20 (SLA desk)", ("--sort", "due", "--limit", "20"),
              {"sort": "due", "limit": 20}),
]


def sla_queries(report: Report, built: dict[int, tuple[Path, Dataset]], reps: int) -> None:
    """The service-level list rows on the service-level desks, interleaved as the
    others; each checks that the breached ones are the newest breached tickets."""
    desks = {n: db for n, (db, _) in built.items()}
    clis = {n: InProcess(db) for n, db in desks.items()}
    runs = reps * 10 if reps > 1 else 3
    for q in SLA_QUERIES:
        argv = ["list", *q.argv, "--format", "json"]
        for n, (whole, query) in interleaved(report, q.name, _same(argv, sla_use_case(q)),
                                             _ids, desks, clis, runs).items():
            report.put(q.name, query_target(q.name), n, Figure(query))
            report.put_command(q.name, n, Figure(whole))
        statements: list[str] = []
        largest = max(desks)
        on_fresh_store(desks[largest], sla_use_case(q), trace=statements.append)
        report.plans[q.name] = plan(desks[largest], statements)
    for n, cli in clis.items():
        rows = json.loads(cli("list", "--sla", "breached", "--limit", "20", "--format", "json"))
        report.check(len(rows) == min(20, built[n][1].breaches)
                     and all(r["sla_breached"] and r["category"] == "contract" for r in rows),
                     f"[{n}] list --sla breached gives {len(rows)} breached contract tickets")
    report.say("service-level queries done")


def sla_use_case(q: ListQuery) -> UseCase:
    options = dict(q.options)
    sla = options.pop("sla", None)
    req = list_request(**options)._replace(sla=sla, sla_now=iso(utcnow()))
    return lambda store, actor: listing.list_tickets(store, actor, req)[0]
