"""The ``[smtp]`` table of the user config: how and as whom mail is sent.

.. code-block:: toml

    [smtp]
    from = "Help desk <helpdesk@example.com>"   # required for sending
    host = "smtp.example.com"                    # an SMTP server ...
    port = 587                                   # default: 25, 587 (starttls), 465 (ssl)
    security = "starttls"                        # none | starttls | ssl
    username = "helpdesk@example.com"            # optional: log in
    password_env = "HELPDESK_SMTP_PASSWORD"      # the variable holding the password
    # sendmail = "/usr/sbin/sendmail -i"         # ... or a local sendmail command
    # timeout = 30, max_attempts = 8, cafile = "/etc/ssl/my-ca.pem", reply_to = "..."
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import KEYS
from ..desk.people import check_email
from ..errors import ConfigError, UsageError

SECURITY = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
KNOWN = {key.partition(".")[2] for key in KEYS if key.startswith("smtp.")}
TEXT = KNOWN - {"port", "timeout", "max_attempts"}


@dataclass(frozen=True)
class MailSettings:
    from_header: str  # as written: "Help desk <helpdesk@example.com>"
    from_email: str  # the bare address: envelope sender and Message-ID domain
    host: str | None = None
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = None
    sendmail: tuple[str, ...] = ()
    timeout: float = 30.0
    max_attempts: int = 8
    cafile: str | None = None
    reply_to: str | None = None

    @property
    def domain(self) -> str:
        return self.from_email.rpartition("@")[2] or "localhost"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}" if self.host else " ".join(self.sendmail)


def address_of(value: str) -> str:
    """The bare address in ``Name <addr>`` (or ``addr``), lower-cased; UsageError if none."""
    from email.utils import parseaddr

    _, addr = parseaddr(value)
    return check_email(addr or value)


def own_address(config: Mapping[str, Any]) -> str | None:
    """The configured From address, if any (mail-in drops mail from it: loops)."""
    table = config.get("smtp")
    if not isinstance(table, dict) or not isinstance(table.get("from"), str):
        return None
    try:
        return address_of(table["from"])
    except UsageError:
        return None


def value_problem(label: str, key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the ``[smtp]`` key ``key``, as a sentence that
    starts with ``label`` (how the caller names the key), or None. Checks one key at a
    time; :func:`load` checks how the keys go together."""
    if key in TEXT:
        if not isinstance(value, str) or not value.strip():
            return f"{label} must be a non-empty string"
        if key in ("from", "reply_to"):
            if any(ch in value for ch in "\r\n"):
                return f"{label} must be one line"
            try:
                address_of(value.strip())
            except UsageError:
                return f"{label} {value.strip()!r} is not an email address"
        elif key == "security" and value.strip() not in SECURITY:
            return f"{label} must be one of {', '.join(SECURITY)}, not {value.strip()!r}"
        elif key == "sendmail":
            try:
                shlex.split(value)
            except ValueError as e:
                return f"{label} is not a valid command: {e}"
        return None
    whole = isinstance(value, int) and not isinstance(value, bool)
    if key == "port" and not (whole and 0 < value < 65536):
        return f"{label} must be a number from 1 to 65535, not {value!r}"
    if key == "max_attempts" and not (whole and 1 <= value <= 2**63 - 1):
        return f"{label} must be a whole number of 1 or more, not {value!r}"
    if key == "timeout" and (isinstance(value, bool) or not isinstance(value, (int, float))
                             or not math.isfinite(value) or value <= 0):
        return f"{label} must be a number of seconds above 0, not {value!r}"
    return None


def load(config: Mapping[str, Any], env: Mapping[str, str], where: str) -> MailSettings:
    """Settings from the user config; ConfigError naming the key that is wrong."""
    table = config.get("smtp")
    if table is None:
        raise ConfigError(
            f"no [smtp] table in {where}; add one with 'from' and 'host' (or 'sendmail') "
            "to send notifications (see docs/EMAIL.md)"
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: smtp must be a table ([smtp])")
    unknown = sorted(set(table) - KNOWN)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) in [smtp]: {', '.join(unknown)}")

    for key, value in table.items():
        problem = value_problem(f"[smtp] {key}", key, value)
        if problem is not None:
            raise ConfigError(f"{where}: {problem}")

    def text(key: str) -> str | None:
        value = table.get(key)
        return value.strip() if isinstance(value, str) else None

    sender = text("from")
    if sender is None:
        raise ConfigError(
            f"{where}: [smtp] from is missing (e.g. \"Help desk <desk@example.com>\")"
        )
    from_email = address_of(sender)
    reply_to = text("reply_to")
    host = text("host")
    command = text("sendmail")
    if host and command:
        raise ConfigError(f"{where}: [smtp] has both host and sendmail; keep one")
    if not host and not command:
        raise ConfigError(f"{where}: [smtp] needs host (an SMTP server) or sendmail (a command)")
    security = text("security") or "none"
    port = table.get("port", DEFAULT_PORTS[security])
    timeout = table.get("timeout", 30)
    attempts = table.get("max_attempts", 8)

    username = text("username")
    password: str | None = None
    password_env = text("password_env")
    if username is not None:
        if password_env is None:
            raise ConfigError(
                f"{where}: [smtp] username needs password_env, the name of the environment "
                "variable that holds the password"
            )
        password = env.get(password_env)
        if not password:
            raise ConfigError(
                f"environment variable {password_env} (named by [smtp] password_env in "
                f"{where}) is not set; export the SMTP password in it"
            )
    argv = tuple(shlex.split(command)) if command else ()
    return MailSettings(
        from_header=sender, from_email=from_email, host=host, port=port, security=security,
        username=username, password=password, sendmail=argv, timeout=float(timeout),
        max_attempts=attempts, cafile=text("cafile"), reply_to=reply_to,
    )
