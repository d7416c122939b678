"""The one layer that speaks SQL: connection, pragmas, transactions, queries.

``Store`` is built up in layers over one connection: ``connection`` (opening
files safely, transactions, the stored workflow), ``people``, ``tickets``
(with the one visibility rule) and ``queries`` (listing, search, close-stale,
completion, health). Callers import everything from here.
"""

from .connection import DEFAULT_BUSY_TIMEOUT, SQLITE_HEADER, translate
from .queries import Store
from .records import (
    SORT_KEYS,
    Attachment,
    Comment,
    HistoryEntry,
    Org,
    Ticket,
    TicketQuery,
    User,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT", "SQLITE_HEADER", "SORT_KEYS", "Attachment", "Comment",
    "HistoryEntry", "Org", "Store", "Ticket", "TicketQuery", "User", "translate",
]
