"""The project leader's work list: bank lines by status, an unmatched credit with the open items it
may pay and why (reference, amount, account, name), a search of the open items for a line, and the
requests paid beyond what they asked (surpluses to refund or keep).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from portal.accounts.models import Company, User
from portal.core import money
from portal.giving import service as giving
from portal.reconcile.matching import OpenItem, OpenItems, name_likeness, rf_candidates
from portal.reconcile.models import BankLine, BankStatement
from portal.reconcile.service import (
    ReconcileError,
    closed_months,
    in_closed,
    line_facts,
    open_index,
)

# --- surpluses: paid beyond the request ----------------------------------------------------

@dataclass
class Surplus:
    donation: Any
    company: str
    received_cents: int
    surplus_cents: int
    refunded_cents: int


def surpluses() -> list[Surplus]:
    """Requests paid beyond what they asked, with what is still to refund or keep."""
    found = giving.surplus_requests()
    names = dict(Company.select(Company.id, Company.legal_name)
                 .where(Company.id.in_({d.company_id for d, _b in found if d.company_id})).tuples()) if found else {}
    # A request paid exactly before a duplicate arrived holds that first payment outside its parts.
    return [Surplus(d, names.get(d.company_id, d.donor_name),
                    b.received_cents + (d.amount_cents if b.parts_cents == 0 and d.status == "paid" else 0),
                    b.surplus_cents, b.refunded_cents) for d, b in found]


def keep_surplus(donation_id: int, actor: User) -> None:
    """The company agreed that its surplus stays as a gift: giving counts it (and posts it)."""
    try:
        giving.keep_surplus(donation_id, actor)
    except giving.GivingError as error:
        raise ReconcileError(error.message) from error


# --- the queue ----------------------------------------------------------------------------

@dataclass
class Candidate:
    """An open item offered for a bank line, with why it is offered (codes, worded by the page)."""

    item: OpenItem
    reasons: tuple[str, ...] = ()    # "reference", "amount", "account", "name"
    company: str = ""

    @property
    def remaining_cents(self) -> int:
        return self.item.amount_cents - self.item.matched_cents


@dataclass
class QueueLine:
    line: BankLine
    suggestions: list[OpenItem]
    closed: bool
    candidates: list[Candidate] = field(default_factory=list)


def _reasons(line: BankLine, item: OpenItem, known: dict[str, int | None]) -> tuple[str, ...]:
    found = []
    if item.reference and item.reference.upper() in {r.upper() for r in rf_candidates(
            line.reference, line.description, line.end_to_end_id)}:
        found.append("reference")
    if item.amount_cents - item.matched_cents == abs(line.amount_cents):
        found.append("amount")
    company = known.get(line.counterparty_iban) if line.counterparty_iban else None
    if company is not None and item.company_id == company:
        found.append("account")
    if line.counterparty_name and item.payer_name and name_likeness(line.counterparty_name, item.payer_name) >= 0.6:
        found.append("name")
    return tuple(found)


def _candidate(line: BankLine, item: OpenItem, index: OpenItems) -> Candidate:
    return Candidate(item, _reasons(line, item, index.known_ibans), item.payer_name)


def line_queue(status: str = "unmatched", *, credits_only: bool = False, limit: int = 100,
               offset: int = 0) -> tuple[list[QueueLine], int]:
    """The lines of the queue, newest first; an unmatched credit comes with its best candidates."""
    query = BankLine.select().where(BankLine.status == status)
    if credits_only:
        query = query.where(BankLine.amount_cents > 0)
    total = query.count()
    rows = list(query.order_by(BankLine.booked_on.desc(), BankLine.id.desc()).limit(limit).offset(offset))
    index = open_index() if status == "unmatched" and rows else None
    closed = closed_months()
    found = []
    for line in rows:
        suggestions = index.suggestions(line_facts(line)) if index and line.amount_cents > 0 else []
        found.append(QueueLine(line, suggestions, in_closed(line.booked_on, closed),
                               [_candidate(line, item, index) for item in suggestions]))
    return found, total


SEARCH_LIMIT = 10


def search_open_items(line_id: int, text: str, limit: int = SEARCH_LIMIT) -> list[Candidate]:
    """Open items for a line that a person looks for by number (G-000123), RF reference, company name
    or amount ("250", "1.234,56"): each word must fit; the same amount as the line ranks first."""
    line = BankLine.get_or_none(BankLine.id == line_id)
    words = (text or "").strip().lower().split()[:6]
    if line is None or not words:
        return []
    index = open_index()
    compact = "".join(words).upper()

    def amount_of(word: str) -> int | None:
        try:
            return money.parse_cents(word)
        except money.AmountError:
            return None

    amounts = {word: amount_of(word) for word in words}
    found = []
    for item in index.by_key.values():
        if item.matched_cents >= item.amount_cents:
            continue
        haystack = " ".join((item.label, item.payer_name, item.key, *item.aliases)).lower()
        reference = (item.reference or "").upper()
        fits = bool(reference) and len(compact) >= 4 and compact in reference
        if not fits:
            fits = all(word in haystack or (amounts[word] is not None and amounts[word] == item.amount_cents)
                       for word in words)
        if fits:
            found.append(_candidate(line, item, index))
    found.sort(key=lambda c: (c.remaining_cents != abs(line.amount_cents), -len(c.reasons),
                              c.item.due_on or dt.date.max, c.item.key))
    return found[:limit]


def statements(limit: int = 50) -> list[BankStatement]:
    return list(BankStatement.select().order_by(BankStatement.id.desc()).limit(limit))
