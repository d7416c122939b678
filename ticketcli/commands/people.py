"""user and org: people and organizations."""

from __future__ import annotations

from ..desk import people as uc
from ..output import check_format, render_rows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from . import complete
    from .params import FormatOption



def user_add(
    c: Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    name: Annotated[str | None, typer.Option("--name", metavar="N", help="Full name.")] = None,
    role: Annotated[
        str, typer.Option("--role", metavar="ROLE", help="customer, agent or admin.",
                          autocompletion=complete.roles)
    ] = "customer",
    org: Annotated[
        str | None, typer.Option("--org", metavar="ORG", help="Organization name.")
    ] = None,
) -> None:
    """Add a person (admins only; the first person on a new database is the admin).

    \b
    Examples:
      ticketcli user add anna@example.com --name "Anna Neri" --org Acme
      ticketcli user add marco@example.com --role agent
    """
    user = uc.add_user(c.store(), c.actor(), c.now_iso(), email, name, role, org)
    c.say(f"Added {user.email} ({user.role}).")


def user_list(c: Context, fmt: FormatOption = None) -> None:
    """List people (admins only).

    \b
    Examples:
      ticketcli user list
      ticketcli user list --format csv
    """
    check_format(fmt)
    users = uc.list_users(c.store(), c.actor())
    records = [
        {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "organization": u.org}
        for u in users
    ]
    c.out(render_rows(records, ["email", "name", "role", "organization"], c.format(fmt),
                      lang=c.lang))


def org_add(
    c: Context,
    name: Annotated[str, typer.Argument(metavar="NAME")],
    manager: Annotated[
        str | None, typer.Option("--manager", metavar="EMAIL",
                                 help="The organization's project manager (an agent).",
                                 autocompletion=complete.emails)
    ] = None,
) -> None:
    """Add an organization (admins only).

    \b
    Examples:
      ticketcli org add Acme --manager marco@example.com
    """
    org = uc.add_org(c.store(), c.actor(), c.now_iso(), name, manager)
    c.say(f"Added organization {org.name}.")


def org_edit(
    c: Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The organization.")],
    rename: Annotated[
        str | None, typer.Option("--rename", metavar="NEW", help="Its new name.")
    ] = None,
    manager: Annotated[
        str | None, typer.Option("--manager", metavar="EMAIL",
                                 help="A new project manager (an agent).",
                                 autocompletion=complete.emails)
    ] = None,
    no_manager: Annotated[
        bool, typer.Option("--no-manager", help="Leave it without a project manager.")
    ] = False,
) -> None:
    """Rename an organization or change its project manager (admins only).

    \b
    Examples:
      ticketcli org edit Acme --rename "Acme Italia"
      ticketcli org edit Acme --manager marco@example.com
      ticketcli org edit Acme --no-manager
    """
    from ..i18n import msg

    org, changed = uc.edit_org(c.store(), c.actor(), name, rename=rename, manager=manager,
                               no_manager=no_manager)
    manager_text = org.manager or msg("no project manager")
    if not changed:
        c.say(msg("Organization {name}: nothing changed.", name=org.name))
    elif changed == ["name"]:
        c.say(msg("Organization {old} renamed to {name}.", old=name, name=org.name))
    elif changed == ["manager"]:
        c.say(msg("Organization {name}: project manager now {manager}.", name=org.name,
                  manager=manager_text))
    else:
        c.say(msg("Organization {old} renamed to {name}; project manager now {manager}.",
                  old=name, name=org.name, manager=manager_text))


def org_list(c: Context, fmt: FormatOption = None) -> None:
    """List organizations with their project manager and member count (staff only).

    \b
    Examples:
      ticketcli org list
      ticketcli org list --format json
    """
    check_format(fmt)
    orgs = uc.list_orgs(c.store(), c.actor())
    records = [
        {"id": o.id, "name": o.name, "manager": o.manager, "members": o.members} for o in orgs
    ]
    c.out(render_rows(records, ["name", "manager", "members"], c.format(fmt), lang=c.lang))
