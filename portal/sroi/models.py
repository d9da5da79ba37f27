"""Tables of the SROI capability.

Contributions live in other capabilities; an allocation names one by its stable `key`
("hours:12", "donation:7", "material:3"), never by a foreign key, so this capability's
tables stand on their own.
"""

from __future__ import annotations

import peewee

from portal.accounts.models import Company, User
from portal.core.db import BaseModel, utcnow

BASE_TYPES = ("contract_value_excl_vat", "labour_cost", "turnover")
HOURS_BASES = ("rate", "employer_cost")
HOUR_KINDS = ("hours_sponsored", "hours_volunteered")
ALLOCATABLE_KINDS = ("hours_sponsored", "hours_volunteered", "money", "material")

# The ceiling for a contract base: EUR 10 billion. Larger numbers are typing mistakes.
MAX_BASE_CENTS = 1_000_000_000_000
# A rate per hour above EUR 10,000 is a typing mistake.
MAX_RATE_CENTS = 1_000_000
# A cap above 10,000 hours per person is no cap.
MAX_MINUTES_PER_PERSON = 600_000


def _rules_fields() -> tuple[peewee.Field, ...]:
    """The columns of a set of valuation rules, in their order: a valuation table's and a commitment's."""
    return (
        peewee.BooleanField(default=True),      # counts_hours_sponsored
        peewee.BooleanField(default=False),     # counts_hours_volunteered
        peewee.BooleanField(default=True),      # counts_money
        peewee.BooleanField(default=True),      # counts_materials
        peewee.CharField(max_length=16, constraints=[                       # hours_basis
            peewee.Check("hours_basis IN ('rate', 'employer_cost')")]),
        peewee.BigIntegerField(null=True, constraints=[                     # hourly_rate_cents
            peewee.Check("hourly_rate_cents IS NULL OR (hourly_rate_cents > 0 AND hourly_rate_cents <= 1000000)")]),
        peewee.IntegerField(null=True, constraints=[                        # max_minutes_per_person
            peewee.Check("max_minutes_per_person IS NULL OR (max_minutes_per_person > 0 "
                         "AND max_minutes_per_person <= 600000)")]),
    )


class ValuationTemplate(BaseModel):
    """A buyer's valuation table, copied into a commitment's rules when it is recorded."""

    code = peewee.CharField(max_length=40, unique=True)
    name = peewee.CharField(max_length=120)
    note = peewee.TextField(default="")
    (counts_hours_sponsored, counts_hours_volunteered, counts_money, counts_materials, hours_basis,
     hourly_rate_cents, max_minutes_per_person) = _rules_fields()
    sort_order = peewee.IntegerField(default=0)

    class Meta:
        table_name = "sroi_valuation_template"


class Commitment(BaseModel):
    """One social-return clause of one public contract, with its own valuation rules."""

    company = peewee.ForeignKeyField(Company, backref="sroi_commitments", on_delete="RESTRICT")
    authority = peewee.CharField(max_length=200)
    contract_reference = peewee.CharField(max_length=100)
    description = peewee.TextField(default="")
    base_type = peewee.CharField(max_length=32, constraints=[
        peewee.Check("base_type IN ('contract_value_excl_vat', 'labour_cost', 'turnover')")])
    base_cents = peewee.BigIntegerField(constraints=[
        peewee.Check("base_cents > 0 AND base_cents <= 1000000000000")])
    percentage_bp = peewee.IntegerField(constraints=[
        peewee.Check("percentage_bp > 0 AND percentage_bp <= 10000")])
    cap_cents = peewee.BigIntegerField(null=True, constraints=[
        peewee.Check("cap_cents IS NULL OR (cap_cents > 0 AND cap_cents <= 1000000000000)")])
    period_start_on = peewee.DateField()
    period_end_on = peewee.DateField()
    deadline_on = peewee.DateField()
    buyer_contact_name = peewee.CharField(max_length=200, default="")
    buyer_contact_email = peewee.CharField(max_length=254, default="")
    buyer_contact_phone = peewee.CharField(max_length=40, default="")
    # The valuation rules: copied from a template, then the company's to edit.
    rules_template = peewee.CharField(max_length=40, default="")
    rules_name = peewee.CharField(max_length=120)
    (counts_hours_sponsored, counts_hours_volunteered, counts_money, counts_materials, hours_basis,
     hourly_rate_cents, max_minutes_per_person) = _rules_fields()
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sroi_commitment"
        constraints = [
            peewee.SQL("CHECK (period_end_on >= period_start_on)"),
            peewee.SQL("CHECK (deadline_on >= period_start_on)"),
            peewee.SQL("CHECK (hours_basis <> 'rate' OR hourly_rate_cents IS NOT NULL)"),
        ]


class Allocation(BaseModel):
    """Part of one contribution counted toward one commitment: minutes for hours, cents otherwise.

    The contribution's facts are copied at allocation time so a report can still name what
    was allocated if the source later withdraws it; the live figures always come from the source.
    """

    commitment = peewee.ForeignKeyField(Commitment, backref="allocations", on_delete="CASCADE")
    company = peewee.ForeignKeyField(Company, backref="+", on_delete="RESTRICT")
    contribution_key = peewee.CharField(max_length=64, index=True)
    kind = peewee.CharField(max_length=20, constraints=[
        peewee.Check("kind IN ('hours_sponsored', 'hours_volunteered', 'money', 'material')")])
    minutes = peewee.IntegerField(default=0, constraints=[peewee.Check("minutes >= 0")])
    cents = peewee.BigIntegerField(default=0, constraints=[peewee.Check("cents >= 0")])
    contribution_on = peewee.DateField()
    description = peewee.CharField(max_length=300, default="")
    person = peewee.CharField(max_length=200, default="")
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sroi_allocation"
        # One row per commitment and contribution part: a key can carry a sponsored and a volunteered part.
        indexes = ((("commitment", "contribution_key", "kind"), True),)
        constraints = [
            peewee.SQL("CHECK ((kind IN ('hours_sponsored', 'hours_volunteered') AND minutes > 0 AND cents = 0)"
                       " OR (kind IN ('money', 'material') AND cents > 0 AND minutes = 0))"),
        ]


class Approval(BaseModel):
    """What the contracting authority approved, as the company entered it, with the buyer's letter.

    Rows are never changed: a correction is a new row naming the one it replaces, with a
    reason. An approval counts once the project leader confirmed it (ApprovalReview); the
    approved total is the sum of the confirmed rows nobody corrected.
    """

    commitment = peewee.ForeignKeyField(Commitment, backref="approvals", on_delete="CASCADE")
    amount_cents = peewee.BigIntegerField(constraints=[
        peewee.Check("amount_cents >= 0 AND amount_cents <= 1000000000000")])
    approved_on = peewee.DateField()
    reference = peewee.CharField(max_length=100)
    note = peewee.TextField(default="")
    corrects = peewee.ForeignKeyField("self", null=True, unique=True, backref="+", on_delete="CASCADE")
    reason = peewee.TextField(default="")
    entered_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    entered_at = peewee.DateTimeField(default=utcnow)
    # Set when the buyer's approvals, with this one, came to more than the claim or the
    # obligation at the time: the company had to say why (issue 14). NULL: not more.
    exceeds = peewee.CharField(max_length=20, null=True, constraints=[
        peewee.Check("exceeds IN ('claim', 'obligation', 'both')")])
    exceeds_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "sroi_approval"
        constraints = [peewee.SQL("CHECK (corrects_id IS NULL OR reason <> '')")]

    @property
    def status(self) -> str:
        """'confirmed', 'rejected' or 'pending', as read with its review (service.current_approvals)."""
        return getattr(self, "review_decision", None) or "pending"

    @property
    def has_evidence(self) -> bool:
        return getattr(self, "evidence_id", None) is not None


EVIDENCE_TYPES = ("application/pdf", "image/png", "image/jpeg")
REVIEW_DECISIONS = ("confirmed", "rejected")


class ApprovalEvidence(BaseModel):
    """The buyer's letter behind an approval, as uploaded (PDF, PNG or JPEG, type read from the bytes).

    Kept in the database, so any worker serves it and it is never under the web root; only the
    company and the project leader download it."""

    approval = peewee.ForeignKeyField(Approval, unique=True, backref="+", on_delete="CASCADE")
    company = peewee.ForeignKeyField(Company, backref="+", on_delete="RESTRICT")
    content_type = peewee.CharField(max_length=40, constraints=[
        peewee.Check("content_type IN ('application/pdf', 'image/png', 'image/jpeg')")])
    original_name = peewee.CharField(max_length=200)
    size_bytes = peewee.IntegerField(constraints=[peewee.Check("size_bytes > 0")])
    sha256 = peewee.CharField(max_length=64)
    data = peewee.BlobField()
    uploaded_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    uploaded_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sroi_approval_evidence"


class ApprovalReview(BaseModel):
    """The project leader's decision on an approval: confirmed (it counts) or rejected, with a reason.

    One per approval (UNIQUE): a second decision is refused by the database, not by looking first."""

    approval = peewee.ForeignKeyField(Approval, unique=True, backref="+", on_delete="CASCADE")
    decision = peewee.CharField(max_length=10, constraints=[
        peewee.Check("decision IN ('confirmed', 'rejected')")])
    reason = peewee.TextField(default="")
    decided_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    decided_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sroi_approval_review"
        constraints = [peewee.SQL("CHECK (decision = 'confirmed' OR reason <> '')")]


class Figures(BaseModel):
    """What a company's commitments count for, kept with the marks it was computed at (sroi.figures).

    `revision` rises with every change of the company's commitments and allocations, in the
    change's transaction; `computed` is the mark the kept `figures` were computed at (their
    arithmetic's version, the revision and the company's count of postings in the ledger)."""

    company = peewee.ForeignKeyField(Company, primary_key=True, backref="+", on_delete="CASCADE")
    revision = peewee.BigIntegerField(default=0)
    computed = peewee.CharField(max_length=60, default="")
    figures = peewee.TextField(default="{}")   # JSON: commitment id -> kind -> [allocated, counted, value, lines]

    class Meta:
        table_name = "sroi_figures"


MODELS = (ValuationTemplate, Commitment, Allocation, Approval, ApprovalEvidence, ApprovalReview, Figures)
