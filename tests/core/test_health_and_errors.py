"""/healthz, and the error pages: every code in both languages, never a stack trace."""

from __future__ import annotations

import re

import pytest
from flask import abort

from portal import create_app
from tests.conftest import PASSWORD

UNREACHABLE = {
    "postgresql": "postgresql://nobody@127.0.0.1:1/nothing",  # nothing listens on port 1
    "sqlite": "sqlite:////nonexistent-folder/for/sure/portal.db",  # cannot be opened
}
TITLES = {400: "Bad request", 403: "No access", 404: "Page not found", 405: "Not allowed", 410: "Page removed",
          413: "File too large", 429: "Too many attempts", 500: "Something went wrong"}


def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
def test_healthz_reports_an_unreachable_database_with_503(app_config, kind):
    broken = create_app(dict(app_config, DATABASE_URL=UNREACHABLE[kind]))
    response = broken.test_client().get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unavailable" and body["status"] != "ok"
    assert "nonexistent" not in response.get_data(as_text=True) and "nobody" not in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
def test_a_page_of_a_logged_in_user_says_503_when_the_database_is_down(app, app_config, make_company, login, kind):
    company = make_company("Acme")
    client = login(app.test_client(), company.admin)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(cookie_name).value

    broken = create_app(dict(app_config, DATABASE_URL=UNREACHABLE[kind]))
    visitor = broken.test_client()
    visitor.set_cookie(cookie_name, cookie)
    response = visitor.get("/dashboard", headers={"Accept-Language": "en"})

    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "Temporarily unavailable" in text and "Traceback" not in text
    assert "Content-Security-Policy" in response.headers


@pytest.fixture
def failing(fresh_app):
    """Routes on the test app that fail with each code."""
    app = fresh_app

    @app.get("/__fail/<int:code>")
    def fail(code: int):
        abort(code)

    @app.get("/__boom")
    def boom():
        raise RuntimeError(f"password=hunter2 SELECT * FROM secrets {app.config['SECRET_KEY']}")

    return app


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("code", [400, 403, 404, 410, 413, 429, 500])
def test_error_pages_render_in_both_languages(failing, code, language):
    response = failing.test_client().get(f"/__fail/{code}", headers={"Accept-Language": language})

    assert response.status_code == code
    text = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in text
    assert f'<p class="error-code">{code}</p>' in text
    assert 'name="robots" content="noindex"' in text
    assert "Traceback" not in text and "werkzeug" not in text.lower()
    if language == "en":
        assert f"<h1>{TITLES[code]}</h1>" in text
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_an_unexpected_error_shows_a_generic_page_with_a_reference(failing, caplog):
    failing.testing = False
    response = failing.test_client().get("/__boom", headers={"Accept-Language": "en"})

    assert response.status_code == 500
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "hunter2", "SELECT", "RuntimeError", failing.config["SECRET_KEY"], "/work/", ".py"):
        assert leak not in text, leak
    reference = re.search(r"Reference for support: ([0-9a-f]{12})", text).group(1)
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info  # the details are in the log, under the same reference


def test_an_unknown_address_is_a_404_page(client):
    response = client.get("/does/not/exist", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.get_data(as_text=True)


def test_a_wrong_method_is_a_405_page(client):
    response = client.get("/team/1/deactivate", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert "<h1>Not allowed</h1>" in response.get_data(as_text=True)


def test_a_request_body_over_the_limit_is_a_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "a@b.nl", "password": "x" * 4096}, headers={"Accept-Language": "en"})
    assert response.status_code == 413
    assert "<h1>File too large</h1>" in response.get_data(as_text=True)


def test_json_addresses_get_json_errors(failing):
    @failing.get("/api/__fail")
    def api_fail():
        abort(404)

    response = failing.test_client().get("/api/__fail", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


@pytest.fixture
def product_client(app_config):
    """The portal with its own default language (the test configuration reads English)."""
    from portal import create_app

    return create_app({k: v for k, v in app_config.items() if k != "BABEL_DEFAULT_LOCALE"}).test_client()


def test_the_dutch_default_for_visitors_without_a_preference(product_client):
    client = product_client
    assert '<html lang="nl">' in client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)


def test_the_language_switch_is_remembered_for_visitors_and_users(app, client, make_company, login):
    client.post("/language", data={"language": "en", "next": "/login"})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)

    company = make_company("Acme", language="nl")
    user_client = login(app.test_client(), company.admin, PASSWORD)
    assert '<html lang="nl">' in user_client.get("/dashboard").get_data(as_text=True)
    user_client.post("/language", data={"language": "en"})
    from portal.accounts.models import User

    assert User.get_by_id(company.admin.id).language == "en"
    assert '<html lang="en">' in login(app.test_client(), company.admin).get("/dashboard").get_data(as_text=True)


def test_the_language_switch_ignores_unknown_languages_and_foreign_targets(product_client):
    client = product_client
    response = client.post("/language", data={"language": "de", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert '<html lang="nl">' in client.get("/login").get_data(as_text=True)
