"""HR's pages (company users): the ambassadors overview, enrolling by form or CSV import,
one enrolment (withdraw, VOG, link, hours) and the confirmed hours as CSV."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.core import money
from portal.core.contributions import describe
from portal.core.security import company_required, limiter
from portal.core.spreadsheet import Euros, Hours, csv_style, styled_csv_bytes
from portal.core.templating import current_language
from portal.enrollment import base, csv_import, dashboard, hours, service, validation
from portal.enrollment.base import EnrollmentError
from portal.enrollment.forms import CsvForm, EnrolmentForm, WithdrawForm, choices
from portal.enrollment.models import STATUSES, Enrolment
from portal.enrollment.web import (
    _attempt,
    _back,
    _company_enrolment,
    _detail_page,
    bp,
)

# --- HR: overview, enrol, import -------------------------------------------------------------

def _enrolment_form(form: EnrolmentForm, keep: str | None = None) -> EnrolmentForm:
    form.start.choices = choices(validation.start_options(keep=keep))
    if not form.is_submitted() and not form.start.data and form.start.choices:
        # A new form offers what can still be chosen: once September has passed, the first start
        # is February, and a placement that starts in February lasts half a year.
        form.start.data = form.start.choices[0].value
        form.duration.data = "half" if form.start.data.endswith("-02") else "full"
    return form


def _form_raw(form: EnrolmentForm) -> dict[str, str]:
    return {name: (form[name].data or "") for name in validation.ENROLMENT_FIELDS if name in form}


def _save_enrolment(form: EnrolmentForm, editing: Enrolment | None, save, success):
    """The enrolment form of `new` and `edit`: checked, saved with `save(data)` (which gives the
    enrolment) and on to its page; otherwise the form again with what HR typed and why (422 on a POST)."""
    company = current_user.company
    if form.validate_on_submit():
        context = validation.ValidationContext.load(company, exclude_enrolment=editing.id if editing else None)
        data, errors = validation.validate_enrolment(_form_raw(form), context)
        for name, message in errors.items():
            getattr(form, name).errors = [message]
        done = _attempt(form, lambda: save(data), success) if data is not None else None
        if done:
            return redirect(url_for("enrollment.detail", enrolment_id=done.result.id))
    status = 422 if request.method == "POST" else 200
    return render_template("enrollment/form.html", form=form, company=company, editing=editing), status


@bp.get("/ambassadors")
@company_required
def overview():
    year_id = request.args.get("year", type=int)
    status = request.args.get("status", "")
    data = dashboard.company_overview(current_user.company_id, year_id=year_id)
    lines = [line for line in data.lines if not status or line.enrolment.status == status]
    return render_template("enrollment/overview.html", overview=data, lines=lines, status=status,
                           statuses=STATUSES, company=current_user.company)


@bp.route("/ambassadors/new", methods=["GET", "POST"])
@company_required
def new():
    company = current_user.company
    form = _enrolment_form(EnrolmentForm())
    if request.method == "GET":
        form.language.data = company.language
        if company.hourly_cost_cents is not None:
            form.hourly_cost.data = money.format_plain(company.hourly_cost_cents).replace(".", ",")
    return _save_enrolment(form, None, lambda data: service.create_enrolment(company, current_user, data),
                           lambda enrolment: _("%(name)s is enrolled. We have e-mailed them a link to add their CV and motivation letter.",
                                               name=enrolment.employee_name))


@bp.route("/ambassadors/<int:enrolment_id>/edit", methods=["GET", "POST"])
@company_required
def edit(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    if enrolment.status not in base.HR_EDITABLE:
        flash(_("This enrolment is already matched to a school, so its details can no longer change. Ask the project leader."), "error")
        return redirect(url_for("enrollment.detail", enrolment_id=enrolment.id))
    form = _enrolment_form(EnrolmentForm(data=validation.raw_from_enrolment(enrolment) if request.method == "GET" else None),
                           keep=validation.raw_from_enrolment(enrolment).get("start"))
    return _save_enrolment(form, enrolment, lambda data: service.update_enrolment(enrolment, current_user, data),
                           _("The enrolment is updated."))


@bp.get("/ambassadors/import/template.csv")
@company_required
def import_template():
    return Response(csv_import.template_csv(current_language()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=ambassadors-template.csv"})


def _rows_from_form() -> list[csv_import.ImportRow]:
    rows = []
    count = min(request.form.get("row_count", type=int) or 0, csv_import.MAX_ROWS)
    for index in range(count):
        line = request.form.get(f"r{index}-_line", type=int) or index + 2
        values = {column: (request.form.get(f"r{index}-{column}") or "").strip()[:300] for column in csv_import.COLUMNS}
        if request.form.get(f"r{index}-_remove"):
            continue
        rows.append(csv_import.ImportRow(line, values))
    return rows


@bp.route("/ambassadors/import", methods=["GET", "POST"])
@company_required
@limiter.limit("60 per hour", methods=["POST"])
def import_csv():
    company = current_user.company
    form = CsvForm()
    result = None
    if form.validate_on_submit():
        upload = request.files.get("file")
        if request.form.get("row_count"):
            result = csv_import.validate_rows(company, _rows_from_form())
            if not result.rows:
                result.file_errors.append(_("There are no rows left to import."))
        elif upload is None or not upload.filename:
            form.file.errors = [_("Choose the CSV file to upload.")]
        else:
            result = csv_import.read_file(company, upload.read(csv_import.MAX_FILE_BYTES + 1), current_language())
        if result is not None and result.ok:
            try:
                created = csv_import.import_rows(company, current_user, result)
            except EnrollmentError as error:
                result.file_errors.append(str(error))
            else:
                flash(ngettext("%(num)d ambassador is enrolled and has been e-mailed a link to complete their part.",
                               "%(num)d ambassadors are enrolled. Each has been e-mailed a link to complete their part.",
                               len(created)), "success")
                return redirect(url_for("enrollment.overview"))
    status = 422 if result is not None and not result.ok else 200
    if form.errors:
        status = 422
    return render_template("enrollment/import.html", form=form, result=result, columns=csv_import.COLUMNS,
                           names=csv_import.column_names(current_language()), required=csv_import.REQUIRED,
                           max_rows=csv_import.MAX_ROWS), status


# --- HR: one enrolment -------------------------------------------------------------------------

@bp.get("/ambassadors/<int:enrolment_id>")
@company_required
def detail(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    return _detail_page(enrolment, leader=False)


@bp.post("/ambassadors/<int:enrolment_id>/withdraw")
@company_required
def withdraw(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    form = WithdrawForm()
    if form.validate_on_submit() and _attempt(
            form, lambda: service.move(enrolment, "withdrawn", current_user, reason=form.reason.data),
            _("The enrolment of %(name)s is withdrawn.", name=enrolment.employee_name)):
        return _back(enrolment, False)
    return _detail_page(enrolment, leader=False, status=422, withdraw_form=form)


@bp.get("/ambassadors/hours.csv")
@company_required
def hours_export():
    """The company's confirmed hours, one line per contribution (what statements will show)."""
    # Headers and kinds in the reader's words, figures as the reader's spreadsheet reads numbers (HR opens this in one).
    kinds = {"hours_sponsored": _("Sponsored hours"), "hours_volunteered": _("Volunteered hours")}
    bases = {"employer_cost": _("the employer's hourly cost"), "none": _("not valued")}
    header = (_("Date"), _("Kind"), _("Ambassador"), _("Hours"), _("Value (EUR)"), _("Valuation basis"),
              _("Description"), _("Line"))
    rows = ((item.on, kinds.get(item.kind, item.kind), item.person, Hours(item.minutes), Euros(item.value_cents),
             bases.get(item.basis, item.basis), describe(item), item.key)
            for item in hours.contributions(current_user.company_id, None, None))
    return Response(styled_csv_bytes(header, rows, csv_style(current_language())), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=confirmed-hours.csv"})
