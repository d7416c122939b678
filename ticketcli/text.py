"""Short texts people give: titles, categories, free-form resolutions, email addresses.

Checked by hand rather than with regular expressions: ``re`` costs more to
import than a ``show`` spends on its query, and these run on every write.
"""

from __future__ import annotations

from .errors import UsageError
from .i18n import msg

# C0 and C1 control characters (line breaks and tabs among them): the one definition.
_CONTROL = frozenset(chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)))
# The bidirectional marks, embeddings, overrides and isolates: text that holds them can
# show on a screen in another order than it is (an address, a name that lies).
_BIDI = frozenset(chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                                   *range(0x2066, 0x206A)))
MAX_NAME = 200
MAX_EMAIL = 254
# Characters an address may not hold outside its domain (RFC 5322 specials, spaces).
_NOT_IN_LOCAL = frozenset(' \t\r\n<>(),;:"[]\\@')


def has_control(text: str) -> bool:
    """Whether ``text`` holds a C0 or C1 control character."""
    return not _CONTROL.isdisjoint(text)


def has_bidi(text: str) -> bool:
    """Whether ``text`` holds a bidirectional control (U+202E and its kin)."""
    return not _BIDI.isdisjoint(text)


def without_controls(text: str) -> str:
    """``text`` on one line without control characters or bidirectional controls (for
    names that come from outside, such as a mail's display name)."""
    kept = "".join(" " if ch in _CONTROL else ch for ch in text if ch not in _BIDI)
    return " ".join(kept.split())


def check_name(value: str, what: str = "a name", limit: int = MAX_NAME) -> str:
    """A person's name: :func:`one_line`, and no bidirectional controls either."""
    clean = one_line(value, what, limit)
    if has_bidi(clean):
        raise UsageError(f"{what} cannot contain bidirectional control characters")
    return clean


def one_line(value: str, what: str, limit: int) -> str:
    """``value`` on one line, its runs of spaces, tabs and line breaks folded into one
    space ('' when blank); a usage error for other control characters, or when it is
    longer than ``limit``. ``what`` names it in the message ("a title")."""
    clean = " ".join(value.split())
    if has_control(clean):
        raise UsageError(f"{what} cannot contain control characters")
    if len(clean) > limit:
        raise UsageError(f"{what} is at most {limit} characters (got {len(clean)})")
    return clean


def _domain_ok(domain: str) -> bool:
    if not domain or not (domain[0].isascii() and domain[0].isalnum()):
        return False
    if not (domain[-1].isascii() and domain[-1].isalnum()):
        return False
    return all(ch.isascii() and (ch.isalnum() or ch in ".-") for ch in domain)


def check_email(value: str) -> str:
    """An email address, trimmed and lower-cased; a usage error for anything else.

    Every address that enters ticketcli comes through here. One that starts with
    ``-`` is refused: a program it is handed to (sendmail) would read it as an
    option, and no real mailbox needs one; so is one with control characters or
    bidirectional controls, which show as another address than they are."""
    email = value.strip()
    local, at, domain = email.rpartition("@")
    if (not at or not local or len(email) > MAX_EMAIL or not _domain_ok(domain)
            or not _NOT_IN_LOCAL.isdisjoint(local) or any(ch.isspace() for ch in local)
            or has_control(local) or has_bidi(local) or local.startswith("-")):
        raise UsageError(msg("{value!r} is not a valid email address", value=value))
    return email.lower()


def address_of(value: str) -> str:
    """The bare address in ``Name <addr>`` (or ``addr``), lower-cased; UsageError if none.

    The plain forms are read here; anything with quotes, comments or several
    addresses goes to the email package's parser (which costs more to import)."""
    text = value.strip()
    if not any(ch in text for ch in '"(),\\'):
        if "<" not in text and ">" not in text:
            return check_email(text)
        if text.endswith(">") and text.count("<") == 1 and text.count(">") == 1:
            return check_email(text[text.index("<") + 1:-1])
    from email.utils import parseaddr

    _, addr = parseaddr(value)
    return check_email(addr or value)


def words(text: str) -> list[str]:
    """The runs of letters and digits in ``text`` (what a full-text index takes as its
    words): the regular expression ``[^\\W_]+``, without ``re``."""
    found: list[str] = []
    start = -1
    for i, ch in enumerate(text):
        if ch.isalnum():
            if start < 0:
                start = i
        elif start >= 0:
            found.append(text[start:i])
            start = -1
    if start >= 0:
        found.append(text[start:])
    return found
