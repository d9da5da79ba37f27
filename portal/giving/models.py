"""Tables of the giving capability: donations (Stripe and bank transfer), their refunds and
disputes, the Stripe events already handled, payment issues for the project leader, stored
PDFs, and materials (needs published by the leader, pledges by companies).

Money is integer cents with CHECK constraints; the checks also hold the bookkeeping
together (net = amount - fee, a paid donation has a company and a date). Schools are
named by id and a copied name, without a foreign key into the enrolment tables.
"""

from __future__ import annotations

import peewee

from portal.accounts.models import Company, User
from portal.core.db import BaseModel, check_in, utcnow

METHODS = ("stripe", "bank")
VIAS = ("portal", "public")
CLASSIFICATIONS = ("gift", "sponsoring")
DONATION_STATUSES = ("pending", "processing", "paid", "failed", "expired", "canceled")
REFUND_STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled")
DOCUMENT_KINDS = ("receipt", "payment_request")
NEED_STATUSES = ("published", "closed")
PLEDGE_STATUSES = ("pledged", "accepted", "delivered", "confirmed", "declined")
# A paid public gift naming a company that already existed waits for that company (or the project
# leader) to accept it; NULL: the donation counts for its company as it is (migration 0010).
COMPANY_DECISIONS = ("waiting", "accepted", "declined")

MIN_DONATION_CENTS = 50                   # Stripe's minimum charge in EUR, and ours for every method
MAX_STRIPE_CENTS = 99_999_999             # Stripe accepts at most eight digits
MAX_RECORDED_CENTS = 100_000_000_000      # EUR 1 billion: the database's outer bound
MAX_QUANTITY = 100_000


def _recorded_amount() -> peewee.BigIntegerField:
    """An `amount_cents` column of money that went somewhere: positive, within the outer bound."""
    return peewee.BigIntegerField(constraints=[
        peewee.Check(f"amount_cents > 0 AND amount_cents <= {MAX_RECORDED_CENTS}")])


class Donation(BaseModel):
    """Money from a company: paid online through Stripe Checkout or by bank transfer."""

    company = peewee.ForeignKeyField(Company, null=True, backref="donations", on_delete="RESTRICT")
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    via = peewee.CharField(max_length=10, constraints=[check_in("via", VIAS)])
    # The donor as entered (the public page names a company that may not exist yet).
    donor_name = peewee.CharField(max_length=200)
    donor_kvk = peewee.CharField(max_length=8)
    donor_contact_name = peewee.CharField(max_length=200, default="")
    donor_email = peewee.CharField(max_length=254)
    donor_language = peewee.CharField(max_length=2, default="nl", constraints=[check_in("donor_language", ("nl", "en"))])
    method = peewee.CharField(max_length=10, constraints=[check_in("method", METHODS)])
    amount_cents = peewee.BigIntegerField(constraints=[
        peewee.Check(f"amount_cents >= {MIN_DONATION_CENTS} AND amount_cents <= {MAX_RECORDED_CENTS}")])
    currency = peewee.CharField(max_length=3, default="eur", constraints=[peewee.Check("currency = 'eur'")])
    classification = peewee.CharField(max_length=12, constraints=[check_in("classification", CLASSIFICATIONS)])
    earmark_school_id = peewee.IntegerField(null=True)
    earmark_school = peewee.CharField(max_length=200, default="")
    earmark_purpose = peewee.CharField(max_length=300, default="")
    status = peewee.CharField(max_length=12, default="pending", index=True,
                              constraints=[check_in("status", DONATION_STATUSES)])
    # One submitted form makes one donation: a double click finds the row it already made.
    form_token = peewee.CharField(max_length=64, unique=True)
    # Stripe: written once each.
    stripe_checkout_session_id = peewee.CharField(max_length=255, null=True, unique=True)
    checkout_url = peewee.TextField(default="")
    stripe_payment_intent_id = peewee.CharField(max_length=255, null=True, unique=True)
    stripe_charge_id = peewee.CharField(max_length=255, null=True, unique=True)
    payment_method_type = peewee.CharField(max_length=40, default="")
    # From the charge's balance transaction; null until known.
    fee_cents = peewee.BigIntegerField(null=True)
    net_cents = peewee.BigIntegerField(null=True)
    # Bank transfer: the structured creditor reference (ISO 11649) and the bank line that paid it.
    reference = peewee.CharField(max_length=35, null=True, unique=True)
    due_on = peewee.DateField(null=True)
    bank_line_ref = peewee.CharField(max_length=200, null=True, unique=True)
    paid_recorded_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    paid_at = peewee.DateTimeField(null=True)
    paid_on = peewee.DateField(null=True)          # Europe/Amsterdam business date
    # The receipt is mailed after the payment is recorded, by whichever worker claims it first.
    receipt_claimed_at = peewee.DateTimeField(null=True)
    receipt_sent_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    company_decision = peewee.CharField(max_length=10, null=True,
                                        constraints=[check_in("company_decision", COMPANY_DECISIONS)])

    class Meta:
        table_name = "giving_donation"
        # A company's paid donations (every contribution read): without it SQLite's planner takes
        # the status index and reads every paid donation of every company.
        indexes = ((("company", "status"), False),)
        constraints = [
            peewee.SQL("CHECK (company_id IS NOT NULL OR via = 'public')"),
            peewee.SQL("CHECK (status <> 'paid' OR (company_id IS NOT NULL AND paid_on IS NOT NULL))"),
            peewee.SQL("CHECK ((fee_cents IS NULL AND net_cents IS NULL) OR "
                       "(fee_cents IS NOT NULL AND net_cents IS NOT NULL AND net_cents = amount_cents - fee_cents))"),
            peewee.SQL("CHECK (method = 'bank' OR (reference IS NULL AND bank_line_ref IS NULL))"),
            peewee.SQL("CHECK (method = 'stripe' OR (stripe_checkout_session_id IS NULL "
                       "AND stripe_payment_intent_id IS NULL))"),
            peewee.SQL(f"CHECK (method = 'bank' OR amount_cents <= {MAX_STRIPE_CENTS})"),
        ]

    @property
    def number(self) -> str:
        return f"G-{self.id:06d}"

    @property
    def counts_for_company(self) -> bool:
        """Whether the donation is its company's: not a public gift still waiting or declined."""
        return self.company_id is not None and self.company_decision in (None, "accepted")


class Refund(BaseModel):
    """A refund of (part of) a donation; only a succeeded refund counts. Through Stripe (its refund
    id), or of a paid payment request by bank transfer (`bank:` and the bank line, recorded
    succeeded at once by record_bank_refund)."""

    donation = peewee.ForeignKeyField(Donation, backref="refunds", on_delete="RESTRICT")
    stripe_refund_id = peewee.CharField(max_length=255, unique=True)
    amount_cents = _recorded_amount()
    currency = peewee.CharField(max_length=3, default="eur", constraints=[peewee.Check("currency = 'eur'")])
    status = peewee.CharField(max_length=16, constraints=[check_in("status", REFUND_STATUSES)])
    fee_cents = peewee.BigIntegerField(null=True)
    net_cents = peewee.BigIntegerField(null=True)
    succeeded_on = peewee.DateField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_refund"
        constraints = [
            peewee.SQL("CHECK ((fee_cents IS NULL AND net_cents IS NULL) OR "
                       "(fee_cents IS NOT NULL AND net_cents IS NOT NULL AND net_cents = -amount_cents - fee_cents))"),
            peewee.SQL("CHECK (status <> 'succeeded' OR succeeded_on IS NOT NULL)"),
        ]


class Dispute(BaseModel):
    """A chargeback on a donation: money withdrawn (with Stripe's dispute fee) and perhaps reinstated."""

    donation = peewee.ForeignKeyField(Donation, backref="disputes", on_delete="RESTRICT")
    stripe_dispute_id = peewee.CharField(max_length=255, unique=True)
    amount_cents = _recorded_amount()
    status = peewee.CharField(max_length=32)
    reason = peewee.CharField(max_length=64, default="")
    withdrawn_cents = peewee.BigIntegerField(null=True, constraints=[
        peewee.Check("withdrawn_cents IS NULL OR withdrawn_cents > 0")])
    withdrawn_fee_cents = peewee.BigIntegerField(null=True)
    withdrawn_on = peewee.DateField(null=True)
    reinstated_cents = peewee.BigIntegerField(null=True, constraints=[
        peewee.Check("reinstated_cents IS NULL OR reinstated_cents > 0")])
    reinstated_fee_cents = peewee.BigIntegerField(null=True)
    reinstated_on = peewee.DateField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_dispute"
        constraints = [
            peewee.SQL("CHECK ((withdrawn_cents IS NULL) = (withdrawn_fee_cents IS NULL) "
                       "AND (withdrawn_cents IS NULL) = (withdrawn_on IS NULL))"),
            peewee.SQL("CHECK ((reinstated_cents IS NULL) = (reinstated_fee_cents IS NULL) "
                       "AND (reinstated_cents IS NULL) = (reinstated_on IS NULL))"),
        ]


class StripeEvent(BaseModel):
    """A signed Stripe event: stored (outcome `queued`) when it arrives, then claimed and handled
    by the queue's task in the same transaction as its effect; the UNIQUE id keeps it once."""

    event_id = peewee.CharField(max_length=255, unique=True)
    type = peewee.CharField(max_length=100)
    object_id = peewee.CharField(max_length=255, default="")
    donation = peewee.ForeignKeyField(Donation, null=True, backref="+", on_delete="SET NULL")
    outcome = peewee.CharField(max_length=20)
    stripe_created_at = peewee.DateTimeField(null=True)
    received_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_stripe_event"


class PaymentIssue(BaseModel):
    """Something the project leader must look at: never applied automatically."""

    donation = peewee.ForeignKeyField(Donation, null=True, backref="issues", on_delete="RESTRICT")
    kind = peewee.CharField(max_length=40)
    source = peewee.CharField(max_length=255)      # the Stripe event id or bank line that raised it
    details = peewee.TextField(default="{}")
    created_at = peewee.DateTimeField(default=utcnow)
    resolved_at = peewee.DateTimeField(null=True)
    resolved_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    resolution = peewee.TextField(default="")

    class Meta:
        table_name = "giving_payment_issue"
        indexes = ((("kind", "source"), True),)
        constraints = [peewee.SQL("CHECK (resolved_at IS NULL OR resolution <> '')")]


class Document(BaseModel):
    """A rendered PDF (receipt or payment request), stored once and served as stored."""

    donation = peewee.ForeignKeyField(Donation, backref="documents", on_delete="RESTRICT")
    kind = peewee.CharField(max_length=20, constraints=[check_in("kind", DOCUMENT_KINDS)])
    language = peewee.CharField(max_length=2)
    pdf = peewee.BlobField()
    sha256 = peewee.CharField(max_length=64)
    size = peewee.IntegerField(constraints=[peewee.Check("size > 0")])
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_document"
        indexes = ((("donation", "kind"), True),)


class MaterialNeed(BaseModel):
    """What a school needs, published by the project leader."""

    item = peewee.CharField(max_length=200)
    description = peewee.TextField(default="")
    quantity = peewee.IntegerField(constraints=[peewee.Check(f"quantity > 0 AND quantity <= {MAX_QUANTITY}")])
    school_id = peewee.IntegerField(null=True)
    school_name = peewee.CharField(max_length=200, default="")
    needed_by = peewee.DateField(null=True)
    status = peewee.CharField(max_length=10, default="published", constraints=[check_in("status", NEED_STATUSES)])
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    closed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "giving_material_need"


class MaterialPledge(BaseModel):
    """Materials a company offers, against a need or on its own; valued at receipt."""

    company = peewee.ForeignKeyField(Company, backref="material_pledges", on_delete="RESTRICT")
    need = peewee.ForeignKeyField(MaterialNeed, null=True, backref="pledges", on_delete="RESTRICT")
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    description = peewee.CharField(max_length=500)
    quantity = peewee.IntegerField(constraints=[peewee.Check(f"quantity > 0 AND quantity <= {MAX_QUANTITY}")])
    declared_value_cents = peewee.BigIntegerField(constraints=[
        peewee.Check(f"declared_value_cents > 0 AND declared_value_cents <= {MAX_RECORDED_CENTS}")])
    classification = peewee.CharField(max_length=12, constraints=[check_in("classification", CLASSIFICATIONS)])
    status = peewee.CharField(max_length=10, default="pledged", index=True,
                              constraints=[check_in("status", PLEDGE_STATUSES)])
    decline_reason = peewee.TextField(default="")
    delivered_on = peewee.DateField(null=True)
    confirmed_value_cents = peewee.BigIntegerField(null=True, constraints=[
        peewee.Check(f"confirmed_value_cents IS NULL OR (confirmed_value_cents > 0 "
                     f"AND confirmed_value_cents <= {MAX_RECORDED_CENTS})")])
    confirmed_on = peewee.DateField(null=True)
    decided_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    form_token = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_material_pledge"
        constraints = [
            peewee.SQL("CHECK (status <> 'declined' OR decline_reason <> '')"),
            peewee.SQL("CHECK (status NOT IN ('delivered', 'confirmed') OR delivered_on IS NOT NULL)"),
            peewee.SQL("CHECK ((status = 'confirmed') = (confirmed_value_cents IS NOT NULL AND confirmed_on IS NOT NULL))"),
        ]


BANK_RECEIPT_KINDS = ("part", "refund", "kept")


class BankReceipt(BaseModel):
    """Bank money of a payment request that was not paid exactly in one transfer (migration 0013).

    'part': a transfer toward the request; `counted_cents` is what pays the request (posted to the
    ledger), the rest of `amount_cents` is a surplus the company may get back. 'refund': money sent
    back from that surplus (negative, counts for nothing). 'kept': the company agreed that the
    surplus stays as a gift (counted and posted). A request paid exactly in one transfer has none.
    """

    donation = peewee.ForeignKeyField(Donation, backref="bank_receipts", on_delete="RESTRICT")
    line_ref = peewee.CharField(max_length=200, unique=True)     # the bank line (or the leader's note)
    kind = peewee.CharField(max_length=10, constraints=[check_in("kind", BANK_RECEIPT_KINDS)])
    amount_cents = peewee.BigIntegerField()
    counted_cents = peewee.BigIntegerField(constraints=[peewee.Check("counted_cents >= 0")])
    received_on = peewee.DateField()
    recorded_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_bank_receipt"
        constraints = [peewee.SQL(
            "CHECK ((kind = 'part' AND amount_cents > 0 AND counted_cents <= amount_cents) "
            "OR (kind = 'refund' AND amount_cents < 0 AND counted_cents = 0) "
            "OR (kind = 'kept' AND amount_cents = 0 AND counted_cents > 0))")]


CREDIT_NOTE_KINDS = ("refund", "chargeback", "reversal")
NUMBER_SERIES = ("credit_note", "invoice")


class NumberCounter(BaseModel):
    """The last number used in one series (credit notes, invoices) and year; its row is the lock
    that makes the numbers gapless (migration 0014)."""

    series = peewee.CharField(max_length=20, constraints=[check_in("series", NUMBER_SERIES)])
    year = peewee.IntegerField(constraints=[peewee.Check("year BETWEEN 2000 AND 9999")])
    last_number = peewee.IntegerField(default=0, constraints=[peewee.Check("last_number >= 0")])

    class Meta:
        table_name = "giving_number_counter"
        indexes = ((("series", "year"), True),)


class Invoice(BaseModel):
    """The numbered VAT invoice of a sponsoring payment, made when the issuer is VAT-registered
    (ISSUER_VAT_NUMBER): the amount paid is the invoice total, VAT included. The rate and number
    are kept as they were on the day of issue (migration 0014)."""

    donation = peewee.ForeignKeyField(Donation, unique=True, backref="+", on_delete="RESTRICT")
    year = peewee.IntegerField(constraints=[peewee.Check("year BETWEEN 2000 AND 9999")])
    sequence = peewee.IntegerField(constraints=[peewee.Check("sequence > 0")])
    issued_on = peewee.DateField()
    vat_number = peewee.CharField(max_length=20)
    vat_rate_bp = peewee.IntegerField(constraints=[peewee.Check("vat_rate_bp >= 0 AND vat_rate_bp <= 10000")])
    gross_cents = peewee.BigIntegerField(constraints=[peewee.Check("gross_cents > 0")])
    vat_cents = peewee.BigIntegerField(constraints=[peewee.Check("vat_cents >= 0")])
    net_cents = peewee.BigIntegerField()
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_invoice"
        indexes = ((("year", "sequence"), True),)
        constraints = [peewee.SQL("CHECK (net_cents = gross_cents - vat_cents)")]

    @property
    def number(self) -> str:
        return f"F-{self.year}-{self.sequence:04d}"


class CreditNote(BaseModel):
    """A credit note on the receipt (or invoice) of a paid donation: money refunded, or lost to a
    chargeback; a 'reversal' takes back an earlier credit note whose money came back (a chargeback
    reversed, a refund that failed after all). Made in the transaction that records the money,
    numbered gapless per year; its PDF (and the receipt stamped as corrected) are rendered and
    mailed by a task (migration 0014)."""

    donation = peewee.ForeignKeyField(Donation, backref="credit_notes", on_delete="RESTRICT")
    # What it credits, once: 'refund:<id>', 'dispute:<id>', 'reversal:<credit note id>'.
    source = peewee.CharField(max_length=255, unique=True)
    kind = peewee.CharField(max_length=12, constraints=[check_in("kind", CREDIT_NOTE_KINDS)])
    year = peewee.IntegerField(constraints=[peewee.Check("year BETWEEN 2000 AND 9999")])
    sequence = peewee.IntegerField(constraints=[peewee.Check("sequence > 0")])
    amount_cents = _recorded_amount()
    vat_cents = peewee.BigIntegerField(default=0, constraints=[peewee.Check("vat_cents >= 0")])
    happened_on = peewee.DateField()          # the day the money went back (or came back)
    issued_on = peewee.DateField()
    reverses = peewee.ForeignKeyField("self", null=True, unique=True, backref="+", on_delete="RESTRICT")
    language = peewee.CharField(max_length=2)
    pdf = peewee.BlobField(null=True)
    sha256 = peewee.CharField(max_length=64, default="")
    # The donation's receipt as issued, with a stamp naming every credit note up to this one.
    receipt_pdf = peewee.BlobField(null=True)
    claimed_at = peewee.DateTimeField(null=True)
    sent_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "giving_credit_note"
        indexes = ((("year", "sequence"), True),)
        constraints = [peewee.SQL("CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL))")]

    @property
    def number(self) -> str:
        return f"CN-{self.year}-{self.sequence:04d}"

    @property
    def signed_cents(self) -> int:
        """What the note takes off the receipt: a reversal gives it back."""
        return -self.amount_cents if self.kind == "reversal" else self.amount_cents


MODELS = (Donation, Refund, Dispute, StripeEvent, PaymentIssue, Document, MaterialNeed, MaterialPledge, BankReceipt,
          NumberCounter, Invoice, CreditNote)
