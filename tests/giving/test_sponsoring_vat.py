"""Sponsoring and VAT (issue 14): with ISSUER_VAT_NUMBER set, a paid sponsoring contribution gets a
numbered invoice whose total is the amount paid, VAT included (net + VAT = total, integer cents, VAT
rounded half up); a gift never carries VAT; without the setting the receipt is as before."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core import clock
from portal.giving import corrections, receipts, service
from portal.giving.models import CreditNote, Donation, Invoice
from tests.pdftext import assert_in_pdf, assert_not_in_pdf, pdf_text

from .conftest import attachments_of, donate_form

VAT_NUMBER = "NL001234567B01"


@pytest.fixture
def pay_online(stripe_env, company_client):
    def pay(amount: str, classification: str = "sponsoring"):
        company, client = company_client(f"Sponsor{Donation.select().count()}")
        response = client.post("/giving/donate", data=donate_form(amount=amount, classification=classification,
                                                                    earmark_purpose="Schoolreis groep 8"))
        assert response.status_code == 303, response.data[:400]
        donation = Donation.select().order_by(Donation.id.desc()).get()
        session = stripe_env.transport.session_for(donation.id)
        intent = stripe_env.pay(session)
        stripe_env.send("checkout.session.completed", session)
        return company, client, Donation.get_by_id(donation.id), intent

    return pay


def test_vat_is_the_part_of_the_total_rounded_half_up():
    assert corrections.vat_in(121_000, 2100) == 21_000          # EUR 1,210.00 = 1,000.00 + 210.00
    assert corrections.vat_in(100_000, 2100) == 17_355          # 173.553... -> 173.55
    assert corrections.vat_in(50, 2100) == 9                    # 8.68 cents -> 9
    assert corrections.vat_in(1_100, 1000) == 100               # 10%: exact
    assert corrections.vat_in(110_000, 0) == 0


def test_without_a_vat_number_sponsoring_gets_the_receipt_as_before(app, pay_online, outbox):
    assert app.config["ISSUER_VAT_NUMBER"] == ""
    company, client, donation, _intent = pay_online("1.210,00")
    mail = outbox.last(company.admin.email)
    assert mail.subject.startswith("Receipt")
    text = pdf_text(attachments_of(mail)[f"receipt-{donation.number}.pdf"])
    assert_in_pdf("Receipt", text)
    assert_in_pdf("€1,210.00", text)
    assert_not_in_pdf("VAT", text)
    assert not Invoice.select().exists()


def test_a_vat_registered_issuer_invoices_sponsoring_with_21_percent(app, pay_online, outbox):
    app.config["ISSUER_VAT_NUMBER"] = VAT_NUMBER
    company, client, donation, _intent = pay_online("1.210,00")
    invoice = Invoice.get()
    year = clock.today().year
    assert (invoice.number, invoice.gross_cents, invoice.vat_cents, invoice.net_cents, invoice.vat_rate_bp) == (
        f"F-{year}-0001", 121_000, 21_000, 100_000, 2100)
    mail = outbox.last(company.admin.email)
    assert mail.subject.startswith(f"Invoice F-{year}-0001")
    assert "€1,210.00 including VAT" in mail.text
    pdf = attachments_of(mail)[f"invoice-F-{year}-0001.pdf"]
    text = pdf_text(pdf)
    for value in ("Invoice", f"F-{year}-0001", VAT_NUMBER, "Total excluding VAT €1,000.00", "VAT 21% €210.00",
                  "Oudegracht 1, 3511 AB Utrecht",
                  "Total including VAT €1,210.00", "Schoolreis groep 8", company.legal_name, "has been paid"):
        assert_in_pdf(value, text)
    # The company's list names the invoice; the download is the same document.
    page = client.get("/giving").get_data(as_text=True)
    assert f"Invoice F-{year}-0001" in page
    download = client.get(f"/giving/donations/{donation.id}/receipt.pdf")
    assert download.data == pdf and f"invoice-F-{year}-0001.pdf" in download.headers["Content-Disposition"]
    # A second sponsoring gets the next number; the amount that is not a round sum rounds half up.
    _company, _client, second, _intent = pay_online("1.000,00")
    assert (Invoice.get(Invoice.donation == second.id).number, Invoice.get(Invoice.donation == second.id).vat_cents,
            Invoice.get(Invoice.donation == second.id).net_cents) == (f"F-{year}-0002", 17_355, 82_645)


def test_a_gift_never_carries_vat(app, pay_online, outbox):
    app.config["ISSUER_VAT_NUMBER"] = VAT_NUMBER
    company, _client, donation, _intent = pay_online("1.210,00", classification="gift")
    mail = outbox.last(company.admin.email)
    assert mail.subject.startswith("Receipt")
    assert_not_in_pdf("VAT", attachments_of(mail)[f"receipt-{donation.number}.pdf"])
    assert not Invoice.select().exists()


def test_a_refunded_sponsoring_invoice_is_credited_with_its_vat(app, stripe_env, pay_online, outbox):
    app.config["ISSUER_VAT_NUMBER"] = VAT_NUMBER
    company, client, donation, intent = pay_online("1.210,00")
    invoice = Invoice.get()
    stripe_env.refund(intent, 24_200)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    first = CreditNote.get()
    assert (first.amount_cents, first.vat_cents) == (24_200, 4_200)
    text = pdf_text(bytes(receipts.credit_note(donation, first.id).pdf))
    for value in (f"invoice {invoice.number} of", "Excluding VAT €200.00", "VAT 21% €42.00", "€242.00", VAT_NUMBER):
        assert_in_pdf(value, text)
    # The rest: together the credit notes take back exactly the invoice's VAT.
    stripe_env.refund(intent, 96_800)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    notes = list(CreditNote.select().order_by(CreditNote.id))
    assert sum(n.amount_cents for n in notes) == 121_000 and sum(n.vat_cents for n in notes) == invoice.vat_cents
    receipt = client.get(f"/giving/donations/{donation.id}/receipt.pdf").data
    assert_in_pdf("Total including VAT €1,210.00", receipt)      # the invoice as issued
    assert_in_pdf(f"corrected by credit note {notes[0].number}", receipt)


def test_a_bank_sponsoring_is_invoiced_when_paid(app, company_client, leader, outbox, request_context):
    app.config["ISSUER_VAT_NUMBER"] = VAT_NUMBER
    company, client = company_client("Bouwbedrijf")
    assert client.post("/giving/donate", data=donate_form(amount="2.420,00", method="bank",
                                                          classification="sponsoring")).status_code == 302
    donation = Donation.get()
    assert not Invoice.select().exists()        # a payment request is not an invoice
    assert service.mark_paid_by_bank(donation.reference, 242_000, dt.date(2026, 11, 20), leader,
                                     "CAMT line 4").status == "paid"
    invoice = Invoice.get()
    assert (invoice.vat_cents, invoice.net_cents) == (42_000, 200_000)
    text = pdf_text(attachments_of(outbox.last(company.admin.email))[f"invoice-{invoice.number}.pdf"])
    assert_in_pdf("Paid on 20 November 2026", text)
    assert_in_pdf("VAT 21% €420.00", text)


def test_a_receipt_issued_before_vat_registration_stays_a_receipt(app, stripe_env, pay_online, outbox):
    company, client, donation, intent = pay_online("1.210,00")
    assert outbox.last(company.admin.email).subject.startswith("Receipt")
    app.config["ISSUER_VAT_NUMBER"] = VAT_NUMBER           # registered afterwards
    stripe_env.refund(intent, 24_200)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    note = CreditNote.get()
    assert note.vat_cents == 0 and not Invoice.select().exists()
    text = pdf_text(bytes(receipts.credit_note(donation, note.id).pdf))
    assert_in_pdf(f"receipt {donation.number} of", text)
    assert_not_in_pdf("VAT", text)
    download = client.get(f"/giving/donations/{donation.id}/receipt.pdf")
    assert f"receipt-{donation.number}.pdf" in download.headers["Content-Disposition"]
