"""Thin command modules: parse, check flag combinations, call one function, render.

Each module holds command functions (or a sub-app) that cli.py builds when
invoked (LAZY_COMMANDS); helpers shared by them live here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .. import completion
from ..context import Context
from ..errors import UsageError
from ..output import check_format
from ..tickets import MAX_BODY, NewFile

__all__ = ["check_format"]  # shared by the command modules

FormatOption = Annotated[
    str | None,
    typer.Option("--format", "-f", metavar="FORMAT", autocompletion=completion.formats,
                 help="table, json, jsonl, csv, tsv or ids (default: table on a terminal, "
                      "tab-separated rows without a header otherwise)."),
]


def sub_app(help: str) -> typer.Typer:
    """A command group (user, org, workflow, config, ...) styled like the root app."""
    return typer.Typer(
        help=help,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )


def context(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


def read_text(c: Context, source: str, what: str) -> str:
    """Text from a file, or from stdin when ``source`` is ``-``; exactly as given.

    Reads at most a little more than the body limit allows (4 bytes a character),
    so a device such as /dev/zero is refused rather than read forever."""
    limit = max(c.limits.body, MAX_BODY) * 4
    if source == "-":
        stream = getattr(c.stdin, "buffer", None)
        data = stream.read(limit + 1) if stream is not None else c.stdin.read(limit + 1).encode()
    else:
        data = _read_file(Path(source), what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"the {what} is not UTF-8 text; attach binary files with --attach"
        ) from None


def _read_file(path: Path, what: str, limit: int) -> bytes:
    """A regular file's first ``limit + 1`` bytes; anything else is a usage error."""
    from ..config import read_small_file

    try:
        return read_small_file(path, what, UsageError, limit, truncate=True)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except PermissionError:
        raise UsageError(f"{what} {path} is not readable: permission denied") from None
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror}") from None


def read_attachments(c: Context, paths: list[str] | None) -> list[NewFile]:
    """The files to attach, read up to one byte past the size limit (devices never hang)."""
    files = []
    for p in paths or []:
        path = Path(p)
        content = _read_file(path, "attachment", c.limits.attachment)
        files.append(NewFile(os.path.basename(p) or "attachment", content))
    return files


def body_from(c: Context, text: str | None, body_file: str | None, what: str,
              required: bool) -> str | None:
    if text is not None and body_file is not None:
        raise UsageError(f"give the {what} as text or with --body-file, not both")
    if body_file is not None:
        return read_text(c, body_file, what)
    if text is None and required:
        raise UsageError(f"give the {what} as text, or with --body-file PATH (- for stdin)")
    return text
