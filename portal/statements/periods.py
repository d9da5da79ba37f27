"""The periods a statement covers: a calendar year (tax), a school year (the programme) or a range."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.core.errors import UserError

# A Dutch school year runs from 1 August to 31 July (the school days themselves are a
# calendar per year in enrolment; contributions in the summer still belong to a year).
SCHOOL_YEAR_START_MONTH = 8
MAX_CUSTOM_DAYS = 3 * 366
EARLIEST_YEAR = 2015


class PeriodError(UserError):
    """A period that cannot be used; str() is a message for the user."""


@dataclass(frozen=True)
class Period:
    kind: str           # "calendar_year", "school_year" or "custom"
    start: dt.date
    end: dt.date

    def as_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict) -> Period:
        return cls(data["kind"], dt.date.fromisoformat(data["start"]), dt.date.fromisoformat(data["end"]))

    @property
    def slug(self) -> str:
        """A short, file-name-safe name: '2026', '2026-2027' or '2026-03-01_2026-05-31'."""
        if self.kind == "calendar_year":
            return str(self.start.year)
        if self.kind == "school_year":
            return f"{self.start.year}-{self.end.year}"
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


def has_ended(period: Period, today: dt.date) -> bool:
    """True once the last day of the period is past (`today` is after it)."""
    return period.end < today


def issuable_from(period: Period) -> dt.date:
    """The first day on which the statement of a whole calendar or school year can be issued."""
    return period.end + dt.timedelta(days=1)


def is_running(period: Period, today: dt.date) -> bool:
    """A period that has not ended: no statement yet, only an interim overview. A custom range
    too: one that ends today or later could still gain contributions after its number was given."""
    return not has_ended(period, today)


def calendar_year(year: int) -> Period:
    _check_year(year)
    return Period("calendar_year", dt.date(year, 1, 1), dt.date(year, 12, 31))


def school_year(first_year: int) -> Period:
    """The school year that starts in August of `first_year` (2026 -> 2026-2027)."""
    _check_year(first_year)
    return Period("school_year", dt.date(first_year, SCHOOL_YEAR_START_MONTH, 1),
                  dt.date(first_year + 1, SCHOOL_YEAR_START_MONTH, 1) - dt.timedelta(days=1))


def school_year_of(day: dt.date) -> int:
    """The first calendar year of the school year `day` falls in."""
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def custom(start: dt.date | None, end: dt.date | None) -> Period:
    if start is None:
        raise PeriodError(_l("Enter the first day of the period."), "start")
    if end is None:
        raise PeriodError(_l("Enter the last day of the period."), "end")
    if end < start:
        raise PeriodError(_l("The last day cannot be before the first day."), "end")
    if (end - start).days >= MAX_CUSTOM_DAYS:
        raise PeriodError(_l("A statement covers at most three years."), "end")
    _check_year(start.year, "start")
    _check_year(end.year, "end")
    return Period("custom", start, end)


def parse_school_year(text: str) -> int:
    """'2026-2027' or '2026/2027' or '2026' -> 2026."""
    cleaned = (text or "").strip().replace("/", "-")
    first, _sep, second = cleaned.partition("-")
    try:
        year = int(first)
    except ValueError as error:
        raise PeriodError(_l("Enter a school year such as 2026-2027."), "school_year") from error
    if second and second.strip() not in {str(year + 1), str(year + 1)[-2:]}:
        raise PeriodError(_l("Enter a school year such as 2026-2027."), "school_year")
    _check_year(year, "school_year")
    return year


def _check_year(year: int, field: str = "year") -> None:
    if not EARLIEST_YEAR <= year <= 2100:
        raise PeriodError(_l("Choose a year between %(first)s and %(last)s.", first=EARLIEST_YEAR, last=2100), field)


def year_choices(today: dt.date) -> list[int]:
    """Recent years first: the years a user is likely to want a statement for."""
    return list(range(today.year, max(EARLIEST_YEAR, today.year - 6) - 1, -1))
