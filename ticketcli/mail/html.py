"""Readable plain text from an HTML mail body, with quoted parts marked by '> '."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Text(HTMLParser):
    PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre", "hr",
                 "blockquote", "section", "article", "header", "footer", "address", "center"}
    LINE = {"div", "li", "tr", "br", "dt", "dd"}
    SKIP = {"script", "style", "head", "title", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote = 0
        self.skip = 0
        self.pre = 0
        self.href: list[str | None] = []

    def _newline(self) -> None:
        self.lines.append("")

    def _break(self) -> None:
        """End the current line, if it has anything."""
        if self.lines[-1].strip():
            self._newline()

    def _paragraph(self) -> None:
        """End the current line and leave one blank line."""
        self._break()
        if len(self.lines) >= 2 and self.lines[-2].strip():
            self._newline()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "br":
            self._newline()
        elif tag in self.PARAGRAPH:
            self._paragraph()
        elif tag in self.LINE:
            self._break()
        elif tag in ("td", "th") and self.lines[-1].strip():
            self.lines[-1] += " "
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "li":
            self.lines[-1] = "- "
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._newline()
        elif tag in self.PARAGRAPH:
            self._paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "blockquote":
            self._paragraph()
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self._paragraph()
        elif tag in self.PARAGRAPH:
            self._paragraph()
        elif tag in self.LINE:
            self._break()
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href and href.startswith(("http:", "https:")) and href not in self.lines[-1]:
                self.lines[-1] += f" <{href}>"

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            parts = data.split("\n")
            self.lines[-1] += parts[0]
            for part in parts[1:]:
                self._newline()
                self.lines[-1] = part
            return
        text = " ".join(data.split())
        if not text:
            if data and self.lines[-1] and not self.lines[-1].endswith(" "):
                self.lines[-1] += " "
            return
        if data[:1].isspace() and self.lines[-1] and not self.lines[-1].endswith(" "):
            text = " " + text
        if data[-1:].isspace():
            text += " "
        self.lines[-1] += text


class _QuotedText(_Text):
    """Keeps track of blockquote depth per line, to prefix quoted lines with '> '."""

    def __init__(self) -> None:
        super().__init__()
        self.depths: list[int] = [0]

    def _newline(self) -> None:
        super()._newline()
        self.depths.append(self.quote)

    def handle_data(self, data: str) -> None:
        if not self.lines[-1]:
            self.depths[-1] = self.quote
        super().handle_data(data)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body; blockquotes come out as '> ' lines."""
    parser = _QuotedText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this is the last resort
        return re.sub(r"<[^>]*>", " ", html)
    out: list[str] = []
    for line, depth in zip(parser.lines, parser.depths, strict=False):
        clean = line.replace("\xa0", " ").strip()
        out.append(("> " * depth + clean) if clean else "")
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
