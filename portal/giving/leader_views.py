"""Giving pages of the project leader's desk: needs, pledges, payment issues, recording a bank
transfer, and one donation with its PDFs, gift decision and withdrawal."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core import clock
from portal.core.security import leader_required
from portal.core.views import apply_error
from portal.giving import base, checks, materials, overview, receipts, service
from portal.giving.blueprint import (
    PDF_KINDS,
    _credit_note_pdf,
    _decide,
    _pdf,
    _school_choices,
    _status,
    _withdraw,
    bp,
)
from portal.giving.forms import (
    BankPaymentForm,
    ConfirmForm,
    ConfirmValueForm,
    DeclineForm,
    DeliverForm,
    NeedForm,
    ResolveForm,
)
from portal.giving.models import Donation, MaterialNeed, MaterialPledge, PaymentIssue


@bp.get("/giving/leader")
@leader_required
def leader_desk():
    service.schedule_receipts()  # catch up on any receipt a crashed worker left behind
    form = NeedForm()
    form.school.choices = _school_choices(_("No particular school"))
    return render_template("giving/leader.html", desk=overview.desk(), need_form=form, confirm=ConfirmForm(),
                           resolve=ResolveForm())


@bp.post("/giving/leader/needs")
@leader_required
def leader_publish_need():
    form = NeedForm()
    form.school.choices = _school_choices(_("No particular school"))
    refused = False
    if form.validate_on_submit():
        try:
            materials.publish_need(current_user._get_current_object(), item=form.item.data,
                                 description=form.description.data or "", quantity=form.quantity.data,
                                 school_id=form.school.data or None, needed_by=form.needed_by.data)
        except base.GivingError as error:
            apply_error(form, error)
            refused = True
        else:
            flash(_("The need is published."), "success")
            return redirect(url_for("giving.leader_desk"))
    return render_template("giving/leader.html", desk=overview.desk(), need_form=form, confirm=ConfirmForm(),
                           resolve=ResolveForm()), _status(form, refused)


@bp.post("/giving/leader/needs/<int:need_id>/close")
@leader_required
def leader_close_need(need_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    MaterialNeed.get_or_none(MaterialNeed.id == need_id) or abort(404)
    materials.close_need(current_user._get_current_object(), need_id)
    flash(_("The need is closed."), "success")
    return redirect(url_for("giving.leader_desk"))


def _pledge_page(row: MaterialPledge, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    return render_template(
        "giving/leader_pledge.html", pledge=row, company=row.company,
        need=MaterialNeed.get_or_none(MaterialNeed.id == row.need_id) if row.need_id else None,
        confirm=ConfirmForm(), decline=forms.get("decline", DeclineForm()),
        deliver=forms.get("deliver", DeliverForm(formdata=None, on=clock.today())),
        value=forms.get("confirm", ConfirmValueForm(formdata=None, on=clock.today()))), status


@bp.get("/giving/leader/pledges/<int:pledge_id>")
@leader_required
def leader_pledge(pledge_id: int):
    row = MaterialPledge.get_or_none(MaterialPledge.id == pledge_id) or abort(404)
    return _pledge_page(row)


@bp.post("/giving/leader/pledges/<int:pledge_id>/<any(accept, decline, deliver, confirm):action>")
@leader_required
def leader_move_pledge(pledge_id: int, action: str):
    row = MaterialPledge.get_or_none(MaterialPledge.id == pledge_id) or abort(404)
    form = {"accept": ConfirmForm, "decline": DeclineForm, "deliver": DeliverForm,
            "confirm": ConfirmValueForm}[action]()
    if not form.validate_on_submit():
        return _pledge_page(row, {action: form}, 422)
    kwargs = {}
    try:
        if action == "decline":
            kwargs["reason"] = form.reason.data
        if action in ("deliver", "confirm"):
            kwargs["on"] = form.on.data
        if action == "confirm":
            kwargs["value_cents"] = checks.parse_money(form.value.data, "value", max_cents=checks.max_cents("bank"))
        materials.move_pledge(current_user._get_current_object(), row.id, action, **kwargs)
    except base.GivingError as error:
        apply_error(form, error)
        return _pledge_page(row, {action: form}, 422)
    flash(_("The offer is now: %(status)s.", status=base.STATUS_LABELS[materials.PLEDGE_MOVES[action][0]]), "success")
    return redirect(url_for("giving.leader_pledge", pledge_id=row.id))


@bp.post("/giving/leader/issues/<int:issue_id>/resolve")
@leader_required
def leader_resolve_issue(issue_id: int):
    PaymentIssue.get_or_none(PaymentIssue.id == issue_id) or abort(404)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Say what was done before you close the issue."), "error")
        return redirect(url_for("giving.leader_desk"))
    overview.resolve_issue(current_user._get_current_object(), issue_id, form.resolution.data)
    flash(_("The issue is closed."), "success")
    return redirect(url_for("giving.leader_desk"))


@bp.route("/giving/leader/bank", methods=["GET", "POST"])
@leader_required
def leader_bank():
    form = BankPaymentForm()
    refused = False
    if form.validate_on_submit():
        try:
            cents = checks.parse_money(form.amount.data, "amount", max_cents=checks.max_cents("bank"))
        except base.GivingError as error:
            form.amount.errors = [str(error)]
            refused = True
        else:
            if form.difference.data in ("record", "keep"):
                result = service.record_bank_payment(form.reference.data, cents, form.paid_on.data,
                                                     current_user._get_current_object(), form.bank_line_ref.data,
                                                     keep_surplus=form.difference.data == "keep")
            else:
                result = service.mark_paid_by_bank(form.reference.data, cents, form.paid_on.data,
                                                   current_user._get_current_object(), form.bank_line_ref.data)
            messages = {
                "paid": (_("The payment is recorded; the receipt is on its way."), "success"),
                "already_recorded": (_("This bank line was already recorded for this request."), "info"),
                "unknown_reference": (_("No payment request has this reference."), "error"),
                "amount_mismatch": (_("The amount differs from the request: nothing was recorded, an issue is open."),
                                    "error"),
                "duplicate_payment": (_("This request was already paid: an issue is open for the second payment."),
                                      "error"),
                "not_pending": (_("This request was withdrawn: an issue is open."), "error"),
                "line_already_used": (_("This bank line already paid another request."), "error"),
                "part_recorded": (_("The part payment is recorded; the request stays open for the rest."), "success"),
                "paid_with_surplus": (_("The request is paid; the surplus waits to be refunded or kept."), "success"),
            }
            text, category = messages[result.status]
            flash(text, category)
            if result.applied or result.status in ("part_recorded", "paid_with_surplus"):
                return redirect(url_for("giving.leader_desk"))
            refused = True
    return render_template("giving/leader_bank.html", form=form), _status(form, refused)


@bp.get("/giving/leader/donations/<int:donation_id>")
@leader_required
def leader_donation(donation_id: int):
    donation = Donation.get_or_none(Donation.id == donation_id) or abort(404)
    return render_template("giving/leader_donation.html", donation=donation, refunds=list(donation.refunds),
                           disputes=list(donation.disputes), issues=list(donation.issues),
                           kinds=receipts.document_kinds(donation), confirm=ConfirmForm(),
                           fixes=receipts.corrections_of(donation), shown=receipts.shown_status(donation))


@bp.get("/giving/leader/donations/<int:donation_id>/<any(receipt, 'payment-request'):kind>.pdf")
@leader_required
def leader_document(donation_id: int, kind: str):
    donation = Donation.get_or_none(Donation.id == donation_id) or abort(404)
    return _pdf(donation, PDF_KINDS[kind])


@bp.get("/giving/leader/donations/<int:donation_id>/credit-notes/<int:note_id>.pdf")
@leader_required
def leader_credit_note(donation_id: int, note_id: int):
    donation = Donation.get_or_none(Donation.id == donation_id) or abort(404)
    return _credit_note_pdf(donation, note_id)


@bp.post("/giving/leader/donations/<int:donation_id>/<any(accept, decline):action>")
@leader_required
def leader_decide_gift(donation_id: int, action: str):
    """The project leader accepts or declines a public gift for the company it names."""
    donation = Donation.get_or_none(Donation.id == donation_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    _decide(donation, action)
    return redirect(url_for("giving.leader_donation", donation_id=donation.id))


@bp.post("/giving/leader/donations/<int:donation_id>/withdraw")
@leader_required
def leader_withdraw(donation_id: int):
    donation = Donation.get_or_none(Donation.id == donation_id) or abort(404)
    _withdraw(donation)
    return redirect(url_for("giving.leader_donation", donation_id=donation.id))
