"""Fuzzing the CLI: random and hostile arguments for every command.

Every run, whatever it is given, must keep the promise of the README's "Exit codes"
section:

* no traceback, and no "internal error" (the error boundary's last resort, which
  itself asks to be reported as a bug);
* an exit code from the documented set (0, 1, 2, 3, 4, 5, 75, 78);
* on failure, exactly one line on stderr starting with ``Error:``, nothing on
  stdout, and the database unchanged (its dump is identical). The documented
  exceptions are checked in their own shape: the per-ticket report of bulk
  ``comment``/``set-status`` runs and the problem list of ``workflow
  validate``/``import``;
* afterwards ``PRAGMA integrity_check`` says ``ok``.

The runs go through CliRunner on a real database file (fast), with a bounded
number of examples. Hostile inputs include empty and huge strings, control
characters, NUL-free binary junk decoded as text, SQL and FTS5 syntax, odd
numbers, option-like values, and paths to directories, symlink loops and devices.

Safety: the tests run as root in CI. Real devices (/dev/null, /dev/zero, ...) are only
ever given where the program *reads* a file that it checks first (attachments,
body files). Wherever the program may write or read without a bound (workflow
export, --config, --db, workflow validate), paths point into tmp_path only, and
devices there are private nodes made with mknod. Only root may make one: for anyone
else the arena has no device node (the random runs leave that path out) and the two
tests about it skip. Hangs and unbounded reads are exercised in real subprocesses with
a timeout and a memory limit.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, ROOT, Desk, dump, isolate_home, make_desk
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

DOCUMENTED = {0, 1, 2, 3, 4, 5, 75, 78}
SUMMARY = re.compile(r"^(dry run: )?\d+ ok, \d+ failed\.$")
BULK_LINE = re.compile(r"^\d+\t(ok|failed)\t")
# Derandomized, so CI sees the same examples on every run. To go looking for new bugs:
# TICKETCLI_FUZZ_EXPLORE=1 TICKETCLI_FUZZ_EXAMPLES=500 python -m pytest tests/test_fuzz.py
EXPLORE = bool(os.environ.get("TICKETCLI_FUZZ_EXPLORE"))
FUZZ = settings(
    max_examples=int(os.environ.get("TICKETCLI_FUZZ_EXAMPLES", "45")),
    derandomize=not EXPLORE,
    deadline=None,
    # In CI a failure is reported as found, unshrunk (the assertion shows the argv): shrinking
    # and explaining a CLI run take far longer than finding it.
    phases=list(Phase) if EXPLORE else [Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)


class Hung(BaseException):
    """Raised by the alarm: a BaseException, so the CLI's boundary cannot swallow it."""


@pytest.fixture(autouse=True)
def _no_hangs() -> Iterator[None]:
    """A run that hangs fails the test instead of stalling CI."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hung("a CLI run hung for 120 s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(120)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- the database, seen from outside ---------------------------------------------------------


def integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    result = "; ".join(str(r[0]) for r in rows)
    return result if not fk else f"{result}; foreign key problems: {fk[:5]}"


def check_result(argv: list[str], result: Any, *, before: list[str] | None, db: Path | None,
                 read_file: str | None = None, command: list[str] | None = None) -> None:
    """The contract every run keeps (see the module docstring). ``argv`` is the whole
    command line, ``command`` the part after the global options."""
    out, err = result.stdout, result.stderr
    where = (f"ticketcli {argv!r}\nexit {result.exit_code}\nstdout: {out[:3000]!r}\n"
             f"stderr: {err[:3000]!r}")
    command = argv if command is None else command
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{where}\nexception escaped: {result.exception!r}")
    assert "Traceback" not in out + err, where
    assert result.exit_code in DOCUMENTED, where
    assert "internal error" not in err, where
    bulk = False
    if result.exit_code != 0:
        lines = err.splitlines()
        if command[:1] in (["comment"], ["set-status"]) and lines and SUMMARY.match(lines[-1]):
            # Bulk runs: one report line per ticket on stdout, a summary on stderr.
            bulk = True
            assert len(lines) == 1, where
            assert out and all(BULK_LINE.match(line) for line in out.splitlines()), where
        elif read_file is not None and len(lines) > 1:
            # workflow validate/import list every problem, then the error line.
            assert lines[-1].startswith("Error: "), where
            assert all(line.startswith(f"{read_file}: ") for line in lines[:-1]), where
            assert out == "", where
        else:
            assert len(lines) == 1 and lines[0].startswith("Error: "), where
            # doctor's report is its output, failing checks included
            assert out == "" or command[:1] == ["doctor"], where
        dry = "--dry-run" in command
        if before is not None and db is not None and (not bulk or dry):
            assert dump(db) == before, f"{where}\nthe failed run changed the database"
    if db is not None and db.exists():
        assert integrity(db) == "ok", where


# -- the arena: a desk, hostile files, and a runner ------------------------------------------


@dataclass(repr=False)
class Arena:
    desk: Desk
    root: Path
    config: Path
    read_paths: list[str]  # safe to read: checked before reading, or bounded
    write_paths: list[str]  # inside tmp_path only
    toml_paths: list[str]  # workflow files (all inside tmp_path)
    valid_toml: str
    devices: list[str]  # the private device node, when one could be made
    counter: int = 0

    def run(self, argv: list[str], *, as_: str | None = ADMIN, input: bytes | None = None,
            db: Path | None = None, config: bool = True, lang: str | None = None,
            read_file: str | None = None) -> Any:
        db = db or self.desk.db
        full = ["--db", str(db)]
        if config:
            full += ["--config", str(self.config)]
        if as_ is not None:
            full += ["--as", as_]
        if lang is not None:
            full += ["--lang", lang]
        before = dump(db) if db.exists() else None
        result = self.desk.runner.invoke(_app(), full + argv, input=input)
        check_result(full + argv, result, before=before, db=db, read_file=read_file,
                     command=argv)
        return result

    def __repr__(self) -> str:
        return f"Arena({self.root})"

    def fresh(self, name: str = "fresh") -> Path:
        self.counter += 1
        return self.root / f"{name}-{self.counter}.db"


def _app() -> Any:
    from ticketcli.cli import app

    return app


def _mknod_null(path: Path) -> list[str]:
    """A private character device like /dev/null at ``path``; only root may make one."""
    if os.geteuid() != 0:
        return []
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return [path.name]


TEMPLATE: dict[str, Path] = {}


@pytest.fixture(autouse=True, scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One seeded desk per module, copied by every test: ticket 1 open (a customer's, with
    a reply and an internal note), 2 closed, 3 solved; and its workflow exported."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        isolate_home(mp, root)
        desk = make_desk(root)
        t1 = desk.open("Printer on fire", "--body", "Smoke from tray 2", as_=CUSTOMER)
        desk.run("comment", str(t1), "Unplug it", as_=AGENT)
        desk.run("comment", str(t1), "--internal", "Supplier says Tuesday", as_=AGENT)
        t2 = desk.open("Closed one", as_=CUSTOMER)
        desk.run("set-status", str(t2), "closed", as_=AGENT)
        t3 = desk.open("Solved one", as_=OTHER)
        desk.run("set-status", str(t3), "solved", as_=AGENT)
        desk.run("workflow", "export", str(root / "valid.toml"))
    with closing(sqlite3.connect(desk.db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    TEMPLATE["db"], TEMPLATE["valid.toml"] = desk.db, root / "valid.toml"
    yield


@pytest.fixture
def arena(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Arena:
    """A copy of the module's seeded desk, and hostile files in a working directory."""
    shutil.copy2(TEMPLATE["db"], tmp_path / "desk.db")
    desk = Desk(tmp_path / "desk.db")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # relative paths a run may create land here
    (work / "adir").mkdir()
    (work / "empty.txt").write_bytes(b"")
    (work / "note.txt").write_text("a small note\nwith two lines\n")
    (work / "junk.bin").write_bytes(b"\xff\xfe\x01\x02binary\x80")
    (work / "nul.txt").write_bytes(b"text with a \x00 NUL")
    with open(work / "big.bin", "wb") as fh:  # one byte over the attachment limit, sparse
        fh.truncate(25 * 1024 * 1024 + 1)
    (work / "loop").symlink_to("loop")
    (work / "dangling").symlink_to(work / "nowhere")
    devices = _mknod_null(work / "nulldev")
    config = work / "config.toml"
    config.write_text("")
    valid = TEMPLATE["valid.toml"].read_text()
    tomls = {
        "valid.toml": valid,
        "broken.toml": "statuses = [\n",
        "empty.toml": "",
        "notutf8.toml": None,
        "nostatus.toml": valid.replace("[statuses.on_hold]", "[ignored_on_hold]"),
        "types.toml": 'name = 5\ninitial = []\nstatuses = "new"\npriorities = {a = 1}\n',
    }
    for name, text in tomls.items():
        if text is None:
            (work / name).write_bytes(b"\xff\xfename = 'x'\n")
        else:
            (work / name).write_text(text)
    read_paths = [
        "adir", ".", "", "-", "/", "empty.txt", "note.txt", "junk.bin", "nul.txt", "big.bin",
        "loop", "dangling", "missing.txt", "nodir/missing.txt", *devices,
        "/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/proc/self/status",
        str(work / "note.txt"),
    ]
    write_paths = [
        "out.toml", "adir", ".", "", "-", "nodir/out.toml", "loop", "dangling", "note.txt",
        *devices,
    ]
    toml_paths = [*tomls, "adir", "loop", "dangling", "missing.toml", *devices, "-",
                  "fuzz.toml"]
    return Arena(desk=desk, root=tmp_path, config=config, read_paths=read_paths,
                 write_paths=write_paths, toml_paths=toml_paths, valid_toml=valid,
                 devices=devices)


# -- strategies --------------------------------------------------------------------------------

ODD_NUMBERS = [
    "-1", "0", "1", "2", "3", "4", "01", "+1", " 1", "1 ", "1.5", "1e3", "0x10", "1_000",
    "²", "٣", "١٢", "Ⅻ", "-0", str(2**31), str(2**63 - 1), str(2**63), str(-(2**63)),
    str(2**64), "9" * 40, "1e309", "-1e309", "NaN", "nan", "inf", "-inf", "",
]
SYNTAX = [
    '"', "'", "*", "NEAR(", "NEAR(a b", "NEAR(a b, 2)", "OR", "a OR b", "AND NOT x", "NOT",
    '"unterminated', "^x", "col:x", "title:x", "a*", "-x", "'; DROP TABLE tickets; --",
    '"; DROP TABLE tickets; --', "%", "_", "\\", "%_\\", "?", "?1", ":x", "@x", "$1", "(", ")",
    "{", "[", "]]", "a=b", "=", "a=", "=b", "a=b=c", "${HOME}", "$(id)", "`id`", "*/", "/*",
]
CONTROL = [
    "", " ", "\t", "\n", "\r", "\r\n", "\x1b[31m", "\x1b]0;title\x07", "\x7f", "\x08", "\x0c",
    "\u202e", "\ufeff", "\u2028", "\u200b", "é", "💥", "a\u0301", "İ", "ß", "\uffff",
]
OPTION_LIKE = [
    "-", "--", "-h", "--help", "--version", "--all", "--format", "--format=json", "--db", "-x",
    "--=", "--no-such-option", "-1", "--as", "-f", "-n", "-q", "--body", "---", "-ä",
]
EMAILS = [
    ADMIN, AGENT, CUSTOMER, OTHER, "me", "ME", "Admin@Example.COM", "nobody@example.com",
    "a@b", "@", "a@", "@b", "a@@b", "<a@b>", "a b@c", "a@b.", "x" * 300 + "@b.c", "a@-b",
    "\"q\"@b.c", "a@b\n", "",
]
WORDS = [
    "new", "open", "pending", "on_hold", "solved", "closed", "cancelled", "Open", "low",
    "normal", "high", "urgent", "table", "json", "jsonl", "csv", "tsv", "ids", "id,title",
    "id,id", ",", "fields", "description", "comments", "history", "participants", "title",
    "customer", "agent", "admin", "Acme", "acme", "done", "out_of_scope", "standard",
    "service-desk", "care", "chat", "basic", "db", "user", "language", "busy_timeout",
    "smtp.host", "a.b.c", "a..b", ".", "en", "it",
]
TIMES = [
    "2026-05-01", "2026-05-01T09:30:00Z", "2026-05-01T09:30:00+02:00", "0001-01-01",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-10:00",
    "2026-13-01", "2026-02-30", "2026-W01", "20260501", "now", "yesterday", "1", "",
]
DURATIONS = ["14d", "0d", "1s", "36500d", "36501d", "-1d", "1e9s", "d", "2w", "36h", "1.5d",
             "99999999999999999999d", "14 d", "", "inf", "nan"]


def _junk_bytes(encoding: str) -> st.SearchStrategy[str]:
    return st.binary(max_size=40).map(
        lambda b: b.replace(b"\x00", b"").decode(encoding, "replace")
    )


TEXT_ALPHABET = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")

text = st.one_of(
    st.sampled_from(CONTROL + SYNTAX),
    st.text(TEXT_ALPHABET, max_size=30),
    st.text(st.characters(max_codepoint=0x9F, blacklist_characters="\x00"), max_size=12),
    _junk_bytes("latin-1"),
    _junk_bytes("utf-8"),
    st.sampled_from(["x" * 301, "é" * 300, "y" * 5000]),
)
number = st.one_of(st.sampled_from(ODD_NUMBERS), st.integers().map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr))
anything = st.one_of(text, number, st.sampled_from(OPTION_LIKE + WORDS + EMAILS + TIMES))


def mostly(valid: list[str], hostile: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Two draws in three from ``valid`` (so runs get past parsing and do real work), the
    third from ``hostile``."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), hostile)


STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"]
PRIORITIES = ["low", "normal", "high", "urgent"]
FORMATS = ["table", "json", "jsonl", "csv", "tsv", "ids"]
FIELDS = ["id,title,status", "id", "title,id", "id,fields,requester", "id,description",
          "id,comments,history,participants"]
USERS = [ADMIN, AGENT, CUSTOMER, OTHER, "me"]
email = mostly(USERS, st.one_of(st.sampled_from(EMAILS), text))
word = st.one_of(st.sampled_from(WORDS), text)
status = mostly(STATUSES, word)
priority = mostly(PRIORITIES, word)
fmt = mostly(FORMATS, word)
fields = mostly(FIELDS, word)
ticket_id = mostly(["1", "2", "3", "999"], number)
moment = mostly(["2026-05-01", "2026-05-01T09:30:00Z", "2030-01-01T00:00:00+02:00"],
                st.one_of(st.sampled_from(TIMES), text))
big_body = st.sampled_from(["b" * 1_000_001, "c" * 200_000])
body = st.one_of(text, text, text, big_body)
actor = st.sampled_from([ADMIN, ADMIN, ADMIN, AGENT, CUSTOMER, OTHER, "stranger@example.com"])


@st.composite
def options(draw: st.DrawFn, spec: dict[str, st.SearchStrategy[str] | None],
            extra: bool = True) -> list[str]:
    """Some of ``spec``'s options in a random order (None: a flag), then maybe junk."""
    chosen = draw(st.lists(st.sampled_from(sorted(spec)), max_size=4)) if spec else []
    argv: list[str] = []
    for name in chosen:
        value = spec[name]
        argv += [name] if value is None else [name, draw(value)]
    if extra and draw(st.integers(0, 7)) == 5:  # not 0: Hypothesis favours small values
        argv.insert(draw(st.integers(0, len(argv))), draw(anything))
    return argv


def resolve(a: Arena, strategy: Any, data: st.DataObject) -> list[str]:
    """Draw an argv from a strategy that may need the arena's paths."""
    return list(data.draw(strategy(a) if callable(strategy) else strategy))


def stdin_input() -> st.SearchStrategy[bytes | None]:
    return st.one_of(st.none(), st.binary(max_size=60), st.sampled_from(
        [b"1 2 3", b"1\n", "²".encode(), b"-1", b"\xff", "caf\u00e9\n".encode()]))


# -- per-command fuzzing -----------------------------------------------------------------------


def open_argv(a: Arena) -> st.SearchStrategy[list[str]]:
    paths = mostly(["note.txt", "empty.txt"], st.sampled_from(a.read_paths))
    spec: dict[str, st.SearchStrategy[str] | None] = {
        "--body": body, "--body-file": paths, "--priority": priority, "--category": text,
        "--requester": email, "--attach": paths, "--follow-up": ticket_id,
        "--field": st.one_of(text.map(lambda v: f"phone={v}"), st.sampled_from(SYNTAX), text),
    }
    return st.tuples(st.one_of(text, number), options(spec)).map(
        lambda t: ["open", t[0], *t[1]])


def list_argv(a: Arena) -> st.SearchStrategy[list[str]]:
    spec: dict[str, st.SearchStrategy[str] | None] = {
        "--status": status, "--phase": mostly(["new", "open", "pending", "hold", "solved",
                                               "closed", "cancelled"], word),
        "--priority": priority, "--requester": email, "--assignee": email,
        "--org": mostly(["Acme"], text), "--category": text, "--created-since": moment,
        "--created-before": moment, "--updated-since": moment, "--updated-before": moment,
        "--search": st.one_of(st.sampled_from(SYNTAX), text), "--sort": st.one_of(
            st.sampled_from(["-id", "priority", "-priority", "status:desc", "title:asc",
                             "x:y", ":", "-", ""]), text),
        "--limit": mostly(["0", "1", "2", "100"], number), "--fields": fields, "--format": fmt,
        "--all": None, "--stale": None, "--count": None, "-q": text, "-n": number,
    }
    return options(spec).map(lambda o: ["list", *o])


def show_argv(a: Arena) -> st.SearchStrategy[list[str]]:
    spec: dict[str, st.SearchStrategy[str] | None] = {"--fields": fields, "--format": fmt}
    return st.tuples(ticket_id, options(spec)).map(lambda t: ["show", t[0], *t[1]])


def comment_argv(a: Arena) -> st.SearchStrategy[list[str]]:
    """The reply as TEXT, --body or --body-file (one of them: giving two is a usage error
    the fuzzing would otherwise hit every time)."""
    paths = mostly(["note.txt"], st.sampled_from(a.read_paths))
    spec: dict[str, st.SearchStrategy[str] | None] = {
        "--status": status, "--attach": paths, "--if-status": status, "--internal": None,
        "--dry-run": None, "--yes": None,
    }
    reply = st.one_of(body.map(lambda b: [b]), body.map(lambda b: ["--body", b]),
                      paths.map(lambda p: ["--body-file", p]))
    return st.tuples(ticket_id, reply, options(spec)).map(
        lambda t: ["comment", t[0], *t[1], *t[2]])


def set_status_argv(a: Arena) -> st.SearchStrategy[list[str]]:
    spec: dict[str, st.SearchStrategy[str] | None] = {
        "--resolution": mostly(["done", "out_of_scope"], word), "--note": body,
        "--if-status": status, "--dry-run": None, "--yes": None,
    }
    return st.tuples(ticket_id, status, options(spec)).map(
        lambda t: ["set-status", t[0], t[1], *t[2]])


def people_argv(a: Arena) -> st.SearchStrategy[list[str]]:
    share = st.tuples(ticket_id, st.lists(email, min_size=1, max_size=3),
                      options({"--remove": None})).map(
        lambda t: ["share", t[0], *t[1], *t[2]])
    assign = st.tuples(ticket_id, st.lists(email, max_size=1), options({})).map(
        lambda t: ["assign", t[0], *t[1], *t[2]])
    take = st.tuples(ticket_id, options({})).map(lambda t: ["take", t[0], *t[1]])
    user_add = st.tuples(
        mostly(["new@example.com", "ANOTHER@Example.com"], st.one_of(st.sampled_from(EMAILS),
                                                                     text)),
        options({"--name": text, "--role": mostly(["customer", "agent", "admin"], word),
                 "--org": mostly(["Acme"], text)})).map(
        lambda t: ["user", "add", t[0], *t[1]])
    user_list = options({"--format": fmt}).map(lambda o: ["user", "list", *o])
    org_add = st.tuples(st.one_of(text, st.sampled_from(["Acme", "ACME", "x" * 201])),
                        options({"--manager": email})).map(
        lambda t: ["org", "add", t[0], *t[1]])
    org_list = options({"--format": fmt}).map(lambda o: ["org", "list", *o])
    return st.one_of(share, assign, take, user_add, user_list, org_add, org_list)


def stale_doctor_argv(a: Arena) -> st.SearchStrategy[list[str]]:
    stale = options({"--dry-run": None, "--now": moment, "--limit": mostly(["0", "1"], number),
                     "--quiet": None, "--format": fmt}).map(lambda o: ["close-stale", *o])
    doctor = options({"--format": fmt}).map(lambda o: ["doctor", *o])
    return st.one_of(stale, doctor)


@pytest.mark.parametrize(
    "make_argv",
    [open_argv, list_argv, show_argv, comment_argv, set_status_argv, people_argv,
     stale_doctor_argv],
    ids=["open", "list", "show", "comment", "set-status", "share-assign-take-user-org",
         "close-stale-doctor"],
)
@FUZZ
@given(data=st.data())
def test_fuzz_command(arena: Arena, make_argv: Callable[[Arena], Any],
                      data: st.DataObject) -> None:
    argv = resolve(arena, make_argv, data)
    who = data.draw(actor, label="as")
    lang = data.draw(st.sampled_from([None] * 8 + ["en", "it", "fr", ""]), label="lang")
    stdin = data.draw(stdin_input(), label="stdin")
    arena.run(argv, as_=who, lang=lang, input=stdin)


@FUZZ
@given(data=st.data())
def test_fuzz_any_command_with_random_tokens(arena: Arena, data: st.DataObject) -> None:
    """A command path followed by anything at all: option-like values included."""
    commands = [["init"], ["open"], ["list"], ["show"], ["comment"], ["set-status"], ["share"],
                ["assign"], ["take"], ["close-stale"], ["user", "add"], ["user", "list"],
                ["org", "add"], ["org", "list"], ["workflow", "show"], ["workflow", "validate"],
                ["config", "path"], ["config", "list"], ["config", "get"], ["doctor"],
                ["user"], ["org"], ["workflow"], ["config"], ["nosuchcommand"]]
    # Not here: "workflow export/import" and "config set/unset" write files named by their
    # arguments (they have their own tests), and a bare root would let a random token
    # become a root option such as --db.
    command = data.draw(st.sampled_from(commands), label="command")
    tokens = data.draw(st.lists(anything, max_size=6), label="tokens")
    stdin = data.draw(stdin_input(), label="stdin")
    read_file = None
    if command == ["workflow", "validate"]:
        _write_fuzz_toml(arena, data)
        read_file = data.draw(st.sampled_from(arena.toml_paths), label="file")
        tokens = [read_file, *tokens]
    arena.run([*command, *tokens], input=stdin, read_file=read_file)


def _write_fuzz_toml(a: Arena, data: st.DataObject) -> str:
    """A workflow file for this example: the valid one with a slice replaced by junk."""
    base = a.valid_toml
    start = data.draw(st.integers(0, len(base)), label="cut at")
    length = data.draw(st.integers(0, 80), label="cut length")
    junk = data.draw(st.one_of(text, st.sampled_from(
        ['"', "[", "]]", "= 1", "= []", "= {}", "= true", "\n[statuses.x]\n", "\nphase = 'x'\n",
         "\nfinal = 1\n", "\n[[stale]]\nafter = -1\n", "\n[[replies]]\n", "after = 'x'",
         "inf", "nan", "1e309", "-1"])), label="junk")
    content = base[:start] + junk + base[start + length:]
    Path("fuzz.toml").write_text(content)
    return content


@FUZZ
@given(data=st.data())
def test_fuzz_workflow(arena: Arena, data: st.DataObject) -> None:
    _write_fuzz_toml(arena, data)
    kind = data.draw(st.sampled_from(["show", "export", "validate", "import"]), label="kind")
    read_file = None
    if kind == "show":
        argv = ["workflow", "show", *data.draw(options({"--format": word}))]
    elif kind == "export":
        target = data.draw(st.lists(st.sampled_from(arena.write_paths), max_size=1))
        argv = ["workflow", "export", *target]
        if target == ["nulldev"]:
            # The private device node is recreated: test_export_never_replaces_a_device
            # checks what happens to it.
            argv = ["workflow", "export", "out.toml"]
    else:
        read_file = data.draw(st.sampled_from(arena.toml_paths), label="file")
        maps = data.draw(st.lists(st.one_of(
            st.sampled_from(["on_hold=pending", "on_hold=", "=x", "x", "on_hold=bogus",
                             "new=closed"]), text), max_size=2))
        argv = ["workflow", kind, read_file, *[m for pair in maps for m in ("--map", pair)]]
    stdin = data.draw(st.one_of(st.none(), st.just(arena.valid_toml.encode()),
                                st.binary(max_size=40)), label="stdin")
    who = data.draw(actor, label="as")
    arena.run(argv, as_=who, input=stdin, read_file=read_file)


CONFIG_TEXTS = [
    "", "# only a comment\n", 'user = "anna@example.com"\nlanguage = "it"\n',
    '# keep me\nuser = "anna@example.com"\n\n[smtp]\nhost = "localhost"\nport = 25\n',
    "busy_timeout = 2.5\n", "x = [1, 2]\n[t]\na.b = 1\n",
]


@FUZZ
@given(data=st.data())
def test_fuzz_config(arena: Arena, data: st.DataObject) -> None:
    """config path/list/get/set/unset on a config file reset for every example; afterwards
    a plain command still works (a config command never leaves a config that breaks
    every other command)."""
    original = data.draw(st.sampled_from(CONFIG_TEXTS), label="config file")
    arena.config.write_text(original)
    key = data.draw(st.one_of(st.sampled_from(WORDS + ["smtp.port", "t.a", "new.key"]), text),
                    label="key")
    value = data.draw(st.one_of(number, st.sampled_from(TIMES + EMAILS + WORDS), text,
                                st.sampled_from(["[1,", "{a=1}", '"q', "true", "[]"])),
                      label="value")
    argv = data.draw(st.sampled_from([
        ["config", "path"], ["config", "list"], ["config", "get", key],
        ["config", "set", key, value], ["config", "unset", key],
    ]), label="argv")
    result = arena.run(argv)
    if result.exit_code != 0:
        assert arena.config.read_text() == original, "a failed config command changed the file"
    # Whatever the config command did, the desk is still usable.
    follow = arena.desk.runner.invoke(_app(), ["--db", str(arena.desk.db), "--config",
                                               str(arena.config), "--as", ADMIN, "show", "1",
                                               "--format", "json"])
    check_result(["show", "1"], follow, before=None, db=arena.desk.db)
    if result.exit_code == 0 and argv[1] in ("set", "unset"):
        assert follow.exit_code == 0, (
            f"after 'ticketcli {' '.join(argv)}' (exit 0) every command fails: "
            f"{follow.stderr!r}; config now {arena.config.read_text()!r}")


@FUZZ
@given(data=st.data())
def test_fuzz_init(arena: Arena, data: st.DataObject) -> None:
    """init on a fresh path (a failed init creates nothing) or on the desk (refused)."""
    on_desk = data.draw(st.booleans(), label="on the desk")
    db = arena.desk.db if on_desk else arena.fresh()
    presets = ["standard", "service-desk", "care", "chat", "basic"]
    argv = ["init", *data.draw(options({
        "--preset": mostly(presets, word), "-p": mostly(presets, word),
        "--stale-after": mostly(["14d", "36h", "2w"], st.one_of(st.sampled_from(DURATIONS),
                                                                 text))}))]
    result = arena.run(argv, as_=data.draw(st.sampled_from([None, ADMIN, CUSTOMER])), db=db)
    if on_desk:
        assert result.exit_code != 0, "init replaced the workflow of a desk holding tickets"
    elif result.exit_code != 0:
        assert not db.exists(), "a failed init left a database file behind"


@FUZZ
@given(data=st.data())
def test_fuzz_database_path(arena: Arena, data: st.DataObject) -> None:
    """--db pointing at directories, junk files, loops, missing directories: a clean error,
    the file untouched and nothing created next to it."""
    work = Path.cwd()
    choice = data.draw(st.sampled_from([
        "adir", ".", "note.txt", "junk.bin", "empty.txt", "loop", "dangling",
        "nodir/x.db", "adir/", "valid.toml", *arena.devices,
    ]), label="db")
    argv = data.draw(st.sampled_from([
        ["list"], ["show", "1"], ["open", "x"], ["init"], ["doctor"], ["close-stale"],
        ["user", "list"], ["workflow", "show"], ["config", "path"],
    ]), label="argv")
    target = work / choice
    before_listing = sorted(os.listdir(work))
    before_bytes = target.read_bytes() if target.is_file() else None
    result = arena.desk.runner.invoke(_app(), ["--db", choice, "--as", ADMIN, *argv])
    check_result(["--db", choice, *argv], result, before=None, db=None, command=argv)
    assert sorted(os.listdir(work)) == before_listing, (
        f"--db {choice} {argv} exited {result.exit_code} and left "
        f"{sorted(set(os.listdir(work)) - set(before_listing))} behind")
    if choice == "empty.txt":  # an empty file is a new database
        if result.exit_code == 0 and target.stat().st_size:
            assert integrity(target) == "ok"
    elif result.exit_code != 0 and before_bytes is not None:
        assert target.read_bytes() == before_bytes, f"--db {choice} {argv}: the file changed"
    if choice == "nulldev":
        assert stat.S_ISCHR(os.lstat(target).st_mode), "--db replaced a device node"
        if argv != ["config", "path"]:
            assert result.exit_code != 0, f"--db on a character device succeeded: {argv}"


# -- undecodable bytes in arguments ----------------------------------------------------------


SURROGATE_JUNK = st.binary(min_size=1, max_size=12).filter(
    lambda b: b"\x00" not in b).map(lambda b: (b + b"\xff").decode("utf-8", "surrogateescape"))


@FUZZ
@given(data=st.data())
def test_fuzz_undecodable_bytes_in_arguments(arena: Arena, data: st.DataObject) -> None:
    """A shell passes any bytes; Python decodes argv with surrogateescape. Text that is not
    UTF-8 is bad input (exit 2), never an internal error."""
    junk = data.draw(SURROGATE_JUNK, label="junk")
    argv = data.draw(st.sampled_from([
        ["open", junk], ["open", "ok", "--body", junk], ["open", "ok", "--category", junk],
        ["open", "ok", "--field", f"k={junk}"], ["list", "--search", junk],
        ["list", "--org", junk], ["comment", "1", junk],
        ["set-status", "1", "open", "--note", junk], ["user", "add", f"a{junk}@example.com"],
        ["user", "add", "new@example.com", "--name", junk],
        ["org", "add", junk], ["config", "get", junk], ["share", "1", junk],
    ]), label="argv")
    arena.run(argv)


@pytest.mark.parametrize(
    "args",
    [
        [b"open", b"\xff\xfe bad"],
        [b"open", b"ok", b"--body", b"\xc3\x28"],
        [b"list", b"--search", b"\xff"],
        [b"comment", b"1", b"\xff"],
        [b"user", b"add", b"a\xff@example.com"],
        [b"org", b"add", b"\xff"],
    ],
    ids=lambda a: b" ".join(a[:2]).decode("ascii", "backslashreplace"),
)
def test_undecodable_bytes_from_a_real_shell(arena: Arena, args: list[bytes]) -> None:
    db = arena.desk.db
    before = dump(db)
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"ticketcli", b"--db", os.fsencode(db), b"--as",
         ADMIN.encode(), *args],
        capture_output=True, timeout=60, cwd=ROOT,
    )
    err = proc.stderr.decode("utf-8", "backslashreplace")
    assert proc.returncode == 2, (proc.returncode, err)
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err
    assert "internal error" not in err and "Traceback" not in err
    assert proc.stdout == b""
    assert dump(db) == before


# -- deterministic hostile cases ---------------------------------------------------------------

BIG = str(2**63)
HOSTILE: list[tuple[list[str], set[int]]] = [
    (["open", ""], {2}),
    (["open", "   \t\n"], {2}),
    (["open", "x" * 301], {2}),
    (["open", "ok", "--body", "b" * 1_000_001], {2}),
    (["open", "ok", "--body", "with a \x00 NUL"], {2}),
    (["open", "ok", "--attach", "big.bin"], {2}),
    (["open", "ok", "--attach", "/dev/zero"], {2}),
    (["open", "ok", "--attach", "/dev/null"], {2}),
    (["open", "ok", "--body-file", "/dev/zero"], {2}),
    (["open", "ok", "--body-file", "/dev/urandom"], {2}),
    (["open", "ok", "--body-file", "adir"], {2}),
    (["open", "ok", "--body-file", "loop"], {2}),
    (["open", "ok", "--body-file", "junk.bin"], {2}),
    (["open", "ok", "--attach", "loop"], {2}),
    (["open", "ok", *["--attach", "note.txt"] * 21], {2}),
    (["open", "ok", "--follow-up", BIG], {2, 3}),
    (["open", "ok", "--follow-up", "-1"], {2}),
    (["open", "ok", "--requester", "'; DROP TABLE tickets; --"], {2}),
    (["open", "ok", "--field", "=x"], {2}),
    (["show", BIG], {2, 3}),
    (["show", "-1"], {2}),
    (["show", "1e309"], {2}),
    (["show", "NaN"], {2}),
    (["show", "²"], {2}),
    (["comment", "²", "hi"], {2}),
    (["set-status", "²", "open"], {2}),
    (["set-status", "1", "²", "open"], {2}),
    (["comment", "1", "--body-file", "/dev/zero"], {2}),
    (["comment", "1", "hi", "--attach", "/dev/zero"], {2}),
    (["list", "--search", '"'], {0}),
    (["list", "--search", "NEAR("], {0}),
    (["list", "--search", "a OR b*"], {0}),
    (["list", "--search", "'; DROP TABLE tickets; --"], {0}),
    (["list", "--search", "%_\\"], {0}),
    (["list", "--limit", "-1"], {2}),
    (["list", "--limit", BIG], {0, 2}),
    (["list", "--limit", str(2**63 - 1)], {0, 2}),
    (["list", "--limit", "1e309"], {2}),
    (["list", "--limit", "NaN"], {2}),
    (["list", "--created-since", "0001-01-01T00:00:00+01:00"], {0, 2}),
    (["list", "--updated-before", "9999-12-31T23:59:59-10:00"], {0, 2}),
    (["list", "--fields", "title", "--format", "ids"], {0, 2}),
    (["show", "1", "--fields", "description", "--format", "ids"], {0, 2}),
    (["workflow", "show", "--format", "ids"], {0, 2}),
    (["doctor", "--format", "ids"], {0, 2}),
    (["close-stale", "--now", "0001-01-01"], {0, 2}),
    (["close-stale", "--now", "9999-12-31T23:59:59-14:00"], {0, 2}),
    (["close-stale", "--now", "1e309"], {2}),
    (["close-stale", "--limit", "-1"], {2}),
    (["close-stale", "--limit", BIG, "--dry-run"], {0, 2}),
    (["workflow", "export", "adir"], {1, 2}),
    (["workflow", "export", ""], {1, 2}),
    (["workflow", "validate", "/dev/null"], {78}),
    (["workflow", "validate", "adir"], {2}),
    (["workflow", "import", "types.toml"], {78}),
    (["config", "get", ""], {2, 3, 78}),
    (["--lang", "fr", "list"], {2}),
    ([], {0, 2}),
    (["user"], {0, 2}),
    (["org"], {0, 2}),
    (["workflow"], {0, 2}),
    (["config"], {0, 2}),
    (["--as", "", "list"], {2, 4}),
    (["--as", "'; DROP TABLE users; --", "list"], {2, 4}),
]


@pytest.mark.parametrize(("argv", "codes"), HOSTILE,
                         ids=[" ".join(a)[:60] for a, _ in HOSTILE])
def test_hostile_case(arena: Arena, argv: list[str], codes: set[int]) -> None:
    read_file = argv[2] if argv[:2] in (["workflow", "validate"], ["workflow", "import"]) \
        else None
    result = arena.run(argv, read_file=read_file)
    assert result.exit_code in codes, (argv, result.exit_code, result.stderr)


STDIN_CASES: list[tuple[list[str], bytes, set[int]]] = [
    (["open", "x", "--body-file", "-"], b"\xff\xfe junk", {2}),
    (["comment", "1", "--body-file", "-"], b"\xc3\x28", {2}),
    (["set-status", "-", "open"], "² 1".encode(), {2}),
    (["comment", "-", "--body", "hi"], "²".encode(), {2}),
    (["set-status", "-", "open"], b"\xff", {2}),
    (["workflow", "validate", "-"], b"\xff\xfename = 'x'\n", {2, 78}),
    (["workflow", "import", "-"], b"\xc3\x28", {2, 78}),
    (["workflow", "validate", "-"], b"", {78}),
]


@pytest.mark.parametrize(("argv", "data", "codes"), STDIN_CASES,
                         ids=[f"{' '.join(a)}<{d[:4]!r}" for a, d, _ in STDIN_CASES])
def test_hostile_stdin(arena: Arena, argv: list[str], data: bytes, codes: set[int]) -> None:
    read_file = "-" if argv[0] == "workflow" else None
    result = arena.run(argv, input=data, read_file=read_file)
    assert result.exit_code in codes, (argv, data, result.exit_code, result.stderr)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", "NaN"])
def test_config_set_busy_timeout_never_breaks_the_desk(arena: Arena, value: str) -> None:
    """`config set busy_timeout VALUE` either refuses the value or leaves a usable config."""
    result = arena.run(["config", "set", "busy_timeout", value])
    follow = arena.desk.runner.invoke(_app(), ["--db", str(arena.desk.db), "--config",
                                               str(arena.config), "--as", ADMIN, "list"])
    if result.exit_code == 0:
        assert follow.exit_code == 0, (
            f"'config set busy_timeout {value}' was accepted (exit 0), and now every command "
            f"fails: exit {follow.exit_code}, {follow.stderr!r}")
    else:
        assert result.exit_code in (2, 78)
    check_result(["list"], follow, before=None, db=arena.desk.db)


def test_search_treats_query_syntax_as_words(arena: Arena) -> None:
    """FTS5 and SQL syntax around a word is ignored: the word is searched for, as a prefix."""
    for query in ['"printer"', "printer*", "(printer", "printer)", "^printer",
                  "pri%", "'printer'; --", '"smoke" "tray', "*tray*"]:
        hits = json.loads(arena.run(["list", "--all", "--search", query,
                                     "--format", "json"]).stdout)
        assert [t["title"] for t in hits] == ["Printer on fire"], query
    for query in ["'; DROP TABLE tickets; --", '"', "*", "NEAR(", "%", "_", "\\"]:
        assert arena.run(["list", "--all", "--search", query, "--format", "ids"]).stdout == "", \
            query
    assert json.loads(arena.run(["show", "1", "--format", "json"]).stdout)["id"] == 1


def test_hostile_text_round_trips_exactly(arena: Arena) -> None:
    """What is accepted is stored as given: control characters, RTL marks, emoji, quotes."""
    body = "line1\n\tline2 \x1b[31m red \u202e rtl 💥 '; DROP TABLE tickets; -- \"q\" \\"
    tid = int(arena.run(["open", "Weird \u202e title 💥", "--body", body]).stdout)
    shown = json.loads(arena.run(["show", str(tid), "--format", "json"]).stdout)
    assert shown["description"] == body
    assert shown["title"] == "Weird \u202e title 💥"
    plain = arena.run(["list", "--format", "tsv", "--fields", "id,title"]).stdout
    assert all(len(line.split("\t")) == 2 for line in plain.splitlines())


# -- devices and FIFOs as write targets, and reads that must be bounded ------------------------


@pytest.mark.root("makes a device node (mknod)")
def test_export_never_replaces_a_device(arena: Arena) -> None:
    """`workflow export FILE` onto a character device (as root!) must not replace the device
    with a regular file: `workflow export /dev/null` would destroy the system's /dev/null."""
    node = Path("nulldev")
    rdev = os.lstat(node).st_rdev
    result = arena.desk.runner.invoke(_app(), ["--db", str(arena.desk.db), "--as", ADMIN,
                                               "workflow", "export", str(node)])
    check_result(["workflow", "export", str(node)], result, before=None, db=arena.desk.db)
    mode = os.lstat(node).st_mode
    assert stat.S_ISCHR(mode) and os.lstat(node).st_rdev == rdev, (
        f"'workflow export {node}' exited {result.exit_code} and replaced the character "
        f"device with a {'regular file' if stat.S_ISREG(mode) else oct(mode)}")


@pytest.mark.root("makes a device node (mknod)")
def test_config_set_never_replaces_a_device(arena: Arena) -> None:
    node = Path("nulldev")
    result = arena.desk.runner.invoke(_app(), ["--config", str(node), "config", "set", "user",
                                               "anna@example.com"])
    check_result(["--config", str(node), "config", "set"], result, before=None, db=None)
    mode = os.lstat(node).st_mode
    assert stat.S_ISCHR(mode), (
        f"'--config {node} config set' exited {result.exit_code} and replaced the character "
        "device with a regular file")


def _subprocess(args: list[str], *, timeout: float, memory: int | None = None
                ) -> subprocess.CompletedProcess[bytes]:
    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    try:
        return subprocess.run([sys.executable, "-m", "ticketcli", *args], capture_output=True,
                              timeout=timeout, cwd=Path.cwd(), preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ticketcli {' '.join(args)} hung (no answer in {timeout} s)")


@pytest.mark.parametrize(
    "argv",
    [["--db", "fifo", "list"], ["--config", "fifo", "list"],
     ["workflow", "validate", "fifo"]],
    ids=["db", "config", "workflow-validate"],
)
def test_a_fifo_never_hangs(arena: Arena, argv: list[str]) -> None:
    """A FIFO with no writer given as a file: a clean error, not a wait forever."""
    os.mkfifo("fifo")
    db = [] if argv[0] == "--db" else ["--db", str(arena.desk.db)]
    proc = _subprocess([*db, "--as", ADMIN, *argv], timeout=5)
    err = proc.stderr.decode()
    assert proc.returncode in (1, 2, 78), (proc.returncode, err)
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err
    assert stat.S_ISFIFO(os.lstat("fifo").st_mode)


@pytest.mark.parametrize(
    "argv",
    [["--config", "/dev/zero", "list"], ["workflow", "validate", "/dev/zero"],
     ["workflow", "import", "/dev/zero"]],
    ids=["config", "workflow-validate", "workflow-import"],
)
def test_an_endless_file_is_read_with_a_bound(arena: Arena, argv: list[str]) -> None:
    """/dev/zero as a config or workflow file: refused as not a regular file (or too big),
    not read until memory runs out. The child runs with a 1 GiB address-space limit so an
    unbounded read fails fast instead of taking the machine down."""
    before = dump(arena.desk.db)
    proc = _subprocess(["--db", str(arena.desk.db), "--as", ADMIN, *argv], timeout=30,
                       memory=1024**3)
    err = proc.stderr.decode()
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err
    assert "out of memory" not in err, f"unbounded read of /dev/zero: {err}"
    assert proc.returncode in (2, 78), (proc.returncode, err)
    assert dump(arena.desk.db) == before
