"""People and organizations: who is acting, and managing users and orgs.

Who acts (:func:`resolve_actor`): on a desk that binds people to OS logins, a
bound login acts as its person; acting for someone else (``--as``,
``TICKETCLI_USER``, the config's ``user``) needs an admin, or an agent acting
for a customer, and every change then records the real person too (``via``). A
customer's login never acts as staff. A login bound to no one, and every login
on a desk that binds none, acts as it says: whoever can write the database file
is trusted staff (docs/SECURITY.md).
"""

from __future__ import annotations

from ..errors import Conflict, NotFound, PermissionDenied, UsageError
from ..text import check_email, check_name
from ..workflow import ROLES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store import Org, Store, User
    from ..workflow import Workflow

MAX_LOGIN = 64


def resolve_actor(store: Store, requested: str | None, login: str, fallback: str,
                  now: str) -> tuple[User, User | None]:
    """(the acting person, the person really acting for them, or None).

    ``requested`` is who the command line, environment or config asks to act as;
    ``login`` the OS login running the command; ``fallback`` the address to act as
    when neither names anyone. On a desk without an admin (a new one, or one whose
    first person came by mail), the person acting becomes its admin.
    """
    bound = store.people.user_by_login(login) if store.people.binds_logins() else None
    if bound is not None:
        _can_act(bound)
        if requested is None or check_email(requested) == bound.email:
            return bound, None
        target = store.people.user_by_email(check_email(requested))
        if target is None:
            raise PermissionDenied(_unknown(check_email(requested)))
        _can_act(target)
        if bound.role == "admin" or (bound.staff and not target.staff):
            return target, bound
        who = "staff" if bound.staff else "anyone else"
        raise PermissionDenied(
            f"login {login} acts as {bound.email} ({bound.role}), who may not act for "
            f"{who}; only admins may act as other people, and agents for customers")
    address = check_email(requested or fallback)
    # The admin first, then the person: another process may be making its first admin
    # meanwhile, and that person must then be found.
    has_admin = store.people.has_admin()
    user = store.people.user_by_email(address)
    if user is not None and (user.role == "admin" or has_admin):
        _can_act(user)
        return user, None
    if user is None and has_admin:
        raise PermissionDenied(_unknown(address))
    with store.write():
        if not store.people.has_admin():
            return first_admin(store, address, now, login=None), None
    user = store.people.user_by_email(address)  # another process made its admin first
    if user is None:
        raise PermissionDenied(_unknown(address))
    _can_act(user)
    return user, None


def first_admin(store: Store, address: str, now: str, *, login: str | None) -> User:
    """Make ``address`` the desk's admin (inside the caller's transaction): a new person,
    or someone mail-in added before the desk had an admin."""
    user = store.people.user_by_email(address)
    if user is None:
        return store.people.add_user(address, address.split("@")[0], "admin", None, now,
                                     login=login)
    store.people.update_user(user.id, name=user.name, role="admin", org_id=user.org_id,
                             login=user.login or login, disabled=False)
    found = store.people.user_by_id(user.id)
    assert found is not None
    return found


def _unknown(address: str) -> str:
    return f"unknown user {address}; an admin can add them with 'ticketcli user add {address}'"


def _can_act(user: User) -> None:
    if user.disabled:
        raise PermissionDenied(f"{user.email} is disabled; an admin can enable them with "
                               f"'ticketcli user enable {user.email}'")


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


def check_login(login: str) -> str:
    """An OS login name: what ``useradd`` accepts, roughly (letters, digits, ``._-``, not
    starting with ``-``)."""
    clean = login.strip()
    if (not clean or len(clean) > MAX_LOGIN or clean.startswith("-")
            or not all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in clean)):
        raise UsageError(f"{login!r} is not a login name (letters, digits, '.', '_', '-')")
    return clean


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    return role


def _free_login(store: Store, login: str, user_id: int | None) -> None:
    holder = store.people.user_by_login(login)
    if holder is not None and holder.id != user_id:
        raise Conflict(f"login {login} is already bound to {holder.email}")


def add_user(store: Store, actor: User, now: str, email: str, name: str | None,
             role: str, org_name: str | None, login: str | None = None) -> User:
    _check_role(role)
    require_admin(actor, "add people")
    address = check_email(email)
    clean = (check_name(name) if name else "") or address.split("@")[0]
    bound = check_login(login) if login is not None else None
    with store.write():
        org_id = find_org(store, org_name).id if org_name else None
        if store.people.user_by_email(address) is not None:
            raise Conflict(f"user {address} already exists")
        if bound is not None:
            _free_login(store, bound, None)
        return store.people.add_user(address, clean, role, org_id, now, login=bound)


class Edited:
    """What ``user edit`` changed: the person as they are now, and the tickets whose
    sharing rule they no longer meet (they were removed from them)."""

    def __init__(self, user: User, unshared: list[int]) -> None:
        self.user = user
        self.unshared = unshared


def edit_user(store: Store, actor: User, now: str, email: str, *, name: str | None = None,
              role: str | None = None, org: str | None = None, no_org: bool = False,
              login: str | None = None, no_login: bool = False) -> Edited:
    """Change a person (admins). A customer moved out of an organization leaves the tickets
    the workflow's sharing rule no longer lets them see (each an ``unshared`` event)."""
    require_admin(actor, "change people")
    if org is not None and no_org:
        raise UsageError("give --org ORG or --no-org, not both")
    if login is not None and no_login:
        raise UsageError("give --login NAME or --no-login, not both")
    if role is not None:
        _check_role(role)
    clean = check_name(name) if name is not None else None
    bound = check_login(login) if login is not None else None
    with store.write():
        user = find_user(store, email)
        org_id = user.org_id
        if no_org:
            org_id = None
        elif org is not None:
            org_id = find_org(store, org).id
        new_role = role or user.role
        if user.id == actor.id and new_role != "admin":
            raise Conflict("admins cannot take their own admin role away; another admin can")
        if bound is not None:
            _free_login(store, bound, user.id)
        store.people.update_user(
            user.id, name=clean if clean is not None else user.name, role=new_role,
            org_id=org_id, login=None if no_login else (bound or user.login),
            disabled=user.disabled)
        changed = store.people.user_by_id(user.id)
        assert changed is not None
        unshared = _reapply_sharing(store, store.workflow(), actor, changed, now)
    return Edited(changed, unshared)


def _reapply_sharing(store: Store, wf: Workflow, actor: User, user: User,
                     now: str) -> list[int]:
    """Remove ``user`` from the tickets the sharing rule no longer lets them join."""
    if wf.sharing != "organization" or user.staff:
        return []
    removed = []
    for ticket_id, org_id in store.tickets.shared_with(user.id):
        if org_id is not None and user.org_id == org_id:
            continue
        org_row = store.people.org_by_id(org_id) if org_id is not None else None
        if org_row is not None and org_row.manager_id == user.id:
            continue
        store.tickets.remove_participant(ticket_id, user.id)
        store.record(ticket_id, actor.id, now, "unshared",
                     detail={"user": user.email, "reason": "sharing rule"})
        store.tickets.touch(ticket_id, now)
        removed.append(ticket_id)
    return removed


def set_disabled(store: Store, actor: User, email: str, disabled: bool) -> User:
    """Disable a person (they cannot act and get no mail; their tickets stay), or enable
    them again."""
    require_admin(actor, "disable or enable people")
    with store.write():
        user = find_user(store, email)
        if user.id == actor.id and disabled:
            raise Conflict("admins cannot disable themselves; another admin can")
        store.people.update_user(user.id, name=user.name, role=user.role, org_id=user.org_id,
                                 login=user.login, disabled=disabled)
        changed = store.people.user_by_id(user.id)
        assert changed is not None
        return changed


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
