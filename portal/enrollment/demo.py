"""Demo enrolments, schools and hours.

The first company (Bouwgroep Domstad) gets 10 x scale ambassadors, so the HR dashboard
benchmark sees a thousand ambassadors at --scale 100; the others get a few each. Rows go
in with insert_many in chunks: --scale 100 stays a matter of seconds.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from portal.core import audit, clock
from portal.core.db import atomic_write, utcnow
from portal.enrollment import allowance, reference
from portal.enrollment.calendar import (
    expected_sessions,
    placement_period,
    split_minutes,
    value_cents,
)
from portal.enrollment.models import (
    Closure,
    Enrolment,
    EnrolmentSlot,
    HoursEntry,
    School,
    SchoolYear,
)

CHUNK = 500
SCHOOLS = (
    ("OBS De Klimop", "12KL", "Zamenhofdreef 2", "3562 JT"),
    ("Basisschool De Zonnewijzer", "14ZW", "Marnixlaan 51", "3552 HA"),
    ("CBS Het Kompas", "17KP", "Pijlstaartlaan 6", "3523 BL"),
    ("Montessorischool Lunetten", "20ML", "Hondsdraf 1", "3524 AB"),
    ("OBS Overvecht-Noord", "23ON", "Hooft Graaflandstraat 20", "3525 PE"),
    ("Jenaplanschool De Boomgaard", "26BG", "Boomgaardlaan 14", "3571 TH"),
    ("Basisschool Kanaleneiland", "29KE", "Marshalllaan 90", "3527 TK"),
    ("Daltonschool Leidsche Rijn", "31LR", "Vleutenseweg 300", "3532 HP"),
)
TEACHERS = ("mevrouw Jansen", "meester Bakker", "juf Aylin", "meester Koster", "juf Sanne", "juf Priya")
JOBS = ("Project engineer", "Werkvoorbereider", "Data analyst", "Verpleegkundige", "Software developer",
        "Controller", "HR-adviseur", "Planner", "Teamleider", "Accountmanager")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]+", ".", ascii_text.lower()).strip(".")


def _chunks(rows: list[dict]):
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def fill(context) -> None:
    """Schools, enrolments in every status, and a register of hours up to today."""
    rng = context.rng
    today = clock.today()
    reference.seed_reference_data()
    year = SchoolYear.get(SchoolYear.name == "2026-2027")
    with atomic_write():
        schools = []
        for name, brin, street, postcode in SCHOOLS:
            schools.append(School.create(name=name, brin=brin, street=street, postcode=postcode, city="Utrecht",
                                         coordinator_name=" ".join(context.person_name()),
                                         coordinator_email=f"ic@{_slug(name).replace('.', '')}.nl"))
        # One school takes the common two-week May holiday.
        Closure.create(school_year=year, school=schools[1], kind="holiday", name="May holiday (second week)",
                               starts_on=dt.date(2027, 5, 3), ends_on=dt.date(2027, 5, 9))
        calendars = reference.Calendars([year])
        now = utcnow()

        rows: list[dict] = []
        for index, company in enumerate(context.companies):
            if index == 0:
                count = max(12, 10 * context.scale)
            elif index < 3:
                count = 8
            else:  # at benchmark scale every company has a team (30 x scale ambassadors in all)
                count = rng.randrange(0, 5) if context.scale == 1 else rng.randrange(4, 11)
            domain = company.billing_email.split("@", 1)[1]
            for n in range(count):
                first, last = context.person_name()
                half = "second" if rng.random() < 0.2 else "first"
                duration = "half" if half == "second" or rng.random() < 0.3 else "full"
                starts_on, ends_on = placement_period(calendars.get(year.id), half, duration)
                minutes = rng.choice((360, 420, 450, 480))
                funding = rng.choices(("sponsored", "volunteer", "mixed"), (6, 2, 2))[0]
                sponsored = {"sponsored": minutes, "volunteer": 0, "mixed": minutes // 2}[funding]
                started = starts_on <= today
                if started:
                    status = rng.choices(("active", "matched", "withdrawn", "intake"), (85, 4, 5, 6))[0]
                else:
                    status = rng.choices(("submitted", "intake", "matched"), (4, 4, 2))[0]
                vog = "received" if status in ("active", "withdrawn") else rng.choice(("not_requested", "requested", "received"))
                school = rng.choice(schools) if status in ("matched", "active", "withdrawn") else None
                rows.append({
                    "company": company.id, "created_by": context.admins[company.id].id,
                    "employee_name": f"{first} {last}", "employee_email": f"{_slug(first)}.{_slug(last)}.{n}@{domain}",
                    "job_title": rng.choice(JOBS), "department": rng.choice(("", "Operations", "ICT", "Finance", "Zorg")),
                    "language": company.language, "role_type": "thematic" if rng.random() < 0.08 else "class",
                    "school_year": year.id, "start_half": half, "duration": duration, "starts_on": starts_on,
                    "ends_on": ends_on, "weekday": rng.randrange(0, 5), "minutes_per_week": minutes,
                    "funding": funding, "sponsored_minutes_per_week": sponsored,
                    "hourly_cost_cents": company.hourly_cost_cents if sponsored else None,
                    "under_21": False, "vog_status": vog,
                    "vog_received_on": starts_on - dt.timedelta(days=rng.randrange(5, 40)) if vog == "received" else None,
                    "vog_requested_on": today - dt.timedelta(days=7) if vog == "requested" else None,
                    "status": status, "status_changed_at": now,
                    "withdrawn_reason": "Nieuwe functie, geen tijd meer" if status == "withdrawn" else "",
                    "school": school.id if school else None,
                    "group_name": f"groep {rng.randrange(1, 9)}{rng.choice('abc')}" if school else "",
                    "teacher_name": rng.choice(TEACHERS) if school else "",
                    "matched_at": now if school else None, "created_at": now, "updated_at": now,
                })
        for chunk in _chunks(rows):
            Enrolment.insert_many(chunk).execute()
        enrolments = list(Enrolment.select().where(Enrolment.school_year == year.id))

        slots = []
        for e in enrolments:
            if e.status == "withdrawn":
                continue
            for half in (("first", "second") if e.duration == "full" else (e.start_half,)):
                slots.append({"enrolment": e.id, "company": e.company_id, "employee_email": e.employee_email,
                              "school_year": year.id, "half": half})
        for chunk in _chunks(slots):
            EnrolmentSlot.insert_many(chunk).execute()

        leader = context.leader
        entries = []
        for e in enrolments:
            if e.status not in ("matched", "active", "withdrawn"):
                continue
            calendar = calendars.get(year.id, e.school_id)
            for day in expected_sessions(calendar, e.weekday, e.starts_on, e.ends_on, e.role_type):
                if e.status == "withdrawn" and day > today - dt.timedelta(days=30):
                    break
                minutes = e.minutes_per_week
                status, reported = "planned", False
                if e.status != "matched" and day <= today:
                    age = (today - day).days
                    roll = rng.random()
                    if roll < 0.05:
                        status, minutes, reported = ("absent" if age < 14 else "confirmed"), 0, True
                    elif age >= 14 or roll < 0.55:
                        status, reported = ("confirmed" if age >= 14 else "reported"), True
                        minutes = minutes + rng.choice((0, 0, 0, -30, 30))
                sponsored, volunteered = split_minutes(minutes, e.minutes_per_week, e.sponsored_minutes_per_week)
                confirmed = status == "confirmed"
                entries.append({
                    "enrolment": e.id, "company": e.company_id, "worked_on": day, "kind": "planned", "status": status,
                    "minutes": minutes, "sponsored_minutes": sponsored, "volunteered_minutes": volunteered,
                    "hourly_cost_cents": e.hourly_cost_cents if confirmed else None,
                    "value_cents": value_cents(sponsored, e.hourly_cost_cents) if confirmed else 0,
                    "dedupe_key": f"p:{e.id}:{day}", "reported_via": "ambassador" if reported else "",
                    "reported_at": now if reported else None, "decided_by": leader.id if confirmed else None,
                    "decided_at": now if confirmed else None, "created_at": now,
                })
        for chunk in _chunks(entries):
            HoursEntry.insert_many(chunk).execute()
        audit.record("enrollment.demo_filled", actor=leader, enrolments=len(rows), hours_rows=len(entries),
                     schools=len(schools))
        if context.scale > 1:
            _history(context, year, schools, rows)
    allowance.build_ledger(leader, today.replace(day=1) - dt.timedelta(days=1))


HISTORY_YEARS = 4


def _history(context, current, schools, current_rows: list[dict]) -> None:
    """Benchmark volume (--scale above 1): the current ambassadors also served the four school years
    before this one, each a whole year, completed, every session confirmed. Past calendars are the
    seeded year moved back by whole weeks, so weekdays and holidays fall as they do now. At --scale 100
    that is 12,000 past placements and more than 500,000 hour entries, inserted in bulk."""
    rng = context.rng
    now = utcnow()
    leader = context.leader
    closures = list(Closure.select().where((Closure.school_year == current.id) & Closure.school.is_null()))
    for back in range(HISTORY_YEARS, 0, -1):
        shift = dt.timedelta(weeks=52 * back)
        first = current.starts_on.year - back
        year = SchoolYear.create(name=f"{first}-{first + 1}", region=current.region,
                                 starts_on=current.starts_on - shift, ends_on=current.ends_on - shift,
                                 half_starts_on=current.half_starts_on - shift,
                                 allowance_monthly_cents=current.allowance_monthly_cents)
        Closure.insert_many([{"school_year": year.id, "school": None, "kind": c.kind, "name": c.name,
                              "starts_on": c.starts_on - shift, "ends_on": c.ends_on - shift} for c in closures]).execute()
        calendar = reference.Calendars([year]).get(year.id)
        starts_on, ends_on = placement_period(calendar, "first", "full")
        rows = [{**row, "school_year": year.id, "start_half": "first", "duration": "full", "starts_on": starts_on,
                 "ends_on": ends_on, "status": "completed", "vog_status": "received",
                 "vog_received_on": starts_on - dt.timedelta(days=20), "vog_requested_on": None,
                 "withdrawn_reason": "", "school": rng.choice(schools).id,
                 "group_name": f"groep {rng.randrange(1, 9)}{rng.choice('abc')}", "teacher_name": rng.choice(TEACHERS),
                 "matched_at": now, "status_changed_at": now} for row in current_rows]
        for chunk in _chunks(rows):
            Enrolment.insert_many(chunk).execute()
        enrolments = list(Enrolment.select(Enrolment.id, Enrolment.company, Enrolment.employee_email,
                                           Enrolment.weekday, Enrolment.role_type, Enrolment.minutes_per_week,
                                           Enrolment.sponsored_minutes_per_week, Enrolment.hourly_cost_cents)
                          .where(Enrolment.school_year == year.id))
        slots = [{"enrolment": e.id, "company": e.company_id, "employee_email": e.employee_email,
                  "school_year": year.id, "half": half} for e in enrolments for half in ("first", "second")]
        for chunk in _chunks(slots):
            EnrolmentSlot.insert_many(chunk).execute()
        entries = []
        for e in enrolments:
            for day in expected_sessions(calendar, e.weekday, starts_on, ends_on, e.role_type):
                minutes = 0 if rng.random() < 0.04 else e.minutes_per_week
                sponsored, volunteered = split_minutes(minutes, e.minutes_per_week, e.sponsored_minutes_per_week)
                entries.append({
                    "enrolment": e.id, "company": e.company_id, "worked_on": day, "kind": "planned",
                    "status": "confirmed", "minutes": minutes, "sponsored_minutes": sponsored,
                    "volunteered_minutes": volunteered, "hourly_cost_cents": e.hourly_cost_cents,
                    "value_cents": value_cents(sponsored, e.hourly_cost_cents), "dedupe_key": f"p:{e.id}:{day}",
                    "reported_via": "ambassador", "reported_at": now, "decided_by": leader.id, "decided_at": now,
                    "created_at": now,
                })
            if len(entries) >= 20 * CHUNK:
                for chunk in _chunks(entries):
                    HoursEntry.insert_many(chunk).execute()
                entries = []
        for chunk in _chunks(entries):
            HoursEntry.insert_many(chunk).execute()
        audit.record("enrollment.demo_history", actor=leader, school_year=year.name, enrolments=len(rows))
