"""Reading one RFC 5322 message as mail servers deliver it: robustly, and with bounded work.

Nothing in here raises on bad input: broken headers, unknown charsets, invalid
base64, missing parts all degrade to the best text that can be had. The
result is an :class:`Inbound` with the sender, subject, threading headers,
the text (the text/plain part, else text derived from HTML) and the files.

A message that cannot be used at all says why in :attr:`Inbound.problem`
(mail-in answers 65, so the mail server bounces it rather than retry it for
days): one with more parts, or parts nested deeper, than any mail program
writes (the email package would spend minutes on 20,000 parts, and overflow
its stack on a few thousand nested ones: reading stops at the bound), or text
that decodes to lone surrogates (UTF-7 can encode them), which is no text.
The sender is the address the email package parses from ``From`` and nothing
else: a display name such as ``"marco@desk.com"`` is never taken for it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import policy
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message

from ..desk.checks import DEFAULT_LIMITS, Limits, NewFile
from ..errors import MessageTooComplex, UsageError
from ..text import check_email, without_controls
from .html import html_to_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_DEPTH = 20  # nesting of multiparts we follow
MAX_PARTS = 500  # parts of one message (20,000 tiny ones took the email package 41 s)
MAX_NESTING = 50  # parts inside parts the parser reads (5,000 overflowed its stack)
CHUNK = 1 << 16  # bytes fed to the parser at a time
MSGID = re.compile(r"<[^<>\s]{1,250}@[^<>\s]{1,250}>")
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
    auth_results: list[str] = field(default_factory=list)  # Authentication-Results, top first
    problem: str | None = None  # why the message cannot be used at all, if it cannot


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
    """The address in the first of From, Sender and Reply-To that the message has, as
    the email package parses it, and its display name without control or bidirectional
    characters; (None, '') when that header holds no usable address.

    Only the parsed address counts, the first one: never something that looks like an
    address elsewhere in the header (a display name ``"marco@desk.com"``, a second
    address after one that is not usable)."""
    for name in ("from", "sender", "reply-to"):
        values = _raw(msg, name)
        if not values:
            continue
        raw = " ".join(values[0].split())
        try:
            parsed = policy.default.header_factory("from", raw)
            first = next(iter(getattr(parsed, "addresses", ())), None)
        except Exception:  # a header the parser cannot read has no usable address
            first = None
        if first is None or not first.domain or not first.username:
            return None, ""
        try:
            address = check_email(f"{first.username}@{first.domain}")
        except UsageError:
            return None, ""
        return address, without_controls(first.display_name)
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


def _decoded_size(part: Message) -> int | None:
    """About how many bytes a part's payload decodes to, without decoding it (None: it
    cannot be told). Base64 takes 4 characters for 3 bytes, plus line breaks."""
    raw = part.get_payload() if not part.is_multipart() else None
    if not isinstance(raw, str):
        return None
    try:
        cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    except Exception:
        return None
    if cte == "base64":
        return len(raw) * 3 // 4 * 76 // 78
    if cte in ("", "7bit", "8bit", "binary"):
        return len(raw)
    return None


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
        estimate = _decoded_size(part)
        if estimate is not None and estimate > self.limits.attachment * 1.05 + 4096:
            # Far over the limit: not decoded at all (that would only cost memory).
            self.skipped.append(f"{name} (about {estimate / 1e6:.1f} MB, over the "
                                f"{self.limits.attachment / (1024 * 1024):g} MB limit)")
            return
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
        data = _payload(part)
        room = self.limits.body * 4 + 4096  # bytes that can make the longest text kept
        if len(data) > room:  # cut at a line break, never inside a character
            data = data[:max(data.rfind(b"\n", 0, room), 0) or room]
        text = _clean_text(decode_bytes(data, charset))
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


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _read(data: bytes) -> EmailMessage:
    """The parsed message; MessageTooComplex as soon as it has more parts than
    :data:`MAX_PARTS` or parts nested deeper than :data:`MAX_NESTING`.

    Fed to the parser a chunk at a time (``parsebytes`` first copies the whole message
    into a text buffer of four bytes a character). The parts are counted as the parser
    makes them, so a message stops costing anything once it is over a bound: the
    parser's time grows with the parts (20,000 tiny ones took it 41 s) and its stack
    with their nesting (5,000 levels overflowed it)."""
    made = 0
    open_parts: list[Message] = []  # the parser's stack of parts being read

    def part(policy: Any = None) -> EmailMessage:
        nonlocal made
        made += 1
        if made > MAX_PARTS:
            raise MessageTooComplex(f"the message has more than {MAX_PARTS} parts; "
                                    f"ticketcli reads messages of at most {MAX_PARTS}")
        if len(open_parts) >= MAX_NESTING:
            raise MessageTooComplex(f"the message has parts nested more than {MAX_NESTING} "
                                    f"deep; ticketcli reads messages nested at most "
                                    f"{MAX_NESTING} deep")
        return EmailMessage(policy=policy)

    parser = BytesFeedParser(part, policy=policy.default)
    made = 0  # the parser made one to see how to call the factory
    open_parts = parser._msgstack  # type: ignore[attr-defined]
    data = repair_headers(data)
    for start in range(0, len(data), CHUNK):
        parser.feed(data[start:start + CHUNK])
    msg = parser.close()
    assert isinstance(msg, EmailMessage)
    return msg


def parse(data: bytes, *, own_addresses: frozenset[str] = frozenset(),
          limits: Limits = DEFAULT_LIMITS) -> Inbound:
    """An :class:`Inbound` from raw message bytes; never raises on malformed input (a
    message that cannot be used at all has its ``problem``)."""
    try:
        msg = _read(data)
    except MessageTooComplex as e:
        return Inbound(problem=str(e))
    except RecursionError:
        return Inbound(problem="the message's parts are nested too deeply to read")
    return _parse(msg, own_addresses, limits)


def _parse(msg: EmailMessage, own_addresses: frozenset[str], limits: Limits) -> Inbound:
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
    mail.auth_results = [" ".join(v.split()) for v in _raw(msg, "authentication-results")]
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
    for what, value in (("subject", mail.subject), ("sender's name", mail.sender_name),
                        ("text", mail.text), *(("attachment name", f.name) for f in mail.files)):
        if _lone_surrogate(value):
            mail.problem = (f"the message's {what} cannot be read as text: its charset "
                            "encodes a lone surrogate (as UTF-7 can)")
            break
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

