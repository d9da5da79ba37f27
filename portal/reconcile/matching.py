"""The matching engine: bank lines against open items, in one pass.

Open items (payment requests awaiting a transfer, Stripe payouts awaiting their bank line)
are indexed once by reference, by alias, by (amount, payer account), by (amount, company)
and by amount, so each line costs a few dictionary look-ups: matching n lines against m
items is O(n + m), never O(n * m). Pure Python: no database, no Flask.

Order of evidence: the structured (RF) reference, wherever the bank put it; a Stripe payout
(by its id or, for a line from Stripe, by its amount); the amount together with the payer's
account (given by the item, registered by the company or learned from earlier payments), only
when exactly one open request of that company has that amount; a pattern in the description
(an alias such as the donation number). A match whose amount differs from what is still
open is kept and shown as partial or over-payment.

Suggestions for a line that matched nothing rank open items by amount, by the payer's account
and by how alike the payer's name and the company's name are (difflib).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from portal.reconcile.banks import find_rf

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
    payer_name: str = ""              # the company's name, to rank suggestions by the payer's name


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
    """The RF reference written in each text (with or without spaces): exactly the reference, never
    a longer string that happens to pass the check (banks.find_rf)."""
    return [found for found in (find_rf(text) for text in texts if text) if found]


_LEGAL_FORMS = re.compile(r"\b(?:b\.?\s?v|n\.?\s?v|v\.?\s?o\.?\s?f|c\.?\s?v|stichting|vereniging|holding|"
                          r"coöperatie|cooperatie|u\.?\s?a|ltd|gmbh|inc)\b\.?", re.IGNORECASE)
_NOT_LETTERS = re.compile(r"[^0-9a-zà-ÿ]+")


def plain_name(name: str) -> str:
    """A name for comparison: lower case, without legal forms and punctuation."""
    return " ".join(_NOT_LETTERS.sub(" ", _LEGAL_FORMS.sub(" ", (name or "").lower())).split())


def name_likeness(payer: str, company: str) -> float:
    """How alike a payer's name (as the bank wrote it) and a company's name are, 0 to 1."""
    a, b = plain_name(payer), plain_name(company)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ratio = SequenceMatcher(None, a, b).ratio()
    words_a, words_b = set(a.split()), set(b.split())
    if words_a <= words_b or words_b <= words_a:   # "Papendorp" and "Papendorp Advies"
        ratio = max(ratio, 0.9)
    return ratio


def outcome_of(paid: int, expected: int) -> str:
    if paid == expected:
        return "exact"
    return "partial" if paid < expected else "over"


class OpenItems:
    """Open items indexed for constant-time look-ups per bank line."""

    def __init__(self, items: Iterable[OpenItem], known_ibans: dict[str, int | None] | None = None) -> None:
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

    @staticmethod
    def _only_open(queue: deque[OpenItem] | None, amount: int) -> OpenItem | None:
        """The one item of the queue that still awaits exactly `amount`; None for none or several."""
        if not queue:
            return None
        found = [item for item in queue if item.amount_cents - item.matched_cents == amount]
        if len(found) != len(queue):   # items paid (partly) since: dropped, as _first_open does
            queue.clear()
            queue.extend(found)
        return found[0] if len(found) == 1 else None

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
            # The payer's account with the amount: only when exactly one open request answers to
            # both, so two requests of the same amount are never settled by guessing.
            item = self._only_open(self.by_amount_iban.get((line.amount_cents, line.counterparty_iban)),
                                   line.amount_cents)
            company = self.known_ibans.get(line.counterparty_iban)
            if item is None and company is not None:
                item = self._only_open(self.by_amount_company.get((line.amount_cents, company)), line.amount_cents)
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
            # Learned at once: a later transfer from this account in the same run points to the
            # company (an account already known for another company stays unknown: None).
            known = self.known_ibans.setdefault(line.counterparty_iban, item.company_id)
            if known is not None and known != item.company_id:
                self.known_ibans[line.counterparty_iban] = None
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
        """Open items a person might pick for a line that matched nothing, best first: the same
        amount, a company whose account paid, a company whose name is like the payer's."""
        amount = abs(line.amount_cents)
        company = self.known_ibans.get(line.counterparty_iban) if line.counterparty_iban else None
        candidates: dict[str, OpenItem] = {}
        for pool in (self.by_amount.get(amount) or (), self.payouts_by_amount.get(amount) or (),
                     self.by_company.get(company, ()) if company is not None else ()):
            for item in pool:
                candidates.setdefault(item.key, item)
        likeness: dict[str, float] = {}
        if line.counterparty_name:
            for name, items in self._names().items():
                score = name_likeness(line.counterparty_name, name)
                likeness[name] = score
                if score >= 0.6:
                    for item in items:
                        candidates.setdefault(item.key, item)

        def score(item: OpenItem) -> tuple[float, int, str]:
            remaining = item.amount_cents - item.matched_cents
            points = (2.0 if remaining == amount else 0.0) + (1.0 if company is not None and item.company_id == company
                                                               else 0.0)
            points += 1.5 * likeness.get(item.payer_name, 0.0)
            return -points, abs(remaining - amount), item.key   # then the amount nearest the line's

        open_now = [item for item in candidates.values() if item.matched_cents < item.amount_cents]
        return sorted(open_now, key=score)[:limit]

    def _names(self) -> dict[str, list[OpenItem]]:
        if not hasattr(self, "_by_name"):
            self._by_name: dict[str, list[OpenItem]] = defaultdict(list)
            for item in self.by_key.values():
                if item.payer_name and item.kind == "request":
                    self._by_name[item.payer_name].append(item)
        return self._by_name
