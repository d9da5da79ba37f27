"""Audit actions in words, in the reader's language: the log stores codes ("donation.created"),
pages show what happened ("Donation created"). A code without words here is shown as it is."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.core.contributions import key_label
from portal.core.ledger import KIND_LABELS
from portal.core.money import format_eur

ACTION_LABELS = {
    "company.created_from_donation": _l("Company created from a donation"),
    "company.iban_added": _l("Bank account added"),
    "company.iban_removed": _l("Bank account removed"),
    "company.registered": _l("Company registered"),
    "company.registration_refused": _l("Registration refused"),
    "contact.answered": _l("Contact message answered"),
    "demo.filled": _l("Demo data filled in"),
    "donation.bank_received": _l("Bank transfer received"),
    "donation.bank_undone": _l("Bank transfer match undone"),
    "donation.canceled": _l("Donation cancelled"),
    "donation.checkout_started": _l("Online payment started"),
    "donation.company_accepted": _l("Gift accepted by the company"),
    "donation.company_declined": _l("Gift declined by the company"),
    "donation.created": _l("Donation created"),
    "donation.credit_note_issued": _l("Credit note issued"),
    "donation.credit_note_sent": _l("Credit note sent"),
    "donation.credit_note_stored": _l("Credit note stored"),
    "donation.demo_history": _l("Demo donation history"),
    "donation.dispute_updated": _l("Chargeback updated"),
    "donation.expired": _l("Online payment expired"),
    "donation.failed": _l("Payment failed"),
    "donation.fee_recorded": _l("Payment fee recorded"),
    "donation.paid": _l("Donation paid"),
    "donation.payment_request_stored": _l("Payment request stored"),
    "donation.pending": _l("Donation waiting for payment"),
    "donation.processing": _l("Payment under way"),
    "donation.receipt_sent": _l("Receipt sent"),
    "donation.receipt_stored": _l("Receipt stored"),
    "donation.refund_canceled": _l("Refund cancelled"),
    "donation.refund_failed": _l("Refund failed"),
    "donation.refund_pending": _l("Refund under way"),
    "donation.refund_requires_action": _l("Refund needs an action"),
    "donation.refund_succeeded": _l("Refund made"),
    "donation.surplus_kept": _l("Over-payment kept"),
    "donation.surplus_refunded": _l("Over-payment refunded"),
    "enrollment.allowance_blocked": _l("Volunteer allowance blocked"),
    "enrollment.allowance_built": _l("Volunteer allowances calculated"),
    "enrollment.allowance_cap_saved": _l("Allowance limits saved"),
    "enrollment.allowance_decided": _l("Decision on a volunteer allowance"),
    "enrollment.allowance_exported": _l("Volunteer allowances exported"),
    "enrollment.allowance_recomputed": _l("Volunteer allowance recomputed"),
    "enrollment.allowance_removed": _l("Volunteer allowance removed"),
    "enrollment.closure_added": _l("Holiday or day off added"),
    "enrollment.closure_removed": _l("Holiday or day off removed"),
    "enrollment.created": _l("Employee enrolled"),
    "enrollment.demo_filled": _l("Demo enrolments filled in"),
    "enrollment.demo_history": _l("Demo hours history"),
    "enrollment.document_uploaded": _l("Document uploaded"),
    "enrollment.hours_confirmed": _l("Hours confirmed"),
    "enrollment.hours_corrected": _l("Hours corrected"),
    "enrollment.hours_extra": _l("Extra session reported"),
    "enrollment.hours_rejected": _l("Hours rejected"),
    "enrollment.hours_reported": _l("Hours reported"),
    "enrollment.imported": _l("Enrolments imported"),
    "enrollment.link_requested": _l("Sign-in link requested"),
    "enrollment.link_sent": _l("Sign-in link sent"),
    "enrollment.link_used": _l("Sign-in link used"),
    "enrollment.payout_iban": _l("Allowance bank account changed"),
    "enrollment.school_created": _l("School added"),
    "enrollment.school_updated": _l("School changed"),
    "enrollment.school_year_created": _l("School year added"),
    "enrollment.school_year_updated": _l("School year changed"),
    "enrollment.status": _l("Placement status changed"),
    "enrollment.updated": _l("Enrolment changed"),
    "enrollment.vog": _l("VOG status changed"),
    "enrollment.vog_reminders": _l("VOG reminders sent"),
    "giving.issue_raised": _l("Payment issue opened"),
    "giving.issue_resolved": _l("Payment issue resolved"),
    "leader.acting_started": _l("Project leader started acting for a user"),
    "leader.acting_stopped": _l("Project leader stopped acting for a user"),
    "leader.created": _l("Project leader account created"),
    "ledger.months_closed": _l("Months closed"),
    "material.accepted": _l("Materials accepted"),
    "material.confirmed": _l("Materials confirmed"),
    "material.declined": _l("Materials declined"),
    "material.delivered": _l("Materials delivered"),
    "material.need_closed": _l("Material need closed"),
    "material.need_published": _l("Material need published"),
    "material.pledged": _l("Materials offered"),
    "reconcile.correction_added": _l("Correction added"),
    "reconcile.exported": _l("Accounting export downloaded"),
    "reconcile.line_ignored": _l("Bank line set aside"),
    "reconcile.line_matched": _l("Bank line matched"),
    "reconcile.line_restored": _l("Bank line restored"),
    "reconcile.line_unmatched": _l("Bank line match undone"),
    "reconcile.period_closed": _l("Period closed"),
    "reconcile.references_pasted": _l("References pasted"),
    "reconcile.statement_imported": _l("Bank statement imported"),
    "reconcile.stripe_synced": _l("Stripe synchronised"),
    "sroi.allocation.bulk": _l("SROI contributions allocated in bulk"),
    "sroi.allocation.set": _l("SROI allocation changed"),
    "sroi.approval.confirmed": _l("SROI approval confirmed"),
    "sroi.approval.corrected": _l("SROI approval corrected"),
    "sroi.approval.recorded": _l("SROI approval recorded"),
    "sroi.approval.rejected": _l("SROI approval rejected"),
    "sroi.commitment.corrected": _l("SROI commitment corrected"),
    "sroi.commitment.created": _l("SROI commitment created"),
    "sroi.commitment.deleted": _l("SROI commitment deleted"),
    "sroi.commitment.updated": _l("SROI commitment changed"),
    "sroi.rules.corrected": _l("SROI valuation rules corrected"),
    "sroi.rules.updated": _l("SROI valuation rules changed"),
    "statement.issued": _l("Statement issued"),
    "statement.run_done": _l("Statements issued for every company"),
    "statement.run_failed": _l("Issuing for every company stopped"),
    "statement.run_requested": _l("Statements for every company queued"),
    "statement.voided": _l("Statement withdrawn"),
    "user.activated": _l("User activated"),
    "user.deactivated": _l("User deactivated"),
    "user.email_confirmed": _l("E-mail address confirmed"),
    "user.invitation_withdrawn": _l("Invitation withdrawn"),
    "user.invite_accepted": _l("Invitation accepted"),
    "user.invite_repeated": _l("Invitation sent again"),
    "user.invited": _l("User invited"),
    "user.login": _l("Signed in"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset": _l("Password reset"),
    "user.reset_requested": _l("Password reset requested"),
    "user.role_changed": _l("Role changed"),
}


def action_label(code: str) -> str:
    """An audit action for people; an unknown code as it is."""
    label = ACTION_LABELS.get(code or "")
    return str(label) if label is not None else code


# What a detail of an audit row is, in words; amounts (`*_cents`) print as euros. A key without
# words here is shown as its code.
DETAIL_LABELS = {
    "after": _l("after"),
    "after_cents": _l("amount after"),
    "already_refunded_cents": _l("refunded before"),
    "amount_cents": _l("amount"),
    "authority": _l("buyer"),
    "balance_transaction": _l("Stripe balance transaction"),
    "bank_line": _l("bank line"),
    "batch": _l("batch"),
    "before": _l("before"),
    "before_cents": _l("amount before"),
    "changes": _l("changes"),
    "companies": _l("companies"),
    "contract_reference": _l("contract"),
    "contribution_key": _l("contribution"),
    "count": _l("count"),
    "counted_cents": _l("still counted"),
    "credited_cents": _l("credited"),
    "currency": _l("currency"),
    "demo": _l("demo data"),
    "dispute": _l("chargeback"),
    "donation": _l("donation"),
    "donation_id": _l("donation"),
    "email_hash": _l("e-mail (hashed)"),
    "enrolments": _l("enrolments"),
    "event_type": _l("event"),
    "expected_cents": _l("expected"),
    "fee_cents": _l("fee"),
    "format": _l("format"),
    "hours_rows": _l("hour lines"),
    "iban": _l("IBAN"),
    "kind": _l("kind"),
    "lines": _l("lines"),
    "mfa": _l("second step passed"),
    "month": _l("month"),
    "name": _l("name"),
    "net_cents": _l("net"),
    "not_credited_cents": _l("not credited"),
    "number": _l("number"),
    "obligation_cents": _l("obligation"),
    "paid_cents": _l("paid"),
    "paid_on": _l("paid on"),
    "payment_intent": _l("Stripe payment"),
    "quantity": _l("quantity"),
    "reason": _l("reason"),
    "refund": _l("refund"),
    "requested_cents": _l("requested"),
    "role": _l("role"),
    "rows": _l("rows"),
    "scale": _l("scale"),
    "schools": _l("schools"),
    "session": _l("Stripe Checkout session"),
    "source": _l("source"),
    "status": _l("status"),
    "stored": _l("stored"),
    "stored_cents": _l("amount stored"),
    "stored_donation": _l("donation stored"),
    "stripe_cents": _l("amount at Stripe"),
    "stripe_dispute_id": _l("Stripe chargeback"),
    "surplus_cents": _l("over-payment"),
    "template": _l("valuation table"),
    "upto": _l("up to"),
    "via": _l("via"),
    "whole": _l("whole"),
    "withdrawn_cents": _l("withdrawn"),
    "withdrawn_fee_cents": _l("fee withdrawn"),
}


@dataclass(frozen=True)
class Detail:
    key: str
    label: str  # words, or "" when the key has none (the page shows the key as code)
    value: str
    code: bool = False  # the value is a code or a structure, shown as code, not as words


# A value that is a code ("custom", "hours_sponsored", "donation:4", "user.login"), not words.
CODE = re.compile(r"^[a-z][a-z0-9_]*(?:[.:][a-z0-9_]+)*$")


# Codes among the values, in words.
VALUE_LABELS = {
    "via": {"bank": _l("bank transfer"), "stripe": _l("online payment"), "web": _l("the portal"),
            "cli": _l("the command line")},
}


def _value(key: str, value: Any) -> str:
    if key == "contribution_key" and isinstance(value, str):
        return key_label(value)
    if key == "kind" and isinstance(value, str):
        return str(KIND_LABELS.get(value, value))
    if isinstance(value, str) and value in VALUE_LABELS.get(key, {}):
        return str(VALUE_LABELS[key][value])
    if key.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
        return format_eur(value, str(get_locale() or "nl"))
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(_value(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{name}: {_value(name, item)}" for name, item in value.items())
    return str(value)


def details(text: str | None) -> list[Detail]:
    """An audit row's details (JSON) as labelled values, in the order they were stored (sorted keys)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return [Detail("", "", text or "")]
    if not isinstance(data, dict):
        return [Detail("", "", _value("", data))]
    found = []
    for key, value in data.items():
        shown = _value(key, value)
        code = isinstance(value, dict | list) or (isinstance(value, str) and shown == value and bool(CODE.match(value)))
        found.append(Detail(key, str(DETAIL_LABELS[key]) if key in DETAIL_LABELS else "", shown, code))
    return found
