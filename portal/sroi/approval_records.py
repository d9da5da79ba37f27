"""The buyer's approvals as recorded: the current ones of each commitment with their review and
the facts of their letter, every row of one commitment, and the letter itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import peewee

from portal.accounts.models import User
from portal.core.prepared import Prepared
from portal.sroi.models import Approval, ApprovalEvidence, ApprovalReview, Commitment


def _approvals_query() -> peewee.ModelSelect:
    """Approvals with their review and the facts of their letter (never its bytes), one row each."""
    reviewer = User.alias("sroi_reviewer")
    return (Approval.select(Approval, ApprovalReview.decision.alias("review_decision"),
                            ApprovalReview.reason.alias("review_reason"),
                            ApprovalReview.decided_at.alias("reviewed_at"),
                            reviewer.name.alias("reviewed_by_name"),
                            ApprovalEvidence.id.alias("evidence_id"),
                            ApprovalEvidence.original_name.alias("evidence_name"),
                            ApprovalEvidence.content_type.alias("evidence_type"),
                            ApprovalEvidence.size_bytes.alias("evidence_size"))
            .join(ApprovalReview, peewee.JOIN.LEFT_OUTER, on=(ApprovalReview.approval == Approval.id))
            .join(reviewer, peewee.JOIN.LEFT_OUTER, on=(ApprovalReview.decided_by == reviewer.id))
            .switch(Approval)
            .join(ApprovalEvidence, peewee.JOIN.LEFT_OUTER, on=(ApprovalEvidence.approval == Approval.id))
            .objects())


def _sums(company=None) -> peewee.Query:
    replaced = Approval.select(Approval.corrects).where(Approval.corrects.is_null(False))
    confirmed = peewee.Case(None, [(ApprovalReview.decision == "confirmed", Approval.amount_cents)], 0)
    waiting = peewee.Case(None, [(ApprovalReview.decision.is_null(), 1)], 0)
    query = (Approval.select(Approval.commitment, peewee.fn.SUM(confirmed), peewee.fn.SUM(waiting))
             .join(ApprovalReview, peewee.JOIN.LEFT_OUTER, on=(ApprovalReview.approval == Approval.id))
             .where(Approval.id.not_in(replaced)).group_by(Approval.commitment))
    if company is not None:
        query = query.where(Approval.commitment.in_(Commitment.select(Commitment.id).where(Commitment.company == company)))
    return query.tuples()


_SUMS = Prepared(_sums)   # asked by the company's dashboard and the leader's


def approval_sums(company_id: int | None) -> dict[int, tuple[int, int]]:
    """Per commitment of a company (None: of every company) with an approval: what the confirmed
    approvals nobody corrected add up to, and how many current approvals wait for the project
    leader; summed in SQL."""
    rows = _SUMS() if company_id is None else _SUMS(company=company_id)
    return {commitment: (int(cents or 0), int(count or 0)) for commitment, cents, count in rows}


def current_approvals(commitment_ids: Iterable[int]) -> dict[int, list[Approval]]:
    """The approvals nobody corrected, per commitment, oldest first, each with its status
    (`confirmed`, `pending` or `rejected`: only confirmed ones count as approved)."""
    ids = list(commitment_ids)
    found: dict[int, list[Approval]] = {i: [] for i in ids}
    if not ids:
        return found
    replaced = Approval.select(Approval.corrects).where(Approval.corrects.is_null(False))
    query = (_approvals_query().where(Approval.commitment.in_(ids) & Approval.id.not_in(replaced))
             .order_by(Approval.approved_on, Approval.id))
    for approval in query:
        found[approval.commitment_id].append(approval)
    return found


def is_corrected(approval_id: int) -> bool:
    return Approval.select().where(Approval.corrects == approval_id).exists()


def approval_history(commitment_id: int) -> list[Approval]:
    """Every approval row of a commitment, corrections included, oldest first, with status and letter."""
    return list(_approvals_query().where(Approval.commitment == commitment_id).order_by(Approval.id))


def approval_evidence(commitment_id: int, approval_id: int) -> ApprovalEvidence | None:
    """The letter of one approval of one commitment (the caller checked who may see the commitment)."""
    return (ApprovalEvidence.select().join(Approval, on=(ApprovalEvidence.approval == Approval.id))
            .where((Approval.id == approval_id) & (Approval.commitment == commitment_id)).first())
