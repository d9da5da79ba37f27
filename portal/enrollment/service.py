"""Enrolment: creating and editing enrolments, their status workflow, the VOG and the
employee's payout IBAN. Plain arguments in, plain results out; never `request`.

Shared statuses, labels and `EnrollmentError` live in `base.py`; school years and calendars in
`reference.py`, the leader's schools and closures in `schools.py`, parsing and validation in
`validation.py`, the employee's links and sessions in `access.py`, mail and reminders in
`reminders.py`. The hours register lives in `hours.py`, the allowance ledger in
`allowance.py`, uploads in `documents.py`, the CSV import in `csv_import.py` and the dashboard
figures in `dashboard.py`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee
from flask_babel import lazy_gettext as _l
from peewee import fn
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from portal.accounts.models import Company, User
from portal.core import audit, clock
from portal.core.db import atomic_write, database, utcnow
from portal.enrollment import hours
from portal.enrollment.access import _send_access_link, end_employee_access
from portal.enrollment.base import (
    HR_EDITABLE,
    SESSION_ENDED,
    STATUS_LABELS,
    TRANSITIONS,
    EnrollmentError,
)
from portal.enrollment.models import (
    STATUSES,
    VOG_STATUSES,
    Document,
    Enrolment,
    EnrolmentSlot,
    School,
)
from portal.enrollment.reminders import _mail_status, _tell_leaders_new
from portal.enrollment.validation import EnrolmentData


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
