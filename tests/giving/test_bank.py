"""Bank transfers: the payment request (PDF, reference, due date) and mark_paid_by_bank."""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum import iso11649

from portal.core import clock
from portal.core.audit import AuditLog
from portal.giving import checks, contributions, receipts, service
from portal.giving.models import Donation, PaymentIssue
from tests.pdftext import assert_in_pdf, pdf_text

from .conftest import attachments_of, donate_form, public_form

D = dt.date


@pytest.fixture
def requested(stripe_env, company_client):
    def request(amount: str = "2.500,00", **form):
        company, client = company_client(f"Payer{Donation.select().count()}")
        response = client.post("/giving/donate", data=donate_form(amount=amount, method="bank", **form))
        assert response.status_code == 302, response.data[:300]
        return company, client, Donation.select().order_by(Donation.id.desc()).get()

    return request


def test_a_payment_request_has_amount_reference_iban_and_due_date(app, requested, outbox):
    company, client, donation = requested("2.500,00", classification="sponsoring", earmark_purpose="Schoolreis")
    assert donation.status == "pending" and donation.method == "bank"
    assert iso11649.is_valid(donation.reference)
    assert donation.due_on == clock.today() + dt.timedelta(days=30)
    page = client.get(f"/give/donations/{donation.id}")
    assert b"RF" in page.data and b"NL91 ABNA 0417 1643 00" in page.data
    mail = outbox.last(company.admin.email)
    assert mail.subject.startswith("Payment request")
    data = attachments_of(mail)[f"payment-request-{donation.number}.pdf"]
    text = pdf_text(data)
    for value in ("€2,500.00", iso11649.format(donation.reference), "NL91 ABNA 0417 1643 00", app.config["ISSUER_NAME"],
                  "Sponsoring", "Schoolreis", company.legal_name, donation.due_on.strftime("%-d %B %Y")):
        assert_in_pdf(value, text)
    # Downloaded later, it is the same stored document.
    download = client.get(f"/giving/donations/{donation.id}/payment-request.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data == data


def test_references_are_unique_and_valid(requested):
    references = {requested(str(10 + n))[2].reference for n in range(5)}
    assert len(references) == 5 and all(iso11649.is_valid(r) for r in references)


def test_a_matching_transfer_marks_it_paid_and_sends_the_receipt(app, requested, leader, outbox, request_context):
    company, _client, donation = requested("2.500,00")
    result = service.mark_paid_by_bank(iso11649.format(donation.reference).lower(), 250_000, D(2026, 11, 20),
                                       leader, "CAMT 2026-11-20 line 7")
    assert result.status == "paid" and result.applied
    receipts.wait_for_followups(app)
    donation = Donation.get_by_id(donation.id)
    assert (donation.status, donation.paid_on, donation.fee_cents, donation.net_cents) == (
        "paid", D(2026, 11, 20), 0, 250_000)
    assert donation.paid_recorded_by_id == leader.id
    receipt = outbox.last(company.admin.email)
    assert receipt.subject.startswith("Receipt")
    text = pdf_text(attachments_of(receipt)[f"receipt-{donation.number}.pdf"])
    for value in ("€2,500.00", "20 November 2026", "bank transfer"):
        assert_in_pdf(value, text)
    line = contributions.contributions(company.id, None, None)[0]
    assert (line.kind, line.key, line.gross_cents, line.fee_cents, line.net_cents, line.method, line.reference) == (
        "money", f"donation:{donation.id}", 250_000, 0, 250_000, "bank", donation.reference)
    # The same bank line again: nothing new.
    again = service.mark_paid_by_bank(donation.reference, 250_000, D(2026, 11, 20), leader, "CAMT 2026-11-20 line 7")
    assert again.status == "already_recorded"
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1


@pytest.mark.parametrize("amount", [249_999, 250_001, 25_000])
def test_a_transfer_of_another_amount_is_flagged_and_not_applied(requested, leader, amount, request_context):
    _company, _client, donation = requested("2.500,00")
    result = service.mark_paid_by_bank(donation.reference, amount, D(2026, 11, 20), leader, f"line-{amount}")
    assert result.status == "amount_mismatch"
    assert Donation.get_by_id(donation.id).status == "pending"
    issue = PaymentIssue.get()
    assert (issue.kind, issue.donation_id, issue.source) == ("bank_amount_mismatch", donation.id, f"line-{amount}")


def test_unknown_invalid_duplicate_and_withdrawn(requested, leader, company_client, request_context):
    _company, client, donation = requested("100")
    assert service.mark_paid_by_bank("RF18539007547034", 10_000, D(2026, 11, 2), leader, "l1").status == \
        "unknown_reference"
    assert service.mark_paid_by_bank("RF00 1234", 10_000, D(2026, 11, 2), leader, "l2").status == "unknown_reference"
    assert service.mark_paid_by_bank(donation.reference, 10_000, D(2026, 11, 2), leader, "l3").status == "paid"
    assert service.mark_paid_by_bank(donation.reference, 10_000, D(2026, 11, 3), leader, "l4").status == \
        "duplicate_payment"
    _other_company, other_client, other = requested("100")
    assert service.mark_paid_by_bank(other.reference, 10_000, D(2026, 11, 3), leader, "l3").status == \
        "line_already_used"
    assert other_client.post(f"/giving/donations/{other.id}/withdraw").status_code == 302
    assert Donation.get_by_id(other.id).status == "canceled"
    assert service.mark_paid_by_bank(other.reference, 10_000, D(2026, 11, 4), leader, "l5").status == "not_pending"
    assert sorted(i.kind for i in PaymentIssue.select()) == ["bank_duplicate_payment", "bank_not_pending"]
    assert Donation.get_by_id(other.id).status == "canceled"
    for bad in ((donation.reference, 0, D(2026, 1, 1), leader, "x"), (donation.reference, 1.5, D(2026, 1, 1), leader, "x"),
                (donation.reference, 100, "2026-01-01", leader, "x"), (donation.reference, 100, D(2026, 1, 1), leader, "")):
        with pytest.raises(ValueError):
            service.mark_paid_by_bank(*bad)


def test_a_public_payment_request_makes_the_company_when_paid(stripe_env, app, leader, outbox, request_context):
    client = app.test_client()
    response = client.post("/give", data=public_form(amount="300", method="bank"))
    assert response.status_code == 302
    donation = Donation.get()
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and iso11649.format(donation.reference).encode() in page.data
    pdf = client.get(f"/give/donations/{donation.id}/payment-request.pdf?key={checks.access_key(donation)}")
    assert pdf.status_code == 200
    assert_in_pdf("€300.00", pdf.data)
    assert client.get(f"/give/donations/{donation.id}/payment-request.pdf").status_code == 404
    assert service.mark_paid_by_bank(donation.reference, 30_000, D(2026, 11, 20), leader, "line 1").applied
    receipts.wait_for_followups(app)
    donation = Donation.get_by_id(donation.id)
    assert donation.company.kvk == "87654321"
    # Issue 15 item 1: no invitation ("You are invited...") follows any more; the donor gains no role.
    assert [m.subject.split(" ")[0] for m in outbox.to("noor@nieuwbedrijf.nl")] == ["Payment", "Receipt"]


def test_the_leader_records_a_transfer_by_hand(requested, leader_client, app):
    _company, _client, donation = requested("99,95")
    form = {"reference": iso11649.format(donation.reference), "amount": "99,90", "paid_on": "2026-11-20",
            "bank_line_ref": "stmt 12 line 3"}
    response = leader_client.post("/giving/leader/bank", data=form)
    assert response.status_code == 422 and b"differs from the request" in response.data
    assert Donation.get_by_id(donation.id).status == "pending"
    response = leader_client.post("/giving/leader/bank", data={**form, "amount": "99,95", "bank_line_ref": "stmt 12 line 4"})
    assert response.status_code == 302
    receipts.wait_for_followups(app)
    assert Donation.get_by_id(donation.id).status == "paid"
    desk = leader_client.get("/giving/leader")
    assert desk.status_code == 200 and donation.number.encode() in desk.data
    issue = PaymentIssue.get()
    response = leader_client.post(f"/giving/leader/issues/{issue.id}/resolve", data={"resolution": ""})
    assert PaymentIssue.get_by_id(issue.id).resolved_at is None
    leader_client.post(f"/giving/leader/issues/{issue.id}/resolve", data={"resolution": "Called the company"})
    assert PaymentIssue.get_by_id(issue.id).resolution == "Called the company"
