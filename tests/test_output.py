"""Output formats (table, json, jsonl, csv, tsv, ids, and the non-terminal default) and labels.

Most tests here only read, so they share one desk per module to stay fast.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, isolate_home, make_desk

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TICKET_KEYS = ("id", "title", "status", "phase", "priority", "category", "requester",
               "assignee", "created_at", "updated_at")
FORMATS = ("table", "json", "jsonl", "csv", "tsv", "ids")
TRICKY_TITLE = 'Comma, "quotes" and ünïcödé 🖨️'

@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, dict[str, int]]]:
    """A desk with a few tickets in different states; tests must not change it."""
    base = tmp_path_factory.mktemp("output")
    with pytest.MonkeyPatch.context() as mp:
        isolate_home(mp, base / "home")
        mp.setenv("LANG", "en_US.UTF-8")
        for var in ("LC_ALL", "LC_MESSAGES"):
            mp.delenv(var, raising=False)
        desk = make_desk(base)
        t = {}
        t["new"] = desk.open("Printer on fire", "--body", "Smoke\neverywhere", "--category",
                             "Printers", as_=CUSTOMER)
        t["tricky"] = desk.open(TRICKY_TITLE, "--priority", "urgent", as_=OTHER)
        desk.run("assign", str(t["tricky"]), AGENT)
        t["pending"] = desk.open("Waiting", as_=CUSTOMER)
        desk.run("comment", str(t["pending"]), "Send logs", "--status", "pending", as_=AGENT)
        t["closed"] = desk.open("Done", as_=CUSTOMER)
        desk.run("set-status", str(t["closed"]), "closed", as_=AGENT)
        desk.run("comment", str(t["new"]), "Public\treply\nline 2", as_=AGENT)
        desk.run("comment", str(t["new"]), "--internal", "Internal remark", as_=AGENT)
        desk.run("share", str(t["new"]), OTHER, as_=CUSTOMER)
        yield desk, t


def run(desk: Desk, *args: str, as_: str | None = ADMIN,
        env: dict[str, str] | None = None) -> str:
    return str(desk.run(*args, as_=as_, env=env).stdout)


# -- json -----------------------------------------------------------------------------------


def test_list_json_is_an_array_with_stable_fields(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    data = json.loads(run(desk, "list", "--format", "json"))
    assert isinstance(data, list)
    assert [r["id"] for r in data] == [t["pending"], t["tricky"], t["new"]]
    for record in data:
        for key in TICKET_KEYS:
            assert key in record, key
        assert ISO_Z.match(record["created_at"])
        assert ISO_Z.match(record["updated_at"])
        assert isinstance(record["id"], int)
    by_id = {r["id"]: r for r in data}
    tricky = by_id[t["tricky"]]
    assert tricky["title"] == TRICKY_TITLE
    assert tricky["priority"] == "urgent"
    assert tricky["assignee"] == AGENT
    assert tricky["requester"] == OTHER
    assert tricky["status"] == "new" and tricky["phase"] == "new"
    assert by_id[t["new"]]["category"] == "Printers"
    assert by_id[t["pending"]]["status"] == "pending"
    assert by_id[t["pending"]]["phase"] == "pending"


def test_show_json_has_the_conversation(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    data = json.loads(run(desk, "show", str(t["new"]), "--format", "json"))
    assert isinstance(data, dict)
    for key in (*TICKET_KEYS, "description", "participants", "comments", "history"):
        assert key in data, key
    assert data["description"] == "Smoke\neverywhere"
    assert data["participants"] == [OTHER]
    assert [(c["author"], c["body"], c["internal"]) for c in data["comments"]] == [
        (AGENT, "Public\treply\nline 2", False),
        (AGENT, "Internal remark", True),
    ]
    for c in data["comments"]:
        assert ISO_Z.match(c["created_at"])
    assert data["history"][0]["event"] == "opened"
    assert data["history"][0]["actor"] == CUSTOMER
    for h in data["history"]:
        assert ISO_Z.match(h["at"])


def test_jsonl_matches_json(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    array = json.loads(run(desk, "list", "--all", "--format", "json"))
    lines = run(desk, "list", "--all", "--format", "jsonl").splitlines()
    assert [json.loads(line) for line in lines] == array
    shown = run(desk, "show", str(t["new"]), "--format", "jsonl")
    assert shown.count("\n") == 1
    assert json.loads(shown) == json.loads(run(desk, "show", str(t["new"]), "--format", "json"))


def test_json_uses_status_keys_even_in_italian(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    en = run(desk, "list", "--all", "--format", "json")
    it = run(desk, "list", "--all", "--format", "json", env={"LANG": "it_IT.UTF-8"})
    assert en == it
    assert {r["status"] for r in json.loads(it)} == {"new", "pending", "closed"}
    show_it = json.loads(run(desk, "show", str(t["new"]), "--format", "json",
                             env={"LC_ALL": "it_IT.UTF-8"}))
    assert show_it["status"] == "new"
    assert "title" in show_it and "titolo" not in show_it


# -- csv, tsv, ids, plain ---------------------------------------------------------------------


def test_csv_has_a_header_and_quotes_properly(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    text = run(desk, "list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    for key in TICKET_KEYS:
        assert key in header, key
    array = json.loads(run(desk, "list", "--format", "json"))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in array]
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[t["tricky"]]["title"] == TRICKY_TITLE
    assert by_id[t["tricky"]]["assignee"] == AGENT
    assert by_id[t["new"]]["assignee"] == ""
    for r in rows:
        assert ISO_Z.match(r["created_at"])


def test_tsv_has_a_header_and_one_line_per_ticket(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    lines = run(desk, "list", "--format", "tsv").splitlines()
    header = lines[0].split("\t")
    for key in TICKET_KEYS:
        assert key in header, key
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [int(r["id"]) for r in rows] == [t["pending"], t["tricky"], t["new"]]
    assert {int(r["id"]): r["title"] for r in rows}[t["tricky"]] == TRICKY_TITLE


def test_ids_format(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    assert run(desk, "list", "--format", "ids") == (
        f"{t['pending']}\n{t['tricky']}\n{t['new']}\n"
    )
    assert run(desk, "show", str(t["new"]), "--format", "ids") == f"{t['new']}\n"


def test_default_when_not_a_terminal_is_tsv_without_header(
    shared: tuple[Desk, dict[str, int]]
) -> None:
    desk, t = shared
    plain = run(desk, "list")
    tsv = run(desk, "list", "--format", "tsv")
    assert plain == "".join(line + "\n" for line in tsv.splitlines()[1:])
    lines = plain.splitlines()
    assert [int(line.split("\t")[0]) for line in lines] == [t["pending"], t["tricky"], t["new"]]
    assert "title" not in plain and "Title" not in plain
    assert all(len(line.split("\t")) == len(lines[0].split("\t")) for line in lines)


def test_default_user_and_org_lists_are_plain_rows(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = shared
    users = run(desk, "user", "list").splitlines()
    assert len(users) == 4
    assert {line.split("\t")[0] for line in users} == {ADMIN, AGENT, CUSTOMER, OTHER}
    orgs = run(desk, "org", "list").splitlines()
    assert orgs[0].split("\t")[0] == "Acme"
    assert len(orgs) == 1


def test_plain_show_is_one_row(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    out = run(desk, "show", str(t["tricky"]))
    assert out.count("\n") == 1
    fields = out.rstrip("\n").split("\t")
    assert fields[0] == str(t["tricky"])
    assert TRICKY_TITLE in fields


def test_csv_and_tsv_show(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, t = shared
    rows = list(csv.DictReader(io.StringIO(run(desk, "show", str(t["new"]), "--format", "csv"))))
    assert len(rows) == 1
    assert rows[0]["id"] == str(t["new"]) and rows[0]["title"] == "Printer on fire"
    lines = run(desk, "show", str(t["new"]), "--format", "tsv").splitlines()
    assert len(lines) == 2
    assert dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=True))["status"] == "new"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_lists_the_same_tickets(shared: tuple[Desk, dict[str, int]],
                                             fmt: str) -> None:
    desk, t = shared
    out = run(desk, "list", "--all", "--format", fmt)
    for key in ("new", "tricky", "pending", "closed"):
        assert re.search(rf"(^|\D){t[key]}(\D|$)", out, re.M), (fmt, key)
    if fmt != "ids":
        assert "Printer on fire" in out and "Done" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_show_works_in_every_format(shared: tuple[Desk, dict[str, int]], fmt: str) -> None:
    desk, t = shared
    out = run(desk, "show", str(t["new"]), "--format", fmt)
    assert str(t["new"]) in out
    if fmt != "ids":
        assert "Printer on fire" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_user_and_org_list_in_every_format(shared: tuple[Desk, dict[str, int]],
                                           fmt: str) -> None:
    desk, _ = shared
    users = run(desk, "user", "list", "--format", fmt)
    orgs = run(desk, "org", "list", "--format", fmt)
    if fmt == "ids":
        assert len(users.splitlines()) == 4
        assert len(orgs.splitlines()) == 1
        return
    for email in (ADMIN, AGENT, CUSTOMER, OTHER):
        assert email in users
    assert "Acme" in orgs
    if fmt == "json":
        assert {u["email"] for u in json.loads(users)} == {ADMIN, AGENT, CUSTOMER, OTHER}
        assert json.loads(orgs)[0]["name"] == "Acme"


def test_unknown_format_is_a_usage_error(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = shared
    result = desk.run("list", "--format", "xml", expect=2)
    assert result.stdout == ""
    assert result.stderr.startswith("Error:")


# -- table and labels -----------------------------------------------------------------------


def test_table_uses_english_labels(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = shared
    out = run(desk, "list", "--format", "table")
    header = out.splitlines()[0]
    for label in ("ID", "Status", "Title"):
        assert label in header
    assert "New" in out and "Pending" in out
    assert "Nuovo" not in out


@pytest.mark.parametrize(
    "env",
    [{"LANG": "it_IT.UTF-8"}, {"LC_ALL": "it_IT.UTF-8"}, {"LC_MESSAGES": "it_IT.UTF-8"},
     {"LANG": "it"}],
)
def test_table_uses_italian_labels_from_the_locale(shared: tuple[Desk, dict[str, int]],
                                                   env: dict[str, str]) -> None:
    desk, t = shared
    out = run(desk, "list", "--format", "table", env=env)
    header = out.splitlines()[0]
    assert "Stato" in header and "Titolo" in header
    assert "Nuovo" in out and "In attesa" in out
    assert "Pending" not in out
    shown = run(desk, "show", str(t["new"]), "--format", "table", env=env)
    assert "Stato" in shown and "Nuovo" in shown and "Commenti" in shown
    assert "Cronologia" in shown


def test_table_in_italian_from_config(shared: tuple[Desk, dict[str, int]],
                                      tmp_path: Path) -> None:
    desk, _ = shared
    cfg = tmp_path / "config.toml"
    cfg.write_text('language = "it"\n', encoding="utf-8")
    out = run(desk, "--config", str(cfg), "list", "--format", "table")
    assert "Stato" in out and "Nuovo" in out
    users = run(desk, "--config", str(cfg), "user", "list", "--format", "table")
    assert "Ruolo" in users
    # JSON keys stay the same whatever the language.
    data = json.loads(run(desk, "--config", str(cfg), "list", "--format", "json"))
    assert all("status" in r and "title" in r for r in data)


def test_config_file_from_environment(shared: tuple[Desk, dict[str, int]],
                                      tmp_path: Path) -> None:
    desk, _ = shared
    cfg = tmp_path / "config.toml"
    cfg.write_text('language = "it"\n', encoding="utf-8")
    out = run(desk, "list", "--format", "table", env={"TICKETCLI_CONFIG": str(cfg)})
    assert "Stato" in out


def test_english_locale_gives_english_table(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = shared
    out = run(desk, "list", "--format", "table", env={"LANG": "en_GB.UTF-8"})
    assert "Status" in out and "Stato" not in out


def test_table_times_are_not_iso_but_data_is(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = shared
    table = run(desk, "list", "--format", "table")
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", table)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", table)


def test_messages_go_to_stderr_data_to_stdout(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = shared
    result = desk.run("list", "--limit", "1", "--format", "json")
    assert len(json.loads(result.stdout)) == 1
    assert result.stderr == ""
    tid = json.loads(result.stdout)[0]["id"]
    result = desk.run("assign", str(tid), "me")
    assert result.stdout == "" and f"Ticket {tid}" in result.stderr


# -- close-stale output, on its own desk ------------------------------------------------------


def _stale_desk(tmp_path: Path) -> tuple[Desk, int, str]:
    from datetime import UTC, datetime, timedelta

    desk = make_desk(tmp_path)
    tid = desk.open("Solved", as_=CUSTOMER)
    desk.run("set-status", str(tid), "solved", as_=AGENT)
    now = (datetime.now(UTC) + timedelta(days=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return desk, tid, now


@pytest.mark.parametrize("fmt", FORMATS)
def test_close_stale_every_format(tmp_path: Path, fmt: str) -> None:
    desk, tid, now = _stale_desk(tmp_path)
    out = run(desk, "close-stale", "--dry-run", "--now", now, "--format", fmt)
    expected: dict[str, Any] = {
        "json": json.dumps([{"id": tid, "from": "solved", "to": "closed"}]),
        "jsonl": json.dumps({"id": tid, "from": "solved", "to": "closed"}) + "\n",
        "ids": f"{tid}\n",
        "csv": f"id,from,to\n{tid},solved,closed\n",
        "tsv": f"id\tfrom\tto\n{tid}\tsolved\tclosed\n",
    }
    if fmt == "json":
        assert json.loads(out) == json.loads(expected["json"])
    elif fmt == "table":
        assert str(tid) in out and "Solved" in out and "Closed" in out
    else:
        assert out == expected[fmt]


def test_close_stale_table_in_italian(tmp_path: Path) -> None:
    desk, tid, now = _stale_desk(tmp_path)
    out = run(desk, "close-stale", "--now", now, "--format", "table", env={"LANG": "it_IT"})
    assert "Risolto" in out and "Chiuso" in out


def test_show_table_in_italian_has_translated_history(tmp_path: Path) -> None:
    desk, tid, now = _stale_desk(tmp_path)
    run(desk, "close-stale", "--now", now, "--quiet")
    out = run(desk, "show", str(tid), "--format", "table", env={"LC_ALL": "it_IT.UTF-8"})
    history = out.split("Cronologia:")[1]
    assert "Risolto" in history and "Chiuso" in history
    assert "(automatico)" in history
    shown = json.loads(run(desk, "show", str(tid), "--format", "json",
                           env={"LC_ALL": "it_IT.UTF-8"}))
    assert shown["history"][-1]["to"] == "closed"


def test_tsv_and_plain_keep_one_line_per_ticket(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    tid = desk.open("Odd")
    # `open` folds a category onto one line; an imported desk may still hold such values.
    with sqlite3.connect(desk.db) as conn:
        conn.execute("UPDATE tickets SET category = ? WHERE id = ?", ("a\tb\nc\\d", tid))
    desk.open("Normal")
    for args in (("--format", "tsv"), ()):
        lines = run(desk, "list", *args).splitlines()
        rows = lines[1:] if args else lines
        assert len(rows) == 2
        widths = {len(line.split("\t")) for line in lines}
        assert len(widths) == 1
        assert any(line.startswith(f"{tid}\t") and "a\\tb\\nc\\\\d" in line for line in rows)
    csv_rows = list(csv.DictReader(io.StringIO(run(desk, "list", "--format", "csv"))))
    assert {r["category"] for r in csv_rows} == {"a\tb\nc\\d", ""}
    assert json.loads(run(desk, "show", str(tid), "--format", "json"))["category"] == "a\tb\nc\\d"


def test_posix_locale_precedence(shared: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = shared
    out = run(desk, "list", "--format", "table", env={"LANG": "it_IT.UTF-8", "LC_ALL": "C"})
    assert "Status" in out and "Stato" not in out
    out = run(desk, "list", "--format", "table",
              env={"LANG": "en_US.UTF-8", "LC_MESSAGES": "it_IT.UTF-8"})
    assert "Stato" in out


@pytest.mark.parametrize(("text", "cells"), [
    ("Printer", 7), ("caffè già", 9), ("e\u0301", 1), ("打印机", 6), ("🔥", 2),
    ("\u2764\ufe0f", 2), ("a\u200bb", 2), ("日本 ok", 7), ("", 0),
])
def test_display_width_is_what_a_terminal_draws(text: str, cells: int) -> None:
    from ticketcli.output.table import clip, width

    assert width(text) == cells
    assert width(clip(text + "x" * 20, 5)) <= 5
