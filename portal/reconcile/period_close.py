"""Closing a month or a school year: expected (the books) against actual (the bank and Stripe), what
keeps the period open, the closing itself with its explanations, and corrections recorded beside a
closed period. The bank lines that keep a month open are service._open_bank_lines.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import peewee
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit, ledger
from portal.core.contributions import KINDS
from portal.core.db import atomic_write, database
from portal.reconcile.figures import KindTotals
from portal.reconcile.models import BankLine, Correction, PeriodClose, StripePayout
from portal.reconcile.service import ReconcileError, month_range, reason_given, school_year_range


@dataclass
class PeriodSummary:
    kind: str
    starts_on: dt.date
    ends_on: dt.date
    totals: dict[str, KindTotals]
    bank_expected_cents: int
    bank_actual_cents: int
    stripe_expected_cents: int
    stripe_actual_cents: int
    unmatched_count: int
    unmatched_cents: int
    ignored_cents: int
    closed: PeriodClose | None = None

    @property
    def expected_cents(self) -> int:
        return self.bank_expected_cents + self.stripe_expected_cents

    @property
    def actual_cents(self) -> int:
        return self.bank_actual_cents + self.stripe_actual_cents

    @property
    def difference_cents(self) -> int:
        return self.actual_cents - self.expected_cents

    def as_dict(self) -> dict[str, Any]:
        return {
            "totals": {k: vars(v) for k, v in self.totals.items()},
            "bank_expected_cents": self.bank_expected_cents, "bank_actual_cents": self.bank_actual_cents,
            "stripe_expected_cents": self.stripe_expected_cents, "stripe_actual_cents": self.stripe_actual_cents,
            "unmatched_count": self.unmatched_count, "unmatched_cents": self.unmatched_cents,
            "ignored_cents": self.ignored_cents,
        }


def period_range(kind: str, label: str) -> tuple[dt.date, dt.date]:
    if kind == "month":
        return month_range(label)
    if kind == "school_year":
        return school_year_range(label)
    raise ReconcileError(_l("Close a month or a school year."))


def period_summary(kind: str, label: str) -> PeriodSummary:
    """Expected (what the books say was received) against actual (what the bank and Stripe show).

    Expected comes from the ledger's totals booked in the period. Actual counts every bank line
    matched to a donation, also one that paid too little or too much: such a line is a
    difference to explain, never left out of both sides."""
    start, end = period_range(kind, label)
    kinds = {k: KindTotals() for k in KINDS}
    bank_expected = stripe_expected = 0
    for row in ledger.totals(by=("kind", "method"), start=start, end=end):
        kinds.setdefault(row["kind"], KindTotals()).add_sums(row)
        if row["kind"] == "money" and row["method"] == "bank":
            bank_expected += row["gross_cents"]
        elif row["kind"] == "money" and row["method"] == "stripe":
            stripe_expected += row["net_cents"]
    in_period = (BankLine.booked_on >= start) & (BankLine.booked_on <= end)
    bank_actual = (BankLine.select(peewee.fn.COALESCE(peewee.fn.SUM(BankLine.amount_cents), 0))
                   .where(in_period & (BankLine.status == "matched") & BankLine.target.startswith("donation:")).scalar())
    stripe_actual = (StripePayout.select(peewee.fn.COALESCE(peewee.fn.SUM(StripePayout.items_net_cents), 0))
                     .where(StripePayout.items_known & (StripePayout.arrival_on >= start)
                            & (StripePayout.arrival_on <= end)).scalar())
    unmatched = BankLine.select(peewee.fn.COUNT(BankLine.id), peewee.fn.COALESCE(peewee.fn.SUM(BankLine.amount_cents), 0)) \
        .where(in_period & (BankLine.status == "unmatched") & (BankLine.amount_cents > 0)).tuples().first()
    ignored = (BankLine.select(peewee.fn.COALESCE(peewee.fn.SUM(BankLine.amount_cents), 0))
               .where(in_period & (BankLine.status == "ignored")).scalar())
    closed = PeriodClose.get_or_none((PeriodClose.starts_on == start) & (PeriodClose.ends_on == end))
    return PeriodSummary(kind, start, end, kinds, int(bank_expected), int(bank_actual or 0), int(stripe_expected),
                         int(stripe_actual or 0), int(unmatched[0] or 0), int(unmatched[1] or 0), int(ignored or 0),
                         closed)


def items_keeping_open(kind: str, label: str) -> list[ledger.OpenItem]:
    """What keeps the months of a period from closing, from every capability."""
    start, end = period_range(kind, label)
    return [item for month in ledger.months(start, end) if not ledger.is_closed(month)
            for item in ledger.items_keeping_open(month)]


@dataclass
class LatePosting:
    posting: ledger.Posting
    company: str


def late_postings(start: dt.date, end: dt.date, limit: int = 200) -> list[LatePosting]:
    """Changes dated in an earlier, closed month that the ledger booked in this period (first 200)."""
    postings = list(ledger.corrections(start, end).limit(limit))
    names = dict(Company.select(Company.id, Company.legal_name)
                 .where(Company.id.in_({p.company_id for p in postings})).tuples()) if postings else {}
    return [LatePosting(p, names.get(p.company_id, "")) for p in postings]


def close_period(kind: str, label: str, actor: User, explanation: str = "",
                 explanations: dict[str, str] | None = None, today: dt.date | None = None) -> PeriodClose:
    """Close a month or school year that has ended: a difference between expected and actual needs an
    explanation, and so does each open item (unmatched or inexact bank lines, open payment issues,
    unconfirmed hours). The ledger books anything dated in it later in the first open month."""
    summary = period_summary(kind, label)
    explanation = (explanation or "").strip()
    if summary.closed is not None:
        raise ReconcileError(_l("This period is already closed."))
    if (summary.difference_cents or summary.unmatched_count) and not explanation:
        raise ReconcileError(_l("Expected and actual differ, or lines are unmatched: explain the difference before closing."))
    with atomic_write():
        try:
            ledger.close_months(summary.starts_on, summary.ends_on, actor_id=actor.id, explanations=explanations,
                                today=today)
        except ledger.LedgerError as exc:
            raise ReconcileError(str(exc)) from exc
        try:
            with database.atomic():
                period = PeriodClose.create(kind=kind, starts_on=summary.starts_on, ends_on=summary.ends_on,
                                            expected_cents=summary.expected_cents, actual_cents=summary.actual_cents,
                                            totals=json.dumps(summary.as_dict(), sort_keys=True),
                                            explanation=explanation[:5000], closed_by=actor.id)
        except peewee.IntegrityError as exc:
            raise ReconcileError(_l("This period is already closed.")) from exc
        audit.record("reconcile.period_closed", actor=actor, obj=period, kind=kind, starts_on=summary.starts_on,
                     ends_on=summary.ends_on, expected_cents=summary.expected_cents,
                     actual_cents=summary.actual_cents, explanation=explanation)
    return period


def add_correction(period_id: int, on: dt.date, amount_cents: int, subject: str, reason: str,
                   actor: User) -> Correction:
    """Record a change to a closed period beside it (the period itself stays as closed)."""
    reason = reason_given(reason, _l("A correction needs a reason."))
    period = PeriodClose.get_or_none(PeriodClose.id == period_id)
    if period is None:
        raise ReconcileError(_l("This period is not closed."))
    if not period.starts_on <= on <= period.ends_on:
        raise ReconcileError(_l("The correction's date must lie in the period it corrects."))
    with atomic_write():
        correction = Correction.create(period=period.id, on=on, amount_cents=int(amount_cents),
                                       subject=(subject or "")[:100], reason=reason[:5000], created_by=actor.id)
        audit.record("reconcile.correction_added", actor=actor, obj=correction, period=period.id, on=on,
                     amount_cents=amount_cents, subject=subject, reason=reason)
    return correction


def closed_periods() -> list[PeriodClose]:
    return list(PeriodClose.select().order_by(PeriodClose.starts_on.desc()))
