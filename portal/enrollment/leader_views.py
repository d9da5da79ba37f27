"""The project leader's enrolment pages: the list of enrolments, matching and other moves,
VOG, links, hours (reporting, correcting, confirming) and the reminders."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from peewee import JOIN, fn

from portal.accounts.models import Company
from portal.core import clock
from portal.core.security import leader_required
from portal.core.views import apply_error, page_of
from portal.enrollment import (
    base,
    dashboard,
    hours,
    reference,
    reminders,
    service,
    validation,
)
from portal.enrollment.base import EnrollmentError
from portal.enrollment.forms import CorrectForm, DecideForm, MatchForm, MoveForm
from portal.enrollment.models import STATUSES, Enrolment, HoursEntry, School, SchoolYear
from portal.enrollment.web import (
    PAGE_SIZE,
    _attempt,
    _back,
    _detail_page,
    _leader_enrolment,
    _send_document,
    bp,
)


@bp.get("/leader/ambassadors")
@leader_required
def leader_enrolments():
    query = (Enrolment.select(Enrolment, Company, School, SchoolYear)
             .join(Company, on=(Enrolment.company == Company.id))
             .switch(Enrolment).join(School, JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
             .switch(Enrolment).join(SchoolYear, on=(Enrolment.school_year == SchoolYear.id)))
    filters = {k: request.args.get(k, "") for k in ("status", "company", "year", "vog", "q")}
    if filters["status"] in STATUSES:
        query = query.where(Enrolment.status == filters["status"])
    if filters["company"].isdigit():
        query = query.where(Enrolment.company == int(filters["company"]))
    if filters["year"].isdigit():
        query = query.where(Enrolment.school_year == int(filters["year"]))
    if filters["vog"] in base.VOG_LABELS:
        query = query.where(Enrolment.vog_status == filters["vog"])
    if filters["q"]:
        needle = f"%{filters['q'].strip().lower()[:100]}%"
        query = query.where(fn.LOWER(Enrolment.employee_name).contains(needle.strip("%"))
                            | Enrolment.employee_email.contains(needle.strip("%")))
    page = page_of(query.order_by(Enrolment.starts_on, Company.legal_name, Enrolment.employee_name, Enrolment.id),
                   size=PAGE_SIZE)
    companies = list(Company.select(Company.id, Company.legal_name).order_by(Company.legal_name))
    return render_template("enrollment/leader_enrolments.html", page=page, filters=filters, companies=companies,
                           years=reference.school_years(), statuses=STATUSES, figures=dashboard.leader_figures())


@bp.get("/leader/ambassadors/<int:enrolment_id>")
@leader_required
def leader_detail(enrolment_id: int):
    return _detail_page(_leader_enrolment(enrolment_id), leader=True)


@bp.post("/leader/ambassadors/<int:enrolment_id>/move")
@leader_required
def leader_move(enrolment_id: int):
    enrolment = _leader_enrolment(enrolment_id)
    form = MoveForm()
    match_form = MatchForm()
    if not form.validate_on_submit():
        return _detail_page(enrolment, leader=True, status=422, move_form=form)
    school = None
    if form.to.data == "matched" and (match_form.school.data or "").isdigit():
        school = School.get_or_none(School.id == int(match_form.school.data))
    try:
        service.move(enrolment, form.to.data, current_user, reason=form.reason.data or "", school=school,
                     group_name=match_form.group_name.data or "", teacher_name=match_form.teacher_name.data or "")
    except EnrollmentError as error:
        apply_error(match_form if error.field in ("school", "group_name", "teacher_name") else form, error)
        return _detail_page(enrolment, leader=True, status=422, move_form=form, match_form=match_form)
    flash(_("%(name)s is now: %(status)s.", name=enrolment.employee_name,
            status=str(base.STATUS_LABELS[form.to.data]).lower()), "success")
    return _back(enrolment, True)


@bp.get("/leader/ambassadors/<int:enrolment_id>/documents/<kind>")
@leader_required
def leader_document(enrolment_id: int, kind: str):
    return _send_document(enrolment_id, kind)


@bp.post("/leader/ambassadors/<int:enrolment_id>/correct")
@leader_required
def leader_correct(enrolment_id: int):
    enrolment = _leader_enrolment(enrolment_id)
    entry_id = request.form.get("entry_id", type=int)
    entry = HoursEntry.get_or_none((HoursEntry.id == entry_id) & (HoursEntry.enrolment == enrolment.id))
    if entry is None:
        abort(404)
    form = CorrectForm()
    if form.validate_on_submit():
        def correct():
            minutes = validation.parse_minutes(form.hours.data, "hours") if (form.hours.data or "").strip() else None
            return hours.correct_entry(entry.id, current_user, form.reason.data, minutes)

        _attempt(None, correct, _("The session of %(day)s is corrected with a reversal line.", day=entry.worked_on.isoformat()))
    else:
        flash(_("Give a reason for the correction."), "error")
    return redirect(url_for("enrollment.leader_detail", enrolment_id=enrolment.id) + "#register")


@bp.route("/leader/hours", methods=["GET", "POST"])
@leader_required
def leader_hours():
    form = DecideForm()
    company_id = request.args.get("company", type=int)
    if form.validate_on_submit():
        ids = [int(v) for v in request.form.getlist("entry") if v.isdigit()]
        approve = request.form.get("decision") == "confirm"

        def decided_message(outcome: tuple[int, int]) -> str:
            decided, skipped = outcome
            message = (ngettext("%(num)d session confirmed.", "%(num)d sessions confirmed.", decided) if approve
                       else ngettext("%(num)d session rejected.", "%(num)d sessions rejected.", decided))
            if skipped:
                message += " " + ngettext("%(num)d was skipped because someone else decided on it first.",
                                          "%(num)d were skipped because someone else decided on them first.", skipped)
            return message

        if _attempt(form, lambda: hours.decide_entries(ids, current_user, approve=approve, reason=form.reason.data or ""),
                    decided_message):
            return redirect(url_for("enrollment.leader_hours", company=company_id or None))
    entries = list(hours.awaiting_decision(company_id))
    total = reminders.awaiting_confirmation_count()
    companies = list(Company.select(Company.id, Company.legal_name).order_by(Company.legal_name))
    return render_template("enrollment/leader_hours.html", form=form, entries=entries, total=total,
                           companies=companies, company_id=company_id), 422 if form.errors else 200


@bp.route("/leader/reminders", methods=["GET", "POST"])
@leader_required
def leader_reminders():
    form = DecideForm()
    if form.validate_on_submit():
        count = reminders.send_vog_reminders()
        flash(ngettext("%(num)d reminder sent.", "%(num)d reminders sent.", count) if count else _("Everyone due has already been reminded."), "success")
        return redirect(url_for("enrollment.leader_reminders"))
    today = clock.today()
    missing = list(reminders.vog_missing(today))
    return render_template("enrollment/leader_reminders.html", form=form, missing=missing, today=today,
                           reminded=reminders.reminder_sent(e.id for e in missing),
                           not_started=list(reminders.start_passed_not_active(today)))
