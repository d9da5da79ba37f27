"""SROI commitments: obligation arithmetic, valuation by a commitment's rules, allocation.

Three amounts per commitment, never confused:
- the obligation: percentage x base, capped (what the contract demands);
- the claim: the company's allocated contributions valued by the commitment's own rules
  (hours at a rate per hour or at the employer's cost, money at cost, materials at their
  confirmed value), which the contracting authority has not necessarily accepted;
- the approval: what the authority confirmed, entered by the company with date and reference.

Every part of a claim names how it was valued. All arithmetic is on integer cents and
integer minutes; a division rounds half-up once, per line, and totals are sums of lines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

import peewee
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit, clock
from portal.core.contributions import describe
from portal.core.db import atomic_write, database, is_sqlite, request_cache, utcnow
from portal.core.errors import UserError
from portal.core.ledger import Posting
from portal.core.money import format_eur
from portal.core.templating import format_hours_unit
from portal.enrollment.models import Enrolment, School
from portal.giving import service as giving_service
from portal.giving.models import Donation, MaterialPledge
from portal.sroi.models import (
    ALLOCATABLE_KINDS,
    BASE_TYPES,
    HOUR_KINDS,
    HOURS_BASES,
    MAX_BASE_CENTS,
    MAX_MINUTES_PER_PERSON,
    MAX_RATE_CENTS,
    Allocation,
    Approval,
    ApprovalEvidence,
    ApprovalReview,
    Commitment,
    ValuationTemplate,
)

# A commitment whose deadline is this close (or past) and whose obligation is not yet
# approved in full is flagged on the dashboard.
DEADLINE_WARNING_DAYS = 60
# Namespace of the PostgreSQL advisory locks taken per contribution key while allocating.
LOCK_NAMESPACE = 60040
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)

BASE_TYPE_LABELS = {
    "contract_value_excl_vat": _l("Contract value excluding VAT"),
    "labour_cost": _l("Labour cost (wage bill)"),
    "turnover": _l("Invoiced turnover"),
}
KIND_LABELS = {
    "hours_sponsored": _l("Sponsored hours"),
    "hours_volunteered": _l("Volunteered hours"),
    "money": _l("Money"),
    "material": _l("Materials"),
}
HOURS_BASIS_LABELS = {
    "rate": _l("a rate per hour set in this commitment's rules"),
    "employer_cost": _l("the employer's own cost, as registered with the hours"),
}
# How money and materials are valued under every commitment (hours depend on the rules).
VALUED_AT = {
    "money": _l("the amount paid"),
    "material": _l("the value confirmed at receipt"),
}
STATUS_LABELS = {
    "ok": "",
    "capped": _l("partly above the cap of hours per person; only the part within the cap counts"),
    "withdrawn": _l("no longer a confirmed contribution; counts for nothing"),
    "reduced": _l("a later correction (reversed hours, a refund) left less of this contribution than was "
                  "allocated; only what remains counts"),
    "not_counted": _l("this kind does not count under the commitment's current rules"),
    "outside_period": _l("dated outside the commitment's period; counts for nothing"),
}

# The valuation tables every installation starts with (the migration seeds the same rows).
SEED_TEMPLATES = (
    {
        "code": "utrecht-bouwblokken", "sort_order": 1,
        "name": "Gemeente Utrecht: building blocks (supporting a social project)",
        "note": ("Utrecht's building-block table values supporting a social project, and schooling, "
                 "knowledge or means, at the costs incurred or EUR 100 per employee per hour. Whether "
                 "ambassador hours in a primary school count is for the municipality's social-return "
                 "adviser to approve."),
        "counts_hours_sponsored": True, "counts_hours_volunteered": False, "counts_money": True,
        "counts_materials": True, "hours_basis": "rate", "hourly_rate_cents": 10000,
        "max_minutes_per_person": None,
    },
    {
        "code": "at-cost", "sort_order": 2,
        "name": "Generic: at cost",
        "note": ("Every contribution at what it cost the company: sponsored hours at the employer's own "
                 "hourly cost, money at the amount paid, materials at their confirmed value."),
        "counts_hours_sponsored": True, "counts_hours_volunteered": False, "counts_money": True,
        "counts_materials": True, "hours_basis": "employer_cost", "hourly_rate_cents": None,
        "max_minutes_per_person": None,
    },
)
TEMPLATE_LABELS = {
    "utrecht-bouwblokken": _l("Gemeente Utrecht: building blocks (supporting a social project)"),
    "at-cost": _l("Generic: at cost"),
}
TEMPLATE_NOTES = {
    "utrecht-bouwblokken": _l("Utrecht's building-block table values supporting a social project, and schooling, "
                              "knowledge or means, at the costs incurred or EUR 100 per employee per hour. Whether "
                              "ambassador hours in a primary school count is for the municipality's social-return "
                              "adviser to approve."),
    "at-cost": _l("Every contribution at what it cost the company: sponsored hours at the employer's own hourly "
                  "cost, money at the amount paid, materials at their confirmed value."),
}
RULE_FIELDS = ("counts_hours_sponsored", "counts_hours_volunteered", "counts_money", "counts_materials",
               "hours_basis", "hourly_rate_cents", "max_minutes_per_person")
COMMITMENT_FIELDS = ("authority", "contract_reference", "description", "base_type", "base_cents",
                     "percentage_bp", "cap_cents", "period_start_on", "period_end_on", "deadline_on",
                     "buyer_contact_name", "buyer_contact_email", "buyer_contact_phone")
# Changing these after an approval changes what was approved: they need a reason.
OBLIGATION_FIELDS = ("base_type", "base_cents", "percentage_bp", "cap_cents", "period_start_on",
                     "period_end_on")


class SroiError(UserError):
    """A refusal to show the user: str() is the translated message; `field` names the form field."""


# --- arithmetic -----------------------------------------------------------------------------

def div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up to a whole number, in integers only.

    For n >= 0 and d > 0: round_half_up(n / d) = floor(n / d + 1/2) = (2n + d) // (2d).
    """
    if denominator <= 0 or numerator < 0:
        raise ValueError("div_half_up needs numerator >= 0 and denominator > 0")
    return (2 * numerator + denominator) // (2 * denominator)


def obligation_cents(base_cents: int, percentage_bp: int, cap_cents: int | None = None) -> int:
    """The social-return obligation in whole cents.

        obligation = min(cap, round_half_up(base x bp / 10 000))
                   = min(cap, (2 x base x bp + 10 000) // 20 000)

    `bp` is the percentage in basis points (5 % = 500), so base x bp / 10 000 is the exact
    amount in cents; it is rounded half-up to the cent. A cap is itself whole cents, so
    capping before or after rounding gives the same result.
    """
    exact_rounded = div_half_up(base_cents * percentage_bp, 10_000)
    return exact_rounded if cap_cents is None else min(exact_rounded, cap_cents)


def hours_value_at_rate(minutes: int, rate_cents: int) -> int:
    """Value of `minutes` at `rate_cents` per hour: round_half_up(minutes x rate / 60)."""
    return div_half_up(minutes * rate_cents, 60)


def share_of_value(value_cents: int, part: int, whole: int) -> int:
    """The value of `part` of `whole` units worth `value_cents`: round_half_up(value x part / whole)."""
    if whole <= 0 or value_cents <= 0:
        return 0
    return div_half_up(value_cents * part, whole)


def parse_percentage_bp(text: str | None) -> int:
    """'5', '5 %', '2,5' or '2.25' -> basis points (500, 250, 225); more than 0, at most 100 %."""
    cleaned = (text or "").strip().rstrip("%").strip().replace(",", ".")
    if not cleaned:
        raise SroiError(_l("Please enter the percentage from the contract, such as 5."), "percentage")
    if not re.fullmatch(r"[-+]?\d{1,6}(\.\d{1,8})?", cleaned):
        raise SroiError(_l("Enter the percentage as a number, such as 5 or 2,5."), "percentage")
    value = Decimal(cleaned)
    if value <= 0 or value > 100:
        raise SroiError(_l("The percentage must be more than 0 and at most 100."), "percentage")
    basis_points = value * 100
    if basis_points != basis_points.to_integral_value():
        raise SroiError(_l("A percentage has at most two decimals, such as 2,25."), "percentage")
    return int(basis_points)


def format_percentage(basis_points: int, language: str = "nl") -> str:
    """500 -> '5%', 250 -> '2,5%' (Dutch) or '2.5%' (English)."""
    whole, fraction = divmod(int(basis_points), 100)
    text = str(whole) if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0")
    return (text.replace(".", ",") if language == "nl" else text) + "%"


def parse_minutes(text: str | None, *, field_name: str = "amount") -> int:
    """'7:30', '7,5', '7.25' or '8' hours -> whole minutes (more than zero)."""
    cleaned = (text or "").strip().lower()
    cleaned = re.sub(r"\s*(h|u|uur|hours?)$", "", cleaned)
    if not cleaned:
        raise SroiError(_l("Please enter a number of hours, such as 7:30."), field_name)
    clock = re.fullmatch(r"(\d{1,6}):([0-5]\d)", cleaned)
    if clock:
        minutes = int(clock.group(1)) * 60 + int(clock.group(2))
    elif re.fullmatch(r"\d{1,6}([.,]\d{1,2})?", cleaned):
        exact = Decimal(cleaned.replace(",", ".")) * 60
        if exact != exact.to_integral_value():
            raise SroiError(_l("Enter whole minutes, for example 7:20 instead of 7,33."), field_name)
        minutes = int(exact)
    else:
        raise SroiError(_l("Enter hours as 7:30 or 7,5."), field_name)
    if minutes <= 0:
        raise SroiError(_l("The number of hours must be more than zero."), field_name)
    return minutes


def format_minutes(minutes: int) -> str:
    """450 -> '7:30' (hours and minutes)."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    return f"{sign}{hours:,}:{rest:02d}".replace(",", ".")


# --- templates ------------------------------------------------------------------------------

def ensure_templates() -> None:
    """Seed the standard valuation tables if they are missing (idempotent)."""
    with database.atomic():
        ValuationTemplate.insert_many(SEED_TEMPLATES).on_conflict_ignore().execute()


def valuation_templates() -> list[ValuationTemplate]:
    """The valuation tables a new commitment can copy its rules from."""
    if not ValuationTemplate.select().exists():
        ensure_templates()
    return list(ValuationTemplate.select().order_by(ValuationTemplate.sort_order, ValuationTemplate.id))


def template_label(code: str, fallback: str = "") -> str:
    """A valuation table's name in the reader's language (seeded tables are translated)."""
    label = TEMPLATE_LABELS.get(code)
    return str(label) if label is not None else fallback


def template_note(code: str, fallback: str = "") -> str:
    note = TEMPLATE_NOTES.get(code)
    return str(note) if note is not None else fallback


# --- commitments ----------------------------------------------------------------------------

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


@dataclass
class RulesInput:
    counts_hours_sponsored: bool
    counts_hours_volunteered: bool
    counts_money: bool
    counts_materials: bool
    hours_basis: str
    hourly_rate_cents: int | None
    max_minutes_per_person: int | None


def _text(value: str | None, limit: int, field_name: str, label, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise SroiError(_l("Please fill in %(field)s.", field=label), field_name)
    if len(value) > limit:
        raise SroiError(_l("Use at most %(count)d characters.", count=limit), field_name)
    return value


def _date(value, field_name: str) -> dt.date:
    if not isinstance(value, dt.date):
        raise SroiError(_l("Please enter a date."), field_name)
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise SroiError(_l("Please enter a date between 2000 and 2100."), field_name)
    return value


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


def validate_rules(rules: RulesInput) -> RulesInput:
    """Check a commitment's valuation rules, or raise SroiError naming the field."""
    if rules.hours_basis not in HOURS_BASES:
        raise SroiError(_l("Choose how hours are valued."), "hours_basis")
    rate = rules.hourly_rate_cents
    if rules.hours_basis == "rate":
        if rate is None:
            raise SroiError(_l("Enter the rate per hour from the buyer's valuation table."), "hourly_rate")
        if rate <= 0 or rate > MAX_RATE_CENTS:
            raise SroiError(_l("The rate per hour must be more than zero and at most %(maximum)s.",
                               maximum=format_eur(MAX_RATE_CENTS, _language())), "hourly_rate")
    else:
        rate = None
    cap = rules.max_minutes_per_person
    if cap is not None and not 0 < cap <= MAX_MINUTES_PER_PERSON:
        raise SroiError(_l("The cap per person must be more than zero and at most %(hours)d hours.",
                           hours=MAX_MINUTES_PER_PERSON // 60), "max_hours_per_person")
    if rules.counts_hours_volunteered and rules.hours_basis != "rate":
        raise SroiError(_l("Volunteered hours cost the employer nothing: count them only at a rate per hour."),
                        "counts_hours_volunteered")
    if not (rules.counts_hours_sponsored or rules.counts_hours_volunteered or rules.counts_money
            or rules.counts_materials):
        raise SroiError(_l("Choose at least one kind of contribution that counts."), "counts_hours_sponsored")
    return RulesInput(bool(rules.counts_hours_sponsored), bool(rules.counts_hours_volunteered),
                      bool(rules.counts_money), bool(rules.counts_materials), rules.hours_basis, rate, cap)


def rules_of(source) -> RulesInput:
    """The valuation rules of a commitment or template."""
    return RulesInput(**{name: getattr(source, name) for name in RULE_FIELDS})


def counts_kind(commitment, kind: str) -> bool:
    return {
        "hours_sponsored": commitment.counts_hours_sponsored,
        "hours_volunteered": commitment.counts_hours_volunteered,
        "money": commitment.counts_money,
        "material": commitment.counts_materials,
    }.get(kind, False)


def commitment_input(commitment: Commitment) -> CommitmentInput:
    return CommitmentInput(**{name: getattr(commitment, name) for name in COMMITMENT_FIELDS})


def _language() -> str:
    """The language of the current request, Dutch outside one."""
    try:
        from flask_babel import get_locale

        return str(get_locale() or "nl")
    except RuntimeError:
        return "nl"


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


def update_commitment(user, commitment_id: int, data: CommitmentInput, reason: str = "") -> Commitment:
    """Change a commitment's details; once the buyer approved anything, a changed obligation needs a reason."""
    company_id = _company_id(user)
    data = validate_commitment(data)
    reason = _text(reason, 1000, "reason", "")
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        changes = _changes(asdict(commitment_input(commitment)), asdict(data))
        if not changes:
            return commitment
        correction = has_approvals(commitment.id) and any(name in OBLIGATION_FIELDS for name in changes)
        if correction and not reason:
            raise SroiError(_l("The buyer has already approved part of this commitment. Say why the "
                               "obligation changes: the change is recorded as a correction."), "reason")
        Commitment.update(**asdict(data), updated_at=utcnow()).where(Commitment.id == commitment.id).execute()
        _audit("sroi.commitment.corrected" if correction else "sroi.commitment.updated", user, commitment,
               changes=changes, reason=reason)
    return Commitment.get_by_id(commitment.id)


def update_rules(user, commitment_id: int, rules: RulesInput, reason: str = "") -> Commitment:
    """Change a commitment's valuation rules; once anything was approved, a reason is required."""
    company_id = _company_id(user)
    rules = validate_rules(rules)
    reason = _text(reason, 1000, "reason", "")
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        changes = _changes(asdict(rules_of(commitment)), asdict(rules))
        if not changes:
            return commitment
        correction = has_approvals(commitment.id)
        if correction and not reason:
            raise SroiError(_l("The buyer has already approved part of this commitment. Say why its "
                               "valuation rules change: the change is recorded as a correction."), "reason")
        Commitment.update(**asdict(rules), updated_at=utcnow()).where(Commitment.id == commitment.id).execute()
        _audit("sroi.rules.corrected" if correction else "sroi.rules.updated", user, commitment,
               changes=changes, reason=reason)
    return Commitment.get_by_id(commitment.id)


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
        _audit("sroi.commitment.deleted", user, commitment, authority=commitment.authority,
               contract_reference=commitment.contract_reference, allocations_removed=freed)


# --- approvals by the buyer -----------------------------------------------------------------

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
    from portal.sroi.evidence import Evidence

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


def approval_evidence(commitment_id: int, approval_id: int) -> ApprovalEvidence | None:
    """The letter of one approval of one commitment (the caller checked who may see the commitment)."""
    return (ApprovalEvidence.select().join(Approval, on=(ApprovalEvidence.approval == Approval.id))
            .where((Approval.id == approval_id) & (Approval.commitment == commitment_id)).first())


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
    from portal.accounts.models import User

    rows = list(audit.AuditLog.select()
                .where((audit.AuditLog.object_type == "sroi_commitment")
                       & (audit.AuditLog.object_id == str(commitment.id))
                       & (audit.AuditLog.company_id == commitment.company_id))
                .order_by(audit.AuditLog.id.desc()))
    actor_ids = {row.actor_id for row in rows if row.actor_id}
    names = {u.id: u.display_name for u in User.select().where(User.id.in_(list(actor_ids)))} if actor_ids else {}
    return [HistoryEntry(row.at, row.action, names.get(row.actor_id, ""), json.loads(row.details or "{}"))
            for row in rows]


# --- allocation -----------------------------------------------------------------------------
#
# A contribution is known by its key and kind together: one hours row can be partly sponsored
# and partly volunteered, and the enrolment capability posts both halves under the same key.
# Corrections arrive as separate negative contributions (reversed hours, a refund), so
# contributions are also netted per group (the hours of one person of one kind; the money
# under one payment reference): nothing counts beyond what a group nets to.
#
# Contributions are read from the books (core.ledger's postings): the postings of one key and
# kind, summed in SQL; a contribution whose postings net to no line (a refund that failed, a
# withdrawal) is gone. A company's pool holds only what its commitments can use: what is dated
# inside one of their periods (and money after it under a payment reference of the period: a
# later refund or chargeback nets with its donation) and what is already allocated. Netting groups are summed over the pool:
# a reversal or correction of hours is dated on its session's day, so it lies in the pool with
# the session; hours of the same person dated outside every period (which no commitment can
# use) do not widen the group.

Ident = tuple[str, str]


def whole_of(contribution) -> int:
    """What can be allocated of a contribution: minutes for hours, cents of its own value otherwise."""
    return contribution.minutes if contribution.kind in HOUR_KINDS else contribution.value_cents


def allocated_amount(allocation: Allocation) -> int:
    return allocation.minutes if allocation.kind in HOUR_KINDS else allocation.cents


def format_amount(kind: str, amount: int, language: str = "nl") -> str:
    """An allocation amount for people: hours as h:mm, the rest in euros."""
    return format_hours_unit(amount, language) if kind in HOUR_KINDS else format_eur(amount, language)


def group_of(contribution) -> str:
    """The netting group: corrections of a contribution fall in the same group as the original."""
    if contribution.kind in HOUR_KINDS:
        return f"{contribution.kind}|{contribution.company_id}|person|{contribution.person or contribution.key}"
    if contribution.kind == "money" and contribution.reference:
        return f"money|{contribution.company_id}|reference|{contribution.reference}"
    return f"{contribution.kind}|{contribution.company_id}|key|{contribution.key}"


# The words of a contribution are made when it is shown, in the reader's language, from the
# facts of its postings; the source code says what happened.
HOURS_SOURCE_LABELS = {
    "hours.reversal": _l("Reversal"),
    "hours.correction": _l("Correction"),
}
MONEY_SOURCE_LABELS = {
    "donation.paid": _l("Donation"),
    "refund.succeeded": _l("Refund"),
    "dispute.withdrawn": _l("Chargeback"),
    "dispute.reinstated": _l("Chargeback reversed"),
}


class Facts:
    """What the words of a pool's contributions need from the capabilities that recorded them:
    the school of an enrolment, a donation's number, classification and earmark, a pledge's
    quantity and description. Read in three queries the first time a contribution is shown."""

    def __init__(self) -> None:
        self.subjects: dict[str, set[int]] = {"hours": set(), "money": set(), "material": set()}
        self._read = False
        self.schools: dict[int, str] = {}
        self.donations: dict[int, Donation] = {}
        self.pledges: dict[int, tuple[int, str]] = {}
        self._said: dict[tuple[str, str, str], str] = {}

    def add(self, contribution: Booked) -> None:
        if contribution.subject_id is not None:
            kind = "hours" if contribution.kind in HOUR_KINDS else contribution.kind
            self.subjects.setdefault(kind, set()).add(contribution.subject_id)

    def read(self) -> Facts:
        if not self._read:
            self._read = True
            schools = (Enrolment.select(Enrolment.id, School.name)
                       .join(School, peewee.JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
                       .where(Enrolment.id.in_(sorted(self.subjects["hours"]))))
            self.schools = {enrolment: name for enrolment, name in schools.tuples() if name}
            donations = (Donation.select(Donation.id, Donation.classification, Donation.earmark_school,
                                         Donation.earmark_purpose)
                         .where(Donation.id.in_(sorted(self.subjects["money"]))))
            self.donations = {donation.id: donation for donation in donations}
            pledges = (MaterialPledge.select(MaterialPledge.id, MaterialPledge.quantity, MaterialPledge.description)
                       .where(MaterialPledge.id.in_(sorted(self.subjects["material"]))))
            self.pledges = {pledge: (quantity, text) for pledge, quantity, text in pledges.tuples()}
        return self

    def describe(self, contribution: Booked) -> str:
        """A contribution in words, in the language of the moment (a request's, or a forced one)."""
        said = (contribution.key, contribution.kind, str(get_locale()))
        if said not in self._said:   # a page names a contribution more than once
            self._said[said] = self._words(contribution)
        return self._said[said]

    def _words(self, contribution: Booked) -> str:
        facts = self.read()
        subject = contribution.subject_id
        if contribution.kind in HOUR_KINDS:
            parts = [KIND_LABELS[contribution.kind], HOURS_SOURCE_LABELS.get(contribution.source),
                     facts.schools.get(subject)]
        elif contribution.kind == "money":
            donation = facts.donations.get(subject)
            label = str(MONEY_SOURCE_LABELS.get(contribution.source, KIND_LABELS["money"]))
            parts = [f"{label} {donation.number}" if donation is not None else label]
            if donation is not None and contribution.source == "donation.paid":
                parts.append(giving_service.donation_description(donation))
        else:
            pledge = facts.pledges.get(subject)
            parts = [f"{pledge[0]} × {pledge[1]}" if pledge else KIND_LABELS.get(contribution.kind, contribution.kind)]
        return " · ".join(str(part) for part in parts if part)


@dataclass(frozen=True)
class Booked:
    """One contribution as the ledger holds it: the postings of one key and kind, summed."""

    kind: str
    key: str
    company_id: int
    on: dt.date             # the business date (the earliest of its postings)
    minutes: int            # hours: what the postings add up to
    value_cents: int        # what it is worth (for hours, at the employer's cost)
    lines: int = 1          # more than 0 while the contribution stands (a failed refund brings it to 0)
    person: str = ""        # the ambassador, for hours
    reference: str = ""     # the payment reference that ties a donation's corrections to it
    source: str = ""        # what was posted: hours.confirmed, donation.paid, refund.succeeded...
    subject_id: int | None = None   # the enrolment (hours), donation (money) or pledge (materials)
    facts: Facts | None = field(default=None, compare=False, repr=False)

    @property
    def description(self) -> str:
        if self.facts is None:
            return str(KIND_LABELS.get(self.kind, self.kind))
        return self.facts.describe(self)


@dataclass
class Pool:
    """Contributions a set of commitments can use, by (key, kind), and what each netting group adds up to."""

    live: dict[Ident, Booked]
    group_net: dict[str, int]
    gone: dict[Ident, Booked] = field(default_factory=dict)   # allocated, but their postings net to nothing

    def get(self, key: str, kind: str) -> Booked | None:
        return self.live.get((key, kind))

    def of(self, allocation: Allocation) -> Booked | None:
        contribution = self.live.get((allocation.contribution_key, allocation.kind))
        if contribution is None or contribution.company_id != allocation.company_id:
            return None
        return contribution

    def record(self, allocation: Allocation) -> Booked | None:
        """What the books say of an allocated contribution, even one withdrawn since (for its words)."""
        ident = (allocation.contribution_key, allocation.kind)
        found = self.live.get(ident) or self.gone.get(ident)
        return found if found is not None and found.company_id == allocation.company_id else None


def make_pool(found: Iterable) -> Pool:
    """A pool of contributions given one by one (anything with the fields group_of and whole_of
    read): for callers that hold contributions of their own; SROI's pages read pool_for()."""
    live: dict[Ident, object] = {}
    group_net: dict[str, int] = {}
    for contribution in found:
        ident = (contribution.key, contribution.kind)
        if ident in live:  # a source reporting one identity twice: count it once, summed
            earlier = live[ident]
            contribution = replace(earlier, minutes=earlier.minutes + contribution.minutes,
                                   value_cents=earlier.value_cents + contribution.value_cents)
            group_net[group_of(earlier)] -= whole_of(earlier)
        live[ident] = contribution
        group_net[group_of(contribution)] = group_net.get(group_of(contribution), 0) + whole_of(contribution)
    return Pool(live, group_net)


def _scope(companies: tuple[int, ...] | None) -> peewee.CompoundSelectQuery:
    """(company_id, key, kind) of every contribution the companies' commitments can use: posted
    with a date inside one of their periods, or already allocated; and money posted after a
    period under the payment reference of money of the period (a later refund or chargeback of
    one of its donations, which nets with it). None: every company with a commitment."""

    def dated(*columns, later: bool = False) -> peewee.ModelSelect:
        period = Commitment.alias("sroi_period")
        window = (Posting.dated_on > period.period_end_on) if later else (Posting.dated_on <= period.period_end_on)
        found = (Posting.select(*columns)
                 .from_(peewee.Join(period, Posting, peewee.JOIN.CROSS))   # each period, then its postings
                 .where((Posting.company_id == period.company)
                        # booked_on >= dated_on always: the (company, booked_on) index starts here
                        & (Posting.booked_on >= period.period_start_on)
                        & (Posting.dated_on >= period.period_start_on) & window
                        & Posting.kind.in_(("money",) if later else ALLOCATABLE_KINDS)))
        return found if companies is None else found.where(period.company.in_(companies))

    references = dated(Posting.company_id, Posting.reference).where(
        (Posting.kind == "money") & (Posting.reference != ""))
    later = dated(Posting.company_id, Posting.key, Posting.kind, later=True).where(
        (Posting.reference != "") & peewee.Tuple(Posting.company_id, Posting.reference).in_(references))
    allocated = Allocation.select(Allocation.company.alias("company_id"), Allocation.contribution_key.alias("key"),
                                  Allocation.kind.alias("kind"))
    if companies is not None:
        allocated = allocated.where(Allocation.company.in_(companies))
    return dated(Posting.company_id, Posting.key, Posting.kind) | later | allocated


def _by_key(keys) -> peewee.Expression:
    """Postings of the (company_id, key, kind) rows of `keys`, found through the (key, kind) index.
    Read without statistics, SQLite's planner would rather walk the postings (a company's whole
    history): a CROSS JOIN keeps the keys the outer loop there (PostgreSQL plans it as any join),
    and the unary plus keeps the (company, booked_on) index out of the lookup."""
    return ((peewee.NodeList((peewee.SQL("+"), Posting.company_id), glue="") == keys.c.company_id)
            & (Posting.key == keys.c.key) & (Posting.kind == keys.c.kind))


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _read_pool(companies: tuple[int, ...] | None) -> Pool:
    """One query: the contributions in scope, each summed over all its postings (in SQL). The
    netting groups are summed from them: a person's hours of one kind, the money under one
    payment reference, each within what the commitments can use."""
    facts = Facts()
    keys = _scope(companies).alias("sroi_keys")
    first_source = peewee.fn.MIN(peewee.Case(None, [(Posting.lines > 0, Posting.source)], None))
    rows = (Posting.select(Posting.company_id, Posting.kind, Posting.key, peewee.fn.MIN(Posting.dated_on),
                           peewee.fn.SUM(Posting.lines), peewee.fn.SUM(Posting.minutes),
                           peewee.fn.SUM(Posting.value_cents), peewee.fn.MAX(Posting.person),
                           peewee.fn.MAX(Posting.reference), first_source, peewee.fn.MAX(Posting.subject_id))
            .from_(peewee.Join(keys, Posting, peewee.JOIN.CROSS))   # the keys first, then their postings
            .where(_by_key(keys))
            .group_by(Posting.company_id, Posting.kind, Posting.key))
    live: dict[Ident, Booked] = {}
    gone: dict[Ident, Booked] = {}
    group_net: dict[str, int] = {}
    for company, kind, key, on, lines, minutes, value, person, reference, source, subject in rows.tuples():
        found = Booked(kind=kind, key=key, company_id=company, on=_as_date(on), minutes=int(minutes or 0),
                       value_cents=int(value or 0), lines=int(lines or 0), person=person or "",
                       reference=reference or "", source=source or "", subject_id=subject, facts=facts)
        facts.add(found)
        if found.lines > 0:
            live[(key, kind)] = found
            group = group_of(found)
            group_net[group] = group_net.get(group, 0) + whole_of(found)
        else:
            gone[(key, kind)] = found
    return Pool(live, group_net, gone)


def pool_for(company_id: int | Iterable[int] | None) -> Pool:
    """What the commitments of a company, of several companies, or of every company (None) can use.

    A page that evaluates several panels (a dashboard) reads it once: the pool is kept for the
    rest of a GET request, and forgotten by every write transaction."""
    ids = company_id if company_id is None or isinstance(company_id, int) else tuple(sorted(set(company_id)))
    cache = request_cache()
    if cache is not None and ("sroi.pool", ids) in cache:
        return cache[("sroi.pool", ids)]
    pool = _read_pool((ids,) if isinstance(ids, int) else ids)
    if cache is not None:
        cache[("sroi.pool", ids)] = pool
    return pool


def lock_key(name: str) -> int:
    """A stable signed 32-bit number for a lock name (the PostgreSQL advisory lock's second half)."""
    value = zlib.crc32(name.encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value


def lock_groups(groups: Iterable[str]) -> None:
    """Serialise allocations of these netting groups until the transaction ends.

    On SQLite the IMMEDIATE transaction already holds the only write lock. On PostgreSQL a
    transaction-scoped advisory lock per group (which holds the contribution) makes a second
    allocator wait until the first has committed, so its check sees the first one's row.
    Groups are locked in sorted order so two multi-group transactions cannot deadlock.
    """
    if is_sqlite():
        return
    for name in sorted(set(groups)):
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, lock_key(name)))


def _pick(pool: Pool, company_id: int, key: str, kind: str | None) -> Booked | None:
    if kind:
        found = pool.get(key, kind)
        return found if found is not None and found.company_id == company_id else None
    matches = [c for (k, _kind), c in pool.live.items() if k == key and c.company_id == company_id]
    if len(matches) > 1:
        raise SroiError(_l("This contribution has several parts; choose which part to allocate."), "amount")
    return matches[0] if matches else None


@dataclass(frozen=True)
class Room:
    whole: int          # the contribution's own minutes or cents
    here: int           # allocated to this commitment
    elsewhere: int      # allocated to other commitments
    most: int           # the most this commitment may hold of it (can be below `here` after a correction)
    group_limited: bool  # a correction in the group is what limits `most`

    @property
    def free(self) -> int:
        return max(0, self.most - self.here)


def _room(pool: Pool, contribution: Booked, commitment_id: int, rows: Iterable[Allocation]) -> Room:
    """What is allocated of a contribution, here and elsewhere, and what is still free."""
    key, kind, group = contribution.key, contribution.kind, group_of(contribution)
    here = elsewhere = group_used = 0
    for row in rows:
        if row.kind != kind:
            continue
        amount = allocated_amount(row)
        if row.contribution_key == key:
            if row.commitment_id == commitment_id:
                here += amount
                continue
            elsewhere += amount
        other = pool.of(row)
        if other is not None and group_of(other) == group:
            group_used += amount
    return _room_from(whole_of(contribution), here, elsewhere, pool.group_net.get(group, 0), group_used)


def _room_from(whole: int, here: int, elsewhere: int, group_net: int, group_used: int) -> Room:
    """`group_used`: what other allocations (not this commitment's of this contribution) take of the group."""
    own_free = whole - here - elsewhere
    group_free = group_net - group_used - here
    # The most this commitment may hold; below `here` when a correction shrank the group.
    most = max(0, here + min(own_free, group_free))
    return Room(whole, here, elsewhere, most, group_free < own_free)


def _rooms(pool: Pool, commitment_id: int, rows: Iterable[Allocation]):
    """_room for many contributions of the rows' company at once: the allocations are summed once."""
    here_of: dict[Ident, int] = {}
    all_of: dict[Ident, int] = {}
    used_of: dict[str, int] = {}
    for row in rows:
        ident, amount = (row.contribution_key, row.kind), allocated_amount(row)
        all_of[ident] = all_of.get(ident, 0) + amount
        if row.commitment_id == commitment_id:
            here_of[ident] = here_of.get(ident, 0) + amount
        other = pool.of(row)
        if other is not None:
            used_of[group_of(other)] = used_of.get(group_of(other), 0) + amount

    def room(contribution: Booked) -> Room:
        ident, group = (contribution.key, contribution.kind), group_of(contribution)
        here = here_of.get(ident, 0)
        # This commitment's own rows of the contribution are in the group's use: they are `here`.
        return _room_from(whole_of(contribution), here, all_of.get(ident, 0) - here, pool.group_net.get(group, 0),
                          used_of.get(group, 0) - here)

    return room


def _rows_for(company_id: int, key: str, kind: str) -> list[Allocation]:
    """Allocations that bear on one contribution: the company's of that kind, and any of that key."""
    return list(Allocation.select().where(
        (Allocation.kind == kind) & ((Allocation.company == company_id) | (Allocation.contribution_key == key))))


def _set_allocation_locked(user, company_id: int, commitment: Commitment, contribution: Booked,
                           amount: int, pool: Pool) -> Allocation | None:
    """The check and the write; the caller holds the transaction and the lock on the group."""
    if not commitment.period_start_on <= contribution.on <= commitment.period_end_on:
        raise SroiError(_l("That contribution is not among your company's confirmed contributions in "
                           "this commitment's period."), "amount")
    if not counts_kind(commitment, contribution.kind):
        raise SroiError(_l("This kind of contribution (%(kind)s) does not count under this commitment's rules.",
                           kind=KIND_LABELS.get(contribution.kind, contribution.kind)), "amount")
    key, kind = contribution.key, contribution.kind
    if whole_of(contribution) <= 0:
        raise SroiError(_l("This contribution has no value left to allocate."), "amount")
    room = _room(pool, contribution, commitment.id, _rows_for(company_id, key, kind))
    if amount > room.most:
        most = format_amount(kind, room.most, _language())
        if room.group_limited:
            raise SroiError(_l("Only %(free)s of this contribution can count here: a later correction "
                               "(reversed hours or a refund) reduced what it is worth.", free=most), "amount")
        raise SroiError(_l("Only %(free)s of this contribution is still free to allocate here: a contribution "
                           "never counts for more than its whole value.", free=most), "amount")
    existing = Allocation.get_or_none((Allocation.commitment == commitment.id) & (Allocation.contribution_key == key)
                                      & (Allocation.kind == kind))
    hours = kind in HOUR_KINDS
    if amount == 0:
        if existing is None:
            return None
        Allocation.delete().where(Allocation.id == existing.id).execute()
        return _audited(user, commitment, room, key, kind, amount, None)
    # The contribution's words are saved too, in the allocating user's language: shown only should
    # the books no longer know the contribution (pages make its words afresh in the reader's).
    with force_locale(getattr(user, "language", None) or "nl"):
        words = contribution.description[:300]
    if existing is not None:
        Allocation.update(minutes=amount if hours else 0, cents=0 if hours else amount, updated_at=utcnow(),
                          contribution_on=contribution.on, description=words,
                          person=contribution.person[:200]).where(Allocation.id == existing.id).execute()
        result = Allocation.get_by_id(existing.id)
    else:
        result = Allocation.create(
            commitment=commitment.id, company=company_id, contribution_key=key, kind=kind,
            minutes=amount if hours else 0, cents=0 if hours else amount, contribution_on=contribution.on,
            description=words, person=contribution.person[:200], created_by=user.id)
    return _audited(user, commitment, room, key, kind, amount, result)


def _audited(user, commitment: Commitment, room: Room, key: str, kind: str, amount: int,
             result: Allocation | None) -> Allocation | None:
    if room.here != amount:
        _audit("sroi.allocation.set", user, commitment, contribution_key=key, kind=kind,
               before=room.here, after=amount, whole=room.whole)
    return result


def set_allocation(user, commitment_id: int, key: str, amount: int, kind: str | None = None) -> Allocation | None:
    """Count `amount` (minutes for hours, cents otherwise) of one contribution toward a commitment.

    Replaces what this commitment had of the contribution; 0 removes it. Refused when the
    contribution is not the company's, falls outside the period, does not count under the
    rules, or would be counted for more than it is worth across all commitments.
    """
    company_id = _company_id(user)
    key = (key or "").strip()
    if not key or len(key) > 64:
        raise SroiError(_l("Choose a contribution."), "amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise SroiError(_l("The amount cannot be negative."), "amount")
    with atomic_write():
        pool = pool_for(company_id)
        contribution = _pick(pool, company_id, key, kind)
        if contribution is None:
            raise SroiError(_l("That contribution is not among your company's confirmed contributions in "
                               "this commitment's period."), "amount")
        lock_groups([group_of(contribution)])
        commitment = _owned(company_id, commitment_id)
        return _set_allocation_locked(user, company_id, commitment, contribution, amount, pool)


def remove_allocation(user, commitment_id: int, allocation_id: int) -> None:
    """Stop counting one allocated contribution toward a commitment."""
    company_id = _company_id(user)
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        allocation = Allocation.get_or_none((Allocation.id == allocation_id) & (Allocation.commitment == commitment.id))
        if allocation is None:
            raise SroiError(_l("That allocation does not exist."))
        Allocation.delete().where(Allocation.id == allocation.id).execute()
        _audit("sroi.allocation.set", user, commitment, contribution_key=allocation.contribution_key,
               kind=allocation.kind, before=allocated_amount(allocation), after=0)


# --- valuation: what a commitment's allocations are worth by its rules ----------------------------

@dataclass
class Line:
    """One allocated contribution as it counts toward one commitment."""

    allocation: Allocation
    contribution: Booked | None
    kind: str
    allocated: int          # minutes or cents, as allocated
    counted: int            # minutes or cents that count after every limit
    value_cents: int        # SROI value by the commitment's rules
    status: str = "ok"
    record: Booked | None = None   # what the books say of it, also once withdrawn (for its words)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, ""))

    @property
    def on(self) -> dt.date:
        return self.contribution.on if self.contribution else self.allocation.contribution_on

    @property
    def description(self) -> str:
        """In the reader's language, from the books; the words saved with the allocation only for a
        contribution the books no longer know."""
        found = self.contribution or self.record
        if found is not None:
            return found.description
        # Allocations saved before words were made when shown hold an English sentence: read back.
        allocation = self.allocation
        return describe({"kind": allocation.kind, "person": allocation.person,
                         "description": allocation.description})

    @property
    def person(self) -> str:
        return self.contribution.person if self.contribution else self.allocation.person


@dataclass
class KindTotal:
    kind: str
    allocated: int = 0      # minutes or cents
    counted: int = 0        # minutes or cents
    value_cents: int = 0
    lines: int = 0

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


def deadline_warning(gap_cents: int, days_left: int) -> str:
    """'overdue', 'near' or '': it depends on the obligation and the approvals alone, not the claim."""
    if gap_cents == 0:
        return ""
    if days_left < 0:
        return "overdue"
    return "near" if days_left <= DEADLINE_WARNING_DAYS else ""


def _warning_of(commitment: Commitment, approvals: list[Approval], today: dt.date) -> str:
    obligation = obligation_cents(commitment.base_cents, commitment.percentage_bp, commitment.cap_cents)
    gap = max(0, obligation - sum(approval.amount_cents for approval in approvals if approval.status == "confirmed"))
    return deadline_warning(gap, (commitment.deadline_on - today).days)


@dataclass
class Summary:
    """The three amounts of a commitment, and how the claim was built."""

    commitment: Commitment
    obligation_cents: int
    lines: list[Line]
    totals: dict[str, KindTotal]
    approvals: list[Approval]
    today: dt.date = field(default_factory=clock.today)

    @property
    def claimed_cents(self) -> int:
        """The claim: the sum of the lines, each valued by this commitment's rules."""
        return sum(line.value_cents for line in self.lines)

    @property
    def approved_cents(self) -> int:
        """What the buyer approved and the project leader confirmed against the buyer's letter."""
        return sum(approval.amount_cents for approval in self.approvals if approval.status == "confirmed")

    @property
    def awaiting_cents(self) -> int:
        """Approvals the company recorded that wait for the project leader's confirmation."""
        return sum(approval.amount_cents for approval in self.approvals if approval.status == "pending")

    @property
    def awaiting(self) -> list[Approval]:
        return [approval for approval in self.approvals if approval.status == "pending"]

    @property
    def gap_cents(self) -> int:
        """What the buyer has yet to approve before the obligation is met."""
        return max(0, self.obligation_cents - self.approved_cents)

    @property
    def unclaimed_cents(self) -> int:
        """What is still missing even if the buyer approves every claim."""
        return max(0, self.obligation_cents - self.claimed_cents)

    @property
    def pending_cents(self) -> int:
        """Claimed but not (yet) approved."""
        return max(0, self.claimed_cents - self.approved_cents)

    @property
    def approved_percent(self) -> int:
        return min(100, self.approved_cents * 100 // self.obligation_cents) if self.obligation_cents else 100

    @property
    def claimed_percent(self) -> int:
        return min(100, self.claimed_cents * 100 // self.obligation_cents) if self.obligation_cents else 100

    @property
    def days_left(self) -> int:
        return (self.commitment.deadline_on - self.today).days

    @property
    def warning(self) -> str:
        """'overdue', 'near' or '' for a deadline with an obligation not yet approved in full."""
        return deadline_warning(self.gap_cents, self.days_left)

    @property
    def problems(self) -> list[Line]:
        return [line for line in self.lines if line.status not in ("ok", "capped")]

    def total(self, kind: str) -> KindTotal:
        return self.totals[kind]


def hours_basis_label(commitment, language: str | None = None) -> str:
    """How this commitment values hours, in words (e.g. 'EUR 100.00 per hour, ...')."""
    if commitment.hours_basis == "rate":
        return str(_l("%(rate)s per hour (the rate in this commitment's rules)",
                      rate=format_eur(commitment.hourly_rate_cents, language or _language())))
    return str(_l("the employer's own cost, as registered with the hours"))


def _grants(allocations: list[Allocation], pool: Pool) -> dict[int, tuple[int, str]]:
    """How much of each allocation its contribution still covers, first allocated first served.

    Normally every allocation is covered in full (allocation is checked). If a source later
    withdraws a contribution, or a correction (reversed hours, a refund) lowers what its group
    nets to, the oldest allocations keep their share and the rest count for less: nothing is
    ever counted for more than it is now worth.
    """
    used_own: dict[Ident, int] = {}
    used_group: dict[str, int] = {}
    grants: dict[int, tuple[int, str]] = {}
    for allocation in sorted(allocations, key=lambda a: a.id):
        contribution = pool.of(allocation)
        amount = allocated_amount(allocation)
        if contribution is None:
            grants[allocation.id] = (0, "withdrawn")
            continue
        ident, group = (contribution.key, contribution.kind), group_of(contribution)
        own_free = whole_of(contribution) - used_own.get(ident, 0)
        group_free = pool.group_net.get(group, 0) - used_group.get(group, 0)
        granted = max(0, min(amount, own_free, group_free))
        used_own[ident] = used_own.get(ident, 0) + granted
        used_group[group] = used_group.get(group, 0) + granted
        grants[allocation.id] = (granted, "ok" if granted == amount else "reduced")
    return grants


def _value_of(commitment: Commitment, contribution: Booked, amount: int) -> int:
    """The value of `amount` (minutes or cents) of a contribution by the commitment's rules."""
    if contribution.kind in HOUR_KINDS:
        if commitment.hours_basis == "rate":
            return hours_value_at_rate(amount, commitment.hourly_rate_cents)
        return share_of_value(contribution.value_cents, amount, contribution.minutes)
    return amount


def _evaluate(commitment: Commitment, allocations: list[Allocation], grants: dict[int, tuple[int, str]],
              pool: Pool, approvals: list[Approval], today: dt.date) -> Summary:
    totals = {kind: KindTotal(kind) for kind in KIND_LABELS}
    lines: list[Line] = []
    used_per_person: dict[str, int] = {}
    for allocation in sorted(allocations, key=lambda a: (a.contribution_on, a.id)):
        contribution = pool.of(allocation)
        granted, status = grants.get(allocation.id, (0, "withdrawn"))
        amount = allocated_amount(allocation)
        if contribution is None:
            granted, status = 0, "withdrawn"
        elif not counts_kind(commitment, allocation.kind):
            status, granted = "not_counted", 0
        elif not commitment.period_start_on <= contribution.on <= commitment.period_end_on:
            status, granted = "outside_period", 0
        counted, value = granted, 0
        if granted and allocation.kind in HOUR_KINDS and commitment.max_minutes_per_person is not None:
            person = contribution.person or contribution.key
            counted = max(0, min(granted, commitment.max_minutes_per_person - used_per_person.get(person, 0)))
            used_per_person[person] = used_per_person.get(person, 0) + counted
            if counted < granted and status == "ok":
                status = "capped"
        if counted:
            value = _value_of(commitment, contribution, counted)
        lines.append(Line(allocation, contribution, allocation.kind, amount, counted, value, status,
                          pool.record(allocation)))
        total = totals[allocation.kind]
        total.allocated += amount
        total.counted += counted
        total.value_cents += value
        total.lines += 1
    return Summary(commitment, obligation_cents(commitment.base_cents, commitment.percentage_bp,
                                                commitment.cap_cents),
                   lines, totals, approvals, today)


def summaries(commitments: list[Commitment], pool: Pool | None = None,
              today: dt.date | None = None, *, every_company: bool = False) -> list[Summary]:
    """Evaluate several commitments at once (one read of contributions and allocations).

    `every_company`: the commitments are those of every company (the leader's overview), so
    the pool and the allocations are read for all, without a list of companies."""
    if not commitments:
        return []
    today = today or clock.today()
    company_ids = {c.company_id for c in commitments}
    if pool is None:
        pool = pool_for(None if every_company else company_ids)
    ids = [c.id for c in commitments]
    # Grants depend on every allocation of the companies involved (first allocated, first served).
    # The columns an evaluation reads (a thousand rows of timestamps cost more than the rest).
    every = Allocation.select(Allocation.id, Allocation.commitment, Allocation.company, Allocation.contribution_key,
                              Allocation.kind, Allocation.minutes, Allocation.cents, Allocation.contribution_on,
                              Allocation.description, Allocation.person)
    if not every_company:
        every = every.where(Allocation.company.in_(list(company_ids)))
    every = list(every)
    grants = _grants(every, pool)
    approvals = current_approvals(ids)
    by_commitment: dict[int, list[Allocation]] = {i: [] for i in ids}
    for allocation in every:
        if allocation.commitment_id in by_commitment:
            by_commitment[allocation.commitment_id].append(allocation)
    return [_evaluate(c, by_commitment[c.id], grants, pool, approvals[c.id], today) for c in commitments]


def summary(commitment: Commitment, today: dt.date | None = None) -> Summary:
    """The obligation, the claim by the commitment's rules, the approval and the gap."""
    return summaries([commitment], today=today)[0]


def company_commitments(company_id: int) -> list[Commitment]:
    return list(Commitment.select().where(Commitment.company == company_id)
                .order_by(Commitment.deadline_on, Commitment.id))


# --- what can still be allocated ------------------------------------------------------------

@dataclass
class Available:
    contribution: Booked
    whole: int              # minutes or cents
    here: int               # allocated to this commitment
    elsewhere: int          # allocated to other commitments
    most_here: int          # the most this commitment may hold of the contribution
    counts: bool            # counts under this commitment's rules
    group_limited: bool = False

    @property
    def free(self) -> int:
        """What this commitment could still add."""
        return max(0, self.most_here - self.here)


def available(commitment: Commitment, pool: Pool | None = None) -> list[Available]:
    """The company's confirmed contributions within the commitment's period, with what is still free."""
    pool = pool or pool_for(commitment.company_id)
    room_of = _rooms(pool, commitment.id, Allocation.select().where(Allocation.company == commitment.company_id))
    result = []
    for contribution in sorted(pool.live.values(), key=lambda c: (c.on, c.kind, c.key)):
        if (contribution.company_id != commitment.company_id or whole_of(contribution) <= 0
                or not commitment.period_start_on <= contribution.on <= commitment.period_end_on):
            continue
        room = room_of(contribution)
        result.append(Available(contribution, room.whole, room.here, room.elsewhere, room.most,
                                counts_kind(commitment, contribution.kind), room.group_limited))
    return result


# --- suggestion: nearest deadline first -----------------------------------------------------

@dataclass(frozen=True)
class Suggested:
    commitment: Commitment
    contribution: Booked
    add: int                # minutes or cents to add to what the commitment already has
    new_total: int          # the commitment's allocation of this contribution afterwards
    value_cents: int        # the extra SROI value by the commitment's rules (estimate per line)


def _amount_for_value(commitment: Commitment, contribution: Booked, before: int, need_cents: int,
                      limit: int) -> int:
    """The least amount to add (at most `limit`) whose extra value covers `need_cents`."""
    def extra(amount: int) -> int:
        return _value_of(commitment, contribution, before + amount) - _value_of(commitment, contribution, before)

    if extra(limit) <= need_cents:
        return limit
    low, high = 1, limit
    while low < high:  # the value grows with the amount, so bisect for the first that covers the need
        middle = (low + high) // 2
        if extra(middle) >= need_cents:
            high = middle
        else:
            low = middle + 1
    return low


def suggest(company_id: int, today: dt.date | None = None, pool: Pool | None = None) -> list[Suggested]:
    """A plan that fills open commitments from free contributions, nearest deadline first.

    Only commitments whose deadline has not passed and whose claim is short of the obligation
    take part; each takes contributions from its own period that count under its rules,
    oldest first, up to the person cap, until its claim covers the obligation.
    """
    today = today or clock.today()
    open_commitments = [c for c in company_commitments(company_id) if c.deadline_on >= today]
    if not open_commitments:
        return []
    pool = pool or pool_for(company_id)
    current = {s.commitment.id: s for s in summaries(open_commitments, pool=pool, today=today)}
    rows = list(Allocation.select().where(Allocation.company == company_id))
    free_own: dict[Ident, int] = {}
    free_group = dict(pool.group_net)
    for ident, contribution in pool.live.items():
        free_own[ident] = whole_of(contribution)
    for row in rows:
        ident = (row.contribution_key, row.kind)
        if ident in free_own:
            free_own[ident] -= allocated_amount(row)
        other = pool.of(row)
        if other is not None:
            free_group[group_of(other)] -= allocated_amount(row)
    candidates = sorted((c for c in pool.live.values() if c.company_id == company_id and whole_of(c) > 0),
                        key=lambda c: (c.on, c.kind, c.key))
    plan: list[Suggested] = []
    for commitment in open_commitments:
        state = current[commitment.id]
        need = state.obligation_cents - state.claimed_cents
        if need <= 0:
            continue
        have = {(line.allocation.contribution_key, line.kind): line.allocated for line in state.lines}
        person_used: dict[str, int] = {}
        for line in state.lines:
            if line.kind in HOUR_KINDS and line.contribution is not None:
                person = line.contribution.person or line.contribution.key
                person_used[person] = person_used.get(person, 0) + line.counted
        for contribution in candidates:
            if need <= 0:
                break
            if (not counts_kind(commitment, contribution.kind)
                    or not commitment.period_start_on <= contribution.on <= commitment.period_end_on):
                continue
            ident, group = (contribution.key, contribution.kind), group_of(contribution)
            limit = min(free_own.get(ident, 0), free_group.get(group, 0))
            person = contribution.person or contribution.key
            if contribution.kind in HOUR_KINDS and commitment.max_minutes_per_person is not None:
                limit = min(limit, commitment.max_minutes_per_person - person_used.get(person, 0))
            before = have.get(ident, 0)
            if limit <= 0 or _value_of(commitment, contribution, before + limit) <= _value_of(commitment, contribution, before):
                continue
            add = _amount_for_value(commitment, contribution, before, need, limit)
            value = _value_of(commitment, contribution, before + add) - _value_of(commitment, contribution, before)
            plan.append(Suggested(commitment, contribution, add, before + add, value))
            free_own[ident] -= add
            free_group[group] -= add
            have[ident] = before + add
            if contribution.kind in HOUR_KINDS:
                person_used[person] = person_used.get(person, 0) + add
            need -= value
    return plan


def plan_fingerprint(plan: list[Suggested]) -> str:
    """A short digest of a plan, so a confirmation applies exactly the plan the user saw."""
    text = ";".join(f"{s.commitment.id}:{s.contribution.key}:{s.contribution.kind}:{s.new_total}" for s in plan)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def apply_suggestion(user, fingerprint: str, today: dt.date | None = None) -> int:
    """Apply the suggested plan the user confirmed; refused if it changed since it was shown."""
    company_id = _company_id(user)
    plan = suggest(company_id, today)
    if not plan or plan_fingerprint(plan) != fingerprint:
        raise SroiError(_l("Your contributions or commitments changed since the suggestion was made. "
                           "Look at the new suggestion and confirm again."))
    with atomic_write():
        lock_groups(group_of(step.contribution) for step in plan)
        pool = pool_for(company_id)
        again = suggest(company_id, today, pool=pool)
        if plan_fingerprint(again) != fingerprint:
            raise SroiError(_l("Your contributions or commitments changed since the suggestion was made. "
                               "Look at the new suggestion and confirm again."))
        for step in again:
            commitment = _owned(company_id, step.commitment.id)
            _set_allocation_locked(user, company_id, commitment, step.contribution, step.new_total, pool)
    return len(plan)


# --- dashboards and the leader's view -------------------------------------------------------

def deadline_warnings(company_id: int, today: dt.date | None = None) -> list[Summary]:
    """Commitments whose deadline is near or past while part of the obligation is not approved.
    Which ones warn is known from the approvals; only those are evaluated (the claim is shown)."""
    today = today or clock.today()
    commitments = company_commitments(company_id)
    approvals = current_approvals(c.id for c in commitments)
    warned = [c for c in commitments if _warning_of(c, approvals[c.id], today)]
    return summaries(warned, today=today)


def leader_counts(today: dt.date | None = None) -> dict[str, int]:
    """The leader's panel: commitments, companies with one, deadlines that warn and approvals waiting
    for her confirmation; from the commitments and their approvals (two queries), without evaluating a claim."""
    today = today or clock.today()
    commitments = list(Commitment.select())
    approvals = current_approvals(c.id for c in commitments)
    return {"commitments": len(commitments), "companies": len({c.company_id for c in commitments}),
            "warnings": sum(1 for c in commitments if _warning_of(c, approvals[c.id], today)),
            "reviews": sum(1 for found in approvals.values() for approval in found if approval.status == "pending")}


@dataclass
class LeaderRow:
    company: Company
    summary: Summary


def leader_overview(today: dt.date | None = None) -> list[LeaderRow]:
    """Every commitment of every company, with what the programme's contributions count for."""
    commitments = list(Commitment.select(Commitment, Company).join(Company)
                       .order_by(Commitment.deadline_on, Company.legal_name, Commitment.id))
    found = summaries(commitments, today=today, every_company=True)
    return [LeaderRow(s.commitment.company, s) for s in found]


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
