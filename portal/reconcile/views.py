"""The project leader's desk under /leader/...: thin views over the reconcile service modules. The
export and journal downloads are in downloads.py, on the same blueprint (blueprint.py)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from portal.accounts import acting
from portal.accounts.auth import current_login_session
from portal.accounts.models import Company
from portal.accounts.service import AccountError, company_ibans
from portal.core import audit, audit_labels, clock, hooks, ledger, tasks
from portal.core.contributions import KINDS
from portal.core.forms import FlaskForm
from portal.core.money import format_eur
from portal.core.security import leader_required
from portal.core.templating import current_language, main_menu
from portal.reconcile import (
    audit_page,
    bank_import,
    banks,
    charts,
    downloads,  # noqa: F401 (its pages register on bp)
    figures,
    jobs,
    line_matching,
    period_close,
    service,
    stripe_sync,
    work_list,
)
from portal.reconcile.blueprint import PAGE, bp, date_arg, int_arg, page_number
from portal.reconcile.forms import CloseForm, CorrectionForm, ImportForm, PasteForm
from portal.reconcile.models import BankLine


@bp.record_once
def _setup(state):
    app = state.app

    hooks.connect(app, hooks.MENU, main_menu(_l("Reconciliation"), leader=("reconcile.desk", 91)))
    hooks.connect(app, hooks.LEADER_PANELS, lambda: hooks.Panel(
        "reconcile/_leader_panel.html", 10,
        {"attention": _attention_count()}))  # `companies`: the leader page's own list


def _attention_count() -> int:
    return BankLine.select().where((BankLine.status == "unmatched") & (BankLine.amount_cents > 0)).count()


# --- dashboard ------------------------------------------------------------------------------

@bp.get("/leader/reconcile")
@leader_required
def desk():
    totals = figures.totals()
    series = figures.monthly_series()
    language = current_language()
    money_chart = charts.stacked(series["months"], series["series"], ["money", "material"],
                                 fmt=lambda cents: format_eur(cents // 100 * 100, language).rsplit(",", 1)[0]
                                 if language == "nl" else format_eur(cents // 100 * 100, language).rsplit(".", 1)[0])
    hour_unit = _("h")  # "u" in Dutch
    hours_chart = charts.stacked(series["months"], series["series"], ["hours_sponsored", "hours_volunteered"],
                                 fmt=lambda minutes: f"{minutes // 60} {hour_unit}")
    return render_template("reconcile/desk.html", totals=totals, kinds=KINDS, attention=figures.attention(),
                           money_chart=money_chart, hours_chart=hours_chart,
                           statements=work_list.statements(10))


# --- bank import and the queue --------------------------------------------------------------

@bp.route("/leader/reconcile/import", methods=["GET", "POST"])
@leader_required
def import_statement():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.statement.data
        data = upload.read(bank_import.max_upload_bytes() + 1)
        try:
            # A large file goes to the task queue (unless it is this very file again): the page
            # answers at once and shows the import's progress.
            if len(data) > jobs.background_import_bytes() and bank_import.file_imported_before(data) is None:
                jobs.queue_import(data, filename=upload.filename or "", actor=current_user, fmt=form.format.data,
                                  encoding=form.encoding.data)
                flash(_("Import queued: the file is imported in the background. Its progress is shown below."),
                      "success")
                return redirect(url_for("reconcile.import_statement", _anchor="background-imports"))
            result = bank_import.import_statement(data, filename=upload.filename or "", actor=current_user,
                                              fmt=form.format.data, encoding=form.encoding.data)
        except (banks.StatementError, service.ReconcileError) as error:
            form.statement.errors = list(form.statement.errors) + [str(error)]
        else:
            if result.earlier is not None:
                flash(str(bank_import.imported_before_message(result.earlier)), "warning")
            elif result.duplicate:
                flash(_("This statement was imported before: its %(count)d lines are already here, nothing was added.",
                        count=result.lines_total), "warning")
            else:
                flash(_("%(new)d new lines imported (of %(total)d in the file); %(matched)d matched automatically.",
                        new=result.lines_new, total=result.lines_total, matched=result.matched), "success")
            for message in result.continuity:
                flash(str(message), "warning")
            return redirect(url_for("reconcile.queue"))
    return render_template("reconcile/import.html", form=form, statements=work_list.statements(),
                           limit_mb=bank_import.max_upload_bytes() // (1024 * 1024), imports=jobs.recent_imports(),
                           background_kb=jobs.background_import_bytes() // 1024)


@bp.get("/leader/reconcile/queue")
@leader_required
def queue():
    status = request.args.get("status", "unmatched")
    if status not in ("unmatched", "ignored"):
        status = "unmatched"
    page = page_number()
    rows, total = work_list.line_queue(status, limit=PAGE, offset=(page - 1) * PAGE)
    # The search for another open item, for one line at a time (a GET form: no script needed).
    search_line, search_text = int_arg("line"), request.args.get("q", "").strip()[:100]
    found = (work_list.search_open_items(search_line, search_text)
             if status == "unmatched" and search_line and search_text else None)
    return render_template("reconcile/queue.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE)),
                           status=status, search_line=search_line, search_text=search_text, found=found)


@bp.get("/leader/reconcile/matched")
@leader_required
def matched():
    page = page_number()
    query = BankLine.select().where(BankLine.status == "matched")
    if request.args.get("outcome") in ("exact", "partial", "over"):
        query = query.where(BankLine.outcome == request.args["outcome"])
    total = query.count()
    lines = list(query.order_by(BankLine.booked_on.desc(), BankLine.id.desc()).limit(PAGE).offset((page - 1) * PAGE))
    companies = {c.id: c.legal_name for c in Company.select(Company.id, Company.legal_name)}
    return render_template("reconcile/matched.html", lines=lines, total=total, page=page,
                           pages=max(1, -(-total // PAGE)), companies=companies, recorded=service.MONEY_RECORDED,
                           not_undoable=line_matching.not_undoable(lines),
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
    return _line_action(line_matching.match_line, line_id, request.form.get("target", ""), current_user,
                        request.form.get("note", ""), request.form.get("surplus") == "keep",
                        success=_("The line is matched."))


@bp.post("/leader/reconcile/lines/<int:line_id>/unmatch")
@leader_required
def unmatch_line(line_id: int):
    return _line_action(line_matching.unmatch_line, line_id, current_user, request.form.get("reason", ""),
                        success=_("The match is undone; the line waits in the queue again."))


@bp.post("/leader/reconcile/lines/<int:line_id>/ignore")
@leader_required
def ignore_line(line_id: int):
    return _line_action(line_matching.ignore_line, line_id, current_user, request.form.get("reason", ""),
                        success=_("The line is set aside."))


@bp.post("/leader/reconcile/lines/<int:line_id>/restore")
@leader_required
def restore_line(line_id: int):
    return _line_action(line_matching.restore_line, line_id, current_user, success=_("The line is back in the queue."))


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
            work_list.keep_surplus(int(donation), current_user._get_current_object())
        except service.ReconcileError as error:
            flash(str(error), "error")
        else:
            flash(_("The surplus is kept as a gift, as the company agreed."), "success")
        return redirect(url_for("reconcile.surpluses"))
    return render_template("reconcile/surpluses.html", rows=work_list.surpluses())


@bp.post("/leader/reconcile/rematch")
@leader_required
def rematch():
    count = line_matching.auto_match(current_user)
    flash(_("%(count)d lines matched.", count=count), "success")
    return redirect(url_for("reconcile.queue"))


@bp.route("/leader/reconcile/paste", methods=["GET", "POST"])
@leader_required
def paste():
    form = PasteForm()
    results = None
    if form.validate_on_submit():
        try:
            results = line_matching.mark_references_paid(form.references.data, current_user, form.paid_on.data)
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
        summary = period_close.period_summary(kind, label)
    except service.ReconcileError as error:
        flash(str(error), "error")
    if summary is not None:
        items = [] if summary.closed else period_close.items_keeping_open(kind, label)
        late = period_close.late_postings(summary.starts_on, summary.ends_on)
    explanations = {item.code: request.form.get(f"explain-{item.code}", "") for item in items}
    running = summary is not None and summary.ends_on >= clock.today()
    if summary is not None and request.method == "POST" and form.validate_on_submit():
        try:
            period_close.close_period(kind, label, current_user, form.explanation.data or "", explanations)
        except service.ReconcileError as error:
            if running:  # the page shows no form for a running period: say it above
                flash(str(error), "error")
            else:
                form.explanation.errors = list(form.explanation.errors) + [str(error)]
        else:
            flash(_("The period is closed. From now on it changes only through corrections."), "success")
            return redirect(url_for("reconcile.periods", kind=kind, label=label))
    return render_template("reconcile/periods.html", kind=kind, label=label, summary=summary, form=form,
                           correction_form=correction_form, closed=period_close.closed_periods(), kinds=KINDS,
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
        correction = period_close.add_correction(period_id, form.on.data, int(cents), form.subject.data or "",
                                            form.reason.data, current_user)
    except service.ReconcileError as error:
        flash(str(error), "error")
        return redirect(url_for("reconcile.periods"))
    flash(_("The correction is recorded."), "success")
    period = correction.period
    label = f"{period.starts_on:%Y-%m}" if period.kind == "month" else service.school_year_of(period.starts_on)
    return redirect(url_for("reconcile.periods", kind=period.kind, label=label))


# --- audit log ------------------------------------------------------------------------------

@bp.get("/leader/audit")
@leader_required
def audit_log():
    filters = audit_page.AuditFilters(
        action=request.args.get("action", "").strip()[:80], actor_id=int_arg("actor_id"),
        actor=request.args.get("actor", "").strip()[:100], company_id=int_arg("company"),
        object_type=request.args.get("object_type", "").strip()[:40],
        object_id=request.args.get("object_id", "").strip()[:64], start=date_arg("start"), end=date_arg("end"))
    page = page_number()
    rows, total = audit_page.audit_rows(filters, limit=PAGE, offset=(page - 1) * PAGE)
    last = audit.last_check()
    return render_template("reconcile/audit.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE)),
                           names=audit_page.audit_names(rows), check=last, unchecked=audit.rows_since(last),
                           problem=json.loads(last.params) if last else {}, actions=audit_labels.ACTION_LABELS,
                           companies=audit_page.audit_companies(), args=request.args, check_form=CheckForm())


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
        matched = line_matching.auto_match(current_user)
        flash(_("%(txns)d new balance transactions, %(payouts)d new payouts, %(settled)d payments settled, "
                "%(matched)d bank lines matched.", txns=result.transactions_new, payouts=result.payouts_new,
                settled=result.settled, matched=matched), "success")
    return redirect(url_for("reconcile.stripe"))


# --- acting on behalf of a company user -----------------------------------------------------

@bp.get("/leader/companies/<int:company_id>/users")
@leader_required
def company_users(company_id: int):
    company = get_object_or_404(Company, Company.id == company_id)
    return render_template("reconcile/company_users.html", company=company,
                           users=acting.company_users(company.id), ibans=company_ibans(company.id))


@bp.post("/leader/users/<int:user_id>/act")
@leader_required
def start_acting(user_id: int):
    login_session = current_login_session()
    try:
        user = acting.start_acting(login_session, current_user._get_current_object(), user_id)
    except AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("reconcile.desk"))
    flash(_("You are now acting on behalf of %(name)s. Everything you do is recorded.", name=user.display_name),
          "warning")
    return redirect(url_for("accounts.dashboard"))


@bp.post("/acting/stop")
def stop_acting():
    # Reachable while acting: then the current user is the company user, not the leader.
    login_session = current_login_session()
    if login_session is None or not login_session.mfa_passed or login_session.acting_for_id is None:
        abort(404)
    user = acting.stop_acting(login_session)
    g.pop("login_session", None)
    if user is not None:
        flash(_("You stopped acting on behalf of %(name)s.", name=user.display_name), "success")
        return redirect(url_for("reconcile.company_users", company_id=user.company_id))
    return redirect(url_for("accounts.leader_home"))
