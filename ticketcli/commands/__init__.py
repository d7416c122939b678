"""The commands: one module per command group, and the one table that names them all.

:data:`COMMANDS` declares every command once, as git's ``commands[]`` does:
its words, the module and the function that is its body. Every other view of
the commands is derived from it: the Typer app (:mod:`ticketcli.cli`) builds a
command from the function's declarations when it is invoked, and the fast path
(:mod:`ticketcli.fastpath`) reads what it needs of those declarations from
:mod:`._table`, generated from the Typer app by ``scripts/gen_fastpath.py``.

A command function takes the context first, then its parameters declared the
Typer way (``Annotated[str | None, typer.Option("--name", ...)]``), and returns
its exit code (None is 0). Its help is its docstring, with an ``Examples:``
block. The annotations are strings that only the Typer app evaluates: a command
module imports neither Typer nor ``typing`` when it runs, which is what lets the
fast path run it without paying for them. The names those annotations use
(``typer``, ``Annotated``, the shared options of :mod:`.params`, the
completions of :mod:`.complete`) are imported under ``TYPE_CHECKING`` for mypy
and supplied by :func:`ticketcli.cli.command` when it builds the command.

Every module here is thin: parse what Typer did not, call one use case of
:mod:`ticketcli.desk`, render with :mod:`ticketcli.output`.
"""

from __future__ import annotations

# Command words -> (module of ticketcli.commands, function): the order of `--help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "init"),
    "open": ("tickets", "open_"),
    "list": ("tickets", "list_"),
    "show": ("tickets", "show"),
    "comment": ("replies", "comment"),
    "set-status": ("replies", "set_status"),
    "share": ("tickets", "share"),
    "assign": ("tickets", "assign"),
    "take": ("tickets", "take"),
    "edit": ("edit", "edit"),
    "close-stale": ("stale", "close_stale"),
    "sla check": ("sla", "sla_check"),
    "report": ("sla", "report"),
    "user add": ("people", "user_add"),
    "user list": ("people", "user_list"),
    "user edit": ("people", "user_edit"),
    "user disable": ("people", "user_disable"),
    "user enable": ("people", "user_enable"),
    "org add": ("people", "org_add"),
    "org edit": ("people", "org_edit"),
    "org list": ("people", "org_list"),
    "workflow show": ("workflow", "workflow_show"),
    "workflow export": ("workflow", "workflow_export"),
    "workflow validate": ("workflow", "workflow_validate"),
    "workflow import": ("workflow", "workflow_import"),
    "config path": ("config", "config_path"),
    "config list": ("config", "config_list"),
    "config get": ("config", "config_get"),
    "config set": ("config", "config_set"),
    "config unset": ("config", "config_unset"),
    "desk show": ("desk", "desk_show"),
    "desk set": ("desk", "desk_set"),
    "doctor": ("doctor", "doctor"),
    "notify send": ("notify", "send"),
    "notify list": ("notify", "list_"),
    "notify retry": ("notify", "retry"),
    "notify lang": ("notify", "lang_"),
    "notify prefs": ("notify", "prefs"),
    "notify template show": ("notify", "template_show"),
    "notify template set": ("notify", "template_set"),
    "notify template reset": ("notify", "template_reset"),
    "attachment list": ("attachments", "attachment_list"),
    "attachment get": ("attachments", "attachment_get"),
    "mail-in": ("mail", "mail_in"),
    "mail held": ("mail", "held"),
    "mail accept": ("mail", "accept"),
    "mail reject": ("mail", "reject"),
    "import": ("transfer", "import_"),
    "export": ("transfer", "export"),
    "migrate-db": ("transfer", "migrate_db"),
}

# Command groups -> their help.
GROUPS: dict[str, str] = {
    "user": "People: add, change, disable and list users (admins only).",
    "org": "Organizations and their project managers.",
    "attachment": "The files sent with tickets and comments: list them, get one back out.",
    "workflow": "The workflow every user and cron job follows: show, export, validate, import.",
    "config": "Read and edit the user config (TOML).",
    "desk": "The desk-wide limits that protect it (admins only).",
    "sla": "Service levels: record warnings and breaches that are due (from cron).",
    "notify": "Email notifications: deliver the outbox (from cron), list it, choose what "
              "you hear about, manage templates.",
    "mail": "Mail held for review: list it, accept or reject it (staff).",
    "notify template": (
        "Message templates: show, override (admins) and reset them.\n\n"
        "\b\nExamples:\n  ticketcli notify template show reply --lang it > reply.txt\n"
        "  ticketcli notify template set reply --lang it --file reply.txt\n"
        "  ticketcli notify template reset reply --lang it"
    ),
}

# What a command's last words may say to the boundary: mail-in answers mail servers
# in the codes of sysexits.h (see ticketcli.errors.SYSEXITS).
SYSEXITS_COMMANDS = frozenset({"mail-in"})


def function(path: str) -> object:
    """The body of the command ``path`` (its module imported now)."""
    module, name = COMMANDS[path]
    package = __import__(f"ticketcli.commands.{module}", fromlist=[name])
    return getattr(package, name)
