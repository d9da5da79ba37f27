"""The enrolment blueprint and what its page modules share: applying a refusal to a form,
running a service call with its success message (`_attempt`), the enrolment page of HR and the
project leader, sending a document, and the handlers both of them (and, for hours, the
employee) post to. The pages themselves live in hr_views.py, ambassador_views.py,
leader_views.py and leader_school_views.py; views.py wires the blueprint into the app."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from portal.accounts.models import Company
from portal.core import clock
from portal.core.security import get_owned_or_404, mount_twice
from portal.core.views import apply_error
from portal.enrollment import access, documents, hours, reference, service, validation
from portal.enrollment.base import EnrollmentError
from portal.enrollment.forms import (
    CorrectForm,
    DecideForm,
    ExtraSessionForm,
    MatchForm,
    MoveForm,
    VogForm,
    WithdrawForm,
    choices,
)
from portal.enrollment.models import Document, Enrolment, School

bp = Blueprint("enrollment", __name__, static_folder="static", static_url_path="/enrollment/static")

AMBASSADOR_SESSION_KEY = "ambassador"
PAGE_SIZE = 100


@dataclass(frozen=True)
class Done:
    """What `_attempt` gives when the service call went through: its result (always truthy)."""

    result: Any


def _attempt(form, action: Callable[[], Any], success: str | Callable[[Any], str]) -> Done | None:
    """Run the service call `action()`. A refusal lands on `form` (flashed when the form has no
    field for it, or `form` is None) and gives None; otherwise `success` (the message, or a function
    of the call's result that makes it) is flashed and the result comes back in a `Done`."""
    try:
        result = action()
    except EnrollmentError as error:
        apply_error(form, error)
        return None
    flash(success(result) if callable(success) else success, "success")
    return Done(result)


def _parse_month(text: str | None) -> dt.date | None:
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def _report_from_form(enrolment: Enrolment) -> list[hours.SessionReport]:
    """Read the register form: status-<id> = attended|absent, hours-<id>, note-<id>."""
    reports = []
    for key, choice in request.form.items():
        match = re.fullmatch(r"status-(\d{1,12})", key)
        if not match or choice not in ("attended", "absent"):
            continue
        entry_id = int(match.group(1))
        minutes = None
        if choice == "attended":
            minutes = validation.parse_minutes(request.form.get(f"hours-{entry_id}", ""), "hours")
        reports.append(hours.SessionReport(entry_id, choice == "attended", minutes,
                                           (request.form.get(f"note-{entry_id}") or "")[:500]))
    return reports


def _expected(enrolment: Enrolment) -> int:
    return reference.expected_minutes(enrolment)


def _detail_page(enrolment: Enrolment, *, leader: bool, status: int = 200, **forms):
    today = clock.today()
    register = hours.register(enrolment)
    corrected = {entry.corrects_id for entry in register if entry.kind == "reversal"}
    context = dict(
        enrolment=enrolment, company=Company.get_by_id(enrolment.company_id), register=register, corrected=corrected,
        today=today, documents=documents.documents_of(enrolment), expected_minutes=_expected(enrolment),
        confirmed_minutes=sum(e.minutes for e in register if e.status == "confirmed"),
        awaiting_minutes=sum(e.minutes for e in register if e.status in ("reported", "absent")),
        value_cents=sum(e.value_cents for e in register if e.status == "confirmed"),
        reportable=enrolment.status in hours.REPORTABLE_ENROLMENT, leader=leader,
        moves=service.allowed_moves(enrolment, current_user),
        withdraw_form=forms.get("withdraw_form") or WithdrawForm(),
        vog_form=forms.get("vog_form") or VogForm(vog_status=enrolment.vog_status,
                                                   vog_date=enrolment.vog_received_on or enrolment.vog_requested_on),
        extra_form=forms.get("extra_form") or ExtraSessionForm(), csrf_form=DecideForm(),
    )
    if leader:
        match_form = forms.get("match_form") or MatchForm()
        match_form.school.choices = choices([("", _("Choose a school"))] + [
            (str(s.id), f"{s.name} ({s.brin})") for s in School.select().where(School.is_active).order_by(School.name)])
        context.update(match_form=match_form, move_form=forms.get("move_form") or MoveForm(),
                       correct_form=CorrectForm())
    return render_template("enrollment/detail.html", **context), status


def _send_document(enrolment_id: int, kind: str):
    """One of an enrolment's documents as a download, or a 404 when there is none of that kind."""
    document = Document.get_or_none((Document.enrolment == enrolment_id) & (Document.kind == kind))
    if document is None:
        abort(404)
    return documents.send(document)


def _back(enrolment: Enrolment, leader: bool):
    endpoint = "enrollment.leader_detail" if leader else "enrollment.detail"
    return redirect(url_for(endpoint, enrolment_id=enrolment.id))


def _vog(enrolment: Enrolment, leader: bool):
    form = VogForm()
    if form.validate_on_submit() and _attempt(
            form, lambda: service.update_vog(enrolment, current_user, form.vog_status.data, form.vog_date.data),
            _("The VOG status is saved.")):
        return _back(enrolment, leader)
    return _detail_page(enrolment, leader=leader, status=422, vog_form=form)


def _send_link(enrolment: Enrolment, leader: bool):
    if DecideForm().validate_on_submit():
        _attempt(None, lambda: access.resend_access_link(enrolment, current_user),
                 _("A new link is on its way to %(email)s.", email=enrolment.employee_email))
    return _back(enrolment, leader)


def _report(enrolment: Enrolment, *, actor, via: str, back):
    if DecideForm().validate_on_submit():
        _attempt(None, lambda: hours.report_sessions(enrolment, _report_from_form(enrolment), actor=actor, via=via),
                 lambda count: ngettext("%(num)d session reported. The project leader will confirm it.",
                                        "%(num)d sessions reported. The project leader will confirm them.", count))
    return back


def _extra(enrolment: Enrolment, *, actor, via: str, back, page):
    form = ExtraSessionForm()

    def add():
        minutes = validation.parse_minutes(form.hours.data, "hours")
        return hours.add_extra_session(enrolment, form.worked_on.data, minutes, form.note.data or "", actor=actor, via=via)

    if form.validate_on_submit() and _attempt(form, add, _("The extra session is added. The project leader will confirm it.")):
        return back
    return page(form)


def _report_hours(enrolment: Enrolment, leader: bool):
    """HR or the project leader reports sessions from the enrolment's page."""
    return _report(enrolment, actor=current_user, via="leader" if leader else "hr", back=_back(enrolment, leader))


def _extra_hours(enrolment: Enrolment, leader: bool):
    """HR or the project leader adds an extra session from the enrolment's page."""
    return _extra(enrolment, actor=current_user, via="leader" if leader else "hr", back=_back(enrolment, leader),
                  page=lambda form: _detail_page(enrolment, leader=leader, status=422, extra_form=form))


def _company_enrolment(enrolment_id: int) -> Enrolment:
    return get_owned_or_404(Enrolment, enrolment_id, current_user.company_id)


def _leader_enrolment(enrolment_id: int) -> Enrolment:
    return get_object_or_404(Enrolment, Enrolment.id == enrolment_id)


# The actions HR and the project leader share, at /ambassadors/<id>/... and /leader/ambassadors/<id>/...
_ONE_ENROLMENT = {"model": Enrolment, "key": "enrolment_id", "methods": ("POST",)}
mount_twice(bp, "/ambassadors/<int:enrolment_id>/vog", "vog", _vog, **_ONE_ENROLMENT)
mount_twice(bp, "/ambassadors/<int:enrolment_id>/link", "send_link", _send_link, company_limit="20 per hour",
            **_ONE_ENROLMENT)
mount_twice(bp, "/ambassadors/<int:enrolment_id>/hours", "report_hours", _report_hours, **_ONE_ENROLMENT)
mount_twice(bp, "/ambassadors/<int:enrolment_id>/hours/extra", "extra_hours", _extra_hours, **_ONE_ENROLMENT)
