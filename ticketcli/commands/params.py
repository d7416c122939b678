"""Options more than one command declares, and the names command annotations use.

Imported only when the Typer app builds a command (or by mypy): it imports
Typer. :data:`NAMESPACE` is what :func:`ticketcli.cli.command` supplies to a
command module before Typer evaluates its annotations.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..context import Context
from . import complete
from .inputs import ticket_id

FormatOption = Annotated[
    str | None,
    typer.Option("--format", "-f", metavar="FORMAT", autocompletion=complete.formats,
                 help="table, json, jsonl, csv, tsv or ids (default: table on a terminal, "
                      "tab-separated rows without a header otherwise)."),
]
IdArg = Annotated[
    int, typer.Argument(metavar="ID", help="Ticket number (12 or #12).", parser=ticket_id,
                        autocompletion=complete.ticket_ids)
]
AttachOption = Annotated[
    list[str] | None,
    typer.Option("--attach", metavar="PATH", help="Attach a file (repeatable)."),
]
IfStatusOption = Annotated[
    str | None,
    typer.Option("--if-status", metavar="STATUS", autocompletion=complete.statuses,
                 help="Refuse (exit 5) unless the ticket is still in this status (key or "
                      "label)."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Check every ticket and report; change nothing.")
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask before changing many tickets.")
]

NAMESPACE: dict[str, Any] = {
    "typer": typer,
    "Annotated": Annotated,
    "Any": Any,
    "complete": complete,
    "Context": Context,
    "FormatOption": FormatOption,
    "IdArg": IdArg,
    "ticket_id": ticket_id,
    "AttachOption": AttachOption,
    "IfStatusOption": IfStatusOption,
    "DryRunOption": DryRunOption,
    "YesOption": YesOption,
}

# The completion callbacks name typer.Context in their annotations, which Typer reads.
complete.__dict__.setdefault("typer", typer)
