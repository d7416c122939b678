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
    login: Annotated[
        str | None, typer.Option("--login", metavar="NAME",
                                 help="Bind an OS login: it acts as this person.")
    ] = None,
) -> None:
    """Add a person (admins only; whoever runs init is the desk's first admin).

    With --login, the OS login acts as this person by default, and acting as
    someone else (--as) needs an admin, or an agent acting for a customer.

    \b
    Examples:
      ticketcli user add anna@example.com --name "Anna Neri" --org Acme
      ticketcli user add marco@example.com --role agent --login marco
    """
    user = uc.add_user(c.store(), c.actor(), c.now_iso(), email, name, role, org, login)
    bound = f", login {user.login}" if user.login else ""
    c.say(f"Added {user.email} ({user.role}{bound}).")


def user_edit(
    c: Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", autocompletion=complete.emails)],
    name: Annotated[str | None, typer.Option("--name", metavar="N", help="Full name.")] = None,
    role: Annotated[
        str | None, typer.Option("--role", metavar="ROLE", help="customer, agent or admin.",
                                 autocompletion=complete.roles)
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", metavar="ORG", help="Move to this organization.")
    ] = None,
    no_org: Annotated[bool, typer.Option("--no-org", help="Belong to no organization.")] = False,
    login: Annotated[
        str | None, typer.Option("--login", metavar="NAME", help="Bind this OS login.")
    ] = None,
    no_login: Annotated[bool, typer.Option("--no-login", help="Unbind the login.")] = False,
) -> None:
    """Change a person's name, role, organization or login (admins only).

    Moving a customer to another organization re-applies the workflow's
    sharing rule: they leave the tickets of their old organization they were
    shared into, and each such ticket records it.

    \b
    Examples:
      ticketcli user edit anna@example.com --org Acme
      ticketcli user edit marco@example.com --role admin --login marco
      ticketcli user edit luca@example.com --no-org --no-login
    """
    edited = uc.edit_user(c.store(), c.actor(), c.now_iso(), email, name=name, role=role,
                          org=org, no_org=no_org, login=login, no_login=no_login)
    u = edited.user
    c.say(f"Changed {u.email}: {u.role}, {u.org or 'no organization'}, "
          f"{'login ' + u.login if u.login else 'no login'}.")
    for ticket_id in edited.unshared:
        c.say(f"{u.email} removed from ticket {ticket_id} (the sharing rule no longer "
              "lets them see it).")


def user_disable(
    c: Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", autocompletion=complete.emails)],
) -> None:
    """Disable a person: they cannot act and get no mail; their tickets stay (admins only).

    \b
    Examples:
      ticketcli user disable anna@example.com
    """
    user = uc.set_disabled(c.store(), c.actor(), email, True)
    c.say(f"Disabled {user.email}.")


def user_enable(
    c: Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", autocompletion=complete.emails)],
) -> None:
    """Enable a disabled person again (admins only).

    \b
    Examples:
      ticketcli user enable anna@example.com
    """
    user = uc.set_disabled(c.store(), c.actor(), email, False)
    c.say(f"Enabled {user.email}.")


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
        {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "organization": u.org,
         "login": u.login, "disabled": bool(u.disabled)}
        for u in users
    ]
    c.out(render_rows(records, ["email", "name", "role", "organization", "login", "disabled"],
                      c.format(fmt), lang=c.lang))


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
