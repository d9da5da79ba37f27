"""Security headers on every response (200, 404, 500), HSTS over https, no caching of private
pages, no inline script."""

from __future__ import annotations

import re

import pytest
from flask import abort

import tests.conftest as base
from portal import create_app
from tests.security.conftest import module_database

CSP_PARTS = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'",
             "frame-ancestors 'none'")


@pytest.fixture(scope="module")
def failing_app(migrated_template, tmp_path_factory):
    """An app with two failing routes added, built once for the module's twelve requests of it
    (an app costs a tenth of a second); its tests only read."""
    from portal.core.db import database

    previous = database.obj
    url, folder = module_database(migrated_template, tmp_path_factory, "headers")
    app = create_app(base.app_config.__wrapped__(database_url=url, tmp_path=folder))

    @app.get("/__boom")
    def boom():
        raise RuntimeError("secret-internal-detail")

    @app.get("/__gone")
    def gone():
        abort(410)

    app.testing = False  # the 500 handler, not a re-raised exception
    yield app, database.obj
    if previous is not None:
        database.initialize(previous)


@pytest.fixture
def failing(failing_app):
    from portal.core.db import database

    app, db = failing_app
    database.initialize(db)  # whatever a test before bound
    with app.app_context():
        yield app
    if not database.is_closed():
        database.close()


def assert_security_headers(response, *, https: bool = False) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    if not (response.mimetype == "application/pdf" and csp.startswith("sandbox")):  # a download may be sandboxed
        for part in CSP_PARTS:
            assert part in csp, part
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "same-origin", "no-referrer")
    assert headers["X-Frame-Options"] == "DENY"
    if https:
        hsts = headers["Strict-Transport-Security"]
        assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000 and "includeSubDomains" in hsts
    else:
        assert "Strict-Transport-Security" not in headers


@pytest.mark.parametrize("https", [False, True])
@pytest.mark.parametrize("path, status", [("/login", 200), ("/does-not-exist/at/all", 404), ("/__gone", 410),
                                          ("/__boom", 500), ("/healthz", 200), ("/static/portal.css", 200)])
def test_every_response_carries_the_security_headers(failing, path, status, https):
    client = failing.test_client()
    response = client.get(path, base_url="https://localhost" if https else "http://localhost")
    assert response.status_code == status
    assert_security_headers(response, https=https)
    assert b"secret-internal-detail" not in response.data and b"Traceback" not in response.data


def test_private_pages_are_not_stored_by_browsers_or_proxies(app, make_company, login):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    for path in ("/dashboard", "/team", "/account", "/login", "/does-not-exist/at/all"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert_security_headers(response)


def test_public_pages_may_be_cached_for_visitors_but_not_for_users(app, make_company, login):
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    if "content.home" not in rules:
        pytest.skip("no content pages")
    visitor = app.test_client().get("/")
    assert visitor.status_code == 200
    assert "no-store" not in visitor.headers.get("Cache-Control", "")
    company = make_company("Acme")
    user = login(app.test_client(), company.admin).get("/")
    assert user.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_styles_from_elsewhere(app, make_company, login):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    for page in (app.test_client().get("/login"), app.test_client().get("/register"), client.get("/dashboard"),
                 client.get("/team"), client.get("/account")):
        text = page.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, tag  # only scripts from our own files
        assert not re.search(r"\son[a-z]+=", text), "inline event handler"
        assert not re.search(r'(src|href)="https?://(?!portal\.test|localhost)', text), "a resource from elsewhere"


def test_json_answers_carry_the_headers_too(app):
    response = app.test_client().get("/healthz")
    assert response.is_json
    assert_security_headers(response)


def test_pdf_downloads_carry_the_headers_and_are_not_stored(app, world, login):
    client = login(app.test_client(), world.a.admin)
    paths = []
    if "statements" in app.blueprints:
        paths.append(f"/statements/{world.values_of('statements')['statement_id']}/pdf")
    if "giving" in app.blueprints:
        paths.append(f"/giving/donations/{world.values_of('giving')['donation_id']}/payment-request.pdf")
    assert paths
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/pdf", path
        assert response.data.startswith(b"%PDF-")
        assert_security_headers(response)
        assert "no-store" in response.headers["Cache-Control"]
        assert response.headers["Content-Disposition"].startswith("attachment")
