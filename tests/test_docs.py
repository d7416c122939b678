"""--help, the README and the code stay in step."""

from __future__ import annotations

import json
import re

import pytest
import typer
from conftest import ROOT, Desk
from typer.main import get_command
from typer.testing import CliRunner

from ticketcli.cli import app

README = (ROOT / "README.md").read_text()


def _commands() -> list[list[str]]:
    root = get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    ctx = typer.Context(root)
    found = []
    for name in root.list_commands(ctx):
        cmd = root.get_command(ctx, name)
        if isinstance(cmd, typer.core.TyperGroup):
            found += [[name, s] for s in cmd.list_commands(ctx)]
        else:
            found.append([name])
    return found


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_has_help_with_examples_and_is_in_the_readme(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Examples:" in result.stdout
    example = f"ticketcli {' '.join(path)}"
    assert example in result.stdout, f"the examples of {example} do not show it"
    assert re.search(rf"`{re.escape(path[0])}\b", README), f"README does not document {path[0]}"
    if len(path) == 2:
        assert path[1] in README


def _readme_json_blocks() -> list[str]:
    return re.findall(r"```json\n(.*?)```", README, re.S)


def test_readme_ticket_shape_matches_list_output(desk: Desk) -> None:
    desk.open("Printer on fire")
    real = desk.json("list")[0]
    documented = json.loads(_readme_json_blocks()[0])
    assert list(documented) == list(real)


def test_readme_show_shape_matches_show_output(desk: Desk) -> None:
    tid = desk.open("Printer on fire")
    desk.run("comment", str(tid), "hello")
    real = desk.ticket(tid)
    documented = json.loads(_readme_json_blocks()[1].replace("…", ""))
    ticket_keys = list(json.loads(_readme_json_blocks()[0]))
    assert ticket_keys + list(documented) == list(real)
    for key in ("comments", "attachments", "history"):
        if real[key]:
            assert set(documented[key][0]) == set(real[key][0]), key


def test_readme_lists_every_exit_code() -> None:
    from ticketcli.errors import ExitCode

    codes = [v for k, v in vars(ExitCode).items() if k.isupper()]
    assert len(codes) >= 9
    for code in codes:
        assert re.search(rf"^\| {int(code)} \|", README, re.M), f"exit code {int(code)}"


def test_top_level_help_lists_every_command() -> None:
    out = CliRunner().invoke(app, ["--help"]).stdout
    paths = _commands()
    assert len(paths) >= 20
    for path in paths:
        assert path[0] in out


@pytest.mark.parametrize("args", [[], ["user"], ["org"], ["workflow"], ["config"]])
def test_a_bare_group_prints_its_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Usage: ticketcli")
    assert "Commands:" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_help_is_plain_text(path: list[str]) -> None:
    out = CliRunner().invoke(app, [*path, "--help"]).stdout
    assert not set(out) & set("╭╮╰╯│─"), "help must be plain text"
    assert "--install-completion" not in out
