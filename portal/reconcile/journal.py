"""The bookkeeper's journal: double-entry lines per day, from the books and from Stripe (issue 14).

Every entry debits and credits general-ledger accounts (settings `JOURNAL_ACCOUNT_*`, listed
in portal/config.py and the README's configuration table):

- a money posting of the ledger (portal/core/ledger.py) moves its net amount into the clearing
  account of its method (Stripe clearing for online payments, the bank for transfers), its
  Stripe fee into the fee expense, and its gross amount out of the income account of its
  classification (gifts or sponsoring). A payment credits income; a refund, a chargeback or a
  fee learnt later is the same posting with other signs, so it debits income (or only moves
  the fee); a chargeback reversed, or a refund that failed after all, credits it again;
- VAT: sponsoring of a VAT-registered issuer has an invoice (portal/giving/corrections.py); its VAT
  moves from sponsoring income to VAT payable (a "vat:" entry beside the payment: EUR 1,210.00
  paid is 1,000.00 income and 210.00 VAT), and each credit note (or reversal note) moves its own
  VAT back. The figures are the ones the invoice and the notes carry. An invoice or note made
  after the payment's month was closed has its VAT entry in the first open month;
- a public gift that names an existing company posts nothing to the ledger until that company
  decides; its money is in the bank (or Stripe) all the same, so the journal books it on arrival
  against "gifts awaiting the company's decision". Acceptance posts it to the ledger, and the
  journal moves it from that account to income; a declined gift stays with the foundation as a
  gift without a company: the journal moves it to gift income, dated as the money came (in the
  first open month when that month was closed at the decision);
- a material posting debits the materials passed on to schools and credits the income from
  gifts in kind, at the confirmed value;
- a paid Stripe payout moves its amount from the Stripe clearing account to the bank, on the
  day its bank line was booked (or Stripe's arrival date while no bank line is matched). When the
  arrival-dated entry lies in a month closed before the bank line was matched, it stays there and
  the first open month reverses it and books the bank date;
- a Stripe fee not tied to a payment (balance transactions of Stripe's reporting category
  `fee`) is an expense paid from the Stripe clearing account;
- bank money received beyond a payment request (issue 13) is owed to the company until it is
  refunded (bank) or kept as a gift (then it becomes gift income). These entries are read from
  the audit rows that recorded the money (a bank line undone removes its receipt row, not its
  audit row); an undo is a reversing entry, in the first open month when the month was closed.

Hours are not money: the employer pays its employee, nothing reaches the foundation's
accounts. Sponsored and volunteered hours are left out of the debit and credit lines and listed
in a memo beside the journal (the XLSX file's second sheet and the page), with hours and, for
sponsored hours, the employer's cost, for the annual report's notes.

The journal is read by booking date: a posting dated in a closed month was booked in the first
open month (ledger.booking_date), and the journal books it there too, naming the original date,
so that a closed month's journal never changes. What is not posted through the ledger (payouts,
Stripe's own fees, surpluses, VAT, gifts awaiting a decision) is dated the same way by when it was
recorded (booked_on()). Each day must balance (debits equal credits);
a day that does not is flagged and the downloads are refused until the cause is found.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import peewee
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company
from portal.core import clock, ledger
from portal.core.errors import UserError
from portal.giving.models import Donation
from portal.reconcile import journal_giving
from portal.reconcile.models import BankLine, StripeBalanceTransaction, StripePayout

# Account roles, each with its setting; the order is the order of the page's account list.
ROLES = ("bank", "stripe", "surplus", "awaiting", "vat", "stripe_fees", "in_kind_cost", "gifts", "sponsoring", "in_kind_income")
ROLE_LABELS = {
    "bank": _l("Bank"),
    "stripe": _l("Stripe clearing account"),
    "surplus": _l("Surpluses owed to companies"),
    "awaiting": _l("Gifts awaiting the company's decision"),
    "vat": _l("VAT payable"),
    "stripe_fees": _l("Stripe fees"),
    "in_kind_cost": _l("Materials passed on to schools"),
    "gifts": _l("Income from gifts"),
    "sponsoring": _l("Income from sponsoring"),
    "in_kind_income": _l("Income from gifts in kind"),
}
# What an entry records, as a code; ENTRY_LABELS makes its words.
ENTRY_LABELS = {
    "donation": _l("Payment received"),
    "fee": _l("Stripe fee"),
    "refund": _l("Refund"),
    "refund_undone": _l("Refund undone"),
    "chargeback": _l("Chargeback"),
    "chargeback_reversed": _l("Chargeback reversed"),
    "payment_undone": _l("Payment undone"),
    "surplus_received": _l("Surplus received"),
    "surplus_refunded": _l("Surplus refunded"),
    "surplus_kept": _l("Surplus kept as a gift"),
    "material": _l("Materials in kind"),
    "payout": _l("Stripe payout"),
    "stripe_fee": _l("Stripe fee"),
    "payout_moved": _l("Stripe payout moved to its bank date"),
    "surplus_undone": _l("Surplus undone"),
    "vat": _l("VAT on sponsoring"),
    "gift_awaiting": _l("Gift awaiting the company's decision"),
    "gift_declined": _l("Gift declined by the company, kept without a company"),
    "gift_accepted": _l("Gift accepted by the company"),
}
MEMO_LABELS = {"hours_sponsored": _l("Sponsored hours"), "hours_volunteered": _l("Volunteered hours")}
MONEY_SOURCES = {
    "donation.paid": "donation", "donation.bank_part": "donation", "donation.fee": "fee",
    "refund.succeeded": "refund", "refund.failed": "refund_undone", "refund.canceled": "refund_undone",
    "dispute.withdrawn": "chargeback", "dispute.reinstated": "chargeback_reversed",
    "donation.surplus_kept": "surplus_kept", "donation.bank_undone": "payment_undone",
}
FORMATS = ("csv", "xlsx")
MEMO_KINDS = ("hours_sponsored", "hours_volunteered")


class JournalError(UserError):
    """The journal cannot be made as asked; the message says why, in the reader's language."""


def accounts() -> dict[str, str]:
    """The general-ledger code of each role, from the JOURNAL_ACCOUNT_* settings."""
    return {role: str(current_app.config.get(f"JOURNAL_ACCOUNT_{role.upper()}") or "").strip() for role in ROLES}


@dataclass(frozen=True)
class JournalLine:
    line_id: str            # unique in the journal: the entry and the line's number in it
    entry: str              # the entry: "posting:12", "payout:po_...", "stripe_fee:txn_...", "surplus:3"
    on: dt.date             # the booking date
    role: str               # one of ROLES
    account: str            # its general-ledger code
    debit_cents: int
    credit_cents: int
    what: str               # one of ENTRY_LABELS
    company: str = ""
    subject: str = ""       # what names it: a donation's number, a payout's id, a material's key
    reference: str = ""     # the payment reference (RF..., pi_...)
    original_on: dt.date | None = None  # the business date, when it was booked later (a closed month)

    @property
    def account_name(self) -> str:
        return str(ROLE_LABELS[self.role])

    @property
    def description(self) -> str:
        parts = [str(ENTRY_LABELS.get(self.what, self.what)), self.subject, self.company]
        if self.original_on is not None:
            parts.append(str(_l("dated %(date)s", date=self.original_on.isoformat())))
        return " · ".join(part for part in parts if part)


@dataclass(frozen=True)
class MemoLine:
    """Hours of one company, kind and day: not money, so not in the debit and credit lines."""

    on: dt.date
    kind: str
    company: str
    minutes: int
    value_cents: int        # sponsored hours at the employer's cost; 0 for volunteered hours

    @property
    def kind_name(self) -> str:
        return str(MEMO_LABELS.get(self.kind, self.kind))


@dataclass(frozen=True)
class Day:
    on: dt.date
    debit_cents: int
    credit_cents: int

    @property
    def balanced(self) -> bool:
        return self.debit_cents == self.credit_cents


@dataclass
class Journal:
    start: dt.date
    end: dt.date
    lines: list[JournalLine] = field(default_factory=list)
    memo: list[MemoLine] = field(default_factory=list)

    @property
    def days(self) -> list[Day]:
        sums: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
        for line in self.lines:
            sums[line.on][0] += line.debit_cents
            sums[line.on][1] += line.credit_cents
        return [Day(on, debit, credit) for on, (debit, credit) in sorted(sums.items())]

    @property
    def unbalanced(self) -> list[Day]:
        return [day for day in self.days if not day.balanced]

    @property
    def debit_cents(self) -> int:
        return sum(line.debit_cents for line in self.lines)

    @property
    def credit_cents(self) -> int:
        return sum(line.credit_cents for line in self.lines)

    def by_account(self) -> list[tuple[str, str, int, int]]:
        """(role, account, debit, credit) per account used, in ROLES order."""
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for line in self.lines:
            sums[(line.role, line.account)][0] += line.debit_cents
            sums[(line.role, line.account)][1] += line.credit_cents
        return [(role, account, debit, credit)
                for (role, account), (debit, credit) in sorted(sums.items(), key=lambda item: ROLES.index(item[0][0]))]

    @property
    def memo_minutes(self) -> int:
        return sum(line.minutes for line in self.memo)

    def check(self) -> None:
        """Refuse a journal with a day whose debits and credits differ (JournalError names the days)."""
        wrong = self.unbalanced
        if wrong:
            raise JournalError(_l("The journal does not balance on %(days)s: nothing was downloaded. Check "
                                  "these days' payments and postings (portal ledger check).",
                                  days=", ".join(day.on.isoformat() for day in wrong)))


# --- building ----------------------------------------------------------------------------------

class _Builder:
    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.journal = Journal(start, end)
        self.codes = accounts()
        self.entries: list[tuple[dt.date, int, str, list[JournalLine]]] = []
        self.order = itertools.count()

    def entry(self, entry: str, on: dt.date, what: str, amounts: Iterable[tuple[str, int]], **facts) -> None:
        """One entry: (role, signed cents) pairs, debits positive, credits negative; zeros are left out."""
        if not self.journal.start <= on <= self.journal.end:
            return
        lines = []
        for role, cents in amounts:
            if cents == 0:
                continue
            lines.append(JournalLine(line_id=f"{entry}:{len(lines) + 1}", entry=entry, on=on, role=role,
                                     account=self.codes[role], debit_cents=max(cents, 0),
                                     credit_cents=max(-cents, 0), what=what, **facts))
        if lines:
            self.entries.append((on, next(self.order), entry, lines))

    def done(self) -> Journal:
        self.entries.sort(key=lambda item: (item[0], item[1]))
        self.journal.lines = [line for _on, _n, _entry, lines in self.entries for line in lines]
        return self.journal


def _company_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(Company.select(Company.id, Company.legal_name).where(Company.id.in_(wanted)).tuples())


def _donation_numbers(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {i: Donation(id=i).number for i in wanted}


def _money_what(posting: ledger.Posting) -> str:
    known = MONEY_SOURCES.get(posting.source)
    if known:
        return known
    if posting.gross_cents == 0:
        return "fee"
    return "donation" if posting.gross_cents > 0 else "refund"


def _postings(builder: _Builder, start: dt.date, end: dt.date, closes) -> None:
    earliest = _earliest(start, closes)
    # From the start of the closed months right before `start`: a VAT line learnt after their close
    # is booked in the first open month.
    rows = list(ledger.postings(start=earliest, end=end, kinds=("money", "material", *MEMO_KINDS)))
    companies = _company_names(r.company_id for r in rows)
    money = [r for r in rows if r.kind == "money"]
    numbers = _donation_numbers(r.subject_id for r in money)
    vat = journal_giving.Vat(r.subject_id for r in money if r.classification == "sponsoring")
    accepted_at = journal_giving.accepted_gifts(r.subject_id for r in money)
    memo: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for p in rows:
        company = companies.get(p.company_id, "")
        original = p.dated_on if p.dated_on != p.booked_on else None
        if p.kind in MEMO_KINDS:
            if start <= p.booked_on <= end:
                sums = memo[(p.booked_on, p.kind, company)]
                sums[0] += p.minutes
                sums[1] += p.value_cents if p.kind == "hours_sponsored" else 0
            continue
        if p.kind == "material":
            builder.entry(f"posting:{p.id}", p.booked_on, "material",
                          [("in_kind_cost", p.value_cents), ("in_kind_income", -p.value_cents)],
                          company=company, subject=p.key, original_on=original)
            continue
        what = _money_what(p)
        income = "sponsoring" if p.classification == "sponsoring" else "gifts"
        facts = {"company": company, "subject": numbers.get(p.subject_id, p.key), "reference": p.reference}
        decided = accepted_at.get(p.subject_id)
        if decided is not None and p.created_at <= decided:
            # Posted when the company accepted a public gift: the money has been in the journal since
            # it came (see _awaiting); acceptance moves it from the gifts awaiting a decision to income.
            builder.entry(f"posting:{p.id}", p.booked_on, "gift_accepted" if p.gross_cents >= 0 else what,
                          [("awaiting", p.gross_cents), (income, -p.gross_cents)], original_on=original, **facts)
        else:
            if ":kept:" in p.key:
                clearing = "surplus"       # a kept surplus was in the bank already, owed to the company
            else:
                clearing = "stripe" if p.method == "stripe" else "bank"
            builder.entry(f"posting:{p.id}", p.booked_on, what,
                          [(clearing, p.net_cents), ("stripe_fees", p.fee_cents), (income, -p.gross_cents)],
                          original_on=original, **facts)
        share, recorded = vat.of(p)
        if share:
            # The invoice (or credit note) may be made after the payment: its VAT is booked on the
            # payment's day while that month is open, else in the first open month.
            on = booked_on(p.booked_on, recorded, closes)
            builder.entry(f"vat:{p.id}", on, "vat", [(income, share), ("vat", -share)],
                          original_on=p.dated_on if on != p.dated_on else None, **facts)
    builder.journal.memo = [MemoLine(on, kind, company, minutes, value)
                            for (on, kind, company), (minutes, value) in sorted(memo.items())]


def _awaiting(builder: _Builder, start: dt.date, end: dt.date, closes) -> None:
    """Money of a public gift that names an existing company, while that company has not decided (the
    ledger posts nothing for it then): it is in the bank (or Stripe), held in the account of gifts
    awaiting the company's decision. Accepting posts it to the ledger (see _postings); declining
    leaves the foundation a gift without a company: the journal moves it to gift income, each amount
    dated as it happened (in the first open month when that month was closed at the decision)."""
    for move in journal_giving.awaiting_moves(end):
        facts = {"company": move.payer, "subject": move.number, "reference": move.reference}
        clearing = "stripe" if move.method == "stripe" else "bank"
        day = booked_on(move.on, move.recorded_at, closes)
        builder.entry(f"awaiting:{move.key}", day, "gift_awaiting" if move.gross_cents >= 0 else "refund",
                      [(clearing, move.net_cents), ("stripe_fees", move.fee_cents), ("awaiting", -move.gross_cents)],
                      original_on=move.on if day != move.on else None, **facts)
        if move.declined_at is not None:
            day = booked_on(move.on, max(move.recorded_at, move.declined_at), closes)
            builder.entry(f"declined:{move.key}", day, "gift_declined",
                          [("awaiting", move.gross_cents), ("gifts", -move.gross_cents)],
                          original_on=move.on if day != move.on else None, **facts)


def _closes() -> dict[dt.date, dt.datetime]:
    return {row.month: row.closed_at for row in ledger.closed_months()}


def booked_on(day: dt.date, recorded_at: dt.datetime | None, closes: dict[dt.date, dt.datetime]) -> dt.date:
    """The booking date of something not posted through the ledger (a payout, a bank surplus): its
    own date, unless its month was already closed when it was recorded; then, as the ledger does,
    the first day of the first month that was still open then."""
    month = ledger.month_of(day)
    moved = False
    while month in closes and (recorded_at is None or closes[month] <= recorded_at):
        month, moved = ledger.next_month(month), True
    return month if moved else day


def _earliest(start: dt.date, closes: dict[dt.date, dt.datetime]) -> dt.date:
    """The first business date whose items may be booked from `start` on: the start of the closed
    months right before it (their late items land in the first open month)."""
    month = ledger.month_of(start)
    while (previous := ledger.month_of(month - dt.timedelta(days=1))) in closes:
        month = previous
    return min(month, start)


def _payouts(builder: _Builder, start: dt.date, end: dt.date, closes) -> None:
    """A payout is journalled on Stripe's arrival date until its bank line is matched, then on the bank
    line's date. Once the arrival-dated entry sits in a month that was closed before the match, it
    stays: the move to the bank date is a reversing entry plus the new one, in the first open month."""
    earliest = _earliest(start, closes)
    query = (StripePayout.select(StripePayout, BankLine.booked_on, BankLine.matched_at)
             .join(BankLine, on=(StripePayout.bank_line == BankLine.id), join_type=peewee.JOIN.LEFT_OUTER)
             .where(StripePayout.status == "paid").order_by(StripePayout.id))
    for payout in query.objects():
        days = [d for d in (payout.arrival_on, payout.booked_on) if d is not None]
        if not days or max(days) < earliest or min(days) > end:
            continue
        amounts = [("bank", payout.amount_cents), ("stripe", -payout.amount_cents)]
        facts = {"subject": payout.payout_id}
        entry = f"payout:{payout.payout_id}"
        if payout.booked_on is None or payout.arrival_on is None or payout.arrival_on == payout.booked_on:
            day, recorded = ((payout.booked_on, payout.matched_at) if payout.booked_on is not None
                             else (payout.arrival_on, payout.synced_at))
            on = booked_on(day, recorded, closes)
            builder.entry(entry, on, "payout", amounts, original_on=day if on != day else None, **facts)
            continue
        matched = payout.matched_at or dt.datetime.max
        first = booked_on(payout.arrival_on, payout.synced_at, closes)
        month = ledger.month_of(first)
        if month in closes and (payout.synced_at is None or closes[month] <= matched):
            # Journalled on the arrival date in a month closed before the bank line was matched.
            builder.entry(entry, first, "payout", amounts,
                          original_on=payout.arrival_on if first != payout.arrival_on else None, **facts)
            on = booked_on(payout.arrival_on, matched, closes)
            builder.entry(f"{entry}:moved", on, "payout_moved", [(role, -cents) for role, cents in amounts],
                          original_on=payout.arrival_on if on != payout.arrival_on else None, **facts)
            entry = f"{entry}:bank"
        on = booked_on(payout.booked_on, payout.matched_at, closes)
        builder.entry(entry, on, "payout", amounts, original_on=payout.booked_on if on != payout.booked_on else None,
                      **facts)


def _stripe_fees(builder: _Builder, start: dt.date, end: dt.date, closes) -> None:
    earliest = _earliest(start, closes)
    lower = dt.datetime.combine(earliest - dt.timedelta(days=1), dt.time.min)
    upper = dt.datetime.combine(end + dt.timedelta(days=2), dt.time.min)
    query = (StripeBalanceTransaction.select()
             .where((StripeBalanceTransaction.reporting_category == "fee")
                    & StripeBalanceTransaction.created_at.between(lower, upper))
             .order_by(StripeBalanceTransaction.created_at, StripeBalanceTransaction.id))
    for txn in query:
        day = txn.created_at.replace(tzinfo=dt.UTC).astimezone(clock.AMSTERDAM).date()  # naive UTC
        if not earliest <= day <= end:
            continue
        on = booked_on(day, txn.synced_at, closes)
        builder.entry(f"stripe_fee:{txn.txn_id}", on, "stripe_fee",
                      [("stripe_fees", -txn.net_cents), ("stripe", txn.net_cents)],
                      subject=txn.txn_id, original_on=day if on != day else None)


def _surpluses(builder: _Builder, start: dt.date, end: dt.date, closes) -> None:
    """Bank money beyond what a request asked (issue 13): in the bank, owed to the company. An undone
    bank line is a reversing entry on the line's date, in the first open month when that month was
    closed at the undo, so that a closed month's journal stays as it was."""
    earliest = _earliest(start, closes)
    found = [item for item in journal_giving.surpluses(earliest) if earliest <= item.on <= end]
    companies = _company_names(item.company_id for item in found)
    references: dict[int, str] = {}
    for chunk in journal_giving.chunks(item.donation_id for item in found):
        references.update(Donation.select(Donation.id, Donation.reference).where(Donation.id.in_(chunk)).tuples())
    for item in found:
        day = booked_on(item.on, item.recorded_at, closes)
        # A part's surplus comes into the bank; a refund (negative) goes out of it.
        builder.entry(item.entry, day, item.what, [("bank", item.cents), ("surplus", -item.cents)],
                      company=companies.get(item.company_id, ""),
                      subject=Donation(id=item.donation_id).number if item.donation_id else "",
                      reference=references.get(item.donation_id) or "", original_on=item.on if day != item.on else None)


def build(start: dt.date, end: dt.date) -> Journal:
    """The journal of the days from `start` to `end` (booking dates), entries in date order."""
    if start > end:
        raise JournalError(_l("The first day comes after the last day."), "start")
    builder = _Builder(start, end)
    closes = _closes()
    _postings(builder, start, end, closes)
    _awaiting(builder, start, end, closes)
    _payouts(builder, start, end, closes)
    _stripe_fees(builder, start, end, closes)
    _surpluses(builder, start, end, closes)
    return builder.done()
