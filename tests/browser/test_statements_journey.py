"""In a real browser: choose a period (a wrong range first), check the concept, issue, and let a
second visitor, not logged in, verify the statement with its code."""

from __future__ import annotations

import datetime as dt
import re

from portal.core import clock
from tests.conftest import PASSWORD


def test_preview_issue_and_verify_a_statement(live_server, journey, new_journey, make_company, contribute,
                                              monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 11, 28))   # a school day of the seeded school year
    company = make_company("Journey", language="en")
    contribute.confirmed_session(company, 7 * 60 + 30, "Anna de Vries")   # enrolled, placed, confirmed
    contribute.paid_by_bank(company, 125_000)                             # a payment request, paid
    year = clock.today().year
    number = f"OA-{year + 1}-0001"   # numbered in the year it is issued
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

    # The running calendar year is not over: no statement yet, an interim overview instead (issue 14).
    page.check("input[value=calendar_year]")
    page.select_option("#year", str(year))
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Download the interim overview (PDF)")
    assert "has not ended yet" in page.content() and "Issue this statement" not in page.content()
    journey.snap("running year")

    # In the new year the calendar year 2026 has ended: now it is issued.
    monkeypatch.setattr(clock, "today", lambda: dt.date(year + 1, 1, 4))
    journey.visit(live_server.url + "/statements", "statements in the new year")
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

    visitor = new_journey(viewport=None)   # a Dutch browser of its own: no session, Playwright's window
    verifier = visitor.page
    verifier.goto(f"{live_server.url}/verify/{number}")
    assert "Journey" not in verifier.content()
    verifier.fill("#code", code)
    verifier.click("main form button[type=submit]")
    verifier.wait_for_selector(".flash-success")
    assert "Journey B.V." in verifier.content()
    visitor.check_accessibility()
    visitor.snap("verified")
