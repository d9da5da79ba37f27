"""Giving pages of a company: its overview with CSV export and PDFs, deciding public gifts that name
it, withdrawing a payment request, and materials (needs and pledges)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal.core import clock
from portal.core.security import company_required, get_owned_or_404
from portal.core.templating import current_language
from portal.core.views import apply_error, attachment
from portal.giving import base, checks, overview
from portal.giving import gifts as giving_gifts
from portal.giving import materials as giving_materials
from portal.giving.blueprint import (
    PDF_KINDS,
    _credit_note_pdf,
    _decide,
    _pdf,
    _status,
    _withdraw,
    bp,
)
from portal.giving.forms import ConfirmForm, PledgeForm, new_token
from portal.giving.models import Donation


@bp.get("/giving")
@company_required
def index():
    """One year at a time (the newest with rows unless another is chosen): the page's cost does not
    grow with the company's history."""
    years = overview.company_years(current_user.company_id)
    filters = overview.shown_year(overview.Filters.parse(request.args), years)
    rows = overview.company_rows(current_user.company_id, filters)
    gifts = giving_gifts.waiting_gifts(current_user.company_id) if current_user.role == "admin" else []
    return render_template("giving/index.html", rows=rows, filters=filters,
                           years=sorted({*years, filters.year}, reverse=True),
                           totals=overview.company_totals(current_user.company_id, filters.year),
                           confirm=ConfirmForm(), gifts=gifts)


@bp.get("/giving/export.csv")
@company_required
def export_csv():
    """The rows of the page with the same filters: one year (the newest with rows unless chosen)."""
    filters = overview.Filters.parse(request.args)
    rows = overview.company_rows(current_user.company_id, filters)
    return attachment(overview.csv_file(rows, current_language()), "text/csv",
                      f"contributions-{clock.today():%Y%m%d}.csv")


def _own_donation(donation_id: int) -> Donation:
    """A donation of the user's company: not a public gift that still waits for its acceptance."""
    donation = get_owned_or_404(Donation, donation_id, current_user.company_id)
    if not donation.counts_for_company:
        abort(404)
    return donation


@bp.get("/giving/donations/<int:donation_id>/<any(receipt, 'payment-request'):kind>.pdf")
@company_required
def company_document(donation_id: int, kind: str):
    return _pdf(_own_donation(donation_id), PDF_KINDS[kind])


@bp.get("/giving/donations/<int:donation_id>/credit-notes/<int:note_id>.pdf")
@company_required
def company_credit_note(donation_id: int, note_id: int):
    return _credit_note_pdf(_own_donation(donation_id), note_id)


@bp.post("/giving/gifts/<int:donation_id>/<any(accept, decline):action>")
@company_required
def decide_gift(donation_id: int, action: str):
    """The company's administrator accepts or declines a public gift that names the company."""
    donation = get_owned_or_404(Donation, donation_id, current_user.company_id)
    if current_user.role != "admin" or donation.company_decision != "waiting":
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    _decide(donation, action)
    return redirect(url_for("giving.index"))


@bp.post("/giving/donations/<int:donation_id>/withdraw")
@company_required
def withdraw(donation_id: int):
    donation = _own_donation(donation_id)
    _withdraw(donation)
    return redirect(url_for("giving.index"))


@bp.get("/giving/materials")
@company_required
def materials():
    return render_template("giving/materials.html", needs=giving_materials.needs())


@bp.route("/giving/materials/pledge", methods=["GET", "POST"])
@company_required
def pledge():
    form = PledgeForm()
    open_needs = giving_materials.needs()
    form.need.choices = [SelectChoice("", _("Something else (no particular need)"))] + [
        SelectChoice(str(view.need.id), view.need.item + (f" · {view.need.school_name}" if view.need.school_name else ""))
        for view in open_needs]
    refused = False
    if request.method == "GET":
        form.form_token.data = new_token()
        if request.args.get("need", type=int):
            form.need.data = str(request.args.get("need", type=int))
    elif form.validate_on_submit():
        try:
            value = checks.parse_money(form.declared_value.data, "declared_value", max_cents=checks.max_cents("bank"))
            row, _created = giving_materials.pledge(current_user._get_current_object(), giving_materials.PledgeInput(
                description=form.description.data or "", quantity=form.quantity.data,
                declared_value_cents=value, classification=form.classification.data,
                form_token=form.form_token.data or "", need_id=int(form.need.data) if form.need.data else None))
        except base.GivingError as error:
            apply_error(form, error)
            refused = True
        else:
            flash(_("Thank you. The project leader will let you know whether your offer is accepted."), "success")
            return redirect(url_for("giving.index", kind="material"))
    return render_template("giving/pledge.html", form=form, needs=open_needs), _status(form, refused)
