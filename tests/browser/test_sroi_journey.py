"""In a real browser (English): record a commitment (a bad percentage first), allocate hours,
see the figures, and find the deadline warning on the dashboard."""

from __future__ import annotations

import datetime as dt
import re

from portal.core import clock
from tests.conftest import PASSWORD


def test_record_a_commitment_and_allocate_hours(live_server, new_journey, make_company, contribute, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 11, 28))   # a school day of the seeded school year
    company = make_company("Journey", language="en")
    session = contribute.confirmed_session(company, 7 * 60 + 30, "Anna de Vries")   # enrolled, placed, confirmed
    assert session.worked_on == dt.date(2026, 11, 24)                              # inside the commitment below
    journey = new_journey(locale="en-GB")
    page = journey.page
    today = clock.today()

    journey.visit(live_server.url + "/login", "login")
    page.fill("#email", company.admin.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))

    journey.visit(live_server.url + "/sroi/new", "new commitment")
    page.fill("#authority", "Gemeente Utrecht")
    page.fill("#contract_reference", "UTR-JOURNEY-1")
    page.fill("#base_amount", "250.000")
    page.fill("#percentage", "150")
    page.fill("#period_start_on", (today - dt.timedelta(days=30)).isoformat())
    page.fill("#period_end_on", (today + dt.timedelta(days=300)).isoformat())
    page.fill("#deadline_on", (today + dt.timedelta(days=20)).isoformat())
    page.click("main button[type=submit]")
    assert "more than 0 and at most 100" in page.locator(".field-error").inner_text()
    assert page.input_value("#contract_reference") == "UTR-JOURNEY-1"
    assert page.input_value("#base_amount") == "250.000"
    journey.check_accessibility()
    journey.snap("percentage refused")
    page.fill("#percentage", "5")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Allocate contributions")
    assert "€12,500.00" in page.content()                     # 5 % of EUR 250,000
    journey.check_accessibility()
    journey.snap("commitment recorded")

    page.fill("input[name=amount]", "7:30")
    page.click("#allocate ~ .table-scroll button[type=submit]")
    page.wait_for_selector(".flash-success")
    content = page.content()
    assert "€750.00" in content                               # 7:30 h at EUR 100 an hour
    journey.check_accessibility()
    journey.snap("hours allocated")

    journey.visit(live_server.url + "/dashboard", "dashboard warning")
    assert "SROI deadlines" in page.content() and "UTR-JOURNEY-1" in page.content()
