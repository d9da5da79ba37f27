"""In a real browser: choose a period (a wrong range first), check the concept, issue, verify.

Uses the browser fixtures of tests/browser (headless Chromium, axe-core on every page).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.core.contributions import register_source
from tests.browser.conftest import AXE, CHROMIUM, browser, journey, live_server  # noqa: F401 - fixtures
from tests.conftest import PASSWORD
from tests.statements.conftest import Ledger

pytestmark = pytest.mark.skipif(not (CHROMIUM and AXE.exists()), reason="needs Debian's chromium and axe-core")


def test_preview_issue_and_verify_a_statement(live_server, journey, make_company):  # noqa: F811 - fixtures
    page = journey.page
    live_server.app.extensions["portal.statement_allocations"] = []
    company = make_company("Journey", language="en")
    ledger = Ledger()
    register_source(live_server.app, ledger)
    year = dt.date.today().year
    ledger.hours(company, dt.date(year, 1, 13), 7 * 60 + 30, "Anna de Vries")
    ledger.money(company, dt.date(year, 1, 20), 125_000, reference="RF18539007547034")

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
    number = f"OA-{dt.date.today().year}-0001"
    assert number in page.content()
    journey.check_accessibility()
    journey.snap("issued")
    code = page.locator("dl.facts code").first.inner_text()

    verifier = page.context.browser.new_context(locale="nl-NL").new_page()
    verifier.goto(f"{live_server.url}/verify/{number}")
    assert "Journey" not in verifier.content()
    verifier.fill("#code", code)
    verifier.click("main form button[type=submit]")
    verifier.wait_for_selector(".flash-success")
    assert "Journey B.V." in verifier.content()
    journey.page = verifier
    journey.check_accessibility()
    journey.snap("verified")
