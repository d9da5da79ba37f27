"""Rate limits on login, reset and invitations: per client address and per account, with a
readable 429 page, and no permanent lockout."""

from __future__ import annotations

import html

import pytest

from portal import create_app
from portal.accounts.models import User
from portal.core.security import limiter
from tests.conftest import PASSWORD, REDIS_URL, FreshContextClient

LIMIT = 10  # PORTAL_RATELIMIT_LOGIN's first part: "10 per minute;50 per hour"


@pytest.fixture
def limited_app(app, app_config):
    """Limits on; with PORTAL_TEST_REDIS_URL the counters live in Redis, as with several workers.
    (Made after the shared `app`: the limiter is one object, and the app made last configures it.)"""
    config = dict(app_config, RATELIMIT_ENABLED=True)
    if REDIS_URL:
        config["RATELIMIT_STORAGE"] = REDIS_URL
    application = create_app(config)
    assert application.config["RATELIMIT_LOGIN"].startswith(f"{LIMIT} per minute")
    with application.app_context():
        limiter.reset()  # counters of an earlier run (Redis keeps them for a minute)

    application.test_client_class = FreshContextClient

    return application


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_one_address_trying_many_accounts_is_stopped(limited_app):
    client = from_address(limited_app, "198.51.100.7")
    for n in range(LIMIT):
        response = client.post("/login", data={"email": f"guess{n}@acme.nl", "password": "wrong-password-1"})
        assert response.status_code == 401, n

    blocked = client.post("/login", data={"email": "guess-last@acme.nl", "password": "wrong-password-1"},
                          headers={"Accept-Language": "en"})
    assert blocked.status_code == 429
    page = text(blocked)
    assert '<html lang="en">' in page and "<h1>Too many attempts</h1>" in page
    assert "Please wait a few minutes and try again." in page and "Traceback" not in page
    assert blocked.headers["Retry-After"]
    assert "Content-Security-Policy" in blocked.headers
    # Another address is not affected.
    assert from_address(limited_app, "198.51.100.8").post(
        "/login", data={"email": "x@acme.nl", "password": "wrong-password-1"}).status_code == 401


def test_one_account_tried_from_many_addresses_is_stopped(limited_app, make_company):
    company = make_company("Acme")
    attacker = from_address(limited_app, "203.0.113.1")
    for n in range(LIMIT):
        response = from_address(limited_app, f"203.0.113.{n + 1}").post(
            "/login", data={"email": company.admin.email, "password": f"wrong-password-{n}"})
        assert response.status_code == 401, n
    for n in range(LIMIT - 1):
        assert attacker.post("/login", data={"email": company.admin.email, "password": f"again-{n}"}).status_code == 401
    # Each address is stopped on the account it hammers (per account and address)...
    assert attacker.post("/login", data={"email": company.admin.email.upper(), "password": PASSWORD}).status_code == 429

    # ...but the owner, from an address of their own, is not locked out (the account's own ceiling,
    # with the owner's unlock link, is tested in test_login_attacks.py).
    owner = from_address(limited_app, "203.0.113.99").post(
        "/login", data={"email": company.admin.email.upper(), "password": PASSWORD})
    assert owner.status_code == 302
    # Other accounts can still log in from anywhere.
    other = make_company("Bolt")
    assert from_address(limited_app, "203.0.113.99").post(
        "/login", data={"email": other.admin.email, "password": PASSWORD}).status_code == 302


def test_the_limit_is_a_window_not_a_lockout(limited_app, make_company, monkeypatch):
    company = make_company("Acme")
    client = from_address(limited_app, "198.51.100.9")
    for _ in range(LIMIT + 1):
        client.post("/login", data={"email": company.admin.email, "password": "wrong-password-1"})
    assert client.post("/login", data={"email": company.admin.email, "password": PASSWORD}).status_code == 429

    limiter.reset()  # the minute has passed (memory storage: clearing it is the same for the counters)
    assert client.post("/login", data={"email": company.admin.email, "password": PASSWORD}).status_code == 302


def test_reset_requests_are_limited_too_and_answer_the_same_until_then(limited_app, make_company, outbox):
    company = make_company("Acme")
    client = from_address(limited_app, "198.51.100.10")
    for n in range(LIMIT):
        email = company.admin.email if n % 2 else f"nobody{n}@acme.nl"
        assert client.post("/password/forgot", data={"email": email}).status_code == 302
    assert client.post("/password/forgot", data={"email": company.admin.email}).status_code == 429


def test_a_page_view_is_not_an_attempt(limited_app):
    client = from_address(limited_app, "198.51.100.11")
    for _ in range(LIMIT * 2):
        assert client.get("/login").status_code == 200


def test_invitation_links_and_second_factor_attempts_are_limited(limited_app, leader):
    client = from_address(limited_app, "198.51.100.12")
    statuses = [client.post("/invite/" + "A" * 43, data={"name": "x", "password": "y"}).status_code
                for _ in range(LIMIT + 1)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {302}

    totp = from_address(limited_app, "198.51.100.13")
    totp.post("/login", data={"email": leader.email, "password": PASSWORD})
    codes = [totp.post("/login/totp", data={"code": "000000"}).status_code for _ in range(LIMIT + 1)]
    assert codes[-1] == 429
    assert User.get_by_id(leader.id).totp_confirmed_at is None
