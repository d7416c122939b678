"""What a hostile review found, each reproduced as it was found: option injection into
sendmail, display-name spoofing, ids cut on stdin, writing through another user's
symlink, spreadsheet formulas, poison mail, terminal and line forgery, numbers that
crashed. Each test failed on the code before its fix."""

from __future__ import annotations

import email
import io
import json
import os
import sqlite3
import subprocess
import sys
import tracemalloc
from email import policy
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, ROOT, Desk, make_desk

from ticketcli.__main__ import run as run_program
from ticketcli.context import Context

FAST = [sys.executable, "-m", "ticketcli"]
TYPER = [sys.executable, "-c", "from ticketcli.cli import main; main()"]
WAYS = {"fast": FAST, "typer": TYPER}
NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make files of another "
                             "user (chown)")


def cli(db: Path, *args: str, way: list[str] = FAST, input: bytes | None = None,
        as_: str | None = ADMIN, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[bytes]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    who = ["--as", as_] if as_ else []
    return subprocess.run([*way, "--db", str(db), *who, *args], input=input,
                          capture_output=True, env=full, timeout=120, cwd=ROOT)


def no_crash(result: subprocess.CompletedProcess[bytes]) -> str:
    err = result.stderr.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    return err


def mail(sender: str, subject: str = "Hello", body: str = "Some text.", headers: str = "",
         ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (f"From: {sender}\r\nTo: helpdesk@desk.example\r\nSubject: {subject}\r\n{headers}"
            f"Content-Type: {ctype}\r\n\r\n{body}\r\n").encode()


def table(desk: Desk, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(desk.db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def dump(desk: Desk) -> list[str]:
    con = sqlite3.connect(desk.db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def fake_sendmail(tmp_path: Path) -> tuple[Path, Path]:
    """A sendmail that keeps its arguments and the message; and a config that uses it."""
    spool = tmp_path / "spool"
    spool.mkdir()
    script = tmp_path / "fake-sendmail"
    script.write_text(f'#!/bin/sh\nn=$(ls {spool} | wc -l)\nfor a in "$@"; do echo "$a"; '
                      f"done > {spool}/$n.args\ncat > {spool}/$n.eml\n")
    script.chmod(0o755)
    config = tmp_path / "mail.toml"
    config.write_text(f'[smtp]\nfrom = "Desk <helpdesk@desk.example>"\n'
                      f'sendmail = "{script} -i"\n[mail]\ntrust = "from"\n')
    return spool, config


# -- 1. sendmail option injection ----------------------------------------------------------


def test_mail_from_an_address_that_is_an_option_opens_nothing(desk: Desk) -> None:
    before = dump(desk)
    result = desk.run("mail-in", input=mail("--logfile=/tmp/x@evil.example"), as_=None,
                      expect=65)
    assert "From" in result.stderr
    assert dump(desk) == before


@pytest.mark.parametrize("args", [
    ["user", "add", "--", "-oQ/tmp/x@evil.example"],
    ["share", "1", "--", "-x@evil.example"],
    ["open", "On behalf", "--requester=-x@evil.example"],
    ["--as=-admin@example.com", "list"],
])
def test_an_address_that_starts_with_a_dash_is_refused_everywhere(desk: Desk,
                                                                    args: list[str]) -> None:
    desk.open("Printer on fire")
    before = dump(desk)
    result = desk.run(*args, expect=2, as_=None if args[0].startswith("--as") else ADMIN)
    assert "not a valid email address" in result.stderr
    assert dump(desk) == before


def test_sendmail_gets_the_recipient_after_a_double_dash(desk: Desk, tmp_path: Path) -> None:
    spool, config = fake_sendmail(tmp_path)
    desk.open("Printer on fire", as_=CUSTOMER)
    desk.run("--config", str(config), "notify", "send", as_=None)
    assert (spool / "0.args").read_text().splitlines() == ["-i", "--", CUSTOMER]


# -- 2. display-name spoofing ---------------------------------------------------------------


@pytest.mark.parametrize("sender", [
    f'"{AGENT}" <"evil x"@attacker.example>',
    f'"{AGENT}" <>',
    f'"{AGENT}" <"evil x"@attacker.example>, {AGENT}',
])
def test_a_display_name_is_never_taken_for_the_address(desk: Desk, sender: str) -> None:
    desk.open("Printer on fire", as_=CUSTOMER)
    before = dump(desk)
    result = desk.run("mail-in", input=mail(sender, "Re: [#1] Printer on fire", "Fixed."),
                      as_=None, expect=65)
    assert "no usable From address" in result.stderr
    assert dump(desk) == before


def test_the_parsed_address_is_the_sender(desk: Desk) -> None:
    result = desk.run("mail-in", input=mail(f'"{AGENT}" <{OTHER}>', "Toner", "Empty."),
                      as_=None)
    assert result.stdout == "1\n"
    assert desk.ticket(1)["requester"] == OTHER


# -- 3. ids on stdin -----------------------------------------------------------------------


def test_ids_on_stdin_are_never_cut(desk: Desk) -> None:
    for n in range(13):
        desk.open(f"Ticket {n + 1}")
    # Four million bytes of "2 ", then 13: the old reader stopped inside "13" and solved 1.
    ids = b"2 " * 2_000_000 + b"13\n"
    result = desk.run("set-status", "-", "solved", "--yes", input=ids, expect=None)
    assert result.exit_code == 0, result.stderr
    assert desk.status(1) == "new"
    assert desk.status(2) == "solved"
    assert desk.status(13) == "solved"
    assert result.stdout.splitlines() == ["2\tok\tnew -> solved", "13\tok\tnew -> solved"]


def _context(data: bytes) -> Context:
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    return Context(env={}, stdout=io.StringIO(), stderr=io.StringIO(), stdin=stdin)


def test_a_million_ids_on_stdin_take_little_memory() -> None:
    from ticketcli.commands.inputs import parse_ids

    data = "".join(f"{n}\n" for n in range(1, 1_000_001)).encode()
    c = _context(data)
    tracemalloc.start()
    try:
        ids = parse_ids(c, ["-"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(ids) == 1_000_000 and ids[0] == 1 and ids[-1] == 1_000_000
    assert list(ids[:3]) == [1, 2, 3]
    assert peak < 30_000_000, f"{peak / 1e6:.0f} MB for a million ids"


@pytest.mark.parametrize("token", ["1" * 5000, "99999999999999999999999", "12ab", "-3", "0"])
def test_an_id_on_stdin_that_is_no_ticket_id_is_a_usage_error(desk: Desk, token: str) -> None:
    desk.open("Printer on fire")
    result = desk.run("set-status", "-", "solved", input=f"1 {token}\n", expect=None)
    assert result.exit_code in (2, 3), result.stderr
    assert "internal error" not in result.stderr
    assert desk.status(1) == "new"


# -- 4. writing through another user's symlink ------------------------------------------------


@pytest.fixture
def sticky(tmp_path: Path) -> Path:
    """A world-writable sticky directory (as /tmp) and a file of another user in it."""
    place = tmp_path / "shared-tmp"
    place.mkdir()
    place.chmod(0o1777)
    victim = place / "victim.txt"
    victim.write_text("# precious\n")
    os.chown(victim, NOBODY, NOBODY)
    victim.chmod(0o666)
    return place


def _their_link(place: Path, name: str, target: Path) -> Path:
    link = place / name
    link.symlink_to(target)
    os.lchown(link, NOBODY, NOBODY)
    return link


@as_root
@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("command", [["export", "--output"], ["workflow", "export"]])
def test_output_never_goes_through_another_users_symlink(desk: Desk, sticky: Path,
                                                         command: list[str], way: str) -> None:
    victim = sticky / "victim.txt"
    link = _their_link(sticky, "export.jsonl", victim)
    result = cli(desk.db, *command, str(link), way=WAYS[way])
    assert result.returncode == 2, result.stderr
    assert "symbolic link" in no_crash(result)
    assert victim.read_text() == "# precious\n"
    assert link.is_symlink() and sorted(p.name for p in sticky.iterdir()) == [
        "export.jsonl", "victim.txt"]


@as_root
def test_config_set_never_goes_through_another_users_symlink(desk: Desk, sticky: Path) -> None:
    victim = sticky / "victim.txt"
    link = _their_link(sticky, "config.toml", victim)
    result = cli(desk.db, "--config", str(link), "config", "set", "user", ADMIN)
    assert result.returncode != 0
    assert "symbolic link" in no_crash(result)
    assert victim.read_text() == "# precious\n"


@as_root
def test_a_database_is_never_created_through_another_users_symlink(sticky: Path) -> None:
    empty = sticky / "empty"
    empty.write_bytes(b"")
    os.chown(empty, NOBODY, NOBODY)
    empty.chmod(0o666)
    link = _their_link(sticky, "desk.db", empty)
    result = cli(link, "init")
    assert result.returncode != 0
    assert "symbolic link" in no_crash(result)
    assert empty.read_bytes() == b""
    assert sorted(p.name for p in sticky.iterdir()) == ["desk.db", "empty", "victim.txt"]


@as_root
def test_your_own_symlink_is_still_followed(desk: Desk, tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text("")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    result = cli(desk.db, "--config", str(link), "config", "set", "user", ADMIN)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and "user" in real.read_text()


# -- 5. spreadsheet formulas ---------------------------------------------------------------


FORMULAS = ['=HYPERLINK("http://evil.example","Click")', "+1+2", "-2+3", "@SUM(A1)",
            "\tpadded", "\rreturn"]


def _csv_cells(text: str) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote(desk: Desk) -> None:
    ids = [desk.open(f"T{n}", "--category", "x", "--body", value)
           for n, value in enumerate(FORMULAS)]
    for tid, value in zip(ids, FORMULAS, strict=True):
        out = desk.run("show", str(tid), "--fields", "id,description", "--format",
                       "csv").stdout
        assert _csv_cells(out) == [["id", "description"], [str(tid), "'" + value]]
        # Scripts' formats keep the value exactly.
        data = json.loads(desk.run("show", str(tid), "--format", "json").stdout)
        assert data["description"] == value
        tsv = desk.run("show", str(tid), "--fields", "description", "--format", "tsv").stdout
        assert tsv.splitlines()[1] == value.replace("\t", "\\t").replace("\r", "\\r")
    title = desk.open("=1+1")
    rows = _csv_cells(desk.run("list", "--format", "csv").stdout)
    assert [r[1] for r in rows if r[0] == str(title)] == ["'=1+1"]
    assert [r["title"] for r in desk.json("list") if r["id"] == title] == ["=1+1"]


def test_a_lone_carriage_return_is_quoted_in_csv(desk: Desk) -> None:
    tid = desk.open("Lines", "--body", "first\rsecond")
    out = desk.run("show", str(tid), "--fields", "id,description", "--format", "csv").stdout
    assert out == f'id,description\n{tid},"first\rsecond"\n'
    assert _csv_cells(out) == [["id", "description"], [str(tid), "first\rsecond"]]


# -- 7. poison mail ------------------------------------------------------------------------


def _deep(levels: int) -> bytes:
    head = (f"From: {CUSTOMER}\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n')
    body = "".join(f'--b{i - 1}\r\nContent-Type: multipart/mixed; boundary="b{i}"\r\n\r\n'
                   for i in range(1, levels))
    body += f"--b{levels - 1}\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n"
    body += "".join(f"--b{i}--\r\n" for i in range(levels - 1, -1, -1))
    return (head + body).encode()


def _many_parts(count: int) -> bytes:
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\nx{i}\r\n" for i in range(count))
    return (f"From: {CUSTOMER}\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="b"\r\n\r\n{parts}--b--\r\n').encode()


POISON = {
    "utf-7 lone surrogate": (mail(CUSTOMER, "Hi", "Hello +2AA- there",
                                  ctype="text/plain; charset=utf-7"), "surrogate"),
    "utf-7 lone surrogate in the subject": (mail(CUSTOMER, "=?utf-7?Q?+2AA-?=", "Hello"),
                                            "surrogate"),
    "5,000-deep multipart": (_deep(5000), "nested"),
    "20,000 parts": (_many_parts(20_000), "parts"),
}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("name", POISON)
def test_poison_mail_is_unusable_not_retried(desk: Desk, name: str, way: str) -> None:
    data, why = POISON[name]
    before = dump(desk)
    result = cli(desk.db, "mail-in", input=data, way=WAYS[way], as_=None)
    err = no_crash(result)
    assert result.returncode == 65, err
    assert err.startswith("Error: ") and why in err, err
    assert dump(desk) == before


def test_a_long_text_is_cut_at_a_line_not_inside_a_character(desk: Desk) -> None:
    body = ("è" * 50 + "\r\n") * 50_000  # 5 MB of UTF-8, far over the body limit
    desk.run("mail-in", input=mail(CUSTOMER, "Long", body), as_=None)
    text = desk.ticket(1)["description"]
    assert text.startswith("è" * 50 + "\n") and "Ã" not in text and "\ufffd" not in text


def test_a_message_just_within_the_bounds_is_delivered(desk: Desk) -> None:
    result = desk.run("mail-in", input=_many_parts(200), as_=None)
    assert result.stdout == "1\n"
    assert desk.run("mail-in", input=_deep(15), as_=None).stdout == "2\n"
    assert desk.ticket(2)["description"] == "deep text"


# -- 8. terminal and line forgery ----------------------------------------------------------


def _on_terminal(desk: Desk, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    c = Context(env={**os.environ, "COLUMNS": "200"}, stdout=out, stderr=err,
                stdin=io.StringIO(""), is_tty=True)
    code = run_program(["--db", str(desk.db), "--as", ADMIN, *args], c)
    return code, out.getvalue(), err.getvalue()


UNSAFE = "\x1b]8;;http://evil.example\x07\x1b[2J\x9b\u202e\r"


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json", "jsonl", "table"])
def test_explicit_formats_on_a_terminal_show_control_characters(desk: Desk, fmt: str) -> None:
    tid = desk.open("Title \u202eevil", "--body", f"body {UNSAFE} end", "--field",
                    f"note=a{UNSAFE}b")
    for args in (["show", str(tid), "--fields", "id,title,description,fields"],
                 ["list", "--fields", "id,title,fields"], ["show", str(tid)]):
        code, out, _ = _on_terminal(desk, *args, "--format", fmt)
        assert code == 0
        for ch in "\x1b\x07\x9b\u202e\r":
            assert ch not in out, (args, fmt, ch, out)
    if fmt in ("json", "jsonl"):
        code, out, _ = _on_terminal(desk, "show", str(tid), "--format", fmt)
        assert json.loads(out)["description"] == f"body {UNSAFE} end"


def test_a_field_value_cannot_forge_a_line_of_shows_page(desk: Desk) -> None:
    tid = desk.open("Printer", "--field", "phone=1\nAssignee: admin@evil.example",
                    "--attach", _file(desk, "log\nRequester: x.txt"))
    code, out, _ = _on_terminal(desk, "show", str(tid))
    assert code == 0
    assert not any(line.startswith(("Assignee:", "Requester: x")) for line in out.splitlines())
    assert "admin@evil.example" in out


def _file(desk: Desk, name: str) -> str:
    path = desk.db.parent / name
    path.write_text("data")
    return str(path)


@pytest.mark.parametrize("name", ["Anna\u202eNeri", "Anna\x1b[31m", "A\x9bB", "A\x00B"])
def test_a_name_with_control_or_bidi_characters_is_refused(desk: Desk, name: str) -> None:
    result = desk.run("user", "add", "new@example.com", "--name", name, expect=2)
    assert "name" in result.stderr
    assert "new@example.com" not in [u["email"] for u in desk.json("user", "list")]


def test_a_name_is_one_line(desk: Desk) -> None:
    desk.run("user", "add", "new@example.com", "--name", "Anna\nRequester: admin\r")
    names = {u["email"]: u["name"] for u in desk.json("user", "list")}
    assert names["new@example.com"] == "Anna Requester: admin"


def test_mail_in_display_names_lose_control_and_bidi_characters(desk: Desk) -> None:
    sender = "=?utf-8?b?" + __import__("base64").b64encode(
        "Nuova\u202e \x1b[31mCliente\x07".encode()).decode() + "?= <new@customer.example>"
    desk.run("mail-in", input=mail(sender, "Aiuto"), as_=None)
    users = {u["email"]: u["name"] for u in desk.json("user", "list")}
    assert users["new@customer.example"] == "Nuova [31mCliente"


def test_mail_in_titles_lose_control_and_bidi_characters(desk: Desk) -> None:
    subject = "=?utf-8?q?Printer_=1B[31mred_=E2=80=AEevil?="
    assert desk.run("mail-in", input=mail("new@customer.example", subject), as_=None,
                    ).stdout == "1\n"
    assert desk.ticket(1)["title"] == "Printer [31mred evil"


def test_outbound_to_never_carries_control_or_bidi_characters(desk: Desk,
                                                                tmp_path: Path) -> None:
    spool, config = fake_sendmail(tmp_path)
    con = sqlite3.connect(desk.db)
    con.execute("UPDATE users SET name = ? WHERE email = ?",
                ("Anna\u202e\x1b[2J\r\nBcc: x@evil.example", CUSTOMER))
    con.commit()
    con.close()
    desk.open("Printer on fire", as_=CUSTOMER)
    desk.run("--config", str(config), "notify", "send", as_=None)
    raw = (spool / "0.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == CUSTOMER
    assert all(ch not in str(msg["To"]) for ch in "\u202e\x1b\r\n")
    assert msg["Bcc"] is None


# -- 9. numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("args", [
    ["show", "9" * 5000],
    ["set-status", "9" * 5000, "solved"],
    ["comment", "9" * 5000, "hello"],
    ["notify", "list", "--ticket", "99999999999999999999999"],
    ["notify", "list", "--ticket", "9" * 5000],
    ["show", "99999999999999999999999"],
    ["list", "--limit", "99999999999999999999999"],
])
def test_numbers_out_of_range_are_usage_errors_or_not_found(desk: Desk, args: list[str],
                                                            way: str) -> None:
    desk.open("Printer on fire")
    result = cli(desk.db, *args, way=WAYS[way])
    no_crash(result)
    assert result.returncode in (2, 3), result.stderr


def test_a_lone_surrogate_in_an_import_line_names_the_file_and_line(desk: Desk,
                                                                   tmp_path: Path) -> None:
    desk.open("Printer on fire")
    lines = desk.run("export").stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if '"type": "ticket"' in line)
    lines[at] = lines[at].replace('"Printer on fire"', '"Printer \\ud800 on fire"')
    source = tmp_path / "bad.jsonl"
    source.write_text("\n".join(lines) + "\n")
    fresh = make_desk(tmp_path, name="fresh.db")
    result = fresh.run("import", "--new-ids", str(source), expect=2)
    assert f"{source}:{at + 1}:" in result.stderr
    assert "surrogate" in result.stderr
    assert fresh.json("list", "--all") == []
