"""The first minutes of a new user: no init, one command, a ticket."""

from __future__ import annotations

import os
import stat

from conftest import CUSTOMER, Desk


def test_open_without_init_uses_the_per_user_database(isolated_env) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ticketcli.cli import app

    result = CliRunner().invoke(app, ["open", "Printer on fire"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"
    db = isolated_env / "data" / "ticketcli" / "tickets.db"
    assert db.exists()
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600


def test_customer_ticket_round_trip(desk: Desk) -> None:
    body = "Line one\n\n<b>not markup</b> & ünïcödé 🖨️\n\ttabbed\n"
    tid = desk.open("Printer on fire", "--body", body, as_=CUSTOMER)
    shown = desk.ticket(tid, as_=CUSTOMER)
    assert shown["description"] == body
    assert shown["requester"] == CUSTOMER
    assert shown["status"] == "new"
