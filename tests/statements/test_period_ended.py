"""A calendar or school year gets its statement once it has ended (issue 14).

Before that, contributions can still be added, and an issued statement is never changed: the web
page and the CLI refuse to issue it and say from which day it can be. For a running period the
company can download an interim overview: marked as interim on every page, with no OA number and
no verification code, and it uses no number of the register.
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
from click.testing import CliRunner

import portal
from portal.accounts.models import User
from portal.cli import main
from portal.core import clock
from portal.statements import periods, service
from portal.statements.models import Statement, StatementCounter
from tests.pdftext import assert_in_pdf, assert_not_in_pdf, pdf_text

D = dt.date
RUNNING_DAY = D(2026, 12, 2)    # calendar year 2026 and school year 2026-2027 are running


@pytest.fixture
def today(monkeypatch):
    """The day the portal believes it is (portal.core.clock), settable by the test."""
    day = {"value": RUNNING_DAY}
    monkeypatch.setattr(clock, "today", lambda: day["value"])

    def set_to(value: dt.date) -> None:
        day["value"] = value

    return set_to


@pytest.fixture
def company(make_company, ledger, no_sroi):
    company = make_company("Lopend", language="en", member=True)
    ledger.hours(company, D(2026, 9, 8), 480, "Iris Brouwer")          # 8:00 at EUR 50 = 400.00
    ledger.money(company, D(2026, 10, 1), 125_000)                      # EUR 1,250.00 by bank
    return company


def numbers_used() -> int:
    return sum(c.last_number for c in StatementCounter.select())


def test_a_year_is_issued_once_it_has_ended_and_not_a_day_before(app, company, today):
    year = periods.calendar_year(2026)
    for day in (D(2026, 12, 2), D(2026, 12, 31)):
        with pytest.raises(service.PeriodNotEnded) as refused:
            service.issue(company, year, company.admin, today=day)
        assert refused.value.available_on == D(2027, 1, 1)
    assert Statement.select().count() == 0 and numbers_used() == 0   # no number was used
    statement = service.issue(company, year, company.admin, today=D(2027, 1, 1))
    assert statement.number == "OA-2027-0001"

    school = periods.school_year(2026)                                 # 1 August 2026 to 31 July 2027
    with pytest.raises(service.PeriodNotEnded) as refused:
        service.issue(company, school, company.admin, today=D(2027, 7, 31))
    assert refused.value.available_on == D(2027, 8, 1)
    assert service.issue(company, school, company.admin, today=D(2027, 8, 1)).number == "OA-2027-0002"
    # Any period the company chooses itself stays possible: it ends when the company says it does.
    custom = periods.custom(D(2026, 9, 1), D(2026, 11, 30))
    assert service.issue(company, custom, company.admin, today=D(2026, 12, 2)).period_kind == "custom"


def test_the_page_explains_why_and_from_when_and_offers_an_interim_overview(app, client, login, company, today):
    login(client, company.member)
    for language, words in (("en", ("This period has not ended yet", "January 1, 2027")),
                            ("nl", ("1 januari 2027",))):
        User.update(language=language).where(User.id == company.member.id).execute()
        page = client.get("/statements/preview?kind=calendar_year&year=2026")
        assert page.status_code == 200
        text = html.unescape(page.get_data(as_text=True))
        for word in words:
            assert word in text, word
        assert "Issue this statement" not in text and 'action="/statements/issue"' not in text
    User.update(language="en").where(User.id == company.member.id).execute()
    text = html.unescape(client.get("/statements/preview?kind=calendar_year&year=2026").get_data(as_text=True))
    assert "Download the interim overview (PDF)" in text and "€1,250.00" in text

    # Posting the form anyway (an old tab, a crafted request) is refused: nothing issued, no number used.
    response = client.post("/statements/issue", data={"kind": "calendar_year", "year": "2026"})
    assert response.status_code == 302
    assert Statement.select().count() == 0 and numbers_used() == 0
    flashed = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "This period has not ended yet" in flashed and "January 1, 2027" in flashed
    response = client.post("/statements/issue", data={"kind": "school_year", "school_year": "2026"})
    assert Statement.select().count() == 0
    assert "August 1, 2027" in html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))

    # The interim overview: marked on every page, no number, no verification code.
    interim = client.get("/statements/preview.pdf?kind=calendar_year&year=2026")
    assert interim.status_code == 200 and interim.headers["Content-Type"] == "application/pdf"
    assert "interim-overview-2026.pdf" in interim.headers["Content-Disposition"]
    text = pdf_text(interim.data)
    for words in ("Interim overview", "INTERIM", "not a statement", "31 December 2026", "1 January 2027",
                  "€1,250.00", "Iris Brouwer"):
        assert_in_pdf(words, text)
    for words in ("OA-", "Verification code", "Verify this statement", "/verify/", "CONCEPT"):
        assert_not_in_pdf(words, text)
    assert Statement.select().count() == 0 and numbers_used() == 0

    # Once the year is over, the same page issues it.
    today(D(2027, 1, 4))
    page = client.get("/statements/preview?kind=calendar_year&year=2026")
    assert b"Issue this statement" in page.data and b"has not ended yet" not in page.data
    client.post("/statements/issue", data={"kind": "calendar_year", "year": "2026"})
    assert [s.number for s in Statement.select()] == ["OA-2027-0001"]
    concept = client.get("/statements/preview.pdf?kind=calendar_year&year=2025")
    assert "concept-2025.pdf" in concept.headers["Content-Disposition"]


def test_the_form_chooses_the_latest_year_that_has_ended(app, client, login, company, today):
    login(client, company.member)
    text = client.get("/statements").get_data(as_text=True)
    assert '<option selected value="2025">2025</option>' in text
    assert '<option selected value="2025">2025-2026</option>' in text


def test_the_cli_refuses_a_running_year_and_issues_nothing(app, company, today, monkeypatch):
    monkeypatch.setattr(portal, "create_app", lambda: app)

    def run(*args):
        return CliRunner().invoke(main, ["statements", *args], catch_exceptions=False)

    for args in (("--year", "2026"), ("--school-year", "2026-2027"), ("--year", "2026", "--company", company.kvk)):
        result = run("issue", *args)
        assert result.exit_code != 0, result.output
        assert "has not ended yet" in result.output and "2027" in result.output
    assert Statement.select().count() == 0 and numbers_used() == 0
    with pytest.raises(service.PeriodNotEnded):       # the service the CLI and the leader's page share
        service.issue_bulk(periods.calendar_year(2026))

    today(D(2027, 1, 2))
    result = run("issue", "--year", "2026")
    assert result.exit_code == 0, result.output
    assert "1 issued" in result.output
    assert [s.number for s in Statement.select()] == ["OA-2027-0001"]
