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

This module holds the core operations (creating a donation, paying it online or by one bank
transfer, withdrawing it) and the tasks that send receipts and credit notes; it is the entry other
capabilities use, so it also names their calls from the modules beside it: base.py (labels,
GivingError, the status move), checks.py (input, references, access keys), stripe_events.py (the
work of a Stripe event), bank.py (parts, surpluses, undoing a line), gifts.py (public gifts naming
a company), receipts.py (documents and follow-up mails), materials.py, overview.py (a company's
overview and the leader's desk) and contributions.py (contributions and ledger postings).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import peewee
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit, clock, tasks
from portal.core.db import atomic_write, utcnow
from portal.giving import payments
from portal.giving.bank import (
    BankResult,
    _bank_target,
    _check_bank_args,
    _record_part,
    _restore_unmatched,
    bank_balance,
    bank_lines_not_undoable,
    bank_request,
    keep_surplus,
    normalise_reference,
    open_bank_requests,
    record_bank_refund,
    surplus_requests,
    undo_bank_line,
)
from portal.giving.base import (
    CLASSIFICATION_LABELS,
    ISSUE_LABELS,
    KVK_SHAPE,
    METHOD_LABELS,
    STATUS_LABELS,
    TOKEN_SHAPE,
    GivingError,
    _lock,
    _move,
)
from portal.giving.checks import _email, _school, _text, check_amount, rf_reference
from portal.giving.contributions import _post_money, contributions
from portal.giving.gifts import _company_of_payment
from portal.giving.models import CLASSIFICATIONS, METHODS, BankReceipt, Donation
from portal.giving.overview import (
    attention_counts,
    company_totals,
    desk,
    donation_description,
    leader_counts,
)
from portal.giving.receipts import (
    _mail_payment_request,
    corrections_of,
    send_due_credit_notes,
    send_due_receipts,
    shown_status,
)
from portal.giving.stripe_events import handle_event, raise_issue

ProviderError = payments.ProviderError

# Giving's public entry: the operations defined here, and what other capabilities (the reconciliation
# desk, SROI) and views._wire use from the modules beside this one.
__all__ = [
    # defined here
    "DonationInput", "ProviderError", "PublicDonor", "abandon", "cancel_checkout", "create_donation",
    "mark_paid_by_bank", "record_bank_payment", "schedule_receipts", "start_checkout", "sweep_credit_notes",
    "sweep_credit_notes_regularly", "sweep_receipts", "sweep_receipts_regularly", "withdraw_request",
    # from the modules beside this one
    "CLASSIFICATION_LABELS", "ISSUE_LABELS", "METHOD_LABELS", "STATUS_LABELS", "BankResult", "Donation",
    "GivingError", "attention_counts", "bank_balance", "bank_lines_not_undoable", "bank_request", "company_totals",
    "contributions", "corrections_of", "desk", "donation_description", "handle_event", "keep_surplus",
    "leader_counts", "open_bank_requests", "record_bank_refund", "shown_status", "surplus_requests",
    "undo_bank_line",
]

log = logging.getLogger("portal.giving")


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


# --- paying a payment request by bank transfer --------------------------------------------------------

def mark_paid_by_bank(reference: str, amount_cents: int, paid_on: dt.date, actor: User | None,
                      bank_line_ref: str) -> BankResult:
    """Record a bank transfer that pays a payment request (the reconciliation calls this).

    The transfer applies only when the reference is known, the request is pending and the
    amount is exactly the requested amount; anything else is returned (and, when it concerns a
    request, flagged for the project leader) without changing the donation. Calling it again
    with the same bank line is harmless.
    """
    line = _check_bank_args(amount_cents, paid_on, bank_line_ref)
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


def record_bank_payment(reference: str, amount_cents: int, paid_on: dt.date, actor: User | None,
                        bank_line_ref: str, *, keep_surplus: bool = False) -> BankResult:
    """Record a bank transfer for a payment request whatever its amount (the reconciliation and the
    leader's form call this): exactly the request pays it as mark_paid_by_bank does; less is a part
    payment (the request stays open for the rest); more, or a transfer to a request already paid,
    settles it and leaves a surplus to refund, or to keep when the company agreed (`keep_surplus`).

    Status: paid, part_recorded, paid_with_surplus, duplicate_payment, and the refusals of
    mark_paid_by_bank (already_recorded, unknown_reference, not_pending, line_already_used)."""
    line, found = _bank_target(reference, amount_cents, paid_on, bank_line_ref)
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


# --- the tasks that send receipts and credit notes (their names are the queue's: keep them here) -------

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


@tasks.task(retries=8, retry_delay=60, backoff=2.0)
def sweep_credit_notes() -> int:
    """Send the credit notes that are due (queued when the money that causes them is recorded)."""
    return send_due_credit_notes()


@tasks.periodic(tasks.crontab(minute="*/10"))
def sweep_credit_notes_regularly() -> int:
    """Catch every credit note a killed worker or a lost task left behind."""
    return send_due_credit_notes()
