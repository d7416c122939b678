"""Every plain command line, run without loading Typer.

Scripts call ticketcli in loops, and importing Typer (with the click it vendors)
costs more than all the rest of a ``show``. What a command's options are is
declared once, on the command function, the Typer way; this module reads them
from :mod:`ticketcli.commands._table`, which ``scripts/gen_fastpath.py``
derives from those declarations (a test regenerates it and compares). When a
command line is one it fully understands -- global options, the command's
words, then its options spelled ``--name value``, ``--name=value`` or ``-x
value`` (the value is the next word whatever it starts with, as in click),
positional words, ``-`` alone as a word, ``--`` before words that start with
``-`` -- it calls the command function with the arguments the Typer app would
pass, through the same context and the same error boundary. Anything else
(help, completion, an unknown or malformed option, a number that is not plain
digits, a missing argument) returns None, and the Typer app handles the command
line, errors and all. tests/test_fastpath.py checks that both ways agree.
"""

from __future__ import annotations

import os

from .commands import _table as table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .context import Context

    Options = dict[str, tuple[str, str]]

_WITH_VALUE = frozenset(o for o, (_, kind) in table.GLOBAL.items()
                        if kind not in ("flag", "off", "version"))


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move the global options that no command uses (--db, --config, --as, --no-pager),
    found after the command, to the front.

    ``ticketcli show 42 --db x.db`` then means ``ticketcli --db x.db show 42``.
    Nothing after a ``--`` is touched.
    """
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 2 if argv[i] in _WITH_VALUE else 1
    front, rest, moved = argv[:i], [], []
    j = i
    prefixes = tuple(f"{o}=" for o in table.MOVABLE if o in _WITH_VALUE)
    while j < len(argv):
        token = argv[j]
        if token == "--":
            rest += argv[j:]
            break
        if token in table.MOVABLE and token not in _WITH_VALUE:
            moved.append(token)
            j += 1
            continue
        if token in table.MOVABLE and j + 1 < len(argv):
            moved += argv[j:j + 2]
            j += 2
            continue
        if token.startswith(prefixes):
            moved.append(token)
        else:
            rest.append(token)
        j += 1
    return front + moved + rest


def parse(argv: list[str]) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """(command words, global options, the command function's keywords), or None when
    the command line is not one the fast path runs exactly as Typer would."""
    tokens = hoist_global_options(argv)
    globals_: dict[str, Any] = {}
    i = _options(tokens, 0, table.GLOBAL, globals_, None)
    if i is None:
        return None
    if globals_.get("version"):
        return "--version", globals_, {}
    if i >= len(tokens):
        return None
    path = tokens[i]
    i += 1
    while path in table.GROUPS:
        if i >= len(tokens):
            return None
        path = f"{path} {tokens[i]}"
        i += 1
    spec = table.COMMANDS.get(path)
    if spec is None:
        return None
    _, options, arguments, required = spec
    keywords: dict[str, Any] = {}
    positionals: list[str] = []
    if _options(tokens, i, options, keywords, positionals) is None:
        return None
    if not _arguments(positionals, arguments, keywords):
        return None
    if any(name not in keywords for name in required):
        return None
    return path, globals_, keywords


def is_text(token: str, options: Any) -> bool:
    """Whether a word that starts with ``-`` is text rather than an option, as argparse
    decides: it holds a space and does not start with one of the command's options
    (``open "-5 °C in the server room"``, ``comment 4 "- step one"``; not
    ``--title=a b``)."""
    if " " not in token or not token.startswith("-"):
        return False
    if token.startswith("--"):
        return token.partition("=")[0] not in options
    return token[:2] not in options


def _options(tokens: list[str], i: int, options: Options, keywords: dict[str, Any],
             positionals: list[str] | None) -> int | None:
    """Read options from ``tokens[i:]`` into ``keywords``. With ``positionals`` None,
    stop at the first word and return its index; else collect the words. None for
    anything unusual."""
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--" and positionals is not None:
            positionals += tokens[i:]
            return len(tokens)
        if (not token.startswith("-") or token == "-"  # "-" alone is a word, as in click
                or positionals is not None and is_text(token, options)):
            if positionals is None:
                return i - 1
            positionals.append(token)
            continue
        name, equals, value = token.partition("=")
        if name not in options or (equals and not name.startswith("--")):
            return None
        param, kind = options[name]
        if kind in ("flag", "off", "version"):
            if equals:
                return None
            keywords[param] = kind != "off"
            continue
        if not equals:
            if i == len(tokens):
                return None
            value = tokens[i]
            i += 1
        parsed = _value(value, kind)
        if parsed is None:
            return None
        if kind.startswith("multi"):
            keywords.setdefault(param, []).append(parsed)
        else:
            keywords[param] = parsed
    return len(tokens) if positionals is not None else i


def _value(text: str, kind: str) -> Any:
    """A value as click converts it, or None where click would need to judge it."""
    if kind in ("int", "multi_int"):
        # Longer than any number Python converts (4,300 digits): click says what is wrong.
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 4300 else None
    if kind == "id":  # a ticket id: 12 or #12
        digits = text[1:] if text.startswith("#") else text
        return (int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 4300
                else None)
    if kind == "float":
        digits = text.replace(".", "", 1)
        return float(text) if digits.isascii() and digits.isdigit() else None
    return text


def _arguments(words: list[str], arguments: tuple[tuple[str, str, int, bool], ...],
               keywords: dict[str, Any]) -> bool:
    """Give the positional words to the command's arguments, as click would: each
    argument one word, a variadic one (nargs -1) whatever the others leave."""
    fixed = sum(1 for _, _, nargs, _ in arguments if nargs == 1)
    spare = len(words) - fixed
    at = 0
    for param, kind, nargs, required in arguments:
        if nargs == 1:
            if at >= len(words):
                if required:
                    return False
                continue
            value = _value(words[at], kind)
            if value is None:
                return False
            keywords[param] = value
            at += 1
        else:
            taken = words[at:at + max(spare, 0)]
            if not taken:
                if required:
                    return False
                continue
            values = [_value(w, kind) for w in taken]
            if any(v is None for v in values):
                return False
            keywords[param] = values
            at += len(taken)
    return at == len(words)


def run(c: Context, argv: list[str]) -> int | None:
    """Run a plain command line and return its exit code, or None to leave it to the
    Typer app."""
    if os.environ.get("_TICKETCLI_COMPLETE"):
        return None
    from .boundary import guarded, non_utf8

    if non_utf8(argv) is not None:
        return None
    parsed = parse(argv)
    if parsed is None:
        return None
    path, globals_, keywords = parsed
    if path == "--version":
        from . import __version__

        return guarded(c, lambda: c.out(f"ticketcli {__version__}\n"))

    def call() -> int:
        from .commands import function

        options = {param: globals_.get(param) for _, (param, _) in table.GLOBAL.items()}
        for param, var in table.ENV.items():
            if options.get(param) is None:
                options[param] = os.environ.get(var) or None
        c.configure(db=options.get("db"), config=options.get("config"),
                    as_=options.get("as_"), lang=options.get("lang"),
                    no_pager=bool(options.get("no_pager")))
        body = function(path)
        assert callable(body)
        return c.dispatch(body, keywords)

    return guarded(c, call)
