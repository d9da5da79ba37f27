"""Giving's shared ground: the labels and status sets every page and operation uses, the error a
user sees (GivingError), the row lock, the leaders to notify, and the audited status move.

Every other giving module builds on this one; it imports none of them."""

from __future__ import annotations

import re

import peewee
from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit
from portal.core.db import is_sqlite, utcnow
from portal.core.errors import UserError
from portal.giving import documents
from portal.giving.models import Donation

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


def counts() -> peewee.Expression:
    """SQL: a donation that counts for its company, i.e. not a public gift that names an existing
    company and still waits for its acceptance (or was declined): see Donation.counts_for_company."""
    return Donation.company_decision.is_null() | (Donation.company_decision == "accepted")


def _move(donation: Donation, to: str, from_: tuple[str, ...], *, actor: User | None = None, **details) -> bool:
    """A conditional status move, audited; False when the donation was not in a `from_` status."""
    moved = (Donation.update(status=to, updated_at=utcnow())
             .where((Donation.id == donation.id) & Donation.status.in_(from_)).execute())
    if moved:
        audit.record(f"donation.{to}", actor=actor, company=donation.company_id, obj=donation,
                     before=donation.status, **details)
        donation.status = to
    return bool(moved)


