"""``show``, ``list``, ``open``, ``comment`` and ``set-status`` without loading Typer.

Scripts call these commands in loops, and importing Typer (with the click it
vendors) costs more than all the rest of a ``show``. When the command line is
one this module fully understands -- global options, then one of these
commands with its options spelled ``--name value``, ``--name=value`` or ``-x
value`` (the value is the next word whatever it starts with, as in click), and
positional words that do not start with ``-`` (or are ``-`` alone) -- it runs
the command body (views.py, writes.py) directly, with the arguments the Typer
command would pass. Anything else (help, completion, ``--version``, an unknown
or malformed option, a value that is not plain digits where a number is
expected, a missing argument) returns None, and the full Typer app handles the
command line, errors and all. tests/test_fastpath.py checks that both ways agree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

MOVABLE = ("--db", "--config", "--as")  # global options a script may put after the command
GLOBAL_WITH_VALUE = (*MOVABLE, "--lang")
GLOBAL_PARAMS = {"--db": "db", "--config": "config", "--as": "as_", "--lang": "lang"}
GLOBAL_ENV = {"db": "TICKETCLI_DB", "config": "TICKETCLI_CONFIG", "as_": "TICKETCLI_USER"}

# option -> (keyword of the views function, kind); kinds: str, int, flag, multi (repeatable str)
Options = dict[str, tuple[str, str]]
FORMAT: Options = {"--format": ("fmt", "str"), "-f": ("fmt", "str")}
SHOW: Options = {"--fields": ("fields", "str"), **FORMAT}
LIST: Options = {
    "--status": ("status", "multi"), "-s": ("status", "multi"),
    "--all": ("all_", "flag"), "-a": ("all_", "flag"),
    "--phase": ("phase", "multi"),
    "--priority": ("priority", "str"),
    "--requester": ("requester", "str"),
    "--assignee": ("assignee", "str"),
    "--org": ("org", "str"),
    "--category": ("category", "str"),
    "--created-since": ("created_since", "str"),
    "--created-before": ("created_before", "str"),
    "--updated-since": ("updated_since", "str"),
    "--updated-before": ("updated_before", "str"),
    "--stale": ("stale", "flag"),
    "--search": ("search", "str"), "-q": ("search", "str"),
    "--sort": ("sort", "str"),
    "--limit": ("limit", "int"), "-n": ("limit", "int"),
    "--count": ("count", "flag"),
    "--fields": ("fields", "str"),
    **FORMAT,
}
BODY_FILE: Options = {"--body": ("body", "str"), "-b": ("body", "str"),
                      "--body-file": ("body_file", "str")}
BULK: Options = {"--if-status": ("if_status", "str"), "--dry-run": ("dry_run", "flag"),
                 "--yes": ("yes", "flag"), "-y": ("yes", "flag")}
OPEN: Options = {
    **BODY_FILE,
    "--priority": ("priority", "str"),
    "--category": ("category", "str"),
    "--requester": ("requester", "str"),
    "--field": ("field", "multi"),
    "--attach": ("attach", "multi"),
    "--follow-up": ("follow_up", "int"),
}
COMMENT: Options = {
    **BODY_FILE,
    "--internal": ("internal", "flag"),
    "--status": ("status", "str"),
    "--attach": ("attach", "multi"),
    **BULK,
}
SET_STATUS: Options = {"--resolution": ("resolution", "str"), "--note": ("note", "str"), **BULK}
# command -> (options, fewest positionals, most positionals (None: any number))
COMMANDS: dict[str, tuple[Options, int, int | None]] = {
    "show": (SHOW, 1, 1), "list": (LIST, 0, 0), "open": (OPEN, 1, 1),
    "comment": (COMMENT, 1, None), "set-status": (SET_STATUS, 1, None),
}


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move --db, --config and --as found after the command to the front.

    ``ticketcli show 42 --db x.db`` then means ``ticketcli --db x.db show 42``.
    Nothing after a ``--`` is touched.
    """
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 2 if argv[i] in GLOBAL_WITH_VALUE else 1
    front, rest, moved = argv[:i], [], []
    j = i
    while j < len(argv):
        token = argv[j]
        if token == "--":
            rest += argv[j:]
            break
        if token in MOVABLE and j + 1 < len(argv):
            moved += argv[j:j + 2]
            j += 2
            continue
        if token.startswith(tuple(f"{o}=" for o in MOVABLE)):
            moved.append(token)
        else:
            rest.append(token)
        j += 1
    return front + moved + rest


def parse(argv: list[str]) -> tuple[str, dict[str, Any], list[str], dict[str, Any]] | None:
    """(command, global options, positionals, command keywords), or None when the
    command line is not one the fast path runs exactly as Typer would."""
    tokens = _options(hoist_global_options(argv), GLOBAL_PARAMS_OPTIONS, stop_at_word=True)
    if tokens is None:
        return None
    globals_, rest = tokens
    if not rest or rest[0] not in COMMANDS:
        return None
    options, fewest, most = COMMANDS[rest[0]]
    parsed = _options(rest[1:], options, stop_at_word=False)
    if parsed is None:
        return None
    keywords, positionals = parsed
    if len(positionals) < fewest or (most is not None and len(positionals) > most):
        return None
    return rest[0], globals_, positionals, keywords


GLOBAL_PARAMS_OPTIONS: Options = {name: (param, "str") for name, param in GLOBAL_PARAMS.items()}


def _options(tokens: list[str], options: Options,
             stop_at_word: bool) -> tuple[dict[str, Any], list[str]] | None:
    """Keywords and positionals from ``tokens``; None for anything unusual."""
    keywords: dict[str, Any] = {}
    positionals: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("-") or token == "-":  # "-" alone is a word, as in click
            if stop_at_word:
                return keywords, tokens[i - 1:]
            positionals.append(token)
            continue
        name, equals, value = token.partition("=")
        if name not in options or (equals and not name.startswith("--")):
            return None
        param, kind = options[name]
        if kind == "flag":
            if equals:
                return None
            keywords[param] = True
            continue
        if not equals:
            if i == len(tokens):
                return None
            value = tokens[i]
            i += 1
        if kind == "int":
            if not (value.isascii() and value.isdigit()):
                return None
            keywords[param] = int(value)
        elif kind == "multi":
            keywords.setdefault(param, []).append(value)
        else:
            keywords[param] = value
    return keywords, positionals


def run(argv: list[str]) -> int | None:
    """Run a command this module knows and return the exit code, or None to leave
    the command line to the Typer app."""
    if os.environ.get("_TICKETCLI_COMPLETE"):
        return None
    from .boundary import non_utf8

    if non_utf8(argv) is not None:
        return None
    parsed = parse(argv)
    if parsed is None:
        return None
    command, globals_, positionals, keywords = parsed
    if command == "show" and not (positionals[0].isascii() and positionals[0].isdigit()):
        return None
    from .boundary import exit_code, exit_status

    try:
        return _run(command, globals_, positionals, keywords)
    except SystemExit as e:  # a change over many tickets that failed for some of them
        return exit_status(e)
    except BaseException as e:
        return exit_code(e)


def _run(command: str, globals_: dict[str, Any], positionals: list[str],
         keywords: dict[str, Any]) -> int:
    from .context import open_context

    options = {param: globals_[param] if param in globals_ else os.environ.get(env) or None
               for param, env in GLOBAL_ENV.items()}
    context = open_context(db=options["db"], config=options["config"], as_=options["as_"],
                           lang=globals_.get("lang"))
    try:
        body: Callable[..., None]
        arguments: list[Any]
        if command in ("show", "list"):
            from . import views

            body = views.show if command == "show" else views.list_
            arguments = [int(positionals[0])] if command == "show" else []
        else:
            from . import writes

            bodies: dict[str, Callable[..., None]] = {
                "open": writes.open_, "comment": writes.comment, "set-status": writes.set_status}
            body = bodies[command]
            arguments = positionals if command == "open" else [positionals]
        body(context, *arguments, **keywords)
    finally:
        context.close()
    return 0
