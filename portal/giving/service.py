"""Giving: money online (Stripe Checkout) and by bank transfer, refunds and disputes, receipts
and payment requests, materials, and the contributions they make.

How money stays right:
- a donation row is written first, as pending, under a UNIQUE form token (a double click
  finds the row the first click made); Stripe gets its id in client_reference_id, metadata and
  payment_intent_data.metadata, with the idempotency key `donation-<id>`;
- only signed webhooks move a Stripe donation. Each event is stored under its UNIQUE id when it
  arrives (webhooks.py) and claimed in the same transaction as its effect, which runs on the task
  queue; the objects are re-read from Stripe's API first, and every
  move is a conditional UPDATE that only goes forward (pending < processing < failed/expired/
  canceled < paid), with the donation row locked for the transaction;
- an amount or currency that does not match the donation is never applied: it becomes a
  PaymentIssue for the project leader; refunds beyond what was paid likewise;
- fee and net come from Stripe's balance transactions (net = amount - fee is a CHECK);
- receipts are rendered and mailed by a task on the queue, queued when the payment commits, by
  whichever run claims the donation first; a periodic sweep catches any receipt a killed worker
  left behind, and the mail's key (`receipt-<id>`) keeps a second run from mailing it twice.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from hashlib import sha256
from typing import Any

import peewee
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from portal.accounts.models import Company, User
from portal.core import audit, clock, ledger, mail, money, tasks
from portal.core.contributions import Contribution
from portal.core.db import atomic_write, database, is_sqlite, utcnow
from portal.core.errors import UserError
from portal.core.spreadsheet import safe_cell as neutralise
from portal.giving import corrections, documents, payments
from portal.giving.documents import amsterdam_date
from portal.giving.models import (
    CLASSIFICATIONS,
    MAX_QUANTITY,
    MAX_RECORDED_CENTS,
    MAX_STRIPE_CENTS,
    METHODS,
    MIN_DONATION_CENTS,
    BankReceipt,
    CreditNote,
    Dispute,
    Document,
    Donation,
    Invoice,
    MaterialNeed,
    MaterialPledge,
    PaymentIssue,
    Refund,
    StripeEvent,
)

log = logging.getLogger("portal.giving")

RECEIPT_CLAIM_MINUTES = 10
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KVK_SHAPE = re.compile(r"^\d{8}$")

STATUS_LABELS = {
    "pending": _l("awaiting payment"),
    "processing": _l("payment being processed"),
    "paid": _l("paid"),
    "failed": _l("payment failed"),
    "expired": _l("not completed"),
    "canceled": _l("cancelled"),
    "pledged": _l("offered"),
    "accepted": _l("accepted"),
    "delivered": _l("delivered"),
    "confirmed": _l("received and valued"),
    "declined": _l("declined"),
    "refunded": _l("refunded"),
}
CLASSIFICATION_LABELS = documents.CLASSIFICATION_LABELS
METHOD_LABELS = {"stripe": _l("Online payment"), "bank": _l("Bank transfer"), "in_kind": _l("In kind")}
ISSUE_LABELS = {
    "amount_mismatch": _l("The amount paid differs from the donation"),
    "currency_mismatch": _l("The payment is not in euros"),
    "unknown_donation": _l("A payment names a donation that does not exist"),
    "not_a_stripe_donation": _l("A Stripe payment names a bank-transfer donation"),
    "session_mismatch": _l("A Checkout session does not belong to the donation it names"),
    "payment_mismatch": _l("A payment does not belong to the donation it names"),
    "settlement_mismatch": _l("Stripe's balance transaction does not match the payment; fee and net not recorded"),
    "paid_after_close": _l("A donation that had failed, expired or was cancelled was paid after all"),
    "refund_mismatch": _l("A refund does not match its donation; it was not recorded"),
    "refund_exceeds_payment": _l("Refunds would exceed what was paid; the refund was not recorded"),
    "dispute_mismatch": _l("A dispute does not match its donation; it was not recorded"),
    "bank_amount_mismatch": _l("A bank transfer's amount differs from the payment request"),
    "bank_duplicate_payment": _l("A payment request was paid more than once"),
    "bank_not_pending": _l("A bank transfer paid a request that was cancelled"),
    "bank_refund_exceeds_surplus": _l("A bank refund is more than the surplus paid on the request"),
    "credit_exceeds_receipt": _l("More money went back than the receipt still counted: the credit note covers "
                                 "only what it counted, the difference is not credited"),
}
OPEN_STATUSES = ("pending", "processing", "pledged", "accepted", "delivered")
COMPLETED_STATUSES = ("paid", "confirmed")
STOPPED_STATUSES = ("failed", "expired", "canceled", "declined", "refunded")

# Forward order of a donation: a move to a higher rank only; paid is final.
RANK = {"pending": 0, "processing": 1, "failed": 2, "expired": 2, "canceled": 2, "paid": 3}
REFUND_RANK = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}
DISPUTE_RANK = {"warning_needs_response": 0, "needs_response": 0, "warning_under_review": 1, "under_review": 1,
                "won": 2, "lost": 2, "warning_closed": 2, "prevented": 2}

CHECKOUT_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                   "checkout.session.async_payment_failed", "checkout.session.expired")
REFUND_EVENTS = ("charge.refunded", "charge.refund.updated", "refund.created", "refund.updated", "refund.failed")
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
                  "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated")
HANDLED_EVENTS = CHECKOUT_EVENTS + REFUND_EVENTS + DISPUTE_EVENTS


ProviderError = payments.ProviderError


class GivingError(UserError):
    """A refusal to show the user: str() is the translated message; `field` names the form field."""



def _lock(model, row_id):
    """The current row, locked until the transaction ends (SQLite: the write lock already is)."""
    query = model.select().where(model.id == row_id)
    if not is_sqlite():
        query = query.for_update()
    return query.first()


def leaders() -> list[User]:
    return list(User.select().where((User.role == "leader") & User.is_active))


# --- input checks ----------------------------------------------------------------------------

def max_cents(method: str) -> int:
    """The largest amount accepted for a method: the configured maximum, and Stripe's own limit."""
    configured = int(current_app.config.get("MAX_AMOUNT_CENTS") or money.DEFAULT_MAX_CENTS)
    limit = min(configured, MAX_RECORDED_CENTS)
    return min(limit, MAX_STRIPE_CENTS) if method == "stripe" else limit


def parse_money(text: str | None, field_name: str, *, max_cents: int) -> int:
    """What someone typed as integer cents (more than zero), or GivingError naming the field."""
    try:
        return money.parse_cents(text, max_cents=max_cents)
    except money.AmountError as error:
        raise GivingError(error.message, field_name) from error


def parse_amount(text: str | None, method: str) -> int:
    """What the donor typed as integer cents: at least EUR 0.50, at most the method's maximum."""
    cents = parse_money(text, "amount", max_cents=max_cents(method))
    check_amount(cents, method)
    return cents


def check_amount(cents: Any, method: str) -> None:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise GivingError(_l("Please enter an amount such as 250 or 1.234,56."), "amount")
    if cents < MIN_DONATION_CENTS:
        raise GivingError(_l("The minimum amount is %(minimum)s.", minimum=money.format_eur(MIN_DONATION_CENTS)),
                          "amount")
    if cents > max_cents(method):
        raise GivingError(_l("The amount cannot be more than %(maximum)s.", maximum=money.format_eur(max_cents(method))),
                          "amount")


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_BUT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def check_no_control(value: str | None, field_name: str, *, multiline: bool = False) -> None:
    """Refuse control characters (exports and mail cannot carry them); a multi-line field keeps its
    line breaks."""
    if (CONTROL_BUT_NEWLINES if multiline else CONTROL).search(value or ""):
        if multiline:  # the same words as core's forms (portal/core/forms.py)
            raise GivingError(_l("Remove the invisible control characters from this text (line breaks are fine)."),
                              field_name)
        raise GivingError(_l("Remove the invisible control characters (such as a line break or tab) from this field."),
                          field_name)


def _text(value: str | None, limit: int, field_name: str, *, required: bool = False,
          multiline: bool = False) -> str:
    check_no_control(value, field_name, multiline=multiline)
    text = " ".join((value or "").split())
    if required and not text:
        raise GivingError(_l("This field is required."), field_name)
    if len(text) > limit:
        raise GivingError(_l("Use at most %(count)d characters.", count=limit), field_name)
    return text


def _email(value: str | None, field_name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise GivingError(_l("This field is required."), field_name)
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise GivingError(_l("Enter a valid e-mail address, such as name@company.nl."), field_name) from exc


def schools() -> list[tuple[int, str]]:
    """Active project schools as (id, name), for earmarks and needs (empty without enrolment)."""
    try:
        from portal.enrollment.models import School
    except ImportError:  # pragma: no cover - the capability is part of the portal
        return []
    return [(s.id, s.name) for s in School.select(School.id, School.name).where(School.is_active).order_by(School.name)]


def _school(school_id: int | None, field_name: str) -> tuple[int | None, str]:
    if school_id in (None, "", 0):
        return None, ""
    names = dict(schools())
    try:
        key = int(school_id)
    except (TypeError, ValueError):
        key = -1
    if key not in names:
        raise GivingError(_l("Choose a school from the list."), field_name)
    return key, names[key]


# --- reference numbers and access keys --------------------------------------------------------

def rf_reference(donation_id: int, year: int) -> str:
    """A structured creditor reference (ISO 11649), unique because the donation id is."""
    body = f"{year:04d}{donation_id:06d}"
    reference = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    return iso11649.validate(reference)


def access_key(donation: Donation) -> str:
    """A key for the donor's own pages and PDFs when they are not logged in (the public page)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = f"giving-donation:{donation.id}:{donation.form_token}".encode()
    return hmac.new(secret, message, sha256).hexdigest()[:32]


def key_matches(donation: Donation, key: str | None) -> bool:
    return bool(key) and hmac.compare_digest(access_key(donation), str(key))


def counts() -> peewee.Expression:
    """SQL: a donation that counts for its company, i.e. not a public gift that names an existing
    company and still waits for its acceptance (or was declined): see Donation.counts_for_company."""
    return Donation.company_decision.is_null() | (Donation.company_decision == "accepted")


# --- donations: creating and paying -------------------------------------------------------------

@dataclass
class DonationInput:
    amount_cents: int
    classification: str
    method: str
    form_token: str
    earmark_school_id: int | None = None
    earmark_purpose: str = ""


@dataclass
class PublicDonor:
    company_name: str
    kvk: str
    contact_name: str
    contact_email: str
    language: str = "nl"


def create_donation(data: DonationInput, *, user: User | None = None, donor: PublicDonor | None = None,
                    today: dt.date | None = None) -> tuple[Donation, bool]:
    """Record a donation as pending (and, for a bank transfer, its reference and due date).

    Returns the donation and whether it is new: the same form token submitted twice gives the
    first donation back (a double click), never a second one.
    """
    if (user is None) == (donor is None):
        raise ValueError("a donation comes from a logged-in user or from the public page, not both")
    if user is not None and user.company_id is None:
        raise GivingError(_l("Only a company can donate through the portal."))
    if data.method not in METHODS:
        raise GivingError(_l("Choose how you want to pay."), "method")
    if data.classification not in CLASSIFICATIONS:
        raise GivingError(_l("Choose whether this is a gift or sponsoring."), "classification")
    check_amount(data.amount_cents, data.method)
    if data.method == "stripe" and not payments.configured():
        raise GivingError(_l("Online payment is not available at the moment. Please choose a bank transfer."),
                          "method")
    if not TOKEN_SHAPE.match(data.form_token or ""):
        raise GivingError(_l("The form has expired. Please submit it again."))
    school_id, school_name = _school(data.earmark_school_id, "earmark_school")
    purpose = _text(data.earmark_purpose, 300, "earmark_purpose")
    if user is not None:
        company = user.company
        values = {"company": company.id, "created_by": user.id, "via": "portal", "donor_name": company.legal_name,
                  "donor_kvk": company.kvk, "donor_contact_name": user.name, "donor_email": user.email,
                  "donor_language": user.language if user.language in ("nl", "en") else company.language}
    else:
        kvk = re.sub(r"[\s.]", "", donor.kvk or "")
        if not KVK_SHAPE.match(kvk):
            raise GivingError(_l("A KvK number has exactly 8 digits."), "kvk")
        values = {"company": None, "created_by": None, "via": "public",
                  "donor_name": _text(donor.company_name, 200, "company_name", required=True), "donor_kvk": kvk,
                  "donor_contact_name": _text(donor.contact_name, 200, "contact_name"),
                  "donor_email": _email(donor.contact_email, "contact_email"),
                  "donor_language": donor.language if donor.language in ("nl", "en") else "nl"}
    today = today or clock.today()
    try:
        with atomic_write():
            donation = Donation.create(method=data.method, amount_cents=data.amount_cents, currency="eur",
                                       classification=data.classification, earmark_school_id=school_id,
                                       earmark_school=school_name, earmark_purpose=purpose,
                                       form_token=data.form_token, status="pending", **values)
            if data.method == "bank":
                due_days = int(current_app.config.get("PAYMENT_REQUEST_DUE_DAYS") or 30)
                donation.reference = rf_reference(donation.id, today.year)
                donation.due_on = today + dt.timedelta(days=due_days)
                Donation.update(reference=donation.reference, due_on=donation.due_on).where(
                    Donation.id == donation.id).execute()
            audit.record("donation.created", actor=user, company=values["company"], obj=donation,
                         amount_cents=donation.amount_cents, method=donation.method,
                         classification=donation.classification, via=donation.via, reference=donation.reference)
    except peewee.IntegrityError:
        existing = Donation.get_or_none(Donation.form_token == data.form_token)
        if existing is None:
            raise
        if not _same_submission(existing, data, values):
            raise GivingError(_l("The form has expired. Please submit it again.")) from None
        return existing, False
    if data.method == "bank":
        _mail_payment_request(donation)
    return donation, True


def _same_submission(donation: Donation, data: DonationInput, values: dict) -> bool:
    """A double click sends the same form twice; the same token with other values is a stale form."""
    if (donation.amount_cents, donation.method, donation.classification) != (
            data.amount_cents, data.method, data.classification):
        return False
    if values["via"] == "portal":
        return donation.company_id == values["company"]
    return donation.via == "public" and donation.donor_kvk == values["donor_kvk"] \
        and donation.donor_email == values["donor_email"]


def start_checkout(donation: Donation, *, success_url: str, cancel_url: str, product_name: str) -> str:
    """The Stripe Checkout address that pays this donation (the same session for a second click)."""
    donation = Donation.get_by_id(donation.id)
    if donation.method != "stripe" or donation.status != "pending":
        raise GivingError(_l("This donation can no longer be paid online."))
    if donation.checkout_url:
        return donation.checkout_url
    session = payments.create_checkout_session(
        donation_id=donation.id, company_id=donation.company_id, amount_cents=donation.amount_cents,
        classification=donation.classification, product_name=product_name, customer_email=donation.donor_email,
        locale=donation.donor_language, success_url=success_url, cancel_url=cancel_url)
    if session.amount_total != donation.amount_cents or session.currency != "eur" or session.donation_id != donation.id:
        raise payments.ProviderError("Stripe answered with a session for another amount or donation")
    with atomic_write():
        stored = (Donation.update(stripe_checkout_session_id=session.id, checkout_url=session.url, updated_at=utcnow())
                  .where((Donation.id == donation.id) & Donation.stripe_checkout_session_id.is_null()).execute())
        if stored:
            audit.record("donation.checkout_started", company=donation.company_id, obj=donation, session=session.id)
    return Donation.get_by_id(donation.id).checkout_url or session.url


def cancel_checkout(donation: Donation) -> bool:
    """The donor went back from Checkout: close the session so it cannot be paid any more.

    Only when Stripe confirms the session expired does the donation become cancelled; a session
    that was paid meanwhile stays as it is (its webhook settles it).
    """
    donation = Donation.get_by_id(donation.id)
    if donation.method != "stripe" or donation.status != "pending":
        return False
    if donation.stripe_checkout_session_id:
        try:
            session = payments.expire_session(donation.stripe_checkout_session_id)
        except payments.ProviderError:
            log.info("checkout session of donation %s could not be expired", donation.id)
            return False
        if session.status != "expired":
            return False
    with atomic_write():
        moved = _move(donation, "canceled", ("pending",), reason="returned from checkout")
    return moved


def abandon(donation: Donation, reason: str) -> bool:
    """A pending online donation that never reached Stripe (the service was unreachable)."""
    with atomic_write():
        return _move(Donation.get_by_id(donation.id), "canceled", ("pending",), reason=reason)


def withdraw_request(donation: Donation, actor: User) -> bool:
    """Cancel a bank transfer request that was not paid (by the company or the project leader)."""
    if donation.method != "bank":
        raise GivingError(_l("Only a payment request for a bank transfer can be withdrawn."))
    with atomic_write():
        current = _lock(Donation, donation.id)
        if current.status != "pending":
            raise GivingError(_l("This payment request is no longer open."))
        return _move(current, "canceled", ("pending",), actor=actor, reason="payment request withdrawn")


def _move(donation: Donation, to: str, from_: tuple[str, ...], *, actor: User | None = None, **details) -> bool:
    """A conditional status move, audited; False when the donation was not in a `from_` status."""
    moved = (Donation.update(status=to, updated_at=utcnow())
             .where((Donation.id == donation.id) & Donation.status.in_(from_)).execute())
    if moved:
        audit.record(f"donation.{to}", actor=actor, company=donation.company_id, obj=donation,
                     before=donation.status, **details)
        donation.status = to
    return bool(moved)


# --- Stripe webhooks ----------------------------------------------------------------------------

@dataclass
class Observed:
    """What Stripe's API says now about the objects an event concerns."""

    donation_id: int | None = None
    session: payments.SessionFacts | None = None
    payment: payments.PaymentFacts | None = None
    refunds: list[payments.RefundFacts] = field(default_factory=list)
    disputes: list[payments.DisputeFacts] = field(default_factory=list)


@dataclass
class Outcome:
    outcome: str                      # applied, no_change, flagged, ignored, duplicate
    donation_id: int | None = None
    receipts_due: bool = False


# An event the webhook stored on arrival whose work has not been applied yet (webhooks.py queues
# it): `queued`, or `failed` after its last retry (the tasks page queues it again).
WAITING_OUTCOMES = ("queued", "failed")


def already_handled(event_id: str) -> bool:
    return StripeEvent.select().where((StripeEvent.event_id == event_id)
                                      & StripeEvent.outcome.not_in(WAITING_OUTCOMES)).exists()


def observe(event: payments.EventFacts) -> Observed:
    """Re-read from Stripe's API what the event is about (raises ProviderError when unreachable)."""
    if event.type in CHECKOUT_EVENTS:
        session = payments.retrieve_session(event.object_id)
        payment = payments.retrieve_payment(session.payment_intent_id) if session.payment_intent_id else None
        return Observed(donation_id=session.donation_id, session=session, payment=payment)
    if event.type in REFUND_EVENTS:
        if event.object_type == "charge":
            intent = payments.payment_intent_of_charge(event.object_id)
        else:
            refund = payments.retrieve_refund(event.object_id)
            intent = refund.payment_intent_id or (
                payments.payment_intent_of_charge(refund.charge_id) if refund.charge_id else None)
        if not intent:
            return Observed()
        payment = payments.retrieve_payment(intent)
        return Observed(donation_id=payment.donation_id, payment=payment, refunds=payments.refunds_of(intent))
    if event.type in DISPUTE_EVENTS:
        dispute = payments.retrieve_dispute(event.object_id)
        if not dispute.payment_intent_id:
            return Observed()
        payment = payments.retrieve_payment(dispute.payment_intent_id)
        return Observed(donation_id=payment.donation_id, payment=payment, disputes=[dispute])
    return Observed()


def handle_event(event: payments.EventFacts) -> Outcome:
    """Apply one verified Stripe event exactly once; unknown types are only acknowledged."""
    if already_handled(event.id):
        return Outcome("duplicate")
    try:
        observed = observe(event) if event.type in HANDLED_EVENTS else Observed()
    except payments.NotFound:
        # Signed with our secret but unknown to our key's API: nothing of ours to update.
        log.warning("stripe event %s (%s): its object %s does not exist for this key", event.id, event.type,
                    event.object_id)
        observed = Observed()
    with atomic_write():
        stored = (StripeEvent.insert(event_id=event.id, type=event.type[:100], object_id=event.object_id[:255],
                                     outcome="received", stripe_created_at=event.created_at)
                  .on_conflict_ignore().as_rowcount().execute())
        if not stored:
            # Stored on arrival by the webhook: this run claims it, and only one run can.
            stored = (StripeEvent.update(outcome="received")
                      .where((StripeEvent.event_id == event.id) & StripeEvent.outcome.in_(WAITING_OUTCOMES))
                      .execute())
        if not stored:
            return Outcome("duplicate")
        if event.type not in HANDLED_EVENTS:
            result = Outcome("ignored")
        else:
            result = _apply(event, observed)
        StripeEvent.update(outcome=result.outcome, donation=result.donation_id).where(
            StripeEvent.event_id == event.id).execute()
    return result


class _Flagged(Exception):
    pass


class _Effects:
    """What one event did, gathered while it is applied."""

    def __init__(self, event: payments.EventFacts, donation: Donation | None) -> None:
        self.event = event
        self.donation = donation
        self.changed = False
        self.flagged = False
        self.receipts_due = False

    def flag(self, kind: str, **details) -> None:
        raise_issue(kind, self.event.id, self.donation, event_type=self.event.type, **details)
        self.flagged = True


def raise_issue(kind: str, source: str, donation: Donation | None, **details) -> bool:
    """Record an issue for the project leader once per (kind, source); mails the leader when new."""
    created = (PaymentIssue.insert(donation=donation.id if donation else None, kind=kind, source=source[:255],
                                   details=json.dumps(details, sort_keys=True, default=str))
               .on_conflict_ignore().as_rowcount().execute())
    if created:
        audit.record("giving.issue_raised", company=donation.company_id if donation else None,
                     object_type="donation", object_id=donation.id if donation else "", kind=kind, source=source,
                     **details)
        for leader in leaders():
            mail.send_template(leader.email, "giving/issue", leader.language, _l("A payment needs your attention"),
                               leader=leader, kind=kind, kind_label=ISSUE_LABELS.get(kind, kind), donation=donation,
                               details=details, link=_link("/giving/leader"))
    return bool(created)


def _apply(event: payments.EventFacts, observed: Observed) -> Outcome:
    if observed.donation_id is None:
        return Outcome("ignored")  # a payment on the account that the portal did not start
    donation = _lock(Donation, observed.donation_id)
    effects = _Effects(event, donation)
    if donation is None:
        effects.donation = None
        effects.flag("unknown_donation", donation_id=observed.donation_id)
        return Outcome("flagged")
    try:
        _check_identity(donation, observed, effects)
        payment = observed.payment
        session = observed.session
        if payment is not None and payment.status == "succeeded":
            _settle(donation, payment, effects)
        elif session is not None and session.status == "expired":
            effects.changed |= _move(donation, "expired", ("pending",), event=event.id)
        elif session is not None and session.status == "complete" and session.payment_status == "unpaid":
            failed = event.type == "checkout.session.async_payment_failed" or (
                payment is not None and payment.status in ("requires_payment_method", "canceled"))
            if failed:
                if _move(donation, "failed", ("pending", "processing"), event=event.id):
                    effects.changed = True
                    _mail_failed(donation)
            elif _move(donation, "processing", ("pending",), event=event.id):
                effects.changed = True
        for refund in observed.refunds:
            _sync_refund(donation, refund, effects)
        for dispute in observed.disputes:
            _sync_dispute(donation, dispute, effects)
    except _Flagged:
        pass
    outcome = "flagged" if effects.flagged else ("applied" if effects.changed else "no_change")
    return Outcome(outcome, donation.id, effects.receipts_due)


def _check_identity(donation: Donation, observed: Observed, effects: _Effects) -> None:
    """Stop (flagged, nothing applied) when what Stripe says does not fit the donation."""
    if donation.method != "stripe":
        effects.flag("not_a_stripe_donation")
        raise _Flagged
    session, payment = observed.session, observed.payment
    if session is not None:
        if session.metadata_donation_id not in (None, donation.id) or (
                donation.stripe_checkout_session_id not in (None, session.id)):
            effects.flag("session_mismatch", session=session.id, stored=donation.stripe_checkout_session_id)
            raise _Flagged
        if session.currency != "eur":
            effects.flag("currency_mismatch", session=session.id, currency=session.currency)
            raise _Flagged
        if session.amount_total != donation.amount_cents:
            effects.flag("amount_mismatch", session=session.id, expected_cents=donation.amount_cents,
                         stripe_cents=session.amount_total)
            raise _Flagged
        if donation.stripe_checkout_session_id is None:
            Donation.update(stripe_checkout_session_id=session.id, checkout_url=session.url).where(
                (Donation.id == donation.id) & Donation.stripe_checkout_session_id.is_null()).execute()
            donation.stripe_checkout_session_id = session.id
    if payment is not None:
        if payment.donation_id not in (None, donation.id) or (
                donation.stripe_payment_intent_id not in (None, payment.payment_intent_id)):
            effects.flag("payment_mismatch", payment_intent=payment.payment_intent_id,
                         stored=donation.stripe_payment_intent_id)
            raise _Flagged
        if payment.currency != "eur":
            effects.flag("currency_mismatch", payment_intent=payment.payment_intent_id, currency=payment.currency)
            raise _Flagged
        if payment.amount_cents != donation.amount_cents:
            effects.flag("amount_mismatch", payment_intent=payment.payment_intent_id,
                         expected_cents=donation.amount_cents, stripe_cents=payment.amount_cents)
            raise _Flagged
        if donation.stripe_payment_intent_id is None:
            Donation.update(stripe_payment_intent_id=payment.payment_intent_id).where(
                (Donation.id == donation.id) & Donation.stripe_payment_intent_id.is_null()).execute()
            donation.stripe_payment_intent_id = payment.payment_intent_id


def _fee_and_net(donation: Donation, balance: payments.BalanceFacts | None, effects: _Effects):
    if balance is None:
        return None, None
    if (balance.currency != "eur" or balance.amount_cents != donation.amount_cents
            or balance.net_cents != balance.amount_cents - balance.fee_cents):
        effects.flag("settlement_mismatch", balance_transaction=balance.id, amount_cents=balance.amount_cents,
                     fee_cents=balance.fee_cents, net_cents=balance.net_cents, currency=balance.currency)
        return None, None
    return balance.fee_cents, balance.net_cents


def _settle(donation: Donation, payment: payments.PaymentFacts, effects: _Effects) -> None:
    fee, net = _fee_and_net(donation, payment.balance, effects)
    if donation.status == "paid":
        if fee is not None and donation.fee_cents is None:
            filled = (Donation.update(fee_cents=fee, net_cents=net, updated_at=utcnow())
                      .where((Donation.id == donation.id) & Donation.fee_cents.is_null()).execute())
            if filled:
                _post_money(donation, key=f"donation:{donation.id}", source="donation.fee", dated_on=donation.paid_on,
                            lines=0, gross=0, fee=fee, net=-fee)
                audit.record("donation.fee_recorded", company=donation.company_id, obj=donation, fee_cents=fee,
                             net_cents=net, event=effects.event.id)
                effects.changed = True
        return
    paid_at = payment.charge_created_at or effects.event.created_at or utcnow()
    company_id, decision = _company_of_payment(donation)
    before = donation.status
    moved = (Donation.update(status="paid", paid_at=paid_at, paid_on=amsterdam_date(paid_at), company=company_id,
                             company_decision=decision,
                             stripe_payment_intent_id=payment.payment_intent_id,
                             stripe_charge_id=payment.charge_id, payment_method_type=payment.payment_method_type[:40],
                             fee_cents=fee, net_cents=net, updated_at=utcnow())
             .where((Donation.id == donation.id) & (Donation.status != "paid")).execute())
    if not moved:
        return
    donation.status, donation.company_id, donation.company_decision = "paid", company_id, decision
    donation.paid_on = amsterdam_date(paid_at)
    donation.stripe_payment_intent_id = payment.payment_intent_id
    _post_money(donation, key=f"donation:{donation.id}", source="donation.paid", dated_on=amsterdam_date(paid_at),
                gross=donation.amount_cents, fee=fee or 0,
                net=net if net is not None else donation.amount_cents - (fee or 0))
    audit.record("donation.paid", company=company_id, obj=donation, before=before, via="stripe",
                 amount_cents=donation.amount_cents, fee_cents=fee, net_cents=net,
                 payment_intent=payment.payment_intent_id, event=effects.event.id, company_decision=decision)
    effects.changed = True
    effects.receipts_due = True
    if before in ("failed", "expired", "canceled"):
        effects.flag("paid_after_close", before=before, payment_intent=payment.payment_intent_id)


def company_for_public_donation(donation: Donation) -> int:
    """The company a public donation names by KvK number: found, or made when the money arrives."""
    return public_company(donation)[0]


def public_company(donation: Donation) -> tuple[int, bool]:
    """The company a public donation names by KvK number, and whether it was made for this gift
    (False: it existed already, so the gift waits for that company to accept it)."""
    found = Company.get_or_none(Company.kvk == donation.donor_kvk)
    if found is not None:
        return found.id, False
    try:
        with database.atomic():
            company = Company.create(legal_name=donation.donor_name, kvk=donation.donor_kvk, street="", postcode="",
                                     city="", billing_email=donation.donor_email, language=donation.donor_language)
            audit.record("company.created_from_donation", company=company, obj=company, kvk=company.kvk,
                         donation=donation.id)
    except peewee.IntegrityError:
        return Company.get(Company.kvk == donation.donor_kvk).id, False
    return company.id, True


def _company_of_payment(donation: Donation) -> tuple[int, str | None]:
    """The company a donation is paid for, and its decision: a public gift naming a company that
    already existed waits for that company (or the project leader) to accept it; it never counts
    for someone else's company, and its donor gains nothing there by giving."""
    if donation.company_id is not None:
        return donation.company_id, donation.company_decision
    company_id, made = public_company(donation)
    return company_id, None if made else "waiting"


def _sync_refund(donation: Donation, facts: payments.RefundFacts, effects: _Effects) -> None:
    if facts.currency != "eur" or facts.amount_cents <= 0 or facts.amount_cents > donation.amount_cents or (
            facts.payment_intent_id not in (None, donation.stripe_payment_intent_id)):
        effects.flag("refund_mismatch", refund=facts.id, amount_cents=facts.amount_cents, currency=facts.currency)
        return
    if facts.status not in REFUND_RANK:
        return
    Refund.insert(donation=donation.id, stripe_refund_id=facts.id, amount_cents=facts.amount_cents,
                  currency="eur", status="pending").on_conflict_ignore().execute()
    row = _lock(Refund, Refund.get(Refund.stripe_refund_id == facts.id).id)
    if row.donation_id != donation.id or row.amount_cents != facts.amount_cents:
        effects.flag("refund_mismatch", refund=facts.id, amount_cents=facts.amount_cents, stored_cents=row.amount_cents)
        return
    if REFUND_RANK[facts.status] <= REFUND_RANK[row.status]:
        return
    values: dict[str, Any] = {"status": facts.status, "updated_at": utcnow()}
    if facts.status == "succeeded":
        if donation.status != "paid":
            effects.flag("refund_mismatch", refund=facts.id, reason="refund of a donation that is not paid")
            return
        refunded = (Refund.select(peewee.fn.COALESCE(peewee.fn.SUM(Refund.amount_cents), 0))
                    .where((Refund.donation == donation.id) & (Refund.status == "succeeded") & (Refund.id != row.id))
                    .scalar())
        if int(refunded) + facts.amount_cents > donation.amount_cents:
            effects.flag("refund_exceeds_payment", refund=facts.id, amount_cents=facts.amount_cents,
                         already_refunded_cents=int(refunded), paid_cents=donation.amount_cents)
            return
        balance = facts.balance
        if balance is not None and balance.currency == "eur" and balance.amount_cents == -facts.amount_cents \
                and balance.net_cents == balance.amount_cents - balance.fee_cents:
            values.update(fee_cents=balance.fee_cents, net_cents=balance.net_cents)
        when = (balance.created_at if balance else None) or facts.created_at or effects.event.created_at or utcnow()
        values["succeeded_on"] = row.succeeded_on or amsterdam_date(when)
    allowed = [status for status, rank in REFUND_RANK.items() if rank < REFUND_RANK[facts.status]]
    moved = Refund.update(**values).where((Refund.id == row.id) & Refund.status.in_(allowed)).execute()
    if moved and facts.status == "succeeded":
        fee = values.get("fee_cents") or 0
        _post_money(donation, key=f"donation:{donation.id}:refund:{row.id}", source="refund.succeeded",
                    dated_on=values["succeeded_on"], gross=-row.amount_cents, fee=fee,
                    net=values.get("net_cents", -row.amount_cents - fee))
        _credit(donation, source=f"refund:{row.id}", kind="refund", amount_cents=row.amount_cents,
                happened_on=values["succeeded_on"], refund=facts.id)
    elif moved and row.status == "succeeded":
        # A refund that had gone through failed or was canceled afterwards: the money is back with
        # us, so its line is undone, dated as the refund was (a closed month books it later).
        undone = Refund.get_by_id(row.id)
        fee = undone.fee_cents or 0
        net = undone.net_cents if undone.net_cents is not None else -undone.amount_cents - fee
        _post_money(donation, key=f"donation:{donation.id}:refund:{row.id}", source=f"refund.{facts.status}",
                    dated_on=undone.succeeded_on, lines=-1, gross=undone.amount_cents, fee=-fee, net=-net)
        corrections.reverse(donation, f"refund:{row.id}", happened_on=_event_date(effects))
    if moved:
        audit.record(f"donation.refund_{facts.status}", company=donation.company_id, obj=donation, refund=facts.id,
                     amount_cents=facts.amount_cents, before=row.status, event=effects.event.id)
        effects.changed = True


def _sync_dispute(donation: Donation, facts: payments.DisputeFacts, effects: _Effects) -> None:
    if facts.currency != "eur" or facts.amount_cents <= 0 or facts.amount_cents > donation.amount_cents:
        effects.flag("dispute_mismatch", dispute=facts.id, amount_cents=facts.amount_cents, currency=facts.currency)
        return
    Dispute.insert(donation=donation.id, stripe_dispute_id=facts.id, amount_cents=facts.amount_cents,
                   status=facts.status[:32], reason=facts.reason[:64]).on_conflict_ignore().execute()
    row = _lock(Dispute, Dispute.get(Dispute.stripe_dispute_id == facts.id).id)
    if row.donation_id != donation.id:
        effects.flag("dispute_mismatch", dispute=facts.id, stored_donation=row.donation_id)
        return
    changes: dict[str, Any] = {}
    if DISPUTE_RANK.get(facts.status, -1) > DISPUTE_RANK.get(row.status, -1):
        changes["status"] = facts.status[:32]
    withdrawn = [m for m in facts.movements if m.amount_cents < 0 and m.currency == "eur"]
    reinstated = [m for m in facts.movements if m.amount_cents > 0 and m.currency == "eur"]
    if withdrawn and row.withdrawn_cents is None:
        amount = -sum(m.amount_cents for m in withdrawn)
        if amount > donation.amount_cents:
            effects.flag("dispute_mismatch", dispute=facts.id, withdrawn_cents=amount)
            return
        changes.update(withdrawn_cents=amount, withdrawn_fee_cents=sum(m.fee_cents for m in withdrawn),
                       withdrawn_on=amsterdam_date(min(m.created_at or utcnow() for m in withdrawn)))
    if reinstated and row.reinstated_cents is None:
        changes.update(reinstated_cents=sum(m.amount_cents for m in reinstated),
                       reinstated_fee_cents=sum(m.fee_cents for m in reinstated),
                       reinstated_on=amsterdam_date(min(m.created_at or utcnow() for m in reinstated)))
    if not changes:
        return
    changes["updated_at"] = utcnow()
    query = Dispute.update(**changes).where(Dispute.id == row.id)
    if "withdrawn_cents" in changes:
        query = query.where(Dispute.withdrawn_cents.is_null())
    if "reinstated_cents" in changes:
        query = query.where(Dispute.reinstated_cents.is_null())
    if query.execute():
        key = f"donation:{donation.id}:dispute:{row.id}"
        if "withdrawn_cents" in changes and donation.status == "paid":
            amount, fee = changes["withdrawn_cents"], changes["withdrawn_fee_cents"]
            _post_money(donation, key=f"{key}:withdrawn", source="dispute.withdrawn",
                        dated_on=changes["withdrawn_on"], gross=-amount, fee=fee, net=-amount - fee)
        if "reinstated_cents" in changes and donation.status == "paid":
            amount, fee = changes["reinstated_cents"], changes["reinstated_fee_cents"]
            _post_money(donation, key=f"{key}:reinstated", source="dispute.reinstated",
                        dated_on=changes["reinstated_on"], gross=amount, fee=fee, net=amount - fee)
        _credit_dispute(donation, row, changes, effects)
        audit.record("donation.dispute_updated", company=donation.company_id, obj=donation, dispute=facts.id,
                     before=row.status, **{k: v for k, v in changes.items() if k != "updated_at"},
                     event=effects.event.id)
        effects.changed = True


def _event_date(effects: _Effects) -> dt.date:
    return amsterdam_date(effects.event.created_at or utcnow())


def _credit_dispute(donation: Donation, row: Dispute, changes: dict[str, Any], effects: _Effects) -> None:
    """A lost dispute credits the receipt (a credit note for what was withdrawn); money reinstated
    after that takes the credit note back. A dispute won before it was lost never had one."""
    if donation.status != "paid":
        return
    status = changes.get("status", row.status)
    reinstated = "reinstated_cents" in changes or row.reinstated_cents is not None
    if not reinstated and (changes.get("status") == "lost" or (status == "lost" and "withdrawn_cents" in changes)):
        withdrawn = changes.get("withdrawn_cents") or row.withdrawn_cents
        # A cardholder may dispute the whole charge after a partial refund: the bank takes it all,
        # but the receipt is credited only for what it still counts; the leader gets the rest.
        _credit(donation, source=f"dispute:{row.id}", kind="chargeback", amount_cents=withdrawn or row.amount_cents,
                happened_on=changes.get("withdrawn_on") or row.withdrawn_on or _event_date(effects),
                dispute=row.stripe_dispute_id, event_type=effects.event.type)
    if "reinstated_cents" in changes:
        corrections.reverse(donation, f"dispute:{row.id}", happened_on=changes["reinstated_on"])


def _credit(donation: Donation, *, source: str, kind: str, amount_cents: int, happened_on: dt.date,
            **details) -> CreditNote | None:
    """The credit note for money that went back on a paid donation, in the caller's transaction. It
    credits at most what the receipt (or invoice) still counts; when more went back (a chargeback
    of the whole charge after a partial refund), a payment issue names the difference for the
    project leader, once per source. None when the source has its note already."""
    if CreditNote.select().where(CreditNote.source == source).exists():
        return None
    counted = max(corrections.remaining_cents(donation), 0)
    note = corrections.credit(donation, source=source, kind=kind, amount_cents=amount_cents, happened_on=happened_on)
    if amount_cents > counted:
        raise_issue("credit_exceeds_receipt", source, donation, amount_cents=amount_cents, counted_cents=counted,
                    credited_cents=note.amount_cents if note else 0, not_credited_cents=amount_cents - counted,
                    paid_cents=donation.amount_cents, **details)
    return note


# --- bank transfers -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BankResult:
    status: str          # paid, already_recorded, unknown_reference, amount_mismatch, duplicate_payment,
    #                      not_pending, line_already_used
    donation_id: int | None = None

    @property
    def applied(self) -> bool:
        return self.status == "paid"


def normalise_reference(text: str | None) -> str | None:
    """An RF reference in its compact form, or None when it is not a valid one."""
    compact = iso11649.compact(text or "")
    return compact if iso11649.is_valid(compact) else None


def mark_paid_by_bank(reference: str, amount_cents: int, paid_on: dt.date, actor: User | None,
                      bank_line_ref: str) -> BankResult:
    """Record a bank transfer that pays a payment request (the reconciliation calls this).

    The transfer applies only when the reference is known, the request is pending and the
    amount is exactly the requested amount; anything else is returned (and, when it concerns a
    request, flagged for the project leader) without changing the donation. Calling it again
    with the same bank line is harmless.
    """
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive integer")
    if not isinstance(paid_on, dt.date) or isinstance(paid_on, dt.datetime):
        raise ValueError("paid_on must be a date")
    line = (bank_line_ref or "").strip()
    if not line or len(line) > 200:
        raise ValueError("bank_line_ref must be 1 to 200 characters")
    compact = normalise_reference(reference)
    if compact is None:
        return BankResult("unknown_reference")
    with atomic_write():
        found = Donation.get_or_none((Donation.reference == compact) & (Donation.method == "bank"))
        if found is None:
            return BankResult("unknown_reference")
        donation = _lock(Donation, found.id)
        if donation.bank_line_ref == line:
            return BankResult("already_recorded", donation.id)
        other = Donation.get_or_none(Donation.bank_line_ref == line)
        if other is not None:
            return BankResult("line_already_used", other.id)
        part = BankReceipt.get_or_none(BankReceipt.line_ref == line)
        if part is not None:
            return BankResult("already_recorded" if part.donation_id == donation.id else "line_already_used",
                              part.donation_id)
        details = {"bank_line": line, "amount_cents": amount_cents, "paid_on": paid_on.isoformat(),
                   "requested_cents": donation.amount_cents}
        if donation.status == "paid":
            raise_issue("bank_duplicate_payment", line, donation, **details)
            return BankResult("duplicate_payment", donation.id)
        if donation.status != "pending":
            raise_issue("bank_not_pending", line, donation, status=donation.status, **details)
            return BankResult("not_pending", donation.id)
        balance = bank_balance(donation)
        if balance.received_cents and amount_cents == balance.outstanding_cents:
            # The rest of a request paid in parts (issue 13): recorded as its last part.
            completed = _record_part(donation, balance, amount_cents, paid_on, actor, line, False)
        elif amount_cents != donation.amount_cents or balance.received_cents:
            raise_issue("bank_amount_mismatch", line, donation, **details)
            return BankResult("amount_mismatch", donation.id)
        else:
            completed = None
            company_id, decision = _company_of_payment(donation)
            moved = (Donation.update(status="paid", paid_on=paid_on, paid_at=utcnow(), bank_line_ref=line,
                                     paid_recorded_by=getattr(actor, "id", actor), fee_cents=0,
                                     net_cents=amount_cents, company=company_id, company_decision=decision,
                                     updated_at=utcnow())
                     .where((Donation.id == donation.id) & (Donation.status == "pending")).execute())
            if not moved:
                return BankResult("not_pending", donation.id)
            donation.company_id, donation.company_decision = company_id, decision
            _post_money(donation, key=f"donation:{donation.id}", source="donation.paid", dated_on=paid_on,
                        gross=amount_cents, fee=0, net=amount_cents)
            audit.record("donation.paid", actor=actor, company=company_id, obj=donation, before="pending",
                         via="bank", amount_cents=amount_cents, bank_line=line, paid_on=paid_on.isoformat(),
                         reference=compact, company_decision=decision)
            _restore_unmatched(donation, paid_on)
    schedule_receipts()
    return completed or BankResult("paid", donation.id)


# --- bank payments that are not exactly the request (issue 13) -----------------------------------

@dataclass(frozen=True)
class BankBalance:
    """What the bank brought to one payment request beyond a single exact transfer."""

    donation_id: int
    requested_cents: int
    paid: bool                # the request is settled
    received_cents: int = 0   # every transfer recorded as a part (duplicates too)
    parts_cents: int = 0      # of that, what paid the request
    refunded_cents: int = 0
    kept_cents: int = 0

    @property
    def outstanding_cents(self) -> int:
        return 0 if self.paid else max(self.requested_cents - self.parts_cents, 0)

    @property
    def surplus_cents(self) -> int:
        """Paid beyond the request and neither refunded nor kept with the company's consent."""
        return self.received_cents - self.parts_cents - self.refunded_cents - self.kept_cents


def _parts_paid() -> peewee.Expression:
    """SQL: a donation whose money the ledger holds as bank receipts (not as one payment)."""
    return Donation.id.in_(BankReceipt.select(BankReceipt.donation)
                           .where((BankReceipt.kind == "part") & (BankReceipt.counted_cents > 0)))


def bank_balances(donation_ids: Iterable[int] | None = None) -> dict[int, BankBalance]:
    """Received, counted, refunded and kept per request that has bank receipts (all, or these)."""
    query = (BankReceipt.select(BankReceipt.donation, BankReceipt.kind,
                                peewee.fn.SUM(BankReceipt.amount_cents).alias("amount"),
                                peewee.fn.SUM(BankReceipt.counted_cents).alias("counted"))
             .group_by(BankReceipt.donation, BankReceipt.kind))
    if donation_ids is not None:
        query = query.where(BankReceipt.donation.in_(list(donation_ids)))
    sums: dict[int, dict[str, tuple[int, int]]] = {}
    for row in query.dicts():
        sums.setdefault(row["donation"], {})[row["kind"]] = (int(row["amount"] or 0), int(row["counted"] or 0))
    if not sums:
        return {}
    donations = {d_id: (amount, status) for d_id, amount, status in
                 Donation.select(Donation.id, Donation.amount_cents, Donation.status)
                 .where(Donation.id.in_(list(sums))).tuples()}
    found = {}
    for donation_id, kinds in sums.items():
        requested, status = donations[donation_id]
        part, refund, kept = (kinds.get(k, (0, 0)) for k in ("part", "refund", "kept"))
        found[donation_id] = BankBalance(donation_id, requested, status == "paid", part[0], part[1], -refund[0],
                                         kept[1])
    return found


def bank_balance(donation: Donation) -> BankBalance:
    return bank_balances([donation.id]).get(donation.id) or BankBalance(donation.id, donation.amount_cents,
                                                                         donation.status == "paid")


def open_bank_requests() -> list[Donation]:
    """Pending payment requests, each with `outstanding_cents` (what is still to pay after the parts
    received) and `company_name` (the company's legal name, else the donor's name)."""
    counted = (BankReceipt.select(peewee.fn.COALESCE(peewee.fn.SUM(BankReceipt.counted_cents), 0))
               .where((BankReceipt.donation == Donation.id) & (BankReceipt.kind == "part")))
    rows = (Donation.select(Donation, counted.alias("parts_cents"), Company.legal_name.alias("company_name"))
            .join(Company, peewee.JOIN.LEFT_OUTER, on=(Donation.company == Company.id))
            .where((Donation.method == "bank") & (Donation.status == "pending"))
            .order_by(Donation.due_on, Donation.id).objects())
    found = []
    for donation in rows:
        donation.outstanding_cents = donation.amount_cents - int(donation.parts_cents or 0)
        donation.company_name = donation.company_name or donation.donor_name
        found.append(donation)
    return found


def bank_request(reference: str) -> Donation | None:
    """The payment request with this RF reference (any status), or None."""
    compact = normalise_reference(reference)
    if compact is None:
        return None
    return Donation.get_or_none((Donation.reference == compact) & (Donation.method == "bank"))


def surplus_requests() -> list[tuple[Donation, BankBalance]]:
    """Requests paid beyond what was asked and not yet refunded or kept, oldest first."""
    # A part's surplus is amount - counted; a refund's amount is negative; a kept surplus is counted.
    surplus = peewee.fn.SUM(BankReceipt.amount_cents - BankReceipt.counted_cents)
    open_ids = [row[0] for row in BankReceipt.select(BankReceipt.donation).group_by(BankReceipt.donation)
                .having(surplus > 0).tuples()]
    if not open_ids:
        return []
    balances = bank_balances(open_ids)
    donations = Donation.select().where(Donation.id.in_(list(balances))).order_by(Donation.id)
    return [(d, balances[d.id]) for d in donations]


def _check_bank_args(amount_cents: Any, paid_on: Any, bank_line_ref: str | None) -> str:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive integer")
    if not isinstance(paid_on, dt.date) or isinstance(paid_on, dt.datetime):
        raise ValueError("paid_on must be a date")
    line = (bank_line_ref or "").strip()
    if not line or len(line) > 200:
        raise ValueError("bank_line_ref must be 1 to 200 characters")
    return line


def record_bank_payment(reference: str, amount_cents: int, paid_on: dt.date, actor: User | None,
                        bank_line_ref: str, *, keep_surplus: bool = False) -> BankResult:
    """Record a bank transfer for a payment request whatever its amount (the reconciliation and the
    leader's form call this): exactly the request pays it as mark_paid_by_bank does; less is a part
    payment (the request stays open for the rest); more, or a transfer to a request already paid,
    settles it and leaves a surplus to refund, or to keep when the company agreed (`keep_surplus`).

    Status: paid, part_recorded, paid_with_surplus, duplicate_payment, and the refusals of
    mark_paid_by_bank (already_recorded, unknown_reference, not_pending, line_already_used)."""
    line = _check_bank_args(amount_cents, paid_on, bank_line_ref)
    found = bank_request(reference)
    if found is None:
        return BankResult("unknown_reference")
    with atomic_write():
        donation = _lock(Donation, found.id)
        if donation.bank_line_ref == line or BankReceipt.select().where(
                (BankReceipt.line_ref == line) & (BankReceipt.donation == donation.id)).exists():
            return BankResult("already_recorded", donation.id)
        other = (Donation.get_or_none(Donation.bank_line_ref == line)
                 or BankReceipt.get_or_none(BankReceipt.line_ref == line))
        if other is not None:
            return BankResult("line_already_used", getattr(other, "donation_id", other.id))
        balance = bank_balance(donation)
        if donation.status == "pending" and balance.received_cents == 0 and amount_cents == donation.amount_cents:
            result = None   # exactly the request in one transfer: the ordinary payment below
        elif donation.status not in ("pending", "paid"):
            raise_issue("bank_not_pending", line, donation, status=donation.status, bank_line=line,
                        amount_cents=amount_cents, paid_on=paid_on.isoformat(), requested_cents=donation.amount_cents)
            return BankResult("not_pending", donation.id)
        else:
            result = _record_part(donation, balance, amount_cents, paid_on, actor, line, keep_surplus)
    if result is None:
        return mark_paid_by_bank(reference, amount_cents, paid_on, actor, line)
    if result.status in ("paid", "paid_with_surplus"):
        schedule_receipts()
    return result


def _record_part(donation: Donation, balance: BankBalance, amount_cents: int, paid_on: dt.date,
                 actor: User | None, line: str, keep_surplus: bool) -> BankResult:
    counted = min(amount_cents, balance.outstanding_cents)
    company_id, decision = _company_of_payment(donation)
    if donation.company_id != company_id:
        Donation.update(company=company_id, company_decision=decision, updated_at=utcnow()).where(
            Donation.id == donation.id).execute()
        donation.company_id, donation.company_decision = company_id, decision
    receipt = BankReceipt.create(donation=donation.id, line_ref=line, kind="part", amount_cents=amount_cents,
                                 counted_cents=counted, received_on=paid_on, recorded_by=getattr(actor, "id", actor))
    if counted:
        _post_money(donation, key=f"donation:{donation.id}:bank:{receipt.id}", source="donation.bank_part",
                    dated_on=paid_on, gross=counted, fee=0, net=counted)
    details = {"bank_line": line, "amount_cents": amount_cents, "counted_cents": counted,
               "paid_on": paid_on.isoformat(), "requested_cents": donation.amount_cents}
    if donation.status == "paid":
        raise_issue("bank_duplicate_payment", line, donation, **details)
        status = "duplicate_payment"
    elif counted == balance.outstanding_cents:
        Donation.update(status="paid", paid_on=paid_on, paid_at=utcnow(), paid_recorded_by=getattr(actor, "id", actor),
                        fee_cents=0, net_cents=donation.amount_cents, updated_at=utcnow()).where(
            (Donation.id == donation.id) & (Donation.status == "pending")).execute()
        audit.record("donation.paid", actor=actor, company=company_id, obj=donation, before="pending", via="bank",
                     amount_cents=amount_cents, bank_line=line, paid_on=paid_on.isoformat(),
                     reference=donation.reference, company_decision=decision,
                     parts_cents=balance.parts_cents + counted, surplus_cents=amount_cents - counted)
        _restore_unmatched(donation, paid_on)
        status = "paid" if counted == amount_cents else "paid_with_surplus"
    else:
        status = "part_recorded"
    audit.record("donation.bank_received", actor=actor, company=company_id, obj=donation, status=status, **details)
    if keep_surplus and amount_cents > counted:
        _keep_surplus(donation, actor, paid_on, amount_cents - counted)
    return BankResult(status, donation.id)


def record_bank_refund(reference: str, amount_cents: int, paid_on: dt.date, actor: User | None,
                       bank_line_ref: str) -> BankResult:
    """Record money sent back by bank transfer (a debit bank line with the request's reference): from
    the request's surplus when it has one (no document: a surplus was never on the receipt); else,
    of a paid request, part or all of the gift itself: a refund that is credited on the receipt by a
    credit note (issue 14). A refund larger than the surplus, or than what is left of the gift, is
    raised as an issue for the project leader and records nothing.

    Status: refund_recorded, refund_exceeds_surplus (an issue is raised), already_recorded,
    unknown_reference, line_already_used."""
    line = _check_bank_args(amount_cents, paid_on, bank_line_ref)
    found = bank_request(reference)
    if found is None:
        return BankResult("unknown_reference")
    with atomic_write():
        donation = _lock(Donation, found.id)
        existing = (BankReceipt.get_or_none(BankReceipt.line_ref == line)
                    or Refund.get_or_none(Refund.stripe_refund_id == f"bank:{line}"))
        if existing is not None:
            return BankResult("already_recorded" if existing.donation_id == donation.id else "line_already_used",
                              existing.donation_id)
        balance = bank_balance(donation)
        if balance.surplus_cents <= 0 and donation.status == "paid" and 0 < amount_cents <= _refundable(donation):
            _refund_gift_by_bank(donation, amount_cents, paid_on, actor, line)
            return BankResult("refund_recorded", donation.id)
        if amount_cents > balance.surplus_cents:
            raise_issue("bank_refund_exceeds_surplus", line, donation, bank_line=line, amount_cents=amount_cents,
                        surplus_cents=balance.surplus_cents, paid_on=paid_on.isoformat())
            return BankResult("refund_exceeds_surplus", donation.id)
        BankReceipt.create(donation=donation.id, line_ref=line, kind="refund", amount_cents=-amount_cents,
                           counted_cents=0, received_on=paid_on, recorded_by=getattr(actor, "id", actor))
        audit.record("donation.surplus_refunded", actor=actor, company=donation.company_id, obj=donation,
                     amount_cents=amount_cents, bank_line=line, paid_on=paid_on.isoformat(),
                     surplus_left_cents=balance.surplus_cents - amount_cents)
    return BankResult("refund_recorded", donation.id)


def _refundable(donation: Donation) -> int:
    """What is left of a paid donation to refund: the amount minus succeeded refunds."""
    refunded = (Refund.select(peewee.fn.COALESCE(peewee.fn.SUM(Refund.amount_cents), 0))
                .where((Refund.donation == donation.id) & (Refund.status == "succeeded")).scalar())
    return donation.amount_cents - int(refunded)


def _refund_gift_by_bank(donation: Donation, amount_cents: int, paid_on: dt.date, actor: User | None,
                         line: str) -> None:
    """Part or all of a paid request's gift sent back by bank: a refund row (as Stripe's, so every
    total and the ledger count it), its ledger line and its credit note, in the caller's transaction."""
    row = Refund.create(donation=donation.id, stripe_refund_id=f"bank:{line}", amount_cents=amount_cents,
                        currency="eur", status="succeeded", fee_cents=0, net_cents=-amount_cents,
                        succeeded_on=paid_on)
    _post_money(donation, key=f"donation:{donation.id}:refund:{row.id}", source="refund.succeeded",
                dated_on=paid_on, gross=-amount_cents, fee=0, net=-amount_cents)
    _credit(donation, source=f"refund:{row.id}", kind="refund", amount_cents=amount_cents, happened_on=paid_on,
            bank_line=line)
    audit.record("donation.refund_succeeded", actor=actor, company=donation.company_id, obj=donation,
                 refund=row.stripe_refund_id, amount_cents=amount_cents, bank_line=line, paid_on=paid_on.isoformat(),
                 via="bank")


def _undo_blocked(status: str, receipt: BankReceipt | None, later: list[BankReceipt]) -> bool:
    """A bank line's money cannot be taken back when later money of its request depends on it: a
    later part or refund, or a kept surplus larger than this line's own surplus."""
    surplus = receipt.amount_cents - receipt.counted_cents if receipt is not None and receipt.kind == "part" else 0
    return (status not in ("pending", "paid") or any(r.kind != "kept" for r in later)
            or sum(r.counted_cents for r in later if r.kind == "kept") > surplus)


def bank_lines_not_undoable(bank_line_refs: Iterable[str]) -> set[str]:
    """Of these bank lines, the ones whose recorded money undo_bank_line would refuse to take back."""
    refs = [ref for ref in bank_line_refs if ref]
    if not refs:
        return set()
    receipts = {r.line_ref: r for r in BankReceipt.select().where(BankReceipt.line_ref.in_(refs))}
    paid = dict(Donation.select(Donation.bank_line_ref, Donation.id).where(Donation.bank_line_ref.in_(refs)).tuples())
    ids = {r.donation_id for r in receipts.values()} | set(paid.values())
    if not ids:
        return set()
    statuses = dict(Donation.select(Donation.id, Donation.status).where(Donation.id.in_(list(ids))).tuples())
    by_donation: dict[int, list[BankReceipt]] = {}
    for row in BankReceipt.select().where(BankReceipt.donation.in_(list(ids))).order_by(BankReceipt.id):
        by_donation.setdefault(row.donation_id, []).append(row)
    blocked = set()
    for ref in refs:
        receipt = receipts.get(ref)
        donation_id = receipt.donation_id if receipt is not None else paid.get(ref)
        if donation_id is None:
            continue
        after = receipt.id if receipt is not None else 0
        later = [r for r in by_donation.get(donation_id, []) if r.id > after]
        if _undo_blocked(statuses[donation_id], receipt, later):
            blocked.add(ref)
    return blocked


def undo_bank_line(bank_line_ref: str, actor: User | None, reason: str) -> BankResult:
    """Take back what one bank line recorded (a match made by mistake): the payment, part, duplicate
    or refund is removed and its money posted back through the ledger, dated as the original (the
    ledger books it in the first open month when that month is closed). Only the latest money of a
    request can be taken back: a later part, refund or kept surplus must go first (GivingError).
    When the request's receipt (or VAT invoice) was issued, a credit note takes what the line
    counted off it in the same transaction; paid after all, the request's receipt counts again by a
    reversal of that note (one receipt, never a second one for the same money).

    Status: undone (the request is pending again when the line had settled it), nothing_recorded."""
    line = (bank_line_ref or "").strip()
    with atomic_write():
        receipt = BankReceipt.get_or_none(BankReceipt.line_ref == line) if line else None
        paid = Donation.get_or_none(Donation.bank_line_ref == line) if line and receipt is None else None
        if receipt is None and paid is None:
            refund = Refund.get_or_none((Refund.stripe_refund_id == f"bank:{line}") & (Refund.status == "succeeded"))
            if line and refund is not None:
                return _undo_bank_refund(refund, actor, reason, line)
            return BankResult("nothing_recorded")
        donation = _lock(Donation, receipt.donation_id if receipt is not None else paid.id)
        later = list(BankReceipt.select().where((BankReceipt.donation == donation.id)
                                                & (BankReceipt.id > (receipt.id if receipt else 0)))
                     .order_by(BankReceipt.id))
        kept = [r for r in later if r.kind == "kept"]
        # A gift refunded (by bank, issue 14) keeps the payment it refunded: undo the refund first.
        carried_gift = receipt is None or receipt.counted_cents > 0
        refunded = carried_gift and Refund.select().where(
            (Refund.donation == donation.id) & (Refund.status == "succeeded")).exists()
        if _undo_blocked(donation.status, receipt, later) or refunded:
            raise GivingError(_l("Later money of %(number)s was recorded after this line (a part, a refund or a "
                                 "kept surplus): undo that first, or record a correction.", number=donation.number))
        for row in kept:   # the surplus of this very line, kept as a gift: taken back with it
            _post_money(donation, key=f"donation:{donation.id}:kept:{row.id}", source="donation.bank_undone",
                        dated_on=row.received_on, gross=-row.counted_cents, fee=0, net=-row.counted_cents, lines=-1)
            row.delete_instance()
        settled_by_line = False
        taken, taken_on = 0, None   # what of the request's amount this line counted, and when
        if receipt is not None:
            if receipt.counted_cents:
                _post_money(donation, key=f"donation:{donation.id}:bank:{receipt.id}", source="donation.bank_undone",
                            dated_on=receipt.received_on, gross=-receipt.counted_cents, fee=0,
                            net=-receipt.counted_cents, lines=-1)
                settled_by_line = donation.status == "paid" and donation.bank_line_ref is None
                taken, taken_on = receipt.counted_cents, receipt.received_on
            PaymentIssue.update(resolved_at=utcnow(), resolved_by=getattr(actor, "id", actor),
                                resolution=f"bank line unmatched: {reason}"[:1000]).where(
                (PaymentIssue.source == line[:255]) & PaymentIssue.resolved_at.is_null()).execute()
            receipt.delete_instance()
        else:
            _post_money(donation, key=f"donation:{donation.id}", source="donation.bank_undone",
                        dated_on=donation.paid_on, gross=-donation.amount_cents, fee=-(donation.fee_cents or 0),
                        net=-(donation.net_cents if donation.net_cents is not None else donation.amount_cents),
                        lines=-1)
            settled_by_line = True
            taken, taken_on = donation.amount_cents, donation.paid_on
        if taken:
            _credit_unmatched(donation, taken, taken_on, line)
        if settled_by_line:
            Donation.update(status="pending", paid_on=None, paid_at=None, bank_line_ref=None, paid_recorded_by=None,
                            fee_cents=None, net_cents=None, updated_at=utcnow()).where(
                (Donation.id == donation.id) & (Donation.status == "paid")).execute()
        audit.record("donation.bank_undone", actor=actor, company=donation.company_id, obj=donation, bank_line=line,
                     reason=reason, reopened=settled_by_line, kind=receipt.kind if receipt is not None else "payment",
                     amount_cents=receipt.amount_cents if receipt is not None else donation.amount_cents)
    return BankResult("undone", donation.id)


def _credit_unmatched(donation: Donation, cents: int, paid_on: dt.date, line: str) -> CreditNote | None:
    """Money a bank line brought to a request is taken back (matched by mistake) after the request's
    receipt or invoice was issued: a credit note takes what the line counted off that document, in
    the transaction that takes the money off the books (an issued document is never changed). None
    when no receipt was issued yet: it is made when the request is paid (again)."""
    if not Document.select().where((Document.donation == donation.id) & (Document.kind == "receipt")).exists():
        return None
    prefix = f"{corrections.UNMATCHED}{donation.id}:"
    earlier = CreditNote.select().where((CreditNote.donation == donation.id) & CreditNote.source.startswith(prefix))
    return _credit(donation, source=f"{prefix}{earlier.count() + 1}", kind="refund", amount_cents=cents,
                   happened_on=paid_on, bank_line=line)


def _restore_unmatched(donation: Donation, paid_on: dt.date) -> None:
    """A request whose mistaken match was credited on its issued receipt is paid after all: that
    receipt counts again through a reversal of each such credit note (the request never gets a
    second receipt: one document counts its money)."""
    prefix = f"{corrections.UNMATCHED}{donation.id}:"
    for note in (CreditNote.select().where((CreditNote.donation == donation.id) & CreditNote.source.startswith(prefix))
                 .order_by(CreditNote.id)):
        corrections.reverse(donation, note.source, happened_on=paid_on)


def _undo_bank_refund(refund: Refund, actor: User | None, reason: str, line: str) -> BankResult:
    """Take back a bank refund of a gift matched by mistake: the refund is cancelled, its ledger line
    undone (dated as it was), and its credit note taken back by a reversal (issued documents stay)."""
    donation = _lock(Donation, refund.donation_id)
    moved = (Refund.update(status="canceled", updated_at=utcnow())
             .where((Refund.id == refund.id) & (Refund.status == "succeeded")).execute())
    if not moved:
        return BankResult("nothing_recorded")
    _post_money(donation, key=f"donation:{donation.id}:refund:{refund.id}", source="refund.canceled",
                dated_on=refund.succeeded_on, lines=-1, gross=refund.amount_cents, fee=0, net=refund.amount_cents)
    corrections.reverse(donation, f"refund:{refund.id}", happened_on=clock.today())
    audit.record("donation.bank_undone", actor=actor, company=donation.company_id, obj=donation, bank_line=line,
                 reason=reason, reopened=False, kind="refund_of_gift", amount_cents=-refund.amount_cents)
    return BankResult("undone", donation.id)


def keep_surplus(donation_id: int, actor: User, on: dt.date | None = None) -> BankResult:
    """The company agreed that the surplus on its request stays as a gift: counted and posted."""
    on = on or clock.today()
    with atomic_write():
        donation = _lock(Donation, donation_id)
        if donation is None:
            raise GivingError(_l("This donation does not exist."))
        balance = bank_balance(donation)
        if balance.surplus_cents <= 0 or donation.company_id is None:
            raise GivingError(_l("There is no surplus to keep on this request."))
        _keep_surplus(donation, actor, on, balance.surplus_cents)
    return BankResult("surplus_kept", donation.id)


def _keep_surplus(donation: Donation, actor: User | None, on: dt.date, cents: int) -> None:
    number = BankReceipt.select().where((BankReceipt.donation == donation.id) & (BankReceipt.kind == "kept")).count()
    receipt = BankReceipt.create(donation=donation.id, line_ref=f"kept:{donation.id}:{number + 1}", kind="kept",
                                 amount_cents=0, counted_cents=cents, received_on=on, recorded_by=getattr(actor, "id", actor))
    _post_money(donation, key=f"donation:{donation.id}:kept:{receipt.id}", source="donation.surplus_kept",
                dated_on=on, gross=cents, fee=0, net=cents)
    audit.record("donation.surplus_kept", actor=actor, company=donation.company_id, obj=donation, amount_cents=cents,
                 on=on.isoformat())


# --- public gifts that name an existing company ---------------------------------------------------

def waiting_gifts(company_id: int | None) -> list[Donation]:
    """Paid public gifts naming a company (None: any company) that wait for its acceptance."""
    query = (Donation.select(Donation, Company).join(Company, on=(Donation.company == Company.id))
             .where((Donation.status == "paid") & (Donation.company_decision == "waiting")))
    if company_id is not None:
        query = query.where(Donation.company == company_id)
    return list(query.order_by(Donation.paid_on, Donation.id))


def may_decide(actor: User, donation: Donation) -> bool:
    """The project leader, or an administrator of the company the gift names."""
    if actor.is_leader:
        return True
    return actor.role == "admin" and actor.company_id is not None and actor.company_id == donation.company_id


def decide_gift(actor: User, donation_id: int, accept: bool) -> Donation:
    """The named company's administrator (or the project leader) accepts a waiting public gift, which
    then counts for the company: its lines are posted now, each dated as it happened (the ledger books
    a change of a closed month in the first open one); or declines it, and it never counts for it."""
    to = "accepted" if accept else "declined"
    with atomic_write():
        donation = _lock(Donation, donation_id)
        if donation is None or not may_decide(actor, donation):
            raise GivingError(_l("This contribution does not exist."))
        moved = (Donation.update(company_decision=to, updated_at=utcnow())
                 .where((Donation.id == donation.id) & (Donation.status == "paid")
                        & (Donation.company_decision == "waiting")).execute())
        if not moved:
            raise GivingError(_l("This contribution no longer waits for a decision."))
        donation.company_decision = to
        if accept:
            _post_accepted(donation)
        audit.record(f"donation.company_{to}", actor=actor, company=donation.company_id, obj=donation,
                     amount_cents=donation.amount_cents, donor_name=donation.donor_name,
                     donor_email=donation.donor_email)
    return donation


def _post_accepted(donation: Donation) -> None:
    """Post what an accepted gift holds now: its payment, succeeded refunds and chargebacks, each
    keyed and dated as ledger_sources expects it."""
    key = f"donation:{donation.id}"
    fee = donation.fee_cents or 0
    receipts = list(BankReceipt.select().where((BankReceipt.donation == donation.id)
                                               & (BankReceipt.counted_cents > 0)).order_by(BankReceipt.id))
    for receipt in receipts:  # paid in parts or beyond the request (issue 13)
        kind, source = ("bank", "donation.bank_part") if receipt.kind == "part" else ("kept", "donation.surplus_kept")
        _post_money(donation, key=f"{key}:{kind}:{receipt.id}", source=source, dated_on=receipt.received_on,
                    gross=receipt.counted_cents, fee=0, net=receipt.counted_cents)
    if not any(receipt.kind == "part" for receipt in receipts):
        _post_money(donation, key=key, source="donation.paid", dated_on=donation.paid_on,
                    gross=donation.amount_cents, fee=fee,
                    net=donation.net_cents if donation.net_cents is not None else donation.amount_cents - fee)
    for refund in Refund.select().where((Refund.donation == donation.id) & (Refund.status == "succeeded")).order_by(
            Refund.id):
        refund_fee = refund.fee_cents or 0
        _post_money(donation, key=f"{key}:refund:{refund.id}", source="refund.succeeded",
                    dated_on=refund.succeeded_on, gross=-refund.amount_cents, fee=refund_fee,
                    net=refund.net_cents if refund.net_cents is not None else -refund.amount_cents - refund_fee)
    for dispute in Dispute.select().where(Dispute.donation == donation.id).order_by(Dispute.id):
        if dispute.withdrawn_cents is not None:
            amount, dispute_fee = dispute.withdrawn_cents, dispute.withdrawn_fee_cents
            _post_money(donation, key=f"{key}:dispute:{dispute.id}:withdrawn", source="dispute.withdrawn",
                        dated_on=dispute.withdrawn_on, gross=-amount, fee=dispute_fee, net=-amount - dispute_fee)
        if dispute.reinstated_cents is not None:
            amount, dispute_fee = dispute.reinstated_cents, dispute.reinstated_fee_cents
            _post_money(donation, key=f"{key}:dispute:{dispute.id}:reinstated", source="dispute.reinstated",
                        dated_on=dispute.reinstated_on, gross=amount, fee=dispute_fee, net=amount - dispute_fee)


# --- documents, receipts and follow-ups ---------------------------------------------------------

def document(donation: Donation, kind: str) -> Document:
    """The stored PDF of a donation, rendered and stored the first time it is asked for."""
    existing = Document.get_or_none((Document.donation == donation.id) & (Document.kind == kind))
    if existing is not None:
        return existing
    donation = Donation.get_by_id(donation.id)
    if kind == "receipt" and donation.status != "paid":
        raise GivingError(_l("A receipt exists once the payment has been received."))
    if kind == "payment_request" and donation.method != "bank":
        raise GivingError(_l("Only a bank transfer has a payment request."))
    invoice = None
    if kind == "receipt":
        # Sponsoring of a VAT-registered issuer: the receipt is a numbered invoice (issue 14). Its
        # number is taken (and kept) before rendering: a failed render renders it again, same number.
        invoice = corrections.invoice_of(donation.id)
        if invoice is None and corrections.vat_applies(donation):
            with atomic_write():
                invoice = corrections.make_invoice(_lock(Donation, donation.id))
    data = documents.render(kind, donation, invoice)
    with atomic_write():
        stored = (Document.insert(donation=donation.id, kind=kind, language=donation.donor_language, pdf=data,
                                  sha256=sha256(data).hexdigest(), size=len(data))
                  .on_conflict_ignore().as_rowcount().execute())
        if stored:
            audit.record(f"donation.{kind}_stored", company=donation.company_id, obj=donation, size=len(data))
    return Document.get((Document.donation == donation.id) & (Document.kind == kind))


def document_file(donation: Donation, kind: str) -> tuple[bytes, str]:
    """The PDF to download and its file name. A receipt that a credit note corrected comes as it was
    issued, with a stamp naming the credit notes (rendered with the latest of them)."""
    stored = document(donation, kind)
    invoice = corrections.invoice_of(donation.id) if kind == "receipt" else None
    name = documents.filename(kind, donation, invoice)
    if kind == "receipt":
        latest = CreditNote.select().where(CreditNote.donation == donation.id).order_by(CreditNote.id.desc()).first()
        if latest is not None:
            return bytes(rendered_credit_note(latest).receipt_pdf), name
    return bytes(stored.pdf), name


def credit_note(donation: Donation, note_id: int) -> CreditNote:
    """A credit note of this donation, rendered (GivingError when it is not this donation's)."""
    note = CreditNote.get_or_none((CreditNote.id == note_id) & (CreditNote.donation == donation.id))
    if note is None:
        raise GivingError(_l("This credit note does not exist."))
    return rendered_credit_note(note)


def rendered_credit_note(note: CreditNote) -> CreditNote:
    """The credit note with its PDF and the stamped receipt, rendered and stored the first time."""
    if note.pdf is not None and note.receipt_pdf is not None:
        return note
    donation = Donation.get_by_id(note.donation_id)
    original = document(donation, "receipt")
    invoice = corrections.invoice_of(donation.id)   # after the receipt: its first render may make it
    notes = [n for n in corrections.notes_of(donation.id) if n.id <= note.id]
    reversed_note = CreditNote.get_by_id(note.reverses_id) if note.reverses_id else None
    pdf = documents.render_html(documents.credit_note_html(note, donation, invoice, reversed_note))
    remaining = donation.amount_cents - corrections.credited_cents(notes)
    stamp = documents.render_html(documents.stamp_html(donation, notes, invoice, remaining,
                                                       documents._language(donation)))
    receipt = documents.stamped(bytes(original.pdf), stamp)
    with atomic_write():
        stored = (CreditNote.update(pdf=pdf, sha256=sha256(pdf).hexdigest(), receipt_pdf=receipt)
                  .where((CreditNote.id == note.id) & CreditNote.pdf.is_null()).execute())
        if stored:
            audit.record("donation.credit_note_stored", company=donation.company_id, obj=donation,
                         number=note.number, size=len(pdf))
    return CreditNote.get_by_id(note.id)


@dataclass(frozen=True)
class Corrections:
    """What corrected a donation's receipt: its credit notes, the amount that still counts as received."""

    notes: list[CreditNote]
    credited_cents: int
    remaining_cents: int
    invoice_number: str = ""

    @property
    def fully_refunded(self) -> bool:
        return bool(self.notes) and self.remaining_cents <= 0


def corrections_of(donation: Donation) -> Corrections:
    notes = corrections.notes_of(donation.id)
    credited = corrections.credited_cents(notes)
    invoice = corrections.invoice_of(donation.id)
    return Corrections(notes, credited, donation.amount_cents - credited, invoice.number if invoice else "")


def shown_status(donation: Donation) -> str:
    """The status to show: a paid donation refunded (or charged back) in full shows as refunded."""
    if donation.status != "paid":
        return donation.status
    return "refunded" if _taken_back_cents(donation.id) >= donation.amount_cents else "paid"


def _taken_back_cents(donation_id: int) -> int:
    """Succeeded refunds plus chargebacks lost and not reinstated (rows before credit notes too)."""
    refunded = (Refund.select(peewee.fn.COALESCE(peewee.fn.SUM(Refund.amount_cents), 0))
                .where((Refund.donation == donation_id) & (Refund.status == "succeeded")).scalar())
    lost = (Dispute.select(peewee.fn.COALESCE(peewee.fn.SUM(
        peewee.fn.COALESCE(Dispute.withdrawn_cents, Dispute.amount_cents)
        - peewee.fn.COALESCE(Dispute.reinstated_cents, 0)), 0))
        .where((Dispute.donation == donation_id) & (Dispute.status == "lost")).scalar())
    return int(refunded) + int(lost)


def document_kinds(donation: Donation) -> list[str]:
    kinds = []
    if donation.method == "bank":
        kinds.append("payment_request")
    if donation.status == "paid":
        kinds.append("receipt")
    return kinds


def _link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def _mail_payment_request(donation: Donation) -> None:
    try:
        stored = document(donation, "payment_request")
    except Exception:  # the request stands; the PDF is rendered again when someone downloads it
        log.exception("payment request PDF of donation %s could not be rendered", donation.id)
        return
    try:
        mail.send_template(donation.donor_email, "giving/payment_request", donation.donor_language,
                           _l("Payment request %(reference)s", reference=documents.format_reference(donation.reference)),
                           donation=donation, reference=documents.format_reference(donation.reference),
                           iban=documents.issuer()["iban"], issuer=documents.issuer()["name"],
                           attachments=[mail.Attachment(documents.filename("payment_request", donation),
                                                        bytes(stored.pdf))])
    except Exception:  # the request stands and its page offers the PDF; a mail outage must not hide that
        log.exception("payment request mail of donation %s could not be sent", donation.id)


def _mail_failed(donation: Donation) -> None:
    mail.send_template(donation.donor_email, "giving/payment_failed", donation.donor_language,
                       _l("Your payment did not go through"), donation=donation,
                       link=_link("/giving/donate" if donation.via == "portal" else "/give"))


def send_receipt(donation_id: int) -> bool:
    """Render, store and mail the receipt of a paid donation once, whichever worker gets here first."""
    now = utcnow()
    stale = now - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    with atomic_write():
        claimed = (Donation.update(receipt_claimed_at=now)
                   .where((Donation.id == donation_id) & (Donation.status == "paid")
                          & Donation.receipt_sent_at.is_null()
                          & (Donation.receipt_claimed_at.is_null() | (Donation.receipt_claimed_at < stale)))
                   .execute())
    if not claimed:
        return False
    donation = Donation.get_by_id(donation_id)
    try:
        stored = document(donation, "receipt")
        invoice = corrections.invoice_of(donation.id)
        company = Company.get_by_id(donation.company_id)
        subject = (_l("Invoice %(number)s for your sponsoring %(contribution)s", number=invoice.number,
                      contribution=donation.number) if invoice else
                   _l("Receipt for your contribution %(number)s", number=donation.number))
        # Delivered here, not queued: it is marked sent only once it is out. A run killed in between
        # leaves it claimed; the sweep sends it again under the same key, which mails nothing twice.
        mail.send_template(donation.donor_email, "giving/receipt", donation.donor_language, subject,
                           donation=donation, company=company, invoice=invoice, key=f"receipt-{donation.id}",
                           now=True, attachments=[mail.Attachment(documents.filename("receipt", donation, invoice),
                                                                  bytes(stored.pdf))])
    except Exception:
        with atomic_write():  # let the retry (or the next sweep) have it at once
            (Donation.update(receipt_claimed_at=None)
             .where((Donation.id == donation_id) & (Donation.receipt_claimed_at == now)).execute())
        raise
    with atomic_write():
        Donation.update(receipt_sent_at=utcnow()).where(Donation.id == donation.id).execute()
        audit.record("donation.receipt_sent", company=donation.company_id, obj=donation)
    if donation.via == "public":
        _welcome_public_donor(donation, company)
    return True


def _welcome_public_donor(donation: Donation, company: Company) -> None:
    """After a public gift that names an existing company: tell its administrators, who accept or
    decline it on /giving (the project leader can too, from her desk). A public donor never gains a
    role by giving: nobody is invited; a company's users come in through its administrators'
    invitations, or a claim the project leader verifies."""
    if donation.company_decision != "waiting":
        return
    admins = User.select().where((User.company == company.id) & (User.role == "admin") & User.is_active)
    for admin in admins:
        mail.send_template(admin.email, "giving/donation_in_company_name", admin.language,
                           _l("A contribution was made in your company's name"), admin=admin, company=company,
                           donation=donation, link=_link("/giving"))


def send_due_receipts(limit: int = 200) -> int:
    """Send every receipt that is due (paid, not sent, not being sent by another worker); raises
    after trying them all when any could not be sent, so the task is retried."""
    stale = utcnow() - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    due = (Donation.select(Donation.id)
           .where((Donation.status == "paid") & Donation.receipt_sent_at.is_null()
                  & (Donation.receipt_claimed_at.is_null() | (Donation.receipt_claimed_at < stale)))
           .order_by(Donation.id).limit(limit))
    sent, failed = 0, []
    for (donation_id,) in due.tuples():
        try:
            sent += send_receipt(donation_id)
        except Exception:
            log.exception("receipt of donation %s could not be sent; it is tried again", donation_id)
            failed.append(donation_id)
    if failed:
        raise ReceiptsNotSent(failed)
    return sent


class ReceiptsNotSent(RuntimeError):
    def __init__(self, donation_ids: list[int]) -> None:
        super().__init__(f"receipts of donations {', '.join(map(str, donation_ids))} could not be sent")
        self.donation_ids = donation_ids


@tasks.task(retries=8, retry_delay=60, backoff=2.0)
def sweep_receipts() -> int:
    """Send the receipts that are due (queued when a payment commits)."""
    return send_due_receipts()


@tasks.periodic(tasks.crontab(minute="*/10"))
def sweep_receipts_regularly() -> int:
    """Catch every receipt a killed worker or a lost task left behind."""
    return send_due_receipts()


def schedule_receipts() -> None:
    """Send due receipts from the queue once the current transaction commits."""
    tasks.enqueue(sweep_receipts)


def send_credit_note(note_id: int) -> bool:
    """Render, store and mail a credit note once, whichever worker gets here first (as receipts)."""
    now = utcnow()
    stale = now - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    with atomic_write():
        claimed = (CreditNote.update(claimed_at=now)
                   .where((CreditNote.id == note_id) & CreditNote.sent_at.is_null()
                          & (CreditNote.claimed_at.is_null() | (CreditNote.claimed_at < stale))).execute())
    if not claimed:
        return False
    try:
        note = rendered_credit_note(CreditNote.get_by_id(note_id))
        donation = Donation.get_by_id(note.donation_id)
        reversed_note = CreditNote.get_by_id(note.reverses_id) if note.reverses_id else None
        subject = (_l("Credit note %(number)s: %(original)s counts again", number=note.number,
                      original=donation.number) if reversed_note else
                   _l("Credit note %(number)s for your contribution %(original)s", number=note.number,
                      original=donation.number))
        mail.send_template(donation.donor_email, "giving/credit_note", note.language, subject, donation=donation,
                           note=note, reversed_note=reversed_note, unmatched=corrections.is_unmatched(note),
                           key=f"credit-note-{note.id}", now=True,
                           attachments=[mail.Attachment(documents.credit_note_filename(note), bytes(note.pdf))])
    except Exception:
        with atomic_write():
            (CreditNote.update(claimed_at=None)
             .where((CreditNote.id == note_id) & (CreditNote.claimed_at == now)).execute())
        raise
    with atomic_write():
        CreditNote.update(sent_at=utcnow()).where(CreditNote.id == note_id).execute()
        audit.record("donation.credit_note_sent", company=donation.company_id, obj=donation, number=note.number)
    return True


def send_due_credit_notes(limit: int = 200) -> int:
    """Send every credit note not sent yet (nor being sent); raises after trying them all when any
    failed, so the task is retried."""
    stale = utcnow() - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    due = (CreditNote.select(CreditNote.id)
           .where(CreditNote.sent_at.is_null()
                  & (CreditNote.claimed_at.is_null() | (CreditNote.claimed_at < stale)))
           .order_by(CreditNote.id).limit(limit))
    sent, failed = 0, []
    for (note_id,) in due.tuples():
        try:
            sent += send_credit_note(note_id)
        except Exception:
            log.exception("credit note %s could not be sent; it is tried again", note_id)
            failed.append(note_id)
    if failed:
        raise RuntimeError(f"credit notes {', '.join(map(str, failed))} could not be sent")
    return sent


@tasks.task(retries=8, retry_delay=60, backoff=2.0)
def sweep_credit_notes() -> int:
    """Send the credit notes that are due (queued when the money that causes them is recorded)."""
    return send_due_credit_notes()


@tasks.periodic(tasks.crontab(minute="*/10"))
def sweep_credit_notes_regularly() -> int:
    """Catch every credit note a killed worker or a lost task left behind."""
    return send_due_credit_notes()


def wait_for_followups(app, timeout: float = 60) -> None:
    """Kept for the tests and the benchmark: receipts are tasks, and the tests' queue runs each one
    immediately, so they are sent by the time this is called."""


# --- materials ----------------------------------------------------------------------------------

def _quantity(value: Any, field_name: str = "quantity") -> int:
    try:
        return money.parse_quantity(value, maximum=MAX_QUANTITY)
    except money.AmountError as error:
        raise GivingError(error.message, field_name) from None


def publish_need(leader: User, *, item: str, description: str, quantity: Any, school_id: int | None,
                 needed_by: dt.date | None, today: dt.date | None = None) -> MaterialNeed:
    """Publish what a school needs, for companies to pledge against."""
    item = _text(item, 200, "item", required=True)
    check_no_control(description, "description", multiline=True)
    description = (description or "").strip()[:2000]
    quantity = _quantity(quantity)
    school_id, school_name = _school(school_id, "school")
    if needed_by is not None and needed_by < (today or clock.today()):
        raise GivingError(_l("The date cannot be in the past."), "needed_by")
    with atomic_write():
        need = MaterialNeed.create(item=item, description=description, quantity=quantity, school_id=school_id,
                                   school_name=school_name, needed_by=needed_by, created_by=leader.id)
        audit.record("material.need_published", actor=leader, obj=need, item=item, quantity=quantity)
    return need


def close_need(leader: User, need_id: int) -> bool:
    with atomic_write():
        closed = (MaterialNeed.update(status="closed", closed_at=utcnow())
                  .where((MaterialNeed.id == need_id) & (MaterialNeed.status == "published")).execute())
        if closed:
            audit.record("material.need_closed", actor=leader, object_type="materialneed", object_id=need_id)
    return bool(closed)


@dataclass(frozen=True)
class NeedView:
    need: MaterialNeed
    pledged: int        # quantity offered or on its way (not declined)
    received: int       # quantity confirmed


def needs(*, published_only: bool = True) -> list[NeedView]:
    query = MaterialNeed.select().order_by(MaterialNeed.needed_by.asc(nulls="LAST"), MaterialNeed.id)
    if published_only:
        query = query.where(MaterialNeed.status == "published")
    rows = list(query)
    totals: dict[int, list[int]] = {need.id: [0, 0] for need in rows}
    if rows:
        pledges = (MaterialPledge.select(MaterialPledge.need, MaterialPledge.status,
                                         peewee.fn.SUM(MaterialPledge.quantity))
                   .where(MaterialPledge.need.in_([n.id for n in rows]) & (MaterialPledge.status != "declined"))
                   .group_by(MaterialPledge.need, MaterialPledge.status).tuples())
        for need_id, status, quantity in pledges:
            totals[need_id][0] += int(quantity)
            if status == "confirmed":
                totals[need_id][1] += int(quantity)
    return [NeedView(need, *totals[need.id]) for need in rows]


@dataclass
class PledgeInput:
    description: str
    quantity: Any
    declared_value_cents: int
    classification: str
    form_token: str
    need_id: int | None = None


def pledge(user: User, data: PledgeInput) -> tuple[MaterialPledge, bool]:
    """A company offers materials, against a published need or on its own (a double click: one pledge)."""
    if user.company_id is None:
        raise GivingError(_l("Only a company can offer materials."))
    if not TOKEN_SHAPE.match(data.form_token or ""):
        raise GivingError(_l("The form has expired. Please submit it again."))
    need = None
    if data.need_id:
        need = MaterialNeed.get_or_none((MaterialNeed.id == data.need_id) & (MaterialNeed.status == "published"))
        if need is None:
            raise GivingError(_l("This need is no longer open."), "need")
    description = _text(data.description, 500, "description", required=need is None) or (need.item if need else "")
    quantity = _quantity(data.quantity)
    value = data.declared_value_cents
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise GivingError(_l("The amount must be more than zero."), "declared_value")
    if value > max_cents("bank"):
        raise GivingError(_l("The amount cannot be more than %(maximum)s.", maximum=money.format_eur(max_cents("bank"))),
                          "declared_value")
    if data.classification not in CLASSIFICATIONS:
        raise GivingError(_l("Choose whether this is a gift or sponsoring."), "classification")
    try:
        with atomic_write():
            row = MaterialPledge.create(company=user.company_id, need=need.id if need else None, created_by=user.id,
                                        description=description, quantity=quantity, declared_value_cents=value,
                                        classification=data.classification, form_token=data.form_token)
            audit.record("material.pledged", actor=user, company=user.company_id, obj=row, quantity=quantity,
                         declared_value_cents=value, need=need.id if need else None)
            for leader in leaders():
                mail.send_template(leader.email, "giving/pledge_for_leader", leader.language,
                                   _l("New offer of materials"), leader=leader, pledge=row, company=user.company,
                                   need=need, link=_link(f"/giving/leader/pledges/{row.id}"))
    except peewee.IntegrityError:
        existing = MaterialPledge.get_or_none(MaterialPledge.form_token == data.form_token)
        if existing is None or existing.company_id != user.company_id:
            raise GivingError(_l("The form has expired. Please submit it again.")) from None
        return existing, False
    return row, True


PLEDGE_MOVES = {
    "accept": ("accepted", ("pledged",)),
    "decline": ("declined", ("pledged", "accepted")),
    "deliver": ("delivered", ("accepted",)),
    "confirm": ("confirmed", ("delivered",)),
}


def move_pledge(leader: User, pledge_id: int, action: str, *, reason: str = "", on: dt.date | None = None,
                value_cents: int | None = None, today: dt.date | None = None) -> MaterialPledge:
    """The project leader accepts, declines, records delivery of or confirms (with its value) a pledge."""
    if action not in PLEDGE_MOVES:
        raise GivingError(_l("Unknown action."))
    to, from_ = PLEDGE_MOVES[action]
    today = today or clock.today()
    values: dict[str, Any] = {"status": to, "decided_by": leader.id, "updated_at": utcnow()}
    if action == "decline":
        values["decline_reason"] = _text(reason, 1000, "reason", required=True, multiline=True)
    if action in ("deliver", "confirm"):
        if on is None:
            raise GivingError(_l("Enter a valid date."), "on")
        if on > today:
            raise GivingError(_l("The date cannot be in the future."), "on")
    if on is not None and action in ("deliver", "confirm"):
        if ledger.is_closed(on):
            raise GivingError(_l("%(date)s lies in a closed period: choose a date after it, or record a "
                                 "correction in the reconciliation.", date=on.isoformat()), "on")
    if action == "deliver":
        values["delivered_on"] = on
    if action == "confirm":
        if isinstance(value_cents, bool) or not isinstance(value_cents, int) or value_cents <= 0:
            raise GivingError(_l("The amount must be more than zero."), "value")
        if value_cents > max_cents("bank"):
            raise GivingError(_l("The amount cannot be more than %(maximum)s.",
                                 maximum=money.format_eur(max_cents("bank"))), "value")
        values.update(confirmed_value_cents=value_cents, confirmed_on=on)
    with atomic_write():
        row = _lock(MaterialPledge, pledge_id)
        if row is None:
            raise GivingError(_l("This offer does not exist."))
        if action == "confirm" and row.delivered_on and on < row.delivered_on:
            raise GivingError(_l("The value is confirmed on or after the day of delivery."), "on")
        moved = (MaterialPledge.update(**values)
                 .where((MaterialPledge.id == row.id) & MaterialPledge.status.in_(from_)).execute())
        if not moved:
            raise GivingError(_l("This offer is %(status)s; that step is not possible now.",
                                 status=STATUS_LABELS.get(row.status, row.status)))
        if action == "confirm":
            ledger.post(company_id=row.company_id, dated_on=on, kind="material", key=f"material:{row.id}",
                        source="material.confirmed", basis="market_value", classification=row.classification,
                        method="in_kind", value_cents=value_cents, subject_id=row.id)
        audit.record(f"material.{to}", actor=leader, company=row.company_id, obj=row, before=row.status,
                     **{k: v for k, v in values.items() if k not in ("status", "decided_by", "updated_at")})
        row = MaterialPledge.get_by_id(row.id)
        _mail_pledge(row)
    return row


def _mail_pledge(row: MaterialPledge) -> None:
    company = Company.get_by_id(row.company_id)
    user = User.get_or_none((User.id == row.created_by_id) & User.is_active) if row.created_by_id else None
    to = user.email if user else company.billing_email
    language = (user.language if user else company.language) or "nl"
    mail.send_template(to, "giving/pledge_status", language, _l("Your offer of materials: %(status)s",
                                                                status=STATUS_LABELS[row.status]),
                       pledge=row, company=company, status_label=STATUS_LABELS[row.status], link=_link("/giving"))


# --- what a company sees ------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    kind: str = ""            # "", money, material
    state: str = ""           # "", open, completed, stopped
    classification: str = ""  # "", gift, sponsoring
    year: int | None = None

    @classmethod
    def parse(cls, args: Any) -> Filters:
        kind = args.get("kind", "") if args.get("kind", "") in ("money", "material") else ""
        state = args.get("state", "") if args.get("state", "") in ("open", "completed", "stopped") else ""
        classification = args.get("classification", "") if args.get("classification", "") in CLASSIFICATIONS else ""
        try:
            year = int(args.get("year", "") or 0) or None
        except ValueError:
            year = None
        if year is not None and not 2000 <= year <= 2100:
            year = None
        return cls(kind, state, classification, year)

    def as_args(self) -> dict[str, str]:
        values = {"kind": self.kind, "state": self.state, "classification": self.classification,
                  "year": str(self.year or "")}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Row:
    kind: str                 # money or material
    id: int
    number: str
    on: dt.date
    description: str
    method: str
    classification: str
    status: str
    amount_cents: int         # money: the amount; material: confirmed value, else declared value
    refunded_cents: int = 0
    fee_cents: int | None = None
    net_cents: int | None = None
    reference: str = ""
    earmark: str = ""
    documents: tuple[str, ...] = ()
    note: str = ""
    credit_notes: tuple[tuple[int, str, str], ...] = ()   # (id, number, kind) of each credit note
    invoice_number: str = ""                               # the receipt is this VAT invoice

    @property
    def state(self) -> str:
        if self.status in COMPLETED_STATUSES:
            return "completed"
        return "stopped" if self.status in STOPPED_STATUSES else "open"

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))


def _earmark(donation: Donation) -> str:
    return " · ".join(part for part in (donation.earmark_school, donation.earmark_purpose) if part)


def donation_description(donation: Donation, *, translated: bool = True) -> str:
    """'Gift: OBS De Klimop · reading books'; plain English for contributions (read outside requests)."""
    label = str(CLASSIFICATION_LABELS[donation.classification]) if translated else donation.classification.capitalize()
    return f"{label}: {_earmark(donation)}" if _earmark(donation) else label


def _year_of(column: peewee.Node, *, moment: bool = False) -> peewee.Node:
    """SQL for the calendar year of a date column, or of a naive UTC `*_at` column in Amsterdam: on
    1 January Amsterdam is always one hour ahead of UTC (CET), so UTC plus an hour has its year."""
    if is_sqlite():
        return peewee.fn.strftime("%Y", column, "+1 hour").cast("INTEGER") if moment else (
            peewee.fn.strftime("%Y", column).cast("INTEGER"))
    shifted = column + peewee.SQL("INTERVAL '1 hour'") if moment else column
    return peewee.fn.date_part("year", shifted).cast("INTEGER")


def _utc_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The naive UTC moments at which the year begins and ends in Amsterdam."""
    def midnight(on_year: int) -> dt.datetime:
        local = dt.datetime(on_year, 1, 1, tzinfo=clock.AMSTERDAM)
        return local.astimezone(dt.UTC).replace(tzinfo=None)
    return midnight(year), midnight(year + 1)


def _in_year(year: int, *dates: peewee.Field, created: peewee.Field) -> peewee.Expression:
    """A row whose shown date (the first of `dates` that is set, else the Amsterdam date it was
    created on) falls in `year`: a condition the database checks, for one year's rows only."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    since, until = _utc_bounds(year)
    condition, unset = None, None
    for column in dates:
        here = column.between(first, last) if unset is None else (unset & column.between(first, last))
        condition = here if condition is None else (condition | here)
        unset = column.is_null() if unset is None else (unset & column.is_null())
    return condition | (unset & (created >= since) & (created < until))


def _state_condition(status: peewee.Field, state: str) -> peewee.Expression | None:
    """The statuses of a Row.state ("open", "completed", "stopped"), as SQL."""
    if state == "completed":
        return status.in_(COMPLETED_STATUSES)
    if state == "stopped":
        return status.in_(STOPPED_STATUSES)
    if state == "open":
        return status.not_in(COMPLETED_STATUSES + STOPPED_STATUSES)
    return None


def company_years(company_id: int) -> list[int]:
    """The years with a contribution of the company (by the date each row shows), newest first: one
    grouped query, not the rows."""
    donations = Donation.select(_year_of(Donation.paid_on).alias("year")).where(
        (Donation.company == company_id) & Donation.paid_on.is_null(False) & counts())
    requests = Donation.select(_year_of(Donation.created_at, moment=True).alias("year")).where(
        (Donation.company == company_id) & Donation.paid_on.is_null() & counts())
    pledges = MaterialPledge.select(_year_of(peewee.fn.COALESCE(MaterialPledge.confirmed_on,
                                                                MaterialPledge.delivered_on)).alias("year")).where(
        (MaterialPledge.company == company_id)
        & (MaterialPledge.confirmed_on.is_null(False) | MaterialPledge.delivered_on.is_null(False)))
    offers = MaterialPledge.select(_year_of(MaterialPledge.created_at, moment=True).alias("year")).where(
        (MaterialPledge.company == company_id) & MaterialPledge.confirmed_on.is_null()
        & MaterialPledge.delivered_on.is_null())
    query = donations | requests | pledges | offers  # UNION: each year once
    return sorted({int(year) for (year,) in query.tuples() if year is not None}, reverse=True)


def shown_year(filters: Filters, years: list[int]) -> Filters:
    """The filters with the year the page shows: the one asked for, else the newest with rows (else
    this year). The page reads one year at a time, so its cost does not grow with the history."""
    if filters.year is not None:
        return filters
    return replace(filters, year=years[0] if years else clock.today().year)


def company_rows(company_id: int, filters: Filters | None = None) -> list[Row]:
    """The money and material contributions of one company in one year (the filter's, else the
    newest with rows), newest first, as filtered: filtered in SQL, refunds and disputes joined."""
    filters = filters or Filters()
    if filters.year is None:
        filters = shown_year(filters, company_years(company_id))
    year = filters.year
    rows: list[Row] = []
    if filters.kind in ("", "money"):
        condition = ((Donation.company == company_id) & counts()
                     & _in_year(year, Donation.paid_on, created=Donation.created_at))
        if filters.classification:
            condition &= Donation.classification == filters.classification
        refunded, lost, gone = _taken_back()
        state = _state_condition(Donation.status, filters.state)
        if filters.state == "completed":
            condition &= state & ~gone
        elif filters.state == "stopped":
            condition &= state | gone
        elif state is not None:
            condition &= state
        donations = list(Donation.select(Donation, refunded.alias("refunded"), lost.alias("lost")).where(condition)
                         .order_by(Donation.id))
        notes: dict[int, list[str]] = {}
        credit_notes: dict[int, list[tuple[int, str, str]]] = {}
        if donations:
            disputes = (Dispute.select(Dispute.donation, Dispute.status)
                        .join(Donation, on=(Dispute.donation == Donation.id)).where(condition).order_by(Dispute.id))
            for donation_id, status in disputes.tuples():
                notes.setdefault(donation_id, []).append(str(_l("disputed (%(status)s)", status=status)))
            for note in (CreditNote.select(CreditNote.id, CreditNote.donation, CreditNote.year, CreditNote.sequence,
                                           CreditNote.kind)
                         .join(Donation, on=(CreditNote.donation == Donation.id)).where(condition)
                         .order_by(CreditNote.id)):
                credit_notes.setdefault(note.donation_id, []).append((note.id, note.number, note.kind))
        invoices = {}
        if donations:
            invoices = {i.donation_id: i.number for i in Invoice.select(
                Invoice.donation, Invoice.year, Invoice.sequence)
                .join(Donation, on=(Invoice.donation == Donation.id)).where(condition)}
        for d in donations:
            refunded = int(d.refunded or 0)
            taken_back = refunded + int(d.lost or 0)
            status = "refunded" if d.status == "paid" and taken_back >= d.amount_cents else d.status
            if refunded and status != "refunded":
                notes.setdefault(d.id, []).insert(0, str(_l("partly refunded")))
            rows.append(Row("money", d.id, d.number, d.paid_on or amsterdam_date(d.created_at), donation_description(d),
                            d.method, d.classification, status, d.amount_cents, refunded, d.fee_cents, d.net_cents,
                            (documents.format_reference(d.reference) if d.reference else d.stripe_payment_intent_id or ""),
                            _earmark(d), tuple(document_kinds(d)), "; ".join(notes.get(d.id, [])),
                            tuple(credit_notes.get(d.id, [])), invoices.get(d.id, "")))
    if filters.kind in ("", "material"):
        condition = (MaterialPledge.company == company_id) & _in_year(
            year, MaterialPledge.confirmed_on, MaterialPledge.delivered_on, created=MaterialPledge.created_at)
        if filters.classification:
            condition &= MaterialPledge.classification == filters.classification
        state = _state_condition(MaterialPledge.status, filters.state)
        if state is not None:
            condition &= state
        for p in MaterialPledge.select().where(condition).order_by(MaterialPledge.id):
            on = p.confirmed_on or p.delivered_on or amsterdam_date(p.created_at)
            rows.append(Row("material", p.id, f"M-{p.id:06d}", on, f"{p.quantity} × {p.description}", "in_kind",
                            p.classification, p.status, p.confirmed_value_cents or p.declared_value_cents,
                            note=p.decline_reason if p.status == "declined" else (
                                "" if p.status == "confirmed" else str(_l("declared value")))))
    return sorted(rows, key=lambda r: (r.on, r.kind, r.id), reverse=True)


def _taken_back() -> tuple[peewee.Node, peewee.Node, peewee.Expression]:
    """SQL per donation row: its succeeded refunds, its lost chargebacks (not reinstated), and whether
    together they take back all of a paid donation (then it shows as refunded, never as received)."""
    refund = Refund.alias()
    refunded = (refund.select(peewee.fn.COALESCE(peewee.fn.SUM(refund.amount_cents), 0))
                .where((refund.donation == Donation.id) & (refund.status == "succeeded")))
    dispute = Dispute.alias()
    lost = (dispute.select(peewee.fn.COALESCE(peewee.fn.SUM(
        peewee.fn.COALESCE(dispute.withdrawn_cents, dispute.amount_cents)
        - peewee.fn.COALESCE(dispute.reinstated_cents, 0)), 0))
        .where((dispute.donation == Donation.id) & (dispute.status == "lost")))
    # Each subquery wrapped as a value: `select + select` would be peewee's UNION ALL, not a sum.
    taken = peewee.fn.COALESCE(refunded, 0) + peewee.fn.COALESCE(lost, 0)
    return refunded, lost, (Donation.status == "paid") & (taken >= Donation.amount_cents)


@dataclass(frozen=True)
class Totals:
    money_cents: int       # paid, minus refunds and chargebacks
    materials_cents: int   # confirmed value
    open_requests: int
    open_pledges: int


def company_totals(company_id: int, year: int | None = None) -> Totals:
    """The company's money and materials of a year (all years: None) from the ledger's maintained
    totals (by the month each change is booked in), and what is still open: three queries."""
    start, end = (dt.date(year, 1, 1), dt.date(year, 12, 31)) if year else (None, None)
    sums = {row["kind"]: row for row in ledger.totals(by=("kind",), company_id=company_id, start=start, end=end,
                                                       kinds=("money", "material"))}
    money_cents = int(sums["money"]["gross_cents"]) if "money" in sums else 0
    materials = int(sums["material"]["value_cents"]) if "material" in sums else 0
    requests = Donation.select().where((Donation.company == company_id) & (Donation.method == "bank")
                                       & (Donation.status == "pending") & counts()).count()
    pledges = MaterialPledge.select().where((MaterialPledge.company == company_id)
                                            & MaterialPledge.status.in_(("pledged", "accepted", "delivered"))).count()
    return Totals(money_cents, materials, requests, pledges)


CSV_COLUMNS = ("type", "number", "date", "description", "method", "classification", "status", "amount_eur",
               "refunded_eur", "fee_eur", "net_eur", "reference", "earmark", "note")


def csv_rows(rows: Iterable[Row]) -> list[list[str]]:
    out = [list(CSV_COLUMNS)]
    for r in rows:
        out.append([neutralise(v) for v in (
            str(_l("money")) if r.kind == "money" else str(_l("material")), r.number, r.on.isoformat(), r.description,
            str(METHOD_LABELS.get(r.method, r.method)), str(CLASSIFICATION_LABELS.get(r.classification, "")),
            r.status_label, money.format_plain(r.amount_cents),
            money.format_plain(r.refunded_cents) if r.kind == "money" else "",
            money.format_plain(r.fee_cents) if r.fee_cents is not None else "",
            money.format_plain(r.net_cents) if r.net_cents is not None else "",
            r.reference, r.earmark, r.note)])
    return out


# --- the project leader's desk ------------------------------------------------------------------

@dataclass(frozen=True)
class Desk:
    issues: list[PaymentIssue]
    open_requests: list[Donation]
    stuck: list[Donation]
    recent: list[Donation]
    pledges: list[MaterialPledge]
    needs: list[NeedView]
    today: dt.date
    waiting: list[Donation] = field(default_factory=list)
    refunded: set[int] = field(default_factory=set)    # of `recent`: refunded in full


def desk(today: dt.date | None = None) -> Desk:
    today = today or clock.today()
    days = int(current_app.config.get("PENDING_ALERT_DAYS") or 14)
    horizon = utcnow() - dt.timedelta(days=days)
    return Desk(
        issues=list(PaymentIssue.select().where(PaymentIssue.resolved_at.is_null()).order_by(PaymentIssue.id)),
        open_requests=list(Donation.select().where((Donation.method == "bank") & (Donation.status == "pending"))
                           .order_by(Donation.due_on, Donation.id)),
        stuck=list(Donation.select().where((Donation.method == "stripe") & Donation.status.in_(("pending", "processing"))
                                           & (Donation.created_at < horizon)).order_by(Donation.id)),
        recent=list(Donation.select().where(Donation.status == "paid").order_by(Donation.paid_at.desc()).limit(25)),
        pledges=list(MaterialPledge.select().where(MaterialPledge.status.in_(("pledged", "accepted", "delivered")))
                     .order_by(MaterialPledge.id)),
        needs=needs(published_only=False),
        today=today,
        waiting=waiting_gifts(None),
        refunded={d_id for (d_id,) in Donation.select(Donation.id).where(
            Donation.id.in_(Donation.select(Donation.id).where(Donation.status == "paid")
                            .order_by(Donation.paid_at.desc()).limit(25)) & _taken_back()[2]).tuples()},
    )


def attention_counts(today: dt.date | None = None) -> dict[str, int]:
    """What the reconciliation desk's attention list counts of giving, counted in SQL: Stripe gifts
    pending longer than PENDING_ALERT_DAYS plus bank requests created that long ago, requests past
    their due date, open payment issues, and pledges not yet delivered."""
    today = today or clock.today()
    days = int(current_app.config.get("PENDING_ALERT_DAYS") or 14)
    horizon = utcnow() - dt.timedelta(days=days)
    requests = Donation.select().where((Donation.method == "bank") & (Donation.status == "pending"))
    stuck = Donation.select().where((Donation.method == "stripe") & Donation.status.in_(("pending", "processing"))
                                    & (Donation.created_at < horizon))
    return {
        "pending_long": stuck.count() + requests.where(Donation.created_at < horizon).count(),
        "overdue": requests.where(Donation.due_on < today).count(),
        "issues": PaymentIssue.select().where(PaymentIssue.resolved_at.is_null()).count(),
        "pledges": MaterialPledge.select().where(MaterialPledge.status.in_(("pledged", "accepted"))).count(),
    }


def leader_counts() -> dict[str, int]:
    return {
        "issues": PaymentIssue.select().where(PaymentIssue.resolved_at.is_null()).count(),
        "requests": Donation.select().where((Donation.method == "bank") & (Donation.status == "pending")).count(),
        "pledges": MaterialPledge.select().where(MaterialPledge.status.in_(("pledged", "accepted", "delivered"))).count(),
    }


def resolve_issue(leader: User, issue_id: int, resolution: str) -> bool:
    text = _text(resolution, 1000, "resolution", required=True, multiline=True)
    with atomic_write():
        issue = PaymentIssue.get_or_none(PaymentIssue.id == issue_id)
        if issue is None:
            raise GivingError(_l("This issue does not exist."))
        done = (PaymentIssue.update(resolved_at=utcnow(), resolved_by=leader.id, resolution=text)
                .where((PaymentIssue.id == issue_id) & PaymentIssue.resolved_at.is_null()).execute())
        if done:
            audit.record("giving.issue_resolved", actor=leader, object_type="paymentissue", object_id=issue_id,
                         kind=issue.kind, resolution=text)
    return bool(done)


# --- contributions ------------------------------------------------------------------------------

def contributions(company_id: int | None, start: dt.date | None, end: dt.date | None) -> list[Contribution]:
    """Paid money (refunds and dispute withdrawals as negative lines) and confirmed materials.

    The dates are compared in SQL, and refunds and disputes are joined to their paid donation (never
    an IN list of donation ids: one bound parameter per paid donation overflows the database's limit)."""

    def dated(column: peewee.Field) -> peewee.Expression:
        condition = column.is_null(False)
        if start is not None:
            condition &= column >= start
        if end is not None:
            condition &= column <= end
        return condition

    paid = (Donation.status == "paid") & counts()
    if company_id is not None:
        paid &= Donation.company == company_id
    columns = (Donation.id, Donation.company, Donation.paid_on, Donation.amount_cents, Donation.fee_cents,
               Donation.net_cents, Donation.classification, Donation.method, Donation.earmark_school,
               Donation.earmark_purpose, Donation.stripe_payment_intent_id, Donation.reference)  # what a line names
    found: list[Contribution] = []
    in_parts = _parts_paid()
    for d in Donation.select(*columns).where(paid & ~in_parts & dated(Donation.paid_on)).order_by(Donation.id):
        fee = d.fee_cents or 0
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}", company_id=d.company_id, on=d.paid_on,
            what="donation", subject=d.number, detail=_earmark(d), value_cents=d.amount_cents, basis="at_cost",
            classification=d.classification, gross_cents=d.amount_cents, fee_cents=fee,
            net_cents=d.net_cents if d.net_cents is not None else d.amount_cents - fee,
            method=d.method, reference=reference_of(d)))
    # A request paid in parts, or beyond what it asked: each counted part on its own date (issue 13).
    counted = (Donation.company.is_null(False) & counts() & (BankReceipt.counted_cents > 0)
               & dated(BankReceipt.received_on))
    if company_id is not None:
        counted &= Donation.company == company_id
    for r in (BankReceipt.select(BankReceipt, *columns).join(Donation, on=(BankReceipt.donation == Donation.id))
              .where(counted).order_by(BankReceipt.id)):
        d = r.donation
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:{'bank' if r.kind == 'part' else 'kept'}:{r.id}",
            company_id=d.company_id, on=r.received_on, what="donation", subject=d.number, detail=_earmark(d),
            value_cents=r.counted_cents, basis="at_cost", classification=d.classification,
            gross_cents=r.counted_cents, fee_cents=0, net_cents=r.counted_cents, method=d.method,
            reference=reference_of(d)))
    refunds = (Refund.select(Refund, *columns).join(Donation, on=(Refund.donation == Donation.id))
               .where(paid & (Refund.status == "succeeded") & dated(Refund.succeeded_on)).order_by(Refund.id))
    for r in refunds:
        d, fee = r.donation, r.fee_cents or 0
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:refund:{r.id}", company_id=d.company_id, on=r.succeeded_on,
            what="refund", subject=d.number, value_cents=-r.amount_cents, basis="at_cost",
            classification=d.classification, gross_cents=-r.amount_cents, fee_cents=fee,
            net_cents=r.net_cents if r.net_cents is not None else -r.amount_cents - fee,
            method=d.method, reference=reference_of(d)))
    disputes = Dispute.select(Dispute, *columns).join(Donation, on=(Dispute.donation == Donation.id))
    for x in disputes.where(paid & Dispute.withdrawn_cents.is_null(False) & dated(Dispute.withdrawn_on)).order_by(
            Dispute.id):
        d = x.donation
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:dispute:{x.id}:withdrawn", company_id=d.company_id,
            on=x.withdrawn_on, what="chargeback", subject=d.number, value_cents=-x.withdrawn_cents,
            basis="at_cost", classification=d.classification, gross_cents=-x.withdrawn_cents,
            fee_cents=x.withdrawn_fee_cents, net_cents=-x.withdrawn_cents - x.withdrawn_fee_cents,
            method=d.method, reference=reference_of(d)))
    for x in disputes.where(paid & Dispute.reinstated_cents.is_null(False) & dated(Dispute.reinstated_on)).order_by(
            Dispute.id):
        d = x.donation
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:dispute:{x.id}:reinstated", company_id=d.company_id,
            on=x.reinstated_on, what="chargeback_reversed", subject=d.number,
            value_cents=x.reinstated_cents, basis="at_cost", classification=d.classification,
            gross_cents=x.reinstated_cents, fee_cents=x.reinstated_fee_cents,
            net_cents=x.reinstated_cents - x.reinstated_fee_cents, method=d.method, reference=reference_of(d)))
    pledges = MaterialPledge.select().where((MaterialPledge.status == "confirmed") & dated(MaterialPledge.confirmed_on))
    if company_id is not None:
        pledges = pledges.where(MaterialPledge.company == company_id)
    for p in pledges.order_by(MaterialPledge.id):
        found.append(Contribution(
            kind="material", key=f"material:{p.id}", company_id=p.company_id, on=p.confirmed_on,
            what="material", subject=p.description, detail=str(p.quantity), value_cents=p.confirmed_value_cents,
            basis="market_value", classification=p.classification, method="in_kind"))
    return found


def _post_money(donation: Donation, *, key: str, source: str, dated_on: dt.date, gross: int, fee: int, net: int,
                lines: int = 1) -> None:
    """Post a change of a donation's money to the ledger (inside the change's transaction). A public
    gift that waits for its company's acceptance (or was declined) posts nothing: accepting it posts
    its lines then (accept_gift)."""
    if not donation.counts_for_company:
        return
    ledger.post(company_id=donation.company_id, dated_on=dated_on, kind="money", key=key, source=source,
                basis="at_cost", classification=donation.classification, method=donation.method, lines=lines,
                value_cents=gross, gross_cents=gross, fee_cents=fee, net_cents=net, subject_id=donation.id,
                reference=reference_of(donation))


@ledger.open_items.connect
def ledger_open_items(_sender, *, start: dt.date, end: dt.date) -> list[ledger.OpenItem]:
    """Payment issues raised in the month that the project leader has not resolved yet."""
    first = dt.datetime.combine(start, dt.time.min)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min)
    issues = (PaymentIssue.select(PaymentIssue, Donation).join(Donation, peewee.JOIN.LEFT_OUTER)
              .where(PaymentIssue.resolved_at.is_null() & (PaymentIssue.created_at >= first)
                     & (PaymentIssue.created_at < after)).order_by(PaymentIssue.id))
    return [ledger.OpenItem(f"payment_issue:{issue.id}",
                            _l("payment issue: %(kind)s (%(donation)s)", kind=ISSUE_LABELS.get(issue.kind, issue.kind),
                               donation=issue.donation.number if issue.donation_id else issue.source))
            for issue in issues]


@ledger.sources.connect
def ledger_sources(_sender) -> list[peewee.Select]:
    """What the ledger should hold for money and materials, from giving's own rows (`portal ledger check`)."""
    text = peewee.SQL

    def money_line(query, *, key, source, dated_on, gross, fee, net, reference=None) -> peewee.Select:
        return query.select(
            Donation.company.alias("company_id"), dated_on.alias("dated_on"), text("'money'").alias("kind"),
            key.alias("key"), text(f"'{source}'").alias("source"), text("'at_cost'").alias("basis"),
            Donation.classification.alias("classification"), Donation.method.alias("method"),
            text("1").alias("lines"), text("0").alias("minutes"), gross.alias("value_cents"),
            gross.alias("gross_cents"), fee.alias("fee_cents"), net.alias("net_cents"), text("''").alias("person"),
            Donation.id.alias("subject_id"),
            peewee.fn.COALESCE(Donation.stripe_payment_intent_id, Donation.reference, "").alias("reference"))

    paid = (Donation.status == "paid") & Donation.company.is_null(False) & counts()
    donation_key = text("'donation:'").concat(Donation.id.cast("text"))
    fee = peewee.fn.COALESCE(Donation.fee_cents, 0)
    donations = money_line(Donation.select().where(paid & ~_parts_paid()), key=donation_key, source="donation.paid",
                           dated_on=Donation.paid_on, gross=Donation.amount_cents, fee=fee,
                           net=peewee.fn.COALESCE(Donation.net_cents, Donation.amount_cents - fee))
    refund_fee = peewee.fn.COALESCE(Refund.fee_cents, 0)
    refunds = money_line(
        Refund.select().join(Donation, on=(Refund.donation == Donation.id)).where(paid & (Refund.status == "succeeded")),
        key=donation_key.concat(text("':refund:'")).concat(Refund.id.cast("text")), source="refund.succeeded",
        dated_on=Refund.succeeded_on, gross=Refund.amount_cents * -1, fee=refund_fee,
        net=peewee.fn.COALESCE(Refund.net_cents, Refund.amount_cents * -1 - refund_fee))
    disputes = Dispute.select().join(Donation, on=(Dispute.donation == Donation.id))
    dispute_key = donation_key.concat(text("':dispute:'")).concat(Dispute.id.cast("text"))
    withdrawn = money_line(
        disputes.where(paid & Dispute.withdrawn_cents.is_null(False)), key=dispute_key.concat(text("':withdrawn'")),
        source="dispute.withdrawn", dated_on=Dispute.withdrawn_on, gross=Dispute.withdrawn_cents * -1,
        fee=Dispute.withdrawn_fee_cents, net=Dispute.withdrawn_cents * -1 - Dispute.withdrawn_fee_cents)
    reinstated = money_line(
        disputes.where(paid & Dispute.reinstated_cents.is_null(False)), key=dispute_key.concat(text("':reinstated'")),
        source="dispute.reinstated", dated_on=Dispute.reinstated_on, gross=Dispute.reinstated_cents,
        fee=Dispute.reinstated_fee_cents, net=Dispute.reinstated_cents - Dispute.reinstated_fee_cents)
    materials = MaterialPledge.select(
        MaterialPledge.company.alias("company_id"), MaterialPledge.confirmed_on.alias("dated_on"),
        text("'material'").alias("kind"), text("'material:'").concat(MaterialPledge.id.cast("text")).alias("key"),
        text("'material.confirmed'").alias("source"), text("'market_value'").alias("basis"),
        MaterialPledge.classification.alias("classification"), text("'in_kind'").alias("method"),
        text("1").alias("lines"), text("0").alias("minutes"), MaterialPledge.confirmed_value_cents.alias("value_cents"),
        text("0").alias("gross_cents"), text("0").alias("fee_cents"), text("0").alias("net_cents"),
        text("''").alias("person"), MaterialPledge.id.alias("subject_id"), text("''").alias("reference"),
    ).where(MaterialPledge.status == "confirmed")
    receipts = BankReceipt.select().join(Donation, on=(BankReceipt.donation == Donation.id)).where(
        Donation.company.is_null(False) & counts() & (BankReceipt.counted_cents > 0))
    parts = money_line(
        receipts.where(BankReceipt.kind == "part"),
        key=donation_key.concat(text("':bank:'")).concat(BankReceipt.id.cast("text")), source="donation.bank_part",
        dated_on=BankReceipt.received_on, gross=BankReceipt.counted_cents, fee=text("0"), net=BankReceipt.counted_cents)
    kept = money_line(
        receipts.where(BankReceipt.kind == "kept"),
        key=donation_key.concat(text("':kept:'")).concat(BankReceipt.id.cast("text")),
        source="donation.surplus_kept", dated_on=BankReceipt.received_on, gross=BankReceipt.counted_cents, fee=text("0"),
        net=BankReceipt.counted_cents)
    return [donations, refunds, withdrawn, reinstated, materials, parts, kept]


def reference_of(donation: Donation) -> str:
    """The payment reference that ties a donation's corrections (refunds, chargebacks) to it."""
    return donation.stripe_payment_intent_id or donation.reference or ""
