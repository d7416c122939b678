"""Settings from the config file, ``config set/unset`` and the environment: a bad value
in a file or variable is bad configuration (78) naming where it is; a bad value on the
command line is a usage error (2); an unknown config key is not found (3). Nothing is
written when a command fails."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, ROOT, Desk, dump

from ticketcli import config as cfg
from ticketcli.mail import settings as mail_settings

# `list` runs on the fast path; `list -n100` (a spelling only Typer reads) and `open` run
# through the Typer app: each case below goes both ways.
READ_FAST = ("list",)
READ_TYPER = ("list", "-n100")
WRITE = ("open", "Printer on fire")
COMMANDS = [READ_FAST, READ_TYPER, ("show", "1"), WRITE]
IDS = ["list-fast", "list-typer", "show", "open"]


def error_line(result: Any) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), repr(result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    return str(lines[0])


def tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def tid(desk: Desk) -> int:
    return desk.open("First")


# -- 1. the config file -------------------------------------------------------------------


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
@pytest.mark.parametrize("value", ["not-an-email", "", "two@at@example.com"])
def test_a_config_user_that_is_not_an_email_is_bad_configuration(
        desk: Desk, tid: int, tmp_path: Path, args: tuple[str, ...], value: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'user = "{value}"\n')
    before = dump(desk.db)
    result = desk.run("--config", str(config), *args, as_=None, expect=78)
    line = error_line(result)
    assert str(config) in line and "user" in line and repr(value) in line, line
    assert dump(desk.db) == before
    # The same file given by TICKETCLI_CONFIG, and with --as (the file is still broken).
    result = desk.run(*args, expect=78, env={"TICKETCLI_CONFIG": str(config)})
    assert str(config) in error_line(result)


def test_a_config_user_in_the_default_location(desk: Desk, tid: int, isolated_env: Path) -> None:
    config = isolated_env / "config" / "ticketcli" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('user = "not-an-email"\n')
    line = error_line(desk.run("list", as_=None, expect=78))
    assert str(config) in line and "user" in line


def test_a_good_config_user_still_acts(desk: Desk, tid: int, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'user = "  {ADMIN.upper()}"\n')
    assert desk.run("--config", str(config), "list", "--format", "ids", as_=None).stdout \
        == f"{tid}\n"


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_bad_email_on_the_command_line_or_in_ticketcli_user_is_a_usage_error(
        desk: Desk, tid: int, args: tuple[str, ...]) -> None:
    before = dump(desk.db)
    line = error_line(desk.run(*args, as_="not-an-email", expect=2))
    assert "not-an-email" in line
    line = error_line(desk.run(*args, as_=None, expect=2,
                               env={"TICKETCLI_USER": "not-an-email"}))
    assert "not-an-email" in line
    assert dump(desk.db) == before


# -- 2. config set validates like the loader ----------------------------------------------

BAD_VALUES = [
    ("user", "not-an-email", "user"),
    ("user", "", "user"),
    ("language", "fr", "language must be 'en' or 'it', not 'fr'"),
    ("db", "", "db"),
    ("busy_timeout", "soon", "busy_timeout"),
    ("busy_timeout", "nan", "busy_timeout"),
    ("busy_timeout", "-1", "busy_timeout"),
    ("max_title_length", "0", "max_title_length"),
    ("max_body_size", "-5", "max_body_size"),
    ("max_attachments", "2.5", "max_attachments"),
    ("max_attachment_size", "many", "max_attachment_size"),
    ("smtp.from", "not an address", "smtp.from"),
    ("smtp.from", "", "smtp.from"),
    ("smtp.reply_to", "nobody", "smtp.reply_to"),
    ("smtp.port", "abc", "smtp.port"),
    ("smtp.port", "70000", "smtp.port"),
    ("smtp.security", "tls", "smtp.security"),
    ("smtp.timeout", "0", "smtp.timeout"),
    ("smtp.max_attempts", "0", "smtp.max_attempts"),
    ("smtp.host", " ", "smtp.host"),
    ("smtp.sendmail", "'unclosed", "smtp.sendmail"),
    ("mail.trust", "sometimes", "mail.trust"),
    ("mail.authserv_id", "mx.example.com; dmarc=pass", "mail.authserv_id"),
]


@pytest.mark.parametrize(("key", "value", "needle"), BAD_VALUES,
                         ids=[f"{k}={v!r}" for k, v, _ in BAD_VALUES])
@pytest.mark.parametrize("existing", [True, False], ids=["file", "no-file"])
def test_config_set_refuses_a_bad_value_as_a_usage_error(
        desk: Desk, tmp_path: Path, key: str, value: str, needle: str, existing: bool) -> None:
    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    original = '# mine\nlanguage = "it"\n'
    if existing:
        config.write_text(original)
    before = tree(tmp_path / "conf")
    result = desk.run("--config", str(config), "config", "set", "--", key, value, expect=2)
    line = error_line(result)
    assert needle in line, line
    assert "config file" not in line and str(config) not in line, line
    assert tree(tmp_path / "conf") == before
    if existing:
        assert config.read_text() == original


GOOD_VALUES = [
    ("db", "desk.db", "desk.db"),
    ("user", "Anna@Example.com", "Anna@Example.com"),
    ("language", "it", "it"),
    ("busy_timeout", "2.5", 2.5),
    ("busy_timeout", "0", 0.0),
    ("max_title_length", "80", 80),
    ("max_body_size", "1000", 1000),
    ("max_attachment_size", "1048576", 1048576),
    ("max_attachments", "3", 3),
    ("max_fields", "5", 5),
    ("max_field_size", "500", 500),
    ("smtp.from", "Help desk <desk@example.com>", "Help desk <desk@example.com>"),
    ("smtp.host", "127.0.0.1", "127.0.0.1"),
    ("smtp.port", "587", 587),
    ("smtp.security", "starttls", "starttls"),
    ("smtp.username", "12345", "12345"),
    ("smtp.password_env", "HELPDESK_SMTP_PASSWORD", "HELPDESK_SMTP_PASSWORD"),
    ("smtp.sendmail", "/usr/sbin/sendmail -i", "/usr/sbin/sendmail -i"),
    ("smtp.timeout", "7.5", 7.5),
    ("smtp.max_attempts", "4", 4),
    ("smtp.cafile", "/etc/ssl/ca.pem", "/etc/ssl/ca.pem"),
    ("smtp.reply_to", "support@example.com", "support@example.com"),
    ("mail.trust", "from", "from"),
    ("mail.authserv_id", "mx.example.com", "mx.example.com"),
]


def test_every_key_the_program_reads_is_settable() -> None:
    smtp = {k for k in cfg.KEYS if k.startswith("smtp.")}
    assert smtp == {f"smtp.{name}" for name in mail_settings.KNOWN}
    assert {k for k, _, _ in GOOD_VALUES} == set(cfg.KEYS)


@pytest.mark.parametrize(("key", "value", "stored"), GOOD_VALUES,
                         ids=[f"{k}={v!r}" for k, v, _ in GOOD_VALUES])
def test_config_set_accepts_good_values_and_the_desk_still_works(
        desk: Desk, tid: int, tmp_path: Path, key: str, value: str, stored: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# mine\n")
    desk.run("--config", str(config), "config", "set", key, value)
    data = tomllib.loads(config.read_text())
    table, _, name = key.rpartition(".")
    assert (data[table] if table else data)[name] == stored
    assert "# mine" in config.read_text()
    if key != "db":
        desk.run("--config", str(config), "show", str(tid), as_=ADMIN)


# -- 3. unknown keys ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["nosuchkey", "smtp.nosuchkey", "extra.kept", "a.b.c", "",
                                 "smtp", "user.name"])
@pytest.mark.parametrize("verb", ["set", "unset"])
def test_set_and_unset_of_an_unknown_key_is_not_found(desk: Desk, tmp_path: Path, key: str,
                                                      verb: str) -> None:
    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    original = '# mine\nuser = "x@example.com"\n\n[extra]\nkept = 1\n'
    config.write_text(original)
    args = [key, "1"] if verb == "set" else [key]
    result = desk.run("--config", str(config), "config", verb, *args, as_=None, expect=3)
    line = error_line(result)
    assert "not a config key" in line
    assert "busy_timeout" in line and "smtp.host" in line, line
    assert config.read_text() == original
    assert tree(tmp_path / "conf") == ["config.toml"]


def test_unset_of_a_known_key_that_is_not_set_is_fine(desk: Desk, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    desk.run("--config", str(config), "config", "unset", "smtp.port", as_=None)
    assert not config.exists()


def test_get_of_an_unknown_key_is_not_found_and_a_kept_one_is_shown(desk: Desk,
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[extra]\nkept = 1\n")
    run = lambda *a, **k: desk.run("--config", str(config), "config", *a, as_=None, **k)  # noqa: E731
    assert run("get", "extra.kept").stdout == "1\n"
    for key in ("nosuchkey", "a.b.c", ""):
        assert "Error:" in error_line(run("get", key, expect=3))
    assert "not set" in error_line(run("get", "smtp.port", expect=3))


def test_help_and_readme_name_every_key() -> None:
    from typer.testing import CliRunner

    from ticketcli.cli import app

    text = CliRunner().invoke(app, ["config", "set", "--help"]).stdout
    listed = set(re.findall(r"[a-z_]+(?:\.[a-z_]+)?", text))
    readme = (ROOT / "README.md").read_text()
    for key in cfg.KEYS:
        assert key in listed, f"config set --help does not name {key}"
        assert f"`{key}`" in readme, f"README does not name {key}"


# -- 4. the environment and empty options -------------------------------------------------------


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
@pytest.mark.parametrize("value", ["abc", "1s", "nan", "inf"])
def test_a_bad_busy_timeout_variable_is_bad_configuration(
        desk: Desk, tid: int, isolated_env: Path, args: tuple[str, ...], value: str) -> None:
    before = dump(desk.db)
    home = tree(isolated_env)
    result = desk.run(*args, expect=78, env={"TICKETCLI_BUSY_TIMEOUT": value})
    assert "TICKETCLI_BUSY_TIMEOUT" in error_line(result)
    assert dump(desk.db) == before
    # Without --db: the per-user database and its folder are not created either.
    result = desk.runner.invoke(desk_app(), ["--as", ADMIN, *args],
                                env={"TICKETCLI_BUSY_TIMEOUT": value})
    assert result.exit_code == 78, result.stderr
    assert "TICKETCLI_BUSY_TIMEOUT" in error_line(result)
    assert tree(isolated_env) == home


def test_an_empty_busy_timeout_variable_is_unset(desk: Desk, tid: int) -> None:
    desk.run("list", env={"TICKETCLI_BUSY_TIMEOUT": ""})


def desk_app() -> Any:
    from ticketcli.cli import app

    return app


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
@pytest.mark.parametrize("option", ["--db", "--config", "--as"])
@pytest.mark.parametrize("spelling", ["apart", "equals", "after"])
def test_an_empty_global_option_is_a_usage_error(
        desk: Desk, tid: int, isolated_env: Path, args: tuple[str, ...], option: str,
        spelling: str) -> None:
    home = tree(isolated_env)
    before = dump(desk.db)
    empty = {"apart": [option, ""], "equals": [f"{option}="], "after": []}[spelling]
    tail = [option, ""] if spelling == "after" else []
    argv = [*(["--db", str(desk.db)] if option != "--db" else []),
            *(["--as", ADMIN] if option != "--as" else []), *empty, *args, *tail]
    result = desk.runner.invoke(desk_app(), argv)
    assert result.exit_code == 2, (argv, result.exit_code, result.stderr)
    assert option in error_line(result)
    assert tree(isolated_env) == home
    assert dump(desk.db) == before


def test_empty_variables_mean_unset(desk: Desk, tid: int, isolated_env: Path) -> None:
    config = isolated_env / "config" / "ticketcli" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'db = "{desk.db}"\nuser = "{ADMIN}"\n')
    env = {"TICKETCLI_DB": "", "TICKETCLI_CONFIG": "", "TICKETCLI_USER": ""}
    for args in (READ_FAST, READ_TYPER):
        result = desk.runner.invoke(desk_app(), [*args, "--format", "ids"], env=env)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == f"{tid}\n"
