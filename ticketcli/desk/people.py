"""People and organizations: who is acting, and managing users and orgs."""

from __future__ import annotations

from ..errors import Conflict, NotFound, PermissionDenied, UsageError
from ..store import Org, Store, User
from ..text import check_email
from ..workflow import ROLES


def resolve_actor(store: Store, email: str, now: str) -> User:
    """The acting person; on a database with no people yet, they become its admin."""
    address = check_email(email)
    user = store.people.user_by_email(address)
    if user is not None:
        return user
    if store.people.count_users() == 0:
        with store.write():
            if store.people.count_users() == 0:
                return store.people.add_user(address, address.split("@")[0], "admin", None, now)
        user = store.people.user_by_email(address)
        if user is not None:
            return user
    raise PermissionDenied(
        f"unknown user {address}; an admin can add them with 'ticketcli user add {address}'"
    )


def require_admin(actor: User, what: str) -> None:
    if actor.role != "admin":
        raise PermissionDenied(f"only admins may {what}; {actor.email} is {actor.role}")


def require_staff(actor: User, what: str) -> None:
    if not actor.staff:
        raise PermissionDenied(f"only agents and admins may {what}")


def find_user(store: Store, email: str) -> User:
    address = check_email(email)
    user = store.people.user_by_email(address)
    if user is None:
        raise NotFound(f"no user {address}; add them with 'ticketcli user add {address}'")
    return user


def find_org(store: Store, name: str) -> Org:
    org = store.people.org_by_name(name)
    if org is None:
        raise NotFound(f"no organization {name!r}; add it with 'ticketcli org add {name!r}'")
    return org


def add_user(store: Store, actor: User, now: str, email: str, name: str | None,
             role: str, org_name: str | None) -> User:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    require_admin(actor, "add people")
    address = check_email(email)
    with store.write():
        org_id = find_org(store, org_name).id if org_name else None
        if store.people.user_by_email(address) is not None:
            raise Conflict(f"user {address} already exists")
        return store.people.add_user(address, name or address.split("@")[0], role, org_id, now)


def list_users(store: Store, actor: User) -> list[User]:
    require_admin(actor, "list people")
    return store.people.users()


def add_org(store: Store, actor: User, now: str, name: str, manager: str | None) -> Org:
    require_admin(actor, "add organizations")
    clean = name.strip()
    if not clean or len(clean) > 200 or any(ch < " " for ch in clean):
        raise UsageError("an organization name must be 1-200 printable characters")
    with store.write():
        manager_id = None
        if manager:
            user = find_user(store, manager)
            if not user.staff:
                raise UsageError(f"a project manager must be an agent; {user.email} is a customer")
            manager_id = user.id
        if store.people.org_by_name(clean) is not None:
            raise Conflict(f"organization {clean!r} already exists")
        return store.people.add_org(clean, manager_id, now)


def list_orgs(store: Store, actor: User) -> list[Org]:
    require_staff(actor, "list organizations")
    return store.people.orgs()


def edit_org(store: Store, actor: User, name: str, *, rename: str | None = None,
             manager: str | None = None, no_manager: bool = False) -> tuple[Org, list[str]]:
    """Rename an organization or change its project manager (admins only); returns it
    as it is now and what changed (``name``, ``manager``)."""
    from ..i18n import msg

    require_admin(actor, "edit organizations")
    if manager is not None and no_manager:
        raise UsageError(msg("give --manager EMAIL or --no-manager, not both"))
    if rename is None and manager is None and not no_manager:
        raise UsageError(msg("nothing to change; give --rename NEW, --manager EMAIL or "
                             "--no-manager"))
    clean = None
    if rename is not None:
        clean = rename.strip()
        if not clean or len(clean) > 200 or any(ch < " " for ch in clean):
            raise UsageError(msg("an organization name must be 1-200 printable characters"))
    changed: list[str] = []
    with store.write():
        org = find_org(store, name)
        if clean is not None and clean != org.name:
            other = store.people.org_by_name(clean)
            if other is not None and other.id != org.id:
                raise Conflict(msg("organization {name!r} already exists", name=clean))
            store.people.rename_org(org.id, clean)
            changed.append("name")
        if manager is not None or no_manager:
            manager_id = None
            if manager is not None:
                user = find_user(store, manager)
                if not user.staff:
                    raise UsageError(msg("a project manager must be an agent; {email} is a "
                                         "customer", email=user.email))
                manager_id = user.id
            if manager_id != org.manager_id:
                store.people.set_org_manager(org.id, manager_id)
                changed.append("manager")
        now = store.people.org_by_id(org.id)
        assert now is not None
        return now, changed
