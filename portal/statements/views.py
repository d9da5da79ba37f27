"""Contribution statements: preview, issue, download, correct, the leader's register, verify."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.models import Company
from portal.core import clock, hooks, money
from portal.core.security import company_required, get_owned_or_404, leader_required, limiter
from portal.core.templating import current_language, format_hours_unit, main_menu
from portal.core.views import attachment
from portal.statements import after_issue, bulk, document, periods, records, service, snapshots
from portal.statements import certificates as certificates_service
from portal.statements.forms import ConfirmForm, PeriodForm, VerifyForm, VoidForm
from portal.statements.models import Statement

bp = Blueprint("statements", __name__)

VERIFY_LIMIT = "20 per minute;200 per hour"
MAX_VERIFY_UPLOAD = 10 * 1024 * 1024


@bp.record_once
def _wire(state):
    app = state.app

    hooks.connect(app, hooks.MENU, main_menu(_l("Statements"), leader=("statements.register", 92),
                                             company=("statements.index", 60)))
    hooks.connect(app, hooks.COMPANY_PANELS, lambda company: hooks.Panel(
        "statements/_dashboard_panel.html", 30, {"st": _company_panel(company)}))
    hooks.connect(app, hooks.LEADER_PANELS, lambda: hooks.Panel(
        "statements/_leader_panel.html", 30, {"st": _leader_panel()}))
    app.jinja_env.globals.update(
        statement_period=lambda statement: document.period_label(
            {"kind": statement.period_kind, "start": statement.period_start.isoformat(),
             "end": statement.period_end.isoformat()}, _web_language()),
        statement_code=service.display_code,
        statement_hours=lambda minutes: document._hours(minutes, _web_language()),
        statement_change_amount=_change_amount,
        statement_run_period=lambda item: document.period_label(item.period.as_dict(), _web_language()),
        statement_kind=lambda kind: document.KIND_LABELS.get(kind, kind),
        statement_basis=lambda basis: document.BASIS_LABELS.get(basis, basis),
        statement_classification=lambda name: document.CLASSIFICATION_LABELS.get(name or "unclassified", name),
    )


def _change_amount(change: after_issue.LineChange, side: dict | None) -> str:
    """One side of a changed line, in words and figures, for every shape a statement ever kept:
    a contribution line (hours, money with gross_cents, materials) or an SROI claim line
    (allocated minutes or cents, and the value the commitment's rules give them)."""
    if not side:
        return "–"
    language = _web_language()

    def cents(name: str) -> int:
        return int(side.get(name) or 0)

    hours = side.get("kind") in ("hours_sponsored", "hours_volunteered")
    if change.sroi:
        allocated = format_hours_unit(cents("minutes"), language) if hours else money.format_eur(cents("cents"), language)
        return _("%(allocated)s, SROI value %(value)s", allocated=allocated,
                 value=money.format_eur(cents("value_cents"), language))
    if hours:
        text = format_hours_unit(cents("minutes"), language)
        return f"{text} · {money.format_eur(cents('value_cents'), language)}" if cents("value_cents") else text
    if side.get("kind") == "money":
        return money.format_eur(cents("gross_cents") if "gross_cents" in side else cents("value_cents"), language)
    return money.format_eur(cents("value_cents"), language)


def _web_language() -> str:
    return current_language()


def _company_panel(company):
    statements = records.company_statements(company.id)
    return {"latest": statements[:3], "count": len(statements), "flags": after_issue.company_flags(company.id)}


def _leader_panel():
    year = records.year_count(clock.today().year)
    return {"year": year.year, "total": year.total, "issued": year.by_status.get("issued", 0),
            "void": year.by_status.get("void", 0),
            # Corrections are due whatever the year the statement was issued in.
            "needs_correction": after_issue.count_needing_correction(),
            "missing": year.missing}


def pdf_response(data: bytes, filename: str):
    """A PDF download: attachment with a safe name, sandboxed, never cached, with its digest."""
    response = make_response(data)
    ascii_name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Repr-Digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
    return response


def _period_form(formdata):
    """The period form: from the query string (preview, no token needed) or a POST (with token)."""
    if formdata is request.form:
        return PeriodForm(formdata=formdata, today=clock.today())
    return PeriodForm(formdata=formdata, today=clock.today(), meta={"csrf": False})


def _chosen_period(formdata):
    """The period form read from `formdata` and the period it names (None when it is not valid)."""
    form = _period_form(formdata)
    return form, form.period() if form.validate() else None


# --- company: list, preview, issue, download, correct ----------------------------------------------

@bp.get("/statements")
@company_required
def index():
    statements = records.company_statements(current_user.company_id)
    flags = after_issue.correction_flags(statements)
    replaced = {s.replaces_id: s for s in statements if s.replaces_id}
    form = _period_form(None)
    return render_template("statements/index.html", statements=statements, flags=flags, replaced=replaced, form=form)


@bp.get("/statements/preview")
@company_required
def preview():
    form, period = _chosen_period(request.args)
    if period is None:
        statements = records.company_statements(current_user.company_id)
        return render_template("statements/index.html", statements=statements,
                               flags=after_issue.correction_flags(statements),
                               replaced={s.replaces_id: s for s in statements if s.replaces_id}, form=form), 422
    company = current_user.company
    snapshot = snapshots.summary_of(company, period)  # totals from the books: no line is read
    existing = service.current_statement(company.id, period)
    # A calendar or school year still running gets an interim overview, never a statement yet.
    running = periods.is_running(period, clock.today())
    return render_template("statements/preview.html", form=form, snapshot=snapshot, period=period,
                           period_label=document.period_label(period.as_dict(), _web_language()),
                           existing=existing, query=request.query_string.decode(), running=running,
                           issuable_from=periods.issuable_from(period) if running else None)


@bp.get("/statements/preview.pdf")
@company_required
@limiter.limit("30 per minute")
def preview_pdf():
    form, period = _chosen_period(request.args)
    if period is None:
        abort(400)
    snapshot, data = service.preview(current_user.company, period)
    prefix = _("interim-overview") if snapshot["interim"] else "concept"
    return pdf_response(data, f"{prefix}-{period.slug}.pdf")


@bp.post("/statements/issue")
@company_required
@limiter.limit("30 per hour")
def issue():
    form, period = _chosen_period(request.form)
    if period is None:
        flash(_("Choose the period again: %(problem)s", problem=" ".join(
            str(e) for errors in form.errors.values() for e in errors)), "error")
        return redirect(url_for("statements.index"))
    try:
        statement = service.issue(current_user.company, period, current_user)
    except service.StatementError as error:
        flash(str(error), "error")
        if error.statement is not None and error.statement.company_id == current_user.company_id:
            return redirect(url_for("statements.detail", statement_id=error.statement.id))
        return redirect(url_for("statements.index"))
    flash(_("Statement %(number)s has been issued.", number=statement.number), "success")
    return redirect(url_for("statements.detail", statement_id=statement.id))


def _detail_context(statement: Statement) -> dict:
    flag = after_issue.correction_flags([statement]).get(statement.id)
    if statement.status != "issued":
        changes = []
    elif statement.ledger_mark is None:  # issued before change marks: the flag compared its lines
        changes = list(flag.lines) if flag is not None else []
    else:  # what changed, line by line, in this statement's period
        changes = after_issue.changes(statement)
    return {
        "statement": statement,
        "snapshot": snapshots.snapshot_of(statement),
        "flag": flag,
        "changes": changes,
        "replaces": Statement.get_by_id(statement.replaces_id) if statement.replaces_id else None,
        "replaced_by": records.replaced_by(statement),
        "confirm_form": ConfirmForm(),
    }


@bp.get("/statements/<int:statement_id>")
@company_required
def detail(statement_id: int):
    statement = get_owned_or_404(Statement, statement_id, current_user.company_id)
    return render_template("statements/detail.html", leader=False, **_detail_context(statement))


@bp.get("/statements/<int:statement_id>/pdf")
@company_required
def download(statement_id: int):
    statement = get_owned_or_404(Statement, statement_id, current_user.company_id)
    return pdf_response(statement.pdf_bytes, f"{statement.number}.pdf")


@bp.get("/statements/<int:statement_id>/specification.csv")
@company_required
def specification(statement_id: int):
    statement = get_owned_or_404(Statement, statement_id, current_user.company_id)
    return _specification_response(statement)


@bp.post("/statements/<int:statement_id>/correct")
@company_required
@limiter.limit("30 per hour")
def correct(statement_id: int):
    statement = get_owned_or_404(Statement, statement_id, current_user.company_id)
    return _correct(statement, "statements.detail")


def _correct(statement: Statement, endpoint: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        new = service.issue_correction(statement, current_user)
    except service.StatementError as error:
        flash(str(error), "error")
        return redirect(url_for(endpoint, statement_id=statement.id))
    flash(_("Correction %(number)s has been issued; it replaces %(old)s.", number=new.number, old=statement.number),
          "success")
    return redirect(url_for(endpoint, statement_id=new.id))


# --- certificates of participation ----------------------------------------------------------------

@bp.get("/statements/certificates")
@company_required
def certificates():
    return render_template("statements/certificates.html",
                           certificates=certificates_service.completed(current_user.company_id))


@bp.get("/statements/certificates/<int:enrolment_id>/pdf")
@company_required
@limiter.limit("60 per minute")
def certificate_pdf(enrolment_id: int):
    certificate = certificates_service.for_enrolment(current_user.company_id, enrolment_id)
    if certificate is None:
        abort(404)
    return pdf_response(certificates_service.render(certificate), certificate.filename)


# --- the project leader: register, detail, correct, void ------------------------------------------

@bp.get("/leader/statements")
@leader_required
def register():
    years = records.register_years()
    try:
        year = int(request.args.get("year") or (years[0] if years else clock.today().year))
    except ValueError:
        abort(404)
    found = records.register(year)
    entry = found[0] if found else records.RegisterYear(year, 0, [])
    flags = after_issue.correction_flags(entry.statements)
    ids = [s.id for s in entry.statements]
    corrections = Statement.select(Statement.id, Statement.number, Statement.replaces).where(Statement.replaces.in_(ids)) if ids else []
    replaced = {s.replaces_id: s for s in corrections}
    numbers = {s.id: s.number for s in entry.statements}
    earlier = sorted({s.replaces_id for s in entry.statements if s.replaces_id and s.replaces_id not in numbers})
    if earlier:  # corrections of statements issued in another year: their numbers in one query
        numbers.update(Statement.select(Statement.id, Statement.number).where(Statement.id.in_(earlier)).tuples())
    return render_template("statements/register.html", entry=entry, years=years, flags=flags,
                           replaced=replaced, numbers=numbers)


@bp.route("/leader/statements/runs", methods=["GET", "POST"])
@leader_required
def runs():
    """Issue a period's statements for every company: queued for the task queue, then its outcome."""
    posted = request.method == "POST"
    form = _period_form(request.form if posted else None)
    status = 200
    if posted:
        period = form.period() if form.validate() else None
        if period is not None:
            try:
                bulk.request_run(period, current_user)
            except service.StatementError as error:
                flash(str(error), "error")
                status = 422
            else:
                flash(_("The statements of %(period)s are queued: they are issued in the background. "
                        "This page shows the outcome when the run is done.",
                        period=document.period_label(period.as_dict(), _web_language())), "success")
                return redirect(url_for("statements.runs"))
        else:
            status = 422
    return render_template("statements/runs.html", form=form, runs=bulk.recent_runs(), today=clock.today()), status


@bp.get("/leader/statements/<int:statement_id>")
@leader_required
def leader_detail(statement_id: int):
    statement = Statement.get_or_none(Statement.id == statement_id) or abort(404)
    return render_template("statements/detail.html", leader=True, void_form=VoidForm(),
                           company=Company.get_by_id(statement.company_id), **_detail_context(statement))


@bp.get("/leader/statements/<int:statement_id>/pdf")
@leader_required
def leader_download(statement_id: int):
    statement = Statement.get_or_none(Statement.id == statement_id) or abort(404)
    return pdf_response(statement.pdf_bytes, f"{statement.number}.pdf")


@bp.get("/leader/statements/<int:statement_id>/specification.csv")
@leader_required
def leader_specification(statement_id: int):
    statement = Statement.get_or_none(Statement.id == statement_id) or abort(404)
    return _specification_response(statement)


def _specification_response(statement: Statement) -> Response:
    """Every line of the statement as frozen at issue (one row per session, payment or delivery), as CSV."""
    data = document.specification_csv(snapshots.snapshot_of(statement))
    return attachment(data, "text/csv", f"{statement.number}-specification.csv")


@bp.post("/leader/statements/<int:statement_id>/correct")
@leader_required
def leader_correct(statement_id: int):
    statement = Statement.get_or_none(Statement.id == statement_id) or abort(404)
    return _correct(statement, "statements.leader_detail")


@bp.post("/leader/statements/<int:statement_id>/void")
@leader_required
def leader_void(statement_id: int):
    statement = Statement.get_or_none(Statement.id == statement_id) or abort(404)
    form = VoidForm()
    if form.validate_on_submit():
        try:
            service.void(statement, current_user, form.reason.data)
        except service.StatementError as error:
            flash(str(error), "error")
        else:
            flash(_("Statement %(number)s has been withdrawn.", number=statement.number), "success")
            return redirect(url_for("statements.leader_detail", statement_id=statement.id))
    return render_template("statements/detail.html", leader=True, void_form=form,
                           company=Company.get_by_id(statement.company_id), **_detail_context(statement)), 422


# --- verification: anyone holding the document ---------------------------------------------------

@bp.route("/verify", methods=["GET"])
@limiter.limit(VERIFY_LIMIT)
def verify_start():
    form = VerifyForm(formdata=request.args if request.args else None)
    number = (form.number.data or "").strip().upper()
    if number and service.NUMBER_PATTERN.match(number):
        return redirect(url_for("statements.verify", number=number, code=form.code.data or None))
    return render_template("statements/verify.html", form=form, number=None, result=None)


@bp.route("/verify/<number>", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT)
def verify(number: str):
    # POST: FlaskForm reads the form and the uploaded file itself; GET: the QR link's query.
    form = VerifyForm() if request.method == "POST" else VerifyForm(formdata=request.args or None)
    form.number.data = number
    code = form.code.data or ""
    if not code:
        return render_template("statements/verify.html", form=form, number=number, result=None)
    statement = records.verify(number, code)
    upload = None
    if statement is not None and request.method == "POST" and form.document.data:
        data = form.document.data.read(MAX_VERIFY_UPLOAD + 1)
        upload = {"matches": records.sha256_of(data) == statement.pdf_sha256, "sha256": records.sha256_of(data)}
    result = {"genuine": statement is not None, "statement": statement, "upload": upload,
              "snapshot": snapshots.snapshot_of(statement) if statement else None,
              "replaced_by": records.replaced_by(statement) if statement else None}
    status = 200 if statement is not None else 404
    return render_template("statements/verify.html", form=form, number=number, result=result), status
