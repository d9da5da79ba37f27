"""Parsing what HR typed (form fields and CSV cells alike) and validating an enrolment: one
set of rules for the form and the CSV import."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company
from portal.core import clock, money
from portal.enrollment.base import EnrollmentError
from portal.enrollment.calendar import placement_period
from portal.enrollment.models import (
    FUNDING_MODELS,
    MAX_WEEK_MINUTES,
    MIN_WEEK_MINUTES,
    ROLE_TYPES,
    Enrolment,
    EnrolmentSlot,
    SchoolYear,
)
from portal.enrollment.reference import Calendars, calendar_for, school_years

MAX_HOURLY_COST_CENTS = 100_000  # EUR 1,000 an hour: anything above is a typing mistake

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
    """'2026-09', '09-2026', 'september 2026', 'feb 2027' or an ISO date -> (year, month); also what
    a spreadsheet makes of '2026-09' when it opens and saves the template: the first of the month,
    day first ('1-9-2026'), or a month and a short year ('sep-26')."""
    cleaned = (text or "").strip().lower()
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})(?:[-/.]\d{1,2})?", cleaned, re.ASCII)
    if match:
        return int(match.group(1)), int(match.group(2))
    # '09-2026', or the first of the month as a spreadsheet writes it day first ('1-9-2026'); another
    # day is refused rather than guessed (is '9/2/2026' the 9th of February or the 2nd of September?).
    match = re.fullmatch(r"(?:0?1[-/.])?(\d{1,2})[-/.](\d{4})", cleaned, re.ASCII)
    if match:
        return int(match.group(2)), int(match.group(1))
    # A short year only after a hyphen, as a spreadsheet writes it ('sep-26'): 'sep 27' may be a day.
    match = re.fullmatch(r"([a-z]+)\.?(?:[\s-]*(\d{4})|-(\d{2}))", cleaned, re.ASCII)
    if match:
        year = int(match.group(2)) if match.group(2) else 2000 + int(match.group(3))
        for number, words in MONTH_WORDS.items():
            if match.group(1) in words:
                return year, number
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
