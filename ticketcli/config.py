"""Paths and the user configuration file (TOML).

Read with the standard library's tomllib; this module never imports anything
heavy because every command pays for it at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

APP = "ticketcli"
DB_NAME = "tickets.db"
CONFIG_NAME = "config.toml"

# key -> (type, description); the keys the user config understands.
KEYS: dict[str, tuple[type, str]] = {
    "db": (str, "path of the database file"),
    "user": (str, "email of the person acting when --as is not given"),
    "language": (str, "label language: en or it"),
    "busy_timeout": (float, "seconds to wait for another writer before giving up"),
}


def _xdg(env: Mapping[str, str], var: str, fallback: str) -> Path:
    value = env.get(var, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or os.path.expanduser("~")) / fallback


def data_dir(env: Mapping[str, str]) -> Path:
    return _xdg(env, "XDG_DATA_HOME", ".local/share") / APP


def default_db_path(env: Mapping[str, str]) -> Path:
    return data_dir(env) / DB_NAME


def default_config_path(env: Mapping[str, str]) -> Path:
    return _xdg(env, "XDG_CONFIG_HOME", ".config") / APP / CONFIG_NAME


def load_config(path: Path, *, explicit: bool) -> dict[str, Any]:
    """The user config as a dict; ``{}`` when the default file does not exist."""
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    for key, value in data.items():
        if key not in KEYS:
            continue  # unknown keys are kept for other versions and tools
        kind = KEYS[key][0]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (ok if kind is float else isinstance(value, kind)):
            raise ConfigError(f"config file {path}: {key} must be a {kind.__name__}")
    lang = data.get("language")
    if lang is not None and lang not in ("en", "it"):
        raise ConfigError(f"config file {path}: language must be 'en' or 'it', not {lang!r}")
    return data


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


def login_actor(env: Mapping[str, str]) -> str:
    """The person behind the login name, as an address on the local host."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = env.get("USER") or "user"
    return name if "@" in name else f"{name}@localhost"
