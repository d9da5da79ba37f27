"""Enrolment pages: HR (company users), the employee's own pages (through a single-use link)
and the project leader's desk. Thin: parse, call the service, render or redirect."""

from __future__ import annotations

import datetime as dt
import functools
import re

import click
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from peewee import JOIN, fn

from portal.accounts.models import Company
from portal.core import clock, money
from portal.core.contributions import describe, register_source
from portal.core.db import database, release
from portal.core.security import company_required, get_owned_or_404, leader_required, limiter
from portal.core.spreadsheet import csv_bytes, safe_cell
from portal.core.templating import MenuItem, current_language, register_menu_provider
from portal.enrollment import allowance, csv_import, dashboard, documents, hours, service
from portal.enrollment.forms import (
    AllowanceForm,
    CapForm,
    ClosureForm,
    CorrectForm,
    CsvForm,
    DecideForm,
    EnrolmentForm,
    ExtraSessionForm,
    IbanForm,
    LinkRequestForm,
    MatchForm,
    MoveForm,
    SchoolForm,
    SchoolYearForm,
    UploadForm,
    VogForm,
    WithdrawForm,
)
from portal.enrollment.models import (
    DOCUMENT_KINDS,
    STATUSES,
    AllowanceCap,
    Closure,
    Document,
    Enrolment,
    HoursEntry,
    School,
    SchoolYear,
)
from portal.enrollment.service import EnrollmentError

bp = Blueprint("enrollment", __name__, static_folder="static", static_url_path="/enrollment/static")

AMBASSADOR_SESSION_KEY = "ambassador"
PAGE_SIZE = 100
MONTH_NAMES = {
    "nl": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


# --- wiring: menus, panels, filters, the contribution source, the CLI --------------------

def format_hours(minutes: int | None, language: str | None = None) -> str:
    """Minutes as hours for people: '7,5' in Dutch, '7.5' in English, '1.234,25' / '1,234.25'.

    Hand-rolled (two decimals at most, rounded half up) because a dashboard shows thousands.
    """
    if minutes is None:
        return ""
    language = language or current_language()
    hundredths = (abs(int(minutes)) * 100 + 30) // 60
    whole, fraction = divmod(hundredths, 100)
    grouped = f"{whole:,}"
    decimals = "" if fraction == 0 else (f"{fraction // 10}" if fraction % 10 == 0 else f"{fraction:02d}")
    if language == "nl":
        text = grouped.replace(",", ".") + ("," + decimals if decimals else "")
    else:
        text = grouped + ("." + decimals if decimals else "")
    return ("-" if minutes < 0 and hundredths else "") + text


LABELS = {"status": service.STATUS_LABELS, "role": service.ROLE_LABELS, "funding": service.FUNDING_LABELS,
          "vog": service.VOG_LABELS, "duration": service.DURATION_LABELS, "weekday": service.WEEKDAY_LABELS,
          "closure": service.CLOSURE_LABELS, "document": documents.KIND_LABELS}


class Labels:
    """`enrollment_labels.status["active"]` in templates: translated once per request, not per row."""

    def __getattr__(self, name: str):
        if name not in LABELS:
            raise AttributeError(name)
        cache = g.setdefault("enrollment_labels", {})
        if name not in cache:
            table = LABELS[name]
            cache[name] = ({k: str(v) for k, v in table.items()} if isinstance(table, dict)
                           else [str(v) for v in table])
        return cache[name]


@functools.lru_cache(maxsize=4096)
def _format_day(day: dt.date, language: str) -> str:
    from babel.dates import format_date

    return format_date(day, "medium", locale=language)


def format_day(day: dt.date | None, language: str | None = None) -> str:
    """A date as the core `date` filter writes it, cached: long tables repeat the same dates."""
    return _format_day(day, language or current_language()) if day else ""


@bp.record_once
def _wire(state):
    app = state.app

    def provider(name, _language, user):
        if name != "main" or not user.is_authenticated:
            return []
        if user.is_leader:
            return [MenuItem(_("Ambassadors"), url_for("enrollment.leader_enrolments"), 85)]
        if user.company_id is not None:
            return [MenuItem(_("Ambassadors"), url_for("enrollment.overview"), 82)]
        return []

    register_menu_provider(app, provider)
    register_source(app, hours.contributions)
    from portal.accounts.views import register_dashboard_panel

    register_dashboard_panel(app, "enrollment/panel.html", weight=20)
    register_dashboard_panel(app, "enrollment/leader_panel.html", weight=20, leader=True)
    app.jinja_env.filters["minutes_as_hours"] = format_hours
    app.jinja_env.filters["closure_name"] = service.closure_name
    app.jinja_env.globals.update(
        enrollment_overview=lambda company: dashboard.company_overview(getattr(company, "id", company)),
        enrollment_leader_figures=dashboard.leader_figures,
        enrollment_chart=_chart,
        enrollment_labels=Labels(),
    )
    app.jinja_env.filters["enrollment_date"] = format_day


def _chart(overview: dashboard.Overview):
    language = current_language()
    return dashboard.hours_chart(
        overview.months, title=_("Hours per month, school year %(year)s", year=overview.year.name if overview.year else ""),
        labels={"planned": _("Planned"), "confirmed": _("Confirmed"), "awaiting": _("Awaiting confirmation")},
        month_names=MONTH_NAMES.get(language, MONTH_NAMES["en"]), language=language)


@bp.cli.command("remind")
def remind_command() -> None:
    """Mail VOG reminders for placements starting within two weeks (each one once)."""
    database.connect(reuse_if_open=True)  # links are built on PORTAL_BASE_URL (core/urls.py)
    try:
        count = service.send_vog_reminders()
    finally:
        release()
    click.echo(f"VOG reminders sent: {count}")


@bp.cli.command("allowances")
@click.option("--month", help="Build the ledger up to this month (YYYY-MM); default: last month.")
def allowances_command(month: str | None) -> None:
    """Add the allowance lines of every active month up to a month."""
    database.connect(reuse_if_open=True)
    try:
        upto = _parse_month(month) if month else clock.today().replace(day=1) - dt.timedelta(days=1)
        if upto is None:
            raise click.BadParameter("use YYYY-MM", param_hint="--month")
        count = allowance.build_ledger(None, upto)
    finally:
        release()
    click.echo(f"allowance lines added: {count}")


@bp.cli.command("seed")
def seed_command() -> None:
    """Insert the seeded school year and allowance limits when missing."""
    database.connect(reuse_if_open=True)
    try:
        service.seed_reference_data()
    finally:
        release()
    click.echo("reference data present")


@bp.errorhandler(413)
def _too_large(_error):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if request.path.startswith("/ambassador/"):
        back_url = url_for("enrollment.ambassador_home")
    elif request.path.startswith("/ambassadors/import"):
        back_url = url_for("enrollment.import_csv")
    else:
        back_url = url_for("accounts.dashboard")
    return render_template("enrollment/too_large.html", limit_mb=limit // (1024 * 1024), back_url=back_url,
                           sent_mb=(request.content_length or 0) / (1024 * 1024)), 413


# --- helpers --------------------------------------------------------------------------------

def _apply_error(form, error: EnrollmentError) -> None:
    target = getattr(form, error.field, None) if error.field and form is not None else None
    if target is not None:
        target.errors = list(target.errors) + [str(error)]
    else:
        flash(str(error), "error")


def _parse_month(text: str | None) -> dt.date | None:
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def _company_enrolment(enrolment_id: int) -> Enrolment:
    return get_owned_or_404(Enrolment, enrolment_id, current_user.company_id)


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
            minutes = service.parse_minutes(request.form.get(f"hours-{entry_id}", ""), "hours")
        reports.append(hours.SessionReport(entry_id, choice == "attended", minutes,
                                           (request.form.get(f"note-{entry_id}") or "")[:500]))
    return reports


def _enrolment_form(form: EnrolmentForm, keep: str | None = None) -> EnrolmentForm:
    form.start.choices = service.start_options(keep=keep)
    if not form.is_submitted() and not form.start.data and form.start.choices:
        # A new form offers what can still be chosen: once September has passed, the first start
        # is February, and a placement that starts in February lasts half a year.
        form.start.data = form.start.choices[0][0]
        form.duration.data = "half" if form.start.data.endswith("-02") else "full"
    return form


def _form_raw(form: EnrolmentForm) -> dict[str, str]:
    return {name: (form[name].data or "") for name in service.ENROLMENT_FIELDS if name in form}


def _expected(enrolment: Enrolment) -> int:
    return service.expected_minutes(enrolment)


# --- HR: overview, enrol, import -------------------------------------------------------------

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
    if form.validate_on_submit():
        data, errors = service.validate_enrolment(_form_raw(form), service.ValidationContext.load(company))
        for name, message in errors.items():
            getattr(form, name).errors = [message]
        if data is not None:
            try:
                enrolment = service.create_enrolment(company, current_user, data)
            except EnrollmentError as error:
                _apply_error(form, error)
            else:
                flash(_("%(name)s is enrolled. We have e-mailed them a link to add their CV and motivation letter.",
                        name=enrolment.employee_name), "success")
                return redirect(url_for("enrollment.detail", enrolment_id=enrolment.id))
    status = 422 if request.method == "POST" else 200
    return render_template("enrollment/form.html", form=form, company=company, editing=None), status


@bp.route("/ambassadors/<int:enrolment_id>/edit", methods=["GET", "POST"])
@company_required
def edit(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    company = current_user.company
    if enrolment.status not in service.HR_EDITABLE:
        flash(_("This enrolment is already matched to a school, so its details can no longer change. Ask the project leader."), "error")
        return redirect(url_for("enrollment.detail", enrolment_id=enrolment.id))
    form = _enrolment_form(EnrolmentForm(data=service.raw_from_enrolment(enrolment) if request.method == "GET" else None),
                           keep=service.raw_from_enrolment(enrolment).get("start"))
    if form.validate_on_submit():
        context = service.ValidationContext.load(company, exclude_enrolment=enrolment.id)
        data, errors = service.validate_enrolment(_form_raw(form), context)
        for name, message in errors.items():
            getattr(form, name).errors = [message]
        if data is not None:
            try:
                service.update_enrolment(enrolment, current_user, data)
            except EnrollmentError as error:
                _apply_error(form, error)
            else:
                flash(_("The enrolment is updated."), "success")
                return redirect(url_for("enrollment.detail", enrolment_id=enrolment.id))
    status = 422 if request.method == "POST" else 200
    return render_template("enrollment/form.html", form=form, company=company, editing=enrolment), status


@bp.get("/ambassadors/import/template.csv")
@company_required
def import_template():
    return Response(csv_import.template_csv(), mimetype="text/csv",
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
            result = csv_import.read_file(company, upload.read(csv_import.MAX_FILE_BYTES + 1))
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
                           required=csv_import.REQUIRED, max_rows=csv_import.MAX_ROWS), status


# --- HR: one enrolment -------------------------------------------------------------------------

@bp.get("/ambassadors/<int:enrolment_id>")
@company_required
def detail(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    return _detail_page(enrolment, leader=False)


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
        match_form.school.choices = [("", _("Choose a school"))] + [
            (str(s.id), f"{s.name} ({s.brin})") for s in School.select().where(School.is_active).order_by(School.name)]
        context.update(match_form=match_form, move_form=forms.get("move_form") or MoveForm(),
                       correct_form=CorrectForm())
    return render_template("enrollment/detail.html", **context), status


def _back(enrolment: Enrolment, leader: bool):
    endpoint = "enrollment.leader_detail" if leader else "enrollment.detail"
    return redirect(url_for(endpoint, enrolment_id=enrolment.id))


@bp.post("/ambassadors/<int:enrolment_id>/withdraw")
@company_required
def withdraw(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _detail_page(enrolment, leader=False, status=422, withdraw_form=form)
    try:
        service.move(enrolment, "withdrawn", current_user, reason=form.reason.data)
    except EnrollmentError as error:
        _apply_error(form, error)
        return _detail_page(enrolment, leader=False, status=422, withdraw_form=form)
    flash(_("The enrolment of %(name)s is withdrawn.", name=enrolment.employee_name), "success")
    return _back(enrolment, False)


def _vog(enrolment: Enrolment, leader: bool):
    form = VogForm()
    if form.validate_on_submit():
        try:
            service.update_vog(enrolment, current_user, form.vog_status.data, form.vog_date.data)
        except EnrollmentError as error:
            _apply_error(form, error)
        else:
            flash(_("The VOG status is saved."), "success")
            return _back(enrolment, leader)
    return _detail_page(enrolment, leader=leader, status=422, vog_form=form)


@bp.post("/ambassadors/<int:enrolment_id>/vog")
@company_required
def vog(enrolment_id: int):
    return _vog(_company_enrolment(enrolment_id), False)


def _send_link(enrolment: Enrolment, leader: bool):
    form = DecideForm()
    if form.validate_on_submit():
        try:
            service.resend_access_link(enrolment, current_user)
        except EnrollmentError as error:
            flash(str(error), "error")
        else:
            flash(_("A new link is on its way to %(email)s.", email=enrolment.employee_email), "success")
    return _back(enrolment, leader)


@bp.post("/ambassadors/<int:enrolment_id>/link")
@company_required
@limiter.limit("20 per hour")
def send_link(enrolment_id: int):
    return _send_link(_company_enrolment(enrolment_id), False)


def _report(enrolment: Enrolment, *, actor, via: str, back):
    form = DecideForm()
    if form.validate_on_submit():
        try:
            count = hours.report_sessions(enrolment, _report_from_form(enrolment), actor=actor, via=via)
        except EnrollmentError as error:
            flash(str(error), "error")
        else:
            flash(ngettext("%(num)d session reported. The project leader will confirm it.",
                           "%(num)d sessions reported. The project leader will confirm them.", count), "success")
    return back


def _extra(enrolment: Enrolment, *, actor, via: str, back, page):
    form = ExtraSessionForm()
    if form.validate_on_submit():
        try:
            minutes = service.parse_minutes(form.hours.data, "hours")
            hours.add_extra_session(enrolment, form.worked_on.data, minutes, form.note.data or "", actor=actor, via=via)
        except EnrollmentError as error:
            _apply_error(form, error)
        else:
            flash(_("The extra session is added. The project leader will confirm it."), "success")
            return back
    return page(form)


@bp.post("/ambassadors/<int:enrolment_id>/hours")
@company_required
def report_hours(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    return _report(enrolment, actor=current_user, via="hr", back=_back(enrolment, False))


@bp.post("/ambassadors/<int:enrolment_id>/hours/extra")
@company_required
def extra_hours(enrolment_id: int):
    enrolment = _company_enrolment(enrolment_id)
    return _extra(enrolment, actor=current_user, via="hr", back=_back(enrolment, False),
                  page=lambda form: _detail_page(enrolment, leader=False, status=422, extra_form=form))


@bp.get("/ambassadors/hours.csv")
@company_required
def hours_export():
    """The company's confirmed hours, one line per contribution (what statements will show)."""
    # Headers and kinds in the reader's words (HR opens this in a spreadsheet); figures stay plain.
    kinds = {"hours_sponsored": _("Sponsored hours"), "hours_volunteered": _("Volunteered hours")}
    bases = {"employer_cost": _("the employer's hourly cost"), "none": _("not valued")}
    rows = [(_("Date"), _("Kind"), _("Ambassador"), _("Hours"), _("Value (EUR)"), _("Valuation basis"),
             _("Description"), _("Line"))]
    rows += [(item.on.isoformat(), kinds.get(item.kind, item.kind), safe_cell(item.person),
              f"{item.minutes / 60:.2f}",  # not money
              money.format_plain(item.value_cents), bases.get(item.basis, item.basis), safe_cell(describe(item)),
              item.key)
             for item in hours.contributions(current_user.company_id, None, None)]
    return Response(csv_bytes(rows), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=confirmed-hours.csv"})


# --- the employee: single-use link, own pages --------------------------------------------------

def _ambassador() -> Enrolment | None:
    if "ambassador_enrolment" not in g:
        g.ambassador_enrolment = service.ambassador_enrolment(session.get(AMBASSADOR_SESSION_KEY))
    return g.ambassador_enrolment


def _ambassador_or_redirect():
    enrolment = _ambassador()
    if enrolment is None:
        session.pop(AMBASSADOR_SESSION_KEY, None)
        flash(_("Your session has ended. Ask for a new link below."), "warning")
        return None, redirect(url_for("enrollment.ambassador_link"))
    return enrolment, None


@bp.route("/ambassador/start/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def ambassador_welcome(token: str):
    # GET only shows a button: mail scanners that follow links must not use up the link.
    if request.method == "GET":
        if not service.link_is_valid(token):
            flash(_("This link is no longer valid. Ask for a new one below."), "error")
            return redirect(url_for("enrollment.ambassador_link"))
        return render_template("enrollment/ambassador_welcome.html", form=DecideForm(), token=token)
    form = DecideForm()
    raw = service.open_access_link(token) if form.validate_on_submit() else None
    if raw is None:
        flash(_("This link is no longer valid. Ask for a new one below."), "error")
        return redirect(url_for("enrollment.ambassador_link"))
    session[AMBASSADOR_SESSION_KEY] = raw
    enrolment = service.ambassador_enrolment(raw)
    if enrolment is not None and "lang" not in session:
        session["lang"] = enrolment.language  # the employee's pages in the language of their e-mails
    return redirect(url_for("enrollment.ambassador_home"))


@bp.route("/ambassador/link", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def ambassador_link():
    form = LinkRequestForm()
    if form.validate_on_submit():
        service.request_access_link(form.email.data)
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
def ambassador_home():
    enrolment, response = _ambassador_or_redirect()
    if response:
        return response
    return _ambassador_page(enrolment)


@bp.post("/ambassador/documents")
@limiter.limit("30 per hour")
def ambassador_upload():
    enrolment, response = _ambassador_or_redirect()
    if response:
        return response
    form = UploadForm()
    if form.validate_on_submit():
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise EnrollmentError(_l("Choose the PDF file to upload."), "file")
            data = upload.read(documents.MAX_PDF_BYTES + 1)
            documents.store(enrolment, form.kind.data, data, upload.filename)
        except EnrollmentError as error:
            _apply_error(form, error)
        else:
            flash(_("Thank you, your %(document)s is uploaded.", document=str(documents.KIND_LABELS[form.kind.data]).lower()), "success")
            return redirect(url_for("enrollment.ambassador_home"))
    return _ambassador_page(enrolment, status=422, upload_form=form)


@bp.get("/ambassador/documents/<kind>")
def ambassador_document(kind: str):
    enrolment = _ambassador()
    if enrolment is None or kind not in DOCUMENT_KINDS:
        abort(404)
    document = Document.get_or_none((Document.enrolment == enrolment.id) & (Document.kind == kind))
    if document is None:
        abort(404)
    return documents.send(document)


@bp.post("/ambassador/hours")
def ambassador_hours():
    enrolment, response = _ambassador_or_redirect()
    if response:
        return response
    try:
        return _report(enrolment, actor=None, via="ambassador", back=redirect(url_for("enrollment.ambassador_home")))
    except EnrollmentError as error:
        flash(str(error), "error")
        return redirect(url_for("enrollment.ambassador_home"))


@bp.post("/ambassador/hours/extra")
def ambassador_extra():
    enrolment, response = _ambassador_or_redirect()
    if response:
        return response
    return _extra(enrolment, actor=None, via="ambassador", back=redirect(url_for("enrollment.ambassador_home")),
                  page=lambda form: _ambassador_page(enrolment, status=422, extra_form=form))


@bp.post("/ambassador/iban")
def ambassador_iban():
    enrolment, response = _ambassador_or_redirect()
    if response:
        return response
    form = IbanForm()
    if form.validate_on_submit():
        try:
            service.set_payout_iban(enrolment, form.iban.data)
        except EnrollmentError as error:
            _apply_error(form, error)
        else:
            flash(_("Your IBAN is saved."), "success")
            return redirect(url_for("enrollment.ambassador_home"))
    return _ambassador_page(enrolment, status=422, iban_form=form)


@bp.post("/ambassador/logout")
def ambassador_logout():
    if not DecideForm().validate_on_submit():
        abort(400)
    service.end_ambassador_session(session.pop(AMBASSADOR_SESSION_KEY, None))
    flash(_("You are logged out. Your link from the e-mail has been used; ask for a new one to come back."), "success")
    return redirect(url_for("enrollment.ambassador_link"))


# --- the project leader: enrolments, matching, VOG, hours ---------------------------------------

def _leader_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = Enrolment.get_or_none(Enrolment.id == enrolment_id)
    if enrolment is None:
        abort(404)
    return enrolment


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
    if filters["vog"] in service.VOG_LABELS:
        query = query.where(Enrolment.vog_status == filters["vog"])
    if filters["q"]:
        needle = f"%{filters['q'].strip().lower()[:100]}%"
        query = query.where(fn.LOWER(Enrolment.employee_name).contains(needle.strip("%"))
                            | Enrolment.employee_email.contains(needle.strip("%")))
    page = max(request.args.get("page", 1, type=int), 1)
    total = query.count()
    rows = list(query.order_by(Enrolment.starts_on, Company.legal_name, Enrolment.employee_name)
                .paginate(page, PAGE_SIZE))
    companies = list(Company.select(Company.id, Company.legal_name).order_by(Company.legal_name))
    return render_template("enrollment/leader_enrolments.html", rows=rows, filters=filters, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), companies=companies, years=service.school_years(),
                           statuses=STATUSES, figures=dashboard.leader_figures())


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
        _apply_error(match_form if error.field in ("school", "group_name", "teacher_name") else form, error)
        return _detail_page(enrolment, leader=True, status=422, move_form=form, match_form=match_form)
    flash(_("%(name)s is now: %(status)s.", name=enrolment.employee_name,
            status=str(service.STATUS_LABELS[form.to.data]).lower()), "success")
    return _back(enrolment, True)


@bp.post("/leader/ambassadors/<int:enrolment_id>/vog")
@leader_required
def leader_vog(enrolment_id: int):
    return _vog(_leader_enrolment(enrolment_id), True)


@bp.post("/leader/ambassadors/<int:enrolment_id>/link")
@leader_required
def leader_send_link(enrolment_id: int):
    return _send_link(_leader_enrolment(enrolment_id), True)


@bp.post("/leader/ambassadors/<int:enrolment_id>/hours")
@leader_required
def leader_report_hours(enrolment_id: int):
    enrolment = _leader_enrolment(enrolment_id)
    return _report(enrolment, actor=current_user, via="leader", back=_back(enrolment, True))


@bp.post("/leader/ambassadors/<int:enrolment_id>/hours/extra")
@leader_required
def leader_extra_hours(enrolment_id: int):
    enrolment = _leader_enrolment(enrolment_id)
    return _extra(enrolment, actor=current_user, via="leader", back=_back(enrolment, True),
                  page=lambda form: _detail_page(enrolment, leader=True, status=422, extra_form=form))


@bp.get("/leader/ambassadors/<int:enrolment_id>/documents/<kind>")
@leader_required
def leader_document(enrolment_id: int, kind: str):
    document = Document.get_or_none((Document.enrolment == enrolment_id) & (Document.kind == kind))
    if document is None:
        abort(404)
    return documents.send(document)


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
        try:
            minutes = service.parse_minutes(form.hours.data, "hours") if (form.hours.data or "").strip() else None
            hours.correct_entry(entry.id, current_user, form.reason.data, minutes)
        except EnrollmentError as error:
            flash(str(error), "error")
        else:
            flash(_("The session of %(day)s is corrected with a reversal line.", day=entry.worked_on.isoformat()), "success")
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
        try:
            decided, skipped = hours.decide_entries(ids, current_user, approve=approve, reason=form.reason.data or "")
        except EnrollmentError as error:
            _apply_error(form, error)
        else:
            message = (ngettext("%(num)d session confirmed.", "%(num)d sessions confirmed.", decided) if approve
                       else ngettext("%(num)d session rejected.", "%(num)d sessions rejected.", decided))
            if skipped:
                message += " " + ngettext("%(num)d was skipped because someone else decided on it first.",
                                          "%(num)d were skipped because someone else decided on them first.", skipped)
            flash(message, "success")
            return redirect(url_for("enrollment.leader_hours", company=company_id or None))
    entries = list(hours.awaiting_decision(company_id))
    total = service.awaiting_confirmation_count()
    companies = list(Company.select(Company.id, Company.legal_name).order_by(Company.legal_name))
    return render_template("enrollment/leader_hours.html", form=form, entries=entries, total=total,
                           companies=companies, company_id=company_id), 422 if form.errors else 200


@bp.route("/leader/reminders", methods=["GET", "POST"])
@leader_required
def leader_reminders():
    form = DecideForm()
    if form.validate_on_submit():
        count = service.send_vog_reminders()
        flash(ngettext("%(num)d reminder sent.", "%(num)d reminders sent.", count) if count else _("Everyone due has already been reminded."), "success")
        return redirect(url_for("enrollment.leader_reminders"))
    today = clock.today()
    missing = list(service.vog_missing(today))
    return render_template("enrollment/leader_reminders.html", form=form, missing=missing, today=today,
                           reminded=service.reminder_sent(e.id for e in missing),
                           not_started=list(service.start_passed_not_active(today)))


# --- the project leader: schools, school years, allowance --------------------------------------

@bp.get("/leader/schools")
@leader_required
def leader_schools():
    schools = list(School.select(School, fn.COUNT(Enrolment.id).alias("placements"))
                   .join(Enrolment, JOIN.LEFT_OUTER, on=((Enrolment.school == School.id)
                                                         & Enrolment.status.in_(("matched", "active"))))
                   .group_by(School.id).order_by(School.name))
    return render_template("enrollment/leader_schools.html", schools=schools)


@bp.route("/leader/schools/new", methods=["GET", "POST"])
@bp.route("/leader/schools/<int:school_id>", methods=["GET", "POST"])
@leader_required
def leader_school(school_id: int | None = None):
    school = School.get_or_none(School.id == school_id) if school_id else None
    if school_id and school is None:
        abort(404)
    form = SchoolForm(obj=school) if request.method == "GET" and school else SchoolForm()
    if request.method == "GET" and school:
        form.is_active.data = "1" if school.is_active else "0"
    if form.validate_on_submit():
        values = {name: form[name].data or "" for name in ("name", "brin", "street", "postcode", "city",
                                                           "coordinator_name", "coordinator_email")}
        values["is_active"] = form.is_active.data != "0"
        try:
            saved = service.save_school(current_user, values, school)
        except EnrollmentError as error:
            _apply_error(form, error)
        else:
            flash(_("%(name)s is saved.", name=saved.name), "success")
            return redirect(url_for("enrollment.leader_schools"))
    return render_template("enrollment/leader_school.html", form=form, school=school), 422 if form.errors else 200


@bp.get("/leader/school-years")
@leader_required
def leader_school_years():
    return render_template("enrollment/leader_school_years.html", years=service.school_years())


def _closure_form(year: SchoolYear) -> ClosureForm:
    form = ClosureForm()
    form.school.choices = [("", _("Every school"))] + [(str(s.id), s.name) for s in School.select().order_by(School.name)]
    return form


@bp.route("/leader/school-years/new", methods=["GET", "POST"])
@bp.route("/leader/school-years/<int:year_id>", methods=["GET", "POST"])
@leader_required
def leader_school_year(year_id: int | None = None):
    year = SchoolYear.get_or_none(SchoolYear.id == year_id) if year_id else None
    if year_id and year is None:
        abort(404)
    form = SchoolYearForm(obj=year) if request.method == "GET" and year else SchoolYearForm()
    if request.method == "GET" and year:
        form.allowance.data = money.format_plain(year.allowance_monthly_cents).replace(".", ",")
    if form.validate_on_submit():
        try:
            cents = money.parse_cents(form.allowance.data, max_cents=100000, allow_zero=True)
        except money.AmountError as error:
            form.allowance.errors = [str(error)]
        else:
            try:
                saved = service.save_school_year(current_user, {
                    "name": form.name.data, "region": form.region.data, "starts_on": form.starts_on.data,
                    "ends_on": form.ends_on.data, "half_starts_on": form.half_starts_on.data,
                    "allowance_monthly_cents": cents}, year)
            except EnrollmentError as error:
                _apply_error(form, error)
            else:
                flash(_("School year %(name)s is saved.", name=saved.name), "success")
                return redirect(url_for("enrollment.leader_school_year", year_id=saved.id))
    closures = []
    calendar = None
    if year:
        closures = list(Closure.select(Closure, School).join(School, JOIN.LEFT_OUTER)
                        .where(Closure.school_year == year.id).order_by(Closure.starts_on))
        calendar = service.calendar_for(year)
    return render_template("enrollment/leader_school_year.html", form=form, year=year, closures=closures,
                           calendar=calendar, closure_form=_closure_form(year) if year else None,
                           weeks=(calendar.school_weeks(*calendar.half_period("first")),
                                  calendar.school_weeks(*calendar.half_period("second"))) if year else (0, 0),
                           weekday_counts=[len(calendar.sessions(d, year.starts_on, year.ends_on)) for d in range(5)] if year else []), \
        422 if form.errors else 200


@bp.post("/leader/school-years/<int:year_id>/closures")
@leader_required
def leader_add_closure(year_id: int):
    year = SchoolYear.get_or_none(SchoolYear.id == year_id) or abort(404)
    form = _closure_form(year)
    if form.validate_on_submit():
        school = School.get_or_none(School.id == int(form.school.data)) if (form.school.data or "").isdigit() else None
        try:
            service.add_closure(current_user, year, form.kind.data, form.name.data, form.starts_on.data,
                                form.ends_on.data, school)
        except EnrollmentError as error:
            flash(str(error), "error")
        else:
            flash(_("%(name)s is added; planned sessions on those days are removed.", name=form.name.data), "success")
    else:
        flash(_("Fill in the kind, name and both dates."), "error")
    return redirect(url_for("enrollment.leader_school_year", year_id=year.id))


@bp.post("/leader/school-years/<int:year_id>/closures/<int:closure_id>/delete")
@leader_required
def leader_remove_closure(year_id: int, closure_id: int):
    closure = Closure.get_or_none((Closure.id == closure_id) & (Closure.school_year == year_id)) or abort(404)
    if DecideForm().validate_on_submit():
        service.remove_closure(current_user, closure)
        flash(_("%(name)s is removed; sessions on those days are planned again.", name=service.closure_name(closure.name)), "success")
    return redirect(url_for("enrollment.leader_school_year", year_id=year_id))


@bp.route("/leader/allowances", methods=["GET", "POST"])
@leader_required
def leader_allowances():
    today = clock.today()
    year = service.current_school_year(today)
    default_from = year.starts_on.replace(day=1) if year else today.replace(day=1)
    month_from = _parse_month(request.values.get("month_from")) or default_from
    month_to = _parse_month(request.values.get("month_to")) or today.replace(day=1)
    form = AllowanceForm(month_from=month_from.strftime("%Y-%m"), month_to=month_to.strftime("%Y-%m"))
    refused: dict[int, dict] = {}  # line id -> what the leader typed and why it was refused
    if request.method == "POST" and form.validate_on_submit():
        action = request.form.get("action")
        if action == "decide":
            typed = {"decision": request.form.get("decision", ""), "reason": request.form.get("reason", ""),
                     "amount": request.form.get("amount", "")}
            line_id = request.form.get("line_id", type=int) or 0
            try:
                line = allowance.decide(line_id, current_user, typed["decision"], typed["reason"], typed["amount"],
                                        current_language())
            except EnrollmentError as error:
                refused[line_id] = typed | {"error": str(error), "field": error.field}
            else:
                flash(_("The decision on the allowance of %(month)s is recorded.", month=line.month.strftime("%Y-%m")),
                      "success")
        elif action == "build":
            count = allowance.build_ledger(current_user, month_to)
            flash(ngettext("%(num)d allowance line added.", "%(num)d allowance lines added.", count), "success")
        elif action == "export":
            try:
                batch, data = allowance.export_open(current_user, month_from, month_to, current_language())
            except EnrollmentError as error:
                flash(str(error), "error")
            else:
                return Response(data, mimetype="text/csv",
                                headers={"Content-Disposition": f"attachment; filename=allowance-{batch}.csv"})
        if not refused:
            return redirect(url_for("enrollment.leader_allowances", month_from=month_from.strftime("%Y-%m"),
                                    month_to=month_to.strftime("%Y-%m")))
    data = allowance.ledger(month_from, month_to, language=current_language())
    shown = {row.line.id for row in data.rows}
    for typed in [typed for line_id, typed in refused.items() if line_id not in shown]:
        flash(typed["error"], "error")
    return render_template("enrollment/leader_allowances.html", form=form, ledger=data, batches=allowance.batches(),
                           caps=list(AllowanceCap.select().order_by(AllowanceCap.year)), refused=refused,
                           decision_labels=allowance.DECISION_LABELS), 422 if refused else 200


@bp.get("/leader/allowances/<batch>.csv")
@leader_required
def leader_allowance_batch(batch: str):
    if not re.fullmatch(r"A\d{14}[0-9a-f]{4}", batch):
        abort(404)
    data = allowance.batch_csv(batch, current_language())
    if data is None:
        abort(404)
    return Response(data, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename=allowance-{batch}.csv"})


@bp.route("/leader/allowance-limits", methods=["GET", "POST"])
@leader_required
def leader_caps():
    form = CapForm()
    asked = request.args.get("year", type=int)
    if request.method == "GET" and asked and 2000 <= asked <= 2100:
        form.year.data = asked
        known = AllowanceCap.get_or_none(AllowanceCap.year == asked)
        if known is not None:  # replacing a year's limits starts from what is stored
            for name in ("per_month", "per_year", "per_hour", "per_hour_under_21"):
                form[name].data = money.format_plain(getattr(known, f"{name}_cents")).replace(".", ",")
            form.source.data = known.source
    if form.validate_on_submit():
        values = {"year": form.year.data, "source": form.source.data or ""}
        ok = True
        for name in ("per_month", "per_year", "per_hour", "per_hour_under_21"):
            try:
                values[f"{name}_cents"] = money.parse_cents(form[name].data, max_cents=10_000_000)
            except money.AmountError as error:
                form[name].errors = [str(error)]
                ok = False
        if ok:
            service.save_cap(current_user, values)
            flash(_("The limits for %(year)s are saved.", year=form.year.data), "success")
            return redirect(url_for("enrollment.leader_caps"))
    caps = list(AllowanceCap.select().order_by(AllowanceCap.year))
    return render_template("enrollment/leader_caps.html", form=form, caps=caps,
                           missing=allowance.years_without_caps()), 422 if form.errors else 200
