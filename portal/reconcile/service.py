"""The project leader's desk, its common ground: the desk's refusals (ReconcileError), periods (months,
school years, closed months), the open items that bank lines are matched against and how a match
settles them, and the bank lines that keep a month from closing.

The desk's work is in the modules beside it: bank_import (bank statements in), line_matching
(matching lines automatically and by hand), work_list (the lines waiting, surpluses), figures
(totals, attention, charts), period_close and audit_page. Acting on behalf of a company user is
portal.accounts.acting.

Service functions take plain arguments and return plain results; they never read
`flask.request`. Giving and enrolment are reached only through their service modules.
"""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from portal.accounts.models import CompanyIban, User
from portal.core import hooks, ledger, money
from portal.core.errors import UserError
from portal.core.templating import current_language
from portal.giving import service as giving_service
from portal.reconcile.matching import LineFacts, OpenItem, OpenItems
from portal.reconcile.models import BankLine, KnownIban, StripePayout


class ReconcileError(UserError):
    """A refusal to show the project leader: str() is the translated message."""


class PeriodClosed(ReconcileError):
    """The change falls in a closed period: only a correction may touch it."""


def reason_given(reason: str, refusal) -> str:
    """The reason a person gave for a change, stripped; ReconcileError(refusal) when none was given."""
    reason = (reason or "").strip()
    if not reason:
        raise ReconcileError(refusal)
    return reason


# --- periods ------------------------------------------------------------------------------

def closed_months() -> set[dt.date]:
    return {row.month for row in ledger.closed_months()}


def in_closed(on: dt.date, closed: set[dt.date]) -> bool:
    return ledger.month_of(on) in closed


def refuse_if_closed(on: dt.date) -> None:
    if ledger.is_closed(on):
        raise PeriodClosed(_l("%(date)s lies in a closed period. Record a correction instead.", date=on.isoformat()))


def school_year_of(on: dt.date) -> str:
    """The school year a date belongs to, as '2026-2027' (years run from 1 August)."""
    first = on.year if on.month >= 8 else on.year - 1
    return f"{first}-{first + 1}"


def school_year_range(label: str) -> tuple[dt.date, dt.date]:
    match = re.fullmatch(r"(\d{4})-(\d{4})", label or "")
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise ReconcileError(_l("A school year is written as 2026-2027."))
    first = int(match.group(1))
    return dt.date(first, 8, 1), dt.date(first + 1, 7, 31)


def month_range(label: str) -> tuple[dt.date, dt.date]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", label or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReconcileError(_l("A month is written as 2026-05."))
    start = dt.date(int(match.group(1)), int(match.group(2)), 1)
    following = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


# --- open items ---------------------------------------------------------------------------

# Giving's payment requests and Stripe's payouts are the desk's own open items. Another source
# (a test, a later capability) answers hooks.OPEN_ITEMS with its items and hooks.SETTLERS with
# {key prefix: settle(item, line, actor) -> settlement word} for them.

def _giving_open_requests() -> list[OpenItem]:
    """Pending payment requests, each for what is still to pay (a part paid already is off)."""
    donations = giving_service.open_bank_requests()
    return [OpenItem(key=f"donation:{d.id}", kind="request",
                     amount_cents=d.outstanding_cents, reference=d.reference or "",
                     company_id=d.company_id, label=f"{d.number} {d.donor_name}", aliases=(d.number,),
                     due_on=d.due_on, payer_name=d.company_name)
            for d in donations]


def _payout_open_items() -> list[OpenItem]:
    return [OpenItem(key=f"payout:{p.payout_id}", kind="payout", amount_cents=p.amount_cents,
                     label=f"Stripe payout {p.payout_id}", aliases=(p.payout_id,), due_on=p.arrival_on)
            for p in StripePayout.select().where(StripePayout.bank_line.is_null() & (StripePayout.amount_cents > 0))]


def open_items() -> list[OpenItem]:
    items = _giving_open_requests() + _payout_open_items()
    for found in hooks.collect(hooks.OPEN_ITEMS):
        items.extend(found)
    return items


def known_ibans() -> dict[str, int | None]:
    """Payer accounts and their company: registered by the company in its profile, or learned from
    an earlier payment. An account that points to two companies points to none (None)."""
    found: dict[str, int | None] = {}
    for iban, company_id in CompanyIban.select(CompanyIban.iban, CompanyIban.company).tuples():
        found[iban] = company_id if found.get(iban, company_id) == company_id else None
    for iban, company_id in KnownIban.select(KnownIban.iban, KnownIban.company).tuples():
        if iban not in found:
            found[iban] = company_id
        elif found[iban] is not None and found[iban] != company_id:
            found[iban] = None
    return found


def open_index() -> OpenItems:
    return OpenItems(open_items(), known_ibans())


# Settlements after which the line's money is in giving's books: undone only by a correction.
MONEY_RECORDED = ("paid", "already_recorded", "part_recorded", "paid_with_surplus", "duplicate_payment",
                  "refund_recorded")


def settle(item: OpenItem, line: BankLine, actor: User | None, keep_surplus: bool = False) -> str:
    prefix = item.key.split(":", 1)[0]
    settlers = {key: fn for found in hooks.collect(hooks.SETTLERS) for key, fn in found.items()}
    custom = settlers.get(prefix)
    if custom is not None:
        return custom(item, line, actor)
    if prefix == "payout":
        payout_id = item.key.split(":", 1)[1]
        done = (StripePayout.update(bank_line=line.id)
                .where((StripePayout.payout_id == payout_id) & StripePayout.bank_line.is_null()).execute())
        return "payout_tied" if done else "payout_taken"
    if prefix == "donation":
        if not item.reference:
            return "unsupported"
        result = giving_service.record_bank_payment(item.reference, line.amount_cents, line.booked_on, actor, line.line_ref,
                                            keep_surplus=keep_surplus)
        return result.status
    return "unsupported"


def line_facts(line: BankLine) -> LineFacts:
    return LineFacts(line.id, line.amount_cents, line.reference, line.counterparty_iban, line.counterparty_name,
                     line.description, line.end_to_end_id)


# --- bank lines that keep a month open (the ledger asks every capability) --------------------

@ledger.open_items.connect
def _open_bank_lines(_sender, *, start: dt.date, end: dt.date) -> list[ledger.OpenItem]:
    """Credit lines nobody matched, and lines matched to a request they did not pay exactly."""
    rows = (BankLine.select().where((BankLine.booked_on >= start) & (BankLine.booked_on <= end)
                                    & (((BankLine.status == "unmatched") & (BankLine.amount_cents > 0))
                                       | ((BankLine.status == "matched") & BankLine.outcome.in_(("partial", "over")))))
            .order_by(BankLine.booked_on, BankLine.id))
    items = []
    for line in rows:
        what = (_l("unmatched bank line") if line.status == "unmatched"
                else _l("bank line that did not pay its request exactly"))
        items.append(ledger.OpenItem(
            f"bank_line:{line.id}", f"{what} {format_date(line.booked_on, 'medium')} "
                                    f"{money.format_eur(line.amount_cents, current_language())} "
                                    f"{line.counterparty_name}".strip(), line.amount_cents))
    return items
