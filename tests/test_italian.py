"""Italian both ways: labels typed are understood, and what people read is Italian when
the language is, from a gettext catalog that ships with the package."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import AGENT, CUSTOMER, ROOT, Desk, make_desk

IT = {"LANG": "it_IT.UTF-8"}
sys.path.insert(0, str(ROOT / "scripts"))
import gen_catalogs  # noqa: E402

sys.path.pop(0)


# -- typed labels -------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["open", "Open", "OPEN", "Aperto", "aperto", " aperto "])
def test_set_status_takes_a_key_or_a_label_in_either_language(desk: Desk, typed: str) -> None:
    tid = desk.open("x")
    desk.run("set-status", str(tid), typed, env=IT)
    assert desk.status(tid) == "open"


def test_every_place_a_status_or_priority_is_typed(desk: Desk) -> None:
    tid = desk.open("x", "--priority", "Alta")
    assert desk.ticket(tid)["priority"] == "high"
    desk.run("comment", str(tid), "wait", "--status", "In attesa", as_=AGENT)
    assert desk.status(tid) == "pending"
    desk.run("set-status", str(tid), "in ATTESA")  # already: nothing to do
    desk.run("set-status", str(tid), "On hold", "--if-status", "in attesa")
    assert desk.status(tid) == "on_hold"
    desk.run("set-status", str(tid), "open", "--if-status", "Aperto", expect=5)
    ids = desk.run("list", "--status", "in sospeso", "--priority", "ALTA", "--format",
                   "ids").stdout
    assert ids == f"{tid}\n"
    desk.run("edit", str(tid), "--priority", "urgente")
    assert desk.ticket(tid)["priority"] == "urgent"


def test_accents_do_not_count(desk_factory) -> None:  # type: ignore[no-untyped-def]
    desk = desk_factory("care")
    tid = desk.open("x")
    desk.run("set-status", str(tid), "prioritaria")  # escalated: "Prioritaria"
    assert desk.status(tid) == "escalated"
    desk.run("edit", str(tid), "--priority", "normale")
    basic = desk_factory("basic")
    t2 = basic.open("y", "--priority", "BLOCCANTE")
    assert basic.ticket(t2)["priority"] == "blocking"
    t3 = basic.open("z", "--priority", "Bloccante")
    assert basic.ticket(t3)["priority"] == "blocking"


def test_an_ambiguous_label_is_a_usage_error_listing_the_choices(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    exported = desk.run("workflow", "export").stdout
    # Two statuses that share the Italian label "In attesa".
    edited = exported.replace('it = "In sospeso"', 'it = "In attesa"')
    assert edited != exported
    (tmp_path / "wf.toml").write_text(edited)
    desk.run("workflow", "import", str(tmp_path / "wf.toml"))
    tid = desk.open("x")
    result = desk.run("set-status", str(tid), "in attesa", expect=2)
    assert "ambiguous" in result.stderr and "pending" in result.stderr
    assert "on_hold" in result.stderr
    desk.run("set-status", str(tid), "pending")  # the key always works


def test_unknown_labels_list_keys_with_labels_in_the_readers_language(desk: Desk) -> None:
    tid = desk.open("x")
    en = desk.run("set-status", str(tid), "Chiusa", expect=2).stderr
    assert "new, open, pending, on_hold, solved, closed (labels: New, Open" in en
    it = desk.run("set-status", str(tid), "Chiusa", expect=2, env=IT).stderr
    assert it.startswith("Error: stato 'Chiusa' sconosciuto")
    assert "(etichette: Nuovo, Aperto, In attesa, In sospeso, Risolto, Chiuso)" in it
    prio = desk.run("open", "y", "--priority", "massima", expect=2, env=IT).stderr
    assert "low, normal, high, urgent (etichette: Bassa, Normale, Alta, Urgente)" in prio


# -- priority labels in the workflow ----------------------------------------------------------


def test_priority_labels_are_in_the_workflow_and_editable(desk: Desk, tmp_path: Path) -> None:
    exported = desk.run("workflow", "export").stdout
    assert 'it = "Bassa"' in exported and 'it = "Urgente"' in exported
    (tmp_path / "wf.toml").write_text(exported.replace('"Urgente"', '"Urgentissimo"'))
    desk.run("workflow", "import", str(tmp_path / "wf.toml"))
    tid = desk.open("x", "--priority", "urgentissimo")
    table = desk.run("show", str(tid), "--format", "table", env=IT).stdout
    assert "Priorità:" in table and "Urgentissimo" in table
    assert desk.ticket(tid)["priority"] == "urgent"  # JSON keeps the key


def test_bad_priority_labels_are_reported(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    exported = desk.run("workflow", "export").stdout
    bad = exported + '\n[priority_labels.critical]\nen = "Critical"\n'
    (tmp_path / "bad.toml").write_text(bad)
    result = desk.run("workflow", "validate", str(tmp_path / "bad.toml"), expect=78)
    assert "priority_labels.critical" in result.stderr


def test_a_workflow_stored_before_priority_labels_still_loads(desk: Desk) -> None:
    import json
    import sqlite3

    with sqlite3.connect(desk.db) as conn:
        (raw,) = conn.execute("SELECT value FROM meta WHERE key = 'workflow'").fetchone()
        data = json.loads(raw)
        data.pop("priority_labels", None)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'workflow'", (json.dumps(data),))
    conn.close()
    tid = desk.open("old", "--priority", "Alta")
    assert desk.ticket(tid)["priority"] == "high"
    assert "Alta" in desk.run("list", "--format", "table", env=IT).stdout


# -- what people read -----------------------------------------------------------------------


def test_headers_history_confirmations_and_errors_in_italian(desk: Desk) -> None:
    tid = desk.open("Stampante", as_=CUSTOMER)
    said = desk.run("assign", str(tid), AGENT, env=IT).stderr
    assert said == f"Ticket {tid}: assegnato a {AGENT}.\n"
    desk.run("set-status", str(tid), "aperto", env=IT)
    table = desk.run("list", "--format", "table", env=IT).stdout
    assert table.split()[:3] == ["ID", "Stato", "Priorità"]
    assert "Aperto" in table and "Normale" in table
    page = desk.run("show", str(tid), "--format", "table", env=IT).stdout
    history = page.split("Cronologia:")[1]
    assert "aperto Nuovo" in history and "assegnato a agent@example.com" in history
    assert "stato Nuovo → Aperto" in history
    error = desk.run("show", "999", expect=3, env=IT).stderr
    assert error == "Error: ticket 999 non trovato\n"
    refused = desk.run("set-status", str(tid), "open", "--if-status", "new", expect=5,
                       env=IT).stderr
    assert "qualcuno l'ha cambiato prima" in refused
    typo = desk.run("lst", expect=2, env=IT).stderr
    assert "forse intendevi list?" in typo
    # JSON stays in keys.
    t = desk.ticket(tid)
    assert t["status"] == "open" and t["history"][-1]["event"] == "status"


def test_english_never_loads_the_catalog(desk: Desk) -> None:
    desk.open("x")
    probe = ("import sys\nfrom ticketcli.__main__ import run\n"
             f"run(['--db', {str(desk.db)!r}, '--as', 'admin@example.com', 'show', '9'])\n"
             "print('gettext' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, env={"PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8",
                                        "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
    it = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "LANG": "it_IT.UTF-8",
                                       "PYTHONPATH": str(ROOT)}, timeout=60)
    assert it.stdout.strip() == "True" and "non trovato" in it.stderr


# -- the catalog ----------------------------------------------------------------------------


def test_the_compiled_catalogs_are_fresh() -> None:
    for path, data in gen_catalogs.catalogs().items():
        assert path.read_bytes() == data, f"{path} is stale: run python scripts/gen_catalogs.py"


def test_every_message_of_the_code_has_an_italian_translation() -> None:
    assert gen_catalogs.missing("it") == []


def test_translations_keep_every_placeholder() -> None:
    entries = gen_catalogs.parse_po((ROOT / "ticketcli/i18n/it.po").read_text("utf-8"))

    def fields(text: str) -> set[str]:
        import string

        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}

    for (_, msgid), msgstr in entries.items():
        assert fields(msgid) == fields(msgstr), msgid


def test_gettext_reads_the_compiled_catalog() -> None:
    import gettext

    with open(ROOT / "ticketcli/i18n/locale/it/LC_MESSAGES/ticketcli.mo", "rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    assert catalog.pgettext("header", "Title") == "Titolo"
    assert catalog.gettext("No tickets match.") == "Nessun ticket corrisponde."


def test_msg_literals_are_found_by_the_extractor() -> None:
    """The extractor sees every msg(...) call with a literal (a call it cannot read is
    a message that can never be translated)."""
    found = gen_catalogs.used()
    unread = []
    for path in (ROOT / "ticketcli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "msg" and node.args
                    and not isinstance(node.args[0], ast.Constant)):
                unread.append(f"{path.name}:{node.lineno}")
    allowed = {"model.py", "checks.py", "inputs.py"}  # msg(what): see i18n.DYNAMIC
    assert {u.split(":")[0] for u in unread} <= allowed, unread
    assert len(found) > 150


def test_the_wheel_ships_the_catalog(tmp_path: Path) -> None:
    """What ``pip install .`` installs holds the compiled catalog (no gettext tools are
    needed to install: the .mo files are committed)."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("ticketcli-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ticketcli/i18n/locale/it/LC_MESSAGES/ticketcli.mo" in names
    assert "ticketcli/presets/standard.toml" in names
