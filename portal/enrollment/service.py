"""Enrolment: schools and calendars, enrolments and their workflow, VOG, the employee's
single-use links and reminders. Plain arguments in, plain results out; never `request`.

The hours register lives in `hours.py`, the allowance ledger in `allowance.py`, uploads in
`documents.py`, the CSV import in `csv_import.py` and the dashboard figures in `dashboard.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import peewee
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from peewee import fn
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.nl import brin as stdnum_brin

from portal.accounts.models import Company, User
from portal.core import audit, clock, mail, money
from portal.core.db import atomic_write, database, utcnow
from portal.core.errors import UserError
from portal.enrollment.calendar import Calendar, expected_sessions, placement_period
from portal.enrollment.models import (
    FUNDING_MODELS,
    MAX_WEEK_MINUTES,
    MIN_WEEK_MINUTES,
    ROLE_TYPES,
    STATUSES,
    VOG_STATUSES,
    AccessLink,
    AllowanceCap,
    AmbassadorSession,
    Closure,
    Document,
    Enrolment,
    EnrolmentSlot,
    HoursEntry,
    Reminder,
    School,
    SchoolYear,
)

LINK_LIFETIME = dt.timedelta(days=14)
AMBASSADOR_SESSION_LIFETIME = dt.timedelta(hours=8)  # absolute: from opening the link
AMBASSADOR_SESSION_TOUCH_SECONDS = 60
# Links the public "send me a new link" form mails per enrolment and hour; the rest are skipped.
PUBLIC_LINKS_PER_HOUR = 3
VOG_REMINDER_DAYS = 14
MAX_HOURLY_COST_CENTS = 100_000  # EUR 1,000 an hour: anything above is a typing mistake

# Which move may follow which; the leader may make every move, HR only withdraws.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("intake", "withdrawn"),
    "intake": ("matched", "withdrawn"),
    "matched": ("active", "intake", "withdrawn"),
    "active": ("completed", "withdrawn"),
    "completed": (),
    "withdrawn": (),
}
OPEN_STATUSES = ("submitted", "intake", "matched", "active")
HR_EDITABLE = ("submitted", "intake")

STATUS_LABELS = {
    "submitted": _l("Submitted"), "intake": _l("Intake"), "matched": _l("Matched"),
    "active": _l("Active"), "completed": _l("Completed"), "withdrawn": _l("Withdrawn"),
}
ROLE_LABELS = {"class": _l("Class ambassador"), "thematic": _l("Thematic ambassador (three lessons)")}
FUNDING_LABELS = {"sponsored": _l("Sponsored by the employer"), "volunteer": _l("Volunteer allowance"),
                  "mixed": _l("Mixed: partly sponsored")}
VOG_LABELS = {"not_requested": _l("Not requested"), "requested": _l("Requested"), "received": _l("Received"),
              "refused": _l("Refused")}
DURATION_LABELS = {"full": _l("Whole school year"), "half": _l("Half a school year")}
WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"))
CLOSURE_LABELS = {"holiday": _l("Holiday"), "day_off": _l("Day off")}


SESSION_ENDED = _l("Your session has ended. Ask for a new link below.")


class EnrollmentError(UserError):
    """A refusal to show the user: str() is the translated message; `field` names the input."""



def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _external(endpoint: str, **values) -> str:
    """An absolute link for e-mails, also outside a request (CLI, tests)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc or "localhost", script_name=base.path.rstrip("/") or "/",
                                       url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


# --- reference data: school years, holidays, allowance caps -------------------------------

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


def school_years() -> list[SchoolYear]:
    return list(SchoolYear.select().order_by(SchoolYear.starts_on))


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
            for closure in Closure.select().where(Closure.school_year.in_(list(self.years))):
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

        Placements share a handful of (calendar, weekday, period) combinations, so a thousand
        of them cost a handful of calendar walks.
        """
        key = (enrolment.school_year_id, enrolment.school_id, enrolment.weekday, enrolment.starts_on,
               enrolment.ends_on, enrolment.role_type)
        if key not in self._sessions:
            calendar = self.get(enrolment.school_year_id, enrolment.school_id)
            self._sessions[key] = tuple(expected_sessions(calendar, *key[2:]))
        return self._sessions[key]


def calendar_for(year: SchoolYear, school: School | int | None = None) -> Calendar:
    return Calendars([year]).get(year.id, getattr(school, "id", school))


def expected_minutes(enrolment: Enrolment, calendars: Calendars | None = None) -> int:
    calendars = calendars or Calendars.for_ids([enrolment.school_year_id])
    return len(calendars.sessions(enrolment)) * enrolment.minutes_per_week


# --- schools and calendars: the project leader's data ------------------------------------

def normalise_brin(text: str) -> str:
    """A valid BRIN (4 characters, optionally 2 digits for the location), compact, or an error."""
    try:
        return stdnum_brin.validate(text or "")
    except StdnumError as exc:
        raise EnrollmentError(_l("Enter a BRIN code of four characters, such as 05KO, optionally followed by two digits."), "brin") from exc


def save_school(actor: User, values: dict[str, Any], school: School | None = None) -> School:
    """Create or update a school; the BRIN code is unique."""
    values = dict(values)
    values["brin"] = normalise_brin(values.get("brin", ""))
    if not (values.get("name") or "").strip():
        raise EnrollmentError(_l("This field is required."), "name")
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    with atomic_write():
        clash = School.select().where(School.brin == values["brin"])
        if school is not None:
            clash = clash.where(School.id != school.id)
        if clash.exists():
            raise EnrollmentError(_l("Another school already has this BRIN code."), "brin")
        try:
            with database.atomic():
                if school is None:
                    school = School.create(**values)
                    action = "enrollment.school_created"
                else:
                    School.update(**values).where(School.id == school.id).execute()
                    school = School.get_by_id(school.id)
                    action = "enrollment.school_updated"
        except peewee.IntegrityError as exc:
            raise EnrollmentError(_l("Another school already has this BRIN code."), "brin") from exc
        audit.record(action, actor=actor, obj=school, brin=school.brin)
    return school


def save_school_year(actor: User, values: dict[str, Any], year: SchoolYear | None = None) -> SchoolYear:
    """Create or update a school year; dates must be in order and not move under placements."""
    name = (values.get("name") or "").strip()
    if not re.fullmatch(r"\d{4}-\d{4}", name, re.ASCII):
        raise EnrollmentError(_l("Name the school year like 2026-2027."), "name")
    starts_on, ends_on, half = values["starts_on"], values["ends_on"], values["half_starts_on"]
    if not (starts_on < half <= ends_on):
        raise EnrollmentError(_l("The second half must start after the first school day and on or before the last."), "half_starts_on")
    if (ends_on - starts_on).days > 366:
        raise EnrollmentError(_l("A school year lasts at most a year."), "ends_on")
    with atomic_write():
        if SchoolYear.select().where((SchoolYear.name == name) & (SchoolYear.id != (year.id if year else 0))).exists():
            raise EnrollmentError(_l("This school year already exists."), "name")
        fields = {"name": name, "region": (values.get("region") or "Midden").strip(), "starts_on": starts_on,
                  "ends_on": ends_on, "half_starts_on": half,
                  "allowance_monthly_cents": values.get("allowance_monthly_cents", 16000)}
        if year is None:
            year = SchoolYear.create(**fields)
            action = "enrollment.school_year_created"
        else:
            placed = Enrolment.select().where(Enrolment.school_year == year.id).exists()
            if placed and (starts_on, ends_on, half) != (year.starts_on, year.ends_on, year.half_starts_on):
                raise EnrollmentError(_l("Enrolments use this school year, so its dates can no longer change. Add holidays or days off instead."), "starts_on")
            SchoolYear.update(**fields).where(SchoolYear.id == year.id).execute()
            year = SchoolYear.get_by_id(year.id)
            action = "enrollment.school_year_updated"
        audit.record(action, actor=actor, obj=year, name=name)
    return year


def add_closure(actor: User, year: SchoolYear, kind: str, name: str, starts_on: dt.date, ends_on: dt.date,
                school: School | None = None) -> Closure:
    """Close the schools (or one school) for a holiday or day off and re-plan open sessions."""
    from portal.enrollment import hours

    if kind not in ("holiday", "day_off"):
        raise EnrollmentError(_l("Choose holiday or day off."), "kind")
    if not name.strip():
        raise EnrollmentError(_l("This field is required."), "name")
    if ends_on < starts_on:
        raise EnrollmentError(_l("The last day cannot be before the first day."), "ends_on")
    if starts_on < year.starts_on - dt.timedelta(days=60) or ends_on > year.ends_on + dt.timedelta(days=60):
        raise EnrollmentError(_l("The dates must fall in the school year."), "starts_on")
    with atomic_write():
        closure = Closure.create(school_year=year, school=school, kind=kind, name=name.strip(),
                                 starts_on=starts_on, ends_on=ends_on)
        replanned = hours.resync_school_year(year.id, school.id if school else None)
        audit.record("enrollment.closure_added", actor=actor, obj=closure, school_year=year.name,
                     school=school.id if school else None, starts_on=starts_on, ends_on=ends_on,
                     replanned=replanned)
    return closure


def remove_closure(actor: User, closure: Closure) -> None:
    from portal.enrollment import hours

    with atomic_write():
        Closure.delete().where(Closure.id == closure.id).execute()
        replanned = hours.resync_school_year(closure.school_year_id, closure.school_id)
        audit.record("enrollment.closure_removed", actor=actor, object_type="closure", object_id=closure.id,
                     name=closure.name, starts_on=closure.starts_on, ends_on=closure.ends_on, replanned=replanned)


def save_cap(actor: User, values: dict[str, Any]) -> AllowanceCap:
    """Record (or replace) a calendar year's volunteer allowance limits."""
    with atomic_write():
        existing = AllowanceCap.get_or_none(AllowanceCap.year == values["year"])
        if existing is None:
            cap = AllowanceCap.create(**values)
        else:
            AllowanceCap.update(**values).where(AllowanceCap.id == existing.id).execute()
            cap = AllowanceCap.get_by_id(existing.id)
        audit.record("enrollment.allowance_cap_saved", actor=actor, obj=cap, **{k: v for k, v in values.items()})
    return cap


# --- parsing what HR typed (form fields and CSV cells alike) -----------------------------

WEEKDAY_WORDS = {
    0: ("monday", "mon", "ma", "maandag", "mo"),
    1: ("tuesday", "tue", "tu", "di", "dinsdag"),
    2: ("wednesday", "wed", "we", "wo", "woensdag"),
    3: ("thursday", "thu", "th", "do", "donderdag"),
    4: ("friday", "fri", "fr", "vr", "vrijdag"),
    5: ("saturday", "sat", "sa", "za", "zaterdag"),
    6: ("sunday", "sun", "su", "zo", "zondag"),
}
MONTH_WORDS = {
    2: ("february", "feb", "februari"), 9: ("september", "sep", "sept"),
    1: ("january", "jan", "januari"), 3: ("march", "mar", "maart", "mrt"), 4: ("april", "apr"),
    5: ("may", "mei"), 6: ("june", "jun", "juni"), 7: ("july", "jul", "juli"), 8: ("august", "aug", "augustus"),
    10: ("october", "oct", "okt", "oktober"), 11: ("november", "nov"), 12: ("december", "dec"),
}
FUNDING_WORDS = {"sponsored": ("sponsored", "gesponsord", "sponsor", "employer", "werkgever"),
                 "volunteer": ("volunteer", "vrijwilliger", "vrijwillig", "allowance", "vrijwilligersvergoeding"),
                 "mixed": ("mixed", "gemengd", "mix")}
ROLE_WORDS = {"class": ("class", "klas", "class ambassador", "klasambassadeur"),
              "thematic": ("thematic", "thema", "thematisch", "thematic ambassador", "themaambassadeur")}
DURATION_WORDS = {"full": ("full", "whole", "heel", "hele", "year", "jaar", "full year", "heel jaar"),
                  "half": ("half", "half year", "halfjaar", "half jaar")}
VOG_WORDS = {"not_requested": ("", "not_requested", "not requested", "no", "nee", "niet aangevraagd"),
             "requested": ("requested", "aangevraagd"),
             "received": ("received", "ontvangen", "yes", "ja"),
             "refused": ("refused", "geweigerd")}
YES = ("yes", "y", "ja", "j", "true", "1", "x", "on")
NO = ("", "no", "n", "nee", "false", "0", "off")


def _word(text: str, table: dict) -> Any:
    cleaned = re.sub(r"\s+", " ", (text or "").strip().lower().replace("_", " "))
    for key, words in table.items():
        if cleaned in words or cleaned == str(key).replace("_", " "):
            return key
    return None


def parse_weekday(text: str) -> int:
    """Monday..Friday (English or Dutch, or 1-5) as 0..4; weekends are refused with a reason."""
    cleaned = (text or "").strip()
    if cleaned.isascii() and cleaned.isdigit() and 1 <= int(cleaned) <= 7:
        day = int(cleaned) - 1
    else:
        day = _word(cleaned, WEEKDAY_WORDS)
    if day is None:
        raise EnrollmentError(_l("Enter a weekday from Monday to Friday."), "weekday")
    if day > 4:
        raise EnrollmentError(_l("Schools are closed at the weekend: choose a day from Monday to Friday."), "weekday")
    return day


def parse_minutes(text: str, field_name: str = "hours_per_week") -> int:
    """Hours as '7', '7,5', '7.5' or '7:30' -> whole minutes; anything else is an error."""
    cleaned = (text or "").strip().lower().replace("uur", "").replace("hours", "").replace("h", "").strip()
    match = re.fullmatch(r"(\d{1,2}):([0-5]\d)", cleaned, re.ASCII)
    if match:
        return int(match.group(1)) * 60 + int(match.group(2))
    match = re.fullmatch(r"(\d{1,2})(?:[.,](\d{1,2}))?", cleaned, re.ASCII)
    if not match:
        raise EnrollmentError(_l("Enter hours such as 7, 7,5 or 7:30."), field_name)
    whole, fraction = int(match.group(1)), match.group(2) or ""
    minutes_times_100 = (whole * 100 + int(fraction.ljust(2, "0") or 0)) * 60
    if minutes_times_100 % 100:
        raise EnrollmentError(_l("Enter hours in whole minutes, such as 7,5 or 7:20."), field_name)
    return minutes_times_100 // 100


def parse_start(text: str) -> tuple[int, int]:
    """'2026-09', '09-2026', 'september 2026', 'feb 2027' or an ISO date -> (year, month)."""
    cleaned = (text or "").strip().lower()
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})(?:[-/.]\d{1,2})?", cleaned, re.ASCII)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = re.fullmatch(r"(\d{1,2})[-/.](\d{4})", cleaned, re.ASCII)
    if match:
        return int(match.group(2)), int(match.group(1))
    match = re.fullmatch(r"([a-z]+)\.?\s+(\d{4})", cleaned, re.ASCII)
    if match:
        for number, words in MONTH_WORDS.items():
            if match.group(1) in words:
                return int(match.group(2)), number
    raise EnrollmentError(_l("Enter the start as year and month, such as 2026-09 or 2027-02."), "start")


def parse_date(text: str, field_name: str) -> dt.date:
    cleaned = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    raise EnrollmentError(_l("Enter a date such as 2026-08-15 or 15-08-2026."), field_name)


def start_options(years: list[SchoolYear] | None = None, *, today: dt.date | None = None,
                  keep: str | None = None) -> list[tuple[str, str]]:
    """The start moments HR can choose: September and February of every known school year, from
    the current month on (in December, September has passed). `keep` stays offered (the start an
    existing enrolment already has)."""
    today = today or clock.today()
    options = []
    for year in years if years is not None else school_years():
        for value, label in (
                (f"{year.starts_on.year}-09", _l("September %(year)s (school year %(name)s)", year=year.starts_on.year, name=year.name)),
                (f"{year.half_starts_on.year}-02", _l("February %(year)s (school year %(name)s)", year=year.half_starts_on.year, name=year.name))):
            if value >= f"{today.year:04d}-{today.month:02d}" or value == keep:
                options.append((value, str(label)))
    return options


# --- validating an enrolment --------------------------------------------------------------

ENROLMENT_FIELDS = ("employee_name", "employee_email", "job_title", "department", "language", "role_type",
                    "start", "duration", "weekday", "hours_per_week", "funding", "sponsored_hours_per_week",
                    "hourly_cost", "vog_status", "vog_date", "under_21")


@dataclass
class EnrolmentData:
    """A validated enrolment, ready to save."""

    employee_name: str
    employee_email: str
    job_title: str
    department: str
    language: str
    role_type: str
    school_year: SchoolYear
    start_half: str
    duration: str
    starts_on: dt.date
    ends_on: dt.date
    weekday: int
    minutes_per_week: int
    funding: str
    sponsored_minutes_per_week: int
    hourly_cost_cents: int | None
    vog_status: str
    vog_requested_on: dt.date | None
    vog_received_on: dt.date | None
    under_21: bool

    @property
    def halves(self) -> tuple[str, ...]:
        return ("first", "second") if self.duration == "full" else (self.start_half,)

    def model_fields(self) -> dict[str, Any]:
        values = dict(self.__dict__)
        values["school_year"] = self.school_year.id
        return values


@dataclass
class ValidationContext:
    """What validating many rows needs, loaded once: the company, school years and taken slots."""

    company: Company
    years: list[SchoolYear]
    taken: dict[tuple[str, int, str], int] = field(default_factory=dict)
    calendars: Calendars | None = None
    exclude_enrolment: int | None = None

    @classmethod
    def load(cls, company: Company, exclude_enrolment: int | None = None) -> ValidationContext:
        years = school_years()
        taken = {}
        query = EnrolmentSlot.select(EnrolmentSlot.employee_email, EnrolmentSlot.school_year,
                                     EnrolmentSlot.half, EnrolmentSlot.enrolment).where(EnrolmentSlot.company == company.id)
        for slot in query.tuples():
            if slot[3] != exclude_enrolment:
                taken[(slot[0], slot[1], slot[2])] = slot[3]
        return cls(company, years, taken, Calendars(years), exclude_enrolment)

    def year_for(self, year: int, month: int) -> tuple[SchoolYear, str] | None:
        for school_year in self.years:
            if month == 9 and school_year.starts_on.year == year and school_year.starts_on.month in (8, 9):
                return school_year, "first"
            if month == 2 and (school_year.half_starts_on.year, school_year.half_starts_on.month) == (year, 2):
                return school_year, "second"
        return None


def validate_enrolment(raw: dict[str, str], context: ValidationContext) -> tuple[EnrolmentData | None, dict[str, str]]:
    """Check one enrolment as typed (form or CSV row); returns the data or {field: message}."""
    errors: dict[str, str] = {}
    value = {name: (raw.get(name) or "").strip() for name in ENROLMENT_FIELDS}

    def fail(error: EnrollmentError, default_field: str) -> None:
        errors.setdefault(error.field or default_field, str(error))

    required = _l("This field is required.")
    for name in ("employee_name", "employee_email", "job_title"):
        if not value[name]:
            errors[name] = str(required)
    for name, limit in (("employee_name", 200), ("job_title", 200), ("department", 200)):
        if len(value[name]) > limit:
            errors[name] = str(_l("Use at most %(count)d characters.", count=limit))
    email = ""
    if value["employee_email"]:
        try:
            email = validate_email(value["employee_email"], check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["employee_email"] = str(_l("Enter a valid e-mail address, such as name@company.nl."))
    language = value["language"].lower() or context.company.language
    if language not in ("nl", "en"):
        errors["language"] = str(_l("Choose nl (Dutch) or en (English)."))
    role_type = _word(value["role_type"], ROLE_WORDS) if value["role_type"] else "class"
    if role_type not in ROLE_TYPES:
        errors["role_type"] = str(_l("Choose class or thematic."))
    duration = _word(value["duration"], DURATION_WORDS) if value["duration"] else None
    if duration is None:
        errors["duration"] = str(_l("Choose a whole or a half school year."))

    school_year = start_half = starts_on = ends_on = None
    try:
        year, month = parse_start(value["start"]) if value["start"] else (None, None)
        if year is None:
            raise EnrollmentError(required, "start")
        if month not in (9, 2):
            raise EnrollmentError(_l("Ambassadors start in September or in February."), "start")
        found = context.year_for(year, month)
        if found is None:
            raise EnrollmentError(_l("There is no school calendar for that start yet. Choose another start or ask the project leader."), "start")
        school_year, start_half = found
        if duration is not None:
            calendar = context.calendars.get(school_year.id) if context.calendars else calendar_for(school_year)
            try:
                starts_on, ends_on = placement_period(calendar, start_half, duration)
            except ValueError as exc:
                raise EnrollmentError(_l("This placement would cross into the next school year: a placement that starts in February lasts half a year."), "duration") from exc
    except EnrollmentError as error:
        fail(error, "start")

    weekday = minutes = None
    try:
        weekday = parse_weekday(value["weekday"])
    except EnrollmentError as error:
        fail(error, "weekday")
    try:
        minutes = parse_minutes(value["hours_per_week"], "hours_per_week") if value["hours_per_week"] else None
        if minutes is None:
            raise EnrollmentError(required, "hours_per_week")
        if not MIN_WEEK_MINUTES <= minutes <= MAX_WEEK_MINUTES:
            raise EnrollmentError(_l("An ambassador gives 6 to 8 hours a week."), "hours_per_week")
    except EnrollmentError as error:
        fail(error, "hours_per_week")
        minutes = None

    funding = _word(value["funding"], FUNDING_WORDS) if value["funding"] else None
    sponsored = None
    if funding not in FUNDING_MODELS:
        errors["funding"] = str(_l("Choose sponsored, volunteer or mixed."))
    elif minutes is not None:
        if funding == "sponsored":
            sponsored = minutes
        elif funding == "volunteer":
            sponsored = 0
        else:
            try:
                if not value["sponsored_hours_per_week"]:
                    raise EnrollmentError(_l("For mixed funding, enter how many of the weekly hours the employer sponsors."), "sponsored_hours_per_week")
                sponsored = parse_minutes(value["sponsored_hours_per_week"], "sponsored_hours_per_week")
                if not 0 < sponsored < minutes:
                    raise EnrollmentError(_l("The sponsored hours must be more than 0 and fewer than the hours per week."), "sponsored_hours_per_week")
            except EnrollmentError as error:
                fail(error, "sponsored_hours_per_week")
                sponsored = None

    hourly_cost = None
    if value["hourly_cost"]:
        try:
            hourly_cost = money.parse_cents(value["hourly_cost"], max_cents=MAX_HOURLY_COST_CENTS)
        except money.AmountError as error:
            errors["hourly_cost"] = str(error)
    elif funding in ("sponsored", "mixed"):
        hourly_cost = context.company.hourly_cost_cents
        if hourly_cost is None:
            errors["hourly_cost"] = str(_l("Enter the employer's hourly cost: sponsored hours are valued with it."))

    vog_status = _word(value["vog_status"], VOG_WORDS)
    vog_requested_on = vog_received_on = None
    if vog_status is None:
        errors["vog_status"] = str(_l("Choose not requested, requested, received or refused."))
    elif value["vog_date"] or vog_status == "received":
        try:
            if not value["vog_date"]:
                raise EnrollmentError(_l("Enter the date of the VOG."), "vog_date")
            vog_date = parse_date(value["vog_date"], "vog_date")
            if vog_date > clock.today():
                raise EnrollmentError(_l("This date is in the future."), "vog_date")
            if vog_status == "received":
                vog_received_on = vog_date
            elif vog_status == "requested":
                vog_requested_on = vog_date
        except EnrollmentError as error:
            fail(error, "vog_date")

    under_21_text = value["under_21"].lower()
    if under_21_text not in YES + NO:
        errors["under_21"] = str(_l("Answer yes or no."))
    under_21 = under_21_text in YES

    if email and school_year is not None and duration is not None and "duration" not in errors:
        halves = ("first", "second") if duration == "full" else (start_half,)
        for half in halves:
            other = context.taken.get((email, school_year.id, half))
            if other is not None:
                errors["employee_email"] = str(_l("%(email)s is already enrolled for an overlapping period (enrolment %(number)s).", email=email, number=other))
                break

    if errors:
        return None, errors
    return EnrolmentData(
        employee_name=value["employee_name"], employee_email=email, job_title=value["job_title"],
        department=value["department"], language=language, role_type=role_type, school_year=school_year,
        start_half=start_half, duration=duration, starts_on=starts_on, ends_on=ends_on, weekday=weekday,
        minutes_per_week=minutes, funding=funding, sponsored_minutes_per_week=sponsored,
        hourly_cost_cents=hourly_cost, vog_status=vog_status, vog_requested_on=vog_requested_on,
        vog_received_on=vog_received_on, under_21=under_21,
    ), {}


def raw_from_enrolment(enrolment: Enrolment) -> dict[str, str]:
    """An enrolment as the text a form shows, for editing."""
    start_year = enrolment.starts_on.year
    return {
        "employee_name": enrolment.employee_name, "employee_email": enrolment.employee_email,
        "job_title": enrolment.job_title, "department": enrolment.department, "language": enrolment.language,
        "role_type": enrolment.role_type,
        "start": f"{start_year}-{'09' if enrolment.start_half == 'first' else '02'}",
        "duration": enrolment.duration, "weekday": ("monday", "tuesday", "wednesday", "thursday", "friday")[enrolment.weekday],
        "hours_per_week": format_minutes_plain(enrolment.minutes_per_week),
        "funding": enrolment.funding,
        "sponsored_hours_per_week": format_minutes_plain(enrolment.sponsored_minutes_per_week) if enrolment.funding == "mixed" else "",
        "hourly_cost": money.format_plain(enrolment.hourly_cost_cents) if enrolment.hourly_cost_cents is not None else "",
        "vog_status": enrolment.vog_status,
        "vog_date": (enrolment.vog_received_on or enrolment.vog_requested_on or "") and
                    (enrolment.vog_received_on or enrolment.vog_requested_on).isoformat(),
        "under_21": "yes" if enrolment.under_21 else "no",
    }


def format_minutes_plain(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}" if rest else str(hours)


# --- creating and editing enrolments ----------------------------------------------------

def _slots(enrolment_id: int, company_id: int, data: EnrolmentData) -> list[dict[str, Any]]:
    return [{"enrolment": enrolment_id, "company": company_id, "employee_email": data.employee_email,
             "school_year": data.school_year.id, "half": half} for half in data.halves]


def _overlap_error(data: EnrolmentData) -> EnrollmentError:
    return EnrollmentError(_l("%(email)s is already enrolled for an overlapping period.", email=data.employee_email),
                           "employee_email")


def create_enrolments(company: Company, actor: User | None, items: list[EnrolmentData], *,
                      source: str = "form") -> list[Enrolment]:
    """Save enrolments all-or-nothing, invite each employee and tell the project leader."""
    created: list[Enrolment] = []
    with atomic_write():
        try:
            with database.atomic():
                for data in items:
                    enrolment = Enrolment.create(company=company.id, created_by=actor, **data.model_fields())
                    EnrolmentSlot.insert_many(_slots(enrolment.id, company.id, data)).execute()
                    created.append(enrolment)
        except peewee.IntegrityError as exc:
            # Someone enrolled the same person a moment ago: the UNIQUE index on the slots caught it.
            raise _overlap_error(items[len(created)] if len(created) < len(items) else items[-1]) from exc
        if source == "form":
            audit.record("enrollment.created", actor=actor, company=company, obj=created[0],
                         funding=created[0].funding, starts_on=created[0].starts_on)
        else:
            audit.record("enrollment.imported", actor=actor, company=company, object_type="enrolment",
                         object_id=f"{created[0].id}-{created[-1].id}", count=len(created),
                         ids=[e.id for e in created])
        for enrolment in created:
            enrolment.company = company
            _send_access_link(enrolment, actor)
        _tell_leaders_new(company, created)
    return created


def create_enrolment(company: Company, actor: User | None, data: EnrolmentData) -> Enrolment:
    """Enrol one employee."""
    return create_enrolments(company, actor, [data])[0]


def update_enrolment(enrolment: Enrolment, actor: User, data: EnrolmentData) -> Enrolment:
    """HR changes the details of an enrolment that is not yet matched.

    The e-mail address is the key to the employee's own pages. A new address ends every
    session and unused link of the old one and gets a link of its own. Once the employee
    has put a document or their IBAN on those pages, the address no longer changes here:
    otherwise whoever edits the enrolment could send the pages, with the CV and the bank
    account, to themselves.
    """
    personal = fn.EXISTS(Document.select(Document.id).where(Document.enrolment == enrolment.id))
    with atomic_write():
        before = Enrolment.get_by_id(enrolment.id)
        changed = (Enrolment.update(updated_at=utcnow(), **data.model_fields())
                   .where((Enrolment.id == enrolment.id) & Enrolment.status.in_(HR_EDITABLE)
                          & ((Enrolment.employee_email == data.employee_email)
                             | ((Enrolment.payout_iban == "") & ~personal)))
                   .execute())
        if not changed:
            if before.status in HR_EDITABLE:
                raise EnrollmentError(_l("%(name)s has already added documents or an IBAN on their own pages, so their e-mail address cannot change. Withdraw this enrolment and enrol them again with the new address.", name=before.employee_name), "employee_email")
            raise EnrollmentError(_l("This enrolment is already matched to a school, so its details can no longer change. Ask the project leader."))
        EnrolmentSlot.delete().where(EnrolmentSlot.enrolment == enrolment.id).execute()
        try:
            with database.atomic():
                EnrolmentSlot.insert_many(_slots(enrolment.id, enrolment.company_id, data)).execute()
        except peewee.IntegrityError as exc:
            raise _overlap_error(data) from exc
        new_address = before.employee_email != data.employee_email
        audit.record("enrollment.updated", actor=actor, company=enrolment.company_id, obj=enrolment,
                     fields=sorted(data.model_fields()), email_changed=new_address)
        updated = Enrolment.get_by_id(enrolment.id)
        if new_address:
            end_employee_access(updated)
            _send_access_link(updated, actor)
            audit.record("enrollment.link_sent", actor=actor, company=enrolment.company_id, obj=enrolment)
    return updated


# --- the status workflow -----------------------------------------------------------------

def allowed_moves(enrolment: Enrolment, actor: User) -> tuple[str, ...]:
    moves = TRANSITIONS[enrolment.status]
    if actor is not None and actor.is_leader:
        return moves
    return tuple(m for m in moves if m == "withdrawn")


def move(enrolment: Enrolment, to: str, actor: User, *, reason: str = "", school: School | None = None,
         group_name: str = "", teacher_name: str = "", today: dt.date | None = None) -> Enrolment:
    """Move an enrolment to another status, or refuse with a clear message; audited and mailed."""
    from portal.enrollment import hours

    today = today or clock.today()
    if to not in STATUSES:
        raise EnrollmentError(_l("Unknown status."))
    before = enrolment.status
    if to not in TRANSITIONS[before]:
        raise EnrollmentError(_l("An enrolment that is %(now)s cannot become %(to)s.",
                                 now=str(STATUS_LABELS[before]).lower(), to=str(STATUS_LABELS[to]).lower()))
    if to not in allowed_moves(enrolment, actor):
        raise EnrollmentError(_l("Only the project leader can make this move."))
    changes: dict[str, Any] = {"status": to, "status_changed_at": utcnow(), "updated_at": utcnow()}
    reason = (reason or "").strip()
    if to == "withdrawn":
        if not reason:
            raise EnrollmentError(_l("Give a reason for the withdrawal."), "reason")
        if len(reason) > 1000:
            raise EnrollmentError(_l("Use at most %(count)d characters.", count=1000), "reason")
        changes["withdrawn_reason"] = reason
    if to == "matched":
        if school is None or not school.is_active:
            raise EnrollmentError(_l("Choose the school."), "school")
        if not group_name.strip():
            raise EnrollmentError(_l("Enter the group or class."), "group_name")
        if not teacher_name.strip():
            raise EnrollmentError(_l("Enter the teacher's name."), "teacher_name")
        changes.update(school=school.id, group_name=group_name.strip()[:60], teacher_name=teacher_name.strip()[:200],
                       matched_at=utcnow())
    if to == "intake" and before == "matched":
        changes.update(school=None, group_name="", teacher_name="", matched_at=None)
    if to == "active" and enrolment.vog_status != "received":
        raise EnrollmentError(_l("An ambassador can only start with a VOG: record the VOG as received first."))
    with atomic_write():
        updated = (Enrolment.update(**changes)
                   .where((Enrolment.id == enrolment.id) & (Enrolment.status == before)).execute())
        if not updated:
            now = Enrolment.get_by_id(enrolment.id).status
            raise EnrollmentError(_l("Someone else changed this enrolment a moment ago: it is now %(now)s. Please look again.",
                                     now=str(STATUS_LABELS[now]).lower()))
        enrolment = Enrolment.get_by_id(enrolment.id)
        planned = 0
        if to == "matched":
            planned = hours.sync_planned_sessions(enrolment)
        elif to == "intake":
            hours.drop_open_planned(enrolment, after=None)
        elif to == "withdrawn":
            EnrolmentSlot.delete().where(EnrolmentSlot.enrolment == enrolment.id).execute()
            hours.drop_open_planned(enrolment, after=today - dt.timedelta(days=1))
        elif to == "completed":
            hours.drop_open_planned(enrolment, after=today)
        audit.record("enrollment.status", actor=actor, company=enrolment.company_id, obj=enrolment,
                     before=before, after=to, reason=reason, school=enrolment.school_id, planned_sessions=planned)
        _mail_status(enrolment, before, actor)
    return enrolment


def update_vog(enrolment: Enrolment, actor: User, status: str, on: dt.date | None,
               today: dt.date | None = None) -> Enrolment:
    """Record the VOG's progress (HR or the project leader)."""
    today = today or clock.today()
    if status not in VOG_STATUSES:
        raise EnrollmentError(_l("Choose not requested, requested, received or refused."), "vog_status")
    if status == "received" and on is None:
        raise EnrollmentError(_l("Enter the date of the VOG."), "vog_date")
    if on is not None and on > today:
        raise EnrollmentError(_l("This date is in the future."), "vog_date")
    if enrolment.status in ("completed", "withdrawn"):
        raise EnrollmentError(_l("This enrolment is closed."))
    changes = {"vog_status": status, "updated_at": utcnow(),
               "vog_requested_on": on if status == "requested" else enrolment.vog_requested_on,
               "vog_received_on": on if status == "received" else None}
    with atomic_write():
        Enrolment.update(**changes).where(Enrolment.id == enrolment.id).execute()
        audit.record("enrollment.vog", actor=actor, company=enrolment.company_id, obj=enrolment,
                     before=enrolment.vog_status, after=status, on=on)
    return Enrolment.get_by_id(enrolment.id)


def set_payout_iban(enrolment: Enrolment, text: str) -> Enrolment:
    """The ambassador's own IBAN for the volunteer allowance."""
    cleaned = (text or "").strip()
    if cleaned:
        try:
            cleaned = stdnum_iban.validate(cleaned)
        except StdnumError as exc:
            raise EnrollmentError(_l("Enter a valid IBAN, such as NL91 ABNA 0417 1643 00."), "iban") from exc
    with atomic_write():
        # Only for the address the employee's session was opened with (HR may have changed it).
        saved = (Enrolment.update(payout_iban=cleaned, updated_at=utcnow())
                 .where((Enrolment.id == enrolment.id) & (Enrolment.employee_email == enrolment.employee_email))
                 .execute())
        if not saved:
            raise EnrollmentError(SESSION_ENDED)
        audit.record("enrollment.payout_iban", actor=None, company=enrolment.company_id, obj=enrolment,
                     by="ambassador", set=bool(cleaned))
    return Enrolment.get_by_id(enrolment.id)


# --- the employee's single-use link and session ------------------------------------------

def _send_access_link(enrolment: Enrolment, actor: User | None) -> None:
    """Mail a new link. Earlier unused links stay valid until they expire or one of them is
    used: whoever asks for a link (anyone can, with the employee's address) must not be able
    to cancel the one in the employee's mailbox."""
    raw = secrets.token_urlsafe(32)
    AccessLink.create(enrolment=enrolment.id, token_hash=_hash_token(raw), expires_at=utcnow() + LINK_LIFETIME)
    mail.send_template(enrolment.employee_email, "enrollment/invite", enrolment.language,
                       _l("Your place as onderwijsambassadeur: complete your details"),
                       enrolment=enrolment, company=enrolment.company, inviter=actor,
                       link=_external("enrollment.ambassador_welcome", token=raw), days=LINK_LIFETIME.days)


def end_employee_access(enrolment: Enrolment) -> None:
    """End every session and unused link of the employee (their address changed)."""
    AmbassadorSession.delete().where(AmbassadorSession.enrolment == enrolment.id).execute()
    AccessLink.delete().where((AccessLink.enrolment == enrolment.id) & AccessLink.used_at.is_null()).execute()


def resend_access_link(enrolment: Enrolment, actor: User | None) -> None:
    """Mail the employee a new link (earlier unused links keep working until one is used)."""
    if enrolment.status == "withdrawn":
        raise EnrollmentError(_l("This enrolment was withdrawn."))
    with atomic_write():
        _send_access_link(enrolment, actor)
        audit.record("enrollment.link_sent", actor=actor, company=enrolment.company_id, obj=enrolment)


def request_access_link(email: str) -> int:
    """An employee asks for a new link; silent about whether the address is known. At most
    PUBLIC_LINKS_PER_HOUR links an hour per enrolment leave this way (no mail bombing)."""
    cleaned = (email or "").strip().lower()
    if not cleaned or len(cleaned) > 254:
        return 0
    found = list(Enrolment.select(Enrolment, Company).join(Company)
                 .where((Enrolment.employee_email == cleaned) & Enrolment.status.in_(OPEN_STATUSES + ("completed",))))
    sent = 0
    with atomic_write():
        for enrolment in found:
            recent = (AccessLink.select().where((AccessLink.enrolment == enrolment.id)
                                                & (AccessLink.created_at > utcnow() - dt.timedelta(hours=1))).count())
            if recent >= PUBLIC_LINKS_PER_HOUR:
                continue
            _send_access_link(enrolment, None)
            audit.record("enrollment.link_requested", company=enrolment.company_id, obj=enrolment)
            sent += 1
    return sent


def link_is_valid(raw: str) -> bool:
    link = AccessLink.get_or_none(AccessLink.token_hash == _hash_token(raw or ""))
    return link is not None and link.used_at is None and link.expires_at > utcnow()


def _session_idle() -> dt.timedelta:
    """The same inactivity limit as a user's login session (PORTAL_SESSION_IDLE_MINUTES)."""
    return dt.timedelta(minutes=int(current_app.config.get("SESSION_IDLE_MINUTES", 120)))


def _session_expiry(created_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    return min(created_at + AMBASSADOR_SESSION_LIFETIME, now + _session_idle())


def open_access_link(raw: str) -> str | None:
    """Use a link once: returns the raw token of a new ambassador session, or None. The
    employee's other unused links end with it."""
    token_hash = _hash_token(raw or "")
    with atomic_write():
        link = AccessLink.get_or_none(AccessLink.token_hash == token_hash)
        if link is None:
            return None
        now = utcnow()
        used = (AccessLink.update(used_at=now)
                .where((AccessLink.id == link.id) & AccessLink.used_at.is_null() & (AccessLink.expires_at > now))
                .execute())
        if not used:
            return None
        enrolment = Enrolment.get_by_id(link.enrolment_id)
        if enrolment.status == "withdrawn":
            return None
        AccessLink.update(used_at=now).where((AccessLink.enrolment == enrolment.id)
                                             & AccessLink.used_at.is_null()).execute()
        session_raw = secrets.token_urlsafe(32)
        AmbassadorSession.delete().where(AmbassadorSession.expires_at <= now).execute()
        AmbassadorSession.create(enrolment=enrolment.id, token_hash=_hash_token(session_raw), created_at=now,
                                 expires_at=_session_expiry(now, now))
        audit.record("enrollment.link_used", company=enrolment.company_id, obj=enrolment)
    return session_raw


def ambassador_enrolment(raw_session: str | None) -> Enrolment | None:
    """The enrolment a live ambassador session belongs to. A session ends after
    SESSION_IDLE_MINUTES without a request and AMBASSADOR_SESSION_LIFETIME after the link."""
    if not raw_session:
        return None
    found = (AmbassadorSession.select(AmbassadorSession, Enrolment)
             .join(Enrolment).where(AmbassadorSession.token_hash == _hash_token(raw_session)).first())
    if found is None:
        return None
    now = utcnow()
    if found.expires_at <= now or found.enrolment.status == "withdrawn":
        AmbassadorSession.delete().where(AmbassadorSession.id == found.id).execute()
        return None
    expiry = _session_expiry(found.created_at, now)
    if abs((expiry - found.expires_at).total_seconds()) > AMBASSADOR_SESSION_TOUCH_SECONDS:
        AmbassadorSession.update(expires_at=expiry).where(AmbassadorSession.id == found.id).execute()
    return found.enrolment


def end_ambassador_session(raw_session: str | None) -> None:
    if raw_session:
        AmbassadorSession.delete().where(AmbassadorSession.token_hash == _hash_token(raw_session)).execute()


# --- mail ---------------------------------------------------------------------------------

def leaders() -> list[User]:
    return list(User.select().where((User.role == "leader") & User.is_active))


def _hr_recipients(enrolment: Enrolment) -> list[User]:
    """The HR colleague who enrolled the employee, else the company's administrators."""
    if enrolment.created_by_id:
        creator = User.get_or_none((User.id == enrolment.created_by_id) & User.is_active)
        if creator is not None:
            return [creator]
    return list(User.select().where((User.company == enrolment.company_id) & (User.role == "admin") & User.is_active))


def _mail_status(enrolment: Enrolment, before: str, actor: User | None) -> None:
    subject = _l("Onderwijsambassadeur %(name)s: %(status)s", name=enrolment.employee_name,
                 status=STATUS_LABELS[enrolment.status])
    context = dict(enrolment=enrolment, before=before, school=enrolment.school, weekday_labels=WEEKDAY_LABELS,
                   status_labels=STATUS_LABELS)
    mail.send_template(enrolment.employee_email, "enrollment/status", enrolment.language, subject,
                       for_employee=True, **context)
    for user in _hr_recipients(enrolment):
        mail.send_template(user.email, "enrollment/status", user.language, subject, for_employee=False,
                           recipient=user, **context)
    if actor is not None and not actor.is_leader:
        for leader in leaders():
            mail.send_template(leader.email, "enrollment/status", leader.language, subject, for_employee=False,
                               recipient=leader, **context)


def _tell_leaders_new(company: Company, created: list[Enrolment]) -> None:
    for leader in leaders():
        mail.send_template(leader.email, "enrollment/new_for_leader", leader.language,
                           _l("New enrolments from %(company)s", company=company.legal_name),
                           company=company, enrolments=created[:50], count=len(created),
                           link=_external("enrollment.leader_enrolments", company=company.id))


# --- reminders and the leader's attention list -------------------------------------------

def vog_missing(today: dt.date | None = None, horizon_days: int = VOG_REMINDER_DAYS):
    """Open enrolments without a received VOG that start within `horizon_days` (or started)."""
    today = today or clock.today()
    return (Enrolment.select(Enrolment, Company).join(Company)
            .where(Enrolment.status.in_(("submitted", "intake", "matched", "active"))
                   & (Enrolment.vog_status != "received")
                   & (Enrolment.starts_on <= today + dt.timedelta(days=horizon_days)))
            .order_by(Enrolment.starts_on, Company.legal_name, Enrolment.employee_name))


def send_vog_reminders(today: dt.date | None = None) -> int:
    """Remind employee, HR and the project leader once per enrolment; returns how many were new."""
    today = today or clock.today()
    due = list(vog_missing(today))
    already = reminder_sent(e.id for e in due)
    sent: list[Enrolment] = []
    with atomic_write():
        for enrolment in due:
            if enrolment.id in already:
                continue
            try:
                with database.atomic():
                    Reminder.create(enrolment=enrolment.id, kind="vog_missing")
            except peewee.IntegrityError:
                continue  # another run sent this one a moment ago
            sent.append(enrolment)
            context = dict(enrolment=enrolment, days=(enrolment.starts_on - today).days)
            mail.send_template(enrolment.employee_email, "enrollment/vog_reminder", enrolment.language,
                               _l("Reminder: your VOG (certificate of conduct)"), for_employee=True, **context)
            for user in _hr_recipients(enrolment):
                mail.send_template(user.email, "enrollment/vog_reminder", user.language,
                                   _l("Reminder: VOG of %(name)s", name=enrolment.employee_name),
                                   for_employee=False, **context)
        if sent:
            for leader in leaders():
                mail.send_template(leader.email, "enrollment/vog_summary", leader.language,
                                   lazy_ngettext("VOG still missing for %(num)d ambassador",
                                                 "VOG still missing for %(num)d ambassadors", len(sent)),
                                   enrolments=sent, link=_external("enrollment.leader_reminders"))
            audit.record("enrollment.vog_reminders", count=len(sent), ids=[e.id for e in sent])
    return len(sent)


def reminder_sent(enrolment_ids) -> set[int]:
    ids = list(enrolment_ids)
    if not ids:
        return set()
    return {r for (r,) in Reminder.select(Reminder.enrolment).where(
        Reminder.enrolment.in_(ids) & (Reminder.kind == "vog_missing")).tuples()}


def start_passed_not_active(today: dt.date | None = None):
    today = today or clock.today()
    return (Enrolment.select(Enrolment, Company).join(Company)
            .where((Enrolment.status == "matched") & (Enrolment.starts_on <= today))
            .order_by(Enrolment.starts_on))


def awaiting_confirmation_count() -> int:
    return HoursEntry.select().where(HoursEntry.status.in_(("reported", "absent"))).count()
