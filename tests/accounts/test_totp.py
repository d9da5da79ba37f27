"""The project leader's second factor: TOTP enrolment with an SVG QR code, codes accepted once,
and no leader page before the second step."""

from __future__ import annotations

import datetime as dt
import html

import pyotp
import pytest

from portal.accounts import service
from portal.accounts.models import LoginSession, User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def secret_of(leader) -> str:
    return User.get_by_id(leader.id).totp_secret


def password_step(app, leader, **query):
    client = app.test_client()
    url = "/login" + (f"?next={query['next']}" if "next" in query else "")
    response = client.post(url, data={"email": leader.email, "password": PASSWORD, "next": query.get("next", "")})
    assert response.status_code == 302 and response.headers["Location"] == "/login/totp"
    return client


def leader_rules(app):
    """Every GET page of the leader, whichever capability it belongs to."""
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments
                   and (rule.rule.startswith("/leader") or "/leader" in rule.rule)})


def test_enrolment_shows_an_svg_qr_code_and_the_key(app, leader):
    client = password_step(app, leader)
    page = client.get("/login/totp", headers=EN)

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<svg" in body and "<script" not in body.split("<main", 1)[1]
    secret = secret_of(leader)
    assert len(secret) >= 32 and secret in body
    # The same secret on a reload (enrolment is not restarted by every visit).
    client.get("/login/totp")
    assert secret_of(leader) == secret


def test_a_correct_code_opens_the_leaders_desk(app, leader):
    client = password_step(app, leader)
    client.get("/login/totp")
    response = client.post("/login/totp", data={"code": pyotp.TOTP(secret_of(leader)).now()})

    assert response.status_code == 302 and response.headers["Location"] == "/leader"
    assert client.get("/leader").status_code == 200
    assert User.get_by_id(leader.id).totp_confirmed_at is not None


def test_leader_pages_are_unreachable_before_the_second_factor(app, leader):
    client = password_step(app, leader)
    client.get("/login/totp")

    pages = leader_rules(app)
    assert "/leader" in pages
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert client.get("/dashboard").headers["Location"].startswith("/login")
    assert LoginSession.get().mfa_passed is False


def test_a_wrong_code_is_refused(app, leader):
    client = password_step(app, leader)
    client.get("/login/totp")
    secret = secret_of(leader)
    now = dt.datetime.now(dt.UTC)
    wrong = next(c for c in ("000000", "123456", "999999")
                 if c not in {pyotp.TOTP(secret).at(now + dt.timedelta(seconds=30 * d)) for d in (-1, 0, 1)})

    for code in (wrong, "12345", "abcdef", "", "1234567"):
        response = client.post("/login/totp", data={"code": code}, headers=EN)
        assert response.status_code == 200, code
    assert "That code is not correct or was already used." in text(client.post("/login/totp", data={"code": wrong}, headers=EN))
    assert client.get("/leader").status_code == 302


def test_a_code_works_only_once(app, leader):
    first = password_step(app, leader)
    first.get("/login/totp")
    code = pyotp.TOTP(secret_of(leader)).now()
    assert first.post("/login/totp", data={"code": code}).status_code == 302

    # Someone who saw the code and knows the password tries it in the same 30 seconds.
    second = password_step(app, leader)
    response = second.post("/login/totp", data={"code": code}, headers=EN)
    assert response.status_code == 200
    assert "already used" in text(response)
    assert second.get("/leader").status_code == 302


def test_an_older_code_is_refused_after_a_newer_one(app, leader):
    user = User.get_by_id(leader.id)
    service.totp_provisioning(user)
    user = User.get_by_id(leader.id)
    totp = pyotp.TOTP(user.totp_secret)
    now = dt.datetime.now(dt.UTC)

    assert service.verify_totp(user, totp.at(now))
    assert not service.verify_totp(User.get_by_id(leader.id), totp.at(now - dt.timedelta(seconds=30)))


def test_after_enrolment_the_key_is_not_shown_again(app, leader, leader_client):
    leader_client.post("/logout")
    client = password_step(app, leader)
    page = client.get("/login/totp", headers=EN).get_data(as_text=True)

    assert "<svg" not in page.split("<main", 1)[1]
    assert secret_of(leader) not in page


def test_the_second_step_keeps_where_the_leader_was_going(app, leader):
    client = password_step(app, leader, next="/leader?tab=companies")
    client.get("/login/totp")
    response = client.post("/login/totp", data={"code": pyotp.TOTP(secret_of(leader)).now()})
    assert response.headers["Location"] == "/leader?tab=companies"


def test_the_second_step_needs_the_first(app, leader):
    response = app.test_client().get("/login/totp")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    response = app.test_client().post("/login/totp", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_company_users_have_no_second_step_and_no_leader_desk(app, make_company, login):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    assert client.get("/login/totp").headers["Location"] == "/login"
    assert client.get("/leader").status_code == 404


@pytest.mark.parametrize("path", ["/dashboard", "/account"])
def test_the_leader_after_the_second_factor_uses_the_portal(leader_client, path):
    response = leader_client.get(path)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert not response.headers["Location"].startswith("/login")
