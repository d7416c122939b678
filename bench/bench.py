"""The ticketcli benchmark: build desks of 10k, 100k and 1M tickets through
``import``, time what users and cron do on them, and print one table with each
figure beside its target.

Only the standard library and ticketcli itself. Run it from the project root:

    python bench/bench.py                      # 10k, 100k and 1M (about 6 minutes)
    python bench/bench.py --sizes 10000,100000 # quicker
    python bench/bench.py --sizes 300 --reps 1 # a smoke run (what the tests do)

What is measured, and how:

* **import**: ``ticketcli import FILE`` in a fresh process into a new desk,
  wall time; the rate is tickets per second. The file is what ``export``
  writes: people first, then tickets with their history (no comments).
  Up to 200k tickets, also the database's share of it alone: the rows that
  import produced, recorded, replayed through the same import session (one
  transaction, full text, indexes, commit) with nothing to read or check. No
  import can beat that rate on this machine, whatever its parsing costs.
* **start-up**: wall time of ``ticketcli show ID``, ``ticketcli list
  --limit 20`` and ``ticketcli comment ID TEXT`` (a write, committed) on a
  small desk, against ``python -c "import sqlite3"``.
* **show, list, search**: the real command run in-process (argument parsing,
  opening the database, the query, rendering JSON), so interpreter start-up,
  which does not grow with the desk, does not hide what does. Warm cache.
  Measured once every desk is built, the sizes taken in turn on each run, so
  that a shared machine's load, which drifts over minutes, weighs on each alike.
* **close-stale**: a fresh process on a copy of the desk where 10% of the
  tickets are stale; wall time, the longest write transaction (timed inside
  that process around every ``Store.write``) and its own peak RSS (``VmHWM``:
  ``ru_maxrss`` would count the bench's memory at the fork too).
* **size**: bytes of database (checkpointed) per ticket, and the full-text
  index's share of them.

Every figure is the median of repeated runs with the spread (min-max) beside
it. The run also checks results (counts, search hits, tickets closed, an
export/import round trip); a wrong answer fails the run whatever the speed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN = "admin@bench.example"
# The bench's "now": today, midnight UTC (``list --stale`` judges by the real clock).
NOW = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
COMMON = "please"  # in about 85% of tickets
RARE = "quokka"  # in 3 tickets at every size: an error code, an order number
UNCOMMON = "wombat"  # in 1 ticket of every 5,000: its answer grows with the desk
RARE_AT = (0.1, 0.5, 0.9)  # where the rare word's tickets sit among the ids
GENERATOR = 2  # bump when the generated data changes (invalidates cached files)
STATUSES = [  # (status, share) for the standard workflow
    ("new", 0.05), ("open", 0.15), ("pending", 0.10), ("on_hold", 0.05),
    ("solved", 0.15), ("closed", 0.50),
]
STALE_SHARE = 0.10  # of all tickets: solved, idle for more than 14 days
PRIORITIES = [("low", 0.2), ("normal", 0.6), ("high", 0.15), ("urgent", 0.05)]
CATEGORIES = ["printing", "network", "email", "vpn", "laptop", "phone", "accounts",
              "billing", "storage", "backup", "security", "software"]
AGENTS = 20
DAY = 86400


# -- the data ------------------------------------------------------------------------


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Help-desk words first, then made-up ones; Zipf-like weights (cumulative)."""
    common = (
        "the a to is not and it of my on in i we with for this when after since can "
        "cannot error printer server email login password update screen network "
        "connection file access laptop phone vpn office again still working works "
        "problem issue today yesterday morning users account message window open "
        "start restart install version windows mac linux browser page shows get"
    ).split()
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "po", "si", "ve", "do", "ga", "zi",
                 "fe", "mo", "lu", "ri", "sa", "te", "bo", "ni", "pra", "sto", "gle", "tur"]
    words, seen = list(common), set(common) | {COMMON, RARE, UNCOMMON}
    while len(words) < 30_000:
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    total, cum = 0.0, []
    for i in range(len(words)):
        total += 1 / (i + 1) ** 1.07
        cum.append(total)
    return words, cum


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _pick(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    x, acc = rng.random(), 0.0
    for value, share in table:
        acc += share
        if x < acc:
            return value
    return table[-1][0]


@dataclass
class Dataset:
    path: Path
    tickets: int
    stale: int = 0
    rare: int = 0
    uncommon: int = 0
    common: int = 0
    active: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    text_chars: int = 0


def customers_for(n: int) -> int:
    return max(50, n // 10)


def generate(path: Path, n: int, seed: int = 1) -> Dataset:
    """A JSONL export of ``n`` tickets as ``ticketcli export`` writes them (cached)."""
    meta = path.with_suffix(".meta.json")
    if path.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        if (saved.get("tickets") == n and saved.get("seed") == seed
                and saved.get("now") == NOW and saved.get("generator") == GENERATOR):
            for key in ("seed", "now", "generator"):
                saved.pop(key)
            return Dataset(path=path, **{k: v for k, v in saved.items() if k != "path"})
    data = _generate(path, n, seed)
    fields = {k: v for k, v in vars(data).items() if k != "path"}
    meta.write_text(json.dumps({**fields, "seed": seed, "now": NOW, "generator": GENERATOR}))
    return data


def _generate(path: Path, n: int, seed: int) -> Dataset:
    rng = random.Random(seed)
    words, cum = _vocabulary(rng)
    import calendar

    now = calendar.timegm(time.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ"))
    orgs = max(5, n // 2000)
    customers = customers_for(n)
    data = Dataset(path, n)
    stale_every = round(1 / STALE_SHARE)
    rare_ids = {max(1, round(n * at)) for at in RARE_AT}
    with open(path, "w", encoding="utf-8") as out:
        w = out.write
        w(json.dumps({"type": "ticketcli-export", "version": 1, "exported_at": NOW,
                      "workflow": "standard", "by": ADMIN}) + "\n")
        for o in range(orgs):
            w(json.dumps({"type": "org", "name": f"Org {o:05d}", "manager": None,
                          "created_at": _stamp(now - 800 * DAY)}) + "\n")
        w(json.dumps({"type": "user", "email": ADMIN, "name": "Bench Admin", "role": "admin",
                      "organization": None, "created_at": _stamp(now - 800 * DAY)}) + "\n")
        for a in range(AGENTS):
            w(json.dumps({"type": "user", "email": f"agent{a}@bench.example",
                          "name": f"Agent {a}", "role": "agent", "organization": None,
                          "created_at": _stamp(now - 800 * DAY)}) + "\n")
        for c in range(customers):
            w(json.dumps({"type": "user", "email": f"customer{c}@bench.example",
                          "name": f"Customer {c}", "role": "customer",
                          "organization": f"Org {c % orgs:05d}",
                          "created_at": _stamp(now - 800 * DAY)}) + "\n")
        for i in range(1, n + 1):
            # Stale tickets are spread evenly through the ids, like real ones.
            stale = i % stale_every == 3
            status = "solved" if stale else _pick(rng, STATUSES)
            if status == "solved" and not stale:
                status = "open" if rng.random() < 0.5 else "solved"
            created = now - 730 * DAY * (1 - i / (n + 1)) - rng.random() * DAY
            if stale:
                created = min(created, now - 20 * DAY - rng.random() * DAY)
                changed = min(created + rng.random() * 3 * DAY, now - 15 * DAY)
            elif status == "solved":
                changed = now - rng.random() * 10 * DAY  # solved recently: not stale yet
            else:
                changed = created + rng.random() * 5 * DAY
            changed = max(changed, created)
            title = " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(4, 9)))
            body = rng.choices(words, cum_weights=cum, k=rng.randint(35, 75))
            if rng.random() < 0.85:
                body.insert(rng.randrange(len(body)), COMMON)
            if i in rare_ids:
                body.insert(rng.randrange(len(body)), RARE)
                data.rare += 1
            if i % 5000 == 17:
                body.insert(rng.randrange(len(body)), UNCOMMON)
                data.uncommon += 1
            description = " ".join(body).capitalize() + "."
            if COMMON in body:
                data.common += 1
            customer = rng.randrange(customers)
            assignee = (f"agent{rng.randrange(AGENTS)}@bench.example"
                        if status != "new" and rng.random() < 0.9 else None)
            history: list[dict[str, Any]] = [
                {"at": _stamp(created), "actor": f"customer{customer}@bench.example",
                 "event": "opened", "from": None, "to": "new", "detail": {}}
            ]
            if status != "new":
                history.append({"at": _stamp(changed), "actor": assignee or ADMIN,
                                "event": "status", "from": "new", "to": status, "detail": {}})
            record = {
                "type": "ticket", "id": i, "title": title, "description": description,
                "status": status, "priority": _pick(rng, PRIORITIES),
                "category": rng.choice(CATEGORIES) if rng.random() < 0.7 else None,
                "requester": f"customer{customer}@bench.example", "assignee": assignee,
                "organization": f"Org {customer % orgs:05d}", "resolution": None,
                "follow_up_of": None, "fields": {},
                "created_at": _stamp(created), "updated_at": _stamp(changed),
                "status_changed_at": _stamp(changed), "activity_at": _stamp(changed),
                "participants": [], "comments": [], "attachments": [], "history": history,
            }
            w(json.dumps(record) + "\n")
            data.stale += stale
            data.by_status[status] = data.by_status.get(status, 0) + 1
            data.text_chars += len(title) + len(description)
    data.active = sum(v for k, v in data.by_status.items() if k != "closed")
    return data


# -- running ticketcli -----------------------------------------------------------------


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("ticketcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ticketcli"]


def run(args: Sequence[str], *, env: dict[str, str] | None = None,
        stdin: Any = None) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    done = subprocess.run(list(args), capture_output=True, env=env, stdin=stdin, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stderr.decode(errors='replace')}")
    return elapsed, done


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


def ticketcli(db: Path, *args: str) -> list[str]:
    return [*cli_command(), "--db", str(db), *args]


def build(db: Path, data: Dataset) -> float:
    """A new desk with ``data`` imported; returns the import's wall time."""
    remove_database(db)
    env = base_env()
    run(ticketcli(db, "init"), env=env)
    with open(data.path, "rb") as fh:
        elapsed, _ = run(ticketcli(db, "import", "-"), env=env, stdin=fh)
    return elapsed


FLOOR_UP_TO = 200_000  # the database's share of an import is measured up to this size


def import_floor(data: Dataset, work: Path, reps: int) -> tuple[list[float], bool]:
    """The database's share of an import: wall times of the same rows going through
    the same import session (one transaction, full text, indexes, statistics, commit)
    with nothing read, parsed, checked or looked up.

    The rows are recorded from a real import in this process, onto a desk that
    already holds the file's people (so that their ids are the same); each timed
    run replays them onto a fresh copy of that desk.
    """
    import gc

    from ticketcli.store import Store
    from ticketcli.store.bulk import session as bulk

    people = work / "floor-people.db"
    remove_database(people)
    env = base_env()
    run(ticketcli(people, "init"), env=env)
    head = work / "floor-people.jsonl"
    with open(data.path, "rb") as fh, open(head, "wb") as out:
        out.writelines(line for line in fh if not line.startswith(b'{"type": "ticket"'))
    run(ticketcli(people, "import", str(head)), env=env)
    store = Store.open(people)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()

    copy = work / "floor.db"
    batches: list[dict[str, Any]] = []
    replay = bulk.ImportSession.insert

    def recording(self: Any, **rows: Any) -> None:
        batches.append(rows)
        replay(self, **rows)

    def fresh() -> Path:
        remove_database(copy)
        shutil.copyfile(people, copy)
        os.chmod(copy, 0o600)
        return copy

    bulk.ImportSession.insert = recording  # type: ignore[method-assign]
    try:
        InProcess(fresh())("import", str(data.path))
    finally:
        bulk.ImportSession.insert = replay  # type: ignore[method-assign]
    expected = _summary(copy)
    same = True
    times = []
    for _ in range(reps):
        store = Store.open(fresh())
        collecting = gc.isenabled()
        gc.disable()  # as import does
        try:
            start = time.perf_counter()
            with bulk.import_session(store) as session:
                for rows in batches:
                    session.insert(**rows)
            times.append(time.perf_counter() - start)
        finally:
            if collecting:
                gc.enable()
            store.close()
        same = same and _summary(copy) == expected
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


class InProcess:
    """The real CLI, run inside this process: no interpreter start-up in the figures."""

    def __init__(self, db: Path) -> None:
        from ticketcli.cli import app

        self.app = app
        self.db = db
        self.sql: list[str] = []

    def __call__(self, *args: str, trace: bool = False) -> str:
        out, err = io.StringIO(), io.StringIO()
        argv = ["--db", str(self.db), "--as", ADMIN, *args]
        restore = None
        if trace:
            from ticketcli import store as store_module

            opener = store_module.Store.open
            self.sql.clear()

            def traced(*a: Any, **k: Any) -> Any:
                s = opener(*a, **k)
                s.conn.set_trace_callback(self.sql.append)
                return s

            store_module.Store.open = traced  # type: ignore[method-assign]
            restore = (store_module.Store, opener)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    self.app(argv, prog_name="ticketcli")
                except SystemExit as e:
                    if e.code not in (0, None):
                        raise RuntimeError(
                            f"ticketcli {' '.join(args)}: {err.getvalue()}") from None
        finally:
            if restore is not None:
                restore[0].open = restore[1]  # type: ignore[method-assign]
        return out.getvalue()


class StoreClock:
    """Time spent inside the store's query methods: a command's query time."""

    METHODS = (("tickets", "TicketSQL", ("ticket", "can_see", "comments", "attachments",
                                         "history", "participants")),
               ("listing", "ListingSQL", ("list_tickets", "count_matching")),
               ("people", "PeopleSQL", ("user_by_email", "org_by_name")))

    def __init__(self) -> None:
        self.spent = 0.0
        self._depth = 0
        self._saved: dict[tuple[Any, str], Any] = {}

    def __enter__(self) -> StoreClock:
        import importlib

        for module, cls_name, names in self.METHODS:
            cls = getattr(importlib.import_module(f"ticketcli.store.{module}"), cls_name)
            for name in names:
                self._wrap(cls, name)
        return self

    def _wrap(self, cls: Any, name: str) -> None:
        original = getattr(cls, name)
        self._saved[(cls, name)] = original
        if True:

            def timed_method(*a: Any, _original: Any = original, **k: Any) -> Any:
                self._depth += 1
                start = time.perf_counter()
                try:
                    return _original(*a, **k)
                finally:
                    self._depth -= 1
                    if self._depth == 0:
                        self.spent += time.perf_counter() - start

            setattr(cls, name, timed_method)

    def __exit__(self, *exc: object) -> None:
        for (cls, name), original in self._saved.items():
            setattr(cls, name, original)


def interleaved(fn: Callable[[int], Any], sizes: list[int], reps: int,
                clock: StoreClock) -> dict[int, tuple[list[float], list[float]]]:
    """Wall and query times of ``fn(size)`` for each size, the sizes taken in turn."""
    for n in sizes:
        fn(n)  # warm-up (page cache, statement cache)
    out: dict[int, tuple[list[float], list[float]]] = {n: ([], []) for n in sizes}
    for _ in range(reps):
        for n in sizes:
            clock.spent = 0.0
            start = time.perf_counter()
            fn(n)
            out[n][0].append(time.perf_counter() - start)
            out[n][1].append(clock.spent)
    return out


# -- close-stale in a child process, with every write transaction timed ---------------

# Each transaction is timed from the moment BEGIN IMMEDIATE holds the lock to
# the end of COMMIT, without the checkpoint SQLite may run right after a commit
# (it does not hold the write lock), which the timed run defers to the end.
_STALE_CHILD = r"""
import json, os, resource, sys, time
from contextlib import contextmanager
from ticketcli import store as s
spans = []
original = s.Store.write
opener = s.Store.open
@contextmanager
def write(self):
    with original(self) as st:
        start = time.perf_counter()
        yield st
    spans.append(time.perf_counter() - start)
def open_(*a, **k):
    st = opener(*a, **k)
    st.conn.execute("PRAGMA wal_autocheckpoint = 0")
    return st
s.Store.write = write
s.Store.open = open_
def peak_kib():
    # This process's own peak: ru_maxrss also counts the parent's memory at the
    # fork, which Linux carries over an exec.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def report():
    with open(os.environ["BENCH_REPORT"], "w") as fh:
        json.dump({"longest": max(spans, default=0.0), "transactions": len(spans),
                   "maxrss_kib": peak_kib()}, fh)
import atexit
atexit.register(report)
from ticketcli.__main__ import main
sys.argv = ["ticketcli", *sys.argv[1:]]
main()
"""


class LockProbe(threading.Thread):
    """Another writer, as a concurrent ``ticketcli comment`` would be: it takes the
    write lock again and again the way ticketcli's commands do (``Store.write``),
    and notes its longest wait."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.longest = 0.0
        self.halt = threading.Event()

    def run(self) -> None:
        from ticketcli.store import Store

        store = Store.open(self.db, busy_timeout=60)
        try:
            while not self.halt.is_set():
                start = time.perf_counter()
                with store.write():
                    self.longest = max(self.longest, time.perf_counter() - start)
                time.sleep(0.005)
        finally:
            store.close()


def close_stale(db: Path, work: Path) -> dict[str, float]:
    copy = work / "stale-copy.db"
    remove_database(copy)
    shutil.copyfile(db, copy)
    # A cron job meets a file at rest: the copy's write-back must not land in the run
    # (it made a batch stall for tens of milliseconds now and then).
    os.sync()
    report = work / "stale-report.json"
    env = base_env()
    env["BENCH_REPORT"] = str(report)
    probe = LockProbe(copy)
    probe.start()
    try:
        elapsed, done = run([sys.executable, "-c", _STALE_CHILD, "--db", str(copy),
                             "close-stale", "--now", NOW, "--format", "ids"], env=env)
    finally:
        probe.halt.set()
        probe.join()
    figures = json.loads(report.read_text())
    figures["wall"] = elapsed
    figures["waited"] = probe.longest
    figures["closed"] = len(done.stdout.split())
    remove_database(copy)
    return {k: float(v) for k, v in figures.items()}


# -- figures ------------------------------------------------------------------------------


@dataclass
class Figure:
    samples: list[float]
    unit: str = "ms"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def text(self) -> str:
        scale = 1000.0 if self.unit == "ms" else 1.0
        m = self.median * scale
        lo, hi = min(self.samples) * scale, max(self.samples) * scale
        fmt = _num
        if len(self.samples) == 1:
            return f"{fmt(m)} {self.unit}"
        return f"{fmt(m)} {self.unit} ({fmt(lo)}-{fmt(hi)})"


def _num(x: float) -> str:
    if x >= 100_000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


@dataclass
class Row:
    name: str
    target: str
    cells: dict[int, str] = field(default_factory=dict)
    verdict: str = ""


def _days_ago(days: int) -> str:
    import calendar

    moment = calendar.timegm(time.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ")) - days * DAY
    return time.strftime("%Y-%m-%d", time.gmtime(moment))


def _query_target(name: str, target: str) -> str:
    if COMMON in name:
        return target + "; < 50 ms"
    if UNCOMMON in name:  # 2 tickets at 10k, a full page at 1M: not the same query
        return "none (the answer grows)"
    return target


LIST_QUERIES: list[tuple[str, list[str]]] = [
    ("list (active, newest first)", []),
    ("list --limit 20", ["--limit", "20"]),
    ("list --all", ["--all"]),
    ("list --status pending", ["--status", "pending"]),
    ("list --phase solved", ["--phase", "solved"]),
    ("list --priority urgent", ["--priority", "urgent"]),
    ("list --requester R", ["--requester", "customer7@bench.example"]),
    ("list --assignee A", ["--assignee", "agent3@bench.example"]),
    ("list --org O", ["--org", "Org 00003"]),
    ("list --category vpn", ["--category", "vpn"]),
    ("list --created-since (last 30 days)", ["--created-since", _days_ago(30)]),
    ("list --updated-before (a year ago)", ["--all", "--updated-before", _days_ago(365)]),
    ("list --stale", ["--stale"]),
    ("list --sort updated_at", ["--sort", "updated_at"]),
    ("list --sort -priority", ["--sort=-priority"]),
    ("list --sort title", ["--sort", "title"]),
    ("list --count", ["--count"]),
    (f"list --search {RARE} (rare)", ["--all", "--search", RARE]),
    (f"list --search {UNCOMMON} (1 in 5,000)", ["--all", "--search", UNCOMMON]),
    (f"list --search {COMMON} (common)", ["--search", COMMON]),
    (f"list --all --search {COMMON} --limit 20", ["--all", "--search", COMMON, "--limit", "20"]),
]


class Bench:
    def __init__(self, sizes: list[int], reps: int, work: Path, out: Any) -> None:
        self.sizes = sizes
        self.reps = reps
        self.work = work
        self.out = out
        self.rows: dict[str, Row] = {}
        self.commands: dict[str, Row] = {}  # whole in-process command times
        self.raw: dict[str, dict[int, Figure]] = {}
        self.plans: dict[str, str] = {}
        self.checks: list[str] = []
        self.desks: dict[int, tuple[Path, Dataset]] = {}  # built, for the queries

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def row(self, name: str, target: str) -> Row:
        if name not in self.rows:
            self.rows[name] = Row(name, target)
        return self.rows[name]

    def put(self, name: str, target: str, size: int, fig: Figure) -> None:
        self.row(name, target).cells[size] = fig.text()
        self.raw.setdefault(name, {})[size] = fig

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise SystemExit(f"bench check failed: {what}")
        self.checks.append(what)

    # -- the steps -----------------------------------------------------------------

    def startup(self) -> None:
        data = generate(self.work / "small.jsonl", 200)
        db = self.work / "small.db"
        build(db, data)
        env = base_env()
        reps = max(self.reps * 4, 5)

        def wall(args: list[str]) -> Figure:
            run(args, env=env)
            return Figure([run(args, env=env)[0] for _ in range(reps)])

        bare = wall([sys.executable, "-c", "import sqlite3"])
        show = wall(ticketcli(db, "show", "7"))
        listing = wall(ticketcli(db, "list", "--limit", "20"))
        # A write scripts loop over: each run adds a comment to an active ticket.
        active = run(ticketcli(db, "list", "--limit", "1", "--format", "ids"), env=env)[1]
        replying = wall(ticketcli(db, "comment", active.stdout.decode().strip(), "Any news?"))
        limit = bare.median * 4
        for name, fig in (("start-up: python -c 'import sqlite3'", bare),
                          ("start-up: ticketcli show ID", show),
                          ("start-up: ticketcli list --limit 20", listing),
                          ("start-up: ticketcli comment ID TEXT", replying)):
            r = self.row(name, "baseline" if fig is bare else f"< 4x baseline "
                         f"({limit * 1000:.0f} ms)")
            r.cells[0] = fig.text()
            if fig is not bare:
                r.verdict = _verdict(fig.median <= limit, f"{fig.median / bare.median:.1f}x")

    def size(self, n: int) -> None:
        data = generate(self.work / f"bench-{n}.jsonl", n)
        self.say(f"[{n}] file ready: {data.text_chars / n:.0f} characters of title and "
                 "description per ticket")
        db = self.work / f"bench-{n}.db"
        import_reps = max(1, self.reps if n < 500_000 else min(self.reps, 2))
        times = [build(db, data) for _ in range(import_reps)]
        rate = Figure([n / t for t in times], unit="tickets/s")
        self.put("import rate (no comments)", ">= 50,000 tickets/s", n, rate)
        self.say(f"[{n}] import: {rate.text()}")
        if n <= FLOOR_UP_TO:
            times, same = import_floor(data, self.work, import_reps)
            self.check(same, f"[{n}] the import's rows replayed give the same desk")
            floor = Figure([n / t for t in times], unit="tickets/s")
            self.put("  the database's share alone", "none (a ceiling for the rate above)",
                     n, floor)
            self.say(f"[{n}] import, the database's share alone: {floor.text()}")
        self.verify(db, data)
        self.measure_size(db, n)
        self.desks[n] = (db, data)
        stale = [close_stale(db, self.work) for _ in range(max(1, min(self.reps, 3)))]
        for s in stale:
            self.check(s["closed"] == data.stale,
                       f"[{n}] close-stale closed {s['closed']} of {data.stale} stale tickets")
        self.put("close-stale: total time", "< 10 s at 1M (100k stale)", n,
                 Figure([s["wall"] for s in stale], unit="s"))
        self.put("close-stale: longest write transaction", "< 50 ms", n,
                 Figure([s["longest"] for s in stale]))
        self.put("close-stale: longest wait of another writer", "< 50 ms", n,
                 Figure([s["waited"] for s in stale]))
        self.put("close-stale: peak memory", "< 100 MB", n,
                 Figure([s["maxrss_kib"] / 1024 for s in stale], unit="MB"))
        self.say(f"[{n}] close-stale: {Figure([s['wall'] for s in stale], unit='s').text()}")
        if n <= 20_000:
            self.round_trip(db, n)

    def verify(self, db: Path, data: Dataset) -> None:
        with sqlite3.connect(db) as conn:
            count = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
            fts = conn.execute(
                "SELECT count(*) FROM tickets_fts WHERE tickets_fts MATCH ?", (RARE,)
            ).fetchone()[0]
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
        conn.close()
        self.check(count == data.tickets, f"[{data.tickets}] imported {count} tickets")
        self.check(fts == data.rare, f"[{data.tickets}] full-text index finds {fts} "
                   f"'{RARE}' tickets")
        self.check(integrity == "ok", f"[{data.tickets}] quick_check {integrity}")

    def measure_size(self, db: Path, n: int) -> None:
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = dict(conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        finally:
            conn.close()
        total = os.path.getsize(db)
        fts = sum(v for k, v in pages.items() if "_fts" in k)
        per = Figure([total / n], unit="B")
        self.put("size per ticket (FTS included)", "< 1,024 B", n, per)
        self.put("  of which full-text index", "", n, Figure([fts / n], unit="B"))
        self.say(f"[{n}] size: {total / n:.0f} B/ticket")

    def queries(self) -> None:
        """show, list and search on every desk built, interleaved: each run of a row goes
        round the sizes in turn, so that a machine getting busier or quieter over the
        minutes the rows take weighs on every size alike."""
        clis = {n: InProcess(db) for n, (db, _) in self.desks.items()}
        # Ten runs a rep: a query takes milliseconds, and its median moves by tenths of
        # one from run to run on a shared machine (one rep, the smoke run: three).
        reps = self.reps * 10 if self.reps > 1 else 3
        shown = {}
        for n, cli in clis.items():
            ids = random.Random(n).sample(range(1, n + 1), min(reps + 1, n))
            shown[n] = iter(ids * 2)
            got = json.loads(cli("show", str(ids[0]), "--format", "json"))
            self.check(got["id"] == ids[0], f"[{n}] show {ids[0]}")
        target = "1M within 1.5x of 10k"
        largest = max(self.sizes)
        with StoreClock() as clock:
            def show_one(n: int) -> str:
                return clis[n]("show", str(next(shown[n])), "--format", "json")

            def listing(args: list[str]) -> Callable[[int], str]:
                return lambda n: clis[n]("list", *args, "--format", "json")

            rows: list[tuple[str, str, Callable[[int], Any]]] = [("show ID", target, show_one)]
            rows += [(name, _query_target(name, target), listing(args))
                     for name, args in LIST_QUERIES]
            for name, row_target, fn in rows:
                for n, (whole, query) in interleaved(fn, list(clis), reps, clock).items():
                    self.put(name, row_target, n, Figure(query))
                    self.commands.setdefault(name, Row(name, "")).cells[n] = \
                        Figure(whole).text()
            for name, args in LIST_QUERIES:
                self.plans.setdefault(name, "")
                if largest in clis:
                    clis[largest]("list", *args, "--format", "json", trace=True)
                    self.plans[name] = self.plan(self.desks[largest][0], clis[largest].sql)
        for n, cli in clis.items():
            data = self.desks[n][1]
            rare = json.loads(cli("list", "--all", "--search", RARE, "--limit", "0",
                                  "--format", "json"))
            self.check(len(rare) == data.rare,
                       f"[{n}] search {RARE} finds {len(rare)} tickets")
            some = json.loads(cli("list", "--all", "--search", UNCOMMON, "--limit", "0",
                                  "--format", "json"))
            self.check(len(some) == data.uncommon,
                       f"[{n}] search {UNCOMMON} finds {len(some)} tickets")
            active = int(cli("list", "--count"))
            self.check(active == data.active,
                       f"[{n}] list --count gives {active} active tickets")
            stale = int(cli("list", "--stale", "--count"))
            self.check(stale == data.stale, f"[{n}] list --stale --count gives {stale}")
        self.say("queries done")

    @staticmethod
    def plan(db: Path, statements: list[str]) -> str:
        """EXPLAIN QUERY PLAN of the slowest-looking statement: the one over tickets."""
        chosen = [s for s in statements if "FROM tickets t" in s]
        if not chosen:
            return ""
        sql = chosen[-1]
        conn = sqlite3.connect(db)
        try:
            rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        finally:
            conn.close()
        return "\n".join(f"    {'  ' * (r[1] > 0)}{r[3]}" for r in rows)

    def round_trip(self, db: Path, n: int) -> None:
        env = base_env()
        _, first = run(ticketcli(db, "export"), env=env)
        copy = self.work / "round-trip.db"
        remove_database(copy)
        run(ticketcli(copy, "init"), env=env)
        path = self.work / "round-trip.jsonl"
        path.write_bytes(first.stdout)
        with open(path, "rb") as fh:
            run(ticketcli(copy, "import", "-"), env=env, stdin=fh)
        _, second = run(ticketcli(copy, "export"), env=env)

        def tickets(raw: bytes) -> list[str]:
            return [line for line in raw.decode().splitlines() if '"type": "ticket"' in line]

        self.check(tickets(first.stdout) == tickets(second.stdout),
                   f"[{n}] export -> import -> export gives the same {n} tickets")

    # -- the table ---------------------------------------------------------------------

    def finish(self) -> None:
        smallest, largest = min(self.sizes), max(self.sizes)
        for name, figs in self.raw.items():
            row = self.rows[name]
            if name.startswith(("show", "list")) and UNCOMMON not in name \
                    and smallest in figs and largest in figs and largest > smallest:
                ratio = figs[largest].median / figs[smallest].median
                ok = ratio <= 1.5
                if COMMON in name:
                    ok = ok and figs[largest].median <= 0.050
                row.verdict = _verdict(ok, f"{ratio:.2f}x")
            elif name.startswith("import rate"):
                row.verdict = _verdict(figs[largest].median >= 50_000, "")
            elif name.startswith("size per"):
                row.verdict = _verdict(max(f.median for f in figs.values()) < 1024, "")
            elif name.startswith("close-stale: total") and largest >= 1_000_000:
                row.verdict = _verdict(figs[largest].median < 10, "")
            elif name.startswith("close-stale: longest"):
                row.verdict = _verdict(max(max(f.samples) for f in figs.values()) < 0.050, "")
            elif name.startswith("close-stale: peak"):
                row.verdict = _verdict(max(max(f.samples) for f in figs.values()) < 100, "")
        self.print_table()

    def print_table(self) -> None:
        headers = ["measure", *(_size_name(s) for s in self.sizes), "target", "verdict"]
        lines = []
        for r in self.rows.values():
            cells = [r.cells.get(s, "") for s in self.sizes]
            if 0 in r.cells:  # measured once, on a small desk
                cells[0] = r.cells[0]
            lines.append([r.name, *cells, r.target, r.verdict])
        widths = [max(len(x[i]) for x in [headers, *lines]) for i in range(len(headers))]

        def fmt(cells: list[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) \
                + " |"

        print(fmt(headers), file=self.out)
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=self.out)
        for line in lines:
            print(fmt(line), file=self.out)
        print(file=self.out)
        print("show and list rows are query time: the time spent in the store's queries "
              "during the command.", file=self.out)
        print(f"Medians of repeated runs, (min-max) beside them; {len(self.checks)} "
              "correctness checks passed.", file=self.out)
        print("\nThe same commands whole, in-process (parse, open, query, render JSON):",
              file=self.out)
        names = list(self.commands)
        width = max(len(x) for x in ["command", *names])
        cols = [_size_name(s) for s in self.sizes]
        cw = [max([len(c), *(len(self.commands[r].cells.get(s, "")) for r in names)])
              for c, s in zip(cols, self.sizes, strict=True)]
        print("| " + "command".ljust(width) + " | "
              + " | ".join(c.ljust(w) for c, w in zip(cols, cw, strict=True)) + " |",
              file=self.out)
        print("|" + "-" * (width + 2) + "|" + "|".join("-" * (w + 2) for w in cw) + "|",
              file=self.out)
        for command in names:
            cells = [self.commands[command].cells.get(s, "").ljust(w)
                     for s, w in zip(self.sizes, cw, strict=True)]
            print("| " + command.ljust(width) + " | " + " | ".join(cells) + " |",
                  file=self.out)
        slow = [name for name, r in self.rows.items() if r.verdict.startswith("MISS")
                and self.plans.get(name)]
        if slow:
            print(f"\nQuery plans at {_size_name(max(self.sizes))} of the rows that miss:",
                  file=self.out)
            for name in slow:
                print(f"  {name}:\n{self.plans[name]}", file=self.out)


def _verdict(ok: bool, detail: str) -> str:
    return ("ok" if ok else "MISS") + (f" ({detail})" if detail else "")


def _size_name(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def main(argv: Sequence[str] | None = None, out: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated ticket counts (default: 10000,100000,1000000)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default: 3)")
    parser.add_argument("--workdir", help="where to build the desks (default: a temp dir, "
                        "removed afterwards)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    out = out or sys.stdout
    if args.workdir:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
        keep: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    else:
        keep = tempfile.TemporaryDirectory(prefix="ticketcli-bench-")
        work = Path(keep.name)
    with keep:
        bench = Bench(sizes, max(1, args.reps), work, out)
        bench.startup()
        for n in sizes:
            bench.size(n)
        bench.queries()
        bench.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
