"""The pages as a visitor gets them: both languages, translations, aliases, drafts, schedules."""

import re

import pytest

REAL_PAGES = {
    "nl": ["/", "/voor-werkgevers", "/financieringsmodellen", "/onderwijsambassadeur-worden", "/voor-scholen",
           "/veelgestelde-vragen", "/privacy", "/contact"],
    "en": ["/en/", "/en/for-employers", "/en/funding-models", "/en/become-an-ambassador", "/en/for-schools",
           "/en/faq", "/en/privacy", "/en/contact"],
}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_real_page_renders_in_its_language(client, lang):
    for path in REAL_PAGES[lang]:
        response = client.get(path, headers={"Accept-Language": "de"})
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html, path
        assert html.count("<h1>") == 1, path
        other = "en" if lang == "nl" else "nl"
        assert re.search(rf'<a href="[^"]+" hreflang="{other}"', html), f"{path}: no link to its translation"


def test_language_switch_links_to_the_translation(client):
    html = client.get("/voor-werkgevers").get_data(as_text=True)
    assert '<a href="/en/for-employers" hreflang="en"' in html
    assert 'name="language"' not in html  # not the generic form: a real page link
    assert '<link rel="alternate" hreflang="en" href="http://portal.test/en/for-employers">' in html
    assert '<link rel="alternate" hreflang="x-default" href="http://portal.test/voor-werkgevers">' in html


def test_main_and_footer_menus_come_from_front_matter(client):
    html = client.get("/").get_data(as_text=True)
    nav = html.split('class="main-nav"')[1].split("</nav>")[0]
    assert [m for m in re.findall(r'href="([^"]+)"', nav)] == [
        "/voor-werkgevers", "/financieringsmodellen", "/onderwijsambassadeur-worden", "/voor-scholen",
        "/veelgestelde-vragen"]
    footer = html.split('class="site-footer"')[1]
    for path in ("/privacy", "/contact", "/veelgestelde-vragen", "/zoeken"):
        assert f'href="{path}"' in footer
    english = client.get("/en/").get_data(as_text=True).split('class="main-nav"')[1].split("</nav>")[0]
    assert '<a href="/en/for-employers">Employers</a>' in english


def test_menus_also_appear_on_other_capabilities_pages(client):
    html = client.get("/login", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert 'href="/voor-werkgevers"' in html


def test_page_without_translation_offers_no_language_link_and_english_redirects(make_app, folder):
    folder.basic()
    folder.write("nl/alleen.md", "title: Alleen Nederlands\nsummary: S.\nslug: alleen-nl")
    client = make_app(folder).test_client()
    html = client.get("/alleen-nl").get_data(as_text=True)
    assert 'hreflang="en"' not in html
    response = client.get("/en/alleen-nl")
    assert response.status_code == 302 and response.headers["Location"] == "/alleen-nl"
    # by translation key too
    assert client.get("/en/alleen").headers["Location"] == "/alleen-nl"


def test_english_draft_sends_visitors_to_the_dutch_page(make_app, folder):
    folder.basic()
    folder.write("en/employers.md", "title: E\nsummary: S.\nslug: for-employers\ntranslationKey: employers\ndraft: true")
    client = make_app(folder).test_client()
    response = client.get("/en/for-employers")
    assert response.status_code == 302 and response.headers["Location"] == "/voor-werkgevers"
    assert 'hreflang="en"' not in client.get("/voor-werkgevers").get_data(as_text=True)


def test_aliases_answer_301_at_any_depth(site_client):
    for old in ("/bedrijven", "/bedrijven/", "/oud/nl/bedrijven"):
        response = site_client.get(old)
        assert response.status_code == 301, old
        assert response.headers["Location"] == "/voor-werkgevers"


def test_unknown_slug_is_404_in_the_visitors_language(client):
    dutch = client.get("/bestaat-niet", headers={"Accept-Language": "nl"})
    assert dutch.status_code == 404 and '<html lang="nl">' in dutch.get_data(as_text=True)
    visitor = client.get("/bestaat-niet", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert visitor.status_code == 404 and '<html lang="en">' in visitor.get_data(as_text=True)
    english = client.get("/en/does-not-exist", headers={"Accept-Language": "nl"})
    assert english.status_code == 404 and '<html lang="en">' in english.get_data(as_text=True)
    assert "Page not found" in english.get_data(as_text=True)
    deep = client.get("/en/a/b/c", headers={"Accept-Language": "nl"})
    assert deep.status_code == 404 and '<html lang="en">' in deep.get_data(as_text=True)


def test_index_slug_is_the_home_page(client):
    assert client.get("/index").headers["Location"] == "/"
    assert client.get("/en/index").headers["Location"] == "/en/"


def test_draft_is_hidden_from_visitors_and_previewed_for_the_leader(make_app, folder, leader, login):
    folder.basic()
    folder.write("nl/concept.md", "title: Concept\nsummary: S.\ndraft: true\nmenus: [main]", "Geheim plan.\n")
    application = make_app(folder)
    visitor = application.test_client()
    assert visitor.get("/concept").status_code == 404
    assert "Concept" not in visitor.get("/").get_data(as_text=True)
    assert visitor.get("/api/v1/pages/concept").status_code == 404
    assert visitor.get("/api/v1/search?q=geheim").get_json()["items_total"] == 0

    import pyotp

    from portal.accounts.models import User

    leader_client = application.test_client()
    login(leader_client, leader)
    leader_client.get("/login/totp")
    secret = User.get_by_id(leader.id).totp_secret
    leader_client.post("/login/totp", data={"code": pyotp.TOTP(secret).now()})
    response = leader_client.get("/concept")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Geheim plan." in html and "preview-banner" in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_a_company_user_does_not_see_drafts(make_app, folder, make_company, login):
    folder.basic()
    folder.write("nl/concept.md", "title: Concept\nsummary: S.\ndraft: true")
    application = make_app(folder)
    client = application.test_client()
    login(client, make_company().admin)
    assert client.get("/concept").status_code == 404


def test_publish_and_expiry_are_decided_at_request_time_in_amsterdam(make_app, folder, clock):
    folder.basic()
    folder.write("nl/actie.md", "title: Actie\nsummary: S.\npublishDate: 2026-12-01\nexpiryDate: 2027-01-01 00:00")
    client = make_app(folder).test_client()
    clock.set(2026, 11, 30, 23, 59)
    assert client.get("/actie").status_code == 404
    clock.set(2026, 12, 1, 0, 0)  # midnight in Amsterdam, 23:00 UTC the day before
    assert client.get("/actie").status_code == 200
    clock.set(2026, 12, 31, 23, 59)
    assert client.get("/actie").status_code == 200
    clock.set(2027, 1, 1, 0, 0)
    gone = client.get("/actie")
    assert gone.status_code == 410 and "Page removed" in gone.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/register", "/healthz", "/dashboard", "/team", "/account",
                                  "/leader", "/password/forgot", "/sitemap.xml", "/robots.txt", "/zoeken"])
def test_catch_all_does_not_shadow_other_routes(app, path):
    endpoint, _args = app.url_map.bind("portal.test").match(path, method="GET")
    assert endpoint not in ("content.page", "content.page_en"), path


def test_every_single_segment_static_route_wins_over_the_page_route(app):
    static = [r for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments
              and r.rule.count("/") == 1 and r.rule != "/"]
    assert len(static) >= 8
    adapter = app.url_map.bind("portal.test")
    for rule in static:
        assert adapter.match(rule.rule, method="GET")[0] == rule.endpoint, rule.rule


def test_real_other_pages_still_answer(client):
    assert client.get("/login").status_code == 200
    assert client.get("/register").status_code == 200
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/dashboard").status_code == 302  # login required, not a content 404


def test_faq_page_has_anchors_and_json_ld(client):
    html = client.get("/veelgestelde-vragen").get_data(as_text=True)
    for anchor in ("ambassador", "school", "company", "requirements", "ways-to-contribute"):
        assert f'id="{anchor}"' in html
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    import json

    data = json.loads(match.group(1))
    assert data["@type"] == "FAQPage" and len(data["mainEntity"]) > 25
    assert all(q["@type"] == "Question" and q["acceptedAnswer"]["text"] for q in data["mainEntity"])
    # the only script element is the data block: CSP script-src 'self' needs no exception
    assert len(re.findall(r"<script", html)) == 1


def test_json_ld_cannot_close_its_script_element(make_app, folder):
    folder.basic()
    folder.write("nl/vragen.md", """
        title: Vragen
        summary: S.
        faq:
          - id: company
            title: Bedrijven
            items:
              - id: vraag
                question: "</script><script>alert(1)</script>"
                answer: Antwoord.
        """)
    html = make_app(folder).test_client().get("/vragen").get_data(as_text=True)
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block


def test_anonymous_content_pages_set_no_cookie(client):
    for path in REAL_PAGES["nl"] + REAL_PAGES["en"] + ["/zoeken?q=vog", "/api/v1/pages"]:
        assert "Set-Cookie" not in client.get(path).headers, path
