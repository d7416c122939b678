"""Reading an import: JSON Lines or CSV bytes into checked records, each with its line.

JSON Lines are read a block of lines at a time, decoded at once and parsed
with the json module's C scanner; a line that is anything but one clean JSON
object goes through :func:`json_record`, which says what is wrong with it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from ...errors import UsageError
from .checks import Checker
from .records import FORMATS, Checked, LineError

BLOCK = 1 << 20  # bytes of lines read, decoded and parsed at a time
CSV_COLUMNS = (
    "id", "title", "description", "status", "phase", "priority", "category", "requester",
    "assignee", "organization", "resolution", "follow_up_of", "created_at", "updated_at",
    "status_changed_at", "activity_at", "participants",
)
_BOM = b"\xef\xbb\xbf"
# json.loads without its Python wrapper: (value, end) of the JSON text at an index.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def detect_format(name: str, first_line: bytes) -> str:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if first_line.lstrip(_BOM + b" \t\r\n").startswith(b"{") else "csv"


def checked_records(stream: IO[bytes], fmt: str | None, name: str,
                    checker: Checker) -> Iterator[Checked]:
    """Every record of a JSONL or CSV stream, checked, in file order."""
    first = stream.readline()
    chosen = fmt or detect_format(name, first)
    if chosen == "csv":
        for number, row in csv_records(itertools.chain([first], stream)):
            yield row if isinstance(row, LineError) else checker.record(number, row)
        return
    if chosen != "jsonl":
        raise UsageError(f"unknown import format {chosen!r}; choose one of: {', '.join(FORMATS)}")
    check = checker.record
    number = 0
    block = [first]
    while block:
        for text, raw in _decoded(block, first_block=number == 0):
            number += 1
            found: Any = None
            if text is not None:
                try:
                    found, end = _scan(text, 0)
                except (StopIteration, ValueError):
                    found = None
                else:
                    if end != len(text) and text[end:].strip(" \t\r\n"):
                        found = None  # more after the object: json_record says what
            if type(found) is not dict:
                found = json_record(number, raw)
            elif b"\\u" in raw and _lone_surrogate(found):
                found = LineError(number, _SURROGATE)
            if found is not None:
                yield found if isinstance(found, LineError) else check(number, found)
        block = stream.readlines(BLOCK)


def _decoded(block: list[bytes], *, first_block: bool) -> Iterable[tuple[str | None, bytes]]:
    """Each line of a block with its text, decoded with the whole block (None: not UTF-8)."""
    if first_block and block[0].startswith(_BOM):
        block[0] = block[0][3:]
    try:
        texts: list[str | None] = list(b"".join(block).decode("utf-8").split("\n"))
    except UnicodeDecodeError:
        return zip([None] * len(block), block, strict=True)
    # Lines end in b"\n" (which no other UTF-8 sequence contains) except maybe the last.
    if len(texts) > len(block):
        texts.pop()
    return zip(texts, block, strict=True)


def json_record(number: int, raw: bytes) -> dict[str, Any] | LineError | None:
    """One line as a JSON object, or what is wrong with it (None: a blank line)."""
    if number == 1 and raw.startswith(_BOM):
        raw = raw[3:]
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return LineError(number, "not UTF-8 text")
    except ValueError as e:
        if not raw.strip():
            return None
        return LineError(number, f"not valid JSON ({e})")
    if not isinstance(record, dict):
        return LineError(number, "each line must be a JSON object")
    if _lone_surrogate(record):
        return LineError(number, _SURROGATE)
    return record


_SURROGATE = ("holds a lone surrogate (a \\ud800-\\udfff escape without its pair), which "
              "is not text")


def _lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a string with a lone surrogate (JSON can write
    one, as an escape; it is no character, and the database cannot store it)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    return False


def csv_records(lines: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """CSV rows as records in the JSON shape, each with the line it starts on."""
    import csv

    state = {"line": 0, "bad": 0}

    def text() -> Iterator[str]:
        for raw in lines:
            state["line"] += 1
            if state["line"] == 1 and raw.startswith(_BOM):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                state["bad"] = state["bad"] or state["line"]
                yield raw.decode("utf-8", "replace")

    reader = csv.reader(text(), strict=True)
    header: list[str] | None = None
    start = 1
    while True:
        bad_before = state["bad"]
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield start, LineError(start, f"malformed CSV ({e}); nothing after it was read")
            return
        number, start = start, state["line"] + 1
        if state["bad"] != bad_before:
            yield number, LineError(state["bad"], "not UTF-8 text")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [h.strip().lower() for h in row]
            unknown = [h for h in header if h not in CSV_COLUMNS and not h.startswith("field.")]
            if unknown or len(set(header)) != len(header) or "title" not in header:
                problem = (f"unknown column(s) {', '.join(unknown)}" if unknown
                           else "each column may appear once, and 'title' is required")
                yield number, LineError(
                    number, f"{problem}; the columns are {', '.join(CSV_COLUMNS)} and field.KEY"
                )
                return
            continue
        if len(row) != len(header):
            yield number, LineError(number, f"{len(row)} cells, but the header has {len(header)}")
            continue
        yield number, _from_csv(dict(zip(header, row, strict=True)))


def _from_csv(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row in the JSON record's shape: empty cells are absent, numbers are numbers."""
    record: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for key, value in row.items():
        if key.startswith("field."):
            if value != "":
                fields[key[6:]] = value
            continue
        if value.strip() == "":
            continue
        if key in ("id", "follow_up_of"):
            number = value.strip()
            record[key] = int(number) if number.isascii() and number.isdigit() else value
        elif key == "participants":
            record[key] = [p for p in re.split(r"[\s,;]+", value) if p]
        else:
            record[key] = value
    if fields:
        record["fields"] = fields
    return record
