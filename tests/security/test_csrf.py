"""CSRF: with protection switched on (as in production), every POST route in the url_map refuses a
form without its token (400 page) and writes nothing; only the Stripe webhook is exempt."""

from __future__ import annotations

import html
import re

import pytest

from portal import create_app
from portal.accounts.models import LoginSession, User
from tests.conftest import PASSWORD, FreshContextClient
from tests.security.routes import CSRF_EXEMPT_PATHS, sample_values, url


@pytest.fixture
def csrf_app(app_config):
    application = create_app(dict(app_config, WTF_CSRF_ENABLED=True))

    application.test_client_class = FreshContextClient

    return application


def token_from(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def logged_in(csrf_app, user):
    client = csrf_app.test_client()
    token = token_from(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.data[:300]
    return client


def post_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and rule.rule not in CSRF_EXEMPT_PATHS]


def fill(rule) -> str:
    return url(rule, sample_values(rule))


def test_every_post_route_refuses_a_form_without_its_token(csrf_app, make_company):
    company = make_company("Acme")
    clients = {"anonymous": csrf_app.test_client(), "admin": logged_in(csrf_app, company.admin)}
    rules = post_rules(csrf_app)
    assert len(rules) >= 40
    for who, client in clients.items():
        for rule in rules:
            response = client.post(fill(rule), data={"email": "x@acme.nl", "role": "admin", "name": "x"},
                                   headers={"Accept-Language": "en"})
            assert response.status_code == 400, (who, rule.rule, response.status_code)
            text = html.unescape(response.get_data(as_text=True))
            assert "Bad request" in text and "Traceback" not in text, rule.rule
    assert User.select().where(User.email == "x@acme.nl").count() == 0
    assert clients["admin"].get("/dashboard").status_code == 200  # still logged in: logout needs the token too


def test_the_stripe_webhook_is_the_only_exemption(csrf_app):
    exempt = [rule.rule for rule in csrf_app.url_map.iter_rules()
              if "POST" in rule.methods and rule.rule in CSRF_EXEMPT_PATHS]
    assert exempt in ([], ["/webhooks/stripe"])
    if exempt:
        response = csrf_app.test_client().post("/webhooks/stripe", data=b"{}", content_type="application/json")
        # Refused for its missing signature, not for a CSRF token: the answer is the webhook's own JSON.
        assert response.status_code == 400 and response.is_json


def test_a_token_from_another_session_is_refused(csrf_app, make_company):
    company = make_company("Acme")
    victim = logged_in(csrf_app, company.admin)
    attacker = csrf_app.test_client()
    foreign = token_from(attacker, "/login")

    response = victim.post("/team", data={"email": "mallory@evil.example", "role": "admin", "csrf_token": foreign})
    assert response.status_code == 400
    assert User.select().where(User.email == "mallory@evil.example").count() == 0


def test_a_form_with_its_token_goes_through(csrf_app, make_company):
    company = make_company("Acme")
    client = logged_in(csrf_app, company.admin)
    token = token_from(client, "/team")

    response = client.post("/team", data={"email": "nieuw@acme.nl", "role": "member", "csrf_token": token})
    assert response.status_code == 302
    assert User.select().where(User.email == "nieuw@acme.nl").count() == 1

    logout = client.post("/logout", data={"csrf_token": token_from(client, "/dashboard")})
    assert logout.status_code == 302 and LoginSession.select().count() == 0


def test_logout_without_the_token_does_not_log_out(csrf_app, make_company):
    """A cross-site form cannot log a user out (and so cannot log them in as someone else)."""
    company = make_company("Acme")
    client = logged_in(csrf_app, company.admin)
    assert client.post("/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200
