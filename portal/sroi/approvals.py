"""Approvals by the buyer: the company records one with the buyer's letter (or corrects one with a
new row), more than the claim or the obligation needs a reason; the project leader confirms or
rejects it, and only a confirmed approval counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee
from flask_babel import lazy_gettext as _l

from portal.core import clock
from portal.core.db import atomic_write, database
from portal.core.money import format_eur
from portal.sroi.approval_records import is_corrected
from portal.sroi.base import SroiError, _date, _language, _text
from portal.sroi.commitments import _audit, _company_id, _owned
from portal.sroi.evidence import Evidence
from portal.sroi.models import (
    MAX_BASE_CENTS,
    Approval,
    ApprovalEvidence,
    ApprovalReview,
    Commitment,
)
from portal.sroi.valuation import summary


def _approval_fields(amount_cents: int, approved_on, reference: str, note: str) -> dict:
    if not isinstance(amount_cents, int) or amount_cents < 0:
        raise SroiError(_l("The amount cannot be negative."), "amount")
    if amount_cents > MAX_BASE_CENTS:
        raise SroiError(_l("The amount cannot be more than %(maximum)s.", maximum=format_eur(MAX_BASE_CENTS, _language())), "amount")
    approved_on = _date(approved_on, "approved_on")
    if approved_on > clock.today():
        raise SroiError(_l("The approval date cannot be in the future."), "approved_on")
    return {
        "amount_cents": amount_cents, "approved_on": approved_on,
        "reference": _text(reference, 100, "reference", _l("the buyer's reference"), required=True),
        "note": _text(note, 2000, "note", ""),
    }


@dataclass(frozen=True)
class Excess:
    """What the buyer's approvals come to with a new one, against the claim and the obligation."""

    standing_cents: int     # the approvals that stand (confirmed or pending), with the new one
    claimed_cents: int
    obligation_cents: int

    @property
    def code(self) -> str | None:
        over_claim = self.standing_cents > self.claimed_cents
        over_obligation = self.standing_cents > self.obligation_cents
        if over_claim and over_obligation:
            return "both"
        return "claim" if over_claim else "obligation" if over_obligation else None

    def details(self) -> dict:
        return {"standing_cents": self.standing_cents, "claimed_cents": self.claimed_cents,
                "obligation_cents": self.obligation_cents}


EXCEEDS_LABELS = {
    "claim": _l("More than the claim"),
    "obligation": _l("More than the obligation"),
    "both": _l("More than the claim and the obligation"),
}


def _excess(commitment: Commitment, amount_cents: int, replaces: int | None = None) -> Excess:
    """The approvals that stand after this one (a rejected one stands no more; a corrected one is replaced)."""
    state = summary(commitment)
    standing = sum(a.amount_cents for a in state.approvals if a.status != "rejected" and a.id != replaces)
    return Excess(standing + amount_cents, state.claimed_cents, state.obligation_cents)


def _checked_excess_reason(excess: Excess, reason: str) -> tuple[str | None, str | None]:
    """(exceeds, reason) to store; refused when the approvals come to more and no reason is given."""
    reason = _text(reason, 1000, "exceeds_reason", "")
    if excess.code is None:
        return None, None
    if not reason:
        language = _language()
        words = {"standing": format_eur(excess.standing_cents, language),
                 "claimed": format_eur(excess.claimed_cents, language),
                 "obligation": format_eur(excess.obligation_cents, language)}
        if excess.code == "obligation":
            message = _l("With this approval the buyer's approvals come to %(standing)s, more than the obligation "
                         "of %(obligation)s. Say why, so the project leader can check it.", **words)
        else:
            message = _l("With this approval the buyer's approvals come to %(standing)s, more than your claim of "
                         "%(claimed)s (obligation %(obligation)s). Say why, so the project leader can check it.",
                         **words)
        raise SroiError(message, "exceeds_reason")
    return excess.code, reason


def _require_evidence(evidence) -> None:
    if not isinstance(evidence, Evidence):
        raise SroiError(_l("Upload the buyer's letter (PDF, PNG or JPEG, at most 5 MB)."), "evidence")


def _store_evidence(user, company_id: int, approval: Approval, evidence) -> None:
    ApprovalEvidence.create(approval=approval.id, company=company_id, content_type=evidence.content_type,
                            original_name=evidence.original_name, size_bytes=evidence.size_bytes,
                            sha256=evidence.sha256, data=evidence.data, uploaded_by=user.id)


def _evidence_details(evidence) -> dict:
    return {"evidence_name": evidence.original_name, "evidence_type": evidence.content_type,
            "evidence_bytes": evidence.size_bytes, "evidence_sha256": evidence.sha256}


def record_approval(user, commitment_id: int, amount_cents: int, approved_on: dt.date, reference: str,
                    note: str = "", *, evidence=None, exceeds_reason: str = "") -> Approval:
    """Record what the contracting authority approved, with its letter; it counts once the leader confirms it."""
    company_id = _company_id(user)
    values = _approval_fields(amount_cents, approved_on, reference, note)
    _require_evidence(evidence)
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        excess = _excess(commitment, values["amount_cents"])
        exceeds, reason = _checked_excess_reason(excess, exceeds_reason)
        approval = Approval.create(commitment=commitment.id, entered_by=user.id, exceeds=exceeds,
                                   exceeds_reason=reason, **values)
        _store_evidence(user, company_id, approval, evidence)
        _audit("sroi.approval.recorded", user, commitment, approval_id=approval.id, exceeds=exceeds,
               exceeds_reason=reason, **values, **excess.details(), **_evidence_details(evidence))
    return approval


def correct_approval(user, commitment_id: int, approval_id: int, amount_cents: int, approved_on: dt.date,
                     reference: str, note: str, reason: str, *, evidence=None, exceeds_reason: str = "") -> Approval:
    """Correct an approval: a new row that names the one it replaces, with the reason; never an edit.

    Without a new letter the correction keeps the original's. It counts once the leader confirms it."""
    company_id = _company_id(user)
    values = _approval_fields(amount_cents, approved_on, reference, note)
    reason = _text(reason, 1000, "reason", _l("the reason for the correction"), required=True)
    if evidence is not None:
        _require_evidence(evidence)
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        original = Approval.get_or_none((Approval.id == approval_id) & (Approval.commitment == commitment.id))
        if original is None:
            raise SroiError(_l("That approval does not exist."))
        if is_corrected(original.id):
            raise SroiError(_l("This approval was corrected already; correct the latest version instead."))
        kept = None
        if evidence is None:
            kept = ApprovalEvidence.get_or_none(ApprovalEvidence.approval == original.id)
            if kept is None:
                raise SroiError(_l("Upload the buyer's letter (PDF, PNG or JPEG, at most 5 MB)."), "evidence")
        excess = _excess(commitment, values["amount_cents"], replaces=original.id)
        exceeds, exceeds_why = _checked_excess_reason(excess, exceeds_reason)
        try:
            with database.atomic():
                correction = Approval.create(commitment=commitment.id, corrects=original.id, reason=reason,
                                             entered_by=user.id, exceeds=exceeds, exceeds_reason=exceeds_why,
                                             **values)
        except peewee.IntegrityError as exc:
            raise SroiError(_l("This approval was corrected already; correct the latest version instead.")) from exc
        if kept is not None:
            # The original's letter, kept with the correction (a row of its own: letters go with approvals).
            ApprovalEvidence.create(approval=correction.id, company=kept.company_id, content_type=kept.content_type,
                                    original_name=kept.original_name, size_bytes=kept.size_bytes,
                                    sha256=kept.sha256, data=kept.data, uploaded_by=user.id)
            letter = {"evidence_name": kept.original_name, "evidence_kept": True}
        else:
            _store_evidence(user, company_id, correction, evidence)
            letter = _evidence_details(evidence)
        before = {"amount_cents": original.amount_cents, "approved_on": original.approved_on,
                  "reference": original.reference, "note": original.note}
        _audit("sroi.approval.corrected", user, commitment, approval_id=correction.id, corrects=original.id,
               before=before, after=values, reason=reason, exceeds=exceeds, exceeds_reason=exceeds_why,
               **excess.details(), **letter)
    return correction


def _leader(user) -> None:
    if not getattr(user, "is_leader", False):
        raise SroiError(_l("Only the project leader confirms approvals."))


def _reviewable(approval_id: int, commitment_id: int | None = None) -> tuple[Approval, Commitment]:
    query = Approval.select().where(Approval.id == approval_id)
    if commitment_id is not None:
        query = query.where(Approval.commitment == commitment_id)
    approval = query.first()
    if approval is None:
        raise SroiError(_l("That approval does not exist."))
    if is_corrected(approval.id):
        raise SroiError(_l("The company corrected this approval; decide on the correction instead."))
    return approval, Commitment.get_by_id(approval.commitment_id)


def _decide(user, approval: Approval, commitment: Commitment, decision: str, reason: str) -> ApprovalReview:
    try:
        with database.atomic():
            review = ApprovalReview.create(approval=approval.id, decision=decision, reason=reason, decided_by=user.id)
    except peewee.IntegrityError as exc:
        raise SroiError(_l("This approval was decided on already.")) from exc
    _audit(f"sroi.approval.{decision}", user, commitment, approval_id=approval.id, amount_cents=approval.amount_cents,
           reference=approval.reference, reason=reason)
    return review


def confirm_approval(user, approval_id: int, commitment_id: int | None = None) -> ApprovalReview:
    """The project leader confirms an approval against the buyer's letter: from now on it counts."""
    _leader(user)
    with atomic_write():
        approval, commitment = _reviewable(approval_id, commitment_id)
        if not ApprovalEvidence.select().where(ApprovalEvidence.approval == approval.id).exists():
            raise SroiError(_l("This approval has no letter from the buyer. Ask the company to correct it and "
                               "upload the letter."))
        return _decide(user, approval, commitment, "confirmed", "")


def reject_approval(user, approval_id: int, reason: str, commitment_id: int | None = None) -> ApprovalReview:
    """The project leader rejects an approval, with the reason the company will read: it does not count."""
    _leader(user)
    reason = _text(reason, 1000, "reason", _l("the reason for rejecting"), required=True)
    with atomic_write():
        approval, commitment = _reviewable(approval_id, commitment_id)
        return _decide(user, approval, commitment, "rejected", reason)
