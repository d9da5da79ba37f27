"""The demo payment page (issue 21): without Stripe keys, in development, a donor can pay online on a
clearly marked demo page; its buttons send signed events through the real webhook, so the whole
journey (gift -> payment -> receipt) works offline. Never in production, never beside Stripe keys."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest

from portal import create_app
from portal.config import ConfigError, demo_payments
from portal.core.audit import AuditLog
from portal.giving import demo_checkout
from portal.giving.models import Donation, StripeEvent

from .conftest import attachments_of, donate_form, public_form


@pytest.fixture
def app_config(app_config):
    """No Stripe keys at all (as `make run`), the demo gateway asked for."""
    plain = {name: value for name, value in app_config.items() if not name.startswith("STRIPE_")}
    return {**plain, "DEMO_PAYMENTS": "on"}


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def receipts(outbox, address: str) -> list:
    return [m for m in outbox.to(address) if m.subject.startswith("Receipt")]


@pytest.fixture
def give(company_client):
    """A company's administrator fills in the donate form for `amount` euros, paying online."""

    def start(amount: str = "250"):
        company, client = company_client(f"Demo{Donation.select().count()}")
        form = client.get("/giving/donate").get_data(as_text=True)
        assert "Pay online now" in form and "No money moves." in form
        response = client.post("/giving/donate", data=donate_form(amount=amount))
        assert response.status_code == 303, response.data[:400]
        donation = Donation.select().order_by(Donation.id.desc()).get()
        return company, client, donation, local(response.headers["Location"])

    return start


def test_a_demo_payment_that_succeeds_is_paid_and_its_receipt_is_mailed(give, outbox):
    company, client, donation, page = give("250")
    assert page.startswith(f"/give/donations/{donation.id}/demo-checkout?key=")
    shown = client.get(page)
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "DEMO: no money moves" in text and "This is not a real payment page." in text
    assert "250.00" in text
    assert Donation.get_by_id(donation.id).status == "pending"

    answer = client.post(page, data={"outcome": "succeed"})
    assert answer.status_code == 303
    paid = Donation.get_by_id(donation.id)
    assert paid.status == "paid" and paid.amount_cents == 25_000
    assert (paid.fee_cents, paid.net_cents, paid.payment_method_type) == (29, 24_971, "ideal")
    event = StripeEvent.get()
    assert event.event_id.startswith("evt_demo_") and event.outcome == "applied"
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1
    [receipt] = receipts(outbox, company.admin.email)
    assert any(name.endswith(".pdf") for name in attachments_of(receipt))
    status = client.get(local(answer.headers["Location"])).get_data(as_text=True)
    assert "Thank you! Your payment has been received." in status
    overview = client.get("/giving").get_data(as_text=True)
    assert "€ 250,00" in overview or "€250.00" in overview

    # The page is finished now: a second click changes nothing and mails nothing.
    again = client.post(page, data={"outcome": "succeed"}, follow_redirects=True)
    assert "already finished" in again.get_data(as_text=True)
    assert StripeEvent.select().count() == 1 and len(receipts(outbox, company.admin.email)) == 1


def test_a_demo_payment_that_fails_leaves_the_donation_failed_and_charges_nothing(give, outbox):
    company, client, donation, page = give("75")
    answer = client.post(page, data={"outcome": "fail"})
    assert answer.status_code == 303
    failed = Donation.get_by_id(donation.id)
    assert failed.status == "failed" and failed.fee_cents is None and failed.paid_on is None
    assert not receipts(outbox, company.admin.email)
    status = client.get(local(answer.headers["Location"])).get_data(as_text=True)
    assert "This payment was not completed and nothing was charged." in status


def test_a_pending_demo_payment_is_processing_until_it_is_settled_later(give, outbox):
    company, client, donation, page = give("1.234,56")
    answer = client.post(page, data={"outcome": "pending"})
    assert Donation.get_by_id(donation.id).status == "processing"
    assert not receipts(outbox, company.admin.email)
    status = client.get(local(answer.headers["Location"])).get_data(as_text=True)
    assert "A direct debit takes a few working days" in status
    assert "decide on the demo payment page how this pending payment ends" in status
    waiting = client.get(page).get_data(as_text=True)
    assert "The money arrives (payment succeeds)" in waiting and "Payment succeeds</button>" not in waiting

    client.post(page, data={"outcome": "settle"})
    settled = Donation.get_by_id(donation.id)
    assert settled.status == "paid" and (settled.fee_cents, settled.net_cents) == (35, 123_421)
    assert [e.type for e in StripeEvent.select().order_by(StripeEvent.id)] == [
        "checkout.session.completed", "checkout.session.async_payment_succeeded"]
    assert len(receipts(outbox, company.admin.email)) == 1


def test_a_public_donor_without_an_account_can_give_through_the_demo(app, outbox):
    client = app.test_client()
    response = client.post("/give", data=public_form(amount="50", contact_email="noor@demo.nl"))
    assert response.status_code == 303
    page = local(response.headers["Location"])
    client.post(page, data={"outcome": "succeed"})
    donation = Donation.get()
    assert donation.status == "paid" and donation.company_id is not None
    assert len(receipts(outbox, "noor@demo.nl")) == 1


def test_going_back_from_the_demo_page_cancels_and_keeps_the_form(give):
    _company, client, donation, page = give("40")
    back = client.get(f"/give/donations/{donation.id}/cancel?key={page.split('key=')[1]}")
    assert back.status_code == 302 and Donation.get_by_id(donation.id).status == "canceled"
    # The session is expired at the demo gateway as at Stripe: its buttons no longer pay it.
    assert "This demo payment is finished." in client.get(page).get_data(as_text=True)
    client.post(page, data={"outcome": "succeed"})
    assert Donation.get_by_id(donation.id).status == "canceled"


def test_the_demo_page_needs_the_donations_key(give, company_client):
    _company, _client, donation, page = give("60")
    other_company, other = company_client("Other")
    assert other.get(f"/give/donations/{donation.id}/demo-checkout").status_code == 404
    assert other.get(f"/give/donations/{donation.id}/demo-checkout?key=wrong").status_code == 404
    assert other.post(f"/give/donations/{donation.id}/demo-checkout?key=wrong",
                      data={"outcome": "succeed"}).status_code == 404
    assert Donation.get_by_id(donation.id).status == "pending"


def test_the_demo_buttons_need_the_forms_csrf_token(app, give):
    _company, client, donation, page = give("90")
    app.config["WTF_CSRF_ENABLED"] = True
    text = client.get(page).get_data(as_text=True)
    assert 'name="csrf_token"' in text
    assert client.post(page, data={"outcome": "succeed"}).status_code == 400
    assert Donation.get_by_id(donation.id).status == "pending" and not StripeEvent.select().exists()


def test_a_forged_event_is_refused_the_demo_secret_is_the_only_one(app, give):
    """The webhook checks demo events as it checks Stripe's: signed with the development secret."""
    _company, client, donation, _page = give("80")
    payload, _signature = demo_checkout.act(donation.stripe_checkout_session_id, "succeed")
    forged = demo_checkout.sign(payload, secret="whsec_not_the_demo_secret")
    response = client.post("/webhooks/stripe", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": forged})
    assert response.status_code == 400 and Donation.get_by_id(donation.id).status == "pending"
    good = client.post("/webhooks/stripe", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": demo_checkout.sign(payload)})
    assert good.status_code == 200 and Donation.get_by_id(donation.id).status == "paid"


def test_the_desks_stripe_sync_finds_nothing_to_read_at_the_demo_gateway(app, give):
    """The project leader's Stripe sync reads balance transactions and payouts: the demo has none,
    and says so without an error."""
    from portal.giving import payments

    give("30")
    assert list(payments.balance_transactions()) == [] and list(payments.payouts()) == []


# --- when the demo is off ---------------------------------------------------------------------------

def test_production_refuses_the_demo(app_config):
    production = {**app_config, "ENV": "production", "TESTING": False, "SECRET_KEY": secrets.token_hex(32),
                  "DEMO_PAYMENTS": "on"}
    with pytest.raises(ConfigError, match="DEMO_PAYMENTS"):
        create_app(production)
    beside_stripe = {**app_config, "STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_123"}
    with pytest.raises(ConfigError, match="DEMO_PAYMENTS"):
        create_app(beside_stripe)
    # `auto` (the default) decides by itself: on only in development on this machine without keys.
    local = {"ENV": "development", "DEMO_PAYMENTS": "auto", "BASE_URL": "http://127.0.0.1:5000"}
    assert demo_payments(local)
    assert demo_payments({**local, "BASE_URL": "http://localhost:8123"})
    # A deployment that forgot PORTAL_ENV=production has a public address: no demo.
    assert not demo_payments({**local, "BASE_URL": "https://portaal.onderwijsambassadeurs.nl"})
    # A word that is not on/off/auto never switches it on.
    assert not demo_payments({**local, "DEMO_PAYMENTS": "disabled"})
    assert not demo_payments({"ENV": "production", "DEMO_PAYMENTS": "auto"})
    assert not demo_payments({"ENV": "development", "DEMO_PAYMENTS": "auto", "STRIPE_SECRET_KEY": "sk_live_x"})
    assert not demo_payments({"ENV": "development", "DEMO_PAYMENTS": "off"})


def test_without_stripe_and_without_the_demo_only_the_bank_transfer_is_offered(app, company_client):
    app.config["DEMO_PAYMENTS"] = "off"
    _company, client = company_client("Bank")
    text = client.get("/giving/donate").get_data(as_text=True)
    assert 'value="stripe"' not in text and 'value="bank"' in text
    assert "Pay online now" not in text and "Demo" not in text
    dutch = app.test_client().get("/give", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert 'lang="nl"' in dutch and 'value="stripe"' not in dutch and 'value="bank"' in dutch
    assert "Betaal nu online" not in dutch and "Nu online betalen" not in dutch
    response = client.post("/giving/donate", data=donate_form(amount="100"))
    assert response.status_code == 422 and not Donation.select().exists()
    bank = client.post("/giving/donate", data=donate_form(amount="100", method="bank"))
    assert bank.status_code in (302, 303)
    donation = Donation.get()
    assert client.get(f"/give/donations/{donation.id}/demo-checkout?key=x").status_code == 404
    # With the donation's own key, a demo link leads to the donation's page, where it stands.
    key = urlsplit(bank.headers["Location"]).query.split("key=")[1]
    moved = client.post(f"/give/donations/{donation.id}/demo-checkout?key={key}", data={"outcome": "succeed"})
    assert moved.status_code == 302 and urlsplit(moved.headers["Location"]).path == f"/give/donations/{donation.id}"
    assert Donation.get_by_id(donation.id).status == "pending" and not StripeEvent.select().exists()
