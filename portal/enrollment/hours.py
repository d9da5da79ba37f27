"""The hours register: sessions planned from the calendar, reported by the ambassador or HR,
confirmed or rejected by the project leader, and corrected only by reversal entries.

Status of a row: planned -> reported | absent -> confirmed | rejected (-> reported again).
A confirmed row is never updated again; `correct_entry` adds a reversal row (the same
minutes and value, negative) and optionally a correction row with the right minutes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import peewee
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from portal.accounts.models import Company, User
from portal.core import audit, clock, hooks, ledger, mail
from portal.core.contributions import Contribution
from portal.core.db import atomic_write, database, dated, utcnow
from portal.enrollment import allowance
from portal.enrollment.base import EnrollmentError
from portal.enrollment.calendar import split_minutes, value_cents
from portal.enrollment.models import MAX_SESSION_MINUTES, Enrolment, HoursEntry, School
from portal.enrollment.reference import Calendars
from portal.enrollment.reminders import _hr_recipients

REPORTABLE_ENROLMENT = ("active", "completed", "withdrawn")
OPEN_FOR_REPORT = ("planned", "rejected")
AWAITING_DECISION = ("reported", "absent")
MAX_NOTE = 500


def _key(kind: str, *parts) -> str:
    return kind + ":" + ":".join(str(p) for p in parts)


def _row(enrolment: Enrolment, day: dt.date, minutes: int, kind: str, status: str, key: str, **extra) -> dict:
    sponsored, volunteered = split_minutes(minutes, enrolment.minutes_per_week, enrolment.sponsored_minutes_per_week)
    row = {"enrolment": enrolment.id, "company": enrolment.company_id, "worked_on": day, "kind": kind,
           "status": status, "minutes": minutes, "sponsored_minutes": sponsored,
           "volunteered_minutes": volunteered, "dedupe_key": key, "created_at": utcnow()}
    row.update(extra)
    return row


# --- planning ----------------------------------------------------------------------------

def sync_planned_sessions(enrolment: Enrolment, calendars: Calendars | None = None) -> int:
    """Make the planned rows match the calendar: add missing dates, drop untouched rows no
    longer on it. Reported, confirmed or rejected rows are never touched. Returns rows added."""
    calendars = calendars or Calendars.for_ids([enrolment.school_year_id])
    wanted = set(calendars.sessions(enrolment))
    existing = {day: (entry_id, status) for entry_id, day, status in
                HoursEntry.select(HoursEntry.id, HoursEntry.worked_on, HoursEntry.status)
                .where((HoursEntry.enrolment == enrolment.id) & (HoursEntry.kind == "planned")).tuples()}
    stale = [entry_id for day, (entry_id, status) in existing.items() if day not in wanted and status == "planned"]
    if stale:
        HoursEntry.delete().where(HoursEntry.id.in_(stale) & (HoursEntry.status == "planned")).execute()
    rows = [_row(enrolment, day, enrolment.minutes_per_week, "planned", "planned", _key("p", enrolment.id, day))
            for day in sorted(wanted - set(existing))]
    for start in range(0, len(rows), 200):
        HoursEntry.insert_many(rows[start:start + 200]).on_conflict_ignore().execute()
    return len(rows)


def resync_school_year(year_id: int, school_id: int | None = None) -> int:
    """Re-plan matched and active placements after the calendar changed; returns how many."""
    query = Enrolment.select().where((Enrolment.school_year == year_id) & Enrolment.status.in_(("matched", "active")))
    if school_id is not None:
        query = query.where(Enrolment.school == school_id)
    calendars = Calendars.for_ids([year_id])
    count = 0
    for enrolment in query:
        sync_planned_sessions(enrolment, calendars)
        count += 1
    return count


def drop_open_planned(enrolment: Enrolment, after: dt.date | None) -> int:
    """Remove planned rows nobody reported (all of them, or those after a date)."""
    query = HoursEntry.delete().where((HoursEntry.enrolment == enrolment.id) & (HoursEntry.kind == "planned")
                                      & (HoursEntry.status == "planned"))
    if after is not None:
        query = query.where(HoursEntry.worked_on > after)
    return query.execute()


# --- the ambassador's and HR's side: report sessions, add extra ones ---------------------

@dataclass(frozen=True)
class SessionReport:
    entry_id: int
    attended: bool
    minutes: int | None = None
    note: str = ""


def register(enrolment: Enrolment) -> list[HoursEntry]:
    """Every row of one placement, in date order (reversals after what they reverse)."""
    return list(HoursEntry.select().where(HoursEntry.enrolment == enrolment.id)
                .order_by(HoursEntry.worked_on, HoursEntry.id))


def _check_reportable(enrolment: Enrolment) -> None:
    if enrolment.status not in REPORTABLE_ENROLMENT:
        raise EnrollmentError(_l("Hours can be reported once the placement is active."))


def _refuse_closed_days(days: Iterable[dt.date], field_name: str | None = None) -> None:
    """Sessions are not reported or added in a closed month: it changes only through the project
    leader's corrections (which the ledger books in the first open month)."""
    for day in sorted(set(days)):
        if ledger.is_closed(day):
            raise EnrollmentError(_l("%(day)s lies in a period the project leader has closed: hours of that period "
                                     "change only through a correction by the project leader.", day=day.isoformat()),
                                  field_name)


def report_sessions(enrolment: Enrolment, reports: Iterable[SessionReport], *, actor: User | None,
                    via: str, today: dt.date | None = None) -> int:
    """Report sessions as attended (with their minutes) or absent; all or nothing."""
    today = today or clock.today()
    reports = list(reports)
    _check_reportable(enrolment)
    if not reports:
        raise EnrollmentError(_l("Choose at least one session."))
    entries = {e.id: e for e in HoursEntry.select().where(
        (HoursEntry.enrolment == enrolment.id) & HoursEntry.id.in_([r.entry_id for r in reports]))}
    for report in reports:
        entry = entries.get(report.entry_id)
        if entry is None or entry.kind not in ("planned", "extra"):
            raise EnrollmentError(_l("That session does not belong to this placement."))
        if entry.status not in OPEN_FOR_REPORT:
            raise EnrollmentError(_l("The session of %(day)s was already reported; only the project leader can change it now.", day=entry.worked_on.isoformat()))
        if entry.worked_on > today:
            raise EnrollmentError(_l("The session of %(day)s is still to come: report it on or after that day.", day=entry.worked_on.isoformat()))
        if report.attended and not (report.minutes and 0 < report.minutes <= MAX_SESSION_MINUTES):
            raise EnrollmentError(_l("Enter the hours of %(day)s: more than 0 and at most 12.", day=entry.worked_on.isoformat()))
        if len(report.note) > MAX_NOTE:
            raise EnrollmentError(_l("Use at most %(count)d characters.", count=MAX_NOTE))
    _refuse_closed_days(entries[r.entry_id].worked_on for r in reports)
    now = utcnow()
    with atomic_write():
        for report in reports:
            minutes = report.minutes if report.attended else 0
            sponsored, volunteered = split_minutes(minutes, enrolment.minutes_per_week,
                                                   enrolment.sponsored_minutes_per_week)
            updated = (HoursEntry.update(status="reported" if report.attended else "absent", minutes=minutes,
                                         sponsored_minutes=sponsored, volunteered_minutes=volunteered,
                                         note=report.note.strip(), reported_by=actor, reported_via=via,
                                         reported_at=now, decision_reason="", decided_by=None, decided_at=None)
                       .where((HoursEntry.id == report.entry_id) & HoursEntry.status.in_(OPEN_FOR_REPORT)).execute())
            if not updated:
                raise EnrollmentError(_l("Someone else reported these sessions a moment ago. Please look again."))
        audit.record("enrollment.hours_reported", actor=actor, company=enrolment.company_id, obj=enrolment, via=via,
                     entries={r.entry_id: (r.minutes if r.attended else 0) for r in reports})
    return len(reports)


def add_extra_session(enrolment: Enrolment, day: dt.date, minutes: int, note: str, *, actor: User | None,
                      via: str, today: dt.date | None = None) -> HoursEntry:
    """Record a session outside the plan (a swapped day, a training Thursday, a lesson series)."""
    today = today or clock.today()
    _check_reportable(enrolment)
    if day > today:
        raise EnrollmentError(_l("Report a session on or after its day."), "worked_on")
    if not enrolment.starts_on <= day <= enrolment.ends_on:
        raise EnrollmentError(_l("The date must fall within the placement (%(start)s to %(end)s).",
                                 start=enrolment.starts_on.isoformat(), end=enrolment.ends_on.isoformat()), "worked_on")
    if not 0 < minutes <= MAX_SESSION_MINUTES:
        raise EnrollmentError(_l("Enter more than 0 and at most 12 hours."), "hours")
    if len(note or "") > MAX_NOTE:
        raise EnrollmentError(_l("Use at most %(count)d characters.", count=MAX_NOTE), "note")
    _refuse_closed_days([day], "worked_on")
    with atomic_write():
        planned = HoursEntry.select().where((HoursEntry.enrolment == enrolment.id) & (HoursEntry.worked_on == day)
                                            & (HoursEntry.kind == "planned")).exists()
        if planned:
            raise EnrollmentError(_l("There is already a session on that day: report its hours there."), "worked_on")
        try:
            with database.atomic():
                entry = HoursEntry.create(**_row(enrolment, day, minutes, "extra", "reported",
                                                 _key("x", enrolment.id, day), note=(note or "").strip(),
                                                 reported_by=actor, reported_via=via, reported_at=utcnow(),
                                                 created_by=actor))
        except peewee.IntegrityError as exc:
            raise EnrollmentError(_l("An extra session on that day is already in the register."), "worked_on") from exc
        audit.record("enrollment.hours_extra", actor=actor, company=enrolment.company_id, obj=entry, via=via,
                     enrolment=enrolment.id, worked_on=day, minutes=minutes)
    return entry


# --- the project leader's side: decide in bulk, correct by reversal -----------------------

def awaiting_decision(company_id: int | None = None, limit: int = 500):
    query = (HoursEntry.select(HoursEntry, Enrolment, Company)
             .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
             .join(Company, on=(Enrolment.company == Company.id))
             .where(HoursEntry.status.in_(AWAITING_DECISION))
             .order_by(Company.legal_name, Enrolment.employee_name, HoursEntry.worked_on))
    if company_id:
        query = query.where(HoursEntry.company == company_id)
    return query.limit(limit)


def decide_entries(entry_ids: Iterable[int], actor: User, *, approve: bool, reason: str = "") -> tuple[int, int]:
    """Confirm or reject reported sessions in bulk; returns (decided, skipped).

    Confirming freezes the row: the hourly cost and value are copied onto it then.
    """
    ids = sorted({int(i) for i in entry_ids})
    reason = (reason or "").strip()
    if not ids:
        raise EnrollmentError(_l("Choose at least one session."))
    if not approve and not reason:
        raise EnrollmentError(_l("Give a reason for the rejection: the ambassador and HR will read it."), "reason")
    if len(reason) > MAX_NOTE:
        raise EnrollmentError(_l("Use at most %(count)d characters.", count=MAX_NOTE), "reason")
    now = utcnow()
    decided = 0
    rejected_by_enrolment: dict[int, list[HoursEntry]] = defaultdict(list)
    with atomic_write():
        rows = list(HoursEntry.select(HoursEntry.id, HoursEntry.enrolment, Enrolment.hourly_cost_cents,
                                      HoursEntry.worked_on)
                    .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
                    .where(HoursEntry.id.in_(ids) & HoursEntry.status.in_(AWAITING_DECISION)).tuples())
        if approve:
            by_rate: dict[int | None, list[int]] = defaultdict(list)
            for entry_id, _enrolment_id, rate, _day in rows:
                by_rate[rate].append(entry_id)
            for rate, group in by_rate.items():
                value = ((HoursEntry.sponsored_minutes * rate + 30) / 60) if rate else 0
                for start in range(0, len(group), 500):
                    decided += (HoursEntry.update(status="confirmed", hourly_cost_cents=rate, value_cents=value,
                                                  decided_by=actor, decided_at=now, decision_reason=reason)
                                .where(HoursEntry.id.in_(group[start:start + 500])
                                       & HoursEntry.status.in_(AWAITING_DECISION)).execute())
            for start in range(0, len(rows), 500):
                _post_confirmed([r[0] for r in rows[start:start + 500]], decided_at=now)
        else:
            found = [r[0] for r in rows]
            for start in range(0, len(found), 500):
                decided += (HoursEntry.update(status="rejected", decided_by=actor, decided_at=now,
                                              decision_reason=reason)
                            .where(HoursEntry.id.in_(found[start:start + 500])
                                   & HoursEntry.status.in_(AWAITING_DECISION)).execute())
            for entry in (HoursEntry.select().where(HoursEntry.id.in_(found) & (HoursEntry.status == "rejected"))
                          .order_by(HoursEntry.worked_on)):
                rejected_by_enrolment[entry.enrolment_id].append(entry)
        audit.record("enrollment.hours_confirmed" if approve else "enrollment.hours_rejected", actor=actor,
                     object_type="hours_entry", object_id=f"{len(ids)} rows", ids=[r[0] for r in rows],
                     reason=reason, decided=decided)
        for enrolment in Enrolment.select().where(Enrolment.id.in_(list(rejected_by_enrolment))):
            _mail_rejection(enrolment, rejected_by_enrolment[enrolment.id], reason)
    return decided, len(ids) - decided


def _mail_rejection(enrolment: Enrolment, entries: list[HoursEntry], reason: str) -> None:
    subject = _l("Hours not confirmed: %(name)s", name=enrolment.employee_name)
    mail.send_template(enrolment.employee_email, "enrollment/hours_rejected", enrolment.language, subject,
                       enrolment=enrolment, entries=entries, reason=reason, for_employee=True)
    for user in _hr_recipients(enrolment):
        mail.send_template(user.email, "enrollment/hours_rejected", user.language, subject,
                           enrolment=enrolment, entries=entries, reason=reason, for_employee=False)


def correct_entry(entry_id: int, actor: User, reason: str, new_minutes: int | None = None) -> tuple[HoursEntry, HoursEntry | None]:
    """Cancel a confirmed row with a reversal and, optionally, state the right minutes.

    Both new rows are confirmed at once (the project leader makes them) and name who, when
    and why. Returns (reversal, correction or None).
    """
    reason = (reason or "").strip()
    if not actor.is_leader:
        raise EnrollmentError(_l("Only the project leader can correct confirmed hours."))
    if not reason:
        raise EnrollmentError(_l("Give a reason for the correction."), "reason")
    if len(reason) > MAX_NOTE:
        raise EnrollmentError(_l("Use at most %(count)d characters.", count=MAX_NOTE), "reason")
    if new_minutes is not None and not 0 <= new_minutes <= MAX_SESSION_MINUTES:
        raise EnrollmentError(_l("Enter at most 12 hours."), "hours")
    now = utcnow()
    with atomic_write():
        original = HoursEntry.get_or_none(HoursEntry.id == entry_id)
        if original is None:
            raise EnrollmentError(_l("That session does not exist."))
        if original.status != "confirmed" or original.kind == "reversal":
            raise EnrollmentError(_l("Only confirmed sessions are corrected this way; change unconfirmed ones directly."))
        enrolment = Enrolment.get_by_id(original.enrolment_id)
        common = {"enrolment": original.enrolment_id, "company": original.company_id, "worked_on": original.worked_on,
                  "status": "confirmed", "corrects": original.id, "note": reason, "created_by": actor,
                  "created_at": now, "decided_by": actor, "decided_at": now, "decision_reason": reason,
                  "hourly_cost_cents": original.hourly_cost_cents}
        try:
            with database.atomic():
                reversal = HoursEntry.create(
                    kind="reversal", minutes=-original.minutes, sponsored_minutes=-original.sponsored_minutes,
                    volunteered_minutes=-original.volunteered_minutes, value_cents=-original.value_cents,
                    dedupe_key=_key("rev", original.id), **common)
                correction = None
                if new_minutes is not None:
                    sponsored, volunteered = split_minutes(new_minutes, enrolment.minutes_per_week,
                                                           enrolment.sponsored_minutes_per_week)
                    correction = HoursEntry.create(
                        kind="correction", minutes=new_minutes, sponsored_minutes=sponsored,
                        volunteered_minutes=volunteered, value_cents=value_cents(sponsored, original.hourly_cost_cents),
                        dedupe_key=_key("cor", original.id), **common)
        except peewee.IntegrityError as exc:
            raise EnrollmentError(_l("This session was already corrected. Correct the correction instead.")) from exc
        _post_confirmed([reversal.id] + ([correction.id] if correction else []), decided_at=now)
        if original.volunteered_minutes:
            # The month's volunteer allowance follows its confirmed hours (recomputed, removed or blocked).
            allowance.follow_hours(original.enrolment_id, original.worked_on, actor=actor, reason=reason)
        audit.record("enrollment.hours_corrected", actor=actor, company=original.company_id, obj=original,
                     reason=reason, reversal=reversal.id, correction=correction.id if correction else None,
                     before=original.minutes, after=new_minutes, on_statement=is_on_issued_statement(original))
        keys = [contribution_key(original.id)]
        if original.locked_at is not None:
            hooks.collect(hooks.HOURS_CORRECTED, keys, reason)
    return reversal, correction


# --- the ledger --------------------------------------------------------------------------

SOURCE_OF_KIND = {"reversal": "hours.reversal", "correction": "hours.correction"}


def _post_confirmed(entry_ids: list[int], *, decided_at: dt.datetime) -> None:
    """Post rows confirmed at `decided_at` to the ledger: the sponsored part (valued at the hourly
    cost copied on confirmation) and the volunteered part (hours only), each its own line. A row
    of a closed month is booked by the ledger in the first open month."""
    rows = (HoursEntry.select(HoursEntry.id, HoursEntry.company, HoursEntry.worked_on, HoursEntry.kind,
                              HoursEntry.sponsored_minutes, HoursEntry.volunteered_minutes, HoursEntry.value_cents,
                              HoursEntry.hourly_cost_cents, HoursEntry.enrolment, Enrolment.employee_name)
            .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
            .where(HoursEntry.id.in_(entry_ids) & (HoursEntry.status == "confirmed")
                   & (HoursEntry.decided_at == decided_at) & (HoursEntry.minutes != 0))
            .order_by(HoursEntry.id))
    for (entry_id, company_id, day, kind, sponsored, volunteered, value, rate, enrolment_id, person) in rows.tuples():
        common = {"company_id": company_id, "dated_on": day, "key": contribution_key(entry_id),
                  "source": SOURCE_OF_KIND.get(kind, "hours.confirmed"), "person": person, "subject_id": enrolment_id}
        if sponsored:
            ledger.post(kind="hours_sponsored", basis="employer_cost" if rate else "none", minutes=sponsored,
                        value_cents=value if rate else 0, **common)
        if volunteered:
            ledger.post(kind="hours_volunteered", basis="none", minutes=volunteered, **common)


@ledger.open_items.connect
def ledger_open_items(_sender, *, start: dt.date, end: dt.date) -> list[ledger.OpenItem]:
    """Reported sessions of the month that still wait for the project leader's decision."""
    rows = (HoursEntry.select(HoursEntry.enrolment, Enrolment.employee_name, peewee.fn.COUNT(HoursEntry.id))
            .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
            .where(HoursEntry.status.in_(AWAITING_DECISION) & (HoursEntry.worked_on >= start)
                   & (HoursEntry.worked_on <= end))
            .group_by(HoursEntry.enrolment, Enrolment.employee_name).order_by(Enrolment.employee_name))
    return [ledger.OpenItem(f"hours:{enrolment_id}:{start:%Y-%m}",
                            ngettext("%(num)d session of %(name)s awaits confirmation",
                                     "%(num)d sessions of %(name)s await confirmation", count, name=name))
            for enrolment_id, name, count in rows.tuples()]


@ledger.sources.connect
def ledger_sources(_sender) -> list[peewee.Select]:
    """What the ledger should hold for hours, straight from the register (for `portal ledger check`)."""
    def part(kind: str, minutes, value, basis) -> peewee.Select:
        return (HoursEntry.select(
            HoursEntry.company.alias("company_id"), HoursEntry.worked_on.alias("dated_on"),
            peewee.SQL(f"'{kind}'").alias("kind"),
            peewee.SQL("'hours:'").concat(HoursEntry.id.cast("text")).alias("key"),
            peewee.Case(HoursEntry.kind, [("reversal", "hours.reversal"), ("correction", "hours.correction")],
                        "hours.confirmed").alias("source"),
            basis.alias("basis"), peewee.SQL("''").alias("classification"), peewee.SQL("''").alias("method"),
            peewee.SQL("1").alias("lines"), minutes.alias("minutes"), value.alias("value_cents"),
            peewee.SQL("0").alias("gross_cents"), peewee.SQL("0").alias("fee_cents"), peewee.SQL("0").alias("net_cents"),
            Enrolment.employee_name.alias("person"), HoursEntry.enrolment.alias("subject_id"),
            peewee.SQL("''").alias("reference"))
            .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
            .where((HoursEntry.status == "confirmed") & (HoursEntry.minutes != 0) & (minutes != 0)))

    no_rate = HoursEntry.hourly_cost_cents.is_null() | (HoursEntry.hourly_cost_cents == 0)
    return [
        part("hours_sponsored", HoursEntry.sponsored_minutes,
             peewee.Case(None, [(no_rate, 0)], HoursEntry.value_cents),
             peewee.Case(None, [(no_rate, "none")], "employer_cost")),
        part("hours_volunteered", HoursEntry.volunteered_minutes, peewee.SQL("0"), peewee.SQL("'none'")),
    ]


# --- hooks for the statements capability -------------------------------------------------

def contribution_key(entry_id: int) -> str:
    return f"hours:{entry_id}"


def is_on_issued_statement(entry: HoursEntry) -> bool:
    """True once the statements capability has put this row on an issued statement."""
    return entry.locked_at is not None


def lock_entries(entry_ids: Iterable[int]) -> int:
    """Called by statements when it issues: marks confirmed rows as being on a statement.

    Locked rows were already unchangeable (they are confirmed); the flag tells a correction
    that a correction statement is needed, and listeners hear about it.
    """
    ids = list(entry_ids)
    if not ids:
        return 0
    return (HoursEntry.update(locked_at=utcnow())
            .where(HoursEntry.id.in_(ids) & (HoursEntry.status == "confirmed") & HoursEntry.locked_at.is_null())
            .execute())


def contributions(company_id: int | None, start: dt.date | None, end: dt.date | None) -> list[Contribution]:
    """Confirmed hours as contributions: sponsored (valued at the employer's declared hourly
    cost) and volunteered (hours only). Reversals come through as negative lines."""
    query = (HoursEntry.select(HoursEntry.id, HoursEntry.company, HoursEntry.worked_on, HoursEntry.kind,
                               HoursEntry.sponsored_minutes, HoursEntry.volunteered_minutes, HoursEntry.value_cents,
                               HoursEntry.hourly_cost_cents, HoursEntry.enrolment, Enrolment.employee_name,
                               School.name)
             .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
             .join(School, peewee.JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
             .where((HoursEntry.status == "confirmed") & (HoursEntry.minutes != 0))
             .order_by(HoursEntry.worked_on, HoursEntry.id))
    if company_id is not None:
        query = query.where(HoursEntry.company == company_id)
    query = query.where(dated(HoursEntry.worked_on, start, end))
    found: list[Contribution] = []
    for (entry_id, company, day, kind, sponsored, volunteered, value, rate, enrolment_id, person,
         school) in query.tuples():
        # Codes and facts; the words are made when shown (portal.core.contributions.describe).
        # The person is her enrolment: two ambassadors of one name stay two people on a statement.
        what = {"reversal": "hours_reversal", "correction": "hours_correction"}.get(kind, "hours")
        person_key = f"enrolment:{enrolment_id}"
        if sponsored:
            found.append(Contribution(
                kind="hours_sponsored", key=contribution_key(entry_id), company_id=company, on=day,
                what=what, subject=school or "", value_cents=value if rate else 0,
                basis="employer_cost" if rate else "none", minutes=sponsored, person=person, person_key=person_key))
        if volunteered:
            found.append(Contribution(
                kind="hours_volunteered", key=contribution_key(entry_id), company_id=company, on=day,
                what=what, subject=school or "", value_cents=0, basis="none",
                minutes=volunteered, person=person, person_key=person_key))
    return found
