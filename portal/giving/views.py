"""Giving pages: donate (public and logged in), the donor's status page, PDFs, the company's
overview with CSV export, materials, the project leader's desk, and Stripe's webhook."""

from __future__ import annotations

import logging
import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal.core import clock
from portal.core.contributions import register_source
from portal.core.security import company_required, csrf, get_owned_or_404, leader_required, limiter
from portal.core.spreadsheet import csv_bytes
from portal.core.templating import MenuItem, register_menu_provider
from portal.giving import demo_checkout, documents, payments, service, webhooks
from portal.giving.forms import (
    BankPaymentForm,
    ConfirmForm,
    ConfirmValueForm,
    DeclineForm,
    DeliverForm,
    DonationForm,
    NeedForm,
    PledgeForm,
    PublicDonationForm,
    ResolveForm,
    new_token,
)
from portal.giving.models import Donation, MaterialNeed, MaterialPledge, PaymentIssue

log = logging.getLogger("portal.giving")

bp = Blueprint("giving", __name__)

PDF_KINDS = {"receipt": "receipt", "payment-request": "payment_request"}
# The query keys /give passes on to the logged-in donate page (url_for must never see another:
# `_external`, `_scheme` or `_anchor` would change the address it builds).
DONATE_ARGS = ("from", "key")
CHECKOUT_WAIT_SECONDS = 8.0


@bp.record_once
def _wire(state):
    from portal.accounts.views import register_dashboard_panel

    app = state.app

    def menu(name, language, user):
        if name == "footer":
            # The page in the language of the page the link is on (an English content page's
            # visitor may have a Dutch browser).
            return [MenuItem(_("Donate"), url_for("giving.public_donate", lang=language), 30)]
        if name != "main" or not user.is_authenticated:
            return []
        if user.is_leader:
            return [MenuItem(_("Giving"), url_for("giving.leader_desk"), 92)]
        if user.company_id is not None:
            return [MenuItem(_("Giving"), url_for("giving.index"), 60)]
        return []

    register_menu_provider(app, menu)
    register_source(app, service.contributions)
    register_dashboard_panel(app, "giving/_dashboard_panel.html", 45)
    register_dashboard_panel(app, "giving/_leader_panel.html", 45, leader=True)
    app.jinja_env.globals.update(
        giving_totals=lambda company: service.company_totals(company.id, clock.today().year),
        giving_leader_counts=service.leader_counts,
        giving_status_label=lambda status: str(service.STATUS_LABELS.get(status, status)),
        giving_shown_status=service.shown_status,
        giving_corrections=service.corrections_of,
        giving_classification_label=lambda name: str(service.CLASSIFICATION_LABELS.get(name, name)),
        giving_method_label=lambda name: str(service.METHOD_LABELS.get(name, name)),
        giving_issue_label=lambda kind: str(service.ISSUE_LABELS.get(kind, kind)),
        giving_reference=documents.format_reference,
    )


def _external(endpoint: str, **values) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _apply_error(form, error: service.GivingError) -> None:
    names = {"declared_value": "declared_value", "on": "on", "value": "value"}
    field = getattr(form, names.get(error.field or "", error.field or ""), None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(error)]
    else:
        flash(str(error), "error")


def _status(form, refused: bool) -> int:
    return 422 if request.method == "POST" and (form.errors or refused) else 200


# --- donating --------------------------------------------------------------------------------------

def _school_choices(label: str) -> list[SelectChoice]:
    return [SelectChoice("", label)] + [SelectChoice(str(school_id), name) for school_id, name in service.schools()]


def _prefill(form: DonationForm, donation: Donation) -> None:
    """Put a donation's values back in the form (the donor came back from Checkout)."""
    language = "en" if donation.donor_language == "en" else "nl"
    form.amount.data = service.money.format_eur(donation.amount_cents, language).replace("€", "").strip()
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
    return url_for("giving.donation_status", donation_id=donation.id, key=service.access_key(donation), **extra)


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
    key = service.access_key(donation)
    try:
        url = service.start_checkout(
            donation, product_name=_product_name(donation),
            success_url=_external("giving.donation_status", donation_id=donation.id, key=key),
            cancel_url=_external("giving.cancel", donation_id=donation.id, key=key))
    except service.GivingError:
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
                service.key_matches(donation, request.args.get("key"))
                or (not public and donation.company_id == current_user.company_id
                    and donation.counts_for_company))
            if allowed:
                _prefill(form, donation)
                flash(_("You went back from the payment page: nothing was charged. Your details are still here."),
                      "info")
    elif form.validate_on_submit():
        try:
            cents = service.parse_amount(form.amount.data, form.method.data or "stripe")
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
        except service.GivingError as error:
            _apply_error(form, error)
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
                           minimum=service.MIN_DONATION_CENTS), _status(form, refused)


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
    donation = Donation.get_or_none(Donation.id == donation_id)
    if donation is None:
        abort(404)
    if service.key_matches(donation, request.args.get("key")):
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
                           issuer=documents.issuer(), kinds=service.document_kinds(donation),
                           receipt_ready=donation.receipt_sent_at is not None)


@bp.get("/give/donations/<int:donation_id>/cancel")
def cancel(donation_id: int):
    # Only through the link Stripe sends back (with its key): a GET that closes a session must not
    # be something another site can make a logged-in visitor's browser do.
    donation = _visible_donation(donation_id, key_only=True)
    service.cancel_checkout(donation)
    args = {"from": donation.id}
    if donation.via == "public":
        args["key"] = service.access_key(donation)
        return redirect(url_for("giving.public_donate", **args))
    return redirect(url_for("giving.donate", **args))


@bp.get("/give/donations/<int:donation_id>/<any(receipt, 'payment-request'):kind>.pdf")
def document(donation_id: int, kind: str):
    return _pdf(_visible_donation(donation_id), PDF_KINDS[kind])


def _pdf(donation: Donation, kind: str) -> Response:
    try:
        data, name = service.document_file(donation, kind)
    except service.GivingError:
        abort(404)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _credit_note_pdf(donation: Donation, note_id: int) -> Response:
    try:
        note = service.credit_note(donation, note_id)
    except service.GivingError:
        abort(404)
    response = Response(bytes(note.pdf), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{documents.credit_note_filename(note)}"'
    return response


@bp.get("/give/donations/<int:donation_id>/credit-notes/<int:note_id>.pdf")
def credit_note(donation_id: int, note_id: int):
    return _credit_note_pdf(_visible_donation(donation_id), note_id)


# --- the company's overview -------------------------------------------------------------------------

@bp.get("/giving")
@company_required
def index():
    """One year at a time (the newest with rows unless another is chosen): the page's cost does not
    grow with the company's history."""
    years = service.company_years(current_user.company_id)
    filters = service.shown_year(service.Filters.parse(request.args), years)
    rows = service.company_rows(current_user.company_id, filters)
    gifts = service.waiting_gifts(current_user.company_id) if current_user.role == "admin" else []
    return render_template("giving/index.html", rows=rows, filters=filters,
                           years=sorted({*years, filters.year}, reverse=True),
                           totals=service.company_totals(current_user.company_id, filters.year),
                           confirm=ConfirmForm(), gifts=gifts)


@bp.get("/giving/export.csv")
@company_required
def export_csv():
    """The rows of the page with the same filters: one year (the newest with rows unless chosen)."""
    filters = service.Filters.parse(request.args)
    rows = service.company_rows(current_user.company_id, filters)
    response = Response(csv_bytes(service.csv_rows(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="contributions-{clock.today():%Y%m%d}.csv"'
    return response


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


def _decide(donation: Donation, action: str) -> None:
    try:
        service.decide_gift(current_user._get_current_object(), donation.id, accept=action == "accept")
    except service.GivingError as error:
        flash(str(error), "error")
    else:
        flash(_("The contribution is accepted: it now counts for the company it names.") if action == "accept"
              else _("The contribution is declined: it does not count for the company it names."), "success")


@bp.post("/giving/donations/<int:donation_id>/withdraw")
@company_required
def withdraw(donation_id: int):
    donation = _own_donation(donation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.withdraw_request(donation, current_user._get_current_object())
    except service.GivingError as error:
        flash(str(error), "error")
    else:
        flash(_("The payment request is withdrawn."), "success")
    return redirect(url_for("giving.index"))


# --- materials ------------------------------------------------------------------------------------

@bp.get("/giving/materials")
@company_required
def materials():
    return render_template("giving/materials.html", needs=service.needs())


@bp.route("/giving/materials/pledge", methods=["GET", "POST"])
@company_required
def pledge():
    form = PledgeForm()
    open_needs = service.needs()
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
            value = service.parse_money(form.declared_value.data, "declared_value", max_cents=service.max_cents("bank"))
            row, _created = service.pledge(current_user._get_current_object(), service.PledgeInput(
                description=form.description.data or "", quantity=form.quantity.data,
                declared_value_cents=value, classification=form.classification.data,
                form_token=form.form_token.data or "", need_id=int(form.need.data) if form.need.data else None))
        except service.GivingError as error:
            _apply_error(form, error)
            refused = True
        else:
            flash(_("Thank you. The project leader will let you know whether your offer is accepted."), "success")
            return redirect(url_for("giving.index", kind="material"))
    return render_template("giving/pledge.html", form=form, needs=open_needs), _status(form, refused)


# --- the project leader's desk ----------------------------------------------------------------------

@bp.get("/giving/leader")
@leader_required
def leader_desk():
    service.schedule_receipts()  # catch up on any receipt a crashed worker left behind
    form = NeedForm()
    form.school.choices = _school_choices(_("No particular school"))
    return render_template("giving/leader.html", desk=service.desk(), need_form=form, confirm=ConfirmForm(),
                           resolve=ResolveForm())


@bp.post("/giving/leader/needs")
@leader_required
def leader_publish_need():
    form = NeedForm()
    form.school.choices = _school_choices(_("No particular school"))
    refused = False
    if form.validate_on_submit():
        try:
            service.publish_need(current_user._get_current_object(), item=form.item.data,
                                 description=form.description.data or "", quantity=form.quantity.data,
                                 school_id=form.school.data or None, needed_by=form.needed_by.data)
        except service.GivingError as error:
            _apply_error(form, error)
            refused = True
        else:
            flash(_("The need is published."), "success")
            return redirect(url_for("giving.leader_desk"))
    return render_template("giving/leader.html", desk=service.desk(), need_form=form, confirm=ConfirmForm(),
                           resolve=ResolveForm()), _status(form, refused)


@bp.post("/giving/leader/needs/<int:need_id>/close")
@leader_required
def leader_close_need(need_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    MaterialNeed.get_or_none(MaterialNeed.id == need_id) or abort(404)
    service.close_need(current_user._get_current_object(), need_id)
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
            kwargs["value_cents"] = service.parse_money(form.value.data, "value", max_cents=service.max_cents("bank"))
        service.move_pledge(current_user._get_current_object(), row.id, action, **kwargs)
    except service.GivingError as error:
        _apply_error(form, error)
        return _pledge_page(row, {action: form}, 422)
    flash(_("The offer is now: %(status)s.", status=service.STATUS_LABELS[service.PLEDGE_MOVES[action][0]]), "success")
    return redirect(url_for("giving.leader_pledge", pledge_id=row.id))


@bp.post("/giving/leader/issues/<int:issue_id>/resolve")
@leader_required
def leader_resolve_issue(issue_id: int):
    PaymentIssue.get_or_none(PaymentIssue.id == issue_id) or abort(404)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Say what was done before you close the issue."), "error")
        return redirect(url_for("giving.leader_desk"))
    service.resolve_issue(current_user._get_current_object(), issue_id, form.resolution.data)
    flash(_("The issue is closed."), "success")
    return redirect(url_for("giving.leader_desk"))


@bp.route("/giving/leader/bank", methods=["GET", "POST"])
@leader_required
def leader_bank():
    form = BankPaymentForm()
    refused = False
    if form.validate_on_submit():
        try:
            cents = service.parse_money(form.amount.data, "amount", max_cents=service.max_cents("bank"))
        except service.GivingError as error:
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
                           kinds=service.document_kinds(donation), confirm=ConfirmForm())


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
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.withdraw_request(donation, current_user._get_current_object())
    except service.GivingError as error:
        flash(str(error), "error")
    else:
        flash(_("The payment request is withdrawn."), "success")
    return redirect(url_for("giving.leader_donation", donation_id=donation.id))


# --- Stripe's webhook ---------------------------------------------------------------------------------

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


# --- the demo payment page (development without Stripe keys: demo_checkout.py) -------------------------

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
                                    key=service.access_key(donation)))
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
