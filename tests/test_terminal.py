"""ticketcli in a real pseudo-terminal (pexpect), its screen read by a terminal emulator
(pyte) at 80 and 200 columns: tables that fit, aligned by display width; show wrapped;
the pager; Ctrl-D and Ctrl-C; closed pipes at any size."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pyte
import pytest
from conftest import ADMIN, AGENT, CUSTOMER, ROOT, Desk, make_desk

LONG = ("The office printer on the third floor prints every page twice and then jams "
        "halfway through the second copy of the quarterly report")  # 136 characters
CJK = "打印机坏了，请帮忙修理一下谢谢"  # 15 wide characters, 30 cells
EMOJI = "Printer on fire 🔥 again 🔥 help"  # wide emoji (not those a terminal may
# draw one cell or two: with a variation selector)
TYPER = ["-c", "from ticketcli.cli import main; main()"]  # the Typer app, fast path off


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PAGER",
                                                           "TICKETCLI_PAGER", "LESS")}
    env.update({"TERM": "xterm-256color", "LANG": "en_US.UTF-8", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


class Screen:
    """What a person sees after a command ran in a terminal of ``cols`` x ``rows``."""

    def __init__(self, raw: str, cols: int, rows: int, status: int | None) -> None:
        self.raw, self.status = raw, status
        self.screen = pyte.Screen(cols, rows)
        pyte.Stream(self.screen).feed(raw)
        self.lines = [line.rstrip() for line in self.screen.display]
        while self.lines and not self.lines[-1]:
            self.lines.pop()

    def cells(self, y: int) -> str:
        """Row ``y``, one character per cell (a wide character's second cell is \\0)."""
        row = self.screen.buffer[y]
        return "".join(row[x].data or "\0" for x in range(self.screen.columns))


def terminal(argv: list[str], cols: int, rows: int = 60, env: dict[str, str] | None = None,
             steps: Any = None, program: list[str] | None = None) -> Screen:
    import io

    child = pexpect.spawn(sys.executable, [*(program or ["-m", "ticketcli"]), *argv],
                          dimensions=(rows, cols), env=env or _env(TICKETCLI_PAGER=""),
                          encoding="utf-8", timeout=60, cwd=str(ROOT))
    seen = io.StringIO()
    child.logfile_read = seen
    if steps is not None:
        steps(child)
    child.expect(pexpect.EOF)
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus
                                                                          or 0)
    return Screen(seen.getvalue(), cols, rows, status)


def base(desk: Desk, as_: str = ADMIN) -> list[str]:
    return ["--db", str(desk.db), "--as", as_]


@pytest.fixture
def stocked(tmp_path: Path) -> Desk:
    desk = make_desk(tmp_path)
    desk.open(LONG, "--priority", "high", as_=CUSTOMER)
    desk.open(CJK, as_=CUSTOMER)
    desk.open(EMOJI, as_=CUSTOMER)
    desk.open("Short", as_=CUSTOMER)
    desk.run("take", "1", as_=AGENT)
    return desk


# -- tables that fit ------------------------------------------------------------------------


@pytest.mark.parametrize("cols", [80, 200])
def test_list_fits_the_terminal_and_aligns_by_display_width(stocked: Desk, cols: int) -> None:
    seen = terminal([*base(stocked), "list"], cols)
    assert seen.status == 0
    lines = seen.lines
    assert len(lines) == 6, lines  # header, rule, four rows: nothing wrapped
    assert lines[0].startswith("ID") and lines[0].endswith("Title")
    title_at = seen.cells(0).index("Title")
    for y in range(2, 6):
        row = seen.cells(y)
        assert row[title_at - 2:title_at] == "  " and row[title_at] != " ", (y, row)
        assert len(row.rstrip()) <= cols
    titles = {seen.cells(y)[title_at:].rstrip().replace("\0", "") for y in range(2, 6)}
    assert "Short" in titles
    cjk = next(t for t in titles if t.startswith(CJK[:4]))
    long_title = next(t for t in titles if t.startswith("The office"))
    if cols == 200:  # the whole titles: the other columns leave room
        assert long_title == LONG and cjk == CJK and EMOJI in titles
    else:
        assert long_title.endswith("…") and LONG.startswith(long_title[:-1])
        assert cjk.endswith("…") and CJK.startswith(cjk[:-1])
        assert any(t.startswith("Printer on fire 🔥") for t in titles)
    # The title column ends where the widest title ends: at most the terminal's width.
    assert max(len(seen.cells(y).rstrip()) for y in range(6)) <= cols


def test_the_two_widths_show_the_same_rows(stocked: Desk) -> None:
    narrow = terminal([*base(stocked), "list"], 80)
    wide = terminal([*base(stocked), "list"], 200)
    ids = [[line.split()[0] for line in s.lines[2:]] for s in (narrow, wide)]
    assert ids[0] == ids[1] == ["4", "3", "2", "1"]
    for n, w in zip(narrow.lines[2:], wide.lines[2:], strict=True):
        assert n.split()[:2] == w.split()[:2]  # id and status alike


def test_a_narrow_terminal_still_never_wraps(stocked: Desk) -> None:
    seen = terminal([*base(stocked), "list"], 50)
    assert len(seen.lines) == 6
    assert all(len(seen.cells(y).rstrip()) <= 50 for y in range(6))


def test_an_empty_list_says_so_on_stderr_and_exits_0(desk: Desk) -> None:
    seen = terminal([*base(desk), "list"], 80)
    assert seen.status == 0 and seen.lines == ["No tickets match."]
    piped = desk.run("list")
    assert piped.stdout == "" and piped.stderr == ""


def test_the_limit_note_only_when_the_default_limit_cut_the_list(desk: Desk) -> None:
    for i in range(101):
        desk.open(f"t{i}")
    cut = desk.run("list", "--format", "ids")
    assert len(cut.stdout.split()) == 100 and "showing the first 100" in cut.stderr
    assert desk.run("list", "--limit", "5", "--format", "ids").stderr == ""
    assert desk.run("list", "--limit", "100", "--format", "ids").stderr == ""
    assert desk.run("list", "--limit", "0", "--format", "ids").stderr == ""


# -- show -----------------------------------------------------------------------------------


def test_show_wraps_at_word_boundaries(stocked: Desk) -> None:
    body = " ".join(["supercalifragilistic", "word"] * 30)
    stocked.run("comment", "1", body)
    stocked.run("assign", "1", AGENT)
    seen = terminal([*base(stocked), "show", "1"], 80)
    assert seen.status == 0
    lines = seen.lines
    assert all(len(line) <= 80 for line in lines)
    comment = [line for line in lines if line.startswith("    supercal")]
    assert len(comment) > 3
    for line in comment:
        assert line.split() and all(w in ("supercalifragilistic", "word")
                                    for w in line.split())  # no word cut in two
    wide = terminal([*base(stocked), "show", "1"], 200)
    assert len([ln for ln in wide.lines if ln.startswith("    supercal")]) < len(comment)


def test_history_reads_as_words(stocked: Desk, tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text("x" * 2048)
    stocked.run("comment", "1", "see log", "--attach", str(tmp_path / "log.txt"),
                as_=CUSTOMER)
    stocked.run("assign", "1")
    page = stocked.run("show", "1", "--format", "table").stdout
    history = page.split("History:")[1]
    assert "None" not in history and "{" not in history and "'" not in history
    assert f"assigned to {AGENT}" in history
    assert f"assigned none (was {AGENT})" in history
    digest = stocked.ticket(1)["attachments"][0]["sha256"]
    assert f"attachment log.txt (2.0 kB, sha256 {digest[:12]})" in history
    assert digest not in page  # never the whole hash
    for line in history.strip().splitlines():
        when, who, what = line.strip().split("  ", 2)
        assert "  " not in what, line


# -- the pager ------------------------------------------------------------------------------


@pytest.fixture
def long_ticket(stocked: Desk) -> Desk:
    stocked.run("comment", "1", "\n".join(f"line {i}" for i in range(80)))
    return stocked


def test_long_output_goes_through_the_pager(long_ticket: Desk, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    seen = terminal([*base(long_ticket), "show", "1"], 80, rows=24,
                    env=_env(TICKETCLI_PAGER=f"cat > {paged}", PAGER="false"))
    assert seen.status == 0
    text = paged.read_text()
    assert "line 79" in text and text.startswith("#1  The office")
    assert "line 79" not in seen.raw
    # PAGER when TICKETCLI_PAGER is not set.
    seen = terminal([*base(long_ticket), "show", "1"], 80, rows=24,
                    env=_env(PAGER=f"cat > {paged}.2"))
    assert "line 79" in Path(f"{paged}.2").read_text()


def test_short_output_no_pager_and_pipes_never_page(long_ticket: Desk, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    pager = _env(TICKETCLI_PAGER=f"touch {marker}; cat")
    seen = terminal([*base(long_ticket), "show", "4"], 80, rows=60, env=pager)
    assert "Short" in seen.raw and not marker.exists()  # one screen: no pager
    seen = terminal([*base(long_ticket), "--no-pager", "show", "1"], 80, rows=24, env=pager)
    assert "line 79" in seen.raw and not marker.exists()
    seen = terminal([*base(long_ticket), "show", "1", "--no-pager"], 80, rows=24, env=pager)
    assert "line 79" in seen.raw and not marker.exists()
    piped = subprocess.run([sys.executable, "-m", "ticketcli", *base(long_ticket), "show",
                            "1", "--format", "table"], env={**pager, "COLUMNS": "80"},
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "line 79" in piped.stdout and not marker.exists()


@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_the_default_pager_is_less(long_ticket: Desk) -> None:
    def quit_less(child: Any) -> None:
        child.expect("line 1")
        child.send("q")

    seen = terminal([*base(long_ticket), "show", "1"], 80, rows=24, env=_env(),
                    steps=quit_less)
    assert seen.status == 0
    assert "line 79" not in seen.raw  # less showed the first screen only


def test_a_missing_pager_prints_the_text_with_a_note(long_ticket: Desk) -> None:
    seen = terminal([*base(long_ticket), "show", "1"], 80, rows=24,
                    env=_env(TICKETCLI_PAGER="no-such-pager-here"))
    assert seen.status == 0 and "line 79" in seen.raw and "--no-pager" in seen.raw


# -- reading from a terminal, Ctrl-C --------------------------------------------------------


@pytest.mark.parametrize("program", [None, TYPER], ids=["fast path", "Typer app"])
def test_a_body_from_the_terminal_prompts_and_ends_with_ctrl_d(desk: Desk,
                                                               program: Any) -> None:
    def type_it(child: Any) -> None:
        child.expect("end with Ctrl-D")
        child.sendline("It smokes")
        child.sendeof()

    seen = terminal([*base(desk), "open", "Printer", "--body-file", "-"], 80, steps=type_it,
                    program=program)
    assert seen.status == 0
    tid = int(seen.lines[-1])
    assert desk.ticket(tid)["description"] == "It smokes\n"


@pytest.mark.parametrize("program", [None, TYPER], ids=["fast path", "Typer app"])
def test_ctrl_c_prints_one_error_line_and_exits_130(desk: Desk, program: Any) -> None:
    def interrupt(child: Any) -> None:
        child.expect("end with Ctrl-D")
        child.sendintr()

    seen = terminal([*base(desk), "open", "Printer", "--body-file", "-"], 80,
                    steps=interrupt, program=program)
    assert seen.status == 130
    errors = [line for line in seen.lines if line.startswith("Error:")]
    assert errors == ["Error: interrupted; what was already saved stays saved"]
    assert "Traceback" not in seen.raw
    assert desk.json("list") == []


# -- closed pipes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A desk whose export is megabytes: far more than a pipe holds."""
    root = tmp_path_factory.mktemp("big")
    desk = make_desk(root)
    tid = desk.open("Seed", "--body", "word " * 1000)
    desk.run("comment", str(tid), "reply " * 200)
    lines = desk.run("export").stdout.splitlines()
    ticket = next(json.loads(line) for line in lines if json.loads(line)["type"] == "ticket")
    head = [line for line in lines if json.loads(line)["type"] != "ticket"]
    copies = [json.dumps({**ticket, "id": i}) for i in range(2, 602)]
    (root / "big.jsonl").write_text("\n".join([*head, *copies]) + "\n")
    desk.run("import", str(root / "big.jsonl"), "--new-ids")
    return desk.db


@pytest.mark.parametrize("program", [["-m", "ticketcli"], TYPER], ids=["fast path", "Typer"])
@pytest.mark.parametrize("command", [["export"], ["list", "--limit", "0", "--format", "json"],
                                     ["list", "--all", "--limit", "0"]])
def test_a_closed_pipe_ends_any_command_quietly(big_desk: Path, program: list[str],
                                                command: list[str], tmp_path: Path) -> None:
    argv = [sys.executable, *program, "--db", str(big_desk), "--as", ADMIN, *command]
    script = " ".join(f"'{a}'" for a in argv) + f" 2>{tmp_path / 'err'} | head -n 1 " \
        "> /dev/null; exit ${PIPESTATUS[0]}"
    done = subprocess.run(["bash", "-c", script], env=_env(), timeout=120, cwd=ROOT)
    assert done.returncode == 0
    assert (tmp_path / "err").read_text() == ""
