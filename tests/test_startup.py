"""The commands scripts call in loops stay lean: heavy modules stay off the import
path of show, list, open, comment and set-status (start-up time itself is measured
by the benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Desk

# typer and click: the fast path runs these commands without them; dataclasses: it
# imports inspect (ast, dis, tokenize), more than the rest of a show costs.
HEAVY = ["typer", "sqlite_utils", "rich", "pydantic", "click", "pluggy", "email", "smtplib",
         "tabulate", "tomli_w", "csv", "hashlib", "dataclasses", "inspect"]

PROBE = """
import json, sys
sys.argv = ["ticketcli", *json.loads(sys.argv[1])]
from ticketcli.__main__ import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


def _modules_loaded(args: list[str], db: Path) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["--db", str(db), *args])],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    loaded = json.loads(result.stderr.splitlines()[-1])
    return {m.split(".")[0] for m in loaded}


# Attachments need hashlib (their digest), and a change over many tickets may ask
# on the terminal; the plain forms scripts loop over need neither.
@pytest.mark.parametrize(
    "args",
    [["show", "1"], ["show", "1", "--format", "json"], ["list", "--limit", "20"],
     ["list", "--format", "json"], ["list", "--search", "printer", "--format", "ids"],
     ["open", "Printer on fire", "--body", "Smoke"], ["comment", "1", "Any news?"],
     ["comment", "1", "--internal", "--body", "Supplier says Tuesday"],
     ["set-status", "1", "open"], ["set-status", "1", "pending", "--if-status", "open"]],
    ids=" ".join,
)
def test_loop_commands_do_not_import_heavy_modules(desk: Desk, args: list[str]) -> None:
    desk.open("Printer on fire")
    loaded = _modules_loaded(["--as", "admin@example.com", *args], desk.db)
    assert "ticketcli" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert desk.ticket(1)["title"] == "Printer on fire"
