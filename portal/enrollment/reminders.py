"""Mail about enrolments (status changes, new enrolments for the project leader) and the
reminders: VOG reminders and the counts of the project leader's attention list."""

from __future__ import annotations

import datetime as dt

import peewee
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from portal.accounts.models import Company, User
from portal.core import audit, clock, mail
from portal.core.db import atomic_write, database
from portal.core.urls import external_url
from portal.enrollment.base import STATUS_LABELS, WEEKDAY_LABELS
from portal.enrollment.models import Enrolment, HoursEntry, Reminder

VOG_REMINDER_DAYS = 14


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
                           link=external_url("enrollment.leader_enrolments", company=company.id))


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
                                   enrolments=sent, link=external_url("enrollment.leader_reminders"))
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
