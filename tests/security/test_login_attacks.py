"""Attacks on logging in (issue 15): hammering one account must not lock its owner out, the
limiter must see the real client behind the trusted proxy and key on hashes instead of e-mail
addresses, second-factor attempts are limited per pending login, and NUL bytes are refused
with a clear 400 before any handler."""

from __future__ import annotations

import html
import json
import re

import pytest
from limits import parse

from portal import create_app
from portal.accounts.models import Company, User
from portal.accounts.views import ACCOUNT_CEILING
from portal.core.security import account_key, limiter
from tests.conftest import PASSWORD, REDIS_URL, FreshContextClient, tampered

LIMIT = 10  # PORTAL_RATELIMIT_LOGIN's first part: "10 per minute;50 per hour"
CEILING = parse(ACCOUNT_CEILING).amount


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def make_limited_app(app_config, **overrides):
    """Limits on; with PORTAL_TEST_REDIS_URL the counters live in Redis, as with several workers.
    (Made after the shared `app`: the limiter is one object, and the app made last configures it.)"""
    config = dict(app_config, RATELIMIT_ENABLED=True, **overrides)
    if REDIS_URL:
        config["RATELIMIT_STORAGE"] = REDIS_URL
    application = create_app(config)
    with application.app_context():
        limiter.reset()  # counters of an earlier run
    application.test_client_class = FreshContextClient
    return application


@pytest.fixture
def limited_app(app, app_config):
    return make_limited_app(app_config)


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client, email: str, password: str = "wrong-password-1", **kwargs):
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


# --- 3: hammering an account does not lock its owner out -----------------------------------

def test_the_owner_logs_in_while_the_account_is_hammered_from_elsewhere(limited_app, make_company):
    company = make_company("Acme")
    attacker = from_address(limited_app, "198.51.100.20")
    for n in range(LIMIT):
        assert attempt(attacker, company.admin.email, f"guess-{n}").status_code == 401, n
    assert attempt(attacker, company.admin.email, PASSWORD).status_code == 429  # the attacker waits

    owner = from_address(limited_app, "198.51.100.21")
    assert attempt(owner, company.admin.email, PASSWORD).status_code == 302


def test_the_account_ceiling_mails_the_owner_an_unlock_link(limited_app, make_company, outbox):
    company = make_company("Acme")
    email = company.admin.email
    for n in range(CEILING):
        attacker = from_address(limited_app, f"203.0.113.{n // LIMIT + 1}")
        assert attempt(attacker, email, f"guess-{n}").status_code == 401, n

    # The account has reached its ceiling: no more guesses from anywhere, the right password waits too.
    owner = from_address(limited_app, "198.51.100.30")
    blocked = attempt(owner, email.upper(), PASSWORD, headers={"Accept-Language": "en"})
    assert blocked.status_code == 429
    assert "we have sent you an e-mail with a link that lets you log in" in text(blocked)
    blocked.close()  # the mail goes out once the answer has been sent
    mails = outbox.to(email)
    assert [m.subject for m in mails] == ["Someone is trying to log in to your account"]
    assert email not in mails[0].link()
    # Blocked again: no second mail within the hour.
    attempt(from_address(limited_app, "198.51.100.31"), email, PASSWORD).close()
    assert len(outbox.to(email)) == 1

    # The owner opens the link in their browser, and logs in there.
    opened = owner.get(mails[0].link())
    assert opened.status_code == 302 and opened.headers["Location"] == "/login"
    assert attempt(owner, email, PASSWORD).status_code == 302
    # The unlock is for that browser only.
    assert attempt(from_address(limited_app, "198.51.100.32"), email, PASSWORD).status_code == 429
    # A made-up or tampered link unlocks nothing.
    stranger = from_address(limited_app, "198.51.100.33")
    stranger.get(tampered(mails[0].link()))
    assert attempt(stranger, email, PASSWORD).status_code == 429


def test_an_unknown_address_at_its_ceiling_answers_the_same_and_mails_nobody(limited_app, make_company, outbox):
    known, unknown = make_company("Acme").admin.email, "nobody@acme.nl"
    answers = []
    for email in (known, unknown):
        for n in range(CEILING):
            attempt(from_address(limited_app, f"192.0.2.{n // LIMIT + 1 + (20 if email == unknown else 0)}"), email)
        response = attempt(from_address(limited_app, "198.51.100.40"), email, headers={"Accept-Language": "en"})
        answers.append((response.status_code, re.sub(r'value="[^"]*"', "", text(response))))
        response.close()
    assert answers[0] == answers[1] and answers[0][0] == 429
    assert outbox.to(unknown) == []


def test_reset_requests_for_one_account_from_many_addresses_never_lock_its_owner_out(limited_app, make_company, outbox):
    company = make_company("Acme")
    for n in range(LIMIT * 2):
        response = from_address(limited_app, f"203.0.113.{n + 1}").post(
            "/password/forgot", data={"email": company.admin.email})
        response.close()
        assert response.status_code == 302, n  # the same answer every time, never a 429 for the account
    # ...but the owner's mailbox is not flooded: the mails stop at the attempt limit.
    assert len(outbox.to(company.admin.email)) == LIMIT


# --- 3: behind the documented proxy, the limiter sees the client --------------------------

def test_behind_a_trusted_proxy_the_limiter_counts_each_forwarded_client(app, app_config, make_company):
    proxied = make_limited_app(app_config, TRUSTED_PROXIES=1)
    victims = [make_company(name) for name in ("Acme", "Bolt", "Cyan")]
    for n in range(22):
        response = from_address(proxied, "127.0.0.1").post(
            "/login", data={"email": f"guess{n}@acme.nl", "password": "wrong-password-1"},
            headers={"X-Forwarded-For": f"198.51.100.{n + 1}", "X-Forwarded-Proto": "https"})
        assert response.status_code == 401, n
    for n, company in enumerate(victims):
        response = from_address(proxied, "127.0.0.1").post(
            "/login", data={"email": company.admin.email, "password": PASSWORD},
            headers={"X-Forwarded-For": f"203.0.113.{n + 1}", "X-Forwarded-Proto": "https"})
        assert response.status_code == 302, company.legal_name


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(limited_app):
    assert limited_app.config["TRUSTED_PROXIES"] == 0  # off by default
    client = from_address(limited_app, "198.51.100.50")
    statuses = [client.post("/login", data={"email": f"guess{n}@acme.nl", "password": "wrong-password-1"},
                            headers={"X-Forwarded-For": f"203.0.113.{n + 1}"}).status_code
                for n in range(LIMIT + 1)]
    assert statuses[-1] == 429  # a client cannot choose its address


# --- 11: second-factor attempts per pending login --------------------------------------

def test_second_factor_attempts_are_limited_per_pending_login(limited_app, leader):
    client = from_address(limited_app, "198.51.100.60")
    assert attempt(client, leader.email, PASSWORD).status_code == 302
    statuses = []
    for n in range(LIMIT + 1):
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 100}"  # a new address for every guess
        statuses.append(client.post("/login/totp", data={"code": f"{n:06d}"}).status_code)
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}
    assert User.get_by_id(leader.id).totp_confirmed_at is None


# --- 14: no e-mail addresses in the limiter's storage ------------------------------------

def stored_keys() -> list[str]:
    storage = limiter.storage
    if hasattr(storage.storage, "scan_iter"):  # Redis
        return [key.decode() if isinstance(key, bytes) else key for key in storage.storage.scan_iter("*")]
    return [*storage.storage, *storage.events, *storage.expirations]


def test_the_limiter_keys_hold_a_keyed_hash_not_the_address(limited_app, make_company):
    company = make_company("Acme")
    client = from_address(limited_app, "198.51.100.70")
    attempt(client, company.admin.email)
    attempt(client, "Someone.Else@Example.NL")
    client.post("/password/forgot", data={"email": company.admin.email}).close()

    keys = stored_keys()
    assert keys
    for address in (company.admin.email, "someone.else@example.nl"):
        assert not any(address in key.lower() or address.split("@")[0] in key.lower() for key in keys), keys
    with limited_app.test_request_context():
        hashed = account_key(company.admin.email)
        assert hashed != account_key("someone.else@example.nl")
        assert account_key(" " + company.admin.email.upper()) == hashed
    assert any(hashed in key for key in keys), keys


def test_the_account_hash_depends_on_the_secret_key(app_config):
    hashes = []
    for secret in ("first-secret-" * 3, "second-secret-" * 3):
        application = create_app(dict(app_config, SECRET_KEY=secret))
        with application.test_request_context():
            hashes.append(account_key("a@example.nl"))
    assert hashes[0] != hashes[1] and "a@example.nl" not in hashes[0]


# --- 7: NUL bytes: a clear 400 in the visitor's language, before any handler ---------------

def test_a_nul_byte_in_a_login_is_a_clear_400(client):
    response = client.post("/login", data={"email": "a\x00@example.nl", "password": "x"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    page = text(response)
    assert '<html lang="en">' in page and "contains a character that is not allowed" in page
    assert "Traceback" not in page and "Content-Security-Policy" in response.headers


def test_a_nul_byte_is_refused_in_the_visitors_language(client):
    response = client.post("/login", data={"email": "a\x00@example.nl", "password": "x"},
                           headers={"Accept-Language": "nl"})
    assert response.status_code == 400
    assert '<html lang="nl">' in text(response)


@pytest.mark.parametrize("method, path, kwargs", [
    ("get", "/login?next=%00", {}),
    ("get", "/verify?q=a%00b", {}),
    ("post", "/password/forgot", {"data": {"email": "a\x00@example.nl"}}),
    ("post", "/register", {"data": {"legal_name": "Nul\x00 B.V.", "kvk": "12345678"}}),
    ("post", "/give", {"data": {"donor_name": "\x00"}}),
    ("get", "/confirm/abc%00def", {}),
])
def test_a_nul_byte_anywhere_is_a_400_before_any_handler(client, method, path, kwargs):
    response = getattr(client, method)(path, headers={"Accept-Language": "en"}, **kwargs)
    assert response.status_code == 400, path
    assert "contains a character that is not allowed" in text(response)
    assert Company.select().count() == 0 and User.select().count() == 0


def test_a_nul_byte_in_json_is_a_json_400(client):
    body = json.dumps({"type": "checkout.session.completed", "data": {"object": {"id": "cs_\u0000"}}})
    response = client.post("/webhooks/stripe", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400
