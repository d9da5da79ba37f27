"""Documents that follow the money (issue 14): credit notes on issued receipts, and the VAT invoice
of sponsoring when the issuer is VAT-registered.

- A credit note is made in the same transaction that records money going back on a paid donation:
  a refund (Stripe, or by bank transfer of a paid request) or a chargeback the company's bank won
  (dispute `lost`), or a bank payment matched by mistake and undone after the receipt was issued.
  It credits at most what the document still counts (money that left beyond that is raised for
  the project leader). Its source ('refund:<id>', 'dispute:<id>', 'unmatched:<donation>:<n>') is
  UNIQUE, so a repeated event makes no second one. It is numbered gapless per year (a counter row
  per series and year, as statements do), dated on the day it is made; its PDF, and the receipt
  as issued with a stamp naming every credit note so far, are rendered and mailed by a task
  (receipts.send_credit_note).
- A chargeback that is reversed (dispute won after the funds were withdrawn) never got a credit
  note, because one is only made once the dispute is lost: nothing to correct. When money that a
  credit note credited comes back after all (a lost dispute's funds reinstated, a refund that
  fails after it had succeeded, a request whose mistaken match was undone is paid after all), a
  'reversal' note is made: numbered in the same series, it names the credit note it takes back.
  Issued documents are never changed or deleted.
- VAT: with ISSUER_VAT_NUMBER set, a paid sponsoring donation's receipt is a numbered invoice. The
  amount the sponsor entered and paid is the invoice total including VAT (the sponsor pays the
  invoice total); VAT = total x rate / (100% + rate), rounded half up to the cent, net = total -
  VAT. A gift never carries VAT. Without the setting nothing changes.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from portal.core import audit, clock, tasks
from portal.giving.models import CreditNote, Document, Donation, Invoice, NumberCounter


def next_number(series: str, year: int) -> int:
    """Take the series' counter row for the year (blocking other writers until commit) and move it up."""
    NumberCounter.insert(series=series, year=year, last_number=0).on_conflict_ignore().execute()
    # On PostgreSQL the UPDATE locks the row until commit; on SQLite the write transaction already does.
    NumberCounter.update(last_number=NumberCounter.last_number + 1).where(
        (NumberCounter.series == series) & (NumberCounter.year == year)).execute()
    return NumberCounter.get((NumberCounter.series == series) & (NumberCounter.year == year)).last_number


# --- VAT ------------------------------------------------------------------------------------------

def vat_number() -> str:
    return str(current_app.config.get("ISSUER_VAT_NUMBER") or "").strip()


def vat_rate_bp() -> int:
    return int(current_app.config.get("VAT_RATE_BASIS_POINTS") or 0)


def vat_in(gross_cents: int, rate_bp: int) -> int:
    """The VAT contained in an amount that includes it, in cents, rounded half up (integers only)."""
    if rate_bp <= 0:
        return 0
    divisor = 10_000 + rate_bp
    return (2 * gross_cents * rate_bp + divisor) // (2 * divisor)


def vat_applies(donation: Donation) -> bool:
    """Sponsoring money of a VAT-registered issuer gets an invoice; a gift never carries VAT."""
    return donation.classification == "sponsoring" and bool(vat_number())


def invoice_of(donation_id: int) -> Invoice | None:
    return Invoice.get_or_none(Invoice.donation == donation_id)


def make_invoice(donation: Donation, today: dt.date | None = None) -> Invoice | None:
    """The donation's invoice: the one issued, else (sponsoring, VAT-registered, paid) a new one,
    numbered in the caller's write transaction. None when the payment gets a receipt instead."""
    existing = invoice_of(donation.id)
    if existing is not None or donation.status != "paid" or not vat_applies(donation):
        return existing
    if Document.select().where((Document.donation == donation.id) & (Document.kind == "receipt")).exists():
        return None   # a receipt was issued before the issuer registered for VAT: it stays the document
    issued_on = today or clock.today()
    rate = vat_rate_bp()
    vat = vat_in(donation.amount_cents, rate)
    sequence = next_number("invoice", issued_on.year)
    return Invoice.create(donation=donation.id, year=issued_on.year, sequence=sequence, issued_on=issued_on,
                          vat_number=vat_number()[:20], vat_rate_bp=rate, gross_cents=donation.amount_cents,
                          vat_cents=vat, net_cents=donation.amount_cents - vat)


# --- credit notes ---------------------------------------------------------------------------------

def notes_of(donation_id: int) -> list[CreditNote]:
    return list(CreditNote.select().where(CreditNote.donation == donation_id).order_by(CreditNote.id))


def credited_cents(notes: list[CreditNote]) -> int:
    return sum(note.signed_cents for note in notes)


def vat_credited_cents(notes: list[CreditNote]) -> int:
    """The VAT the notes take back together (a reversal gives its note's VAT back)."""
    return sum(-note.vat_cents if note.kind == "reversal" else note.vat_cents for note in notes)


def remaining_cents(donation: Donation, notes: list[CreditNote] | None = None) -> int:
    """What the donation's receipt (or invoice) still counts: its amount minus what credit notes took off."""
    return donation.amount_cents - credited_cents(notes_of(donation.id) if notes is None else notes)


# The source of a credit note made when a bank payment matched by mistake is undone after its
# receipt was issued: 'unmatched:<donation id>:<n>' (bank.undo_bank_line).
UNMATCHED = "unmatched:"


def is_unmatched(note: CreditNote) -> bool:
    """A credit note made because a bank payment matched to the donation by mistake was undone."""
    return note.source.startswith(UNMATCHED)


def credit(donation: Donation, *, source: str, kind: str, amount_cents: int, happened_on: dt.date,
           today: dt.date | None = None) -> CreditNote | None:
    """Make the credit note for money that went back on a paid donation (inside the caller's write
    transaction, which records that money); None when this source has one already, or when the
    document counts nothing any more. It credits at most what the document still counts: the
    caller raises what goes beyond that (money that really left twice) for the project leader.

    VAT (invoice): cumulative, so the notes together never take back more than the invoice charged
    and end on it exactly: a note's VAT is the VAT in everything credited so far (half up) minus the
    VAT the earlier notes took back; once the whole total is credited, the invoice's VAT."""
    if amount_cents <= 0 or CreditNote.select().where(CreditNote.source == source).exists():
        return None
    earlier = notes_of(donation.id)
    amount_cents = min(amount_cents, remaining_cents(donation, earlier))
    if amount_cents <= 0:
        return None
    invoice = make_invoice(donation, today)
    vat = 0
    if invoice is not None:
        credited = credited_cents(earlier) + amount_cents
        due = invoice.vat_cents if credited >= invoice.gross_cents else vat_in(credited, invoice.vat_rate_bp)
        vat = max(0, min(due - vat_credited_cents(earlier), amount_cents))
    return _create(donation, source=source, kind=kind, amount_cents=amount_cents, vat_cents=vat,
                   happened_on=happened_on, today=today)


def reverse(donation: Donation, source: str, *, happened_on: dt.date, today: dt.date | None = None) -> CreditNote | None:
    """Take back the credit note made for `source` (its money came back); None when there is none
    or it was taken back already."""
    original = CreditNote.get_or_none((CreditNote.source == source) & (CreditNote.kind != "reversal"))
    if original is None:
        return None
    if CreditNote.select().where(CreditNote.reverses == original.id).exists():
        return None
    return _create(donation, source=f"reversal:{original.id}", kind="reversal", amount_cents=original.amount_cents,
                   vat_cents=original.vat_cents, happened_on=happened_on, reverses=original.id, today=today)


def _create(donation: Donation, *, source: str, kind: str, amount_cents: int, vat_cents: int,
            happened_on: dt.date, reverses: int | None = None, today: dt.date | None = None) -> CreditNote:
    issued_on = today or clock.today()
    sequence = next_number("credit_note", issued_on.year)
    # The source was checked under the donation's lock, in this transaction.
    note = CreditNote.create(
        donation=donation.id, source=source[:255], kind=kind, year=issued_on.year, sequence=sequence,
        amount_cents=amount_cents, vat_cents=vat_cents, happened_on=happened_on, issued_on=issued_on,
        reverses=reverses, language=donation.donor_language if donation.donor_language in ("nl", "en") else "nl")
    audit.record("donation.credit_note_issued", company=donation.company_id, obj=donation, number=note.number,
                 kind=kind, amount_cents=amount_cents, vat_cents=vat_cents, source=source,
                 reverses=reverses)
    tasks.enqueue(_sweep_task())
    return note


def _sweep_task():
    from portal.giving import service

    return service.sweep_credit_notes
