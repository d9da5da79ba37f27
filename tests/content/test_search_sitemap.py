"""Search (HTML and JSON) ignores case and accents and finds every FAQ answer; sitemap.xml
and robots.txt list exactly the public pages."""

import re
import xml.etree.ElementTree as ET

import pytest

from portal.content import service
from portal.content.render import fold

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def test_fold_removes_accents_and_case():
    assert fold("Coördinatie ÉÉN Cafés") == "coordinatie een cafes"


@pytest.mark.parametrize("query", ["coordinator", "COÖRDINATOR", "Coördinator", "coördinátor"])
def test_search_ignores_case_and_accents(client, query):
    html = client.get("/zoeken", query_string={"q": query}).get_data(as_text=True)
    assert "<mark>coördinator</mark>" in html
    assert 'href="/veelgestelde-vragen#coordinator-time"' in html


def test_every_faq_answer_is_found_by_the_words_of_its_question(app, client):
    content = app.extensions["portal.content"]
    site, now = content.site, content.now()
    for lang in ("nl", "en"):
        entries = service.faq(site, lang, now)
        assert len(entries) >= 29
        for page, entry in entries:
            words = sorted(re.findall(r"\w{4,}", entry.question), key=len, reverse=True)[:3]
            data = client.get("/api/v1/search", query_string={"q": " ".join(words), "lang": lang,
                                                             "b_size": 100}).get_json()
            assert "items" in data, (lang, entry.question, words, data)
            paths = [item["path"] for item in data["items"]]
            assert f"{page.path}#{entry.id}" in paths, (lang, entry.question, words)


def test_search_needs_every_word(client):
    both = client.get("/api/v1/search?q=VOG+cv&lang=nl").get_json()
    assert both["items_total"] > 0
    assert client.get("/api/v1/search?q=VOG+zwembad&lang=nl").get_json()["items_total"] == 0


def test_search_finds_facts_in_both_languages(client):
    for lang, query, expected in [("nl", "160 per maand", "/financieringsmodellen"),
                                  ("en", "160 a month", "/en/funding-models"),
                                  ("nl", "herfstvakantie", "/onderwijsambassadeur-worden"),
                                  ("en", "autumn holiday", "/en/become-an-ambassador"),
                                  ("nl", "Onderwijsimpuls", "/veelgestelde-vragen#municipal-subsidy"),
                                  ("en", "intervision", "/en/faq#intervision")]:
        data = client.get("/api/v1/search", query_string={"q": query, "lang": lang, "b_size": 100}).get_json()
        assert expected in [i["path"] for i in data["items"]], (lang, query)


def test_search_page_escapes_the_query_and_is_not_indexed(client):
    html = client.get("/zoeken", query_string={"q": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert '<meta name="robots" content="noindex, follow">' in html
    assert 'href="/en/search?q=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in html


def test_english_search_page(client):
    response = client.get("/en/search?q=coordinator")
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and "/en/faq#coordinator-time" in html


def test_sitemap_lists_public_pages_with_alternates(client):
    root = ET.fromstring(client.get("/sitemap.xml").data)
    urls = {u.find(f"{SITEMAP}loc").text: u for u in root}
    assert len(urls) == 16
    employers = urls["http://portal.test/voor-werkgevers"]
    alternates = {a.get("hreflang"): a.get("href") for a in employers.findall(f"{XHTML}link")}
    assert alternates == {"nl": "http://portal.test/voor-werkgevers", "en": "http://portal.test/en/for-employers",
                          "x-default": "http://portal.test/voor-werkgevers"}
    assert employers.find(f"{SITEMAP}lastmod").text.startswith("2026-12-02")


def test_sitemap_leaves_out_drafts_future_expired_and_fallbacks(make_app, folder, clock):
    folder.basic()
    folder.write("nl/concept.md", "title: C\nsummary: S.\ndraft: true")
    folder.write("nl/straks.md", "title: S\nsummary: S.\npublishDate: 2027-01-01")
    folder.write("nl/weg.md", "title: W\nsummary: S.\nexpiryDate: 2026-01-01")
    folder.write("nl/alleen.md", "title: A\nsummary: S.")
    client = make_app(folder).test_client()
    root = ET.fromstring(client.get("/sitemap.xml").data)
    locs = sorted(u.find(f"{SITEMAP}loc").text for u in root)
    assert locs == ["http://portal.test/", "http://portal.test/alleen", "http://portal.test/en/",
                    "http://portal.test/en/for-employers", "http://portal.test/voor-werkgevers"]
    alleen = next(u for u in root if u.find(f"{SITEMAP}loc").text.endswith("/alleen"))
    assert alleen.findall(f"{XHTML}link") == []  # no fake English alternate
    clock.set(2027, 1, 1, 0, 0)
    assert b"/straks" in client.get("/sitemap.xml").data


def test_robots(client):
    text = client.get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: http://portal.test/sitemap.xml" in text
    assert "Disallow: /api/" in text and "Disallow: /dashboard" in text
    assert "Disallow: /voor-werkgevers" not in text
