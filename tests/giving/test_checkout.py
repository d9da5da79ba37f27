"""Online donations end to end: the form, Stripe Checkout (through the test transport), the
PaymentIntent at localstripe, the signed webhook, the receipt mail with its PDF."""

from __future__ import annotations

from portal.core.audit import AuditLog
from portal.giving.models import Donation, StripeEvent
from tests.pdftext import assert_in_pdf, pdf_text

from .conftest import attachments_of, donate_form


def test_a_logged_in_company_donates_online_and_gets_a_receipt(app, stripe_env, company_client, outbox):
    company, client = company_client("Acme")
    response = client.post("/giving/donate", data=donate_form(amount="1.234,56", classification="sponsoring",
                                                               earmark_purpose="Reading books for group 3"))
    assert response.status_code == 303
    donation = Donation.get()
    assert response.headers["Location"] == donation.checkout_url
    assert (donation.status, donation.amount_cents, donation.company_id) == ("pending", 123456, company.id)
    params = stripe_env.transport.created_params[0]
    assert params["mode"] == "payment" and params["submit_type"] == "donate"
    assert params["client_reference_id"] == str(donation.id)
    assert params["metadata"]["donation_id"] == str(donation.id)
    assert params["payment_intent_data"]["metadata"]["donation_id"] == str(donation.id)
    assert params["payment_method_types"] == ["ideal", "card", "sepa_debit"]
    assert params["line_items"][0]["price_data"] == {"currency": "eur", "unit_amount": "123456",
                                                    "product_data": {"name": "Sponsoring of OnderwijsAmbassadeurs"}}

    # Back from Stripe before the webhook: "being confirmed".
    status_page = client.get(params["success_url"].removeprefix("http://portal.test"))
    assert status_page.status_code == 200
    assert b"being confirmed" in status_page.data

    session = stripe_env.transport.session_for(donation.id)
    intent = stripe_env.pay(session)
    response = stripe_env.send("checkout.session.completed", session)
    assert response.status_code == 200, response.data
    assert response.get_json()["outcome"] == "applied"

    donation = Donation.get_by_id(donation.id)
    assert donation.status == "paid"
    assert donation.stripe_payment_intent_id == intent
    assert (donation.fee_cents, donation.net_cents) == (0, 123456)   # localstripe charges no fee
    assert StripeEvent.select().count() == 1
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1

    receipt = outbox.last(company.admin.email)
    assert "Receipt" in receipt.subject
    files = attachments_of(receipt)
    assert list(files) == [f"receipt-{donation.number}.pdf"]
    text = pdf_text(files[f"receipt-{donation.number}.pdf"])
    for value in ("€1,234.56", "Acme B.V.", donation.number, "Sponsoring", "Reading books for group 3"):
        assert_in_pdf(value, text)
    assert client.get(params["success_url"].removeprefix("http://portal.test")).data.count(b"Thank you") == 1
