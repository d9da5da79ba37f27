"""School-calendar arithmetic: pure functions over dates, no database.

A `Calendar` is one school year as one school sees it: the first and last school day,
the date the second half starts, and the closed ranges (holidays, public days off and the
school's own days off). Weekdays are numbered as in `datetime`: Monday 0 ... Friday 4.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

ONE_DAY = dt.timedelta(days=1)
THEMATIC_LESSONS = 3


@dataclass(frozen=True)
class Calendar:
    starts_on: dt.date
    ends_on: dt.date
    half_starts_on: dt.date
    holidays: tuple[tuple[dt.date, dt.date], ...] = field(default_factory=tuple)
    days_off: tuple[tuple[dt.date, dt.date], ...] = field(default_factory=tuple)

    @classmethod
    def build(cls, starts_on: dt.date, ends_on: dt.date, half_starts_on: dt.date,
              holidays: Iterable[tuple[dt.date, dt.date]] = (),
              days_off: Iterable[tuple[dt.date, dt.date]] = ()) -> Calendar:
        return cls(starts_on, ends_on, half_starts_on, tuple(sorted(holidays)), tuple(sorted(days_off)))

    @property
    def closed(self) -> tuple[tuple[dt.date, dt.date], ...]:
        return self.holidays + self.days_off

    @functools.cached_property
    def _closed_days(self) -> frozenset[dt.date]:
        days = set()
        for start, end in self.closed:
            day = start
            while day <= end:
                days.add(day)
                day += ONE_DAY
        return frozenset(days)

    def is_closed(self, day: dt.date) -> bool:
        return day in self._closed_days

    def is_school_day(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on and day.weekday() < 5 and not self.is_closed(day)

    def school_days(self, start: dt.date | None = None, end: dt.date | None = None) -> list[dt.date]:
        """Every day school is open between start and end (inclusive, clipped to the year)."""
        day = max(start or self.starts_on, self.starts_on)
        last = min(end or self.ends_on, self.ends_on)
        days = []
        while day <= last:
            if day.weekday() < 5 and not self.is_closed(day):
                days.append(day)
            day += ONE_DAY
        return days

    def school_weeks(self, start: dt.date | None = None, end: dt.date | None = None) -> int:
        """Weeks (Monday to Friday) with at least one day of school in the range.

        Days off (public holidays, study days) close a day, not a week; holidays close weeks.
        """
        day = max(start or self.starts_on, self.starts_on)
        last = min(end or self.ends_on, self.ends_on)
        weeks = set()
        while day <= last:
            if day.weekday() < 5 and not any(a <= day <= b for a, b in self.holidays):
                weeks.add(day.isocalendar()[:2])
            day += ONE_DAY
        return len(weeks)

    def half_period(self, half: str) -> tuple[dt.date, dt.date]:
        """First and last day of the first ("first") or second ("second") half."""
        if half == "first":
            return self.starts_on, self.half_starts_on - ONE_DAY
        return self.half_starts_on, self.ends_on

    def sessions(self, weekday: int, start: dt.date, end: dt.date, *, limit: int | None = None) -> list[dt.date]:
        """The school days on `weekday` between start and end: a placement's expected sessions."""
        if not 0 <= weekday <= 4:
            raise ValueError("weekday must be Monday (0) to Friday (4)")
        day = max(start, self.starts_on)
        day += dt.timedelta(days=(weekday - day.weekday()) % 7)
        last = min(end, self.ends_on)
        found: list[dt.date] = []
        while day <= last and (limit is None or len(found) < limit):
            if not self.is_closed(day):
                found.append(day)
            day += dt.timedelta(days=7)
        return found


def placement_period(calendar: Calendar, start_half: str, duration: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a placement, or ValueError when it would cross the school year."""
    if duration == "full":
        if start_half != "first":
            raise ValueError("crosses school year")
        return calendar.starts_on, calendar.ends_on
    return calendar.half_period(start_half)


def expected_sessions(calendar: Calendar, weekday: int, start: dt.date, end: dt.date,
                      role_type: str = "class") -> list[dt.date]:
    """Expected sessions: every school day on the weekday; a thematic series is three lessons."""
    limit = THEMATIC_LESSONS if role_type == "thematic" else None
    return calendar.sessions(weekday, start, end, limit=limit)


def split_minutes(minutes: int, minutes_per_week: int, sponsored_per_week: int) -> tuple[int, int]:
    """Split a session's minutes into (sponsored, volunteered) in the placement's proportion.

    Rounds the sponsored share down, so the employer is never credited with a minute it did
    not pay; sponsored + volunteered always equals `minutes` (also for negative reversals).
    """
    if minutes_per_week <= 0:
        raise ValueError("minutes_per_week must be positive")
    sign = -1 if minutes < 0 else 1
    sponsored = abs(minutes) * sponsored_per_week // minutes_per_week
    return sign * sponsored, sign * (abs(minutes) - sponsored)


def value_cents(sponsored_minutes: int, hourly_cost_cents: int | None) -> int:
    """Sponsored minutes valued at an hourly cost, rounded half away from zero to the cent."""
    if not hourly_cost_cents:
        return 0
    sign = -1 if sponsored_minutes < 0 else 1
    return sign * ((abs(sponsored_minutes) * hourly_cost_cents + 30) // 60)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of every month from start's month to end's month."""
    months = []
    current = month_start(start)
    while current <= end:
        months.append(current)
        current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months
