"""Many real processes on one database file: nothing lost, nothing doubled, no lock errors.

The workers are separate OS processes. To keep start-up cheap, each one imports
ticketcli once and then runs many commands in-process through the same click
command that ``python -m ticketcli`` runs (its error boundary and exit codes
included); one close-stale loop forks a real ``python -m ticketcli`` per run.
Every worker writes a JSON line per command (arguments, exit code, stdout,
stderr), and the test checks those reports against the database with sqlite3.

Another process holding the write lock (a python subprocess in BEGIN IMMEDIATE)
checks the busy path: past TICKETCLI_BUSY_TIMEOUT a write exits 75 with one line
and writes nothing; a shorter lock, or close-stale's short batches, are waited for.

The invariant checker and the worker entry point are shared with test_crash.py.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, ROOT, make_desk, run_cli

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
FAR_FUTURE = "2099-01-01T00:00:00Z"  # every solved ticket is stale by then
OLD = "2020-01-01T00:00:00Z"
STAFF = {ADMIN, AGENT}

# The standard preset, as the checks below need it.
PHASE = {"new": "new", "open": "open", "pending": "pending", "on_hold": "hold",
         "solved": "solved", "closed": "closed"}
AGENT_TARGETS = {
    "new": ["open", "pending", "on_hold", "solved", "solved", "closed"],
    "open": ["pending", "on_hold", "solved", "solved", "solved", "closed"],
    "pending": ["open", "on_hold", "solved", "solved", "closed"],
    "on_hold": ["open", "pending", "solved", "solved", "closed"],
    "solved": ["open", "open", "open", "closed"],
}
# Exit codes each command may legitimately end with while others work on the same tickets.
ALLOWED_RC = {"open": {0}, "show": {0}, "list": {0}, "share": {0, 5}, "close-stale": {0},
              "comment": {0, 5}, "set-status": {0, 5}}
CHANGE_LINE = re.compile(r"Ticket (\d+): (\S+) → (\S+)\.")


# -- setup through ticketcli's own API --------------------------------------------------------


def seed_tickets(db: Path, count: int, *, status: str = "solved", requester: str = CUSTOMER,
                 now: str = OLD, title: str = "seed") -> list[int]:
    """Open ``count`` tickets in-process (fast), each moved to ``status`` by the admin."""
    from ticketcli.desk import tickets as uc
    from ticketcli.store import Store

    store = Store.open(db)
    try:
        # This connection only: skip fsyncs while seeding; the CLI processes keep FULL.
        store.conn.execute("PRAGMA synchronous = OFF")
        admin = store.people.user_by_email(ADMIN)
        assert admin is not None
        ids = []
        for i in range(count):
            tid = uc.open_ticket(store, admin, now, title=f"{title} {i}", body="",
                                 priority=None, category=None, requester=requester,
                                 fields={}, files=[], follow_up=None)
            if status != "new":
                uc.set_status(store, admin, now, tid, status, resolution=None, note=None)
            ids.append(tid)
        return ids
    finally:
        store.close()


def connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(db), isolation_level=None, timeout=30)


def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with closing(connect(db)) as c:
        return c.execute(sql, params).fetchall()


def max_history_id(db: Path) -> int:
    return int(query(db, "SELECT coalesce(max(id), 0) FROM history")[0][0])


def ids_in_status(db: Path, status: str) -> set[int]:
    return {r[0] for r in query(db, "SELECT id FROM tickets WHERE status = ?", (status,))}


# -- worker processes ---------------------------------------------------------------------------


def worker_main(spec_path: str) -> None:
    """Entry point of a worker process; see :func:`spawn`."""
    spec = json.loads(Path(spec_path).read_text())
    from typer.main import get_command

    from ticketcli.cli import app

    # What `python -m ticketcli` runs, built once (Typer's CliRunner rebuilds it every call).
    command = get_command(app)
    rng = random.Random(spec["seed"])
    name, db, actor = spec["name"], spec["db"], spec["actor"]
    fd = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    counter = iter(range(10**9))

    def log(**record: Any) -> None:
        record["w"] = name
        record["t"] = time.time()
        os.write(fd, (json.dumps(record) + "\n").encode())

    def cli(*args: str, **extra: Any) -> tuple[int, str, str]:
        argv = ["--db", db, "--as", actor, *args]
        began = time.time()
        if spec.get("subprocess"):
            proc = subprocess.run([sys.executable, "-m", "ticketcli", *argv],
                                  capture_output=True, text=True, timeout=120)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        else:
            out_buf, err_buf = io.StringIO(), io.StringIO()
            with redirect_stdout(out_buf), redirect_stderr(err_buf):
                try:
                    command.main(args=argv, prog_name="ticketcli")
                    rc = 0
                except SystemExit as e:
                    rc = e.code if isinstance(e.code, int) else int(e.code is not None)
            out, err = out_buf.getvalue(), err_buf.getvalue()
        log(op=args[0], args=list(args), rc=rc, out=out, err=err, actor=actor,
            began=began, **extra)
        return rc, out, err

    def token() -> str:
        return f"{name}-{next(counter)}-{rng.randrange(16**8):08x}"

    def current_status(tid: int) -> str | None:
        rc, out, _ = cli("show", str(tid), "--format", "json")
        return str(json.loads(out)["status"]) if rc == 0 else None

    os.environ.update(spec.get("env", {}))
    pool: list[int] = list(spec.get("tickets", []))
    staff = actor in STAFF
    runs_stale = spec.get("close_stale", True)  # whether mixed work includes close-stale

    def mixed_op() -> None:
        r = rng.random()
        if r < 0.18 or not pool:
            title = token()
            args = ["open", title] + (["--requester", CUSTOMER] if staff else [])
            rc, out, _ = cli(*args, token=title)
            if rc == 0:
                pool.append(int(out.strip()))
            return
        tid = rng.choice(pool)
        if r < 0.48:  # a status change guarded by --if-status
            cur = current_status(tid)
            if cur is None or cur == "closed" or (not staff and cur != "solved"):
                return
            target = rng.choice(AGENT_TARGETS[cur]) if staff else "closed"
            note = token()
            cli("set-status", str(tid), target, "--if-status", cur, "--note", note,
                ticket=tid, token=note, if_status=cur, target=target)
        elif r < 0.76:  # a reply or an internal note, sometimes with a status
            body = token()
            if staff and rng.random() < 0.35:
                cur = current_status(tid)
                if cur is None or cur == "closed":
                    return
                target = rng.choice(AGENT_TARGETS[cur])
                cli("comment", str(tid), body, "--status", target, "--if-status", cur,
                    ticket=tid, token=body, if_status=cur, target=target)
            elif staff and rng.random() < 0.5:
                cli("comment", str(tid), body, "--internal", ticket=tid, token=body)
            else:
                cli("comment", str(tid), body, ticket=tid, token=body)
        elif r < 0.86:
            cli("share", str(tid), OTHER, ticket=tid)
        elif r < 0.94 and staff and runs_stale:
            cli("close-stale", "--now", FAR_FUTURE, "--format", "json")
        else:
            cli("list", "--format", "json")

    Path(spec["ready"]).touch()
    go = Path(spec["go"])
    waited = time.monotonic()
    while not go.exists():
        if time.monotonic() - waited > 60:
            raise SystemExit("never got the go signal")
        time.sleep(0.005)
    log(op="_start")
    deadline = time.monotonic() + spec.get("max_seconds", 60)
    stop = Path(spec["stop"]) if spec.get("stop") else None
    kind = spec["kind"]
    if kind == "mixed":
        for _ in range(spec["ops"]):
            if time.monotonic() > deadline:
                break
            mixed_op()
    elif kind == "stale":
        extra = spec.get("stale_args", [])
        while time.monotonic() < deadline and not (stop is not None and stop.exists()):
            cli("close-stale", "--now", FAR_FUTURE, "--format", "json", *extra)
            time.sleep(spec.get("pause", 0.0))
    elif kind == "note":  # staff notes on one ticket, one after another
        while time.monotonic() < deadline and not (stop is not None and stop.exists()):
            body = token()
            cli("comment", str(pool[0]), body, "--internal", ticket=pool[0], token=body)
    elif kind == "reply":
        order = list(pool)
        rng.shuffle(order)
        for tid in order:
            body = token()
            cli("comment", str(tid), body, ticket=tid, token=body)
    log(op="_end")
    os.close(fd)


def spawn(tmp: Path, db: Path, name: str, kind: str, actor: str = ADMIN,
          **spec: Any) -> subprocess.Popen[bytes]:
    """Start a worker process; it touches ``ready`` once imported, then waits for ``go``."""
    spec.update(name=name, kind=kind, db=str(db), actor=actor, log=str(tmp / f"{name}.log"),
                ready=str(tmp / f"{name}.ready"), go=str(spec.get("go", tmp / "go")))
    spec.setdefault("seed", random.randrange(2**32))
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(spec))
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); "
            "import test_concurrency as m; m.worker_main(sys.argv[1])")
    with open(tmp / f"{name}.stderr", "wb") as err:
        return subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)


def start_together(tmp: Path, procs: Sequence[subprocess.Popen[bytes]],
                   names: Sequence[str]) -> None:
    deadline = time.monotonic() + 60
    while not all((tmp / f"{n}.ready").exists() for n in names):
        for n, p in zip(names, procs, strict=True):
            if p.poll() is not None:
                pytest.fail(f"worker {n} died at start-up:\n"
                            + (tmp / f"{n}.stderr").read_text(errors="replace"))
        assert time.monotonic() < deadline, "workers did not start within 60 s"
        time.sleep(0.01)
    (tmp / "go").touch()


def finish(tmp: Path, procs: Sequence[subprocess.Popen[bytes]], names: Sequence[str],
           timeout: float = 90) -> None:
    for n, p in zip(names, procs, strict=True):
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            pytest.fail(f"worker {n} did not finish within {timeout} s")
        assert rc == 0, f"worker {n} exited {rc}:\n" + (tmp / f"{n}.stderr").read_text(
            errors="replace")[-3000:]


def read_logs(tmp: Path, names: Sequence[str]) -> list[dict[str, Any]]:
    records = []
    for n in names:
        path = tmp / f"{n}.log"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # the last line of a worker killed mid-write
    return records


# -- the invariants -------------------------------------------------------------------------------


def check_database(db: Path, records: Sequence[dict[str, Any]], *, baseline: int,
                   exact: bool) -> dict[str, int]:
    """Check every invariant; return counts of what the workers reported.

    ``baseline`` is the largest history id before the workers started. With
    ``exact`` every status change made after it must have been reported by a
    worker (no process was killed, so every success was logged); otherwise
    every reported change must be present (a killed command may have committed
    without reporting).
    """
    problems: list[str] = []
    with closing(connect(db)) as c:
        c.execute("PRAGMA foreign_keys = ON")
        integrity = [r[0] for r in c.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"integrity_check: {integrity[:5]}")
        fk = c.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append(f"foreign_key_check: {fk[:5]}")
        for fts in ("tickets_fts", "comments_fts"):
            try:
                c.execute(f"INSERT INTO {fts}({fts}) VALUES ('integrity-check')")  # noqa: S608
            except sqlite3.Error as e:
                problems.append(f"{fts} integrity-check: {e}")

        # The per-status counts the triggers keep (list --count) match the rows.
        kept = {s: n for s, n in c.execute("SELECT status, n FROM ticket_counts") if n}
        real = dict(c.execute("SELECT status, count(*) FROM tickets GROUP BY status"))
        if kept != real:
            problems.append(f"ticket_counts {kept} but tickets per status {real}")

        tickets = {r[0]: (r[1], r[2], r[3]) for r in
                   c.execute("SELECT id, status, phase, title FROM tickets")}
        chains: dict[int, list[tuple[int, str, str | None, str]]] = defaultdict(list)
        for hid, tid, event, frm, to in c.execute(
            "SELECT id, ticket_id, event, from_status, to_status FROM history "
            "WHERE event IN ('opened', 'status') ORDER BY ticket_id, id"
        ):
            chains[tid].append((hid, event, frm, to))
        for tid, (status, phase, _) in tickets.items():
            if PHASE.get(status) != phase:
                problems.append(f"ticket {tid}: status {status} with phase {phase}")
            chain = chains.get(tid, [])
            if not chain or chain[0][1] != "opened" or chain[0][3] != "new":
                problems.append(f"ticket {tid}: history does not start with 'opened': {chain[:2]}")
                continue
            prev = "new"
            for hid, event, frm, to in chain[1:]:
                if event != "status" or frm != prev:
                    problems.append(f"ticket {tid}: history row {hid} {event} {frm}->{to} "
                                    f"does not follow {prev}")
                prev = to or prev
            if prev != status:
                problems.append(f"ticket {tid}: history ends at {prev}, ticket is {status}")
            closures = sum(1 for row in chain if row[3] == "closed")
            if closures > 1:
                problems.append(f"ticket {tid} was closed {closures} times: {chain}")
        orphans = set(chains) - set(tickets)
        if orphans:
            problems.append(f"history for missing tickets {sorted(orphans)[:5]}")

        # A comment and its history row are written together, never one without the other.
        comment_rows = {r[0]: r[1:] for r in
                        c.execute("SELECT id, ticket_id, body, internal FROM comments")}
        comment_hist = Counter(r[0] for r in c.execute(
            "SELECT json_extract(detail, '$.comment') FROM history "
            "WHERE event IN ('comment', 'note') AND detail IS NOT NULL"))
        for cid in comment_rows:
            if comment_hist.get(cid, 0) != 1:
                problems.append(f"comment {cid} has {comment_hist.get(cid, 0)} history rows")
        stray = set(comment_hist) - set(comment_rows)
        if stray:
            problems.append(f"history rows name missing comments {sorted(stray)[:5]}")
        by_body: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for cid, (tid, body, internal) in comment_rows.items():
            by_body[body].append((cid, tid, internal))

        # Shares: one 'shared' history row per participant (nobody is removed here).
        shared = Counter(c.execute(
            "SELECT h.ticket_id, json_extract(h.detail, '$.user') FROM history h "
            "WHERE h.event = 'shared'").fetchall())
        participants = c.execute(
            "SELECT p.ticket_id, u.email FROM participants p JOIN users u ON u.id = p.user_id"
        ).fetchall()
        for pair in participants:
            if shared.get(pair, 0) != 1:
                problems.append(f"participant {pair} has {shared.get(pair, 0)} 'shared' rows")
        if sum(shared.values()) != len(participants):
            problems.append(f"{sum(shared.values())} 'shared' rows for "
                            f"{len(participants)} participants")
        participant_set = set(participants)

        new_changes = Counter(c.execute(
            "SELECT ticket_id, from_status, to_status FROM history "
            "WHERE event = 'status' AND id > ?", (baseline,)).fetchall())
        history_at = {r[0]: r[1:] for r in c.execute(
            "SELECT id, ticket_id, event, from_status, to_status, detail FROM history "
            "WHERE id > ?", (baseline,))}
        stale_rows = Counter(r[0] for r in c.execute(
            "SELECT ticket_id FROM history WHERE event = 'status' AND id > ? "
            "AND json_extract(detail, '$.reason') = 'stale'", (baseline,)))
        status_rows: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
        for hid, (tid, ev, frm, to, _) in sorted(history_at.items()):
            if ev == "status":
                status_rows[tid].append((hid, frm, to))
        note_hist = {json.loads(d)["comment"]: hid for hid, (_, ev, _, _, d) in history_at.items()
                     if ev in ("comment", "note") and d}

    reported: Counter[tuple[int, str, str]] = Counter()
    stale_reported: Counter[int] = Counter()
    counts: Counter[str] = Counter()
    for rec in records:
        op = rec["op"]
        if op.startswith("_"):
            continue
        rc, out, err = rec["rc"], rec["out"], rec["err"]
        what = f"{rec['w']}: ticketcli {' '.join(rec['args'])} -> exit {rc}, stderr {err!r}"
        if "locked" in err.lower() or "traceback" in (err + out).lower():
            problems.append(f"{what}: lock error or traceback")
        if rc not in ALLOWED_RC[op]:
            problems.append(f"{what}: unexpected exit code")
            continue
        if rc != 0:
            lines = err.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("Error: "):
                problems.append(f"{what}: a failure must be one 'Error: ...' line")
        counts[f"{op}:{rc}"] += 1
        token = rec.get("token")
        change = CHANGE_LINE.search(err) if rc == 0 else None
        if op == "open" and rc == 0:
            tid = int(out.strip())
            if tid not in tickets or tickets[tid][2] != token:
                problems.append(f"{what}: ticket {tid} missing or has another title")
        elif op in ("comment", "set-status"):
            found = by_body.get(token, [])
            tid = rec["ticket"]
            if rc != 0:
                if found:
                    problems.append(f"{what}: refused, yet its text was written: {found}")
                continue
            if len(found) != 1 or found[0][1] != tid:
                problems.append(f"{what}: expected one comment on {tid}, found {found}")
                continue
            cid, _, internal = found[0]
            if op == "set-status":
                if internal != int(rec["actor"] in STAFF):
                    problems.append(f"{what}: note internal={internal}")
                if change is None:
                    problems.append(f"{what}: success without reporting the change")
                    continue
            if "target" in rec:
                if change is None or (change[2], change[3]) != (rec["if_status"], rec["target"]):
                    problems.append(f"{what}: reported {change and change.group(0)}, expected "
                                    f"{rec['if_status']} → {rec['target']}")
                    continue
                # The ticket's next status row after the note's row is this change
                # (written in the same transaction).
                hid = note_hist.get(cid, 0)
                nxt = next((h for h in status_rows.get(tid, []) if h[0] > hid), None)
                if not hid or nxt is None or nxt[1:] != (rec["if_status"], rec["target"]):
                    problems.append(f"{what}: status row after the note is {nxt}")
            elif change is not None and (rec["actor"] in STAFF or change[3] != "open"
                                         or change[2] not in ("pending", "on_hold", "solved")):
                problems.append(f"{what}: a reply moved the ticket {change[2]} → {change[3]}")
            if change is not None:
                if int(change[1]) != tid:
                    problems.append(f"{what}: change names ticket {change[1]}")
                reported[(tid, change[2], change[3])] += 1
                counts["status changes"] += 1
        elif op == "share" and rc == 0:
            if (rec["ticket"], OTHER) not in participant_set:
                problems.append(f"{what}: {OTHER} is not a participant")
        elif op == "close-stale" and rc == 0:
            for row in json.loads(out):
                stale_reported[row["id"]] += 1
                reported[(row["id"], row["from"], row["to"])] += 1
                if (row["from"], row["to"]) != ("solved", "closed"):
                    problems.append(f"{what}: moved {row}")
            counts["stale closures"] += len(json.loads(out))

    doubled = {t: n for t, n in stale_reported.items() if n > 1}
    if doubled:
        problems.append(f"close-stale reported these tickets more than once: {doubled}")
    missing = reported - new_changes
    if missing:
        problems.append(f"reported status changes missing from history: {dict(missing)}")
    missing_stale = stale_reported - stale_rows
    if missing_stale:
        problems.append(f"reported stale closures missing from history: {dict(missing_stale)}")
    if exact:
        unreported = new_changes - reported
        if unreported:
            problems.append(f"status rows nobody reported: {dict(unreported)}")
        extra_stale = stale_rows - stale_reported
        if extra_stale:
            problems.append(f"stale closures nobody reported: {dict(extra_stale)}")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])
    return dict(counts)


# -- holding the write lock from another process -------------------------------------------------

HOLDER = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
if float(sys.argv[2]) > 0:
    time.sleep(float(sys.argv[2]))
else:
    sys.stdin.readline()
c.execute("ROLLBACK")
print("released", flush=True)
"""


@contextmanager
def write_lock(db: Path, seconds: float = 0.0) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the write lock: ``seconds`` long, or until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        if proc.poll() is None and seconds <= 0:
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
        assert proc.wait(timeout=30) == 0


def snapshot(db: Path) -> list[list[tuple[Any, ...]]]:
    return [query(db, f"SELECT * FROM {t} ORDER BY 1, 2")  # noqa: S608
            for t in ("tickets", "comments", "history", "participants", "users")]


# -- the tests -------------------------------------------------------------------------------------


def test_mixed_work_from_many_processes_loses_nothing(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    db = desk.db
    pool = seed_tickets(db, 30, status="solved") + seed_tickets(db, 30, status="new")
    pool += seed_tickets(db, 20, status="pending")
    baseline = max_history_id(db)
    work = tmp_path / "work"
    work.mkdir()
    stop = work / "stop"
    mixed = [(f"agent{i}", AGENT if i % 2 else ADMIN) for i in range(5)]
    mixed += [(f"customer{i}", CUSTOMER) for i in range(3)]
    names, procs = [], []
    for i, (name, actor) in enumerate(mixed):
        procs.append(spawn(work, db, name, "mixed", actor, tickets=pool, ops=40, seed=i,
                           max_seconds=45))
        names.append(name)
    procs.append(spawn(work, db, "cron-fork", "stale", ADMIN, subprocess=True, stop=str(stop),
                       max_seconds=60))
    procs.append(spawn(work, db, "cron-loop", "stale", AGENT, pause=0.05, stop=str(stop),
                       max_seconds=60))
    names += ["cron-fork", "cron-loop"]
    assert len(procs) >= 8
    started = time.monotonic()
    start_together(work, procs, names)
    finish(work, procs[:-2], names[:-2])
    stop.touch()
    finish(work, procs[-2:], names[-2:])
    elapsed = time.monotonic() - started

    records = read_logs(work, names)
    counts = check_database(db, records, baseline=baseline, exact=True)
    ops = [r for r in records if not r["op"].startswith("_")]
    assert len(ops) >= 300, counts
    # The eight mixed workers really ran at the same time.
    spans = {n: [r["t"] for r in records if r["w"] == n and r["op"] in ("_start", "_end")]
             for n in names[:8]}
    assert max(s[0] for s in spans.values()) < min(s[1] for s in spans.values()), spans
    # Both outcomes of the races happened: moves that won and moves that lost.
    assert counts.get("set-status:0", 0) > 0 and counts.get("status changes", 0) > 0, counts
    assert counts.get("stale closures", 0) > 0, counts
    assert elapsed < 60


def test_close_stale_twice_in_a_row_changes_each_ticket_once(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    solved = set(seed_tickets(desk.db, 450, status="solved"))
    seed_tickets(desk.db, 20, status="pending")
    args = ["--db", str(desk.db), "--as", ADMIN, "close-stale", "--now", FAR_FUTURE,
            "--format", "json"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert sorted(r["id"] for r in json.loads(first.stdout)) == sorted(solved)
    history = snapshot(desk.db)
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == []
    assert snapshot(desk.db) == history
    rows = query(desk.db, "SELECT ticket_id, from_status, to_status, detail FROM history "
                          "WHERE event = 'status' AND to_status = 'closed'")
    assert Counter(r[0] for r in rows) == Counter(solved)
    assert all((r[1], r[2], json.loads(r[3])["reason"]) == ("solved", "closed", "stale")
               for r in rows)


def test_concurrent_close_stale_runs_close_each_ticket_once(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    solved = set(seed_tickets(desk.db, 2000, status="solved"))
    others = seed_tickets(desk.db, 30, status="open")
    baseline = max_history_id(desk.db)
    argv = [sys.executable, "-m", "ticketcli", "--db", str(desk.db), "--as", ADMIN,
            "close-stale", "--now", FAR_FUTURE, "--format", "json"]
    runs = []
    # Hold the lock while they start, so that all of them queue for it at the same moment.
    with write_lock(desk.db):
        for i in range(5):
            extra = ["--limit", "700"] if i == 4 else []
            runs.append(subprocess.Popen(argv + extra, cwd=ROOT, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True))
        time.sleep(1.0)
        assert all(p.poll() is None for p in runs), "close-stale did not wait for the lock"
    results = [p.communicate(timeout=60) for p in runs]
    for p, (_, err) in zip(runs, results, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err.lower()
    reported = [row["id"] for out, _ in results for row in json.loads(out)]
    assert len(reported) == len(set(reported)), "a ticket was reported by two runs"
    assert set(reported) == solved
    assert len(json.loads(results[4][0])) <= 700
    assert ids_in_status(desk.db, "closed") == solved
    assert ids_in_status(desk.db, "open") == set(others)
    rows = query(desk.db, "SELECT ticket_id FROM history WHERE event = 'status' AND id > ?",
                 (baseline,))
    assert Counter(r[0] for r in rows) == Counter(solved)
    again = run_cli("--db", str(desk.db), "--as", ADMIN, "close-stale", "--now", FAR_FUTURE,
                    "--format", "json")
    assert again.returncode == 0 and json.loads(again.stdout) == [], again.stderr
    assert max_history_id(desk.db) == baseline + len(solved)


def test_replies_racing_close_stale_are_never_lost_or_overruled(tmp_path: Path) -> None:
    """A reply that wins reopens the ticket; a reply that loses is refused and not written."""
    desk = make_desk(tmp_path)
    solved = seed_tickets(desk.db, 240, status="solved")
    baseline = max_history_id(desk.db)
    work = tmp_path / "work"
    work.mkdir()
    stop = work / "stop"
    names = ["reply0", "reply1", "stale0", "stale1"]
    procs = [
        spawn(work, desk.db, "reply0", "reply", CUSTOMER, tickets=solved[0::2]),
        spawn(work, desk.db, "reply1", "reply", CUSTOMER, tickets=solved[1::2]),
        spawn(work, desk.db, "stale0", "stale", ADMIN, stale_args=["--limit", "3"],
              stop=str(stop), pause=0.01),
        spawn(work, desk.db, "stale1", "stale", AGENT, stale_args=["--limit", "5"],
              stop=str(stop), pause=0.02),
    ]
    start_together(work, procs, names)
    finish(work, procs[:2], names[:2])
    stop.touch()
    finish(work, procs[2:], names[2:])
    records = read_logs(work, names)
    check_database(desk.db, records, baseline=baseline, exact=True)
    replies = {r["ticket"]: r["rc"] for r in records if r["op"] == "comment"}
    assert sorted(replies) == sorted(solved)
    status = dict(query(desk.db, "SELECT id, status FROM tickets"))
    for tid, rc in replies.items():
        # Won: reopened by the reply and then left alone. Lost: closed, reply refused.
        assert (rc, status[tid]) in ((0, "open"), (5, "closed")), (tid, rc, status[tid])


@pytest.mark.parametrize(
    "args",
    [
        ["open", "Blocked"],
        ["comment", "1", "a reply that must wait"],
        ["set-status", "1", "open"],
        ["share", "1", OTHER],
        ["close-stale", "--now", FAR_FUTURE],
    ],
    ids=lambda a: a[0],
)
def test_lock_held_past_the_timeout_exits_75_and_writes_nothing(tmp_path: Path,
                                                                 args: list[str]) -> None:
    desk = make_desk(tmp_path)
    seed_tickets(desk.db, 1, status="new")
    seed_tickets(desk.db, 3, status="solved")
    before = snapshot(desk.db)
    with write_lock(desk.db):
        started = time.monotonic()
        result = run_cli("--db", str(desk.db), "--as", ADMIN, *args,
                         env={"TICKETCLI_BUSY_TIMEOUT": "0.5"})
        elapsed = time.monotonic() - started
    err = result.stderr.decode()
    assert result.returncode == 75, (result.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "busy" in err and "database is locked" not in err and "Traceback" not in err
    assert result.stdout == b""
    assert 0.4 < elapsed < 10, elapsed
    assert snapshot(desk.db) == before


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--all", "--format", "json"],
        ["show", "2", "--format", "json"],
        ["close-stale", "--dry-run", "--now", FAR_FUTURE, "--format", "json"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_reads_do_not_wait_for_a_writer(tmp_path: Path, args: list[str]) -> None:
    desk = make_desk(tmp_path)
    seed_tickets(desk.db, 1, status="new")
    seed_tickets(desk.db, 2, status="solved")
    before = snapshot(desk.db)
    with write_lock(desk.db):
        result = run_cli("--db", str(desk.db), "--as", ADMIN, *args,
                         env={"TICKETCLI_BUSY_TIMEOUT": "0.5"})
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data, "nothing read"
    if args[0] == "close-stale":
        assert sorted(r["id"] for r in data) == [2, 3]
    assert snapshot(desk.db) == before


@pytest.mark.parametrize(
    ("args", "timeout"),
    [(["open", "Waits its turn"], "5"), (["close-stale", "--now", FAR_FUTURE], None),
     (["set-status", "1", "pending"], "3")],
    ids=["open", "close-stale-default-timeout", "set-status"],
)
def test_a_short_lock_is_waited_for(tmp_path: Path, args: list[str],
                                    timeout: str | None) -> None:
    desk = make_desk(tmp_path)
    seed_tickets(desk.db, 1, status="new")
    seed_tickets(desk.db, 2, status="solved")
    baseline = max_history_id(desk.db)
    env = {"TICKETCLI_BUSY_TIMEOUT": timeout} if timeout else {}
    with write_lock(desk.db, seconds=1.0):
        started = time.monotonic()
        result = run_cli("--db", str(desk.db), "--as", ADMIN, *args, env=env)
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr.decode()
    assert elapsed > 0.5, f"finished in {elapsed:.2f}s: it did not wait for the lock"
    assert max_history_id(desk.db) > baseline
    statuses = dict(query(desk.db, "SELECT id, status FROM tickets"))
    if args[0] == "open":
        assert statuses[int(result.stdout)] == "new"
    elif args[0] == "close-stale":
        assert statuses[2] == statuses[3] == "closed"
    else:
        assert statuses[1] == "pending"


def test_staff_commands_get_the_lock_between_close_stale_batches(tmp_path: Path) -> None:
    """close-stale holds the lock in short batches, so a staff command waits about one.

    Each batch of a large run takes some tens of milliseconds; staff notes with
    a 0.5 s busy timeout must get in between two of them, every time, instead of
    failing with "busy" while cron works through the backlog.
    """
    desk = make_desk(tmp_path)
    seed_tickets(desk.db, 8000, status="solved")
    targets = seed_tickets(desk.db, 3, status="open")
    baseline = max_history_id(desk.db)
    work = tmp_path / "work"
    work.mkdir()
    stop = work / "stop"
    names = ["staff0", "staff1", "staff2"]
    staff = [spawn(work, desk.db, name, "note", actor, tickets=[target], stop=str(stop),
                   env={"TICKETCLI_BUSY_TIMEOUT": "0.5"}, max_seconds=60)
             for name, actor, target in zip(names, (AGENT, ADMIN, AGENT), targets, strict=True)]
    while not all((work / f"{name}.ready").exists() for name in names):
        assert all(p.poll() is None for p in staff), "a staff worker died at start-up"
        time.sleep(0.01)
    cron = subprocess.Popen([sys.executable, "-m", "ticketcli", "--db", str(desk.db), "--as",
                             ADMIN, "close-stale", "--now", FAR_FUTURE, "--format", "json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with closing(connect(desk.db)) as watch:
        while not watch.execute("SELECT 1 FROM tickets WHERE status = 'closed'").fetchone():
            assert cron.poll() is None, cron.communicate()
            time.sleep(0.002)
    (work / "go").touch()  # the staff start once cron is under way
    cron_began = time.time()
    out, err = cron.communicate(timeout=120)
    cron_done = time.time()
    stop.touch()
    finish(work, staff, names)
    assert cron.returncode == 0, err
    records = read_logs(work, names)
    during = [r for r in records if r["op"] == "comment" and r["began"] < cron_done]
    failed = [(round(r["t"] - r["began"], 2), r["err"].strip()) for r in during if r["rc"]]
    batches = -(-len(json.loads(out)) // 200)
    assert not failed, (
        f"{len(failed)} of {len(during)} staff notes failed while close-stale ran "
        f"{cron_done - cron_began:.2f}s more in {batches} batches of 200 (waited, error): "
        f"{failed[:3]}")
    assert len(during) >= 3, f"only {len(during)} notes overlapped close-stale"
    record = {"w": "cron", "op": "close-stale", "args": ["close-stale"], "rc": 0, "out": out,
              "err": err, "actor": ADMIN}
    check_database(desk.db, [*records, record], baseline=baseline, exact=True)


def test_first_use_of_a_new_database_by_many_processes_at_once(tmp_path: Path) -> None:
    db = tmp_path / "brand-new.db"
    argv = [sys.executable, "-m", "ticketcli", "--db", str(db), "--as", "first@example.com"]
    procs = [subprocess.Popen(argv + ["open", f"first {i}"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(6)]
    results = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    assert sorted(int(out) for out, _ in results) == list(range(1, 7))
    assert query(db, "SELECT email, role FROM users") == [("first@example.com", "admin")]
    check_database(db, [], baseline=0, exact=True)
