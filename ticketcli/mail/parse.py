"""Reading one RFC 5322 message as mail servers deliver it: robustly.

Nothing in here raises on bad input: broken headers, unknown charsets, invalid
base64, missing parts all degrade to the best text that can be had. The
result is an :class:`Inbound` with the sender, subject, threading headers,
the text (the text/plain part, else text derived from HTML) and the files.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from ..desk.checks import DEFAULT_LIMITS, Limits, NewFile
from ..errors import UsageError
from ..text import check_email
from .html import html_to_text

MAX_DEPTH = 20  # nesting of multiparts we follow
MSGID = re.compile(r"<[^<>\s]{1,250}@[^<>\s]{1,250}>")
ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-reply", "x-failed-recipients")
BOUNCE_LOCALS = ("mailer-daemon", "postmaster")


@dataclass
class Inbound:
    sender: str | None = None  # the From address, checked and lower-cased
    sender_name: str = ""
    subject: str = ""
    message_id: str | None = None
    references: list[str] = field(default_factory=list)  # oldest first; In-Reply-To last
    text: str = ""  # the whole text, quotes included
    files: list[NewFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files we could not keep, and why
    auto: str | None = None  # why this is automatic mail (to drop), if it is
    loop: str | None = None  # the X-Ticketcli-Loop token, if any
    language: str | None = None  # en or it, from Content-Language


# -- decoding ------------------------------------------------------------------------


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip('"').lower()).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes in the declared charset, or the likeliest one; never fails."""
    declared = _codec(charset)
    for name in (declared, "utf-8"):
        if name is None:
            continue
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(declared or "cp1252", errors="replace")


def _unescape(raw: str) -> str:
    """Header text with raw 8-bit bytes (as surrogate escapes) decoded: UTF-8, else cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in raw):
        return raw
    data = raw.encode("utf-8", "surrogateescape")
    return decode_bytes(data, None)


def _raw(msg: Message, name: str) -> list[str]:
    out = []
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            out.append(_unescape(str(value)))
    return out


_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)")


def _decode_word(m: re.Match[str]) -> str:
    charset, kind, text = m.group(1).split("*")[0], m.group(2).upper(), m.group(3)
    try:
        if kind == "B":
            import base64

            data = base64.b64decode(text, validate=True)
        else:
            import quopri

            data = quopri.decodestring(text.replace("_", " ").encode("ascii"), header=True)
    except (ValueError, UnicodeEncodeError):
        return m.group(0)  # not decodable: keep it as written
    if _codec(charset) is not None:
        try:
            return data.decode(_codec(charset) or "utf-8")
        except UnicodeDecodeError:
            pass
    return decode_bytes(data, None)


def decode_words(raw: str) -> str:
    """RFC 2047 encoded words decoded; a broken one stays as written."""
    if "=?" not in raw:
        return raw
    return _WORD.sub(_decode_word, _BETWEEN_WORDS.sub(r"\1", raw))


def header(msg: Message, name: str) -> str:
    """The decoded text of the first ``name`` header ('' if absent)."""
    values = _raw(msg, name)
    if not values:
        return ""
    text = decode_words(" ".join(values[0].split()))
    return " ".join(text.replace("\ufffd", "?").split())


def sender(msg: Message) -> tuple[str | None, str]:
    """The From address and display name; (None, '') when there is no usable address."""
    for name in ("from", "sender", "reply-to"):
        values = _raw(msg, name)
        if not values:
            continue
        raw = " ".join(values[0].split())
        display = ""
        candidates: list[str] = []
        try:
            parsed = policy.default.header_factory("from", raw)
            for addr in getattr(parsed, "addresses", ()):
                if addr.domain:
                    candidates.append(f"{addr.username}@{addr.domain}")
                    display = display or addr.display_name
        except Exception:  # fall back to finding an address in the text
            pass
        candidates += ADDRESS.findall(raw)
        for candidate in candidates:
            try:
                return check_email(candidate), " ".join(display.split())
            except UsageError:
                continue
        if name == "from":
            return None, ""
    return None, ""


def message_ids(text: str) -> list[str]:
    return MSGID.findall(text)


# -- the message ---------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _filename(part: Message, ctype: str, n: int) -> str:
    name = ""
    try:
        name = part.get_filename() or ""
    except Exception:  # a broken filename parameter is only a name
        name = ""
    if not name:
        try:
            name = part.get_param("name", header="content-type") or ""  # type: ignore[assignment]
        except Exception:
            name = ""
        if not isinstance(name, str):
            name = ""
    name = _unescape(str(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip().strip(".")
    if not name:
        import mimetypes

        ext = ".eml" if ctype == "message/rfc822" else mimetypes.guess_extension(ctype) or ".bin"
        name = f"attachment-{n}{ext}"
    return name[:200]


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # undecodable transfer encoding: keep the raw text
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _ctype(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


class _Walker:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.plain: list[str] = []
        self.html: list[str] = []
        self.files: list[NewFile] = []
        self.skipped: list[str] = []
        self.count = 0

    def file(self, part: Message, ctype: str) -> None:
        self.count += 1
        name = _filename(part, ctype, self.count)
        if ctype == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            try:
                data = inner.as_bytes() if isinstance(inner, Message) else b""
            except Exception:
                data = str(inner).encode("utf-8", "surrogateescape")
        else:
            data = _payload(part)
        if len(data) > self.limits.attachment:
            self.skipped.append(f"{name} ({len(data) / 1e6:.1f} MB, over the "
                                f"{self.limits.attachment / (1024 * 1024):g} MB limit)")
        elif len(self.files) >= self.limits.attachments:
            self.skipped.append(f"{name} (more than {self.limits.attachments} files)")
        else:
            self.files.append(NewFile(name, data))

    def text(self, part: Message, ctype: str) -> None:
        try:
            charset = part.get_content_charset()
        except Exception:
            charset = None
        text = _clean_text(decode_bytes(_payload(part), charset))
        (self.html if ctype == "text/html" else self.plain).append(text)

    def walk(self, part: Message, *, body: bool, related: bool = False, depth: int = 0) -> None:
        """``body``: text parts here are the message text (else only files are kept)."""
        ctype = _ctype(part)
        if depth > MAX_DEPTH:
            return
        if part.is_multipart() and ctype != "message/rfc822":
            children = [c for c in part.get_payload() if isinstance(c, Message)]
            if ctype == "multipart/alternative":
                kinds = [_ctype(c) for c in children]
                chosen = kinds.index("text/plain") if "text/plain" in kinds else (
                    len(children) - 1)
                for i, child in enumerate(children):
                    self.walk(child, body=body and i == chosen, related=related,
                              depth=depth + 1)
            else:
                for child in children:
                    self.walk(child, body=body, related=related or ctype == "multipart/related",
                              depth=depth + 1)
            return
        disposition = _disposition(part)
        if disposition == "attachment" or ctype == "message/rfc822":
            self.file(part, ctype)
        elif ctype in ("text/plain", "text/html") and disposition != "attachment":
            if body:
                self.text(part, ctype)
        elif ctype.startswith(("multipart/", "message/delivery-status")):
            return
        elif body and not (related and ctype.startswith("image/")):
            # Inline images inside an HTML body (logos, signatures) are decoration.
            self.file(part, ctype)


_HEADER_LINE = re.compile(rb"^([!-9;-~]+:|[ \t]|From )")


def repair_headers(data: bytes) -> bytes:
    """Drop stray lines in the header section that are neither headers nor continuations.

    Parsers otherwise take such a line as the start of the body, losing the
    real headers after it (Content-Type, above all).
    """
    cut = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0),
              default=-1)
    if cut < 0:
        return data
    head, body = data[:cut], data[cut:]
    lines = head.splitlines(keepends=True)
    kept = [line for line in lines if _HEADER_LINE.match(line)]
    return data if len(kept) == len(lines) else b"".join(kept) + body


def parse(data: bytes, *, own_addresses: frozenset[str] = frozenset(),
          limits: Limits = DEFAULT_LIMITS) -> Inbound:
    """An :class:`Inbound` from raw message bytes; never raises on malformed input."""
    msg = BytesParser(policy=policy.default).parsebytes(repair_headers(data))
    assert isinstance(msg, EmailMessage)
    mail = Inbound()
    mail.sender, mail.sender_name = sender(msg)
    mail.subject = header(msg, "subject")
    ids = message_ids(" ".join(_raw(msg, "message-id")))
    mail.message_id = ids[0] if ids else None
    refs = message_ids(" ".join(_raw(msg, "references")))
    refs += message_ids(" ".join(_raw(msg, "in-reply-to")))
    mail.references = refs
    loop = header(msg, "x-ticketcli-loop")
    mail.loop = loop or None
    lang = header(msg, "content-language").lower()
    mail.language = "it" if lang.startswith("it") else "en" if lang.startswith("en") else None
    mail.auto = _auto_reason(msg, mail, own_addresses)

    walker = _Walker(limits)
    walker.walk(msg, body=True)
    if walker.plain and any(t.strip() for t in walker.plain):
        text = "\n\n".join(t for t in walker.plain if t.strip())
    else:
        text = "\n\n".join(html_to_text(h) for h in walker.html)
    room = max(limits.body - 2000, 0)  # leaves room for notes on skipped files
    if len(text) > room:
        text = text[:room] + "\n[…]"
    mail.text = text
    mail.files = walker.files
    mail.skipped = walker.skipped
    return mail


def _auto_reason(msg: Message, mail: Inbound, own: frozenset[str]) -> str | None:
    """Why this message is automatic (a loop, an auto-reply or a bounce), if it is."""
    auto = header(msg, "auto-submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    if mail.loop:
        return "it was sent by ticketcli (X-Ticketcli-Loop)"
    if mail.sender and mail.sender in own:
        return f"it comes from the help desk's own address {mail.sender}"
    ctype = _ctype(msg)
    if ctype == "multipart/report":
        return "it is a delivery or read report (multipart/report)"
    if mail.sender and mail.sender.split("@")[0] in BOUNCE_LOCALS:
        return f"it comes from {mail.sender} (a bounce)"
    if header(msg, "return-path").strip() == "<>":
        return "it has an empty Return-Path (a bounce)"
    for name in AUTO_HEADERS:
        if _raw(msg, name):
            return f"it carries {name.title()}"
    precedence = header(msg, "precedence").lower()
    if precedence in ("bulk", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    return None

