"""SROI pages: commitments, valuation rules, allocation, approvals, the report and the leader's view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404
from wtforms import SelectChoice

from portal.accounts.models import Company
from portal.core import clock, hooks
from portal.core.money import AmountError, parse_cents
from portal.core.security import company_required, get_owned_or_404, leader_required, mount_twice
from portal.core.templating import current_language, main_menu
from portal.core.views import apply_error, attachment, page_of
from portal.sroi import bulk, evidence, report, service
from portal.sroi.approval_records import approval_evidence, approval_history, is_corrected
from portal.sroi.commitments import has_approvals, history
from portal.sroi.forms import (
    AllocationForm,
    ApprovalForm,
    BulkForm,
    CommitmentForm,
    ConfirmForm,
    CorrectionForm,
    ReviewForm,
    RulesForm,
    plain_amount,
)
from portal.sroi.models import ALLOCATABLE_KINDS, HOUR_KINDS, MAX_BASE_CENTS, Approval, Commitment

bp = Blueprint("sroi", __name__, url_prefix="/sroi")


@bp.record_once
def _wire(state):
    app = state.app

    def company_panel(company):
        due = service.deadline_warnings(company.id)
        return hooks.Panel("sroi/_dashboard_panel.html", 40, {"sroi_due": due}) if due else None

    hooks.connect(app, hooks.MENU, main_menu(_l("SROI"), leader=("sroi.leader_overview", 91), company=("sroi.index", 70)))
    hooks.connect(app, hooks.COMPANY_PANELS, company_panel)
    hooks.connect(app, hooks.LEADER_PANELS, lambda: hooks.Panel(
        "sroi/_leader_panel.html", 40, {"sroi_counts": service.leader_counts()}))
    app.jinja_env.globals.update(
        sroi_hours_basis=lambda commitment: service.hours_basis_label(commitment, current_language()),
        sroi_template_label=service.template_label,
        sroi_template_note=service.template_note,
        sroi_base_type=lambda code: str(service.BASE_TYPE_LABELS.get(code, code)),
        sroi_counts=service.counts_kind,
    )
    app.jinja_env.filters["sroi_percent"] = lambda bp_: service.format_percentage(bp_, current_language())
    app.jinja_env.filters["sroi_hours"] = service.format_minutes
    app.jinja_env.filters["sroi_ident"] = lambda contribution: f"{contribution.key}|{contribution.kind}"
    app.jinja_env.filters["sroi_amount"] = lambda amount, kind: service.format_amount(kind, amount, current_language())


# The form's names of the fields the service calls otherwise.
FORM_FIELDS = {"base_cents": "base_amount", "cap_cents": "cap_amount"}


def _apply_error(form, error: service.SroiError) -> None:
    apply_error(form, error, FORM_FIELDS)


def _commitment(commitment_id: int) -> Commitment:
    return get_owned_or_404(Commitment, commitment_id, current_user.company_id)


def _any_commitment(commitment_id: int) -> Commitment:
    """Any company's commitment, for the project leader; a 404 when there is none."""
    return get_object_or_404(Commitment, Commitment.id == commitment_id)


def _status(form, refused: bool = False) -> int:
    return 422 if request.method == "POST" and (form.errors or refused) else 200


# --- commitments ----------------------------------------------------------------------------

@bp.get("/")
@company_required
def index():
    commitments = service.company_commitments(current_user.company_id)
    return render_template("sroi/index.html", summaries=service.listed(commitments))


@bp.route("/new", methods=["GET", "POST"])
@company_required
def new():
    form = CommitmentForm()
    refused = False
    templates = service.valuation_templates()
    form.template.choices = [SelectChoice(t.code, service.template_label(t.code, t.name)) for t in templates]
    if form.validate_on_submit():
        try:
            commitment = service.create_commitment(current_user, form.to_input(), form.template.data)
        except service.SroiError as error:
            _apply_error(form, error)
            refused = True
        else:
            flash(_("The commitment is recorded. Check its valuation rules against the contract."), "success")
            return redirect(url_for("sroi.detail", commitment_id=commitment.id))
    return render_template("sroi/form.html", form=form, templates=templates, commitment=None), _status(form, refused)


def _change(commitment: Commitment, form, save, saved: str, template: str):
    """A commitment's details or rules: the form filled from it (GET), or saved with the reason (POST)."""
    refused = False
    if request.method == "GET":
        form.fill_from(commitment, current_language())
    elif form.validate_on_submit():
        try:
            save(current_user, commitment.id, form.to_input(), form.reason.data or "")
        except service.SroiError as error:
            _apply_error(form, error)
            refused = True
        else:
            flash(saved, "success")
            return redirect(url_for("sroi.detail", commitment_id=commitment.id))
    return render_template(template, form=form, commitment=commitment,
                           approved=has_approvals(commitment.id)), _status(form, refused)


@bp.route("/<int:commitment_id>/edit", methods=["GET", "POST"])
@company_required
def edit(commitment_id: int):
    commitment = _commitment(commitment_id)
    form = CommitmentForm()
    del form.template
    return _change(commitment, form, service.update_commitment, _("The commitment is saved."), "sroi/form.html")


@bp.route("/<int:commitment_id>/rules", methods=["GET", "POST"])
@company_required
def rules(commitment_id: int):
    return _change(_commitment(commitment_id), RulesForm(), service.update_rules, _("The valuation rules are saved."),
                   "sroi/rules.html")


@bp.post("/<int:commitment_id>/delete")
@company_required
def delete(commitment_id: int):
    commitment = _commitment(commitment_id)
    form = ConfirmForm(fingerprint="delete")
    if not form.validate_on_submit():
        abort(400)
    try:
        service.delete_commitment(current_user, commitment.id)
    except service.SroiError as error:
        flash(str(error), "error")
        return redirect(url_for("sroi.detail", commitment_id=commitment.id))
    flash(_("The commitment was removed."), "success")
    return redirect(url_for("sroi.index"))


def _render_detail(commitment: Commitment, *, status: int = 200, failed_key: str = "", failed_amount: str = "",
                   failed_message: str = "", readonly: bool = False, review_form=None, review_id: int | None = None):
    summary = service.summary(commitment)
    available = [] if readonly else service.available(commitment)
    return render_template(
        "sroi/detail.html", commitment=commitment, summary=summary, available=available,
        allocated_page=page_of(summary.lines, "page"), available_page=page_of(available, "free_page"),
        history=approval_history(commitment.id), audit_rows=history(commitment),
        current_ids={a.id for a in summary.approvals}, readonly=readonly,
        company=Company.get_by_id(commitment.company_id),
        failed_key=failed_key, failed_amount=failed_amount, failed_message=failed_message,
        plain_amount=_plain_for_kind, review_form=review_form or ReviewForm(), review_id=review_id,
        exceeds_label=lambda code: str(service.EXCEEDS_LABELS.get(code, "")),
    ), status


def _detail(commitment: Commitment, leader: bool):
    """The commitment's page: the company allocates and approves on it, the project leader reads it."""
    return _render_detail(commitment, readonly=leader)


# The pages a company and the project leader share, at /sroi/<id>/... and /sroi/leader/<id>/...
_ONE_COMMITMENT = {"model": Commitment, "key": "commitment_id"}
mount_twice(bp, "/<int:commitment_id>", "detail", _detail, **_ONE_COMMITMENT)


def _plain_for_kind(kind: str, amount: int) -> str:
    if kind in HOUR_KINDS:
        return service.format_minutes(amount)
    return plain_amount(amount, current_language())


# --- allocation -----------------------------------------------------------------------------

@bp.post("/<int:commitment_id>/allocate")
@company_required
def allocate(commitment_id: int):
    commitment = _commitment(commitment_id)
    form = AllocationForm()
    key = (form.key.data or "").strip()
    typed = (form.amount.data or "").strip()
    failed_id = f"{key}|{form.kind.data or ''}"
    if not form.validate_on_submit():
        return _render_detail(commitment, status=422, failed_key=failed_id, failed_amount=typed,
                              failed_message=_("Choose a contribution and an amount."))
    kind = (form.kind.data or "").strip()
    contribution = next((a.contribution for a in service.available(commitment)
                         if a.contribution.key == key and a.contribution.kind == kind), None)
    try:
        if contribution is None:
            raise service.SroiError(_("That contribution is not among your company's confirmed contributions in "
                                      "this commitment's period."))
        if contribution.kind in HOUR_KINDS:
            amount = service.parse_minutes(typed)
        else:
            amount = parse_cents(typed, max_cents=MAX_BASE_CENTS)
        service.set_allocation(current_user, commitment.id, key, amount, kind)
    except (service.SroiError, AmountError) as error:
        return _render_detail(commitment, status=422, failed_key=failed_id, failed_amount=typed,
                              failed_message=str(error))
    flash(_("The allocation is saved."), "success")
    return redirect(url_for("sroi.detail", commitment_id=commitment.id) + "#allocations")


@bp.post("/<int:commitment_id>/allocations/<int:allocation_id>/remove")
@company_required
def remove_allocation(commitment_id: int, allocation_id: int):
    commitment = _commitment(commitment_id)
    form = ConfirmForm(fingerprint="remove")
    if not form.validate_on_submit():
        abort(400)
    try:
        service.remove_allocation(current_user, commitment.id, allocation_id)
    except service.SroiError:
        abort(404)
    flash(_("The contribution no longer counts toward this commitment."), "success")
    page = request.form.get("page", 1, type=int) or 1
    return redirect(url_for("sroi.detail", commitment_id=commitment.id, **({"page": page} if page > 1 else {}))
                    + "#allocations")


@bp.route("/suggest", methods=["GET", "POST"])
@company_required
def suggest():
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            count = service.apply_suggestion(current_user, form.fingerprint.data)
        except service.SroiError as error:
            flash(str(error), "error")
        else:
            flash(ngettext("%(num)d allocation is saved.", "%(num)d allocations are saved.", count), "success")
            return redirect(url_for("sroi.index"))
    plan = service.suggest(current_user.company_id)
    form.fingerprint.data = service.plan_fingerprint(plan)
    return render_template("sroi/suggest.html", plan=plan, form=form)


# --- approvals ------------------------------------------------------------------------------

def _approval_page(form, commitment: Commitment, original: Approval | None, refused: bool):
    state = service.summary(commitment)
    return render_template("sroi/approval.html", form=form, commitment=commitment, original=original,
                           summary=state), _status(form, refused)


def _approval_saved(form, commitment: Commitment, original: Approval | None, record: Callable[[], Any],
                    message: str):
    """Record an approval (or a correction of `original`): a refusal is shown on the form, which keeps
    what was typed (422); otherwise `message` is flashed and the commitment's page shown."""
    try:
        record()
    except service.SroiError as error:
        _apply_error(form, error)
        return _approval_page(form, commitment, original, True)
    flash(message, "success")
    return redirect(url_for("sroi.detail", commitment_id=commitment.id))


@bp.route("/<int:commitment_id>/approvals/new", methods=["GET", "POST"])
@company_required
def approve(commitment_id: int):
    commitment = _commitment(commitment_id)
    form = ApprovalForm()
    if form.validate_on_submit():
        return _approval_saved(form, commitment, None, lambda: service.record_approval(
            current_user, commitment.id, form.amount_cents, form.approved_on.data, form.reference.data,
            form.note.data or "", evidence=form.letter, exceeds_reason=form.exceeds_reason.data or ""),
            _("The buyer's approval is recorded with its letter. It counts as approved once the project "
              "leader has confirmed it."))
    return _approval_page(form, commitment, None, False)


@bp.route("/<int:commitment_id>/approvals/<int:approval_id>/correct", methods=["GET", "POST"])
@company_required
def correct(commitment_id: int, approval_id: int):
    commitment = _commitment(commitment_id)
    original = next((a for a in approval_history(commitment.id) if a.id == approval_id), None)
    if original is None:
        abort(404)
    form = CorrectionForm()
    if is_corrected(original.id):
        flash(_("This approval was corrected already; correct the latest version instead."), "error")
        return redirect(url_for("sroi.detail", commitment_id=commitment.id))
    if request.method == "GET":
        form.amount.data = plain_amount(original.amount_cents, current_language())
        form.approved_on.data = original.approved_on
        form.reference.data = original.reference
        form.note.data = original.note
        form.exceeds_reason.data = original.exceeds_reason or ""
    elif form.validate_on_submit():
        return _approval_saved(form, commitment, original, lambda: service.correct_approval(
            current_user, commitment.id, original.id, form.amount_cents, form.approved_on.data, form.reference.data,
            form.note.data or "", form.reason.data or "", evidence=form.letter,
            exceeds_reason=form.exceeds_reason.data or ""),
            _("The correction is recorded; the original stays on record. The correction counts as "
              "approved once the project leader has confirmed it."))
    return _approval_page(form, commitment, original, False)


def _letter(commitment: Commitment, _leader: bool, approval_id: int) -> Response:
    """The buyer's letter behind one of the commitment's approvals, as uploaded."""
    found = approval_evidence(commitment.id, approval_id)
    if found is None:
        abort(404)
    return evidence.send(bytes(found.data), found.content_type, found.original_name)


mount_twice(bp, "/<int:commitment_id>/approvals/<int:approval_id>/letter", "download_letter", _letter,
            **_ONE_COMMITMENT)


# --- bulk allocation ------------------------------------------------------------------------

def _bulk_request(form: BulkForm, commitment: Commitment):
    try:
        return bulk.check_request(commitment, form.kinds.data, form.start_on.data, form.end_on.data, form.rule.data)
    except service.SroiError as error:
        _apply_error(form, error)
        return None


@bp.route("/<int:commitment_id>/allocate/bulk", methods=["GET", "POST"])
@company_required
def allocate_bulk(commitment_id: int):
    """Choose kinds, a period and a rule; see the preview (GET); confirm it (POST)."""
    commitment = _commitment(commitment_id)
    asked = request.method == "GET" and bool(request.args)
    # The preview is a GET (a link that can be shared or reloaded): no token to check, nothing is saved.
    form = BulkForm(formdata=request.args, meta={"csrf": False}) if asked else BulkForm()
    if request.method == "GET" and not asked:
        form.kinds.data = [kind for kind in ALLOCATABLE_KINDS if service.counts_kind(commitment, kind)]
        form.start_on.data, form.end_on.data = commitment.period_start_on, commitment.period_end_on
    plan, result, status = None, None, 200
    if request.method == "POST":
        wanted = _bulk_request(form, commitment) if form.validate_on_submit() else None
        if wanted is not None:
            try:
                result = bulk.apply(current_user, commitment.id, wanted, form.fingerprint.data or "")
            except service.SroiError as error:
                flash(str(error), "error")
                status = 422
                plan = bulk.preview(current_user, commitment.id, wanted)
        else:
            status = 422
    elif asked and form.validate():
        wanted = _bulk_request(form, commitment)
        if wanted is not None:
            plan = bulk.preview(current_user, commitment.id, wanted)
        else:
            status = 422
    elif asked:
        status = 422
    if plan is not None:
        form.fingerprint.data = plan.fingerprint
    return render_template("sroi/bulk.html", form=form, commitment=commitment, plan=plan, result=result,
                           refusal_label=lambda reason: str(bulk.REFUSALS[reason]),
                           kind_label=bulk.kind_label, summary=service.summary(commitment)), status


# --- report ---------------------------------------------------------------------------------

def _report(commitment: Commitment, _leader: bool) -> Response:
    """The commitment's report as a PDF, the same for the company and the project leader."""
    company = Company.get_by_id(commitment.company_id)
    data = report.render_pdf(commitment, company)
    return attachment(data, "application/pdf", f"sroi-{commitment.id}-{clock.today():%Y%m%d}.pdf")


mount_twice(bp, "/<int:commitment_id>/report.pdf", "report_pdf", _report, **_ONE_COMMITMENT)


# --- the project leader ---------------------------------------------------------------------

@bp.get("/leader")
@leader_required
def leader_overview():
    page = page_of(service.leader_commitments())
    return render_template("sroi/leader.html", rows=service.leader_overview(page.rows), page=page)


@bp.post("/leader/<int:commitment_id>/approvals/<int:approval_id>/review")
@leader_required
def leader_review(commitment_id: int, approval_id: int):
    """Confirm an approval against the buyer's letter, or reject it with a reason."""
    commitment = _any_commitment(commitment_id)
    if not Approval.select().where((Approval.id == approval_id) & (Approval.commitment == commitment.id)).exists():
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.decision.data == "confirm":
            service.confirm_approval(current_user, approval_id, commitment.id)
            flash(_("The approval is confirmed: it now counts as approved."), "success")
        else:
            service.reject_approval(current_user, approval_id, form.reason.data or "", commitment.id)
            flash(_("The approval is rejected; the company sees your reason."), "success")
    except service.SroiError as error:
        if error.field == "reason":
            form.reason.errors = list(form.reason.errors) + [str(error)]
            return _render_detail(commitment, readonly=True, status=422, review_form=form, review_id=approval_id)
        flash(str(error), "error")
    return redirect(url_for("sroi.leader_detail", commitment_id=commitment.id) + "#approvals")
