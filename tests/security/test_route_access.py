"""Generated from app.url_map: every route but the short public list in routes.py needs a login.

Anonymous visitors asking for a private page, with real ids of company A in the URL, are sent
to the login page (or get 401 from JSON addresses, or 404); never the page itself.

Company A's world is conftest.py's `isolation`, built once for this module: its tests only read
or are refused (anonymous visitors change nothing). No test here takes the function-scoped `app`:
on PostgreSQL its database fixture would empty the shared database under the world.
"""

from __future__ import annotations

from tests.security.routes import (
    PUBLIC_ENDPOINTS,
    PUBLIC_PREFIXES,
    is_public,
    methods,
    own_login,
    sample_values,
    url,
)


def private_rules(app):
    return [rule for rule in app.url_map.iter_rules() if not is_public(rule.endpoint)]


def values_for(world, rule) -> dict:
    """Company A's real ids where a factory has them, converter-shaped samples otherwise."""
    return sample_values(rule) | world.values_for(rule)


def test_every_private_route_sends_anonymous_visitors_to_log_in(isolation):
    app, world = isolation.app, isolation.world
    anonymous = app.test_client()
    checked, refusals = 0, []
    for rule in private_rules(app):
        path = url(rule, values_for(world, rule))
        login_page = own_login(rule.endpoint) or "/login"
        for method in methods(rule):
            response = anonymous.open(path, method=method, data={"name": "x", "email": "x@x.nl"})
            checked += 1
            location = response.headers.get("Location", "")
            if response.status_code == 302 and location.startswith(login_page):
                continue
            if response.status_code in (401, 404):
                continue
            refusals.append(f"{method} {path} ({rule.endpoint}) answered {response.status_code} {location}")
            assert world.marker.encode() not in response.data
    assert not refusals, "open to anonymous visitors (add a login check, or name it public in routes.py):\n" + \
        "\n".join(refusals)
    assert checked >= 100, checked  # the url_map really was walked


def test_a_redirect_to_login_remembers_the_page(isolation):
    app = isolation.app  # with company A's world in it, as the other tests here
    response = app.test_client().get("/team")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/team"


def test_the_public_list_is_short_and_every_name_on_it_exists(isolation):
    app = isolation.app
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    # Names of capabilities that have not landed yet may wait; the others must be real.
    stale = [name for name in PUBLIC_ENDPOINTS
             if name not in endpoints and (name == "static" or name.split(".")[0] in app.blueprints)]
    assert not stale, f"public endpoints that no longer exist: {stale}"
    assert len(PUBLIC_ENDPOINTS) <= 25
    assert PUBLIC_PREFIXES == ("content.",)


def test_public_routes_answer_anonymous_visitors(isolation):
    app = isolation.app
    """The public pages open without a login (a sanity check that the list is not too short)."""
    anonymous = app.test_client()
    for path in ("/login", "/register", "/password/forgot", "/healthz", "/give", "/verify", "/ambassador/link"):
        if any(rule.rule == path for rule in app.url_map.iter_rules()):
            assert anonymous.get(path).status_code == 200, path


def test_the_donors_pages_need_the_key_from_their_link(isolation):
    app, world = isolation.app, isolation.world
    """Public donor pages (giving.donation_status & co.) are open only with the donation's key."""
    if "giving" not in app.blueprints:
        return
    donation_id = world.values_of("giving")["donation_id"]
    anonymous = app.test_client()
    for path in (f"/give/donations/{donation_id}", f"/give/donations/{donation_id}/cancel",
                 f"/give/donations/{donation_id}/payment-request.pdf"):
        response = anonymous.get(path)
        assert response.status_code == 404, path
        assert world.marker.encode() not in response.data
    assert anonymous.get(f"/give/donations/{donation_id}?key=wrong").status_code == 404
