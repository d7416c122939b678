"""Tables for people at a terminal: columns aligned by display width, fitted to the
terminal, control characters shown rather than obeyed.

Display width comes from ``wcwidth`` (East Asian wide characters, emoji, combining
marks and zero-width characters as terminals draw them), imported only for text
that holds a character from U+0300 on: ASCII and the Latin letters of Italian
names and titles take one cell each and cost no import. wcwidth is held below 0.3,
whose package imports typing, secrets and textwrap (measured: some 50 ms to import
0.9, 7 ms for 0.2.13, a fraction of one for ``unicodedata``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

GAP = "  "  # between columns
# One cell each, measured without wcwidth: all below U+0300 (where combining marks
# start) and the dashes, quotes and ellipsis of General Punctuation (U+2010-U+2027).
_ONE_CELL = frozenset(map(chr, [*range(0x300), *range(0x2010, 0x2028)]))
MIN_FLEX = 10  # cells the flexible column keeps however narrow the terminal

# C0 and C1 controls but tab and newline, which cells never hold (they are folded), and
# the bidirectional overrides and isolates that would reorder what follows them.
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0, 9), 11, 12, *range(14, 32), *range(127, 160)]}
_CONTROL.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                            0x200E, 0x200F, 0x061C]})


# What a terminal must never be sent raw from data, whatever the format: every C0 control
# but tab and newline (a carriage return rewrites the line), DEL, C1 and the bidi controls.
# Shown as \\uXXXX, which is also how JSON writes them: JSON on a terminal stays JSON.
_TERMINAL = {c: f"\\u{c:04x}" for c in [*range(0, 9), *range(11, 32), *range(127, 160),
                                         *range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                         0x200E, 0x200F, 0x061C]}


def terminal(text: str) -> str:
    """Text for a terminal or for stderr, in any format: control characters and bidi
    controls shown as ``\\uXXXX``, never obeyed (tab and newline kept)."""
    return text.translate(_TERMINAL)


def safe(text: str) -> str:
    """Text for a terminal: control characters (escape sequences) and bidi overrides
    shown, not obeyed."""
    return text.translate(_CONTROL)


def width(text: str) -> int:
    """Cells ``text`` takes on a terminal."""
    if text.isascii() or _ONE_CELL.issuperset(text):
        return len(text)
    from wcwidth import wcswidth, wcwidth

    cells = int(wcswidth(text))
    if cells < 0:  # a control character among them: it takes no cell
        cells = sum(max(int(wcwidth(ch)), 0) for ch in text)
    return cells


def _fitting(text: str, cells: int) -> int:
    """How many characters of ``text`` fit in ``cells`` cells: never half of a
    character a terminal draws together with the one before (an emoji and its
    variation selector, a letter and its combining mark)."""
    used = 0
    for i, ch in enumerate(text):
        used = used + 1 if ch in _ONE_CELL else width(text[:i + 1])
        if used > cells:
            while i and text[i] not in _ONE_CELL and width(text[i]) == 0:
                i -= 1  # a mark that joins the character before: both go
            return i
    return len(text)


def clip(text: str, cells: int) -> str:
    """``text`` cut to at most ``cells`` cells, with an ellipsis when cut."""
    if width(text) <= cells:
        return text
    return text[:_fitting(text, cells - 1)] + "…"


def pad(text: str, cells: int) -> str:
    return text + " " * (cells - width(text))


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
           columns: int | None = None, flex: int | None = None,
           shorter: Sequence[tuple[int, Callable[[str], str]]] = ()) -> str:
    """A table: a header line, a rule, a line per row, every line ending in a newline.

    With ``columns`` (the terminal's width), no line is wider: first the columns that
    have a shorter form (``shorter``: (column, shorten) pairs, such as a time without
    its year, an address without its domain) take it, in the order given, until the
    table fits; then the ``flex``
    column (the title) gives up what it can down to a comfortable width, the widest
    others down to a few cells each, the title down to :data:`MIN_FLEX`, and so on,
    so that nothing wraps.
    """
    heads = [safe(h) for h in headers]
    cells = [[safe(c) for c in row] for row in rows]
    widths = _widths(heads, cells)
    if columns is not None and _total(widths) > columns:
        for i, shorten in shorter:
            if _total(widths) <= columns:
                break
            for row in cells:
                row[i] = shorten(row[i])
            widths = _widths(heads, cells)
        _fit(widths, heads, columns, flex)
    lines = [GAP.join(pad(clip(h, w), w) for h, w in zip(heads, widths, strict=True)),
             GAP.join("-" * w for w in widths)]
    lines += [GAP.join(pad(clip(c, w), w) for c, w in zip(row, widths, strict=True))
              for row in cells]
    return "".join(line.rstrip() + "\n" for line in lines)


def _widths(heads: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    return [max([width(h), *(width(r[i]) for r in cells)]) for i, h in enumerate(heads)]


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + len(GAP) * (len(widths) - 1)


COMFORT = 24  # cells the title keeps while other columns can still give some up
FLOOR = 6  # cells any other column keeps while the title can still give some up


def _fit(widths: list[int], heads: list[str], columns: int, flex: int | None) -> None:
    """Narrow ``widths`` in place until the table fits in ``columns`` cells."""
    others = [i for i in range(len(widths)) if i != flex]

    def title_down_to(floor: int) -> None:
        if flex is not None and _total(widths) > columns:
            keep = max(min(floor, widths[flex]), widths[flex] - (_total(widths) - columns))
            widths[flex] = keep

    def others_down_to(floor: int) -> None:
        while _total(widths) > columns:
            widest = max(others, key=lambda i: widths[i], default=None)
            if widest is None or widths[widest] <= floor:
                return
            widths[widest] -= 1

    title_down_to(COMFORT)
    others_down_to(FLOOR)
    title_down_to(MIN_FLEX)
    others_down_to(2)


def wrap(text: str, cells: int) -> list[str]:
    """``text`` (one paragraph) broken at spaces into lines of at most ``cells`` cells;
    a word longer than a line is cut where it must be. Runs of spaces become one."""
    cells = max(cells, 1)
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for word in text.split():
        w = width(word)
        while w > cells:  # a word too long for any line: fill this one, go on
            room = cells - used - (1 if line else 0)
            if room < 1 or room < min(cells, 8) and line:
                lines.append(" ".join(line))
                line, used = [], 0
                continue
            head, word = _cut(word, room)
            line.append(head)
            lines.append(" ".join(line))
            line, used = [], 0
            w = width(word)
        if line and used + 1 + w > cells:
            lines.append(" ".join(line))
            line, used = [], 0
        used += w + (1 if line else 0)
        line.append(word)
    if line or not lines:
        lines.append(" ".join(line))
    return lines


def _cut(word: str, cells: int) -> tuple[str, str]:
    """``word`` split after at most ``cells`` cells (at least one character)."""
    i = max(_fitting(word, cells), 1)
    return word[:i], word[i:]


def wrap_lines(text: str, cells: int | None, indent: str = "") -> list[str]:
    """Every line of ``text`` wrapped to ``cells`` (None: as it is), each line starting
    with ``indent``; blank lines kept."""
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        if cells is None or not paragraph.strip() or width(indent + paragraph) <= cells:
            out.append((indent + paragraph).rstrip())  # fits: kept as written
            continue
        lead = paragraph[:len(paragraph) - len(paragraph.lstrip())]
        room = max(cells - width(indent) - width(lead), 10)
        out += [indent + lead + part for part in wrap(paragraph, room)]
    return out
