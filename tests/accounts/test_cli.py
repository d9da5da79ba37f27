"""`portal create-leader EMAIL` makes the project leader's account (TOTP follows at first login)."""

from __future__ import annotations

import pyotp

from portal.accounts.models import User
from tests.conftest import PASSWORD
from tests.core.cli_runner import run_portal


def test_create_leader_makes_a_leader_who_must_enrol_totp(app):
    result = run_portal(app, "create-leader", "Lotte@OnderwijsAmbassadeurs.nl", "--name", "Lotte",
                        "--password", PASSWORD)

    assert result.exit_code == 0, result.output
    assert "project leader lotte@onderwijsambassadeurs.nl created" in result.output.lower()
    leader = User.get(User.email == "lotte@onderwijsambassadeurs.nl")
    assert (leader.role, leader.company_id, leader.name) == ("leader", None, "Lotte")
    assert leader.password_hash.startswith("$argon2id$") and leader.totp_confirmed_at is None

    client = app.test_client()
    response = client.post("/login", data={"email": "lotte@onderwijsambassadeurs.nl", "password": PASSWORD})
    assert response.headers["Location"] == "/login/totp"
    client.get("/login/totp")
    code = pyotp.TOTP(User.get_by_id(leader.id).totp_secret).now()
    assert client.post("/login/totp", data={"code": code}).headers["Location"] == "/leader"


def test_create_leader_asks_for_the_password_twice_when_not_given(app):
    result = run_portal(app, "create-leader", "lotte@onderwijsambassadeurs.nl", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert User.select().where(User.role == "leader").count() == 1


def test_create_leader_refuses_a_weak_password(app):
    result = run_portal(app, "create-leader", "lotte@onderwijsambassadeurs.nl", "--password", "onderwijs123")

    assert result.exit_code == 1
    assert "Error:" in result.output
    assert User.select().count() == 0


def test_create_leader_refuses_an_address_that_has_an_account(app, make_company):
    company = make_company("Acme")
    result = run_portal(app, "create-leader", company.admin.email, "--password", PASSWORD)

    assert result.exit_code == 1 and "Error:" in result.output  # (in the portal's default language, Dutch)
    assert User.select().where(User.email == company.admin.email).count() == 1
    assert User.get_by_id(company.admin.id).role == "admin"
