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
    from collections.abc import Sequence

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


def ticket_id(text: str) -> int:
    """A ticket id as people write it: ``12`` or ``#12`` (as subjects carry it).
    ValueError for anything else (click reports it as an invalid value)."""
    digits = text.strip()
    digits = digits[1:] if digits.startswith("#") else digits
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{text!r} is not a ticket id (a number such as 12 or #12)")
    return int(digits)


def parse_ids(c: Context, words: Sequence[str]) -> list[int]:
    """Ticket ids from the arguments; ``-`` reads whitespace-separated ids from stdin.

    Ids piped from a query that matched nothing (``list ... --format ids | set-status -
    solved``) are nothing to do, not an error: only ids missing from the command line
    itself are a usage error."""
    ids: list[int] = []
    for word in words:
        tokens = read_text(c, "-", "list of ids").split() if word == "-" else [word]
        for token in tokens:
            digits = token[1:] if token.startswith("#") else token
            if not (digits.isascii() and digits.isdigit()) or int(digits) <= 0:
                raise UsageError(msg("{token!r} is not a ticket id (ids are positive numbers, "
                                     "such as 12 or #12)", token=token))
            ids.append(int(digits))
    if not ids and "-" not in words:
        raise UsageError("no ticket ids given")
    return list(dict.fromkeys(ids))


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
