"""The donate pages: amounts, double clicks, going back from Checkout, an unreachable Stripe, and
the public page that finds or makes the company when the money arrives."""

from __future__ import annotations

import html
import threading

import pytest

from portal.accounts.models import Company, User
from portal.giving import base, service
from portal.giving.models import Donation

from .conftest import donate_form, public_form

BAD_AMOUNTS = {
    "0": "more than zero",
    "-5": "cannot be negative",
    "0.499": "at most two decimals",
    "0,49": "minimum amount is",
    "1,2,3": "such as 250",
    "1000000000000": "cannot be more than",
    "NaN": "such as 250",
    "": "enter an amount",
    "   ": "enter an amount",
    "1e3": "such as 250",
    "€ 12,3,4": "such as 250",
}


@pytest.mark.parametrize("amount", list(BAD_AMOUNTS))
def test_bad_amounts_are_refused_with_a_message_and_no_row(stripe_env, company_client, amount):
    _company, client = company_client()
    for method in ("stripe", "bank"):
        response = client.post("/giving/donate", data=donate_form(amount=amount, method=method,
                                                                   earmark_purpose="Keep me"))
        assert response.status_code == 422
        page = html.unescape(response.get_data(as_text=True))
        assert BAD_AMOUNTS[amount] in page.lower()
        assert 'value="Keep me"' in page                # nothing typed is lost
        assert f'value="{amount}"' in page or not amount.strip()
    assert Donation.select().count() == 0
    assert not stripe_env.transport.created_params


@pytest.mark.parametrize("amount", ["0", "-5", "0.499", "1,2,3", "1000000000000", "NaN", ""])
def test_bad_amounts_on_the_public_page_too(stripe_env, app, amount):
    response = app.test_client().post("/give", data=public_form(amount=amount))
    assert response.status_code == 422
    assert Donation.select().count() == 0 and Company.select().count() == 0


def test_amounts_are_exact_cents(stripe_env, company_client):
    _company, client = company_client()
    for typed, cents in (("0,50", 50), ("1.234,56", 123456), ("1,234.56", 123456), ("€ 99.999,99", 9_999_999),
                         ("12.5", 1250), ("19,99", 1999)):
        assert client.post("/giving/donate", data=donate_form(amount=typed)).status_code == 303
        assert Donation.select().order_by(Donation.id.desc()).get().amount_cents == cents
    # Stripe takes at most eight digits; a bank transfer may be larger.
    response = client.post("/giving/donate", data=donate_form(amount="1.000.000,00"))
    assert response.status_code == 422 and b"cannot be more than" in response.data
    assert client.post("/giving/donate", data=donate_form(amount="1.000.000,00", method="bank")).status_code == 302


def test_service_refuses_what_the_form_would_never_send(app, make_company):
    company = make_company()
    for cents in (0, 49, -100, 10**12, 12.5, "250", True, None):
        with pytest.raises(base.GivingError):
            service.create_donation(service.DonationInput(cents, "gift", "stripe", "t" * 20), user=company.admin)
    for classification, method in (("present", "stripe"), ("gift", "cash")):
        with pytest.raises(base.GivingError):
            service.create_donation(service.DonationInput(500, classification, method, "t" * 20), user=company.admin)
    assert Donation.select().count() == 0


def test_a_double_click_makes_one_donation_and_one_session(stripe_env, company_client):
    _company, client = company_client()
    form = donate_form(amount="75")
    first = client.post("/giving/donate", data=form)
    second = client.post("/giving/donate", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert Donation.select().count() == 1
    assert len(stripe_env.transport.sessions) == 1


def test_a_double_click_while_stripe_is_still_answering(stripe_env, company_client):
    """Both clicks reach Stripe before either has an answer: the idempotency key gives one session."""
    _company, client = company_client()
    form = donate_form(amount="75")
    barrier = threading.Barrier(2)
    original = stripe_env.transport.request

    def slow(method, url, headers, post_data=None):
        if method.upper() == "POST" and url.endswith("/v1/checkout/sessions"):
            barrier.wait(10)
        return original(method, url, headers, post_data)

    stripe_env.transport.request = slow
    responses = []
    threads = [threading.Thread(target=lambda: responses.append(client.post("/giving/donate", data=form)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in responses] == [303, 303]
    assert len({r.headers["Location"] for r in responses}) == 1
    assert Donation.select().count() == 1 and len(stripe_env.transport.sessions) == 1
    assert len(stripe_env.transport.created_params) == 1


def test_the_same_token_with_another_amount_is_not_a_double_click(stripe_env, company_client):
    _company, client = company_client()
    form = donate_form(amount="75")
    client.post("/giving/donate", data=form)
    response = client.post("/giving/donate", data={**form, "amount": "80"})
    assert response.status_code == 422 and b"submit it again" in response.data
    assert Donation.select().count() == 1


def test_going_back_from_checkout_returns_a_filled_in_form(stripe_env, company_client):
    _company, client = company_client()
    client.post("/giving/donate", data=donate_form(amount="1.234,50", classification="sponsoring",
                                                   earmark_purpose="Schoolreis groep 8"))
    donation = Donation.get()
    session = stripe_env.transport.session_for(donation.id)
    response = client.get(session["cancel_url"].removeprefix("http://portal.test"))
    assert response.status_code == 302
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert 'value="1.234,50"' in page or 'value="1,234.50"' in page
    assert 'value="Schoolreis groep 8"' in page
    assert 'value="sponsoring" checked' in page or ('value="sponsoring"' in page and "checked" in page)
    assert "nothing was charged" in page
    # The old session can no longer be paid, and the donation says so.
    assert session["status"] == "expired"
    assert Donation.get_by_id(donation.id).status == "canceled"
    # Submitting the form again is a new donation with a new session.
    token = page.split('name="form_token" type="hidden" value="')[1].split('"')[0]
    assert token != donation.form_token
    client.post("/giving/donate", data=donate_form(amount="1.234,50", form_token=token))
    assert Donation.select().count() == 2 and len(stripe_env.transport.sessions) == 2


def test_a_session_paid_meanwhile_is_not_cancelled(stripe_env, company_client):
    _company, client = company_client()
    client.post("/giving/donate", data=donate_form())
    donation = Donation.get()
    session = stripe_env.transport.session_for(donation.id)
    stripe_env.pay(session)
    client.get(session["cancel_url"].removeprefix("http://portal.test"))
    assert Donation.get_by_id(donation.id).status == "pending"      # the webhook will settle it
    stripe_env.send("checkout.session.completed", session)
    assert Donation.get_by_id(donation.id).status == "paid"


def test_an_unreachable_stripe_gives_the_form_back_and_charges_nothing(stripe_env, company_client):
    _company, client = company_client()
    stripe_env.transport.fail_paths.add("/v1/checkout/sessions")
    response = client.post("/giving/donate", data=donate_form(amount="60", earmark_purpose="Keep"))
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "cannot be reached" in page and 'value="60"' in page and 'value="Keep"' in page
    assert Donation.get().status == "canceled"
    stripe_env.transport.fail_paths.clear()
    token = page.split('name="form_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/giving/donate", data=donate_form(amount="60", form_token=token)).status_code == 303


def test_the_status_page_says_being_confirmed_then_thank_you(stripe_env, company_client):
    _company, client = company_client()
    client.post("/giving/donate", data=donate_form())
    donation = Donation.get()
    page = client.get(f"/give/donations/{donation.id}")
    assert b"being confirmed" in page.data and b'http-equiv="refresh"' in page.data
    session = stripe_env.transport.session_for(donation.id)
    stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    page = client.get(f"/give/donations/{donation.id}")
    assert b"has been received" in page.data and b"refresh" not in page.data
    assert b"receipt.pdf" in page.data


# --- the public page ---------------------------------------------------------------------------------

def test_public_donation_makes_the_company_and_invites_nobody_once_paid(stripe_env, app, outbox):
    """Issue 15 item 1: it invited the contact as the new company's administrator; a public donor
    never gains a role by giving."""
    client = app.test_client()
    response = client.post("/give", data=public_form(amount="50"))
    assert response.status_code == 303
    donation = Donation.get()
    assert donation.company_id is None and donation.via == "public"
    assert Company.select().count() == 0 and not outbox.messages   # nothing exists until the money does
    session = stripe_env.transport.session_for(donation.id)
    assert stripe_env.transport.created_params[0]["customer_email"] == "noor@nieuwbedrijf.nl"
    # The donor's return page works by its key only.
    success = session["success_url"].removeprefix("http://portal.test")
    assert client.get(success).status_code == 200
    assert client.get(f"/give/donations/{donation.id}").status_code == 404
    assert client.get(f"/give/donations/{donation.id}?key=0123456789abcdef0123456789abcdef").status_code == 404

    stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    donation = Donation.get_by_id(donation.id)
    company = Company.get(Company.kvk == "87654321")
    assert donation.status == "paid" and donation.company_id == company.id
    assert company.legal_name == "Nieuw Bedrijf B.V." and company.language == "en"
    assert donation.company_decision is None and donation.counts_for_company  # the gift made this company
    mails = outbox.to("noor@nieuwbedrijf.nl")
    assert [m.subject.split(" ")[0] for m in mails] == ["Receipt"]
    assert not User.select().where(User.company == company.id).exists()


def test_public_donation_for_an_existing_company_tells_its_admins_and_invites_nobody(stripe_env, app, make_company,
                                                                                      outbox):
    existing = make_company("Bestaand")
    client = app.test_client()
    client.post("/give", data=public_form(amount="50", kvk=existing.kvk, contact_email="stranger@example.org"))
    donation = Donation.get()
    session = stripe_env.transport.session_for(donation.id)
    stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    assert Donation.get_by_id(donation.id).company_id == existing.id
    assert not User.select().where(User.email == "stranger@example.org").exists()
    notice = outbox.last(existing.admin.email)
    assert "in your company's name" in notice.subject and "stranger@example.org" in notice.text
    assert outbox.last("stranger@example.org").subject.startswith("Receipt")


def test_public_page_refuses_bad_company_details_and_keeps_the_rest(stripe_env, app):
    client = app.test_client()
    response = client.post("/give", data=public_form(kvk="1234", contact_email="not-an-address",
                                                     earmark_purpose="Keep"))
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "8 digits" in page and 'value="Keep"' in page
    assert Donation.select().count() == 0


def test_logged_in_users_are_sent_to_their_own_donate_page(stripe_env, company_client):
    _company, client = company_client()
    response = client.get("/give")
    assert response.status_code == 302 and response.headers["Location"].endswith("/giving/donate")


def test_going_back_needs_the_key_stripe_sends(stripe_env, company_client):
    """A GET that closes a session is not something another site can make a logged-in browser do."""
    _company, client = company_client()
    client.post("/giving/donate", data=donate_form())
    donation = Donation.get()
    assert client.get(f"/give/donations/{donation.id}/cancel").status_code == 404
    assert Donation.get_by_id(donation.id).status == "pending"
    assert stripe_env.transport.session_for(donation.id)["status"] == "open"


def test_without_stripe_only_a_bank_transfer_is_offered(app, company_client):
    app.config["STRIPE_SECRET_KEY"] = ""
    _company, client = company_client()
    page = client.get("/giving/donate").get_data(as_text=True)
    assert 'value="bank"' in page and 'value="stripe"' not in page
    response = client.post("/giving/donate", data=donate_form(method="stripe"))
    assert response.status_code == 422 and b"not available" in response.data
    assert Donation.select().count() == 0
    assert client.post("/giving/donate", data=donate_form(method="bank")).status_code == 302
