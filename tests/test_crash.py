"""Crash safety: processes killed with SIGKILL at random moments leave a consistent database.

Each round adds thousands of stale tickets, starts two close-stale runs and two
writer processes at once, and kills every one of them at its own random moment.
Afterwards the database must pass ``PRAGMA integrity_check``, every invariant
must hold (see ``test_concurrency.check_database``), everything a writer
reported as done must be there, and re-running close-stale (every other round
three copies at once) must finish the remaining work, each ticket exactly once.
A second test kills the very first command on a brand-new database.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, ROOT, make_desk, run_cli
from test_concurrency import (
    FAR_FUTURE,
    check_database,
    ids_in_status,
    max_history_id,
    query,
    read_logs,
    seed_tickets,
    spawn,
)

pytestmark = pytest.mark.slow

STALE_PER_ROUND = 5000


Trigger = Callable[[], bool]


def _kill_when(plan: list[tuple[subprocess.Popen[bytes], Trigger, float]],
               limit: float = 30) -> None:
    """SIGKILL each process ``delay`` seconds after its trigger first holds."""
    started = time.monotonic()
    due: dict[int, float] = {}
    pending = list(range(len(plan)))
    while pending:
        now = time.monotonic()
        for i in list(pending):
            proc, trigger, delay = plan[i]
            if proc.poll() is not None:
                pending.remove(i)
                continue
            if i not in due and (trigger() or now - started > limit):
                due[i] = now + delay
            if i in due and now >= due[i]:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                pending.remove(i)
        time.sleep(0.003)


def _stale_commit_seen(conn: sqlite3.Connection, baseline: int) -> Trigger:
    """Whether a close-stale closure after history id ``baseline`` has been committed."""

    def seen() -> bool:
        return bool(conn.execute(
            "SELECT 1 FROM history WHERE id > ? AND event = 'status' "
            "AND json_extract(detail, '$.reason') = 'stale' LIMIT 1", (baseline,)
        ).fetchone())

    return seen


def _stale_record(result: subprocess.CompletedProcess[bytes]) -> dict[str, object]:
    """A close-stale run by the test itself, in the shape the workers log."""
    return {"w": "test", "op": "close-stale", "args": ["close-stale"], "rc": result.returncode,
            "out": result.stdout.decode(), "err": result.stderr.decode(), "actor": ADMIN}


def test_sigkill_during_writes_and_a_large_close_stale(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    db = desk.db
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    work = tmp_path / "work"
    work.mkdir()
    (work / "go").touch()  # writers start as soon as they are up
    stale_argv = [sys.executable, "-m", "ticketcli", "--db", str(db), "--as", ADMIN,
                  "close-stale", "--now", FAR_FUTURE, "--format", "json"]
    window = 0.15  # how long after close-stale's first commit to kill it; tuned each round
    blind = 1.5  # the latest moment after its start to kill the other run; tuned too
    partial = killed_stale = killed_writers = rounds = 0
    ends = time.monotonic() + 15
    # At least four rounds, more while time allows or until a run was killed half way.
    while rounds < 12 and (rounds < 4 or time.monotonic() < ends or (partial == 0 and rounds < 8)):
        rounds += 1
        where = f"round {rounds} (seed {seed})"
        fresh = seed_tickets(db, STALE_PER_ROUND, status="solved", title=f"round {rounds}")
        working = seed_tickets(db, 15, status="open", title=f"round {rounds} open")
        pool = working + rng.sample(fresh, 40)
        untouched = set(fresh) - set(pool)  # only close-stale may move these
        baseline = max_history_id(db)

        with closing(sqlite3.connect(str(db), timeout=30)) as watch:
            stale_committed = _stale_commit_seen(watch, baseline)
            writers = [f"agent-r{rounds}", f"customer-r{rounds}"]
            plan: list[tuple[subprocess.Popen[bytes], Trigger, float]] = []
            # One run is killed shortly after its first commit, the other at a blind moment.
            for trigger, delay in ((stale_committed, rng.uniform(0, window)),
                                   (lambda: True, rng.uniform(0.05, blind))):
                proc = subprocess.Popen(stale_argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                plan.append((proc, trigger, delay))
            for name, actor in zip(writers, (AGENT, CUSTOMER), strict=True):
                # Only the two runs above close stale tickets: a writer's own close-stale
                # would finish their work before they can be killed half way.
                proc = spawn(work, db, name, "mixed", actor, tickets=pool, ops=10**6,
                             seed=rng.randrange(2**32), max_seconds=30, close_stale=False)
                log = work / f"{name}.log"
                plan.append((proc, lambda log=log: log.exists() and log.stat().st_size > 0,
                             rng.uniform(0, 0.8)))
            _kill_when(plan)
        codes = [p.returncode for p, _, _ in plan]
        killed_stale += codes[:2].count(-signal.SIGKILL)
        killed_writers += codes[2:].count(-signal.SIGKILL)
        for name, code in zip(["close-stale"] * 2 + writers, codes, strict=True):
            detail = (work / f"{name}.stderr").read_text() if name in writers else ""
            assert code in (0, -signal.SIGKILL), f"{name} exited {code}: {detail[-2000:]}"

        # Right after the crash: consistent, and every reported success is there.
        records = read_logs(work, writers)
        try:
            check_database(db, records, baseline=baseline, exact=False)
        except AssertionError as e:
            raise AssertionError(f"after the kills of {where}: {e}") from None
        left = len(untouched & ids_in_status(db, "solved"))
        if 0 < left < len(untouched):
            partial += 1
        elif left == 0:
            # The work was done before the kills landed (by either run, or both sharing
            # it): kill both sooner.
            window *= 0.6
            blind = max(0.1, blind * 0.6)
        else:
            window *= 1.5  # killed before it closed anything: kill later
            blind *= 1.3

        # Re-running close-stale (every other round, three copies at once) finishes the
        # remaining work, each ticket exactly once.
        remaining = ids_in_status(db, "solved")
        copies = 3 if rounds % 2 == 0 else 1
        reruns = [subprocess.Popen(stale_argv, cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE) for _ in range(copies)]
        results = []
        for proc in reruns:
            out, err = proc.communicate(timeout=120)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
            assert proc.returncode == 0, err
        reported = [row["id"] for r in results for row in json.loads(r.stdout)]
        assert len(reported) == len(set(reported)), f"{where}: a ticket closed twice"
        assert sorted(reported) == sorted(remaining), where
        assert ids_in_status(db, "solved") == set()
        try:
            check_database(db, [*records, *map(_stale_record, results)], baseline=baseline,
                           exact=False)
        except AssertionError as e:
            raise AssertionError(f"after the re-run of {where}: {e}") from None
        closures = Counter(r[0] for r in query(
            db, "SELECT ticket_id FROM history WHERE id > ? AND event = 'status' "
                "AND json_extract(detail, '$.reason') = 'stale'", (baseline,)))
        assert all(closures[t] == 1 for t in untouched), where
        again = run_cli(*stale_argv[3:])
        assert again.returncode == 0 and json.loads(again.stdout) == [], again.stderr

    # The kills really landed inside the work, not only before or after it.
    assert killed_writers == 2 * rounds, (killed_writers, rounds)
    assert killed_stale >= 1
    assert partial >= 1, f"no round killed close-stale half way (window {window:.3f}s)"
    logged = [r for r in read_logs(work, [p.stem for p in work.glob("*.log")])
              if r["op"] in ("open", "comment", "set-status") and r["rc"] == 0]
    assert len(logged) >= rounds, "the writers were killed before doing anything"


def test_sigkill_during_first_use_leaves_a_usable_database(tmp_path: Path) -> None:
    """Killed while creating the database (schema, workflow, first admin), it recovers."""
    rng = random.Random()
    for i in range(4):
        db = tmp_path / f"new{i}.db"
        base = [sys.executable, "-m", "ticketcli", "--db", str(db), "--as", "boss@example.com"]
        command = ["init", "--preset", "care"] if i % 2 else ["open", "First ticket"]
        proc = subprocess.Popen(base + command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _kill_when([(proc, lambda: True, rng.uniform(0.03, 0.35))])
        if db.exists() and db.stat().st_size:
            assert query(db, "PRAGMA integrity_check") == [("ok",)]
        again = run_cli(*base[3:], *command)
        assert again.returncode == 0, (i, again.stderr)
        opened = run_cli(*base[3:], "open", "After the crash")
        assert opened.returncode == 0, (i, opened.stderr)
        tid = int(opened.stdout)
        status = query(db, "SELECT status FROM tickets WHERE id = ?", (tid,))[0][0]
        assert status == ("received" if i % 2 else "new")
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        assert query(db, "SELECT email, role FROM users") == [("boss@example.com", "admin")]
        if not i % 2:
            check_database(db, [], baseline=0, exact=False)
