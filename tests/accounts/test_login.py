"""Logging in: argon2id hashes (rehashed when the parameters change), the same answer for
unknown and known addresses, a fresh session on every login, and the cookie's attributes."""

from __future__ import annotations

import html
import re

from portal.accounts import service
from portal.accounts.models import LoginSession, User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def normalised(response, address: str) -> str:
    """The page without what must differ: the typed address and the per-session CSRF token."""
    text = response.get_data(as_text=True).replace(address, "ADDRESS")
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', text)


def test_a_company_user_logs_in_and_lands_on_the_dashboard(client, make_company):
    company = make_company("Acme")
    response = client.post("/login", data={"email": company.admin.email, "password": PASSWORD})

    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard", headers=EN)
    assert dashboard.status_code == 200
    assert "Acme B.V." in page_text(dashboard)


def test_the_address_is_matched_without_regard_to_case_and_spaces(client, make_company):
    company = make_company("Acme")
    response = client.post("/login", data={"email": "  " + company.admin.email.upper() + " ", "password": PASSWORD})
    assert response.status_code == 302


def test_a_wrong_password_opens_nothing(client, make_company):
    company = make_company("Acme")
    response = client.post("/login", data={"email": company.admin.email, "password": PASSWORD + "x"}, headers=EN)

    assert response.status_code == 401
    assert "The e-mail address or password is not correct." in page_text(response)
    assert client.get("/dashboard").status_code == 302
    assert LoginSession.select().count() == 0


def test_a_password_must_match_exactly_no_truncation(client, make_company):
    company = make_company("Acme")
    for almost in (PASSWORD[:-1], PASSWORD + " ", PASSWORD.upper()):
        assert client.post("/login", data={"email": company.admin.email, "password": almost}).status_code == 401


def test_unknown_and_known_addresses_get_identical_answers(app, make_company):
    company = make_company("Acme")
    known, unknown = app.test_client(), app.test_client()
    wrong = known.post("/login", data={"email": company.admin.email, "password": "not-the-password-1"}, headers=EN)
    nobody = unknown.post("/login", data={"email": "nobody@acme.nl", "password": "not-the-password-1"}, headers=EN)

    assert wrong.status_code == nobody.status_code == 401
    assert normalised(wrong, company.admin.email) == normalised(nobody, "nobody@acme.nl")
    assert sorted(k for k, _v in wrong.headers if k != "Set-Cookie") == \
        sorted(k for k, _v in nobody.headers if k != "Set-Cookie")


def test_a_deactivated_user_gets_the_same_answer_as_a_wrong_password(client, make_company):
    company = make_company("Acme", member=True)
    User.update(is_active=False).where(User.id == company.member.id).execute()
    response = client.post("/login", data={"email": company.member.email, "password": PASSWORD}, headers=EN)

    assert response.status_code == 401
    assert "The e-mail address or password is not correct." in page_text(response)
    assert LoginSession.select().count() == 0


def test_an_invited_user_without_a_password_cannot_log_in_with_an_empty_one(client, make_company):
    company = make_company("Acme")
    User.create(company=company, email="invited@acme.nl", role="member", language="en")
    for password in ("", " ", "x"):
        response = client.post("/login", data={"email": "invited@acme.nl", "password": password})
        assert response.status_code in (200, 401)  # 200: the form's own "required" message
        assert LoginSession.select().count() == 0


def test_the_stored_hash_is_argon2id_and_salted(app, make_company):
    first, second = make_company("Acme"), make_company("Bolt")
    a, b = first.admin.password_hash, second.admin.password_hash

    assert a.startswith("$argon2id$") and b.startswith("$argon2id$")
    assert a != b  # same password, different salt


def test_the_hash_is_upgraded_on_login_when_the_parameters_change(app, client, make_company):
    company = make_company("Acme")
    old_hash = company.admin.password_hash
    assert "m=1024," in old_hash

    app.config["PASSWORD_HASH_MEMORY_KIB"] = 2048
    assert client.post("/login", data={"email": company.admin.email, "password": PASSWORD}).status_code == 302

    new_hash = User.get_by_id(company.admin.id).password_hash
    assert new_hash != old_hash and new_hash.startswith("$argon2id$v=19$m=2048,")
    # The upgraded hash still opens the account.
    assert app.test_client().post("/login", data={"email": company.admin.email, "password": PASSWORD}).status_code == 302


def test_an_argon2i_hash_is_replaced_by_argon2id_on_login(app, client, make_company):
    from argon2 import PasswordHasher, Type

    company = make_company("Acme")
    legacy = PasswordHasher(memory_cost=1024, time_cost=1, parallelism=1, type=Type.I).hash(PASSWORD)
    User.update(password_hash=legacy).where(User.id == company.admin.id).execute()

    assert client.post("/login", data={"email": company.admin.email, "password": PASSWORD}).status_code == 302
    assert User.get_by_id(company.admin.id).password_hash.startswith("$argon2id$")


def test_a_failed_login_does_not_rehash(app, client, make_company):
    company = make_company("Acme")
    app.config["PASSWORD_HASH_MEMORY_KIB"] = 2048
    client.post("/login", data={"email": company.admin.email, "password": "wrong-password-123"})
    assert User.get_by_id(company.admin.id).password_hash == company.admin.password_hash


def test_every_login_starts_a_new_session(app, client, make_company):
    company = make_company("Acme")
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    client.post("/language", data={"language": "en"})  # a visitor's session exists before login
    before = client.get_cookie(cookie_name).value

    client.post("/login", data={"email": company.admin.email, "password": PASSWORD})
    after_first = client.get_cookie(cookie_name).value
    client.post("/logout")
    client.post("/login", data={"email": company.admin.email, "password": PASSWORD})
    after_second = client.get_cookie(cookie_name).value

    assert len({before, after_first, after_second}) == 3
    assert LoginSession.select().count() == 1  # the first one ended at logout
    stored = LoginSession.get()
    assert len(stored.token_hash) == 64 and stored.token_hash not in after_second  # only a hash is stored


def test_the_session_cookie_is_host_only_secure_httponly_and_lax(client, make_company):
    company = make_company("Acme")
    response = client.post("/login", data={"email": company.admin.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]

    assert cookie.startswith("__Host-portal=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Domain=" not in cookie and "Expires=" not in cookie


def test_without_secure_cookies_the_name_has_no_host_prefix(app_config):
    from portal import create_app

    insecure = create_app(dict(app_config, SECURE_COOKIES=False))
    assert insecure.config["SESSION_COOKIE_NAME"] == "portal_session"
    assert insecure.config["SESSION_COOKIE_SECURE"] is False


def test_logout_is_a_post(client, make_company):
    company = make_company("Acme")
    client.post("/login", data={"email": company.admin.email, "password": PASSWORD})

    assert client.get("/logout").status_code in (404, 405)  # 404: the content pages own GET /<slug>
    assert client.get("/dashboard").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/dashboard").status_code == 302


def test_a_logged_in_user_visiting_the_login_page_goes_home(client, make_company):
    company = make_company("Acme")
    client.post("/login", data={"email": company.admin.email, "password": PASSWORD})
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_authenticate_is_as_slow_for_unknown_addresses(app, monkeypatch, make_company):
    """An unknown address still runs one hash verification, so timing does not tell."""
    make_company("Acme")
    calls = []
    real = service._verify_hash
    monkeypatch.setattr(service, "_verify_hash", lambda stored, pw: calls.append(stored) or real(stored, pw))

    assert service.authenticate("nobody@acme.nl", PASSWORD) is None
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")
