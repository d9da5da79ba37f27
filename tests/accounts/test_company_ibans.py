"""A company registers the accounts it pays from in its profile (issue 13); the leader sees them."""

from __future__ import annotations

import pytest

from portal.accounts.models import CompanyIban


@pytest.fixture
def admin_client(app, make_company, login):
    company = make_company("Papendorp Advies", member=True)
    return company, login(app.test_client(), company.admin)


def test_an_administrator_registers_an_iban_written_with_spaces(admin_client):
    company, client = admin_client
    response = client.post("/account/ibans", data={"iban": "nl02 abna 0123 4567 89"})
    assert response.status_code == 302
    assert [row.iban for row in CompanyIban.select()] == ["NL02ABNA0123456789"]
    page = client.get("/account").get_data(as_text=True)
    assert "NL02 ABNA 0123 4567 89" in page


@pytest.mark.parametrize("typed", ["NL02ABNA0123456788", "NL02 ABNA 0123", "1234567"])
def test_an_invalid_iban_is_refused_and_what_was_typed_stays(admin_client, typed):
    _company, client = admin_client
    response = client.post("/account/ibans", data={"iban": typed})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "This is not a valid IBAN" in text and f'value="{typed}"' in text
    assert CompanyIban.select().count() == 0


def test_the_same_account_twice_is_refused(admin_client):
    _company, client = admin_client
    client.post("/account/ibans", data={"iban": "NL02ABNA0123456789"})
    response = client.post("/account/ibans", data={"iban": "NL02 ABNA 0123 4567 89"})
    assert response.status_code == 422 and "already registered" in response.get_data(as_text=True)
    assert CompanyIban.select().count() == 1


def test_a_member_sees_the_accounts_but_cannot_change_them(app, admin_client, login):
    company, client = admin_client
    client.post("/account/ibans", data={"iban": "NL02ABNA0123456789"})
    member = login(app.test_client(), company.member)
    page = member.get("/account").get_data(as_text=True)
    assert "NL02 ABNA 0123 4567 89" in page and 'name="iban"' not in page
    response = member.post("/account/ibans", data={"iban": "NL44RABO0123456789"})
    assert response.status_code == 422
    assert "Only an administrator" in response.get_data(as_text=True)
    assert CompanyIban.select().count() == 1


def test_an_administrator_removes_only_her_own_companys_account(app, admin_client, make_company, login):
    company, client = admin_client
    other = make_company("De Linde Zorg")
    other_client = login(app.test_client(), other.admin)
    other_client.post("/account/ibans", data={"iban": "NL69INGB0123456789"})
    theirs = CompanyIban.get(CompanyIban.company == other.id)
    assert client.post("/account/ibans", data={"remove": str(theirs.id)}).status_code == 404
    assert CompanyIban.select().count() == 1
    assert "NL69 INGB" not in client.get("/account").get_data(as_text=True)
    client.post("/account/ibans", data={"iban": "NL02ABNA0123456789"})
    mine = CompanyIban.get(CompanyIban.company == company.id)
    assert client.post("/account/ibans", data={"remove": str(mine.id)}).status_code == 302
    assert [row.company_id for row in CompanyIban.select()] == [other.id]


def test_the_leader_sees_a_companys_accounts(admin_client, leader_client):
    company, client = admin_client
    client.post("/account/ibans", data={"iban": "NL02ABNA0123456789"})
    page = leader_client.get(f"/leader/companies/{company.id}/users").get_data(as_text=True)
    assert "NL02 ABNA 0123 4567 89" in page
    assert leader_client.post("/account/ibans", data={"iban": "NL44RABO0123456789"}).status_code == 404
