"""Cutting the quoted history and the signature off a reply."""

from __future__ import annotations

import re

from .templates import MARKERS

_ATTRIBUTION = re.compile(
    r"^(on|il|il giorno|in data|le|am|el)\b.{0,300}\b(wrote|ha scritto|scrive|a écrit|"
    r"schrieb|escribió)\s*:\s*$", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^(-{2,}\s*(original message|messaggio originale|ursprüngliche nachricht|"
    r"message d'origine|mensaje original)\s*-{2,}|_{20,})\s*$", re.IGNORECASE)
_FROM = re.compile(r"^\*?(from|da|de|von)\s*:\*?\s", re.IGNORECASE)
_SENT = re.compile(r"^\*?(sent|date|inviato|data|envoyé|gesendet|enviado)\s*:\*?\s",
                   re.IGNORECASE)


def _attribution(lines: list[str], i: int) -> bool:
    """Line i starts an "On ... wrote:" line, possibly wrapped onto the next line."""
    if _ATTRIBUTION.match(lines[i].strip()):
        return True
    if i + 1 >= len(lines) or _ATTRIBUTION.match(lines[i + 1].strip()):
        return False
    return bool(_ATTRIBUTION.match(lines[i].strip() + " " + lines[i + 1].strip()))


def trim_quoted(text: str) -> str:
    """A reply without the history it quotes and without its signature.

    Cuts at our "reply above this line" marker, at an attribution line ("On
    ... wrote:", "Il giorno ... ha scritto:"), at an "Original Message"
    separator or an Outlook header block ("From: ... Sent: ..."), drops
    '>'-quoted lines and the signature after "-- ". Returns '' when nothing
    new is left.
    """
    lines = text.split("\n")
    markers = [m.lower() for m in MARKERS.values()]
    cut = len(lines)
    for i, line in enumerate(lines):
        bare = line.strip().lstrip(">").strip()
        low = bare.lower()
        if any(m in low for m in markers) or _SEPARATOR.match(bare):
            cut = i
        elif line.strip() and not line.lstrip().startswith(">") and _attribution(lines, i):
            cut = i
        elif _FROM.match(bare) and any(_SENT.match(x.strip().lstrip(">").strip())
                                       for x in lines[i + 1:i + 5]):
            cut = i
        else:
            continue
        break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    for i, line in enumerate(kept):
        if line == "-- " or line == "--":
            if any(x.strip() for x in kept[:i]):
                kept = kept[:i]
            break
    result = "\n".join(kept)
    return re.sub(r"\n{3,}", "\n\n", result).strip()
