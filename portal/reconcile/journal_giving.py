"""What the bookkeeper's journal (journal.py) reads from giving beside the ledger's postings: the VAT
of invoiced sponsoring, the money of public gifts that wait for the named company's decision, and the
bank money received beyond a payment request. Plain facts in, plain facts out: journal.py turns
them into debit and credit lines and dates them (a closed month never changes).

Giving's own rows are read, never changed; the audit log is read where a row may be removed later
(an undone bank line removes its receipt row, not its audit rows).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from portal.core import ledger
from portal.core.audit import AuditLog
from portal.core.contributions import Key
from portal.giving.corrections import vat_in
from portal.giving.models import BankReceipt, CreditNote, Donation, Invoice, Refund

# The audit keeps whole seconds: what happened in the second of an audit row is taken as before its end.
AUDIT_SECOND = dt.timedelta(seconds=1)
SURPLUS_ACTIONS = ("donation.bank_received", "donation.surplus_refunded")


def chunks(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    """Ids in groups small enough for one IN (...) each (a database's limit of bound parameters)."""
    wanted = sorted({i for i in ids if i is not None})
    for first in range(0, len(wanted), size):
        yield wanted[first:first + size]


def decided_at(ids: Iterable[int], decision: str) -> dict[int, dt.datetime]:
    """When each public gift was accepted (or declined) by the company it names, from the audit log."""
    found: dict[int, dt.datetime] = {}
    for chunk in chunks(ids):
        query = (AuditLog.select(AuditLog.object_id, AuditLog.at)
                 .where((AuditLog.action == f"donation.company_{decision}") & (AuditLog.object_type == "donation")
                        & AuditLog.object_id.in_([str(i) for i in chunk])))
        for object_id, at in query.tuples():
            found[int(object_id)] = at + AUDIT_SECOND
    return found


class Vat:
    """The VAT share of sponsoring postings, from the invoice and credit notes giving stores: an invoiced
    payment carries the invoice's VAT (paid in parts: each part its share, the last the rest), a
    credit note (or the reversal note that takes it back) its own."""

    def __init__(self, donation_ids: Iterable[int]) -> None:
        self.invoices, self.notes, self.parts = {}, {}, defaultdict(list)
        for chunk in chunks(donation_ids):
            for invoice in Invoice.select().where(Invoice.donation.in_(chunk)):
                self.invoices[invoice.donation_id] = invoice
        for chunk in chunks(self.invoices):
            for note in CreditNote.select().where(CreditNote.donation.in_(chunk)).order_by(CreditNote.id):
                self.notes[note.source] = note
            for receipt in (BankReceipt.select().where(BankReceipt.donation.in_(chunk) & (BankReceipt.kind == "part")
                                                       & (BankReceipt.counted_cents > 0)).order_by(BankReceipt.id)):
                self.parts[receipt.donation_id].append(receipt)
        self.reversals = {note.reverses_id: note for note in self.notes.values() if note.reverses_id is not None}

    def _payment_vat(self, invoice, key: str, gross: int) -> int:
        parsed = Key.parse(key)
        receipt_id = parsed.number_of("bank") if parsed is not None else None
        if receipt_id is None:
            return invoice.vat_cents
        given, paid = 0, 0
        for receipt in self.parts.get(invoice.donation_id, []):
            paid += receipt.counted_cents
            share = (invoice.vat_cents - given if paid >= invoice.gross_cents
                     else vat_in(receipt.counted_cents, invoice.vat_rate_bp))
            if receipt.id == receipt_id:
                return share
            given += share
        return vat_in(abs(gross), invoice.vat_rate_bp)   # a part undone since: its own share

    def of(self, p: ledger.Posting) -> tuple[int, dt.datetime | None]:
        """(VAT in cents with the sign of the posting's gross, when the document that holds it was made)."""
        invoice = self.invoices.get(p.subject_id)
        if invoice is None or p.classification != "sponsoring" or p.gross_cents == 0 or ":kept:" in p.key:
            return 0, None
        if p.source in ("donation.paid", "donation.bank_part", "donation.bank_undone"):
            vat = self._payment_vat(invoice, p.key, p.gross_cents)
            return (vat if p.gross_cents > 0 else -vat), invoice.created_at
        if ":refund:" in p.key:
            source = f"refund:{p.key.rsplit(':', 1)[1]}"
        elif ":dispute:" in p.key:
            source = f"dispute:{p.key.split(':dispute:')[1].split(':')[0]}"
        else:
            return 0, None
        note = self.notes.get(source)
        if note is not None and p.gross_cents > 0:   # the money came back: the reversal note gives it back
            note = self.reversals.get(note.id)
            return (note.vat_cents, note.created_at) if note is not None else (0, None)
        return (-note.vat_cents, note.created_at) if note is not None else (0, None)


def accepted_gifts(ids: Iterable[int]) -> dict[int, dt.datetime]:
    """Of these donations, the public gifts the named company accepted, with the moment it did."""
    found = set()
    for chunk in chunks(ids):
        found.update(i for (i,) in Donation.select(Donation.id).where(
            Donation.id.in_(chunk) & (Donation.company_decision == "accepted")).tuples())
    return decided_at(found, "accepted")


@dataclass(frozen=True)
class Move:
    """Money of a public gift that the ledger did not post when it moved (the company had not decided)."""

    key: str                 # the ledger's key for the same money ("donation:7", "donation:7:refund:2")
    on: dt.date
    recorded_at: dt.datetime
    gross_cents: int
    fee_cents: int
    net_cents: int
    method: str
    payer: str
    number: str
    reference: str
    declined_at: dt.datetime | None   # when the company declined the gift (None: waiting, or accepted)


def awaiting_moves(end: dt.date) -> list[Move]:
    """The money of public gifts naming an existing company (paid by `end`) while the company had not
    decided: all of it for a gift waiting or declined, what came before the acceptance for one
    accepted (its acceptance posted that money to the ledger)."""
    donations = list(Donation.select().where(Donation.company_decision.is_null(False)
                                             & Donation.paid_on.is_null(False) & (Donation.paid_on <= end)
                                             & Donation.paid_at.is_null(False)).order_by(Donation.id))
    ids = [d.id for d in donations]
    accepted, declined = decided_at(ids, "accepted"), decided_at(ids, "declined")
    parts, refunds = defaultdict(list), defaultdict(list)
    for chunk in chunks(ids):
        for receipt in (BankReceipt.select().where(BankReceipt.donation.in_(chunk) & (BankReceipt.kind == "part")
                                                   & (BankReceipt.counted_cents > 0)).order_by(BankReceipt.id)):
            parts[receipt.donation_id].append(receipt)
        for refund in (Refund.select().where(Refund.donation.in_(chunk) & (Refund.status == "succeeded")
                                             & Refund.succeeded_on.is_null(False)).order_by(Refund.id)):
            refunds[refund.donation_id].append(refund)
    found = []
    for d in donations:
        key, fee = f"donation:{d.id}", d.fee_cents or 0
        moves = [(f"{key}:bank:{r.id}", r.received_on, r.created_at, r.counted_cents, 0, r.counted_cents)
                 for r in parts[d.id]]
        if not moves:
            moves = [(key, d.paid_on, d.paid_at, d.amount_cents, fee,
                      d.net_cents if d.net_cents is not None else d.amount_cents - fee)]
        moves += [(f"{key}:refund:{r.id}", r.succeeded_on, r.updated_at, -r.amount_cents, r.fee_cents or 0,
                   r.net_cents if r.net_cents is not None else -r.amount_cents - (r.fee_cents or 0))
                  for r in refunds[d.id]]
        for move_key, on, recorded, gross, move_fee, net in moves:
            if d.company_decision == "accepted" and (d.id not in accepted or recorded > accepted[d.id]):
                continue    # after the acceptance the ledger posts it as any payment of the company
            found.append(Move(move_key, on, recorded, gross, move_fee, net, d.method, d.donor_name, d.number,
                              d.stripe_payment_intent_id or d.reference or "",
                              declined.get(d.id) if d.company_decision == "declined" else None))
    return found


@dataclass(frozen=True)
class Surplus:
    """Bank money beyond a request (positive), sent back from it (negative), or either taken back."""

    entry: str
    cents: int
    on: dt.date
    recorded_at: dt.datetime
    what: str                # surplus_received, surplus_refunded, surplus_undone
    donation_id: int | None
    company_id: int | None


def _surplus_of(row: AuditLog) -> tuple[int, dt.date | None, str]:
    """(surplus cents, bank date, bank line) of an audit row that recorded bank money beyond a request."""
    details = json.loads(row.details or "{}")
    try:
        on = dt.date.fromisoformat(str(details.get("paid_on", "")))
    except ValueError:
        return 0, None, ""
    line = str(details.get("bank_line", ""))
    if row.action == "donation.surplus_refunded":
        return -int(details.get("amount_cents") or 0), on, line
    return int(details.get("amount_cents") or 0) - int(details.get("counted_cents") or 0), on, line


def surpluses(since: dt.date) -> list[Surplus]:
    """Surpluses recorded from the day before `since` on, from the audit rows that recorded them; a bank
    line undone (its receipt row is removed) takes its surplus back as of the undo."""
    start = dt.datetime.combine(since - dt.timedelta(days=1), dt.time.min)
    rows = (AuditLog.select().where(AuditLog.action.in_((*SURPLUS_ACTIONS, "donation.bank_undone"))
                                    & (AuditLog.at >= start)).order_by(AuditLog.id))
    found = []
    for row in rows:
        donation_id = int(row.object_id) if str(row.object_id).isdigit() else None
        if row.action != "donation.bank_undone":
            cents, on, _line = _surplus_of(row)
            if cents and on is not None:
                found.append(Surplus(f"surplus:{row.id}", cents, on, row.at,
                                     "surplus_received" if cents > 0 else "surplus_refunded", donation_id,
                                     row.company_id))
            continue
        details = json.loads(row.details or "{}")
        if details.get("kind") not in ("part", "refund"):
            continue
        line = str(details.get("bank_line", ""))
        originals = (AuditLog.select().where(AuditLog.action.in_(SURPLUS_ACTIONS) & (AuditLog.object_id == row.object_id)
                                             & (AuditLog.id < row.id)).order_by(AuditLog.id.desc()))
        for original in originals:
            cents, on, original_line = _surplus_of(original)
            if original_line == line:
                if cents and on is not None:
                    found.append(Surplus(f"surplus:{row.id}", -cents, on, row.at + AUDIT_SECOND, "surplus_undone",
                                         donation_id, row.company_id))
                break
    return found
