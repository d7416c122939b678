"""Commands stay lean: heavy modules stay off their import path (start-up time itself is
measured by the benchmark, bench/probes.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Desk

# Typer and click: the fast path runs every plain command line without them; the rest
# are libraries or standard modules a command pays for at every start (dataclasses
# imports inspect: ast, dis, tokenize; json and typing import re).
HEAVY = ["typer", "sqlite_utils", "rich", "pydantic", "click", "pluggy", "email", "smtplib",
         "tabulate", "tomli_w", "csv", "hashlib", "dataclasses", "inspect", "typing", "json",
         "pathlib", "contextlib", "importlib", "tomllib", "locale"]
# And re (with enum), which nothing on these paths needs: unless the interpreter loads
# it before any code runs (an editable install's import hook does).
LEAN = [*HEAVY, "re", "enum"]

PROBE = """
import sys
sys.argv = ["ticketcli", *sys.argv[1:]]
from ticketcli.__main__ import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\n" + " ".join(sorted(sys.modules)))
"""


def _modules(args: list[str], db: Path | None = None) -> set[str]:
    argv = ([] if db is None else ["--db", str(db), "--as", "admin@example.com"]) + args
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    return {m.split(".")[0] for m in result.stderr.splitlines()[-1].split()}


def _at_start() -> set[str]:
    result = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"],
                            capture_output=True, text=True, timeout=60, check=True)
    return {m.split(".")[0] for m in result.stdout.split()}


# The plain forms scripts loop over. Attachments need hashlib (their digest), and a
# change over many tickets may ask on the terminal; these need neither.
LOOPED = [["show", "1"], ["show", "1", "--format", "json"], ["list", "--limit", "20"],
          ["list", "--format", "json"], ["list", "--search", "printer", "--format", "ids"],
          ["open", "Printer on fire", "--body", "Smoke"], ["comment", "1", "Any news?"],
          ["comment", "1", "--internal", "--body", "Supplier says Tuesday"],
          ["set-status", "1", "open"], ["set-status", "1", "pending", "--if-status", "open"]]


@pytest.mark.parametrize("args", LOOPED, ids=" ".join)
def test_loop_commands_do_not_import_heavy_modules(desk: Desk, args: list[str]) -> None:
    desk.open("Printer on fire")
    loaded = _modules(args, desk.db)
    assert "ticketcli" in loaded
    avoidable = set(LEAN) - _at_start()
    assert not loaded & avoidable, sorted(loaded & avoidable)
    assert desk.ticket(1)["title"] == "Printer on fire"


# The other commands cron and scripts run often, with nothing to do.
OTHERS = [["--version"], ["user", "list"], ["close-stale"], ["org", "list"],
          ["notify", "list"], ["doctor"]]


@pytest.mark.parametrize("args", OTHERS, ids=" ".join)
def test_other_commands_do_not_load_typer(desk: Desk, args: list[str]) -> None:
    loaded = _modules(args, desk.db)
    assert "ticketcli" in loaded
    heavy = {"typer", "click", "rich", "pydantic", "sqlite_utils", "email", "smtplib",
             "tabulate", "dataclasses", "inspect"} - _at_start()
    assert not loaded & heavy, sorted(loaded & heavy)


def test_notify_send_with_nothing_to_send_loads_no_mail_machinery(desk: Desk,
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[smtp]\nfrom = "Desk <desk@example.com>"\nhost = "127.0.0.1"\n')
    desk.run("--config", str(config), "notify", "send")  # what the desk had queued
    loaded = _modules(["--config", str(config), "notify", "send"], desk.db)
    assert not loaded & ({"email", "smtplib", "ssl", "typer"} - _at_start())


def test_a_table_on_a_terminal_loads_no_table_library(desk: Desk) -> None:
    desk.open("Printer on fire")
    desk.open("Stampante più lenta, caffè già finito")  # Latin letters: one cell each
    loaded = _modules(["list", "--format", "table"], desk.db)
    assert not loaded & ({"tabulate", "wcwidth", "re"} - _at_start())


def test_wide_text_in_a_table_loads_wcwidth_for_its_width(desk: Desk) -> None:
    desk.open("打印机坏了")
    assert "wcwidth" in _modules(["list", "--format", "table"], desk.db)


@pytest.mark.parametrize("args", [["sla", "check"], ["show", "1"],
                                  ["list", "--format", "json"], ["list", "--sla", "breached"]],
                         ids=" ".join)
def test_service_levels_cost_no_heavy_module_on_the_frequent_paths(
        desk: Desk, tmp_path: Path, args: list[str]) -> None:
    """With policies and a calendar: cron's sla check with nothing due, show and list
    load neither the holidays package, the plotting library, the time-zone database,
    nor anything the loop commands avoid."""
    exported = desk.run("workflow", "export").stdout
    wf = tmp_path / "wf.toml"
    wf.write_text(exported + '\n[calendars.office]\ntimezone = "Europe/Rome"\n'
                  'holidays_country = "IT"\n[calendars.office.hours]\nmon = ["09:00-18:00"]\n'
                  '\n[[sla]]\nname = "all"\npriorities = ["normal"]\ncalendar = "office"\n'
                  'first_response = "1000h"\n')
    desk.run("workflow", "import", str(wf))
    desk.open("Printer on fire")
    loaded = _modules(args, desk.db)
    assert "ticketcli" in loaded
    avoidable = ({"holidays", "plotext", "zoneinfo", "tzdata", "typer", "click",
                  "dataclasses", "inspect", "json"} | set(LEAN)) - _at_start()
    assert not loaded & avoidable, sorted(loaded & avoidable)
