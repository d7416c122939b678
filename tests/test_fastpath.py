"""The fast path (ticketcli/fastpath.py) runs every plain command line exactly as the
Typer app would: the same command function, the same arguments, the same global
options; or it leaves the command line to Typer. What it knows of the options is
generated from the Typer declarations (ticketcli/commands/_table.py)."""

from __future__ import annotations

import inspect
import json
import os
import random
import subprocess
import sys
from typing import Any

import pytest
from conftest import ROOT, Desk, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketcli import cli, fastpath
from ticketcli.commands import COMMANDS, function
from ticketcli.commands import _table as table
from ticketcli.context import Context


class Called(BaseException):
    """Raised instead of running the command: a BaseException, so no error boundary
    keeps it."""

    def __init__(self, call: dict[str, Any]) -> None:
        self.call = call


class Recorder(Context):
    """A context whose commands only say what they were called with."""

    def dispatch(self, fn: Any, arguments: dict[str, Any]) -> int:
        bound = inspect.signature(fn).bind(self, **arguments)
        bound.apply_defaults()
        called = dict(bound.arguments)
        called.pop("c")
        raise Called({"command": f"{fn.__module__}.{fn.__qualname__}", "arguments": called,
                      "db": self.db_option, "config": self.config_option, "as": self.as_option,
                      "lang": self.lang_option})


def _fast(argv: list[str]) -> tuple[str, Any]:
    try:
        code = fastpath.run(Recorder(), argv)
    except Called as called:
        return "called", called.call
    return ("declined", None) if code is None else ("exit", code)


def _typer(argv: list[str]) -> tuple[str, Any]:
    try:
        code = cli.run(Recorder(), argv)
    except Called as called:
        return "called", called.call
    return "exit", code


# -- the generated table is the declarations ------------------------------------------------


def test_the_table_is_generated_from_the_current_declarations() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_fastpath
    finally:
        sys.path.pop(0)
    fresh = gen_fastpath.render()
    committed = (ROOT / "ticketcli" / "commands" / "_table.py").read_text()
    assert committed == fresh, "ticketcli/commands/_table.py is stale: run " \
                               "python scripts/gen_fastpath.py"


def test_every_typer_option_and_argument_is_known_to_the_fast_path() -> None:
    from typer.core import TyperArgument, TyperOption

    assert set(table.COMMANDS) == set(COMMANDS)
    for path in COMMANDS:
        command = cli.built(path)
        _, options, arguments, _ = table.COMMANDS[path]
        for param in command.params:
            if isinstance(param, TyperOption) and param.name != "help":
                for opt in [*param.opts, *param.secondary_opts]:
                    assert options.get(opt, (None,))[0] == param.name, (path, opt)
            elif isinstance(param, TyperArgument):
                assert param.name in [a[0] for a in arguments], (path, param.name)
    root = cli.root_command()
    for param in root.params:
        if isinstance(param, TyperOption) and param.name != "help":
            for opt in param.opts:
                assert opt in table.GLOBAL, opt


def test_every_command_takes_the_fast_path_for_a_plain_command_line() -> None:
    for path in COMMANDS:
        _, options, arguments, required = table.COMMANDS[path]
        words = ["1" if kind in ("int", "id") else "x@example.com"
                 for _, kind, _, needed in arguments if needed]
        words += [w for opt, (param, _) in options.items() if param in required
                  and opt.startswith("--") for w in (opt, "x")]
        if path == "set-status":
            words = ["1", "open"]
        if path == "comment":
            words = ["1", "hello"]
        assert _fast([*path.split(), *words])[0] == "called", path


# -- both ways agree -------------------------------------------------------------------------

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
    ["comment", "1", "--", "-x"],
    ["set-status", "42"],
    ["set-status", "42", "solved"],
    ["set-status", "-", "solved", "--yes", "--resolution", "done", "--note", "n",
     "--if-status", "open", "--dry-run"],
    ["--lang", "it", "set-status", "1", "2", "closed", "-y"],
    ["share", "4", "a@b.c", "d@e.f", "--remove"],
    ["assign", "4"],
    ["take", "4"],
    ["init", "--preset", "care", "--stale-after", "21d"],
    ["close-stale", "--dry-run", "--now", "2026-12-01T00:00:00Z", "--limit", "5", "--quiet"],
    ["user", "add", "a@b.c", "--role", "agent", "--org", "Acme"],
    ["user", "list", "--format", "json"],
    ["org", "add", "Acme", "--manager", "m@b.c"],
    ["workflow", "export", "desk.toml"],
    ["workflow", "import", "desk.toml", "--map", "on_hold=pending"],
    ["config", "set", "language", "it"],
    ["doctor", "-f", "json"],
    ["notify", "send", "--limit", "0", "--quiet"],
    ["notify", "retry", "17", "18"],
    ["notify", "retry", "--all-failed"],
    ["notify", "template", "show", "reply", "--lang", "it"],
    ["mail-in"],
    ["import", "-", "--format", "csv", "--new-ids", "--dry-run"],
    ["export", "--output", "x.jsonl"],
]


@pytest.mark.parametrize("argv", HANDLED, ids=" ".join)
def test_the_fast_path_runs_plain_command_lines_as_typer_does(argv: list[str]) -> None:
    fast = _fast(argv)
    assert fast[0] != "declined", "the fast path should run this command line itself"
    assert fast == _typer(argv)


DECLINED = [
    [], ["--help"], ["show", "--help"], ["list", "-h"], ["show"],
    ["show", "1", "2"], ["show", "x"], ["show", "-1"], ["show", "+1"], ["list", "extra"],
    ["list", "--limit", "abc"], ["list", "--limit", "-1"], ["list", "-n5"],
    ["list", "--all=yes"], ["list", "-f=json"],
    ["list", "--", "x"], ["list", "--lang", "it"], ["list", "--format"], ["comment"],
    ["set-status"], ["open"], ["open", "a", "b"], ["open", "-x"], ["open", "a", "--follow-up",
    "x"], ["open", "a", "--follow-up", "-1"], ["comment", "1", "-bhi"], ["comment", "1", "-yb",
    "x"], ["set-status", "1", "open", "--no-dry-run"],
    ["set-status", "1", "open", "--if-status"], ["open", "--help"], ["comment", "-h"],
    ["--db"], ["--bogus", "list"], ["list", "--unknown"], ["show", "1", "--fields"],
    ["list", "-as"], ["list", "--no-all"], ["list", "--sta"], ["user"], ["user", "bogus"],
    ["notify", "template"], ["user", "--db", "x", "list", "--bogus"], ["lst"],
]


@pytest.mark.parametrize("argv", DECLINED, ids=" ".join)
def test_anything_unusual_is_left_to_typer(argv: list[str]) -> None:
    assert _fast(argv) == ("declined", None)


def test_completion_requests_are_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TICKETCLI_COMPLETE", "complete_bash")
    assert _fast(["list"]) == ("declined", None)


def test_version_is_printed_by_the_fast_path(capsys: pytest.CaptureFixture[str]) -> None:
    from ticketcli import __version__

    c = Recorder()
    assert fastpath.run(c, ["--version"]) == 0
    assert capsys.readouterr().out == f"ticketcli {__version__}\n"


# -- command lines built from the declarations ---------------------------------------------

WORDS = ["x", "printer ink", "ü", "a=b", "-", "--", "-x", "", "2026-01-01", "me", "k=v",
         "open", "a@b.c", "-3 °C"]


def _value(kind: str, rng: random.Random) -> str:
    if kind in ("int", "multi_int"):
        return rng.choice(["0", "1", "7", "42", "007", "99999999999999999999"])
    if kind == "id":  # a ticket id: 12 or #12
        return rng.choice(["1", "#1", "42", "#007", "#", "##3"])
    if kind == "float":
        return rng.choice(["0", "1.5", "30"])
    return rng.choice(WORDS)


GLOBAL_VALUES = {"--db": ["x.db", "desk.db"], "--config": ["c.toml", "d.toml"],
                 "--as": ["a@b.c", "me@example.com"], "--lang": ["it", "en"]}


def _command_line(rng: random.Random) -> list[str]:
    """A command line as the declarations allow it: a command, some of its options in
    any spelling, its arguments, global options before or after."""
    path = rng.choice(list(COMMANDS))
    _, options, arguments, required = table.COMMANDS[path]
    front: list[str] = []
    for opt in rng.sample(list(table.GLOBAL), rng.randint(0, 2)):
        _, kind = table.GLOBAL[opt]
        if kind == "version":
            continue
        if kind in ("flag", "off"):
            front.append(opt)
            continue
        front += [opt, GLOBAL_VALUES.get(opt, ["x"])[rng.randrange(2)]]
    words: list[str] = []
    chosen = rng.sample(list(options), min(len(options), rng.randint(0, 4)))
    chosen += [o for o, (param, _) in options.items() if param in required and o.startswith("--")]
    for opt in dict.fromkeys(chosen):
        _, kind = options[opt]
        if kind in ("flag", "off"):
            words.append(opt)
        elif opt.startswith("--") and rng.random() < 0.3:
            words.append(f"{opt}={_value(kind, rng)}")
        else:
            words += [opt, _value(kind, rng)]
    positional: list[str] = []
    for _, kind, nargs, required in arguments:
        if required or rng.random() < 0.5:
            count = rng.randint(1, 3) if nargs == -1 else 1
            positional += [rng.choice(["1", "12", "3"]) if kind == "int" else
                           rng.choice(["1", "#12", "3"]) if kind == "id"
                           else rng.choice(["x", "y z", "a@b.c", "solved"])
                           for _ in range(count)]
    if any(w.startswith("-") and w != "-" for w in positional):
        positional = ["--", *positional]
    tail: list[str] = []
    if rng.random() < 0.3:
        opt = rng.choice(table.MOVABLE)
        tail = [opt] if table.GLOBAL[opt][1] == "flag" else \
            [opt, "after.db" if opt != "--as" else "b@c.d"]
    return [*front, *path.split(), *words, *tail, *positional]


def test_command_lines_from_the_declarations_run_alike_both_ways(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(14)
    monkeypatch.setenv("TICKETCLI_USER", "env@example.com")
    reached = 0
    total = 600
    for _ in range(total):
        argv = _command_line(rng)
        fast = _fast(argv)
        if fast[0] == "declined":
            continue
        assert fast == _typer(argv), argv
        reached += fast[0] == "called"
    assert reached >= 0.9 * total, f"only {reached} of {total} command lines were compared"


OPTIONS = sorted({o for _, opts, _, _ in table.COMMANDS.values() for o in opts}
                 | set(table.GLOBAL) | {"--help", "-h", "--no-all", "--", "-"})
VALUES = ["json", "table", "ids", "5", "0", "007", "-3", "abc", "", "x y", "a=b", "ü",
          "open", "new", "-priority", "title:desc", "2026-01-01", "me", "1", "42", "-",
          "k=v", "solved"]
TOKEN = st.one_of(
    st.sampled_from(OPTIONS),
    st.sampled_from(VALUES),
    st.builds(lambda o, v: f"{o}={v}", st.sampled_from(OPTIONS), st.sampled_from(VALUES)),
)
ARGV = st.builds(lambda pre, cmd, rest: [*pre, *cmd.split(), *rest],
                 st.lists(TOKEN, max_size=3),
                 st.sampled_from([*COMMANDS, "user", "notify template"]),
                 st.lists(TOKEN, max_size=8))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=ARGV, env_db=st.sampled_from([None, "", "env.db"]),
       env_user=st.sampled_from([None, "", "env@example.com"]))
def test_whatever_the_fast_path_accepts_typer_reads_the_same_way(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], env_db: str | None,
        env_user: str | None) -> None:
    for name, value in (("TICKETCLI_DB", env_db), ("TICKETCLI_USER", env_user)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    fast = _fast(argv)
    if fast[0] != "declined":
        assert fast == _typer(argv)


def test_every_command_function_is_found_by_its_words() -> None:
    for path, (module, name) in COMMANDS.items():
        fn = function(path)
        assert callable(fn) and fn.__module__ == f"ticketcli.commands.{module}", path
        assert fn.__name__ == name


# -- the installed command --------------------------------------------------------------------


def test_show_and_list_do_not_load_typer(desk: Desk) -> None:
    desk.open("Printer on fire")
    probe = ("import json, sys\nsys.argv = ['ticketcli', *json.loads(sys.argv[1])]\n"
             "from ticketcli.__main__ import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write(json.dumps(sorted(sys.modules)))\n")
    for argv in (["show", "1"], ["list", "--limit", "20"], ["user", "list"], ["close-stale"],
                 ["--version"]):
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
