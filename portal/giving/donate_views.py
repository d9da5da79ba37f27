"""Giving pages for donors: donate (public and logged in), on to Stripe Checkout, the donor's status
page and PDFs by the key in their link, Stripe's webhook, and the demo payment page (development
without Stripe keys: demo_checkout.py)."""

from __future__ import annotations

import logging
import time

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from portal.core import money
from portal.core.security import company_required, csrf, limiter
from portal.core.urls import external_url
from portal.core.views import apply_error
from portal.giving import (
    base,
    checks,
    demo_checkout,
    documents,
    payments,
    receipts,
    service,
    webhooks,
)
from portal.giving.blueprint import (
    PDF_KINDS,
    _credit_note_pdf,
    _pdf,
    _school_choices,
    _status,
    bp,
)
from portal.giving.forms import ConfirmForm, DonationForm, PublicDonationForm, new_token
from portal.giving.models import MIN_DONATION_CENTS, Donation

log = logging.getLogger("portal.giving")


# The query keys /give passes on to the logged-in donate page (url_for must never see another:
# `_external`, `_scheme` or `_anchor` would change the address it builds).
DONATE_ARGS = ("from", "key")
CHECKOUT_WAIT_SECONDS = 8.0


def _prefill(form: DonationForm, donation: Donation) -> None:
    """Put a donation's values back in the form (the donor came back from Checkout)."""
    language = "en" if donation.donor_language == "en" else "nl"
    form.amount.data = money.format_eur(donation.amount_cents, language).replace("€", "").strip()
    form.classification.data = donation.classification
    form.earmark_school.data = str(donation.earmark_school_id or "")
    form.earmark_purpose.data = donation.earmark_purpose
    form.method.data = donation.method
    form.form_token.data = new_token()
    if isinstance(form, PublicDonationForm):
        form.company_name.data = donation.donor_name
        form.kvk.data = donation.donor_kvk
        form.contact_name.data = donation.donor_contact_name
        form.contact_email.data = donation.donor_email
        form.language.data = donation.donor_language


def _product_name(donation: Donation) -> str:
    with force_locale(donation.donor_language):
        if donation.classification == "sponsoring":
            return _("Sponsoring of OnderwijsAmbassadeurs")
        return _("Donation to OnderwijsAmbassadeurs")


def _status_url(donation: Donation, **extra) -> str:
    return url_for("giving.donation_status", donation_id=donation.id, key=checks.access_key(donation), **extra)


def _wait_for_checkout(donation: Donation) -> str:
    """A second click while the first is still asking Stripe: wait for the first one's session."""
    deadline = time.monotonic() + CHECKOUT_WAIT_SECONDS
    while time.monotonic() < deadline:
        current = Donation.get_by_id(donation.id)
        if current.checkout_url or current.status != "pending":
            return current.checkout_url
        time.sleep(0.2)
    return ""


def _continue(donation: Donation, created: bool):
    """After the donation is recorded: on to Stripe Checkout, or the payment request page."""
    if donation.method == "bank" or donation.status != "pending":
        return redirect(_status_url(donation))
    key = checks.access_key(donation)
    try:
        url = service.start_checkout(
            donation, product_name=_product_name(donation),
            success_url=external_url("giving.donation_status", donation_id=donation.id, key=key),
            cancel_url=external_url("giving.cancel", donation_id=donation.id, key=key))
    except base.GivingError:
        return redirect(_status_url(donation))
    except service.ProviderError:
        log.warning("stripe checkout for donation %s failed", donation.id, exc_info=True)
        if not created:
            url = _wait_for_checkout(donation)
            return redirect(url, 303) if url else redirect(_status_url(donation))
        service.abandon(donation, "payment service unreachable")
        flash(_("The payment service cannot be reached right now. Nothing was charged. Please try again in a moment."),
              "error")
        return None
    return redirect(url, 303)


def _donate(form: DonationForm, public: bool):
    form.earmark_school.choices = _school_choices(_("No particular school"))
    online = payments.configured()
    if not online:
        form.method.choices = [choice for choice in form.method.choices if choice.value == "bank"]
        form.method.default = "bank"
        if request.method == "GET" or not form.method.data:
            form.method.data = "bank"
    refused = False
    if request.method == "GET":
        form.form_token.data = new_token()
        source = request.args.get("from", type=int)
        if source:
            donation = Donation.get_or_none(Donation.id == source)
            allowed = donation is not None and (
                checks.key_matches(donation, request.args.get("key"))
                or (not public and donation.company_id == current_user.company_id
                    and donation.counts_for_company))
            if allowed:
                _prefill(form, donation)
                flash(_("You went back from the payment page: nothing was charged. Your details are still here."),
                      "info")
    elif form.validate_on_submit():
        try:
            cents = checks.parse_amount(form.amount.data, form.method.data or "stripe")
            data = service.DonationInput(amount_cents=cents, classification=form.classification.data,
                                         method=form.method.data, form_token=form.form_token.data or "",
                                         earmark_school_id=form.earmark_school.data or None,
                                         earmark_purpose=form.earmark_purpose.data or "")
            if public:
                donor = service.PublicDonor(form.company_name.data, form.kvk.data, form.contact_name.data or "",
                                            form.contact_email.data, form.language.data or "nl")
                donation, created = service.create_donation(data, donor=donor)
            else:
                donation, created = service.create_donation(data, user=current_user._get_current_object())
        except base.GivingError as error:
            apply_error(form, error)
            refused = True
            if not error.field:
                form.form_token.data = new_token()
        else:
            answer = _continue(donation, created)
            if answer is not None:
                return answer
            form.form_token.data = new_token()
            refused = True
    elif not form.form_token.data:
        form.form_token.data = new_token()
    return render_template("giving/donate.html", form=form, public=public, online=online,
                           demo=online and payments.demo(),
                           minimum=MIN_DONATION_CENTS), _status(form, refused)


@bp.route("/give", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def public_donate():
    if current_user.is_authenticated and current_user.company_id is not None:
        args = {name: request.args[name] for name in DONATE_ARGS if name in request.args}
        return redirect(url_for("giving.donate", **args))
    return _donate(PublicDonationForm(), public=True)


@bp.route("/giving/donate", methods=["GET", "POST"])
@company_required
def donate():
    return _donate(DonationForm(), public=False)


def _visible_donation(donation_id: int, *, key_only: bool = False) -> Donation:
    """The donor's own donation: by the key in their link, or by their company when logged in."""
    donation = get_object_or_404(Donation, Donation.id == donation_id)
    if checks.key_matches(donation, request.args.get("key")):
        return donation
    if not key_only and current_user.is_authenticated and current_user.company_id is not None \
            and donation.company_id == current_user.company_id and donation.counts_for_company:
        return donation
    abort(404)


@bp.get("/give/donations/<int:donation_id>")
def donation_status(donation_id: int):
    donation = _visible_donation(donation_id)
    return render_template("giving/status.html", donation=donation, key=request.args.get("key", ""),
                           demo=payments.demo() and bool(demo_checkout.session(donation.stripe_checkout_session_id)),
                           issuer=documents.issuer(), kinds=receipts.document_kinds(donation),
                           receipt_ready=donation.receipt_sent_at is not None,
                           fixes=receipts.corrections_of(donation), shown=receipts.shown_status(donation))


@bp.get("/give/donations/<int:donation_id>/cancel")
def cancel(donation_id: int):
    # Only through the link Stripe sends back (with its key): a GET that closes a session must not
    # be something another site can make a logged-in visitor's browser do.
    donation = _visible_donation(donation_id, key_only=True)
    service.cancel_checkout(donation)
    args = {"from": donation.id}
    if donation.via == "public":
        args["key"] = checks.access_key(donation)
        return redirect(url_for("giving.public_donate", **args))
    return redirect(url_for("giving.donate", **args))


@bp.get("/give/donations/<int:donation_id>/<any(receipt, 'payment-request'):kind>.pdf")
def document(donation_id: int, kind: str):
    return _pdf(_visible_donation(donation_id), PDF_KINDS[kind])


@bp.get("/give/donations/<int:donation_id>/credit-notes/<int:note_id>.pdf")
def credit_note(donation_id: int, note_id: int):
    return _credit_note_pdf(_visible_donation(donation_id), note_id)


@bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    body, status = _receive_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
    return jsonify(body), status


def _receive_webhook(payload: bytes, signature: str) -> tuple[dict, int]:
    """The webhook's handler (Stripe's deliveries and the demo page's events alike): verify the
    signature on the raw body, store the event once and queue its work (webhooks.py)."""
    try:
        event = payments.verify_event(payload, signature)
    except payments.SignatureError as error:
        log.warning("stripe webhook refused: %s", error)
        return {"error": "invalid signature"}, 400
    if event.livemode != payments.live_mode():
        log.warning("stripe webhook %s refused: livemode %s on a %s key", event.id, event.livemode,
                    "live" if payments.live_mode() else "test")
        return {"error": "wrong mode"}, 400
    return {"received": True, "outcome": webhooks.accept(event)}, 200


@bp.route("/give/donations/<int:donation_id>/demo-checkout", methods=["GET", "POST"])
def demo_checkout_page(donation_id: int):
    donation = _visible_donation(donation_id, key_only=True)
    session = demo_checkout.session(donation.stripe_checkout_session_id) if payments.demo() else None
    if session is None:
        # Not paid through the demo (or the demo is off now): the donation's own page says where it stands.
        return redirect(_status_url(donation))
    form = ConfirmForm()
    if request.method == "POST":
        outcome = request.form.get("outcome", "")
        if not form.validate_on_submit() or outcome not in demo_checkout.OUTCOMES:
            abort(400)
        try:
            payload, signature = demo_checkout.act(session["id"], outcome)
        except demo_checkout.DemoError:
            flash(_("This demo payment was already finished; nothing changed."), "error")
            return redirect(url_for("giving.demo_checkout_page", donation_id=donation.id,
                                    key=checks.access_key(donation)))
        _body, status = _receive_webhook(payload, signature)
        if status != 200:
            flash(_("The portal refused the demo payment's event; your contribution is unchanged."), "error")
        return redirect(_status_url(donation), 303)
    intent = session.get("_intent") or {}
    state = session["status"]
    if state == "complete" and intent.get("status") == "processing":
        state = "processing"
    return render_template("giving/demo_checkout.html", donation=donation, session=session, state=state,
                           form=form, status_url=_status_url(donation))
