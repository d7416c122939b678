"""What commands read besides their arguments: texts from files or stdin, attachments,
ticket ids, ``--field`` pairs."""

from __future__ import annotations

import os

from ..desk.checks import MAX_BODY, NewFile
from ..errors import UsageError
from ..files import read_small_file, reading
from ..i18n import msg

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import IO

    from ..context import Context


def read_text(c: Context, source: str, what: str) -> str:
    """Text from a file, or from stdin when ``source`` is ``-``; exactly as given.

    Reads at most a little more than the body limit allows (4 bytes a character),
    so a device such as /dev/zero is refused rather than read forever."""
    limit = max(c.limits.body, MAX_BODY) * 4
    if source == "-":
        if c.stdin_is_tty():
            c.say(msg("Type the {what}; end with Ctrl-D on a line of its own "
                      "(Ctrl-C cancels).", what=msg(what)))
        stream = getattr(c.stdin, "buffer", None)
        data = stream.read(limit + 1) if stream is not None else c.stdin.read(limit + 1).encode()
    else:
        with reading(source, what):
            data = read_small_file(source, what, UsageError, limit, truncate=True)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"the {what} is not UTF-8 text; attach binary files with --attach"
        ) from None


def read_attachments(c: Context, paths: Sequence[str] | None) -> list[NewFile]:
    """The files to attach, read up to one byte past the size limit (devices never hang)."""
    files = []
    limit = c.limits.attachment
    for path in paths or []:
        with reading(path, "attachment"):
            content = read_small_file(path, "attachment", UsageError, limit, truncate=True)
        files.append(NewFile(os.path.basename(path) or "attachment", content))
    return files


def body_from(c: Context, text: str | None, body_file: str | None, what: str,
              required: bool) -> str | None:
    if text is not None and body_file is not None:
        raise UsageError(f"give the {what} as text or with --body-file, not both")
    if body_file is not None:
        return read_text(c, body_file, what)
    if text is None and required:
        raise UsageError(f"give the {what} as text, or with --body-file PATH (- for stdin)")
    return text


MAX_IDS = 10_000_000  # ids one command takes (8 bytes each in memory)
_ID_DIGITS = 19  # 2**63 - 1, SQLite's largest integer, has 19
_MAX_ID = 2**63 - 1
_WHITESPACE = b" \t\n\r\x0b\x0c"
_CHUNK = 1 << 16


def ticket_id(text: str) -> int:
    """A ticket id as people write it: ``12`` or ``#12`` (as subjects carry it).
    ValueError for anything else (click reports it as an invalid value)."""
    digits = text.strip()
    digits = digits[1:] if digits.startswith("#") else digits
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{text!r} is not a ticket id (a number such as 12 or #12)")
    return int(digits)


def parse_ids(c: Context, words: Sequence[str]) -> Sequence[int]:
    """Ticket ids from the arguments, each once, in order; ``-`` reads whitespace-separated
    ids from stdin.

    Stdin is read as a stream, a chunk at a time, so a million ids take a few MB (8
    bytes each, and a bitmap of those seen): a token is only ever judged whole, never
    cut where a chunk ends, and anything but a positive number of at most 19 digits is
    a usage error before any ticket is touched. Ids piped from a query that matched
    nothing (``list ... --format ids | set-status - solved``) are nothing to do, not an
    error: only ids missing from the command line itself are a usage error."""
    from array import array

    ids = array("q")
    seen = _Seen()
    for word in words:
        for token in (_stdin_tokens(c) if word == "-" else [word.encode("utf-8",
                                                                         "surrogateescape")]):
            number = _ticket_id(token)
            if seen.add(number):
                if len(ids) >= MAX_IDS:
                    raise UsageError(f"more than {MAX_IDS:,} ticket ids; give them in "
                                     "smaller batches")
                ids.append(number)
    if not ids and "-" not in words:
        raise UsageError("no ticket ids given")
    return ids


def _ticket_id(token: bytes) -> int:
    digits = token[1:] if token.startswith(b"#") else token  # #12, as subjects carry it
    if digits.isdigit() and len(digits) <= _ID_DIGITS:  # bytes: ASCII digits only
        number = int(digits)
        if 0 < number <= _MAX_ID:
            return number
    shown = token[:24].decode("utf-8", "replace") + ("…" if len(token) > 24 else "")
    raise UsageError(msg("{token!r} is not a ticket id (ids are positive numbers such as 12 "
                         "or #12, of at most {digits} digits)", token=shown,
                         digits=_ID_DIGITS))


def _stdin_tokens(c: Context) -> Iterator[bytes]:
    """The whitespace-separated words on stdin, read a chunk at a time; a word that goes
    on past any ticket id's length is refused as soon as it does (memory stays bounded)."""
    stream = getattr(c.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes under it (tests)
        stream = _Encoded(c.stdin)
    carry = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        chunk = carry + chunk
        words = chunk.split()
        carry = words.pop() if words and chunk[-1] not in _WHITESPACE else b""
        if len(carry) > _ID_DIGITS + 1:
            _ticket_id(carry)
        yield from words
    if carry:
        yield carry


class _Encoded:
    def __init__(self, text: IO[str]) -> None:
        self.text = text

    def read(self, size: int) -> bytes:
        return self.text.read(size).encode("utf-8", "surrogateescape")


class _Seen:
    """The ids taken so far: a bitmap for those below 2**27 (16 MB at most, 125 KB for
    a million), a set for the rare larger ones."""

    BITMAP = 1 << 27

    def __init__(self) -> None:
        self.bits = bytearray()
        self.large: set[int] = set()

    def add(self, number: int) -> bool:
        """Take ``number``; False when it was already taken."""
        if number >= self.BITMAP:
            if number in self.large:
                return False
            self.large.add(number)
            return True
        byte, mask = number >> 3, 1 << (number & 7)
        bits = self.bits
        if byte >= len(bits):
            bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))
        if bits[byte] & mask:
            return False
        bits[byte] |= mask
        return True


def parse_fields(pairs: Sequence[str] | None) -> dict[str, str]:
    """``--field KEY=VALUE`` pairs, keys simple words."""
    fields: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").replace("-", "").isalnum():
            raise UsageError(f"--field takes KEY=VALUE with a simple key, not {pair!r}")
        fields[key] = value
    return fields
