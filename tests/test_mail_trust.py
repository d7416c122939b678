"""Mail that can be trusted: mail-in believes a sender who answers the desk's own mail
to that address (a secret per recipient in every Message-ID) or whom the desk's own
mail server saw pass DMARC; what would act for a registered person on an existing
ticket, or claims a staff address, without proof, is held for staff to accept or
reject. Real SQLite files, the CLI, a sendmail that keeps what it is given."""

from __future__ import annotations

import email
import json
import os
import re
import sqlite3
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, ROOT, Desk, make_desk

FAST = [sys.executable, "-m", "ticketcli"]
TYPER = [sys.executable, "-c", "from ticketcli.cli import main; main()"]
TOKEN_ID = re.compile(r"<ticketcli\.[0-9a-f]+\.(\d+)\.(\d+)\.([0-9a-f]{20})@desk\.example>")


class Mailbox:
    """A desk's outgoing mail, through a sendmail that keeps each message."""

    def __init__(self, desk: Desk, tmp_path: Path, extra: str = "") -> None:
        self.desk = desk
        self.spool = tmp_path / "spool"
        self.spool.mkdir()
        script = tmp_path / "sendmail"
        script.write_text(f'#!/bin/sh\nn=$(ls {self.spool} | wc -l)\n'
                          f"cat > {self.spool}/$n.eml\n")
        script.chmod(0o755)
        self.config = tmp_path / "desk.toml"
        self.config.write_text(f'[smtp]\nfrom = "Desk <helpdesk@desk.example>"\n'
                               f'sendmail = "{script}"\n{extra}')

    def send(self) -> list[EmailMessage]:
        """Deliver the outbox; the messages sent this time."""
        before = len(list(self.spool.iterdir()))
        self.desk.run("--config", str(self.config), "notify", "send", as_=None)
        found = []
        for n in range(before, len(list(self.spool.iterdir()))):
            msg = email.message_from_bytes((self.spool / f"{n}.eml").read_bytes(),
                                           policy=policy.default)
            assert isinstance(msg, EmailMessage)
            found.append(msg)
        return found

    def mail_in(self, data: bytes, expect: int = 0) -> Any:
        result = self.desk.run("--config", str(self.config), "mail-in", input=data,
                               as_=None, expect=expect)
        assert "Traceback" not in result.stderr
        return result


def to(msg: EmailMessage) -> str:
    return str(msg["To"].addresses[0].addr_spec)


def reply(sender: str, answering: str | None = None, subject: str = "Re: [#1] Printer",
          body: str = "It works now.", headers: str = "") -> bytes:
    threading = (f"In-Reply-To: {answering}\r\nReferences: {answering}\r\n"
                 if answering else "")
    return (f"From: {sender}\r\nTo: helpdesk@desk.example\r\nSubject: {subject}\r\n"
            f"{threading}{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def state(desk: Desk) -> dict[str, Any]:
    con = sqlite3.connect(desk.db)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()  # noqa: S608
                for t in ("tickets", "users", "comments", "attachments", "history", "outbox",
                          "mail_messages", "participants")}
    finally:
        con.close()


def held(desk: Desk) -> list[dict[str, Any]]:
    return desk.json("mail", "held")  # type: ignore[no-any-return]


@pytest.fixture
def box(tmp_path: Path) -> Mailbox:
    desk = make_desk(tmp_path)
    assert desk.open("Printer", "--body", "It smokes", as_=CUSTOMER) == 1
    mailbox = Mailbox(desk, tmp_path)
    assert [to(m) for m in mailbox.send()] == [CUSTOMER]  # the confirmation
    return mailbox


# -- the secret in every Message-ID ----------------------------------------------------------


def test_every_message_carries_a_secret_for_its_one_recipient(box: Mailbox) -> None:
    box.desk.run("share", "1", OTHER, as_=CUSTOMER)
    box.desk.run("comment", "1", "Which model?", as_=AGENT)
    sent = box.send()
    ids = {to(m): str(m["Message-ID"]).strip() for m in sent
           if "Which model?" in m.get_content()}
    assert set(ids) == {CUSTOMER, OTHER}
    tokens = {}
    for address, mid in ids.items():
        m = TOKEN_ID.fullmatch(mid)
        assert m is not None, mid
        tokens[address] = m.group(3)
        con = sqlite3.connect(box.desk.db)
        stored = con.execute("SELECT address, token FROM outbox WHERE id = ?",
                             (int(m.group(2)),)).fetchone()
        con.close()
        assert stored == (address, m.group(3)), "the secret is the one kept with the message"
    assert tokens[CUSTOMER] != tokens[OTHER]
    # A retried or later message names the earlier ones exactly as they were sent.
    box.desk.run("comment", "1", "And the serial?", as_=AGENT)
    later = {to(m): m for m in box.send()}
    assert ids[CUSTOMER] in str(later[CUSTOMER]["References"])
    assert ids[OTHER] not in str(later[CUSTOMER]["References"])


def test_a_reply_to_the_desks_own_message_to_that_address_is_applied(box: Mailbox) -> None:
    box.desk.run("comment", "1", "Which model?", "--status", "pending", as_=AGENT)
    ours = [m for m in box.send() if to(m) == CUSTOMER][-1]
    result = box.mail_in(reply(f"Anna <{CUSTOMER}>", str(ours["Message-ID"]).strip(),
                               subject="Re: your ticket", body="An HP LaserJet 4."))
    assert result.stdout == "1\n"
    t = box.desk.ticket(1)
    assert (t["comments"][-1]["author"], t["comments"][-1]["body"]) == (CUSTOMER,
                                                                        "An HP LaserJet 4.")
    assert t["status"] == "open"
    assert held(box.desk) == []


@pytest.mark.parametrize("how", ["someone else's", "forged secret", "no secret", "none"])
def test_without_the_senders_own_secret_a_reply_is_held(box: Mailbox, how: str) -> None:
    box.desk.run("share", "1", OTHER, as_=CUSTOMER)
    box.desk.run("comment", "1", "Which model?", as_=AGENT)
    sent = {to(m): str(m["Message-ID"]).strip() for m in box.send()}
    m = TOKEN_ID.fullmatch(sent[CUSTOMER])
    assert m is not None
    answering = {
        "someone else's": sent[CUSTOMER],  # OTHER replies naming anna's message
        "forged secret": sent[OTHER].replace(TOKEN_ID.fullmatch(sent[OTHER]).group(3),  # type: ignore[union-attr]
                                             "0" * 20),
        "no secret": sent[OTHER].replace("." + TOKEN_ID.fullmatch(sent[OTHER]).group(3), ""),  # type: ignore[union-attr]
        "none": None,
    }[how]
    before = state(box.desk)
    result = box.mail_in(reply(OTHER, answering, body="Forged?"))
    assert "held for review" in result.stderr
    assert result.stdout == ""
    assert state(box.desk) == before, "nothing applied, nothing answered"
    [row] = held(box.desk)
    assert (row["from"], row["ticket"], row["subject"]) == (OTHER, 1, "Re: [#1] Printer")


# -- held for review ---------------------------------------------------------------------------


def test_a_forged_agent_reply_is_held_and_never_mailed_to_the_customer(box: Mailbox) -> None:
    before = state(box.desk)
    result = box.mail_in(reply(f"Agnese <{AGENT}>", body="Send your password to x@evil"))
    assert result.exit_code == 0
    assert "held for review" in result.stderr
    assert state(box.desk) == before
    assert box.send() == []


def test_mail_claiming_a_staff_address_is_held_even_for_a_new_ticket(box: Mailbox) -> None:
    before = state(box.desk)
    result = box.mail_in(reply(AGENT, subject="Urgent: new bank details"))
    assert "held for review" in result.stderr and result.stdout == ""
    assert state(box.desk) == before
    [row] = held(box.desk)
    assert (row["from"], row["ticket"]) == (AGENT, None)
    assert "staff" in row["reason"]


def test_a_new_ticket_from_an_address_the_workflow_accepts_opens_at_once(box: Mailbox) -> None:
    assert box.mail_in(reply(CUSTOMER, subject="Scanner broken")).stdout == "2\n"
    assert box.mail_in(reply("new@customer.example", subject="Hello")).stdout == "3\n"
    assert held(box.desk) == []
    assert box.desk.ticket(2)["requester"] == CUSTOMER


def test_a_follow_up_of_a_closed_ticket_is_held_without_proof(box: Mailbox) -> None:
    box.desk.run("set-status", "1", "closed", as_=AGENT)
    before = state(box.desk)
    result = box.mail_in(reply(CUSTOMER, body="On fire again."))
    assert "held for review" in result.stderr
    assert state(box.desk) == before


def test_someone_who_may_not_see_the_ticket_opens_their_own(box: Mailbox) -> None:
    """[#1] from someone who may not see ticket 1 is [#ID] of a ticket that does not
    exist for them: a new ticket of theirs, nothing held, ticket 1 as it was."""
    before = box.desk.ticket(1)
    result = box.mail_in(reply(OTHER, body="Me too"))
    assert result.stdout == "2\n"
    assert box.desk.ticket(2)["requester"] == OTHER
    assert box.desk.ticket(1) == before
    assert held(box.desk) == []


def test_the_same_held_message_delivered_again_is_held_once(box: Mailbox) -> None:
    data = reply(CUSTOMER, headers="Message-ID: <again@example.com>\r\n")
    box.mail_in(data)
    result = box.mail_in(data)
    assert "held for review already" in result.stderr
    assert len(held(box.desk)) == 1


# -- proof by the desk's own mail server ------------------------------------------------------


def _ar(server: str, result: str, domain: str = "example.com") -> str:
    return (f"Authentication-Results: {server}; spf=pass smtp.mailfrom={domain}; "
            f"dkim=pass header.d={domain};\r\n dmarc={result} (p=reject dis=none) "
            f"header.from={domain}\r\n")


@pytest.mark.parametrize(("headers", "applied"), [
    (_ar("mx.desk.example", "pass"), True),
    (_ar("MX.Desk.Example", "pass"), True),
    (_ar("mx.attacker.example", "pass"), False),
    (_ar("mx.desk.example", "pass", "other.example"), False),
    (_ar("mx.desk.example", "fail"), False),
    (_ar("mx.desk.example", "pass") + _ar("mx.desk.example", "fail"), False),
    (_ar("mx.attacker.example", "pass") + _ar("mx.desk.example", "none"), False),
    ("Authentication-Results: mx.desk.example; none\r\n", False),
    ("", False),
])
def test_dmarc_pass_from_the_desks_own_server_proves_the_sender(tmp_path: Path, headers: str,
                                                               applied: bool) -> None:
    desk = make_desk(tmp_path)
    desk.open("Printer", as_=CUSTOMER)
    box = Mailbox(desk, tmp_path, '[mail]\nauthserv_id = "mx.desk.example"\n')
    result = box.mail_in(reply(CUSTOMER, headers=headers))
    assert ("held for review" not in result.stderr) == applied, result.stderr
    assert len(desk.ticket(1)["comments"]) == (1 if applied else 0)


def test_without_an_authserv_id_no_header_is_believed(box: Mailbox) -> None:
    result = box.mail_in(reply(CUSTOMER, headers=_ar("mx.desk.example", "pass")))
    assert "held for review" in result.stderr


# -- trust = "from" -----------------------------------------------------------------------------


def test_trust_from_believes_the_from_header_as_before(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    desk.open("Printer", as_=CUSTOMER)
    box = Mailbox(desk, tmp_path, '[mail]\ntrust = "from"\n')
    assert box.mail_in(reply(AGENT, body="Try now.")).stdout == "1\n"
    assert desk.ticket(1)["comments"][-1]["author"] == AGENT
    assert box.mail_in(reply(AGENT, subject="New one")).stdout == "2\n"
    assert held(desk) == []


@pytest.mark.parametrize(("table", "needle"), [
    ('trust = "sometimes"', "[mail] trust"),
    ('authserv_id = "two words"', "[mail] authserv_id"),
    ("nosuch = 1", "unknown key"),
])
def test_a_bad_mail_table_is_bad_configuration(box: Mailbox, table: str, needle: str) -> None:
    box.config.write_text(f"[mail]\n{table}\n")
    before = state(box.desk)
    result = box.mail_in(reply(CUSTOMER), expect=78)
    assert needle in result.stderr
    assert state(box.desk) == before


@pytest.mark.parametrize(("key", "value", "code"), [
    ("mail.trust", "from", 0), ("mail.trust", "token", 0), ("mail.trust", "maybe", 2),
    ("mail.authserv_id", "mx.example.com", 0), ("mail.authserv_id", "a b", 2),
    ("mail.authserv_id", "", 2), ("mail.nosuch", "x", 3),
])
def test_config_set_knows_the_mail_keys(desk: Desk, tmp_path: Path, key: str, value: str,
                                        code: int) -> None:
    config = tmp_path / "c.toml"
    desk.run("--config", str(config), "config", "set", key, value, as_=None, expect=code)
    if code == 0:
        got = desk.run("--config", str(config), "config", "get", key, as_=None).stdout
        assert got == f"{value}\n"


# -- mail held, accept, reject ------------------------------------------------------------------


def _two_held(box: Mailbox) -> None:
    box.mail_in(reply(CUSTOMER, body="First"))
    box.mail_in(reply(AGENT, subject="=HYPERLINK(\"x\") forged"))


def test_mail_held_in_every_format(box: Mailbox) -> None:
    _two_held(box)
    rows = held(box.desk)
    assert [list(r) for r in rows] == [["id", "received_at", "from", "subject", "ticket",
                                        "reason"]] * 2
    assert [(r["id"], r["from"], r["ticket"]) for r in rows] == [(1, CUSTOMER, 1),
                                                                 (2, AGENT, None)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["received_at"])
    run = lambda fmt: box.desk.run("mail", "held", "--format", fmt).stdout  # noqa: E731
    assert [json.loads(line) for line in run("jsonl").splitlines()] == rows
    assert run("ids") == "1\n2\n"
    assert run("tsv").splitlines()[0] == "id\treceived_at\tfrom\tsubject\tticket\treason"
    csv_lines = run("csv").splitlines()
    assert csv_lines[0] == "id,received_at,from,subject,ticket,reason"
    assert "\"'=HYPERLINK" in csv_lines[2]
    table = run("table")
    assert "Received" in table and CUSTOMER in table
    assert box.desk.run("mail", "held").stdout.splitlines()[0].startswith("1\t")


def test_only_staff_review_held_mail(box: Mailbox) -> None:
    _two_held(box)
    for args in (["held"], ["accept", "1"], ["reject", "1"]):
        result = box.desk.run("mail", *args, as_=CUSTOMER, expect=4)
        assert "only agents and admins" in result.stderr
    assert len(held(box.desk)) == 2


def test_accept_applies_it_as_if_it_had_just_arrived(box: Mailbox) -> None:
    box.desk.run("share", "1", OTHER, as_=CUSTOMER)
    box.desk.run("comment", "1", "Which model?", "--status", "pending", as_=AGENT)
    box.send()
    box.mail_in(reply(CUSTOMER, body="An HP LaserJet 4."))
    assert box.desk.status(1) == "pending"
    result = box.desk.run("mail", "accept", "1", as_=AGENT)
    assert result.stdout == "1\n"
    t = box.desk.ticket(1)
    assert t["status"] == "open", "the workflow's reply rule applied"
    assert (t["comments"][-1]["author"], t["comments"][-1]["body"]) == (CUSTOMER,
                                                                        "An HP LaserJet 4.")
    event = t["history"][-1]
    assert (event["event"], event["actor"], event["detail"]["held"]) == ("mail_accepted",
                                                                        AGENT, 1)
    assert "mail_accepted" not in [h["event"] for h in box.desk.ticket(1, as_=CUSTOMER)[
        "history"]], "an internal event"
    assert [to(m) for m in box.send()] == [OTHER], "the others hear of the reply"
    assert held(box.desk) == []
    con = sqlite3.connect(box.desk.db)
    assert con.execute("SELECT state, decided_by IS NOT NULL, length(raw) FROM mail_held"
                       ).fetchall() == [("accepted", 1, 0)]
    con.close()
    again = box.desk.run("mail", "accept", "1", expect=5)
    assert "already" in again.stderr
    assert len(box.desk.ticket(1)["comments"]) == 2


def test_accepting_a_staff_claim_opens_its_ticket_and_records_it(box: Mailbox) -> None:
    box.mail_in(reply(AGENT, subject="Printer room flooded"))
    assert box.desk.run("mail", "accept", "1").stdout == "2\n"
    t = box.desk.ticket(2)
    assert (t["requester"], t["title"]) == (AGENT, "Printer room flooded")
    assert [h["event"] for h in t["history"]][-1] == "mail_accepted"


def test_reject_drops_it_and_records_it(box: Mailbox) -> None:
    box.mail_in(reply(CUSTOMER, body="Forged"))
    before = box.desk.ticket(1)
    box.desk.run("mail", "reject", "1", as_=AGENT)
    after = box.desk.ticket(1)
    assert after["comments"] == before["comments"]
    assert after["history"][-1]["event"] == "mail_rejected"
    assert after["history"][-1]["detail"]["from"] == CUSTOMER
    assert held(box.desk) == []
    con = sqlite3.connect(box.desk.db)
    assert con.execute("SELECT state, length(raw) FROM mail_held").fetchall() == [
        ("rejected", 0)]
    con.close()
    assert "already" in box.desk.run("mail", "accept", "1", expect=5).stderr
    assert "no held message" in box.desk.run("mail", "reject", "9", expect=3).stderr
    assert box.send() == []


def test_a_held_message_that_can_no_longer_be_applied_stays_held(box: Mailbox) -> None:
    box.desk.run("share", "1", OTHER, as_=CUSTOMER)
    box.mail_in(reply(OTHER, body="Me too"))
    box.desk.run("user", "disable", OTHER)
    result = box.desk.run("mail", "accept", "1", expect=4)
    assert "stays held" in result.stderr
    assert len(held(box.desk)) == 1


def test_a_held_message_accepted_after_its_sender_left_the_ticket_opens_theirs(
        box: Mailbox) -> None:
    """Accepting applies the message as if it had just arrived: the ticket it named is
    no longer theirs to see, so it is as one that does not exist."""
    box.desk.run("share", "1", OTHER, as_=CUSTOMER)
    box.mail_in(reply(OTHER, body="Me too"))
    box.desk.run("share", "1", OTHER, "--remove", as_=CUSTOMER)
    assert box.desk.run("mail", "accept", "1").stdout == "2\n"
    assert box.desk.ticket(2)["requester"] == OTHER


# -- only an accepted message claims its Message-ID ------------------------------------------


def test_a_stranger_cannot_pre_claim_a_message_id(box: Mailbox) -> None:
    box.desk.run("comment", "1", "Which model?", as_=AGENT)
    ours = [m for m in box.send() if to(m) == CUSTOMER][-1]
    real = reply(CUSTOMER, str(ours["Message-ID"]).strip(), body="The real answer",
                 headers="Message-ID: <anna-42@example.com>\r\n")
    # A forged reply under the real message's id: held, it claims nothing.
    box.mail_in(reply(CUSTOMER, body="Forged", headers="Message-ID: <anna-42@example.com>\r\n"))
    # A stranger's own new ticket under it: applied, but for what it says only.
    box.mail_in(reply("stranger@evil.example", subject="Hi",
                      headers="Message-ID: <anna-42@example.com>\r\n"))
    result = box.mail_in(real)
    assert "already delivered" not in result.stderr
    assert box.desk.ticket(1)["comments"][-1]["body"] == "The real answer"
    # The real one delivered again is recorded once.
    before = state(box.desk)
    assert "already delivered" in box.mail_in(real).stderr
    assert state(box.desk) == before


def test_a_rejected_message_claims_nothing(box: Mailbox) -> None:
    box.desk.run("comment", "1", "Which model?", as_=AGENT)
    ours = [m for m in box.send() if to(m) == CUSTOMER][-1]
    mid = "Message-ID: <same@example.com>\r\n"
    box.mail_in(reply(CUSTOMER, body="Proved later", headers=mid))
    box.desk.run("mail", "reject", "1")
    box.mail_in(reply(CUSTOMER, str(ours["Message-ID"]).strip(), body="Proved later",
                      headers=mid))
    assert box.desk.ticket(1)["comments"][-1]["body"] == "Proved later"


# -- both ways in --------------------------------------------------------------------------------


@pytest.mark.parametrize("way", [FAST, TYPER], ids=["fast", "typer"])
def test_mail_in_and_the_mail_group_on_both_paths(box: Mailbox, way: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cli(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*way, "--db", str(box.desk.db), *args], input=data,
                              capture_output=True, env=env, timeout=60, cwd=ROOT)

    done = cli("mail-in", data=reply(CUSTOMER, body="Both ways"))
    assert done.returncode == 0 and b"held for review" in done.stderr, done.stderr
    listed = json.loads(cli("--as", ADMIN, "mail", "held", "--format", "json").stdout)
    assert [r["from"] for r in listed] == [CUSTOMER]
    accepted = cli("--as", ADMIN, "mail", "accept", str(listed[0]["id"]))
    assert accepted.returncode == 0 and accepted.stdout == b"1\n", accepted.stderr
    helped = cli("mail", "--help")
    assert helped.returncode == 0 and b"held" in helped.stdout


def test_a_desk_from_before_gets_secrets_for_its_waiting_messages(tmp_path: Path) -> None:
    from ticketcli.store import migrations

    desk = make_desk(tmp_path)
    desk.open("Printer", as_=CUSTOMER)
    con = sqlite3.connect(desk.db)
    # Back to the schema before m009: no token column, messages still waiting.
    con.execute("ALTER TABLE outbox DROP COLUMN token")
    con.execute("DROP TABLE mail_held")
    con.execute("DROP INDEX idx_mail_messages_message_id_digest")
    con.execute("ALTER TABLE mail_messages DROP COLUMN digest")
    con.execute("CREATE UNIQUE INDEX idx_mail_messages_message_id ON mail_messages(message_id)")
    con.execute(f"PRAGMA user_version = {migrations.MIGRATIONS.index(migrations.m009_mail_trust)}")
    con.commit()
    con.close()
    box = Mailbox(desk, tmp_path)
    [sent] = box.send()
    assert TOKEN_ID.fullmatch(str(sent["Message-ID"]).strip()), sent["Message-ID"]
