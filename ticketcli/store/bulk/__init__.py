"""All SQL of bulk import and export.

:mod:`.session` is an import's one write transaction: batched inserts, the
insert triggers and secondary indexes it takes over while it lasts, and the
helper thread that indexes each batch. :mod:`.reads` is what an export reads,
in one read transaction.

Both look values up many at a time: one JSON array of a chunk of them a
statement, read with ``json_each()`` (:func:`each_in`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

LOOKUP_CHUNK = 20_000  # values per json_each() lookup


def chunks(values: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def each_in(conn: sqlite3.Connection, sql: str, values: Sequence[Any]) -> Iterator[Any]:
    """The rows of ``sql`` for all of ``values``, a chunk at a time: its one parameter
    is the chunk as a JSON array, for ``(SELECT value FROM json_each(?))``."""
    for part in chunks(values):
        yield from conn.execute(sql, (json.dumps(list(part)),))
