"""A company registers itself with its first administrator and confirms the address."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from portal.accounts.models import Company, Token, User
from portal.core.audit import AuditLog
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def form(**overrides) -> dict[str, str]:
    data = {
        "legal_name": "Zwanenburg Kanaalbouw B.V.", "kvk": "8765 4321", "street": "Catharijnesingel 10",
        "postcode": "3511gv", "city": "Utrecht", "billing_email": "Facturen@Kanaalbouw.example",
        "language": "en", "admin_name": "Kees van Dam", "admin_email": "Kees@Kanaalbouw.example",
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_company_registers_with_its_first_administrator(client, outbox):
    response = client.post("/register", data=form(), headers=EN)

    assert response.status_code == 200
    assert "We have sent a confirmation link to Kees@Kanaalbouw.example" in page_text(response)
    company = Company.get()
    assert (company.legal_name, company.kvk, company.postcode, company.city) == \
        ("Zwanenburg Kanaalbouw B.V.", "87654321", "3511 GV", "Utrecht")
    assert company.billing_email == "facturen@kanaalbouw.example"
    assert company.language == "en"
    admin = User.get()
    assert (admin.company_id, admin.email, admin.role, admin.language) == \
        (company.id, "kees@kanaalbouw.example", "admin", "en")
    assert admin.password_hash.startswith("$argon2id$")
    assert PASSWORD not in admin.password_hash
    assert admin.email_confirmed_at is None
    assert AuditLog.select().where(AuditLog.action == "company.registered").count() == 1
    mail = outbox.last("kees@kanaalbouw.example")
    assert mail.subject == "Confirm your e-mail address"
    assert "/confirm/" in mail.link()


@pytest.mark.parametrize("kvk", ["1234567", "123456789", "1234567a", "ABCDEFGH", "", "12-34-56-78"])
def test_a_kvk_number_has_exactly_eight_digits(client, kvk):
    response = client.post("/register", data=form(kvk=kvk), headers=EN)

    assert response.status_code == 422
    text = page_text(response)
    assert "A KvK number has exactly 8 digits." in text or (kvk == "" and "This field is required." in text)
    assert Company.select().count() == 0 and User.select().count() == 0


@pytest.mark.parametrize("typed, stored", [("12.34.56.78", "12345678"), (" 1234 5678 ", "12345678")])
def test_kvk_numbers_lose_spaces_and_dots(client, typed, stored):
    assert client.post("/register", data=form(kvk=typed)).status_code == 200
    assert Company.get().kvk == stored


@pytest.mark.parametrize("typed, stored", [("3511gv", "3511 GV"), ("3511 GV", "3511 GV"), (" 1011ab ", "1011 AB")])
def test_dutch_postcodes_are_normalised(client, typed, stored):
    assert client.post("/register", data=form(postcode=typed)).status_code == 200
    assert Company.get().postcode == stored


@pytest.mark.parametrize("postcode", ["0123 AB", "1234 SA", "1234 SS", "1234 SD", "12345", "ABCD 12", "1234 A", "B-1000"])
def test_anything_but_a_dutch_postcode_is_refused(client, postcode):
    response = client.post("/register", data=form(postcode=postcode), headers=EN)

    assert response.status_code == 422
    assert "Enter a Dutch postcode, such as 3511 AB." in page_text(response)
    assert Company.select().count() == 0


@pytest.mark.parametrize("password, message", [
    ("kort-wachtw", "Use at least 12 characters."),
    ("password1234", "This password is too easy to guess."),
    # Strong for zxcvbn on its own; weak once the company's name is part of the context.
    ("zwanenburgkanaalbouw", "This password is too easy to guess."),
    # The portal's own name is context too.
    ("onderwijsambassadeurs", "This password is too easy to guess."),
    ("x" * 257, "256 characters"),  # the form field stops it first
])
def test_short_and_guessable_passwords_are_refused(client, password, message):
    response = client.post("/register", data=form(password=password), headers=EN)

    assert response.status_code == 422
    assert message in page_text(response)
    assert Company.select().count() == 0 and User.select().count() == 0


def test_long_passphrases_with_spaces_and_unicode_are_accepted(client):
    passphrase = "één lange zin met spaties, ümlauts en 🚲 " * 3  # ~120 characters, no composition rules
    assert client.post("/register", data=form(password=passphrase)).status_code == 200
    assert User.get().password_hash.startswith("$argon2id$")


def test_the_form_comes_back_filled_in_after_an_error(client):
    response = client.post("/register", data=form(password="password1234"), headers=EN)

    assert response.status_code == 422
    text = page_text(response)
    for value in ("Zwanenburg Kanaalbouw B.V.", "Catharijnesingel 10", "Utrecht", "Facturen@Kanaalbouw.example",
                  "Kees van Dam", "Kees@Kanaalbouw.example", "87654321", "3511 GV"):
        assert f'value="{value}"' in text, value
    assert re.search(r'<input checked[^>]*name="language" type="radio" value="en">', text)
    assert "password1234" not in text  # passwords are never sent back


def test_a_kvk_number_registers_once(client, make_company, outbox):
    existing = make_company("Kanaal")
    response = client.post("/register", data=form(kvk=existing.kvk), headers=EN)

    # The same answer as for a new company: the page never says the KvK number is known.
    assert response.status_code == 200
    assert "We have sent a confirmation link to Kees@Kanaalbouw.example" in page_text(response)
    assert "already registered" not in page_text(response)
    assert Company.select().count() == 1
    assert User.select().where(User.email == "kees@kanaalbouw.example").count() == 0
    assert outbox.messages == []  # nothing is sent (the page says what to do when no mail comes)
    assert "ask its administrator to invite you" in page_text(response)


def test_an_email_address_registers_once_whatever_its_case(client, make_company, outbox):
    existing = make_company("Kanaal")
    response = client.post("/register", data=form(admin_email=existing.admin.email.upper()), headers=EN)

    assert response.status_code == 200
    assert "already has an account" not in page_text(response)
    assert Company.select().count() == 1
    # The owner of the address is told, nobody else.
    notice = outbox.last(existing.admin.email)
    assert notice.subject == "Someone tried to register with your e-mail address"
    assert "/confirm/" not in notice.text
    assert len(outbox.messages) == 1


def test_registration_answers_the_same_for_known_and_unknown_addresses_and_kvk_numbers(app, make_company):
    existing = make_company("Kanaal")

    def answer(**overrides) -> tuple[int, str]:
        response = app.test_client().post("/register", data=form(**overrides), headers=EN)
        email = overrides.get("admin_email", form()["admin_email"])
        return response.status_code, re.sub(r'value="[^"]*"', "", page_text(response)).replace(email, "ADDRESS")

    new = answer(kvk="11112222", admin_email="nieuw@kanaalbouw.example")
    assert answer(kvk=existing.kvk) == new
    assert answer(kvk="33334444", admin_email=existing.admin.email) == new
    assert answer(kvk="55556666", admin_email=existing.admin.email.upper()) == new


# --- confirming the address ---------------------------------------------------------------

def test_the_confirmation_link_confirms_once(client, outbox):
    client.post("/register", data=form())
    link = outbox.last("kees@kanaalbouw.example").link()

    first = client.get(link, headers=EN)
    assert first.status_code == 302 and first.headers["Location"].endswith("/login")
    assert "your e-mail address is confirmed" in page_text(client.get("/login", headers=EN))
    assert User.get().email_confirmed_at is not None

    again = client.get(link, headers=EN)
    assert again.status_code == 302
    assert "This confirmation link is no longer valid." in page_text(client.get("/login", headers=EN))


def test_an_expired_or_made_up_confirmation_link_confirms_nothing(client, outbox):
    from portal.core.db import utcnow

    client.post("/register", data=form())
    link = outbox.last("kees@kanaalbouw.example").link()
    Token.update(expires_at=utcnow() - dt.timedelta(seconds=1)).execute()

    client.get(link)
    client.get("/confirm/" + "A" * 43)
    assert User.get().email_confirmed_at is None


def test_logging_in_before_confirming_sends_a_fresh_link_instead(client, outbox):
    client.post("/register", data=form())
    assert len(outbox.to("kees@kanaalbouw.example")) == 1

    response = client.post("/login", data={"email": "kees@kanaalbouw.example", "password": PASSWORD}, headers=EN)

    assert response.status_code == 401
    assert "Please confirm your e-mail address first" in page_text(response)
    assert client.get("/dashboard").status_code == 302  # not logged in
    fresh = outbox.last("kees@kanaalbouw.example")
    assert len(outbox.to("kees@kanaalbouw.example")) == 2
    assert client.get(fresh.link()).status_code == 302
    assert client.post("/login", data={"email": "kees@kanaalbouw.example", "password": PASSWORD}).status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_a_wrong_password_for_an_unconfirmed_address_looks_like_any_wrong_password(client, outbox):
    client.post("/register", data=form())
    response = client.post("/login", data={"email": "kees@kanaalbouw.example", "password": "wrong " + PASSWORD},
                           headers=EN)

    assert response.status_code == 401
    assert "The e-mail address or password is not correct." in page_text(response)
    assert len(outbox.to("kees@kanaalbouw.example")) == 1
