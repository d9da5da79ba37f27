"""The employee's own pages, reached through a single-use link: opening the link, asking for
a new one, documents, hours, the payout IBAN and logging out."""

from __future__ import annotations

import functools

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company
from portal.core import clock
from portal.core.security import limiter
from portal.enrollment import access, documents, hours, service
from portal.enrollment.base import EnrollmentError
from portal.enrollment.forms import (
    DecideForm,
    ExtraSessionForm,
    IbanForm,
    LinkRequestForm,
    UploadForm,
)
from portal.enrollment.models import DOCUMENT_KINDS, Enrolment, School
from portal.enrollment.web import (
    AMBASSADOR_SESSION_KEY,
    _attempt,
    _expected,
    _extra,
    _report,
    _send_document,
    bp,
)


def _ambassador() -> Enrolment | None:
    if "ambassador_enrolment" not in g:
        g.ambassador_enrolment = access.ambassador_enrolment(session.get(AMBASSADOR_SESSION_KEY))
    return g.ambassador_enrolment


def _ambassador_session(view):
    """A page of the employee's own session: `view(enrolment, ...)` gets their enrolment; when the
    session has ended they go to the page that sends a new link."""
    @functools.wraps(view)
    def with_enrolment(*args, **kwargs):
        enrolment = _ambassador()
        if enrolment is None:
            session.pop(AMBASSADOR_SESSION_KEY, None)
            flash(_("Your session has ended. Ask for a new link below."), "warning")
            return redirect(url_for("enrollment.ambassador_link"))
        return view(enrolment, *args, **kwargs)
    return with_enrolment


@bp.route("/ambassador/start/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def ambassador_welcome(token: str):
    # GET only shows a button: mail scanners that follow links must not use up the link.
    if request.method == "GET":
        if not access.link_is_valid(token):
            flash(_("This link is no longer valid. Ask for a new one below."), "error")
            return redirect(url_for("enrollment.ambassador_link"))
        return render_template("enrollment/ambassador_welcome.html", form=DecideForm(), token=token)
    form = DecideForm()
    raw = access.open_access_link(token) if form.validate_on_submit() else None
    if raw is None:
        flash(_("This link is no longer valid. Ask for a new one below."), "error")
        return redirect(url_for("enrollment.ambassador_link"))
    session[AMBASSADOR_SESSION_KEY] = raw
    enrolment = access.ambassador_enrolment(raw)
    if enrolment is not None and "lang" not in session:
        session["lang"] = enrolment.language  # the employee's pages in the language of their e-mails
    return redirect(url_for("enrollment.ambassador_home"))


@bp.route("/ambassador/link", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def ambassador_link():
    form = LinkRequestForm()
    if form.validate_on_submit():
        access.request_access_link(form.email.data)
        flash(_("If you are enrolled as an ambassador with that address, a new link is on its way."), "success")
        return redirect(url_for("enrollment.ambassador_link"))
    return render_template("enrollment/ambassador_link.html", form=form)


def _ambassador_page(enrolment: Enrolment, status: int = 200, **forms):
    register = hours.register(enrolment)
    return render_template(
        "enrollment/ambassador_home.html", enrolment=enrolment, company=Company.get_by_id(enrolment.company_id),
        school=School.get_by_id(enrolment.school_id) if enrolment.school_id else None,
        register=register, today=clock.today(), documents=documents.documents_of(enrolment),
        expected_minutes=_expected(enrolment), reportable=enrolment.status in hours.REPORTABLE_ENROLMENT,
        upload_form=forms.get("upload_form") or UploadForm(), extra_form=forms.get("extra_form") or ExtraSessionForm(),
        iban_form=forms.get("iban_form") or IbanForm(iban=enrolment.payout_iban), csrf_form=DecideForm(),
    ), status


@bp.get("/ambassador")
@_ambassador_session
def ambassador_home(enrolment: Enrolment):
    return _ambassador_page(enrolment)


@bp.post("/ambassador/documents")
@limiter.limit("30 per hour")
@_ambassador_session
def ambassador_upload(enrolment: Enrolment):
    form = UploadForm()

    def store():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise EnrollmentError(_l("Choose the PDF file to upload."), "file")
        data = upload.read(documents.MAX_PDF_BYTES + 1)
        return documents.store(enrolment, form.kind.data, data, upload.filename)

    if form.validate_on_submit() and _attempt(form, store, lambda document: _(
            "Thank you, your %(document)s is uploaded.", document=str(documents.KIND_LABELS[form.kind.data]).lower())):
        return redirect(url_for("enrollment.ambassador_home"))
    return _ambassador_page(enrolment, status=422, upload_form=form)


@bp.get("/ambassador/documents/<kind>")
def ambassador_document(kind: str):
    enrolment = _ambassador()
    if enrolment is None or kind not in DOCUMENT_KINDS:
        abort(404)
    return _send_document(enrolment.id, kind)


@bp.post("/ambassador/hours")
@_ambassador_session
def ambassador_hours(enrolment: Enrolment):
    try:
        return _report(enrolment, actor=None, via="ambassador", back=redirect(url_for("enrollment.ambassador_home")))
    except EnrollmentError as error:
        flash(str(error), "error")
        return redirect(url_for("enrollment.ambassador_home"))


@bp.post("/ambassador/hours/extra")
@_ambassador_session
def ambassador_extra(enrolment: Enrolment):
    return _extra(enrolment, actor=None, via="ambassador", back=redirect(url_for("enrollment.ambassador_home")),
                  page=lambda form: _ambassador_page(enrolment, status=422, extra_form=form))


@bp.post("/ambassador/iban")
@_ambassador_session
def ambassador_iban(enrolment: Enrolment):
    form = IbanForm()
    if form.validate_on_submit() and _attempt(form, lambda: service.set_payout_iban(enrolment, form.iban.data),
                                              _("Your IBAN is saved.")):
        return redirect(url_for("enrollment.ambassador_home"))
    return _ambassador_page(enrolment, status=422, iban_form=form)


@bp.post("/ambassador/logout")
def ambassador_logout():
    if not DecideForm().validate_on_submit():
        abort(400)
    access.end_ambassador_session(session.pop(AMBASSADOR_SESSION_KEY, None))
    flash(_("You are logged out. Your link from the e-mail has been used; ask for a new one to come back."), "success")
    return redirect(url_for("enrollment.ambassador_link"))
