"""Business-hours arithmetic (ticketcli.workflow.calendar): properties over many
calendars and times, daylight-saving nights, holidays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketcli.workflow import load_preset
from ticketcli.workflow.calendar import Hours
from ticketcli.workflow.model import Calendar

ROME = "Europe/Rome"
OFFICE = ((540, 780), (840, 1080))  # 09:00-13:00, 14:00-18:00


def calendar(hours: tuple[tuple[tuple[int, int], ...], ...], zone: str = ROME,
             holidays: tuple[str, ...] = (), country: str | None = None,
             country_days: str = "") -> Calendar:
    return Calendar("office", zone, hours, holidays, country, country_days)


WEEKDAYS = calendar((OFFICE,) * 5 + ((), ()))


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    """Random weekly hours (several ranges a day, some days closed) in a few zones,
    with a few holidays."""
    days = []
    for _ in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
        ranges = tuple((a * 15, b * 15) for a, b in zip(cuts[::2], cuts[1::2], strict=False)
                       if b > a)
        days.append(ranges)
    if not any(days):
        days[draw(st.integers(0, 6))] = ((540, 1080),)
    zone = draw(st.sampled_from([ROME, "America/New_York", "Australia/Sydney", "UTC",
                                 "Asia/Kolkata"]))
    holidays = tuple(sorted(d.isoformat() for d in draw(st.sets(
        st.dates(datetime(2026, 1, 1).date(), datetime(2027, 12, 31).date()), max_size=5))))
    return calendar(tuple(days), zone, holidays)


moments = st.integers(ts("2026-01-01T00:00:00+00:00"), ts("2027-06-01T00:00:00+00:00"))
durations = st.integers(1, 200 * 3600)


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, durations)
def test_adding_then_measuring_gives_the_duration(cal: Calendar, start: int,
                                                  seconds: int) -> None:
    h = Hours(cal)
    due = h.add(start, seconds)
    assert h.between(start, due) == seconds
    assert h.back(due, seconds) <= due
    assert h.between(h.back(due, seconds), due) == seconds


@settings(max_examples=150, deadline=None)
@given(calendars(), moments, durations)
def test_due_times_never_fall_outside_opening_hours(cal: Calendar, start: int,
                                                    seconds: int) -> None:
    h = Hours(cal)
    due = h.add(start, seconds)
    assert due > start
    assert h.is_open(due)
    # and nothing earlier would do: one second less of work is due sooner
    assert h.add(start, seconds - 1) < due or seconds == 1


@settings(max_examples=100, deadline=None)
@given(calendars(), moments, moments, moments)
def test_measuring_adds_up_over_any_split(cal: Calendar, a: int, b: int, c: int) -> None:
    lo, mid, hi = sorted((a, b, c))
    h = Hours(cal)
    assert h.between(lo, hi) == h.between(lo, mid) + h.between(mid, hi)
    assert 0 <= h.between(lo, hi) <= hi - lo


def test_office_hours_skip_the_lunch_break_and_the_weekend() -> None:
    h = Hours(WEEKDAYS)
    # Friday 12:00 Rome (CET, +1) + 3h: 12-13, 14-16
    assert h.add(ts("2026-12-04T12:00:00+01:00"), 3 * 3600) == ts("2026-12-04T16:00:00+01:00")
    # Friday 17:00 + 2h: 17-18, then Monday 09-10
    assert h.add(ts("2026-12-04T17:00:00+01:00"), 2 * 3600) == ts("2026-12-07T10:00:00+01:00")
    # a due time at the very end of a range is inside it
    assert h.add(ts("2026-12-04T09:00:00+01:00"), 4 * 3600) == ts("2026-12-04T13:00:00+01:00")
    assert h.is_open(ts("2026-12-04T13:00:00+01:00"))
    assert not h.is_open(ts("2026-12-04T13:30:00+01:00"))


@pytest.mark.parametrize("night", ["2026-03-29", "2026-10-25"])
def test_a_target_across_the_night_clocks_move_is_neither_short_nor_long(night: str) -> None:
    """Open around the clock in Rome: 24 h from Saturday noon end 24 real hours later,
    whichever way the clocks moved that night (the local time is 11:00 or 13:00)."""
    always = calendar((((0, 1440),),) * 7)
    h = Hours(always)
    saturday = datetime.fromisoformat(night).replace(day=int(night[-2:]) - 1)
    start = int(datetime(saturday.year, saturday.month, saturday.day, 12, tzinfo=UTC)
                .timestamp())
    due = h.add(start, 24 * 3600)
    assert due - start == 24 * 3600
    assert h.between(start, due) == 24 * 3600
    # The local day of the change is 23 or 25 real hours long.
    day = int(night[-2:])
    local = datetime(2026, int(night[5:7]), day)
    import zoneinfo

    zone = zoneinfo.ZoneInfo(ROME)
    begin = int(local.replace(tzinfo=zone).timestamp())
    end = int(local.replace(day=day + 1, tzinfo=zone).timestamp())
    assert h.between(begin, end) == (23 if night.endswith("29") else 25) * 3600


def test_office_hours_keep_their_length_on_the_night_the_clocks_move() -> None:
    """09:00-18:00 in Rome is 9 real hours on the Monday after each change."""
    h = Hours(calendar((((540, 1080),),) * 7))
    for day in ("2026-03-29", "2026-03-30", "2026-10-25", "2026-10-26"):
        intervals = h.day(datetime.fromisoformat(day).toordinal())
        assert [b - a for a, b in intervals] == [9 * 3600]


def test_a_range_across_the_missing_hour_is_an_hour_shorter() -> None:
    # 01:00-04:00 on the spring night in Rome lasts 2 real hours, in the autumn 4.
    h = Hours(calendar((((60, 240),),) * 7))
    spring = h.day(datetime(2026, 3, 29).toordinal())
    autumn = h.day(datetime(2026, 10, 25).toordinal())
    assert [b - a for a, b in spring] == [2 * 3600]
    assert [b - a for a, b in autumn] == [4 * 3600]


def test_holidays_are_closed() -> None:
    h = Hours(calendar((OFFICE,) * 5 + ((), ()), holidays=("2026-12-24", "2026-12-25")))
    # Wednesday 23 Dec 17:00 + 2h: 17-18, then (24, 25 closed, weekend) Monday 28 09-10
    assert h.add(ts("2026-12-23T17:00:00+01:00"), 2 * 3600) == ts("2026-12-28T10:00:00+01:00")
    assert h.between(ts("2026-12-24T00:00:00+01:00"), ts("2026-12-26T00:00:00+01:00")) == 0


def test_a_countrys_public_holidays_come_from_the_holidays_package() -> None:
    from ticketcli.workflow import load

    wf = load_preset("care").to_dict()
    wf["calendars"] = {"office": {"timezone": ROME, "holidays_country": "IT",
                                  "hours": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"],
                                            "wed": ["09:00-18:00"], "thu": ["09:00-18:00"],
                                            "fri": ["09:00-18:00"]}}}
    cal = load(wf).calendars["office"]
    assert "2026-12-08" in cal.country_days  # Immacolata, a Tuesday
    h = Hours(cal)
    assert h.day(datetime(2026, 12, 8).toordinal()) == ()
    assert h.between(ts("2026-12-07T18:00:00+01:00"), ts("2026-12-09T09:00:00+01:00")) == 0
    # Outside the years stored with the workflow the package is asked then.
    assert h.day(datetime(2070, 12, 8).toordinal()) == ()
    assert h.day(datetime(2070, 12, 9).toordinal()) != ()


def test_around_the_clock_is_plain_seconds() -> None:
    h = Hours(None)
    assert h.add(1000, 3600) == 4600
    assert h.between(1000, 4600) == 3600
    assert h.back(4600, 3600) == 1000
