"""Schools and calendars, the project leader's data: schools (unique BRIN), school years,
holidays and days off (which re-plan open sessions) and the allowance caps."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import peewee
from flask_babel import lazy_gettext as _l
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.nl import brin as stdnum_brin

from portal.accounts.models import User
from portal.core import audit
from portal.core.db import atomic_write, database
from portal.enrollment import hours
from portal.enrollment.base import EnrollmentError
from portal.enrollment.models import AllowanceCap, Closure, Enrolment, School, SchoolYear


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
