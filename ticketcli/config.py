"""Paths and the user configuration file (TOML): every key the program reads, and
the one check of each key's value, for the loader and ``config set`` alike.

Read with the standard library's tomllib; this module never imports anything
heavy because every command pays for it at start-up.
"""

from __future__ import annotations

import math
import os

from .errors import ConfigError, NotFound, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

APP = "ticketcli"
DB_NAME = "tickets.db"
CONFIG_NAME = "config.toml"

# key -> (type, description): every setting the program reads, and so every key
# ``config set`` accepts. A dotted key names a key in a table: ``smtp.host`` is
# ``host`` under ``[smtp]`` (read by ticketcli.mail.settings when mail is sent).
KEYS: dict[str, tuple[type, str]] = {
    "db": (str, "path of the database file"),
    "user": (str, "email of the person acting when --as is not given"),
    "language": (str, "label language: en or it"),
    "busy_timeout": (float, "seconds to wait for another writer before giving up"),
    "max_title_length": (int, "longest title, in characters (only below the desk's)"),
    "max_body_size": (int, "longest description or comment, in characters (only below the "
                           "desk's)"),
    "max_attachment_size": (int, "largest attachment, in bytes (only below the desk's)"),
    "max_attachments": (int, "most attachments in one command (only below the desk's)"),
    "max_fields": (int, "most --field pairs on a ticket (only below the desk's)"),
    "max_field_size": (int, "characters of a ticket's fields together (only below the desk's)"),
    "smtp.from": (str, "sender of notifications: Name <address>"),
    "smtp.host": (str, "SMTP server (or smtp.sendmail)"),
    "smtp.port": (int, "SMTP port (default 25, 587 with starttls, 465 with ssl)"),
    "smtp.security": (str, "none, starttls or ssl"),
    "smtp.username": (str, "SMTP login; needs smtp.password_env"),
    "smtp.password_env": (str, "environment variable holding the SMTP password"),
    "smtp.sendmail": (str, "a local command to hand mail to, instead of smtp.host"),
    "smtp.timeout": (float, "seconds per SMTP operation"),
    "smtp.max_attempts": (int, "attempts before a message is marked failed"),
    "smtp.cafile": (str, "CA certificates for a server with a private certificate"),
    "smtp.reply_to": (str, "Reply-To address of notifications"),
    "mail.trust": (str, "token (mail-in believes a sender who answers the desk's own mail "
                        "or passes DMARC; others are held) or from (believe From)"),
    "mail.authserv_id": (str, "authserv-id of your own mail server, whose "
                              "Authentication-Results dmarc=pass mail-in believes"),
}
MAX_INT = 2**63 - 1  # TOML integers are 64-bit
SMTP_KEYS = frozenset(key.partition(".")[2] for key in KEYS if key.startswith("smtp."))
SMTP_TEXT = SMTP_KEYS - {"port", "timeout", "max_attempts"}
SECURITY = ("none", "starttls", "ssl")


def _xdg(env: Mapping[str, str], var: str, fallback: str) -> str:
    value = env.get(var, "")
    if value and os.path.isabs(value):
        return value
    return os.path.join(env.get("HOME") or os.path.expanduser("~"), fallback)


def data_dir(env: Mapping[str, str]) -> str:
    return os.path.join(_xdg(env, "XDG_DATA_HOME", ".local/share"), APP)


def default_db_path(env: Mapping[str, str]) -> str:
    return os.path.join(data_dir(env), DB_NAME)


def default_config_path(env: Mapping[str, str]) -> str:
    return os.path.join(_xdg(env, "XDG_CONFIG_HOME", ".config"), APP, CONFIG_NAME)


def load_config(path: str, *, explicit: bool) -> dict[str, Any]:
    """The user config as a dict; ``{}`` when the default file does not exist."""
    from .files import read_small_file

    try:
        raw = read_small_file(path, "config file")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    validate(data, path)
    return data


def validate(data: Mapping[str, Any], path: str) -> None:
    """Check the top-level keys this version reads; others are left alone.

    The ``[smtp]`` table is checked when mail is sent (ticketcli.mail.settings), so a
    mistake there never stops the commands that do not send mail.
    """
    for key in KEYS:
        if "." not in key and key in data:
            problem = value_problem(key, data[key])
            if problem is not None:
                raise ConfigError(f"config file {path}: {problem}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def value_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the known ``key`` (a sentence naming the key),
    or None: the one check behind the config loader and ``config set``."""
    table, _, name = key.rpartition(".")
    if table == "smtp":
        return smtp_problem(key, name, value)
    if table == "mail":
        from .mail.trust import mail_problem

        return mail_problem(key, name, value)
    kind = KEYS[key][0]
    number = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and math.isfinite(value))
    if kind is int:
        if not (number and isinstance(value, int) and 0 < value <= MAX_INT):
            return f"{key} must be a positive whole number, not {_shown(value)}"
    elif kind is float:
        if not number:
            return f"{key} must be a number, not {_shown(value)}"
    elif key == "language":
        if value not in ("en", "it"):
            return f"language must be 'en' or 'it', not {_shown(value)}"
    elif key == "user":
        from .text import check_email

        try:
            check_email(value if isinstance(value, str) else "")
        except UsageError:
            return f"user must be an email address, not {_shown(value)}"
    elif key == "db":
        if not isinstance(value, str) or not value.strip():
            return f"db must be the path of a file, not {_shown(value)}"
    elif not isinstance(value, str):
        return f"{key} must be text, not {_shown(value)}"
    return None


def check_key(key: str) -> None:
    """NotFound (exit 3) unless ``key`` is one the program reads."""
    if key not in KEYS:
        raise NotFound(f"{key!r} is not a config key; known keys: {', '.join(KEYS)}")


def language(config: Mapping[str, Any], env: Mapping[str, str], explicit: str | None) -> str:
    """``it`` or ``en``: --lang, then the config, then the locale (POSIX precedence)."""
    if explicit:
        return explicit
    if config.get("language") in ("en", "it"):
        return str(config["language"])
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "it" if value.lower().startswith("it") else "en"
    return "en"


def login_name(env: Mapping[str, str] | None = None) -> str:
    """The login name: LOGNAME, USER, LNAME or USERNAME, then the password database."""
    env = os.environ if env is None else env
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if env.get(var):
            return env[var]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return "user"


def real_login() -> str:
    """The login of the user this process really runs as (its uid, not what the
    environment says): what a person bound to a login is found by."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return f"uid{os.getuid()}"


def login_actor(env: Mapping[str, str] | None = None) -> str:
    """The person behind the login name, as an address on the local host."""
    name = login_name(env)
    return name if "@" in name else f"{name}@localhost"


# -- editing -------------------------------------------------------------------
#
# Edits are made line by line so that comments, blank lines and keys this
# version does not know survive; values are written by tomli-w and the result
# is parsed again before it replaces the file (atomically, mode 0600).


def _split_key(key: str) -> tuple[str | None, str]:
    """(table, name) of a dotted key; KeyError for one that cannot be in a config."""
    parts = key.split(".")
    if len(parts) > 2 or not all(p and p.replace("_", "").replace("-", "").isalnum()
                                 for p in parts):
        raise KeyError(key)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def get_value(data: Mapping[str, Any], key: str) -> Any:
    """The value of ``key`` (``table.name`` for a key in a table); KeyError if not set."""
    table, name = _split_key(key)
    scope: Any = data.get(table, {}) if table else data
    if not isinstance(scope, dict) or name not in scope:
        raise KeyError(key)
    return scope[name]


def parse_value(key: str, raw: str) -> Any:
    """The value to store for the known ``key`` from command-line text; UsageError
    (a bad argument, exit 2) for one the config loader would refuse."""
    kind = KEYS[key][0]
    value: Any = raw
    try:
        if kind is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            if key == "busy_timeout" and value < 0:
                raise UsageError(f"busy_timeout must be 0 or more seconds, not {raw!r}")
        elif kind is int:
            value = int(raw)
    except ValueError:
        what = "a number" if kind is float else "a whole number"
        raise UsageError(f"{key} must be {what}, not {raw!r}") from None
    problem = value_problem(key, value)
    if problem is not None:
        raise UsageError(problem)
    return value


def _section_bounds(lines: list[str], table: str | None) -> tuple[int, int] | None:
    """The [start, end) line range of a table's body (None: the top level)."""
    headers = [i for i, line in enumerate(lines) if line.lstrip().startswith("[")]
    if table is None:
        return 0, headers[0] if headers else len(lines)
    for n, i in enumerate(headers):
        name = lines[i].strip().strip("[]").strip()
        if name == table:
            end = headers[n + 1] if n + 1 < len(headers) else len(lines)
            return i + 1, end
    return None


def _key_line(lines: list[str], start: int, end: int, name: str) -> int | None:
    for i in range(start, end):
        head = lines[i].split("=", 1)[0].strip().strip('"')
        if "=" in lines[i] and head == name:
            return i
    return None


def edited(text: str, key: str, value: Any | None) -> str:
    """``text`` with ``key`` set to ``value`` (or removed when value is None)."""
    import tomli_w

    table, name = _split_key(key)
    lines = text.splitlines()
    bounds = _section_bounds(lines, table)
    new_line = tomli_w.dumps({name: value}).strip() if value is not None else None
    if bounds is None:
        if new_line is None:
            return text
        tail = "" if not lines or lines[-1].strip() == "" else "\n"
        return text.rstrip("\n") + ("\n" if text else "") + f"{tail}[{table}]\n{new_line}\n"
    start, end = bounds
    at = _key_line(lines, start, end, name)
    if new_line is None:
        if at is not None:
            del lines[at]
    elif at is not None:
        lines[at] = new_line
    else:
        insert = end
        while insert > start and not lines[insert - 1].strip():
            insert -= 1
        lines.insert(insert, new_line)
    return "\n".join(lines) + "\n"


def update(path: str, key: str, value: Any | None) -> None:
    """Set or (with None) remove ``key`` in the config file at ``path``."""
    import tomllib

    from .files import read_small_file, write_atomically

    load_config(path, explicit=False)  # refuse to edit a file that is already broken
    try:
        text = read_small_file(path, "config file").decode("utf-8")
    except FileNotFoundError:
        if value is None:
            return  # nothing to remove, and no file to create
        text = ""
    new_text = edited(text, key, value)
    if new_text == text:
        return
    try:
        validate(tomllib.loads(new_text), path)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"could not edit {key} in {path} safely: {e}") from None
    write_atomically(path, new_text, parents=True)  # its directory may not exist yet


def smtp_problem(label: str, key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the ``[smtp]`` key ``key``, as a sentence that
    starts with ``label`` (how the caller names the key), or None. Checks one key at a
    time; :func:`ticketcli.mail.settings.load` checks how the keys go together."""
    if key in SMTP_TEXT:
        if not isinstance(value, str) or not value.strip():
            return f"{label} must be a non-empty string"
        if key in ("from", "reply_to"):
            from .text import address_of

            if any(ch in value for ch in "\r\n"):
                return f"{label} must be one line"
            try:
                address_of(value.strip())
            except UsageError:
                return f"{label} {value.strip()!r} is not an email address"
        elif key == "security" and value.strip() not in SECURITY:
            return f"{label} must be one of {', '.join(SECURITY)}, not {value.strip()!r}"
        elif key == "sendmail":
            import shlex

            try:
                shlex.split(value)
            except ValueError as e:
                return f"{label} is not a valid command: {e}"
        return None
    whole = isinstance(value, int) and not isinstance(value, bool)
    if key == "port" and not (whole and 0 < value < 65536):
        return f"{label} must be a number from 1 to 65535, not {value!r}"
    if key == "max_attempts" and not (whole and 1 <= value <= MAX_INT):
        return f"{label} must be a whole number of 1 or more, not {value!r}"
    if key == "timeout" and (isinstance(value, bool) or not isinstance(value, (int, float))
                             or not math.isfinite(value) or value <= 0):
        return f"{label} must be a number of seconds above 0, not {value!r}"
    return None
