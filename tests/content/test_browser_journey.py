"""A visitor in headless Chromium reads every page in Dutch and English, switches language,
and finds an FAQ answer through search; axe-core finds no serious accessibility problem and
the strict CSP reports nothing (the FAQPage JSON-LD is data, not script)."""

import json
import os
import re
import threading

import pytest

from tests.browser.conftest import AXE, CHROMIUM, CHROMIUM_ARGS, Journey, live_server  # noqa: F401
from tests.content.test_pages import REAL_PAGES

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and AXE.exists()) and not os.environ.get("PORTAL_REQUIRE_BROWSER"),
    reason="needs Debian's chromium and node_modules/axe-core (make test installs them)")


@pytest.fixture
def journey(request):
    """tests/browser's Journey, but with a Chromium of our own in a thread of its own: the
    session-wide `browser` fixture lives in tests/browser/conftest.py, out of reach of this
    folder, and two Playwright sync instances cannot share the main thread."""

    class Runner:
        def __call__(self, steps):
            failure = []

            def run():
                from playwright.sync_api import sync_playwright

                try:
                    with sync_playwright() as playwright:
                        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                        context = chromium.new_context(locale="nl-NL", viewport={"width": 1200, "height": 900})
                        walk = Journey(context.new_page(), request.node.name)
                        try:
                            steps(walk)
                        finally:
                            context.close()
                            chromium.close()
                        csp = [e for e in walk.console_errors if "Content Security Policy" in e]
                        assert not csp, csp
                except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                    failure.append(exc)

            thread = threading.Thread(target=run)
            thread.start()
            thread.join(timeout=300)
            assert not thread.is_alive(), "browser journey did not finish in 5 minutes"
            if failure:
                raise failure[0]

    return Runner()


def test_visitor_reads_every_page_in_both_languages(live_server, journey):  # noqa: F811
    journey(lambda walk: _read_every_page(live_server, walk))


def _read_every_page(live_server, journey):  # noqa: F811
    page = journey.page
    for path in REAL_PAGES["nl"] + REAL_PAGES["en"]:
        response = journey.visit(live_server.url + path, f"page {path}")
        assert response.status == 200, path
        assert page.locator("h1").count() == 1
        lang = "en" if path.startswith("/en/") else "nl"
        assert page.locator("html").get_attribute("lang") == lang


def test_visitor_switches_language_and_finds_an_answer_by_searching(live_server, journey):  # noqa: F811
    journey(lambda walk: _switch_and_search(live_server, walk))


def _switch_and_search(live_server, journey):  # noqa: F811
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
