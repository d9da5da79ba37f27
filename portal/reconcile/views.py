"""The project leader's desk under /leader/...: thin views over the reconcile service."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Company
from portal.core import audit, audit_labels, clock, ledger, tasks
from portal.core.contributions import KINDS
from portal.core.forms import FlaskForm
from portal.core.money import format_eur
from portal.core.security import leader_required
from portal.core.spreadsheet import CSV_STYLES, CsvStyle, csv_style
from portal.core.templating import MenuItem, current_language, register_menu_provider
from portal.reconcile import banks, charts, exports, jobs, service, stripe_sync
from portal.reconcile import journal as journal_module
from portal.reconcile.forms import CloseForm, CorrectionForm, ImportForm, PasteForm
from portal.reconcile.models import BankLine

bp = Blueprint("reconcile", __name__)

PAGE = 100


@bp.record_once
def _setup(state):
    app = state.app

    def provider(name, _language, user):
        if name != "main" or not user.is_authenticated or not getattr(user, "is_leader", False):
            return []
        return [MenuItem(_("Reconciliation"), url_for("reconcile.desk"), 91)]

    register_menu_provider(app, provider)
    from portal.accounts.views import register_dashboard_panel

    register_dashboard_panel(app, "reconcile/_leader_panel.html", weight=10, leader=True)

    @app.context_processor
    def _reconcile_links():
        return {"reconcile_attention_count": _attention_count}


def _attention_count() -> int:
    return BankLine.select().where((BankLine.status == "unmatched") & (BankLine.amount_cents > 0)).count()


# Ids and page numbers in a query: ASCII digits, at most nine of them (no "²", no overflow).
ID_ARG = re.compile(r"^[0-9]{1,9}$")
# Dates a filter may name: anything else is a typing error, not a period of nine thousand years.
EARLIEST_DATE, LATEST_DATE = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
# The query names the filter forms send; download and page links carry these and no others.
FILTER_ARGS = ("start", "end", "kind", "company", "method", "csv", "format")


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if ID_ARG.match(value) else None


def _date_arg(name: str) -> dt.date | None:
    value = request.args.get(name, "").strip()
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        day = EARLIEST_DATE - dt.timedelta(days=1)
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        flash(_("Dates are written as 2026-05-31, between %(first)s and %(last)s.", first=EARLIEST_DATE.year,
                last=LATEST_DATE.year), "error")
        return None
    return day


def _page() -> int:
    return max(1, _int_arg("page") or 1)


# --- dashboard ------------------------------------------------------------------------------

@bp.get("/leader/reconcile")
@leader_required
def desk():
    totals = service.totals()
    series = service.monthly_series()
    language = current_language()
    money_chart = charts.stacked(series["months"], series["series"], ["money", "material"],
                                 fmt=lambda cents: format_eur(cents // 100 * 100, language).rsplit(",", 1)[0]
                                 if language == "nl" else format_eur(cents // 100 * 100, language).rsplit(".", 1)[0])
    hour_unit = _("h")  # "u" in Dutch
    hours_chart = charts.stacked(series["months"], series["series"], ["hours_sponsored", "hours_volunteered"],
                                 fmt=lambda minutes: f"{minutes // 60} {hour_unit}")
    return render_template("reconcile/desk.html", totals=totals, kinds=KINDS, attention=service.attention(),
                           money_chart=money_chart, hours_chart=hours_chart,
                           statements=service.statements(10))


# --- bank import and the queue --------------------------------------------------------------

@bp.route("/leader/reconcile/import", methods=["GET", "POST"])
@leader_required
def import_statement():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.statement.data
        data = upload.read(service.max_upload_bytes() + 1)
        try:
            # A large file goes to the task queue (unless it is this very file again): the page
            # answers at once and shows the import's progress.
            if len(data) > jobs.background_import_bytes() and service.file_imported_before(data) is None:
                jobs.queue_import(data, filename=upload.filename or "", actor=current_user, fmt=form.format.data,
                                  encoding=form.encoding.data)
                flash(_("Import queued: the file is imported in the background. Its progress is shown below."),
                      "success")
                return redirect(url_for("reconcile.import_statement", _anchor="background-imports"))
            result = service.import_statement(data, filename=upload.filename or "", actor=current_user,
                                              fmt=form.format.data, encoding=form.encoding.data)
        except (banks.StatementError, service.ReconcileError) as error:
            form.statement.errors = list(form.statement.errors) + [str(error)]
        else:
            if result.earlier is not None:
                flash(str(service.imported_before_message(result.earlier)), "warning")
            elif result.duplicate:
                flash(_("This statement was imported before: its %(count)d lines are already here, nothing was added.",
                        count=result.lines_total), "warning")
            else:
                flash(_("%(new)d new lines imported (of %(total)d in the file); %(matched)d matched automatically.",
                        new=result.lines_new, total=result.lines_total, matched=result.matched), "success")
            for message in result.continuity:
                flash(str(message), "warning")
            return redirect(url_for("reconcile.queue"))
    return render_template("reconcile/import.html", form=form, statements=service.statements(),
                           limit_mb=service.max_upload_bytes() // (1024 * 1024), imports=jobs.recent_imports(),
                           background_kb=jobs.background_import_bytes() // 1024)


@bp.get("/leader/reconcile/queue")
@leader_required
def queue():
    status = request.args.get("status", "unmatched")
    if status not in ("unmatched", "ignored"):
        status = "unmatched"
    page = _page()
    rows, total = service.line_queue(status, limit=PAGE, offset=(page - 1) * PAGE)
    # The search for another open item, for one line at a time (a GET form: no script needed).
    search_line, search_text = _int_arg("line"), request.args.get("q", "").strip()[:100]
    found = (service.search_open_items(search_line, search_text)
             if status == "unmatched" and search_line and search_text else None)
    return render_template("reconcile/queue.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE)),
                           status=status, search_line=search_line, search_text=search_text, found=found)


@bp.get("/leader/reconcile/matched")
@leader_required
def matched():
    page = _page()
    query = BankLine.select().where(BankLine.status == "matched")
    if request.args.get("outcome") in ("exact", "partial", "over"):
        query = query.where(BankLine.outcome == request.args["outcome"])
    total = query.count()
    lines = list(query.order_by(BankLine.booked_on.desc(), BankLine.id.desc()).limit(PAGE).offset((page - 1) * PAGE))
    companies = {c.id: c.legal_name for c in Company.select(Company.id, Company.legal_name)}
    return render_template("reconcile/matched.html", lines=lines, total=total, page=page,
                           pages=max(1, -(-total // PAGE)), companies=companies, recorded=service.MONEY_RECORDED,
                           not_undoable=service.not_undoable(lines),
                           outcome=request.args.get("outcome", ""))


def _line_action(fn, *args, success: str):
    try:
        fn(*args)
    except service.ReconcileError as error:
        flash(str(error), "error")
    else:
        flash(success, "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("reconcile.queue"))


@bp.post("/leader/reconcile/lines/<int:line_id>/match")
@leader_required
def match_line(line_id: int):
    return _line_action(service.match_line, line_id, request.form.get("target", ""), current_user,
                        request.form.get("note", ""), request.form.get("surplus") == "keep",
                        success=_("The line is matched."))


@bp.post("/leader/reconcile/lines/<int:line_id>/unmatch")
@leader_required
def unmatch_line(line_id: int):
    return _line_action(service.unmatch_line, line_id, current_user, request.form.get("reason", ""),
                        success=_("The match is undone; the line waits in the queue again."))


@bp.post("/leader/reconcile/lines/<int:line_id>/ignore")
@leader_required
def ignore_line(line_id: int):
    return _line_action(service.ignore_line, line_id, current_user, request.form.get("reason", ""),
                        success=_("The line is set aside."))


@bp.post("/leader/reconcile/lines/<int:line_id>/restore")
@leader_required
def restore_line(line_id: int):
    return _line_action(service.restore_line, line_id, current_user, success=_("The line is back in the queue."))


@bp.route("/leader/reconcile/surpluses", methods=["GET", "POST"])
@leader_required
def surpluses():
    """Requests paid beyond what they asked: refund the surplus (the refund's bank line closes it)
    or keep it as a gift when the company agreed."""
    if request.method == "POST":
        form = FlaskForm()
        donation = request.form.get("donation", "")
        if not form.validate_on_submit() or not donation.isdigit():
            abort(400)
        try:
            service.keep_surplus(int(donation), current_user._get_current_object())
        except service.ReconcileError as error:
            flash(str(error), "error")
        else:
            flash(_("The surplus is kept as a gift, as the company agreed."), "success")
        return redirect(url_for("reconcile.surpluses"))
    return render_template("reconcile/surpluses.html", rows=service.surpluses())


@bp.post("/leader/reconcile/rematch")
@leader_required
def rematch():
    count = service.auto_match(current_user)
    flash(_("%(count)d lines matched.", count=count), "success")
    return redirect(url_for("reconcile.queue"))


@bp.route("/leader/reconcile/paste", methods=["GET", "POST"])
@leader_required
def paste():
    form = PasteForm()
    results = None
    if form.validate_on_submit():
        try:
            results = service.mark_references_paid(form.references.data, current_user, form.paid_on.data)
        except service.ReconcileError as error:
            form.references.errors = list(form.references.errors) + [str(error)]
    return render_template("reconcile/paste.html", form=form, results=results)


# --- periods --------------------------------------------------------------------------------

def _period_choice() -> tuple[str, str]:
    kind = request.values.get("kind", "month")
    label = request.values.get("label", "").strip()
    if not label:
        today = clock.today()
        label = f"{today:%Y-%m}" if kind == "month" else service.school_year_of(today)
    return kind, label


@bp.route("/leader/reconcile/periods", methods=["GET", "POST"])
@leader_required
def periods():
    kind, label = _period_choice()
    form = CloseForm()
    correction_form = CorrectionForm(prefix="correction")
    summary, items, late = None, [], []
    try:
        summary = service.period_summary(kind, label)
    except service.ReconcileError as error:
        flash(str(error), "error")
    if summary is not None:
        items = [] if summary.closed else service.items_keeping_open(kind, label)
        late = service.late_postings(summary.starts_on, summary.ends_on)
    explanations = {item.code: request.form.get(f"explain-{item.code}", "") for item in items}
    running = summary is not None and summary.ends_on >= clock.today()
    if summary is not None and request.method == "POST" and form.validate_on_submit():
        try:
            service.close_period(kind, label, current_user, form.explanation.data or "", explanations)
        except service.ReconcileError as error:
            if running:  # the page shows no form for a running period: say it above
                flash(str(error), "error")
            else:
                form.explanation.errors = list(form.explanation.errors) + [str(error)]
        else:
            flash(_("The period is closed. From now on it changes only through corrections."), "success")
            return redirect(url_for("reconcile.periods", kind=kind, label=label))
    return render_template("reconcile/periods.html", kind=kind, label=label, summary=summary, form=form,
                           correction_form=correction_form, closed=service.closed_periods(), kinds=KINDS,
                           items=items, explanations=explanations, late=late, kind_labels=ledger.KIND_LABELS,
                           running=running)


@bp.post("/leader/reconcile/periods/<int:period_id>/corrections")
@leader_required
def add_correction(period_id: int):
    form = CorrectionForm(prefix="correction")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("reconcile.periods"))
    text = (form.amount.data or "").strip().replace(",", ".")
    try:
        cents = Decimal(text) * 100
        if cents != cents.to_integral_value() or abs(cents) > 10**11:
            raise InvalidOperation
    except InvalidOperation:
        flash(_("Enter an amount such as -12.50 or 250."), "error")
        return redirect(url_for("reconcile.periods"))
    try:
        correction = service.add_correction(period_id, form.on.data, int(cents), form.subject.data or "",
                                            form.reason.data, current_user)
    except service.ReconcileError as error:
        flash(str(error), "error")
        return redirect(url_for("reconcile.periods"))
    flash(_("The correction is recorded."), "success")
    period = correction.period
    label = f"{period.starts_on:%Y-%m}" if period.kind == "month" else service.school_year_of(period.starts_on)
    return redirect(url_for("reconcile.periods", kind=period.kind, label=label))


# --- exports --------------------------------------------------------------------------------

def _export_filters() -> exports.ExportFilters:
    kind = request.args.get("kind", "")
    method = request.args.get("method", "")
    return exports.ExportFilters(start=_date_arg("start"), end=_date_arg("end"),
                                 kind=kind if kind in KINDS else "", company_id=_int_arg("company"),
                                 method=method if method in exports.METHODS else "")


def _csv_style() -> CsvStyle:
    """The CSV the reader asked for (`csv=nl` or `csv=en`), else the one of the page's language."""
    wanted = request.args.get("csv", "")
    return CSV_STYLES[wanted] if wanted in CSV_STYLES else csv_style(current_language())


def _filter_args() -> dict[str, str]:
    """The filters of the query (not the page number, nothing else): what download links carry."""
    return {key: value for key, value in request.args.items() if key in FILTER_ARGS}


@bp.get("/leader/reconcile/export")
@leader_required
def export():
    filters = _export_filters()
    rows = exports.rows(filters)
    total = len(rows)
    pages = max(1, -(-total // exports.PAGE_SIZE))
    page = min(_page(), pages)
    shown = rows[(page - 1) * exports.PAGE_SIZE:page * exports.PAGE_SIZE]
    companies = list(Company.select(Company.id, Company.legal_name).order_by(Company.legal_name))
    return render_template("reconcile/export.html", rows=shown, total=total, page=page, pages=pages,
                           first=(page - 1) * exports.PAGE_SIZE + 1, filters=filters, headers=exports.headers(),
                           companies=companies, kinds=KINDS, kind_labels=exports.KIND_LABELS,
                           methods=exports.METHODS, method_labels=exports.METHOD_LABELS, args=_filter_args(),
                           style=_csv_style())


def _download(body: bytes, mimetype: str, extension: str, filters: exports.ExportFilters, count: int) -> Response:
    from portal.core.db import atomic_write

    with atomic_write():
        audit.record("reconcile.exported", actor=current_user, format=extension, rows=count,
                     start=filters.start, end=filters.end, kind=filters.kind, company=filters.company_id,
                     method=filters.method)
    name = f"contributions-{clock.today():%Y%m%d}.{extension}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/leader/reconcile/export.csv")
@leader_required
def export_csv():
    filters = _export_filters()
    rows = exports.rows(filters)
    return _download(exports.to_csv(rows, _csv_style()), "text/csv", "csv", filters, len(rows))  # Flask adds the charset


@bp.get("/leader/reconcile/export.xlsx")
@leader_required
def export_xlsx():
    filters = _export_filters()
    rows = exports.rows(filters)
    return _download(exports.to_xlsx(rows, current_language()), XLSX, "xlsx", filters, len(rows))


# --- the bookkeeper's journal (issue 14) ----------------------------------------------------------

JOURNAL_FORMATS = ("csv_nl", "csv_en", "xlsx")


def _journal_choice() -> tuple[dt.date | None, dt.date | None, str]:
    """The period and format on the journal form; the period defaults to last month."""
    last_month_end = ledger.month_of(clock.today()) - dt.timedelta(days=1)
    start = _date_arg("start") if request.args.get("start") else ledger.month_of(last_month_end)
    end = _date_arg("end") if request.args.get("end") else last_month_end
    fmt = request.args.get("format", "")
    if fmt not in JOURNAL_FORMATS:
        fmt = "csv_en" if current_language() == "en" else "csv_nl"
    return start, end, fmt


@bp.get("/leader/reconcile/journal")
@leader_required
def journal():
    start, end, fmt = _journal_choice()
    built, error = None, None
    if start and end:
        try:
            built = journal_module.build(start, end)
        except journal_module.JournalError as refusal:
            error = str(refusal)
    return render_template("reconcile/journal.html", start=start, end=end, fmt=fmt, formats=JOURNAL_FORMATS,
                           journal=built, error=error, accounts=journal_module.accounts(),
                           role_labels=journal_module.ROLE_LABELS, args=_filter_args())


@bp.get("/leader/reconcile/journal/download")
@leader_required
def journal_download():
    start, end, fmt = _journal_choice()
    back = redirect(url_for("reconcile.journal", **_filter_args()))
    if not start or not end:
        return back  # _date_arg said what is wrong with the date
    try:
        built = journal_module.build(start, end)
        if fmt == "xlsx":
            body, mimetype, extension = journal_module.to_xlsx(built, current_language()), XLSX, "xlsx"
        else:
            body, mimetype, extension = journal_module.to_csv(built, CSV_STYLES[fmt[-2:]]), "text/csv", "csv"
    except journal_module.JournalError as refusal:
        flash(str(refusal), "error")
        return back
    from portal.core.db import atomic_write

    with atomic_write():
        audit.record("reconcile.exported", actor=current_user, export="journal", format=fmt, rows=len(built.lines),
                     start=start, end=end)
    name = f"journal-{start:%Y%m%d}-{end:%Y%m%d}.{extension}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- audit log ------------------------------------------------------------------------------

@bp.get("/leader/audit")
@leader_required
def audit_log():
    filters = service.AuditFilters(
        action=request.args.get("action", "").strip()[:80], actor_id=_int_arg("actor_id"),
        actor=request.args.get("actor", "").strip()[:100], company_id=_int_arg("company"),
        object_type=request.args.get("object_type", "").strip()[:40],
        object_id=request.args.get("object_id", "").strip()[:64], start=_date_arg("start"), end=_date_arg("end"))
    page = _page()
    rows, total = service.audit_rows(filters, limit=PAGE, offset=(page - 1) * PAGE)
    last = audit.last_check()
    return render_template("reconcile/audit.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE)),
                           names=service.audit_names(rows), check=last, unchecked=audit.rows_since(last),
                           problem=json.loads(last.params) if last else {}, actions=audit_labels.ACTION_LABELS,
                           companies=service.audit_companies(), args=request.args, check_form=CheckForm())


class CheckForm(FlaskForm):
    """Only the CSRF token: asks for a walk of the whole audit chain."""


@bp.post("/leader/audit/check")
@leader_required
def audit_check():
    if not CheckForm().validate_on_submit():
        abort(400)
    tasks.enqueue(audit.check_requested, current_user.id)
    flash(_("The audit chain is being checked; the result shows here when it is done."), "success")
    return redirect(url_for("reconcile.audit_log"))


# --- Stripe ---------------------------------------------------------------------------------

@bp.get("/leader/reconcile/stripe")
@leader_required
def stripe():
    return render_template("reconcile/stripe.html", payouts=stripe_sync.payouts(), runs=stripe_sync.last_runs())


@bp.post("/leader/reconcile/stripe/sync")
@leader_required
def stripe_sync_now():
    result = stripe_sync.sync(current_user)
    if result.error:
        flash(_("Stripe could not be read completely: %(error)s", error=result.error), "error")
    else:
        matched = service.auto_match(current_user)
        flash(_("%(txns)d new balance transactions, %(payouts)d new payouts, %(settled)d payments settled, "
                "%(matched)d bank lines matched.", txns=result.transactions_new, payouts=result.payouts_new,
                settled=result.settled, matched=matched), "success")
    return redirect(url_for("reconcile.stripe"))


# --- acting on behalf of a company user -----------------------------------------------------

@bp.get("/leader/companies/<int:company_id>/users")
@leader_required
def company_users(company_id: int):
    company = Company.get_or_none(Company.id == company_id)
    if company is None:
        abort(404)
    from portal.accounts.service import company_ibans

    return render_template("reconcile/company_users.html", company=company,
                           users=service.company_users(company.id), ibans=company_ibans(company.id))


@bp.post("/leader/users/<int:user_id>/act")
@leader_required
def start_acting(user_id: int):
    from portal.accounts.auth import current_login_session

    login_session = current_login_session()
    try:
        user = service.start_acting(login_session, current_user._get_current_object(), user_id)
    except service.ReconcileError as error:
        flash(str(error), "error")
        return redirect(url_for("reconcile.desk"))
    flash(_("You are now acting on behalf of %(name)s. Everything you do is recorded.", name=user.display_name),
          "warning")
    return redirect(url_for("accounts.dashboard"))


@bp.post("/acting/stop")
def stop_acting():
    # Reachable while acting: then the current user is the company user, not the leader.
    from portal.accounts.auth import current_login_session

    login_session = current_login_session()
    if login_session is None or not login_session.mfa_passed or login_session.acting_for_id is None:
        abort(404)
    user = service.stop_acting(login_session)
    g.pop("login_session", None)
    if user is not None:
        flash(_("You stopped acting on behalf of %(name)s.", name=user.display_name), "success")
        return redirect(url_for("reconcile.company_users", company_id=user.company_id))
    return redirect(url_for("accounts.leader_home"))
