"""The matching engine: bank lines against open items, in one pass.

Open items (payment requests awaiting a transfer, Stripe payouts awaiting their bank line)
are indexed once by reference, by alias, by (amount, payer account), by (amount, company)
and by amount, so each line costs a few dictionary look-ups: matching n lines against m
items is O(n + m), never O(n * m). Pure Python: no database, no Flask.

Order of evidence: the structured (RF) reference, wherever the bank put it; a Stripe payout
(by its id or, for a line from Stripe, by its amount); the amount together with the payer's
account (given by the item or learned from earlier payments); a pattern in the description
(an alias such as the donation number). A match whose amount differs from what is still
open is kept and shown as partial or over-payment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from stdnum import iso11649

_RF_TOKENS = re.compile(r"RF\s?\d{2}(?:\s?[A-Z0-9]){1,21}", re.IGNORECASE)
_ALIAS_TOKENS = re.compile(r"[A-Z0-9]+(?:[-/][A-Z0-9]+)+|[A-Z]{1,4}\d{3,}", re.IGNORECASE)
_PAYOUT_ID = re.compile(r"po_[A-Za-z0-9]+")


@dataclass
class OpenItem:
    key: str                          # "donation:12", "payout:po_123"
    kind: str                         # "request" or "payout"
    amount_cents: int                 # still open
    reference: str = ""               # compact RF reference
    company_id: int | None = None
    label: str = ""
    aliases: tuple[str, ...] = ()     # e.g. the donation number, the payout id
    iban: str = ""                    # the payer's account when known in advance
    due_on: dt.date | None = None
    matched_cents: int = 0


@dataclass(frozen=True)
class LineFacts:
    id: int
    amount_cents: int
    reference: str = ""
    counterparty_iban: str = ""
    counterparty_name: str = ""
    description: str = ""
    end_to_end_id: str = ""


@dataclass(frozen=True)
class Match:
    line_id: int
    item: OpenItem
    method: str                       # reference, payout, iban_amount, description
    outcome: str                      # exact, partial, over
    expected_cents: int


def rf_candidates(*texts: str) -> list[str]:
    """Every valid RF reference written in the texts (with or without spaces)."""
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        for match in _RF_TOKENS.finditer(text):
            candidate = match.group(0).upper().replace(" ", "")
            while len(candidate) >= 5:
                if iso11649.is_valid(candidate):
                    found.append(candidate)
                candidate = candidate[:-1]
    return found


def outcome_of(paid: int, expected: int) -> str:
    if paid == expected:
        return "exact"
    return "partial" if paid < expected else "over"


class OpenItems:
    """Open items indexed for constant-time look-ups per bank line."""

    def __init__(self, items: Iterable[OpenItem], known_ibans: dict[str, int] | None = None) -> None:
        self.known_ibans = known_ibans or {}
        self.by_key: dict[str, OpenItem] = {}
        self.by_ref: dict[str, OpenItem] = {}
        self.by_alias: dict[str, OpenItem] = {}
        self.by_amount_iban: dict[tuple[int, str], deque[OpenItem]] = defaultdict(deque)
        self.by_amount_company: dict[tuple[int, int], deque[OpenItem]] = defaultdict(deque)
        self.by_amount: dict[int, deque[OpenItem]] = defaultdict(deque)
        self.payouts_by_amount: dict[int, deque[OpenItem]] = defaultdict(deque)
        self.by_company: dict[int, list[OpenItem]] = defaultdict(list)
        for item in items:
            self.add(item)

    def add(self, item: OpenItem) -> None:
        self.by_key[item.key] = item
        if item.reference:
            self.by_ref[item.reference.upper()] = item
        for alias in item.aliases:
            self.by_alias[alias.upper()] = item
        if item.kind == "payout":
            self.payouts_by_amount[item.amount_cents].append(item)
            return
        self.by_amount[item.amount_cents].append(item)
        if item.iban:
            self.by_amount_iban[(item.amount_cents, item.iban)].append(item)
        if item.company_id is not None:
            self.by_company[item.company_id].append(item)
            self.by_amount_company[(item.amount_cents, item.company_id)].append(item)

    def __len__(self) -> int:
        return len(self.by_key)

    @staticmethod
    def _first_open(queue: deque[OpenItem] | None, amount: int) -> OpenItem | None:
        # Items paid (partly) since they were indexed no longer answer to their old amount:
        # drop them from the front, so the work stays proportional to the items ever added.
        while queue:
            item = queue[0]
            if item.amount_cents - item.matched_cents == amount:
                return item
            queue.popleft()
        return None

    def lookup(self, text: str) -> OpenItem | None:
        """An item by its key, reference, alias or payout id, as a person would type it."""
        text = (text or "").strip()
        if not text:
            return None
        compact = text.upper().replace(" ", "")
        return self.by_key.get(text) or self.by_ref.get(compact) or self.by_alias.get(compact) or self.by_alias.get(text.upper())

    def find(self, line: LineFacts) -> tuple[OpenItem, str] | None:
        if line.amount_cents <= 0:
            return None
        for reference in ([line.reference] if line.reference else []) + rf_candidates(line.description, line.end_to_end_id):
            item = self.by_ref.get(reference.upper())
            if item is not None:
                return item, "reference"
        haystack = f"{line.counterparty_name} {line.description}"
        if "stripe" in haystack.lower():
            for payout_id in _PAYOUT_ID.findall(line.description):
                item = self.by_alias.get(payout_id.upper())
                if item is not None and item.kind == "payout":
                    return item, "payout"
            item = self._first_open(self.payouts_by_amount.get(line.amount_cents), line.amount_cents)
            if item is not None:
                return item, "payout"
        if line.counterparty_iban:
            item = self._first_open(self.by_amount_iban.get((line.amount_cents, line.counterparty_iban)), line.amount_cents)
            if item is None and line.counterparty_iban in self.known_ibans:
                company = self.known_ibans[line.counterparty_iban]
                item = self._first_open(self.by_amount_company.get((line.amount_cents, company)), line.amount_cents)
            if item is not None:
                return item, "iban_amount"
        for token in _ALIAS_TOKENS.findall(line.description):
            item = self.by_alias.get(token.upper())
            if item is not None and item.kind != "payout":
                return item, "description"
        return None

    def apply(self, line: LineFacts, item: OpenItem, method: str) -> Match:
        expected = item.amount_cents - item.matched_cents
        item.matched_cents += line.amount_cents
        if line.counterparty_iban and item.company_id is not None and item.kind == "request":
            # Learned at once: a later transfer from this account in the same run points to the company.
            self.known_ibans.setdefault(line.counterparty_iban, item.company_id)
        return Match(line.id, item, method, outcome_of(line.amount_cents, expected), expected)

    def match(self, lines: Iterable[LineFacts]) -> list[Match]:
        """Match every line that the evidence allows; each costs O(1) dictionary look-ups."""
        matches: list[Match] = []
        for line in lines:
            found = self.find(line)
            if found is not None:
                matches.append(self.apply(line, *found))
        return matches

    def suggestions(self, line: LineFacts, limit: int = 3) -> list[OpenItem]:
        """Open items a person might pick for a line that matched nothing."""
        seen: dict[str, OpenItem] = {}
        company = self.known_ibans.get(line.counterparty_iban)
        pools = [self.by_amount.get(abs(line.amount_cents)) or (),
                 self.payouts_by_amount.get(abs(line.amount_cents)) or ()]
        for pool in pools:
            for item in pool:
                if item.matched_cents < item.amount_cents and item.key not in seen:
                    seen[item.key] = item
                if len(seen) >= limit:
                    return list(seen.values())
        if company is not None:
            for item in self.by_company.get(company, ()):
                if item.matched_cents < item.amount_cents and item.key not in seen:
                    seen[item.key] = item
                    if len(seen) >= limit:
                        break
        return list(seen.values())
