"""The Typer app: the root with the global options, every command of the command
table (:data:`ticketcli.commands.COMMANDS`) built from its declarations when it
is invoked, and click's own errors turned into ticketcli's for the one boundary.

``ticketcli`` tries the fast path first (:mod:`ticketcli.fastpath`, which
knows the same declarations from a generated table) and comes here only for
what it leaves: help, completion, mistakes, unusual spellings. Invoking the
Typer app itself (``app()``, a test runner) runs the whole program, fast path
included, exactly as the command does.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Annotated, Any

import typer

# Typer 0.28 vendors click as typer._click: its exceptions are the ones raised here.
from typer._click import core as click_core
from typer._click import exceptions as click_errors
from typer._click.parser import _OptionParser
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from . import __version__
from .boundary import guarded, non_utf8
from .commands import COMMANDS, GROUPS, function
from .errors import ClosedPipe, ExitCode, TicketError, UsageError, interrupted
from .fastpath import hoist_global_options, is_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .context import Context

SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
COMPLETE_VAR = "_TICKETCLI_COMPLETE"
_BUILT: dict[str, Any] = {}  # command words -> click command, built once per process


def _words(prefix: str) -> list[str]:
    """The next word of every command and group under ``prefix``, in table order."""
    found = [path[len(prefix):].split()[0] for path in (*COMMANDS, *GROUPS)
             if path.startswith(prefix) and path != prefix.strip()]
    return list(dict.fromkeys(found))


class LazyGroup(TyperGroup):
    """A group whose commands are built from the command table when first asked for."""

    prefix = ""  # the command words of this group, each followed by a space

    def list_commands(self, ctx: Any) -> list[str]:
        return _words(self.prefix)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        path = self.prefix + cmd_name
        if path in COMMANDS or path in GROUPS:
            return built(path)
        return None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if (args and not name.startswith("-") and self.get_command(ctx, name) is None
                and not ctx.resilient_parsing):
            from .i18n import msg

            words = _words(self.prefix)
            near = suggest(name, words)
            where = f"{ctx.command_path} --help"
            if near:
                raise UsageError(msg("no such command {name!r}; did you mean {near}? "
                                     "(see '{where}')", name=name,
                                     near=" or ".join(near), where=where))
            raise UsageError(msg("no such command {name!r}; the commands are: {words} "
                                 "(see '{where}')", name=name, words=", ".join(words),
                                 where=where))
        return super().resolve_command(ctx, args)


def suggest(word: str, choices: list[str]) -> list[str]:
    """The choices nearest to a mistyped word (``lst`` -> ``list``)."""
    from difflib import get_close_matches

    found = get_close_matches(word, choices, n=2, cutoff=0.6)
    found += [c for c in choices if c.startswith(word) and c not in found and len(word) > 1]
    return found[:3]


class TicketGroup(LazyGroup):
    """The root group. Its ``main`` is the whole program, as ``ticketcli`` runs it."""

    def main(self, args: Any = None, prog_name: str | None = None, *rest: Any,
             **extra: Any) -> Any:
        from .__main__ import run

        argv = list(sys.argv[1:] if args is None else args)
        code = run(argv, context=extra.get("obj"))
        if extra.get("standalone_mode", True):
            sys.exit(code)
        return code


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
    context_settings=SETTINGS,
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
                     help="Language of labels, messages and errors (default: config, then "
                          "locale)."),
    ] = None,
    no_pager: Annotated[
        bool,
        typer.Option("--no-pager", help="Never send long output to a pager "
                     "(default: TICKETCLI_PAGER, then PAGER, then 'less -FRX' on a terminal)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """A help-desk ticket tool on one SQLite file."""
    ctx.obj.configure(db=db, config=config, as_=as_, lang=lang, no_pager=no_pager)


# -- building commands from the table ----------------------------------------------------


def built(path: str) -> Any:
    """The click command (or group) for the command words ``path``, built once."""
    if path not in _BUILT:
        _BUILT[path] = _group(path) if path in GROUPS else command(path)
    return _BUILT[path]


def _group(path: str) -> Any:
    group = LazyGroup(name=path.split()[-1], help=GROUPS[path], no_args_is_help=True,
                      context_settings=SETTINGS, rich_markup_mode=None)
    group.prefix = path + " "
    return group


class _TextParser(_OptionParser):
    """click's parser, but a word that starts with ``-`` and holds a space is text
    (:func:`ticketcli.fastpath.is_text`), as on the fast path and in argparse."""

    def _process_args_for_options(self, state: Any) -> None:
        options = {**self._long_opt, **self._short_opt}
        while state.rargs:
            arg = state.rargs.pop(0)
            if arg == "--":
                return
            if arg[:1] in self._opt_prefixes and len(arg) > 1 and not is_text(arg, options):
                self._process_opts(arg, state)
            elif self.allow_interspersed_args:
                state.largs.append(arg)
            else:
                state.rargs.insert(0, arg)
                return


class TextCommand(TyperCommand):
    def make_parser(self, ctx: Any) -> Any:
        parser = _TextParser(ctx)
        for param in self.get_params(ctx):
            param.add_to_parser(parser, ctx)
        return parser


def command(path: str) -> Any:
    """Build the command ``path`` from its function's Typer declarations."""
    from .commands.params import NAMESPACE

    fn = function(path)
    assert callable(fn)
    module = sys.modules[fn.__module__]
    for name, value in NAMESPACE.items():  # what its annotations name (see commands/)
        module.__dict__.setdefault(name, value)
    single = typer.Typer(context_settings=SETTINGS, add_completion=False, rich_markup_mode=None,
                         pretty_exceptions_enable=False)
    single.command(path.split()[-1], cls=TextCommand)(_callback(fn))
    return typer.main.get_command(single)


def _callback(fn: Callable[..., int | None]) -> Callable[..., int]:
    """``fn(context, **arguments)`` as a Typer callback, which gets click's context: the
    run's context is its root's ``obj``. Arguments Typer gives as empty lists where the
    function's default is None are given as None, so both ways in pass the same."""
    from .context import Context

    signature = inspect.signature(fn, eval_str=True)
    params = list(signature.parameters.values())[1:]
    empty_means_none = {p.name for p in params if p.default is None}
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                  annotation=typer.Context)

    def callback(ctx: typer.Context, **arguments: Any) -> int:
        for name in empty_means_none:
            if arguments.get(name) in ((), []):
                arguments[name] = None
        c = ctx.find_root().obj
        assert isinstance(c, Context)
        try:
            return c.dispatch(fn, arguments)
        except BrokenPipeError:
            # click would make a closed pipe exit 1 (and keep the command's frames alive
            # past the store's closing): the boundary's own signal instead.
            raise ClosedPipe() from None
        except (KeyboardInterrupt, EOFError):
            # click would print a blank line and abort: one Error line, exit 130.
            raise interrupted() from None

    callback.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[ctx_param, *params], return_annotation=int)
    callback.__annotations__ = {p.name: p.annotation for p in [ctx_param, *params]}
    callback.__name__ = fn.__name__
    callback.__qualname__ = fn.__qualname__
    callback.__doc__ = fn.__doc__
    return callback


def root_command() -> Any:
    if "" not in _BUILT:
        _BUILT[""] = typer.main.get_command(app)
    return _BUILT[""]


# -- running -------------------------------------------------------------------------------


def run(c: Context, argv: list[str]) -> int:
    """The command line through the Typer app (the fast path declined it)."""
    return guarded(c, lambda: _through_click(c, hoist_global_options(argv)))


def _through_click(c: Context, argv: list[str]) -> int:
    bad = non_utf8(argv)
    if bad is not None:
        raise UsageError(f"argument {bad!r} is not valid UTF-8 text")
    if os.environ.get(COMPLETE_VAR):
        # A shell asking for completions (see completions/): load the machinery.
        from typer._completion_classes import completion_init

        completion_init()
    group = root_command()
    try:
        result = TyperGroup.main(group, args=argv, prog_name="ticketcli",
                                  complete_var=COMPLETE_VAR, standalone_mode=False, obj=c)
    except click_errors.NoArgsIsHelpError as e:
        # `ticketcli` or `ticketcli user` alone: show the help, it is what was wanted.
        c.out(e.ctx.get_help() + "\n" if e.ctx else e.format_message() + "\n")
        return ExitCode.OK
    except click_errors.NoSuchOption as e:
        raise UsageError(_no_such_option(e)) from None
    except click_errors.UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        raise UsageError(e.format_message() + hint) from None
    except click_errors.ClickException as e:
        raise TicketError(e.format_message(), e.exit_code or ExitCode.ERROR) from None
    except typer.Abort:
        raise KeyboardInterrupt from None
    return result if isinstance(result, int) else ExitCode.OK


def _no_such_option(e: Any) -> str:
    """click's unknown option, with the nearest ones it found (``--stauts``: did you
    mean --status?)."""
    from .i18n import msg

    where = f"{e.ctx.command_path} --help" if e.ctx is not None else "ticketcli --help"
    if e.possibilities:
        return msg("no such option: {name}; did you mean {near}? (see '{where}')",
                   name=e.option_name, near=" or ".join(list(e.possibilities)[:3]),
                   where=where)
    return msg("no such option: {name} (see '{where}')", name=e.option_name, where=where)


def main() -> None:
    """The whole program through the Typer app alone, fast path off (for tests)."""
    from .__main__ import run as run_program

    sys.exit(run_program(sys.argv[1:], fast=False))


# -- what the fast path knows (scripts/gen_fastpath.py writes it to commands/_table.py) ----


def _kind(param: click_core.Parameter) -> str:
    name = param.type.name if param.type is not None else "str"
    if isinstance(param, TyperOption):
        if param.is_flag:
            return "version" if param.name == "version" else "flag"
        if param.multiple:
            return {"str": "multi", "int": "multi_int"}[name]
    elif param.nargs == -1:
        return {"str": "multi", "int": "multi_int"}[name]
    kinds = {"str": "str", "int": "int", "float": "float", "ticket_id": "id"}
    if name not in kinds:
        raise TypeError(f"the fast path does not know parameters of type {name!r} "
                        f"({param.name}); teach ticketcli/fastpath.py and regenerate")
    return kinds[name]


def _options(command: click_core.Command) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for param in command.params:
        if not isinstance(param, TyperOption) or param.name in ("help",):
            continue
        assert param.name is not None
        kind = _kind(param)
        for opt in param.opts:
            found[opt] = (param.name, kind)
        for opt in param.secondary_opts:
            found[opt] = (param.name, "off")
    return found


def fastpath_table() -> dict[str, Any]:
    """What the fast path needs of every command's declarations, derived from them."""
    root_cmd = root_command()
    globals_ = _options(root_cmd)
    env = {p.name: p.envvar for p in root_cmd.params
           if isinstance(p, TyperOption) and isinstance(p.envvar, str)}
    commands: dict[str, Any] = {}
    used: set[str] = set()
    for path in COMMANDS:
        cmd = built(path)
        options = _options(cmd)
        used |= set(options)
        arguments = [(p.name, _kind(p).replace("multi_int", "int").replace("multi", "str"),
                      p.nargs, bool(p.required))
                     for p in cmd.params if isinstance(p, TyperArgument)]
        required = tuple(p.name for p in cmd.params
                         if isinstance(p, TyperOption) and p.required and p.name)
        if any(nargs == -1 for _, _, nargs, _ in arguments[:-1]):
            raise TypeError(f"{path}: the fast path gives a variadic argument only the last "
                            "words; teach ticketcli/fastpath.py and regenerate")
        commands[path] = (COMMANDS[path], options, tuple(arguments), required)
    movable = tuple(o for o, (_, kind) in globals_.items()
                    if kind not in ("off", "version") and o not in used)
    return {"GLOBAL": globals_, "ENV": env, "MOVABLE": movable, "GROUPS": tuple(GROUPS),
            "COMMANDS": commands}
