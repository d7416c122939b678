"""The desk's own settings: the limits that protect it, set by its admins.

A user's config may lower a limit for themselves (``config set max_body_size``),
never raise it: the limits in force are the desk's, lowered by the user's own.
"""

from __future__ import annotations

from ..errors import NotFound, UsageError
from .checks import DEFAULT_LIMITS, LIMIT_CEILING, LIMIT_KEYS
from .people import require_admin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store import Store, User


def show_limits(store: Store, actor: User) -> list[dict[str, object]]:
    """Each desk-wide limit: its key, value, the built-in default, what it bounds."""
    require_admin(actor, "see the desk's settings")
    desk = store.desk_limits()
    return [
        {"key": key, "value": desk.get(key, getattr(DEFAULT_LIMITS, name)),
         "default": getattr(DEFAULT_LIMITS, name), "description": about}
        for key, (name, about) in LIMIT_KEYS.items()
    ]


def set_limit(store: Store, actor: User, key: str, raw: str) -> int:
    """Set a desk-wide limit (``default`` puts the built-in one back); its new value."""
    require_admin(actor, "change the desk's settings")
    if key not in LIMIT_KEYS:
        raise NotFound(f"{key!r} is not a desk setting; known: {', '.join(LIMIT_KEYS)}")
    name = LIMIT_KEYS[key][0]
    if raw == "default":
        value = None
    elif raw.isascii() and raw.isdigit() and 0 < int(raw) <= LIMIT_CEILING:
        value = int(raw)
    else:
        raise UsageError(f"{key} takes a whole number from 1 to {LIMIT_CEILING}, or "
                         f"'default', not {raw!r}")
    with store.write():
        store.set_desk_limit(key, value)
    return value if value is not None else int(getattr(DEFAULT_LIMITS, name))
