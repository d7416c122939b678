"""Compile the message catalogs: ticketcli/i18n/LANG.po -> ticketcli/i18n/locale/LANG/
LC_MESSAGES/ticketcli.mo, the files Python's gettext reads.

Run after editing a .po file:  python scripts/gen_catalogs.py
Show what the code says that a catalog does not translate yet:
                               python scripts/gen_catalogs.py --missing
A test compiles the catalogs again and fails when a .mo file differs, and fails when
a message of the code has no translation. The compiled files are committed and
shipped as package data: installing ticketcli needs no gettext tools.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "ticketcli" / "i18n"
PACKAGE = ROOT / "ticketcli"
# The functions whose literal arguments are catalog entries: name -> (index of the
# context or None, index of the msgid).
CALLS = {"msg": (None, 0), "pmsg": (0, 1), "gettext": (None, 1), "pgettext": (1, 2)}


def parse_po(text: str) -> dict[tuple[str | None, str], str]:
    """(context, msgid) -> msgstr of a .po file (fuzzy and empty entries left out)."""
    entries: dict[tuple[str | None, str], str] = {}
    current: dict[str, str] = {}
    key: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal current, key, fuzzy
        if "msgid" in current and current.get("msgstr") and not fuzzy:
            entries[(current.get("msgctxt"), current["msgid"])] = current["msgstr"]
        current, key, fuzzy = {}, None, False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if key is None:
                raise ValueError(f"line {number}: a string outside an entry")
            current[key] += _unquote(line, number)
            continue
        word, _, rest = line.partition(" ")
        if word not in ("msgctxt", "msgid", "msgstr"):
            raise ValueError(f"line {number}: unknown keyword {word!r}")
        if word in current or (word == "msgctxt" and "msgid" in current):
            flush()
        key = word
        current[word] = _unquote(rest.strip(), number)
    flush()
    return entries


def _unquote(text: str, number: int) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"line {number}: expected a quoted string")
    body = text[1:-1]
    out: list[str] = []
    i = 0
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


HEADER = "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"


def compile_mo(entries: dict[tuple[str | None, str], str], language: str) -> bytes:
    """The GNU .mo file of ``entries`` (no hash table, keys sorted, UTF-8)."""
    header = f"Project-Id-Version: ticketcli\nLanguage: {language}\n{HEADER}"
    pairs = {"": header}
    for (context, msgid), msgstr in entries.items():
        pairs[f"{context}\x04{msgid}" if context else msgid] = msgstr
    keys = sorted(pairs)
    ids = [k.encode("utf-8") for k in keys]
    strs = [pairs[k].encode("utf-8") for k in keys]
    count = len(keys)
    start = 7 * 4 + 16 * count
    offsets: list[int] = []
    blob = b""
    for data in ids:
        offsets += [len(data), start + len(blob)]
        blob += data + b"\0"
    for data in strs:
        offsets += [len(data), start + len(blob)]
        blob += data + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, count, 7 * 4, 7 * 4 + 8 * count, 0, 0)
    return head + struct.pack(f"<{len(offsets)}I", *offsets) + blob


def catalogs() -> dict[Path, bytes]:
    """Each compiled catalog by the path it is written to."""
    out = {}
    for po in sorted(I18N.glob("*.po")):
        lang = po.stem
        target = I18N / "locale" / lang / "LC_MESSAGES" / "ticketcli.mo"
        out[target] = compile_mo(parse_po(po.read_text("utf-8")), lang)
    return out


def used() -> dict[tuple[str | None, str], str]:
    """Every catalog entry the code names literally, with where: msg("..."),
    pmsg("ctx", "..."), gettext(lang, "..."), pgettext(lang, "ctx", "..."), and the
    tables of names shown to people (headers, history events)."""
    found: dict[tuple[str | None, str], str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else "")
            if name not in CALLS:
                continue
            ctx_at, id_at = CALLS[name]
            if len(node.args) <= id_at:
                continue
            arg = node.args[id_at]
            context: str | None = None
            if ctx_at is not None:
                c = node.args[ctx_at]
                if not (isinstance(c, ast.Constant) and isinstance(c.value, str)):
                    continue
                context = c.value
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found[(context, arg.value)] = f"{path.relative_to(ROOT)}:{node.lineno}"
    sys.path.insert(0, str(ROOT))
    from ticketcli.output import HEADERS
    from ticketcli.output.details import EDITED, EVENTS, REASONS

    for text in HEADERS.values():
        found.setdefault(("header", text), "ticketcli/output/__init__.py: HEADERS")
    for text in EVENTS.values():
        found.setdefault(("event", text), "ticketcli/output/details.py: EVENTS")
    for text in REASONS:
        found.setdefault(("reason", text), "ticketcli/output/details.py: REASONS")
    for text in EDITED.values():
        found.setdefault((None, text), "ticketcli/output/details.py")
    from ticketcli.i18n import DYNAMIC

    for text in DYNAMIC:
        found.setdefault((None, text), "ticketcli/i18n/__init__.py: DYNAMIC")
    return found


def missing(lang: str = "it") -> list[str]:
    entries = parse_po((I18N / f"{lang}.po").read_text("utf-8"))
    return [f"{where}: {context + ' | ' if context else ''}{msgid!r}"
            for (context, msgid), where in used().items() if (context, msgid) not in entries]


def main(argv: list[str]) -> int:
    if "--missing" in argv:
        gaps = missing()
        print("\n".join(gaps) or "every message has a translation")
        return 1 if gaps else 0
    for path, data in catalogs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
