"""Documents and follow-ups: a donation's receipt / payment request PDF and credit notes, the
corrections shown with a donation, and the mails that follow a payment (payment request, failed
payment, receipt, credit note), each sent once whichever worker gets there first. The tasks that
sweep them are in service.py."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from hashlib import sha256

import peewee
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit, mail
from portal.core.db import atomic_write, utcnow
from portal.core.urls import external_url
from portal.giving import corrections, documents
from portal.giving.base import RECEIPT_CLAIM_MINUTES, GivingError, _lock
from portal.giving.models import CreditNote, Dispute, Document, Donation, Refund

log = logging.getLogger("portal.giving")


def document(donation: Donation, kind: str) -> Document:
    """The stored PDF of a donation, rendered and stored the first time it is asked for."""
    existing = Document.get_or_none((Document.donation == donation.id) & (Document.kind == kind))
    if existing is not None:
        return existing
    donation = Donation.get_by_id(donation.id)
    if kind == "receipt" and donation.status != "paid":
        raise GivingError(_l("A receipt exists once the payment has been received."))
    if kind == "payment_request" and donation.method != "bank":
        raise GivingError(_l("Only a bank transfer has a payment request."))
    invoice = None
    if kind == "receipt":
        # Sponsoring of a VAT-registered issuer: the receipt is a numbered invoice (issue 14). Its
        # number is taken (and kept) before rendering: a failed render renders it again, same number.
        invoice = corrections.invoice_of(donation.id)
        if invoice is None and corrections.vat_applies(donation):
            with atomic_write():
                invoice = corrections.make_invoice(_lock(Donation, donation.id))
    data = documents.render(kind, donation, invoice)
    with atomic_write():
        stored = (Document.insert(donation=donation.id, kind=kind, language=donation.donor_language, pdf=data,
                                  sha256=sha256(data).hexdigest(), size=len(data))
                  .on_conflict_ignore().as_rowcount().execute())
        if stored:
            audit.record(f"donation.{kind}_stored", company=donation.company_id, obj=donation, size=len(data))
    return Document.get((Document.donation == donation.id) & (Document.kind == kind))


def document_file(donation: Donation, kind: str) -> tuple[bytes, str]:
    """The PDF to download and its file name. A receipt that a credit note corrected comes as it was
    issued, with a stamp naming the credit notes (rendered with the latest of them)."""
    stored = document(donation, kind)
    invoice = corrections.invoice_of(donation.id) if kind == "receipt" else None
    name = documents.filename(kind, donation, invoice)
    if kind == "receipt":
        latest = CreditNote.select().where(CreditNote.donation == donation.id).order_by(CreditNote.id.desc()).first()
        if latest is not None:
            return bytes(rendered_credit_note(latest).receipt_pdf), name
    return bytes(stored.pdf), name


def credit_note(donation: Donation, note_id: int) -> CreditNote:
    """A credit note of this donation, rendered (GivingError when it is not this donation's)."""
    note = CreditNote.get_or_none((CreditNote.id == note_id) & (CreditNote.donation == donation.id))
    if note is None:
        raise GivingError(_l("This credit note does not exist."))
    return rendered_credit_note(note)


def rendered_credit_note(note: CreditNote) -> CreditNote:
    """The credit note with its PDF and the stamped receipt, rendered and stored the first time."""
    if note.pdf is not None and note.receipt_pdf is not None:
        return note
    donation = Donation.get_by_id(note.donation_id)
    original = document(donation, "receipt")
    invoice = corrections.invoice_of(donation.id)   # after the receipt: its first render may make it
    notes = [n for n in corrections.notes_of(donation.id) if n.id <= note.id]
    reversed_note = CreditNote.get_by_id(note.reverses_id) if note.reverses_id else None
    pdf = documents.render_html(documents.credit_note_html(note, donation, invoice, reversed_note))
    remaining = donation.amount_cents - corrections.credited_cents(notes)
    stamp = documents.render_html(documents.stamp_html(donation, notes, invoice, remaining,
                                                       documents._language(donation)))
    receipt = documents.stamped(bytes(original.pdf), stamp)
    with atomic_write():
        stored = (CreditNote.update(pdf=pdf, sha256=sha256(pdf).hexdigest(), receipt_pdf=receipt)
                  .where((CreditNote.id == note.id) & CreditNote.pdf.is_null()).execute())
        if stored:
            audit.record("donation.credit_note_stored", company=donation.company_id, obj=donation,
                         number=note.number, size=len(pdf))
    return CreditNote.get_by_id(note.id)


@dataclass(frozen=True)
class Corrections:
    """What corrected a donation's receipt: its credit notes, the amount that still counts as received."""

    notes: list[CreditNote]
    credited_cents: int
    remaining_cents: int
    invoice_number: str = ""

    @property
    def fully_refunded(self) -> bool:
        return bool(self.notes) and self.remaining_cents <= 0


def corrections_of(donation: Donation) -> Corrections:
    notes = corrections.notes_of(donation.id)
    credited = corrections.credited_cents(notes)
    invoice = corrections.invoice_of(donation.id)
    return Corrections(notes, credited, donation.amount_cents - credited, invoice.number if invoice else "")


def shown_status(donation: Donation) -> str:
    """The status to show: a paid donation refunded (or charged back) in full shows as refunded."""
    if donation.status != "paid":
        return donation.status
    return "refunded" if _taken_back_cents(donation.id) >= donation.amount_cents else "paid"


def _taken_back_cents(donation_id: int) -> int:
    """Succeeded refunds plus chargebacks lost and not reinstated (rows before credit notes too)."""
    refunded = (Refund.select(peewee.fn.COALESCE(peewee.fn.SUM(Refund.amount_cents), 0))
                .where((Refund.donation == donation_id) & (Refund.status == "succeeded")).scalar())
    lost = (Dispute.select(peewee.fn.COALESCE(peewee.fn.SUM(
        peewee.fn.COALESCE(Dispute.withdrawn_cents, Dispute.amount_cents)
        - peewee.fn.COALESCE(Dispute.reinstated_cents, 0)), 0))
        .where((Dispute.donation == donation_id) & (Dispute.status == "lost")).scalar())
    return int(refunded) + int(lost)


def document_kinds(donation: Donation) -> list[str]:
    kinds = []
    if donation.method == "bank":
        kinds.append("payment_request")
    if donation.status == "paid":
        kinds.append("receipt")
    return kinds


def _mail_payment_request(donation: Donation) -> None:
    try:
        stored = document(donation, "payment_request")
    except Exception:  # the request stands; the PDF is rendered again when someone downloads it
        log.exception("payment request PDF of donation %s could not be rendered", donation.id)
        return
    try:
        mail.send_template(donation.donor_email, "giving/payment_request", donation.donor_language,
                           _l("Payment request %(reference)s", reference=documents.format_reference(donation.reference)),
                           donation=donation, reference=documents.format_reference(donation.reference),
                           iban=documents.issuer()["iban"], issuer=documents.issuer()["name"],
                           attachments=[mail.Attachment(documents.filename("payment_request", donation),
                                                        bytes(stored.pdf))])
    except Exception:  # the request stands and its page offers the PDF; a mail outage must not hide that
        log.exception("payment request mail of donation %s could not be sent", donation.id)


def _mail_failed(donation: Donation) -> None:
    mail.send_template(donation.donor_email, "giving/payment_failed", donation.donor_language,
                       _l("Your payment did not go through"), donation=donation,
                       link=external_url("giving.donate" if donation.via == "portal" else "giving.public_donate"))


def send_receipt(donation_id: int) -> bool:
    """Render, store and mail the receipt of a paid donation once, whichever worker gets here first."""
    now = utcnow()
    stale = now - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    with atomic_write():
        claimed = (Donation.update(receipt_claimed_at=now)
                   .where((Donation.id == donation_id) & (Donation.status == "paid")
                          & Donation.receipt_sent_at.is_null()
                          & (Donation.receipt_claimed_at.is_null() | (Donation.receipt_claimed_at < stale)))
                   .execute())
    if not claimed:
        return False
    donation = Donation.get_by_id(donation_id)
    try:
        stored = document(donation, "receipt")
        invoice = corrections.invoice_of(donation.id)
        company = Company.get_by_id(donation.company_id)
        subject = (_l("Invoice %(number)s for your sponsoring %(contribution)s", number=invoice.number,
                      contribution=donation.number) if invoice else
                   _l("Receipt for your contribution %(number)s", number=donation.number))
        # Delivered here, not queued: it is marked sent only once it is out. A run killed in between
        # leaves it claimed; the sweep sends it again under the same key, which mails nothing twice.
        mail.send_template(donation.donor_email, "giving/receipt", donation.donor_language, subject,
                           donation=donation, company=company, invoice=invoice, key=f"receipt-{donation.id}",
                           now=True, attachments=[mail.Attachment(documents.filename("receipt", donation, invoice),
                                                                  bytes(stored.pdf))])
    except Exception:
        with atomic_write():  # let the retry (or the next sweep) have it at once
            (Donation.update(receipt_claimed_at=None)
             .where((Donation.id == donation_id) & (Donation.receipt_claimed_at == now)).execute())
        raise
    with atomic_write():
        Donation.update(receipt_sent_at=utcnow()).where(Donation.id == donation.id).execute()
        audit.record("donation.receipt_sent", company=donation.company_id, obj=donation)
    if donation.via == "public":
        _welcome_public_donor(donation, company)
    return True


def _welcome_public_donor(donation: Donation, company: Company) -> None:
    """After a public gift that names an existing company: tell its administrators, who accept or
    decline it on /giving (the project leader can too, from her desk). A public donor never gains a
    role by giving: nobody is invited; a company's users come in through its administrators'
    invitations, or a claim the project leader verifies."""
    if donation.company_decision != "waiting":
        return
    admins = User.select().where((User.company == company.id) & (User.role == "admin") & User.is_active)
    for admin in admins:
        mail.send_template(admin.email, "giving/donation_in_company_name", admin.language,
                           _l("A contribution was made in your company's name"), admin=admin, company=company,
                           donation=donation, link=external_url("giving.index"))


def send_due_receipts(limit: int = 200) -> int:
    """Send every receipt that is due (paid, not sent, not being sent by another worker); raises
    after trying them all when any could not be sent, so the task is retried."""
    stale = utcnow() - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    due = (Donation.select(Donation.id)
           .where((Donation.status == "paid") & Donation.receipt_sent_at.is_null()
                  & (Donation.receipt_claimed_at.is_null() | (Donation.receipt_claimed_at < stale)))
           .order_by(Donation.id).limit(limit))
    sent, failed = _send_each(due, send_receipt, "receipt of donation %s could not be sent; it is tried again")
    if failed:
        raise ReceiptsNotSent(failed)
    return sent


def _send_each(due: peewee.Select, send, failure: str) -> tuple[int, list[int]]:
    """send(id) for each id `due` selects, going on after a failure (logged with `failure` % id):
    how many were sent, and the ids that failed."""
    sent, failed = 0, []
    for (row_id,) in due.tuples():
        try:
            sent += send(row_id)
        except Exception:
            log.exception(failure, row_id)
            failed.append(row_id)
    return sent, failed


class ReceiptsNotSent(RuntimeError):
    def __init__(self, donation_ids: list[int]) -> None:
        super().__init__(f"receipts of donations {', '.join(map(str, donation_ids))} could not be sent")
        self.donation_ids = donation_ids


def send_credit_note(note_id: int) -> bool:
    """Render, store and mail a credit note once, whichever worker gets here first (as receipts)."""
    now = utcnow()
    stale = now - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    with atomic_write():
        claimed = (CreditNote.update(claimed_at=now)
                   .where((CreditNote.id == note_id) & CreditNote.sent_at.is_null()
                          & (CreditNote.claimed_at.is_null() | (CreditNote.claimed_at < stale))).execute())
    if not claimed:
        return False
    try:
        note = rendered_credit_note(CreditNote.get_by_id(note_id))
        donation = Donation.get_by_id(note.donation_id)
        reversed_note = CreditNote.get_by_id(note.reverses_id) if note.reverses_id else None
        subject = (_l("Credit note %(number)s: %(original)s counts again", number=note.number,
                      original=donation.number) if reversed_note else
                   _l("Credit note %(number)s for your contribution %(original)s", number=note.number,
                      original=donation.number))
        mail.send_template(donation.donor_email, "giving/credit_note", note.language, subject, donation=donation,
                           note=note, reversed_note=reversed_note, unmatched=corrections.is_unmatched(note),
                           key=f"credit-note-{note.id}", now=True,
                           attachments=[mail.Attachment(documents.credit_note_filename(note), bytes(note.pdf))])
    except Exception:
        with atomic_write():
            (CreditNote.update(claimed_at=None)
             .where((CreditNote.id == note_id) & (CreditNote.claimed_at == now)).execute())
        raise
    with atomic_write():
        CreditNote.update(sent_at=utcnow()).where(CreditNote.id == note_id).execute()
        audit.record("donation.credit_note_sent", company=donation.company_id, obj=donation, number=note.number)
    return True


def send_due_credit_notes(limit: int = 200) -> int:
    """Send every credit note not sent yet (nor being sent); raises after trying them all when any
    failed, so the task is retried."""
    stale = utcnow() - dt.timedelta(minutes=RECEIPT_CLAIM_MINUTES)
    due = (CreditNote.select(CreditNote.id)
           .where(CreditNote.sent_at.is_null()
                  & (CreditNote.claimed_at.is_null() | (CreditNote.claimed_at < stale)))
           .order_by(CreditNote.id).limit(limit))
    sent, failed = _send_each(due, send_credit_note, "credit note %s could not be sent; it is tried again")
    if failed:
        raise RuntimeError(f"credit notes {', '.join(map(str, failed))} could not be sent")
    return sent


def wait_for_followups(app, timeout: float = 60) -> None:
    """Kept for the tests and the benchmark: receipts are tasks, and the tests' queue runs each one
    immediately, so they are sent by the time this is called."""
