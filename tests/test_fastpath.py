"""The fast path (ticketcli/fastpath.py) runs ``show``, ``list``, ``open``,
``comment`` and ``set-status`` exactly as the Typer app would: same command body,
same arguments, same global options, or it leaves the command line to Typer."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from conftest import Desk, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketcli import fastpath, views, writes
from ticketcli.cli import app
from ticketcli.context import Context


class Called(BaseException):
    """Raised by the stand-in bodies: a BaseException, so no error boundary keeps it."""

    def __init__(self, call: dict[str, Any]) -> None:
        self.call = call


def _stand_in(name: str, real: Any) -> Any:
    def body(c: Context, *args: Any, **kwargs: Any) -> None:
        bound = inspect.signature(real).bind(c, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("c")
        raise Called({"command": name, "arguments": arguments, "db": c.db_option,
                      "config": c.config_option, "as": c.as_option, "lang": c.lang_option})

    return body


@pytest.fixture(scope="module")
def typer_command() -> Any:
    return typer.main.get_command(app)


@pytest.fixture
def bodies(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(views, "show", _stand_in("show", views.show))
    monkeypatch.setattr(views, "list_", _stand_in("list", views.list_))
    monkeypatch.setattr(writes, "open_", _stand_in("open", writes.open_))
    monkeypatch.setattr(writes, "comment", _stand_in("comment", writes.comment))
    monkeypatch.setattr(writes, "set_status", _stand_in("set-status", writes.set_status))
    yield


def _fast(argv: list[str]) -> tuple[str, Any]:
    try:
        code = fastpath.run(argv)
    except Called as called:
        return "called", called.call
    return ("declined", None) if code is None else ("exit", code)


def _typer(command: Any, argv: list[str]) -> tuple[str, Any]:
    try:
        command.main(args=argv, prog_name="ticketcli")
    except Called as called:
        return "called", called.call
    except SystemExit as e:
        return "exit", e.code
    raise AssertionError("the Typer app returned without exiting")


HANDLED = [
    ["show", "1"],
    ["show", "007", "--format", "json"],
    ["show", "42", "--fields=id,status", "-f", "tsv"],
    ["show", "5", "--db", "other.db"],
    ["--as", "x@example.com", "--lang", "it", "show", "3"],
    ["list"],
    ["list", "--limit", "20"],
    ["--db", "a.db", "list", "-n", "0", "--all", "--count"],
    ["list", "--status", "open", "-s", "new", "--phase", "pending", "--format=json"],
    ["list", "--search", "printer ink", "-q", "toner", "--sort", "-priority", "--stale"],
    ["list", "--requester", "a@b.c", "--assignee", "me", "--org", "Acme", "--category", "vpn",
     "--created-since", "2026-01-01", "--created-before", "2026-02-01",
     "--updated-since", "2026-01-05", "--updated-before", "2026-03-01", "--priority", "high",
     "--fields", "id,title", "--config", "c.toml"],
    ["list", "--db=x.db", "--as=y@example.com"],
    ["--lang", "xx", "list"],
    ["list", "--limit", "99999999999999999999999"],
    ["list", "--search", "-x", "--sort=-updated_at", "--category", "--"],
    ["open", "Printer on fire"],
    ["open", "VPN", "-b", "drops", "--priority", "high", "--category", "net", "--field",
     "phone=1", "--field=os=linux", "--attach", "a.txt", "--attach", "b.txt", "--follow-up",
     "12", "--requester", "a@b.c", "--db", "x.db"],
    ["open", "--body-file", "-", "Kernel warnings"],
    ["comment", "1"],
    ["comment", "42", "Could you send the log?", "--status", "pending"],
    ["comment", "1", "2", "3", "--body", "hi", "--internal", "--if-status", "open", "-y",
     "--dry-run"],
    ["comment", "-", "--body=Any news?", "--attach", "x.log", "--yes"],
    ["comment", "5", "--body-file", "-", "--as", "a@b.c"],
    ["set-status", "42"],
    ["set-status", "42", "solved"],
    ["set-status", "-", "solved", "--yes", "--resolution", "done", "--note", "n",
     "--if-status", "open", "--dry-run"],
    ["--lang", "it", "set-status", "1", "2", "closed", "-y"],
]


@pytest.mark.parametrize("argv", HANDLED, ids=" ".join)
def test_the_fast_path_runs_plain_command_lines_as_typer_does(
        bodies: None, typer_command: Any, argv: list[str]) -> None:
    fast = _fast(argv)
    assert fast[0] != "declined", "the fast path should run this command line itself"
    assert fast == _typer(typer_command, argv)


DECLINED = [
    [], ["--version"], ["--help"], ["show", "--help"], ["list", "-h"], ["show"],
    ["show", "1", "2"], ["show", "x"], ["show", "-1"], ["show", "+1"], ["list", "extra"],
    ["list", "--limit", "abc"], ["list", "--limit", "-1"], ["list", "-n5"],
    ["list", "--all=yes"], ["list", "-f=json"],
    ["list", "--", "x"], ["list", "--lang", "it"], ["list", "--format"], ["comment"],
    ["set-status"], ["open"], ["open", "a", "b"], ["open", "-x"], ["open", "a", "--follow-up",
    "x"], ["open", "a", "--follow-up", "-1"], ["comment", "1", "-bhi"], ["comment", "1", "-yb",
    "x"], ["set-status", "1", "open", "--no-dry-run"], ["comment", "1", "--", "-x"],
    ["set-status", "1", "open", "--if-status"], ["open", "--help"], ["comment", "-h"],
    ["--db"], ["--bogus", "list"], ["list", "--unknown"], ["show", "1", "--fields"],
    ["list", "-as"], ["list", "--no-all"], ["list", "--sta"],
]


@pytest.mark.parametrize("argv", DECLINED, ids=" ".join)
def test_anything_unusual_is_left_to_typer(bodies: None, argv: list[str]) -> None:
    assert _fast(argv) == ("declined", None)


def test_completion_requests_are_left_to_typer(bodies: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TICKETCLI_COMPLETE", "complete_bash")
    assert _fast(["list"]) == ("declined", None)


OPTIONS = sorted({*fastpath.LIST, *fastpath.SHOW, *fastpath.OPEN, *fastpath.COMMENT,
                  *fastpath.SET_STATUS, *fastpath.GLOBAL_PARAMS,
                  "--help", "-h", "--version", "--no-all", "--no-internal", "--", "-"})
VALUES = ["json", "table", "ids", "5", "0", "007", "-3", "abc", "", "x y", "a=b", "ü",
          "open", "new", "-priority", "title:desc", "2026-01-01", "me", "1", "42", "-",
          "k=v", "solved"]
TOKEN = st.one_of(
    st.sampled_from(OPTIONS),
    st.sampled_from(VALUES),
    st.builds(lambda o, v: f"{o}={v}", st.sampled_from(OPTIONS), st.sampled_from(VALUES)),
)
ARGV = st.builds(lambda pre, cmd, rest: [*pre, cmd, *rest],
                 st.lists(TOKEN, max_size=3),
                 st.sampled_from(["show", "list", "open", "comment", "set-status", "share"]),
                 st.lists(TOKEN, max_size=8))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=ARGV, env_db=st.sampled_from([None, "", "env.db"]),
       env_user=st.sampled_from([None, "", "env@example.com"]))
def test_whatever_the_fast_path_accepts_typer_reads_the_same_way(
        bodies: None, typer_command: Any, monkeypatch: pytest.MonkeyPatch,
        argv: list[str], env_db: str | None, env_user: str | None) -> None:
    for name, value in (("TICKETCLI_DB", env_db), ("TICKETCLI_USER", env_user)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    fast = _fast(argv)
    if fast[0] != "declined":
        assert fast == _typer(typer_command, argv)


def test_show_and_list_do_not_load_typer(desk: Desk) -> None:
    desk.open("Printer on fire")
    probe = ("import json, sys\nsys.argv = ['ticketcli', *json.loads(sys.argv[1])]\n"
             "from ticketcli.__main__ import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write(json.dumps(sorted(sys.modules)))\n")
    for argv in (["show", "1"], ["list", "--limit", "20"]):
        result = subprocess.run(
            [sys.executable, "-c", probe,
             json.dumps(["--db", str(desk.db), "--as", "admin@example.com", *argv])],
            capture_output=True, text=True, timeout=60,
        )
        loaded = json.loads(result.stderr.splitlines()[-1])
        assert "typer" not in loaded and "ticketcli.cli" not in loaded, argv


def test_the_installed_command_gives_the_same_answers_both_ways(desk: Desk) -> None:
    first = desk.open("Printer on fire")
    desk.open("VPN down", "--priority", "high")
    env = {"TICKETCLI_USER": "admin@example.com"}
    fast = run_cli("--db", str(desk.db), "list", "--format", "json", "--all", env=env)
    # Force the Typer path with an option spelling only Typer reads (-n5 = --limit 5).
    slow = run_cli("--db", str(desk.db), "list", "--format", "json", "--all", "-n100", env=env)
    assert fast.returncode == slow.returncode == 0
    assert json.loads(fast.stdout) == json.loads(slow.stdout)
    missing = run_cli("--db", str(desk.db), "show", "999", env=env)
    assert missing.returncode == 3
    assert missing.stderr.decode() == "Error: ticket 999 not found\n"
    shown = run_cli("--db", str(desk.db), "show", str(first), "--format", "json", env=env)
    assert json.loads(shown.stdout)["title"] == "Printer on fire"


def test_a_change_over_many_tickets_exits_alike_both_ways(desk: Desk) -> None:
    """Some tickets fail: the per-ticket report on stdout and the failures' exit code."""
    tid = desk.open("Printer on fire")
    env = {"TICKETCLI_USER": "admin@example.com"}
    args = ["--db", str(desk.db), "set-status", str(tid), "999", "pending"]
    fast = run_cli(*args, env=env)
    typer_way = subprocess.run(
        [sys.executable, "-c", "from ticketcli.cli import main; main()", *args],
        capture_output=True, timeout=60, env={**os.environ, **env})
    assert fast.returncode == typer_way.returncode == 3
    assert fast.stdout.decode().splitlines()[0] == f"{tid}\tok\tnew -> pending"
    assert typer_way.stdout.decode().splitlines()[0] == f"{tid}\tok\talready pending"
    assert fast.stdout.decode().splitlines()[1].startswith("999\tfailed\t")
