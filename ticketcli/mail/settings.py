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

from ..config import SMTP_KEYS as KNOWN
from ..config import smtp_problem
from ..errors import ConfigError, UsageError
from ..record import Record
from ..text import address_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class MailSettings(Record):
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


def own_address(config: Mapping[str, Any]) -> str | None:
    """The configured From address, if any (mail-in drops mail from it: loops)."""
    table = config.get("smtp")
    if not isinstance(table, dict) or not isinstance(table.get("from"), str):
        return None
    try:
        return address_of(table["from"])
    except UsageError:
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
        problem = smtp_problem(f"[smtp] {key}", key, value)
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
    if command:
        import shlex

        argv = tuple(shlex.split(command))
    else:
        argv = ()
    return MailSettings(
        from_header=sender, from_email=from_email, host=host, port=port, security=security,
        username=username, password=password, sendmail=argv, timeout=float(timeout),
        max_attempts=attempts, cafile=text("cafile"), reply_to=reply_to,
    )
