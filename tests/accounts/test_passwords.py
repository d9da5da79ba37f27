"""Passwords an attacker would try first are refused (issue 15, item 9): the user's own name,
address and company, seasonal Dutch patterns, and the current password again."""

from __future__ import annotations

import html

import pytest

from portal.accounts import base, service
from portal.accounts.models import User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
NEW_PASSWORD = "vuurtoren-hagelslag-fiets-77"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def zorg(make_company):
    return make_company("Utrechtse Zorgdiensten")


def change(client, new: str, current: str = PASSWORD):
    return client.post("/account", data={"current_password": current, "new_password": new}, headers=EN)


@pytest.mark.parametrize("password", ["utrechtse-zorgdiensten", "Welkom2026!!", "zorgdiensten-admin1"])
def test_guessable_passwords_are_refused_on_change(app, zorg, login, password):
    client = login(app.test_client(), zorg.admin)
    before = User.get_by_id(zorg.admin.id).password_hash

    response = change(client, password)

    assert response.status_code == 200
    assert "too easy to guess" in text(response)
    assert User.get_by_id(zorg.admin.id).password_hash == before


def test_the_current_password_is_refused_as_the_new_one(app, zorg, login):
    client = login(app.test_client(), zorg.admin)
    before = User.get_by_id(zorg.admin.id).password_hash

    response = change(client, PASSWORD)

    assert response.status_code == 200
    assert "Choose a new password that differs from your current one." in text(response)
    assert User.get_by_id(zorg.admin.id).password_hash == before
    assert change(client, NEW_PASSWORD).status_code == 302  # a different strong one is fine


def test_the_company_name_counts_when_registering_too(client):
    response = client.post("/register", headers=EN, data={
        "legal_name": "Utrechtse Zorgdiensten B.V.", "kvk": "12345678", "street": "Oudegracht 1",
        "postcode": "3511 AB", "city": "Utrecht", "billing_email": "finance@zorg.example", "language": "en",
        "admin_name": "Zara Zorg", "admin_email": "zara@zorg.example", "password": "utrechtse-zorgdiensten"})
    assert response.status_code == 422 and "too easy to guess" in text(response)
    assert User.select().count() == 0


def test_the_users_name_address_and_company_are_zxcvbns_user_inputs(app):
    inputs = base.password_inputs("Kees.van-Dam@Kanaalbouw.example", "Kees van Dam", "Zwanenburg Kanaalbouw B.V.")
    for expected in ("kees.van-dam@kanaalbouw.example", "kees.van-dam", "kanaalbouw.example", "kanaalbouw",
                     "kees van dam", "keesvandam", "zwanenburg kanaalbouw b.v.", "zwanenburgkanaalbouwbv",
                     "zwanenburg", "kees", "dam"):
        assert expected in inputs, expected
    assert service.password_problem("Kees-van-Dam-Kanaalbouw", "kees@kanaalbouw.example", "Kees van Dam",
                                     "Zwanenburg Kanaalbouw B.V.") is not None


def test_strong_passphrases_still_pass(app):
    for password in (PASSWORD, NEW_PASSWORD, "schoolbord-tulpenveld-kraan-19"):
        assert service.password_problem(password, "admin1@utrechtsezorgdiensten.nl", "Utrechtse Zorgdiensten Admin",
                                        "Utrechtse Zorgdiensten B.V.") is None
