"""mail-in: real-world-shaped messages on stdin become replies or tickets, or are refused.

The corpus in tests/mail_corpus holds messages shaped like those of common
mail programs and servers (Thunderbird, Outlook, Gmail, bounces, auto-replies,
broken ones). Each gets the right outcome and exit code, and never a traceback.

These tests are about reading mail and the workflow's rules, so mail-in runs
with ``[mail] trust = "from"`` (the sender is believed); whom mail-in believes
by default, and what it holds for review, is tests/test_mail_trust.py.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, Desk, make_desk

from ticketcli.desk.mailin import clean_subject
from ticketcli.mail.html import html_to_text
from ticketcli.mail.parse import decode_words, parse
from ticketcli.mail.quotes import trim_quoted

CORPUS = Path(__file__).parent / "mail_corpus"


def believing_from(desk: Desk) -> str:
    """A config under which mail-in believes From (as a desk behind a checking gateway)."""
    config = desk.db.parent / "trust-from.toml"
    if not config.exists():
        config.write_text('[mail]\ntrust = "from"\n')
    return str(config)


def mail_in(desk: Desk, data: bytes, expect: int = 0, *args: str,
            env: dict[str, str] | None = None) -> Any:
    result = desk.run("--config", believing_from(desk), *args, "mail-in", input=data,
                      as_=None, expect=expect, env=env)
    assert "Traceback" not in result.stderr + result.stdout
    if expect:
        assert result.stderr.startswith("Error:"), result.stderr
    return result


def state(desk: Desk) -> dict[str, Any]:
    """Everything mail-in may write, to prove that nothing was."""
    con = sqlite3.connect(desk.db)
    try:
        return {
            table: con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
            for table in ("tickets", "users", "comments", "attachments", "history", "outbox",
                          "mail_messages", "participants")
        }
    finally:
        con.close()


def message(sender: str = CUSTOMER, subject: str = "Re: [#1] Printer on fire",
            body: str = "It works now.", headers: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: helpdesk@desk.example\r\nSubject: {subject}\r\n"
            f"{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = make_desk(tmp_path)
    assert d.open("Printer on fire", "--body", "It smokes", as_=CUSTOMER) == 1
    return d


# -- the corpus ------------------------------------------------------------------------


def _reply(desk: Desk, text: str) -> None:
    t = desk.ticket(1)
    assert t["comments"][-1]["author"] == CUSTOMER
    assert t["comments"][-1]["body"] == text
    assert not t["comments"][-1]["internal"]
    assert len(desk.json("list", "--all")) == 1


def _new(desk: Desk, requester: str, title: str, description: str | None = None,
         files: list[str] | None = None) -> dict[str, Any]:
    t = desk.ticket(2)
    assert t["requester"] == requester
    assert t["title"] == title
    if description is not None:
        assert t["description"] == description
    assert [a["name"] for a in t["attachments"]] == (files or [])
    return t


EXPECTED: dict[str, tuple[int, Any]] = {
    "thunderbird_reply_qp.eml": (0, lambda d: _reply(
        d, "Ho provato di nuovo, ora la stampante è ferma.\n\nGrazie,\nAnna")),
    "outlook_html_only.eml": (0, lambda d: _reply(d, "Grazie, funziona di nuovo – perfetto.")),
    "gmail_base64_new.eml": (0, lambda d: _new(
        d, OTHER, "Problema con la fattura n° 42 — urgente",
        "Buongiorno,\nla fattura n° 42 risulta pagata due volte.\nPotete verificare?\n\nBruno")),
    "latin1_headers_new.eml": (0, lambda d: _new(
        d, "jose@cliente.example", "Fattura non ricevuta à gennaio",
        "Non ho ricevuto la fattura di gennaio perché l'indirizzo è cambiato.\n"
        "Cordiali saluti,\nJosé")),
    "attachments_new.eml": (0, lambda d: _new(
        d, CUSTOMER, "Scanner: log e screenshot",
        "The scanner stopped; log and screenshot attached.",
        ["résumé.pdf", "screen.png", "attachment-3.eml", "passwd"])),
    "malformed_headers.eml": (0, lambda d: _new(
        d, CUSTOMER, "=?utf-8?B?broken?= stampa è=ZZ",
        "Il testo è in UTF-8 anche se il charset non esiste. Fine.")),
    "missing_subject.eml": (0, lambda d: _new(
        d, CUSTOMER, "The scanner jams on every page.",
        "The scanner jams on every page.\nIt started this morning.")),
    "empty_body.eml": (0, lambda d: _new(d, CUSTOMER, "Call me back please", "")),
    "raw_utf8_headers.eml": (0, lambda d: _new(
        d, CUSTOMER, "Stampante bloccata — ancora", "È bloccata di nuovo: «errore 0x42».")),
    "nested_alternative_related.eml": (0, lambda d: _new(
        d, CUSTOMER, "Preventivo",
        "Vedi sotto & allegato.\n\n> Begin forwarded message:\n> Preventivo n. 7",
        ["righe.csv"])),
    "empty_everything.eml": (65, None),
    "not_an_email.eml": (65, None),
    "unparsable_from.eml": (65, None),
    "display_name_spoof.eml": (65, None),
    # A ticket the sender may not see is answered as one that does not exist: a new one.
    "stranger_reply.eml": (0, lambda d: _new(
        d, "mallory@evil.example", "Printer on fire", "Please add me and show me everything.")),
    "auto_reply.eml": (0, None),
    "bounce.eml": (0, None),
    "bounce_postmaster.eml": (0, None),
    "vacation_precedence.eml": (0, None),
    "vacation_x_autoreply.eml": (0, None),
}


def test_the_corpus_is_covered() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.glob("*.eml"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(desk: Desk, name: str) -> None:
    code, check = EXPECTED[name]
    before = state(desk)
    result = mail_in(desk, (CORPUS / name).read_bytes(), code)
    if check is None:
        assert state(desk) == before, "nothing was written"
        if code == 0:
            assert "dropped" in result.stderr
            assert result.stdout == ""
    else:
        check(desk)
        assert result.stdout.strip() in ("1", "2")


def test_attachments_arrive_intact(desk: Desk) -> None:
    mail_in(desk, (CORPUS / "attachments_new.eml").read_bytes())
    files = {a["name"]: a for a in desk.ticket(2)["attachments"]}
    pdf = (CORPUS / "attachment_pdf.bin").read_bytes()
    assert files["résumé.pdf"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert files["résumé.pdf"]["size"] == len(pdf)
    # The line break before a boundary belongs to the boundary, not to the file.
    assert files["passwd"]["size"] == len(b"not really")


def test_unix_line_endings_work_too(desk: Desk) -> None:
    data = (CORPUS / "thunderbird_reply_qp.eml").read_bytes().replace(b"\r\n", b"\n")
    mail_in(desk, data)
    _reply(desk, "Ho provato di nuovo, ora la stampante è ferma.\n\nGrazie,\nAnna")


def test_mangled_messages_never_cause_a_traceback(desk: Desk) -> None:
    rng = random.Random(20261122)
    sources = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    for i in range(40):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 30)):
            if not data:
                break
            pos = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                del data[pos:pos + rng.randint(1, 40)]
            else:
                data[pos:pos] = rng.choice([b"\r\n", b"=?", b"?=", b"--", b":", b"\x00", b"<",
                                            b"boundary=", b"\xff\xfe"])
        result = desk.run("--config", believing_from(desk), "mail-in", input=bytes(data),
                          as_=None, expect=None)
        assert result.exit_code in (0, 65, 67), (i, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout
        assert "internal error" not in result.stderr, (i, result.stderr)


# -- replies and the workflow ---------------------------------------------------------------


def test_a_reply_reopens_a_waiting_ticket_and_notifies_the_others(desk: Desk) -> None:
    desk.run("share", "1", OTHER, as_=CUSTOMER)
    desk.run("comment", "1", "Which model is it?", "--status", "pending", as_=AGENT)
    before = {r["id"] for r in desk.json("notify", "list", "--limit", "0")}
    mail_in(desk, message(body="An HP LaserJet 4."))
    t = desk.ticket(1)
    assert t["status"] == "open"
    assert t["comments"][-1]["body"] == "An HP LaserJet 4."
    rows = [r for r in desk.json("notify", "list", "--limit", "0") if r["id"] not in before]
    # The participant hears of the reply (and that the ticket reopened); the sender does not.
    assert [(r["recipient"], r["kind"]) for r in rows] == [(OTHER, "reply")]
    assert "An HP LaserJet 4." in rows[0]["body"]
    assert "The ticket is now: Open (was: Pending)" in rows[0]["body"]


def test_a_reply_to_a_final_ticket_opens_a_follow_up(desk: Desk) -> None:
    desk.run("set-status", "1", "closed", as_=AGENT)
    result = mail_in(desk, message(body="It is on fire again."))
    assert result.stdout == "2\n"
    assert "follow-up" in result.stderr
    t = desk.ticket(2)
    assert (t["follow_up_of"], t["requester"], t["title"]) == (1, CUSTOMER, "Printer on fire")
    assert t["description"] == "It is on fire again."
    assert desk.status(1) == "closed"


def test_care_reopens_a_closed_ticket_on_reply(tmp_path: Path) -> None:
    desk = make_desk(tmp_path, "care")
    desk.open("Bolletta", as_=CUSTOMER)
    desk.run("set-status", "1", "closed", as_=AGENT)
    mail_in(desk, message(subject="R: [#1] Bolletta", body="Non è risolto."))
    assert desk.status(1) == "in_progress"


def test_an_agent_reply_by_mail_applies_the_agent_rules(tmp_path: Path) -> None:
    desk = make_desk(tmp_path, "chat")
    desk.open("Chat", as_=CUSTOMER)
    mail_in(desk, message(sender=f"Agnese <{AGENT}>", subject="[#1] Chat", body="Try now."))
    t = desk.ticket(1)
    assert t["status"] == "pending"
    assert t["comments"][-1]["author"] == AGENT


def test_participants_may_reply_strangers_and_customers_of_others_may_not(desk: Desk) -> None:
    """[#1] from someone who may not see ticket 1 is treated as [#ID] of a ticket that
    does not exist: a new ticket of theirs; ticket 1 is untouched."""
    before = desk.ticket(1)
    assert mail_in(desk, message(sender=OTHER, body="Me too")).stdout == "2\n"
    assert mail_in(desk, message(sender="nobody@else.example", body="Me too")).stdout == "3\n"
    assert desk.ticket(1) == before
    assert desk.ticket(2)["requester"] == OTHER
    missing = mail_in(desk, message(sender=OTHER, body="Me too", subject="Re: [#999] x"))
    assert missing.stdout == "4\n"
    desk.run("share", "1", OTHER, as_=CUSTOMER)
    mail_in(desk, message(sender=OTHER, body="Me too"))
    assert desk.ticket(1)["comments"][-1]["author"] == OTHER


def test_references_find_the_ticket_without_a_tag(desk: Desk) -> None:
    con = sqlite3.connect(desk.db)
    desk_id = con.execute("SELECT value FROM meta WHERE key = 'mail_desk_id'").fetchone()[0]
    con.close()
    ours = f"<ticketcli.{desk_id}.1.1@desk.example>"
    mail_in(desk, message(subject="Re: your message", body="Via references",
                          headers=f"In-Reply-To: {ours}\r\nReferences: {ours}\r\n"))
    assert desk.ticket(1)["comments"][-1]["body"] == "Via references"
    # A reference of another desk, and no tag: a new ticket.
    other = "<ticketcli.ffffffffff.1.1@elsewhere.example>"
    result = mail_in(desk, message(subject="Re: your message", body="Elsewhere",
                                   headers=f"In-Reply-To: {other}\r\n"))
    assert result.stdout == "2\n"


def test_a_later_message_in_the_customers_own_thread_is_a_reply(desk: Desk) -> None:
    first = message(subject="Scanner broken", body="It jams.",
                    headers="Message-ID: <orig-7@example.com>\r\n")
    assert mail_in(desk, first).stdout == "2\n"
    again = message(subject="more info", body="Model X200.",
                    headers="Message-ID: <orig-8@example.com>\r\n"
                            "In-Reply-To: <orig-7@example.com>\r\n")
    assert mail_in(desk, again).stdout == "2\n"
    assert desk.ticket(2)["comments"][-1]["body"] == "Model X200."


def test_the_same_message_delivered_twice_is_recorded_once(desk: Desk) -> None:
    data = message(subject="New thing", body="Once",
                   headers="Message-ID: <twice@example.com>\r\n")
    mail_in(desk, data)
    before = state(desk)
    result = mail_in(desk, data)
    assert "already delivered" in result.stderr
    assert state(desk) == before


def test_a_reply_with_only_quoted_text_is_unusable(desk: Desk) -> None:
    before = state(desk)
    result = mail_in(desk, message(body="> It smokes\r\n> a lot"), 65)
    assert "no new text" in result.stderr
    assert state(desk) == before


# -- senders and the workflow ------------------------------------------------------------------


def test_unregistered_senders_follow_the_workflow(tmp_path: Path) -> None:
    strict = make_desk(tmp_path, "service-desk")
    before = state(strict)
    result = mail_in(strict, message(sender="new@customer.example", subject="Help"), 67)
    assert "registered" in result.stderr
    assert state(strict) == before
    assert mail_in(strict, message(sender=CUSTOMER, subject="Help")).stdout == "1\n"

    open_desk = make_desk(tmp_path, "standard", "open.db")
    data = message(sender="Nuova Cliente <New@Customer.example>", subject="Aiuto",
                   headers="Content-Language: it\r\n")
    assert mail_in(open_desk, data).stdout == "1\n"
    users = {u["email"]: u for u in open_desk.json("user", "list")}
    assert users["new@customer.example"]["role"] == "customer"
    assert users["new@customer.example"]["name"] == "Nuova Cliente"
    row = open_desk.json("notify", "list")[0]
    # The confirmation with the reference number goes to the new customer, in Italian.
    assert (row["recipient"], row["kind"], row["lang"]) == ("new@customer.example", "opened",
                                                            "it")
    assert "[#1]" in row["subject"]


def test_busy_database_is_a_temporary_failure(desk: Desk) -> None:
    before = state(desk)
    holder = sqlite3.connect(desk.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = mail_in(desk, message(body="wait for it"), 75,
                         env={"TICKETCLI_BUSY_TIMEOUT": "0.2"})
        assert "busy" in result.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert state(desk) == before
    mail_in(desk, message(body="wait for it"))
    assert desk.ticket(1)["comments"][-1]["body"] == "wait for it"


@pytest.mark.slow
def test_huge_attachments_are_skipped_with_a_note(desk: Desk) -> None:
    big = bytes(random.Random(1).getrandbits(8) for _ in range(1024)) * (26 * 1024 + 1)
    small = b"0123456789" * 300_000
    boundary = "bnd"
    data = (
        f"From: {CUSTOMER}\r\nSubject: Dumps\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nTwo dumps.\r\n"
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f'Content-Disposition: attachment; filename="core.bin"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(big) + (
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f'Content-Disposition: attachment; filename="small.bin"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(small) + f"--{boundary}--\r\n".encode()
    mail_in(desk, data)
    t = desk.ticket(2)
    assert [a["name"] for a in t["attachments"]] == ["small.bin"]
    assert t["attachments"][0]["sha256"] == hashlib.sha256(small).hexdigest()
    assert t["description"].startswith("Two dumps.")
    assert "core.bin" in t["description"] and "not stored" in t["description"]


def test_ticketcli_own_mail_is_dropped(desk: Desk, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    script = tmp_path / "sendmail"
    script.write_text(f"#!/bin/sh\ncat > {spool}/$(ls {spool} | wc -l).eml\n")
    script.chmod(0o755)
    config = tmp_path / "c.toml"
    config.write_text('[smtp]\nfrom = "Desk <helpdesk@desk.example>"\n'
                      f'sendmail = "{script}"\n')
    desk.run("--config", str(config), "notify", "send", as_=None)
    sent = (spool / "0.eml").read_bytes()
    before = state(desk)
    result = mail_in(desk, sent)
    assert "dropped" in result.stderr
    # Mail from the desk's own address is a loop too, even without our headers.
    mail_in(desk, message(sender="helpdesk@desk.example", body="loop"), 0, "--config",
            str(config))
    assert state(desk) == before


def test_the_confirmation_answers_the_customers_message(desk: Desk, tmp_path: Path) -> None:
    import email
    from email import policy

    spool = tmp_path / "spool"
    spool.mkdir()
    script = tmp_path / "sendmail"
    script.write_text(f'#!/bin/sh\nfor a; do r=$a; done\ncat > {spool}/"$r".eml\n')
    script.chmod(0o755)
    config = tmp_path / "c.toml"
    config.write_text(f'[smtp]\nfrom = "Desk <helpdesk@desk.example>"\nsendmail = "{script}"\n')
    mail_in(desk, message(sender=OTHER, subject="Toner", body="Empty",
                          headers="Message-ID: <toner-1@example.com>\r\n"))
    desk.run("--config", str(config), "notify", "send", as_=None)
    msg = email.message_from_bytes((spool / f"{OTHER}.eml").read_bytes(), policy=policy.default)
    assert msg["Subject"] == "[#2] Toner"
    assert msg["In-Reply-To"] == "<toner-1@example.com>"
    assert "<toner-1@example.com>" in str(msg["References"])


def test_no_stdin_is_unusable(desk: Desk) -> None:
    mail_in(desk, b"", 65)


def test_mail_in_help_has_examples() -> None:
    from typer.testing import CliRunner

    from ticketcli.cli import app

    out = CliRunner().invoke(app, ["mail-in", "--help"]).stdout
    assert "Examples:" in out and "ticketcli --db /srv/helpdesk.db mail-in" in out


# -- the pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks!\n\nOn Mon, 23 Nov 2026 at 10:00, Help desk <help@desk.example> wrote:\n"
         "> old\n> older", "Thanks!"),
        ("Thanks!\n\nOn Mon, 23 Nov 2026 at 10:00, Help desk <\nhelp@desk.example> wrote:\n"
         "> old", "Thanks!"),
        ("Grazie!\n\nIl giorno lun 23 nov 2026 alle ore 10:00 Assistenza <a@b.it> ha "
         "scritto:\n> vecchio", "Grazie!"),
        ("Fixed.\n\n-----Original Message-----\nFrom: Desk\nSent: Monday\n\nold", "Fixed."),
        ("Risolto.\n\nDa: Assistenza <a@b.it>\nInviato: lunedì 23 novembre 2026 10:00\n"
         "A: Anna\nOggetto: [#1] x\n\nvecchio", "Risolto."),
        ("Top\n##- Please type your reply above this line -##\nold", "Top"),
        ("Inline answer\n> question?\nanswer two", "Inline answer\nanswer two"),
        ("Bye\n\n-- \nAnna Neri\nAcme", "Bye"),
        ("> only quoted\n> nothing new", ""),
        ("On Monday I tried again.\nIt failed.", "On Monday I tried again.\nIt failed."),
    ],
)
def test_trim_quoted(text: str, expected: str) -> None:
    assert trim_quoted(text) == expected


def test_html_to_text() -> None:
    html = ("<html><head><title>t</title><style>p{}</style></head><body>"
            "<p>Hello&nbsp;<b>world</b> &amp; co.</p><ul><li>one</li><li>two</li></ul>"
            "<p>See <a href=\"https://x.example/a\">the page</a></p>"
            "<blockquote><p>quoted</p></blockquote><script>x()</script></body></html>")
    assert html_to_text(html) == ("Hello world & co.\n\n- one\n- two\n\n"
                                  "See the page <https://x.example/a>\n\n> quoted")


@pytest.mark.parametrize(
    ("subject", "title"),
    [("Re: [#1] Printer", "Printer"), ("RE: R: Fwd: [#12] Rete giù", "Rete giù"),
     ("AW: WG: Drucker", "Drucker"), ("Printer", "Printer"), ("[#3]", "")],
)
def test_clean_subject(subject: str, title: str) -> None:
    assert clean_subject(subject) == title


def test_decode_words() -> None:
    assert decode_words("=?UTF-8?Q?caf=C3=A8?= =?UTF-8?B?w6g=?= ok") == "cafèè ok"
    assert decode_words("=?utf-8?B?broken?=") == "=?utf-8?B?broken?="
    assert decode_words("=?x-nope?Q?=E8?=") == "è"


def test_parse_reads_the_sender_the_email_package_parses() -> None:
    mail = parse(b'From: "Anna" <ANNA@example.com\r\nSubject: x\r\n\r\nhi\r\n')
    assert (mail.sender, mail.sender_name) == ("anna@example.com", "Anna")
    # Nothing that only looks like an address is taken for one (the quote never closes).
    assert parse(b'From: "Anna <ANNA@example.com>\r\nSubject: x\r\n\r\nhi\r\n').sender is None
    assert parse(b"Subject: no sender\r\n\r\nhi").sender is None


def test_mail_in_acts_as_the_sender_not_as_the_caller(desk: Desk) -> None:
    # mail-in needs no --as: the sender acts. An admin passing --as changes nothing.
    desk.run("--as", ADMIN, "--config", believing_from(desk), "mail-in",
             input=message(body="as sender"), as_=None)
    assert desk.ticket(1)["comments"][-1]["author"] == CUSTOMER


def test_long_subjects_and_unknown_tags_make_sane_titles(desk: Desk) -> None:
    mail_in(desk, message(subject="Re: [#999] " + "word " * 100, body="Long"))
    title = desk.ticket(2)["title"]
    assert len(title) == 300 and title.endswith("…") and title.startswith("word word")
    assert "[#999]" not in title
