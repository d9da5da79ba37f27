"""Sessions are rows in the database: logout, a password change and deactivation end them,
a copied cookie opens nothing afterwards, and idle and absolute timeouts apply."""

from __future__ import annotations

import html

import pytest

from portal.accounts.models import LoginSession, User
from tests.conftest import PASSWORD, tampered

NEW_PASSWORD = "vuurtoren-hagelslag-fiets-77"


@pytest.fixture
def cookie_name(app) -> str:
    return app.config["SESSION_COOKIE_NAME"]


def replay(app, cookie_name: str, value: str):
    """A fresh browser that only has the copied cookie."""
    attacker = app.test_client()
    attacker.set_cookie(cookie_name, value)
    return attacker


def sends_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, make_company, login, cookie_name):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    stolen = client.get_cookie(cookie_name).value
    assert replay(app, cookie_name, stolen).get("/dashboard").status_code == 200  # the copy works while logged in

    client.post("/logout")

    assert sends_to_login(replay(app, cookie_name, stolen).get("/dashboard"))
    assert sends_to_login(replay(app, cookie_name, stolen).get("/team"))
    assert LoginSession.select().count() == 0


def test_logging_out_ends_only_that_session(app, make_company, login):
    company = make_company("Acme")
    laptop, phone = login(app.test_client(), company.admin), login(app.test_client(), company.admin)
    laptop.post("/logout")

    assert sends_to_login(laptop.get("/dashboard"))
    assert phone.get("/dashboard").status_code == 200


def test_a_password_change_ends_every_other_session_and_renews_its_own(app, make_company, login, cookie_name):
    company = make_company("Acme")
    laptop, phone = login(app.test_client(), company.admin), login(app.test_client(), company.admin)
    copied_from_laptop = laptop.get_cookie(cookie_name).value
    copied_from_phone = phone.get_cookie(cookie_name).value

    response = laptop.post("/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 302
    assert laptop.get("/dashboard").status_code == 200  # the browser that changed it stays logged in
    assert laptop.get_cookie(cookie_name).value != copied_from_laptop
    assert sends_to_login(phone.get("/dashboard"))
    assert sends_to_login(replay(app, cookie_name, copied_from_phone).get("/dashboard"))
    assert sends_to_login(replay(app, cookie_name, copied_from_laptop).get("/dashboard"))
    assert LoginSession.select().count() == 1
    # The new password works, the old one no longer does.
    assert app.test_client().post("/login", data={"email": company.admin.email, "password": PASSWORD}).status_code == 401
    login(app.test_client(), company.admin, NEW_PASSWORD)


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(app, make_company, login):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    other = login(app.test_client(), company.admin)
    before = User.get_by_id(company.admin.id).password_hash

    wrong = client.post("/account", data={"current_password": "not-my-password-1", "new_password": NEW_PASSWORD},
                        headers={"Accept-Language": "en"})
    weak = client.post("/account", data={"current_password": PASSWORD, "new_password": "acmeacmeacme"},
                       headers={"Accept-Language": "en"})

    assert wrong.status_code == weak.status_code == 200
    assert "Your current password is not correct." in html.unescape(wrong.get_data(as_text=True))
    assert "too easy to guess" in html.unescape(weak.get_data(as_text=True))
    assert User.get_by_id(company.admin.id).password_hash == before
    assert other.get("/dashboard").status_code == 200  # nothing changed, nobody was logged out


def test_deactivation_ends_the_sessions_of_that_user(app, make_company, login, cookie_name):
    company = make_company("Acme", member=True)
    admin = login(app.test_client(), company.admin)
    member = login(app.test_client(), company.member)
    copied = member.get_cookie(cookie_name).value
    assert member.get("/dashboard").status_code == 200

    assert admin.post(f"/team/{company.member.id}/deactivate").status_code == 302

    assert sends_to_login(member.get("/dashboard"))
    assert sends_to_login(replay(app, cookie_name, copied).get("/dashboard"))
    assert LoginSession.select().where(LoginSession.user == company.member.id).count() == 0
    assert app.test_client().post("/login", data={"email": company.member.email, "password": PASSWORD}).status_code == 401

    admin.post(f"/team/{company.member.id}/activate")
    login(app.test_client(), company.member)


def test_a_session_whose_user_was_deactivated_behind_its_back_is_refused(app, make_company, login):
    """Deactivation by any route (e.g. directly in the database) is checked on every request."""
    company = make_company("Acme", member=True)
    member = login(app.test_client(), company.member)
    User.update(is_active=False).where(User.id == company.member.id).execute()

    assert sends_to_login(member.get("/dashboard"))


def test_an_idle_session_ends_after_the_idle_timeout(app, make_company, login, clock):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    assert app.config["SESSION_IDLE_MINUTES"] == 120

    clock.advance(minutes=119)
    assert client.get("/dashboard").status_code == 200  # activity keeps it alive...
    clock.advance(minutes=119)
    assert client.get("/dashboard").status_code == 200
    clock.advance(minutes=121)
    assert sends_to_login(client.get("/dashboard"))  # ...inactivity ends it
    assert LoginSession.select().count() == 0


def test_a_session_ends_after_the_absolute_timeout_however_active(app, make_company, login, clock):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12

    for _ in range(11):
        clock.advance(minutes=60)
        assert client.get("/dashboard").status_code == 200
    clock.advance(minutes=61)
    assert sends_to_login(client.get("/dashboard"))


def test_the_timeouts_are_configurable(app, make_company, login, clock):
    company = make_company("Acme")
    app.config["SESSION_IDLE_MINUTES"] = 5
    client = login(app.test_client(), company.admin)

    clock.advance(minutes=6)
    assert sends_to_login(client.get("/dashboard"))


def test_a_tampered_or_made_up_cookie_opens_nothing(app, make_company, login, cookie_name):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    value = client.get_cookie(cookie_name).value

    for forged in (tampered(value), "x", ""):
        assert sends_to_login(replay(app, cookie_name, forged).get("/dashboard"))

    # A validly signed cookie with a made-up session token opens nothing either.
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    made_up = serializer.dumps({"sid": "made-up-token"})
    assert sends_to_login(replay(app, cookie_name, made_up).get("/dashboard"))
    # And a Flask-Login style user id in the cookie is ignored.
    by_user_id = serializer.dumps({"_user_id": str(company.admin.id), "_fresh": True})
    assert sends_to_login(replay(app, cookie_name, by_user_id).get("/dashboard"))


def test_the_leader_stays_past_the_second_factor_after_changing_the_password(app, leader, leader_client, cookie_name):
    copied = leader_client.get_cookie(cookie_name).value
    response = leader_client.post("/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 302
    assert leader_client.get("/leader").status_code == 200  # no second TOTP step for the renewed session
    assert sends_to_login(replay(app, cookie_name, copied).get("/leader"))
