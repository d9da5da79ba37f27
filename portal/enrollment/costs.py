"""What an ambassador's day costs an employer, from the school calendar the portal holds.

The public "What does it cost?" page (shown by portal.contact) reads everything here: the school
weeks and the sessions per weekday of a whole year and of each half, the hours at the smallest
and largest weekly commitment, the holidays and days off, the volunteer allowance of the school
year and the tax-free limits of its calendar years (or that they are not known), and the
calculator: the employer's cost as sponsored hours x hourly cost, in integer cents.

Nothing here is a typed-in figure: change the calendar (a holiday, the first school day) and
every number on the page follows. Plain arguments in, plain results out; never `request`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from portal.core import money
from portal.enrollment.base import EnrollmentError
from portal.enrollment.calendar import Calendar, month_start, value_cents
from portal.enrollment.models import (
    MAX_WEEK_MINUTES,
    MIN_WEEK_MINUTES,
    AllowanceCap,
    Closure,
    SchoolYear,
)
from portal.enrollment.reference import calendar_for, current_school_year, school_years
from portal.enrollment.validation import MAX_HOURLY_COST_CENTS, parse_minutes

PERIODS = ("full", "first", "second")
WEEKDAYS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class Period:
    """One placement period of a school year: a whole year, or its first or second half."""

    key: str
    starts_on: dt.date
    ends_on: dt.date
    weeks: int
    sessions: tuple[int, ...]  # school days on Monday ... Friday within the period

    @property
    def fewest_sessions(self) -> int:
        return min(self.sessions)

    @property
    def most_sessions(self) -> int:
        return max(self.sessions)

    @property
    def fewest_minutes(self) -> int:
        """The fewest hours (in minutes) of a placement: the weekday with fewest school days, 6 h a week."""
        return self.fewest_sessions * MIN_WEEK_MINUTES

    @property
    def most_minutes(self) -> int:
        """The most hours (in minutes): the weekday with most school days, 8 h a week."""
        return self.most_sessions * MAX_WEEK_MINUTES


@dataclass(frozen=True)
class CapYear:
    """A calendar year the school year touches, with its tax-free allowance limits if known."""

    year: int
    cap: AllowanceCap | None


@dataclass(frozen=True)
class YearFigures:
    school_year: SchoolYear
    calendar: Calendar
    periods: dict[str, Period]
    closures: list[Closure]
    caps: list[CapYear]
    latest_known_cap: AllowanceCap | None  # for comparison when none of its years' limits is known

    @property
    def min_week_minutes(self) -> int:
        return MIN_WEEK_MINUTES

    @property
    def max_week_minutes(self) -> int:
        return MAX_WEEK_MINUTES

    @property
    def unknown_cap_years(self) -> list[int]:
        return [c.year for c in self.caps if c.cap is None]


def _period(calendar: Calendar, key: str) -> Period:
    if key == "full":
        start, end = calendar.starts_on, calendar.ends_on
    else:
        start, end = calendar.half_period(key)
    sessions = tuple(len(calendar.sessions(weekday, start, end)) for weekday in WEEKDAYS)
    return Period(key, start, end, calendar.school_weeks(start, end), sessions)


def figures(year: SchoolYear) -> YearFigures:
    """Every figure of one school year's cost page, from its calendar and the allowance limits."""
    calendar = calendar_for(year)
    periods = {key: _period(calendar, key) for key in PERIODS}
    closures = list(Closure.select().where((Closure.school_year == year.id) & Closure.school.is_null())
                    .order_by(Closure.starts_on, Closure.id))
    years = list(range(year.starts_on.year, year.ends_on.year + 1))
    known = {cap.year: cap for cap in AllowanceCap.select().where(AllowanceCap.year.in_(years))}
    caps = [CapYear(y, known.get(y)) for y in years]
    latest = None
    if not known:  # none of its years is known: show the most recent limits, labelled, for comparison
        latest = AllowanceCap.select().where(AllowanceCap.year < years[0]).order_by(AllowanceCap.year.desc()).first()
    return YearFigures(year, calendar, periods, closures, caps, latest)


def shown_year(name: str | None) -> tuple[SchoolYear | None, list[SchoolYear]]:
    """The school year asked for by name, else the current one; and every school year."""
    years = school_years()
    chosen = next((y for y in years if y.name == name), None) if name else None
    return chosen or current_school_year(years=years), years


# --- the calculator -------------------------------------------------------------------------------

@dataclass
class CalculatorInput:
    period: str = "full"
    weekday: int = 0
    minutes_per_week: int = MAX_WEEK_MINUTES
    sponsored_minutes_per_week: int = MAX_WEEK_MINUTES
    hourly_cost_cents: int | None = None


@dataclass(frozen=True)
class MonthRate:
    """One month of a placement: volunteered minutes, and what the monthly allowance is per hour."""

    month: dt.date
    volunteered_minutes: int
    implied_hourly_cents: int
    cap: AllowanceCap | None

    @property
    def hourly_cap_cents(self) -> int | None:
        return self.cap.per_hour_cents if self.cap else None

    @property
    def above_cap(self) -> bool:
        return self.cap is not None and self.implied_hourly_cents > self.cap.per_hour_cents


@dataclass(frozen=True)
class Estimate:
    inputs: CalculatorInput
    period: Period
    sessions: int
    total_minutes: int
    sponsored_minutes: int
    volunteered_minutes: int
    cost_cents: int | None
    allowance_monthly_cents: int
    months: list[MonthRate] = field(default_factory=list)

    @property
    def fullest_month(self) -> MonthRate | None:
        return min(self.months, key=lambda m: (m.implied_hourly_cents, m.month)) if self.months else None

    @property
    def emptiest_month(self) -> MonthRate | None:
        return max(self.months, key=lambda m: (m.implied_hourly_cents, m.month)) if self.months else None

    @property
    def allowance_months(self) -> int:
        return len(self.months)


def parse_calculator(raw: dict[str, str]) -> tuple[CalculatorInput, dict[str, str]]:
    """What the calculator's form asked for, or the errors per field (in the user's language).
    Empty fields take the defaults (a whole year, Monday, 8 hours, all sponsored, no hourly cost)."""
    values = CalculatorInput()
    errors: dict[str, str] = {}
    period = (raw.get("period") or "full").strip()
    if period not in PERIODS:
        errors["period"] = str(_l("Choose a whole school year or one of its halves."))
    else:
        values.period = period
    weekday = (raw.get("weekday") or "0").strip()
    if weekday not in {str(day) for day in WEEKDAYS}:
        errors["weekday"] = str(_l("Enter a weekday from Monday to Friday."))
    else:
        values.weekday = int(weekday)
    hours = (raw.get("hours_per_week") or "").strip()
    if hours:
        try:
            values.minutes_per_week = parse_minutes(hours, "hours_per_week")
            if not MIN_WEEK_MINUTES <= values.minutes_per_week <= MAX_WEEK_MINUTES:
                raise EnrollmentError(_l("An ambassador gives 6 to 8 hours a week."), "hours_per_week")
        except EnrollmentError as error:
            errors["hours_per_week"] = str(error)
    sponsored = (raw.get("sponsored_hours_per_week") or "").strip()
    values.sponsored_minutes_per_week = values.minutes_per_week
    if sponsored:
        try:
            values.sponsored_minutes_per_week = parse_minutes(sponsored, "sponsored_hours_per_week")
        except EnrollmentError as error:
            errors["sponsored_hours_per_week"] = str(error)
        else:
            if "hours_per_week" not in errors and values.sponsored_minutes_per_week > values.minutes_per_week:
                errors["sponsored_hours_per_week"] = str(_l("The sponsored hours cannot be more than the hours per week."))
    cost = (raw.get("hourly_cost") or "").strip()
    if cost:
        try:
            values.hourly_cost_cents = money.parse_cents(cost, max_cents=MAX_HOURLY_COST_CENTS)
        except money.AmountError as error:
            errors["hourly_cost"] = str(error)
    return values, errors


def estimate(figures_: YearFigures, inputs: CalculatorInput) -> Estimate:
    """Hours and the employer's cost of one placement: sessions on the weekday in the period x the
    weekly hours; the sponsored part x the hourly cost, rounded to the cent. Also what the monthly
    allowance comes to per volunteered hour, month by month, against that year's hourly limit."""
    period = figures_.periods[inputs.period]
    dates = figures_.calendar.sessions(inputs.weekday, period.starts_on, period.ends_on)
    sessions = len(dates)
    total = sessions * inputs.minutes_per_week
    sponsored = sessions * inputs.sponsored_minutes_per_week
    volunteered = total - sponsored
    cost = value_cents(sponsored, inputs.hourly_cost_cents) if inputs.hourly_cost_cents is not None else None
    allowance = figures_.school_year.allowance_monthly_cents
    months: list[MonthRate] = []
    volunteered_per_week = inputs.minutes_per_week - inputs.sponsored_minutes_per_week
    if volunteered_per_week > 0 and allowance > 0:
        per_month: dict[dt.date, int] = defaultdict(int)
        for day in dates:
            per_month[month_start(day)] += volunteered_per_week
        caps = {c.year: c.cap for c in figures_.caps}
        months = [MonthRate(month, minutes, allowance * 60 // minutes, caps.get(month.year))
                  for month, minutes in sorted(per_month.items())]
    return Estimate(inputs, period, sessions, total, sponsored, volunteered, cost, allowance, months)
