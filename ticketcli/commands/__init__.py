"""Thin command modules: parse, check flag combinations, call one function, render.

Each module holds command functions (or a sub-app) that cli.py builds when
invoked (LAZY_COMMANDS); helpers shared by them live here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import completion
from ..context import Context
from ..output import check_format

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
