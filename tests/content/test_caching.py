"""ETag, Last-Modified and 304 on HTML and JSON; cache lifetimes stop at the next scheduled
change; logged-in answers are never stored; a request does no markdown work; development
reloads a changed file without a restart."""

import os
import time

import pytest

from portal.content import render


@pytest.mark.parametrize("path", ["/voor-werkgevers", "/en/faq", "/api/v1/pages?lang=nl",
                                  "/api/v1/pages/voor-werkgevers", "/api/v1/faq?category=school",
                                  "/api/v1/menus", "/sitemap.xml", "/zoeken?q=vog"])
def test_etag_gives_304_and_the_same_body_again(client, path):
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_last_modified_gives_304(client):
    first = client.get("/voor-werkgevers")
    stamp = first.headers["Last-Modified"]
    assert client.get("/voor-werkgevers", headers={"If-Modified-Since": stamp}).status_code == 304
    assert client.get("/voor-werkgevers", headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}).status_code == 200


def test_public_pages_are_cacheable_and_vary_on_cookie(client):
    response = client.get("/voor-werkgevers")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Cookie" in response.headers["Vary"]
    api = client.get("/api/v1/pages")
    assert api.headers["Cache-Control"] == "public, max-age=300"


def test_cache_lifetime_stops_at_the_next_publication(make_app, folder, clock):
    folder.basic()
    folder.write("nl/straks.md", "title: Straks\nsummary: S.\npublishDate: 2026-11-28 12:02:00\nmenus: [main]")
    client = make_app(folder).test_client()
    clock.set(2026, 11, 28, 12, 0)
    before = client.get("/voor-werkgevers")
    assert before.headers["Cache-Control"] == "public, max-age=120"
    assert client.get("/api/v1/pages").headers["Cache-Control"] == "public, max-age=120"
    assert "/straks" not in before.get_data(as_text=True)
    clock.set(2026, 11, 28, 12, 2)
    after = client.get("/voor-werkgevers", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200, "the menu changed at publication, so the old ETag is stale"
    assert 'href="/straks"' in after.get_data(as_text=True)
    assert after.headers["Cache-Control"] == "public, max-age=300"


def test_cache_lifetime_stops_at_the_next_expiry(make_app, folder, clock):
    folder.basic()
    folder.write("nl/weg.md", "title: Weg\nsummary: S.\nexpiryDate: 2026-11-28 12:00:30")
    client = make_app(folder).test_client()
    clock.set(2026, 11, 28, 12, 0)
    assert client.get("/weg").headers["Cache-Control"] == "public, max-age=30"


def test_logged_in_answers_are_not_stored(client, make_company, login):
    login(client, make_company().admin)
    response = client.get("/voor-werkgevers")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    assert 'action="/logout"' in response.get_data(as_text=True)
    # the API is the same for everyone and stays cacheable
    assert client.get("/api/v1/pages").headers["Cache-Control"].startswith("public")


def test_a_flashed_message_is_not_cached_into_a_page(client):
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Tot ziens")]
    response = client.get("/")
    assert "Tot ziens" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Tot ziens" not in client.get("/").get_data(as_text=True)


def test_requests_do_no_markdown_work(client, monkeypatch):
    def forbidden(*_args, **_kwargs):
        raise AssertionError("markdown rendered during a request")

    monkeypatch.setattr(render, "render", forbidden)
    monkeypatch.setattr(render._markdown, "parse", forbidden)
    for path in ("/", "/veelgestelde-vragen", "/en/for-employers", "/api/v1/pages/faq?lang=en", "/zoeken?q=vog"):
        assert client.get(path).status_code == 200, path


def test_development_picks_up_a_changed_file_without_restart(make_app, folder):
    folder.basic()
    application = make_app(folder, CONTENT_RELOAD=True)
    client = application.test_client()
    assert "Veel." in client.get("/voor-werkgevers").get_data(as_text=True)
    path = folder.root / "nl" / "employers.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Veel.", "Nog veel meer."), encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    assert "Nog veel meer." in client.get("/voor-werkgevers").get_data(as_text=True)
    folder.write("nl/nieuw.md", "title: Nieuw\nsummary: S.")
    assert client.get("/nieuw").status_code == 200


def test_production_keeps_its_snapshot(make_app, folder):
    folder.basic()
    client = make_app(folder, CONTENT_RELOAD=False).test_client()
    folder.write("nl/nieuw.md", "title: Nieuw\nsummary: S.")
    assert client.get("/nieuw").status_code == 404
