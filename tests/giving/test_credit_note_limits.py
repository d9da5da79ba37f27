"""Credit notes stay within the document they correct (finance audit, issue 14): a bank match undone
after the receipt was issued is credited, and counts again by a reversal when the request is paid
after all (never a second receipt); the VAT of partial credit notes is cumulative; a chargeback of
more than the receipt still counts credits only the rest and raises the difference for the leader."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.core import ledger
from portal.giving import bank, contributions, corrections, receipts, service
from portal.giving.models import CreditNote, Document, Donation, Invoice, PaymentIssue
from tests.pdftext import assert_in_pdf, assert_not_in_pdf, pdf_text

from .conftest import attachments_of, donate_form
from .test_webhooks import dispute

D = dt.date
VAT_NUMBER = "NL001234567B01"


@pytest.fixture
def bank_request(company_client, request_context):
    """A company's payment request for a bank transfer; returns (company, client, donation)."""

    def make(amount: str = "1.250,00", classification: str = "gift"):
        company, client = company_client(f"Bank{Donation.select().count()}")
        response = client.post("/giving/donate", data=donate_form(amount=amount, method="bank",
                                                                   classification=classification))
        assert response.status_code == 302, response.data[:400]
        return company, client, Donation.select().order_by(Donation.id.desc()).get()

    return make


def mails_to(outbox, company, start: str) -> list:
    return [m for m in outbox.to(company.admin.email) if m.subject.startswith(start)]


def money_of(company) -> int:
    return sum(c.gross_cents for c in contributions.contributions(company.id, None, None) if c.kind == "money")


def test_an_undone_match_credits_the_issued_receipt_and_a_new_match_restores_it(bank_request, leader, outbox):
    company, client, donation = bank_request()
    assert service.record_bank_payment(donation.reference, 125_000, D(2026, 11, 20), leader,
                                       "CAMT 20-11 line 4").status == "paid"
    assert len(mails_to(outbox, company, "Receipt for")) == 1          # the receipt was issued and mailed

    assert bank.undo_bank_line("CAMT 20-11 line 4", leader, "another company's transfer").status == "undone"
    note = CreditNote.get()
    assert (note.kind, note.amount_cents, note.vat_cents, note.happened_on) == ("refund", 125_000, 0, D(2026, 11, 20))
    assert corrections.is_unmatched(note)
    assert receipts.corrections_of(donation).remaining_cents == 0 == money_of(company)
    [mail] = mails_to(outbox, company, "Credit note")
    assert "matched to your contribution" in mail.text and "by mistake" in mail.text
    assert "We refunded" not in mail.text
    text = pdf_text(attachments_of(mail)[f"credit-note-{note.number}.pdf"])
    assert_in_pdf("was matched to this contribution by mistake", text)
    assert_not_in_pdf("refunded to you", text)
    assert ledger.check() == []

    # The right transfer arrives a week later: the receipt as issued counts again, through a
    # reversal of the credit note; no second receipt is made or mailed.
    assert service.record_bank_payment(donation.reference, 125_000, D(2026, 11, 27), leader,
                                       "CAMT 27-11 line 1").status == "paid"
    first, reversal = CreditNote.select().order_by(CreditNote.id)
    assert (reversal.kind, reversal.reverses_id, reversal.amount_cents, reversal.happened_on) == (
        "reversal", first.id, 125_000, D(2026, 11, 27))
    assert receipts.corrections_of(donation).remaining_cents == 125_000 == money_of(company)
    assert Document.select().where((Document.donation == donation.id) & (Document.kind == "receipt")).count() == 1
    assert len(mails_to(outbox, company, "Receipt for")) == 1
    assert "counts again" in mails_to(outbox, company, "Credit note")[-1].subject
    receipt = client.get(f"/giving/donations/{donation.id}/receipt.pdf").data
    assert_in_pdf(f"restored by credit note reversal {reversal.number}", receipt)
    assert_in_pdf("Counts as received after correction: €1,250.00", receipt)
    assert ledger.check() == []

    # Matched by mistake a second time: a second credit note (its own source), reversed again on payment.
    assert bank.undo_bank_line("CAMT 27-11 line 1", leader, "wrong again").status == "undone"
    assert receipts.corrections_of(donation).remaining_cents == 0 == money_of(company)
    assert service.record_bank_payment(donation.reference, 125_000, D(2026, 11, 30), leader,
                                       "CAMT 30-11 line 2").status == "paid"
    assert [n.kind for n in CreditNote.select().order_by(CreditNote.id)] == ["refund", "reversal", "refund",
                                                                            "reversal"]
    assert receipts.corrections_of(donation).remaining_cents == 125_000 == money_of(company)
    assert ledger.check() == []


def test_an_undone_match_on_a_vat_invoice_credits_its_vat_and_a_new_match_restores_it(app, bank_request, leader):
    app.config["ISSUER_VAT_NUMBER"] = VAT_NUMBER
    _company, _client, donation = bank_request("1.210,00", "sponsoring")
    service.record_bank_payment(donation.reference, 121_000, D(2026, 11, 20), leader, "CAMT sponsor")
    invoice = Invoice.get()
    assert (invoice.gross_cents, invoice.vat_cents) == (121_000, 21_000)
    bank.undo_bank_line("CAMT sponsor", leader, "wrong request")
    note = CreditNote.get()
    assert (note.amount_cents, note.vat_cents) == (121_000, 21_000)
    assert_in_pdf(f"invoice {invoice.number} of", bytes(receipts.credit_note(donation, note.id).pdf))
    service.record_bank_payment(donation.reference, 121_000, D(2026, 11, 24), leader, "CAMT sponsor right")
    reversal = CreditNote.select().order_by(CreditNote.id.desc()).get()
    assert (reversal.kind, reversal.amount_cents, reversal.vat_cents) == ("reversal", 121_000, 21_000)
    assert Invoice.select().count() == 1                      # the same invoice counts again, no second one
    assert ledger.check() == []


def test_a_match_undone_before_the_receipt_was_issued_needs_no_credit_note(bank_request, leader, outbox,
                                                                          monkeypatch):
    company, _client, donation = bank_request()
    monkeypatch.setattr(service, "schedule_receipts", lambda: None)     # the receipt task has not run yet
    service.record_bank_payment(donation.reference, 125_000, D(2026, 11, 20), leader, "CAMT early")
    bank.undo_bank_line("CAMT early", leader, "wrong request")
    assert not CreditNote.select().exists() and not Document.select().where(Document.kind == "receipt").exists()
    service.record_bank_payment(donation.reference, 125_000, D(2026, 11, 26), leader, "CAMT right")
    assert receipts.send_due_receipts() == 1
    [mail] = mails_to(outbox, company, "Receipt for")
    assert "Nov 26, 2026" in mail.text                       # the receipt names the payment that counts
    assert_in_pdf("26 November 2026", attachments_of(mail)[f"receipt-{donation.number}.pdf"])
    assert not CreditNote.select().exists() and ledger.check() == []


def test_undoing_the_parts_of_a_paid_request_credits_each_part_and_paying_restores_them(bank_request, leader):
    company, _client, donation = bank_request()
    service.record_bank_payment(donation.reference, 60_000, D(2026, 11, 18), leader, "CAMT part 1")
    assert service.record_bank_payment(donation.reference, 65_000, D(2026, 11, 20), leader,
                                       "CAMT part 2").status == "paid"
    bank.undo_bank_line("CAMT part 2", leader, "not theirs")
    assert Donation.get_by_id(donation.id).status == "pending"
    assert [(n.amount_cents, n.happened_on) for n in CreditNote.select()] == [(65_000, D(2026, 11, 20))]
    # The receipt counts what the books still hold: the first part.
    assert receipts.corrections_of(donation).remaining_cents == 60_000 == money_of(company)
    bank.undo_bank_line("CAMT part 1", leader, "not theirs either")
    assert [n.amount_cents for n in CreditNote.select().order_by(CreditNote.id)] == [65_000, 60_000]
    assert receipts.corrections_of(donation).remaining_cents == 0 == money_of(company)
    assert service.record_bank_payment(donation.reference, 125_000, D(2026, 11, 27), leader,
                                       "CAMT whole").status == "paid"
    notes = list(CreditNote.select().order_by(CreditNote.id))
    assert [(n.kind, n.amount_cents) for n in notes] == [("refund", 65_000), ("refund", 60_000),
                                                         ("reversal", 65_000), ("reversal", 60_000)]
    assert receipts.corrections_of(donation).remaining_cents == 125_000 == money_of(company)
    assert not PaymentIssue.select().exists()
    assert ledger.check() == []


def test_the_vat_of_small_partial_credit_notes_is_cumulative(app, bank_request, leader):
    """EUR 100.01 sponsoring (VAT 17.36): five bank refunds of 1 cent, then the rest. One cent alone
    holds no VAT (0.17 cent), five hold one cent; the rest takes exactly what is left."""
    app.config["ISSUER_VAT_NUMBER"] = VAT_NUMBER
    _company, _client, donation = bank_request("100,01", "sponsoring")
    service.record_bank_payment(donation.reference, 10_001, D(2026, 11, 20), leader, "CAMT in")
    for n in range(5):
        bank.record_bank_refund(donation.reference, 1, D(2026, 11, 21), leader, f"CAMT back {n}")
    bank.record_bank_refund(donation.reference, 9_996, D(2026, 11, 22), leader, "CAMT back rest")
    notes = list(CreditNote.select().order_by(CreditNote.id))
    assert [n.vat_cents for n in notes[:5]] == [0, 0, 1, 0, 0]      # 0.17, 0.35, 0.52 -> 1, 0.69, 0.87 -> 1
    assert notes[-1].vat_cents == 1_736 - 1 and sum(n.vat_cents for n in notes) == Invoice.get().vat_cents
    assert sum(n.amount_cents - n.vat_cents for n in notes) == Invoice.get().net_cents


def test_a_chargeback_beyond_what_the_receipt_still_counts_is_raised_once_and_its_reinstatement_restores_it(
        stripe_env, company_client, outbox, leader, request_context):
    company, client = company_client("Disputed")
    assert client.post("/giving/donate", data=donate_form(amount="500,00")).status_code == 303
    donation = Donation.select().order_by(Donation.id.desc()).get()
    session = stripe_env.transport.session_for(donation.id)
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 20_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    charge = stripe_env.charge_of(intent)["id"]
    disputes = stripe_env.transport.disputes
    disputes["dp_test_1"] = dispute(intent, charge, "lost", [(-50_000, 1_500)])
    stripe_env.send("charge.dispute.closed", disputes["dp_test_1"])
    stripe_env.send("charge.dispute.closed", disputes["dp_test_1"])       # delivered again

    refund_note, chargeback = CreditNote.select().order_by(CreditNote.id)
    assert (chargeback.kind, chargeback.amount_cents) == ("chargeback", 30_000)   # what the receipt still counted
    assert receipts.corrections_of(donation).remaining_cents == 0
    [issue] = PaymentIssue.select()
    details = json.loads(issue.details)
    assert issue.kind == "credit_exceeds_receipt"
    assert (details["amount_cents"], details["credited_cents"], details["not_credited_cents"]) == (
        50_000, 30_000, 20_000)
    assert [m for m in outbox.to(leader.email) if m.subject == "A payment needs your attention"]
    # The money really left: the books hold it (the leader takes it up with Stripe).
    assert money_of(company) == 50_000 - 20_000 - 50_000
    assert ledger.check() == []

    # The bank gives the funds back after all: the chargeback's credit note is taken back, exactly.
    disputes["dp_test_1"] = dispute(intent, charge, "lost", [(-50_000, 1_500), (50_000, -1_500)])
    stripe_env.send("charge.dispute.funds_reinstated", disputes["dp_test_1"])
    reversal = CreditNote.select().order_by(CreditNote.id.desc()).get()
    assert (reversal.kind, reversal.reverses_id, reversal.amount_cents) == ("reversal", chargeback.id, 30_000)
    assert receipts.corrections_of(donation).remaining_cents == 30_000 == money_of(company)
    assert refund_note.amount_cents == 20_000
    assert ledger.check() == []
