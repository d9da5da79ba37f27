"""Prepared answers: a public page or API answer is made once per content version and sent
again as it was (body, ETag, every header but Date and max-age) before any other work; a 304
too. A visitor never gets someone else's page: a signed-in user, a flashed message or a
preview always goes the whole way; what changes the content (a file in development, a
publication, the language) changes the answer."""

from __future__ import annotations

import json
import os
import time

import pytest

from portal.content import api, views
from tests.content.conftest import ROOT
from tests.security.test_headers import assert_security_headers

PAGE = "/voor-werkgevers"
API_PAGE = "/api/v1/pages/voor-werkgevers?lang=nl"
DYNAMIC = {"date"}


def _headers(response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items() if name.lower() not in DYNAMIC}


@pytest.fixture
def flask_blocked(monkeypatch):
    """From now on, a request that reaches Flask (opens a session) or renders a page fails the test."""

    def block(application):
        def no_session(*_args, **_kwargs):
            raise AssertionError("the request went past the prepared answers into Flask")

        def no_work(*_args, **_kwargs):
            raise AssertionError("an answer was built again")

        monkeypatch.setattr(application.session_interface, "open_session", no_session)
        monkeypatch.setattr(views, "_render", no_work)
        monkeypatch.setattr(api, "_summary", no_work)

    return block


# --- the same answer, sooner ----------------------------------------------------------------

@pytest.mark.parametrize("path", [PAGE, "/en/faq", "/", API_PAGE, "/api/v1/faq?lang=en&category=company",
                                  "/api/v1/menus?lang=nl", "/sitemap.xml"])
def test_a_prepared_answer_is_the_answer_itself(app, path, flask_blocked):
    first = app.test_client().get(path)
    assert first.status_code == 200
    flask_blocked(app)
    again = app.test_client().get(path)
    assert again.status_code == 200
    assert again.data == first.data
    assert _headers(again) == _headers(first)
    assert again.headers["Date"]
    head = app.test_client().head(path)
    assert head.status_code == 200 and head.data == b""
    assert _headers(head) == _headers(first)


@pytest.mark.parametrize("path", [PAGE, API_PAGE])
def test_a_matching_etag_is_answered_304_before_session_and_user(app, path, flask_blocked):
    first = app.test_client().get(path)
    etag, stamp = first.headers["ETag"], first.headers["Last-Modified"]
    # the 304 the whole way through Flask (a cookie takes a visitor there)
    through_flask = app.test_client().get(path, headers={"If-None-Match": etag, "Cookie": "other=1"})
    assert through_flask.status_code == 304
    flask_blocked(app)
    early = app.test_client().get(path, headers={"If-None-Match": etag})
    assert early.status_code == 304 and early.data == b""
    assert _headers(early) == _headers(through_flask)
    assert app.test_client().get(path, headers={"If-Modified-Since": stamp}).status_code == 304
    other = app.test_client().get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_a_page_with_a_session_cookie_goes_through_flask_and_is_the_same_page(app):
    anonymous = app.test_client().get(PAGE)
    with_session = app.test_client()
    with with_session.session_transaction() as session:
        session["lang"] = "en"
    response = with_session.get(PAGE)
    assert response.data == anonymous.data and response.headers["ETag"] == anonymous.headers["ETag"]


# --- never someone else's page ----------------------------------------------------------------

def test_a_signed_in_user_never_gets_the_anonymous_prepared_page(app, make_company, login):
    anonymous = app.test_client().get(PAGE)
    assert 'action="/logout"' not in anonymous.get_data(as_text=True)
    assert 'href="/login?lang=nl"' in anonymous.get_data(as_text=True)
    user = login(app.test_client(), make_company("Acme").admin)
    for headers in ({}, {"If-None-Match": anonymous.headers["ETag"]},
                    {"If-Modified-Since": anonymous.headers["Last-Modified"]}):
        response = user.get(PAGE, headers=headers)
        assert response.status_code == 200, headers
        text = response.get_data(as_text=True)
        assert 'action="/logout"' in text and 'href="/dashboard"' in text
        assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers


def test_the_leader_gets_her_own_header_not_the_prepared_one(app, sign_in_leader):
    app.test_client().get("/en/for-employers")
    leader = sign_in_leader()
    text = leader.get("/en/for-employers").get_data(as_text=True)
    assert 'action="/logout"' in text and 'href="/leader"' in text


def test_a_visitor_never_gets_a_signed_in_users_page(app, make_company, login):
    user = login(app.test_client(), make_company("Acme").admin)
    for path in (PAGE, "/", "/en/faq"):
        assert 'action="/logout"' in user.get(path).get_data(as_text=True)
    for path in (PAGE, "/", "/en/faq"):
        for _ in range(2):  # the first prepares, the second is the prepared answer
            response = app.test_client().get(path)
            text = response.get_data(as_text=True)
            assert 'action="/logout"' not in text and 'href="/dashboard"' not in text, path
            assert response.headers["Cache-Control"].startswith("public")
    user.post("/logout")
    assert 'action="/logout"' not in user.get(PAGE).get_data(as_text=True)


def test_a_flashed_message_reaches_its_visitor_and_nobody_else(app):
    app.test_client().get("/")
    flashed = app.test_client()
    with flashed.session_transaction() as session:
        session["_flashes"] = [("success", "Tot ziens")]
    response = flashed.get("/")
    assert "Tot ziens" in response.get_data(as_text=True) and response.headers["Cache-Control"] == "no-store"
    assert "Tot ziens" not in app.test_client().get("/").get_data(as_text=True)
    assert "Tot ziens" not in flashed.get("/").get_data(as_text=True)


def test_the_api_is_the_same_for_a_signed_in_user_and_comes_prepared(app, make_company, login, flask_blocked):
    anonymous = app.test_client().get(API_PAGE)
    user = login(app.test_client(), make_company("Acme").admin)
    flask_blocked(app)
    response = user.get(API_PAGE)
    assert response.data == anonymous.data
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert user.get(API_PAGE, headers={"If-None-Match": anonymous.headers["ETag"]}).status_code == 304


def test_an_answer_that_sets_a_cookie_is_never_sent_again(app, flask_blocked):
    for _ in range(2):
        response = app.test_client().get(PAGE + "?lang=en")
        assert response.status_code == 200
        assert "Set-Cookie" in response.headers, "each visitor gets their own language cookie"
    flask_blocked(app)
    with pytest.raises(AssertionError, match="past the prepared answers"):
        app.test_client().get(PAGE + "?lang=en")  # made afresh for this visitor, never replayed


def test_the_api_sets_no_cookie(app):
    for path in (API_PAGE, "/api/v1/pages?lang=en", "/api/v1/menus?lang=en"):
        for _ in range(2):
            assert "Set-Cookie" not in app.test_client().get(path).headers, path


def test_an_error_is_not_prepared(app):
    for _ in range(2):
        assert app.test_client().get("/bestaat-niet").status_code == 404
        assert app.test_client().get("/api/v1/pages?lang=xx").status_code == 400


# --- per language, per content version, per moment --------------------------------------------

def test_prepared_answers_differ_per_language(app):
    dutch, english = app.test_client().get(PAGE), app.test_client().get("/en/for-employers")
    for _ in range(2):
        again_nl = app.test_client().get(PAGE, headers={"Accept-Language": "en"})
        again_en = app.test_client().get("/en/for-employers", headers={"Accept-Language": "nl"})
        assert '<html lang="nl">' in again_nl.get_data(as_text=True) and again_nl.data == dutch.data
        assert '<html lang="en">' in again_en.get_data(as_text=True) and again_en.data == english.data
    assert dutch.headers["ETag"] != english.headers["ETag"]
    assert app.test_client().get("/en/for-employers", headers={"If-None-Match": dutch.headers["ETag"]}).status_code == 200
    api_nl = json.loads(app.test_client().get("/api/v1/menus?lang=nl").data)
    api_en = json.loads(app.test_client().get("/api/v1/menus?lang=en").data)
    assert (api_nl["lang"], api_en["lang"]) == ("nl", "en")
    assert app.test_client().get("/api/v1/menus?lang=en").headers["ETag"] != \
        app.test_client().get("/api/v1/menus?lang=nl").headers["ETag"]


def test_a_changed_file_replaces_the_prepared_answers_in_development(make_app, folder, monkeypatch):
    folder.basic()
    application = make_app(folder, CONTENT_RELOAD=True)
    first = application.test_client().get(PAGE)
    api_first = application.test_client().get(API_PAGE)
    assert "Veel." in first.get_data(as_text=True)

    def no_render(*_args, **_kwargs):
        raise AssertionError("rendered again while nothing changed")

    with monkeypatch.context() as patched:
        patched.setattr(views, "_render", no_render)
        assert application.test_client().get(PAGE).data == first.data  # prepared, even in development

    path = folder.root / "nl" / "employers.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Veel.", "Nog veel meer."), encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    for _ in range(2):
        changed = application.test_client().get(PAGE, headers={"If-None-Match": first.headers["ETag"]})
        assert changed.status_code == 200, "the old ETag no longer matches"
        assert "Nog veel meer." in changed.get_data(as_text=True)
        api_changed = application.test_client().get(API_PAGE, headers={"If-None-Match": api_first.headers["ETag"]})
        assert api_changed.status_code == 200 and "Nog veel meer." in json.loads(api_changed.data)["html"]
    assert application.test_client().get(PAGE, headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_a_publication_replaces_the_prepared_answers_and_max_age_counts_down(make_app, folder, clock):
    folder.basic()
    folder.write("nl/straks.md", "title: Straks\nsummary: S.\npublishDate: 2026-11-28 12:02:00\nmenus: [main]")
    application = make_app(folder)
    clock.set(2026, 11, 28, 12, 0)
    before = application.test_client().get(PAGE)
    assert before.headers["Cache-Control"] == "public, max-age=120"
    clock.set(2026, 11, 28, 12, 1)
    prepared = application.test_client().get(PAGE)
    assert prepared.data == before.data and prepared.headers["Cache-Control"] == "public, max-age=60"
    not_modified = application.test_client().get(PAGE, headers={"If-None-Match": before.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.headers["Cache-Control"] == "public, max-age=60"
    clock.set(2026, 11, 28, 12, 2)
    after = application.test_client().get(PAGE, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and 'href="/straks"' in after.get_data(as_text=True)
    assert after.headers["Cache-Control"] == "public, max-age=300"


# --- headers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [PAGE, API_PAGE])
def test_prepared_answers_keep_the_security_headers(app, path):
    for https in (True, False, True, False):
        base_url = "https://localhost" if https else "http://localhost"
        response = app.test_client().get(path, base_url=base_url)
        assert response.status_code == 200
        assert_security_headers(response, https=https)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        etag = response.headers["ETag"]
        not_modified = app.test_client().get(path, base_url=base_url, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304
        assert_security_headers(not_modified, https=https)


def test_behind_a_proxy_the_scheme_is_the_one_the_proxy_reports(make_app):
    application = make_app(TRUSTED_PROXIES=1)
    for _ in range(2):
        secure = application.test_client().get(PAGE, headers={"X-Forwarded-Proto": "https"})
        assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]
        plain = application.test_client().get(PAGE, headers={"X-Forwarded-Proto": "http"})
        assert "Strict-Transport-Security" not in plain.headers


def test_a_changed_template_replaces_the_prepared_answers_in_development(make_app, folder, tmp_path):
    from jinja2 import ChoiceLoader, FileSystemLoader

    folder.basic()
    application = make_app(folder, CONTENT_RELOAD=True)
    own = tmp_path / "templates"
    (own / "content").mkdir(parents=True)
    page_template = own / "content" / "page.html"
    page_template.write_text((ROOT / "templates" / "content" / "page.html").read_text(encoding="utf-8"),
                             encoding="utf-8")
    application.jinja_loader = ChoiceLoader([FileSystemLoader(str(own)), application.jinja_loader])
    application.jinja_env.auto_reload = True  # as in development (TEMPLATES_AUTO_RELOAD)
    first = application.test_client().get(PAGE)
    assert application.test_client().get(PAGE).data == first.data
    page_template.write_text(page_template.read_text(encoding="utf-8").replace(
        '<footer class="content-meta muted">', '<footer class="content-meta muted" data-edited="yes">'), encoding="utf-8")
    later = time.time() + 5
    os.utime(page_template, (later, later))
    for _ in range(2):
        changed = application.test_client().get(PAGE, headers={"If-None-Match": first.headers["ETag"]})
        assert changed.status_code == 200 and 'data-edited="yes"' in changed.get_data(as_text=True)
