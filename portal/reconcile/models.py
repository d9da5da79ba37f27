"""Bank statements and their lines, learned payer accounts, Stripe payouts and balance
transactions, closed periods and the corrections made to them."""

from __future__ import annotations

import peewee

from portal.accounts.models import Company, User
from portal.core.db import BaseModel, check_in, utcnow

LINE_STATUSES = ("unmatched", "matched", "ignored")
MATCH_METHODS = ("", "reference", "iban_amount", "description", "payout", "manual", "pasted")
OUTCOMES = ("", "exact", "partial", "over")
PERIOD_KINDS = ("month", "school_year")


class BankStatement(BaseModel):
    """One uploaded file that added at least one new line."""

    format = peewee.CharField(max_length=10, constraints=[check_in("format", ("camt053", "mt940", "csv"))])
    account_iban = peewee.CharField(max_length=34, default="")
    number = peewee.CharField(max_length=100, default="")
    filename = peewee.CharField(max_length=255, default="")
    sha256 = peewee.CharField(max_length=64, index=True)
    line_count = peewee.IntegerField(default=0, constraints=[peewee.Check("line_count >= 0")])
    imported_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    imported_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reconcile_statement"


class StatementBalance(BaseModel):
    """One account's opening and closing balance in an imported file (a CAMT `Stmt`, an MT940
    statement): consecutive statements of an account must chain (migration 0013)."""

    statement = peewee.ForeignKeyField(BankStatement, backref="balances", on_delete="CASCADE")
    account_iban = peewee.CharField(max_length=34)
    number = peewee.CharField(max_length=100, default="")
    opening_cents = peewee.BigIntegerField()
    closing_cents = peewee.BigIntegerField()
    opening_on = peewee.DateField(null=True)
    closing_on = peewee.DateField(null=True)

    class Meta:
        table_name = "reconcile_statement_balance"
        indexes = ((("account_iban", "closing_on"), False),)


class BankLine(BaseModel):
    """One booked transaction; the fingerprint makes a re-import add nothing."""

    statement = peewee.ForeignKeyField(BankStatement, backref="lines", on_delete="RESTRICT")
    fingerprint = peewee.CharField(max_length=64, unique=True)
    booked_on = peewee.DateField(index=True)
    value_on = peewee.DateField(null=True)
    amount_cents = peewee.BigIntegerField(constraints=[peewee.Check("amount_cents <> 0")])
    currency = peewee.CharField(max_length=3, default="EUR")
    counterparty_iban = peewee.CharField(max_length=34, default="", index=True)
    counterparty_name = peewee.CharField(max_length=200, default="")
    description = peewee.TextField(default="")
    reference = peewee.CharField(max_length=140, default="", index=True)
    end_to_end_id = peewee.CharField(max_length=140, default="")
    bank_ref = peewee.CharField(max_length=140, default="")
    status = peewee.CharField(max_length=10, default="unmatched", index=True,
                              constraints=[check_in("status", LINE_STATUSES)])
    match_method = peewee.CharField(max_length=12, default="", constraints=[check_in("match_method", MATCH_METHODS)])
    target = peewee.CharField(max_length=100, default="", index=True)   # "donation:12", "payout:po_..."
    company = peewee.ForeignKeyField(Company, null=True, backref="+", on_delete="SET NULL")
    expected_cents = peewee.BigIntegerField(null=True)
    outcome = peewee.CharField(max_length=8, default="", constraints=[check_in("outcome", OUTCOMES)])
    settlement = peewee.CharField(max_length=30, default="")            # what giving answered
    note = peewee.TextField(default="")
    matched_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    matched_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "reconcile_bank_line"
        constraints = [
            peewee.SQL("CHECK ((status = 'matched') = (target <> ''))"),
            peewee.SQL("CHECK (status = 'matched' OR (match_method = '' AND outcome = ''))"),
        ]

    @property
    def line_ref(self) -> str:
        """How other capabilities name this line (giving's bank_line_ref)."""
        return f"bankline:{self.id}:{self.fingerprint[:16]}"


IMPORT_JOB_STATUSES = ("queued", "running", "done", "failed")


class BankImportJob(BaseModel):
    """A bank file imported in the background: the upload is kept here (any worker on any host can
    read it) until the import is done or has failed for good; then only the outcome stays. While the
    job waits or runs, `active_sha256` holds the file's hash, so the same file is queued once."""

    status = peewee.CharField(max_length=10, default="queued", index=True,
                              constraints=[check_in("status", IMPORT_JOB_STATUSES)])
    filename = peewee.CharField(max_length=255, default="")
    format = peewee.CharField(max_length=10, default="auto")
    encoding = peewee.CharField(max_length=10, default="utf-8")
    size = peewee.IntegerField(default=0, constraints=[peewee.Check("size >= 0")])
    sha256 = peewee.CharField(max_length=64)
    active_sha256 = peewee.CharField(max_length=64, null=True, unique=True)
    data = peewee.BlobField(null=True)
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    started_at = peewee.DateTimeField(null=True)
    finished_at = peewee.DateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    statement = peewee.ForeignKeyField(BankStatement, null=True, backref="+", on_delete="SET NULL")
    lines_total = peewee.IntegerField(default=0)
    lines_new = peewee.IntegerField(default=0)
    matched = peewee.IntegerField(default=0)
    error = peewee.TextField(default="")          # the message as facts (JSON), rendered in the reader's language
    continuity = peewee.TextField(default="[]")   # gaps and overlaps found, as facts (JSON)

    class Meta:
        table_name = "reconcile_import_job"


class KnownIban(BaseModel):
    """A payer account seen paying a company's request: later transfers from it point to that company."""

    iban = peewee.CharField(max_length=34, unique=True)
    company = peewee.ForeignKeyField(Company, backref="+", on_delete="CASCADE")
    learned_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reconcile_known_iban"


class StripePayout(BaseModel):
    payout_id = peewee.CharField(max_length=255, unique=True)
    amount_cents = peewee.BigIntegerField()
    currency = peewee.CharField(max_length=3, default="eur")
    status = peewee.CharField(max_length=20, default="")
    arrival_on = peewee.DateField(null=True)
    created_at = peewee.DateTimeField(null=True)
    items_known = peewee.BooleanField(default=False)
    items_net_cents = peewee.BigIntegerField(default=0)
    items_gross_cents = peewee.BigIntegerField(default=0)
    items_fee_cents = peewee.BigIntegerField(default=0)
    items_refund_cents = peewee.BigIntegerField(default=0)
    bank_line = peewee.ForeignKeyField(BankLine, null=True, unique=True, backref="+", on_delete="SET NULL")
    synced_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reconcile_stripe_payout"

    @property
    def balanced(self) -> bool:
        return self.items_known and self.items_net_cents == self.amount_cents


class StripeBalanceTransaction(BaseModel):
    txn_id = peewee.CharField(max_length=255, unique=True)
    type = peewee.CharField(max_length=40)
    reporting_category = peewee.CharField(max_length=60, default="")
    amount_cents = peewee.BigIntegerField()
    fee_cents = peewee.BigIntegerField(default=0)
    net_cents = peewee.BigIntegerField()
    currency = peewee.CharField(max_length=3, default="eur")
    source_id = peewee.CharField(max_length=255, default="", index=True)
    status = peewee.CharField(max_length=20, default="")
    payout_id = peewee.CharField(max_length=255, default="", index=True)
    created_at = peewee.DateTimeField(null=True)
    synced_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reconcile_stripe_txn"
        constraints = [peewee.SQL("CHECK (net_cents = amount_cents - fee_cents)")]


class StripeSync(BaseModel):
    """One run of `portal stripe sync` (or the button): what it found and did."""

    started_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)
    transactions_new = peewee.IntegerField(default=0)
    payouts_new = peewee.IntegerField(default=0)
    settled = peewee.IntegerField(default=0)
    error = peewee.TextField(default="")
    started_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "reconcile_stripe_sync"


class PeriodClose(BaseModel):
    kind = peewee.CharField(max_length=12, constraints=[check_in("kind", PERIOD_KINDS)])
    starts_on = peewee.DateField()
    ends_on = peewee.DateField()
    expected_cents = peewee.BigIntegerField(default=0)
    actual_cents = peewee.BigIntegerField(default=0)
    totals = peewee.TextField(default="{}")
    explanation = peewee.TextField(default="")
    closed_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    closed_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reconcile_period_close"
        indexes = ((("starts_on", "ends_on"), True),)
        constraints = [peewee.SQL("CHECK (ends_on >= starts_on)")]


class Correction(BaseModel):
    """A change to a closed period: recorded beside it, never edited into it."""

    period = peewee.ForeignKeyField(PeriodClose, backref="corrections", on_delete="RESTRICT")
    on = peewee.DateField()
    amount_cents = peewee.BigIntegerField()
    subject = peewee.CharField(max_length=100, default="")      # e.g. "bankline:12", "donation:7"
    reason = peewee.TextField(constraints=[peewee.Check("reason <> ''")])
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reconcile_correction"


MODELS = (BankStatement, StatementBalance, BankLine, BankImportJob, KnownIban, StripePayout, StripeBalanceTransaction,
          StripeSync, PeriodClose, Correction)
