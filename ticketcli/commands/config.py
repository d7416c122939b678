"""config: read and edit the user configuration file."""

from __future__ import annotations

from .. import config as cfg
from ..errors import NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated, Any

    import typer

    from ..context import Context



def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def config_path(c: Context) -> None:
    """Print where the config file is (it may not exist yet).

    \b
    Examples:
      ticketcli config path
    """
    c.out(f"{c.config_path}\n")


def config_list(c: Context) -> None:
    """Print every setting as key=value.

    \b
    Examples:
      ticketcli config list
    """
    lines = []
    for key, value in c.config.items():
        if isinstance(value, dict):
            lines += [f"{key}.{k}={_show(v)}" for k, v in value.items()]
        else:
            lines.append(f"{key}={_show(value)}")
    c.out("".join(line + "\n" for line in lines))


def config_get(c: Context, key: Annotated[str, typer.Argument(metavar="KEY")]) -> None:
    """Print one setting (exit 3 when it is not set).

    \b
    Examples:
      ticketcli config get user
      ticketcli config get smtp.host
    """
    try:
        value = cfg.get_value(c.config, key)
    except KeyError:
        cfg.check_key(key)
        raise NotFound(f"{key} is not set in {c.config_path}") from None
    c.out(f"{_show(value)}\n")


def config_set(
    c: Context,
    key: Annotated[str, typer.Argument(metavar="KEY")],
    value: Annotated[str, typer.Argument(metavar="VALUE")],
) -> None:
    """Set a value; comments and other keys in the file are kept.

    The value is checked as the program reads it: a bad one is refused (exit
    2) and a key the program does not read is not found (exit 3); the file is
    then left as it was. A key in a table is written table.name.

    \b
    Keys:
      db                   database file
      user                 email of the person acting when --as is not given
      language             en or it
      busy_timeout         seconds to wait for another writer
      max_title_length     longest title, in characters
      max_body_size        longest description or comment, in characters
      max_attachment_size  largest attachment, in bytes
      max_attachments      most attachments in one command
      max_fields           most --field pairs on a ticket
      max_field_size       characters of a ticket's fields together
      (the max_* keys only lower the desk's limits: see 'ticketcli desk show')
      smtp.from, smtp.host, smtp.port, smtp.security, smtp.username,
      smtp.password_env, smtp.sendmail, smtp.timeout, smtp.max_attempts,
      smtp.cafile, smtp.reply_to: mail delivery (docs/EMAIL.md)
      mail.trust           token (default) or from: whom mail-in believes
      mail.authserv_id     your mail server's authserv-id (DMARC results)

    \b
    Examples:
      ticketcli config set user anna@example.com
      ticketcli config set language it
      ticketcli config set smtp.port 587
    """
    cfg.check_key(key)
    cfg.update(c.config_path, key, cfg.parse_value(key, value))


def config_unset(c: Context, key: Annotated[str, typer.Argument(metavar="KEY")]) -> None:
    """Remove a setting (the program then uses its default).

    A key the program does not read is not found (exit 3).

    \b
    Examples:
      ticketcli config unset language
    """
    cfg.check_key(key)
    cfg.update(c.config_path, key, None)
