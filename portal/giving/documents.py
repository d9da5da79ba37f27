"""Receipts, payment requests, VAT invoices of sponsoring and credit notes: HTML from
invoices/giving_*.html, PDF through core/pdf.

Documents are in the donor's language, whatever the reader's browser says: amounts and dates
are formatted for that language, every text goes through gettext under `force_locale`, and
their dates are the document's own (the day of payment, the day of the request), so the same
donation always gives the same bytes. User text (company names, purposes) is escaped by Jinja.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import segno.helpers
from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from pypdf import PdfReader, PdfWriter
from stdnum import iban as iban_number
from stdnum import iso11649

from portal.core import money, pdf_templates
from portal.core.clock import AMSTERDAM
from portal.giving import corrections

DATE_LOCALES = {"nl": "nl_NL", "en": "en_GB"}

CLASSIFICATION_LABELS = {"gift": _l("Gift"), "sponsoring": _l("Sponsoring")}
CLASSIFICATION_NOTES = {
    "gift": _l("A gift: given without anything in return."),
    "sponsoring": _l("Sponsoring: the company receives a counter-performance (for example being named as a "
                     "sponsor); this is business cost, not a gift."),
}
METHOD_LABELS = {
    "card": _l("card"), "ideal": _l("iDEAL"), "sepa_debit": _l("SEPA direct debit"), "bancontact": _l("Bancontact"),
}


def stylesheet() -> Markup:
    """Our own print CSS, inlined (our file: no user text in it)."""
    return pdf_templates.stylesheet("giving.css")


def issuer() -> dict[str, Any]:
    config = current_app.config
    return {"name": config["ISSUER_NAME"], "address": config["ISSUER_ADDRESS"], "kvk": config["ISSUER_KVK"],
            "rsin": config["ISSUER_RSIN"], "anbi": bool(config["ISSUER_ANBI"]),
            "iban": iban_number.format(config["ISSUER_IBAN"])}


def format_reference(reference: str) -> str:
    return iso11649.format(reference)


def epc_qr(name: str, iban: str, amount_cents: int, reference: str) -> str:
    """A SEPA credit transfer QR code (EPC069-12) as an SVG data: URI; empty when it cannot be made."""
    try:
        code = segno.helpers.make_epc_qr(name=name[:70], iban=iban_number.compact(iban),
                                         amount=money.cents_to_decimal(amount_cents), reference=reference)
    except ValueError:
        return ""
    return code.svg_data_uri(scale=3, border=0, dark="#1c2430", nl=False)


def _context(donation, language: str, created: dt.date) -> dict[str, Any]:
    date_locale = DATE_LOCALES.get(language, "nl_NL")
    return {
        "d": donation,
        "company": donation.company if donation.company_id else None,  # its address on every document
        "lang": language,
        "issuer": issuer(),
        "created": created,
        "eur": lambda cents: money.format_eur(int(cents), language),
        "long_date": lambda day: format_date(day, "long", locale=date_locale),
        "classification_label": lambda name: CLASSIFICATION_LABELS.get(name, name),
        "classification_note": lambda name: CLASSIFICATION_NOTES.get(name, ""),
        "method_label": lambda name: METHOD_LABELS.get(name, name),
        "stylesheet": stylesheet,
    }


def amsterdam_date(moment: dt.datetime) -> dt.date:
    """The Europe/Amsterdam date of a naive UTC moment."""
    return moment.replace(tzinfo=dt.UTC).astimezone(AMSTERDAM).date()


def _language(donation) -> str:
    return donation.donor_language if donation.donor_language in DATE_LOCALES else "nl"


def receipt_html(donation) -> str:
    language = _language(donation)
    with force_locale(language):
        context = _context(donation, language, donation.paid_on)
        return pdf_templates.render("giving_receipt.html", context)


def payment_request_html(donation) -> str:
    language = _language(donation)
    config = current_app.config
    created = amsterdam_date(donation.created_at)
    with force_locale(language):
        context = _context(donation, language, created) | {
            "reference": format_reference(donation.reference),
            "qr": epc_qr(config["ISSUER_NAME"], config["ISSUER_IBAN"], donation.amount_cents, donation.reference),
        }
        return pdf_templates.render("giving_payment_request.html", context)


def invoice_html(donation, invoice) -> str:
    """The VAT invoice of a sponsoring payment: the amount paid is its total, VAT included."""
    language = _language(donation)
    with force_locale(language):
        context = _context(donation, language, invoice.issued_on) | {
            "invoice": invoice, "rate": percentage(invoice.vat_rate_bp, language)}
        return pdf_templates.render("giving_invoice.html", context)


def percentage(basis_points: int, language: str) -> str:
    """2100 -> '21%'; 550 -> '5,5%' in Dutch, '5.5%' in English (basis points, never a float)."""
    whole, rest = divmod(int(basis_points), 100)
    if not rest:
        return f"{whole}%"
    decimals = f"{rest:02d}".rstrip("0")
    return f"{whole}{',' if language == 'nl' else '.'}{decimals}%"


def credit_note_html(note, donation, invoice, reversed_note=None) -> str:
    """A credit note (or the reversal of one) naming the receipt or invoice it corrects."""
    language = note.language if note.language in DATE_LOCALES else "nl"
    with force_locale(language):
        context = _context(donation, language, note.issued_on) | {
            "note": note, "invoice": invoice, "reversed_note": reversed_note,
            "unmatched": corrections.is_unmatched(note),
            "rate": percentage(invoice.vat_rate_bp, language) if invoice else ""}
        return pdf_templates.render("giving_credit_note.html", context)


def stamp_html(donation, notes, invoice, remaining_cents: int, language: str) -> str:
    """The stamp put on an issued receipt: which credit notes corrected it, and what stands now."""
    with force_locale(language):
        context = _context(donation, language, notes[-1].issued_on) | {
            "notes": notes, "invoice": invoice, "remaining_cents": remaining_cents}
        return pdf_templates.render("giving_stamp.html", context)


def stamped(original: bytes, stamp: bytes) -> bytes:
    """The issued PDF, its content untouched, with the stamp laid over the top margin of its first page."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(original))))
    writer.pages[0].merge_page(PdfReader(io.BytesIO(stamp)).pages[0], over=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_html(html: str) -> bytes:
    return pdf_templates.to_pdf(html)


def render(kind: str, donation, invoice=None) -> bytes:
    """The document as PDF bytes (core/pdf renders it and fetches nothing from outside). A receipt
    of sponsoring with an invoice (VAT-registered issuer) is that invoice."""
    if kind == "receipt":
        html = invoice_html(donation, invoice) if invoice is not None else receipt_html(donation)
    else:
        html = payment_request_html(donation)
    return render_html(html)


def filename(kind: str, donation, invoice=None) -> str:
    if kind == "receipt" and invoice is not None:
        return f"invoice-{invoice.number}.pdf"
    stem = {"receipt": "receipt", "payment_request": "payment-request"}[kind]
    return f"{stem}-{donation.number}.pdf"


def credit_note_filename(note) -> str:
    return f"credit-note-{note.number}.pdf"
