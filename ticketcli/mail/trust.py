"""Whether a received message proves who sent it: the ``[mail]`` table of the user config.

.. code-block:: toml

    [mail]
    trust = "token"                  # default; "from" believes the From header
    authserv_id = "mx.example.com"   # the desk's own mail server, if it checks DMARC

Anyone can write any ``From:``. Under ``trust = "token"`` a message proves its
sender in one of two ways:

- it answers one of the desk's own messages to that same address: every
  message the desk sends carries, in its Message-ID, a secret made for that one
  recipient (``<ticketcli.DESK.TICKET.ROW.TOKEN@domain>``), and only someone who
  received it can name it in ``In-Reply-To`` or ``References``;
- the desk's own mail server says so: an ``Authentication-Results`` header
  (RFC 8601) with the configured authserv-id reports ``dmarc=pass`` for the
  From domain, and none of that server's headers reports another DMARC result
  for it. Headers of any other authserv-id are ignored: anyone can write one.

What happens to a message without proof is decided by mail-in
(:mod:`ticketcli.desk.mailin`): it is held for staff to review when it would act
for a registered person on an existing ticket, or claims a staff address.
``trust = "from"`` is the behaviour of old: the From header is believed, for a
desk behind a gateway that already checks senders.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

TRUST = ("token", "from")
KNOWN = frozenset({"trust", "authserv_id"})


class MailTrust(Record):
    trust: str = "token"
    authserv_id: str | None = None


def mail_problem(label: str, key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the ``[mail]`` key ``key`` (a sentence starting
    with ``label``), or None: the one check behind :func:`settings` and ``config set``."""
    if key == "trust":
        if value not in TRUST:
            return f"{label} must be one of {', '.join(TRUST)}, not {value!r}"
    elif key == "authserv_id":
        if (not isinstance(value, str) or not value.strip() or len(value) > 255
                or any(ch.isspace() or ch in ';()"' or not ch.isprintable() for ch in value)):
            return (f"{label} must be the authserv-id your mail server writes in its "
                    f"Authentication-Results headers (such as mx.example.com), not {value!r}")
    return None


def settings(config: Mapping[str, Any], where: str) -> MailTrust:
    """The ``[mail]`` settings; ConfigError naming what is wrong."""
    table = config.get("mail", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: mail must be a table ([mail])")
    unknown = sorted(set(table) - KNOWN)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) in [mail]: {', '.join(unknown)}")
    for key, value in table.items():
        problem = mail_problem(f"[mail] {key}", key, value)
        if problem is not None:
            raise ConfigError(f"{where}: {problem}")
    authserv = table.get("authserv_id")
    return MailTrust(str(table.get("trust", "token")),
                     authserv.strip().lower() if isinstance(authserv, str) else None)


# -- Authentication-Results (RFC 8601) ---------------------------------------------------


def _without_comments(text: str) -> str:
    """``text`` without its (nested) comments and with quoted strings unquoted."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            continue
        if quoted:
            if ch == '"':
                quoted = False
            else:
                out.append(ch)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            if ch == '"':
                quoted = True
            else:
                out.append(ch)
    return "".join(out)


def results(header: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """(authserv-id, [(method, result, properties)]) of one Authentication-Results
    header; ('', []) when it cannot be read."""
    statements = _without_comments(header).split(";")
    head = statements[0].split()
    if not head:
        return "", []
    found = []
    for statement in statements[1:]:
        words = statement.split()
        if not words or "=" not in words[0]:
            continue
        method, _, result = words[0].partition("=")
        props = {}
        for word in words[1:]:
            name, equals, value = word.partition("=")
            if equals and "." in name:
                props[name.lower()] = value.lower()
        found.append((method.strip().lower(), result.strip().lower(), props))
    return head[0].lower(), found


def dmarc_pass(headers: Sequence[str], authserv_id: str, domain: str) -> bool:
    """Whether the server ``authserv_id`` reports ``dmarc=pass`` for the From ``domain``
    in ``headers`` (its Authentication-Results), and no other DMARC result for it.

    A forged header that claims the server's own authserv-id is the server's to remove
    (RFC 8601 section 5); if one slips through beside the real one, the real one's
    ``fail`` or ``none`` still wins."""
    domain = domain.lower()
    verdicts = set()
    for header in headers:
        server, found = results(header)
        if server != authserv_id:
            continue
        for method, result, props in found:
            if method == "dmarc" and props.get("header.from") == domain:
                verdicts.add(result)
    return verdicts == {"pass"}
