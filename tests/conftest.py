"""Shared fixtures: an isolated home for every test, and a Desk to drive the CLI.

No test touches the real home directory: HOME and the XDG directories point
into tmp_path, and the ticketcli environment variables are cleared.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ticketcli import clock, context
from ticketcli.cli import app
from ticketcli.config import default_config_path
from ticketcli.store import connection, migrations

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "admin@example.com"
AGENT = "agent@example.com"
CUSTOMER = "anna@example.com"
OTHER = "bruno@example.com"


SLOW_ELSEWHERE = {
    # Tests in files kept by others that run for seconds: marked here.
    "tests/test_bench_small.py::test_small_bench_runs_and_its_checks_pass",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine", choices=("sqlite", "postgresql"), default="sqlite",
        help="the engine the desks of the tests live on: postgresql puts each in a schema "
             "of its own in the database $TICKETCLI_TEST_PG names (tests marked "
             "sqlite_only are skipped)")


ENGINE = {"name": "sqlite"}


def pytest_configure(config: pytest.Config) -> None:
    ENGINE["name"] = config.getoption("--engine")
    if ENGINE["name"] == "postgresql" and not os.environ.get("TICKETCLI_TEST_PG"):
        raise pytest.UsageError(
            "--engine postgresql needs TICKETCLI_TEST_PG, a database URL: "
            "eval \"$(python scripts/pg_sandbox.py start /tmp/ticketcli-pg)\" starts one")


def on_postgresql() -> bool:
    return ENGINE["name"] == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``root`` skip unless the suite runs as root (as in CI); tests marked
    ``sqlite_only`` skip on --engine postgresql."""
    for item in items:
        if item.nodeid in SLOW_ELSEWHERE:
            item.add_marker(pytest.mark.slow)
        if on_postgresql():
            marker = item.get_closest_marker("sqlite_only")
            if marker is not None:
                why = marker.args[0] if marker.args else "it is about the SQLite file"
                item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}"))
    if os.geteuid() == 0:
        return
    for item in items:
        marker = item.get_closest_marker("root")
        if marker is not None:
            why = marker.args[0] if marker.args else "it changes the system"
            item.add_marker(pytest.mark.skip(reason=f"needs root: {why}; CI runs it as root"))


@pytest.fixture
def shm_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary folder on tmpfs when there is one, for tests of behaviour rather than
    of fsync: still real files, real SQLite, real WAL, but no waiting on a busy disk."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory.mktemp("desk")
        return
    path = Path(tempfile.mkdtemp(prefix="ticketcli-test-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


TICKETCLI_VARS = ("TICKETCLI_DB", "TICKETCLI_USER", "TICKETCLI_CONFIG",
                  "TICKETCLI_BUSY_TIMEOUT", "TICKETCLI_DEBUG")


def isolate_home(mp: pytest.MonkeyPatch, root: Path) -> None:
    """Point HOME and the XDG folders under ``root`` and clear ticketcli's variables."""
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        mp.setenv(var, str(root / var.lower()))
    for var in TICKETCLI_VARS:
        mp.delenv(var, raising=False)


def dump(db: Path | str, uri_flags: str = "") -> list[str]:
    """Everything in a database, to compare before and after a command."""
    if str(db).startswith("postgresql://"):
        return _dump_server(str(db))
    target = f"file:{db}?{uri_flags}" if uri_flags else str(db)
    con = sqlite3.connect(target, uri=bool(uri_flags))
    try:
        lines = list(con.iterdump())
        lines.append(f"user_version={con.execute('PRAGMA user_version').fetchone()[0]}")
        lines.append(f"application_id={con.execute('PRAGMA application_id').fetchone()[0]}")
    finally:
        con.close()
    return lines


def query(db: Path | str, sql: str,
          params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (SQLite's dialect, ``?`` placeholders) on a desk's database,
    either engine: for tests that look at what was stored."""
    if str(db).startswith("postgresql://"):
        from ticketcli.store.postgres.adapter import connect

        con, _ = connect(str(db))
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    with closing(sqlite3.connect(db)) as lite:
        return lite.execute(sql, params).fetchall()


def execute(db: Path | str, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> None:
    """``sql`` run and committed on a desk's database, either engine (a test's setup that
    no command offers, such as an old timestamp)."""
    if str(db).startswith("postgresql://"):
        from ticketcli.store.postgres.adapter import connect

        con, _ = connect(str(db))
        try:
            con.execute(sql, params)
        finally:
            con.close()
        return
    with closing(sqlite3.connect(db)) as lite, lite:
        lite.execute(sql, params)


def _dump_server(url: str) -> list[str]:
    """Every row of every table in the desk's schema, in order."""
    import psycopg2

    con = psycopg2.connect(url)
    try:
        cur = con.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() ORDER BY 1")
        lines: list[str] = []
        for (table,) in cur.fetchall():
            cur.execute(f'SELECT * FROM "{table}" ORDER BY 1')
            lines += [f"{table}: {row!r}" for row in cur.fetchall()]
    finally:
        con.close()
    return lines


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    # The terminal's size comes from the test, never from whoever runs the suite
    # (pytest-xdist's workers inherit COLUMNS=80 and LINES=24).
    for var in (*TICKETCLI_VARS, "LC_ALL", "LC_MESSAGES", "COLUMNS", "LINES"):
        monkeypatch.delenv(var, raising=False)
    yield home


class Desk:
    """A help desk on a real database file (or, with --engine postgresql, a schema of
    its own on the test server: ``db`` is then its URL), driven through the CLI."""

    def __init__(self, db: Path | str) -> None:
        self.db = db
        self.runner = CliRunner()

    def run(self, *args: str, as_: str | None = ADMIN, input: str | bytes | None = None,
            expect: int | None = 0, env: dict[str, str] | None = None) -> Any:
        argv = ["--db", str(self.db)]
        if as_ is not None:
            argv += ["--as", as_]
        argv += list(args)
        result = self.runner.invoke(app, argv, input=input, env=env)
        if expect is not None and result.exit_code != expect:
            pytest.fail(
                f"ticketcli {' '.join(argv)} exited {result.exit_code}, expected {expect}\n"
                f"stdout: {result.stdout!r}\nstderr: {result.stderr!r}\n"
                f"exception: {result.exception!r}"
            )
        if result.exit_code != 0:
            assert "Traceback" not in result.stderr + result.stdout
        return result

    def open(self, title: str = "Printer on fire", *args: str, as_: str | None = ADMIN) -> int:
        out = self.run("open", title, *args, as_=as_).stdout
        return int(out.strip())

    def json(self, *args: str, as_: str | None = ADMIN) -> Any:
        return json.loads(self.run(*args, "--format", "json", as_=as_).stdout)

    def ticket(self, ticket_id: int, as_: str | None = ADMIN) -> dict[str, Any]:
        data = self.json("show", str(ticket_id), as_=as_)
        assert isinstance(data, dict)
        return data

    def status(self, ticket_id: int) -> str:
        return str(self.ticket(ticket_id)["status"])


def _build_desk(db: Path, preset: str) -> Desk:
    """The five commands a new desk takes: init (its admin runs it), one organization,
    three people."""
    d = Desk(db)
    d.run("init", "--preset", preset)
    d.run("org", "add", "Acme")
    d.run("user", "add", AGENT, "--role", "agent", "--name", "Agnese Agente")
    d.run("user", "add", CUSTOMER, "--org", "Acme", "--name", "Anna")
    d.run("user", "add", OTHER, "--name", "Bruno")
    return d


_REAL_UTCNOW = clock.utcnow
_SCHEMA_VERSION = migrations.SCHEMA_VERSION


class DeskTemplates:
    """One desk per preset, built by :func:`_build_desk` once per session; :func:`make_desk`
    copies it. A desk whose build could come out differently (a fake clock, a patched
    schema, ticketcli variables or a user config in the environment) is built afresh."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.built: dict[str, Path] = {}

    def usable(self) -> bool:
        return (
            self.folder is not None
            and context.utcnow is clock.utcnow is _REAL_UTCNOW
            and len(migrations.MIGRATIONS) == migrations.SCHEMA_VERSION == _SCHEMA_VERSION
            and connection.SCHEMA_VERSION == _SCHEMA_VERSION
            and not any(var in os.environ for var in TICKETCLI_VARS)
            and os.environ.get("LANG") == "en_US.UTF-8"
            and not any(var in os.environ for var in ("LC_ALL", "LC_MESSAGES"))
            and not os.path.lexists(default_config_path(os.environ))
        )

    def template(self, preset: str) -> Path:
        if preset not in self.built:
            assert self.folder is not None
            root = self.folder / preset
            root.mkdir()
            with pytest.MonkeyPatch.context() as mp:  # as isolated_env has it
                isolate_home(mp, root)
                mp.setenv("LANG", "en_US.UTF-8")
                for var in ("LC_ALL", "LC_MESSAGES"):
                    mp.delenv(var, raising=False)
                db = _build_desk(root / "desk.db", preset).db
            with closing(sqlite3.connect(db)) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for suffix in ("-wal", "-shm", "-journal"):
                assert not Path(f"{db}{suffix}").exists(), f"{db}{suffix} left behind"
            self.built[preset] = db
        return self.built[preset]

    def copy(self, preset: str, db: Path) -> None:
        """The template of ``preset`` as a new file ``db``: same mode, its own desk id."""
        template = self.template(preset)
        with open(template, "rb") as src:
            fd = os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as dst:
                shutil.copyfileobj(src, dst)
        os.chmod(db, stat.S_IMODE(os.stat(template).st_mode))
        # Every new desk draws its own id to mark its Message-IDs (see the migrations).
        with closing(sqlite3.connect(db)) as con, con:
            con.execute("UPDATE meta SET value = ? WHERE key = 'mail_desk_id'",
                        [secrets.token_hex(5)])


DESK_TEMPLATES = DeskTemplates()


@pytest.fixture(autouse=True, scope="session")
def _desk_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskTemplates]:
    DESK_TEMPLATES.folder = tmp_path_factory.mktemp("desk-templates")
    yield DESK_TEMPLATES
    DESK_TEMPLATES.folder = None
    DESK_TEMPLATES.built.clear()


def make_desk(tmp_path: Path, preset: str = "standard", name: str = "desk.db") -> Desk:
    """A desk with an admin, an agent and two customers in organization Acme.

    A copy of the session's template for ``preset`` when that gives the same desk as
    building it here (see :class:`DeskTemplates`); else built with the five commands."""
    if on_postgresql():
        return _build_desk(pg_desk_url(), preset)  # type: ignore[arg-type]
    db = tmp_path / name
    taken = any(os.path.lexists(f"{db}{suffix}") for suffix in ("", "-wal", "-shm", "-journal"))
    if taken or not tmp_path.is_dir() or not DESK_TEMPLATES.usable():
        return _build_desk(db, preset)
    DESK_TEMPLATES.copy(preset, db)
    return Desk(db)


PG_SCHEMAS: list[str] = []


def pg_desk_url() -> str:
    """A new, empty schema on the test server, as the URL of a desk in it."""
    from pgserver import new_schema_url

    name = f"desk_{os.getpid()}_{secrets.token_hex(6)}"
    PG_SCHEMAS.append(name)
    return new_schema_url(os.environ["TICKETCLI_TEST_PG"], name)


@pytest.fixture(autouse=True, scope="session")
def _pg_schemas() -> Iterator[None]:
    yield
    if PG_SCHEMAS:
        from pgserver import drop_schema

        for name in PG_SCHEMAS:
            drop_schema(os.environ["TICKETCLI_TEST_PG"], name)
        PG_SCHEMAS.clear()


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return make_desk(tmp_path)


@pytest.fixture
def desk_factory(tmp_path: Path) -> Callable[[str], Desk]:
    return lambda preset: make_desk(tmp_path, preset, f"{preset}.db")


def run_cli(*args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """ticketcli in a real subprocess (for concurrency, crashes and start-up)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ticketcli", *args],
        input=input, capture_output=True, env=full_env, timeout=timeout, cwd=ROOT,
    )


# -- environment faults (tests run as root in CI) ----------------------------------------


def sh(*argv: str) -> None:
    subprocess.run(list(argv), check=True, capture_output=True, timeout=60)


@contextmanager
def tmpfs(point: Path, size: str) -> Iterator[Path]:
    point.mkdir(exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point))
    try:
        yield point
    finally:
        if subprocess.run(["umount", str(point)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], check=False)


def fill(directory: Path) -> None:
    """Fill the filesystem holding ``directory`` to the last byte."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            chunk = b"\0" * size
            try:
                while os.write(fd, chunk):
                    pass
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    assert shutil.disk_usage(directory).free == 0, shutil.disk_usage(directory)
