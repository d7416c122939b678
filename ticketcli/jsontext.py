"""JSON text in and out without importing ``json`` on every command.

Every command reads JSON the store wrote (the stored workflow, a ticket's
fields, history details) and many write some; the ``json`` package imports
``re`` (and ``enum``), which costs more than a ``show`` spends on its query.
:func:`dumps` writes exactly what ``json.dumps`` writes for the values
ticketcli stores and prints (dicts with text keys, lists, tuples, text,
integers, floats, booleans, None), and hands anything else to ``json``.
:func:`loads` reads with the C scanner ``json`` itself uses (``_json``), built
from the same settings ``json.loads`` uses, and falls back to ``json`` where
that scanner is missing (an interpreter other than CPython) or the text is not
one JSON value. tests/test_jsontext.py checks both against ``json`` itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# What json.dumps escapes when ensure_ascii is false: quote, backslash, controls.
_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r",
                 ord("\t"): "\\t", ord("\b"): "\\b", ord("\f"): "\\f"})


def _string(text: str) -> str:
    return '"' + text.translate(_ESCAPES) + '"'


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _encode(value: Any, out: list[str], indent: int | None, level: int,
            sort_keys: bool) -> bool:
    """Append ``value``'s JSON to ``out``; False for a value json.dumps treats specially
    (handed to it whole)."""
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif type(value) is int:
        out.append(int.__repr__(value))
    elif type(value) is float:
        out.append(_float(value))
    elif isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        if not value:
            out.append("[]")
            return True
        inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
        sep = ", " if indent is None else "," + inner
        out.append("[" + inner)
        for i, item in enumerate(value):
            if i:
                out.append(sep)
            if not _encode(item, out, indent, level + 1, sort_keys):
                return False
        out.append("]" if indent is None else "\n" + " " * (indent * level) + "]")
    elif type(value) is dict:
        if not value:
            out.append("{}")
            return True
        if not all(type(k) is str for k in value):
            return False
        inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
        sep = ", " if indent is None else "," + inner
        out.append("{" + inner)
        items = sorted(value.items()) if sort_keys else value.items()
        for i, (key, item) in enumerate(items):
            if i:
                out.append(sep)
            out.append(_string(key) + ": ")
            if not _encode(item, out, indent, level + 1, sort_keys):
                return False
        out.append("}" if indent is None else "\n" + " " * (indent * level) + "}")
    else:
        return False
    return True


def encode(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """What :func:`dumps` returns, written here rather than by ``json``."""
    out: list[str] = []
    try:
        done = _encode(value, out, indent, 0, sort_keys)
    except RecursionError:
        done = False
    if not done:
        import json

        return json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    return "".join(out)


# A command that writes many values (close-stale's outbox messages, an export) gains
# more from json's C encoder than its import costs: after this many in one process,
# dumps hands every value to json.
OWN_LIMIT = 32
_own_calls = 0
_json_dumps: Callable[..., str] | None = None


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys)``."""
    global _own_calls, _json_dumps
    if _json_dumps is None:
        _own_calls += 1
        if _own_calls <= OWN_LIMIT:
            return encode(value, indent=indent, sort_keys=sort_keys)
        import json

        _json_dumps = json.dumps
    return _json_dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys)


class _Settings:
    """What the C scanner reads of a decoder: json.loads's defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__
    memo: dict[str, str] = {}


_scan: Callable[[str, int], tuple[Any, int]] | None = None


def loads(text: str) -> Any:
    """``json.loads(text)``."""
    global _scan
    if text == "{}":
        return {}
    if text == "[]":
        return []
    stripped = text.strip(" \t\n\r")
    if _scan is None:
        try:
            import _json
        except ImportError:
            import json

            return json.loads(text)
        _scan = _json.make_scanner(_Settings())  # type: ignore[arg-type]
    try:
        value, end = _scan(stripped, 0)
    except StopIteration:
        end = -1
        value = None
    if end == len(stripped) and stripped:
        return value
    import json  # not one JSON value: json says what is wrong with it

    return json.loads(text)
