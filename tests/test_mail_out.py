"""Email out: the outbox written with each event, and `notify send` to a real SMTP server.

The server is aiosmtpd on loopback; the tests check what arrives there:
recipients, headers, threading, encodings, duplicates, retries.
"""

from __future__ import annotations

import asyncio
import email
import json
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import ADMIN, AGENT, CUSTOMER, OTHER, ROOT, Desk, make_desk

FROM = "Help desk <helpdesk@desk.example>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps what it receives; can refuse some recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.peers: list[object] = []
        self.lock = threading.Lock()
        self.rcpt_reply: dict[str, str] = {}  # address -> SMTP reply to RCPT TO
        self.delay = 0.0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.rcpt_reply.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  bytes(envelope.original_content)))
            self.peers.append(session.peer)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        out = []
        for _, _, data in self.received:
            msg = email.message_from_bytes(data, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out


class Server:
    def __init__(self, port: int, **kwargs: Any) -> None:
        self.port = port
        self.inbox = Inbox()
        self.kwargs = kwargs
        self.controller: Controller | None = None

    def start(self) -> Server:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     **self.kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server(free_port()).start()
    yield server
    server.stop()


def write_config(path: Path, port: int, extra: str = "") -> Path:
    path.write_text(f'[smtp]\nfrom = "{FROM}"\nhost = "127.0.0.1"\nport = {port}\n'
                    f"timeout = 5\n{extra}")
    return path


def outbox(desk: Desk, *args: str) -> list[dict[str, Any]]:
    rows = desk.json("notify", "list", "--limit", "0", *args)
    assert isinstance(rows, list)
    return sorted(rows, key=lambda r: r["id"])


def send(desk: Desk, config: Path, *args: str, expect: int = 0) -> Any:
    return desk.run("--config", str(config), "notify", "send", *args, as_=None, expect=expect)


def later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the outbox -----------------------------------------------------------------------


def test_each_customer_side_event_writes_one_message_per_recipient(desk: Desk) -> None:
    tid = desk.open("Printer on fire", "--body", "It smokes", as_=CUSTOMER)
    rows = outbox(desk)
    # The opening confirmation reaches the requester, who opened it.
    assert [(r["recipient"], r["kind"]) for r in rows] == [(CUSTOMER, "opened")]
    assert rows[0]["subject"] == f"[#{tid}] Printer on fire"
    assert "It smokes" in rows[0]["body"]

    desk.run("share", str(tid), OTHER, as_=CUSTOMER)
    assert [(r["recipient"], r["kind"]) for r in outbox(desk)[1:]] == [(OTHER, "shared")]

    desk.run("comment", str(tid), "--internal", "Supplier says Tuesday", as_=AGENT)
    assert len(outbox(desk)) == 2  # internal notes never leave

    desk.run("comment", str(tid), "Have you tried turning it off?", as_=AGENT)
    new = outbox(desk)[2:]
    assert sorted(r["recipient"] for r in new) == [CUSTOMER, OTHER]
    assert {r["kind"] for r in new} == {"reply"}
    assert all("Have you tried turning it off?" in r["body"] for r in new)
    assert all("Supplier" not in r["body"] for r in new)

    desk.run("set-status", str(tid), "solved", as_=ADMIN)
    new = outbox(desk)[4:]
    assert sorted((r["recipient"], r["kind"]) for r in new) == [(CUSTOMER, "status"),
                                                                 (OTHER, "status")]
    assert "Solved" in new[0]["body"]

    # The requester's reply reopens the ticket: the participant hears of both in one
    # message, the requester (who acted) hears nothing.
    desk.run("comment", str(tid), "Still smoking", as_=CUSTOMER)
    new = outbox(desk)[6:]
    assert [(r["recipient"], r["kind"]) for r in new] == [(OTHER, "reply")]
    assert "Still smoking" in new[0]["body"]
    assert "The ticket is now: Open (was: Solved)" in new[0]["body"]


def test_reply_with_status_and_attachment_is_one_message(desk: Desk, tmp_path: Path) -> None:
    tid = desk.open("VPN", as_=CUSTOMER)
    log = tmp_path / "vpn.log"
    log.write_text("trace")
    desk.run("comment", str(tid), "Send the log please", "--status", "pending",
             "--attach", str(log), as_=AGENT)
    rows = outbox(desk)[1:]
    assert len(rows) == 1
    assert rows[0]["kind"] == "reply"
    assert "Attachments: vpn.log" in rows[0]["body"]
    assert "The ticket is now: Pending (was: New)" in rows[0]["body"]


def test_two_commands_in_the_same_second_are_two_messages(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply and a separate status change are two change sets, so two messages, even
    when the clock gives both the same second (the outbox once merged them by time)."""
    tid = desk.open("Crash on start", as_=CUSTOMER)
    moment = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    monkeypatch.setattr("ticketcli.context.utcnow", lambda: moment)
    desk.run("comment", str(tid), "Please send the log", as_=AGENT)
    desk.run("set-status", str(tid), "pending", as_=AGENT)
    rows = outbox(desk)[1:]
    assert [(r["recipient"], r["kind"]) for r in rows] == [(CUSTOMER, "reply"),
                                                          (CUSTOMER, "status")]
    assert "Please send the log" in rows[0]["body"]
    assert "The ticket is now" not in rows[0]["body"]
    assert "Pending" in rows[1]["body"] and "Please send the log" not in rows[1]["body"]
    stamps = {h["at"] for h in desk.ticket(tid)["history"] if h["actor"] == AGENT}
    assert stamps == {"2026-12-03T09:30:00Z"}


def test_a_refused_change_writes_no_message(desk: Desk) -> None:
    tid = desk.open("Done", as_=CUSTOMER)
    desk.run("set-status", str(tid), "closed", as_=AGENT)
    before = outbox(desk)
    result = desk.run("comment", str(tid), "one more thing", as_=CUSTOMER, expect=5)
    assert result.stderr.startswith("Error:")
    assert outbox(desk) == before


def test_reminder_and_automatic_closure_are_notified(desk: Desk) -> None:
    tid = desk.open("Slow", as_=CUSTOMER)
    desk.run("share", str(tid), OTHER, as_=AGENT)
    desk.run("set-status", str(tid), "solved", as_=AGENT)
    desk.run("close-stale", "--now", later(12), "--quiet")
    reminders = [r for r in outbox(desk) if r["kind"] == "reminder"]
    assert sorted(r["recipient"] for r in reminders) == [CUSTOMER, OTHER]
    assert "closed automatically" in reminders[0]["body"]
    desk.run("close-stale", "--now", later(15), "--quiet")
    closed = [r for r in outbox(desk) if r["kind"] == "autoclosed"]
    assert sorted(r["recipient"] for r in closed) == [CUSTOMER, OTHER]
    assert "Closed" in closed[0]["body"]
    # Run again: nothing new is written.
    count = len(outbox(desk))
    desk.run("close-stale", "--now", later(16), "--quiet")
    assert len(outbox(desk)) == count


def test_recipient_language_and_admin_templates(desk: Desk, tmp_path: Path) -> None:
    desk.run("notify", "lang", "it", "--user", CUSTOMER)
    tid = desk.open("Stampante", "--requester", CUSTOMER, as_=AGENT)
    row = outbox(desk)[0]
    assert row["lang"] == "it"
    assert "abbiamo ricevuto la sua richiesta" in row["body"]
    assert "Stato: Nuovo." in row["body"]

    template = tmp_path / "opened.txt"
    template.write_text("Subject: Ticket $id aperto: $title\n\nCiao $recipient, "
                        "ticket $id ($status).\n")
    desk.run("notify", "template", "set", "opened", "--lang", "it", "--file", str(template))
    shown = desk.run("notify", "template", "show", "opened", "--lang", "it").stdout
    assert shown == "Subject: Ticket $id aperto: $title\n\nCiao $recipient, ticket $id ($status).\n"
    tid = desk.open("Rete", "--requester", CUSTOMER, as_=AGENT)
    row = outbox(desk)[-1]
    # The subject gets [#ID] even when the template leaves it out.
    assert row["subject"] == f"[#{tid}] Ticket {tid} aperto: Rete"
    assert row["body"] == f"Ciao Anna, ticket {tid} (Nuovo).\n"

    # Only admins change templates; unknown placeholders are refused.
    desk.run("notify", "template", "set", "opened", "--file", str(template), as_=AGENT,
             expect=4)
    template.write_text("Subject: $nope\n\nx\n")
    bad = desk.run("notify", "template", "set", "opened", "--file", str(template), expect=2)
    assert "$nope" in bad.stderr
    desk.run("notify", "template", "reset", "opened", "--lang", "it")
    desk.open("Terzo", "--requester", CUSTOMER, as_=AGENT)
    assert "abbiamo ricevuto" in outbox(desk)[-1]["body"]


def test_customers_cannot_read_the_outbox(desk: Desk) -> None:
    desk.open("x", as_=CUSTOMER)
    result = desk.run("notify", "list", as_=CUSTOMER, expect=4)
    assert result.stderr.startswith("Error:")


# -- sending ---------------------------------------------------------------------------


def test_send_delivers_with_proper_headers_threading_and_encoding(
    desk: Desk, smtp: Server, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "c.toml", smtp.port)
    desk.run("user", "add", "zoe@example.com", "--name", "Zoë Ünal")
    tid = desk.open("Stampante in fiamme è 🔥", "--body", "Non stampa più", as_=CUSTOMER)
    desk.run("share", str(tid), "zoe@example.com", as_=AGENT)
    desk.run("comment", str(tid), "Può mandare il log? Grazie — A.", as_=AGENT)
    result = send(desk, config)
    assert "4 sent" in result.stderr

    received = smtp.inbox.received
    assert sorted(tuple(r[1]) for r in received) == [(CUSTOMER,), (CUSTOMER,),
                                                     ("zoe@example.com",), ("zoe@example.com",)]
    assert {r[0] for r in received} == {"helpdesk@desk.example"}
    for _, _, data in received:
        assert all(b < 128 for b in data), "the message is 7-bit clean"
    msgs = smtp.inbox.messages()
    anna = [m for m in msgs if CUSTOMER in str(m["To"])]
    zoe = [m for m in msgs if "zoe@example.com" in str(m["To"])]
    confirmation = next(m for m in anna if "Non stampa più" in m.get_content())
    reply = next(m for m in anna if m is not confirmation)
    assert "Può mandare il log? Grazie — A." in reply.get_content()
    assert confirmation["Subject"] == f"[#{tid}] Stampante in fiamme è 🔥"
    assert confirmation["From"] == FROM
    assert confirmation["To"] == f"Anna <{CUSTOMER}>"
    assert confirmation["Auto-Submitted"] == "auto-generated"
    assert confirmation.get_content_charset() == "utf-8"
    assert email.utils.parsedate_to_datetime(str(confirmation["Date"])).tzinfo is not None
    assert zoe[0]["To"].addresses[0].display_name == "Zoë Ünal"

    # Threading: every message has its own id and starts its References with the
    # ticket's root; each answers the one its recipient got before.
    ids = [str(m["Message-ID"]) for m in msgs]
    assert len(set(ids)) == 4
    root = str(confirmation["References"]).split()[0]
    assert all(str(m["References"]).split()[0] == root for m in msgs)
    assert confirmation["In-Reply-To"] == root
    assert reply["In-Reply-To"] == confirmation["Message-ID"]
    assert str(reply["References"]).split() == [root, str(confirmation["Message-ID"]).strip()]
    shared = next(m for m in zoe if "shared" in m.get_content())
    zoe_reply = next(m for m in zoe if m is not shared)
    assert zoe_reply["In-Reply-To"] == shared["Message-ID"]

    # Sent means sent: another run sends nothing.
    assert {r["state"] for r in outbox(desk)} == {"sent"}
    send(desk, config)
    assert len(smtp.inbox.received) == 4


def test_unreachable_server_exits_75_and_sends_when_it_is_back(
    desk: Desk, tmp_path: Path
) -> None:
    port = free_port()
    config = write_config(tmp_path / "c.toml", port)
    desk.open("Hello", as_=CUSTOMER)
    result = send(desk, config, expect=75)
    assert result.stderr.startswith("Error:")
    assert "unreachable" in result.stderr
    rows = outbox(desk)
    assert [(r["state"], r["attempts"]) for r in rows] == [("pending", 0)]
    server = Server(port).start()
    try:
        send(desk, config)
        assert len(server.inbox.received) == 1
    finally:
        server.stop()
    assert outbox(desk)[0]["state"] == "sent"


def test_temporary_refusals_back_off_then_fail(desk: Desk, smtp: Server,
                                               tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", smtp.port, "max_attempts = 3\n")
    smtp.inbox.rcpt_reply[CUSTOMER] = "451 4.3.0 Mailbox busy, try later"
    smtp.inbox.rcpt_reply[OTHER] = "550 5.1.1 No such user"
    tid = desk.open("Hello", as_=CUSTOMER)
    desk.run("share", str(tid), OTHER, as_=AGENT)
    desk.run("user", "add", "ok@example.com")
    desk.run("share", str(tid), "ok@example.com", as_=AGENT)
    send(desk, config)
    rows = {r["recipient"]: r for r in outbox(desk)}
    assert rows["ok@example.com"]["state"] == "sent"
    assert rows[OTHER]["state"] == "failed"  # 5xx: refused for good, at once
    assert "550" in rows[OTHER]["error"]
    anna = rows[CUSTOMER]
    assert (anna["state"], anna["attempts"]) == ("pending", 1)
    assert "451" in anna["error"]
    wait = datetime.strptime(anna["next_attempt_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(seconds=30) < wait - datetime.now(UTC) <= timedelta(seconds=61)

    send(desk, config)  # not due yet: nothing is tried
    assert outbox(desk, "--state", "pending")[0]["attempts"] == 1
    send(desk, config, "--now", later(1))
    row = outbox(desk, "--state", "pending")[0]
    assert row["attempts"] == 2
    assert row["next_attempt_at"] > later(1)  # the delay grows
    send(desk, config, "--now", later(2))
    anna = next(r for r in outbox(desk) if r["recipient"] == CUSTOMER)
    assert anna["state"] == "failed"
    assert "gave up after 3 attempts" in anna["error"]

    # The server is fixed; an agent queues the failed messages again.
    smtp.inbox.rcpt_reply.clear()
    desk.run("notify", "retry", "--all-failed", as_=AGENT)
    send(desk, config)
    assert {r["state"] for r in outbox(desk)} == {"sent"}
    assert sorted(r[1][0] for r in smtp.inbox.received) == sorted(
        [CUSTOMER, OTHER, "ok@example.com"])


@pytest.mark.slow
def test_concurrent_senders_never_send_a_message_twice(tmp_path: Path, smtp: Server) -> None:
    desk = make_desk(tmp_path)
    config = write_config(tmp_path / "c.toml", smtp.port)
    smtp.inbox.delay = 0.03
    for i in range(12):
        tid = desk.open(f"Ticket {i}", as_=CUSTOMER)
        desk.run("share", str(tid), OTHER, as_=AGENT)
        desk.run("comment", str(tid), f"Reply {i}", as_=AGENT)
    expected = len(outbox(desk))
    assert expected == 12 * 4
    args = ["--db", str(desk.db), "--config", str(config), "notify", "send", "--quiet"]
    procs = [subprocess.Popen([sys.executable, "-m", "ticketcli", *args], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    ids = [str(m["Message-ID"]) for m in smtp.inbox.messages()]
    assert len(ids) == expected
    assert len(set(ids)) == expected
    assert len(set(smtp.inbox.peers)) > 1, "the senders really ran side by side"
    assert {r["state"] for r in outbox(desk)} == {"sent"}


def test_an_abandoned_claim_is_taken_again_after_its_lease(desk: Desk, smtp: Server,
                                                          tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", smtp.port)
    desk.open("One", as_=CUSTOMER)
    desk.open("Two", as_=CUSTOMER)
    con = sqlite3.connect(desk.db)
    with con:  # a sender died holding both: one lease has expired, one has not
        con.execute("UPDATE outbox SET state = 'sending', claimed_by = 'dead', "
                    "lease_until = '2000-01-01T00:00:00Z' WHERE id = 1")
        con.execute("UPDATE outbox SET state = 'sending', claimed_by = 'busy', "
                    "lease_until = '2999-01-01T00:00:00Z' WHERE id = 2")
    con.close()
    send(desk, config)
    assert [m["Subject"] for m in smtp.inbox.messages()] == ["[#1] One"]
    assert [r["state"] for r in outbox(desk)] == ["sent", "sending"]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it through cafile)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def test_starttls_and_login_with_the_password_from_the_environment(
    desk: Desk, tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret pass", handled=False)

    server = Server(free_port(), tls_context=context, require_starttls=True,
                    authenticator=authenticator, auth_require_tls=True,
                    auth_exclude_mechanism=["LOGIN"]).start()
    try:
        config = write_config(
            tmp_path / "c.toml", server.port,
            f'security = "starttls"\nusername = "desk"\npassword_env = "DESK_PW"\n'
            f'cafile = "{cert}"\n')
        desk.open("Secure", as_=CUSTOMER)
        missing = send(desk, config, expect=78)
        assert "DESK_PW" in missing.stderr
        wrong = desk.run("--config", str(config), "notify", "send", as_=None, expect=78,
                         env={"DESK_PW": "wrong"})
        assert "refused the login" in wrong.stderr
        assert outbox(desk)[0]["state"] == "pending"
        desk.run("--config", str(config), "notify", "send", as_=None,
                 env={"DESK_PW": "s3cret pass"})
        assert logins[-1] == (b"desk", b"s3cret pass")
        assert len(server.inbox.received) == 1
    finally:
        server.stop()


def test_implicit_tls(desk: Desk, tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = Server(free_port(), ssl_context=context).start()
    try:
        config = write_config(tmp_path / "c.toml", server.port, 'security = "ssl"\n')
        desk.open("Over TLS", as_=CUSTOMER)
        untrusted = send(desk, config, expect=78)
        assert "certificate" in untrusted.stderr
        write_config(config, server.port, f'security = "ssl"\ncafile = "{cert}"\n')
        send(desk, config)
        assert [m["Subject"] for m in server.inbox.messages()] == ["[#1] Over TLS"]
    finally:
        server.stop()


def test_sendmail_command(desk: Desk, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    script = tmp_path / "fake-sendmail"
    script.write_text(f'#!/bin/sh\nn=$(ls {spool} | wc -l)\necho "$@" > {spool}/$n.args\n'
                      f"cat > {spool}/$n.eml\n")
    script.chmod(0o755)
    config = tmp_path / "c.toml"
    config.write_text(f'[smtp]\nfrom = "{FROM}"\nsendmail = "{script} -i"\n')
    tid = desk.open("Via sendmail", as_=CUSTOMER)
    send(desk, config)
    # The recipient after "--": an address is never read as an option.
    assert (spool / "0.args").read_text().split() == ["-i", "--", CUSTOMER]
    msg = email.message_from_bytes((spool / "0.eml").read_bytes(), policy=policy.default)
    assert msg["Subject"] == f"[#{tid}] Via sendmail"
    assert outbox(desk)[0]["state"] == "sent"


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ("", "no [smtp] table"),
        ('[smtp]\nhost = "x"\n', "from is missing"),
        ('[smtp]\nfrom = "not an address"\nhost = "x"\n', "not an email address"),
        (f'[smtp]\nfrom = "{FROM}"\n', "needs host"),
        (f'[smtp]\nfrom = "{FROM}"\nhost = "x"\nsecurity = "tls"\n', "security must be"),
        (f'[smtp]\nfrom = "{FROM}"\nhost = "x"\nport = "25"\n', "port must be"),
        (f'[smtp]\nfrom = "{FROM}"\nhost = "x"\nusername = "u"\n', "password_env"),
        (f'[smtp]\nfrom = "{FROM}"\nhost = "x"\nhots = "y"\n', "unknown key"),
    ],
)
def test_bad_smtp_configuration_exits_78(desk: Desk, tmp_path: Path, config: str,
                                         needle: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(config)
    desk.open("x", as_=CUSTOMER)
    result = send(desk, path, expect=78)
    assert result.stderr.startswith("Error:")
    assert needle in result.stderr
    assert outbox(desk)[0]["state"] == "pending"


def test_read_commands_do_not_import_email(desk: Desk) -> None:
    desk.open("x", as_=CUSTOMER)
    probe = (
        "import sys\nfrom ticketcli.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m == 'smtplib' or m.startswith('email')]\n"
        "sys.stderr.write(repr(bad))\n"
    )
    for command in (["list"], ["show", "1"], ["comment", "1", "hello"]):
        argv = ["ticketcli", "--db", str(desk.db), "--as", ADMIN, *command]
        done = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = {argv!r}\n" +
                               probe], capture_output=True, cwd=ROOT, timeout=60)
        assert done.stderr.decode().endswith("[]"), (command, done.stderr.decode())


def test_notify_list_formats_and_filters(desk: Desk, smtp: Server, tmp_path: Path) -> None:
    a = desk.open("A", as_=CUSTOMER)
    desk.open("B", as_=OTHER)
    send(desk, write_config(tmp_path / "c.toml", smtp.port), "--limit", "1")
    assert [r["state"] for r in outbox(desk)] == ["sent", "pending"]
    assert [r["ticket"] for r in outbox(desk, "--state", "sent")] == [a]
    assert [r["ticket"] for r in outbox(desk, "--ticket", str(a))] == [a]
    ids = desk.run("notify", "list", "--format", "ids").stdout.split()
    assert ids == ["2", "1"]
    bad = desk.run("notify", "list", "--state", "lost", expect=2)
    assert bad.stderr.startswith("Error:")
    desk.open("C", as_=CUSTOMER)
    send(desk, write_config(tmp_path / "c.toml", smtp.port), "--limit", "0")  # 0: no limit
    assert [r["state"] for r in outbox(desk)] == ["sent", "sent", "sent"]
    rows = json.loads(desk.run("notify", "list", "--format", "json").stdout)
    assert set(rows[0]) >= {"id", "ticket", "recipient", "kind", "state", "attempts",
                            "subject", "error", "sent_at", "next_attempt_at"}


def test_a_421_that_closes_the_connection_is_retried(desk: Desk, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "c.toml", port)
    desk.open("Once", as_=CUSTOMER)
    server = Server(port).start()
    server.inbox.rcpt_reply[CUSTOMER] = "421 4.7.0 Try again later"
    try:
        send(desk, config)
        server.inbox.rcpt_reply.clear()
        send(desk, config, "--now", later(1))
    finally:
        server.stop()
    assert len(server.inbox.received) == 1
    row = outbox(desk)[0]
    assert (row["state"], row["attempts"]) == ("sent", 2)



def test_a_database_from_before_email_is_upgraded(tmp_path: Path) -> None:
    import sqlite_utils

    from ticketcli.store import migrations

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    migrations.m001_initial(sqlite_utils.Database(con))
    con.execute("PRAGMA user_version = 1")
    con.execute(f"PRAGMA application_id = {migrations.APPLICATION_ID}")
    con.commit()
    con.close()
    desk = Desk(path)
    tid = desk.open("After the upgrade")
    assert [(r["ticket"], r["kind"]) for r in outbox(desk)] == [(tid, "opened")]
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] >= 2
        assert con.execute("SELECT value FROM meta WHERE key = 'mail_desk_id'").fetchone()
    finally:
        con.close()


def test_a_message_is_rendered_when_sent_and_kept_as_sent(desk: Desk, smtp: Server,
                                                         tmp_path: Path) -> None:
    """The outbox holds what to tell; the text comes from the templates when a sender
    takes the message, and what was sent stays as sent."""
    config = write_config(tmp_path / "c.toml", smtp.port)
    tid = desk.open("Printer on fire", as_=CUSTOMER)
    desk.run("comment", str(tid), "Unplug it", as_=AGENT)
    with sqlite3.connect(desk.db) as conn:
        stored = conn.execute("SELECT subject, body FROM outbox").fetchall()
    conn.close()
    assert stored == [("", ""), ("", "")]
    template = tmp_path / "reply.txt"
    template.write_text("Subject: News on $title\n\n$recipient: $body\n")
    desk.run("notify", "template", "set", "reply", "--file", str(template))  # after the reply
    pending = outbox(desk)  # shown as it would be sent now
    assert pending[1]["subject"] == f"[#{tid}] News on Printer on fire"
    assert pending[1]["body"] == "Anna: Unplug it\n"

    assert "2 sent" in send(desk, config).stderr
    reply = next(m for m in smtp.inbox.messages() if "Unplug it" in m.get_content())
    assert reply["Subject"] == f"[#{tid}] News on Printer on fire"
    assert reply.get_content().replace("\r\n", "\n") == "Anna: Unplug it\n"

    template.write_text("Subject: Something else\n\n$body\n")
    desk.run("notify", "template", "set", "reply", "--file", str(template))
    kept = outbox(desk)[1]
    assert (kept["state"], kept["subject"], kept["body"]) == (
        "sent", f"[#{tid}] News on Printer on fire", "Anna: Unplug it\n")
