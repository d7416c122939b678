"""Completion scripts stay in step with the app, and real bash completes from them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, ROOT, Desk

sys.path.insert(0, str(ROOT / "scripts"))
import gen_completions  # noqa: E402


def test_committed_scripts_match_a_fresh_generation(tmp_path: Path) -> None:
    gen_completions.main(tmp_path)
    for name in gen_completions.TARGETS.values():
        committed = (ROOT / "completions" / name).read_text()
        fresh = (tmp_path / name).read_text()
        assert committed == fresh, f"completions/{name} is stale: run scripts/gen_completions.py"


def _complete(desk: Desk, words: list[str], user: str = ADMIN) -> list[str]:
    """What bash offers for the last word, with the bash script loaded."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "ticketcli").exists():
        pytest.fail(f"ticketcli is not installed next to {sys.executable}")
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ["ticketcli", *words])
    script = (
        f"source {ROOT / 'completions' / 'ticketcli.bash'}\n"
        f"COMP_WORDS=({quoted})\n"
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        "_ticketcli_completion ticketcli\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               TICKETCLI_DB=str(desk.db), TICKETCLI_USER=user)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


def test_bash_completes_commands_options_ids_statuses_and_emails(desk: Desk) -> None:
    for _ in range(12):
        desk.open("Printer on fire")
    assert "set-status" in _complete(desk, ["se"])
    assert "show" in _complete(desk, ["sh"])
    assert set(_complete(desk, ["list", "--st"])) == {"--status", "--stale"}
    assert _complete(desk, ["list", "--status", "p"]) == ["pending"]
    assert _complete(desk, ["set-status", "3", "so"]) == ["solved"]
    assert _complete(desk, ["show", "1"]) == ["1", "12", "11", "10"]
    assert _complete(desk, ["share", "1", "ag"]) == [AGENT]
    assert _complete(desk, ["list", "--format", "js"]) == ["json", "jsonl"]
    assert "me" in _complete(desk, ["list", "--assignee", ""])


def test_ticket_ids_complete_only_what_the_person_may_see(desk: Desk) -> None:
    theirs = [desk.open("Mine", as_=CUSTOMER) for _ in range(2)]
    desk.open("Someone else's")
    assert _complete(desk, ["show", ""], user=CUSTOMER) == [str(t) for t in reversed(theirs)]
    assert len(_complete(desk, ["show", ""], user=AGENT)) == 3
    assert _complete(desk, ["show", ""], user="stranger@example.com") == []


def test_emails_complete_only_what_the_person_may_know(desk: Desk) -> None:
    """Staff get the desk's addresses; a customer their own and their organization's
    (CUSTOMER is in Acme, OTHER in none); someone unknown nothing."""
    desk.run("user", "add", "colleague@example.com", "--org", "Acme")
    everyone = _complete(desk, ["share", "1", ""], user=AGENT)
    assert {CUSTOMER, OTHER, AGENT, ADMIN, "colleague@example.com"} <= set(everyone)
    assert set(_complete(desk, ["share", "1", ""], user=CUSTOMER)) == {
        CUSTOMER, "colleague@example.com"}
    assert _complete(desk, ["share", "1", ""], user=OTHER) == [OTHER]
    assert _complete(desk, ["share", "1", ""], user="stranger@example.com") == []


def test_completion_never_creates_a_database(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "missing" / "nothing.db")
    assert _complete(desk, ["show", ""]) == []
    assert not desk.db.exists()
