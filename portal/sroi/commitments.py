"""SROI commitments: recording, changing and removing one (a changed obligation or valuation after
the buyer approved anything is a correction with a reason), and a commitment's audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit
from portal.core.db import atomic_write, utcnow
from portal.core.money import format_eur
from portal.core.prepared import Prepared
from portal.sroi.arithmetic import obligation_cents
from portal.sroi.base import SroiError, _date, _language, _text
from portal.sroi.figures import touch
from portal.sroi.models import BASE_TYPES, MAX_BASE_CENTS, Allocation, Approval, Commitment
from portal.sroi.rules import RulesInput, rules_of, validate_rules, valuation_templates

COMMITMENT_FIELDS = ("authority", "contract_reference", "description", "base_type", "base_cents",
                     "percentage_bp", "cap_cents", "period_start_on", "period_end_on", "deadline_on",
                     "buyer_contact_name", "buyer_contact_email", "buyer_contact_phone")
# Changing these after an approval changes what was approved: they need a reason.
OBLIGATION_FIELDS = ("base_type", "base_cents", "percentage_bp", "cap_cents", "period_start_on",
                     "period_end_on")


@dataclass
class CommitmentInput:
    authority: str
    contract_reference: str
    description: str
    base_type: str
    base_cents: int
    percentage_bp: int
    cap_cents: int | None
    period_start_on: dt.date
    period_end_on: dt.date
    deadline_on: dt.date
    buyer_contact_name: str = ""
    buyer_contact_email: str = ""
    buyer_contact_phone: str = ""


def validate_commitment(data: CommitmentInput) -> CommitmentInput:
    """Check and tidy a commitment's details, or raise SroiError naming the field."""
    authority = _text(data.authority, 200, "authority", _l("the contracting authority"), required=True)
    reference = _text(data.contract_reference, 100, "contract_reference", _l("the contract reference"), required=True)
    description = _text(data.description, 2000, "description", _l("the description"))
    if data.base_type not in BASE_TYPES:
        raise SroiError(_l("Choose what the percentage is taken of."), "base_type")
    for name, value in (("base_cents", data.base_cents), ("cap_cents", data.cap_cents)):
        if value is None and name == "cap_cents":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SroiError(_l("The amount must be more than zero."), name)
        if value > MAX_BASE_CENTS:
            raise SroiError(_l("The amount cannot be more than %(maximum)s.", maximum=format_eur(MAX_BASE_CENTS, _language())), name)
    if not isinstance(data.percentage_bp, int) or not 0 < data.percentage_bp <= 10_000:
        raise SroiError(_l("The percentage must be more than 0 and at most 100."), "percentage")
    start = _date(data.period_start_on, "period_start_on")
    end = _date(data.period_end_on, "period_end_on")
    deadline = _date(data.deadline_on, "deadline_on")
    if end < start:
        raise SroiError(_l("The period cannot end before it starts."), "period_end_on")
    if deadline < start:
        raise SroiError(_l("The deadline cannot be before the period starts."), "deadline_on")
    email = _text(data.buyer_contact_email, 254, "buyer_contact_email", "")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise SroiError(_l("Enter a valid e-mail address, such as name@utrecht.nl."), "buyer_contact_email")
    return CommitmentInput(
        authority=authority, contract_reference=reference, description=description,
        base_type=data.base_type, base_cents=data.base_cents, percentage_bp=data.percentage_bp,
        cap_cents=data.cap_cents, period_start_on=start, period_end_on=end, deadline_on=deadline,
        buyer_contact_name=_text(data.buyer_contact_name, 200, "buyer_contact_name", ""),
        buyer_contact_email=email.lower(),
        buyer_contact_phone=_text(data.buyer_contact_phone, 40, "buyer_contact_phone", ""),
    )


def commitment_input(commitment: Commitment) -> CommitmentInput:
    return CommitmentInput(**{name: getattr(commitment, name) for name in COMMITMENT_FIELDS})


def _company_id(user) -> int:
    if getattr(user, "company_id", None) is None:
        raise SroiError(_l("Only a company's users can record commitments."))
    return user.company_id


def _audit(action: str, user, commitment: Commitment, **details) -> None:
    audit.record(action, actor=user, company=commitment.company_id, object_type="sroi_commitment",
                 object_id=commitment.id, **details)


def create_commitment(user, data: CommitmentInput, template_code: str) -> Commitment:
    """Record a commitment for the user's company, with rules copied from a valuation table."""
    company_id = _company_id(user)
    data = validate_commitment(data)
    template = next((t for t in valuation_templates() if t.code == template_code), None)
    if template is None:
        raise SroiError(_l("Choose a valuation table to start from."), "template")
    with atomic_write():
        commitment = Commitment.create(
            company=company_id, **asdict(data), rules_template=template.code, rules_name=template.name,
            **asdict(rules_of(template)), created_by=user.id)
        touch(company_id)
        _audit("sroi.commitment.created", user, commitment, authority=data.authority,
               contract_reference=data.contract_reference, template=template.code,
               obligation_cents=obligation_cents(data.base_cents, data.percentage_bp, data.cap_cents))
    return commitment


def _owned(company_id: int, commitment_id: int) -> Commitment:
    commitment = Commitment.get_or_none((Commitment.id == commitment_id) & (Commitment.company == company_id))
    if commitment is None:
        raise SroiError(_l("That commitment does not exist."))
    return commitment


def has_approvals(commitment_id: int) -> bool:
    return Approval.select().where(Approval.commitment == commitment_id).exists()


def _changes(before: dict, after: dict) -> dict:
    return {name: [before[name], after[name]] for name in after if before[name] != after[name]}


def _update(user, company_id: int, commitment_id: int, after: dict, before, reason: str,
            guarded: tuple[str, ...] | None, refusal, actions: tuple[str, str]) -> Commitment:
    """Save what changed of a commitment (`before(commitment)` against `after`), audited as
    `actions` (a correction, an update). Once the buyer approved anything, a change of the
    `guarded` fields (None: of any) is a correction, refused with `refusal` without a reason."""
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        changes = _changes(before(commitment), after)
        if not changes:
            return commitment
        correction = has_approvals(commitment.id) and (guarded is None or any(name in guarded for name in changes))
        if correction and not reason:
            raise SroiError(refusal, "reason")
        Commitment.update(**after, updated_at=utcnow()).where(Commitment.id == commitment.id).execute()
        touch(company_id)
        corrected, updated = actions
        _audit(corrected if correction else updated, user, commitment, changes=changes, reason=reason)
    return Commitment.get_by_id(commitment.id)


def update_commitment(user, commitment_id: int, data: CommitmentInput, reason: str = "") -> Commitment:
    """Change a commitment's details; once the buyer approved anything, a changed obligation needs a reason."""
    company_id = _company_id(user)
    data = validate_commitment(data)
    reason = _text(reason, 1000, "reason", "")
    return _update(user, company_id, commitment_id, asdict(data), lambda c: asdict(commitment_input(c)), reason,
                   OBLIGATION_FIELDS,
                   _l("The buyer has already approved part of this commitment. Say why the "
                      "obligation changes: the change is recorded as a correction."),
                   actions=("sroi.commitment.corrected", "sroi.commitment.updated"))


def update_rules(user, commitment_id: int, rules: RulesInput, reason: str = "") -> Commitment:
    """Change a commitment's valuation rules; once anything was approved, a reason is required."""
    company_id = _company_id(user)
    rules = validate_rules(rules)
    reason = _text(reason, 1000, "reason", "")
    return _update(user, company_id, commitment_id, asdict(rules), lambda c: asdict(rules_of(c)), reason, None,
                   _l("The buyer has already approved part of this commitment. Say why its "
                      "valuation rules change: the change is recorded as a correction."),
                   actions=("sroi.rules.corrected", "sroi.rules.updated"))


def delete_commitment(user, commitment_id: int) -> None:
    """Remove a commitment recorded by mistake, with its allocations; not once anything was approved."""
    company_id = _company_id(user)
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        if has_approvals(commitment.id):
            raise SroiError(_l("The buyer has approved part of this commitment, so it stays on record. "
                               "Correct it instead."))
        freed = Allocation.delete().where(Allocation.commitment == commitment.id).execute()
        Commitment.delete().where(Commitment.id == commitment.id).execute()
        touch(company_id)
        _audit("sroi.commitment.deleted", user, commitment, authority=commitment.authority,
               contract_reference=commitment.contract_reference, allocations_removed=freed)


_OF_COMPANY = Prepared(lambda company: Commitment.select().where(Commitment.company == company)
                      .order_by(Commitment.deadline_on, Commitment.id))


def company_commitments(company_id: int) -> list[Commitment]:
    return list(_OF_COMPANY(company=company_id))


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    action: str
    actor: str
    details: dict

    @property
    def label(self) -> str:
        return action_label(self.action)


def history(commitment: Commitment) -> list[HistoryEntry]:
    """The audit trail of one commitment, newest first."""
    rows = list(audit.AuditLog.select()
                .where((audit.AuditLog.object_type == "sroi_commitment")
                       & (audit.AuditLog.object_id == str(commitment.id))
                       & (audit.AuditLog.company_id == commitment.company_id))
                .order_by(audit.AuditLog.id.desc()))
    actor_ids = {row.actor_id for row in rows if row.actor_id}
    names = {u.id: u.display_name for u in User.select().where(User.id.in_(list(actor_ids)))} if actor_ids else {}
    return [HistoryEntry(row.at, row.action, names.get(row.actor_id, ""), json.loads(row.details or "{}"))
            for row in rows]


ACTION_LABELS = {
    "sroi.commitment.created": _l("Commitment recorded"),
    "sroi.commitment.updated": _l("Details changed"),
    "sroi.commitment.corrected": _l("Obligation corrected after approval"),
    "sroi.rules.updated": _l("Valuation rules changed"),
    "sroi.rules.corrected": _l("Valuation rules corrected after approval"),
    "sroi.allocation.set": _l("Allocation changed"),
    "sroi.approval.recorded": _l("Approval by the buyer recorded"),
    "sroi.approval.corrected": _l("Approval corrected"),
    "sroi.approval.confirmed": _l("Approval confirmed by the project leader"),
    "sroi.approval.rejected": _l("Approval rejected by the project leader"),
    "sroi.allocation.bulk": _l("Contributions allocated in bulk"),
    "sroi.commitment.deleted": _l("Commitment removed"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
