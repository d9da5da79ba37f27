"""A visitor in headless Chromium reads every page in Dutch and English, switches language,
and finds an FAQ answer through search; axe-core finds no serious accessibility problem and
the strict CSP reports nothing (the FAQPage JSON-LD is data, not script)."""

import json
import re

from tests.content.test_pages import REAL_PAGES


def test_visitor_reads_every_page_in_both_languages(live_server, journey):
    page = journey.page
    for path in REAL_PAGES["nl"] + REAL_PAGES["en"]:
        response = journey.visit(live_server.url + path, f"page {path}")
        assert response.status == 200, path
        assert page.locator("h1").count() == 1
        lang = "en" if path.startswith("/en/") else "nl"
        assert page.locator("html").get_attribute("lang") == lang


def test_visitor_switches_language_and_finds_an_answer_by_searching(live_server, journey):
    page = journey.page
    journey.visit(live_server.url + "/", "home")
    page.click(".main-nav >> text=Werkgevers")
    page.wait_for_url(re.compile(r".*/voor-werkgevers$"))
    page.click(".content-languages >> text=EN")
    page.wait_for_url(re.compile(r".*/en/for-employers$"))
    assert page.locator("h1").inner_text() == "For employers"
    journey.snap("english employers page")

    journey.visit(live_server.url + "/veelgestelde-vragen", "faq")
    data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert data["@type"] == "FAQPage"
    page.fill("#content-search-q", "Coordinator")  # no diaeresis: still finds "coördinator"
    page.click("form.content-search button[type=submit]")
    page.wait_for_url(re.compile(r".*/zoeken\?q=Coordinator$"))
    journey.check_accessibility()
    journey.snap("search results")
    page.click('.search-results a[href="/veelgestelde-vragen#coordinator-time"]')
    page.wait_for_url(re.compile(r".*/veelgestelde-vragen#coordinator-time$"))
    answer = page.locator("#coordinator-time")
    assert answer.is_visible() and "0,2 fte" in answer.inner_text()
    journey.snap("answer")

    missing = page.goto(live_server.url + "/en/does-not-exist")
    assert missing.status == 404
    assert page.locator("html").get_attribute("lang") == "en"
