"""In a real browser: choose a period (a wrong range first), check the concept, issue, verify.

Uses tests/browser's live server and Journey (axe-core on every page, a screenshot per step)
with a Chromium of its own in a thread of its own, as tests/content does: the session-wide
`browser` fixture lives in tests/browser/conftest.py, and two Playwright sync instances cannot
share the main thread.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading

import pytest

from portal.core import clock
from tests.browser.conftest import AXE, CHROMIUM, CHROMIUM_ARGS, Journey, live_server  # noqa: F401 - fixtures
from tests.conftest import PASSWORD

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and AXE.exists()) and not os.environ.get("PORTAL_REQUIRE_BROWSER"),
    reason="needs Debian's chromium and node_modules/axe-core (make test installs them)")


def in_browser(name: str, steps) -> None:
    failure: list[BaseException] = []

    def run():
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = chromium.new_context(locale="nl-NL", viewport={"width": 1200, "height": 900})
                walk = Journey(context.new_page(), name)
                try:
                    steps(walk, chromium)
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


def test_preview_issue_and_verify_a_statement(live_server, make_company, contribute, monkeypatch):  # noqa: F811
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 11, 28))   # a school day of the seeded school year
    company = make_company("Journey", language="en")
    contribute.confirmed_session(company, 7 * 60 + 30, "Anna de Vries")   # enrolled, placed, confirmed
    contribute.paid_by_bank(company, 125_000)                             # a payment request, paid
    year = clock.today().year
    number = f"OA-{year}-0001"

    def steps(journey, chromium):
        page = journey.page
        journey.visit(live_server.url + "/login", "login")
        page.fill("#email", company.admin.email)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*/dashboard$"))

        journey.visit(live_server.url + "/statements", "statements")
        page.check("input[value=custom]")
        page.fill("#start", f"{year}-03-01")
        page.fill("#end", f"{year}-02-01")
        page.click("main form button[type=submit]")
        assert "The last day cannot be before the first day." in page.locator(".field-error").inner_text()
        assert page.input_value("#start") == f"{year}-03-01"
        journey.check_accessibility()
        journey.snap("wrong period")

        page.check("input[value=calendar_year]")
        page.select_option("#year", str(year))
        page.click("main form button[type=submit]")
        page.wait_for_selector("text=Issue this statement")
        assert "€1,250.00" in page.content() and "7:30" in page.content()
        journey.check_accessibility()
        journey.snap("concept")

        page.click("text=Issue this statement")
        page.wait_for_selector(".flash-success")
        assert number in page.content()
        journey.check_accessibility()
        journey.snap("issued")
        code = page.locator("dl.facts code").first.inner_text()

        verifier = chromium.new_context(locale="nl-NL").new_page()
        verifier.goto(f"{live_server.url}/verify/{number}")
        assert "Journey" not in verifier.content()
        verifier.fill("#code", code)
        verifier.click("main form button[type=submit]")
        verifier.wait_for_selector(".flash-success")
        assert "Journey B.V." in verifier.content()
        journey.page = verifier
        journey.check_accessibility()
        journey.snap("verified")

    in_browser("statements-journey", steps)
