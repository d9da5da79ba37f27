"""Reference data of the enrolment capability: the seeded school years with their holidays,
the volunteer allowance caps, the school years as stored, and the calendars built from them
(`Calendars` loads a set of years' closures once)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.core import clock
from portal.core.db import atomic_write
from portal.core.prepared import Prepared
from portal.enrollment.calendar import Calendar, expected_sessions
from portal.enrollment.models import AllowanceCap, Closure, Enrolment, School, SchoolYear

# Regio Midden (Utrecht), from ../shared/domain.md. Holidays are Saturday-Sunday ranges.
SEED_SCHOOL_YEARS: tuple[dict[str, Any], ...] = (
    {
        "name": "2026-2027", "region": "Midden",
        "starts_on": dt.date(2026, 8, 31), "ends_on": dt.date(2027, 7, 16),
        "half_starts_on": dt.date(2027, 2, 1), "allowance_monthly_cents": 16000,
        "closures": (
            ("holiday", "Autumn holiday", dt.date(2026, 10, 17), dt.date(2026, 10, 25)),
            ("holiday", "Christmas holiday", dt.date(2026, 12, 19), dt.date(2027, 1, 3)),
            ("holiday", "Spring holiday", dt.date(2027, 2, 20), dt.date(2027, 2, 28)),
            ("day_off", "Good Friday", dt.date(2027, 3, 26), dt.date(2027, 3, 26)),
            ("day_off", "Easter Monday", dt.date(2027, 3, 29), dt.date(2027, 3, 29)),
            ("holiday", "May holiday", dt.date(2027, 4, 24), dt.date(2027, 5, 2)),
            ("day_off", "Liberation Day", dt.date(2027, 5, 5), dt.date(2027, 5, 5)),
            ("day_off", "Ascension Day", dt.date(2027, 5, 6), dt.date(2027, 5, 6)),
            ("day_off", "Whit Monday", dt.date(2027, 5, 17), dt.date(2027, 5, 17)),
            ("holiday", "Summer holiday", dt.date(2027, 7, 17), dt.date(2027, 8, 29)),
        ),
    },
)

# The seeded closures keep the English name they were stored with (migration 0002); pages show
# them in the reader's language. A name the leader typed is shown as typed.
SEEDED_CLOSURE_NAMES = {
    "Autumn holiday": _l("Autumn holiday"), "Christmas holiday": _l("Christmas holiday"),
    "Spring holiday": _l("Spring holiday"), "Good Friday": _l("Good Friday"), "Easter Monday": _l("Easter Monday"),
    "May holiday": _l("May holiday"), "Liberation Day": _l("Liberation Day"), "Ascension Day": _l("Ascension Day"),
    "Whit Monday": _l("Whit Monday"), "Summer holiday": _l("Summer holiday"),
}


def closure_name(name: str) -> str:
    """A closure's name for people: a seeded one in the reader's language."""
    label = SEEDED_CLOSURE_NAMES.get(name or "")
    return str(label) if label is not None else name


# Belastingdienst volunteer allowance limits (research/sroi.md section 5). 2026: not known.
SEED_CAPS: tuple[dict[str, Any], ...] = (
    {"year": 2024, "per_month_cents": 21000, "per_year_cents": 210000, "per_hour_cents": 550,
     "per_hour_under_21_cents": 325, "source": "Belastingdienst, vrijwilligersvergoeding 2024"},
    {"year": 2025, "per_month_cents": 21000, "per_year_cents": 210000, "per_hour_cents": 560,
     "per_hour_under_21_cents": 330, "source": "Belastingdienst (via dewve.nl, vrijwilligersdossier.nl), 2025"},
)


def seed_reference_data() -> None:
    """Insert the seeded school year(s) and allowance caps when missing; safe to run again."""
    with atomic_write():
        for cap in SEED_CAPS:
            AllowanceCap.insert(**cap).on_conflict_ignore().execute()
        for spec in SEED_SCHOOL_YEARS:
            if SchoolYear.select().where(SchoolYear.name == spec["name"]).exists():
                continue
            year = SchoolYear.create(**{k: v for k, v in spec.items() if k != "closures"})
            Closure.insert_many([
                {"school_year": year.id, "school": None, "kind": kind, "name": name,
                 "starts_on": start, "ends_on": end}
                for kind, name, start, end in spec["closures"]
            ]).execute()


_SCHOOL_YEARS = Prepared(lambda: SchoolYear.select().order_by(SchoolYear.starts_on))
# The closures of some school years (the years' ids are the shape: a handful of sets occur).
_CLOSURES = Prepared(lambda years: Closure.select().where(Closure.school_year.in_(years)))


def school_years() -> list[SchoolYear]:
    return list(_SCHOOL_YEARS())


def current_school_year(today: dt.date | None = None, years: list[SchoolYear] | None = None) -> SchoolYear | None:
    """The school year that includes today (or its summer after), else the next one, else the latest."""
    today = today or clock.today()
    years = school_years() if years is None else years
    for year in years:
        if year.starts_on <= today <= year.ends_on + dt.timedelta(days=45):
            return year
    upcoming = [y for y in years if y.starts_on > today]
    return upcoming[0] if upcoming else (years[-1] if years else None)


class Calendars:
    """Loads the closures of the given school years once and builds calendars on demand."""

    def __init__(self, years: list[SchoolYear]) -> None:
        self.years = {year.id: year for year in years}
        self._closures: dict[tuple[int, int | None], list[Closure]] = {}
        if self.years:
            for closure in _CLOSURES(tuple(sorted(self.years))):
                self._closures.setdefault((closure.school_year_id, closure.school_id), []).append(closure)
        self._cache: dict[tuple[int, int | None], Calendar] = {}
        self._sessions: dict[tuple, tuple[dt.date, ...]] = {}

    @classmethod
    def for_ids(cls, year_ids) -> Calendars:
        ids = list(set(year_ids))
        return cls(list(SchoolYear.select().where(SchoolYear.id.in_(ids))) if ids else [])

    def get(self, year_id: int, school_id: int | None = None) -> Calendar:
        key = (year_id, school_id)
        if key not in self._cache:
            year = self.years[year_id]
            closures = list(self._closures.get((year_id, None), []))
            if school_id is not None:
                closures += self._closures.get((year_id, school_id), [])
            self._cache[key] = Calendar.build(
                year.starts_on, year.ends_on, year.half_starts_on,
                holidays=[(c.starts_on, c.ends_on) for c in closures if c.kind == "holiday"],
                days_off=[(c.starts_on, c.ends_on) for c in closures if c.kind == "day_off"])
        return self._cache[key]

    def sessions(self, enrolment: Enrolment) -> tuple[dt.date, ...]:
        """The expected session dates of an enrolment (its school's own days off included).

        Placements share a handful of (calendar, weekday, period) combinations per school, so a
        thousand of them cost a handful of calendar walks; schools whose calendars are alike (no
        days off of their own), and later requests, share the walks too (`_sessions_of`).
        """
        key = (enrolment.school_year_id, enrolment.school_id, enrolment.weekday, enrolment.starts_on,
               enrolment.ends_on, enrolment.role_type)
        if key not in self._sessions:
            calendar = self.get(enrolment.school_year_id, enrolment.school_id)
            self._sessions[key] = _sessions_of(calendar, *key[2:])
        return self._sessions[key]


@functools.lru_cache(maxsize=4096)
def _sessions_of(calendar: Calendar, weekday: int, starts_on: dt.date, ends_on: dt.date,
                 role_type: str) -> tuple[dt.date, ...]:
    # A calendar is a value (its closures included): one that changed is another key.
    return tuple(expected_sessions(calendar, weekday, starts_on, ends_on, role_type))


def calendar_for(year: SchoolYear, school: School | int | None = None) -> Calendar:
    return Calendars([year]).get(year.id, getattr(school, "id", school))


def expected_minutes(enrolment: Enrolment, calendars: Calendars | None = None) -> int:
    calendars = calendars or Calendars.for_ids([enrolment.school_year_id])
    return len(calendars.sessions(enrolment)) * enrolment.minutes_per_week
