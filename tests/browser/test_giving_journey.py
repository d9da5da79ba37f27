"""A company donates online up to the hand-over to Stripe Checkout, Stripe's signed webhook marks the
donation paid, and the company asks for a payment request to pay by bank, in a real browser (Dutch).

Stripe itself is the edge: Checkout Sessions are answered by the giving tests' transport and
PaymentIntents by localstripe; the browser's visit to checkout.stripe.com is answered with a stand-in."""

import re

import pytest
import requests

from portal.giving import payments
from portal.giving.models import Donation
from tests.conftest import PASSWORD
from tests.giving.conftest import SECRET_KEY, WEBHOOK_SECRET, Stripe, StripeTransport


@pytest.fixture
def app_config(app_config, localstripe_url):  # the live server talks to localstripe
    return {**app_config, "STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": localstripe_url}


def test_a_company_donates_online_and_asks_for_a_payment_request(live_server, journey, make_company,
                                                                  localstripe_url):
    import stripe

    transport = StripeTransport()
    live_server.app.extensions[payments.TRANSPORT_KEY] = transport
    payments.reset_client(live_server.app)
    helper = Stripe(transport=transport, app=live_server.app, client=None,
                    api=stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe_url}, max_network_retries=0))
    company = make_company("Drukkerij Lek", language="nl")
    page = journey.page
    page.route(re.compile(r"https://checkout\.stripe\.com/.*"), lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><html lang='nl'><title>Stripe Checkout</title>"
                                                   "<main><h1>Stripe Checkout (stand-in)</h1></main></html>"))
    journey.log_in(live_server.url, company.admin.email, PASSWORD)

    journey.visit(live_server.url + "/giving/donate", "donation form")
    page.fill("#amount", "250,00")
    page.check("#classification-0")  # gift
    page.check("input[name=method][value=stripe]")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"https://checkout\.stripe\.com/.*"))
    journey.snap("handed over to Stripe Checkout")
    donation = Donation.get()
    assert (donation.amount_cents, donation.status, donation.method) == (25000, "pending", "stripe")

    session = transport.session_for(donation.id)
    helper.pay(session)
    payload = helper.event("checkout.session.completed", session)
    answer = requests.post(live_server.url + "/webhooks/stripe", data=payload, timeout=30,
                           headers={"Content-Type": "application/json", "Stripe-Signature": helper.sign(payload)})
    assert answer.status_code == 200
    forged = requests.post(live_server.url + "/webhooks/stripe", data=payload, timeout=30,
                           headers={"Content-Type": "application/json",
                                    "Stripe-Signature": helper.sign(payload, secret="whsec_someone_else")})
    assert forged.status_code == 400
    assert Donation.get_by_id(donation.id).status == "paid"

    journey.visit(live_server.url + "/giving", "contributions list")
    row = page.locator("tbody tr", has_text="250,00").first
    assert "betaald" in row.inner_text()

    journey.visit(live_server.url + "/giving/donate", "second donation form")
    page.fill("#amount", "1.000")
    page.check("#classification-1")  # sponsoring
    page.check("input[name=method][value=bank]")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    journey.check_accessibility()
    journey.snap("payment request")
    request = Donation.get(Donation.method == "bank")
    assert (request.amount_cents, request.status, request.classification) == (100000, "pending", "sponsoring")
    assert request.reference and request.reference[:2] == "RF"
    journey.visit(live_server.url + "/giving", "list with the open request")
    assert page.locator("tbody tr", has_text="1.000,00").first.inner_text().count("wacht op betaling") == 1
