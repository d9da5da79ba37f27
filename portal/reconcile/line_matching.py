"""Bank lines matched to what they pay: automatically (after an import, or on request), by hand,
by a pasted list of references; a match undone, a line set aside and brought back. A match settles
its open item (service.settle); a line naming a request that is no longer open is a duplicate
payment or the refund of a surplus, recorded through giving.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit, ledger, money
from portal.core.db import atomic_write, utcnow
from portal.core.templating import current_language
from portal.giving import service as giving
from portal.giving.models import Donation
from portal.reconcile import banks
from portal.reconcile.matching import Match, OpenItem, OpenItems, outcome_of, rf_candidates
from portal.reconcile.models import BankLine, KnownIban, StripePayout
from portal.reconcile.service import (
    MONEY_RECORDED,
    ReconcileError,
    closed_months,
    in_closed,
    line_facts,
    open_index,
    reason_given,
    refuse_if_closed,
    settle,
)


def auto_match(actor: User | None = None, *, statement_id: int | None = None, index: OpenItems | None = None) -> int:
    """Match unmatched credit lines (of one statement, or all) against the open items; then a
    transfer naming a request already paid is recorded as a duplicate payment (a surplus), and a
    debit naming a request with a surplus as its refund."""
    query = BankLine.select().where((BankLine.status == "unmatched")
                                    & ((BankLine.amount_cents > 0) | (BankLine.reference != "")))
    if statement_id is not None:
        query = query.where(BankLine.statement == statement_id)
    closed = closed_months()
    lines = {line.id: line for line in query.order_by(BankLine.booked_on, BankLine.id)
             if not in_closed(line.booked_on, closed)}
    if not lines:
        return 0
    index = index or open_index()
    matches = index.match(line_facts(line) for line in lines.values() if line.amount_cents > 0)
    recorded = _record_matches(matches, lines, actor)
    taken = {match.line_id for match in matches}
    return recorded + record_settled_requests([line for line in lines.values() if line.id not in taken], actor)


def _line_reference(line: BankLine) -> str:
    found = rf_candidates(line.reference, line.description, line.end_to_end_id)
    return found[0] if found else ""


def record_settled_requests(lines: list[BankLine], actor: User | None) -> int:
    """Lines whose RF reference names a payment request that is no longer open: a credit is a
    duplicate payment, a debit may be the refund of a surplus."""
    recorded = 0
    for line in lines:
        reference = _line_reference(line)
        donation = giving.bank_request(reference) if reference else None
        if donation is None:
            continue
        if line.amount_cents > 0 and donation.status == "paid":
            recorded += _match_to_request(line, donation, actor, method="reference") is not None
        elif line.amount_cents < 0 and giving.bank_balance(donation).surplus_cents > 0:
            recorded += _match_to_request(line, donation, actor, method="reference") is not None
    return recorded


def _match_to_request(line: BankLine, donation, actor: User | None, *, method: str, note: str = "",
                      keep_surplus: bool = False) -> str | None:
    """Record a line for a payment request outside the open items (already paid: a duplicate
    payment; a debit: a refund of its surplus). The settlement, or None when giving refused it
    (an issue is open then) and the line stays unmatched."""
    with atomic_write():
        if line.amount_cents > 0:
            result = giving.record_bank_payment(donation.reference, line.amount_cents, line.booked_on, actor,
                                                line.line_ref, keep_surplus=keep_surplus)
            expected, outcome = 0, "over"
        else:
            result = giving.record_bank_refund(donation.reference, -line.amount_cents, line.booked_on, actor,
                                               line.line_ref)
            expected, outcome = line.amount_cents, "exact"
        if result.status not in MONEY_RECORDED:
            return None
        moved = (BankLine.update(status="matched", match_method=method, target=f"donation:{donation.id}",
                                 company=donation.company_id, expected_cents=expected, outcome=outcome,
                                 settlement=result.status[:30], note=(note or "")[:1000],
                                 matched_by=getattr(actor, "id", actor), matched_at=utcnow())
                 .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
        if not moved:
            raise ReconcileError(_l("This line was matched a moment ago."))
        audit.record("reconcile.line_matched", actor=actor, company=donation.company_id, obj=line,
                     target=f"donation:{donation.id}", method=method, outcome=outcome,
                     amount_cents=line.amount_cents, expected_cents=expected, settlement=result.status, note=note)
    return result.status


MATCH_BATCH = 500


def _record_matches(matches: list[Match], lines: dict[int, BankLine], actor: User | None) -> int:
    """Store matches in batches: each match with its settlement and audit row, all or nothing per batch."""
    recorded = 0
    now = utcnow()
    for start in range(0, len(matches), MATCH_BATCH):
        with atomic_write():
            for match in matches[start:start + MATCH_BATCH]:
                line = lines[match.line_id]
                moved = (BankLine.update(status="matched", match_method=match.method, target=match.item.key,
                                         company=match.item.company_id, expected_cents=match.expected_cents,
                                         outcome=match.outcome, matched_by=getattr(actor, "id", actor), matched_at=now)
                         .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
                if not moved:
                    continue
                settlement = settle(match.item, line, actor)
                BankLine.update(settlement=settlement[:30]).where(BankLine.id == line.id).execute()
                _learn_iban(line, match.item)
                audit.record("reconcile.line_matched", actor=actor, company=match.item.company_id, obj=line,
                             target=match.item.key, method=match.method, outcome=match.outcome,
                             amount_cents=line.amount_cents, expected_cents=match.expected_cents,
                             settlement=settlement)
                recorded += 1
    return recorded


def _learn_iban(line: BankLine, item: OpenItem) -> None:
    if line.counterparty_iban and item.company_id is not None and item.kind == "request":
        KnownIban.insert(iban=line.counterparty_iban, company=item.company_id).on_conflict_ignore().execute()


def _existing_line(line_id: int) -> BankLine:
    line = BankLine.get_or_none(BankLine.id == line_id)
    if line is None:
        raise ReconcileError(_l("This bank line does not exist."))
    return line


def _line_for_change(line_id: int) -> BankLine:
    line = _existing_line(line_id)
    refuse_if_closed(line.booked_on)
    return line


def match_line(line_id: int, target: str, actor: User, note: str = "", keep_surplus: bool = False) -> BankLine:
    """Match one line by hand to an open item named by key, reference, number or payout id. As on
    import: less than the request is a part payment, more settles it with a surplus to refund (or
    to keep, `keep_surplus`, when the company agreed); a request already paid takes the line as a
    duplicate payment, and a debit naming a request with a surplus is its refund."""
    line = _line_for_change(line_id)
    if line.status != "unmatched":
        raise ReconcileError(_l("This line is already matched or set aside."))
    index = open_index()
    item = index.lookup(target) if line.amount_cents > 0 else None
    if item is None:
        donation = giving.bank_request(_typed_reference(target, index))
        if donation is not None and (line.amount_cents < 0 or donation.status == "paid"):
            if line.amount_cents < 0 and giving.bank_balance(donation).surplus_cents < -line.amount_cents:
                raise ReconcileError(_l("%(number)s has no surplus of %(amount)s to refund.", number=donation.number,
                                        amount=money.format_eur(-line.amount_cents, current_language())))
            if _match_to_request(line, donation, actor, method="manual", note=note, keep_surplus=keep_surplus) is None:
                raise ReconcileError(_l("%(number)s cannot take this line; an issue is open for it.",
                                        number=donation.number))
            return BankLine.get_by_id(line.id)
        if line.amount_cents <= 0:
            raise ReconcileError(_l("Money paid out matches only the refund of a surplus: name its request's reference."))
        raise ReconcileError(_l("No open item answers to %(target)s.", target=(target or "")[:60]))
    match = Match(line.id, item, "manual", outcome_of(line.amount_cents, item.amount_cents), item.amount_cents)
    with atomic_write():
        moved = (BankLine.update(status="matched", match_method="manual", target=item.key, company=item.company_id,
                                 expected_cents=item.amount_cents, outcome=match.outcome, note=(note or "")[:1000],
                                 matched_by=actor.id, matched_at=utcnow())
                 .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
        if not moved:
            raise ReconcileError(_l("This line was matched a moment ago."))
        settlement = settle(item, line, actor, keep_surplus=keep_surplus)
        BankLine.update(settlement=settlement[:30]).where(BankLine.id == line.id).execute()
        _learn_iban(line, item)
        audit.record("reconcile.line_matched", actor=actor, company=item.company_id, obj=line, target=item.key,
                     method="manual", outcome=match.outcome, amount_cents=line.amount_cents,
                     expected_cents=item.amount_cents, settlement=settlement, note=note)
    return BankLine.get_by_id(line.id)


def _typed_reference(target: str, index: OpenItems) -> str:
    """The RF reference a person typed (compact or in groups), or the reference of the request
    whose number (G-000123) was typed."""
    text = (target or "").strip()
    found = rf_candidates(text)
    if found:
        return found[0]
    if text.startswith("donation:") or re.fullmatch(r"G-\d+", text, re.IGNORECASE):
        digits = re.sub(r"\D", "", text)
        donation = Donation.get_or_none(Donation.id == int(digits)) if digits else None
        return donation.reference or "" if donation is not None and donation.method == "bank" else ""
    return ""


def unmatch_line(line_id: int, actor: User, reason: str) -> BankLine:
    """Undo a match made by mistake: the line waits in the queue again. Money the match recorded in
    giving's books (a payment, a part, a duplicate, a refund) is taken back through giving, which
    posts the reversal to the ledger dated as the original: in a closed month the ledger books it
    in the first open month. Refused when later money of the same request depends on it."""
    reason = reason_given(reason, _l("Say why the match is undone."))
    line = _existing_line(line_id)
    if line.status != "matched":
        raise ReconcileError(_l("This line is not matched."))
    with atomic_write():
        moved = (BankLine.update(status="unmatched", match_method="", target="", company=None, expected_cents=None,
                                 outcome="", settlement="", matched_by=None, matched_at=None)
                 .where((BankLine.id == line.id) & (BankLine.status == "matched")).execute())
        if not moved:
            raise ReconcileError(_l("This line was changed a moment ago."))
        undone = ""
        if line.settlement in MONEY_RECORDED:
            try:
                undone = giving.undo_bank_line(line.line_ref, actor, reason).status
            except giving.GivingError as error:
                raise ReconcileError(error.message) from error
        if line.target.startswith("payout:"):
            StripePayout.update(bank_line=None).where(StripePayout.bank_line == line.id).execute()
        audit.record("reconcile.line_unmatched", actor=actor, company=line.company_id, obj=line, target=line.target,
                     method=line.match_method, settlement=line.settlement, giving=undone, reason=reason)
    return BankLine.get_by_id(line.id)


def not_undoable(lines: Iterable[BankLine]) -> set[int]:
    """Of these matched lines, the ones whose match unmatch_line would refuse to undo (later money of
    the same request depends on it), so the page can say so instead of offering the button."""
    recorded = {line.line_ref: line.id for line in lines if line.settlement in MONEY_RECORDED}
    if not recorded:
        return set()
    return {recorded[ref] for ref in giving.bank_lines_not_undoable(recorded)}


def ignore_line(line_id: int, actor: User, reason: str) -> BankLine:
    """Set a line aside (bank costs, a transfer between own accounts) with a reason."""
    reason = reason_given(reason, _l("Say why the line needs no match."))
    line = _line_for_change(line_id)
    with atomic_write():
        moved = (BankLine.update(status="ignored", note=reason[:1000], matched_by=actor.id, matched_at=utcnow())
                 .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
        if not moved:
            raise ReconcileError(_l("Only an unmatched line can be set aside."))
        audit.record("reconcile.line_ignored", actor=actor, obj=line, reason=reason, amount_cents=line.amount_cents)
    return BankLine.get_by_id(line.id)


def restore_line(line_id: int, actor: User) -> BankLine:
    line = _line_for_change(line_id)
    with atomic_write():
        moved = (BankLine.update(status="unmatched", note="", matched_by=None, matched_at=None)
                 .where((BankLine.id == line.id) & (BankLine.status == "ignored")).execute())
        if not moved:
            raise ReconcileError(_l("Only a line set aside can be brought back."))
        audit.record("reconcile.line_restored", actor=actor, obj=line)
    return BankLine.get_by_id(line.id)


@dataclass
class PastedResult:
    reference: str
    status: str          # paid, matched_line, unknown_reference, amount_mismatch, invalid, ...
    target: str = ""


def mark_references_paid(text: str, actor: User, paid_on: dt.date) -> list[PastedResult]:
    """Mark a pasted list of references paid: one per line, optionally followed by an amount.

    Where an unmatched bank line carries the reference it is matched to it; otherwise the
    request is recorded paid on `paid_on` for its full amount.
    """
    refuse_if_closed(paid_on)
    entries = [raw.strip() for raw in re.split(r"[\r\n,;]+", text or "") if raw.strip()]
    if not entries:
        raise ReconcileError(_l("Paste at least one reference."))
    if len(entries) > 1000:
        raise ReconcileError(_l("Paste at most 1,000 references at a time."))
    index = open_index()
    results: list[PastedResult] = []
    for entry in entries:
        reference = banks.clean_reference(entry.split()[0] if entry.split() else entry)
        if not entry.upper().startswith("RF") or not reference.startswith("RF"):
            item = index.lookup(entry.split()[0])
        else:
            item = index.by_ref.get(reference)
        if item is None:
            results.append(PastedResult(entry[:60], "unknown_reference"))
            continue
        line = (BankLine.select().where((BankLine.reference == item.reference) & (BankLine.status == "unmatched")
                                        & (BankLine.amount_cents > 0)).first() if item.reference else None)
        if line is not None and not ledger.is_closed(line.booked_on):
            line = match_line(line.id, item.key, actor, note="pasted")
            results.append(PastedResult(entry[:60], f"line:{line.settlement}", item.key))
            continue
        if item.kind != "request" or not item.reference:
            results.append(PastedResult(entry[:60], "unsupported", item.key))
            continue
        outcome = giving.mark_paid_by_bank(item.reference, item.amount_cents - item.matched_cents, paid_on, actor,
                                           f"pasted:{item.reference}:{paid_on.isoformat()}")
        results.append(PastedResult(entry[:60], outcome.status, item.key))
    with atomic_write():
        audit.record("reconcile.references_pasted", actor=actor, paid_on=paid_on.isoformat(),
                     results={r.reference: r.status for r in results})
    return results
