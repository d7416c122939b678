"""Time: one format for storage and machine output (ISO-8601 UTC, seconds)."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import UsageError

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(FORMAT)


def parse(value: str) -> datetime:
    """An ISO-8601 date or time; without a zone it is taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{value!r} is not an ISO-8601 time (e.g. 2026-05-01 or 2026-05-01T09:30:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1970 <= moment.year <= 9000:
        raise UsageError(f"{value!r} is out of range (years 1970 to 9000)")
    return moment.astimezone(UTC)


def from_stamp(stamp: str) -> datetime:
    """A stored stamp (``FORMAT``) as a time; ValueError for anything else.

    Read by hand: ``datetime.strptime`` imports ``_strptime``, which brings ``re``,
    ``locale`` and ``calendar``."""
    if (len(stamp) != 20 or stamp[4] != "-" or stamp[7] != "-" or stamp[10] != "T"
            or stamp[13] != ":" or stamp[16] != ":" or stamp[19] != "Z"):
        raise ValueError(f"not a stored time: {stamp!r}")
    digits = (stamp[0:4], stamp[5:7], stamp[8:10], stamp[11:13], stamp[14:16], stamp[17:19])
    if not all(d.isascii() and d.isdigit() for d in digits):
        raise ValueError(f"not a stored time: {stamp!r}")
    year, month, day, hour, minute, second = (int(d) for d in digits)
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(stamp: str) -> str:
    """A stored UTC stamp as compact local time for tables."""
    try:
        moment = from_stamp(stamp)
    except (TypeError, ValueError):
        return stamp or ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
