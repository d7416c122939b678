"""Time: one format for storage and machine output (ISO-8601 UTC, seconds), and the
times people type (``7d``, ``yesterday``, ``2026-12-01``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import UsageError
from .i18n import msg

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(FORMAT)


def parse(value: str) -> datetime:
    """An ISO-8601 date or time; without a zone it is taken as UTC."""
    moment = _from_iso(value)
    if moment is None:
        raise UsageError(msg(
            "{value!r} is not an ISO-8601 time (e.g. 2026-05-01 or 2026-05-01T09:30:00Z)",
            value=value))
    return _in_range(moment, value)


def _from_iso(value: str) -> datetime | None:
    """An ISO-8601 date or time (without a zone: UTC), or None."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _in_range(moment: datetime, value: str) -> datetime:
    if not 1970 <= moment.year <= 9000:
        raise UsageError(msg("{value!r} is out of range (years 1970 to 9000)", value=value))
    return moment.astimezone(UTC)


# Ages people type: 30m, 12h, 7d, 2w (that long before now).
AGE_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_AGE_DAYS = 100 * 366
DAYS_BACK = {"today": 0, "oggi": 0, "yesterday": 1, "ieri": 1}


def parse_when(value: str, now: datetime) -> datetime:
    """A time as people give it, in UTC: full ISO-8601 (without a zone: UTC), a date
    (local midnight), ``today`` or ``yesterday`` (local midnight; ``oggi``, ``ieri``),
    or an age ``30m``, ``12h``, ``7d``, ``2w`` (that long before ``now``). Read without
    regular expressions."""
    text = value.strip()
    word = text.lower()
    if word == "now":
        return now.astimezone(UTC)
    if word in DAYS_BACK:
        back = now.astimezone().date() - timedelta(days=DAYS_BACK[word])
        return _local_midnight(back.year, back.month, back.day)
    number, unit = word[:-1], word[-1:]
    if unit in AGE_UNITS and number.isascii() and number.isdigit():
        seconds = int(number) * AGE_UNITS[unit]
        if seconds > MAX_AGE_DAYS * 86400:
            raise UsageError(msg("{value!r} is too long ago (at most {days} days)",
                                 value=value, days=MAX_AGE_DAYS))
        return (now - timedelta(seconds=seconds)).astimezone(UTC)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        parts = (text[0:4], text[5:7], text[8:10])
        if all(p.isascii() and p.isdigit() for p in parts):
            year, month, day = (int(p) for p in parts)
            if not 1970 <= year <= 9000:
                raise UsageError(msg("{value!r} is out of range (years 1970 to 9000)",
                                     value=value))
            try:
                return _local_midnight(year, month, day)
            except ValueError:
                raise UsageError(msg("{value!r} is not a date", value=value)) from None
    moment = _from_iso(text)
    if moment is None:
        raise UsageError(msg(
            "{value!r} is not a time: give ISO-8601 (2026-05-01T09:30:00Z), a date "
            "(2026-05-01, local midnight), today, yesterday, or an age (30m, 12h, 7d, 2w)",
            value=value))
    return _in_range(moment, value)


def _local_midnight(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day).astimezone().astimezone(UTC)


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
