"""The desk's figures: contributions per school year, per company and overall (from the ledger's
totals), what needs the project leader's attention, and the monthly series the charts draw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company
from portal.core import clock, ledger
from portal.core.contributions import KINDS, Contribution
from portal.core.views import Page, page_of
from portal.enrollment import reminders
from portal.giving import service as giving
from portal.reconcile.models import BankLine, StripePayout
from portal.reconcile.service import school_year_of


@dataclass
class KindTotals:
    count: int = 0
    minutes: int = 0
    value_cents: int = 0
    gross_cents: int = 0
    fee_cents: int = 0
    net_cents: int = 0

    def add(self, c: Contribution) -> None:
        self.count += 1
        self.minutes += c.minutes
        self.value_cents += c.value_cents
        self.gross_cents += c.gross_cents
        self.fee_cents += c.fee_cents
        self.net_cents += c.net_cents

    def add_sums(self, row: dict) -> None:
        """Add a row of the ledger's totals (lines and sums)."""
        self.count += int(row["lines"])
        for name in ("minutes", "value_cents", "gross_cents", "fee_cents", "net_cents"):
            setattr(self, name, getattr(self, name) + int(row[name]))


@dataclass
class Totals:
    by_year: dict[str, dict[str, KindTotals]] = field(default_factory=dict)
    by_company: dict[int, dict[str, KindTotals]] = field(default_factory=dict)   # the page's companies
    companies: dict[int, str] = field(default_factory=dict)
    overall: dict[str, KindTotals] = field(default_factory=dict)
    page: Page | None = None   # which companies by_company holds, of all with contributions


def totals() -> Totals:
    """The desk's figures, from the ledger's maintained totals (a few rows per month, a few per
    company, however many contributions there are): per school year and overall, and per company
    for one page of the companies with contributions, in alphabetical order."""
    result = Totals(overall={kind: KindTotals() for kind in KINDS})
    for row in ledger.month_totals():
        year = result.by_year.setdefault(school_year_of(row["month"]), {k: KindTotals() for k in KINDS})
        year[row["kind"]].add_sums(row)
        result.overall[row["kind"]].add_sums(row)
    contributing = ledger.CompanyTotal.select(ledger.CompanyTotal.company_id).where(
        ledger.CompanyTotal.kind.in_(KINDS))
    result.page = page_of(Company.select(Company.id, Company.legal_name).where(Company.id.in_(contributing))
                          .order_by(Company.legal_name, Company.id), "companies_page")
    result.companies = {company.id: company.legal_name for company in result.page.rows}
    result.by_company = {company: {k: KindTotals() for k in KINDS} for company in result.companies}
    for row in ledger.company_totals(result.companies):
        result.by_company[row["company_id"]][row["kind"]].add_sums(row)
    result.by_year = dict(sorted(result.by_year.items(), reverse=True))
    return result


@dataclass
class Attention:
    label: Any
    count: int
    url: str = ""
    level: str = "warn"


def attention() -> list[Attention]:
    """What needs the project leader: each item says how many and where to look."""
    found: list[Attention] = []
    unmatched = BankLine.select().where((BankLine.status == "unmatched") & (BankLine.amount_cents > 0)).count()
    found.append(Attention(_l("Bank lines received but not matched"), unmatched, "reconcile.queue"))
    partial = BankLine.select().where((BankLine.status == "matched") & (BankLine.outcome != "exact")).count()
    found.append(Attention(_l("Partial payments and over-payments"), partial, "reconcile.matched"))
    unpaid_payouts = (StripePayout.select().where(StripePayout.bank_line.is_null() & (StripePayout.status == "paid"))
                      .count())
    found.append(Attention(_l("Stripe payouts without their bank line"), unpaid_payouts, "reconcile.stripe"))
    unbalanced = (StripePayout.select().where(StripePayout.items_known
                                              & (StripePayout.items_net_cents != StripePayout.amount_cents)).count())
    found.append(Attention(_l("Stripe payouts that do not add up"), unbalanced, "reconcile.stripe", "danger"))
    found.append(Attention(_l("Surpluses to refund or keep"), len(giving.surplus_requests()), "reconcile.surpluses"))
    days = int(current_app.config.get("PENDING_ALERT_DAYS") or 14)
    counts = giving.attention_counts(clock.today())   # counted in SQL, whatever the history
    found.append(Attention(_l("Donations pending longer than %(days)d days", days=days),
                           counts["pending_long"], "giving.leader"))
    found.append(Attention(_l("Payment requests past their due date"), counts["overdue"], "giving.leader"))
    found.append(Attention(_l("Flagged Stripe events and payment issues (amount mismatch, disputes)"),
                           counts["issues"], "giving.leader", "danger"))
    found.append(Attention(_l("Materials pledged but not yet delivered"), counts["pledges"], "giving.leader"))
    found.append(Attention(_l("Hours awaiting confirmation"), reminders.awaiting_confirmation_count(),
                           "enrollment.leader_hours"))
    found.append(Attention(_l("Enrolments without a VOG"), reminders.vog_missing().count(),
                           "enrollment.leader_reminders"))
    for item in found:
        if item.url and item.url not in current_app.view_functions:
            item.url = ""
    return found


def monthly_series(months: int = 12, today: dt.date | None = None) -> dict[str, Any]:
    """Contributions per month by kind over the last `months` months (money in cents, hours in
    minutes), from the ledger's totals."""
    today = today or clock.today()
    keys: list[str] = []
    year, month = today.year, today.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    keys.reverse()
    series = {kind: dict.fromkeys(keys, 0) for kind in KINDS}
    for row in ledger.month_totals(start=dt.date.fromisoformat(keys[0] + "-01")):
        key = f"{row['month']:%Y-%m}"
        if key in series[row["kind"]]:
            series[row["kind"]][key] += row["minutes"] if row["kind"].startswith("hours") else row["value_cents"]
    return {"months": keys, "series": series}
