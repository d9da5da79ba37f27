"""Giving's blueprint (its pages are in donate_views.py, company_views.py and leader_views.py; views.py
wires it to the app) and what those pages share: status codes, school choices, PDF
answers, and deciding a public gift or withdrawing a payment request."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal.core.views import attachment
from portal.giving import base, checks, documents, gifts, receipts, service
from portal.giving.forms import ConfirmForm
from portal.giving.models import Donation

bp = Blueprint("giving", __name__)

PDF_KINDS = {"receipt": "receipt", "payment-request": "payment_request"}


def _status(form, refused: bool) -> int:
    return 422 if request.method == "POST" and (form.errors or refused) else 200


def _school_choices(label: str) -> list[SelectChoice]:
    return [SelectChoice("", label)] + [SelectChoice(str(school_id), name) for school_id, name in checks.schools()]


def _pdf(donation: Donation, kind: str) -> Response:
    try:
        data, name = receipts.document_file(donation, kind)
    except base.GivingError:
        abort(404)
    return attachment(data, "application/pdf", name)


def _credit_note_pdf(donation: Donation, note_id: int) -> Response:
    try:
        note = receipts.credit_note(donation, note_id)
    except base.GivingError:
        abort(404)
    return attachment(bytes(note.pdf), "application/pdf", documents.credit_note_filename(note))


def _decide(donation: Donation, action: str) -> None:
    try:
        gifts.decide_gift(current_user._get_current_object(), donation.id, accept=action == "accept")
    except base.GivingError as error:
        flash(str(error), "error")
    else:
        flash(_("The contribution is accepted: it now counts for the company it names.") if action == "accept"
              else _("The contribution is declined: it does not count for the company it names."), "success")


def _withdraw(donation: Donation) -> None:
    """Withdraw a payment request (the company's button or the project leader's), saying how it went."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.withdraw_request(donation, current_user._get_current_object())
    except base.GivingError as error:
        flash(str(error), "error")
    else:
        flash(_("The payment request is withdrawn."), "success")
