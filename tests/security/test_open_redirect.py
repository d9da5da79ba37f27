"""After login (and the leader's second step, and the language switch), `next` stays on this site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pyotp
import pytest

from portal.accounts.models import User
from portal.core.urls import safe_next
from tests.conftest import PASSWORD

HOSTILE = [
    "https://evil.example", "https://evil.example/dashboard", "//evil.example", "///evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "javascript:alert(1)", "JavaScript:alert(1)",
    "https:evil.example", "http:/evil.example", " //evil.example", "/\t/evil.example", "/\n/evil.example",
    "data:text/html,<script>alert(1)</script>", "evil.example", "%2F%2Fevil.example", "/%09/evil.example",
]


def stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_other_sites(target):
    result = safe_next(target, "/home")
    assert stays_on_site(result), result
    assert "evil.example" not in result or result.startswith("/%")  # an escaped local path is harmless


@pytest.mark.parametrize("target", ["/dashboard", "/team?tab=2", "/en/for-employers#benefits", "/a/b/c"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target, "/home") == target


@pytest.mark.parametrize("target", HOSTILE)
def test_login_never_sends_a_user_to_another_site(app, make_company, target):
    company = make_company("Acme")
    client = app.test_client()
    via_query = client.post("/login?next=" + quote(target, safe=""),
                            data={"email": company.admin.email, "password": PASSWORD, "next": target})
    assert via_query.status_code == 302
    assert stays_on_site(via_query.headers["Location"]), via_query.headers["Location"]


def test_login_keeps_a_local_next(app, make_company):
    company = make_company("Acme")
    response = app.test_client().post("/login", data={"email": company.admin.email, "password": PASSWORD,
                                                      "next": "/team"})
    assert response.headers["Location"] == "/team"


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"])
def test_the_leaders_second_step_never_sends_to_another_site(app, leader, target):
    client = app.test_client()
    client.post("/login", data={"email": leader.email, "password": PASSWORD, "next": target})
    client.get("/login/totp")
    code = pyotp.TOTP(User.get_by_id(leader.id).totp_secret).now()
    response = client.post("/login/totp", data={"code": code})
    assert response.status_code == 302 and stays_on_site(response.headers["Location"])


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"])
def test_the_language_switch_never_sends_to_another_site(client, target):
    response = client.post("/language", data={"language": "en", "next": target})
    assert response.status_code == 302 and stays_on_site(response.headers["Location"])
