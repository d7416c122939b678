"""Messages in the user's language: English in the code, Italian in a gettext catalog.

Text meant for people is written in English where it is made, as a :class:`Msg`:
a ``str`` (its English text, so logs, tests and the English path use it as it is)
that remembers its catalog entry (``msgid``, with ``{name}`` placeholders) and the
values of its placeholders. Nothing below the commands knows the user's language;
the places that write for people (the error boundary, ``Context.say``, the
renderers) call :func:`translate` with it. Italian comes from the standard gettext
catalog ``locale/it/LC_MESSAGES/ticketcli.mo`` beside this file, compiled from
``it.po`` by ``scripts/gen_catalogs.py`` (a test compiles it again and compares).

English never loads the catalog, nor the ``gettext`` module: start-up stays lean.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gettext import GNUTranslations
    from typing import Any

DOMAIN = "ticketcli"
LANGUAGES = ("en", "it")
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")
# Catalog entries the code passes as values rather than literals (``msg(what)``): the
# things a message names.
DYNAMIC = ("status", "priority", "description", "comment", "list of ids", "workflow",
           "template", "title", "body", "note", "staff", "the requester", "yes", "no")


class Msg(str):
    """English text that knows its catalog entry: ``msgid`` (in ``context``) with the
    ``params`` that fill its placeholders (``str.format`` syntax)."""

    msgid: str
    context: str | None
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: dict[str, Any] | None = None,
                context: str | None = None) -> Msg:
        values = params or {}
        text = msgid.format(**{k: localize(v, "en") for k, v in values.items()}) if values \
            else msgid
        self = super().__new__(cls, text)
        self.msgid, self.context, self.params = msgid, context, values
        return self

    def __reduce__(self) -> Any:
        return (Msg, (self.msgid, self.params, self.context))


class ByLang(str):
    """A value shown differently in each language (a status label): its English text,
    and the others by language code."""

    texts: dict[str, str]

    def __new__(cls, texts: dict[str, str]) -> ByLang:
        self = super().__new__(cls, texts.get("en") or next(iter(texts.values()), ""))
        self.texts = texts
        return self

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or str.__str__(self)


def msg(msgid: str, /, **params: Any) -> Msg:
    """A message for people; ``msgid`` is its English text with ``{name}`` placeholders."""
    return Msg(msgid, params)


def pmsg(context: str, msgid: str, /, **params: Any) -> Msg:
    """:func:`msg` in a gettext context (the same English word meaning two things)."""
    return Msg(msgid, params, context)


def localize(value: Any, lang: str) -> Any:
    """A placeholder's value in ``lang``: messages and labels translated, the rest as is."""
    if isinstance(value, Msg):
        return translate(value, lang)
    if isinstance(value, ByLang):
        return value.text(lang)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (Msg, ByLang)):
        return ", ".join(localize(v, lang) for v in value)
    return value


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang``: a :class:`Msg` from the catalog (English where the catalog
    has no entry), anything else as it is."""
    if not isinstance(text, Msg):
        return str.__str__(text) if isinstance(text, str) else str(text)
    if lang == "en":
        return str.__str__(text)
    catalog = _catalog(lang)
    if catalog is None:
        return str.__str__(text)
    template = (catalog.pgettext(text.context, text.msgid) if text.context
                else catalog.gettext(text.msgid))
    if not text.params:
        return template
    try:
        return template.format(**{k: localize(v, lang) for k, v in text.params.items()})
    except (KeyError, IndexError, ValueError):  # a broken translation: the English text
        return str.__str__(text)


def gettext(lang: str, text: str) -> str:
    """A word or phrase of the catalog (a table header) in ``lang``."""
    return text if lang == "en" else translate(Msg(text), lang)


def pgettext(lang: str, context: str, text: str) -> str:
    return text if lang == "en" else translate(Msg(text, None, context), lang)


_CATALOGS: dict[str, GNUTranslations | None] = {}


def _catalog(lang: str) -> GNUTranslations | None:
    """The compiled catalog of ``lang`` (read once), or None when there is none."""
    if lang not in _CATALOGS:
        from gettext import GNUTranslations

        path = os.path.join(LOCALE_DIR, lang, "LC_MESSAGES", f"{DOMAIN}.mo")
        try:
            with open(path, "rb") as fh:
                _CATALOGS[lang] = GNUTranslations(fh)
        except OSError:
            _CATALOGS[lang] = None
    return _CATALOGS[lang]
