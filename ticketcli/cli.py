"""The root app: global options, click's errors turned into exit codes, and the
commands, built when invoked (``ticketcli.__main__`` runs plain show and list
without this module; see fastpath.py)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from . import __version__
from .boundary import aborted, exit_code, exit_status, fail, finish, guard_streams, non_utf8
from .context import open_context
from .errors import ExitCode
from .fastpath import hoist_global_options


class TicketGroup(TyperGroup):
    """The root group: builds commands on demand, and turns every failure into one
    ``Error: ...`` line on stderr and an exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*LAZY_COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = _build(cmd_name)
            self.add_command(command, cmd_name)
        return command

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        argv = hoist_global_options(list(sys.argv[1:] if args is None else args))
        bad = non_utf8(argv)
        if bad is not None:
            sys.exit(fail(f"argument {bad!r} is not valid UTF-8 text", ExitCode.USAGE))
        if os.environ.get("_TICKETCLI_COMPLETE"):
            # A shell asking for completions (see completions/): load the machinery.
            from typer._completion_classes import completion_init

            completion_init()
        code: int
        try:
            result = super().main(argv, *rest, **kwargs)
            code = result if isinstance(result, int) else 0
        except typer._click.exceptions.NoArgsIsHelpError as e:
            # `ticketcli` or `ticketcli user` alone: show the help, it is what was wanted.
            try:
                sys.stdout.write(e.ctx.get_help() + "\n" if e.ctx else e.format_message() + "\n")
                code = 0
            except BaseException as error:
                code = exit_code(error)
        except typer._click.exceptions.UsageError as e:
            hint = ""
            if e.ctx is not None:
                hint = f" (see '{e.ctx.command_path} --help')"
            code = fail(e.format_message() + hint, ExitCode.USAGE)
        except typer._click.exceptions.ClickException as e:
            code = fail(e.format_message(), e.exit_code or ExitCode.ERROR)
        except typer.Abort:
            aborted()
            code = 130
        except SystemExit as e:  # a change over many tickets that failed for some of them
            code = exit_status(e)
        except BaseException as e:
            code = exit_code(e)
        sys.exit(finish(code))


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"ticketcli {__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=TicketGroup,
    name="ticketcli",
    help="A help-desk ticket tool on one SQLite file: open, work and close tickets "
    "from a terminal, scripts and cron.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="TICKETCLI_DB", metavar="PATH",
                     help="Database file (default: a per-user file in the XDG data dir)."),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", envvar="TICKETCLI_CONFIG", metavar="PATH",
                     help="User config TOML (default: $XDG_CONFIG_HOME/ticketcli/config.toml)."),
    ] = None,
    as_: Annotated[
        str | None,
        typer.Option("--as", envvar="TICKETCLI_USER", metavar="EMAIL",
                     help="Act as this person (default: config 'user', then the login name)."),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", metavar="en|it",
                     help="Language of labels in tables (default: config, then locale)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """A help-desk ticket tool on one SQLite file."""
    context = open_context(db=db, config=config, as_=as_, lang=lang)
    ctx.obj = context
    ctx.call_on_close(context.close)


# Commands are built only when invoked: turning a function's signature into a
# click command costs a few milliseconds each, and a script calling `show` in a
# loop should not pay for all of them. name -> (module in ticketcli.commands,
# attribute: a command function or a sub-app), in the order help lists them.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "init"),
    "open": ("tickets", "open_"),
    "list": ("tickets", "list_"),
    "show": ("tickets", "show"),
    "comment": ("tickets", "comment"),
    "set-status": ("tickets", "set_status"),
    "share": ("tickets", "share"),
    "assign": ("tickets", "assign"),
    "take": ("tickets", "take"),
    "close-stale": ("stale", "close_stale_cmd"),
    "user": ("people", "user_app"),
    "org": ("people", "org_app"),
    "workflow": ("workflow_cmd", "workflow_app"),
    "config": ("config_cmd", "config_app"),
    "doctor": ("doctor", "doctor"),
    "notify": ("mail", "notify_app"),
    "mail-in": ("mail", "mail_in"),
    "import": ("transfer", "import_"),
    "export": ("transfer", "export"),
}


def _build(name: str) -> Any:
    import importlib

    from typer.main import get_command

    module_name, attr = LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(f"ticketcli.commands.{module_name}"), attr)
    if isinstance(target, typer.Typer):
        return get_command(target)
    single = typer.Typer(context_settings=app.info.context_settings, add_completion=False,
                         rich_markup_mode=None, pretty_exceptions_enable=False)
    single.command(name)(target)
    return get_command(single)


def main() -> None:
    """The whole app, without the fast path (``ticketcli.__main__.main`` tries that first)."""
    guard_streams()
    app(prog_name="ticketcli")
