"""Business hours: adding and measuring time in a calendar's opening hours.

Pure arithmetic over a :class:`~.model.Calendar` (no I/O but the time-zone
database). Times are whole seconds since the epoch (UTC). A calendar's opening
ranges are local times in its zone; each local day's ranges become real
instants through ``zoneinfo`` (the system's zone files, else the ``tzdata``
package), so a range always lasts the real time between its two local times:
on the night a clock moves, a range that spans it is an hour shorter or longer
in local terms and exactly as long as it really is in seconds, and a target
counted across it is neither an hour short nor an hour long. A local time that
does not exist that night (02:30 when clocks jump from 02:00 to 03:00) is read
with the offset before the change, as ``zoneinfo`` does with ``fold=0``; a
range that comes out empty is skipped.

``Hours(None)`` is around the clock: plain seconds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ..errors import NeverOpen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import tzinfo

    from .model import Calendar

# A calendar that stays closed this many days in a row is broken (documents refuse
# one with no opening hours; holidays cannot fill years).
MAX_CLOSED_DAYS = 3660


class Hours:
    """A calendar ready for arithmetic; each local day's open intervals are cached."""

    def __init__(self, cal: Calendar | None) -> None:
        self.cal = cal
        self.always = cal is None
        self._days: dict[int, tuple[tuple[int, int], ...]] = {}
        if cal is None:
            return
        import zoneinfo

        self.zone: tzinfo = zoneinfo.ZoneInfo(cal.timezone)
        self.holidays = set(cal.holidays)
        self.country_days = set(cal.country_days.split(",")) if cal.country_days else set()
        self._country_years: dict[int, set[str]] = {}

    # -- days ---------------------------------------------------------------------

    def _is_holiday(self, day: date) -> bool:
        text = day.isoformat()
        if text in self.holidays:
            return True
        cal = self.cal
        if cal is None or not cal.country:
            return False
        from .model import COUNTRY_YEARS

        if COUNTRY_YEARS[0] <= day.year <= COUNTRY_YEARS[1]:
            return text in self.country_days
        if day.year not in self._country_years:  # outside the stored years: ask the package
            import holidays

            found = holidays.country_holidays(cal.country, years=day.year)
            self._country_years[day.year] = {d.isoformat() for d in found}
        return text in self._country_years[day.year]

    def day(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        """The open intervals (epoch seconds, start < end) of one local date."""
        found = self._days.get(ordinal)
        if found is not None:
            return found
        assert self.cal is not None
        day = date.fromordinal(ordinal)
        out: list[tuple[int, int]] = []
        if not self._is_holiday(day):
            zone = self.zone
            for start, end in self.cal.hours[day.weekday()]:
                a = int(datetime(day.year, day.month, day.day, start // 60, start % 60,
                                 tzinfo=zone).timestamp())
                if end >= 24 * 60:
                    after = day + timedelta(days=1)
                    b = int(datetime(after.year, after.month, after.day, tzinfo=zone).timestamp())
                else:
                    b = int(datetime(day.year, day.month, day.day, end // 60, end % 60,
                                     tzinfo=zone).timestamp())
                if b > a:
                    out.append((a, b))
        result = tuple(out)
        self._days[ordinal] = result
        return result

    def local_day(self, moment: int) -> int:
        """The ordinal of the local date that holds ``moment``."""
        return datetime.fromtimestamp(moment, self.zone).toordinal()

    # -- arithmetic -----------------------------------------------------------------

    def add(self, start: int, seconds: int) -> int:
        """The moment at which ``seconds`` of open time have passed since ``start``.

        For ``seconds > 0`` it lies inside an opening range (its end included)."""
        if self.always or seconds <= 0:
            return start + max(seconds, 0)
        for intervals in self._open_days(self.local_day(start), 1):
            for a, b in intervals:
                if b <= start:
                    continue
                begin = a if a > start else start
                available = b - begin
                if seconds <= available:
                    return begin + seconds
                seconds -= available
        raise AssertionError("unreachable: _open_days never ends")

    def back(self, end: int, seconds: int) -> int:
        """The moment ``seconds`` of open time before ``end`` (``between(it, end)``
        is ``seconds``): a warning ahead of a due time."""
        if self.always or seconds <= 0:
            return end - max(seconds, 0)
        for intervals in self._open_days(self.local_day(end), -1):
            for a, b in reversed(intervals):
                if a >= end:
                    continue
                finish = b if b < end else end
                available = finish - a
                if seconds <= available:
                    return finish - seconds
                seconds -= available
        raise AssertionError("unreachable: _open_days never ends")

    def _open_days(self, ordinal: int, step: int) -> Iterator[tuple[tuple[int, int], ...]]:
        """The opening ranges of day after day from ``ordinal`` (``step`` 1 forwards,
        -1 backwards), without end; a calendar closed for years is an error."""
        closed = 0
        while True:
            intervals = self.day(ordinal)
            closed = 0 if intervals else closed + 1
            if closed > MAX_CLOSED_DAYS:
                raise NeverOpen(f"calendar {self.cal.name if self.cal else ''} is never open "
                                "for years; give it opening hours")
            yield intervals
            ordinal += step

    def between(self, start: int, end: int) -> int:
        """Seconds of open time from ``start`` to ``end`` (0 when end is not later)."""
        if end <= start:
            return 0
        if self.always:
            return end - start
        total = 0
        last = self.local_day(end)
        ordinal = self.local_day(start)
        while ordinal <= last:
            for a, b in self.day(ordinal):
                lo = a if a > start else start
                hi = b if b < end else end
                if hi > lo:
                    total += hi - lo
            ordinal += 1
        return total

    def is_open(self, moment: int) -> bool:
        """Whether ``moment`` lies inside an opening range (its ends included)."""
        if self.always:
            return True
        ordinal = self.local_day(moment)
        return any(a <= moment <= b for d in (ordinal - 1, ordinal, ordinal + 1)
                   for a, b in self.day(d))


_CACHE: dict[Calendar | None, Hours] = {}


def hours_for(cal: Calendar | None) -> Hours:
    """The (cached) arithmetic of one calendar; None is around the clock."""
    found = _CACHE.get(cal)
    if found is None:
        if len(_CACHE) > 64:
            _CACHE.clear()
        found = _CACHE[cal] = Hours(cal)
    return found
