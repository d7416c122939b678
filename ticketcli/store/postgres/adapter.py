"""A PostgreSQL connection that the store can use as it uses SQLite's.

The store's SQL is written once, in SQLite's dialect. :func:`dialect` rewrites a
statement for PostgreSQL (placeholders, ``INSERT OR IGNORE``, ``COLLATE NOCASE``,
``LIKE``'s case, the id an insert made) once per statement text, and
:class:`Connection` answers the part of :class:`sqlite3.Connection` the store uses:
``execute``, ``executemany``, ``in_transaction``, ``total_changes``, cursors with
``fetchone``, ``fetchall``, ``lastrowid`` and ``rowcount``, rows as tuples.
Values come back as SQLite gives them: integers for booleans, ``bytes`` for
``bytea``, ``int`` or ``float`` for ``numeric``. A server error comes back as the
:mod:`sqlite3` exception of the same kind (a unique violation is an
``IntegrityError``, a lock timeout an ``OperationalError`` saying the database is
locked), so the store and the error boundary need no second set of handlers.

The driver is psycopg2 (``pip install 'ticketcli[postgresql]'``): about 30 ms to
import here where psycopg 3 took 180 ms, which a command called in a loop pays on
every run. It is imported only when a desk is on PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any

# Tables whose rows have an ``id`` an insert hands back (``cursor.lastrowid``).
ID_TABLES = frozenset({"orgs", "users", "tickets", "comments", "attachments", "history",
                       "outbox", "mail_messages", "mail_held"})

_LITERAL = re.compile(r"('(?:[^']|'')*')")
_NUMBERED = re.compile(r"\?(\d+)")
_NOCASE_EQ = re.compile(r"([\w.]+) = \? COLLATE NOCASE")
_NOCASE = re.compile(r"([\w.]+) COLLATE NOCASE")
_UNARY_PLUS = re.compile(r"(?<=[\s(])\+(?=[a-z_]+\.[a-z_]+)")
_CROSS_ON = re.compile(r"CROSS JOIN (\w+ \w+ ON )")
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_IS_PARAM = re.compile(r" IS \?")
_JSON_FLAG = re.compile(r"coalesce\(json_extract\(([\w.]+), '\$\.(\w+)'\), 0\)")
_EACH = re.compile(r"([\w.]+) IN \(SELECT value FROM json_each\(\?\)\)")
_JSON_FIELD = re.compile(r"json_extract\(([\w.]+), '\$\.(\w+)'\)")


def _each(found: re.Match[str]) -> str:
    column = found.group(1)
    kind = "bigint" if column.split(".")[-1].endswith("id") else "text"
    return f"{column} IN (SELECT jsonb_array_elements_text(?::jsonb)::{kind})"


class Statement:
    """A statement rewritten for PostgreSQL: its text, whether its placeholders are
    numbered (``?1``: the parameters become a mapping), and whether it hands back an
    id (``RETURNING id``)."""

    __slots__ = ("numbered", "returns_id", "text")

    def __init__(self, text: str, numbered: bool, returns_id: bool) -> None:
        self.text, self.numbered, self.returns_id = text, numbered, returns_id


_CACHE: dict[str, Statement] = {}


def dialect(sql: str) -> Statement:
    """``sql`` (SQLite's dialect, as the store writes it) for PostgreSQL."""
    done = _CACHE.get(sql)
    if done is not None:
        return done
    # JSON fields (before the literals are set apart: the path is one): a flag as 0
    # or 1, as SQLite reads a JSON true; any other field as text.
    sql = _JSON_FLAG.sub(r"(CASE WHEN (\1)::jsonb -> '\2' IN ('true', '1') THEN 1 ELSE 0 END)",
                         sql)
    sql = _JSON_FIELD.sub(r"((\1)::jsonb ->> '\2')", sql)
    # A chunk of values as one JSON array: ids as numbers, anything else as text.
    sql = _EACH.sub(_each, sql)
    parts = _LITERAL.split(sql)
    numbered = False
    out: list[str] = []
    for i, part in enumerate(parts):
        part = part.replace("%", "%%")
        if i % 2:  # a string literal: kept as it is
            out.append(part)
            continue
        part = _NOCASE_EQ.sub(r"lower(\1) = lower(?)", part)
        part = _NOCASE.sub(r"lower(\1)", part)
        part = _UNARY_PLUS.sub("", part)
        part = _CROSS_ON.sub(r"JOIN \1", part)
        part = part.replace(" LIKE ", " ILIKE ")
        part = _IS_PARAM.sub(" IS NOT DISTINCT FROM ?", part)
        part = part.replace("CASE WHEN ? THEN", "CASE WHEN ? <> 0 THEN")  # a flag: 0 or 1
        if _NUMBERED.search(part):
            numbered = True
            part = _NUMBERED.sub(r"%(p\1)s", part)
        out.append(part.replace("?", "%s"))
    text = "".join(out)
    returns_id = False
    head = _INSERT_INTO.match(text)
    if head is not None:
        ignore = re.match(r"^\s*INSERT\s+OR\s+IGNORE", text, re.IGNORECASE) is not None
        if ignore:
            text = re.sub(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO", "INSERT INTO", text,
                          flags=re.IGNORECASE) + " ON CONFLICT DO NOTHING"
        if head.group(1).lower() in ID_TABLES and "RETURNING" not in text.upper():
            text += " RETURNING id"
            returns_id = True
    statement = Statement(text, numbered, returns_id)
    if len(_CACHE) < 4096:
        _CACHE[sql] = statement
    return statement


# -- errors -------------------------------------------------------------------------

# SQLSTATE classes and codes, as the sqlite3 exception that means the same.
_LOCKED = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization
_INTEGRITY = "23"


def sqlite_error(error: Exception) -> sqlite3.Error:
    """A driver error as the :mod:`sqlite3` exception of the same kind."""
    code = str(getattr(error, "pgcode", "") or "")
    text = str(getattr(error, "pgerror", "") or error).strip().splitlines()
    message = text[0] if text else type(error).__name__
    if message.startswith("ERROR:"):
        message = message[6:].strip()
    if code in _LOCKED or "lock timeout" in message:
        return sqlite3.OperationalError(f"database is locked ({message})")
    if code == "25006":  # read_only_sql_transaction
        return sqlite3.OperationalError(f"attempt to write a readonly database ({message})")
    if code.startswith(_INTEGRITY):
        return sqlite3.IntegrityError(message)
    if code.startswith("42") or code.startswith("22"):
        return sqlite3.OperationalError(message)
    name = type(error).__name__
    if name in ("OperationalError", "InterfaceError"):
        return sqlite3.OperationalError(f"unable to reach the server: {message}")
    return sqlite3.DatabaseError(message)


# -- values -------------------------------------------------------------------------

_registered = False


def _register_types(psycopg2: Any) -> None:
    """Values as SQLite gives them and takes them (booleans as 0 and 1)."""
    global _registered
    if _registered:
        return
    from decimal import Decimal

    ext = psycopg2.extensions

    def boolean(value: str | None, cur: object) -> int | None:
        return None if value is None else int(value == "t")

    def numeric(value: str | None, cur: object) -> int | float | None:
        if value is None:
            return None
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)

    def blob(value: str | None, cur: object) -> bytes | None:
        raw = psycopg2.BINARY(value, cur)
        return None if raw is None else bytes(raw)

    ext.register_type(ext.new_type((16,), "TICKETCLI_BOOL", boolean))
    ext.register_type(ext.new_type((1700,), "TICKETCLI_NUMERIC", numeric))
    ext.register_type(ext.new_type((17,), "TICKETCLI_BYTEA", blob))
    ext.register_adapter(bool, lambda b: ext.AsIs("1" if b else "0"))
    _registered = True


# -- the connection ---------------------------------------------------------------------


class Cursor:
    """What an ``execute`` hands back: its rows (tuples), ``lastrowid``, ``rowcount``."""

    def __init__(self, raw: Any, lastrowid: int | None, rows: list[tuple[Any, ...]] | None,
                 ) -> None:
        self._raw = raw
        self.lastrowid = lastrowid
        self.rowcount = raw.rowcount if raw is not None else -1
        self._rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        if self._raw is None or self._raw.description is None:
            return None
        row: tuple[Any, ...] | None = self._raw.fetchone()
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._rows is not None:
            rows, self._rows = self._rows, []
            return rows
        if self._raw is None or self._raw.description is None:
            return []
        return list(self._raw.fetchall())

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row


class Connection:
    """A psycopg2 connection in autocommit mode, transactions begun and ended by the
    statements the store sends (``BEGIN``, ``COMMIT``, ``ROLLBACK``, savepoints)."""

    def __init__(self, raw: Any, psycopg2: Any) -> None:
        self.raw = raw
        self._psycopg2 = self.driver = psycopg2
        self._status = psycopg2.extensions
        self.total_changes = 0
        self.statements = 0  # sent to the server, for measuring round trips
        self._trace: Callable[[str], None] | None = None

    @property
    def in_transaction(self) -> bool:
        return bool(self.raw.info.transaction_status != self._status.TRANSACTION_STATUS_IDLE)

    def set_trace_callback(self, trace: Callable[[str], None] | None) -> None:
        self._trace = trace

    def _run(self, cur: Any, text: str, params: Any) -> None:
        self.statements += 1
        if self._trace is not None:
            self._trace(text)
        try:
            if params is None:
                cur.execute(text)
            else:
                cur.execute(text, params)
        except self._psycopg2.Error as e:
            raise sqlite_error(e) from None

    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> Cursor:
        statement = dialect(sql)
        args: Any = _arguments(statement, params)
        cur = self.raw.cursor()
        self._run(cur, statement.text if args is not None else statement.text.replace(
            "%%", "%"), args)
        lastrowid = None
        rows: list[tuple[Any, ...]] | None = None
        if statement.returns_id:
            rows_back = cur.fetchall()
            lastrowid = int(rows_back[0][0]) if rows_back else None
            rows = []
        if cur.rowcount and cur.rowcount > 0 and cur.description is None or (
                statement.returns_id and cur.rowcount > 0):
            self.total_changes += cur.rowcount
        return Cursor(cur, lastrowid, rows)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Cursor:
        statement = dialect(sql)
        text = statement.text
        if statement.returns_id:
            text = text[: -len(" RETURNING id")]
        cur = self.raw.cursor()
        count = 0
        from psycopg2.extras import execute_batch

        batch = [_arguments(statement, p) for p in seq]
        if not batch:
            return Cursor(None, None, [])
        self.statements += 1
        if self._trace is not None:
            self._trace(text)
        try:
            execute_batch(cur, text, batch, page_size=500)
        except self._psycopg2.Error as e:
            raise sqlite_error(e) from None
        count = len(batch)
        self.total_changes += count
        return Cursor(cur, None, [])

    def insert_ids(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        """``sql`` (``INSERT INTO t(...) VALUES (?, ...)``) for every row in one round
        trip; the ids the rows were given, in the rows' order."""
        from psycopg2.extras import execute_values

        text = dialect(sql).text
        if text.endswith(" RETURNING id"):
            text = text[: -len(" RETURNING id")]
        head = text[: text.upper().rindex("VALUES") + len("VALUES")] + " %s RETURNING id"
        cur = self.raw.cursor()
        self.statements += 1
        if self._trace is not None:
            self._trace(head)
        try:
            got = execute_values(cur, head, [tuple(r) for r in rows], page_size=max(len(rows), 1),
                                 fetch=True)
        except self._psycopg2.Error as e:
            raise sqlite_error(e) from None
        self.total_changes += len(rows)
        # Identities are drawn as the rows are inserted, in the order given.
        return sorted(int(r[0]) for r in got)

    def copy_rows(self, table: str, names: Sequence[str], rows: Iterable[Sequence[Any]],
                  ) -> int:
        """Rows into ``table`` by ``COPY ... FROM STDIN`` (one stream, no statement per
        row); how many."""
        import io

        buf = io.StringIO()
        count = 0
        for row in rows:
            buf.write("\t".join(_copy_value(v) for v in row))
            buf.write("\n")
            count += 1
        if not count:
            return 0
        buf.seek(0)
        cur = self.raw.cursor()
        self.statements += 1
        try:
            cur.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN", buf)
        except self._psycopg2.Error as e:
            raise sqlite_error(e) from None
        self.total_changes += count
        return count

    def script(self, text: str) -> None:
        """Fixed statements (no parameters), sent as one round trip; a failure inside
        a transaction it began rolls that transaction back."""
        cur = self.raw.cursor()
        try:
            self._run(cur, text, None)
        except sqlite3.Error:
            if self.in_transaction:
                self.raw.cursor().execute("ROLLBACK")
            raise

    def close(self) -> None:
        try:
            self.raw.close()
        except self._psycopg2.Error:
            pass


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def _arguments(statement: Statement, params: Sequence[Any] | None) -> Any:
    if not params:
        return None
    if statement.numbered:
        return {f"p{i}": v for i, v in enumerate(params, 1)}
    return tuple(params)


def connect(url: str) -> tuple[Connection, Any]:
    """A connection to the server ``url`` names (libpq reads ``~/.pgpass``,
    ``service=``, ``PGPASSWORD`` and ``sslmode`` as usual), and the driver module."""
    psycopg2 = driver()
    _register_types(psycopg2)
    try:
        raw = psycopg2.connect(url, application_name="ticketcli")
    except psycopg2.Error as e:
        raise sqlite_error(e) from None
    raw.autocommit = True
    return Connection(raw, psycopg2), psycopg2


def driver() -> Any:
    import sys

    from ...errors import ConfigError

    # psycopg2 imports Python's ssl module when it loads, only to let it set up
    # OpenSSL's thread callbacks, which OpenSSL 1.1 and later no longer need; when
    # that import fails libpq sets OpenSSL up itself (TLS connections work alike).
    # Skipping it saves some 15 ms of every command's start-up.
    skip_ssl = "ssl" not in sys.modules
    if skip_ssl:
        sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        import psycopg2
        import psycopg2.extensions
    except ImportError:
        raise ConfigError(
            "a PostgreSQL desk needs its driver: pip install 'ticketcli[postgresql]' "
            "(psycopg2)"
        ) from None
    finally:
        if skip_ssl and sys.modules.get("ssl", 0) is None:
            del sys.modules["ssl"]
    return psycopg2
